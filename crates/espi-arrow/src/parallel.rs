//! One large in-memory feed on many cores.
//!
//! The feed is cut at entry boundaries into parts ([`espi_core::FeedLayout`];
//! a cut goes before a UsagePoint entry when one is near). A first pass
//! reads every part in parallel with the part's own links (and the
//! LocalTimeParameters the input defines before its first block): it
//! converts the entries without IntervalBlocks, and the IntervalBlock
//! entries those links link whole (the parser asks at each block's start
//! tag, [`espi_core::Sink::reads_block`]; the content of the others is
//! skipped by a memchr search for their end tag), keeping their byte
//! ranges. It stops converting blocks at the first it leaves to the second
//! pass, and entries of other tables at the first such entry, so that every
//! table stays in document order. The links are then merged in document
//! order, so every link resolves exactly as in one sequential pass, and
//! each part's blocks are checked to link alike. The second pass parses the
//! parts in parallel again, jumping over the entries the first converted,
//! each part linking its other blocks against the complete metadata. Each
//! part sends its batches to its own [`BatchSink`]. Register series stay
//! with the second pass, which starts each where the last block of its
//! meter reading before the part left it.
//!
//! A part's rows number its entries from the index of its first entry,
//! known once every part before it is read: until then the part holds its
//! rows, up to [`ConvertOptions::parallel_held_bytes`] for all parts; past
//! that it counts the entry end tags of the parts before it. Which
//! ReadingType definitions get a row depends on the definitions before
//! them (a feed may define one ReadingType again and again): a part's
//! ReadingTypes rows are held until its links are merged, then checked. A
//! part whose count proves wrong (an end tag's text inside a comment, an
//! empty-element entry), that had to hand on ReadingTypes rows before
//! they could be checked and redefines one, or whose blocks the whole
//! input links otherwise than its own links did, has its first-pass rows
//! discarded, and the second pass converts all its entries.
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
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use arrow_array::types::UInt64Type;
use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch, StringArray, UInt64Array};
use arrow_select::filter::filter_record_batch;
use espi_core::{
    parse_part, parse_part_skipping, parse_slice, FeedLayout, ParseError, ParseOptions,
};
use rayon::prelude::*;

use crate::converter::{
    add_series, may_be_register, register_state_after, Conversion, ConvertCounts, ConvertOptions,
    Converter, FirstPassLinks, MetadataPart, RegisterSeed, SeriesStats,
};
use crate::dense::DenseMap;
use crate::metadata::{empty_tables, final_tables, read_links, Links, Table};
use crate::state_memory::StateMap;

