//! The small tables (usage points, meter readings, reading types, every
//! other entry) and the compact links that tie IntervalBlocks to their
//! MeterReading and ReadingType.
//!
//! Table rows are not kept: they are built into Arrow columns
//! [`BUILD_ROWS`] rows at a time, joined into batches of
//! [`TABLE_BATCH_ROWS`] rows and handed on as the input streams past, so
//! memory does not grow with the number of customers in a feed. Only the
//! links (a few hundred bytes per MeterReading and ReadingType) are kept.

use ahash::{AHashMap as HashMap, AHashSet as HashSet};

use crate::dense::DenseMap;
use std::borrow::Borrow;
use std::fmt::Write as _;
use std::hash::Hash;
use std::ops::Range;
use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{
    ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
    UInt64Array,
};
use arrow_schema::{DataType, Field, Schema};
use espi_core::{parse_part, FeedLayout, ParseError, ParseOptions, Reading, Sink};
use espi_model::codes;
use espi_model::links::{
    meter_reading_key_of_block, normalise_href, usage_point_key_of_meter_reading,
};
use espi_model::local_time::LocalTimeParameters;
use espi_model::numbers::{parse_i64, parse_rfc3339_micros};
use espi_model::resource::{Entry, Namespace, ReadingAttributes, Resource, READING_TYPE_FIELDS};
use espi_model::text::trim;
use espi_model::units::normalise;

use crate::converter::SeriesStats;
use crate::keys::Keys;
use crate::resources::ResourceTable;
use crate::schema::timestamp_utc;
use crate::segmented::Segmented;
use crate::state_memory::{StateMap, StateSet};

/// Rows per batch of the small tables.
pub const TABLE_BATCH_ROWS: usize = 4096;

/// Rows of a small table turned into columns at a time. The rows' entries
/// are still in the CPU caches when the columns are built a few hundred
/// rows at a time (each column is one pass over the rows); the converter
/// joins these pieces into batches of [`TABLE_BATCH_ROWS`].
pub(crate) const BUILD_ROWS: usize = 256;

/// Warnings kept in full; more are only counted.
const WARNINGS_KEPT: usize = 1000;

/// The tables a conversion writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// One row per IntervalReading.
    Readings,
    /// One row per UsagePoint.
    UsagePoints,
    /// One row per MeterReading, with its reading count and date span.
    MeterReadings,
    /// One row per accepted ReadingType definition, every field.
    ReadingTypes,
    /// One row per resource other than IntervalBlock, fields as JSON.
    Entries,
    /// The typed tables of the other resources (usage summaries, customer
    /// data, ...).
    Resource(ResourceTable),
}

impl Table {
    /// Every table.
    pub const ALL: [Table; 20] = [
        Table::Readings,
        Table::UsagePoints,
        Table::MeterReadings,
        Table::ReadingTypes,
        Table::Entries,
        Table::Resource(ResourceTable::IntervalBlocks),
        Table::Resource(ResourceTable::UsageSummaries),
        Table::Resource(ResourceTable::UsageSummaryLineItems),
        Table::Resource(ResourceTable::PowerQualitySummaries),
        Table::Resource(ResourceTable::LocalTimeParameters),
        Table::Resource(ResourceTable::Customers),
        Table::Resource(ResourceTable::CustomerAccounts),
        Table::Resource(ResourceTable::CustomerAgreements),
        Table::Resource(ResourceTable::ServiceLocations),
        Table::Resource(ResourceTable::Meters),
        Table::Resource(ResourceTable::ProgramEnrollments),
        Table::Resource(ResourceTable::ApplicationInformation),
        Table::Resource(ResourceTable::Authorizations),
        Table::Resource(ResourceTable::Subscriptions),
        Table::Resource(ResourceTable::BatchLists),
    ];

