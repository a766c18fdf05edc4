//! One large in-memory feed on many cores.
//!
//! The feed is cut at entry boundaries into parts ([`espi_core::FeedLayout`]).
//! A first pass reads every part in parallel, skipping the content of
//! IntervalBlocks (a memchr search for their end tag): it gathers the part's
//! metadata links and converts the entries without IntervalBlocks, the
//! table rows of a Bulk feed's UsagePoints, MeterReadings, ReadingTypes and
//! summaries, keeping their byte ranges. The metadata is then merged in
//! document order, so every link resolves exactly as in one sequential
//! pass. The second pass parses the parts in parallel again, jumping over
//! the entries the first converted, each part linking its blocks against
//! the complete metadata and sending its batches to its own [`BatchSink`].
//!
//! The first pass numbers its rows' entries from a count of entry end tags
//! before the part; when that count proves wrong (an end tag's text inside
//! a comment, an empty-element entry), or a ReadingType is defined in more
//! than one part (which definition gets a row then depends on several
//! parts), its rows are discarded and the second pass converts every entry.
//! Within a part, the rows of an entry holding an IntervalBlock besides
//! other resources follow the part's other table rows; otherwise every
//! table is in document order.
//!
//! Part `k` is always the same bytes for the same `parts`, so the output is
//! deterministic. If a part fails to parse (malformed XML, or a cut that was
//! not a real entry boundary) the work is discarded and the input is
//! converted in one sequential pass, which then reports the error exactly
//! as it would have anyway.

use ahash::AHashMap as HashMap;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use arrow_array::RecordBatch;
use espi_core::{
    parse_part, parse_part_skipping, parse_slice, FeedLayout, ParseError, ParseOptions,
};
use rayon::prelude::*;

use crate::converter::{
    Conversion, ConvertCounts, ConvertOptions, Converter, MetadataPart, SeriesStats,
};
use crate::keys::Keys;
use crate::metadata::{empty_tables, final_tables, Links, Table};

/// Receives the batches of one part of a conversion.
pub trait BatchSink: Send {
    /// One batch of `table`.
    fn batch(&mut self, table: Table, batch: RecordBatch);
    /// A pass over the part is done: a good moment to release buffers
    /// (close files). Called after each of the two passes; more batches may
    /// follow (the second pass's, and for the last part the tables built at
    /// the end), and a [`discard`](Self::discard) may still void the part.
    fn part_converted(&mut self) {}
    /// The part's batches are void (the conversion is redone sequentially):
    /// drop what was written.
    fn discard(&mut self) {}
}

impl<F: FnMut(Table, RecordBatch) + Send> BatchSink for F {
    fn batch(&mut self, table: Table, batch: RecordBatch) {
        self(table, batch)
    }
}

/// The result of [`convert_parallel`].
pub struct ParallelConversion<C> {
    /// Counts, rejections and metadata tables, as one sequential pass gives.
    pub conversion: Conversion,
    /// The batch sinks, in part order (sink `k` got part `k`'s batches; the
    /// last also got the tables built at the end).
    pub sinks: Vec<C>,
    /// The error that stopped the conversion, if any.
    pub error: Option<Box<ParseError>>,
    /// How many parts were converted in parallel (1: sequentially).
    pub parts: usize,
}

/// Convert `input` in one sequential pass into `sink`.
pub fn convert_sequential<C: BatchSink>(
    source: &str,
    input: &[u8],
    options: &ConvertOptions,
    parse_options: &ParseOptions,
    mut sink: C,
) -> ParallelConversion<C> {
    let mut converter = Converter::new(source, options.clone(), |t, b| sink.batch(t, b));
    let result = parse_slice(input, parse_options, &mut converter);
    let error = result.err();
    if let Some(e) = &error {
        converter.record_fatal(e);
    }
    let conversion = converter.finish();
    ParallelConversion {
        conversion,
        sinks: vec![sink],
        error,
        parts: 1,
    }
}

