//! `espi convert`: inputs to Parquet datasets, with counts and rejections.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use arrow_array::{ArrayRef, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use espi_arrow::{
    convert_parallel, empty_batch, BatchSink, ConvertCounts, ConvertOptions, Converter,
    Corrections, Rejection, RepeatWatch, Table,
};
use espi_core::{Input, ParseOptions};
use espi_model::tou::TouNames;
use espi_parquet::{
    write_table, DatasetWriter, OutputDir, Partitioning, WriteError, WriterOptions,
};
use serde::Serialize;

use crate::progress::{Progress, ProgressSink};
use crate::ConvertArgs;

/// What became of one input.
pub(crate) struct FileOutcome {
    pub(crate) source: String,
    pub(crate) bytes: u64,
    pub(crate) counts: ConvertCounts,
    pub(crate) rejections: Vec<Rejection>,
    pub(crate) warnings: Vec<String>,
    /// The error that stopped this input, if any.
    pub(crate) fatal: Option<String>,
    /// It delivers some interval more than once (noted only when converted
    /// without the corrections pass: [`ConvertOptions::watch_repeats`]).
    pub(crate) repeats_intervals: bool,
}

/// Display name of an input.
pub(crate) fn source_name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "<stdin>".to_owned()
    } else {
        path.display().to_string()
    }
}

/// Inputs at least this large are split into parts converted in parallel
/// when there are more cores than inputs.
const PARALLEL_MIN_BYTES: u64 = 16 << 20;

/// Where each table's files go, and how they are encoded.
struct TableDirs {
    dirs: BTreeMap<Table, PathBuf>,
    readings: WriterOptions,
    others: WriterOptions,
}

impl TableDirs {
    fn create(out: &OutputDir, readings: &WriterOptions) -> Result<TableDirs, WriteError> {
        let mut dirs = BTreeMap::new();
        for table in Table::ALL {
            dirs.insert(table, out.table_dir(table.name())?);
        }
        Ok(TableDirs {
            dirs,
            readings: readings.clone(),
            others: WriterOptions {
                partitioning: None,
                // Hrefs, ids and JSON, distinct on nearly every row: plain
                // values are faster to write and smaller after compression.
                dictionary: false,
                plain_columns: Vec::new(),
                delta_columns: Vec::new(),
                unindexed_columns: Vec::new(),
                row_group_bytes: 8 << 20,
                // One row group per batch: a table's column writers (each
                // with its compressor, decompressor, dictionary and page)
                // are freed as soon as its batch is written, instead of
                // staying open between the batches of every table.
                row_group_rows: espi_arrow::TABLE_BATCH_ROWS,
                page_bytes: 64 << 10,
                dictionary_page_bytes: 64 << 10,
                // Every column of every open file has its own compressor:
                // level 1 keeps the wide small tables' share of memory low.
                zstd_level: 1,
                ..readings.clone()
            },
        })
    }

    /// Give every table without a file an empty one (its schema).
    fn fill_empty(&self) -> Result<(), WriteError> {
        for (&table, dir) in &self.dirs {
            let has_file = std::fs::read_dir(dir)
                .map(|mut d| d.next().is_some())
                .unwrap_or(false);
            if !has_file {
                write_table(dir.clone(), "part", &[empty_batch(table)], &self.others)?;
            }
        }
        Ok(())
    }
}

/// Writes one part's batches, each table to its own Parquet files.
struct PartWriter<'a> {
    dirs: &'a TableDirs,
    prefix: String,
    writers: BTreeMap<Table, DatasetWriter>,
    error: Option<WriteError>,
}

impl<'a> PartWriter<'a> {
    fn new(dirs: &'a TableDirs, prefix: String) -> PartWriter<'a> {
        PartWriter {
            dirs,
            prefix,
            writers: BTreeMap::new(),
            error: None,
        }
    }

    fn finish(self) -> Result<(), WriteError> {
        if let Some(e) = self.error {
            for (_, w) in self.writers {
                w.abort();
            }
            return Err(e);
        }
        for (_, w) in self.writers {
            w.finish()?;
        }
        Ok(())
    }
}

impl BatchSink for PartWriter<'_> {
    fn batch(&mut self, table: Table, batch: RecordBatch) {
        if self.error.is_some() {
            return;
        }
        if table == Table::MeterReadings {
            // Meter readings come at the end of an input, after its last
            // reading: the readings' open row group (up to a million rows
            // with their dictionaries) is written out now rather than held
            // while the final tables are built.
            if let Some(readings) = self.writers.get_mut(&Table::Readings) {
                if let Err(e) = readings.flush_row_groups() {
                    self.error = Some(e);
                    return;
                }
            }
        }
        if batch.num_rows() == 0 {
            return;
        }
        let dirs = self.dirs;
        let prefix = &self.prefix;
        let writer = self.writers.entry(table).or_insert_with(|| {
            let options = if table == Table::Readings {
                &dirs.readings
            } else {
                &dirs.others
            };
            DatasetWriter::new(dirs.dirs[&table].clone(), prefix, options.clone())
        });
        // A small table's batch is a row group of its own (the table's
        // options end one every `TABLE_BATCH_ROWS` rows; the last, shorter
        // batches of each table would otherwise stay open, each with its
        // column writers, until every table is done).
        let written = writer.write(&batch).and_then(|()| {
            if table == Table::Readings {
                Ok(())
            } else {
                writer.flush_row_groups()
            }
        });
        if let Err(e) = written {
            self.error = Some(e);
        }
    }

