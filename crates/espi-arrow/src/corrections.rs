//! Corrections: the same interval of a meter reading delivered more than
//! once (a daily Bulk feed repeats earlier days with corrected values).
//!
//! Before conversion, [`Corrections::find`] reads the IntervalBlock headers
//! of every input (their readings skipped at memchr speed) and finds the
//! blocks of one meter reading whose intervals overlap. Only those blocks are
//! read in full, to learn which deliveries each interval start has. During
//! conversion a reading is *superseded* when a later delivery of its
//! (meter reading, start) exists: later by the entry's Atom `updated`, then
//! by input order, then by entry order.

use ahash::AHashMap as HashMap;
use rayon::prelude::*;

use espi_core::{
    parse_part, parse_part_skipping, parse_slice, FeedLayout, ParseError, ParseOptions, Reading,
    Sink,
};
use espi_model::numbers::{parse_rfc3339_micros, parse_seconds_to_micros};
use espi_model::resource::{Entry, Resource};

use crate::converter::{block_meter_reading_key, interval_start_us, normalised_start_us};
use crate::dense::DenseMap;
use crate::keys::{table_bytes, Keys};
use crate::segmented::Segmented;
use crate::state_memory::{StateMap, StateSet};

/// Inputs at least this large have their block headers read in parallel parts.
const PARALLEL_MIN_BYTES: usize = 16 << 20;

/// When a block was delivered: ordered by `updated` (absent first), then
/// input, then place in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Delivery {
    /// The entry's Atom `updated`, microseconds (i64::MIN when absent).
    pub updated_us: i64,
    /// Input number in the run.
    pub input: u32,
    /// Byte offset of the entry in its input (entries are in the order of
    /// their offsets; an offset is known to a part of an input read in
    /// parallel, where the entry's index is not yet).
    pub offset: u64,
}

impl Delivery {
    /// The delivery of the entry at byte `offset` of input `input`.
    pub fn of(updated_us: Option<i64>, input: u32, offset: u64) -> Delivery {
        Delivery {
            updated_us: updated_us.unwrap_or(i64::MIN),
            input,
            offset,
        }
    }
}

/// The intervals delivered more than once in a run.
#[derive(Debug, Default)]
pub struct Corrections {
    /// Entries (input, byte offset) holding a block that overlaps another
    /// block of its meter reading.
    contested: StateSet<(u32, u64)>,
    /// The latest delivery of every interval of those entries.
    delivered: LatestDeliveries,
}

/// A meter reading with intervals delivered more than once
/// ([`Corrections::superseded_in`]).
#[derive(Debug, Clone, Copy)]
pub struct ContestedSeries<'a> {
    corrections: &'a Corrections,
    meter_reading: u32,
}

impl ContestedSeries<'_> {
    /// Is its reading at `start_us`, delivered by `delivery`, replaced by a
    /// later delivery?
    pub fn is_superseded(&self, start_us: i64, delivery: Delivery) -> bool {
        let d = &self.corrections.delivered;
        d.by_interval
            .get(self.meter_reading, start_us)
            .is_some_and(|latest| d.deliveries[latest as usize] > delivery)
    }
}

/// One IntervalBlock as its header describes it.
struct Header {
    meter_reading: u32,
    start_us: i64,
    end_us: i64,
    input: u32,
    entry: u64,
    /// Byte range of the entry in its input.
    range: std::ops::Range<usize>,
}

/// One input, or a part of a large one (its layout and byte range), whose
/// block headers are read by one task.
type HeaderJob<'a> = (u32, &'a [u8], Option<(FeedLayout, std::ops::Range<usize>)>);

/// Pass one: block headers and entry offsets.
struct HeaderSink {
    input: u32,
    keys: Keys,
    headers: Vec<Header>,
    /// Offset of every entry read, in order.
    offsets: Vec<u64>,
    /// Entries read, rejected ones included (they are numbered too).
    entries: u64,
}

