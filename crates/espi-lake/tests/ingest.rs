//! Daily ingests into a lake: day 1, day 2 with corrections of day 1 (one in
//! the previous month), a stale re-delivery, a re-ingest, and a failure in
//! the middle of an ingest. The expected table is worked out here by
//! applying the deliveries in order with the rule "the newest delivery of an
//! interval wins" to the values written into the feeds.

use std::collections::BTreeMap;
use std::path::Path;

use deltalake::arrow::array::{Array, Float64Array, Int64Array, RecordBatch, StringArray};
use deltalake::arrow::compute::cast;
use deltalake::arrow::datatypes::DataType;
use espi_arrow::{convert_slice, ConvertOptions, Table};
use espi_lake::{Feed, IngestOptions, Lake, LakeError, READINGS};
use espi_parquet::{write_table, WriterOptions};

/// 2024-05-31T12:00:00Z.
const DAY1_UTC: i64 = 1_717_156_800;
const HOUR: i64 = 3600;

/// One IntervalBlock: usage point, Atom `updated`, first start, Wh values.
struct Block {
    usage_point: u32,
    updated: &'static str,
    start: i64,
    wh: Vec<i64>,
}

fn feed(blocks: &[Block]) -> Vec<u8> {
    let mut xml = String::from(
        r#"<?xml version="1.0"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:espi="http://naesb.org/espi">
<entry><link rel="self" href="/ReadingType/1"/><content><espi:ReadingType>
  <espi:accumulationBehaviour>4</espi:accumulationBehaviour><espi:flowDirection>1</espi:flowDirection>
  <espi:intervalLength>3600</espi:intervalLength><espi:powerOfTenMultiplier>0</espi:powerOfTenMultiplier>
  <espi:uom>72</espi:uom></espi:ReadingType></content></entry>
"#,
    );
    for up in 1..=2 {
        xml.push_str(&format!(
            r#"<entry><link rel="self" href="/UsagePoint/{up}"/><updated>2024-06-01T00:00:00Z</updated>
<content><espi:UsagePoint><espi:ServiceCategory><espi:kind>0</espi:kind></espi:ServiceCategory></espi:UsagePoint></content></entry>
<entry><link rel="self" href="/UsagePoint/{up}/MeterReading/1"/><link rel="related" href="/ReadingType/1"/>
<content><espi:MeterReading/></content></entry>
"#
        ));
    }
    for b in blocks {
        let readings: String = b
            .wh
            .iter()
            .enumerate()
            .map(|(i, wh)| {
                format!(
                    "<espi:IntervalReading><espi:timePeriod><espi:duration>3600</espi:duration>\
                     <espi:start>{}</espi:start></espi:timePeriod><espi:value>{wh}</espi:value></espi:IntervalReading>",
                    b.start + i as i64 * HOUR
                )
            })
            .collect();
        xml.push_str(&format!(
            r#"<entry><link rel="up" href="/UsagePoint/{up}/MeterReading/1/IntervalBlock"/><updated>{updated}</updated>
<content><espi:IntervalBlock><espi:interval><espi:duration>{d}</espi:duration><espi:start>{s}</espi:start></espi:interval>{readings}</espi:IntervalBlock></content></entry>
"#,
            up = b.usage_point,
            updated = b.updated,
            d = b.wh.len() as i64 * HOUR,
            s = b.start,
        ));
    }
    xml.push_str("</feed>\n");
    xml.into_bytes()
}

fn day1() -> Vec<Block> {
    (1..=2)
        .map(|up| Block {
            usage_point: up,
            updated: "2024-06-01T06:00:00Z",
            start: DAY1_UTC,
            wh: (0..24).map(|i| i64::from(up) * 1000 + i).collect(),
        })
        .collect()
}

fn day2() -> Vec<Block> {
    let mut blocks: Vec<Block> = (1..=2)
        .map(|up| Block {
            usage_point: up,
            updated: "2024-06-02T06:00:00Z",
            start: DAY1_UTC + 24 * HOUR,
            wh: (0..24).map(|i| i64::from(up) * 2000 + i).collect(),
        })
        .collect();
    // Corrections of day 1 for usage point 1: 22:00-01:00 UTC, across the
    // end of May.
    blocks.push(Block {
        usage_point: 1,
        updated: "2024-06-02T06:00:00Z",
        start: DAY1_UTC + 10 * HOUR,
        wh: vec![9010, 9011, 9012, 9013],
    });
    blocks
}

