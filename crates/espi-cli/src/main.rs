//! `espi`: Green Button (NAESB ESPI) XML to analysis-ready Parquet.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

mod analyze;
mod convert;
mod generate;
mod inspect;
mod lake;
mod progress;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Turn Green Button (NAESB ESPI) energy-usage XML into Parquet tables.
///
/// espi streams Atom/ESPI feeds of any size (Download My Data files, Green
/// Button Connect Bulk feeds) in bounded memory and writes one row per
/// interval reading, with the ReadingType's multiplier applied exactly and
/// units normalised (kWh, kW, therm, ...).
#[derive(Parser, Debug)]
#[command(name = "espi", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Convert ESPI XML files to Parquet datasets under OUT/<table>/.
    ///
    /// Tables: readings (one row per IntervalReading), usage_points,
    /// meter_readings, reading_types, entries (every other resource, fields
    /// as JSON) and rejects (what was read but not written, and why).
    /// Output appears under its final name only when complete; a table from
    /// an earlier run is replaced as a whole.
    ///
    /// Examples:
    ///   espi convert testdata/pge_electric_15min.xml -o out
    ///   espi convert feeds/*.xml -o lake --partition-by month,usage-point-bucket --buckets 64
    ///   gunzip -c bulk.xml.gz | espi convert - -o out --skip-bad-entries --report report.json
    #[command(verbatim_doc_comment)]
    Convert(ConvertArgs),
    /// Summarise an ESPI file: usage points, meter readings with their
    /// reading types, date span, reading counts, quality and TOU codes.
    ///
    /// Example:
    ///   espi inspect testdata/pge_electric_15min.xml
    #[command(verbatim_doc_comment)]
    Inspect(InspectArgs),
    /// Write a synthetic, realistic ESPI feed (deterministic for a seed):
    /// many usage points, 15-minute and hourly electric, daily gas,
    /// net-metered points with delivered and received series, TOU and quality
    /// codes, UsageSummary entries, DST days, corrections of earlier days.
    ///
    /// Examples:
    ///   espi gen --size 1GB -o bulk.xml
    ///   espi gen --usage-points 500 --days 365 --kind history -o history.xml
    #[command(verbatim_doc_comment)]
    Gen(GenArgs),
    /// Analyses of ESPI XML files or of a folder written by `espi convert`:
    /// net metering, load profiles, TOU roll-ups, data completeness. Prints a
    /// table, or writes it with -o FILE (.csv or .parquet).
    ///
    /// Examples:
    ///   espi analyze net-metering feed.xml --by day --svg net.svg
    ///   espi analyze load-profile out/ -o profile.parquet --svg profile.svg
    ///   espi analyze tou out/ --by billing -o tou.csv
    ///   espi analyze completeness out/ -o completeness.csv
    #[command(verbatim_doc_comment)]
    Analyze(analyze::AnalyzeArgs),
    /// Merge daily ESPI feeds into Delta Lake tables at LAKE/<table>:
    /// readings keyed by (usage_point, meter_reading, start) and partitioned
    /// by month, the newest delivery of an interval winning; the other tables
    /// upserted by their keys. Each table changes in one commit; a feed
    /// already in the lake (same SHA-256) is skipped.
    ///
    /// Examples:
    ///   espi ingest feeds/2024-06-02.xml --lake /data/lake
    ///   gunzip -c bulk.xml.gz | espi ingest - --lake s3://bucket/lake
    #[command(verbatim_doc_comment)]
    Ingest(lake::IngestArgs),
    /// Look after a lake written by `espi ingest`: stats, history, optimize,
    /// vacuum, sql.
    ///
    /// Examples:
    ///   espi lake stats --lake /data/lake
    ///   espi lake history --lake /data/lake --limit 10
    ///   espi lake optimize --lake /data/lake --month 2024-06
    ///   espi lake vacuum --lake /data/lake --dry-run
    ///   espi lake sql --lake /data/lake "SELECT month, count(*) FROM readings GROUP BY month"
    #[command(verbatim_doc_comment, subcommand)]
    Lake(lake::LakeCommand),
}

#[derive(Args, Debug)]
pub(crate) struct GenArgs {
    /// Output file (`-` or absent: stdout).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Approximate size (e.g. 500MB, 1GB, 2GiB); sets --usage-points.
    #[arg(long)]
    size: Option<String>,
    /// Number of usage points.
    #[arg(long, default_value_t = 100)]
    usage_points: u32,
    /// Days of interval data per usage point.
    #[arg(long, default_value_t = 1)]
    days: u32,
    /// First day (YYYY-MM-DD, local Pacific calendar day; default 2024-06-01).
    #[arg(long)]
    start: Option<String>,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// `bulk` (a daily Bulk feed) or `history`.
    #[arg(long, default_value = "bulk")]
    kind: String,
    /// Namespace style: `default`, `espi` or `ns0` (PG&E-like ns0:/ns1:).
    #[arg(long, default_value = "default")]
    prefix: String,
    /// Fraction of usage points with a corrected earlier day.
    #[arg(long, default_value_t = 0.05)]
    corrections: f64,
    /// Entry order: `usage-point` (each usage point's metadata, blocks and
    /// summaries together) or `blocks-first` (every IntervalBlock before any
    /// metadata).
    #[arg(long, default_value = "usage-point")]
    order: String,
}