/// How far into an input its head (what every part's blocks may share) is
/// looked for.
const HEAD_BYTES: usize = 4 << 20;

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
    let numbering = Numbering::new(input, &layout, &ranges, options.parallel_held_bytes);
    // What the blocks of every part may share, from the input's start.
    let head = read_links(
        input,
        &layout,
        layout.head(input, HEAD_BYTES),
        parse_options.fast_readings,
    )
    .ok()
    .map(|(links, _)| links);
    // Each part's sink and held rows once its first pass is done, so that
    // whichever thread merges the part's links hands on its ReadingTypes.
    let done: Vec<Mutex<Option<(C, FirstPassRows)>>> =
        ranges.iter().map(|_| Mutex::new(None)).collect();
    let merged = Mutex::new(MergedLinks::default());
    let merge_queue = InOrder::default();
    let read: Vec<bool> = in_start_order(ranges.len(), |k| {
        let range = &ranges[k];
        let mut sink = make_sink(k);
        let mut rows = FirstPassRows::default();
        let head = head.as_ref().filter(|_| k > 0);
        let mut converter =
            Converter::for_metadata(source, options.clone(), range.start as u64, head, |t, b| {
                rows.batch(k, &numbering, &mut sink, t, b)
            });
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
            *lock(&done[k]) = Some((sink, rows));
            return false;
        };
        numbering.part_read(k, stats.entries);
        rows.release_if_known(k, &numbering, &mut sink);
        sink.part_converted();
        *lock(&done[k]) = Some((sink, rows));
        // Merged in order by whichever thread is merging (this one if
        // none is), while the others go on reading.
        merge_queue.push(k, (part, stats.entries), |part| {
            let (j, first) = lock(&merged).take(part, &done);
            // The part's ReadingTypes, now checked.
            if let Some((sink, rows)) = lock(&done[j]).as_mut() {
                rows.release_reading_types(first, &numbering, sink);
            }
        });
        true
    });
    let firsts: Vec<(C, FirstPassRows)> = done
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .expect("every part's first pass ends")
        })
        .collect();
    if read.iter().any(|ok| !ok) {
        for (mut sink, _) in firsts {
            sink.discard();
        }
        return sequential();
    }
    let MergedLinks {
        links,
        first_index,
        defined_before,
        mut seconds,
        last_blocks,
        first_blocks,
        ..
    } = merged.into_inner().unwrap_or_else(|e| e.into_inner());
    let links = Arc::new(links.unwrap_or_default());
    let mut firsts: Vec<(Option<C>, FirstPassRows)> = firsts
        .into_iter()
        .map(|(sink, rows)| (Some(sink), rows))
        .collect();
    // Whether the whole input's links link every block pass one converted
    // as the part's own links did.
    let linked_alike: Vec<bool> = first_blocks
        .par_iter()
        .map(|(linked, _)| linked.hold_in(&links))
        .collect();
    let mut first_series: Vec<Vec<(u32, SeriesStats)>> =
        first_blocks.into_iter().map(|(_, series)| series).collect();
    for (k, ((sink, rows), (owned, counts))) in firsts.iter_mut().zip(&mut seconds).enumerate() {
        // A part's first-pass rows stand unless it numbered its entries from
        // a count of end tags that proved wrong (an end tag's text inside a
        // comment, an empty-element entry), or handed on ReadingTypes before
        // its links were merged and defines one an earlier part defines too
        // (which definitions get a row depends on the earlier parts). Such a
        // part is converted whole by the second pass.
        let miscounted = rows.shift.is_some_and(|s| s != first_index[k]);
        let unchecked = rows.reading_types_unchecked && defined_before[k];
        if miscounted || unchecked || !linked_alike[k] {
            first_series[k].clear();
            if let Some(mut sink) = sink.take() {
                sink.discard();
            }
            *rows = FirstPassRows::default();
            owned.clear();
            *counts = ConvertCounts::default();
        }
    }

    // Pass two: the other entries of every part, linked against all the
    // metadata. The series statistics of every part are merged after it.
    let inputs: Vec<Mutex<Option<_>>> = firsts
        .into_iter()
        .zip(seconds)
        .zip(first_series)
        .map(|item| Mutex::new(Some(item)))
        .collect();
    let results: Vec<_> = in_start_order(ranges.len(), |k| {
        let range = &ranges[k];
        let (((sink, mut rows), (owned, first_counts)), first_series) =
            lock(&inputs[k]).take().expect("each part converted once");
        let mut sink = sink.unwrap_or_else(|| make_sink(k));
        // Rows of pass one still held: numbered now.
        rows.release(first_index[k], &mut sink);
        rows.release_reading_types(first_index[k], &numbering, &mut sink);
        // Register series the parts before this one left off.
        let Ok(seeds) = register_seeds(k, &last_blocks, &links, |range| {
            register_state_after(
                source,
                input,
                &layout,
                range,
                links.clone(),
                options,
                parse_options,
            )
        }) else {
            return (sink, None, None);
        };
        let mut converter =
            Converter::with_links(source, options.clone(), links.clone(), |t, b| {
                sink.batch(t, b)
            })
            .with_register_seeds(seeds);
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
        }
        (sink, result.err(), Some((part, first_series)))
    });
    // An error, or a register series whose state at a part's start is not
    // known: one pass.
    if results
        .iter()
        .any(|(_, error, part)| error.is_some() || part.is_none())
    {
        for (mut sink, _, _) in results {
            sink.discard();
        }
        return sequential();
    }

    // Every converter is done with the links: the series of every part,
    // in order, by ids of their keys.
    let mut links = Arc::unwrap_or_clone(links);
    let mut series = DenseMap::default();
    let mut counts = ConvertCounts::default();
    let mut rejections = Vec::new();
    let mut sinks = Vec::with_capacity(results.len());
    for (sink, _, part) in results {
        let (part, first_series) = part.expect("checked above");
        sinks.push(sink);
        counts.add(&part.counts);
        rejections.extend(part.rejections);
        // Series of blocks pass two converted (by text), then pass one's.
        for (mr, up, st) in part.series {
            let (mr, up) = (links.keys.id(&mr), links.keys.id(&up));
            add_series(
                &mut series,
                mr,
                SeriesStats {
                    usage_point: up,
                    ..st
                },
            );
        }
        for (mr, st) in first_series {
            add_series(&mut series, mr, st);
        }
    }
    if let Some(last) = sinks.last_mut() {
        for (table, batch) in empty_tables(source) {
            last.batch(table, batch);
        }
        final_tables(&links, source, &series, true, &mut |table, batch| {
            last.batch(table, batch)
        });
    }
    ParallelConversion {
        conversion: Conversion {
            counts,
            rejections,
            warnings: links.warning_lines(source),
            // Parts do not note their blocks' intervals: an input is cut
            // into parts after the corrections pass.
            repeats_intervals: false,
        },
        sinks,
        error: None,
        parts: ranges.len(),
    }
}

