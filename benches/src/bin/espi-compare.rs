//! The comparison harness: on one file, in one run, time a plain read pass,
//! a bare quick-xml event loop (in two forms, borrowed and buffered: the
//! faster is the baseline, as the compiler's layout of one loop can make it
//! a third slower), espi XML to Arrow and espi XML to Parquet (one thread
//! each), and print MB/s, readings/s, peak anonymous memory and the ratios
//! to the bare event loop.
//!
//! Usage: `espi-compare FILE [RUNS]` (default 5 runs; medians are reported).
//! The stages run in rounds, each once per round, so that a slow spell of a
//! shared machine weighs on every stage alike rather than on one.

use std::path::PathBuf;
use std::time::Instant;

use espi_bench::{
    bare_quick_xml_events, bare_quick_xml_events_buffered, espi_parse_only, espi_to_arrow,
    espi_to_arrow_parallel, espi_to_parquet, espi_to_parquet_pipelined, read_pass, sync_files,
    PeakMemory,
};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// One stage's runs: times, peak anonymous memory in the first round (as
/// the stages before it left the process: later rounds would also count
/// what the allocator keeps of every other stage), and what its last run
/// counted (events or readings).
#[derive(Default)]
struct Runs {
    times: Vec<f64>,
    peak_anon: u64,
    count: u64,
}

impl Runs {
    fn run(&mut self, f: impl FnOnce() -> u64) {
        let probe = PeakMemory::start();
        let t = Instant::now();
        self.count = std::hint::black_box(f());
        let peak = probe.stop();
        if self.times.is_empty() {
            self.peak_anon = peak;
        }
        self.times.push(t.elapsed().as_secs_f64());
    }

    fn median(&self) -> f64 {
        median(self.times.clone())
    }
}

/// Time this thread has spent on a CPU (`/proc/thread-self/schedstat`,
/// nanoseconds); 0 where that is not available.
fn thread_cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0.0, |ns| ns as f64 / 1e9)
}

