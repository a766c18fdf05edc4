//! The readings pipeline: parser events in, resolved Arrow batches out.
//!
//! Readings are appended to reusable raw columns as they stream past. When an
//! IntervalBlock entry ends, its rows are tied to the block's MeterReading
//! (through the block's link hrefs). A block is *resolved* once its
//! MeterReading and that MeterReading's ReadingType have been seen: its rows
//! can then be written with the ReadingType's multiplier, unit and flow
//! direction. Blocks that arrive before their metadata (entries come in any
//! order) wait, in raw form, until it arrives or the input ends; what is still
//! unlinked at the end is written with null ReadingType columns and counted.

use ahash::{AHashMap as HashMap, AHashSet as HashSet};
use std::ops::Range;
use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Int32Builder, ListBuilder, PrimitiveBuilder};
use arrow_array::types::{
    ArrowPrimitiveType, Float64Type, Int32Type, Int64Type, TimestampMicrosecondType,
};
use arrow_array::{
    ArrayRef, BooleanArray, DictionaryArray, Int32Array, Int64Array, PrimitiveArray, RecordBatch,
    StringArray, TimestampMicrosecondArray,
};
use arrow_buffer::{BooleanBuffer, NullBuffer, ScalarBuffer};
use espi_core::{parse_part, FeedLayout, ParseError, ParseOptions, Reading, Sink};
use espi_model::codes::quality_name;
use espi_model::links::{
    meter_reading_key_of_block, normalise_href, usage_point_key_of_meter_reading,
};
use espi_model::local_time::{LocalClock, LocalTimeParameters};
use espi_model::numbers::{parse_rfc3339_micros, parse_seconds_to_micros};
use espi_model::quality::QualityFlags;
use espi_model::resource::{Entry, ReadingAttributes, Resource};
use espi_model::tou::TouNames;
use espi_model::units::{cost_in_currency, normalise, scale_exact};

use crate::corrections::{BlockIntervals, Corrections, Delivery};
use crate::dense::DenseMap;
use crate::keys::Keys;
use crate::metadata::{
    empty_tables, final_tables, read_links, series_in_links, Links, LocalTimeLookup, Table,
    TableRows, TABLE_BATCH_ROWS,
};
use crate::readings_schema;
use crate::resources::ResourceRows;
use crate::spill::{SpillReader, SpilledRows};
use crate::state_memory::StateMap;

/// Options of a conversion.
#[derive(Debug, Clone)]
pub struct ConvertOptions {
    /// Rows per emitted readings batch (at least; a batch ends on an entry boundary).
    pub batch_size: usize,
    /// Names of TOU codes (`tou_name`).
    pub tou_names: Arc<TouNames>,
    /// Intervals delivered more than once in the run (see
    /// [`Corrections::find`]): readings replaced by a later delivery are
    /// marked `superseded`.
    pub corrections: Option<Arc<Corrections>>,
    /// This input's number in the run (for `corrections`).
    pub input_index: u32,
    /// Leave superseded readings out (they are counted).
    pub latest_only: bool,
    /// Readings held back because their MeterReading, ReadingType or
    /// LocalTimeParameters come later in the document. Once more than this
    /// many are held, the metadata of the rest of an in-memory document is
    /// read ahead (one quick pass that skips readings), and every reading is
    /// then written as soon as its entry ends, so memory stays bounded
    /// whatever the entry order. A stream cannot be read ahead: there they
    /// wait for their metadata (or the end of the input), in a temporary
    /// file past [`wait_spill_rows`](Self::wait_spill_rows). Reading
    /// ahead skips bad entries, so when a conversion stops at an error,
    /// readings written before it may be linked to metadata that follows it.
    pub look_ahead_rows: usize,
    /// How many bytes of table rows the first pass of a parallel conversion
    /// ([`convert_parallel`](crate::convert_parallel)) may hold, all parts
    /// together, while it waits to learn where each part's entries are
    /// numbered from. Past this a part counts the entry end tags of the
    /// parts before it instead (a pass over their bytes at memory speed).
    pub parallel_held_bytes: usize,
    /// Readings of one entry past which they wait in an anonymous temporary
    /// file, not in memory, until the entry ends (an IntervalBlock of
    /// millions of readings: its links and `updated` may follow them, and a
    /// bad value anywhere voids the entry). `usize::MAX`: never.
    pub spill_rows: usize,
    /// Readings waiting for their metadata past which they wait in an
    /// anonymous temporary file instead of memory, with every later block of
    /// their meter readings (so that each series is written in order), until
    /// the end of the input: where the input cannot be read ahead (a
    /// stream). Above [`look_ahead_rows`](Self::look_ahead_rows), so that a
    /// document in memory is read ahead first. `usize::MAX`: never.
    pub wait_spill_rows: usize,
    /// For an input converted without [`corrections`](Self::corrections):
    /// whether to watch for intervals it delivers more than once (whose
    /// readings are then not marked `superseded`). Not for
    /// [`convert_parallel`](crate::convert_parallel), whose parts do not
    /// watch.
    pub watch_repeats: RepeatWatch,
}

/// How a conversion without corrections watches for intervals delivered
/// more than once ([`Conversion::repeats_intervals`]): what each meter
/// reading's blocks cover so far is kept (24 bytes for a meter reading
/// whose blocks follow on from each other, a list of intervals for one with
/// gaps), and a block that overlaps it is a repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RepeatWatch {
    /// Not at all.
    #[default]
    Off,
    /// To the end of the input: for an input that cannot be read again (a
    /// stream).
    ToTheEnd,
    /// Reading stops after the entry holding the first repeat: for an input
    /// to be converted again with its corrections.
    StopAtFirst,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        ConvertOptions {
            batch_size: 16_384,
            tou_names: Arc::default(),
            corrections: None,
            input_index: 0,
            latest_only: false,
            look_ahead_rows: 1 << 16,
            parallel_held_bytes: 16 << 20,
            spill_rows: 1 << 17,
            wait_spill_rows: 1 << 18,
            watch_repeats: RepeatWatch::Off,
        }
    }
}

/// A reading or entry that was read but not written, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Input it came from.
    pub source: String,
    /// Entry index in the input (from 0), when inside an entry.
    pub entry_index: Option<u64>,
    /// Atom id of the entry, when known.
    pub entry_id: Option<String>,
    /// Byte offset of the problem.
    pub offset: u64,
    /// Line and column, when known.
    pub line: Option<u64>,
    /// Column, when known.
    pub column: Option<u64>,
    /// Element path.
    pub element: String,
    /// What was wrong.
    pub reason: String,
    /// Readings not written because of it.
    pub readings: u64,
}

/// Counts of one conversion.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConvertCounts {
    /// IntervalReadings read (written + rejected).
    pub readings_read: u64,
    /// Rows written to the readings table.
    pub readings_written: u64,
    /// Readings read but not written (see the rejections).
    pub readings_rejected: u64,
    /// Written readings whose ReadingType could not be linked (null unit and value).
    pub readings_unlinked: u64,
    /// Written readings whose start or duration was derived.
    pub readings_time_derived: u64,
    /// Written readings whose value could not be scaled (absurd multiplier).
    pub readings_unscaled: u64,
    /// Written readings whose `timePeriod/start` had a fraction (kept to the microsecond).
    pub readings_fractional_start: u64,
    /// Readings whose `timePeriod/start` was in milliseconds (normalised;
    /// a duration in milliseconds with it).
    pub readings_millisecond_start: u64,
    /// Readings replaced by a later delivery of the same interval.
    pub readings_superseded: u64,
    /// Superseded readings left out (`latest_only`): read, neither written
    /// nor rejected.
    pub readings_superseded_dropped: u64,
    /// Entries read (good and rejected).
    pub entries: u64,
    /// Entries rejected.
    pub entries_rejected: u64,
    /// IntervalBlocks read.
    pub interval_blocks: u64,
}

impl ConvertCounts {
    /// Add another conversion's counts.
    pub fn add(&mut self, o: &ConvertCounts) {
        self.readings_read += o.readings_read;
        self.readings_written += o.readings_written;
        self.readings_rejected += o.readings_rejected;
        self.readings_unlinked += o.readings_unlinked;
        self.readings_time_derived += o.readings_time_derived;
        self.readings_unscaled += o.readings_unscaled;
        self.readings_fractional_start += o.readings_fractional_start;
        self.readings_superseded += o.readings_superseded;
        self.readings_millisecond_start += o.readings_millisecond_start;
        self.readings_superseded_dropped += o.readings_superseded_dropped;
        self.entries += o.entries;
        self.entries_rejected += o.entries_rejected;
        self.interval_blocks += o.interval_blocks;
    }
}

#[derive(Debug, Clone, Copy)]
struct Resolution {
    usage_point: u32,
    meter_reading: u32,
    /// Index in `Converter::attributes` of the ReadingType's attributes.
    attrs: Option<u32>,
    /// Index in `Converter::clocks` of the usage point's local time.
    clock: Option<u32>,
}

#[derive(Debug, Clone)]
struct Block {
    meter_reading: u32,
    rows: Range<usize>,
    up: Option<String>,
    this: Option<String>,
    updated_us: Option<i64>,
    interval_start_us: Option<i64>,
    entry_index: u64,
    entry_id: Option<String>,
    offset: u64,
    resolution: Option<Resolution>,
    /// Whether another block delivers some of this block's intervals.
    contested: bool,
}

/// Blocks waiting in a temporary file (see [`Converter::waiting_spill`]).
struct WaitingSpill {
    /// The blocks in document order, their rows numbered in the file.
    blocks: Vec<Block>,
    rows: SpilledRows,
    /// Rows in the file.
    written: usize,
    /// The meter readings with blocks here: their later blocks join them.
    meter_readings: ahash::AHashSet<u32>,
}

/// Pieces of one small table waiting to be joined into a batch.
struct Joiner {
    table: Table,
    pieces: Vec<RecordBatch>,
}

impl Joiner {
    /// Rows waiting.
    fn rows(&self) -> usize {
        self.pieces.iter().map(RecordBatch::num_rows).sum()
    }

    /// Hand on the waiting rows in batches of [`TABLE_BATCH_ROWS`]; the
    /// rows beyond the last full batch wait for more, unless `all`.
    fn join(&mut self, on_batch: &mut impl FnMut(Table, RecordBatch), all: bool) {
        let Some(first) = self.pieces.first() else {
            return;
        };
        let joined = match arrow_select::concat::concat_batches(&first.schema(), &self.pieces) {
            Ok(joined) => joined,
            Err(_) => {
                // More text than one batch's offsets can address: the
                // pieces go on as they are (nothing is lost).
                for piece in self.pieces.drain(..) {
                    on_batch(self.table, piece);
                }
                return;
            }
        };
        self.pieces.clear();
        let (mut at, rows) = (0, joined.num_rows());
        while rows - at >= TABLE_BATCH_ROWS {
            on_batch(self.table, joined.slice(at, TABLE_BATCH_ROWS));
            at += TABLE_BATCH_ROWS;
        }
        if at < rows {
            let rest = joined.slice(at, rows - at);
            if all {
                on_batch(self.table, rest);
            } else {
                self.pieces.push(rest);
            }
        }
    }
}

