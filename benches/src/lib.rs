//! Shared pieces of the espi benchmarks: the baselines espi is measured
//! against and a peak-memory probe.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use arrow_array::RecordBatch;
use espi_arrow::{ConvertCounts, ConvertOptions, Converter, Table};
use espi_core::{parse_slice, ParseOptions};
use espi_parquet::{DatasetWriter, WriterOptions};
use quick_xml::events::Event;
use quick_xml::Reader;
use rayon::prelude::*;

/// The baseline: a bare quick-xml event loop over the bytes (no namespace
/// resolution, no field extraction). Returns the number of events.
///
/// ```
/// assert_eq!(espi_bench::bare_quick_xml_events(b"<a><b>1</b></a>"), 5);
/// ```
#[inline(never)]
pub fn bare_quick_xml_events(input: &[u8]) -> u64 {
    let mut reader = Reader::from_reader(input);
    let mut events = 0u64;
    loop {
        match reader.read_event() {
            Ok(Event::Eof) => break,
            Ok(_) => events += 1,
            Err(_) => break,
        }
    }
    events
}

/// The same loop with quick-xml's buffered API (`read_event_into`, one
/// reused buffer), as over a file. How fast each form runs depends on how
/// the compiler lays it out: the comparison harness times both and takes
/// the faster as its baseline.
///
/// ```
/// assert_eq!(espi_bench::bare_quick_xml_events_buffered(b"<a><b>1</b></a>"), 5);
/// ```
#[inline(never)]
pub fn bare_quick_xml_events_buffered(input: &[u8]) -> u64 {
    let mut reader = Reader::from_reader(std::io::BufReader::with_capacity(1 << 16, input));
    let mut buf = Vec::with_capacity(1 << 10);
    let mut events = 0u64;
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Eof) => break,
            Ok(_) => events += 1,
            Err(_) => break,
        }
        buf.clear();
    }
    events
}

/// A plain read pass: every byte touched once (sum of bytes).
pub fn read_pass(input: &[u8]) -> u64 {
    input
        .chunks(64)
        .map(|c| c.iter().map(|&b| b as u64).sum::<u64>())
        .sum()
}

/// espi's parser alone (readings and entries dropped): the scanner and the
/// namespace-aware event loop, no Arrow.
pub fn espi_parse_only(input: &[u8]) -> u64 {
    parse_slice(input, &ParseOptions::default(), &mut espi_core::NullSink)
        .expect("valid feed")
        .readings
}

/// Parts per thread of a parallel conversion ([`espi_arrow::convert_parallel`]):
/// parts of equal bytes differ in work, and the threads wait for the
/// slowest at the end of each pass; more parts even that out.
/// `ESPI_PARTS_PER_THREAD` in the environment overrides it (for A/B runs).
pub fn parts_per_thread() -> usize {
    std::env::var("ESPI_PARTS_PER_THREAD")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(PARTS_PER_THREAD)
}

/// See [`parts_per_thread`].
pub const PARTS_PER_THREAD: usize = 2;

/// A pool of `threads` threads, made once and kept: every run after the
/// first finds its threads started and their allocator heaps warm, as one
/// thread's runs find the calling thread's.
fn pool(threads: usize) -> Arc<rayon::ThreadPool> {
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>> = OnceLock::new();
    let mut pools = POOLS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    pools
        .entry(threads)
        .or_insert_with(|| {
            Arc::new(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .expect("thread pool"),
            )
        })
        .clone()
}

/// espi XML to Arrow batches with the input split into
/// `threads * parts_per_thread()` parts converted on a pool of `threads`
/// threads (batches are dropped).
pub fn espi_to_arrow_parallel(input: &[u8], threads: usize) -> ConvertCounts {
    pool(threads).install(|| {
        let done = espi_arrow::convert_parallel(
            "bench",
            input,
            &ConvertOptions::default(),
            &ParseOptions::default(),
            threads * parts_per_thread(),
            |_| {
                |_: Table, b: RecordBatch| {
                    std::hint::black_box(b);
                }
            },
        );
        done.conversion.counts
    })
}

/// espi XML to Arrow batches on one thread (batches are dropped).
pub fn espi_to_arrow(input: &[u8]) -> ConvertCounts {
    let mut converter = Converter::new("bench", ConvertOptions::default(), |_, b: RecordBatch| {
        std::hint::black_box(b);
    });
    parse_slice(input, &ParseOptions::default(), &mut converter).expect("valid feed");
    converter.finish().counts
}

