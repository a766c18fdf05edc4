//! `espi ingest` and `espi lake ...`: daily feeds into Delta Lake tables.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use espi_lake::{Feed, IngestOptions, Lake, READINGS};

use crate::convert::source_name;
use crate::ConvertArgs;

#[derive(Args, Debug)]
pub(crate) struct IngestArgs {
    /// ESPI XML feeds (`-` reads stdin).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    #[command(flatten)]
    lake: LakeArgs,
    /// Skip an entry with a bad value (reporting it) instead of stopping.
    #[arg(long)]
    skip_bad_entries: bool,
    /// TOU code names (a CSV file of `code,name` lines), as for `convert`.
    #[arg(long, value_name = "FILE")]
    tou_map: Option<PathBuf>,
    /// zstd level of the lake's Parquet files, 1 to 22.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(i32).range(1..=22))]
    zstd_level: i32,
    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Args, Debug)]
pub(crate) struct LakeArgs {
    /// The lake: a local folder, or s3://, az://, abfss://, gs:// (with the
    /// `s3`, `azure`, `gcs` build features); one Delta table per table at
    /// URI/<table>.
    #[arg(long, value_name = "URI")]
    lake: String,
    /// Object-store settings for delta-rs, KEY=VALUE (repeatable), e.g.
    /// AWS_REGION=us-west-2; credentials are also read from the usual
    /// environment variables.
    #[arg(long = "storage-option", value_name = "KEY=VALUE")]
    storage_options: Vec<String>,
}

impl LakeArgs {
    fn open(&self) -> Result<Lake, String> {
        let mut options = HashMap::new();
        for kv in &self.storage_options {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| format!("--storage-option {kv}: expected KEY=VALUE"))?;
            options.insert(k.to_owned(), v.to_owned());
        }
        Ok(Lake::open(&self.lake)
            .map_err(|e| e.to_string())?
            .with_storage_options(options))
    }
}