impl HeaderSink {
    fn new(input: u32) -> HeaderSink {
        HeaderSink {
            input,
            keys: Keys::default(),
            headers: Vec::new(),
            offsets: Vec::new(),
            entries: 0,
        }
    }
}

/// The block headers of `bytes[range]`, a part of an input's entries. The
/// entries without an IntervalBlock are jumped over unread
/// ([`FeedLayout::entries_without`]): in a daily Bulk feed most entries are
/// metadata. Should jumping fail (the bytes misled the search), the part is
/// read whole.
fn read_headers(
    input: u32,
    bytes: &[u8],
    layout: &FeedLayout,
    range: std::ops::Range<usize>,
    options: &ParseOptions,
) -> HeaderSink {
    let skip = layout.entries_without(bytes, range.clone(), b"IntervalBlock");
    let mut sink = HeaderSink::new(input);
    match parse_part_skipping(bytes, layout, range.clone(), 0, &skip, options, &mut sink) {
        Ok(stats) => {
            // Entries jumped over are counted (and numbered) too.
            sink.entries = stats.entries;
            sink
        }
        Err(_) if !skip.is_empty() => {
            let mut sink = HeaderSink::new(input);
            let _ = parse_part(bytes, layout, range, 0, options, &mut sink);
            sink
        }
        Err(_) => sink,
    }
}

impl Sink for HeaderSink {
    fn reading(&mut self, _: &Reading) {}
    fn entry(&mut self, entry: Entry, resources: Vec<Resource>) {
        self.entries += 1;
        self.offsets.push(entry.offset);
        for block in resources.iter().filter(|r| r.is("IntervalBlock")) {
            let (start_us, end_us) = block_interval_us(block);
            let meter_reading = self.keys.id(block_meter_reading_key(&entry));
            self.headers.push(Header {
                meter_reading,
                start_us,
                end_us,
                input: self.input,
                entry: entry.index,
                range: entry.offset as usize..entry.offset as usize,
            });
        }
    }
    fn entry_rejected(&mut self, _: &ParseError, _: u64) {
        self.entries += 1;
    }
}

/// The interval an IntervalBlock covers, `[start, end)` in microseconds, as
/// its header gives it: a block without a readable interval may hold any
/// start, one without a duration any start from its own.
pub(crate) fn block_interval_us(block: &Resource) -> (i64, i64) {
    let duration_us = block
        .field("interval/duration")
        .and_then(|s| parse_seconds_to_micros(s.as_bytes()).ok())
        .map(|(us, _)| us);
    match (interval_start_us(block), duration_us) {
        (Some(s), Some(d)) => (s, s.saturating_add(d.max(1))),
        (Some(s), None) => (s, i64::MAX),
        _ => (i64::MIN, i64::MAX),
    }
}

/// The intervals of the IntervalBlocks of one input, watched while it is
/// converted without a corrections pass, to tell whether it delivers an
/// interval more than once (see [`RepeatWatch`](crate::RepeatWatch)): for
/// each meter reading (an id of the converter's keys) what its blocks
/// cover so far, blocks that follow on merged. Days in order cost one
/// interval a meter reading (24 bytes), a day corrected later in the file
/// a list of them.
#[derive(Debug, Default)]
pub(crate) struct BlockIntervals {
    /// Each meter reading's covered interval `[start, end)` in
    /// microseconds, or [`GAPS`] when its blocks cover several.
    covered: DenseMap<(i64, i64)>,
    /// The meter readings whose blocks cover several intervals: disjoint,
    /// in order, those that touch merged.
    several: StateMap<u32, Vec<(i64, i64)>>,
    /// A block overlapped one before it of its meter reading.
    repeats: bool,
}

/// In [`BlockIntervals::covered`]: see [`BlockIntervals::several`] (no
/// interval ends before it starts).
const GAPS: (i64, i64) = (i64::MAX, i64::MIN);

impl BlockIntervals {
    /// Note `block` of meter reading `meter_reading`.
    pub(crate) fn add(&mut self, meter_reading: u32, block: &Resource) {
        let (start_us, end_us) = block_interval_us(block);
        self.add_interval(meter_reading, start_us, end_us);
    }

