//! The resource tables beyond readings, usage points, meter readings and
//! reading types: one table per kind of ESPI resource (interval blocks, usage
//! summaries and their line items, power quality summaries, local time
//! parameters, the RetailCustomer resources, and the authorisation resources).
//!
//! Resources are matched by element name in any namespace (real files put
//! customer elements in no namespace, or in the Atom one). Every row keeps the
//! Atom envelope of its entry (`entry_id`, `self_href`, `updated`, ...), a
//! `fields` column with every leaf of the resource as a JSON object (so
//! nothing is lost, whatever the typed columns leave out) and `source_file`.
//! Rows are built into batches of [`crate::TABLE_BATCH_ROWS`] as entries
//! stream past ([`ResourceRows`]): memory does not grow with the input.
//!
//! Conventions of the typed columns:
//! - Keys are normalised hrefs (see [`espi_model::links::normalise_href`]):
//!   the row's own `self` href, and its parents' keys cut from its `self` (or
//!   failing that `up`) href: `usage_point` is the part up to and including
//!   `UsagePoint/{id}`, `customer_account` up to `CustomerAccount/{id}`, ...
//! - Numbers that do not parse are null (their text stays in `fields`); empty
//!   texts are null in the text columns.
//! - ESPI times (`TimeType`, seconds since 1970) become UTC microsecond
//!   timestamps. Values beyond the year 5138 in seconds are read as
//!   milliseconds, as PG&E and Opower write `statusTimeStamp`
//!   (`1440109957976`); an RFC 3339 text is also accepted. IntervalBlock
//!   starts are read exactly as the readings table reads them (seconds).
//! - Durations are `..._duration_s` (Int64 seconds).
//! - Money is in hundred-thousandths of the currency (`bill_last_period`,
//!   Int64, as written) and in currency units (`bill_last_period_amount`,
//!   Float64). When the schema name already ends in "amount" the raw column
//!   gets `_raw` and the currency column takes the name (LineItem `amount_raw`
//!   and `amount`).
//! - A SummaryMeasurement `m` gives `m_value_raw`, `m_power_of_ten_multiplier`,
//!   `m_uom`, `m_unit` (normalised: kWh, kW, therm, ...), `m_value`
//!   (`value_raw x 10^multiplier` in `unit`, exactly scaled), `m_time_stamp`,
//!   `m_reading_type_ref`; the same naming as the readings table.
//! - Repeated sub-elements (line items, tariff riders, meter multipliers,
//!   programme dates) are told apart in the flat field list by document
//!   order: a new element starts when a path of the current one repeats,
//!   when the schema order of the children goes back, or when another field
//!   comes between.

use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray, UInt32Array, UInt64Array,
};
use arrow_schema::{DataType, Field};
use espi_model::codes;
use espi_model::links::normalise_href;
use espi_model::numbers::{parse_rfc3339_micros, parse_seconds_to_micros};
use espi_model::resource::{Entry, Resource};
use espi_model::units::{cost_in_currency, normalise, scale_exact};

use crate::converter::{block_meter_reading_key, interval_start_us, MILLISECONDS_FROM_US};
use crate::metadata::BUILD_ROWS;
use crate::metadata::{
    batch, envelope_columns, envelope_fields, fields_json, fields_json_column, int_field,
    push_source, text_array,
};
use crate::schema::timestamp_utc;

/// The resource tables beyond readings, usage points, meter readings and reading types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceTable {
    /// One row per IntervalBlock: its MeterReading, interval and reading count.
    IntervalBlocks,
    /// One row per UsageSummary or (older) ElectricPowerUsageSummary.
    UsageSummaries,
    /// One row per LineItem (`costAdditionalDetailLastPeriod`) of a summary.
    UsageSummaryLineItems,
    /// One row per ElectricPowerQualitySummary.
    PowerQualitySummaries,
    /// One row per LocalTimeParameters.
    LocalTimeParameters,
    /// One row per Customer.
    Customers,
    /// One row per CustomerAccount.
    CustomerAccounts,
    /// One row per CustomerAgreement.
    CustomerAgreements,
    /// One row per ServiceLocation.
    ServiceLocations,
    /// One row per Meter or EndDevice.
    Meters,
    /// One row per DemandResponseProgram of a CustomerAgreement (or standalone).
    ProgramEnrollments,
    /// One row per ApplicationInformation.
    ApplicationInformation,
    /// One row per Authorization.
    Authorizations,
    /// One row per Subscription.
    Subscriptions,
    /// One row per resource URI of a BatchList.
    BatchLists,
}

impl ResourceTable {
    /// Every resource table.
    pub const ALL: [ResourceTable; 15] = [
        ResourceTable::IntervalBlocks,
        ResourceTable::UsageSummaries,
        ResourceTable::UsageSummaryLineItems,
        ResourceTable::PowerQualitySummaries,
        ResourceTable::LocalTimeParameters,
        ResourceTable::Customers,
        ResourceTable::CustomerAccounts,
        ResourceTable::CustomerAgreements,
        ResourceTable::ServiceLocations,
        ResourceTable::Meters,
        ResourceTable::ProgramEnrollments,
        ResourceTable::ApplicationInformation,
        ResourceTable::Authorizations,
        ResourceTable::Subscriptions,
        ResourceTable::BatchLists,
    ];

    /// The table's name (its folder under the output).
    ///
    /// ```
    /// use espi_arrow::ResourceTable;
    /// assert_eq!(ResourceTable::UsageSummaryLineItems.name(), "usage_summary_line_items");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            ResourceTable::IntervalBlocks => "interval_blocks",
            ResourceTable::UsageSummaries => "usage_summaries",
            ResourceTable::UsageSummaryLineItems => "usage_summary_line_items",
            ResourceTable::PowerQualitySummaries => "power_quality_summaries",
            ResourceTable::LocalTimeParameters => "local_time_parameters",
            ResourceTable::Customers => "customers",
            ResourceTable::CustomerAccounts => "customer_accounts",
            ResourceTable::CustomerAgreements => "customer_agreements",
            ResourceTable::ServiceLocations => "service_locations",
            ResourceTable::Meters => "meters",
            ResourceTable::ProgramEnrollments => "program_enrollments",
            ResourceTable::ApplicationInformation => "application_information",
            ResourceTable::Authorizations => "authorizations",
            ResourceTable::Subscriptions => "subscriptions",
            ResourceTable::BatchLists => "batch_lists",
        }
    }

    /// The table a resource named `name` has its (main) row in.
    fn of_resource(name: &str) -> Option<ResourceTable> {
        Some(match name {
            "IntervalBlock" => ResourceTable::IntervalBlocks,
            "UsageSummary" | "ElectricPowerUsageSummary" => ResourceTable::UsageSummaries,
            "ElectricPowerQualitySummary" => ResourceTable::PowerQualitySummaries,
            "LocalTimeParameters" | "TimeConfiguration" => ResourceTable::LocalTimeParameters,
            "Customer" => ResourceTable::Customers,
            "CustomerAccount" => ResourceTable::CustomerAccounts,
            "CustomerAgreement" => ResourceTable::CustomerAgreements,
            "DemandResponseProgram" => ResourceTable::ProgramEnrollments,
            "ServiceLocation" => ResourceTable::ServiceLocations,
            "Meter" | "EndDevice" => ResourceTable::Meters,
            "ApplicationInformation" => ResourceTable::ApplicationInformation,
            "Authorization" => ResourceTable::Authorizations,
            "Subscription" => ResourceTable::Subscriptions,
            "BatchList" => ResourceTable::BatchLists,
            _ => return None,
        })
    }
}

/// One row waiting for its batch: the entry, and the resource, or the
/// repeated element of it that the row is about (a LineItem, a
/// DemandResponseProgram, a BatchList URI) with paths relative to that
/// element and the resource's name.
#[derive(Debug, Clone)]
struct Row {
    entry: Arc<Entry>,
    resource: Resource,
    /// Position of the element among its siblings.
    index: Option<u32>,
    /// LineItems: `last` or `current` (billing period).
    period: Option<&'static str>,
}

impl Row {
    fn new(entry: &Arc<Entry>, resource: Resource) -> Row {
        Row {
            entry: entry.clone(),
            resource,
            index: None,
            period: None,
        }
    }

    /// The first field at `path`, unless empty.
    fn text(&self, path: &str) -> Option<&str> {
        self.resource.field(path).filter(|t| !t.is_empty())
    }

    fn int(&self, path: &str) -> Option<i64> {
        int_field(&self.resource, path)
    }

    fn time(&self, path: &str) -> Option<i64> {
        self.resource.field(path).and_then(time_us)
    }

    fn flag(&self, path: &str) -> Option<bool> {
        self.resource.field(path).and_then(boolean)
    }

    /// The normalised `self` href.
    fn key(&self) -> Option<&str> {
        let key = normalise_href(self.entry.self_href.as_deref()?);
        (!key.is_empty()).then_some(key)
    }

    /// The key of the `segment` this row belongs to, from its `self` href or
    /// failing that its `up` href.
    fn parent(&self, segment: &str) -> Option<&str> {
        [&self.entry.self_href, &self.entry.up_href]
            .into_iter()
            .flatten()
            .find_map(|href| key_through(normalise_href(href), segment))
    }

    /// The exactly scaled value, unit-normalised, of a SummaryMeasurement at
    /// `path` (`path/value x 10^path/powerOfTenMultiplier`): null when the
    /// value is absent or a number present does not parse.
    fn measurement_value(&self, path: &str) -> Option<f64> {
        let r = &self.resource;
        let value = r.int(&join(path, "value"))?.ok()?;
        let multiplier = match r.int(&join(path, "powerOfTenMultiplier")) {
            None => 0,
            Some(m) => m.ok()?,
        };
        let shift = match r.int(&join(path, "uom")) {
            None => 0,
            Some(u) => i64::from(normalise(u.ok()?).exponent_shift),
        };
        scale_exact(value, i32::try_from(multiplier.checked_add(shift)?).ok()?)
    }
}

/// `a/b`, or `b` when `a` is empty.
fn join(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_owned()
    } else {
        format!("{a}/{b}")
    }
}

/// The part of a normalised href up to and including `{segment}/{id}` (the
/// last such pair), if any.
///
/// `key_through("a/UsagePoint/1/UsageSummary/2", "UsagePoint") == Some("a/UsagePoint/1")`
fn key_through<'a>(href: &'a str, segment: &str) -> Option<&'a str> {
    let mut found = None;
    let mut start = 0;
    let mut previous_matched = false;
    for part in href.split('/') {
        let end = start + part.len();
        if previous_matched && !part.is_empty() {
            found = Some(&href[..end]);
        }
        previous_matched = part == segment;
        start = end + 1;
    }
    found
}

/// An ESPI time (seconds since 1970, possibly fractional, or milliseconds as
/// some utilities write them, or an RFC 3339 text) as microseconds.
fn time_us(text: &str) -> Option<i64> {
    match parse_seconds_to_micros(text.as_bytes()) {
        Ok((us, _)) if us.unsigned_abs() < MILLISECONDS_FROM_US.unsigned_abs() => Some(us),
        Ok((us, _)) => {
            let ms = us.div_euclid(1000);
            (ms.unsigned_abs() < MILLISECONDS_FROM_US.unsigned_abs()).then_some(ms)
        }
        Err(_) => parse_rfc3339_micros(text),
    }
}

fn boolean(text: &str) -> Option<bool> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("true") || t == "1" {
        Some(true)
    } else if t.eq_ignore_ascii_case("false") || t == "0" {
        Some(false)
    } else {
        None
    }
}

fn unit_of(uom: i64) -> String {
    normalise(uom)
        .symbol()
        .map_or_else(|| format!("uom:{uom}"), str::to_owned)
}

/// A repeated element's children in schema order (ranks), and the children
/// that may repeat inside one element.
struct Repeated {
    prefix: &'static str,
    order: &'static [&'static str],
    repeatable: &'static [&'static str],
}

const LINE_ITEM_ORDER: &[&str] = &[
    "amount",
    "rounding",
    "dateTime",
    "note",
    "measurement",
    "itemKind",
    "unitCost",
    "itemPeriod",
];

const LINE_ITEMS: [(Repeated, &str); 2] = [
    (
        Repeated {
            prefix: "costAdditionalDetailLastPeriod",
            order: LINE_ITEM_ORDER,
            repeatable: &[],
        },
        "last",
    ),
    // Not in the ESPI schemas, but named by some implementations.
    (
        Repeated {
            prefix: "costAdditionalDetailCurrentPeriod",
            order: LINE_ITEM_ORDER,
            repeatable: &[],
        },
        "current",
    ),
];

