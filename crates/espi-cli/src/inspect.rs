//! `espi inspect`: a human summary of one input.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::ExitCode;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type, TimestampMicrosecondType, UInt64Type};
use arrow_array::{Array, RecordBatch};
use espi_arrow::{empty_batch, ConvertOptions, ResourceTable, Table};
use espi_core::ParseOptions;
use espi_model::codes;
use espi_model::local_time::LocalTimeParameters;
use espi_model::numbers::civil_from_days;

use crate::convert::convert_input;
use crate::progress::Progress;
use crate::InspectArgs;

/// Statistics gathered from the readings batches.
#[derive(Default)]
struct ReadingStats {
    readings: u64,
    first: Option<i64>,
    last: Option<i64>,
    quality: BTreeMap<Option<i32>, u64>,
    tou: BTreeMap<Option<i32>, u64>,
    /// Per meter reading: (sum of value, unit).
    totals: BTreeMap<String, (f64, Option<String>)>,
}

impl ReadingStats {
    fn add(&mut self, b: &RecordBatch) {
        let start = b.column_by_name("start").expect("start");
        let start = start.as_primitive::<TimestampMicrosecondType>();
        let quality = b.column_by_name("quality").expect("quality");
        let quality = quality.as_primitive::<Int32Type>();
        let tou = b.column_by_name("tou").expect("tou");
        let tou = tou.as_primitive::<Int32Type>();
        let value = b.column_by_name("value").expect("value");
        let value = value.as_primitive::<Float64Type>();
        let mr = b.column_by_name("meter_reading").expect("meter_reading");
        let mr = mr.as_dictionary::<Int32Type>();
        let mr_values = mr.values().as_string::<i32>();
        let unit = b.column_by_name("unit").expect("unit");
        let unit = unit.as_dictionary::<Int32Type>();
        let unit_values = unit.values().as_string::<i32>();
        for i in 0..b.num_rows() {
            let s = start.value(i);
            self.first = Some(self.first.map_or(s, |f| f.min(s)));
            self.last = Some(self.last.map_or(s, |l| l.max(s)));
            let opt = |a: &arrow_array::Int32Array| (!a.is_null(i)).then(|| a.value(i));
            *self.quality.entry(opt(quality)).or_default() += 1;
            *self.tou.entry(opt(tou)).or_default() += 1;
            let key = mr_values.value(mr.keys().value(i) as usize);
            if !self.totals.contains_key(key) {
                self.totals.insert(key.to_owned(), (0.0, None));
            }
            let entry = self.totals.get_mut(key).expect("inserted above");
            if !value.is_null(i) {
                entry.0 += value.value(i);
            }
            if entry.1.is_none() && !unit.is_null(i) {
                entry.1 = Some(unit_values.value(unit.keys().value(i) as usize).to_owned());
            }
        }
        self.readings += b.num_rows() as u64;
    }
}

/// `2024-01-31 23:45:00 UTC`
pub(crate) fn format_utc(us: i64) -> String {
    let secs = us.div_euclid(1_000_000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        t / 3600,
        t / 60 % 60,
        t % 60
    )
}

fn string_at(b: &RecordBatch, column: &str, row: usize) -> Option<String> {
    let c = b.column_by_name(column)?;
    let s = c.as_string_opt::<i32>()?;
    (!s.is_null(row)).then(|| s.value(row).to_owned())
}

fn int_at(b: &RecordBatch, column: &str, row: usize) -> Option<i64> {
    let c = b.column_by_name(column)?;
    if let Some(a) = c.as_primitive_opt::<Int64Type>() {
        return (!a.is_null(row)).then(|| a.value(row));
    }
    if let Some(a) = c.as_primitive_opt::<UInt64Type>() {
        return (!a.is_null(row)).then(|| a.value(row) as i64);
    }
    if let Some(a) = c.as_primitive_opt::<TimestampMicrosecondType>() {
        return (!a.is_null(row)).then(|| a.value(row));
    }
    None
}

