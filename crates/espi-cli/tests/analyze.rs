//! `espi analyze` end to end: XML in, CSV/Parquet/SVG out, on a hand-written
//! fall-back-day feed and on a bundled real file. Expected values are worked
//! out here from the values written into the feed.

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::{espi, run, testdata};

/// 2024-11-03T07:00:00Z: local midnight (PDT) of the fall-back day; the day
/// has 25 hours (100 quarter hours) and ends at 08:00Z on 4 November.
const DAY_UTC: i64 = 1_730_617_200;
const QUARTERS: i64 = 100;

fn delivered_wh(i: i64) -> i64 {
    200 + (i % 7) * 10
}

fn received_wh(i: i64) -> i64 {
    if (40..60).contains(&i) {
        50
    } else {
        0
    }
}

fn tou(i: i64) -> i64 {
    // 16:00-20:59 local PST: quarters 68 to 87 (the day's first 8 hours
    // hold the repeated 01:00, so local hour h starts at quarter 4h + 4).
    if (68..88).contains(&i) {
        1
    } else {
        2
    }
}

/// Pacific LocalTimeParameters, one usage point with delivered (with TOU
/// codes and costs) and received series, and a UsageSummary billing the
/// day's net energy.
fn feed(billed_wh: i64) -> String {
    let reading_type = |id: u32, flow: u32| {
        format!(
            r#"<entry><link rel="self" href="/ReadingType/{id}"/><content><espi:ReadingType>
  <espi:accumulationBehaviour>4</espi:accumulationBehaviour><espi:flowDirection>{flow}</espi:flowDirection>
  <espi:intervalLength>900</espi:intervalLength><espi:powerOfTenMultiplier>0</espi:powerOfTenMultiplier>
  <espi:uom>72</espi:uom></espi:ReadingType></content></entry>
<entry><link rel="self" href="/UsagePoint/1/MeterReading/{id}"/><link rel="related" href="/ReadingType/{id}"/>
  <content><espi:MeterReading/></content></entry>"#
        )
    };
    let block = |id: u32, value: &dyn Fn(i64) -> i64, extra: &dyn Fn(i64) -> String| {
        let readings: String = (0..QUARTERS)
            .map(|i| {
                format!(
                    "<espi:IntervalReading>{}<espi:timePeriod><espi:duration>900</espi:duration><espi:start>{}</espi:start></espi:timePeriod><espi:value>{}</espi:value></espi:IntervalReading>",
                    extra(i),
                    DAY_UTC + i * 900,
                    value(i)
                )
            })
            .collect();
        format!(
            r#"<entry><link rel="up" href="/UsagePoint/1/MeterReading/{id}/IntervalBlock"/>
<content><espi:IntervalBlock><espi:interval><espi:duration>90000</espi:duration><espi:start>{DAY_UTC}</espi:start></espi:interval>{readings}</espi:IntervalBlock></content></entry>"#
        )
    };
    let priced = |i: i64| {
        format!(
            "<espi:cost>{}</espi:cost><espi:tou>{}</espi:tou>",
            delivered_wh(i) * 30,
            tou(i)
        )
    };
    format!(
        r#"<?xml version="1.0"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:espi="http://naesb.org/espi">
<entry><link rel="self" href="/LocalTimeParameters/1"/><content><espi:LocalTimeParameters>
  <espi:dstEndRule>B40E2000</espi:dstEndRule><espi:dstOffset>3600</espi:dstOffset>
  <espi:dstStartRule>360E2000</espi:dstStartRule><espi:tzOffset>-28800</espi:tzOffset>
</espi:LocalTimeParameters></content></entry>
<entry><link rel="self" href="/UsagePoint/1"/><link rel="related" href="/LocalTimeParameters/1"/>
  <content><espi:UsagePoint><espi:ServiceCategory><espi:kind>0</espi:kind></espi:ServiceCategory></espi:UsagePoint></content></entry>
{}
{}
<entry><link rel="self" href="/UsagePoint/1/UsageSummary/1"/><link rel="up" href="/UsagePoint/1/UsageSummary"/>
<content><espi:UsageSummary><espi:billingPeriod><espi:duration>90000</espi:duration><espi:start>{DAY_UTC}</espi:start></espi:billingPeriod>
<espi:billLastPeriod>1234000</espi:billLastPeriod>
<espi:overallConsumptionLastPeriod><espi:powerOfTenMultiplier>0</espi:powerOfTenMultiplier><espi:uom>72</espi:uom><espi:value>{billed_wh}</espi:value></espi:overallConsumptionLastPeriod>
</espi:UsageSummary></content></entry>
{}
{}
</feed>"#,
        reading_type(1, 1),
        reading_type(2, 19),
        block(1, &delivered_wh, &priced),
        block(2, &received_wh, &|_| String::new()),
    )
}