#[derive(Subcommand, Debug)]
pub(crate) enum LakeCommand {
    /// Version, files, rows, bytes and partitions of each table.
    Stats(LakeArgs),
    /// The versions of a table, newest first, with the feeds they came from.
    History {
        #[command(flatten)]
        lake: LakeArgs,
        /// The table.
        #[arg(long, default_value = READINGS)]
        table: String,
        /// At most this many versions.
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Compact small files; readings rewritten z-ordered by usage point.
    Optimize {
        #[command(flatten)]
        lake: LakeArgs,
        /// Only these months of readings (YYYY-MM, repeatable; default all).
        #[arg(long = "month")]
        months: Vec<String>,
    },
    /// Delete files no recent version uses.
    Vacuum {
        #[command(flatten)]
        lake: LakeArgs,
        /// Keep the files of versions younger than this.
        #[arg(long, default_value_t = 168)]
        retention_hours: u64,
        /// List what would be deleted, delete nothing.
        #[arg(long)]
        dry_run: bool,
        /// Also delete files no version ever used (left by a killed ingest).
        #[arg(long)]
        full: bool,
        /// Allow a retention below the tables' own (7 days by default).
        #[arg(long)]
        force: bool,
    },
    /// Run a SQL query over the lake's tables (DataFusion).
    Sql {
        #[command(flatten)]
        lake: LakeArgs,
        /// The query, e.g. "SELECT month, count(*) FROM readings GROUP BY month".
        query: String,
    },
}

/// Hash the feeds, convert the ones not in the lake yet, merge them.
pub(crate) fn ingest(args: &IngestArgs) -> Result<ExitCode, String> {
    let scratch = tempfile::Builder::new()
        .prefix("espi-ingest-")
        .tempdir()
        .map_err(|e| format!("temporary folder: {e}"))?;
    let mut feeds = Vec::new();
    let mut paths = Vec::new();
    for input in &args.inputs {
        let path = if input.as_os_str() == "-" {
            // stdin is kept aside: hashed, then converted.
            let kept = scratch.path().join("stdin.xml");
            let mut file =
                std::fs::File::create(&kept).map_err(|e| format!("{}: {e}", kept.display()))?;
            std::io::copy(&mut std::io::stdin().lock(), &mut file)
                .map_err(|e| format!("<stdin>: {e}"))?;
            kept
        } else {
            input.clone()
        };
        let feed = Feed::of_file(&path, &source_name(input))
            .map_err(|e| format!("{}: {e}", input.display()))?;
        feeds.push(feed);
        paths.push(path);
    }
    let lake = args.lake.open()?;
    let pending = lake.pending(&feeds).map_err(|e| e.to_string())?;
    for feed in &feeds {
        if !pending.iter().any(|p| p.sha256 == feed.sha256) {
            eprintln!(
                "{}: already in the lake (sha256 {}), skipped",
                feed.name, feed.sha256
            );
        }
    }
    if pending.is_empty() {
        println!("nothing to ingest: every feed is already in {}", lake.uri());
        return Ok(ExitCode::SUCCESS);
    }
    let mut inputs = Vec::new();
    for feed in &pending {
        let i = feeds
            .iter()
            .position(|f| f.sha256 == feed.sha256)
            .unwrap_or(0);
        inputs.push(paths[i].clone());
    }
    let tables = scratch.path().join("tables");
    // Superseded deliveries are left out here: the lake keeps the latest.
    let convert = ConvertArgs::scratch(
        inputs,
        tables.clone(),
        args.skip_bad_entries,
        args.tou_map.clone(),
        true,
        args.quiet,
    );
    let code = crate::convert::run(&convert)?;
    if code != ExitCode::SUCCESS {
        eprintln!("espi: nothing ingested: a feed could not be converted");
        return Ok(code);
    }
    let options = IngestOptions {
        zstd_level: args.zstd_level,
        ..IngestOptions::default()
    };
    let started = std::time::Instant::now();
    let report = lake
        .ingest(&tables, &pending, &options)
        .map_err(|e| format!("{e} (the table keeps its previous version; run again to finish)"))?;
    println!(
        "{:<26} {:>8} {:>8} {:>10} {:>10} {:>10} {:>13}  months",
        "table", "change", "version", "rows", "inserted", "updated", "files r/s/+/-"
    );
    for t in report.tables.iter().filter(|t| t.operation != "none") {
        let files = format!(
            "{}/{}/{}/{}",
            t.files_scanned, t.files_skipped, t.files_added, t.files_removed
        );
        println!(
            "{:<26} {:>8} {:>8} {:>10} {:>10} {:>10} {:>13}  {}",
            t.table,
            t.operation,
            t.version.map_or("-".into(), |v| v.to_string()),
            t.source_rows,
            t.inserted,
            t.updated,
            files,
            t.months.join(",")
        );
    }
    println!(
        "(files r/s/+/-: read by the MERGE, skipped thanks to its predicate, written, replaced)"
    );
    println!(
        "ingested {} feed(s) into {} in {:.1} s",
        pending.len(),
        lake.uri(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn run(command: &LakeCommand) -> Result<ExitCode, String> {
    let text = |e: espi_lake::LakeError| e.to_string();
    match command {
        LakeCommand::Stats(lake) => {
            let lake = lake.open()?;
            let stats = lake.stats().map_err(text)?;
            if stats.is_empty() {
                return Err(format!("{}: no tables", lake.uri()));
            }
            println!(
                "{:<26} {:>8} {:>8} {:>12} {:>14}  partitions",
                "table", "version", "files", "rows", "bytes"
            );
            for s in stats {
                let partitions = match s.partitions.len() {
                    0 => String::new(),
                    1 => s.partitions[0].clone(),
                    n => format!("{n}: {} .. {}", s.partitions[0], s.partitions[n - 1]),
                };
                println!(
                    "{:<26} {:>8} {:>8} {:>12} {:>14}  {partitions}",
                    s.table, s.version, s.files, s.rows, s.bytes
                );
            }
        }
        LakeCommand::History { lake, table, limit } => {
            let lake = lake.open()?;
            for commit in lake.history(table, *limit).map_err(text)? {
                let when = commit
                    .timestamp_ms
                    .and_then(chrono::DateTime::from_timestamp_millis)
                    .map_or("-".into(), |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string());
                let feeds: Vec<String> = commit
                    .feeds
                    .iter()
                    .map(|f| format!("{} ({}…)", f.name, f.sha256.get(..12).unwrap_or(&f.sha256)))
                    .collect();
                let metric = |k: &str| commit.metrics.get(k).and_then(|v| v.as_u64());
                let rows = match (
                    metric("num_target_rows_inserted"),
                    metric("num_target_rows_updated"),
                    metric("num_added_rows"),
                ) {
                    (Some(i), Some(u), _) => format!("+{i} ~{u}"),
                    (_, _, Some(a)) => format!("+{a}"),
                    _ => String::new(),
                };
                println!(
                    "v{:<5} {when}  {:<14} {:<16} {}",
                    commit.version,
                    commit.operation,
                    rows,
                    feeds.join(", ")
                );
            }
        }
        LakeCommand::Optimize { lake, months } => {
            let lake = lake.open()?;
            for (table, removed, added) in lake
                .optimize(months, &IngestOptions::default())
                .map_err(text)?
            {
                println!("{table}: {removed} files rewritten into {added}");
            }
        }
        LakeCommand::Vacuum {
            lake,
            retention_hours,
            dry_run,
            full,
            force,
        } => {
            let lake = lake.open()?;
            let report = lake
                .vacuum(*retention_hours, *dry_run, *full, *force)
                .map_err(text)?;
            let verb = if report.dry_run {
                "would delete"
            } else {
                "deleted"
            };
            for (table, files) in report.tables {
                println!("{table}: {verb} {} files", files.len());
                for f in files {
                    println!("  {f}");
                }
            }
        }
        LakeCommand::Sql { lake, query } => {
            let lake = lake.open()?;
            let batches = lake.sql(query).map_err(text)?;
            let shown = espi_lake::pretty(&batches).map_err(text)?;
            println!("{shown}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