    /// The table's name (its folder under the output).
    pub fn name(self) -> &'static str {
        match self {
            Table::Readings => "readings",
            Table::UsagePoints => "usage_points",
            Table::MeterReadings => "meter_readings",
            Table::ReadingTypes => "reading_types",
            Table::Entries => "entries",
            Table::Resource(t) => t.name(),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct MeterReadingLink {
    /// Position among the MeterReadings of the input (table order).
    order: u32,
    /// `Links::related[related_start..related_start + related_len]`: the
    /// keys of the normalised related hrefs other than IntervalBlock ones
    /// (the ReadingType is among them).
    related_start: u32,
    related_len: u32,
    entry_index: u64,
    updated_us: Updated,
}

impl MeterReadingLink {
    /// Does `self` replace `current`: a strictly later Atom `updated`.
    fn replaces(&self, current: &MeterReadingLink) -> bool {
        later(self.updated_us.get(), current.updated_us.get())
    }
}

/// An entry's Atom `updated` in microseconds, if it has one readable, in
/// eight bytes instead of an `Option`'s sixteen: a link is kept for every
/// MeterReading and ReadingType of an input, hundreds of thousands in a
/// daily Bulk feed.
#[derive(Debug, Clone, Copy)]
struct Updated(i64);

impl Updated {
    /// The value kept for none (a time 292,000 years before the epoch).
    const NONE: i64 = i64::MIN;

    fn of(entry: &Entry) -> Updated {
        let us = entry.updated.as_deref().and_then(parse_rfc3339_micros);
        Updated(us.unwrap_or(Self::NONE))
    }

    fn get(self) -> Option<i64> {
        (self.0 != Self::NONE).then_some(self.0)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct ReadingTypeLink {
    /// Index in `Links::attributes`.
    attrs: u32,
    updated_us: Updated,
    fields_hash: u64,
    /// The entry of this definition (the last accepted one).
    entry_index: u64,
    /// Entries of earlier accepted definitions with the same key, in
    /// document order (nearly always none). Boxed: a thin pointer takes 8
    /// bytes where a `Vec` takes 24 and a boxed slice 16.
    #[allow(clippy::box_collection)]
    accepted_before: Option<Box<Vec<u64>>>,
}

impl ReadingTypeLink {
    fn accepted(&self, entry_index: u64) -> bool {
        self.entry_index == entry_index
            || self
                .accepted_before
                .as_deref()
                .is_some_and(|before| before.contains(&entry_index))
    }
}

/// A problem found in metadata, about entry `entry` (and an earlier one).
#[derive(Debug, Clone)]
pub(crate) struct Warning {
    entry: u64,
    first: Option<u64>,
    message: String,
}

/// Warnings, the first [`WARNINGS_KEPT`] in full.
#[derive(Debug, Clone, Default)]
pub(crate) struct Warnings {
    kept: Vec<Warning>,
    dropped: u64,
}

impl Warnings {
    fn push(&mut self, entry: u64, first: Option<u64>, message: String) {
        if self.kept.len() < WARNINGS_KEPT {
            self.kept.push(Warning {
                entry,
                first,
                message,
            });
        } else {
            self.dropped += 1;
        }
    }

    fn shift(&mut self, by: u64) {
        for w in self.kept.iter_mut() {
            w.entry += by;
            if let Some(f) = w.first.as_mut() {
                *f += by;
            }
        }
    }

    /// Both lists of warnings as lines, in entry order (with a count of those
    /// not kept).
    pub(crate) fn lines(&self, other: &Warnings, source: &str) -> Vec<String> {
        let mut kept: Vec<&Warning> = self.kept.iter().chain(&other.kept).collect();
        kept.sort_by_key(|w| w.entry);
        let mut out: Vec<String> = kept
            .into_iter()
            .map(|w| {
                let first = w
                    .first
                    .map(|f| format!(" (first at entry #{f})"))
                    .unwrap_or_default();
                format!("{source}: entry #{}: {}{first}", w.entry, w.message)
            })
            .collect();
        let dropped = self.dropped + other.dropped;
        if dropped > 0 {
            out.push(format!("{source}: ... and {dropped} more warnings"));
        }
        out
    }
}

/// Gathers the links of the entries it is given (IntervalBlock readings are
/// not needed).
#[derive(Default)]
struct LinkCollector {
    links: Links,
}

impl Sink for LinkCollector {
    fn reading(&mut self, _: &Reading) {}
    fn entry(&mut self, entry: Entry, resources: Vec<Resource>) {
        self.links.add_entry(&entry, &resources);
    }
    fn entry_rejected(&mut self, _: &ParseError, _: u64) {}
}

/// The links of the entries in `range` of a feed (cut at entry boundaries,
/// see [`FeedLayout::split`]), read with the readings of IntervalBlocks
/// skipped and bad entries left out, and the number of entries in the range.
/// Entries are numbered from 0 at the start of the range (see
/// [`Links::shift_entry_indices`]), and every ReadingType definition is
/// recorded so that the links merge exactly as one pass would read them.
pub(crate) fn read_links(
    input: &[u8],
    layout: &FeedLayout,
    range: Range<usize>,
    fast_readings: bool,
) -> Result<(Links, u64), Box<ParseError>> {
    let options = ParseOptions {
        skip_bad_entries: true,
        fast_readings,
        skip_interval_blocks: true,
        blocks_only: false,
    };
    let mut collector = LinkCollector::default();
    collector.links.record_definitions = true;
    let stats = parse_part(input, layout, range, 0, &options, &mut collector)?;
    Ok((collector.links, stats.entries))
}

/// The links of one input: what resolving IntervalBlocks needs.
///
/// Hrefs are interned in [`Keys`] and everything else is held by key id, so
/// a MeterReading with its ReadingType costs a few hundred bytes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Links {
    /// Every href named here (and the identities the converter interns).
    pub(crate) keys: Keys,
    meter_readings: DenseMap<MeterReadingLink>,
    meter_reading_count: u32,
    /// Related hrefs of the MeterReadings (see [`MeterReadingLink`]).
    related: Segmented<u32>,
    /// IntervalBlock href -> MeterReading key, for blocks listed as related
    /// by a MeterReading but not under its href.
    by_related: StateMap<u32, u32>,
    reading_types: DenseMap<ReadingTypeLink>,
    /// The distinct attributes of the ReadingTypes (few: many ReadingTypes
    /// share them).
    attributes: Vec<ReadingAttributes>,
    attribute_ids: HashMap<ReadingAttributes, u32>,
    /// Every ReadingType definition in document order, kept (when
    /// `record_definitions`) so that parts read separately merge exactly as
    /// one pass would have read them.
    definitions: Vec<(u32, ReadingTypeLink)>,
    pub(crate) record_definitions: bool,
    usage_points: StateSet<u32>,
    /// LocalTimeParameters by key.
    local_times: HashMap<u32, LocalTimeParameters>,
    /// Usage point -> the LocalTimeParameters it links (`related`).
    usage_point_local_time: StateMap<u32, u32>,
    pub(crate) warnings: Warnings,
    /// Warnings about ReadingType definitions (replayed, not merged).
    reading_type_warnings: Warnings,
    /// Grows whenever an entry adds metadata: blocks that could not be
    /// linked are tried again only when it has grown.
    pub(crate) version: u64,
}

fn fields_hash(r: &Resource) -> u64 {
    // Fixed seeds: the same fields hash the same in every part and run.
    ahash::RandomState::with_seeds(1, 2, 3, 4).hash_one(&r.fields)
}

fn self_key(entry: &Entry) -> Option<&str> {
    entry.self_href.as_deref().map(normalise_href)
}

impl Links {
    /// Take in one entry's resources (IntervalBlocks are ignored).
    pub(crate) fn add_entry(&mut self, entry: &Entry, resources: &[Resource]) {
        for resource in resources {
            if !resource.is("IntervalBlock") {
                self.version += 1;
            }
            match (resource.name.as_str(), self_key(entry)) {
                ("MeterReading", Some(key)) => {
                    let key = self.keys.id(key);
                    self.add_meter_reading(entry, key)
                }
                ("ReadingType", Some(key)) => {
                    let key = self.keys.id(key);
                    self.add_reading_type(entry, resource, key)
                }
                ("UsagePoint", key) => {
                    let key = self.keys.id(key.unwrap_or_default());
                    self.usage_points.insert(key);
                    let local_time = entry
                        .related_hrefs
                        .iter()
                        .map(|h| normalise_href(h))
                        .find(|h| h.contains("LocalTimeParameters"));
                    if let Some(href) = local_time {
                        let href = self.keys.id(href);
                        self.usage_point_local_time.insert(key, href);
                    }
                }
                ("LocalTimeParameters", key) => {
                    let key = self.keys.id(key.unwrap_or_default());
                    self.add_local_time(entry, resource, key);
                }
                _ => {}
            }
        }
    }

    fn add_meter_reading(&mut self, entry: &Entry, key: u32) {
        let related_start = self.related.len() as u32;
        for href in &entry.related_hrefs {
            let href = normalise_href(href);
            if href.contains("IntervalBlock") {
                // A block's MeterReading is found from the block's own hrefs
                // when they follow the .../MeterReading/{id}/IntervalBlock
                // layout; other listed blocks are remembered here.
                if meter_reading_key_of_block(href) != self.keys.str(key) {
                    let block = self.keys.id(href);
                    self.by_related.entry(block).or_insert(key);
                }
            } else {
                let href = self.keys.id(href);
                self.related.push(href);
            }
        }
        let link = MeterReadingLink {
            order: 0,
            related_start,
            related_len: self.related.len() as u32 - related_start,
            entry_index: entry.index,
            updated_us: Updated::of(entry),
        };
        self.insert_meter_reading(key, link);
    }

    /// The first MeterReading with a key stands unless a later one has a
    /// strictly later `updated`.
    fn insert_meter_reading(&mut self, key: u32, mut link: MeterReadingLink) {
        match self.meter_readings.get(&key) {
            Some(existing) if !link.replaces(existing) => {
                self.warnings.push(
                    link.entry_index,
                    Some(existing.entry_index),
                    format!(
                        "repeats MeterReading {}; the first is kept",
                        self.keys.str(key)
                    ),
                );
                return;
            }
            Some(existing) => link.order = existing.order,
            None => {
                link.order = self.meter_reading_count;
                self.meter_reading_count += 1;
            }
        }
        self.meter_readings.insert(key, link);
    }

    fn add_local_time(&mut self, entry: &Entry, resource: &Resource, key: u32) {
        let Some(tz) = resource.field("tzOffset") else {
            self.warnings.push(
                entry.index,
                None,
                format!(
                    "LocalTimeParameters {} has no tzOffset; its usage points get no local time",
                    self.keys.str(key)
                ),
            );
            return;
        };
        let parsed = LocalTimeParameters::from_fields(
            tz,
            resource.field("dstOffset"),
            resource.field("dstStartRule"),
            resource.field("dstEndRule"),
        );
        match parsed {
            Ok(p) => {
                self.local_times.insert(key, p);
            }
            Err(e) => self.warnings.push(
                entry.index,
                None,
                format!(
                    "LocalTimeParameters {}: {e}; its usage points get no local time",
                    self.keys.str(key)
                ),
            ),
        }
    }

    /// The local time of the usage point with key `usage_point`: the
    /// LocalTimeParameters it links, or the only one of the input when it
    /// links none.
    pub(crate) fn local_time_of(&self, usage_point: &str) -> LocalTimeLookup {
        let linked = self
            .keys
            .get(usage_point)
            .and_then(|up| self.usage_point_local_time.get(&up));
        match linked {
            Some(ltp) => match self.local_times.get(ltp) {
                Some(p) => LocalTimeLookup::Found(*p),
                None => LocalTimeLookup::Pending,
            },
            None if self.local_times.len() == 1 => {
                LocalTimeLookup::Found(*self.local_times.values().next().expect("one"))
            }
            None => LocalTimeLookup::None,
        }
    }

    fn add_reading_type(&mut self, entry: &Entry, resource: &Resource, key: u32) {
        let attrs = match ReadingAttributes::from_reading_type(resource) {
            Ok(a) => a,
            Err((field, e)) => {
                self.warnings.push(
                    entry.index,
                    None,
                    format!(
                        "ReadingType {}: {field}: {e}; the field is ignored",
                        self.keys.str(key)
                    ),
                );
                lenient_attributes(resource)
            }
        };
        let link = ReadingTypeLink {
            attrs: self.attribute_id(attrs),
            updated_us: Updated::of(entry),
            fields_hash: fields_hash(resource),
            entry_index: entry.index,
            accepted_before: None,
        };
        if self.record_definitions {
            self.definitions.push((key, link.clone()));
        }
        self.define_reading_type(key, link);
    }

    /// Apply one ReadingType definition: the first stands unless a later one
    /// has a strictly later `updated`.
    fn define_reading_type(&mut self, key: u32, mut link: ReadingTypeLink) {
        if let Some(existing) = self.reading_types.get(&key) {
            if existing.fields_hash == link.fields_hash {
                return;
            }
            let newer = later(link.updated_us.get(), existing.updated_us.get());
            self.reading_type_warnings.push(
                link.entry_index,
                Some(existing.entry_index),
                redefinition(self.keys.str(key), newer),
            );
            if !newer {
                return;
            }
            let mut accepted = existing
                .accepted_before
                .as_deref()
                .cloned()
                .unwrap_or_default();
            accepted.push(existing.entry_index);
            link.accepted_before = Some(Box::new(accepted));
        }
        self.reading_types.insert(key, link);
    }

    /// The warnings as lines.
    pub(crate) fn warning_lines(&self, source: &str) -> Vec<String> {
        self.warnings.lines(&self.reading_type_warnings, source)
    }

    /// Know the LocalTimeParameters of `head` (the start of the input,
    /// before this part) as this part's usage points may link them. Merged
    /// into the links of the whole input, they change nothing: the first
    /// definition of a key stays.
    pub(crate) fn seed_local_times(&mut self, head: &Links) {
        for (&key, &params) in &head.local_times {
            let key = self.keys.id(head.keys.str(key));
            self.local_times.entry(key).or_insert(params);
        }
    }

    /// Number the entries of this part from `first` (parts are read with
    /// entry numbers from 0).
    pub(crate) fn shift_entry_indices(&mut self, first: u64) {
        self.warnings.shift(first);
        self.reading_type_warnings.shift(first);
        let shift_rt = |rt: &mut ReadingTypeLink| {
            rt.entry_index += first;
            for a in rt
                .accepted_before
                .iter_mut()
                .flat_map(|before| before.iter_mut())
            {
                *a += first;
            }
        };
        for (_, def) in self.definitions.iter_mut() {
            shift_rt(def);
        }
        for mr in self.meter_readings.values_mut() {
            mr.entry_index += first;
        }
        for rt in self.reading_types.values_mut() {
            shift_rt(rt);
        }
    }

    /// Take in the links of the next part of the same input (document order),
    /// with the rules of [`Links::add_entry`]. Returns whether the part
    /// defines a ReadingType that an earlier part defined too (whether its
    /// definitions are accepted then depends on more than the part).
    pub(crate) fn merge(&mut self, other: Links) -> bool {
        let Links {
            keys,
            meter_readings,
            meter_reading_count: _,
            related,
            by_related,
            reading_types,
            attributes,
            attribute_ids: _,
            definitions,
            record_definitions: _,
            usage_points,
            local_times,
            usage_point_local_time,
            warnings,
            reading_type_warnings: _,
            version,
        } = other;
        self.version += version + 1;
        for (key, p) in local_times {
            let key = self.keys.import(&keys, key);
            self.local_times.entry(key).or_insert(p);
        }
        for (up, ltp) in usage_point_local_time {
            let up = self.keys.import(&keys, up);
            let ltp = self.keys.import(&keys, ltp);
            self.usage_point_local_time.entry(up).or_insert(ltp);
        }
        self.warnings.kept.extend(warnings.kept);
        self.warnings.dropped += warnings.dropped;
        let mut meter_readings: Vec<(u32, MeterReadingLink)> = meter_readings.into_iter().collect();
        meter_readings.sort_by_key(|(_, link)| link.order);
        for (key, mut link) in meter_readings {
            let start = link.related_start as usize;
            let theirs = (start..start + link.related_len as usize).map(|at| related[at]);
            link.related_start = self.related.len() as u32;
            for href in theirs {
                let href = self.keys.import(&keys, href);
                self.related.push(href);
            }
            let key = self.keys.import(&keys, key);
            self.insert_meter_reading(key, link);
        }
        for (block, key) in by_related {
            let block = self.keys.import(&keys, block);
            let key = self.keys.import(&keys, key);
            self.by_related.entry(block).or_insert(key);
        }
        drop(reading_types);
        let mut defined_here = HashSet::new();
        let mut defined_before = false;
        for (key, mut def) in definitions {
            let key = self.keys.import(&keys, key);
            if defined_here.insert(key) && self.reading_types.contains_key(&key) {
                defined_before = true;
            }
            def.attrs = self.attribute_id(attributes[def.attrs as usize]);
            if self.record_definitions {
                self.definitions.push((key, def.clone()));
            }
            self.define_reading_type(key, def);
        }
        for up in usage_points {
            let up = self.keys.import(&keys, up);
            self.usage_points.insert(up);
        }
        defined_before
    }

    /// Was this entry's ReadingType definition accepted (so it has a row)?
    pub(crate) fn reading_type_accepted(&self, entry: &Entry) -> bool {
        self_key(entry).is_some_and(|key| self.reading_type_definition_accepted(key, entry.index))
    }

    /// Was the definition of ReadingType `key` in entry `entry_index`
    /// accepted?
    pub(crate) fn reading_type_definition_accepted(&self, key: &str, entry_index: u64) -> bool {
        self.keys
            .get(key)
            .and_then(|k| self.reading_types.get(&k))
            .is_some_and(|rt| rt.accepted(entry_index))
    }

    /// The MeterReading with this key, and its key as stored.
    pub(crate) fn meter_reading(&self, key: &str) -> Option<(&str, &MeterReadingLink)> {
        let id = self.keys.get(key)?;
        self.meter_readings
            .get(&id)
            .map(|link| (self.keys.str(id), link))
    }

    pub(crate) fn meter_reading_by_related(&self, href: &str) -> Option<(&str, &MeterReadingLink)> {
        let key = *self.by_related.get(&self.keys.get(href)?)?;
        self.meter_readings
            .get(&key)
            .map(|link| (self.keys.str(key), link))
    }

    fn attribute_id(&mut self, attrs: ReadingAttributes) -> u32 {
        *self.attribute_ids.entry(attrs).or_insert_with(|| {
            self.attributes.push(attrs);
            (self.attributes.len() - 1) as u32
        })
    }

    /// How blocks naming the MeterReading with key `key` link: its
    /// ReadingType's attributes (none while its ReadingType is not known)
    /// and its usage point's local time. None when no MeterReading has
    /// that key.
    pub(crate) fn linked_by_key(
        &self,
        key: &str,
    ) -> Option<(Option<ReadingAttributes>, LocalTimeLookup)> {
        let (_, mr) = self.meter_reading(key)?;
        let local_time = self.local_time_of(usage_point_key_of_meter_reading(key));
        Some((self.reading_attributes_of(mr), local_time))
    }

    /// The attributes of a MeterReading's ReadingType, when linked.
    pub(crate) fn reading_attributes_of(&self, mr: &MeterReadingLink) -> Option<ReadingAttributes> {
        self.reading_type_of(mr)
            .map(|rt| self.attributes[rt.attrs as usize])
    }

    fn related_of(&self, mr: &MeterReadingLink) -> impl Iterator<Item = u32> + '_ {
        let start = mr.related_start as usize;
        (start..start + mr.related_len as usize).map(|at| self.related[at])
    }

    fn reading_type_of(&self, mr: &MeterReadingLink) -> Option<&ReadingTypeLink> {
        self.related_of(mr).find_map(|h| self.reading_types.get(&h))
    }

    fn reading_type_key_of(&self, mr: &MeterReadingLink) -> Option<&str> {
        self.related_of(mr)
            .find(|h| self.reading_types.contains_key(h))
            .map(|h| self.keys.str(h))
    }
}

/// What is known of a usage point's local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LocalTimeLookup {
    /// Its LocalTimeParameters.
    Found(LocalTimeParameters),
    /// It links LocalTimeParameters not read yet.
    Pending,
    /// None is known.
    None,
}

/// Rows of the streamed tables, waiting to fill a batch.
#[derive(Default)]
pub(crate) struct TableRows {
    usage_points: Vec<Row>,
    reading_types: Vec<Row>,
    entries: Vec<Row>,
}

/// A resource with its entry, shared by the tables it has rows in.
type Row = (Arc<Entry>, Arc<Resource>);

impl TableRows {
    /// Add an entry's rows; `accept_reading_type` says whether a ReadingType
    /// definition gets a row. Returns full batches.
    pub(crate) fn add(
        &mut self,
        source: &str,
        entry: &Arc<Entry>,
        resources: Vec<Resource>,
        accept_reading_type: impl Fn(&Entry) -> bool,
    ) -> Vec<(Table, RecordBatch)> {
        if resources.iter().all(|r| r.is("IntervalBlock")) {
            return Vec::new();
        }
        let shared = entry.clone();
        for resource in resources {
            if resource.is("IntervalBlock") {
                continue;
            }
            let row = (shared.clone(), Arc::new(resource));
            if row.1.is("UsagePoint") {
                self.usage_points.push(row.clone());
            } else if row.1.is("ReadingType") && accept_reading_type(entry) {
                self.reading_types.push(row.clone());
            }
            self.entries.push(row);
        }
        self.flush(source, false)
    }