/// Where each register series that part `k` continues from the parts
/// before it stands at its start (by the meter reading key its blocks
/// name): the state after the last block of the key before the part, from
/// `state_after(range of that entry)`. An error when one is not known.
fn register_seeds(
    k: usize,
    last_blocks: &[StateMap<u32, Option<Range<u64>>>],
    links: &Links,
    state_after: impl Fn(Range<usize>) -> Result<Option<RegisterSeed>, ()>,
) -> Result<HashMap<String, RegisterSeed>, ()> {
    let mut seeds = HashMap::new();
    let (before, Some(here)) = (&last_blocks[..k.min(last_blocks.len())], last_blocks.get(k))
    else {
        return Ok(seeds);
    };
    for &key in here.keys() {
        let Some(previous) = before.iter().rev().find_map(|part| part.get(&key)) else {
            continue;
        };
        let key = links.keys.str(key);
        if !may_be_register(links, key) {
            continue;
        }
        let range = previous.clone().ok_or(())?;
        if let Some(seed) = state_after(range.start as usize..range.end as usize)? {
            seeds.insert(key.to_owned(), seed);
        }
    }
    Ok(seeds)
}

/// `f(0)`, `f(1)`, ... on the current rayon pool, started in index order
/// (each thread takes the next index when it is free), results by index.
/// Parts started in order end about in order, so that what is merged in
/// order is merged while later parts are still read, not all at the end.
fn in_start_order<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let mut results: Vec<(usize, T)> = (0..n).par_bridge().map(|k| (k, f(k))).collect();
    results.sort_unstable_by_key(|(k, _)| *k);
    results.into_iter().map(|(_, result)| result).collect()
}

/// Items numbered 0, 1, 2, ... arriving in any order from any thread, taken
/// one at a time in order. The thread whose item is due takes it, and
/// those after it that are waiting; a thread whose item must wait, or
/// arrives while another thread is taking items, leaves it and goes on.
struct InOrder<T> {
    queue: Mutex<Queue<T>>,
}

struct Queue<T> {
    next: usize,
    waiting: BTreeMap<usize, T>,
    /// A thread is taking items.
    taking: bool,
}

impl<T> Default for InOrder<T> {
    fn default() -> Self {
        InOrder {
            queue: Mutex::new(Queue {
                next: 0,
                waiting: BTreeMap::new(),
                taking: false,
            }),
        }
    }
}