    /// Note a block of `meter_reading` covering `[start, end)`.
    fn add_interval(&mut self, meter_reading: u32, start: i64, end: i64) {
        let Some(covered) = self.covered.get_mut(&meter_reading) else {
            self.covered.insert(meter_reading, (start, end));
            return;
        };
        if *covered == GAPS {
            if let Some(spans) = self.several.get_mut(&meter_reading) {
                self.repeats |= add_to_spans(spans, start, end);
            }
            return;
        }
        let (a, b) = *covered;
        if start < b && a < end {
            self.repeats = true;
        } else if start == b {
            covered.1 = end;
        } else if end == a {
            covered.0 = start;
        } else {
            *covered = GAPS;
            let spans = if end < a {
                vec![(start, end), (a, b)]
            } else {
                vec![(a, b), (start, end)]
            };
            self.several.insert(meter_reading, spans);
        }
    }

    /// Has a block overlapped an earlier one of its meter reading? (The
    /// rule of [`Corrections::find`].)
    pub(crate) fn repeats(&self) -> bool {
        self.repeats
    }
}

/// Add `[start, end)` to `spans` (disjoint, in order, those that touch
/// merged); whether it overlaps them (then nothing is added).
fn add_to_spans(spans: &mut Vec<(i64, i64)>, start: i64, end: i64) -> bool {
    // The first interval that ends after `start`: the only one that may
    // overlap.
    let i = spans.partition_point(|&(_, b)| b <= start);
    if spans.get(i).is_some_and(|&(a, _)| a < end) {
        return true;
    }
    let after_previous = i > 0 && spans[i - 1].1 == start;
    let before_next = spans.get(i).is_some_and(|&(a, _)| a == end);
    match (after_previous, before_next) {
        (true, true) => {
            spans[i - 1].1 = spans[i].1;
            spans.remove(i);
        }
        (true, false) => spans[i - 1].1 = end,
        (false, true) => spans[i].0 = start,
        (false, false) => spans.insert(i, (start, end)),
    }
    false
}

/// A delivery (its place in a list) for each interval (meter reading,
/// start). Starts at whole seconds from 1970 to 2106, nearly all of them,
/// are kept in 12 bytes (meter reading, seconds, delivery); others in 24.
/// When a feed is converted with the one it repeats every reading is an
/// interval here: 2.9 million for a GB of Bulk feed.
/// Kept to the end of the run, as conversion state is ([`StateMap`]).
#[derive(Debug, Default)]
struct Intervals {
    seconds: StateMap<[u32; 2], u32>,
    other: StateMap<(u32, i64), u32>,
}

impl Intervals {
    /// The meter reading and start in 8 bytes, when the start is a whole
    /// second in range.
    fn packed(meter_reading: u32, start_us: i64) -> Option<[u32; 2]> {
        let seconds = u32::try_from(start_us / 1_000_000).ok()?;
        (start_us % 1_000_000 == 0).then_some([meter_reading, seconds])
    }

    fn get(&self, meter_reading: u32, start_us: i64) -> Option<u32> {
        match Self::packed(meter_reading, start_us) {
            Some(key) => self.seconds.get(&key),
            None => self.other.get(&(meter_reading, start_us)),
        }
        .copied()
    }

    /// Keep `delivery` for the interval unless it holds one that is not
    /// `later` than it.
    fn keep_latest(
        &mut self,
        meter_reading: u32,
        start_us: i64,
        delivery: u32,
        later: impl Fn(u32, u32) -> bool,
    ) {
        let kept = match Self::packed(meter_reading, start_us) {
            Some(key) => self.seconds.entry(key).or_insert(delivery),
            None => self
                .other
                .entry((meter_reading, start_us))
                .or_insert(delivery),
        };
        if later(delivery, *kept) {
            *kept = delivery;
        }
    }

    fn heap_bytes(&self) -> usize {
        table_bytes::<([u32; 2], u32)>(self.seconds.capacity())
            + table_bytes::<((u32, i64), u32)>(self.other.capacity())
    }
}