/// A stale re-delivery: day 1's values of usage point 1, but stamped
/// before day 2's corrections; it must not undo them.
fn stale() -> Vec<Block> {
    vec![Block {
        usage_point: 1,
        updated: "2024-06-01T12:00:00Z",
        start: DAY1_UTC + 10 * HOUR,
        wh: vec![1, 2, 3, 4],
    }]
}

/// The readings table expected after the deliveries, newest `updated` of
/// each (usage point, start) winning (a later delivery on a tie).
fn expected(deliveries: &[&[Block]]) -> BTreeMap<(String, i64), i64> {
    let mut latest: BTreeMap<(String, i64), (&str, i64)> = BTreeMap::new();
    for blocks in deliveries {
        for b in *blocks {
            for (i, wh) in b.wh.iter().enumerate() {
                let key = (
                    format!("UsagePoint/{}", b.usage_point),
                    b.start + i as i64 * HOUR,
                );
                match latest.get(&key) {
                    Some((updated, _)) if *updated > b.updated => {}
                    _ => {
                        latest.insert(key, (b.updated, *wh));
                    }
                }
            }
        }
    }
    latest.into_iter().map(|(k, (_, wh))| (k, wh)).collect()
}

/// Convert a feed into `dir/<table>/part-00000.parquet`, as `espi convert`
/// lays tables out.
fn convert(xml: &[u8], dir: &Path) {
    let (batches, conversion) = convert_slice("feed.xml", xml, &ConvertOptions::default()).unwrap();
    assert_eq!(conversion.counts.readings_rejected, 0);
    for (table, list) in batches {
        if table == Table::Readings || !list.is_empty() {
            write_table(
                dir.join(table.name()),
                "part",
                &list,
                &WriterOptions::default(),
            )
            .unwrap();
        }
    }
}

fn ingest(lake: &Lake, name: &str, blocks: &[Block]) -> Result<espi_lake::IngestReport, LakeError> {
    let xml = feed(blocks);
    let scratch = tempfile::tempdir().unwrap();
    convert(&xml, scratch.path());
    let feed = Feed::of_bytes(name, &xml);
    if lake.pending(std::slice::from_ref(&feed))?.is_empty() {
        return Ok(espi_lake::IngestReport::default());
    }
    lake.ingest(scratch.path(), &[feed], &IngestOptions::default())
}

fn strings(batch: &RecordBatch, i: usize) -> Vec<String> {
    let c = cast(batch.column(i), &DataType::Utf8).unwrap();
    let a = c.as_any().downcast_ref::<StringArray>().unwrap();
    (0..a.len()).map(|r| a.value(r).to_owned()).collect()
}

/// The readings table as (usage point, start seconds) -> Wh.
fn table(lake: &Lake) -> BTreeMap<(String, i64), i64> {
    let batches = lake
        .sql(
            "SELECT usage_point, CAST(to_unixtime(start) AS BIGINT) AS s, value * 1000 AS wh \
             FROM readings",
        )
        .unwrap();
    let mut rows = BTreeMap::new();
    for b in &batches {
        let ups = strings(b, 0);
        let starts = b.column(1).as_any().downcast_ref::<Int64Array>().unwrap();
        let wh = b.column(2).as_any().downcast_ref::<Float64Array>().unwrap();
        for (r, up) in ups.into_iter().enumerate() {
            let old = rows.insert((up, starts.value(r)), wh.value(r).round() as i64);
            assert!(old.is_none(), "a key twice in the table");
        }
    }
    rows
}

fn version(lake: &Lake, name: &str) -> u64 {
    lake.history(name, Some(1)).unwrap()[0].version
}