    fn part_converted(&mut self) {
        // With many parts in flight, a finished part's open files would
        // otherwise hold their row groups until the whole input is done.
        for w in self.writers.values_mut() {
            if let Err(e) = w.close_files() {
                self.error.get_or_insert(e);
            }
        }
    }

    fn discard(&mut self) {
        for (_, w) in std::mem::take(&mut self.writers) {
            w.abort();
        }
    }
}

/// What the parse side of one part (or input) sends its encoder.
enum ToEncoder {
    Batch(Table, RecordBatch),
    PartConverted,
    Discard,
}

/// A part's batches, encoded to Parquet on a thread of its own while the
/// part is parsed: parsing and encoding each take about half of a
/// conversion, so a part keeps two cores busy with one set of Parquet
/// column writers (each column's zstd contexts, dictionary and page
/// buffers: about 20 MiB for the readings), the memory that grows with the
/// parts converted at once.
struct EncodingSink<'scope> {
    sender: std::sync::mpsc::SyncSender<ToEncoder>,
    encoder: std::thread::ScopedJoinHandle<'scope, Result<(), WriteError>>,
}

impl<'scope> EncodingSink<'scope> {
    /// Start the encoder of `part` on `scope`.
    fn spawn<'env>(
        scope: &'scope std::thread::Scope<'scope, 'env>,
        mut part: PartWriter<'env>,
    ) -> EncodingSink<'scope> {
        // One batch in the channel: the parser runs at most a batch ahead.
        let (sender, receiver) = std::sync::mpsc::sync_channel::<ToEncoder>(1);
        let encoder = scope.spawn(move || {
            for message in receiver {
                match message {
                    ToEncoder::Batch(table, batch) => part.batch(table, batch),
                    ToEncoder::PartConverted => part.part_converted(),
                    ToEncoder::Discard => part.discard(),
                }
            }
            part.finish()
        });
        EncodingSink { sender, encoder }
    }

    /// Wait for the encoder to write everything sent.
    fn finish(self) -> Result<(), WriteError> {
        drop(self.sender);
        self.encoder
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
    }

    fn send(&self, message: ToEncoder) {
        // A send fails only if the encoder stopped (it panicked): `finish`
        // reports it.
        let _ = self.sender.send(message);
    }
}

impl BatchSink for EncodingSink<'_> {
    fn batch(&mut self, table: Table, batch: RecordBatch) {
        self.send(ToEncoder::Batch(table, batch));
    }

    fn part_converted(&mut self) {
        self.send(ToEncoder::PartConverted);
    }

    fn discard(&mut self) {
        self.send(ToEncoder::Discard);
    }
}

/// Memory of a conversion of one input on one stream (a thread parsing,
/// another encoding), beside its metadata, in MiB: measured peaks of 2 GB
/// Bulk feeds were 130-155 MiB.
const STREAM_BASE_MIB: usize = 150;

/// What each further stream adds, in MiB: parts of one input converted at
/// once (each with its Parquet column writers, batches in flight and the
/// part's own metadata until merged). Measured on a 2 GB Bulk feed: 2, 4
/// and 8 streams peaked at 245-280, 381 and 581 MiB.
const STREAM_MIB: usize = 56;

/// How many parts (or inputs) are converted at once on `threads` threads
/// within `memory_mib`: one for every two threads, each parsed on one and
/// encoded on another, as many as the memory allows (at least one).
fn streams_for(threads: usize, memory_mib: usize) -> usize {
    let within = memory_mib.saturating_sub(STREAM_BASE_MIB) / STREAM_MIB;
    let within = if within >= 2 { within } else { 1 };
    threads.div_ceil(2).clamp(1, within)
}

/// How many parallel parts to cut an input of `bytes` into, with `streams`
/// parts converted at once (twice as many parts as streams, so that a part
/// that takes longer does not leave a stream idle at the end).
fn parts_for(bytes: u64, streams: usize) -> usize {
    if streams < 2 || bytes < PARALLEL_MIN_BYTES {
        return 1;
    }
    (streams * 2).min((bytes / (8 << 20)) as usize).max(1)
}

/// A note for when the memory budget keeps a large input (its largest is
/// `largest` bytes) on fewer threads than there are: the default budget on
/// a machine with many cores. `memory_mib` is the budget, and
/// `corrections_mib` what of it the corrections of the run keep.
fn budget_note(
    threads: usize,
    streams: usize,
    (memory_mib, corrections_mib): (usize, usize),
    inputs: usize,
    largest: u64,
) -> Option<String> {
    let wanted = threads.div_ceil(2);
    if streams >= wanted || inputs >= wanted || largest < 64 << 20 {
        return None;
    }
    Some(format!(
        "{} at a time on {} of the {threads} threads within --memory {memory_mib} (MiB); \
         --memory {} converts a large input in {wanted} parts at once",
        if streams == 1 {
            "one input".to_string()
        } else {
            format!("{streams} parts")
        },
        (streams * 2).min(threads),
        STREAM_BASE_MIB + STREAM_MIB * wanted + corrections_mib,
    ))
}

/// What converting an input of `bytes` takes in memory, in MiB, on one
/// stream: a fixed part (the Parquet column writers, batches in flight)
/// and a part that grows over the first 64 MiB (row groups filling).
/// What is kept for every meter reading to the end of the input is not
/// counted here: the conversions of a run share [`state_memory_mib`] of
/// heap for it, and the rest is in a mapped temporary file. Measured peaks
/// (anonymous memory): 12-17 MiB for 2-4 MB inputs, about 60 for 100 MB,
/// 80-100 for 2 and 4 GB Bulk feeds. An input of unknown size (standard
/// input) counts as a large one.
fn input_cost_mib(bytes: Option<u64>) -> usize {
    let mib = bytes.map_or(64, |b| usize::try_from(b >> 20).unwrap_or(usize::MAX));
    24 + mib.min(64) * 56 / 64
}