/// Raw readings as read, columns reused between batches.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct RawReadings {
    pub(crate) start: Vec<Option<i64>>,
    pub(crate) fractional: Vec<bool>,
    pub(crate) duration: Vec<Option<i64>>,
    pub(crate) value: Vec<Option<i64>>,
    pub(crate) cost: Vec<Option<i64>>,
    pub(crate) tou: Vec<Option<i32>>,
    pub(crate) tier: Vec<Option<i32>>,
    pub(crate) cpp: Vec<Option<i32>>,
    /// `qualities[quality_offsets[i]..quality_offsets[i + 1]]` are row i's codes.
    pub(crate) quality_offsets: Vec<u32>,
    pub(crate) qualities: Vec<i32>,
}

impl RawReadings {
    fn len(&self) -> usize {
        self.start.len()
    }

    /// Room for `rows` more rows in every column (a reading's qualities
    /// counted as one code), so that filling a batch does not grow them row
    /// by row.
    fn reserve(&mut self, rows: usize) {
        self.start.reserve(rows);
        self.fractional.reserve(rows);
        self.duration.reserve(rows);
        self.value.reserve(rows);
        self.cost.reserve(rows);
        self.tou.reserve(rows);
        self.tier.reserve(rows);
        self.cpp.reserve(rows);
        self.quality_offsets.reserve(rows + 1);
        self.qualities.reserve(rows);
    }

    pub(crate) fn push(&mut self, r: &Reading) {
        if self.quality_offsets.is_empty() {
            self.quality_offsets.push(0);
        }
        self.start.push(r.start_us);
        self.fractional.push(r.start_fractional);
        self.duration.push(r.duration_s);
        self.value.push(r.value);
        self.cost.push(r.cost);
        self.tou.push(r.tou);
        self.tier.push(r.consumption_tier);
        self.cpp.push(r.cpp);
        self.qualities.extend_from_slice(&r.qualities);
        self.quality_offsets.push(self.qualities.len() as u32);
    }

    fn truncate(&mut self, rows: usize) {
        self.start.truncate(rows);
        self.fractional.truncate(rows);
        self.duration.truncate(rows);
        self.value.truncate(rows);
        self.cost.truncate(rows);
        self.tou.truncate(rows);
        self.tier.truncate(rows);
        self.cpp.truncate(rows);
        if let Some(&end) = self.quality_offsets.get(rows) {
            self.qualities.truncate(end as usize);
            self.quality_offsets.truncate(rows + 1);
        }
    }

    pub(crate) fn qualities_of(&self, row: usize) -> &[i32] {
        let (a, b) = (self.quality_offsets[row], self.quality_offsets[row + 1]);
        &self.qualities[a as usize..b as usize]
    }

    /// Append `rows` of `other`.
    pub(crate) fn extend_from(&mut self, other: &RawReadings, rows: Range<usize>) {
        if self.quality_offsets.is_empty() {
            self.quality_offsets.push(0);
        }
        self.start.extend_from_slice(&other.start[rows.clone()]);
        self.fractional
            .extend_from_slice(&other.fractional[rows.clone()]);
        self.duration
            .extend_from_slice(&other.duration[rows.clone()]);
        self.value.extend_from_slice(&other.value[rows.clone()]);
        self.cost.extend_from_slice(&other.cost[rows.clone()]);
        self.tou.extend_from_slice(&other.tou[rows.clone()]);
        self.tier.extend_from_slice(&other.tier[rows.clone()]);
        self.cpp.extend_from_slice(&other.cpp[rows.clone()]);
        for i in rows {
            self.qualities.extend_from_slice(other.qualities_of(i));
            self.quality_offsets.push(self.qualities.len() as u32);
        }
    }

    /// Keep only `ranges` (in order); returns their new ranges.
    fn retain(&mut self, ranges: &[Range<usize>]) -> Vec<Range<usize>> {
        let mut kept = RawReadings::default();
        let mut out = Vec::with_capacity(ranges.len());
        for r in ranges {
            let from = kept.len();
            kept.extend_from(self, r.clone());
            out.push(from..kept.len());
        }
        if kept.quality_offsets.is_empty() {
            kept.quality_offsets.push(0);
        }
        // Keep the larger allocations of `self` for reuse when nothing is kept.
        if ranges.is_empty() {
            self.truncate(0);
        } else {
            *self = kept;
        }
        out
    }
}

/// Per-batch dictionary over interned ids.
#[derive(Default)]
struct LocalDict {
    local: HashMap<u32, i32>,
    values: Vec<u32>,
}

impl LocalDict {
    fn key(&mut self, id: u32) -> i32 {
        *self.local.entry(id).or_insert_with(|| {
            self.values.push(id);
            (self.values.len() - 1) as i32
        })
    }

    fn array(&self, keys: Vec<i32>, interner: &Keys) -> ArrayRef {
        let values = StringArray::from_iter_values(self.values.iter().map(|&id| interner.str(id)));
        Arc::new(DictionaryArray::<Int32Type>::new(
            Int32Array::from(keys),
            Arc::new(values),
        ))
    }
}

/// Per-meter-reading statistics of written rows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SeriesStats {
    pub(crate) usage_point: u32,
    pub(crate) readings: u64,
    pub(crate) first_start_us: i64,
    pub(crate) last_start_us: i64,
}

impl SeriesStats {
    /// Count `other`'s rows in these (the usage point stays).
    pub(crate) fn add(&mut self, other: &SeriesStats) {
        self.readings += other.readings;
        self.first_start_us = self.first_start_us.min(other.first_start_us);
        self.last_start_us = self.last_start_us.max(other.last_start_us);
    }
}

/// Add the statistics `st` of series `mr` to `series` (a new series takes
/// `st`'s usage point, which stands).
pub(crate) fn add_series(series: &mut DenseMap<SeriesStats>, mr: u32, st: SeriesStats) {
    match series.get_mut(&mr) {
        Some(merged) => merged.add(&st),
        None => {
            series.insert(mr, st);
        }
    }
}

/// Converts one input's parser events into Arrow batches.
///
/// Give it to [`espi_core::parse_slice`] (or [`espi_core::Input::parse`]) as
/// the sink, then call [`Converter::finish`]. Readings batches go to the
/// callback as soon as they are resolved.
///
/// ```
/// use espi_arrow::{ConvertOptions, Converter};
/// use espi_core::{parse_slice, ParseOptions};
/// let xml = br#"<feed xmlns="http://www.w3.org/2005/Atom">
///  <entry><link rel="self" href="/UsagePoint/1/MeterReading/1"/><link rel="related" href="/ReadingType/1"/>
///    <content><MeterReading xmlns="http://naesb.org/espi"/></content></entry>
///  <entry><link rel="self" href="/ReadingType/1"/><content><ReadingType xmlns="http://naesb.org/espi">
///    <powerOfTenMultiplier>-3</powerOfTenMultiplier><uom>72</uom><flowDirection>1</flowDirection></ReadingType></content></entry>
///  <entry><link rel="up" href="/UsagePoint/1/MeterReading/1/IntervalBlock"/><content><IntervalBlock xmlns="http://naesb.org/espi">
///    <IntervalReading><timePeriod><duration>900</duration><start>1700000000</start></timePeriod><value>1500</value></IntervalReading>
///  </IntervalBlock></content></entry></feed>"#;
/// let mut batches = Vec::new();
/// let mut conv = Converter::new("example.xml", ConvertOptions::default(), |table, b| {
///     if table == espi_arrow::Table::Readings {
///         batches.push(b)
///     }
/// });
/// parse_slice(xml, &ParseOptions::default(), &mut conv).unwrap();
/// let done = conv.finish();
/// assert_eq!(done.counts.readings_written, 1);
/// let values = batches[0].column_by_name("value").unwrap();
/// let values = values.as_any().downcast_ref::<arrow_array::Float64Array>().unwrap();
/// assert_eq!(values.value(0), 0.0015); // 1500 x 10^-3 Wh = 0.0015 kWh
/// ```
pub struct Converter<F: FnMut(Table, RecordBatch)> {
    source: String,
    options: ConvertOptions,
    on_batch: F,
    /// Links gathered from this input so far; their keys also intern the
    /// identities of the usage points and meter readings of the readings.
    links: Links,
    /// Complete links of the whole input, when known in advance (parts of a
    /// feed parsed in parallel) or read ahead: blocks are linked against
    /// them at once.
    global: Option<Arc<Links>>,
    /// The rest of the document was read ahead (or could not be).
    looked_ahead: bool,
    /// First pass over a part (see [`Converter::for_metadata`]).
    metadata_pass: bool,
    /// Entries this first pass converted (byte ranges from the end of the
    /// entry before).
    owned: Vec<Range<u64>>,
    /// End of the last entry of a first pass (where the next one's range
    /// starts), when known.
    last_end: Option<u64>,
    /// Whether a first pass still converts entries (it stops at the first
    /// with table rows that it leaves to the second).
    owning: bool,
    /// Whether a first pass still converts IntervalBlock entries (it stops
    /// at the first it leaves to the second; their rows, readings and
    /// IntervalBlocks, are in no table the other entries have rows in).
    owning_blocks: bool,
    /// First pass: the meter reading key of the open block whose readings
    /// are read.
    reading_block: Option<u32>,
    /// First pass: meter reading keys of the blocks it converted.
    first_pass_keys: HashSet<u32>,
    /// First pass: readings with millisecond starts counted before the
    /// current entry.
    millisecond_starts_before: u64,
    rows: TableRows,
    resource_rows: ResourceRows,
    /// Pieces of the small tables, joined into batches of [`TABLE_BATCH_ROWS`].
    joiners: Vec<Joiner>,
    resolutions: DenseMap<Resolution>,
    /// The distinct ReadingType attributes of the resolutions.
    attributes: Vec<ReadingAttributes>,
    attribute_ids: HashMap<ReadingAttributes, u32>,
    /// Local time of the usage points, one per distinct LocalTimeParameters.
    clocks: Vec<LocalClock>,
    clock_params: Vec<LocalTimeParameters>,
    /// Register series: end and raw value of the last reading of each
    /// meter reading (for interval deltas).
    registers: StateMap<u32, (i64, i64)>,
    /// A part of a parallel conversion: the register state each series had
    /// at the part's start (by the key its blocks name it by), taken when
    /// the part first meets the series.
    register_seeds: HashMap<String, RegisterSeed>,
    /// Register series met so far (while there are seeds).
    registers_met: HashSet<u32>,
    /// First pass: the last IntervalBlock entry of each meter reading key in
    /// the part (its byte range; none for an entry without a known end).
    last_blocks: StateMap<u32, Option<Range<u64>>>,
    raw: RawReadings,
    /// Column buffers of the batch being built, kept between batches.
    scratch: BatchScratch,
    blocks: Vec<Block>,
    /// The first this many `blocks` could not be linked with the links at
    /// `tried_version` (they are tried again once the links grow).
    tried_blocks: usize,
    tried_version: u64,
    entry_first_row: usize,
    pending_rows: usize,
    /// The current entry's readings written to a temporary file (those
    /// past [`ConvertOptions::spill_rows`]), in order before those in `raw`.
    spill: Option<SpilledRows>,
    /// No temporary file for the current entry: its readings stay in memory.
    spill_failed: bool,
    /// The blocks of the last entry, linked to nothing yet, and its readings
    /// in their temporary file, waiting for the input to be read ahead.
    parked: Option<(Vec<Block>, SpillReader)>,
    /// Blocks that waited for their metadata past
    /// [`ConvertOptions::wait_spill_rows`] readings, and every later block of
    /// their meter readings, with their readings in a temporary file, in
    /// document order: linked at the end of the input.
    waiting_spill: Option<WaitingSpill>,
    /// No temporary file could be made for waiting readings: they stay in
    /// memory.
    waiting_spill_failed: bool,
    /// Where the readings after the last block a batch was built of would
    /// start (for a block built in pieces, whose readings may derive their
    /// start from the reading before).
    next_start_after_batch: Option<i64>,
    pub(crate) series: DenseMap<SeriesStats>,
    rejections: Vec<Rejection>,
    counts: ConvertCounts,
    /// The blocks' intervals, when [`ConvertOptions::watch_repeats`].
    block_intervals: Option<BlockIntervals>,
}