    /// Batches of the rows waiting (all of them when `all`, else full batches).
    pub(crate) fn flush(&mut self, source: &str, all: bool) -> Vec<(Table, RecordBatch)> {
        let mut out = Vec::new();
        let full = |n: usize| n > 0 && (all || n >= BUILD_ROWS);
        if full(self.usage_points.len()) {
            let rows: Vec<(&str, Option<&Row>)> = self
                .usage_points
                .iter()
                .map(|r| (self_key(&r.0).unwrap_or_default(), Some(r)))
                .collect();
            out.push((Table::UsagePoints, usage_points_batch(source, &rows)));
            self.usage_points.clear();
        }
        if full(self.reading_types.len()) {
            out.push((
                Table::ReadingTypes,
                reading_types_batch(source, &self.reading_types),
            ));
            self.reading_types.clear();
        }
        if full(self.entries.len()) {
            out.push((Table::Entries, entries_batch(source, &self.entries)));
            self.entries.clear();
        }
        out
    }
}

/// `series` (ids of `keys`, usage points too) by ids of `links.keys`,
/// interning the keys it lacks.
pub(crate) fn series_in_links(
    links: &mut Links,
    keys: &Keys,
    series: &DenseMap<SeriesStats>,
) -> DenseMap<SeriesStats> {
    series
        .iter()
        .map(|(&mr, st)| {
            let mr = links.keys.import(keys, mr);
            let usage_point = links.keys.import(keys, st.usage_point);
            (mr, SeriesStats { usage_point, ..*st })
        })
        .collect()
}

/// One row of the meter readings table.
struct MeterReadingRow<'a> {
    key: &'a str,
    link: Option<&'a MeterReadingLink>,
    stats: Option<SeriesStats>,
}