/// Heap, in MiB, for what the conversions of a run keep per meter reading
/// (hrefs, links, series counts), of a run within `memory_mib`: a
/// sixty-fourth (4 MiB of the default 256). Past it that state is placed
/// in a temporary file mapped into memory
/// ([`espi_arrow::set_state_memory_budget`]): measured, that costs no time,
/// and anonymous memory then stays flat whatever the input (75, 86 and 91
/// MiB for 1, 2 and 4 GB Bulk feeds; 16 MiB took 88, 102 and 107).
fn state_memory_mib(memory_mib: usize) -> usize {
    memory_mib / 64
}

/// The size of the regular file at `path`; `None` for standard input (`-`,
/// as [`Input::open`] reads it), pipes and paths that cannot be read.
fn file_size(path: &Path) -> Option<u64> {
    if path.as_os_str() == "-" {
        return None;
    }
    std::fs::metadata(path)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len())
}

/// The memory of a run, shared out between the inputs converted at once:
/// an input starts when its cost fits beside those of the inputs being
/// converted, or when none is.
struct MemoryBudget {
    limit_mib: usize,
    /// MiB taken, and the inputs taking them.
    taken: Mutex<(usize, usize)>,
    freed: Condvar,
}

impl MemoryBudget {
    fn new(limit_mib: usize) -> Self {
        MemoryBudget {
            limit_mib,
            taken: Mutex::new((0, 0)),
            freed: Condvar::new(),
        }
    }

    /// What an input of `cost_mib` takes of the budget: never more than all
    /// of it (it then runs alone), never nothing (a budget of 0 runs one
    /// input at a time).
    fn counted(&self, cost_mib: usize) -> usize {
        cost_mib.min(self.limit_mib).max(1)
    }

    /// Wait until `cost_mib` fits, and take it.
    fn take(&self, cost_mib: usize) {
        let cost = self.counted(cost_mib);
        let mut taken = self.taken.lock().unwrap_or_else(|e| e.into_inner());
        while taken.1 > 0 && taken.0 + cost > self.limit_mib {
            taken = self.freed.wait(taken).unwrap_or_else(|e| e.into_inner());
        }
        taken.0 += cost;
        taken.1 += 1;
    }

    /// Give back what [`take`](Self::take) took for `cost_mib`.
    fn give_back(&self, cost_mib: usize) {
        let cost = self.counted(cost_mib);
        let mut taken = self.taken.lock().unwrap_or_else(|e| e.into_inner());
        taken.0 -= cost;
        taken.1 -= 1;
        self.freed.notify_all();
    }
}

/// What every input of a `convert` run shares.
struct ConvertJob<'a> {
    dirs: &'a TableDirs,
    options: ConvertOptions,
    parse_options: ParseOptions,
    progress: &'a Progress,
    /// Threads of the run: 1 parses and encodes on one thread.
    threads: usize,
    /// Parts of one input converted at once (1: inputs are not split).
    part_streams: usize,
    /// The inputs the corrections pass mapped, taken by their conversion:
    /// the pages it touched stay mapped (mapping them again would fault
    /// every page in a second time). `None` where the input is opened for
    /// its conversion (stdin, a file that could not be opened).
    opened: Vec<Mutex<Option<Input>>>,
}

impl ConvertJob<'_> {
    /// Convert input number `index` into readings files named after it.
    fn convert_file(&self, index: usize, path: &Path) -> Result<FileOutcome, WriteError> {
        let options = &ConvertOptions {
            input_index: index as u32,
            ..self.options.clone()
        };
        let (dirs, parse_options, progress) = (self.dirs, &self.parse_options, self.progress);
        let parts = |bytes| parts_for(bytes, self.part_streams);
        let prefix = format!("part-{index:05}");
        let source = source_name(path);
        let opened = self.opened.get(index).and_then(|o| o.lock().ok()?.take());
        let input = match opened.map_or_else(|| Input::open(path), Ok) {
            Ok(input) => input,
            Err(e) => return Ok(FileOutcome::unreadable(source, &e)),
        };
        let n = input.len_hint().map_or(1, &parts);
        if self.threads < 2 {
            let mut part = PartWriter::new(dirs, prefix);
            let outcome =
                convert_opened(source, input, options, parse_options, progress, |t, b| {
                    part.batch(t, b)
                });
            part.finish()?;
            return Ok(outcome);
        }
        std::thread::scope(|scope| {
            if let (Some(slice), true) = (input.as_slice(), n > 1) {
                let bytes = slice.len() as u64;
                let done = convert_parallel(&source, slice, options, parse_options, n, |k| {
                    EncodingSink::spawn(scope, PartWriter::new(dirs, format!("{prefix}-{k:03}")))
                });
                for sink in done.sinks {
                    sink.finish()?;
                }
                progress.advance(bytes);
                let fatal = done.error.map(|e| format!("{source}: {e}"));
                return Ok(FileOutcome {
                    source,
                    bytes,
                    counts: done.conversion.counts,
                    rejections: done.conversion.rejections,
                    warnings: done.conversion.warnings,
                    repeats_intervals: done.conversion.repeats_intervals,
                    fatal,
                });
            }
            let mut sink = EncodingSink::spawn(scope, PartWriter::new(dirs, prefix));
            let outcome =
                convert_opened(source, input, options, parse_options, progress, |t, b| {
                    sink.batch(t, b)
                });
            sink.finish().map(|()| outcome)
        })
    }
}