const TARIFF_RIDERS: Repeated = Repeated {
    prefix: "tariffRiderRefs/tariffRiderRef",
    order: &["riderType", "enrollmentStatus", "effectiveDate"],
    repeatable: &[],
};

const METER_MULTIPLIERS: Repeated = Repeated {
    prefix: "MeterMultipliers",
    order: &["kind", "value"],
    repeatable: &[],
};

const PROGRAMS: Repeated = Repeated {
    prefix: "DemandResponseProgram",
    order: &[
        "programName",
        "enrollmentStatus",
        "programDescription",
        "programDate",
        "capacityReservationLevel",
        "DRProgramNomination",
    ],
    repeatable: &["programDate"],
};

const PROGRAM_DATES: Repeated = Repeated {
    prefix: "programDate",
    order: &["programDate", "programDateDescription"],
    repeatable: &[],
};

impl Repeated {
    /// The fields of each `prefix` element, paths relative to the element,
    /// in document order.
    fn split(&self, fields: &[(String, String)]) -> Vec<Vec<(String, String)>> {
        let rank = |rel: &str| {
            let first = rel.split(['/', '@']).next().unwrap_or_default();
            self.order.iter().position(|o| *o == first)
        };
        let may_repeat = |rel: &str| {
            rel.split(['/', '@'])
                .any(|s| s == "extension" || self.repeatable.contains(&s))
        };
        let mut groups: Vec<Vec<(String, String)>> = Vec::new();
        let mut last_index = None;
        let mut last_rank = None;
        for (i, (path, value)) in fields.iter().enumerate() {
            let Some(rest) = path.strip_prefix(self.prefix) else {
                continue;
            };
            let rel = match rest.as_bytes().first() {
                None => "",
                Some(b'/') => &rest[1..],
                Some(b'@') => rest,
                Some(_) => continue,
            };
            let r = rank(rel);
            let new = match groups.last() {
                None => true,
                Some(current) => {
                    last_index.is_none_or(|l: usize| l + 1 != i)
                        || (!may_repeat(rel) && current.iter().any(|(p, _)| p == rel))
                        || matches!((r, last_rank), (Some(r), Some(l)) if r < l)
                }
            };
            if new {
                groups.push(Vec::new());
                last_rank = None;
            }
            if r.is_some() {
                last_rank = r;
            }
            last_index = Some(i);
            if let Some(g) = groups.last_mut() {
                g.push((rel.to_owned(), value.clone()));
            }
        }
        groups
    }

    /// The elements as a JSON array of objects (null when there are none).
    fn json(&self, fields: &[(String, String)]) -> Option<String> {
        let groups = self.split(fields);
        (!groups.is_empty()).then(|| {
            let objects: Vec<String> = groups.iter().map(|g| fields_json(g)).collect();
            format!("[{}]", objects.join(","))
        })
    }
}

/// Rows of the resource tables, built into pieces of
/// [`BUILD_ROWS`] rows as entries stream past (memory does not grow with
/// the input); the converter joins the pieces into batches of
/// [`crate::TABLE_BATCH_ROWS`].
#[derive(Debug, Clone, Default)]
pub(crate) struct ResourceRows {
    pending: [Vec<Row>; 15],
}

impl ResourceRows {
    /// Add one resource of an entry; returns the batches that became full.
    pub(crate) fn add(
        &mut self,
        source: &str,
        entry: &Arc<Entry>,
        resource: &Resource,
    ) -> Vec<(ResourceTable, RecordBatch)> {
        let Some(table) = ResourceTable::of_resource(&resource.name) else {
            return Vec::new();
        };
        match table {
            ResourceTable::UsageSummaries => {
                for (items, period) in &LINE_ITEMS {
                    for (i, fields) in items.split(&resource.fields).into_iter().enumerate() {
                        let mut item = Resource::new(&resource.name, resource.namespace);
                        item.fields = fields;
                        let mut row = Row::new(entry, item);
                        row.index = Some(i as u32);
                        row.period = Some(period);
                        self.push(ResourceTable::UsageSummaryLineItems, row);
                    }
                }
            }
            ResourceTable::CustomerAgreements => {
                for (i, fields) in PROGRAMS.split(&resource.fields).into_iter().enumerate() {
                    let mut program = Resource::new(&resource.name, resource.namespace);
                    program.fields = fields;
                    let mut row = Row::new(entry, program);
                    row.index = Some(i as u32);
                    self.push(ResourceTable::ProgramEnrollments, row);
                }
            }
            ResourceTable::BatchLists => {
                let uris: Vec<&str> = resource
                    .fields
                    .iter()
                    .filter(|(p, _)| p == "resources")
                    .map(|(_, v)| v.as_str())
                    .collect();
                let other: Vec<(String, String)> = resource
                    .fields
                    .iter()
                    .filter(|(p, _)| p != "resources")
                    .cloned()
                    .collect();
                if uris.is_empty() {
                    let mut list = Resource::new(&resource.name, resource.namespace);
                    list.fields = other.clone();
                    self.push(table, Row::new(entry, list));
                }
                for (i, uri) in uris.into_iter().enumerate() {
                    let mut list = Resource::new(&resource.name, resource.namespace);
                    list.fields = other.clone();
                    list.fields.push(("resources".to_owned(), uri.to_owned()));
                    let mut row = Row::new(entry, list);
                    row.index = Some(i as u32);
                    self.push(table, row);
                }
                return self.full(source);
            }
            _ => {}
        }
        self.push(table, Row::new(entry, resource.clone()));
        self.full(source)
    }

    /// Batches of every waiting row (end of input).
    pub(crate) fn flush(&mut self, source: &str) -> Vec<(ResourceTable, RecordBatch)> {
        let mut out = self.full(source);
        for table in ResourceTable::ALL {
            let rows = &mut self.pending[table as usize];
            if !rows.is_empty() {
                out.push((table, build(table, source, rows)));
                rows.clear();
            }
        }
        out
    }

    fn push(&mut self, table: ResourceTable, row: Row) {
        self.pending[table as usize].push(row);
    }

    /// Batches of the tables with a full batch waiting.
    fn full(&mut self, source: &str) -> Vec<(ResourceTable, RecordBatch)> {
        let mut out = Vec::new();
        for table in ResourceTable::ALL {
            let rows = &mut self.pending[table as usize];
            while rows.len() >= BUILD_ROWS {
                out.push((table, build(table, source, &rows[..BUILD_ROWS])));
                rows.drain(..BUILD_ROWS);
            }
        }
        out
    }
}

/// A batch with no rows of `table` (its schema).
///
/// ```
/// use espi_arrow::{empty_resource_batch, ResourceTable};
/// let b = empty_resource_batch(ResourceTable::UsageSummaries);
/// assert_eq!(b.num_rows(), 0);
/// assert!(b.schema().field_with_name("bill_last_period_amount").is_ok());
/// ```
pub fn empty_resource_batch(table: ResourceTable) -> RecordBatch {
    build(table, "", &[])
}

fn build(table: ResourceTable, source: &str, rows: &[Row]) -> RecordBatch {
    let mut c = Columns::new(rows);
    match table {
        ResourceTable::IntervalBlocks => interval_blocks(&mut c),
        ResourceTable::UsageSummaries => usage_summaries(&mut c),
        ResourceTable::UsageSummaryLineItems => line_items(&mut c),
        ResourceTable::PowerQualitySummaries => power_quality_summaries(&mut c),
        ResourceTable::LocalTimeParameters => local_time_parameters(&mut c),
        ResourceTable::Customers => customers(&mut c),
        ResourceTable::CustomerAccounts => customer_accounts(&mut c),
        ResourceTable::CustomerAgreements => customer_agreements(&mut c),
        ResourceTable::ServiceLocations => service_locations(&mut c),
        ResourceTable::Meters => meters(&mut c),
        ResourceTable::ProgramEnrollments => program_enrollments(&mut c),
        ResourceTable::ApplicationInformation => application_information(&mut c),
        ResourceTable::Authorizations => authorizations(&mut c),
        ResourceTable::Subscriptions => subscriptions(&mut c),
        ResourceTable::BatchLists => batch_lists(&mut c),
    }
    c.finish(source)
}

/// The columns of a batch being built.
struct Columns<'a> {
    rows: &'a [Row],
    fields: Vec<Field>,
    arrays: Vec<ArrayRef>,
}

impl<'a> Columns<'a> {
    fn new(rows: &'a [Row]) -> Self {
        Columns {
            rows,
            fields: Vec::new(),
            arrays: Vec::new(),
        }
    }

    fn push(&mut self, name: impl Into<String>, data_type: DataType, array: ArrayRef) {
        self.fields.push(Field::new(name, data_type, true));
        self.arrays.push(array);
    }