/// Convert `input` in up to `parts` parallel parts (on the current rayon
/// pool), sending part `k`'s readings batches to `make_sink(k)`.
///
/// ```
/// use espi_arrow::{convert_parallel, ConvertOptions};
/// use espi_core::ParseOptions;
/// let entry = r#"<entry><content><IntervalBlock xmlns="http://naesb.org/espi"><IntervalReading>
///   <timePeriod><duration>900</duration><start>0</start></timePeriod><value>1</value>
///   </IntervalReading></IntervalBlock></content></entry>"#;
/// let xml = format!(r#"<feed xmlns="http://www.w3.org/2005/Atom">{}</feed>"#, entry.repeat(100));
/// let done = convert_parallel("f.xml", xml.as_bytes(), &ConvertOptions::default(),
///     &ParseOptions::default(), 4, |_| |_table, _batch| ());
/// assert_eq!(done.parts, 4);
/// assert_eq!(done.conversion.counts.readings_written, 100);
/// ```
pub fn convert_parallel<C, M>(
    source: &str,
    input: &[u8],
    options: &ConvertOptions,
    parse_options: &ParseOptions,
    parts: usize,
    make_sink: M,
) -> ParallelConversion<C>
where
    C: BatchSink,
    M: Fn(usize) -> C + Sync,
{
    let sequential = || convert_sequential(source, input, options, parse_options, make_sink(0));
    let Some(layout) = FeedLayout::of(input) else {
        return sequential();
    };
    let ranges = layout.split(input, parts);
    if ranges.len() < 2 {
        return sequential();
    }

    // Where each part's entries are numbered from, if every entry end tag is
    // written alike and outside comments (checked after pass one; the last
    // part's count is not needed).
    let end_tags: Vec<Option<u64>> = ranges[..ranges.len() - 1]
        .par_iter()
        .map(|range| Some(layout.entry_end_tags(&input[range.clone()])))
        .chain(rayon::iter::once(None))
        .collect();
    let guessed_first: Vec<u64> = end_tags
        .iter()
        .scan(0, |next, &n| {
            let first = *next;
            *next += n.unwrap_or(0);
            Some(first)
        })
        .collect();

    // Pass one: the links of every part, and its entries without
    // IntervalBlocks converted (the readings of the others skipped). Each
    // part's links are merged into the first's as soon as the parts before
    // it are, while other parts are still read.
    let metadata_options = ParseOptions {
        skip_bad_entries: true,
        fast_readings: parse_options.fast_readings,
        skip_interval_blocks: true,
        blocks_only: false,
    };
    let merged = Mutex::new(InOrder::new(MergedLinks::default()));
    let firsts: Vec<(C, bool)> = ranges
        .par_iter()
        .enumerate()
        .map(|(k, range)| {
            let mut sink = make_sink(k);
            let start = range.start as u64;
            let mut converter = Converter::for_metadata(
                source,
                options.clone(),
                start,
                guessed_first[k],
                |t, b| sink.batch(t, b),
            );
            let result = parse_part(
                input,
                &layout,
                range.clone(),
                0,
                &metadata_options,
                &mut converter,
            );
            let part = converter.finish_metadata();
            let Ok(stats) = result else {
                return (sink, false);
            };
            sink.part_converted();
            let counted = end_tags[k];
            lock(&merged).push(k, (part, stats.entries, counted), MergedLinks::take);
            (sink, true)
        })
        .collect();
    if firsts.iter().any(|(_, ok)| !ok) {
        for (mut sink, _) in firsts {
            sink.discard();
        }
        return sequential();
    }
    let MergedLinks {
        links,
        first_index,
        rows_stand,
        mut seconds,
        ..
    } = merged.into_inner().unwrap_or_else(|e| e.into_inner()).state;
    let links = Arc::new(links.unwrap_or_default());
    let mut firsts: Vec<Option<C>> = firsts.into_iter().map(|(sink, _)| Some(sink)).collect();
    if !rows_stand {
        // The second pass converts every entry.
        for (sink, (owned, counts)) in firsts.iter_mut().zip(&mut seconds) {
            if let Some(mut sink) = sink.take() {
                sink.discard();
            }
            owned.clear();
            *counts = ConvertCounts::default();
        }
    }

    // Pass two: the other entries of every part, linked against all the
    // metadata; each part's series statistics are merged as it ends.
    let series = Mutex::new(InOrder::new(MergedSeries::default()));
    let results: Vec<_> = ranges
        .par_iter()
        .zip(firsts)
        .zip(seconds)
        .enumerate()
        .map(|(k, ((range, sink), (owned, first_counts)))| {
            let mut sink = sink.unwrap_or_else(|| make_sink(k));
            let mut converter =
                Converter::with_links(source, options.clone(), links.clone(), |t, b| {
                    sink.batch(t, b)
                });
            let result = parse_part_skipping(
                input,
                &layout,
                range.clone(),
                first_index[k],
                &owned,
                parse_options,
                &mut converter,
            );
            let mut part = converter.finish_part();
            part.counts.add(&first_counts);
            if result.is_ok() {
                sink.part_converted();
                let stats = std::mem::take(&mut part.series);
                lock(&series).push(k, stats, MergedSeries::take);
            }
            (sink, result.err(), part)
        })
        .collect();
    if results.iter().any(|(_, error, _)| error.is_some()) {
        for (mut sink, _, _) in results {
            sink.discard();
        }
        return sequential();
    }

    let mut counts = ConvertCounts::default();
    let mut rejections = Vec::new();
    let mut sinks = Vec::with_capacity(results.len());
    for (sink, _, part) in results {
        sinks.push(sink);
        counts.add(&part.counts);
        rejections.extend(part.rejections);
    }
    let MergedSeries { keys, series } =
        series.into_inner().unwrap_or_else(|e| e.into_inner()).state;
    if let Some(last) = sinks.last_mut() {
        for (table, batch) in empty_tables(source)
            .into_iter()
            .chain(final_tables(&links, source, &keys, &series))
        {
            last.batch(table, batch);
        }
    }
    ParallelConversion {
        conversion: Conversion {
            counts,
            rejections,
            warnings: links.warning_lines(source),
        },
        sinks,
        error: None,
        parts: ranges.len(),
    }
}