/// A CSV file as rows of column -> value.
fn csv(path: &Path) -> Vec<HashMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_owned)
        .collect();
    lines
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split(',').map(str::to_owned))
                .collect()
        })
        .collect()
}

fn num(row: &HashMap<String, String>, column: &str) -> f64 {
    row[column]
        .parse()
        .unwrap_or_else(|_| panic!("{column}: {:?}", row[column]))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

fn analyze(args: &[&str]) {
    let out = run(espi().arg("analyze").args(args).arg("-q"));
    assert!(out.status.success());
}

/// `espi analyze ARGS -o DIR/NAME` (a .csv name), read back as rows.
fn analyze_csv(dir: &Path, name: &str, args: &[&str]) -> Vec<HashMap<String, String>> {
    let path = dir.join(name);
    let mut all = args.to_vec();
    all.extend(["-o", path.to_str().unwrap()]);
    analyze(&all);
    csv(&path)
}

#[test]
fn net_metering_on_the_fall_back_day_from_xml_and_from_a_converted_folder() {
    let dir = tempfile::tempdir().unwrap();
    let delivered: i64 = (0..QUARTERS).map(delivered_wh).sum();
    let received: i64 = (0..QUARTERS).map(received_wh).sum();
    let xml = dir.path().join("feed.xml");
    std::fs::write(&xml, feed(delivered - received)).unwrap();
    let svg = dir.path().join("net.svg");
    let rows = analyze_csv(
        dir.path(),
        "day.csv",
        &[
            "net-metering",
            xml.to_str().unwrap(),
            "--by",
            "day",
            "--svg",
            svg.to_str().unwrap(),
        ],
    );
    // All 100 quarter hours are on the local day 2024-11-03.
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r["usage_point"], "UsagePoint/1");
    assert_eq!(r["period_start"], "2024-11-03");
    assert!(close(num(r, "delivered_kwh"), delivered as f64 / 1000.0));
    assert!(close(num(r, "received_kwh"), received as f64 / 1000.0));
    assert!(close(
        num(r, "net_kwh"),
        (delivered - received) as f64 / 1000.0
    ));
    assert_eq!(r["reported_net_kwh"], "");
    assert_eq!(r["flag"], "");
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(svg.starts_with("<svg") || svg.contains("<svg"));
    assert!(svg.contains("delivered") && svg.contains("received"));

    // The same from a converted folder, by billing period: the bill equals
    // the net, so nothing is flagged.
    let tables = dir.path().join("tables");
    let out = run(espi()
        .args(["convert", xml.to_str().unwrap(), "-q", "-o"])
        .arg(&tables));
    assert!(out.status.success());
    let billing = dir.path().join("billing.parquet");
    analyze(&[
        "net-metering",
        tables.to_str().unwrap(),
        "--by",
        "billing",
        "-o",
        billing.to_str().unwrap(),
    ]);
    let rows = analyze_csv(
        dir.path(),
        "billing.csv",
        &["net-metering", tables.to_str().unwrap(), "--by", "billing"],
    );
    let r = &rows[0];
    assert_eq!(r["period_start"], "2024-11-03");
    assert_eq!(r["period_end"], "2024-11-04");
    assert!(close(
        num(r, "billed_kwh"),
        (delivered - received) as f64 / 1000.0
    ));
    assert!(close(num(r, "difference_kwh"), 0.0));
    assert_eq!(r["flag"], "");
    assert!(std::fs::metadata(&billing).unwrap().len() > 0);
}