/// What one part of a parallel conversion found.
pub(crate) struct PartResult {
    pub(crate) counts: ConvertCounts,
    pub(crate) rejections: Vec<Rejection>,
    /// (meter reading, usage point, statistics).
    pub(crate) series: Vec<(String, String, SeriesStats)>,
}

/// What the first pass over one part of a parallel conversion found.
pub(crate) struct MetadataPart {
    /// The part's links, entries numbered from 0 at the part's start.
    pub(crate) links: Links,
    /// The entries it converted (byte ranges, in order): the second pass
    /// leaves them out.
    pub(crate) owned: Vec<Range<u64>>,
    pub(crate) counts: ConvertCounts,
    /// The last IntervalBlock entry of each meter reading key (ids of
    /// `links.keys`): byte range, none where its end is not known.
    pub(crate) last_blocks: StateMap<u32, Option<Range<u64>>>,
    /// How the blocks it converted were linked.
    pub(crate) linked: FirstPassLinks,
    /// Statistics of the series of the blocks it converted (meter
    /// reading ids of `links.keys`; usage point ids too).
    pub(crate) series: Vec<(u32, SeriesStats)>,
}

/// How a first pass linked the blocks it converted, to check against the
/// links of the whole input: per meter reading key, its ReadingType's
/// attributes and its usage point's local time (indices).
#[derive(Debug, Default)]
pub(crate) struct FirstPassLinks {
    pub(crate) keys: Vec<(u32, u32, Option<u32>)>,
    pub(crate) attributes: Vec<ReadingAttributes>,
    pub(crate) clocks: Vec<LocalTimeParameters>,
}

impl FirstPassLinks {
    /// Do `links` (the whole input's) link every block as the first pass
    /// did? Key ids are those of `links.keys`.
    pub(crate) fn hold_in(&self, links: &Links) -> bool {
        self.keys.iter().all(|&(key, attrs, clock)| {
            let Some((linked_attrs, local_time)) = links.linked_by_key(links.keys.str(key)) else {
                return false;
            };
            let local_time = match local_time {
                LocalTimeLookup::Found(p) => Some(p),
                _ => None,
            };
            linked_attrs == Some(self.attributes[attrs as usize])
                && local_time == clock.map(|c| self.clocks[c as usize])
        })
    }
}

/// Where a register series stood at the start of a part: the identity of
/// its meter reading and the end and raw value of its last reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RegisterSeed {
    pub(crate) meter_reading: String,
    pub(crate) end_us: i64,
    pub(crate) raw: i64,
}

/// What a finished conversion found besides its batches.
#[derive(Debug)]
pub struct Conversion {
    /// Counts.
    pub counts: ConvertCounts,
    /// Rejected entries and readings.
    pub rejections: Vec<Rejection>,
    /// Problems found in metadata (a non-numeric ReadingType field, a
    /// redefined ReadingType, ...).
    pub warnings: Vec<String>,
    /// Two IntervalBlocks of one meter reading overlap: the input delivers
    /// some interval more than once (with [`RepeatWatch::StopAtFirst`] the
    /// conversion stopped after the first). Known only with
    /// [`ConvertOptions::watch_repeats`] (else false); the readings of such
    /// an input are marked `superseded` only when converted with its
    /// [`Corrections`].
    pub repeats_intervals: bool,
}

impl<F: FnMut(Table, RecordBatch)> Converter<F> {
    /// A converter for the input named `source`, sending readings batches to `on_batch`.
    pub fn new(source: &str, options: ConvertOptions, on_batch: F) -> Self {
        let block_intervals =
            (options.watch_repeats != RepeatWatch::Off).then(BlockIntervals::default);
        Converter {
            source: source.to_owned(),
            options,
            on_batch,
            links: Links::default(),
            global: None,
            looked_ahead: false,
            metadata_pass: false,
            owned: Vec::new(),
            last_end: None,
            owning: false,
            owning_blocks: false,
            reading_block: None,
            first_pass_keys: HashSet::new(),
            millisecond_starts_before: 0,
            rows: TableRows::default(),
            resource_rows: ResourceRows::default(),
            joiners: Vec::new(),
            resolutions: DenseMap::default(),
            attributes: Vec::new(),
            attribute_ids: HashMap::new(),
            clocks: Vec::new(),
            clock_params: Vec::new(),
            registers: StateMap::default(),
            register_seeds: HashMap::new(),
            registers_met: HashSet::new(),
            last_blocks: StateMap::default(),
            raw: RawReadings::default(),
            scratch: BatchScratch::default(),
            blocks: Vec::new(),
            tried_blocks: 0,
            tried_version: 0,
            entry_first_row: 0,
            pending_rows: 0,
            spill: None,
            spill_failed: false,
            parked: None,
            waiting_spill: None,
            waiting_spill_failed: false,
            next_start_after_batch: None,
            series: DenseMap::default(),
            rejections: Vec::new(),
            counts: ConvertCounts::default(),
            block_intervals,
        }
    }

    /// A converter for one part of an input whose complete metadata is
    /// `links`: every block is linked as soon as its entry ends, and the
    /// part's own metadata entries are not collected again.
    pub(crate) fn with_links(
        source: &str,
        options: ConvertOptions,
        links: Arc<Links>,
        on_batch: F,
    ) -> Self {
        let mut c = Converter::new(source, options, on_batch);
        c.global = Some(links);
        c
    }

    /// Start the register series this part continues where `seeds` (by
    /// the meter reading key their blocks name) say the parts before left
    /// them.
    pub(crate) fn with_register_seeds(mut self, seeds: HashMap<String, RegisterSeed>) -> Self {
        self.register_seeds = seeds;
        self
    }

    /// A converter for the first pass over one part of an input read in
    /// parallel parts (IntervalBlock readings skipped unless it asks for
    /// them): it gathers the part's links and converts its entries without
    /// IntervalBlocks and the blocks its links (with the LocalTimeParameters
    /// of `head`, the input's start) link whole, whose positions it keeps
    /// so that the second pass can leave them out (its rows number entries
    /// from 0 at the part's start). A ReadingType gets a
    /// row when its definition is accepted within the part; the caller
    /// keeps the rows the whole input accepts (once the earlier parts'
    /// links are known).
    pub(crate) fn for_metadata(
        source: &str,
        options: ConvertOptions,
        part_start: u64,
        head: Option<&Links>,
        on_batch: F,
    ) -> Self {
        let mut c = Converter::new(source, options, on_batch);
        if let Some(head) = head {
            c.links.seed_local_times(head);
        }
        c.links.record_definitions = true;
        c.metadata_pass = true;
        c.last_end = Some(part_start);
        c.owning = true;
        c.owning_blocks = true;
        c
    }

    /// Finish a first pass: hand on its tables and return what it found.
    pub(crate) fn finish_metadata(mut self) -> MetadataPart {
        self.flush(true);
        let mut due = self.rows.flush(&self.source, true);
        due.extend(self.resource_tables());
        self.emit_tables(due);
        self.flush_tables();
        MetadataPart {
            links: self.links,
            owned: self.owned,
            counts: self.counts,
            last_blocks: self.last_blocks,
            linked: FirstPassLinks {
                keys: self
                    .first_pass_keys
                    .iter()
                    .map(|key| {
                        let r = *self.resolutions.get(key).expect("resolved");
                        (*key, r.attrs.expect("linked whole"), r.clock)
                    })
                    .collect(),
                attributes: self.attributes,
                clocks: self.clock_params,
            },
            series: self.series.into_iter().collect(),
        }
    }

    /// Whether the entry holds a ReadingType whose definition is accepted.
    fn reading_type_accepted(&self, entry: &Entry, resources: &[Resource]) -> bool {
        let links = self.global.as_deref().unwrap_or(&self.links);
        resources.iter().any(|r| r.is("ReadingType")) && links.reading_type_accepted(entry)
    }

    /// Add the table rows of an entry's resources.
    fn add_table_rows(
        &mut self,
        entry: Entry,
        resources: Vec<Resource>,
        reading_type_accepted: bool,
    ) {
        // One shared copy of the envelope for every table row of the entry.
        let entry = Arc::new(entry);
        let mut due: Vec<(Table, RecordBatch)> = Vec::new();
        for resource in &resources {
            let full = self.resource_rows.add(&self.source, &entry, resource);
            due.extend(full.into_iter().map(|(t, b)| (Table::Resource(t), b)));
        }
        due.extend(
            self.rows
                .add(&self.source, &entry, resources, |_| reading_type_accepted),
        );
        self.emit_tables(due);
    }

    /// An entry of a first pass: its links, and its table rows unless it
    /// holds an IntervalBlock and other resources, or where it starts is
    /// not known (the entry after an empty-element or rejected one). An
    /// IntervalBlock entry is converted when the part's own links link it
    /// whole ([`Converter::reads_block`] had its readings read). The second
    /// pass converts the others, and every entry after them with rows in
    /// the same tables, so that rows stay in document order.
    fn metadata_entry(&mut self, entry: Entry, resources: Vec<Resource>) {
        self.first_pass_entry(entry, resources);
        self.millisecond_starts_before = self.counts.readings_millisecond_start;
    }

    /// First pass: forget the readings read in the current entry (the
    /// second pass reads them).
    fn drop_entry_readings(&mut self) {
        self.raw.truncate(self.entry_first_row);
        self.counts.readings_millisecond_start = self.millisecond_starts_before;
    }

    fn first_pass_entry(&mut self, entry: Entry, resources: Vec<Resource>) {
        self.links.add_entry(&entry, &resources);
        let from = std::mem::replace(&mut self.last_end, entry.end_offset);
        let read = self.reading_block.take();
        let has_block = resources.iter().any(|r| r.is("IntervalBlock"));
        let block_key = has_block.then(|| self.links.keys.id(block_meter_reading_key(&entry)));
        if let Some(key) = block_key {
            let range = entry.end_offset.map(|end| entry.offset..end);
            self.last_blocks.insert(key, range);
        }
        if resources.iter().all(|r| r.is("IntervalBlock")) {
            let rows = self.entry_first_row..self.raw.len();
            // Converted here when its readings were read, it still names
            // the meter reading it was linked by (no link after the
            // content), and every reading has a start (one without may be
            // rejected, numbered by its entry's index).
            let whole = read.is_some()
                && read == block_key
                && self.owning_blocks
                && self.raw.start[rows].iter().all(Option::is_some);
            match (from, entry.end_offset) {
                (Some(from), Some(end)) if whole => {
                    self.owned.push(from..end);
                    self.first_pass_keys.insert(read.expect("read"));
                    self.convert_entry(entry, resources);
                }
                _ => {
                    // The second pass reads it, and every block after it.
                    self.drop_entry_readings();
                    self.owning_blocks = false;
                }
            }
            return;
        }
        if read.is_some() {
            self.drop_entry_readings();
        }
        let (Some(from), Some(end), true, false) = (from, entry.end_offset, self.owning, has_block)
        else {
            self.owning = false;
            self.owning_blocks &= !has_block;
            return;
        };
        self.owned.push(from..end);
        self.counts.entries += 1;
        let accepted = self.reading_type_accepted(&entry, &resources);
        self.add_table_rows(entry, resources, accepted);
    }