    fn text(&mut self, name: impl Into<String>, f: impl Fn(&'a Row) -> Option<&'a str>) {
        let a = text_array(self.rows.iter().map(&f));
        self.push(name, DataType::Utf8, Arc::new(a));
    }

    /// A text column of the first field at `path`.
    fn field(&mut self, name: &str, path: &str) {
        self.text(name, |r| r.text(path));
    }

    fn string(&mut self, name: impl Into<String>, f: impl Fn(&'a Row) -> Option<String>) {
        let a = StringArray::from_iter(self.rows.iter().map(f));
        self.push(name, DataType::Utf8, Arc::new(a));
    }

    fn int(&mut self, name: impl Into<String>, f: impl Fn(&'a Row) -> Option<i64>) {
        let a = Int64Array::from_iter(self.rows.iter().map(f));
        self.push(name, DataType::Int64, Arc::new(a));
    }

    /// An Int64 column of the first field at `path`.
    fn int_field(&mut self, name: &str, path: &str) {
        self.int(name, |r| r.int(path));
    }

    fn uint32(&mut self, name: impl Into<String>, f: impl Fn(&'a Row) -> Option<u32>) {
        let a = UInt32Array::from_iter(self.rows.iter().map(f));
        self.push(name, DataType::UInt32, Arc::new(a));
    }

    fn uint64(&mut self, name: impl Into<String>, f: impl Fn(&'a Row) -> Option<u64>) {
        let a = UInt64Array::from_iter(self.rows.iter().map(f));
        self.push(name, DataType::UInt64, Arc::new(a));
    }

    fn float(&mut self, name: impl Into<String>, f: impl Fn(&'a Row) -> Option<f64>) {
        let a = Float64Array::from_iter(self.rows.iter().map(f));
        self.push(name, DataType::Float64, Arc::new(a));
    }

    fn time(&mut self, name: impl Into<String>, f: impl Fn(&'a Row) -> Option<i64>) {
        let a = TimestampMicrosecondArray::from_iter(self.rows.iter().map(f)).with_timezone("UTC");
        self.push(name, timestamp_utc(), Arc::new(a));
    }

    /// A timestamp column of the ESPI time at `path`.
    fn time_field(&mut self, name: &str, path: &str) {
        self.time(name, |r| r.time(path));
    }

    fn flag(&mut self, name: &str, path: &str) {
        let a = BooleanArray::from_iter(self.rows.iter().map(|r| r.flag(path)));
        self.push(name, DataType::Boolean, Arc::new(a));
    }

    fn list(&mut self, name: &str, f: impl Fn(&'a Row) -> Vec<&'a str>) {
        let mut b = ListBuilder::new(StringBuilder::new());
        for row in self.rows {
            for v in f(row) {
                b.values().append_value(v);
            }
            b.append(true);
        }
        self.push(
            name,
            DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))),
            Arc::new(b.finish()),
        );
    }

    /// A list column of every (non-empty) field at `path`.
    fn list_field(&mut self, name: &str, path: &str) {
        self.list(name, |r| {
            r.resource
                .fields
                .iter()
                .filter(|(p, v)| p == path && !v.is_empty())
                .map(|(_, v)| v.as_str())
                .collect()
        });
    }

    /// The row's own key (its normalised `self` href).
    fn key(&mut self, name: &str) {
        self.text(name, Row::key);
    }

    /// The key of the `segment` the row belongs to.
    fn parent(&mut self, name: &str, segment: &str) {
        self.text(name, |r| r.parent(segment));
    }

    fn envelope(&mut self) {
        self.fields.extend(envelope_fields());
        self.arrays
            .extend(envelope_columns(self.rows.iter().map(|r| Some(&*r.entry))));
    }

    /// `resource`: the element name of the resource.
    fn resource_name(&mut self) {
        self.text("resource", |r| Some(r.resource.name.as_str()));
    }

    /// `fields`: every field of the row as JSON.
    fn fields_json(&mut self) {
        let column = fields_json_column(self.rows.iter().map(|r| &r.resource.fields[..]));
        self.push("fields", DataType::Utf8, column);
    }

    /// `{name}_start` and `{name}_duration_s` of a DateTimeInterval.
    fn interval(&mut self, name: &str, path: &str) {
        self.time_field(&format!("{name}_start"), &join(path, "start"));
        self.int_field(&format!("{name}_duration_s"), &join(path, "duration"));
    }

    /// Money in hundred-thousandths (as written) and in currency units.
    fn money(&mut self, name: &str, path: &str) {
        let (raw, amount) = if name.ends_with("amount") {
            (format!("{name}_raw"), name.to_owned())
        } else {
            (name.to_owned(), format!("{name}_amount"))
        };
        self.int(raw, |r| r.int(path));
        self.float(amount, |r| r.int(path).and_then(cost_in_currency));
    }

    /// The columns of a SummaryMeasurement.
    fn measurement(&mut self, name: &str, path: &str) {
        let p = |leaf: &str| join(path, leaf);
        self.int(format!("{name}_value_raw"), |r| r.int(&p("value")));
        self.int(format!("{name}_power_of_ten_multiplier"), |r| {
            r.int(&p("powerOfTenMultiplier"))
        });
        self.int(format!("{name}_uom"), |r| r.int(&p("uom")));
        self.string(format!("{name}_unit"), |r| r.int(&p("uom")).map(unit_of));
        self.float(format!("{name}_value"), |r| r.measurement_value(path));
        self.time(format!("{name}_time_stamp"), |r| r.time(&p("timeStamp")));
        self.text(format!("{name}_reading_type_ref"), |r| {
            r.text(&p("readingTypeRef"))
        });
    }

    /// The columns of a StreetAddress at `path`.
    fn address(&mut self, prefix: &str, path: &str) {
        for (leaf, column) in [
            ("streetDetail/number", "street_number"),
            ("streetDetail/name", "street_name"),
            ("streetDetail/suffix", "street_suffix"),
            ("streetDetail/prefix", "street_prefix"),
            ("streetDetail/type", "street_type"),
            ("streetDetail/code", "street_code"),
            ("streetDetail/buildingName", "building_name"),
            ("streetDetail/suiteNumber", "suite_number"),
            ("streetDetail/addressGeneral", "address_general"),
            ("streetDetail/addressGeneral2", "address_general2"),
            ("streetDetail/addressGeneral3", "address_general3"),
            ("townDetail/code", "town_code"),
            ("townDetail/section", "town_section"),
            ("townDetail/name", "town_name"),
            ("townDetail/county", "county"),
            ("townDetail/stateOrProvince", "state_or_province"),
            ("townDetail/country", "country"),
            ("postalCode", "postal_code"),
            ("poBox", "po_box"),
        ] {
            self.field(&format!("{prefix}{column}"), &join(path, leaf));
        }
    }

    /// Phone (`phone1`) and electronic address columns below `path`.
    fn contact(&mut self, prefix: &str, path: &str) {
        for (leaf, column) in [
            ("phone1/countryCode", "phone_country_code"),
            ("phone1/areaCode", "phone_area_code"),
            ("phone1/cityCode", "phone_city_code"),
            ("phone1/localNumber", "phone_local_number"),
            ("phone1/ext", "phone_ext"),
            ("electronicAddress/email1", "email1"),
            ("electronicAddress/email2", "email2"),
            ("electronicAddress/web", "web"),
        ] {
            self.field(&format!("{prefix}{column}"), &join(path, leaf));
        }
    }

    /// The columns of a Status at `path`.
    fn status(&mut self, name: &str, path: &str) {
        self.field(name, &join(path, "value"));
        self.time_field(&format!("{name}_date_time"), &join(path, "dateTime"));
        self.field(&format!("{name}_remark"), &join(path, "remark"));
        self.field(&format!("{name}_reason"), &join(path, "reason"));
    }

    /// The columns of a Document (CustomerAccount, CustomerAgreement).
    fn document(&mut self) {
        self.field("name", "name");
        self.field("type", "type");
        // `title` is the Atom entry's title (envelope).
        self.field("document_title", "title");
        self.field("subject", "subject");
        self.field("author_name", "authorName");
        self.time_field("created_date_time", "createdDateTime");
        self.time_field("last_modified_date_time", "lastModifiedDateTime");
        self.field("revision_number", "revisionNumber");
        self.field("doc_status", "docStatus/value");
        self.status("status", "status");
        self.field("comment", "comment");
    }

    fn finish(mut self, source: &str) -> RecordBatch {
        self.fields_json();
        push_source(&mut self.fields, &mut self.arrays, source, self.rows.len());
        batch(self.fields, self.arrays)
    }
}

fn interval_blocks(c: &mut Columns) {
    c.text("meter_reading", |r| {
        let e = &r.entry;
        e.up_href.as_ref().or(e.self_href.as_ref())?;
        Some(block_meter_reading_key(e))
    });
    c.envelope();
    c.time("interval_start", |r| interval_start_us(&r.resource));
    c.int_field("interval_duration_s", "interval/duration");
    c.uint64("readings", |r| Some(r.resource.readings));
}

/// The SummaryMeasurements of a (Electric)UsageSummary: (column, element).
const SUMMARY_MEASUREMENTS: [(&str, &str); 10] = [
    (
        "overall_consumption_last_period",
        "overallConsumptionLastPeriod",
    ),
    (
        "current_billing_period_over_all_consumption",
        "currentBillingPeriodOverAllConsumption",
    ),
    (
        "current_day_last_year_net_consumption",
        "currentDayLastYearNetConsumption",
    ),
    ("current_day_net_consumption", "currentDayNetConsumption"),
    (
        "current_day_overall_consumption",
        "currentDayOverallConsumption",
    ),
    ("peak_demand", "peakDemand"),
    (
        "previous_day_last_year_overall_consumption",
        "previousDayLastYearOverallConsumption",
    ),
    ("previous_day_net_consumption", "previousDayNetConsumption"),
    (
        "previous_day_overall_consumption",
        "previousDayOverallConsumption",
    ),
    ("ratchet_demand", "ratchetDemand"),
];

fn usage_summaries(c: &mut Columns) {
    c.key("usage_summary");
    c.parent("usage_point", "UsagePoint");
    c.resource_name();
    c.envelope();
    c.interval("billing_period", "billingPeriod");
    c.money("bill_last_period", "billLastPeriod");
    c.money("bill_to_date", "billToDate");
    c.money("cost_additional_last_period", "costAdditionalLastPeriod");
    c.uint32("line_items", |r| {
        let n: usize = LINE_ITEMS
            .iter()
            .map(|(items, _)| items.split(&r.resource.fields).len())
            .sum();
        Some(n as u32)
    });
    c.int_field("currency", "currency");
    c.text("currency_code", |r| {
        r.int("currency").and_then(codes::currency_code)
    });
    for (column, path) in SUMMARY_MEASUREMENTS {
        c.measurement(column, path);
    }
    c.interval("ratchet_demand_period", "ratchetDemandPeriod");
    c.int_field("quality_of_reading", "qualityOfReading");
    c.text("quality_of_reading_name", |r| {
        r.int("qualityOfReading").and_then(codes::quality_name)
    });
    c.time_field("status_time_stamp", "statusTimeStamp");
    c.int_field("commodity", "commodity");
    c.text("commodity_name", |r| {
        r.int("commodity").and_then(codes::commodity_name)
    });
    c.field("tariff_profile", "tariffProfile");
    c.field("read_cycle", "readCycle");
    c.string("tariff_rider_refs", |r| {
        TARIFF_RIDERS.json(&r.resource.fields)
    });
    c.field("billing_charge_source", "billingChargeSource/agencyName");
}

/// Name of an ItemKind (LineItem `itemKind`).
fn item_kind_name(code: i64) -> Option<&'static str> {
    Some(match code {
        1 => "energy generation fee",
        2 => "energy delivery fee",
        3 => "energy usage fee",
        4 => "administrative fee",
        5 => "tax",
        6 => "energy generation credit",
        7 => "energy delivery credit",
        8 => "administrative credit",
        9 => "payment",
        10 => "information",
        _ => return None,
    })
}

fn line_items(c: &mut Columns) {
    c.key("usage_summary");
    c.parent("usage_point", "UsagePoint");
    c.resource_name();
    c.text("period", |r| r.period);
    c.uint32("item_index", |r| r.index);
    c.envelope();
    c.money("amount", "amount");
    c.money("rounding", "rounding");
    c.time_field("date_time", "dateTime");
    c.field("note", "note");
    c.measurement("measurement", "measurement");
    c.int_field("item_kind", "itemKind");
    c.text("item_kind_name", |r| {
        r.int("itemKind").and_then(item_kind_name)
    });
    c.money("unit_cost", "unitCost");
    c.interval("item_period", "itemPeriod");
}

fn power_quality_summaries(c: &mut Columns) {
    c.key("power_quality_summary");
    c.parent("usage_point", "UsagePoint");
    c.envelope();
    c.interval("summary_interval", "summaryInterval");
    for (column, path) in [
        ("flicker_plt", "flickerPlt"),
        ("flicker_pst", "flickerPst"),
        ("harmonic_voltage", "harmonicVoltage"),
        ("long_interruptions", "longInterruptions"),
        ("mains_voltage", "mainsVoltage"),
        ("measurement_protocol", "measurementProtocol"),
        ("power_frequency", "powerFrequency"),
        ("rapid_voltage_changes", "rapidVoltageChanges"),
        ("short_interruptions", "shortInterruptions"),
        ("supply_voltage_dips", "supplyVoltageDips"),
        ("supply_voltage_imbalance", "supplyVoltageImbalance"),
        ("supply_voltage_variations", "supplyVoltageVariations"),
        ("temp_overvoltage", "tempOvervoltage"),
    ] {
        c.int_field(column, path);
    }
}

fn local_time_parameters(c: &mut Columns) {
    c.key("local_time_parameters");
    c.envelope();
    c.int_field("tz_offset_s", "tzOffset");
    c.int_field("dst_offset_s", "dstOffset");
    c.field("dst_start_rule", "dstStartRule");
    c.field("dst_end_rule", "dstEndRule");
}

fn customers(c: &mut Columns) {
    c.key("customer");
    c.envelope();
    c.field("name", "name");
    c.field("customer_name", "customerName");
    c.field("organisation_name", "Organisation/organisationName");
    c.field("kind", "kind");
    c.field("special_need", "specialNeed");
    c.flag("vip", "vip");
    c.field("puc_number", "pucNumber");
    c.status("status", "status");
    c.int_field("priority_rank", "priority/rank");
    c.field("priority_type", "priority/type");
    c.field("priority_justification", "priority/justification");
    c.field("locale", "locale");
    c.address("", "Organisation/streetAddress");
    c.contact("", "Organisation");
}

fn customer_accounts(c: &mut Columns) {
    c.key("customer_account");
    c.parent("customer", "Customer");
    c.envelope();
    c.field("account_id", "accountId");
    c.document();
    c.field("billing_cycle", "billingCycle");
    c.field("budget_bill", "budgetBill");
    c.money("last_bill_amount", "lastBillAmount");
    c.field("contact_name", "contactInfo/name");
    c.field("contact_organisation_name", "contactInfo/organisationName");
    c.address("contact_", "contactInfo/streetAddress");
    c.contact("contact_", "contactInfo");
}

fn customer_agreements(c: &mut Columns) {
    c.key("customer_agreement");
    c.parent("customer_account", "CustomerAccount");
    c.parent("customer", "Customer");
    c.envelope();
    c.field("agreement_id", "agreementId");
    c.document();
    c.time_field("sign_date", "signDate");
    c.interval("validity_interval", "validityInterval");
    c.field("load_mgmt", "loadMgmt");
    c.flag("is_pre_pay", "isPrePay");
    c.time_field("shut_off_date_time", "shutOffDateTime");
    c.int_field("currency", "currency");
    c.text("currency_code", |r| {
        r.int("currency").and_then(codes::currency_code)
    });
    c.list_field("pricing_structures", "PricingStructures");
    c.status("future_status", "futureStatus");
    c.uint32("demand_response_programs", |r| {
        Some(PROGRAMS.split(&r.resource.fields).len() as u32)
    });
}

fn program_enrollments(c: &mut Columns) {
    c.text("customer_agreement", |r| {
        // A program inside an agreement belongs to that agreement; a
        // standalone DemandResponseProgram to the one its href names.
        if r.resource.name == "CustomerAgreement" {
            r.key()
        } else {
            r.parent("CustomerAgreement")
        }
    });
    c.parent("customer_account", "CustomerAccount");
    c.uint32("program_index", |r| r.index);
    c.envelope();
    c.field("program_name", "programName");
    c.field("enrollment_status", "enrollmentStatus");
    c.field("program_description", "programDescription");
    c.string("program_dates", |r| PROGRAM_DATES.json(&r.resource.fields));
    c.measurement("capacity_reservation_level", "capacityReservationLevel");
    c.measurement("dr_program_nomination", "DRProgramNomination");
}

fn service_locations(c: &mut Columns) {
    c.key("service_location");
    c.parent("customer_agreement", "CustomerAgreement");
    c.envelope();
    c.field("name", "name");
    c.field("type", "type");
    c.address("", "mainAddress");
    c.contact("", "");
    c.status("status", "status");
    c.field("geo_info_reference", "geoInfoReference");
    c.field("direction", "direction");
    c.field("x_position", "positionPoints/xPosition");
    c.field("y_position", "positionPoints/yPosition");
    c.field("z_position", "positionPoints/zPosition");
    c.field("access_method", "accessMethod");
    c.field("site_access_problem", "siteAccessProblem");
    c.flag("needs_inspection", "needsInspection");
    c.field("outage_block", "outageBlock");
    c.list("usage_points", |r| {
        r.resource
            .fields
            .iter()
            .filter(|(p, v)| p == "UsagePoints/UsagePoint" && !v.is_empty())
            .map(|(_, v)| normalise_href(v))
            .collect()
    });
}

fn meters(c: &mut Columns) {
    c.key("meter");
    c.resource_name();
    c.parent("service_location", "ServiceLocation");
    c.parent("customer_agreement", "CustomerAgreement");
    c.envelope();
    c.field("name", "name");
    c.field("type", "type");
    c.field("serial_number", "serialNumber");
    c.field("utc_number", "utcNumber");
    c.field("lot_number", "lotNumber");
    c.money("purchase_price", "purchasePrice");
    c.flag("critical", "critical");
    for (column, path) in [
        ("manufactured_date", "lifecycle/manufacturedDate"),
        ("purchase_date", "lifecycle/purchaseDate"),
        ("received_date", "lifecycle/receivedDate"),
        ("installation_date", "lifecycle/installationDate"),
        ("removal_date", "lifecycle/removalDate"),
        ("retired_date", "lifecycle/retiredDate"),
    ] {
        c.time_field(column, path);
    }
    c.status("status", "status");
    c.flag("is_virtual", "isVirtual");
    c.flag("is_pan", "isPan");
    c.field("install_code", "installCode");
    c.field("amr_system", "amrSystem");
    c.field("form_number", "formNumber");
    c.int_field("interval_length_s", "intervalLength");
    c.string("meter_multipliers", |r| {
        METER_MULTIPLIERS.json(&r.resource.fields)
    });
}

fn application_information(c: &mut Columns) {
    c.key("application_information");
    c.envelope();
    c.field("client_id", "client_id");
    c.field("client_name", "client_name");
    c.field("data_custodian_id", "dataCustodianId");
    c.int_field(
        "data_custodian_application_status",
        "dataCustodianApplicationStatus",
    );
    // thirdPartyName and thirdPartyApplicationName are not in the 4.0
    // schema but are written by real feeds.
    c.field("third_party_name", "thirdPartyName");
    c.field("third_party_application_name", "thirdPartyApplicationName");
    c.field(
        "third_party_application_description",
        "thirdPartyApplicationDescription",
    );
    c.int_field(
        "third_party_application_status",
        "thirdPartyApplicationStatus",
    );
    c.int_field("third_party_application_type", "thirdPartyApplicationType");
    c.int_field("third_party_application_use", "thirdPartyApplicationUse");
    c.field("third_party_phone", "thirdPartyPhone");
    for (column, path) in [
        ("authorization_server_uri", "authorizationServerUri"),
        (
            "authorization_server_authorization_endpoint",
            "authorizationServerAuthorizationEndpoint",
        ),
        (
            "authorization_server_registration_endpoint",
            "authorizationServerRegistrationEndpoint",
        ),
        (
            "authorization_server_token_endpoint",
            "authorizationServerTokenEndpoint",
        ),
        (
            "data_custodian_bulk_request_uri",
            "dataCustodianBulkRequestURI",
        ),
        (
            "data_custodian_resource_endpoint",
            "dataCustodianResourceEndpoint",
        ),
        (
            "data_custodian_scope_selection_screen_uri",
            "dataCustodianScopeSelectionScreenURI",
        ),
        ("third_party_notify_uri", "thirdPartyNotifyUri"),
        (
            "third_party_scope_selection_screen_uri",
            "thirdPartyScopeSelectionScreenURI",
        ),
        (
            "third_party_user_portal_screen_uri",
            "thirdPartyUserPortalScreenURI",
        ),
        ("client_uri", "client_uri"),
        ("logo_uri", "logo_uri"),
        ("tos_uri", "tos_uri"),
        ("policy_uri", "policy_uri"),
        ("registration_client_uri", "registration_client_uri"),
        ("software_id", "software_id"),
        ("software_version", "software_version"),
        ("token_endpoint_auth_method", "token_endpoint_auth_method"),
    ] {
        c.field(column, path);
    }
    c.time_field("client_id_issued_at", "client_id_issued_at");
    c.time_field("client_secret_expires_at", "client_secret_expires_at");
    c.list_field("redirect_uris", "redirect_uri");
    c.list_field("scopes", "scope");
    c.list_field("grant_types", "grant_types");
    c.list_field("response_types", "response_types");
    c.list_field("contacts", "contacts");
}

/// Name of an AuthorizationStatus.
fn authorization_status_name(code: i64) -> Option<&'static str> {
    Some(match code {
        0 => "revoked",
        1 => "active",
        2 => "denied",
        _ => return None,
    })
}

fn authorizations(c: &mut Columns) {
    c.key("authorization");
    c.envelope();
    c.int_field("status", "status");
    c.text("status_name", |r| {
        r.int("status").and_then(authorization_status_name)
    });
    c.interval("authorized_period", "authorizedPeriod");
    c.interval("published_period", "publishedPeriod");
    c.time_field("expires_at", "expires_at");
    c.field("grant_type", "grant_type");
    c.field("scope", "scope");
    c.field("token_type", "token_type");
    c.field("error", "error");
    c.field("error_description", "error_description");
    c.field("error_uri", "error_uri");
    c.field("resource_uri", "resourceURI");
    c.field("authorization_uri", "authorizationURI");
    c.field("customer_resource_uri", "customerResourceURI");
    // Not in the 4.0 schema, written by older feeds.
    c.field("third_party", "thirdParty");
}

fn subscriptions(c: &mut Columns) {
    c.key("subscription");
    c.envelope();
    c.field("hashed_id", "hashedId");
    c.time_field("last_update", "lastUpdate");
    c.list("usage_points", |r| {
        let fields = r
            .resource
            .fields
            .iter()
            .filter(|(p, v)| {
                !v.is_empty()
                    && p.rsplit('/')
                        .next()
                        .is_some_and(|l| l.contains("UsagePoint"))
            })
            .map(|(_, v)| v.as_str());
        let related = r
            .entry
            .related_hrefs
            .iter()
            .map(String::as_str)
            .filter(|h| key_through(normalise_href(h), "UsagePoint").is_some());
        let mut all: Vec<&str> = Vec::new();
        for href in fields.chain(related).map(normalise_href) {
            if !all.contains(&href) {
                all.push(href);
            }
        }
        all
    });
}

fn batch_lists(c: &mut Columns) {
    c.key("batch_list");
    c.envelope();
    c.uint32("resource_index", |r| r.index);
    c.field("resource_uri", "resources");
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Array;
    use espi_core::{parse_slice, ParseError, ParseOptions, Reading, Sink};
    use std::collections::BTreeMap;

    /// Feeds every resource of a parse to [`ResourceRows`].
    struct Collect {
        rows: ResourceRows,
        rejected: Vec<String>,
        batches: BTreeMap<ResourceTable, Vec<RecordBatch>>,
    }

    impl Sink for Collect {
        fn reading(&mut self, _: &Reading) {}
        fn entry(&mut self, entry: Entry, resources: Vec<Resource>) {
            for r in &resources {
                for (t, b) in self.rows.add("test.xml", &Arc::new(entry.clone()), r) {
                    self.batches.entry(t).or_default().push(b);
                }
            }
        }
        fn entry_rejected(&mut self, e: &ParseError, _: u64) {
            self.rejected.push(e.to_string());
        }
    }

    /// Every table's rows of a document, each table as one batch.
    fn tables(xml: &[u8]) -> BTreeMap<ResourceTable, RecordBatch> {
        let mut sink = Collect {
            rows: ResourceRows::default(),
            rejected: Vec::new(),
            batches: BTreeMap::new(),
        };
        parse_slice(xml, &ParseOptions::default(), &mut sink).unwrap();
        assert!(sink.rejected.is_empty(), "{:?}", sink.rejected);
        for (t, b) in sink.rows.flush("test.xml") {
            sink.batches.entry(t).or_default().push(b);
        }
        sink.batches
            .into_iter()
            .map(|(t, bs)| {
                let b = arrow_select::concat::concat_batches(&bs[0].schema(), &bs).unwrap();
                assert_eq!(b.schema(), empty_resource_batch(t).schema(), "{t:?}");
                (t, b)
            })
            .collect()
    }

    const SAMPLES: &str = "/work/shared/espi-samples/public";

    fn sample(name: &str) -> Option<BTreeMap<ResourceTable, RecordBatch>> {
        let path = format!("{SAMPLES}/{name}");
        match std::fs::read(&path) {
            Ok(xml) => Some(tables(&xml)),
            Err(e) => {
                eprintln!("skipping: cannot read {path}: {e}");
                None
            }
        }
    }

    fn col<'b, T: 'static>(b: &'b RecordBatch, name: &str) -> &'b T {
        b.column_by_name(name)
            .unwrap_or_else(|| panic!("no column {name}"))
            .as_any()
            .downcast_ref::<T>()
            .unwrap_or_else(|| panic!("column {name} has another type"))
    }

    fn s(b: &RecordBatch, name: &str, row: usize) -> Option<String> {
        let a = col::<StringArray>(b, name);
        a.is_valid(row).then(|| a.value(row).to_owned())
    }

    fn i(b: &RecordBatch, name: &str, row: usize) -> Option<i64> {
        let a = col::<Int64Array>(b, name);
        a.is_valid(row).then(|| a.value(row))
    }

    fn f(b: &RecordBatch, name: &str, row: usize) -> Option<f64> {
        let a = col::<Float64Array>(b, name);
        a.is_valid(row).then(|| a.value(row))
    }

    fn ts(b: &RecordBatch, name: &str, row: usize) -> Option<i64> {
        let a = col::<TimestampMicrosecondArray>(b, name);
        a.is_valid(row).then(|| a.value(row))
    }

    fn u32_(b: &RecordBatch, name: &str, row: usize) -> Option<u32> {
        let a = col::<UInt32Array>(b, name);
        a.is_valid(row).then(|| a.value(row))
    }

    fn flag(b: &RecordBatch, name: &str, row: usize) -> Option<bool> {
        let a = col::<BooleanArray>(b, name);
        a.is_valid(row).then(|| a.value(row))
    }

    fn list(b: &RecordBatch, name: &str, row: usize) -> Vec<String> {
        let a = col::<arrow_array::ListArray>(b, name);
        let v = a.value(row);
        let v = v.as_any().downcast_ref::<StringArray>().unwrap();
        v.iter().map(|x| x.unwrap().to_owned()).collect()
    }

    fn json(b: &RecordBatch, name: &str, row: usize) -> serde_json::Value {
        serde_json::from_str(&s(b, name, row).expect("json")).unwrap()
    }

    const SECOND: i64 = 1_000_000;

    #[test]
    fn every_table_has_a_schema_with_envelope_fields_and_source() {
        for table in ResourceTable::ALL {
            let b = empty_resource_batch(table);
            let schema = b.schema();
            for name in ["entry_id", "self_href", "updated", "fields", "source_file"] {
                assert!(schema.field_with_name(name).is_ok(), "{table:?} {name}");
            }
            let mut names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            let n = names.len();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), n, "{table:?} has a duplicate column");
        }
        let names: Vec<&str> = ResourceTable::ALL.iter().map(|t| t.name()).collect();
        assert_eq!(names.len(), 15);
        assert!(names.windows(2).all(|w| w[0] != w[1]));
    }

    #[test]
    fn keys_are_cut_through_a_whole_segment() {
        assert_eq!(
            key_through("a/UsagePoint/1/UsageSummary/2", "UsagePoint"),
            Some("a/UsagePoint/1")
        );
        assert_eq!(
            key_through(
                "RetailCustomer/9/UsagePoint/01/ElectricPowerUsageSummary",
                "UsagePoint"
            ),
            Some("RetailCustomer/9/UsagePoint/01")
        );
        assert_eq!(key_through("a/UsagePoint", "UsagePoint"), None);
        assert_eq!(
            key_through("RetailCustomer/1/Customer/2", "Customer"),
            Some("RetailCustomer/1/Customer/2")
        );
        assert_eq!(key_through("RetailCustomer/1", "Customer"), None);
        assert_eq!(key_through("", "Customer"), None);
    }

    #[test]
    fn times_in_seconds_milliseconds_or_rfc3339() {
        assert_eq!(time_us("1395374400"), Some(1_395_374_400 * SECOND));
        assert_eq!(time_us(" 1440109957976 "), Some(1_440_109_957_976_000));
        assert_eq!(time_us("-5"), Some(-5 * SECOND));
        assert_eq!(
            time_us("2012-05-08T14:43:06Z"),
            Some(1_336_488_186 * SECOND)
        );
        assert_eq!(time_us("1.5"), Some(1_500_000));
        assert_eq!(time_us("soon"), None);
        assert_eq!(time_us(""), None);
        // Microseconds since 1970 overflow as seconds and are not guessed.
        assert_eq!(time_us("1440109957976000"), None);
        assert_eq!(time_us("99999999999999999999"), None);
    }

    #[test]
    fn repeated_elements_are_split_by_repeats_order_and_gaps() {
        let f = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        let p = "costAdditionalDetailLastPeriod";
        let fields = f(&[
            ("billLastPeriod", "1"),
            // item 0: every element
            ("costAdditionalDetailLastPeriod/amount", "10"),
            ("costAdditionalDetailLastPeriod/note", "a"),
            ("costAdditionalDetailLastPeriod/itemKind", "1"),
            // item 1: no amount: note goes back in schema order
            ("costAdditionalDetailLastPeriod/note", "b"),
            ("costAdditionalDetailLastPeriod/itemKind", "2"),
            // item 2, then item 3 with only an itemPeriod: a repeat
            ("costAdditionalDetailLastPeriod/note", "c"),
            ("costAdditionalDetailLastPeriod/itemPeriod/start", "5"),
            ("costAdditionalDetailLastPeriod/itemPeriod/start", "6"),
            ("currency", "840"),
            // item 4: after another field
            ("costAdditionalDetailLastPeriod/unitCost", "7"),
        ]);
        let items = LINE_ITEMS[0].0.split(&fields);
        let notes: Vec<Vec<&str>> = items
            .iter()
            .map(|g| g.iter().map(|(_, v)| v.as_str()).collect())
            .collect();
        assert_eq!(
            notes,
            vec![
                vec!["10", "a", "1"],
                vec!["b", "2"],
                vec!["c", "5"],
                vec!["6"],
                vec!["7"]
            ]
        );
        assert_eq!(items[0][0].0, "amount");
        assert_eq!(items[3][0].0, "itemPeriod/start");
        // A prefix that only starts another element's name is not a match.
        assert!(LINE_ITEMS[0]
            .0
            .split(&f(&[(&format!("{p}X/amount"), "1")]))
            .is_empty());
        // Program dates repeat inside one program.
        let programs = PROGRAMS.split(&f(&[
            ("DemandResponseProgram/programName", "A"),
            ("DemandResponseProgram/programDate/programDate", "1"),
            ("DemandResponseProgram/programDate/programDate", "2"),
            ("DemandResponseProgram/programName", "B"),
        ]));
        assert_eq!(programs.len(), 2);
        assert_eq!(programs[0].len(), 3);
    }

    const SUMMARY: &str = r#"<feed xmlns="http://www.w3.org/2005/Atom">
<entry><id>s1</id>
 <link rel="self" href="https://x/espi/1_1/resource/Subscription/5/UsagePoint/7/UsageSummary/1"/>
 <link rel="up" href="https://x/espi/1_1/resource/Subscription/5/UsagePoint/7/UsageSummary"/>
 <published>2014-03-21T04:00:00Z</published><updated>2014-03-21T04:00:00Z</updated>
 <content><UsageSummary xmlns="http://naesb.org/espi">
  <billingPeriod><duration>2419200</duration><start>1391230800</start></billingPeriod>
  <billLastPeriod>6752000</billLastPeriod>
  <billToDate>12x</billToDate>
  <costAdditionalDetailLastPeriod>
   <amount>150000</amount><rounding>-3</rounding><dateTime>1391230800</dateTime>
   <note>Delivery</note>
   <measurement><powerOfTenMultiplier>-3</powerOfTenMultiplier><uom>72</uom><value>123456</value></measurement>
   <itemKind>2</itemKind><unitCost>1200</unitCost>
   <itemPeriod><duration>86400</duration><start>1391230800</start></itemPeriod>
  </costAdditionalDetailLastPeriod>
  <costAdditionalDetailLastPeriod><note>Info only</note><itemKind>10</itemKind></costAdditionalDetailLastPeriod>
  <costAdditionalDetailLastPeriod><amount>oops</amount><note>Bad</note><itemKind>5</itemKind></costAdditionalDetailLastPeriod>
  <currency>840</currency>
  <overallConsumptionLastPeriod><powerOfTenMultiplier>3</powerOfTenMultiplier><uom>72</uom><value>625</value></overallConsumptionLastPeriod>
  <currentBillingPeriodOverAllConsumption><powerOfTenMultiplier>4096</powerOfTenMultiplier><timeStamp>1440109957976</timeStamp><uom>65535</uom><value>1</value></currentBillingPeriodOverAllConsumption>
  <peakDemand><powerOfTenMultiplier>x</powerOfTenMultiplier><uom>38</uom><value>5000</value></peakDemand>
  <ratchetDemand><uom>38</uom><value>7</value></ratchetDemand>
  <qualityOfReading>14</qualityOfReading>
  <statusTimeStamp>1395374400</statusTimeStamp>
  <commodity>1</commodity>
  <tariffProfile>E-1</tariffProfile>
  <readCycle>Q</readCycle>
  <tariffRiderRefs>
   <tariffRiderRef><riderType>CARE</riderType><enrollmentStatus>enrolled</enrollmentStatus><effectiveDate>1</effectiveDate></tariffRiderRef>
   <tariffRiderRef><riderType>NEM</riderType><enrollmentStatus>enrolled</enrollmentStatus><effectiveDate>2</effectiveDate></tariffRiderRef>
  </tariffRiderRefs>
  <billingChargeSource><agencyName>CCA</agencyName></billingChargeSource>
 </UsageSummary></content></entry>
<entry><content><UsageSummary xmlns="http://naesb.org/espi"><statusTimeStamp>never</statusTimeStamp></UsageSummary></content></entry>
</feed>"#;

    #[test]
    fn usage_summary_columns_and_line_items_from_minimal_xml() {
        let t = tables(SUMMARY.as_bytes());
        let b = &t[&ResourceTable::UsageSummaries];
        assert_eq!(b.num_rows(), 2);
        assert_eq!(
            s(b, "usage_point", 0).as_deref(),
            Some("espi/1_1/resource/Subscription/5/UsagePoint/7")
        );
        assert_eq!(
            s(b, "usage_summary", 0).as_deref(),
            Some("espi/1_1/resource/Subscription/5/UsagePoint/7/UsageSummary/1")
        );
        assert_eq!(s(b, "resource", 0).as_deref(), Some("UsageSummary"));
        assert_eq!(s(b, "entry_id", 0).as_deref(), Some("s1"));
        assert_eq!(
            ts(b, "billing_period_start", 0),
            Some(1_391_230_800 * SECOND)
        );
        assert_eq!(i(b, "billing_period_duration_s", 0), Some(2_419_200));
        assert_eq!(i(b, "bill_last_period", 0), Some(6_752_000));
        assert_eq!(f(b, "bill_last_period_amount", 0), Some(67.52));
        // Garbage is null, and its text is kept in `fields`.
        assert_eq!(i(b, "bill_to_date", 0), None);
        assert_eq!(f(b, "bill_to_date_amount", 0), None);
        assert_eq!(json(b, "fields", 0)["billToDate"], "12x");
        assert_eq!(u32_(b, "line_items", 0), Some(3));
        assert_eq!(i(b, "currency", 0), Some(840));
        assert_eq!(s(b, "currency_code", 0).as_deref(), Some("USD"));
        assert_eq!(
            i(b, "overall_consumption_last_period_value_raw", 0),
            Some(625)
        );
        assert_eq!(
            s(b, "overall_consumption_last_period_unit", 0).as_deref(),
            Some("kWh")
        );
        assert_eq!(
            f(b, "overall_consumption_last_period_value", 0),
            Some(625.0)
        ); // 625 x 10^3 Wh
           // Absurd multiplier and unknown unit: no value, but the raw parts.
        assert_eq!(
            f(b, "current_billing_period_over_all_consumption_value", 0),
            None
        );
        assert_eq!(
            s(b, "current_billing_period_over_all_consumption_unit", 0).as_deref(),
            Some("uom:65535")
        );
        assert_eq!(
            ts(
                b,
                "current_billing_period_over_all_consumption_time_stamp",
                0
            ),
            Some(1_440_109_957_976_000)
        );
        // An unreadable multiplier is not read as 0.
        assert_eq!(f(b, "peak_demand_value", 0), None);
        assert_eq!(i(b, "peak_demand_value_raw", 0), Some(5000));
        // A missing multiplier is 0.
        assert_eq!(f(b, "ratchet_demand_value", 0), Some(0.007));
        assert_eq!(f(b, "previous_day_net_consumption_value", 0), None);
        assert_eq!(s(b, "quality_of_reading_name", 0).as_deref(), Some("raw"));
        assert_eq!(ts(b, "status_time_stamp", 0), Some(1_395_374_400 * SECOND));
        assert_eq!(
            s(b, "commodity_name", 0).as_deref(),
            Some("electricity SecondaryMetered")
        );
        assert_eq!(s(b, "tariff_profile", 0).as_deref(), Some("E-1"));
        assert_eq!(s(b, "read_cycle", 0).as_deref(), Some("Q"));
        assert_eq!(
            json(b, "tariff_rider_refs", 0),
            serde_json::json!([
                {"riderType": "CARE", "enrollmentStatus": "enrolled", "effectiveDate": "1"},
                {"riderType": "NEM", "enrollmentStatus": "enrolled", "effectiveDate": "2"}
            ])
        );
        assert_eq!(s(b, "billing_charge_source", 0).as_deref(), Some("CCA"));
        // The second summary has nothing: nulls, no panic.
        assert_eq!(s(b, "usage_point", 1), None);
        assert_eq!(ts(b, "status_time_stamp", 1), None);
        assert_eq!(u32_(b, "line_items", 1), Some(0));
        assert_eq!(s(b, "tariff_rider_refs", 1), None);

        let li = &t[&ResourceTable::UsageSummaryLineItems];
        assert_eq!(li.num_rows(), 3);
        assert_eq!(s(li, "usage_summary", 0), s(b, "usage_summary", 0));
        assert_eq!(s(li, "usage_point", 0), s(b, "usage_point", 0));
        assert_eq!(s(li, "entry_id", 2).as_deref(), Some("s1"));
        assert_eq!(s(li, "period", 0).as_deref(), Some("last"));
        assert_eq!(
            (0..3)
                .map(|r| u32_(li, "item_index", r))
                .collect::<Vec<_>>(),
            [Some(0), Some(1), Some(2)]
        );
        assert_eq!(i(li, "amount_raw", 0), Some(150_000));
        assert_eq!(f(li, "amount", 0), Some(1.5));
        assert_eq!(i(li, "rounding", 0), Some(-3));
        assert_eq!(f(li, "rounding_amount", 0), Some(-0.00003));
        assert_eq!(ts(li, "date_time", 0), Some(1_391_230_800 * SECOND));
        assert_eq!(s(li, "note", 0).as_deref(), Some("Delivery"));
        assert_eq!(f(li, "measurement_value", 0), Some(0.123456)); // 123456 x 10^-3 Wh
        assert_eq!(s(li, "measurement_unit", 0).as_deref(), Some("kWh"));
        assert_eq!(i(li, "item_kind", 0), Some(2));
        assert_eq!(
            s(li, "item_kind_name", 0).as_deref(),
            Some("energy delivery fee")
        );
        assert_eq!(i(li, "unit_cost", 0), Some(1200));
        assert_eq!(f(li, "unit_cost_amount", 0), Some(0.012));
        assert_eq!(i(li, "item_period_duration_s", 0), Some(86_400));
        assert_eq!(s(li, "note", 1).as_deref(), Some("Info only"));
        assert_eq!(i(li, "amount_raw", 1), None);
        assert_eq!(f(li, "measurement_value", 1), None);
        assert_eq!(s(li, "note", 2).as_deref(), Some("Bad"));
        assert_eq!(i(li, "amount_raw", 2), None);
        assert_eq!(
            json(li, "fields", 2),
            serde_json::json!({"amount": "oops", "note": "Bad", "itemKind": "5"})
        );
    }

    #[test]
    fn every_other_table_from_minimal_xml() {
        let xml = r#"<feed xmlns="http://www.w3.org/2005/Atom">
<entry><link rel="self" href="/RetailCustomer/1/UsagePoint/2/MeterReading/3/IntervalBlock/4"/>
 <link rel="up" href="/RetailCustomer/1/UsagePoint/2/MeterReading/3/IntervalBlock"/>
 <content><IntervalBlock xmlns="http://naesb.org/espi"><interval><duration>86400</duration><start>1700000000</start></interval>
  <IntervalReading><value>1</value></IntervalReading><IntervalReading><value>2</value></IntervalReading></IntervalBlock></content></entry>
<entry><content><IntervalBlock xmlns="http://naesb.org/espi"><interval><duration>x</duration><start>y</start></interval></IntervalBlock></content></entry>
<entry><link rel="self" href="/RetailCustomer/1/UsagePoint/2/ElectricPowerQualitySummary/1"/>
 <content><ElectricPowerQualitySummary xmlns="http://naesb.org/espi"><flickerPlt>1</flickerPlt><measurementProtocol>bad</measurementProtocol>
  <summaryInterval><duration>60</duration><start>1</start></summaryInterval><tempOvervoltage>13</tempOvervoltage></ElectricPowerQualitySummary></content></entry>
<entry><link rel="self" href="/LocalTimeParameters/1"/><content><LocalTimeParameters xmlns="http://naesb.org/espi">
  <dstEndRule>B40E2000</dstEndRule><dstOffset>3600</dstOffset><dstStartRule>360E2000</dstStartRule><tzOffset>-28800</tzOffset></LocalTimeParameters></content></entry>
<entry><link rel="self" href="/RetailCustomer/1/Customer/9"/><content><Customer>
  <Organisation><streetAddress><streetDetail><number>1</number><name>MAIN ST</name></streetDetail>
   <townDetail><name>TOWN</name><stateOrProvince>CA</stateOrProvince></townDetail><postalCode>90000</postalCode></streetAddress>
   <electronicAddress><email1>a@b.c</email1></electronicAddress><organisationName>ACME</organisationName></Organisation>
  <kind>residential</kind><vip>maybe</vip><status><value>Active</value><dateTime>1</dateTime></status><priority><rank>two</rank></priority><customerName></customerName></Customer></content></entry>
<entry><link rel="self" href="/RetailCustomer/1/Customer/9/CustomerAccount/8"/><content><CustomerAccount xmlns="http://naesb.org/espi/customer">
  <billingCycle>M</billingCycle><lastBillAmount>1234500</lastBillAmount>
  <contactInfo><streetAddress><townDetail><name>TOWN</name></townDetail></streetAddress></contactInfo><accountId>A-1</accountId></CustomerAccount></content></entry>
<entry><link rel="self" href="/RetailCustomer/1/Customer/9/CustomerAccount/8/CustomerAgreement/7"/><content><CustomerAgreement xmlns="http://naesb.org/espi/customer">
  <type>RES</type><signDate>1376550000</signDate><validityInterval><duration>10</duration><start>20</start></validityInterval><isPrePay>false</isPrePay>
  <DemandResponseProgram><programName>SmartRate</programName><enrollmentStatus>enrolled</enrollmentStatus>
   <programDate><programDate>100</programDate><programDateDescription>start</programDateDescription></programDate>
   <programDate><programDate>200</programDate></programDate>
   <capacityReservationLevel><powerOfTenMultiplier>0</powerOfTenMultiplier><uom>38</uom><value>2500</value></capacityReservationLevel></DemandResponseProgram>
  <DemandResponseProgram><enrollmentStatus>unenrolled</enrollmentStatus></DemandResponseProgram>
  <PricingStructures>E-TOU-C</PricingStructures><PricingStructures>CARE</PricingStructures>
  <currency>840</currency><futureStatus><value>Closed</value></futureStatus><agreementId>AG-7</agreementId></CustomerAgreement></content></entry>
<entry><link rel="self" href="/RetailCustomer/1/Customer/9/CustomerAccount/8/CustomerAgreement/7/ServiceLocation/6"/><content><ServiceLocation xmlns="http://naesb.org/espi/customer">
  <mainAddress><streetDetail><number>5</number><name>ELM</name></streetDetail><townDetail><name>CITY</name></townDetail><postalCode>95000</postalCode></mainAddress>
  <positionPoints><xPosition>-122.1</xPosition><yPosition>37.2</yPosition></positionPoints><needsInspection>true</needsInspection>
  <UsagePoints><UsagePoint>https://h/espi/1_1/resource/RetailCustomer/1/UsagePoint/2</UsagePoint></UsagePoints>
  <UsagePoints><UsagePoint>/RetailCustomer/1/UsagePoint/3</UsagePoint></UsagePoints></ServiceLocation></content></entry>
<entry><link rel="self" href="/RetailCustomer/1/Customer/9/CustomerAccount/8/CustomerAgreement/7/ServiceLocation/6/Meter/5"/><content><Meter xmlns="http://naesb.org/espi/customer">
  <serialNumber>SN1</serialNumber><lifecycle><installationDate>1000</installationDate></lifecycle><amrSystem>AMI</amrSystem><formNumber>2S</formNumber>
  <MeterMultipliers><kind>kH</kind><value>7.2</value></MeterMultipliers><MeterMultipliers><kind>ctRatio</kind></MeterMultipliers>
  <intervalLength>900</intervalLength></Meter></content></entry>
<entry><link rel="self" href="/ApplicationInformation/1"/><content><ApplicationInformation xmlns="http://naesb.org/espi">
  <dataCustodianId>dc</dataCustodianId><client_secret>s3cret</client_secret><redirect_uri>https://a/cb</redirect_uri><client_id>cid</client_id>
  <client_id_issued_at>1600000000</client_id_issued_at><scope>FB=1</scope><scope>FB=2</scope>
  <grant_types>refresh_token</grant_types><grant_types>authorization_code</grant_types></ApplicationInformation></content></entry>
<entry><link rel="self" href="/Authorization/1"/><content><Authorization xmlns="http://naesb.org/espi">
  <authorizedPeriod><duration>100</duration><start>1690904231</start></authorizedPeriod><status>1</status><expires_at>1893456000</expires_at>
  <scope>FB=1</scope><token_type>Bearer</token_type><resourceURI>https://r</resourceURI><authorizationURI>https://a</authorizationURI></Authorization></content></entry>
<entry><link rel="self" href="/Subscription/5"/><link rel="related" href="/RetailCustomer/1/UsagePoint/2"/><link rel="related" href="/ApplicationInformation/1"/>
 <content><Subscription xmlns="http://naesb.org/espi"><hashedId>abc</hashedId><lastUpdate>1700000000</lastUpdate></Subscription></content></entry>
<entry><content><BatchList xmlns="http://naesb.org/espi"><resources>https://r/1</resources><resources>https://r/2</resources></BatchList></content></entry>
<entry><content><BatchList xmlns="http://naesb.org/espi"/></content></entry>
<entry><content><ServiceCategory xmlns="http://naesb.org/espi"><kind>0</kind></ServiceCategory></content></entry>
</feed>"#;
        let t = tables(xml.as_bytes());
        assert_eq!(t.len(), 13, "{:?}", t.keys().collect::<Vec<_>>());

        let b = &t[&ResourceTable::IntervalBlocks];
        assert_eq!(b.num_rows(), 2);
        assert_eq!(
            s(b, "meter_reading", 0).as_deref(),
            Some("RetailCustomer/1/UsagePoint/2/MeterReading/3")
        );
        assert_eq!(ts(b, "interval_start", 0), Some(1_700_000_000 * SECOND));
        assert_eq!(i(b, "interval_duration_s", 0), Some(86_400));
        assert_eq!(col::<UInt64Array>(b, "readings").value(0), 2);
        assert_eq!(
            (
                s(b, "meter_reading", 1),
                ts(b, "interval_start", 1),
                i(b, "interval_duration_s", 1)
            ),
            (None, None, None)
        );

        let b = &t[&ResourceTable::PowerQualitySummaries];
        assert_eq!(
            s(b, "usage_point", 0).as_deref(),
            Some("RetailCustomer/1/UsagePoint/2")
        );
        assert_eq!(i(b, "flicker_plt", 0), Some(1));
        assert_eq!(i(b, "measurement_protocol", 0), None);
        assert_eq!(i(b, "temp_overvoltage", 0), Some(13));
        assert_eq!(i(b, "flicker_pst", 0), None);
        assert_eq!(i(b, "summary_interval_duration_s", 0), Some(60));

        let b = &t[&ResourceTable::LocalTimeParameters];
        assert_eq!(
            s(b, "local_time_parameters", 0).as_deref(),
            Some("LocalTimeParameters/1")
        );
        assert_eq!(i(b, "tz_offset_s", 0), Some(-28_800));
        assert_eq!(i(b, "dst_offset_s", 0), Some(3600));
        assert_eq!(s(b, "dst_start_rule", 0).as_deref(), Some("360E2000"));
        assert_eq!(s(b, "dst_end_rule", 0).as_deref(), Some("B40E2000"));

        let b = &t[&ResourceTable::Customers];
        assert_eq!(
            s(b, "customer", 0).as_deref(),
            Some("RetailCustomer/1/Customer/9")
        );
        assert_eq!(s(b, "organisation_name", 0).as_deref(), Some("ACME"));
        assert_eq!(s(b, "customer_name", 0), None); // empty element
        assert_eq!(s(b, "kind", 0).as_deref(), Some("residential"));
        assert_eq!(flag(b, "vip", 0), None);
        assert_eq!(s(b, "status", 0).as_deref(), Some("Active"));
        assert_eq!(ts(b, "status_date_time", 0), Some(SECOND));
        assert_eq!(i(b, "priority_rank", 0), None);
        assert_eq!(s(b, "street_number", 0).as_deref(), Some("1"));
        assert_eq!(s(b, "street_name", 0).as_deref(), Some("MAIN ST"));
        assert_eq!(s(b, "town_name", 0).as_deref(), Some("TOWN"));
        assert_eq!(s(b, "state_or_province", 0).as_deref(), Some("CA"));
        assert_eq!(s(b, "postal_code", 0).as_deref(), Some("90000"));
        assert_eq!(s(b, "email1", 0).as_deref(), Some("a@b.c"));

        let b = &t[&ResourceTable::CustomerAccounts];
        assert_eq!(
            s(b, "customer", 0).as_deref(),
            Some("RetailCustomer/1/Customer/9")
        );
        assert_eq!(s(b, "account_id", 0).as_deref(), Some("A-1"));
        assert_eq!(s(b, "billing_cycle", 0).as_deref(), Some("M"));
        assert_eq!(i(b, "last_bill_amount_raw", 0), Some(1_234_500));
        assert_eq!(f(b, "last_bill_amount", 0), Some(12.345));
        assert_eq!(s(b, "contact_town_name", 0).as_deref(), Some("TOWN"));

        let b = &t[&ResourceTable::CustomerAgreements];
        assert_eq!(
            s(b, "customer_account", 0).as_deref(),
            Some("RetailCustomer/1/Customer/9/CustomerAccount/8")
        );
        assert_eq!(
            s(b, "customer", 0).as_deref(),
            Some("RetailCustomer/1/Customer/9")
        );
        assert_eq!(s(b, "agreement_id", 0).as_deref(), Some("AG-7"));
        assert_eq!(s(b, "type", 0).as_deref(), Some("RES"));
        assert_eq!(ts(b, "sign_date", 0), Some(1_376_550_000 * SECOND));
        assert_eq!(ts(b, "validity_interval_start", 0), Some(20 * SECOND));
        assert_eq!(flag(b, "is_pre_pay", 0), Some(false));
        assert_eq!(list(b, "pricing_structures", 0), ["E-TOU-C", "CARE"]);
        assert_eq!(s(b, "future_status", 0).as_deref(), Some("Closed"));
        assert_eq!(s(b, "currency_code", 0).as_deref(), Some("USD"));
        assert_eq!(u32_(b, "demand_response_programs", 0), Some(2));

        let b = &t[&ResourceTable::ProgramEnrollments];
        assert_eq!(b.num_rows(), 2);
        assert_eq!(
            s(b, "customer_agreement", 0).as_deref(),
            Some("RetailCustomer/1/Customer/9/CustomerAccount/8/CustomerAgreement/7")
        );
        assert_eq!(s(b, "program_name", 0).as_deref(), Some("SmartRate"));
        assert_eq!(s(b, "enrollment_status", 0).as_deref(), Some("enrolled"));
        assert_eq!(
            json(b, "program_dates", 0),
            serde_json::json!([{"programDate": "100", "programDateDescription": "start"}, {"programDate": "200"}])
        );
        assert_eq!(f(b, "capacity_reservation_level_value", 0), Some(2.5)); // 2500 W
        assert_eq!(
            s(b, "capacity_reservation_level_unit", 0).as_deref(),
            Some("kW")
        );
        assert_eq!(
            (u32_(b, "program_index", 1), s(b, "program_name", 1)),
            (Some(1), None)
        );
        assert_eq!(s(b, "enrollment_status", 1).as_deref(), Some("unenrolled"));

        let b = &t[&ResourceTable::ServiceLocations];
        assert_eq!(
            s(b, "customer_agreement", 0).as_deref(),
            Some("RetailCustomer/1/Customer/9/CustomerAccount/8/CustomerAgreement/7")
        );
        assert_eq!(s(b, "street_number", 0).as_deref(), Some("5"));
        assert_eq!(s(b, "street_name", 0).as_deref(), Some("ELM"));
        assert_eq!(s(b, "town_name", 0).as_deref(), Some("CITY"));
        assert_eq!(s(b, "postal_code", 0).as_deref(), Some("95000"));
        assert_eq!(s(b, "x_position", 0).as_deref(), Some("-122.1"));
        assert_eq!(flag(b, "needs_inspection", 0), Some(true));
        assert_eq!(
            list(b, "usage_points", 0),
            [
                "espi/1_1/resource/RetailCustomer/1/UsagePoint/2",
                "RetailCustomer/1/UsagePoint/3"
            ]
        );

        let b = &t[&ResourceTable::Meters];
        assert_eq!(s(b, "service_location", 0).as_deref(), Some("RetailCustomer/1/Customer/9/CustomerAccount/8/CustomerAgreement/7/ServiceLocation/6"));
        assert_eq!(s(b, "resource", 0).as_deref(), Some("Meter"));
        assert_eq!(s(b, "serial_number", 0).as_deref(), Some("SN1"));
        assert_eq!(ts(b, "installation_date", 0), Some(1000 * SECOND));
        assert_eq!(s(b, "form_number", 0).as_deref(), Some("2S"));
        assert_eq!(i(b, "interval_length_s", 0), Some(900));
        assert_eq!(
            json(b, "meter_multipliers", 0),
            serde_json::json!([{"kind": "kH", "value": "7.2"}, {"kind": "ctRatio"}])
        );

        let b = &t[&ResourceTable::ApplicationInformation];
        assert_eq!(s(b, "client_id", 0).as_deref(), Some("cid"));
        assert_eq!(s(b, "data_custodian_id", 0).as_deref(), Some("dc"));
        assert_eq!(
            ts(b, "client_id_issued_at", 0),
            Some(1_600_000_000 * SECOND)
        );
        assert_eq!(list(b, "scopes", 0), ["FB=1", "FB=2"]);
        assert_eq!(
            list(b, "grant_types", 0),
            ["refresh_token", "authorization_code"]
        );
        assert_eq!(list(b, "redirect_uris", 0), ["https://a/cb"]);
        assert!(list(b, "contacts", 0).is_empty());

        let b = &t[&ResourceTable::Authorizations];
        assert_eq!(i(b, "status", 0), Some(1));
        assert_eq!(s(b, "status_name", 0).as_deref(), Some("active"));
        assert_eq!(
            ts(b, "authorized_period_start", 0),
            Some(1_690_904_231 * SECOND)
        );
        assert_eq!(i(b, "authorized_period_duration_s", 0), Some(100));
        assert_eq!(ts(b, "published_period_start", 0), None);
        assert_eq!(ts(b, "expires_at", 0), Some(1_893_456_000 * SECOND));
        assert_eq!(s(b, "resource_uri", 0).as_deref(), Some("https://r"));
        assert_eq!(s(b, "token_type", 0).as_deref(), Some("Bearer"));

        let b = &t[&ResourceTable::Subscriptions];
        assert_eq!(s(b, "subscription", 0).as_deref(), Some("Subscription/5"));
        assert_eq!(s(b, "hashed_id", 0).as_deref(), Some("abc"));
        assert_eq!(ts(b, "last_update", 0), Some(1_700_000_000 * SECOND));
        assert_eq!(
            list(b, "usage_points", 0),
            ["RetailCustomer/1/UsagePoint/2"]
        );

        let b = &t[&ResourceTable::BatchLists];
        assert_eq!(b.num_rows(), 3);
        assert_eq!(s(b, "resource_uri", 0).as_deref(), Some("https://r/1"));
        assert_eq!(s(b, "resource_uri", 1).as_deref(), Some("https://r/2"));
        assert_eq!(u32_(b, "resource_index", 1), Some(1));
        // An empty list still has its row.
        assert_eq!(
            (s(b, "resource_uri", 2), u32_(b, "resource_index", 2)),
            (None, None)
        );
    }

    #[test]
    fn standalone_demand_response_program_finds_its_agreement() {
        let xml = r#"<entry xmlns="http://www.w3.org/2005/Atom"><link rel="self" href="/C/1/CustomerAccount/2/CustomerAgreement/3/DemandResponseProgram/4"/>
<content><DemandResponseProgram xmlns="http://naesb.org/espi/customer"><programName>P</programName></DemandResponseProgram></content></entry>"#;
        let t = tables(xml.as_bytes());
        let b = &t[&ResourceTable::ProgramEnrollments];
        assert_eq!(
            s(b, "customer_agreement", 0).as_deref(),
            Some("C/1/CustomerAccount/2/CustomerAgreement/3")
        );
        assert_eq!(s(b, "program_name", 0).as_deref(), Some("P"));
    }

    #[test]
    fn batches_are_cut_at_build_rows() {
        let mut rows = ResourceRows::default();
        let entry = Entry::default();
        let mut block = Resource::new("IntervalBlock", espi_model::resource::Namespace::Espi);
        block.fields.push(("interval/start".into(), "0".into()));
        let mut full = Vec::new();
        for _ in 0..BUILD_ROWS * 2 + 5 {
            full.extend(rows.add("s", &Arc::new(entry.clone()), &block));
        }
        assert_eq!(full.len(), 2);
        assert!(full
            .iter()
            .all(|(t, b)| *t == ResourceTable::IntervalBlocks && b.num_rows() == BUILD_ROWS));
        let rest = rows.flush("s");
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].1.num_rows(), 5);
        assert!(rows.flush("s").is_empty());
        // A resource of no table is ignored.
        let other = Resource::new("UsagePoint", espi_model::resource::Namespace::Espi);
        assert!(rows.add("s", &Arc::new(entry.clone()), &other).is_empty());
        assert!(rows.flush("s").is_empty());
        // A BatchList longer than a batch is cut too.
        let mut list = Resource::new("BatchList", espi_model::resource::Namespace::Espi);
        for n in 0..BUILD_ROWS + 1 {
            list.fields
                .push(("resources".into(), format!("https://r/{n}")));
        }
        let full = rows.add("s", &Arc::new(entry.clone()), &list);
        assert_eq!(full.len(), 1);
        assert_eq!(rows.flush("s")[0].1.num_rows(), 1);
    }