#[test]
fn day_two_corrects_day_one_and_a_reingest_changes_nothing() {
    let root = tempfile::tempdir().unwrap();
    let lake = Lake::open(root.path().to_str().unwrap()).unwrap();

    let first = ingest(&lake, "day1.xml", &day1()).unwrap();
    let readings = first.table(READINGS).unwrap();
    assert_eq!(readings.operation, "create");
    assert_eq!(readings.inserted, 48);
    assert_eq!(readings.months, ["2024-05", "2024-06"]);
    assert_eq!(table(&lake), expected(&[&day1()]));

    let second = ingest(&lake, "day2.xml", &day2()).unwrap();
    let readings = second.table(READINGS).unwrap();
    assert_eq!(readings.operation, "merge");
    assert_eq!((readings.inserted, readings.updated), (48, 4));
    assert_eq!(readings.months, ["2024-05", "2024-06"]);
    let after_day2 = expected(&[&day1(), &day2()]);
    assert_eq!(table(&lake), after_day2);
    // Spot check, independent of `expected`: 22:00Z on 31 May corrected.
    assert_eq!(
        after_day2[&("UsagePoint/1".to_owned(), DAY1_UTC + 10 * HOUR)],
        9010
    );

    // The history names both feeds, newest first.
    let history = lake.history(READINGS, None).unwrap();
    let feeds: Vec<&str> = history
        .iter()
        .flat_map(|c| c.feeds.iter().map(|f| f.name.as_str()))
        .collect();
    assert_eq!(feeds, ["day2.xml", "day1.xml"]);
    assert_eq!(history[0].operation, "MERGE");

    // The same bytes again, under any name: nothing to do, no new version.
    let before = version(&lake, READINGS);
    let again = ingest(&lake, "day2-copy.xml", &day2()).unwrap();
    assert!(again.tables.is_empty());
    assert_eq!(version(&lake, READINGS), before);

    // A stale re-delivery does not undo the corrections.
    ingest(&lake, "stale.xml", &stale()).unwrap();
    assert_eq!(table(&lake), expected(&[&day1(), &day2(), &stale()]));
    assert_eq!(table(&lake), after_day2);

    // The ingest log has one row per feed.
    let log = lake
        .sql("SELECT feed FROM ingest_log ORDER BY ingested_at, feed")
        .unwrap();
    let names: Vec<String> = log.iter().flat_map(|b| strings(b, 0)).collect();
    assert_eq!(names, ["day1.xml", "day2.xml", "stale.xml"]);

    // Stats: 48 + 48 rows, two month partitions.
    let stats = lake.stats().unwrap();
    let readings = stats.iter().find(|s| s.table == READINGS).unwrap();
    assert_eq!(readings.rows, 96);
    assert_eq!(readings.partitions, ["2024-05", "2024-06"]);
}

#[test]
fn a_failed_ingest_leaves_the_previous_version_and_a_rerun_completes_it() {
    let root = tempfile::tempdir().unwrap();
    let lake = Lake::open(root.path().to_str().unwrap()).unwrap();
    ingest(&lake, "day1.xml", &day1()).unwrap();
    let readings_before = version(&lake, READINGS);
    let points_before = version(&lake, "usage_points");

    // Day 2 converted, then one readings file of it broken after the other
    // tables went in: the readings MERGE fails.
    let xml = feed(&day2());
    let scratch = tempfile::tempdir().unwrap();
    convert(&xml, scratch.path());
    let good = scratch.path().join("readings/part-00000.parquet");
    let saved = std::fs::read(&good).unwrap();
    let mut broken = saved.clone();
    broken.truncate(saved.len() / 2);
    std::fs::write(&good, &broken).unwrap();
    let feed2 = Feed::of_bytes("day2.xml", &xml);
    let error = lake
        .ingest(
            scratch.path(),
            std::slice::from_ref(&feed2),
            &IngestOptions::default(),
        )
        .unwrap_err();
    assert!(error.to_string().starts_with("readings:"), "{error}");
    assert_eq!(version(&lake, READINGS), readings_before);
    assert_eq!(table(&lake), expected(&[&day1()]));
    let pending = lake.pending(std::slice::from_ref(&feed2)).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0], feed2);

    // The feed again, intact: the tables that already have it are skipped,
    // readings merged, the feed logged.
    std::fs::write(&good, &saved).unwrap();
    let report = lake
        .ingest(
            scratch.path(),
            std::slice::from_ref(&feed2),
            &IngestOptions::default(),
        )
        .unwrap();
    assert_eq!(report.table("usage_points").unwrap().operation, "already");
    assert!(version(&lake, "usage_points") > points_before);
    assert_eq!(report.table(READINGS).unwrap().operation, "merge");
    assert_eq!(table(&lake), expected(&[&day1(), &day2()]));
    assert!(lake.pending(&[feed2]).unwrap().is_empty());
}
