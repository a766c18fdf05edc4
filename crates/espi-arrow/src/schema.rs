//! Arrow schemas of the tables espi writes.

use std::sync::{Arc, OnceLock};

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// `Dictionary(Int32, Utf8)`: strings repeated on many rows.
pub fn dict_utf8() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// Microsecond timestamps in UTC.
pub fn timestamp_utc() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// Readings columns to write to Parquet without a dictionary: every number,
/// timestamp and flag. Measured values and timestamps are nearly all
/// distinct, and the codes (multiplier, uom, quality, ...) repeat in runs
/// that zstd packs as well as a dictionary would, without the hash lookup
/// per value that building one costs. Only the text columns keep one.
///
/// ```
/// let plain = espi_arrow::readings_plain_columns();
/// assert!(plain.iter().any(|c| c == "value_raw"));
/// assert!(!plain.iter().any(|c| c == "usage_point"));
/// ```
pub fn readings_plain_columns() -> Vec<String> {
    readings_schema()
        .fields()
        .iter()
        .filter(|f| !matches!(f.data_type(), DataType::Dictionary(..)))
        .map(|f| f.name().clone())
        .collect()
}

/// Readings columns to write without statistics: the names of codes whose
/// code column carries them (`unit` of `uom`, `quality_name` of `quality`,
/// `tou_name` of `tou`).
pub const READINGS_UNINDEXED_COLUMNS: &[&str] = &["unit", "quality_name", "tou_name"];

/// Readings columns to write as differences from the previous value,
/// bit-packed (Parquet `DELTA_BINARY_PACKED`): the raw integers as written.
/// Neighbouring readings of a series differ little, so the packed
/// differences are about as small after compression as plain values, and
/// leave zstd less to do. (Timestamps and codes stay plain: regular
/// sequences cost zstd less than packing them.)
pub const READINGS_DELTA_COLUMNS: &[&str] = &["value_raw", "cost_raw"];

/// The readings table: one row per IntervalReading.
///
/// | column | meaning |
/// |---|---|
/// | `usage_point` | UsagePoint identity (normalised href) |
/// | `meter_reading` | MeterReading identity (normalised href) |
/// | `start` | interval start, UTC |
/// | `local_start`, `is_dst` | wall-clock start and DST flag from the usage point's LocalTimeParameters (null without them) |
/// | `duration_s` | interval length in seconds |
/// | `value_raw` | `value` as written |
/// | `power_of_ten_multiplier`, `uom`, `flow_direction` | from the linked ReadingType |
/// | `unit` | unit of `value` after normalisation (kWh, kW, kVArh, therm, ...) |
/// | `value` | `value_raw x 10^multiplier` in `unit` |
/// | `accumulation_behaviour` | from the ReadingType (4 deltaData, 3 cumulative, ...) |
/// | `interval_delta` | quantity of the interval: `value` for delta series, the difference from the previous contiguous reading for registers (cumulative, summation, bulkQuantity), null otherwise |
/// | `quality_name`, `quality` | first ReadingQuality code and its name; `qualities` has them all |
/// | `estimated`, `edited`, `validated`, `raw` | any of the reading's quality codes of that kind |
/// | `tou_name`, `tou` | TOU code of the reading (or of its ReadingType) and its name |
/// | `consumption_tier`, `cpp` | codes on the reading |
/// | `cost_raw`, `cost` | cost in hundred-thousandths, and in currency units |
/// | `time_derived` | the start or duration was derived, not read |
/// | `superseded` | a later delivery of the same (meter reading, start) exists in the run |
/// | `entry_updated` | the IntervalBlock entry's Atom `updated` |
/// | `source_file` | input the reading came from |
///
/// ```
/// let schema = espi_arrow::readings_schema();
/// assert_eq!(schema.field(2).name(), "start");
/// ```
pub fn readings_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            Arc::new(Schema::new(vec![
                Field::new("usage_point", dict_utf8(), false),
                Field::new("meter_reading", dict_utf8(), false),
                Field::new("start", timestamp_utc(), false),
                Field::new(
                    "local_start",
                    DataType::Timestamp(TimeUnit::Microsecond, None),
                    true,
                ),
                Field::new("is_dst", DataType::Boolean, true),
                Field::new("duration_s", DataType::Int64, false),
                Field::new("value_raw", DataType::Int64, true),
                Field::new("power_of_ten_multiplier", DataType::Int32, true),
                Field::new("uom", DataType::Int32, true),
                Field::new("unit", dict_utf8(), true),
                Field::new("value", DataType::Float64, true),
                Field::new("accumulation_behaviour", DataType::Int32, true),
                Field::new("interval_delta", DataType::Float64, true),
                Field::new("flow_direction", DataType::Int32, true),
                Field::new("quality_name", dict_utf8(), true),
                Field::new("quality", DataType::Int32, true),
                Field::new(
                    "qualities",
                    DataType::List(Arc::new(Field::new_list_field(DataType::Int32, false))),
                    true,
                ),
                Field::new("estimated", DataType::Boolean, false),
                Field::new("edited", DataType::Boolean, false),
                Field::new("validated", DataType::Boolean, false),
                Field::new("raw", DataType::Boolean, false),
                Field::new("tou_name", dict_utf8(), true),
                Field::new("tou", DataType::Int32, true),
                Field::new("cost_raw", DataType::Int64, true),
                Field::new("cost", DataType::Float64, true),
                Field::new("consumption_tier", DataType::Int32, true),
                Field::new("cpp", DataType::Int32, true),
                Field::new("time_derived", DataType::Boolean, false),
                Field::new("superseded", DataType::Boolean, false),
                Field::new("entry_updated", timestamp_utc(), true),
                Field::new("source_file", dict_utf8(), false),
            ]))
        })
        .clone()
}
