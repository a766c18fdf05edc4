//! Reading semantics: local time from LocalTimeParameters, TOU names,
//! quality flags, register deltas and corrections. Expected values are
//! worked out by hand from the documents below.

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use espi_arrow::{convert_slice, ConvertOptions, Table};

const HOUR_US: i64 = 3_600_000_000;

/// A feed with one usage point linked to Pacific LocalTimeParameters and one
/// 15-minute delivered series, with `blocks` as IntervalBlock entries.
fn pacific_feed(accumulation: u8, blocks: &str) -> String {
    format!(
        r#"<?xml version="1.0"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:espi="http://naesb.org/espi">
<entry><link rel="self" href="/LocalTimeParameters/1"/><content><espi:LocalTimeParameters>
  <espi:dstEndRule>B40E2000</espi:dstEndRule><espi:dstOffset>3600</espi:dstOffset>
  <espi:dstStartRule>360E2000</espi:dstStartRule><espi:tzOffset>-28800</espi:tzOffset>
</espi:LocalTimeParameters></content></entry>
<entry><link rel="self" href="/UsagePoint/1"/><link rel="related" href="/LocalTimeParameters/1"/>
  <content><espi:UsagePoint><espi:ServiceCategory><espi:kind>0</espi:kind></espi:ServiceCategory></espi:UsagePoint></content></entry>
<entry><link rel="self" href="/UsagePoint/1/MeterReading/1"/><link rel="related" href="/ReadingType/1"/>
  <content><espi:MeterReading/></content></entry>
<entry><link rel="self" href="/ReadingType/1"/><content><espi:ReadingType>
  <espi:accumulationBehaviour>{accumulation}</espi:accumulationBehaviour><espi:flowDirection>1</espi:flowDirection>
  <espi:intervalLength>900</espi:intervalLength><espi:powerOfTenMultiplier>0</espi:powerOfTenMultiplier>
  <espi:uom>72</espi:uom><espi:tou>3</espi:tou></espi:ReadingType></content></entry>
{blocks}
</feed>"#
    )
}

/// An IntervalBlock entry of readings (start, value, extra XML inside the reading).
fn block(updated: &str, readings: &[(i64, i64, &str)]) -> String {
    let first = readings.first().map_or(0, |r| r.0);
    let body: String = readings
        .iter()
        .map(|(start, value, extra)| {
            format!(
                "<espi:IntervalReading>{extra}<espi:timePeriod><espi:duration>900</espi:duration><espi:start>{start}</espi:start></espi:timePeriod><espi:value>{value}</espi:value></espi:IntervalReading>"
            )
        })
        .collect();
    format!(
        r#"<entry><link rel="up" href="/UsagePoint/1/MeterReading/1/IntervalBlock"/><updated>{updated}</updated>
<content><espi:IntervalBlock><espi:interval><espi:duration>{}</espi:duration><espi:start>{first}</espi:start></espi:interval>{body}</espi:IntervalBlock></content></entry>"#,
        readings.len() * 900
    )
}

fn readings(xml: &str, options: &ConvertOptions) -> RecordBatch {
    let (batches, conversion) = convert_slice("t.xml", xml.as_bytes(), options).unwrap();
    assert_eq!(
        conversion.counts.readings_read,
        conversion.counts.readings_written + conversion.counts.readings_superseded_dropped
    );
    let b = &batches[&Table::Readings];
    arrow_select::concat::concat_batches(&b[0].schema(), b).unwrap()
}

fn times(batch: &RecordBatch, column: &str) -> Vec<Option<i64>> {
    let c = batch.column_by_name(column).unwrap();
    let c = c.as_primitive::<TimestampMicrosecondType>();
    (0..c.len())
        .map(|i| c.is_valid(i).then(|| c.value(i)))
        .collect()
}

fn bools(batch: &RecordBatch, column: &str) -> Vec<Option<bool>> {
    let c = batch.column_by_name(column).unwrap().as_boolean().clone();
    c.iter().collect()
}