fn main() {
    espi_bench::tune_allocator();
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next().map(PathBuf::from) else {
        eprintln!("usage: espi-compare FILE [RUNS]");
        std::process::exit(2);
    };
    let runs: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(5).max(1);
    let fail = |e: std::io::Error| -> ! {
        eprintln!("espi-compare: {}: {e}", path.display());
        std::process::exit(1);
    };
    let file = std::fs::File::open(&path).unwrap_or_else(|e| fail(e));
    // SAFETY: read-only map of a file nobody modifies during the benchmark.
    let map = unsafe { memmap2::Mmap::map(&file) }.unwrap_or_else(|e| fail(e));
    let input: &[u8] = &map;
    let mb = input.len() as f64 / 1e6;
    // Warm the page cache.
    std::hint::black_box(read_pass(input));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // `ESPI_COMPARE_ONLY=parse`, `arrow`, `arrow-parts` (on every core),
    // `parquet` or `corrections` runs that stage alone RUNS times (for
    // profilers, memory traces and A/B comparisons), with the time this
    // thread spent on the CPU besides the wall time: the better measure when
    // other work shares the machine (`arrow-parts` works on the rayon pool,
    // so its CPU time here is near zero).
    if let Ok(stage) = std::env::var("ESPI_COMPARE_ONLY") {
        let stages = ["arrow", "arrow-parts", "corrections", "parse", "parquet"];
        if !stages.contains(&stage.as_str()) {
            eprintln!("ESPI_COMPARE_ONLY: one of {stages:?}, not {stage:?}");
            std::process::exit(2);
        }
        let out = tempfile::tempdir().expect("temp dir");
        let stage_run = || match stage.as_str() {
            "arrow" => drop(std::hint::black_box(espi_to_arrow(input))),
            "corrections" => drop(std::hint::black_box(espi_arrow::Corrections::find(&[
                input,
            ]))),
            "parse" => drop(std::hint::black_box(espi_parse_only(input))),
            "parquet" => drop(std::hint::black_box(espi_to_parquet(input, out.path()))),
            "arrow-parts" => drop(std::hint::black_box(espi_to_arrow_parallel(input, cores))),
            _ => unreachable!("checked above"),
        };
        let (mut walls, mut cpus) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            let (t, cpu) = (Instant::now(), thread_cpu_seconds());
            stage_run();
            walls.push(t.elapsed().as_secs_f64());
            cpus.push(thread_cpu_seconds() - cpu);
        }
        println!(
            "{stage}: median {:.3} s wall, {:.3} s on CPU (runs: {})",
            median(walls.clone()),
            median(cpus.clone()),
            walls
                .iter()
                .zip(&cpus)
                .map(|(w, c)| format!("{w:.3}/{c:.3}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        return;
    }

    let names = [
        "plain read pass",
        "bare quick-xml, slice",
        "bare quick-xml, buffered",
        "espi parser alone",
        "espi XML -> Arrow",
        "espi XML -> Parquet (zstd)",
        "espi XML -> Arrow, all cores",
        "espi XML -> Parquet, 2 threads",
        "corrections pass, all cores",
    ];
    let mut stages: Vec<Runs> = names.iter().map(|_| Runs::default()).collect();
    let out = tempfile::tempdir().expect("temp dir");
    let fresh_dir = |name: &str| {
        let dir = out.path().join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        dir
    };
    for _ in 0..runs {
        stages[0].run(|| read_pass(input));
        stages[1].run(|| bare_quick_xml_events(input));
        stages[2].run(|| bare_quick_xml_events_buffered(input));
        stages[3].run(|| espi_parse_only(input));
        stages[4].run(|| espi_to_arrow(input).readings_written);
        let dir = fresh_dir("readings");
        stages[5].run(|| espi_to_parquet(input, &dir).readings_written);
        // Written files reach the disk before the next stage (untimed).
        sync_files(&dir);
        stages[6].run(|| espi_to_arrow_parallel(input, cores).readings_written);
        let dir = fresh_dir("pipelined");
        stages[7].run(|| espi_to_parquet_pipelined(input, &dir).readings_written);
        sync_files(&dir);
        // The pass `espi convert` runs first to find intervals delivered
        // twice (when it converts several inputs, or one in parts).
        stages[8].run(|| espi_arrow::Corrections::find(&[input]).contested_entries() as u64);
    }
    assert_eq!(stages[1].count, stages[2].count, "both bare loops");
    assert_eq!(stages[4].count, stages[6].count, "one thread and all cores");
    assert_eq!(stages[4].count, stages[5].count, "Arrow and Parquet");
    let (events, readings_written) = (stages[1].count, stages[4].count);
    let seconds: Vec<f64> = stages.iter().map(Runs::median).collect();
    // The baseline is the faster of the two forms (the stricter test).
    let t_bare = seconds[1].min(seconds[2]);
    let (t_arrow, t_parquet, t_par, t_pipe) = (seconds[4], seconds[5], seconds[6], seconds[7]);
    let readings = readings_written as f64;
    println!(
        "input: {} ({:.1} MB, {} readings, {} XML events), median of {runs} runs, 1 thread",
        path.display(),
        mb,
        readings_written,
        events
    );
    println!(
        "{:<30} {:>9} {:>10} {:>14} {:>14} {:>9}",
        "stage", "seconds", "MB/s", "readings/s", "peak anon MiB", "vs bare"
    );
    for ((name, runs), &seconds) in names.iter().zip(&stages).zip(&seconds) {
        println!(
            "{:<30} {:>9.3} {:>10.1} {:>14.0} {:>14.1} {:>8.2}x",
            name,
            seconds,
            mb / seconds,
            readings / seconds,
            runs.peak_anon as f64 / (1024.0 * 1024.0),
            t_bare / seconds
        );
    }
    println!(
        "bare = the faster bare loop ({:.3} s)\ntargets: XML->Arrow >= 1.20x bare: {:.2}x; XML->Parquet >= 0.80x bare: {:.2}x (one thread), {:.2}x (encoding on a second thread)",
        t_bare,
        t_bare / t_arrow,
        t_bare / t_parquet,
        t_bare / t_pipe
    );
    println!(
        "scaling: XML->Arrow on {cores} cores is {:.2}x one thread (target >= {:.2}x)",
        t_arrow / t_par,
        0.75 * cores as f64
    );
}