/// Items numbered 0, 1, 2, ... arriving in any order, taken in order.
struct InOrder<T, S> {
    next: usize,
    waiting: BTreeMap<usize, T>,
    state: S,
}

impl<T, S> InOrder<T, S> {
    fn new(state: S) -> Self {
        InOrder {
            next: 0,
            waiting: BTreeMap::new(),
            state,
        }
    }

    /// Item `k` arrived: `take` it, and those after it that were waiting,
    /// once every item before it is taken.
    fn push(&mut self, k: usize, item: T, take: impl Fn(&mut S, T)) {
        self.waiting.insert(k, item);
        while let Some(item) = self.waiting.remove(&self.next) {
            take(&mut self.state, item);
            self.next += 1;
        }
    }
}

/// The mutex's value, also after a panic elsewhere (that panic is what
/// gets reported).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The links of the parts read so far, in document order.
#[derive(Default)]
struct MergedLinks {
    links: Option<Links>,
    /// Index of each part's first entry.
    first_index: Vec<u64>,
    /// Entries in the parts taken.
    entries: u64,
    /// The rows of pass one stand unless their entry indices were counted
    /// wrong or a ReadingType defined in several parts makes which
    /// definitions get a row depend on more than one part.
    rows_stand: bool,
    /// Per part: the entries pass one converted, and its counts.
    seconds: Vec<(Vec<Range<u64>>, ConvertCounts)>,
}

impl MergedLinks {
    /// Take in the next part: what pass one found, how many entries it
    /// has, and how many the count of end tags gave.
    fn take(&mut self, (mut part, entries, counted): (MetadataPart, u64, Option<u64>)) {
        if self.first_index.is_empty() {
            self.rows_stand = true;
        }
        self.first_index.push(self.entries);
        self.rows_stand &= counted.is_none_or(|n| n == entries);
        part.links.shift_entry_indices(self.entries);
        match self.links.as_mut() {
            Some(links) => self.rows_stand &= !links.merge(part.links),
            None => self.links = Some(part.links),
        }
        self.entries += entries;
        self.seconds.push((part.owned, part.counts));
    }
}

/// Statistics of every series, over the parts taken so far.
#[derive(Default)]
struct MergedSeries {
    keys: Keys,
    series: HashMap<u32, SeriesStats>,
}

impl MergedSeries {
    /// Take in one part's series: (meter reading, usage point, statistics).
    fn take(&mut self, part: Vec<(String, String, SeriesStats)>) {
        for (mr, up, st) in part {
            let mr = self.keys.id(&mr);
            let up = self.keys.id(&up);
            let merged = self.series.entry(mr).or_insert(SeriesStats {
                usage_point: up,
                readings: 0,
                first_start_us: st.first_start_us,
                last_start_us: st.last_start_us,
            });
            merged.readings += st.readings;
            merged.first_start_us = merged.first_start_us.min(st.first_start_us);
            merged.last_start_us = merged.last_start_us.max(st.last_start_us);
        }
    }
}
