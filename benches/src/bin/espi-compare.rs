//! The comparison harness: on one file, in one run, time a plain read pass,
//! a bare quick-xml event loop (in two forms, borrowed and buffered: the
//! faster is the baseline, as the compiler's layout of one loop can make it
//! a third slower), espi XML to Arrow and espi XML to Parquet (one thread
//! each), and print MB/s, readings/s, peak anonymous memory and the ratios
//! to the bare event loop.
//!
//! Usage: `espi-compare FILE [RUNS]` (default 5 runs; medians are reported).

use std::path::PathBuf;
use std::time::Instant;

use espi_bench::{
    bare_quick_xml_events, bare_quick_xml_events_buffered, espi_parse_only, espi_to_arrow,
    espi_to_arrow_parallel, espi_to_parquet, espi_to_parquet_pipelined, read_pass, PeakMemory,
};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Stage {
    name: &'static str,
    seconds: f64,
    peak_anon: u64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, u64, T) {
    let mut times = Vec::new();
    let mut peak = 0;
    let mut last = None;
    for _ in 0..runs {
        let probe = PeakMemory::start();
        let t = Instant::now();
        let out = f();
        times.push(t.elapsed().as_secs_f64());
        peak = peak.max(probe.stop());
        last = Some(out);
    }
    (median(times), peak, last.expect("at least one run"))
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

    let (t_read, m_read, _) = time(runs, || std::hint::black_box(read_pass(input)));
    let (t_bare_slice, m_bare_slice, events) = time(runs, || bare_quick_xml_events(input));
    let (t_bare_buffered, m_bare_buffered, buffered_events) =
        time(runs, || bare_quick_xml_events_buffered(input));
    assert_eq!(events, buffered_events);
    // The baseline is the faster of the two forms (the stricter test).
    let t_bare = t_bare_slice.min(t_bare_buffered);
    let (t_parse, m_parse, _) = time(runs, || espi_parse_only(input));
    let (t_arrow, m_arrow, counts) = time(runs, || espi_to_arrow(input));
    let out = tempfile::tempdir().expect("temp dir");
    let (t_parquet, m_parquet, _) = time(runs, || {
        let dir = out.path().join("readings");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        espi_to_parquet(input, &dir)
    });
    let (t_pipe, m_pipe, _) = time(runs, || {
        let dir = out.path().join("pipelined");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        espi_to_parquet_pipelined(input, &dir)
    });
    let (t_par, m_par, par_counts) = time(runs, || espi_to_arrow_parallel(input, cores));
    // The pass `espi convert` runs first to find intervals delivered twice.
    let (t_corr, m_corr, _) = time(runs, || {
        espi_arrow::Corrections::find(&[input]).contested_entries()
    });
    assert_eq!(par_counts.readings_written, counts.readings_written);
    let readings = counts.readings_written as f64;
    let stages = [
        Stage {
            name: "plain read pass",
            seconds: t_read,
            peak_anon: m_read,
        },
        Stage {
            name: "bare quick-xml, slice",
            seconds: t_bare_slice,
            peak_anon: m_bare_slice,
        },
        Stage {
            name: "bare quick-xml, buffered",
            seconds: t_bare_buffered,
            peak_anon: m_bare_buffered,
        },
        Stage {
            name: "espi parser alone",
            seconds: t_parse,
            peak_anon: m_parse,
        },
        Stage {
            name: "espi XML -> Arrow",
            seconds: t_arrow,
            peak_anon: m_arrow,
        },
        Stage {
            name: "espi XML -> Parquet (zstd)",
            seconds: t_parquet,
            peak_anon: m_parquet,
        },
        Stage {
            name: "espi XML -> Arrow, all cores",
            seconds: t_par,
            peak_anon: m_par,
        },
        Stage {
            name: "espi XML -> Parquet, 2 threads",
            seconds: t_pipe,
            peak_anon: m_pipe,
        },
        Stage {
            name: "corrections pass, all cores",
            seconds: t_corr,
            peak_anon: m_corr,
        },
    ];
    println!(
        "input: {} ({:.1} MB, {} readings, {} XML events), median of {runs} runs, 1 thread",
        path.display(),
        mb,
        counts.readings_written,
        events
    );
    println!(
        "{:<28} {:>9} {:>10} {:>14} {:>14} {:>9}",
        "stage", "seconds", "MB/s", "readings/s", "peak anon MiB", "vs bare"
    );
    for s in &stages {
        println!(
            "{:<28} {:>9.3} {:>10.1} {:>14.0} {:>14.1} {:>8.2}x",
            s.name,
            s.seconds,
            mb / s.seconds,
            readings / s.seconds,
            s.peak_anon as f64 / (1024.0 * 1024.0),
            t_bare / s.seconds
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