/// espi XML to a zstd Parquet readings dataset under `dir`, on one thread.
pub fn espi_to_parquet(input: &[u8], dir: &std::path::Path) -> ConvertCounts {
    let mut writer = DatasetWriter::new(dir.to_owned(), "part", WriterOptions::readings());
    let mut converter = Converter::new(
        "bench",
        ConvertOptions::default(),
        |table, b: RecordBatch| {
            if table == Table::Readings {
                writer.write(&b).expect("write");
            }
        },
    );
    parse_slice(input, &ParseOptions::default(), &mut converter).expect("valid feed");
    let counts = converter.finish().counts;
    writer.finish().expect("finish");
    counts
}

/// espi XML to Parquet with the Parquet encoding on a second thread (as
/// `espi convert` runs when it has two cores).
pub fn espi_to_parquet_pipelined(input: &[u8], dir: &std::path::Path) -> ConvertCounts {
    std::thread::scope(|scope| {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<RecordBatch>(4);
        let encoder = scope.spawn(move || {
            let mut writer = DatasetWriter::new(dir.to_owned(), "part", WriterOptions::readings());
            for batch in receiver {
                writer.write(&batch).expect("write");
            }
            writer.finish().expect("finish");
        });
        let mut converter = Converter::new(
            "bench",
            ConvertOptions::default(),
            |table, b: RecordBatch| {
                if table == Table::Readings {
                    let _ = sender.send(b);
                }
            },
        );
        parse_slice(input, &ParseOptions::default(), &mut converter).expect("valid feed");
        let counts = converter.finish().counts;
        drop(sender);
        encoder.join().expect("encoder");
        counts
    })
}

/// mimalloc's `mi_option_purge_delay` (index 15 of `mi_option_e`).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Tune mimalloc as `espi convert` does: freed memory waits 30 ms before it
/// goes back to the OS (`MIMALLOC_PURGE_DELAY` in the environment overrides
/// it). Call first thing in `main`.
pub fn tune_allocator() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets a mimalloc option; any value is valid for this option.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 30) };
    }
}

/// Write every file under `dir` to disk (`fsync`). Benchmarks call it
/// between timed stages, untimed: the kernel's writeback of the files one
/// stage wrote would otherwise take CPU from the next.
pub fn sync_files(dir: &std::path::Path) {
    let mut dirs = vec![dir.to_owned()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if let Ok(file) = std::fs::File::open(&path) {
                let _ = file.sync_all();
            }
        }
    }
}

/// Anonymous resident memory of this process in bytes (`RssAnon`: heap and
/// stacks, not the pages of memory-mapped files).
pub fn anon_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("RssAnon:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Samples [`anon_rss_bytes`] every millisecond until stopped; reports the peak.
pub struct PeakMemory {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl PeakMemory {
    /// Start sampling.
    pub fn start() -> PeakMemory {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(anon_rss_bytes()));
        let thread = {
            let (stop, peak) = (stop.clone(), peak.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    peak.fetch_max(anon_rss_bytes(), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(1));
                }
            })
        };
        PeakMemory {
            stop,
            peak,
            thread: Some(thread),
        }
    }

    /// Stop and return the peak in bytes.
    pub fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.peak.load(Ordering::Relaxed).max(anon_rss_bytes())
    }
}

/// One part's readings, written to its own Parquet files (as `espi convert`
/// writes each part of a split input).
struct PartParquet {
    writer: DatasetWriter,
}

impl espi_arrow::BatchSink for PartParquet {
    fn batch(&mut self, table: Table, batch: RecordBatch) {
        if table == Table::Readings {
            self.writer.write(&batch).expect("write");
        }
    }

    fn part_converted(&mut self) {
        self.writer.close_files().expect("close");
    }
}

/// espi XML to a zstd Parquet readings dataset under `dir`, the input split
/// into `threads * parts_per_thread()` parts converted and encoded on a pool
/// of `threads` threads (each part writes its own files).
pub fn espi_to_parquet_parallel(
    input: &[u8],
    dir: &std::path::Path,
    threads: usize,
) -> ConvertCounts {
    pool(threads).install(|| {
        let done = espi_arrow::convert_parallel(
            "bench",
            input,
            &ConvertOptions::default(),
            &ParseOptions::default(),
            threads * parts_per_thread(),
            |k| PartParquet {
                writer: DatasetWriter::new(
                    dir.to_owned(),
                    &format!("part-{k:03}"),
                    WriterOptions::readings(),
                ),
            },
        );
        let sinks: Vec<PartParquet> = done.sinks;
        sinks.into_par_iter().for_each(|s| {
            s.writer.finish().expect("finish");
        });
        done.conversion.counts
    })
}
