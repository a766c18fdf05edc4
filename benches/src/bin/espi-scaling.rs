//! Multi-core scaling of one large feed: XML to Arrow and XML to zstd
//! Parquet (readings) on 1, 2, 4, ... threads, each compared with one thread
//! on the same bytes, with peak anonymous memory.
//!
//! Usage: `espi-scaling [FILE | --size 2GB] [--threads 1,2,4,8,16] [--runs 3]
//! [--write FEED]`
//!
//! Without FILE, a daily Bulk feed of `--size` bytes (`espi gen --size`, the
//! default seed) is generated first, so the harness needs nothing but itself;
//! with `--write FEED` the feed is only written to FEED (for other harnesses).

use std::time::Instant;

use espi_bench::{
    bare_quick_xml_events, espi_to_arrow, espi_to_arrow_parallel, espi_to_parquet,
    espi_to_parquet_parallel, read_pass, sync_files, PeakMemory,
};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median seconds and peak anonymous memory of `runs` runs of `f`.
fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, u64) {
    let mut times = Vec::new();
    let mut peak = 0;
    for _ in 0..runs {
        let probe = PeakMemory::start();
        let t = Instant::now();
        std::hint::black_box(f());
        times.push(t.elapsed().as_secs_f64());
        peak = peak.max(probe.stop());
    }
    (median(times), peak)
}

fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim().to_ascii_lowercase();
    let split = t.find(|c: char| !c.is_ascii_digit() && c != '.')?;
    let (n, unit) = t.split_at(split);
    let factor = match unit {
        "mb" => 1e6,
        "gb" => 1e9,
        _ => return None,
    };
    Some((n.parse::<f64>().ok()? * factor) as u64)
}

fn usage() -> ! {
    eprintln!(
        "usage: espi-scaling [FILE | --size 2GB] [--threads 1,2,4,8,16] [--runs 3] [--write FEED]"
    );
    std::process::exit(2)
}

fn main() {
    espi_bench::tune_allocator();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut file = None;
    let mut size = 2_000_000_000u64;
    let mut threads: Vec<usize> = std::iter::successors(Some(1usize), |t| Some(t * 2))
        .take_while(|&t| t <= cores)
        .collect();
    let mut runs = 3usize;
    let mut write = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--size" => {
                size = args
                    .next()
                    .as_deref()
                    .and_then(parse_size)
                    .unwrap_or_else(|| usage())
            }
            "--threads" => {
                threads = args
                    .next()
                    .unwrap_or_else(|| usage())
                    .split(',')
                    .map(|t| t.parse().unwrap_or_else(|_| usage()))
                    .collect()
            }
            "--runs" => {
                runs = args
                    .next()
                    .and_then(|r| r.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "--write" => write = Some(args.next().unwrap_or_else(|| usage())),
            _ if arg.starts_with("--") => usage(),
            _ => file = Some(arg),
        }
    }
    let runs = runs.max(1);
    // Every speedup is relative to one thread, so one thread runs first.
    threads.retain(|&t| t > 1);
    threads.insert(0, 1);

    let out = tempfile::tempdir().expect("temp dir");
    let (name, path) = match file {
        Some(path) => (path.clone(), std::path::PathBuf::from(path)),
        None => {
            // Generated into a file and mapped, as `espi convert` reads a
            // file: its pages are not anonymous memory.
            let t = Instant::now();
            let options = espi_gen::options_for_size(size, 1, 1);
            let path = write
                .clone()
                .map_or_else(|| out.path().join("bulk.xml"), std::path::PathBuf::from);
            let writer = std::io::BufWriter::with_capacity(
                1 << 20,
                std::fs::File::create(&path).expect("create feed"),
            );
            let summary = espi_gen::generate(&options, writer).expect("generate");
            eprintln!(
                "generated a Bulk feed: {} usage points, {} readings, {:.1} MB in {:.1} s",
                summary.usage_points,
                summary.readings,
                summary.bytes as f64 / 1e6,
                t.elapsed().as_secs_f64()
            );
            if write.is_some() {
                return;
            }
            (format!("espi gen --size {size}"), path)
        }
    };
    let f = std::fs::File::open(&path).expect("open input");
    // SAFETY: read-only map of a file nobody modifies during the run.
    let map = unsafe { memmap2::Mmap::map(&f) }.expect("map input");
    let input: &[u8] = &map;
    let mb = input.len() as f64 / 1e6;
    std::hint::black_box(read_pass(input));

    let (t_bare, _) = time(runs, || bare_quick_xml_events(input));
    let fresh = |name: &str| {
        let dir = out.path().join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        dir
    };
    println!(
        "input: {name} ({mb:.1} MB), {cores} cores, median of {runs} runs; bare quick-xml event loop {:.0} MB/s on one thread",
        mb / t_bare
    );
    println!(
        "{:>7} | {:>10} {:>8} {:>8} {:>9} | {:>10} {:>8} {:>8} {:>9}",
        "threads",
        "Arrow MB/s",
        "speedup",
        "per core",
        "peak MiB",
        "Parquet MB/s",
        "speedup",
        "per core",
        "peak MiB"
    );
    let mut one = (0.0, 0.0);
    let mut readings = None;
    for &n in &threads {
        let (t_arrow, m_arrow) = time(runs, || {
            let counts = if n == 1 {
                espi_to_arrow(input)
            } else {
                espi_to_arrow_parallel(input, n)
            };
            let r = *readings.get_or_insert(counts.readings_written);
            assert_eq!(counts.readings_written, r, "same readings on every run");
        });
        let (t_parquet, m_parquet) = time(runs, || {
            let dir = fresh("readings");
            if n == 1 {
                espi_to_parquet(input, &dir)
            } else {
                espi_to_parquet_parallel(input, &dir, n)
            }
        });
        // The files reach the disk before the next timed runs (untimed).
        sync_files(&out.path().join("readings"));
        if n == 1 {
            one = (t_arrow, t_parquet);
        }
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        let (s_arrow, s_parquet) = (one.0 / t_arrow, one.1 / t_parquet);
        println!(
            "{n:>7} | {:>10.0} {:>7.2}x {:>8.2} {:>9.0} | {:>12.0} {:>7.2}x {:>8.2} {:>9.0}",
            mb / t_arrow,
            s_arrow,
            s_arrow / n as f64,
            mib(m_arrow),
            mb / t_parquet,
            s_parquet,
            s_parquet / n as f64,
            mib(m_parquet)
        );
    }
    println!(
        "readings: {}; speedup is one thread's time over n threads' (target: at least 0.75 per core)",
        readings.unwrap_or(0)
    );
}
