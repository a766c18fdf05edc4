//! `espi gen`: synthetic feeds for benchmarks and tests.

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use espi_gen::{
    generate, options_for_size, parse_day, EntryOrder, FeedKind, GenOptions, PrefixStyle,
};

use crate::GenArgs;

/// Parse `500MB`, `1GB`, `2GiB`, `123` (bytes).
fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number.parse().map_err(|_| format!("bad size `{text}`"))?;
    let factor = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        other => return Err(format!("unknown size unit `{other}`")),
    };
    Ok((number * factor) as u64)
}

pub(crate) fn run(args: &GenArgs) -> Result<ExitCode, String> {
    let mut options = match &args.size {
        Some(size) => options_for_size(parse_size(size)?, args.days, args.seed),
        None => GenOptions {
            usage_points: args.usage_points,
            days: args.days,
            seed: args.seed,
            ..GenOptions::default()
        },
    };
    if let Some(start) = &args.start {
        options.start_day =
            parse_day(start).ok_or_else(|| format!("--start {start}: expected YYYY-MM-DD"))?;
    }
    options.kind = match args.kind.as_str() {
        "bulk" => FeedKind::Bulk,
        "history" => FeedKind::History,
        other => return Err(format!("unknown kind `{other}` (bulk, history)")),
    };
    options.prefix_style = match args.prefix.as_str() {
        "default" => PrefixStyle::DefaultNamespace,
        "espi" => PrefixStyle::EspiPrefix,
        "ns0" => PrefixStyle::Ns0,
        other => {
            return Err(format!(
                "unknown prefix style `{other}` (default, espi, ns0)"
            ))
        }
    };
    options.corrections = args.corrections;
    options.order = match args.order.as_str() {
        "usage-point" => EntryOrder::ByUsagePoint,
        "blocks-first" => EntryOrder::BlocksFirst,
        other => {
            return Err(format!(
                "unknown entry order `{other}` (usage-point, blocks-first)"
            ))
        }
    };
    let summary = match args.output.as_deref() {
        None => generate(&options, BufWriter::new(std::io::stdout().lock())),
        Some(p) if p.as_os_str() == "-" => {
            generate(&options, BufWriter::new(std::io::stdout().lock()))
        }
        Some(path) => {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let temp = path.with_file_name(format!(".{name}.inprogress"));
            let file =
                std::fs::File::create(&temp).map_err(|e| format!("{}: {e}", temp.display()))?;
            let mut out = BufWriter::with_capacity(1 << 20, file);
            let summary = generate(&options, &mut out)
                .and_then(|s| out.flush().map(|_| s))
                .map_err(|e| format!("{}: {e}", path.display()))?;
            std::fs::rename(&temp, path).map_err(|e| format!("{}: {e}", path.display()))?;
            Ok(summary)
        }
    }
    .map_err(|e| e.to_string())?;
    eprintln!(
        "generated {} bytes: {} usage points, {} entries, {} interval blocks, {} readings",
        summary.bytes,
        summary.usage_points,
        summary.entries,
        summary.interval_blocks,
        summary.readings
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1GB"), Ok(1_000_000_000));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("500 MB"), Ok(500_000_000));
        assert_eq!(parse_size("123"), Ok(123));
        assert!(parse_size("1XB").is_err());
    }
}