fn strings(batch: &RecordBatch, column: &str) -> Vec<Option<String>> {
    let c = batch.column_by_name(column).unwrap();
    let d = c.as_dictionary::<Int32Type>();
    let values = d.values().as_string::<i32>();
    d.keys()
        .iter()
        .map(|k| k.map(|k| values.value(k as usize).to_owned()))
        .collect()
}

/// Every 15 minutes of one local day, as UTC seconds from `from` to `to`.
fn quarter_hours(from: i64, to: i64) -> Vec<(i64, i64, &'static str)> {
    (from..to).step_by(900).map(|s| (s, 1, "")).collect()
}

#[test]
fn local_time_across_both_dst_changes_for_pacific_parameters() {
    // 2024-03-10 local midnight is 08:00 UTC (PST); the next local midnight
    // is 07:00 UTC on 2024-03-11 (PDT): 23 hours.
    let spring = quarter_hours(1_710_057_600, 1_710_140_400);
    // 2024-11-03 local midnight is 07:00 UTC (PDT); the next is 08:00 UTC on
    // 2024-11-04 (PST): 25 hours.
    let fall = quarter_hours(1_730_617_200, 1_730_707_200);
    assert_eq!((spring.len(), fall.len()), (92, 100));
    let xml = pacific_feed(
        4,
        &(block("2024-03-11T00:00:00Z", &spring) + &block("2024-11-04T00:00:00Z", &fall)),
    );
    let b = readings(&xml, &ConvertOptions::default());
    let start = times(&b, "start");
    let local = times(&b, "local_start");
    let dst = bools(&b, "is_dst");
    let at = |utc_s: i64| {
        start
            .iter()
            .position(|s| *s == Some(utc_s * 1_000_000))
            .unwrap()
    };
    let local_day = |day_start_local_us: i64| {
        local
            .iter()
            .filter(|l| {
                l.is_some_and(|l| {
                    (day_start_local_us..day_start_local_us + 24 * HOUR_US).contains(&l)
                })
            })
            .count()
    };
    // Local wall-clock microseconds of 2024-03-10T00:00 and 2024-11-03T00:00.
    let (mar10, nov3) = (1_710_028_800 * 1_000_000, 1_730_592_000 * 1_000_000);
    assert_eq!(
        local_day(mar10),
        92,
        "spring-forward day has 23 local hours"
    );
    assert_eq!(local_day(nov3), 100, "fall-back day has 25 local hours");
    // 09:45 UTC is 01:45 PST; 10:00 UTC is 03:00 PDT.
    let i = at(1_710_063_900);
    assert_eq!(
        (local[i], dst[i]),
        (Some(mar10 + HOUR_US + 45 * 60_000_000), Some(false))
    );
    let i = at(1_710_064_800);
    assert_eq!((local[i], dst[i]), (Some(mar10 + 3 * HOUR_US), Some(true)));
    // 08:30 UTC is 01:30 PDT; 09:30 UTC is 01:30 PST: the repeated hour
    // keeps distinct rows, told apart by is_dst.
    let (a, c) = (at(1_730_622_600), at(1_730_626_200));
    assert_eq!(local[a], local[c]);
    assert_eq!(local[a], Some(nov3 + HOUR_US + 30 * 60_000_000));
    assert_eq!((dst[a], dst[c]), (Some(true), Some(false)));
}

#[test]
fn without_local_time_parameters_local_start_is_null() {
    let xml = pacific_feed(
        4,
        &block(
            "2024-01-02T00:00:00Z",
            &quarter_hours(1_704_096_000, 1_704_099_600),
        ),
    )
    .replace("<espi:tzOffset>-28800</espi:tzOffset>", "");
    let b = readings(&xml, &ConvertOptions::default());
    assert!(times(&b, "local_start").iter().all(Option::is_none));
}