    /// The remaining rows of the resource tables.
    fn resource_tables(&mut self) -> Vec<(Table, RecordBatch)> {
        let source = &self.source;
        self.resource_rows
            .flush(source)
            .into_iter()
            .map(|(t, b)| (Table::Resource(t), b))
            .collect()
    }

    /// Join the small-table pieces that are due into batches of
    /// [`TABLE_BATCH_ROWS`] and hand on those that are full.
    fn emit_tables(&mut self, pieces: Vec<(Table, RecordBatch)>) {
        for (table, piece) in pieces {
            let at = match self.joiners.iter().position(|j| j.table == table) {
                Some(at) => at,
                None => {
                    self.joiners.push(Joiner {
                        table,
                        pieces: Vec::new(),
                    });
                    self.joiners.len() - 1
                }
            };
            let joiner = &mut self.joiners[at];
            joiner.pieces.push(piece);
            if joiner.rows() >= TABLE_BATCH_ROWS {
                joiner.join(&mut self.on_batch, false);
            }
        }
    }

    /// Hand on the rows still waiting to be joined.
    fn flush_tables(&mut self) {
        for joiner in &mut self.joiners {
            joiner.join(&mut self.on_batch, true);
        }
    }

    /// Finish a part: flush, and return its counts, rejections and
    /// per-meter-reading statistics by identity.
    pub(crate) fn finish_part(mut self) -> PartResult {
        self.flush(true);
        let mut due = self.rows.flush(&self.source, true);
        due.extend(self.resource_tables());
        self.emit_tables(due);
        self.flush_tables();
        let series = self
            .series
            .iter()
            .map(|(&mr, st)| {
                (
                    self.links.keys.str(mr).to_owned(),
                    self.links.keys.str(st.usage_point).to_owned(),
                    *st,
                )
            })
            .collect();
        PartResult {
            counts: self.counts,
            rejections: self.rejections,
            series,
        }
    }

    /// Record an error that stopped the input (malformed XML, truncation):
    /// readings of the unfinished entry are already counted as rejected.
    pub fn record_fatal(&mut self, error: &ParseError) {
        // The parser already reported the unfinished entry with this error.
        if self.rejections.last().map(|r| r.offset) != Some(error.offset) {
            self.rejections.push(self.rejection(error, 0));
        }
    }

    /// Flush everything (linking what can still be linked), hand on the
    /// remaining table batches (meter readings last) and return the counts.
    pub fn finish(mut self) -> Conversion {
        self.spill = None;
        self.unpark();
        self.flush(true);
        let mut due = self.rows.flush(&self.source, true);
        due.extend(self.resource_tables());
        self.emit_tables(due);
        self.flush_tables();
        // Batches built whole: the empty ones (every table has its schema),
        // the usage points known only from readings, the meter readings.
        // The series are counted by ids of this converter's keys; linked
        // against links read ahead, they are counted by ids of those.
        let global = self.global.take().map(Arc::unwrap_or_clone);
        let (links, series) = match global {
            Some(mut global) => {
                let series = series_in_links(&mut global, &self.links.keys, &self.series);
                (Some(global), series)
            }
            None => (None, std::mem::take(&mut self.series)),
        };
        let links = links.as_ref().unwrap_or(&self.links);
        for (table, batch) in empty_tables(&self.source) {
            (self.on_batch)(table, batch);
        }
        final_tables(links, &self.source, &series, false, &mut self.on_batch);
        Conversion {
            counts: self.counts,
            rejections: self.rejections,
            warnings: links.warning_lines(&self.source),
            repeats_intervals: self
                .block_intervals
                .as_ref()
                .is_some_and(BlockIntervals::repeats),
        }
    }

    /// An entry's readings and table rows.
    fn convert_entry(&mut self, entry: Entry, resources: Vec<Resource>) {
        self.unpark();
        self.spill_failed = false;
        self.counts.entries += 1;
        let spill = self.spill.take();
        // Readings in a temporary file are numbered from the entry's first.
        let mut row = if spill.is_some() {
            0
        } else {
            self.entry_first_row
        };
        let mut blocks = Vec::new();
        for resource in resources.iter().filter(|r| r.is("IntervalBlock")) {
            let rows = row..row + resource.readings as usize;
            row = rows.end;
            self.counts.readings_read += resource.readings;
            let block = self.block(&entry, resource, rows);
            blocks.push(block);
        }
        // (A first pass added the entry's links already.)
        if self.global.is_none() && !self.metadata_pass {
            self.links.add_entry(&entry, &resources);
        }
        let accepted = self.reading_type_accepted(&entry, &resources);
        self.add_table_rows(entry, resources, accepted);
        match spill {
            Some(spill) => self.convert_spilled_blocks(blocks, spill),
            None => {
                self.blocks.extend(blocks);
                self.end_entry_rows();
            }
        }
    }

    /// The current entry's rows are all in `blocks`: the next entry's start
    /// here, and full batches go out.
    fn end_entry_rows(&mut self) {
        self.entry_first_row = self.raw.len();
        if self.raw.len() >= self.pending_rows + self.options.batch_size {
            self.flush(false);
        }
    }

    fn rejection(&self, error: &ParseError, readings: u64) -> Rejection {
        Rejection {
            source: self.source.clone(),
            entry_index: error.entry_index,
            entry_id: error.entry_id.clone(),
            offset: error.offset,
            line: error.line,
            column: error.column,
            element: error.element.clone(),
            reason: error.kind.to_string(),
            readings,
        }
    }

    /// The block `block` of `entry`, its readings at `rows`.
    fn block(&mut self, entry: &Entry, block: &Resource, rows: Range<usize>) -> Block {
        self.counts.interval_blocks += 1;
        let meter_reading = self.links.keys.id(block_meter_reading_key(entry));
        if let Some(intervals) = self.block_intervals.as_mut() {
            intervals.add(meter_reading, block);
        }
        let interval_start_us = interval_start_us(block);
        Block {
            meter_reading,
            rows,
            up: entry
                .up_href
                .as_deref()
                .map(|h| normalise_href(h).to_owned()),
            this: entry
                .self_href
                .as_deref()
                .map(|h| normalise_href(h).to_owned()),
            updated_us: entry.updated.as_deref().and_then(parse_rfc3339_micros),
            interval_start_us,
            entry_index: entry.index,
            entry_id: entry.id.clone(),
            offset: entry.offset,
            resolution: None,
            contested: self
                .options
                .corrections
                .as_ref()
                .is_some_and(|c| c.is_contested(self.options.input_index, entry.offset)),
        }
    }

    /// The current entry holds [`ConvertOptions::spill_rows`] readings. A
    /// first pass leaves its block to the second (which reads it whole with
    /// the complete metadata), and reads no more of it; otherwise they go
    /// to the entry's temporary file.
    fn entry_too_large(&mut self) {
        if self.metadata_pass {
            self.reading_block = None;
            self.drop_entry_readings();
            return;
        }
        self.spill_entry_rows();
    }

    /// Move the current entry's readings to its temporary file.
    fn spill_entry_rows(&mut self) {
        if self.spill_failed {
            return;
        }
        if self.spill.is_none() {
            match SpilledRows::new() {
                Ok(spill) => self.spill = Some(spill),
                Err(_) => {
                    self.spill_failed = true;
                    return;
                }
            }
        }
        let rows = self.entry_first_row..self.raw.len();
        let spill = self.spill.as_mut().expect("created above");
        match spill.append(&self.raw, rows) {
            Ok(()) => self.raw.truncate(self.entry_first_row),
            Err(_) => self.spill_failed = true,
        }
    }

    /// The blocks of an entry whose first readings wait in `spill` (their
    /// rows numbered from the entry's first there). When every block links
    /// now, the readings are read back and handed on a batch at a time;
    /// otherwise they wait for their metadata: in the file while an
    /// in-memory input is read ahead, else in memory as any block's do.
    fn convert_spilled_blocks(&mut self, mut blocks: Vec<Block>, mut spill: SpilledRows) {
        let readings: usize = blocks.iter().map(|b| b.rows.len()).sum();
        let tail = self.entry_first_row..self.raw.len();
        let all_spilled = spill.append(&self.raw, tail).is_ok();
        if all_spilled {
            self.raw.truncate(self.entry_first_row);
        }
        for block in &mut blocks {
            block.resolution = self.resolve(block, false);
        }
        let linked = blocks.iter().all(|b| b.resolution.is_some());
        let reader = match spill.into_reader() {
            Ok(reader) => reader,
            Err(e) => {
                self.raw.truncate(self.entry_first_row);
                return self.spill_lost(&blocks, readings, &e);
            }
        };
        if all_spilled && linked {
            self.stream_spilled(blocks, reader, false);
            return;
        }
        if all_spilled && self.global.is_none() && !self.looked_ahead {
            // An in-memory input is read ahead for its metadata next
            // (`wants_look_ahead`); a stream brings them back into memory.
            self.parked = Some((blocks, reader));
            return;
        }
        if let Err(e) = self.restore_spilled(&blocks, reader) {
            self.raw.truncate(self.entry_first_row);
            return self.spill_lost(&blocks, readings, &e);
        }
        self.end_entry_rows();
    }

    /// Hand on the readings of linked `blocks` from their temporary file, a
    /// batch at a time.
    fn stream_spilled(&mut self, blocks: Vec<Block>, mut reader: SpillReader, final_: bool) {
        // The blocks held before go first, as they would in one batch.
        self.flush(final_);
        let mut at = 0;
        while reader.left() > 0 {
            let (base, left) = (self.raw.len(), reader.left());
            let n = match reader.read_into(&mut self.raw, self.options.batch_size.max(1)) {
                Ok(n) => n,
                Err(e) => {
                    self.raw.truncate(base);
                    return self.spill_lost(&blocks, left, &e);
                }
            };
            for block in &blocks {
                let (from, to) = (block.rows.start.max(at), block.rows.end.min(at + n));
                if from >= to {
                    continue;
                }
                let mut piece = block.clone();
                piece.rows = base + from - at..base + to - at;
                if from > block.rows.start {
                    // The block goes on from its piece before.
                    piece.interval_start_us = self.next_start_after_batch;
                }
                self.blocks.push(piece);
            }
            at += n;
            self.flush(final_);
        }
    }

    /// Bring the readings of `blocks` back into memory, before the rows of
    /// the current entry; the blocks wait there as any block does. On an
    /// error nothing changed.
    fn restore_spilled(
        &mut self,
        blocks: &[Block],
        mut reader: SpillReader,
    ) -> std::io::Result<()> {
        let mut rows = RawReadings::default();
        reader.read_into(&mut rows, usize::MAX)?;
        let restored = rows.len();
        rows.extend_from(&self.raw, self.entry_first_row..self.raw.len());
        self.raw.truncate(self.entry_first_row);
        self.raw.extend_from(&rows, 0..rows.len());
        let first = self.entry_first_row;
        self.blocks.extend(blocks.iter().cloned().map(|mut b| {
            b.rows = first + b.rows.start..first + b.rows.end;
            b
        }));
        self.entry_first_row = first + restored;
        Ok(())
    }