    // Real files. Values below were read from the XML by hand.

    #[test]
    fn sample_enbridge_usage_summaries_and_line_items() {
        let Some(t) = sample("tdresser__EGD_Gas_EnergyUsage_20221225_20241225.xml") else {
            return;
        };
        let b = &t[&ResourceTable::UsageSummaries];
        assert_eq!(b.num_rows(), 24);
        assert_eq!(
            s(b, "entry_id", 0).as_deref(),
            Some("urn:uuid:2198AF3F-3278-5CDF-8965-A188E0266636")
        );
        assert_eq!(s(b, "usage_point", 0).as_deref(), Some("espi/1_1/resource/Subscription/00u48ve20h8BPVC1A697/UsagePoint/B111B9A3-BD27-52E1-B444-F79B2AB7E01B"));
        assert_eq!(i(b, "bill_last_period", 0), Some(64_170));
        // In hundred-thousandths as the standard says; Enbridge means $64.17
        // (its line items say the amounts are in 10^-3 currency units).
        assert_eq!(f(b, "bill_last_period_amount", 0), Some(0.6417));
        assert_eq!(
            ts(b, "billing_period_start", 0),
            Some(1_670_025_600 * SECOND)
        );
        assert_eq!(i(b, "billing_period_duration_s", 0), Some(2_851_200));
        assert_eq!(u32_(b, "line_items", 0), Some(37));

        let li = &t[&ResourceTable::UsageSummaryLineItems];
        // 37 items in most bills, 39 in three (counted in the XML).
        assert_eq!(li.num_rows(), 894);
        let first: Vec<usize> = (0..li.num_rows())
            .filter(|&r| s(li, "entry_id", r) == s(b, "entry_id", 0))
            .collect();
        assert_eq!(first.len(), 37);
        let r0 = first[0];
        assert_eq!(s(li, "note", r0).as_deref(), Some("Amount Due"));
        assert_eq!(i(li, "amount_raw", r0), Some(64_170));
        assert_eq!(i(li, "item_kind", r0), Some(10));
        assert_eq!(i(li, "measurement_uom", r0), Some(80));
        assert_eq!(i(li, "measurement_value_raw", r0), None);
        // Item 1 has no amount: its note starts a new item.
        let r1 = first[1];
        assert_eq!(s(li, "note", r1).as_deref(), Some("Due Date"));
        assert_eq!(i(li, "amount_raw", r1), None);
        assert_eq!(i(li, "measurement_value_raw", r1), Some(1_675_036_800));
        let r3 = first[3];
        assert_eq!(
            (
                s(li, "note", r3).as_deref(),
                i(li, "amount_raw", r3),
                i(li, "item_kind", r3)
            ),
            (Some("HST ($)"), Some(6990), Some(5))
        );
        let r24 = first[24];
        assert_eq!(s(li, "note", r24).as_deref(), Some("Gas Supply Rate ¢/m3"));
        assert_eq!(i(li, "amount_raw", r24), Some(259_526));
        assert_eq!(i(li, "measurement_power_of_ten_multiplier", r24), Some(-4));
        let r36 = first[36];
        assert_eq!(
            s(li, "note", r36).as_deref(),
            Some("Transportation to Enbridge (LVB)")
        );
        assert_eq!(u32_(li, "item_index", r36), Some(36));
        let with_amount = first
            .iter()
            .filter(|&&r| i(li, "amount_raw", r).is_some())
            .count();
        assert_eq!(with_amount, 26);
    }