impl<T> InOrder<T> {
    /// Item `k` arrived: `take` every item due from now on, unless another
    /// thread is taking them (it takes this one too).
    fn push(&self, k: usize, item: T, mut take: impl FnMut(T)) {
        {
            let mut queue = lock(&self.queue);
            queue.waiting.insert(k, item);
            if queue.taking {
                return;
            }
            queue.taking = true;
        }
        loop {
            let item = {
                let mut queue = lock(&self.queue);
                let next = queue.next;
                match queue.waiting.remove(&next) {
                    Some(item) => {
                        queue.next += 1;
                        item
                    }
                    None => {
                        queue.taking = false;
                        return;
                    }
                }
            };
            take(item);
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
    /// Per part: it defines a ReadingType that an earlier part defines too.
    defined_before: Vec<bool>,
    /// Per part: the entries pass one converted, and its counts.
    seconds: Vec<(Vec<Range<u64>>, ConvertCounts)>,
    /// Per part: the last IntervalBlock entry of each meter reading key
    /// (ids of the merged links' keys).
    last_blocks: Vec<StateMap<u32, Option<Range<u64>>>>,
    /// Per part: how pass one linked the blocks it converted, and their
    /// series (ids of the merged links' keys).
    first_blocks: Vec<(FirstPassLinks, Vec<(u32, SeriesStats)>)>,
}

impl MergedLinks {
    /// Take in the next part: what pass one found, and how many entries it
    /// has; then keep only the rows of its ReadingType definitions that
    /// are accepted now that every earlier part is known (definitions later
    /// in the input do not change that).
    /// Returns the part's number and the index of its first entry: its
    /// ReadingTypes are checked and may be handed on.
    fn take<C>(
        &mut self,
        (mut part, entries): (MetadataPart, u64),
        done: &[Mutex<Option<(C, FirstPassRows)>>],
    ) -> (usize, u64) {
        let k = self.first_index.len();
        let first = self.entries;
        self.first_index.push(first);
        part.links.shift_entry_indices(first);
        let last_blocks = std::mem::take(&mut part.last_blocks);
        let mut linked = std::mem::take(&mut part.linked);
        let mut series = std::mem::take(&mut part.series);
        let links = match self.links.as_mut() {
            Some(links) => {
                let keys = &part.links.keys;
                let mut id = |key: u32| links.keys.import(keys, key);
                self.last_blocks.push(
                    last_blocks
                        .into_iter()
                        .map(|(key, range)| (id(key), range))
                        .collect(),
                );
                for (key, _, _) in &mut linked.keys {
                    *key = id(*key);
                }
                for (mr, st) in &mut series {
                    *mr = id(*mr);
                    st.usage_point = id(st.usage_point);
                }
                self.defined_before.push(links.merge(part.links));
                links
            }
            None => {
                self.last_blocks.push(last_blocks);
                self.defined_before.push(false);
                self.links.insert(part.links)
            }
        };
        if let Some((_, rows)) = lock(&done[k]).as_mut() {
            rows.check_reading_types(links, first);
        }
        self.first_blocks.push((linked, series));
        self.entries += entries;
        self.seconds.push((part.owned, part.counts));
        (k, first)
    }
}

/// Pass one's rows number their entries from 0 at their part's start; the
/// index of a part's first entry is known once every part before it is
/// read. Until then a part holds its rows, up to
/// [`ConvertOptions::parallel_held_bytes`] for all parts together (a
/// metadata-heavy input gets there, and for it the count costs little beside
/// the work it saves); past that it counts the entry end tags of the parts
/// not yet read (checked once they are).
struct Numbering<'a> {
    input: &'a [u8],
    layout: &'a FeedLayout,
    ranges: &'a [Range<usize>],
    /// Entries of each part read.
    entries: Vec<OnceLock<u64>>,
    /// Entry end tags of each part, counted where needed.
    counted: Vec<OnceLock<u64>>,
    held_bytes: AtomicUsize,
    held_limit: usize,
}

impl<'a> Numbering<'a> {
    fn new(
        input: &'a [u8],
        layout: &'a FeedLayout,
        ranges: &'a [Range<usize>],
        held_limit: usize,
    ) -> Self {
        Numbering {
            input,
            layout,
            ranges,
            entries: ranges.iter().map(|_| OnceLock::new()).collect(),
            counted: ranges.iter().map(|_| OnceLock::new()).collect(),
            held_bytes: AtomicUsize::new(0),
            held_limit,
        }
    }

    fn part_read(&self, k: usize, entries: u64) {
        let _ = self.entries[k].set(entries);
    }

    /// Index of part `k`'s first entry, if every part before it is read.
    fn first_index(&self, k: usize) -> Option<u64> {
        self.entries[..k].iter().map(|n| n.get().copied()).sum()
    }

    /// Index of part `k`'s first entry, counting the end tags of the parts
    /// before it that are not read yet.
    fn first_index_counted(&self, k: usize) -> u64 {
        (0..k)
            .map(|j| match self.entries[j].get() {
                Some(&n) => n,
                None => *self.counted[j].get_or_init(|| {
                    self.layout
                        .entry_end_tags(&self.input[self.ranges[j].clone()])
                }),
            })
            .sum()
    }
}

/// The batches of one part's pass one, held until numbered; its
/// ReadingTypes rows are held until the part's links are merged.
#[derive(Default)]
struct FirstPassRows {
    held: Vec<(Table, RecordBatch)>,
    /// Bytes of `held` (and of `reading_types` in `reading_types_bytes`),
    /// counted in [`Numbering`] for all parts.
    held_bytes: usize,
    /// What the part's entry indices were shifted by, once known.
    shift: Option<u64>,
    /// ReadingTypes rows, accepted within the part (entries numbered from
    /// 0 at its start).
    reading_types: Vec<RecordBatch>,
    reading_types_bytes: usize,
    /// Whether `reading_types` is checked against the earlier parts.
    reading_types_checked: bool,
    /// ReadingTypes rows were handed on before the part's links were merged
    /// (past the memory limit).
    reading_types_unchecked: bool,
}

impl FirstPassRows {
    fn batch<C: BatchSink>(
        &mut self,
        k: usize,
        numbering: &Numbering,
        sink: &mut C,
        table: Table,
        batch: RecordBatch,
    ) {
        // Readings rows carry no entry index: handed on at once.
        if table == Table::Readings {
            sink.batch(table, batch);
            return;
        }
        if self.shift.is_none() {
            self.release_if_known(k, numbering, sink);
        }
        let held_reading_types = table == Table::ReadingTypes && !self.reading_types_unchecked;
        if let (Some(shift), false) = (self.shift, held_reading_types) {
            sink.batch(table, shift_entry_indices(batch, shift));
            return;
        }
        let bytes = batch.get_array_memory_size();
        if held_reading_types {
            self.reading_types.push(batch);
            self.reading_types_bytes += bytes;
        } else {
            self.held.push((table, batch));
            self.held_bytes += bytes;
        }
        let all = numbering.held_bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if all > numbering.held_limit {
            let shift = self
                .shift
                .unwrap_or_else(|| numbering.first_index_counted(k));
            self.release_to(shift, numbering, sink);
            // Handed on as accepted within the part: checked at the merge.
            self.reading_types_unchecked = true;
            self.release_reading_types(shift, numbering, sink);
        }
    }