#[test]
fn load_profile_tou_and_completeness_on_the_fall_back_day() {
    let dir = tempfile::tempdir().unwrap();
    let xml = dir.path().join("feed.xml");
    std::fs::write(&xml, feed(0)).unwrap();
    let x = xml.to_str().unwrap();

    let svg = dir.path().join("profile.svg");
    let rows = analyze_csv(
        dir.path(),
        "profile.csv",
        &["load-profile", x, "--svg", svg.to_str().unwrap()],
    );
    // 24 local hours; the repeated 01:00 holds 8 quarter hours.
    assert_eq!(rows.len(), 24);
    let hour1 = rows.iter().find(|r| r["hour"] == "1").unwrap();
    assert_eq!(hour1["samples"], "8");
    assert_eq!(hour1["day_type"], "weekend");
    assert_eq!(hour1["month"], "11");
    let kw: Vec<f64> = (4..12)
        .map(|i| delivered_wh(i) as f64 * 4.0 / 1000.0)
        .collect();
    assert!(close(num(hour1, "mean_kw"), kw.iter().sum::<f64>() / 8.0));
    let summary = csv(&dir.path().join("profile_summary.csv"));
    let peak = (0..QUARTERS).map(delivered_wh).max().unwrap() as f64 * 4.0 / 1000.0;
    assert!(close(num(&summary[0], "peak_kw"), peak));
    // The first quarter hour with the peak value (i % 7 == 6): i = 6, 01:30 PDT.
    assert_eq!(summary[0]["peak_time"], "2024-11-03T01:30:00.000000");
    assert!(std::fs::read_to_string(&svg).unwrap().contains("Nov"));

    let rows = analyze_csv(dir.path(), "tou.csv", &["tou", x, "--by", "month"]);
    let peak_row = rows
        .iter()
        .find(|r| r["flow"] == "delivered" && r["tou"] == "1")
        .unwrap();
    assert_eq!(peak_row["tou_name"], "summer_peak");
    let peak_wh: i64 = (0..QUARTERS)
        .filter(|&i| tou(i) == 1)
        .map(delivered_wh)
        .sum();
    assert!(close(num(peak_row, "energy_kwh"), peak_wh as f64 / 1000.0));
    assert!(close(
        num(peak_row, "cost"),
        peak_wh as f64 * 30.0 / 100_000.0
    ));
    assert_eq!(peak_row["period_start"], "2024-11-01");
    assert_eq!(peak_row["period_end"], "2024-12-01");

    let rows = analyze_csv(dir.path(), "completeness.csv", &["completeness", x]);
    assert_eq!(rows.len(), 2);
    for r in &rows {
        assert_eq!(r["date"], "2024-11-03");
        assert_eq!(
            [
                &r["expected"],
                &r["present"],
                &r["missing"],
                &r["duplicates"]
            ],
            ["100", "100", "0", "0"]
        );
    }
}

#[test]
fn net_metering_of_a_real_file_by_utc_day() {
    // testdata/three_usage_points_net_metered.xml has no
    // LocalTimeParameters: days are UTC days. Sums computed from the XML
    // with Python's ElementTree (value x 10^powerOfTenMultiplier, Wh).
    let dir = tempfile::tempdir().unwrap();
    let file = testdata("three_usage_points_net_metered.xml");
    let rows = analyze_csv(
        dir.path(),
        "net.csv",
        &["net-metering", file.to_str().unwrap(), "--by", "day"],
    );
    let find = |up: &str, day: &str| {
        rows.iter()
            .find(|r| r["usage_point"].ends_with(up) && r["period_start"] == day)
            .unwrap()
    };
    let r = find("UsagePoint/4284792", "2011-06-06");
    assert!(close(num(r, "delivered_kwh"), 8.970));
    assert!(close(num(r, "received_kwh"), 30.195));
    assert!(close(num(r, "net_kwh"), 8.970 - 30.195));
    let r = find("UsagePoint/4284792", "2011-06-07");
    assert!(close(num(r, "net_kwh"), 5.665));
    let r = find("UsagePoint/4284793", "2011-06-06");
    assert!(close(num(r, "delivered_kwh"), 144.145));
    // A usage point with only a received series: net cannot be computed.
    let r = find("UsagePoint/4284794", "2011-06-06");
    assert_eq!(r["net_kwh"], "");
    assert_eq!(r["flag"], "no delivered series");
}

#[test]
fn bad_arguments_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(espi().args([
        "analyze",
        "completeness",
        testdata("three_usage_points_net_metered.xml")
            .to_str()
            .unwrap(),
        "-o",
        dir.path().join("x.json").to_str().unwrap(),
    ]));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown output format"));
    let out = run(espi().args(["analyze", "net-metering", dir.path().to_str().unwrap()]));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no readings dataset"));
}