/// The tables that can only be built at the end of an input: meter readings
/// (with their `series` statistics, by ids of `links.keys`) and the usage
/// points that readings refer to but that have no UsagePoint entry. Each
/// batch of [`TABLE_BATCH_ROWS`] rows is handed to `emit` as soon as it is
/// built, so only a few are in memory at once however many meter readings
/// an input has. With `on_pool`, the meter readings' batches are built on
/// the rayon pool, one per thread at a time (a parallel conversion, where
/// they would be the largest piece of serial work left).
pub(crate) fn final_tables(
    links: &Links,
    source: &str,
    series: &DenseMap<SeriesStats>,
    on_pool: bool,
    emit: &mut dyn FnMut(Table, RecordBatch),
) {
    let mut referenced: Vec<&str> = series
        .values()
        .filter(|s| !links.usage_points.contains(&s.usage_point))
        .map(|s| links.keys.str(s.usage_point))
        .collect();
    referenced.sort_unstable();
    referenced.dedup();
    for chunk in referenced.chunks(TABLE_BATCH_ROWS) {
        let rows: Vec<(&str, Option<&Row>)> = chunk.iter().map(|&k| (k, None)).collect();
        emit(Table::UsagePoints, usage_points_batch(source, &rows));
    }
    // Meter readings in the order they were defined, then those known only
    // from their blocks; rows are made a batch at a time (a row takes eight
    // times the memory of its id, and an input may have a million).
    let mut ids: Vec<(u32, u32)> = links
        .meter_readings
        .iter()
        .map(|(&id, link)| (link.order, id))
        .collect();
    ids.sort_unstable();
    let mut ids: Vec<u32> = ids.into_iter().map(|(_, id)| id).collect();
    let mut extra: Vec<u32> = series
        .keys()
        .filter(|id| !links.meter_readings.contains_key(id))
        .copied()
        .collect();
    extra.sort_unstable_by_key(|&id| links.keys.str(id));
    ids.extend(extra);
    if ids.is_empty() {
        emit(
            Table::MeterReadings,
            meter_readings_batch(links, source, &[]),
        );
    }
    let batch = |chunk: &[u32]| {
        let rows: Vec<MeterReadingRow> = chunk
            .iter()
            .map(|&id| MeterReadingRow {
                key: links.keys.str(id),
                link: links.meter_readings.get(&id),
                stats: series.get(&id).copied(),
            })
            .collect();
        meter_readings_batch(links, source, &rows)
    };
    if on_pool {
        use rayon::prelude::*;
        let at_once = TABLE_BATCH_ROWS * rayon::current_num_threads().max(1);
        for group in ids.chunks(at_once) {
            let batches: Vec<RecordBatch> = group.par_chunks(TABLE_BATCH_ROWS).map(batch).collect();
            for b in batches {
                emit(Table::MeterReadings, b);
            }
        }
    } else {
        for chunk in ids.chunks(TABLE_BATCH_ROWS) {
            emit(Table::MeterReadings, batch(chunk));
        }
    }
}