/// The latest delivery of every interval of the contested entries, merged
/// input by input.
#[derive(Debug, Default)]
struct LatestDeliveries {
    /// The meter readings of the contested entries.
    keys: Keys,
    /// The deliveries of the contested entries.
    deliveries: Segmented<Delivery>,
    /// (meter reading, start) of every reading of a contested entry -> its
    /// latest delivery (in `deliveries`).
    by_interval: Intervals,
    /// Readings of contested entries.
    contested_readings: u64,
}

impl LatestDeliveries {
    /// Merge the starts one input's contested entries hold.
    fn add(&mut self, sink: StartSink) {
        let first_delivery = self.deliveries.len() as u32;
        for delivery in sink.deliveries {
            self.deliveries.push(delivery);
        }
        let mut meter_readings: HashMap<u32, u32> = HashMap::new();
        for (key, start, delivery) in sink.found {
            let mr = *meter_readings
                .entry(key)
                .or_insert_with(|| self.keys.import(&sink.keys, key));
            let delivery = first_delivery + delivery;
            self.contested_readings += 1;
            let deliveries = &self.deliveries;
            self.by_interval.keep_latest(mr, start, delivery, |a, b| {
                deliveries[a as usize] > deliveries[b as usize]
            });
        }
    }
}

/// Pass two: reading starts of the contested entries.
struct StartSink<'a> {
    input: u32,
    contested: &'a StateSet<(u32, u64)>,
    starts: Vec<i64>,
    /// The meter readings of the entries read.
    keys: Keys,
    /// The deliveries of the entries read.
    deliveries: Vec<Delivery>,
    /// Every reading read: its meter reading (in `keys`), start and
    /// delivery (in `deliveries`); 16 bytes a reading, however many there
    /// are (every reading of a run is contested when a feed is converted
    /// with the one it repeats).
    found: Vec<(u32, i64, u32)>,
}

impl Sink for StartSink<'_> {
    fn reading(&mut self, r: &Reading) {
        // Starts as the converter reads them (milliseconds recognised).
        if let Some(s) = r.start_us {
            self.starts.push(normalised_start_us(s));
        }
    }
    fn entry(&mut self, entry: Entry, resources: Vec<Resource>) {
        let starts = std::mem::take(&mut self.starts);
        let is_block = resources.iter().any(|r| r.is("IntervalBlock"));
        if !is_block || !self.contested.contains(&(self.input, entry.offset)) {
            return;
        }
        let delivery = Delivery::of(
            entry.updated.as_deref().and_then(parse_rfc3339_micros),
            self.input,
            entry.offset,
        );
        let key = self.keys.id(block_meter_reading_key(&entry));
        let delivery_id = u32::try_from(self.deliveries.len()).expect("fewer than 2^32 entries");
        self.deliveries.push(delivery);
        self.found
            .extend(starts.into_iter().map(|s| (key, s, delivery_id)));
    }
    fn entry_rejected(&mut self, _: &ParseError, _: u64) {
        self.starts.clear();
    }
}