    #[test]
    fn sample_pge_usage_summaries_with_millisecond_status_time() {
        let Some(t) = sample("wexus__PGEUsageSummaries.xml") else {
            return;
        };
        let b = &t[&ResourceTable::UsageSummaries];
        assert_eq!(b.num_rows(), 3);
        assert_eq!(
            s(b, "usage_point", 0).as_deref(),
            Some("GreenButtonConnect/espi/1_1/resource/Subscription/1/UsagePoint/1")
        );
        assert_eq!(i(b, "bill_last_period", 0), Some(23_364_000));
        assert_eq!(f(b, "bill_last_period_amount", 0), Some(233.64));
        assert_eq!(
            f(b, "overall_consumption_last_period_value", 0),
            Some(146.0)
        ); // 146000000 x 10^-3 Wh
        assert_eq!(
            s(b, "overall_consumption_last_period_unit", 0).as_deref(),
            Some("kWh")
        );
        assert_eq!(ts(b, "status_time_stamp", 0), Some(1_440_109_957_976_000));
        assert_eq!(
            s(b, "quality_of_reading_name", 0).as_deref(),
            Some("validated")
        );
        assert_eq!(s(b, "tariff_profile", 0).as_deref(), Some("HAG5A"));
        assert_eq!(s(b, "read_cycle", 0).as_deref(), Some("Q"));
        assert_eq!(u32_(b, "line_items", 0), Some(2));
        let li = &t[&ResourceTable::UsageSummaryLineItems];
        assert_eq!(li.num_rows(), 2);
        assert_eq!(
            s(li, "note", 0).as_deref(),
            Some("Total Winter Partial Peak Usage")
        );
        assert_eq!(f(li, "measurement_value", 0), Some(106.1206));
        assert_eq!(i(li, "item_period_duration_s", 0), Some(2_505_600));
        assert_eq!(
            s(li, "note", 1).as_deref(),
            Some("Total Winter Off Peak Usage")
        );
        assert_eq!(f(li, "measurement_value", 1), Some(398.794));
        assert_eq!(i(li, "item_period_duration_s", 1), None);
    }