/// A batch with no rows of `table` (its schema).
///
/// ```
/// use espi_arrow::{empty_batch, Table};
/// assert_eq!(empty_batch(Table::Readings).num_rows(), 0);
/// assert!(empty_batch(Table::ReadingTypes).schema().field_with_name("uom").is_ok());
/// ```
pub fn empty_batch(table: Table) -> RecordBatch {
    match table {
        Table::Readings => RecordBatch::new_empty(crate::readings_schema()),
        Table::UsagePoints => usage_points_batch("", &[]),
        Table::MeterReadings => meter_readings_batch(&Links::default(), "", &[]),
        Table::ReadingTypes => reading_types_batch("", &[]),
        Table::Entries => entries_batch("", &[]),
        Table::Resource(t) => crate::resources::empty_resource_batch(t),
    }
}

/// Empty batches of every small table (their schemas), so that each table
/// exists in the output even when an input has none of its rows.
pub(crate) fn empty_tables(source: &str) -> Vec<(Table, RecordBatch)> {
    vec![
        (Table::UsagePoints, usage_points_batch(source, &[])),
        (Table::ReadingTypes, reading_types_batch(source, &[])),
        (Table::Entries, entries_batch(source, &[])),
    ]
}

fn usage_points_batch(source: &str, rows: &[(&str, Option<&Row>)]) -> RecordBatch {
    let service_kind: Vec<Option<i64>> = rows
        .iter()
        .map(|(_, r)| r.and_then(|r| int_field(&r.1, "ServiceCategory/kind")))
        .collect();
    let mut fields = vec![Field::new("usage_point", DataType::Utf8, false)];
    fields.extend(envelope_fields());
    let mut all: Vec<ArrayRef> = vec![Arc::new(text_values(rows.iter().map(|(k, _)| *k)))];
    all.extend(envelope_columns(rows.iter().map(|(_, r)| r.map(|r| &*r.0))));
    fields.push(Field::new("service_kind", DataType::Int32, true));
    all.push(Arc::new(Int32Array::from_iter(
        service_kind.iter().map(|v| v.map(|v| v as i32)),
    )));
    fields.push(Field::new("service_kind_name", DataType::Utf8, true));
    all.push(Arc::new(text_array(
        service_kind
            .iter()
            .map(|v| v.and_then(codes::service_kind_name)),
    )));
    fields.push(Field::new("local_time_parameters", DataType::Utf8, true));
    all.push(Arc::new(text_array(rows.iter().map(|(_, r)| {
        r.and_then(|r| {
            r.0.related_hrefs
                .iter()
                .map(|h| normalise_href(h))
                .find(|h| h.contains("LocalTimeParameters"))
        })
    }))));
    for (name, path) in [
        ("status", "status"),
        ("role_flags", "roleFlags"),
        ("service_delivery_point", "ServiceDeliveryPoint/name"),
        ("tariff_profile", "ServiceDeliveryPoint/tariffProfile"),
        (
            "customer_agreement",
            "ServiceDeliveryPoint/customerAgreement",
        ),
        ("read_cycle", "readCycle"),
        ("phase_code", "phaseCode"),
        ("connection_state", "connectionState"),
        ("is_virtual", "isVirtual"),
    ] {
        fields.push(Field::new(name, DataType::Utf8, true));
        all.push(Arc::new(text_array(
            rows.iter().map(|(_, r)| r.and_then(|r| r.1.field(path))),
        )));
    }
    fields.push(Field::new("fields", DataType::Utf8, true));
    all.push(nullable_fields_json_column(
        rows.iter().map(|(_, r)| r.map(|r| &r.1.fields[..])),
    ));
    push_source(&mut fields, &mut all, source, rows.len());
    batch(fields, all)
}