/// Convert `inputs` whole, as many at once as there are threads and their
/// costs ([`input_cost_mib`]) fit in `memory_mib`, in the order given. Each
/// runs on `pool` (which also builds its last tables); inputs wait for
/// memory outside it, so a thread of the pool never waits for another.
fn convert_inputs(
    job: &ConvertJob,
    inputs: &[PathBuf],
    pool: &rayon::ThreadPool,
    memory_mib: usize,
) -> Vec<Result<FileOutcome, WriteError>> {
    let budget = MemoryBudget::new(memory_mib);
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<Result<FileOutcome, WriteError>>>> =
        inputs.iter().map(|_| Mutex::new(None)).collect();
    let drivers = job.threads.min(inputs.len()).max(1);
    std::thread::scope(|scope| {
        for _ in 0..drivers {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(path) = inputs.get(index) else {
                    break;
                };
                // Alone, an input always starts: its cost is not needed.
                let cost = if drivers > 1 {
                    input_cost_mib(file_size(path))
                } else {
                    0
                };
                budget.take(cost);
                let outcome = pool.install(|| job.convert_file(index, path));
                budget.give_back(cost);
                *results[index].lock().unwrap_or_else(|e| e.into_inner()) = Some(outcome);
            });
        }
    });
    results
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .expect("every input converted")
        })
        .collect()
}

/// The intervals delivered more than once across the inputs (files are
/// read twice for this: their block headers at memchr speed, then the blocks
/// that overlap). Standard input cannot be read twice: its readings are
/// never marked superseded, and a note says so. Returns the inputs as
/// mapped too, for their conversion to take.
fn find_corrections(inputs: &[PathBuf]) -> (Corrections, Vec<Mutex<Option<Input>>>) {
    let opened: Vec<Option<Input>> = inputs
        .iter()
        .map(|p| {
            if p.as_os_str() == "-" {
                if inputs.len() > 1 {
                    eprintln!(
                        "espi: note: corrections are not resolved for standard input (it cannot be read twice)"
                    );
                }
                return None;
            }
            Input::open(p).ok()
        })
        .collect();
    let slices: Vec<&[u8]> = opened
        .iter()
        .map(|i| i.as_ref().and_then(Input::as_slice).unwrap_or(&[]))
        .collect();
    let corrections = Corrections::find(&slices);
    (corrections, keep_mapped(opened, KEEP_MAPPED_BYTES))
}

/// Bytes of inputs kept mapped from the corrections pass to their
/// conversion: a mapped page costs 8 bytes of page table until it is
/// unmapped, 32 MiB for these 16 GiB.
const KEEP_MAPPED_BYTES: u64 = 16 << 30;

/// The inputs of a run as the corrections pass opened them, for their
/// conversions to take: the first `limit` bytes of them in the order given
/// (converted first); the rest are closed, and opened again when their
/// turn comes.
fn keep_mapped(opened: Vec<Option<Input>>, limit: u64) -> Vec<Mutex<Option<Input>>> {
    let mut kept = 0u64;
    opened
        .into_iter()
        .map(|input| {
            kept = kept.saturating_add(input.as_ref().and_then(Input::len_hint).unwrap_or(0));
            Mutex::new(input.filter(|_| kept <= limit))
        })
        .collect()
}

impl FileOutcome {
    fn unreadable(source: String, e: &std::io::Error) -> FileOutcome {
        let fatal = Some(format!("{source}: cannot open: {e}"));
        FileOutcome {
            source,
            bytes: 0,
            counts: ConvertCounts::default(),
            rejections: Vec::new(),
            warnings: Vec::new(),
            fatal,
            repeats_intervals: false,
        }
    }
}

/// Parse one input into `on_batch`, returning what was read.
pub(crate) fn convert_input(
    path: &Path,
    options: &ConvertOptions,
    parse_options: &ParseOptions,
    progress: &Progress,
    on_batch: impl FnMut(Table, RecordBatch),
) -> FileOutcome {
    let source = source_name(path);
    match Input::open(path) {
        Ok(input) => convert_opened(source, input, options, parse_options, progress, on_batch),
        Err(e) => FileOutcome::unreadable(source, &e),
    }
}

/// Parse an opened input in one pass into `on_batch`.
fn convert_opened(
    source: String,
    input: Input,
    options: &ConvertOptions,
    parse_options: &ParseOptions,
    progress: &Progress,
    on_batch: impl FnMut(Table, RecordBatch),
) -> FileOutcome {
    let size = input.len_hint();
    let mut converter = Converter::new(&source, options.clone(), on_batch);
    let mut sink = ProgressSink::new(&mut converter, progress);
    let result = input.parse(parse_options, &mut sink);
    let bytes = match &result {
        Ok(stats) => stats.bytes,
        Err(e) => size.unwrap_or(e.offset),
    };
    sink.finish(bytes);
    let fatal = match result {
        Ok(_) => None,
        Err(e) => {
            converter.record_fatal(&e);
            Some(format!("{source}: {e}"))
        }
    };
    let conversion = converter.finish();
    FileOutcome {
        source,
        bytes,
        counts: conversion.counts,
        rejections: conversion.rejections,
        warnings: conversion.warnings,
        fatal,
        repeats_intervals: conversion.repeats_intervals,
    }
}