    #[test]
    fn sample_electric_power_usage_summary_maps_to_the_same_columns() {
        let Some(t) = sample("maunte__electric_power_usage_summary.xml") else {
            return;
        };
        let b = &t[&ResourceTable::UsageSummaries];
        assert_eq!(b.num_rows(), 1);
        assert_eq!(
            s(b, "resource", 0).as_deref(),
            Some("ElectricPowerUsageSummary")
        );
        assert_eq!(
            s(b, "usage_point", 0).as_deref(),
            Some("DataCustodian/espi/1_1/resource/Subscription/1/UsagePoint/1")
        );
        assert_eq!(i(b, "bill_last_period", 0), Some(6_752_000));
        assert_eq!(f(b, "bill_last_period_amount", 0), Some(67.52));
        assert_eq!(i(b, "bill_to_date", 0), Some(4_807_000));
        assert_eq!(f(b, "bill_to_date_amount", 0), Some(48.07));
        assert_eq!(f(b, "cost_additional_last_period_amount", 0), Some(0.0));
        assert_eq!(
            i(b, "overall_consumption_last_period_value_raw", 0),
            Some(625_716)
        );
        assert_eq!(
            f(b, "overall_consumption_last_period_value", 0),
            Some(625.716)
        );
        assert_eq!(
            f(b, "current_billing_period_over_all_consumption_value", 0),
            Some(447.993)
        );
        assert_eq!(
            ts(
                b,
                "current_billing_period_over_all_consumption_time_stamp",
                0
            ),
            Some(1_395_374_400 * SECOND)
        );
        assert_eq!(i(b, "quality_of_reading", 0), Some(14));
        assert_eq!(ts(b, "status_time_stamp", 0), Some(1_395_374_400 * SECOND));
        assert!(!t.contains_key(&ResourceTable::UsageSummaryLineItems));
    }