fn meter_readings_batch(links: &Links, source: &str, rows: &[MeterReadingRow]) -> RecordBatch {
    let ids = rows.iter().map(|row| row.key);
    let stats = rows.iter().map(|row| row.stats);
    let metas = rows.iter().map(|row| row.link);

    let mut fields = vec![
        Field::new("meter_reading", DataType::Utf8, false),
        Field::new("usage_point", DataType::Utf8, false),
        Field::new("reading_type", DataType::Utf8, true),
    ];
    let mut all: Vec<ArrayRef> = vec![
        Arc::new(text_values(ids.clone())),
        Arc::new(text_values(ids.map(usage_point_key_of_meter_reading))),
        Arc::new(text_array(
            metas
                .clone()
                .map(|m| m.and_then(|m| links.reading_type_key_of(m))),
        )),
    ];
    fields.push(Field::new("entry_index", DataType::UInt64, true));
    all.push(Arc::new(UInt64Array::from_iter(
        metas.clone().map(|m| m.map(|m| m.entry_index)),
    )));
    fields.push(Field::new("updated", timestamp_utc(), true));
    all.push(Arc::new(
        TimestampMicrosecondArray::from_iter(metas.map(|m| m.and_then(|m| m.updated_us.get())))
            .with_timezone("UTC"),
    ));
    fields.push(Field::new("readings", DataType::UInt64, false));
    all.push(Arc::new(UInt64Array::from_iter_values(
        stats.clone().map(|s| s.map_or(0, |s| s.readings)),
    )));
    fields.push(Field::new("first_start", timestamp_utc(), true));
    all.push(Arc::new(
        TimestampMicrosecondArray::from_iter(stats.clone().map(|s| s.map(|s| s.first_start_us)))
            .with_timezone("UTC"),
    ));
    fields.push(Field::new("last_start", timestamp_utc(), true));
    all.push(Arc::new(
        TimestampMicrosecondArray::from_iter(stats.map(|s| s.map(|s| s.last_start_us)))
            .with_timezone("UTC"),
    ));
    push_source(&mut fields, &mut all, source, rows.len());
    batch(fields, all)
}

fn reading_types_batch(source: &str, rts: &[Row]) -> RecordBatch {
    let mut fields = vec![Field::new("reading_type", DataType::Utf8, false)];
    let mut all: Vec<ArrayRef> = vec![Arc::new(text_values(
        rts.iter().map(|(e, _)| self_key(e).unwrap_or_default()),
    ))];
    fields.extend(envelope_fields());
    all.extend(envelope_columns(rts.iter().map(|(e, _)| Some(&**e))));
    // One pass over each definition's fields: the known ones as integers
    // (the first of a repeated path, as `Resource::int`), the others apart.
    let known = READING_TYPE_FIELDS.len();
    const { assert!(READING_TYPE_FIELDS.len() <= 32, "`seen` is a u32") };
    let mut ints: Vec<Option<i64>> = vec![None; known * rts.len()];
    let mut others: Vec<Option<(usize, usize)>> = Vec::with_capacity(rts.len());
    let mut other_fields: Vec<&(String, String)> = Vec::new();
    for (row, (_, r)) in rts.iter().enumerate() {
        let values = &mut ints[row * known..(row + 1) * known];
        let mut seen = 0u32;
        let first_other = other_fields.len();
        for field in &r.fields {
            match READING_TYPE_FIELDS.iter().position(|(k, _)| *k == field.0) {
                Some(k) if seen & (1 << k) == 0 => {
                    seen |= 1 << k;
                    values[k] = parse_i64(field.1.as_bytes()).ok();
                }
                Some(_) => {}
                None => other_fields.push(field),
            }
        }
        others
            .push((other_fields.len() > first_other).then_some((first_other, other_fields.len())));
    }
    // A known field's values, one per definition (the field's place in
    // READING_TYPE_FIELDS found once per column, not per row).
    let ints = &ints;
    let values_of = |path: &str| {
        let k = READING_TYPE_FIELDS
            .iter()
            .position(|(p, _)| *p == path)
            .expect("a ReadingType field of READING_TYPE_FIELDS");
        (0..rts.len()).map(move |row| ints[row * known + k])
    };
    for (path, name) in READING_TYPE_FIELDS {
        fields.push(Field::new(*name, DataType::Int64, true));
        all.push(Arc::new(Int64Array::from_iter(values_of(path))));
    }
    let named: [(&str, CodeName, &str); 7] = [
        ("uom_symbol", codes::uom_symbol, "uom"),
        (
            "flow_direction_name",
            codes::flow_direction_name,
            "flowDirection",
        ),
        ("kind_name", codes::measurement_kind_name, "kind"),
        ("commodity_name", codes::commodity_name, "commodity"),
        (
            "accumulation_behaviour_name",
            codes::accumulation_behaviour_name,
            "accumulationBehaviour",
        ),
        (
            "data_qualifier_name",
            codes::data_qualifier_name,
            "dataQualifier",
        ),
        ("currency_code", codes::currency_code, "currency"),
    ];
    for (column, name_of, path) in named {
        fields.push(Field::new(column, DataType::Utf8, true));
        all.push(Arc::new(text_array(
            values_of(path).map(|code| code.and_then(name_of)),
        )));
    }
    fields.push(Field::new("unit", DataType::Utf8, true));
    let mut unit = StringBuilder::with_capacity(rts.len(), rts.len() * 4);
    for uom in values_of("uom") {
        match uom {
            Some(u) => match normalise(u).symbol() {
                Some(symbol) => unit.append_value(symbol),
                None => {
                    let _ = write!(unit, "uom:{u}");
                    unit.append_value("");
                }
            },
            None => unit.append_null(),
        }
    }
    all.push(Arc::new(unit.finish()));
    fields.push(Field::new("other_fields", DataType::Utf8, true));
    all.push(nullable_fields_json_column(
        others
            .iter()
            .map(|o| o.map(|(from, to)| &other_fields[from..to])),
    ));
    push_source(&mut fields, &mut all, source, rts.len());
    batch(fields, all)
}