#[derive(Args, Debug)]
pub(crate) struct ConvertArgs {
    /// ESPI XML files (`-` reads stdin).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Output folder; each table becomes OUT/<table>/.
    #[arg(short, long)]
    output: PathBuf,
    /// Partition the readings table into hive-style folders by these keys
    /// (comma-separated): `month` (UTC month of start) and
    /// `usage-point-bucket` (FNV-1a hash of usage_point modulo --buckets).
    #[arg(long, value_name = "KEYS")]
    partition_by: Option<String>,
    /// Number of usage-point buckets for --partition-by usage-point-bucket.
    #[arg(long, default_value_t = 16)]
    buckets: u32,
    /// Skip an entry with a bad value (reporting its position and reason)
    /// instead of stopping. Malformed XML still ends that file; complete
    /// entries before it are kept.
    #[arg(long)]
    skip_bad_entries: bool,
    /// Write the run's counts and every rejection as JSON to this file.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// TOU code names for `tou_name`: a CSV file of `code,name` lines (the
    /// default names 1 summer_peak, 2 summer_off_peak, 3 winter_peak,
    /// 4 winter_off_peak, 5 critical_peak; other codes `tou_<code>`).
    #[arg(long, value_name = "FILE")]
    tou_map: Option<PathBuf>,
    /// Leave out readings superseded by a later delivery of the same
    /// (meter reading, start) in the run (by default they are written with
    /// `superseded = true`); they are counted in the summary.
    #[arg(long)]
    latest_only: bool,
    /// Rows per readings batch.
    #[arg(long, default_value_t = 16_384)]
    batch_size: usize,
    /// zstd compression level, 1 to 22 (1 is fast; higher levels give
    /// files a few percent smaller).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..=22))]
    zstd_level: i32,
    /// Threads (default: all cores). Each input, or part of one large
    /// input, is parsed on one thread and encoded on another.
    #[arg(long)]
    threads: Option<usize>,
    /// Memory to stay within, in MiB. Inputs are converted at once as far
    /// as their estimated memory fits (24 to 80 MiB each, by size); a large
    /// input is cut into parts converted at once only when two or more fit
    /// (150 MiB plus 56 MiB a part), after what the run's corrections keep
    /// (12 bytes for each interval delivered more than once). What the
    /// conversions keep for every meter reading to the end of their input
    /// (about 500 bytes) takes a sixty-fourth of it; the rest of that
    /// lives in a temporary file (in TMPDIR: best on a disk, not in memory)
    /// mapped into memory, which the system pages. The default converts a 2 GB feed on two threads; raise it to
    /// use more cores on one input.
    #[arg(long, value_name = "MIB", default_value_t = 256)]
    memory: usize,
    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
    /// Print the summary on stderr (when stdout carries other output).
    #[arg(skip)]
    summary_to_stderr: bool,
}

impl ConvertArgs {
    /// The conversion another command runs into a scratch folder: the
    /// defaults of `convert`, the summary on stderr.
    pub(crate) fn scratch(
        inputs: Vec<PathBuf>,
        output: PathBuf,
        skip_bad_entries: bool,
        tou_map: Option<PathBuf>,
        latest_only: bool,
        quiet: bool,
    ) -> ConvertArgs {
        ConvertArgs {
            inputs,
            output,
            partition_by: None,
            buckets: 16,
            skip_bad_entries,
            report: None,
            tou_map,
            latest_only,
            batch_size: 16_384,
            zstd_level: 1,
            threads: None,
            memory: 256,
            quiet,
            summary_to_stderr: true,
        }
    }
}

#[derive(Args, Debug)]
pub(crate) struct InspectArgs {
    /// An ESPI XML file (`-` reads stdin).
    input: PathBuf,
}

/// mimalloc's `mi_option_purge_delay` (index 15 of `mi_option_e` in
/// mimalloc.h, v2 and v3).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// How long freed memory waits before it goes back to the OS, in ms.
///
/// Batches of the same size are allocated again within a few milliseconds
/// and keep their pages, while what a finished phase frees (the readings'
/// buffers when the final tables are built) goes back soon enough to keep
/// the peak low. With mimalloc's transparent huge pages off (the `no_thp`
/// build feature), `espi convert` on two threads, AMD EPYC machine, two
/// rounds alternated, 30 ms against 100 ms: 2 GB Bulk feed 135-141 against
/// 144-146 MiB at 469-476 against 464-475 MB/s; the same feed with every
/// block first 158-167 against 169-177 MiB; a 2 GB hourly Bulk feed
/// (242,493 usage points) 238-242 against 263-283 MiB at 248-260 against
/// 258-261 MB/s; 10-25% more minor page faults. Mimalloc's default, 10 ms,
/// took 20 MiB less than 100 ms but 50% more page faults and 5-13% more
/// time (a batch is built in about 10 ms); huge pages made every purged
/// page cost a 2 MiB zeroing. Never purging: 201-232 MiB for the 2 GB feed.
pub(crate) const PURGE_DELAY_MS: std::ffi::c_long = 30;

/// Set mimalloc's purge delay ([`PURGE_DELAY_MS`]);
/// `MIMALLOC_PURGE_DELAY` in the environment overrides it.
pub(crate) fn tune_allocator() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets a mimalloc option; any value is valid for this option.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
    }
}

fn main() -> ExitCode {
    tune_allocator();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Convert(args) => convert::run(&args),
        Command::Inspect(args) => inspect::run(&args),
        Command::Gen(args) => generate::run(&args),
        Command::Analyze(args) => {
            analyze::readable_tables();
            analyze::run(&args)
        }
        Command::Ingest(args) => lake::ingest(&args),
        Command::Lake(command) => lake::run(&command),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("espi: error: {message}");
            ExitCode::from(2)
        }
    }
}