    /// Keep the ReadingTypes rows whose definitions `links` (every part up
    /// to this one, merged) accepts; the part's first entry is `first`.
    fn check_reading_types(&mut self, links: &Links, first: u64) {
        for batch in &mut self.reading_types {
            let keys = batch
                .column_by_name("reading_type")
                .and_then(|c| c.as_any().downcast_ref::<StringArray>());
            let indices = batch
                .column_by_name("entry_index")
                .and_then(|c| c.as_any().downcast_ref::<UInt64Array>());
            let (Some(keys), Some(indices)) = (keys, indices) else {
                continue;
            };
            let accepted: BooleanArray = keys
                .iter()
                .zip(indices.iter())
                .map(|(key, index)| {
                    Some(match (key, index) {
                        (Some(key), Some(index)) => {
                            links.reading_type_definition_accepted(key, first + index)
                        }
                        _ => true,
                    })
                })
                .collect();
            if accepted.true_count() < accepted.len() {
                *batch =
                    filter_record_batch(batch, &accepted).expect("a mask as long as the batch");
            }
        }
        self.reading_types_checked = true;
    }

    /// Number the ReadingTypes rows held from `shift` and hand them on:
    /// once checked, or when they may not be held any longer.
    fn release_reading_types<C: BatchSink>(
        &mut self,
        shift: u64,
        numbering: &Numbering,
        sink: &mut C,
    ) {
        if !(self.reading_types_checked || self.reading_types_unchecked) {
            return;
        }
        numbering
            .held_bytes
            .fetch_sub(self.reading_types_bytes, Ordering::Relaxed);
        self.reading_types_bytes = 0;
        for batch in self.reading_types.drain(..) {
            if batch.num_rows() > 0 {
                sink.batch(Table::ReadingTypes, shift_entry_indices(batch, shift));
            }
        }
    }

    /// Hand on the rows held if the part's first index is known.
    fn release_if_known<C: BatchSink>(&mut self, k: usize, numbering: &Numbering, sink: &mut C) {
        if let (None, Some(shift)) = (self.shift, numbering.first_index(k)) {
            self.release_to(shift, numbering, sink);
        }
    }

    fn release_to<C: BatchSink>(&mut self, shift: u64, numbering: &Numbering, sink: &mut C) {
        numbering
            .held_bytes
            .fetch_sub(self.held_bytes, Ordering::Relaxed);
        self.release(shift, sink);
    }

    /// Number the rows held from `shift` and hand them on (the count of
    /// bytes held is the caller's).
    fn release<C: BatchSink>(&mut self, shift: u64, sink: &mut C) {
        self.shift = Some(shift);
        self.held_bytes = 0;
        for (table, batch) in self.held.drain(..) {
            sink.batch(table, shift_entry_indices(batch, shift));
        }
    }
}

/// `batch` with `shift` added to its `entry_index` column.
fn shift_entry_indices(batch: RecordBatch, shift: u64) -> RecordBatch {
    let Some((at, _)) = batch.schema().column_with_name("entry_index") else {
        return batch;
    };
    if shift == 0 {
        return batch;
    }
    let Some(indices) = batch.column(at).as_any().downcast_ref::<UInt64Array>() else {
        return batch;
    };
    let shifted: ArrayRef = Arc::new(indices.unary::<_, UInt64Type>(|i| i + shift));
    let mut columns = batch.columns().to_vec();
    columns[at] = shifted;
    RecordBatch::try_new(batch.schema(), columns).expect("same schema")
}