    /// A stream went on past an entry whose readings wait in their file for
    /// metadata: they wait with the other waiting blocks (in memory, or in
    /// the file of waiting blocks).
    fn unpark(&mut self) {
        if let Some((blocks, mut reader)) = self.parked.take() {
            if self.park_with_waiting(&blocks, &mut reader) {
                return;
            }
            let readings = reader.left();
            if let Err(e) = self.restore_spilled(&blocks, reader) {
                self.spill_lost(&blocks, readings, &e);
            }
        }
    }

    /// `readings` of the blocks of an entry could not be read back from its
    /// temporary file: reported as rejected.
    fn spill_lost(&mut self, blocks: &[Block], readings: usize, error: &std::io::Error) {
        self.counts.readings_rejected += readings as u64;
        let first = blocks.first();
        self.rejections.push(Rejection {
            source: self.source.clone(),
            entry_index: first.map(|b| b.entry_index),
            entry_id: first.and_then(|b| b.entry_id.clone()),
            offset: first.map_or(0, |b| b.offset),
            line: None,
            column: None,
            element: "IntervalBlock/IntervalReading".into(),
            reason: format!("readings kept in a temporary file could not be read back: {error}"),
            readings: readings as u64,
        });
    }

    /// Link a block to its MeterReading, ReadingType and UsagePoint. `final_`:
    /// the input has ended, so missing metadata will never come.
    fn resolve(&mut self, block: &Block, final_: bool) -> Option<Resolution> {
        if let Some(r) = self.resolutions.get(&block.meter_reading) {
            return Some(*r);
        }
        let final_ = final_ || self.global.is_some();
        let meta: &Links = match &self.global {
            Some(links) => links,
            None => &self.links,
        };
        let mr_key = self.links.keys.str(block.meter_reading);
        let mr = meta.meter_reading(mr_key).or_else(|| {
            [&block.up, &block.this]
                .into_iter()
                .flatten()
                .find_map(|h| meta.meter_reading_by_related(h))
        });
        // The MeterReading's own key when the block named it another way.
        let (identity, attrs) = match mr {
            Some((key, mr)) => (
                (key != mr_key).then(|| key.to_owned()),
                meta.reading_attributes_of(mr),
            ),
            None => (None, None),
        };
        let up_key =
            usage_point_key_of_meter_reading(identity.as_deref().unwrap_or(mr_key)).to_owned();
        let local_time = meta.local_time_of(&up_key);
        let waiting = attrs.is_none() || local_time == LocalTimeLookup::Pending;
        if waiting && !final_ {
            return None;
        }
        let meter_reading = match identity {
            Some(key) => self.links.keys.id(&key),
            None => block.meter_reading,
        };
        let attrs = attrs.map(|a| self.attribute_index(a));
        let clock = match local_time {
            LocalTimeLookup::Found(params) => Some(self.clock_index(params)),
            _ => None,
        };
        let resolution = Resolution {
            usage_point: self.links.keys.id(&up_key),
            meter_reading,
            attrs,
            clock,
        };
        self.resolutions.insert(block.meter_reading, resolution);
        Some(resolution)
    }

    /// Index of ReadingType attributes in `attributes`.
    fn attribute_index(&mut self, attrs: ReadingAttributes) -> u32 {
        *self.attribute_ids.entry(attrs).or_insert_with(|| {
            self.attributes.push(attrs);
            (self.attributes.len() - 1) as u32
        })
    }

    /// Index of a local time in `clocks`.
    fn clock_index(&mut self, params: LocalTimeParameters) -> u32 {
        match self.clock_params.iter().position(|p| *p == params) {
            Some(k) => k as u32,
            None => {
                self.clock_params.push(params);
                self.clocks.push(LocalClock::new(params));
                (self.clocks.len() - 1) as u32
            }
        }
    }

    /// First pass: link the blocks of meter reading key `key` with the
    /// part's own links, when they link them whole (the MeterReading by
    /// that key, its ReadingType, the usage point's local time) and the
    /// series is not a register (where a register stands at the part's
    /// start is not known in the first pass).
    fn first_pass_resolution(&mut self, key: u32) -> Option<Resolution> {
        if let Some(r) = self.resolutions.get(&key) {
            return Some(*r);
        }
        let key_text = self.links.keys.str(key);
        let (attrs, local_time) = self.links.linked_by_key(key_text)?;
        let attrs = attrs?;
        if Accumulation::of(attrs.accumulation_behaviour) == Accumulation::Register {
            return None;
        }
        let up_key = usage_point_key_of_meter_reading(key_text).to_owned();
        let params = match local_time {
            LocalTimeLookup::Found(p) => Some(p),
            LocalTimeLookup::Pending => return None,
            LocalTimeLookup::None => None,
        };
        let resolution = Resolution {
            usage_point: self.links.keys.id(&up_key),
            meter_reading: key,
            attrs: Some(self.attribute_index(attrs)),
            clock: params.map(|p| self.clock_index(p)),
        };
        self.resolutions.insert(key, resolution);
        Some(resolution)
    }

    /// Emit the rows of every resolvable block; keep the others.
    fn flush(&mut self, final_: bool) {
        if final_ && self.waiting_spill.is_some() {
            // The blocks in memory go after those in the file (a meter
            // reading's blocks stay in order), and all are linked now.
            self.spill_waiting(true);
            if let Some(waiting) = self.waiting_spill.take() {
                let left = waiting.written;
                match waiting.rows.into_reader() {
                    Ok(reader) => self.stream_spilled(waiting.blocks, reader, true),
                    Err(e) => self.spill_lost(&waiting.blocks, left, &e),
                }
            }
            return self.flush(true);
        }
        // Blocks that waited at the last flush wait on unless the links grew:
        // trying them again (and moving their readings) at every flush would
        // cost time in proportion to the readings held, per batch.
        let version = self.links_version();
        let retry = final_ || version != self.tried_version;
        let mut blocks = std::mem::take(&mut self.blocks);
        let first = if retry { 0 } else { self.tried_blocks };
        let mut any_ready = false;
        for block in blocks[first..].iter_mut() {
            if block.resolution.is_none() {
                block.resolution = self.resolve(block, final_);
            }
            any_ready |= block.resolution.is_some() && !self.held(block);
        }
        self.tried_version = version;
        // While none is ready the waiting readings stay where they are.
        if any_ready || blocks.is_empty() {
            let (ready, waiting): (Vec<Block>, Vec<Block>) = blocks
                .into_iter()
                .partition(|b| b.resolution.is_some() && !self.held(b));
            if !ready.is_empty() {
                let batch = self.build_batch(&ready);
                if batch.num_rows() > 0 {
                    (self.on_batch)(Table::Readings, batch);
                }
            }
            let ranges: Vec<Range<usize>> = waiting.iter().map(|b| b.rows.clone()).collect();
            let moved = self.raw.retain(&ranges);
            blocks = waiting
                .into_iter()
                .zip(moved)
                .map(|(mut b, rows)| {
                    b.rows = rows;
                    b
                })
                .collect();
        }
        self.blocks = blocks;
        self.tried_blocks = self.blocks.len();
        self.pending_rows = self.raw.len();
        self.entry_first_row = self.raw.len();
        if !final_ {
            self.spill_waiting(false);
        }
    }

    /// Whether `block` waits behind blocks of its meter reading in the
    /// temporary file of waiting blocks.
    fn held(&self, block: &Block) -> bool {
        self.waiting_spill
            .as_ref()
            .is_some_and(|w| w.meter_readings.contains(&block.meter_reading))
    }

    /// Move the waiting blocks and their readings to the temporary file of
    /// waiting blocks when they are too many (or some must follow blocks
    /// there), where the input cannot be read ahead; `all`: in any case.
    /// The rows of `raw` from `entry_first_row` on (an entry not converted
    /// yet) stay.
    fn spill_waiting(&mut self, all: bool) {
        if self.blocks.is_empty() || !self.may_spill_waiting() {
            return;
        }
        let held = self.blocks.iter().any(|b| self.held(b));
        if !(all || held || self.entry_first_row > self.options.wait_spill_rows) {
            return;
        }
        if self.waiting_spill_file().is_none() {
            return;
        }
        let blocks = std::mem::take(&mut self.blocks);
        let waiting = self.waiting_spill.as_mut().expect("made above");
        let mut kept: Vec<Block> = Vec::new();
        for mut block in blocks {
            let n = block.rows.len();
            if !kept.is_empty() || waiting.rows.append(&self.raw, block.rows.clone()).is_err() {
                // The file stops here: this block and the rest stay in memory.
                kept.push(block);
                continue;
            }
            block.rows = waiting.written..waiting.written + n;
            waiting.written += n;
            waiting.meter_readings.insert(block.meter_reading);
            waiting.blocks.push(block);
        }
        if !kept.is_empty() {
            self.waiting_spill_failed = true;
        }
        let tail = self.entry_first_row..self.raw.len();
        if kept.is_empty() && tail.is_empty() {
            self.raw.truncate(0);
            self.entry_first_row = 0;
        } else {
            let mut ranges: Vec<Range<usize>> = kept.iter().map(|b| b.rows.clone()).collect();
            ranges.push(tail);
            let moved = self.raw.retain(&ranges);
            for (block, rows) in kept.iter_mut().zip(&moved) {
                block.rows = rows.clone();
            }
            self.entry_first_row = moved.last().map_or(0, |r| r.start);
        }
        self.blocks = kept;
        self.tried_blocks = 0;
        self.pending_rows = self.entry_first_row;
    }

    /// Whether waiting readings may go to the temporary file of waiting
    /// blocks: the input is not read ahead, and no file failed.
    fn may_spill_waiting(&self) -> bool {
        self.global.is_none() && !self.metadata_pass && !self.waiting_spill_failed
    }

    /// The temporary file of waiting blocks, made if need be (`None` when it
    /// cannot be).
    fn waiting_spill_file(&mut self) -> Option<&mut WaitingSpill> {
        if self.waiting_spill.is_none() {
            match SpilledRows::new() {
                Ok(rows) => {
                    self.waiting_spill = Some(WaitingSpill {
                        blocks: Vec::new(),
                        rows,
                        written: 0,
                        meter_readings: Default::default(),
                    })
                }
                Err(_) => self.waiting_spill_failed = true,
            }
        }
        self.waiting_spill.as_mut()
    }