fn entries_batch(source: &str, recs: &[Row]) -> RecordBatch {
    let mut fields = vec![
        Field::new("resource", DataType::Utf8, false),
        Field::new("namespace", DataType::Utf8, false),
    ];
    let mut all: Vec<ArrayRef> = vec![
        Arc::new(text_values(recs.iter().map(|(_, r)| r.name.as_str()))),
        Arc::new(text_values(
            recs.iter().map(|(_, r)| namespace_name(r.namespace)),
        )),
    ];
    fields.extend(envelope_fields());
    all.extend(envelope_columns(recs.iter().map(|(e, _)| Some(&**e))));
    fields.push(Field::new("fields", DataType::Utf8, false));
    all.push(fields_json_column(recs.iter().map(|(_, r)| &r.fields[..])));
    push_source(&mut fields, &mut all, source, recs.len());
    batch(fields, all)
}

fn redefinition(key: &str, newer: bool) -> String {
    format!(
        "redefines ReadingType {key}; {}",
        if newer {
            "its later `updated` wins"
        } else {
            "the first definition is kept (no later `updated`)"
        }
    )
}

/// Does a definition updated at `candidate` replace one updated at
/// `current`: only with a strictly later Atom `updated`.
fn later(candidate: Option<i64>, current: Option<i64>) -> bool {
    match (candidate, current) {
        (Some(a), Some(b)) => a > b,
        (Some(_), None) => true,
        _ => false,
    }
}

/// A code table lookup (see [`espi_model::codes`]).
type CodeName = fn(i64) -> Option<&'static str>;

fn lenient_attributes(rt: &Resource) -> ReadingAttributes {
    ReadingAttributes {
        power_of_ten_multiplier: int_field(rt, "powerOfTenMultiplier").unwrap_or(0),
        uom: int_field(rt, "uom"),
        flow_direction: int_field(rt, "flowDirection"),
        interval_length: int_field(rt, "intervalLength"),
        accumulation_behaviour: int_field(rt, "accumulationBehaviour"),
        tou: int_field(rt, "tou"),
    }
}

pub(crate) fn int_field(r: &Resource, path: &str) -> Option<i64> {
    r.field(path).and_then(|v| parse_i64(v.as_bytes()).ok())
}

pub(crate) fn namespace_name(ns: Namespace) -> &'static str {
    match ns {
        Namespace::Espi => "espi",
        Namespace::Customer => "customer",
        Namespace::Atom => "atom",
        Namespace::None => "none",
        _ => "other",
    }
}

/// Fields as a JSON object; a path seen more than once maps to an array.
/// What a secret field's value is written as.
pub(crate) const REDACTED: &str = "[redacted]";

/// OAuth secrets some feeds carry (ApplicationInformation `client_secret`,
/// `registration_access_token`, old Authorizations' access and refresh
/// tokens): never written out.
pub(crate) fn is_secret(path: &str) -> bool {
    let leaf = path.rsplit('/').next().unwrap_or(path);
    let leaf = leaf.split('@').next().unwrap_or(leaf);
    // The leaf without underscores, in lower case, compared byte by byte
    // (this runs for every field of every entry: no String per field).
    let normal = leaf
        .bytes()
        .filter(|&b| b != b'_')
        .map(|b| b.to_ascii_lowercase());
    [
        "clientsecret",
        "registrationaccesstoken",
        "accesstoken",
        "refreshtoken",
    ]
    .iter()
    .any(|secret| normal.clone().eq(secret.bytes()))
}

/// The fields as one JSON object (repeated paths as arrays; secrets redacted).
pub(crate) fn fields_json(fields: &[(String, String)]) -> String {
    let mut out = String::with_capacity(fields.len() * 32 + 2);
    write_fields_json(&mut out, fields);
    out
}

/// A `fields` column: [`fields_json`] of each row, written straight into
/// the column (one reused buffer, no String per row).
pub(crate) fn fields_json_column<'a>(
    rows: impl ExactSizeIterator<Item = &'a [(String, String)]>,
) -> ArrayRef {
    nullable_fields_json_column(rows.map(Some))
}

/// [`fields_json_column`] with null rows (`None`).
pub(crate) fn nullable_fields_json_column<'a, F: Borrow<(String, String)> + 'a>(
    rows: impl ExactSizeIterator<Item = Option<&'a [F]>>,
) -> ArrayRef {
    let mut json = StringBuilder::with_capacity(rows.len(), rows.len() * 256);
    let mut row = String::new();
    for fields in rows {
        match fields {
            Some(fields) => {
                row.clear();
                write_fields_json(&mut row, fields);
                json.append_value(&row);
            }
            None => json.append_null(),
        }
    }
    Arc::new(json.finish())
}

/// [`fields_json`] appended to `out` (no allocation when `out` has room).
/// `fields` are the pairs or references to them.
fn write_fields_json<F: Borrow<(String, String)>>(out: &mut String, fields: &[F]) {
    let path_at = |i: usize| fields[i].borrow().0.as_str();
    let start = out.len();
    out.push('{');
    for (i, field) in fields.iter().enumerate() {
        let (path, value) = field.borrow();
        // Each path once, at its first appearance.
        if (0..i).any(|j| path_at(j) == path) {
            continue;
        }
        if out.len() > start + 1 {
            out.push(',');
        }
        push_json_string(out, path);
        out.push(':');
        let mut repeats = fields[i + 1..]
            .iter()
            .map(|f| f.borrow())
            .filter(|(p, _)| p == path)
            .peekable();
        if is_secret(path) {
            push_json_string(out, REDACTED);
        } else if repeats.peek().is_none() {
            push_json_string(out, value);
        } else {
            out.push('[');
            push_json_string(out, value);
            for (_, v) in repeats {
                out.push(',');
                push_json_string(out, v);
            }
            out.push(']');
        }
    }
    out.push('}');
}