impl Corrections {
    /// Find the intervals delivered more than once across `inputs` (whole
    /// documents in run order). Inputs that cannot be read are ignored here
    /// (their conversion reports them).
    pub fn find(inputs: &[&[u8]]) -> Corrections {
        let skip = ParseOptions {
            skip_bad_entries: true,
            fast_readings: true,
            skip_interval_blocks: true,
            blocks_only: true,
        };
        // Large feeds are cut into parts read in parallel (entry numbers
        // shifted afterwards); each part knows where its last entry ends.
        let parts_per_input = (rayon::current_num_threads() * 2).max(1);
        let jobs: Vec<HeaderJob> = inputs
            .iter()
            .enumerate()
            .flat_map(|(i, bytes)| {
                let layout = (bytes.len() >= PARALLEL_MIN_BYTES)
                    .then(|| FeedLayout::of(bytes))
                    .flatten();
                match layout {
                    Some(layout) => layout
                        .split(bytes, parts_per_input)
                        .into_iter()
                        .map(|r| (i as u32, *bytes, Some((layout.clone(), r))))
                        .collect::<Vec<_>>(),
                    None => vec![(i as u32, *bytes, None)],
                }
            })
            .collect();
        let mut passes: Vec<HeaderSink> = jobs
            .par_iter()
            .map(|(input, bytes, part)| {
                let whole = || {
                    let layout = FeedLayout::of(bytes)?;
                    let range = layout.split(bytes, 1).pop()?;
                    Some((layout, range))
                };
                let (mut sink, end) = match part.clone().or_else(whole) {
                    Some((layout, range)) => (
                        read_headers(*input, bytes, &layout, range.clone(), &skip),
                        range.end,
                    ),
                    None => {
                        let mut sink = HeaderSink::new(*input);
                        let _ = parse_slice(bytes, &skip, &mut sink);
                        (sink, bytes.len())
                    }
                };
                // Each block's entry ends where the next entry starts.
                let mut next = 0;
                for header in sink.headers.iter_mut() {
                    let start = header.range.start as u64;
                    while next < sink.offsets.len() && sink.offsets[next] <= start {
                        next += 1;
                    }
                    let stop = sink.offsets.get(next).map_or(end, |&o| o as usize);
                    header.range = header.range.start..stop;
                }
                sink
            })
            .collect();
        // Number the entries of each input's parts in order.
        let mut first_entry = 0u64;
        let mut current = u32::MAX;
        for pass in passes.iter_mut() {
            if pass.input != current {
                current = pass.input;
                first_entry = 0;
            }
            for h in pass.headers.iter_mut() {
                h.entry += first_entry;
            }
            first_entry += pass.entries;
        }

        // Common keys, and every block by (meter reading, start).
        let mut out = Corrections::default();
        let mut keys = Keys::default();
        let mut headers: Vec<Header> = Vec::new();
        for pass in passes {
            for mut h in pass.headers {
                h.meter_reading = keys.id(pass.keys.str(h.meter_reading));
                headers.push(h);
            }
        }
        drop(keys);
        headers.sort_unstable_by_key(|h| (h.meter_reading, h.start_us, h.end_us));
        let mut cluster_start = 0;
        let mut cluster_end = i64::MIN;
        for i in 0..=headers.len() {
            let continues = i < headers.len()
                && i > cluster_start
                && headers[i].meter_reading == headers[cluster_start].meter_reading
                && headers[i].start_us < cluster_end;
            if !continues {
                if i - cluster_start > 1 {
                    for h in &headers[cluster_start..i] {
                        out.contested.insert((h.input, h.range.start as u64));
                    }
                }
                cluster_start = i;
                cluster_end = i64::MIN;
            }
            if let Some(h) = headers.get(i) {
                cluster_end = cluster_end.max(h.end_us);
            }
        }
        if out.contested.is_empty() {
            return out;
        }

        // Reading starts of the contested entries.
        let full = ParseOptions {
            skip_bad_entries: true,
            blocks_only: true,
            ..ParseOptions::default()
        };
        let contested = &out.contested;
        // Each input's starts are merged as soon as they are read, so that
        // only the inputs being read hold theirs.
        let merged = std::sync::Mutex::new(LatestDeliveries::default());
        inputs.par_iter().enumerate().for_each(|(i, bytes)| {
            let input = i as u32;
            let mut sink = StartSink {
                input,
                contested,
                starts: Vec::new(),
                keys: Keys::default(),
                deliveries: Vec::new(),
                found: Vec::new(),
            };
            let mut ranges: Vec<(std::ops::Range<usize>, u64)> = headers
                .iter()
                .filter(|h| {
                    h.input == input && contested.contains(&(h.input, h.range.start as u64))
                })
                .map(|h| (h.range.clone(), h.entry))
                .collect();
            if ranges.is_empty() {
                return;
            }
            ranges.sort_unstable_by_key(|(r, _)| r.start);
            ranges.dedup_by_key(|(r, _)| r.start);
            match FeedLayout::of(bytes) {
                Some(layout) => {
                    for (r, entry) in ranges {
                        let _ = parse_part(bytes, &layout, r, entry, &full, &mut sink);
                    }
                }
                None => {
                    let _ = parse_slice(bytes, &full, &mut sink);
                }
            }
            if let Ok(mut merged) = merged.lock() {
                merged.add(sink);
            }
        });
        out.delivered = merged.into_inner().unwrap_or_default();
        out
    }