    /// Move the blocks of an entry parked in their own temporary file (a
    /// stream went on past them) to the file of waiting blocks, after the
    /// blocks waiting in memory; false when they must come back into memory.
    fn park_with_waiting(&mut self, blocks: &[Block], reader: &mut SpillReader) -> bool {
        if !self.may_spill_waiting() {
            return false;
        }
        self.spill_waiting(true);
        if !self.blocks.is_empty() || self.waiting_spill_failed {
            return false;
        }
        let batch = self.options.batch_size.max(1);
        let Some(waiting) = self.waiting_spill_file() else {
            return false;
        };
        let first = waiting.written;
        let mut rows = RawReadings::default();
        let mut moved = Ok(());
        while reader.left() > 0 && moved.is_ok() {
            rows.truncate(0);
            moved = reader
                .read_into(&mut rows, batch)
                .and_then(|n| waiting.rows.append(&rows, 0..n).map(|()| n))
                .map(|n| waiting.written += n);
        }
        if let Err(e) = moved {
            // Rows already moved are read back and left unused.
            let lost = blocks.iter().map(|b| b.rows.len()).sum();
            self.waiting_spill_failed = true;
            self.spill_lost(blocks, lost, &e);
            return true;
        }
        let waiting = self.waiting_spill.as_mut().expect("made above");
        for block in blocks {
            let mut block = block.clone();
            block.rows = first + block.rows.start..first + block.rows.end;
            waiting.meter_readings.insert(block.meter_reading);
            waiting.blocks.push(block);
        }
        true
    }

    /// The version of the links blocks are linked against.
    fn links_version(&self) -> u64 {
        self.global
            .as_ref()
            .map_or(self.links.version, |g| g.version)
    }

    /// Local time, accumulation and interval deltas of a batch's rows; a
    /// reading without its own `tou` takes its ReadingType's.
    fn derived_columns(
        &mut self,
        spans: &[Span],
        start: &[i64],
        duration: &[i64],
        value_raw: &[Option<i64>],
        value: &[Option<f64>],
        tou: &mut [Option<i32>],
    ) -> DerivedColumns {
        let n = start.len();
        let mut local_start = PrimitiveBuilder::<TimestampMicrosecondType>::with_capacity(n);
        let mut is_dst = BooleanBuilder::with_capacity(n);
        let mut accumulation = PrimitiveBuilder::<Int32Type>::with_capacity(n);
        let mut delta: Vec<Option<f64>> = Vec::with_capacity(n);
        let mut superseded = vec![false; n];
        for span in spans {
            let rows = span.rows.clone();
            if let (Some((key, delivery)), Some(c)) = (span.contested, &self.options.corrections) {
                if let Some(series) = c.superseded_in(self.links.keys.str(key)) {
                    for i in rows.clone() {
                        superseded[i] = series.is_superseded(start[i], delivery);
                    }
                }
            }
            match span.resolution.clock.map(|c| &mut self.clocks[c as usize]) {
                Some(clock) => {
                    for &s in &start[rows.clone()] {
                        let (local, dst) = clock.local_us(s);
                        local_start.append_value(local);
                        is_dst.append_value(dst);
                    }
                }
                None => {
                    local_start.append_nulls(rows.len());
                    is_dst.append_nulls(rows.len());
                }
            }
            let attrs = span.attrs;
            if let Some(t) = attrs
                .and_then(|a| a.tou)
                .and_then(|t| i32::try_from(t).ok())
            {
                for x in &mut tou[rows.clone()] {
                    x.get_or_insert(t);
                }
            }
            let code = attrs.and_then(|a| a.accumulation_behaviour);
            append_run(
                &mut accumulation,
                code.and_then(|c| i32::try_from(c).ok()),
                rows.len(),
            );
            match (attrs.is_some(), Accumulation::of(code)) {
                (true, Accumulation::Delta) => delta.extend_from_slice(&value[rows]),
                (true, Accumulation::Register) => {
                    let mr = span.resolution.meter_reading;
                    if !self.register_seeds.is_empty() {
                        self.seed_register(span.block_key, mr);
                    }
                    for i in rows {
                        let previous = self.registers.get(&mr).copied();
                        let d = match (previous, value_raw[i], span.exponent) {
                            (Some((end, before)), Some(now), Some(e)) if end == start[i] => {
                                now.checked_sub(before).and_then(|d| scale_exact(d, e))
                            }
                            _ => None,
                        };
                        delta.push(d);
                        match value_raw[i] {
                            Some(now) => {
                                let end =
                                    start[i].saturating_add(duration[i].saturating_mul(1_000_000));
                                self.registers.insert(mr, (end, now));
                            }
                            None => {
                                self.registers.remove(&mr);
                            }
                        }
                    }
                }
                _ => delta.extend(std::iter::repeat_n(None, rows.len())),
            }
        }
        DerivedColumns {
            superseded,
            local_start: Arc::new(local_start.finish()),
            is_dst: Arc::new(is_dst.finish()),
            accumulation_behaviour: Arc::new(accumulation.finish()),
            interval_delta: Arc::new(option_array::<Float64Type>(&delta)),
        }
    }

    /// A part meets register series `mr` (named `block_key` by its block):
    /// the first time, it goes on from where the parts before left it.
    fn seed_register(&mut self, block_key: u32, mr: u32) {
        if !self.registers_met.insert(mr) {
            return;
        }
        let Some(seed) = self.register_seeds.remove(self.links.keys.str(block_key)) else {
            return;
        };
        if seed.meter_reading == self.links.keys.str(mr) {
            self.registers.insert(mr, (seed.end_us, seed.raw));
        }
    }

    fn contested_delivery(&self, block: &Block) -> Option<(u32, Delivery)> {
        block.contested.then(|| {
            (
                block.meter_reading,
                Delivery::of(block.updated_us, self.options.input_index, block.offset),
            )
        })
    }