#[test]
fn tou_names_quality_flags_and_register_deltas() {
    // A cumulative register: 100, 150, 175, then a gap, then 200.
    let q = |code: u8| {
        format!("<espi:ReadingQuality><espi:quality>{code}</espi:quality></espi:ReadingQuality>")
    };
    let (q8, q17, q7, q14) = (q(8), q(17), q(7) + &q(14), q(14));
    let reads = [
        (1_704_096_000, 100, q8.as_str()),
        (1_704_096_900, 150, q17.as_str()),
        (1_704_097_800, 175, q7.as_str()),
        (1_704_099_600, 200, q14.as_str()),
    ];
    let xml = pacific_feed(3, &block("2024-01-02T00:00:00Z", &reads)).replace(
        "<espi:IntervalReading>",
        "<espi:IntervalReading><espi:tou>1</espi:tou>",
    );
    let xml = xml.replacen(
        "<espi:IntervalReading><espi:tou>1</espi:tou>",
        "<espi:IntervalReading>",
        1,
    );
    let b = readings(&xml, &ConvertOptions::default());
    let delta = b.column_by_name("interval_delta").unwrap();
    let delta = delta.as_primitive::<arrow_array::types::Float64Type>();
    let delta: Vec<Option<f64>> = delta.iter().collect();
    // Wh registers become kWh: 50 Wh = 0.05 kWh.
    assert_eq!(delta, vec![None, Some(0.05), Some(0.025), None]);
    // The first reading has no tou of its own: it takes the ReadingType's (3).
    assert_eq!(
        strings(&b, "tou_name"),
        ["winter_peak", "summer_peak", "summer_peak", "summer_peak"].map(|s| Some(s.to_owned()))
    );
    assert_eq!(
        bools(&b, "estimated"),
        [Some(true), Some(false), Some(false), Some(false)]
    );
    assert_eq!(
        bools(&b, "validated"),
        [Some(false), Some(true), Some(false), Some(false)]
    );
    assert_eq!(
        bools(&b, "edited"),
        [Some(false), Some(false), Some(true), Some(false)]
    );
    assert_eq!(
        bools(&b, "raw"),
        [Some(false), Some(false), Some(true), Some(true)]
    );
    assert_eq!(
        strings(&b, "quality_name")[2].as_deref(),
        Some("manually edited")
    );
    let names = espi_model::tou::TouNames::parse("1,On Peak\n3,Off Peak\n").unwrap();
    let custom = ConvertOptions {
        tou_names: std::sync::Arc::new(names),
        ..Default::default()
    };
    let b = readings(&xml, &custom);
    assert_eq!(strings(&b, "tou_name")[0].as_deref(), Some("Off Peak"));
    assert_eq!(strings(&b, "tou_name")[1].as_deref(), Some("On Peak"));
}

#[test]
fn a_later_delivery_of_an_interval_supersedes_the_earlier_one() {
    let day = quarter_hours(1_704_096_000, 1_704_099_600); // four readings
    let corrected = [(1_704_096_900, 7, ""), (1_704_097_800, 8, "")];
    // The correction comes first in the document but is updated later.
    let xml = pacific_feed(
        4,
        &(block("2024-01-03T00:00:00Z", &corrected) + &block("2024-01-02T00:00:00Z", &day)),
    );
    let b = readings(&xml, &ConvertOptions::default());
    let start = times(&b, "start");
    let superseded = bools(&b, "superseded");
    let values = b.column_by_name("value_raw").unwrap();
    let values = values.as_primitive::<arrow_array::types::Int64Type>();
    let mut marked: Vec<(i64, i64)> = (0..b.num_rows())
        .filter(|&i| superseded[i] == Some(true))
        .map(|i| (start[i].unwrap() / 1_000_000, values.value(i)))
        .collect();
    marked.sort();
    assert_eq!(marked, vec![(1_704_096_900, 1), (1_704_097_800, 1)]);
    let latest = ConvertOptions {
        latest_only: true,
        ..Default::default()
    };
    let (batches, conversion) = convert_slice("t.xml", xml.as_bytes(), &latest).unwrap();
    assert_eq!(conversion.counts.readings_superseded_dropped, 2);
    assert_eq!(conversion.counts.readings_written, 4);
    let rows: usize = batches[&Table::Readings].iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 4);
}