    /// Does the entry at byte `offset` of input `input` hold a block that
    /// overlaps another?
    pub fn is_contested(&self, input: u32, offset: u64) -> bool {
        !self.contested.is_empty() && self.contested.contains(&(input, offset))
    }

    /// Is the reading of `meter_reading` (its block's key) at `start_us`,
    /// delivered by `delivery`, replaced by a later delivery?
    pub fn is_superseded(&self, meter_reading: &str, start_us: i64, delivery: Delivery) -> bool {
        self.superseded_in(meter_reading)
            .is_some_and(|block| block.is_superseded(start_us, delivery))
    }

    /// The intervals of `meter_reading` (a block's key) delivered more than
    /// once, when it has any: looked up once for all of a block's readings.
    pub fn superseded_in(&self, meter_reading: &str) -> Option<ContestedSeries<'_>> {
        let meter_reading = self.delivered.keys.get(meter_reading)?;
        Some(ContestedSeries {
            corrections: self,
            meter_reading,
        })
    }

    /// Bytes of memory these corrections hold (their tables as allocated):
    /// on the heap within the state memory budget, past it in the mapped
    /// file ([`state_memory_budget`](crate::state_memory_budget)).
    ///
    /// ```
    /// let none = espi_arrow::Corrections::find(&[]);
    /// assert!(none.heap_bytes() < 1024);
    /// ```
    pub fn heap_bytes(&self) -> usize {
        let d = &self.delivered;
        d.keys.heap_bytes()
            + table_bytes::<(u32, u64)>(self.contested.capacity())
            + d.by_interval.heap_bytes()
            + d.deliveries.len() * std::mem::size_of::<Delivery>()
    }

    /// Entries whose blocks overlap another block of their meter reading.
    pub fn contested_entries(&self) -> usize {
        self.contested.len()
    }

    /// Readings in those entries.
    pub fn contested_readings(&self) -> u64 {
        self.delivered.contested_readings
    }
}

#[cfg(test)]
mod tests {
    use super::{BlockIntervals, Intervals};
    use espi_model::resource::{Namespace, Resource};

    /// An IntervalBlock with `interval/start` and `interval/duration` as given.
    fn block(start: Option<&str>, duration: Option<&str>) -> Resource {
        let mut block = Resource::new("IntervalBlock", Namespace::Espi);
        for (path, text) in [("interval/duration", duration), ("interval/start", start)] {
            if let Some(text) = text {
                block.fields.push((path.into(), text.into()));
            }
        }
        block
    }

    /// Whether any two of `blocks` of one meter reading overlap, pair by
    /// pair.
    fn overlap_pairwise(blocks: &[(u32, i64, i64)]) -> bool {
        blocks.iter().enumerate().any(|(i, x)| {
            blocks[..i]
                .iter()
                .any(|y| x.0 == y.0 && x.1 < y.2 && y.1 < x.2)
        })
    }

