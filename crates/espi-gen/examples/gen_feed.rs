//! Generate a feed and report the generation speed.
//!
//! ```text
//! cargo run --release -p espi-gen --example gen_feed -- [SIZE_MB] [DAYS] [OUTPUT|-]
//! ```
//! With no OUTPUT the feed goes to a sink (pure generation speed); `-` writes
//! to stdout.

use std::io::{self, Write};
use std::time::Instant;

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let size_mb: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(200);
    let days: u32 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1);
    let t = Instant::now();
    let options = espi_gen::options_for_size(size_mb * 1_000_000, days, 7);
    let sizing = t.elapsed();
    let t = Instant::now();
    let summary = match args.get(2).map(String::as_str) {
        None => espi_gen::generate(&options, io::sink())?,
        Some("-") => espi_gen::generate(&options, io::stdout().lock())?,
        Some(path) => espi_gen::generate(&options, std::fs::File::create(path)?)?,
    };
    let secs = t.elapsed().as_secs_f64();
    let mut err = io::stderr().lock();
    writeln!(
        err,
        "options: {options:?} (sized in {:.2} s)",
        sizing.as_secs_f64()
    )?;
    writeln!(err, "summary: {summary:?}")?;
    writeln!(
        err,
        "{} bytes in {:.3} s = {:.0} MB/s; {:.1} bytes per reading; {:.0} readings/s",
        summary.bytes,
        secs,
        summary.bytes as f64 / secs / 1e6,
        summary.bytes as f64 / summary.readings.max(1) as f64,
        summary.readings as f64 / secs
    )?;
    Ok(())
}