    #[test]
    fn sample_garbage_summary_gives_nulls() {
        let Some(t) = sample("mburns__1hrLP_32Days_Additional2_M.xml") else {
            return;
        };
        let b = &t[&ResourceTable::UsageSummaries];
        // The usage point comes from the `up` href when `self` has none.
        assert_eq!(
            s(b, "usage_point", 0).as_deref(),
            Some("RetailCustomer/9b6c7063/UsagePoint/01")
        );
        assert_eq!(i(b, "peak_demand_power_of_ten_multiplier", 0), Some(4096));
        assert_eq!(f(b, "peak_demand_value", 0), None);
        assert_eq!(s(b, "peak_demand_unit", 0).as_deref(), Some("uom:65535"));
        let li = &t[&ResourceTable::UsageSummaryLineItems];
        assert_eq!(li.num_rows(), 1);
        assert_eq!(i(li, "amount_raw", 0), Some(-140_737_488_355_328));
        let q = &t[&ResourceTable::PowerQualitySummaries];
        assert_eq!(i(q, "measurement_protocol", 0), Some(255));
        assert_eq!(i(q, "flicker_plt", 0), Some(-140_737_488_355_328));
    }

    #[test]
    fn sample_hydro_one_retail_customer() {
        let Some(t) = sample("ryanmaule__Hydro1_Retail_Customer_12-14-2025.xml") else {
            return;
        };
        let b = &t[&ResourceTable::Customers];
        assert_eq!(b.num_rows(), 1);
        assert_eq!(s(b, "customer_name", 0).as_deref(), Some("Richard Maule"));
        assert_eq!(
            s(b, "organisation_name", 0).as_deref(),
            Some("Richard Maule")
        );
        assert_eq!(
            s(b, "address_general", 0).as_deref(),
            Some("1025 SWALLOW LANE")
        );
        assert_eq!(s(b, "town_name", 0).as_deref(), Some("Minden"));
        assert_eq!(s(b, "postal_code", 0).as_deref(), Some("K0M 2L1"));
        assert_eq!(s(b, "kind", 0), None); // <kind></kind>
        let b = &t[&ResourceTable::CustomerAccounts];
        assert_eq!(s(b, "account_id", 0).as_deref(), Some("200260334934"));
        let b = &t[&ResourceTable::CustomerAgreements];
        assert_eq!(s(b, "agreement_id", 0).as_deref(), Some("0401091589"));
        let b = &t[&ResourceTable::ServiceLocations];
        assert_eq!(s(b, "street_number", 0).as_deref(), Some("1025"));
        assert_eq!(
            s(b, "street_name", 0).as_deref(),
            Some("SWALLOW LANE 9 RD95")
        );
        assert_eq!(s(b, "town_name", 0).as_deref(), Some("Minden"));
        assert_eq!(s(b, "state_or_province", 0).as_deref(), Some("ON"));
        assert_eq!(
            list(b, "usage_points", 0),
            ["greenbutton-experience-api/api/espi/1_1/resource/RetailCustomer/e63fe1b1-93d0-540b-a418-fdf376c4e5d3/UsagePoint/6fb6bc8c-6d17-5e1b-a521-867065c48096"]
        );
        let b = &t[&ResourceTable::Meters];
        assert_eq!(s(b, "serial_number", 0).as_deref(), Some("J2648788"));
        assert!(s(b, "service_location", 0)
            .unwrap()
            .ends_with("/ServiceLocation/0701304592"));
        // LocalTimeParameters in the customer namespace.
        let b = &t[&ResourceTable::LocalTimeParameters];
        assert_eq!(i(b, "tz_offset_s", 0), Some(-18_000));
        assert_eq!(s(b, "dst_start_rule", 0).as_deref(), Some("360E2000"));
    }