    #[test]
    fn block_intervals_overlap_only_within_one_meter_reading() {
        let any = |blocks: &[(u32, Option<&str>, Option<&str>)]| {
            let mut intervals = BlockIntervals::default();
            for &(meter_reading, start, duration) in blocks {
                intervals.add(meter_reading, &block(start, duration));
            }
            intervals.repeats()
        };
        let day = Some("86400");
        // Days one after another, and the same day of two meter readings.
        assert!(!any(&[
            (1, Some("1717225200"), day),
            (1, Some("1717311600"), day),
            (2, Some("1717225200"), day),
        ]));
        // Days out of time order.
        assert!(!any(&[
            (1, Some("1717311600"), day),
            (1, Some("1717225200"), day),
        ]));
        // A day delivered again, in any order.
        assert!(any(&[
            (1, Some("1717311600"), day),
            (1, Some("1717225200"), day),
            (1, Some("1717225200"), day),
        ]));
        // An hour inside a day.
        assert!(any(&[
            (1, Some("1717225200"), day),
            (1, Some("1717228800"), Some("3600")),
        ]));
        // A block without a duration holds any start from its own; one
        // without a start, any start at all.
        assert!(any(&[
            (1, Some("1717225200"), None),
            (1, Some("1800000000"), day),
        ]));
        assert!(!any(&[
            (1, Some("1800000000"), None),
            (1, Some("1717225200"), day),
        ]));
        assert!(any(&[(1, None, None), (1, Some("1717225200"), day)]));
        assert!(!any(&[(1, None, None)]));
    }

    /// Blocks of a few meter readings, hours in any order with gaps
    /// (deterministic pseudo-random): the coverage says a repeat exactly
    /// when two blocks overlap pair by pair, and only from the block that
    /// makes it.
    #[test]
    fn coverage_finds_exactly_the_overlaps_of_any_order() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        for _ in 0..2000 {
            let mut blocks = Vec::new();
            let mut intervals = BlockIntervals::default();
            for _ in 0..next(12) + 1 {
                let hour = 3_600_000_000;
                let start = next(40) as i64 * hour;
                let block = (next(3) as u32, start, start + (next(4) as i64 + 1) * hour);
                blocks.push(block);
                let before = intervals.repeats();
                intervals.add_interval(block.0, block.1, block.2);
                assert_eq!(intervals.repeats(), overlap_pairwise(&blocks), "{blocks:?}");
                if before {
                    assert!(intervals.repeats());
                }
            }
        }
    }

    #[test]
    fn intervals_keep_the_latest_delivery_of_any_start() {
        let mut intervals = Intervals::default();
        let later = |a: u32, b: u32| a > b;
        // Whole seconds in range, a fraction of a second, before 1970, after 2106.
        let starts = [
            1_704_096_000_000_000,
            1_704_096_000_123_000,
            -86_400_000_000,
            5_000_000_000_000_000,
        ];
        for (i, &start) in starts.iter().enumerate() {
            intervals.keep_latest(7, start, 3, later);
            intervals.keep_latest(7, start, 5, later);
            intervals.keep_latest(7, start, 4, later);
            intervals.keep_latest(8, start, i as u32, later);
        }
        assert_eq!(intervals.seconds.len(), 2);
        assert_eq!(intervals.other.len(), 6);
        for (i, &start) in starts.iter().enumerate() {
            assert_eq!(intervals.get(7, start), Some(5));
            assert_eq!(intervals.get(8, start), Some(i as u32));
            assert_eq!(intervals.get(9, start), None);
        }
        assert_eq!(intervals.get(7, 1_704_096_001_000_000), None);
    }

    #[test]
    fn a_feed_converted_with_itself_contests_every_reading_in_12_bytes_each() {
        let options = espi_gen::GenOptions {
            usage_points: 40,
            corrections: 0.0,
            ..Default::default()
        };
        let mut feed = Vec::new();
        let summary = espi_gen::generate(&options, &mut feed).unwrap();
        let once = super::Corrections::find(&[&feed]);
        assert_eq!(once.contested_readings(), 0);
        let twice = super::Corrections::find(&[&feed, &feed]);
        assert_eq!(twice.contested_readings(), 2 * summary.readings);
        assert_eq!(
            twice.delivered.by_interval.seconds.len() as u64,
            summary.readings
        );
        assert!(twice.delivered.by_interval.other.is_empty());
        let bytes = twice.heap_bytes();
        let tables = summary.readings as usize * 13;
        assert!(bytes > tables && bytes < 4 * tables + (1 << 20), "{bytes}");
    }
}