    fn build_batch(&mut self, blocks: &[Block]) -> RecordBatch {
        let rows: usize = blocks.iter().map(|b| b.rows.len()).sum();
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        scratch.reserve(rows);
        let BatchScratch {
            value_raw,
            value,
            quality,
            tou,
            flags,
        } = &mut scratch;
        // Columns written straight into their Arrow buffers (those the
        // derived columns read stay in the scratch columns above).
        let mut unit_keys = PrimitiveBuilder::<Int32Type>::with_capacity(rows);
        let mut multiplier = PrimitiveBuilder::<Int32Type>::with_capacity(rows);
        let mut uom = PrimitiveBuilder::<Int32Type>::with_capacity(rows);
        let mut flow = PrimitiveBuilder::<Int32Type>::with_capacity(rows);
        let mut cost_raw = PrimitiveBuilder::<Int64Type>::with_capacity(rows);
        let mut cost = PrimitiveBuilder::<Float64Type>::with_capacity(rows);
        let mut tier = PrimitiveBuilder::<Int32Type>::with_capacity(rows);
        let mut cpp = PrimitiveBuilder::<Int32Type>::with_capacity(rows);
        let mut updated = PrimitiveBuilder::<TimestampMicrosecondType>::with_capacity(rows);
        let mut up_keys = Vec::with_capacity(rows);
        let mut mr_keys = Vec::with_capacity(rows);
        let mut start = Vec::with_capacity(rows);
        let mut duration = Vec::with_capacity(rows);
        let mut qualities =
            ListBuilder::with_capacity(Int32Builder::new(), rows).with_field(Arc::new(
                arrow_schema::Field::new_list_field(arrow_schema::DataType::Int32, false),
            ));
        let mut derived = Vec::with_capacity(rows);
        let mut spans: Vec<Span> = Vec::with_capacity(blocks.len());
        let mut up_dict = LocalDict::default();
        let mut mr_dict = LocalDict::default();
        let mut units: Vec<String> = Vec::new();

        for block in blocks {
            let Some(res) = block.resolution else {
                continue;
            };
            let span_start = start.len();
            let up_key = up_dict.key(res.usage_point);
            let mr_key = mr_dict.key(res.meter_reading);
            let attrs = res.attrs.map(|i| self.attributes[i as usize]);
            let (exponent, unit_key) = match attrs {
                Some(a) => {
                    let (shift, symbol) = match a.uom {
                        Some(u) => {
                            let n = normalise(u);
                            let symbol = match n.symbol() {
                                Some(s) => s.to_owned(),
                                None => format!("uom:{u}"),
                            };
                            (n.exponent_shift, Some(symbol))
                        }
                        None => (0, None),
                    };
                    let key = symbol.map(|s| match units.iter().position(|u| *u == s) {
                        Some(k) => k as i32,
                        None => {
                            units.push(s);
                            (units.len() - 1) as i32
                        }
                    });
                    let exp = a.power_of_ten_multiplier.saturating_add(shift as i64);
                    let exp = if exp.abs() <= 300 {
                        Some(exp as i32)
                    } else {
                        None
                    };
                    (exp, key)
                }
                None => (None, None),
            };
            let r = block.rows.clone();
            let n = r.len();
            let complete = self.raw.start[r.clone()].iter().all(Option::is_some)
                && self.raw.duration[r.clone()].iter().all(Option::is_some);
            if complete {
                // Every reading has its timePeriod: whole-block column copies.
                let block_starts = self.raw.start[r.clone()].iter().map(|s| s.unwrap_or(0));
                let (mut first, mut last) = (i64::MAX, i64::MIN);
                for s in block_starts {
                    first = first.min(s);
                    last = last.max(s);
                    start.push(s);
                }
                duration.extend(self.raw.duration[r.clone()].iter().map(|d| d.unwrap_or(0)));
                let written = n as u64;
                let st = SeriesStats {
                    usage_point: res.usage_point,
                    readings: written,
                    first_start_us: first,
                    last_start_us: last,
                };
                add_series(&mut self.series, res.meter_reading, st);
                self.counts.readings_fractional_start += self.raw.fractional[r.clone()]
                    .iter()
                    .filter(|f| **f)
                    .count() as u64;
                if attrs.is_none() {
                    self.counts.readings_unlinked += written;
                }
                up_keys.extend(std::iter::repeat_n(up_key, n));
                mr_keys.extend(std::iter::repeat_n(mr_key, n));
                append_run(&mut unit_keys, unit_key, n);
                derived.extend(std::iter::repeat_n(false, n));
                append_run(&mut updated, block.updated_us, n);
                append_run(
                    &mut multiplier,
                    attrs.map(|a| a.power_of_ten_multiplier as i32),
                    n,
                );
                append_run(&mut uom, attrs.and_then(|a| a.uom).map(|u| u as i32), n);
                append_run(
                    &mut flow,
                    attrs.and_then(|a| a.flow_direction).map(|f| f as i32),
                    n,
                );
                let raw_values = &self.raw.value[r.clone()];
                value_raw.extend_from_slice(raw_values);
                match (exponent, attrs.is_some()) {
                    (Some(e), _) => {
                        for v in raw_values {
                            let x = v.and_then(|v| scale_exact(v, e));
                            if v.is_some() && x.is_none() {
                                self.counts.readings_unscaled += 1;
                            }
                            value.push(x);
                        }
                    }
                    (None, linked) => {
                        if linked {
                            self.counts.readings_unscaled +=
                                raw_values.iter().filter(|v| v.is_some()).count() as u64;
                        }
                        value.extend(std::iter::repeat_n(None, n));
                    }
                }
                for i in r.clone() {
                    push_quality(self.raw.qualities_of(i), flags, quality, &mut qualities);
                }
                tou.extend_from_slice(&self.raw.tou[r.clone()]);
                let costs = &self.raw.cost[r.clone()];
                append_options(&mut cost_raw, costs, Some);
                append_options(&mut cost, costs, cost_in_currency);
                append_options(&mut tier, &self.raw.tier[r.clone()], Some);
                append_options(&mut cpp, &self.raw.cpp[r], Some);
                self.next_start_after_batch = match (start.last(), duration.last()) {
                    (Some(&s), Some(&d)) => d.checked_mul(1_000_000).and_then(|d| s.checked_add(d)),
                    _ => None,
                };
            } else {
                let mut next_start = block.interval_start_us;
                let mut series = self.series.get(&res.meter_reading).copied();
                for i in block.rows.clone() {
                    let read_duration = self.raw.duration[i];
                    let dur = read_duration.or(attrs.and_then(|a| a.interval_length));
                    let Some(s) = self.raw.start[i].or(next_start) else {
                        self.counts.readings_rejected += 1;
                        self.rejections.push(Rejection {
                            source: self.source.clone(),
                            entry_index: Some(block.entry_index),
                            entry_id: block.entry_id.clone(),
                            offset: block.offset,
                            line: None,
                            column: None,
                            element: "IntervalBlock/IntervalReading".into(),
                            reason: "reading without timePeriod/start, and no block start or previous reading to derive it from".into(),
                            readings: 1,
                        });
                        next_start = None;
                        continue;
                    };
                    let was_derived = self.raw.start[i].is_none() || read_duration.is_none();
                    next_start = dur
                        .and_then(|d| d.checked_mul(1_000_000))
                        .and_then(|d| s.checked_add(d));
                    if was_derived {
                        self.counts.readings_time_derived += 1;
                    }
                    if attrs.is_none() {
                        self.counts.readings_unlinked += 1;
                    }
                    if self.raw.fractional[i] {
                        self.counts.readings_fractional_start += 1;
                    }
                    let one = SeriesStats {
                        usage_point: res.usage_point,
                        readings: 1,
                        first_start_us: s,
                        last_start_us: s,
                    };
                    match series.as_mut() {
                        Some(st) => st.add(&one),
                        None => series = Some(one),
                    }
                    up_keys.push(up_key);
                    mr_keys.push(mr_key);
                    unit_keys.append_option(unit_key);
                    start.push(s);
                    duration.push(dur.unwrap_or(0));
                    derived.push(was_derived);
                    let raw_value = self.raw.value[i];
                    value_raw.push(raw_value);
                    multiplier.append_option(attrs.map(|a| a.power_of_ten_multiplier as i32));
                    uom.append_option(attrs.and_then(|a| a.uom).map(|u| u as i32));
                    flow.append_option(attrs.and_then(|a| a.flow_direction).map(|f| f as i32));
                    let scaled = match (raw_value, exponent) {
                        (Some(v), Some(e)) => {
                            let x = scale_exact(v, e);
                            if x.is_none() {
                                self.counts.readings_unscaled += 1;
                            }
                            x
                        }
                        (Some(_), None) if attrs.is_some() => {
                            self.counts.readings_unscaled += 1;
                            None
                        }
                        _ => None,
                    };
                    value.push(scaled);
                    push_quality(self.raw.qualities_of(i), flags, quality, &mut qualities);
                    tou.push(self.raw.tou[i]);
                    let c = self.raw.cost[i];
                    cost_raw.append_option(c);
                    cost.append_option(c.and_then(cost_in_currency));
                    tier.append_option(self.raw.tier[i]);
                    cpp.append_option(self.raw.cpp[i]);
                    updated.append_option(block.updated_us);
                }
                if let Some(st) = series {
                    self.series.insert(res.meter_reading, st);
                }
                self.next_start_after_batch = next_start;
            }
            spans.push(Span {
                rows: span_start..start.len(),
                block_key: block.meter_reading,
                resolution: res,
                attrs,
                exponent,
                contested: self.contested_delivery(block),
            });
        }
        let n = start.len();
        let derived_columns =
            self.derived_columns(&spans, &start, &duration, value_raw, value, tou);
        self.counts.readings_written += n as u64;
        let unit_values = StringArray::from_iter_values(units.iter());
        let unit_array =
            DictionaryArray::<Int32Type>::new(unit_keys.finish(), Arc::new(unit_values));
        let source_values = StringArray::from_iter_values([self.source.as_str()]);
        let source_array = DictionaryArray::<Int32Type>::new(
            Int32Array::from(vec![0; n]),
            Arc::new(source_values),
        );
        let columns: Vec<ArrayRef> = vec![
            up_dict.array(up_keys, &self.links.keys),
            mr_dict.array(mr_keys, &self.links.keys),
            Arc::new(TimestampMicrosecondArray::from(start).with_timezone("UTC")),
            derived_columns.local_start,
            derived_columns.is_dst,
            Arc::new(Int64Array::from(duration)),
            Arc::new(option_array::<Int64Type>(value_raw)),
            Arc::new(multiplier.finish()),
            Arc::new(uom.finish()),
            Arc::new(unit_array),
            Arc::new(option_array::<Float64Type>(value)),
            derived_columns.accumulation_behaviour,
            derived_columns.interval_delta,
            Arc::new(flow.finish()),
            quality_names(quality),
            Arc::new(option_array::<Int32Type>(quality)),
            Arc::new(qualities.finish()),
            Arc::new(booleans(flags.len(), |i| flags[i].estimated())),
            Arc::new(booleans(flags.len(), |i| flags[i].edited())),
            Arc::new(booleans(flags.len(), |i| flags[i].validated())),
            Arc::new(booleans(flags.len(), |i| flags[i].raw())),
            tou_names(tou, &self.options.tou_names),
            Arc::new(option_array::<Int32Type>(tou)),
            Arc::new(cost_raw.finish()),
            Arc::new(cost.finish()),
            Arc::new(tier.finish()),
            Arc::new(cpp.finish()),
            Arc::new(booleans(derived.len(), |i| derived[i])),
            Arc::new(booleans(n, |i| derived_columns.superseded[i])),
            Arc::new(updated.finish().with_timezone("UTC")),
            Arc::new(source_array),
        ];
        self.scratch = scratch;
        let batch = RecordBatch::try_new(readings_schema(), columns)
            .expect("readings columns match the readings schema");
        let superseded = derived_columns.superseded.iter().filter(|s| **s).count() as u64;
        self.counts.readings_superseded += superseded;
        if superseded == 0 || !self.options.latest_only {
            return batch;
        }
        self.counts.readings_superseded_dropped += superseded;
        self.counts.readings_written -= superseded;
        let keep = booleans(n, |i| !derived_columns.superseded[i]);
        arrow_select::filter::filter_record_batch(&batch, &keep)
            .expect("a filter of the batch's own length")
    }
}

/// Append `n` copies of `value` (or `n` nulls).
#[inline]
fn append_run<T: ArrowPrimitiveType>(
    column: &mut PrimitiveBuilder<T>,
    value: Option<T::Native>,
    n: usize,
) {
    match value {
        Some(v) => column.append_value_n(v, n),
        None => column.append_nulls(n),
    }
}

/// Append `map` of each value of `values` (null where a value is missing
/// or `map` gives none); a run with no value at all is appended as nulls
/// in one go.
#[inline]
fn append_options<S: Copy, T: ArrowPrimitiveType>(
    column: &mut PrimitiveBuilder<T>,
    values: &[Option<S>],
    map: impl Fn(S) -> Option<T::Native>,
) {
    if values.iter().all(Option::is_none) {
        column.append_nulls(values.len());
    } else {
        for v in values {
            column.append_option(v.and_then(&map));
        }
    }
}

/// An Arrow array of optional values, built in two straight passes (values,
/// then validity only when some are missing); a column with no value at all
/// is an all-null array whose values are never written.
fn option_array<T: ArrowPrimitiveType>(values: &[Option<T::Native>]) -> PrimitiveArray<T> {
    let missing = values.iter().filter(|v| v.is_none()).count();
    if missing == values.len() {
        return PrimitiveArray::new_null(values.len());
    }
    let data: ScalarBuffer<T::Native> = values.iter().map(|v| v.unwrap_or_default()).collect();
    let nulls = (missing > 0).then(|| validity(values));
    PrimitiveArray::new(data, nulls)
}

/// A boolean column with no nulls: `value(i)` of each row, packed 64 rows
/// at a time.
fn booleans(len: usize, value: impl FnMut(usize) -> bool) -> BooleanArray {
    BooleanArray::new(BooleanBuffer::collect_bool(len, value), None)
}

/// The validity of optional values, packed 64 rows at a time.
fn validity<T>(values: &[Option<T>]) -> NullBuffer {
    NullBuffer::new(BooleanBuffer::collect_bool(values.len(), |i| {
        values[i].is_some()
    }))
}

/// The per-row buffers of a readings batch that are copied into Arrow
/// arrays: kept by the converter and reused, so building a batch does not
/// allocate (and fault in) them again.
#[derive(Default)]
struct BatchScratch {
    value_raw: Vec<Option<i64>>,
    value: Vec<Option<f64>>,
    quality: Vec<Option<i32>>,
    tou: Vec<Option<i32>>,
    flags: Vec<QualityFlags>,
}

impl BatchScratch {
    fn clear(&mut self) {
        let BatchScratch {
            value_raw,
            value,
            quality,
            tou,
            flags,
        } = self;
        value_raw.clear();
        value.clear();
        quality.clear();
        tou.clear();
        flags.clear();
    }

    fn reserve(&mut self, rows: usize) {
        self.value_raw.reserve(rows);
        self.value.reserve(rows);
        self.quality.reserve(rows);
        self.tou.reserve(rows);
        self.flags.reserve(rows);
    }
}

/// Starts from 1e11 seconds on (year 5138) are taken to be milliseconds, as
/// some systems write them (1440109957976 is 2015-08-20T22:32:37.976Z).
pub(crate) const MILLISECONDS_FROM_US: i64 = 100_000_000_000 * 1_000_000;

/// Is a start, read as seconds and given in microseconds, in fact in milliseconds?
#[inline]
pub(crate) fn is_milliseconds(start_us: i64) -> bool {
    start_us.unsigned_abs() >= MILLISECONDS_FROM_US as u64
}

/// A start read as seconds (in microseconds), in microseconds once a start in
/// milliseconds is recognised.
#[inline]
pub(crate) fn normalised_start_us(start_us: i64) -> i64 {
    if is_milliseconds(start_us) {
        start_us.div_euclid(1000)
    } else {
        start_us
    }
}

/// An IntervalBlock's `interval/start`, read as its readings' starts are.
pub(crate) fn interval_start_us(block: &Resource) -> Option<i64> {
    block
        .field("interval/start")
        .and_then(|s| parse_seconds_to_micros(s.as_bytes()).ok())
        .map(|(us, _)| normalised_start_us(us))
}

/// The MeterReading key an IntervalBlock entry names: from its `up` href
/// (`.../MeterReading/{id}/IntervalBlock`), else its `self` href.
pub(crate) fn block_meter_reading_key(entry: &Entry) -> &str {
    entry
        .up_href
        .as_deref()
        .or(entry.self_href.as_deref())
        .map_or("", |h| meter_reading_key_of_block(normalise_href(h)))
}

/// The rows of one block within a batch being built.
struct Span {
    rows: Range<usize>,
    /// The meter reading key the block names.
    block_key: u32,
    resolution: Resolution,
    attrs: Option<ReadingAttributes>,
    /// Decimal exponent from the raw value to `value` (multiplier and unit).
    exponent: Option<i32>,
    /// For a contested block: its key and delivery.
    contested: Option<(u32, Delivery)>,
}