#[derive(Serialize, Default, Clone, Copy)]
struct Totals {
    files: u64,
    files_failed: u64,
    bytes: u64,
    entries: u64,
    entries_rejected: u64,
    interval_blocks: u64,
    readings_read: u64,
    readings_written: u64,
    readings_rejected: u64,
    readings_unlinked: u64,
    readings_time_derived: u64,
    readings_unscaled: u64,
    readings_fractional_start: u64,
    readings_superseded: u64,
    readings_superseded_dropped: u64,
    readings_millisecond_start: u64,
}

impl Totals {
    fn add(&mut self, o: &FileOutcome) {
        let c = &o.counts;
        self.files += 1;
        self.files_failed += o.fatal.is_some() as u64;
        self.bytes += o.bytes;
        self.entries += c.entries;
        self.entries_rejected += c.entries_rejected;
        self.interval_blocks += c.interval_blocks;
        self.readings_read += c.readings_read;
        self.readings_written += c.readings_written;
        self.readings_rejected += c.readings_rejected;
        self.readings_unlinked += c.readings_unlinked;
        self.readings_time_derived += c.readings_time_derived;
        self.readings_unscaled += c.readings_unscaled;
        self.readings_fractional_start += c.readings_fractional_start;
        self.readings_superseded += c.readings_superseded;
        self.readings_millisecond_start += c.readings_millisecond_start;
        self.readings_superseded_dropped += c.readings_superseded_dropped;
    }
}

#[derive(Serialize)]
struct RejectionReport<'a> {
    source: &'a str,
    entry_index: Option<u64>,
    entry_id: Option<&'a str>,
    offset: u64,
    line: Option<u64>,
    column: Option<u64>,
    element: &'a str,
    reason: &'a str,
    readings: u64,
}

#[derive(Serialize)]
struct FileReport<'a> {
    source: &'a str,
    bytes: u64,
    readings_read: u64,
    readings_written: u64,
    readings_rejected: u64,
    readings_unlinked: u64,
    error: Option<&'a str>,
}

#[derive(Serialize)]
struct Report<'a> {
    output: String,
    published: bool,
    seconds: f64,
    bytes_per_second: f64,
    totals: Totals,
    files: Vec<FileReport<'a>>,
    warnings: Vec<&'a str>,
    rejections: Vec<RejectionReport<'a>>,
}

/// Are `inputs` inputs cut into parts when `streams` are converted at once
/// ([`streams_for`])? When there are more streams than inputs; otherwise
/// whole inputs are converted at once.
fn splits_inputs(streams: usize, inputs: usize) -> bool {
    streams >= 2 && inputs < streams
}

/// What every conversion of a run shares.
struct RunSettings<'a> {
    args: &'a ConvertArgs,
    pool: &'a rayon::ThreadPool,
    tou_names: Arc<TouNames>,
    partitioning: Option<Partitioning>,
}

impl RunSettings<'_> {
    /// Convert the inputs into a new staging folder: after the corrections
    /// pass (`with_pass`), or watching for intervals delivered twice
    /// instead ([`FileOutcome::repeats_intervals`]; a file's conversion
    /// stops at the first). `with_note`: print the memory budget's note, if
    /// any.
    fn convert(
        &self,
        with_pass: bool,
        with_note: bool,
    ) -> Result<(OutputDir, TableDirs, Vec<FileOutcome>), String> {
        let (args, pool, partitioning) = (self.args, self.pool, &self.partitioning);
        let stdin = args.inputs.iter().any(|p| p.as_os_str() == "-");
        let out = OutputDir::create(&args.output).map_err(|e| e.to_string())?;
        let (corrections, opened) = if with_pass {
            let (corrections, opened) = pool.install(|| find_corrections(&args.inputs));
            (Some(corrections), opened)
        } else {
            (None, args.inputs.iter().map(|_| Mutex::new(None)).collect())
        };
        // What the corrections keep to the end of the run is not the
        // conversions' to use: on the heap, at most the state memory of
        // the run (the rest is in the mapped file).
        let corrections_mib = corrections.as_ref().map_or(0, |c| {
            c.heap_bytes()
                .div_ceil(1 << 20)
                .min(state_memory_mib(args.memory))
        });
        let memory = args.memory.saturating_sub(corrections_mib);
        let threads = pool.current_num_threads();
        // Parts and inputs are converted on half the threads: each is
        // encoded on a thread of its own beside the one that parses it.
        let streams = streams_for(threads, memory);
        let split = splits_inputs(streams, args.inputs.len());
        let largest = args
            .inputs
            .iter()
            .filter_map(|p| file_size(p))
            .max()
            .unwrap_or(0);
        let note = budget_note(
            threads,
            streams,
            (args.memory, corrections_mib),
            args.inputs.len(),
            largest,
        );
        if let (Some(note), false, true) = (note, args.quiet, with_note) {
            eprintln!("espi: note: {note}");
        }
        // Every stream may be writing a readings dataset of its own (a part
        // or an input): partitioned rows held are shared out between them.
        let held_bytes = ((96usize << 20) / streams).clamp(16 << 20, 48 << 20);
        let writer_options = WriterOptions {
            zstd_level: args.zstd_level,
            held_bytes,
            partitioning: partitioning.clone(),
            // Partitioned output holds each partition's rows until a row
            // group's worth has come (`held_bytes` bounds them all
            // together): smaller row groups when there are many partitions.
            row_group_bytes: if partitioning.is_some() {
                8 << 20
            } else {
                32 << 20
            },
            ..WriterOptions::readings()
        };
        let options = ConvertOptions {
            batch_size: args.batch_size.max(1),
            tou_names: self.tou_names.clone(),
            latest_only: args.latest_only,
            corrections: corrections.map(Arc::new),
            watch_repeats: match (with_pass, stdin) {
                (true, _) => RepeatWatch::Off,
                // What was read is of no use once the input repeats an
                // interval: it is converted again after the pass.
                (false, false) => RepeatWatch::StopAtFirst,
                (false, true) => RepeatWatch::ToTheEnd,
            },
            ..ConvertOptions::default()
        };
        let parse_options = ParseOptions {
            skip_bad_entries: args.skip_bad_entries,
            ..ParseOptions::default()
        };
        let dirs = TableDirs::create(&out, &writer_options).map_err(|e| e.to_string())?;
        let total_bytes: u64 = args.inputs.iter().filter_map(|p| file_size(p)).sum();
        let progress = Progress::new(total_bytes, args.quiet);
        let job = ConvertJob {
            dirs: &dirs,
            options,
            parse_options,
            progress: &progress,
            threads,
            part_streams: if split { streams } else { 1 },
            opened,
        };
        let outcomes = if split {
            // One input at a time, in parts on `streams` threads.
            let stream_pool = rayon::ThreadPoolBuilder::new()
                .num_threads(streams)
                .build()
                .map_err(|e| e.to_string())?;
            let convert = |(index, path): (usize, &PathBuf)| job.convert_file(index, path);
            stream_pool.install(|| args.inputs.iter().enumerate().map(convert).collect())
        } else {
            convert_inputs(&job, &args.inputs, pool, memory)
        };
        progress.finish();
        match outcomes.into_iter().collect::<Result<Vec<_>, _>>() {
            Ok(outcomes) => Ok((out, dirs, outcomes)),
            Err(e) => {
                out.abandon();
                Err(format!("writing output: {e}"))
            }
        }
    }
}