/// `s` as a JSON string: runs without anything to escape are copied whole.
fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    let mut run = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            b if b < 0x20 => "",
            _ => continue,
        };
        // Escaped bytes are ASCII: `run..i` ends on a character boundary.
        out.push_str(&s[run..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{:04x}", b);
        } else {
            out.push_str(escape);
        }
        run = i + 1;
    }
    out.push_str(&s[run..]);
    out.push('"');
}

/// A string column of `values`, its buffer sized once from their lengths
/// (a column grown by doubling copies and faults in its bytes twice).
pub(crate) fn text_array<'a>(values: impl Iterator<Item = Option<&'a str>> + Clone) -> StringArray {
    let (rows, bytes) = values.clone().fold((0, 0), |(rows, bytes), v| {
        (rows + 1, bytes + v.map_or(0, str::len))
    });
    let mut column = StringBuilder::with_capacity(rows, bytes);
    for value in values {
        column.append_option(value);
    }
    column.finish()
}

/// [`text_array`] of values that are all present.
pub(crate) fn text_values<'a>(values: impl Iterator<Item = &'a str> + Clone) -> StringArray {
    text_array(values.map(Some))
}

pub(crate) fn envelope_fields() -> Vec<Field> {
    vec![
        Field::new("entry_id", DataType::Utf8, true),
        Field::new("entry_index", DataType::UInt64, true),
        Field::new("entry_offset", DataType::UInt64, true),
        Field::new("self_href", DataType::Utf8, true),
        Field::new("up_href", DataType::Utf8, true),
        Field::new(
            "related_hrefs",
            DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))),
            true,
        ),
        Field::new("title", DataType::Utf8, true),
        Field::new("published", timestamp_utc(), true),
        Field::new("updated", timestamp_utc(), true),
        Field::new("published_text", DataType::Utf8, true),
        Field::new("updated_text", DataType::Utf8, true),
    ]
}

pub(crate) fn envelope_columns<'a>(
    entries: impl Iterator<Item = Option<&'a Entry>> + Clone,
) -> Vec<ArrayRef> {
    let e = entries.collect::<Vec<_>>();
    let text = |f: fn(&Entry) -> Option<&str>| -> ArrayRef {
        Arc::new(text_array(e.iter().map(|x| x.and_then(f))))
    };
    let time = |f: fn(&Entry) -> Option<&str>| -> ArrayRef {
        Arc::new(
            TimestampMicrosecondArray::from_iter(
                e.iter()
                    .map(|x| x.and_then(f).and_then(parse_rfc3339_micros)),
            )
            .with_timezone("UTC"),
        )
    };
    let mut related = ListBuilder::new(StringBuilder::new());
    for x in &e {
        match x {
            Some(entry) => {
                for h in &entry.related_hrefs {
                    related.values().append_value(trim(h));
                }
                related.append(true);
            }
            None => related.append(false),
        }
    }
    vec![
        text(|x| x.id.as_deref()),
        Arc::new(UInt64Array::from_iter(e.iter().map(|x| x.map(|x| x.index)))),
        Arc::new(UInt64Array::from_iter(
            e.iter().map(|x| x.map(|x| x.offset)),
        )),
        text(|x| x.self_href.as_deref().map(trim)),
        text(|x| x.up_href.as_deref().map(trim)),
        Arc::new(related.finish()),
        text(|x| x.title.as_deref()),
        time(|x| x.published.as_deref()),
        time(|x| x.updated.as_deref()),
        text(|x| x.published.as_deref()),
        text(|x| x.updated.as_deref()),
    ]
}

pub(crate) fn push_source(
    fields: &mut Vec<Field>,
    all: &mut Vec<ArrayRef>,
    source: &str,
    rows: usize,
) {
    fields.push(Field::new("source_file", DataType::Utf8, false));
    all.push(Arc::new(text_values(std::iter::repeat_n(source, rows))));
}

pub(crate) fn batch(fields: Vec<Field>, columns: Vec<ArrayRef>) -> RecordBatch {
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .expect("metadata columns match their fields")
}

#[cfg(test)]
mod tests {
    use super::fields_json;

    #[test]
    fn links_kept_per_meter_reading_and_reading_type_stay_small() {
        // One of each per usage point of a daily Bulk feed.
        assert!(std::mem::size_of::<super::MeterReadingLink>() <= 32);
        assert!(std::mem::size_of::<super::ReadingTypeLink>() <= 40);
        let none = super::Updated(super::Updated::NONE);
        assert_eq!(none.get(), None);
        assert_eq!(super::Updated(0).get(), Some(0));
    }

    #[test]
    fn secrets_are_redacted() {
        let fields: Vec<(String, String)> = [
            ("client_id", "abc"),
            ("client_secret", "s3cret"),
            ("accessToken", "AAA1"),
            ("x/refresh_token", "BBB2"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        let json = fields_json(&fields);
        assert!(
            !json.contains("s3cret") && !json.contains("AAA1") && !json.contains("BBB2"),
            "{json}"
        );
        assert!(json.contains("\"client_id\":\"abc\""), "{json}");
    }

    #[test]
    fn secrets_are_found_by_leaf_name_whatever_the_case_and_underscores() {
        use super::is_secret;
        for path in [
            "client_secret",
            "ClientSecret",
            "a/b/REGISTRATION_ACCESS_TOKEN",
            "x/access_token@type",
            "refresh__token",
        ] {
            assert!(is_secret(path), "{path}");
        }
        for path in [
            "client_id",
            "clientsecrets",
            "clientsecre",
            "access_token/expiry",
            "token",
            "",
            "áccesstoken",
        ] {
            assert!(!is_secret(path), "{path}");
        }
    }

    #[test]
    fn fields_become_a_json_object_with_repeats_as_arrays() {
        let fields: Vec<(String, String)> = [
            ("a", "1"),
            ("b/c", "say \"hi\"\n\\"),
            ("a", "2"),
            ("d", "\u{1}"),
            ("e", "Zürich\t✓ end"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let json: serde_json::Value = serde_json::from_str(&fields_json(&fields)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "a": ["1", "2"],
                "b/c": "say \"hi\"\n\\",
                "d": "\u{1}",
                "e": "Zürich\t✓ end"
            })
        );
        assert_eq!(fields_json(&[]), "{}");
    }
}