fn code(value: Option<i64>, name: fn(i64) -> Option<&'static str>) -> String {
    match value {
        None => "-".into(),
        Some(v) => match name(v) {
            Some(n) => format!("{n} ({v})"),
            None => format!("{v}"),
        },
    }
}

/// "UTC-08:00, DST +1 h from 2024-03-10 10:00 UTC to 2024-11-03 09:00 UTC (in 2024)".
fn describe_local_time(p: &LocalTimeParameters) -> String {
    let offset = |s: i64| {
        let sign = if s < 0 { '-' } else { '+' };
        format!("UTC{sign}{:02}:{:02}", s.abs() / 3600, s.abs() % 3600 / 60)
    };
    let standard = offset(p.tz_offset_s);
    let year = 2024;
    match p.transitions(year) {
        Some((start, end)) => format!(
            "{standard}, DST {:+} s from {} to {} (in {year})",
            p.dst_offset_s,
            format_utc(start * 1_000_000),
            format_utc(end * 1_000_000)
        ),
        None => format!("{standard}, no DST"),
    }
}

pub(crate) fn run(args: &InspectArgs) -> Result<ExitCode, String> {
    let mut stats = ReadingStats::default();
    let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
    let mut small: BTreeMap<Table, Vec<RecordBatch>> = BTreeMap::new();
    let outcome = convert_input(
        &args.input,
        &ConvertOptions::default(),
        &ParseOptions {
            skip_bad_entries: true,
            ..ParseOptions::default()
        },
        &Progress::new(0, true),
        |table, b| match table {
            Table::Readings => stats.add(&b),
            Table::Entries => {
                for i in 0..b.num_rows() {
                    *kinds
                        .entry(string_at(&b, "resource", i).unwrap_or_default())
                        .or_default() += 1;
                }
            }
            _ => small.entry(table).or_default().push(b),
        },
    );
    let table = |t: Table| -> RecordBatch {
        match small.get(&t) {
            Some(v) if !v.is_empty() => {
                arrow_select::concat::concat_batches(&v[0].schema(), v).expect("same schema")
            }
            _ => empty_batch(t),
        }
    };
    let mut out = String::new();
    let c = outcome.counts;
    let _ = writeln!(
        out,
        "{}: {} bytes, {} entries, {} interval blocks",
        outcome.source, outcome.bytes, c.entries, c.interval_blocks
    );
    if c.interval_blocks > 0 {
        kinds.insert("IntervalBlock".into(), c.interval_blocks);
    }
    let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
    let _ = writeln!(out, "resources: {}", kinds.join(", "));

    let typed: Vec<String> = small
        .iter()
        .filter_map(|(t, batches)| match t {
            Table::Resource(_) => {
                let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
                (rows > 0).then(|| format!("{} {rows}", t.name()))
            }
            _ => None,
        })
        .collect();
    if !typed.is_empty() {
        let _ = writeln!(out, "tables: {}", typed.join(", "));
    }

    let ltp = &table(Table::Resource(ResourceTable::LocalTimeParameters));
    for i in 0..ltp.num_rows() {
        let text = |c: &str| string_at(ltp, c, i);
        let described = LocalTimeParameters::from_fields(
            &int_at(ltp, "tz_offset_s", i)
                .map(|v| v.to_string())
                .unwrap_or_default(),
            int_at(ltp, "dst_offset_s", i)
                .map(|v| v.to_string())
                .as_deref(),
            text("dst_start_rule").as_deref(),
            text("dst_end_rule").as_deref(),
        )
        .map(|p| describe_local_time(&p))
        .unwrap_or_else(|e| format!("unusable: {e}"));
        let _ = writeln!(
            out,
            "local time {}: {described}",
            text("local_time_parameters").unwrap_or_default()
        );
    }

    let up = &table(Table::UsagePoints);
    let _ = writeln!(out, "\nusage points ({}):", up.num_rows());
    for i in 0..up.num_rows() {
        let _ = writeln!(
            out,
            "  {}  service: {}{}",
            string_at(up, "usage_point", i).unwrap_or_default(),
            string_at(up, "service_kind_name", i).unwrap_or_else(|| "-".into()),
            string_at(up, "title", i)
                .filter(|t| !t.is_empty())
                .map(|t| format!("  \"{t}\""))
                .unwrap_or_default()
        );
    }

    let rts = &table(Table::ReadingTypes);
    let rt_rows: std::collections::HashMap<String, usize> = (0..rts.num_rows())
        .filter_map(|i| string_at(rts, "reading_type", i).map(|k| (k, i)))
        .collect();
    let rt_row = |key: &str| -> Option<usize> { rt_rows.get(key).copied() };
    let mrs = &table(Table::MeterReadings);
    let _ = writeln!(out, "\nmeter readings ({}):", mrs.num_rows());
    for i in 0..mrs.num_rows() {
        let key = string_at(mrs, "meter_reading", i).unwrap_or_default();
        let rt_key = string_at(mrs, "reading_type", i);
        let _ = writeln!(
            out,
            "  {key}\n    reading type: {}",
            rt_key.clone().unwrap_or_else(|| "(none linked)".into())
        );
        if let Some(r) = rt_key.as_deref().and_then(rt_row) {
            let uom = int_at(rts, "uom", r);
            let _ = writeln!(
                out,
                "      kind {}, uom {}, multiplier 10^{}, unit {}, flow {}, interval {}, accumulation {}, commodity {}",
                code(int_at(rts, "kind", r), codes::measurement_kind_name),
                code(uom, codes::uom_symbol),
                int_at(rts, "power_of_ten_multiplier", r).unwrap_or(0),
                string_at(rts, "unit", r).unwrap_or_else(|| "-".into()),
                code(int_at(rts, "flow_direction", r), codes::flow_direction_name),
                int_at(rts, "interval_length", r).map_or("-".into(), |s| format!("{s} s")),
                code(int_at(rts, "accumulation_behaviour", r), codes::accumulation_behaviour_name),
                code(int_at(rts, "commodity", r), codes::commodity_name),
            );
        }
        let n = int_at(mrs, "readings", i).unwrap_or(0);
        let span = match (int_at(mrs, "first_start", i), int_at(mrs, "last_start", i)) {
            (Some(a), Some(b)) => format!("{} .. {}", format_utc(a), format_utc(b)),
            _ => "-".into(),
        };
        let total = stats
            .totals
            .get(&key)
            .map(|(v, u)| format!(", total {v:.3} {}", u.as_deref().unwrap_or("(unscaled)")))
            .unwrap_or_default();
        let _ = writeln!(out, "    {n} readings, {span}{total}");
    }

    let _ = writeln!(
        out,
        "\nreadings: {} read, {} written, {} rejected, {} without ReadingType",
        c.readings_read, c.readings_written, c.readings_rejected, c.readings_unlinked
    );
    if let (Some(a), Some(b)) = (stats.first, stats.last) {
        let _ = writeln!(out, "span: {} .. {}", format_utc(a), format_utc(b));
    }
    let distribution = |m: &BTreeMap<Option<i32>, u64>, name: fn(i64) -> Option<&'static str>| {
        m.iter()
            .map(|(k, n)| {
                let label = match k {
                    None => "none".to_owned(),
                    Some(v) => code(Some(*v as i64), name),
                };
                format!("{label}: {n}")
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    if stats.readings > 0 {
        let _ = writeln!(
            out,
            "quality: {}",
            distribution(&stats.quality, codes::quality_name)
        );
        let _ = writeln!(out, "tou: {}", distribution(&stats.tou, |_| None));
    }
    for w in &outcome.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    for r in &outcome.rejections {
        let _ = writeln!(
            out,
            "rejected: {} at byte {}{}: {} ({} readings)",
            r.element,
            r.offset,
            r.line.map(|l| format!(" (line {l})")).unwrap_or_default(),
            r.reason,
            r.readings
        );
    }
    print!("{out}");
    Ok(match outcome.fatal {
        Some(message) => {
            eprintln!("espi: error: {message}");
            ExitCode::from(1)
        }
        None => ExitCode::SUCCESS,
    })
}