/// Columns computed from the others once a batch's rows are in place.
struct DerivedColumns {
    local_start: ArrayRef,
    is_dst: ArrayRef,
    superseded: Vec<bool>,
    accumulation_behaviour: ArrayRef,
    interval_delta: ArrayRef,
}

/// How a series accumulates, from its ReadingType's `accumulationBehaviour`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Accumulation {
    /// Each value is the quantity of its interval (deltaData, or not given).
    Delta,
    /// A register: each value is a running total (bulkQuantity,
    /// continuousCumulative, cumulative, summation); the interval quantity is
    /// the difference from the previous contiguous reading.
    Register,
    /// Values that are not quantities over the interval (instantaneous,
    /// indicating, ...): no interval delta.
    Other,
}

impl Accumulation {
    fn of(code: Option<i64>) -> Accumulation {
        match code {
            None | Some(4) => Accumulation::Delta,
            Some(1 | 2 | 3 | 9) => Accumulation::Register,
            Some(_) => Accumulation::Other,
        }
    }
}

/// A reading's quality columns: flags, first code, every code.
fn push_quality(
    codes: &[i32],
    flags: &mut Vec<QualityFlags>,
    first: &mut Vec<Option<i32>>,
    all: &mut ListBuilder<Int32Builder>,
) {
    flags.push(QualityFlags::of(codes));
    first.push(codes.first().copied());
    if codes.is_empty() {
        all.append(false);
    } else {
        all.values().append_slice(codes);
        all.append(true);
    }
}

/// `quality_name`: the name of each row's first quality code.
fn quality_names(quality: &[Option<i32>]) -> ArrayRef {
    /// Dictionary key of each code below 64 (-1: no name), and the names.
    static NAMES: std::sync::OnceLock<([i32; 64], ArrayRef)> = std::sync::OnceLock::new();
    let (key_of_code, values) = NAMES.get_or_init(|| {
        let mut keys = [-1; 64];
        let mut names = Vec::new();
        for code in 0..64 {
            if let Some(name) = quality_name(code.into()) {
                keys[code as usize] = names.len() as i32;
                names.push(name);
            }
        }
        let values: ArrayRef = Arc::new(StringArray::from_iter_values(names));
        (keys, values)
    });
    let keys = dictionary_keys(quality, |q| {
        let key = *key_of_code.get(usize::try_from(q).ok()?)?;
        (key >= 0).then_some(key)
    });
    Arc::new(DictionaryArray::<Int32Type>::new(keys, values.clone()))
}

/// `tou_name`: the name of each row's TOU code.
fn tou_names(tou: &[Option<i32>], names: &TouNames) -> ArrayRef {
    let mut codes: Vec<i32> = Vec::new();
    let keys = dictionary_keys(tou, |t| {
        Some(match codes.iter().position(|&c| c == t) {
            Some(k) => k as i32,
            None => {
                codes.push(t);
                (codes.len() - 1) as i32
            }
        })
    });
    let values = StringArray::from_iter_values(codes.iter().map(|&c| names.name(c.into())));
    Arc::new(DictionaryArray::<Int32Type>::new(keys, Arc::new(values)))
}

/// Dictionary keys of optional codes (`key` of each code, null where there
/// is no code or no key), in straight passes as [`option_array`].
fn dictionary_keys(codes: &[Option<i32>], mut key: impl FnMut(i32) -> Option<i32>) -> Int32Array {
    let mut keys: Vec<i32> = codes
        .iter()
        .map(|c| c.and_then(&mut key).unwrap_or(-1))
        .collect();
    if !keys.contains(&-1) {
        return Int32Array::new(keys.into(), None);
    }
    let nulls = NullBuffer::new(BooleanBuffer::collect_bool(keys.len(), |i| keys[i] >= 0));
    for k in &mut keys {
        *k = (*k).max(0);
    }
    Int32Array::new(keys.into(), Some(nulls))
}

impl<F: FnMut(Table, RecordBatch)> Sink for Converter<F> {
    #[inline]
    fn reading(&mut self, reading: &Reading) {
        if self.metadata_pass && self.reading_block.is_none() {
            // A first pass gave up a block too large to hold.
            return;
        }
        if self.raw.start.capacity() == 0 {
            // A batch and the entry that completes it, at once.
            self.raw
                .reserve(self.options.batch_size + self.options.batch_size / 4);
        }
        if reading.start_us.is_some_and(is_milliseconds) {
            self.counts.readings_millisecond_start += 1;
            let mut r = reading.clone();
            r.start_us = r.start_us.map(normalised_start_us);
            // A duration written in milliseconds too (900000 for 15 minutes).
            r.duration_s = r.duration_s.map(|d| {
                if d >= 60_000 && d % 1000 == 0 {
                    d / 1000
                } else {
                    d
                }
            });
            self.raw.push(&r);
        } else {
            self.raw.push(reading);
        }
        if self.raw.len() - self.entry_first_row >= self.options.spill_rows {
            self.entry_too_large();
        }
    }

    fn entry(&mut self, entry: Entry, resources: Vec<Resource>) {
        if self.metadata_pass {
            self.metadata_entry(entry, resources);
            return;
        }
        self.convert_entry(entry, resources);
    }

    fn stop(&self) -> bool {
        self.options.watch_repeats == RepeatWatch::StopAtFirst
            && self
                .block_intervals
                .as_ref()
                .is_some_and(BlockIntervals::repeats)
    }

    fn reads_block(&mut self, entry: &Entry) -> bool {
        if !self.metadata_pass || !self.owning_blocks || self.last_end.is_none() {
            return false;
        }
        let key = self.links.keys.id(block_meter_reading_key(entry));
        let linked = self.first_pass_resolution(key).is_some();
        self.reading_block = linked.then_some(key);
        linked
    }

    fn wants_look_ahead(&self) -> bool {
        !self.looked_ahead
            && self.global.is_none()
            && (self.pending_rows > self.options.look_ahead_rows || self.parked.is_some())
    }

    fn look_ahead(&mut self, document: &[u8], from: usize, next_entry_index: u64) {
        self.looked_ahead = true;
        let Some(layout) = FeedLayout::of(document) else {
            return;
        };
        // Malformed XML further on: the readings keep waiting, and the
        // error is reported when the parse reaches it.
        let Ok((mut rest, _)) = read_links(document, &layout, from..document.len(), true) else {
            return;
        };
        rest.shift_entry_indices(next_entry_index);
        let mut links = std::mem::take(&mut self.links);
        // The identities interned so far keep their ids (the merged links
        // are looked up by text).
        self.links.keys = links.keys.clone();
        // The rest is merged after the entries read so far, so which
        // ReadingType definitions are accepted stays as one pass decides.
        let _defined_before = links.merge(rest);
        self.global = Some(Arc::new(links));
        self.flush(false);
        if let Some((blocks, reader)) = self.parked.take() {
            // Linked now: `flush` links each piece against all the metadata.
            self.stream_spilled(blocks, reader, false);
        }
    }

    fn entry_rejected(&mut self, error: &ParseError, readings: u64) {
        self.unpark();
        self.spill = None;
        self.spill_failed = false;
        if self.metadata_pass {
            // Read again, and reported, by the second pass (which then
            // reads the entry after it too: where this one ended is not
            // known).
            self.last_end = None;
            self.reading_block = None;
            self.drop_entry_readings();
            return;
        }
        self.counts.entries += 1;
        self.counts.entries_rejected += 1;
        self.counts.readings_read += readings;
        self.counts.readings_rejected += readings;
        self.raw.truncate(self.entry_first_row);
        let rejection = self.rejection(error, readings);
        self.rejections.push(rejection);
    }
}

/// Whether the series of the blocks naming meter reading `key` may be a
/// register (a meter reading named another way is decided by its blocks).
pub(crate) fn may_be_register(links: &Links, key: &str) -> bool {
    links.linked_by_key(key).is_none_or(|(attrs, _)| {
        attrs.is_some_and(|a| Accumulation::of(a.accumulation_behaviour) == Accumulation::Register)
    })
}

/// Where the register series of the IntervalBlock entry at `range` of
/// `input` stands after it, linked with `links`: none when it leaves no
/// state (its last reading has no value, or the series is not a register).
/// An error when the entry does not convert whole: what the series had
/// before it would be needed.
pub(crate) fn register_state_after(
    source: &str,
    input: &[u8],
    layout: &FeedLayout,
    range: Range<usize>,
    links: Arc<Links>,
    options: &ConvertOptions,
    parse_options: &ParseOptions,
) -> Result<Option<RegisterSeed>, ()> {
    let mut converter = Converter::with_links(source, options.clone(), links, |_, _| {});
    let parsed = parse_part(input, layout, range, 0, parse_options, &mut converter);
    if parsed.is_err() || converter.counts.entries_rejected > 0 {
        return Err(());
    }
    converter.flush(true);
    if converter.registers.len() > 1 {
        return Err(());
    }
    Ok(converter
        .registers
        .iter()
        .next()
        .map(|(&mr, &(end_us, raw))| RegisterSeed {
            meter_reading: converter.links.keys.str(mr).to_owned(),
            end_us,
            raw,
        }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(from: i64, rows: usize) -> RecordBatch {
        let values = Int64Array::from_iter_values(from..from + rows as i64);
        RecordBatch::try_from_iter([("n", Arc::new(values) as ArrayRef)]).unwrap()
    }

    fn numbers(batches: &[RecordBatch]) -> Vec<i64> {
        batches
            .iter()
            .flat_map(|b| {
                let c = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                c.values().to_vec()
            })
            .collect()
    }

    #[test]
    fn joiner_hands_on_full_batches_then_the_rest_in_order() {
        let mut out = Vec::new();
        let mut joiner = Joiner {
            table: Table::Entries,
            pieces: Vec::new(),
        };
        let mut next = 0;
        for rows in [300, TABLE_BATCH_ROWS, 257, TABLE_BATCH_ROWS * 2, 5] {
            joiner.pieces.push(piece(next, rows));
            next += rows as i64;
            joiner.join(&mut |_, b| out.push(b), false);
        }
        joiner.join(&mut |_, b| out.push(b), true);
        let sizes: Vec<usize> = out.iter().map(RecordBatch::num_rows).collect();
        let total = 300 + TABLE_BATCH_ROWS * 3 + 257 + 5;
        assert!(sizes[..sizes.len() - 1]
            .iter()
            .all(|&n| n == TABLE_BATCH_ROWS));
        assert_eq!(sizes.iter().sum::<usize>(), total);
        assert_eq!(numbers(&out), (0..total as i64).collect::<Vec<_>>());
        assert!(joiner.pieces.is_empty() && joiner.rows() == 0);
    }

    #[test]
    fn pieces_that_cannot_be_joined_go_on_as_they_are() {
        let mut out = Vec::new();
        let other =
            RecordBatch::try_from_iter([("m", Arc::new(Int32Array::from(vec![7, 8])) as ArrayRef)])
                .unwrap();
        let mut joiner = Joiner {
            table: Table::Entries,
            pieces: vec![piece(0, 3), other.clone(), piece(3, 2)],
        };
        joiner.join(&mut |_, b| out.push(b), true);
        assert_eq!(out.len(), 3);
        assert_eq!(out[1], other);
        assert_eq!(
            numbers(&[out[0].clone(), out[2].clone()]),
            vec![0, 1, 2, 3, 4]
        );
        assert!(joiner.pieces.is_empty() && joiner.rows() == 0);
    }
}