#[test]
fn starts_in_milliseconds_are_normalised_and_counted() {
    let xml = pacific_feed(4, &block("2024-01-02T00:00:00Z", &[(1_704_096_000, 5, "")]))
        .replace(">1704096000<", ">1704096000000<")
        .replace(
            "<espi:duration>900</espi:duration>",
            "<espi:duration>900000</espi:duration>",
        );
    let (batches, conversion) =
        convert_slice("t.xml", xml.as_bytes(), &Default::default()).unwrap();
    assert_eq!(conversion.counts.readings_millisecond_start, 1);
    let b = &batches[&Table::Readings][0];
    assert_eq!(times(b, "start"), vec![Some(1_704_096_000 * 1_000_000)]);
    let d = b.column_by_name("duration_s").unwrap();
    assert_eq!(
        d.as_primitive::<arrow_array::types::Int64Type>().value(0),
        900
    );
}

#[test]
fn corrections_compare_starts_written_in_milliseconds_as_converted() {
    let day = quarter_hours(1_704_096_000, 1_704_099_600);
    let corrected = [(1_704_096_900, 7, "")];
    let mut xml = pacific_feed(
        4,
        &(block("2024-01-03T00:00:00Z", &corrected) + &block("2024-01-02T00:00:00Z", &day)),
    );
    for (start, _, _) in &day {
        xml = xml.replace(&format!(">{start}<"), &format!(">{start}000<"));
    }
    let (batches, conversion) =
        convert_slice("t.xml", xml.as_bytes(), &Default::default()).unwrap();
    assert_eq!(conversion.counts.readings_millisecond_start, 5);
    assert_eq!(conversion.counts.readings_superseded, 1);
    let b = &batches[&Table::Readings][0];
    let start = times(b, "start");
    let marked: Vec<Option<i64>> = (0..b.num_rows())
        .filter(|&i| bools(b, "superseded")[i] == Some(true))
        .map(|i| start[i])
        .collect();
    assert_eq!(marked, vec![Some(1_704_096_900 * 1_000_000)]);
}

/// The one batch of a small table, with its rows.
fn table(xml: &str, table: Table) -> RecordBatch {
    let (batches, _) = convert_slice("t.xml", xml.as_bytes(), &Default::default()).unwrap();
    let b = &batches[&table];
    arrow_select::concat::concat_batches(&b[0].schema(), b).unwrap()
}

fn texts(batch: &RecordBatch, column: &str) -> Vec<Option<String>> {
    let c = batch.column_by_name(column).unwrap().as_string::<i32>();
    c.iter().map(|v| v.map(str::to_owned)).collect()
}

fn ints(batch: &RecordBatch, column: &str) -> Vec<Option<i64>> {
    let c = batch.column_by_name(column).unwrap();
    c.as_primitive::<arrow_array::types::Int64Type>()
        .iter()
        .collect()
}