pub(crate) fn run(args: &ConvertArgs) -> Result<ExitCode, String> {
    let started = Instant::now();
    espi_arrow::set_state_memory_budget(state_memory_mib(args.memory) << 20);
    let partitioning = match &args.partition_by {
        Some(spec) => Some(Partitioning::parse(spec, args.buckets)?),
        None => None,
    };
    if args.inputs.iter().filter(|p| p.as_os_str() == "-").count() > 1 {
        return Err("stdin (`-`) can be given once".into());
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build()
        .map_err(|e| e.to_string())?;
    let tou_names = match &args.tou_map {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            TouNames::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => TouNames::default(),
    };
    // One input converted whole goes without the corrections pass: within
    // one file an interval is seldom delivered twice. Its conversion keeps
    // what each meter reading's blocks cover instead, and stops at the
    // first block that overlaps an earlier one: the output is dropped and
    // the input converted again after the pass, so that the readings a
    // later delivery replaces are marked `superseded`.
    let threads = pool.current_num_threads();
    let whole = args.inputs.len() == 1 && !splits_inputs(streams_for(threads, args.memory), 1);
    let run = RunSettings {
        args,
        pool: &pool,
        tou_names: Arc::new(tou_names),
        partitioning,
    };
    let (out, dirs, outcomes) = if whole {
        let (out, dirs, mut outcomes) = run.convert(false, true)?;
        let repeats = outcomes.first().is_some_and(|o| o.repeats_intervals);
        let stdin = args.inputs[0].as_os_str() == "-";
        match (repeats, stdin) {
            (true, false) => {
                out.abandon();
                if !args.quiet {
                    eprintln!(
                        "espi: note: {} delivers some intervals more than once: converting it again to mark the readings later deliveries replace (superseded)",
                        source_name(&args.inputs[0])
                    );
                }
                run.convert(true, false)?
            }
            (true, true) => {
                outcomes[0].warnings.push(
                    "<stdin>: some intervals are delivered more than once; the readings later deliveries replace are not marked superseded (standard input cannot be read twice: convert a file to resolve them)"
                        .into(),
                );
                (out, dirs, outcomes)
            }
            (false, _) => (out, dirs, outcomes),
        }
    } else {
        run.convert(true, true)?
    };

    let mut totals = Totals::default();
    for o in &outcomes {
        totals.add(o);
    }
    let failed: Vec<&str> = outcomes.iter().filter_map(|o| o.fatal.as_deref()).collect();
    for message in &failed {
        eprintln!("espi: error: {message}");
    }
    let strict_failure = !failed.is_empty() && !args.skip_bad_entries;
    let published = if strict_failure {
        out.abandon();
        false
    } else {
        write_table(
            out.table_dir("rejects").map_err(|e| e.to_string())?,
            "part",
            &[rejects_batch(&outcomes)],
            &dirs.others,
        )
        .map_err(|e| e.to_string())?;
        dirs.fill_empty().map_err(|e| e.to_string())?;
        out.publish().map_err(|e| e.to_string())?;
        true
    };
    let seconds = started.elapsed().as_secs_f64();
    let state_warning = espi_arrow::state_file_error().map(|e| {
        format!(
            "what is kept per meter reading past {} MiB stayed in memory: its temporary file could not be made or grown in {} ({e}); set TMPDIR to a folder on a disk with room",
            state_memory_mib(args.memory),
            std::env::temp_dir().display()
        )
    });
    let warnings: Vec<&str> = outcomes
        .iter()
        .flat_map(|o| o.warnings.iter().map(String::as_str))
        .chain(state_warning.as_deref())
        .collect();
    print_rejections(&outcomes, &warnings);
    let lines = summary(&totals, seconds, &args.output, published);
    if args.summary_to_stderr {
        eprint!("{lines}");
    } else {
        print!("{lines}");
    }

    if let Some(path) = &args.report {
        let report = Report {
            output: args.output.display().to_string(),
            published,
            seconds,
            bytes_per_second: totals.bytes as f64 / seconds.max(1e-9),
            totals,
            files: outcomes
                .iter()
                .map(|o| FileReport {
                    source: &o.source,
                    bytes: o.bytes,
                    readings_read: o.counts.readings_read,
                    readings_written: o.counts.readings_written,
                    readings_rejected: o.counts.readings_rejected,
                    readings_unlinked: o.counts.readings_unlinked,
                    error: o.fatal.as_deref(),
                })
                .collect(),
            warnings: warnings.clone(),
            rejections: outcomes
                .iter()
                .flat_map(|o| o.rejections.iter())
                .map(|r| RejectionReport {
                    source: &r.source,
                    entry_index: r.entry_index,
                    entry_id: r.entry_id.as_deref(),
                    offset: r.offset,
                    line: r.line,
                    column: r.column,
                    element: &r.element,
                    reason: &r.reason,
                    readings: r.readings,
                })
                .collect(),
        };
        let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        write_atomically(path, json.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}.inprogress"));
    std::fs::write(&temp, bytes)?;
    std::fs::rename(&temp, path)
}

fn rejects_batch(outcomes: &[FileOutcome]) -> RecordBatch {
    let r: Vec<&Rejection> = outcomes.iter().flat_map(|o| o.rejections.iter()).collect();
    let schema = Schema::new(vec![
        Field::new("source_file", DataType::Utf8, false),
        Field::new("entry_index", DataType::UInt64, true),
        Field::new("entry_id", DataType::Utf8, true),
        Field::new("offset", DataType::UInt64, false),
        Field::new("line", DataType::UInt64, true),
        Field::new("column", DataType::UInt64, true),
        Field::new("element", DataType::Utf8, false),
        Field::new("reason", DataType::Utf8, false),
        Field::new("readings", DataType::UInt64, false),
    ]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            r.iter().map(|x| x.source.as_str()),
        )),
        Arc::new(UInt64Array::from_iter(r.iter().map(|x| x.entry_index))),
        Arc::new(StringArray::from_iter(
            r.iter().map(|x| x.entry_id.as_deref()),
        )),
        Arc::new(UInt64Array::from_iter_values(r.iter().map(|x| x.offset))),
        Arc::new(UInt64Array::from_iter(r.iter().map(|x| x.line))),
        Arc::new(UInt64Array::from_iter(r.iter().map(|x| x.column))),
        Arc::new(StringArray::from_iter_values(
            r.iter().map(|x| x.element.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            r.iter().map(|x| x.reason.as_str()),
        )),
        Arc::new(UInt64Array::from_iter_values(r.iter().map(|x| x.readings))),
    ];
    RecordBatch::try_new(Arc::new(schema), columns).expect("rejects columns match")
}

fn print_rejections(outcomes: &[FileOutcome], warnings: &[&str]) {
    const SHOWN: usize = 20;
    let all: Vec<&Rejection> = outcomes.iter().flat_map(|o| o.rejections.iter()).collect();
    for r in all.iter().take(SHOWN) {
        let position = match (r.line, r.column) {
            (Some(l), Some(c)) => format!("line {l}, column {c}"),
            _ => format!("byte {}", r.offset),
        };
        let entry = r
            .entry_index
            .map(|i| format!(", entry #{i}"))
            .unwrap_or_default();
        eprintln!(
            "espi: rejected: {}: {position}{entry}, in <{}>: {} ({} readings)",
            r.source, r.element, r.reason, r.readings
        );
    }
    if all.len() > SHOWN {
        eprintln!(
            "espi: … {} more rejections (see the rejects table or --report)",
            all.len() - SHOWN
        );
    }
    for w in warnings.iter().take(SHOWN) {
        eprintln!("espi: warning: {w}");
    }
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The run's summary lines.
fn summary(t: &Totals, seconds: f64, output: &Path, published: bool) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let mb = t.bytes as f64 / 1e6;
    let _ = writeln!(
        s,
        "files: {} ({} failed), {:.1} MB in {:.2} s ({:.1} MB/s)",
        t.files,
        t.files_failed,
        mb,
        seconds,
        mb / seconds.max(1e-9)
    );
    let _ = writeln!(
        s,
        "entries: {} ({} rejected), interval blocks: {}",
        thousands(t.entries),
        thousands(t.entries_rejected),
        thousands(t.interval_blocks)
    );
    if t.readings_superseded_dropped > 0 {
        let _ = writeln!(
            s,
            "readings: {} read = {} written + {} rejected + {} superseded left out (--latest-only)",
            thousands(t.readings_read),
            thousands(t.readings_written),
            thousands(t.readings_rejected),
            thousands(t.readings_superseded_dropped)
        );
    } else {
        let _ = writeln!(
            s,
            "readings: {} read = {} written + {} rejected",
            thousands(t.readings_read),
            thousands(t.readings_written),
            thousands(t.readings_rejected)
        );
    }
    if t.readings_superseded > 0 {
        let _ = writeln!(
            s,
            "corrections: {} readings superseded by a later delivery of their interval",
            thousands(t.readings_superseded)
        );
    }
    if t.readings_millisecond_start + t.readings_fractional_start > 0 {
        let _ = writeln!(
            s,
            "times: {} readings with a start in milliseconds (normalised), {} with a fractional start (kept to the microsecond)",
            thousands(t.readings_millisecond_start),
            thousands(t.readings_fractional_start)
        );
    }
    if t.readings_unlinked + t.readings_time_derived + t.readings_unscaled > 0 {
        let _ = writeln!(
            s,
            "notes: {} readings without a linked ReadingType (null unit and value), {} with derived start/duration, {} with an unusable multiplier",
            thousands(t.readings_unlinked),
            thousands(t.readings_time_derived),
            thousands(t.readings_unscaled)
        );
    }
    if published {
        let tables: Vec<&str> = Table::ALL.iter().map(|t| t.name()).collect();
        let _ = writeln!(
            s,
            "output: {}/{{{},rejects}}",
            output.display(),
            tables.join(",")
        );
    } else {
        let _ = writeln!(
            s,
            "output: nothing written (fix the input or use --skip-bad-entries)"
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_stay_mapped_up_to_a_limit_in_the_order_given() {
        let dir = tempfile::tempdir().unwrap();
        let opened: Vec<Option<Input>> = [3000usize, 5000, 1000]
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let path = dir.path().join(format!("{i}.xml"));
                std::fs::write(&path, vec![b' '; n]).unwrap();
                Some(Input::open(&path).unwrap())
            })
            .chain([None])
            .collect();
        let kept = keep_mapped(opened, 8000);
        let sizes: Vec<Option<u64>> = kept
            .into_iter()
            .map(|m| m.into_inner().unwrap().and_then(|i| i.len_hint()))
            .collect();
        // 3000 + 5000 fit; the third would pass the limit, so is closed.
        assert_eq!(sizes, [Some(3000), Some(5000), None, None]);
    }

    #[test]
    fn streams_fit_the_memory_and_the_threads() {
        // The default memory: one stream, whatever the cores.
        assert_eq!(streams_for(2, 256), 1);
        assert_eq!(streams_for(64, 256), 1);
        // Two streams need room for both beside the base.
        assert_eq!(streams_for(16, STREAM_BASE_MIB + 2 * STREAM_MIB - 1), 1);
        assert_eq!(streams_for(16, STREAM_BASE_MIB + 2 * STREAM_MIB), 2);
        // Never more than one for every two threads.
        assert_eq!(streams_for(16, 4096), 8);
        assert_eq!(streams_for(3, 4096), 2);
        assert_eq!(streams_for(1, 4096), 1);
    }

    #[test]
    fn small_inputs_and_single_streams_are_not_split() {
        assert_eq!(parts_for(1 << 30, 1), 1);
        assert_eq!(parts_for(PARALLEL_MIN_BYTES - 1, 8), 1);
        // Twice as many parts as streams, none under 8 MiB.
        assert_eq!(parts_for(1 << 30, 4), 8);
        assert_eq!(parts_for(32 << 20, 8), 4);
    }

    #[test]
    fn a_note_says_when_the_budget_leaves_threads_idle() {
        let note = budget_note(16, 1, (256, 0), 1, 2 << 30).unwrap();
        assert_eq!(
            note,
            "one input at a time on 2 of the 16 threads within --memory 256 (MiB); \
             --memory 598 converts a large input in 8 parts at once"
        );
        assert_eq!(streams_for(16, 598), 8);
        // What the corrections keep is added to the budget suggested.
        let note = budget_note(16, 1, (256, 40), 1, 2 << 30).unwrap();
        assert!(note.ends_with("--memory 638 converts a large input in 8 parts at once"));
        // No note on two cores, for small inputs, for many inputs, or when
        // the budget allows every stream.
        assert_eq!(budget_note(2, 1, (256, 0), 1, 2 << 30), None);
        assert_eq!(budget_note(16, 1, (256, 0), 1, 1 << 20), None);
        assert_eq!(budget_note(16, 1, (256, 0), 20, 2 << 30), None);
        assert_eq!(budget_note(16, 8, (598, 0), 1, 2 << 30), None);
    }

    #[test]
    fn input_costs_follow_the_measured_peaks() {
        assert_eq!(input_cost_mib(Some(2 << 20)), 25);
        assert_eq!(input_cost_mib(Some(100 << 20)), 80);
        assert_eq!(input_cost_mib(Some(2 << 30)), 80);
        assert_eq!(input_cost_mib(Some(u64::MAX)), 80);
        assert_eq!(input_cost_mib(None), 80);
        assert_eq!(state_memory_mib(256), 4);
    }

    #[test]
    fn the_budget_lets_an_input_start_when_its_cost_fits_or_none_runs() {
        let budget = std::sync::Arc::new(MemoryBudget::new(100));
        budget.take(60);
        budget.take(40);
        // A third waits until one gives back.
        let waiting = {
            let budget = budget.clone();
            std::thread::spawn(move || budget.take(50))
        };
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!waiting.is_finished());
        budget.give_back(60);
        waiting.join().unwrap();
        assert_eq!(*budget.taken.lock().unwrap(), (90, 2));
        budget.give_back(40);
        budget.give_back(50);
        // An input larger than the budget starts when none runs.
        budget.take(usize::MAX);
        assert_eq!(*budget.taken.lock().unwrap(), (100, 1));
        // No budget: one at a time.
        let none = MemoryBudget::new(0);
        none.take(5);
        assert_eq!(*none.taken.lock().unwrap(), (1, 1));
        assert!(none.taken.lock().unwrap().0 + none.counted(5) > none.limit_mib);
    }
}