/// A column of strings (dictionary-encoded or plain) as owned values.
fn string_column(batch: &arrow_array::RecordBatch, name: &str) -> Vec<Option<String>> {
    let column = batch.column_by_name(name).unwrap();
    if let Some(d) = column.as_dictionary_opt::<arrow_array::types::Int32Type>() {
        let values = d.values().as_string::<i32>();
        return d
            .keys()
            .iter()
            .map(|k| k.map(|k| values.value(k as usize).to_owned()))
            .collect();
    }
    column
        .as_string::<i32>()
        .iter()
        .map(|v| v.map(str::to_owned))
        .collect()
}

use arrow_array::cast::AsArray;
use arrow_array::Array;

#[test]
fn net_metering_and_completeness_of_a_generated_feed_match_a_direct_reading() {
    // Six usage points over 200 days from 2024-06-01: the 3 November DST
    // change, net-metered points, hourly and daily series, corrections.
    let dir = tempfile::tempdir().unwrap();
    let xml = dir.path().join("gen.xml");
    let out = run(espi()
        .args([
            "gen",
            "--kind",
            "history",
            "--usage-points",
            "6",
            "--days",
            "200",
            "-o",
        ])
        .arg(&xml));
    assert!(out.status.success());
    let tables = dir.path().join("tables");
    let out = run(espi().args(["convert", "-q", "-o"]).arg(&tables).arg(&xml));
    assert!(out.status.success());

    // Delivered and received energy per usage point and local day, read
    // straight from the readings table (latest deliveries of kWh series).
    let mut expected: HashMap<(String, String, i32), f64> = HashMap::new();
    for batch in common::read_table(&tables.join("readings")) {
        let up = string_column(&batch, "usage_point");
        let unit = string_column(&batch, "unit");
        let prim = |name: &str| batch.column_by_name(name).unwrap().clone();
        let start = prim("start");
        let start = start.as_primitive::<arrow_array::types::TimestampMicrosecondType>();
        let local = prim("local_start");
        let local = local.as_primitive::<arrow_array::types::TimestampMicrosecondType>();
        let delta = prim("interval_delta");
        let delta = delta.as_primitive::<arrow_array::types::Float64Type>();
        let flow = prim("flow_direction");
        let flow = flow.as_primitive::<arrow_array::types::Int32Type>();
        let superseded = prim("superseded");
        let superseded = superseded.as_boolean();
        for i in 0..batch.num_rows() {
            if superseded.value(i) || unit[i].as_deref() != Some("kWh") || delta.is_null(i) {
                continue;
            }
            let f = flow.value(i);
            if f != 1 && f != 19 {
                continue;
            }
            let wall = if local.is_valid(i) {
                local.value(i)
            } else {
                start.value(i)
            };
            let days = wall.div_euclid(86_400_000_000);
            let date = civil(days);
            *expected
                .entry((up[i].clone().unwrap(), date, f))
                .or_default() += delta.value(i).abs();
        }
    }
    assert!(
        expected.keys().any(|k| k.2 == 19),
        "the feed has received series"
    );

    let tables_dir = tables.to_str().unwrap();
    let rows = analyze_csv(
        dir.path(),
        "net.csv",
        &["net-metering", tables_dir, "--by", "day"],
    );
    let mut compared = 0;
    for r in &rows {
        for (flow, column) in [(1, "delivered_kwh"), (19, "received_kwh")] {
            let key = (r["usage_point"].clone(), r["period_start"].clone(), flow);
            match expected.get(&key) {
                Some(&kwh) => {
                    assert!(
                        (num(r, column) - kwh).abs() < 1e-6,
                        "{key:?}: {} vs {kwh}",
                        r[column]
                    );
                    compared += 1;
                }
                None => assert_eq!(r[column], "", "{key:?}"),
            }
        }
    }
    assert_eq!(
        compared,
        expected.len(),
        "every (usage point, day, flow) has its row"
    );

    // The fall-back day has 25 local hours: 100 quarter hours, 25 hours.
    let rows = analyze_csv(
        dir.path(),
        "completeness.csv",
        &["completeness", tables_dir],
    );
    let fall_back: Vec<_> = rows.iter().filter(|r| r["date"] == "2024-11-03").collect();
    assert!(!fall_back.is_empty());
    for r in fall_back {
        let expected = match r["interval_s"].as_str() {
            "900" => "100",
            "3600" => "25",
            "86400" => "1",
            other => panic!("interval {other}"),
        };
        assert_eq!(r["expected"], expected, "{r:?}");
    }
}

/// The civil date (YYYY-MM-DD) of days since 1970-01-01.
fn civil(days: i64) -> String {
    let (y, m, d) = espi_model::numbers::civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}