#[test]
fn reading_type_and_usage_point_fields_as_columns_and_json() {
    // ReadingType 1: a repeated field (the first counts), a field that is
    // not a number, fields espi has no column for (one repeated, one
    // nested); ReadingType 2: a unit code with no symbol. UsagePoint 1: a
    // secret, a repeated path and text to escape.
    let xml = r#"<feed xmlns="http://www.w3.org/2005/Atom" xmlns:espi="http://naesb.org/espi">
<entry><link rel="self" href="/ReadingType/1"/><content><espi:ReadingType>
  <espi:powerOfTenMultiplier> -3 </espi:powerOfTenMultiplier><espi:uom>72</espi:uom>
  <espi:note>a</espi:note><espi:kind>twelve</espi:kind><espi:powerOfTenMultiplier>0</espi:powerOfTenMultiplier>
  <espi:interharmonic><espi:numerator>7</espi:numerator></espi:interharmonic>
  <espi:note>b</espi:note><espi:vendor><espi:code>X1</espi:code></espi:vendor>
</espi:ReadingType></content></entry>
<entry><link rel="self" href="/ReadingType/2"/><content><espi:ReadingType>
  <espi:uom>9999</espi:uom><espi:flowDirection>19</espi:flowDirection>
</espi:ReadingType></content></entry>
<entry><link rel="self" href="/UsagePoint/1"/><content><espi:UsagePoint>
  <espi:ServiceCategory><espi:kind>0</espi:kind></espi:ServiceCategory>
  <espi:Access_Token>t0k3n</espi:Access_Token><espi:roleFlags>01</espi:roleFlags>
  <espi:name>say "hi"</espi:name><espi:roleFlags>02</espi:roleFlags>
</espi:UsagePoint></content></entry>
</feed>"#;
    let rt = table(xml, Table::ReadingTypes);
    assert_eq!(
        texts(&rt, "reading_type"),
        [Some("ReadingType/1".into()), Some("ReadingType/2".into())]
    );
    assert_eq!(ints(&rt, "power_of_ten_multiplier"), [Some(-3), None]);
    assert_eq!(ints(&rt, "uom"), [Some(72), Some(9999)]);
    assert_eq!(ints(&rt, "kind"), [None, None]);
    assert_eq!(ints(&rt, "flow_direction"), [None, Some(19)]);
    assert_eq!(ints(&rt, "interharmonic_numerator"), [Some(7), None]);
    assert_eq!(ints(&rt, "interharmonic_denominator"), [None, None]);
    assert_eq!(texts(&rt, "uom_symbol"), [Some("Wh".into()), None]);
    assert_eq!(
        texts(&rt, "flow_direction_name"),
        [None, Some("reverse".into())]
    );
    assert_eq!(
        texts(&rt, "unit"),
        [Some("kWh".into()), Some("uom:9999".into())]
    );
    let other: Vec<Option<serde_json::Value>> = texts(&rt, "other_fields")
        .into_iter()
        .map(|t| t.map(|t| serde_json::from_str(&t).unwrap()))
        .collect();
    assert_eq!(
        other,
        [
            Some(serde_json::json!({"note": ["a", "b"], "vendor/code": "X1"})),
            None
        ]
    );

    let up = table(xml, Table::UsagePoints);
    assert_eq!(texts(&up, "usage_point"), [Some("UsagePoint/1".into())]);
    assert_eq!(texts(&up, "role_flags"), [Some("01".into())]);
    let fields: serde_json::Value =
        serde_json::from_str(texts(&up, "fields")[0].as_deref().unwrap()).unwrap();
    assert_eq!(
        fields,
        serde_json::json!({
            "ServiceCategory/kind": "0",
            "Access_Token": "[redacted]",
            "roleFlags": ["01", "02"],
            "name": "say \"hi\"",
        })
    );
}

/// The rows of each non-empty batch of `table`, in order.
fn batch_sizes(batches: &espi_arrow::Batches, table: Table) -> Vec<usize> {
    batches[&table]
        .iter()
        .map(RecordBatch::num_rows)
        .filter(|&r| r > 0)
        .collect()
}