    #[test]
    fn sample_sce_and_pge_retail_customers() {
        if let Some(t) = sample("ralam__BulkSCERetailCustomer.xml") {
            let b = &t[&ResourceTable::ServiceLocations];
            assert_eq!(s(b, "street_number", 0).as_deref(), Some("11111"));
            assert_eq!(s(b, "street_name", 0).as_deref(), Some("COLORADO ST"));
            assert_eq!(s(b, "town_name", 0).as_deref(), Some("PALM DESERT"));
            assert_eq!(s(b, "postal_code", 0).as_deref(), Some("11111-1111"));
            let b = &t[&ResourceTable::Meters];
            assert_eq!(s(b, "form_number", 0).as_deref(), Some("2S"));
            assert_eq!(s(b, "type", 0).as_deref(), Some("C2SOD"));
            assert_eq!(
                json(b, "meter_multipliers", 0),
                serde_json::json!([{"kind": "ctRatio"}, {"kind": "kR"}])
            );
            let b = &t[&ResourceTable::CustomerAccounts];
            assert_eq!(s(b, "name", 0).as_deref(), Some("2-00-111-1111"));
            assert_eq!(
                s(b, "customer", 0).as_deref(),
                Some("DataCustodian/espi/1_1/resource/RetailCustomer/VJEWP31BE/Customer/1")
            );
        }
        if let Some(t) = sample("verdigris__PGERetailCustomer.xml") {
            let b = &t[&ResourceTable::Customers];
            assert_eq!(s(b, "name", 0).as_deref(), Some("ACME INDUSTRIES"));
            let b = &t[&ResourceTable::CustomerAgreements];
            assert_eq!(s(b, "type", 0).as_deref(), Some("AGR"));
            assert_eq!(s(b, "doc_status", 0).as_deref(), Some("Active"));
            assert_eq!(ts(b, "sign_date", 0), Some(1_376_550_000 * SECOND));
            let b = &t[&ResourceTable::Meters];
            assert_eq!(s(b, "serial_number", 0).as_deref(), Some("1121183459"));
            assert_eq!(i(b, "interval_length_s", 0), Some(900));
            let b = &t[&ResourceTable::ServiceLocations];
            assert_eq!(s(b, "address_general", 0).as_deref(), Some("140 HAN RD"));
            assert_eq!(s(b, "town_code", 0).as_deref(), Some("95101"));
        }
        if let Some(t) = sample("jthoward64__customer.xml") {
            let b = &t[&ResourceTable::CustomerAgreements];
            assert_eq!(list(b, "pricing_structures", 0), ["RES-TOU"]);
            assert_eq!(
                i(b, "validity_interval_duration_s", 0),
                Some(251_922_268_800)
            );
        }
    }

    #[test]
    fn sample_authorization_application_and_batch_list() {
        if let Some(t) = sample("gba-gbjava__Multiple_Authorization_Feed.xml") {
            let b = &t[&ResourceTable::Authorizations];
            let r = (0..b.num_rows())
                .find(|&r| {
                    s(b, "self_href", r)
                        .is_some_and(|h| h.ends_with("08294d25-c13b-3a48-a897-1912f2319dd7"))
                })
                .unwrap();
            assert_eq!(i(b, "status", r), Some(0));
            assert_eq!(s(b, "status_name", r).as_deref(), Some("revoked"));
            assert_eq!(
                ts(b, "authorized_period_start", r),
                Some(1_747_976_400 * SECOND)
            );
            assert_eq!(s(b, "grant_type", r).as_deref(), Some("authorization_code"));
            assert!(s(b, "customer_resource_uri", r)
                .unwrap()
                .contains("/Batch/RetailCustomer/"));
        }
        if let Some(t) = sample("gba-gbjava__ApplicationInformation_Entry.xml") {
            let b = &t[&ResourceTable::ApplicationInformation];
            assert_eq!(s(b, "client_id", 0).as_deref(), Some("GBA"));
            assert_eq!(s(b, "data_custodian_id", 0).as_deref(), Some("aesohio"));
            assert_eq!(
                list(b, "grant_types", 0),
                ["refresh_token", "client_credentials", "authorization_code"]
            );
            assert_eq!(
                ts(b, "client_id_issued_at", 0),
                Some(1_747_749_705 * SECOND)
            );
        }
        if let Some(t) = sample("apievangelist__green-button-alliance-notification-batchlist.xml") {
            let b = &t[&ResourceTable::BatchLists];
            assert_eq!(b.num_rows(), 1);
            assert!(s(b, "resource_uri", 0).unwrap().starts_with(
                "https://utilityapi.com/DataCustodian/espi/1_1/resource/Batch/Subscription/503888"
            ));
        }
    }

    #[test]
    fn every_sample_converts_without_panic() {
        let Ok(dir) = std::fs::read_dir(SAMPLES) else {
            eprintln!("skipping: no {SAMPLES}");
            return;
        };
        let mut files = 0;
        for e in dir.flatten() {
            let xml = std::fs::read(e.path()).unwrap();
            let mut sink = Collect {
                rows: ResourceRows::default(),
                rejected: Vec::new(),
                batches: BTreeMap::new(),
            };
            let options = ParseOptions {
                skip_bad_entries: true,
                ..ParseOptions::default()
            };
            // Some samples are not well formed: their entries up to the error count.
            let _ = parse_slice(&xml, &options, &mut sink);
            for (t, b) in sink.rows.flush("x") {
                assert_eq!(b.schema(), empty_resource_batch(t).schema());
            }
            files += 1;
        }
        assert!(files > 100);
    }
}