#[test]
fn tables_built_at_the_end_come_batch_by_batch() {
    // More MeterReadings than a batch holds, each with one block and no
    // UsagePoint entry: the meter readings and the usage points known only
    // from readings are built at the end of the input, in full batches.
    let n = espi_arrow::TABLE_BATCH_ROWS + 5;
    let mut xml = String::from(r#"<feed xmlns="http://www.w3.org/2005/Atom">"#);
    for i in 0..n {
        // Defined in reverse href order: the table keeps definition order
        // (hrefs are kept normalised, without the leading '/').
        let m = n - i;
        xml.push_str(&format!(
            r#"<entry><link rel="self" href="/UsagePoint/{m}/MeterReading/1"/><content><MeterReading xmlns="http://naesb.org/espi"/></content></entry>
<entry><link rel="self" href="/UsagePoint/{m}/MeterReading/1/IntervalBlock/1"/><content><IntervalBlock xmlns="http://naesb.org/espi"><interval><duration>900</duration><start>0</start></interval><IntervalReading><timePeriod><duration>900</duration><start>0</start></timePeriod><value>{m}</value></IntervalReading></IntervalBlock></content></entry>"#
        ));
    }
    xml.push_str("</feed>");
    let (batches, conversion) =
        convert_slice("t.xml", xml.as_bytes(), &Default::default()).unwrap();
    assert_eq!(conversion.counts.readings_written, n as u64);
    let sizes = |table: Table| batch_sizes(&batches, table);
    let full = espi_arrow::TABLE_BATCH_ROWS;
    assert_eq!(sizes(Table::MeterReadings), vec![full, 5]);
    assert_eq!(sizes(Table::UsagePoints), vec![full, 5]);
    let meter_readings = table(&xml, Table::MeterReadings);
    let want: Vec<Option<String>> = (0..n)
        .map(|i| Some(format!("UsagePoint/{}/MeterReading/1", n - i)))
        .collect();
    assert!(texts(&meter_readings, "meter_reading") == want);
    let usage_points = table(&xml, Table::UsagePoints);
    let mut want: Vec<Option<String>> = (1..=n).map(|m| Some(format!("UsagePoint/{m}"))).collect();
    want.sort();
    assert!(texts(&usage_points, "usage_point") == want);
}

#[test]
fn small_tables_come_in_full_batches_in_document_order() {
    // UsagePoints, IntervalBlocks and LocalTimeParameters in turn: more
    // rows than a batch holds, so the rows are built in pieces and joined.
    let n = espi_arrow::TABLE_BATCH_ROWS + 300;
    let mut xml = String::from(r#"<feed xmlns="http://www.w3.org/2005/Atom">"#);
    for i in 0..n {
        xml.push_str(&format!(
            r#"<entry><id>up{i}</id><link rel="self" href="/UsagePoint/{i}"/><content><UsagePoint xmlns="http://naesb.org/espi"><ServiceCategory><kind>{k}</kind></ServiceCategory></UsagePoint></content></entry>
<entry><link rel="self" href="/UsagePoint/{i}/MeterReading/1/IntervalBlock/{i}"/><content><IntervalBlock xmlns="http://naesb.org/espi"><interval><duration>900</duration><start>{i}</start></interval></IntervalBlock></content></entry>
<entry><link rel="self" href="/LocalTimeParameters/{i}"/><content><LocalTimeParameters xmlns="http://naesb.org/espi"><tzOffset>{i}</tzOffset></LocalTimeParameters></content></entry>"#,
            k = i % 3
        ));
    }
    xml.push_str("</feed>");
    let (batches, conversion) =
        convert_slice("t.xml", xml.as_bytes(), &Default::default()).unwrap();
    assert_eq!(conversion.counts.entries, 3 * n as u64);
    let sizes = |table: Table| batch_sizes(&batches, table);
    let full = espi_arrow::TABLE_BATCH_ROWS;
    assert_eq!(sizes(Table::UsagePoints), vec![full, 300]);
    assert_eq!(sizes(Table::Entries), vec![full, full, 600]);
    let blocks = Table::Resource(espi_arrow::ResourceTable::IntervalBlocks);
    assert_eq!(sizes(blocks), vec![full, 300]);
    // Every row, in document order.
    let up = table(&xml, Table::UsagePoints);
    let want: Vec<Option<String>> = (0..n).map(|i| Some(format!("up{i}"))).collect();
    assert_eq!(texts(&up, "entry_id"), want);
    let kinds: Vec<Option<i32>> = (0..n).map(|i| Some((i % 3) as i32)).collect();
    let column = up.column_by_name("service_kind").unwrap();
    let got: Vec<Option<i32>> = column.as_primitive::<Int32Type>().iter().collect();
    assert_eq!(got, kinds);
    let entries = table(&xml, Table::Entries);
    let ids = texts(&entries, "self_href");
    let want: Vec<Option<String>> = (0..n)
        .flat_map(|i| {
            [
                format!("/UsagePoint/{i}"),
                format!("/LocalTimeParameters/{i}"),
            ]
        })
        .map(Some)
        .collect();
    assert_eq!(ids, want);
    let starts = table(&xml, blocks);
    let want: Vec<Option<String>> = (0..n)
        .map(|i| Some(format!("/UsagePoint/{i}/MeterReading/1/IntervalBlock/{i}")))
        .collect();
    assert_eq!(texts(&starts, "self_href"), want);
}

/// Converted without its corrections while watching for repeats: the PG&E
/// sample (blocks of its meter reading delivered again later in the file)
/// stops after the first entry out of time order and says the input
/// repeats intervals; watched to the end the answer is the same and every
/// entry is read; a file in time order is read whole and does not repeat.
#[test]
fn a_conversion_watching_for_repeats_stops_at_the_first() {
    use espi_arrow::{Converter, RepeatWatch};
    use espi_core::{parse_slice, ParseOptions};
    let testdata = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
    for (file, repeats) in [
        ("pge_interval_blocks_ns_prefixes.xml", true),
        ("ameren_15min.xml", false),
    ] {
        let xml = std::fs::read(testdata.join(file)).unwrap();
        let run = |watch_repeats| {
            let options = ConvertOptions {
                watch_repeats,
                ..ConvertOptions::default()
            };
            let mut converter = Converter::new(file, options, |_, _| {});
            let stats = parse_slice(&xml, &ParseOptions::default(), &mut converter).unwrap();
            (stats.entries, converter.finish().repeats_intervals)
        };
        let (all, unwatched) = run(RepeatWatch::Off);
        let (whole, exact) = run(RepeatWatch::ToTheEnd);
        let (read, stopped) = run(RepeatWatch::StopAtFirst);
        assert!(!unwatched, "{file}");
        assert_eq!((whole, exact, stopped), (all, repeats, repeats), "{file}");
        if repeats {
            assert!(read < all, "{file}: {read} of {all} entries");
        } else {
            assert_eq!(read, all, "{file}");
        }
    }
}

/// Watching to the end says an input repeats intervals exactly when the
/// corrections pass finds contested blocks in it: every bundled sample, and
/// the shared samples where they are.
#[test]
fn watching_for_repeats_agrees_with_the_corrections_pass() {
    use espi_arrow::{Converter, Corrections, RepeatWatch};
    use espi_core::{parse_slice, ParseOptions};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dirs = [
        root.join("../../testdata"),
        root.join("../../../shared/espi-samples/public"),
    ];
    let paths: Vec<std::path::PathBuf> = dirs
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .map(|e| e.unwrap().path())
        .collect();
    let (mut checked, mut repeating) = (0, 0);
    for path in paths {
        if path.extension().is_none_or(|e| e != "xml") {
            continue;
        }
        let xml = std::fs::read(&path).unwrap();
        let options = ConvertOptions {
            watch_repeats: RepeatWatch::ToTheEnd,
            ..ConvertOptions::default()
        };
        let mut converter = Converter::new("f", options, |_, _| {});
        if parse_slice(&xml, &ParseOptions::default(), &mut converter).is_err() {
            continue;
        }
        let watched = converter.finish().repeats_intervals;
        let contested = Corrections::find(&[&xml]).contested_entries() > 0;
        assert_eq!(watched, contested, "{}", path.display());
        checked += 1;
        repeating += usize::from(watched);
    }
    assert!(
        checked >= 5 && repeating >= 1,
        "{checked} samples, {repeating} repeating"
    );
}
