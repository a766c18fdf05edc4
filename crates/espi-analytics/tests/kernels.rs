//! The kernels on a hand-made readings table around the 2024 spring-forward
//! day in California (Pacific time: local midnight of 10 March is 08:00Z; the
//! day has 23 hours, 92 quarter hours). Every expected value is worked out
//! here with plain arithmetic on the values put in.

use espi_analytics::polars::prelude::*;
use espi_analytics::{
    completeness, load_profile, net_metering, tou_rollup, Dataset, LoadProfileOptions,
    NetMeteringOptions, Period, TouOptions,
};

const HOUR: i64 = 3600;
/// 2024-03-10T08:00:00Z = local midnight (PST) of the DST day.
const DAY1_UTC: i64 = 1_710_057_600;
/// 2024-03-10T10:00:00Z: 03:00 PDT; earlier instants are PST.
const DST_START_UTC: i64 = 1_710_064_800;
const QUARTERS_DAY1: i64 = 92;

#[derive(Clone)]
struct Row {
    usage_point: &'static str,
    meter_reading: &'static str,
    flow: i32,
    start: i64,
    duration: i64,
    wh: i64,
    superseded: bool,
    estimated: bool,
    tou: Option<i32>,
    cost_raw: Option<i64>,
}

fn offset(start: i64) -> i64 {
    if start < DST_START_UTC {
        -8 * HOUR
    } else {
        -7 * HOUR
    }
}

fn delivered_wh(i: i64) -> i64 {
    if i < QUARTERS_DAY1 {
        100 + i
    } else {
        50
    }
}

fn received_wh(i: i64) -> i64 {
    if (40..60).contains(&i) {
        300
    } else {
        0
    }
}

/// Local hour of a UTC start (seconds).
fn local_hour(start: i64) -> i64 {
    (start + offset(start)).rem_euclid(86_400) / HOUR
}

fn tou_of(start: i64) -> i32 {
    if (16..21).contains(&local_hour(start)) {
        1
    } else {
        2
    }
}

/// UP1: delivered (MR1), received (MR2, interval 30 missing) and reported
/// net (MR3, 0.7 kWh too high at interval 50) every quarter hour of day 1
/// and the first hour of day 2; interval 10 of MR1 delivered twice (the
/// first delivery superseded, 9,999 Wh); interval 20 estimated. UP2: hourly
/// delivered, 1 kWh an hour, 23 hours of day 1.
fn rows() -> Vec<Row> {
    let mut rows = Vec::new();
    let base = |mr: &'static str, flow: i32, start: i64, wh: i64| Row {
        usage_point: "UP1",
        meter_reading: mr,
        flow,
        start,
        duration: 900,
        wh,
        superseded: false,
        estimated: false,
        tou: None,
        cost_raw: None,
    };
    for i in 0..QUARTERS_DAY1 + 4 {
        let start = DAY1_UTC + i * 900;
        let d = delivered_wh(i);
        if i == 10 {
            rows.push(Row {
                superseded: true,
                ..base("MR1", 1, start, 9_999)
            });
        }
        rows.push(Row {
            estimated: i == 20,
            tou: Some(tou_of(start)),
            cost_raw: Some(d * 30),
            ..base("MR1", 1, start, d)
        });
        if i != 30 {
            rows.push(base("MR2", 19, start, received_wh(i)));
        }
        let reported = d - received_wh(i) + if i == 50 { 700 } else { 0 };
        rows.push(base("MR3", 4, start, reported));
    }
    for h in 0..23 {
        rows.push(Row {
            usage_point: "UP2",
            meter_reading: "MR4",
            duration: 3600,
            ..base("MR4", 1, DAY1_UTC + h * HOUR, 1000)
        });
    }
    rows
}

fn dataset(rows: &[Row], summaries: Option<LazyFrame>) -> Dataset {
    let us = |s: i64| s * 1_000_000;
    let df = df!(
        "usage_point" => rows.iter().map(|r| r.usage_point).collect::<Vec<_>>(),
        "meter_reading" => rows.iter().map(|r| r.meter_reading).collect::<Vec<_>>(),
        "start" => rows.iter().map(|r| us(r.start)).collect::<Vec<_>>(),
        "local_start" => rows.iter().map(|r| us(r.start + offset(r.start))).collect::<Vec<_>>(),
        "duration_s" => rows.iter().map(|r| r.duration).collect::<Vec<_>>(),
        "unit" => rows.iter().map(|_| "kWh").collect::<Vec<_>>(),
        "interval_delta" => rows.iter().map(|r| r.wh as f64 / 1000.0).collect::<Vec<_>>(),
        "flow_direction" => rows.iter().map(|r| r.flow).collect::<Vec<_>>(),
        "superseded" => rows.iter().map(|r| r.superseded).collect::<Vec<_>>(),
        "estimated" => rows.iter().map(|r| r.estimated).collect::<Vec<_>>(),
        "edited" => rows.iter().map(|_| false).collect::<Vec<_>>(),
        "tou" => rows.iter().map(|r| r.tou).collect::<Vec<_>>(),
        "tou_name" => rows.iter().map(|r| r.tou.map(|t| if t == 1 { "peak" } else { "off_peak" })).collect::<Vec<_>>(),
        "cost_raw" => rows.iter().map(|r| r.cost_raw).collect::<Vec<_>>(),
    )
    .unwrap();
    let readings = df.lazy().with_columns([
        col("start").cast(DataType::Datetime(
            TimeUnit::Microseconds,
            Some(TimeZone::UTC),
        )),
        col("local_start").cast(DataType::Datetime(TimeUnit::Microseconds, None)),
    ]);
    Dataset::from_frames(readings, summaries)
}

/// One billing period for UP1: day 1 and day 2 (two local days), billed
/// `billed_kwh` and $12.34.
fn summaries(billed_kwh: f64) -> LazyFrame {
    summaries_of(&[(DAY1_UTC, 47 * HOUR, billed_kwh)])
}

/// Billing periods of UP1: (start, duration in seconds, billed kWh), each
/// billed $12.34.
fn summaries_of(periods: &[(i64, i64, f64)]) -> LazyFrame {
    let n = periods.len();
    df!(
        "usage_point" => vec!["UP1"; n],
        "billing_period_start" => periods.iter().map(|p| p.0 * 1_000_000).collect::<Vec<_>>(),
        "billing_period_duration_s" => periods.iter().map(|p| p.1).collect::<Vec<_>>(),
        "overall_consumption_last_period_value" => periods.iter().map(|p| p.2).collect::<Vec<_>>(),
        "overall_consumption_last_period_unit" => vec!["kWh"; n],
        "current_billing_period_over_all_consumption_value" => vec![None::<f64>; n],
        "current_billing_period_over_all_consumption_unit" => vec![None::<&str>; n],
        "bill_last_period_amount" => vec![12.34; n],
        "updated" => vec![1_710_300_000_000_000i64; n],
    )
    .unwrap()
    .lazy()
    .with_columns([
        col("billing_period_start").cast(DataType::Datetime(
            TimeUnit::Microseconds,
            Some(TimeZone::UTC),
        )),
        col("updated").cast(DataType::Datetime(
            TimeUnit::Microseconds,
            Some(TimeZone::UTC),
        )),
    ])
}

fn f64s(df: &DataFrame, name: &str) -> Vec<Option<f64>> {
    df.column(name).unwrap().f64().unwrap().iter().collect()
}

fn strs(df: &DataFrame, name: &str) -> Vec<Option<String>> {
    df.column(name)
        .unwrap()
        .cast(&DataType::String)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|s| s.map(str::to_owned))
        .collect()
}

fn i64s(df: &DataFrame, name: &str) -> Vec<Option<i64>> {
    df.column(name)
        .unwrap()
        .cast(&DataType::Int64)
        .unwrap()
        .i64()
        .unwrap()
        .iter()
        .collect()
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

#[test]
fn net_metering_by_local_day_with_the_utility_net_and_a_correction() {
    let table = net_metering(
        &dataset(&rows(), None),
        &NetMeteringOptions {
            by: Period::Day,
            ..NetMeteringOptions::default()
        },
    )
    .unwrap();
    assert_eq!(
        strs(&table, "usage_point"),
        ["UP1", "UP1", "UP2"].map(|s| Some(s.to_owned()))
    );
    assert_eq!(
        strs(&table, "period_start"),
        ["2024-03-10", "2024-03-11", "2024-03-10"].map(|s| Some(s.to_owned()))
    );
    // Day 1 of UP1: the 92 quarter hours of the 23-hour local day.
    let day1 = 0..QUARTERS_DAY1;
    let delivered: i64 = day1.clone().map(delivered_wh).sum();
    let received: i64 = day1.clone().filter(|&i| i != 30).map(received_wh).sum();
    let reported: i64 = day1.map(|i| delivered_wh(i) - received_wh(i)).sum::<i64>() + 700;
    let (d, r, n, rep) = (
        f64s(&table, "delivered_kwh"),
        f64s(&table, "received_kwh"),
        f64s(&table, "net_kwh"),
        f64s(&table, "reported_net_kwh"),
    );
    assert!(close(d[0], delivered as f64 / 1000.0), "{d:?}");
    assert!(close(r[0], received as f64 / 1000.0), "{r:?}");
    assert!(close(n[0], (delivered - received) as f64 / 1000.0));
    assert!(close(rep[0], reported as f64 / 1000.0));
    let difference = f64s(&table, "difference_kwh")[0].unwrap();
    // 0.7 kWh too high at interval 50, and interval 30 of the received
    // series is missing (0 Wh there, so no effect).
    assert!((difference - (-0.7)).abs() < 1e-9, "{difference}");
    let flags = strs(&table, "flag");
    assert_eq!(
        flags[0].as_deref(),
        Some("net differs from reported net by -0.7 kWh")
    );
    // Day 2: 4 quarter hours of 50 Wh, nothing received.
    assert!(close(d[1], 0.2));
    assert!(close(n[1], 0.2));
    assert_eq!(flags[1], None);
    // UP2 has no received series: net = delivered.
    assert!(close(d[2], 23.0));
    assert_eq!(r[2], None);
    assert!(close(n[2], 23.0));
    assert_eq!(i64s(&table, "readings")[2], Some(23));
}

#[test]
fn net_metering_by_billing_period_against_the_bill() {
    let all: i64 = (0..QUARTERS_DAY1 + 4)
        .map(|i| delivered_wh(i) - if i == 30 { 0 } else { received_wh(i) })
        .sum();
    let net = all as f64 / 1000.0;
    let table = net_metering(
        &dataset(&rows(), Some(summaries(net + 2.0))),
        &NetMeteringOptions {
            by: Period::Billing,
            ..NetMeteringOptions::default()
        },
    )
    .unwrap();
    // UP2 has no billing period: its readings are in none.
    assert_eq!(table.height(), 1);
    assert_eq!(
        strs(&table, "period_start")[0].as_deref(),
        Some("2024-03-10")
    );
    // 47 hours from local midnight on the 23-hour day: 00:00 on 12 March.
    assert_eq!(strs(&table, "period_end")[0].as_deref(), Some("2024-03-12"));
    assert!(close(f64s(&table, "net_kwh")[0], net));
    assert!(close(f64s(&table, "billed_kwh")[0], net + 2.0));
    let flag = strs(&table, "flag")[0].clone().unwrap();
    assert!(
        flag.contains("net differs from reported net by -0.7 kWh"),
        "{flag}"
    );
    assert!(
        flag.contains("net differs from billed by -2.0 kWh"),
        "{flag}"
    );

    // A bill within the tolerance (1 % here) is not flagged for it.
    let table = net_metering(
        &dataset(&rows(), Some(summaries(net + 0.05))),
        &NetMeteringOptions {
            by: Period::Billing,
            ..NetMeteringOptions::default()
        },
    )
    .unwrap();
    let flag = strs(&table, "flag")[0].clone().unwrap();
    assert!(!flag.contains("billed"), "{flag}");
}

#[test]
fn overlapping_billing_periods_split_at_the_later_start() {
    // A second period starts 10 hours into the first (which would run 47
    // hours): each reading belongs to the latest period starting at or
    // before it, so nothing is counted twice.
    let second = DAY1_UTC + 10 * HOUR;
    let overlapping = dataset(
        &rows(),
        Some(summaries_of(&[
            (DAY1_UTC, 47 * HOUR, 0.0),
            (second, 30 * HOUR, 0.0),
        ])),
    );
    let table = net_metering(
        &overlapping,
        &NetMeteringOptions {
            by: Period::Billing,
            ..NetMeteringOptions::default()
        },
    )
    .unwrap();
    assert_eq!(table.height(), 2);
    let first_wh: i64 = (0..40).map(delivered_wh).sum();
    let rest_wh: i64 = (40..QUARTERS_DAY1 + 4).map(delivered_wh).sum();
    let delivered = f64s(&table, "delivered_kwh");
    assert!(
        close(delivered[0], first_wh as f64 / 1000.0),
        "{delivered:?}"
    );
    assert!(
        close(delivered[1], rest_wh as f64 / 1000.0),
        "{delivered:?}"
    );
    // The second period starts at 18:00Z on 10 March (11:00 PDT) and ends
    // 30 hours on, 00:00Z on 12 March (17:00 PDT on the 11th); the first
    // keeps its own end, 07:00Z on 12 March (00:00 PDT).
    assert_eq!(
        strs(&table, "period_start"),
        [Some("2024-03-10".into()), Some("2024-03-10".into())]
    );
    assert_eq!(
        strs(&table, "period_end"),
        [Some("2024-03-12".into()), Some("2024-03-11".into())]
    );

    // The TOU roll-up keeps the two periods apart too: each delivered row's
    // period total is its own period's energy.
    let tou = tou_rollup(
        &overlapping,
        &TouOptions {
            periods: vec![Period::Billing],
        },
    )
    .unwrap();
    let delivered_rows: Vec<usize> = (0..tou.height())
        .filter(|&i| strs(&tou, "flow")[i].as_deref() == Some("delivered"))
        .collect();
    let ends = strs(&tou, "period_end");
    let totals = f64s(&tou, "period_energy_kwh");
    for i in delivered_rows {
        let expected = match ends[i].as_deref() {
            Some("2024-03-12") => first_wh,
            Some("2024-03-11") => rest_wh,
            other => panic!("unexpected period end {other:?}"),
        };
        assert!(close(totals[i], expected as f64 / 1000.0), "{totals:?}");
    }
}

#[test]
fn billing_periods_need_usage_summaries() {
    let err = net_metering(
        &dataset(&rows(), None),
        &NetMeteringOptions {
            by: Period::Billing,
            ..NetMeteringOptions::default()
        },
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("no UsageSummary"), "{err}");
}

/// Linear-interpolated percentile (numpy's default) of sorted values.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

#[test]
fn load_profile_by_local_hour_on_the_dst_day() {
    let result = load_profile(&dataset(&rows(), None), &LoadProfileOptions::default()).unwrap();
    let p = &result.profile;
    let up = strs(p, "usage_point");
    let hours = i64s(p, "hour");
    let day_types = strs(p, "day_type");
    let months = i64s(p, "month");
    // UP1 on the DST day: local hours 0, 1 and 3-23 (2 does not exist),
    // and 0 of 11 March (a Monday).
    let up1: Vec<usize> = (0..p.height())
        .filter(|&k| up[k].as_deref() == Some("UP1"))
        .collect();
    let sunday: Vec<i64> = up1
        .iter()
        .filter(|&&k| day_types[k].as_deref() == Some("weekend"))
        .map(|&k| hours[k].unwrap())
        .collect();
    let expected_hours: Vec<i64> = (0..24).filter(|&h| h != 2).collect();
    assert_eq!(sunday, expected_hours);
    assert!(up1.iter().all(|&k| months[k] == Some(3)));
    // Hour 17 (PDT) of the Sunday: quarters whose local hour is 17.
    let mut kw: Vec<f64> = (0..QUARTERS_DAY1)
        .filter(|&i| local_hour(DAY1_UTC + i * 900) == 17)
        .map(|i| delivered_wh(i) as f64 * 4.0 / 1000.0)
        .collect();
    kw.sort_by(f64::total_cmp);
    assert_eq!(kw.len(), 4);
    let k = up1
        .iter()
        .copied()
        .find(|&k| hours[k] == Some(17) && day_types[k].as_deref() == Some("weekend"))
        .unwrap();
    assert!(close(f64s(p, "mean_kw")[k], kw.iter().sum::<f64>() / 4.0));
    assert!(close(f64s(p, "p50_kw")[k], percentile(&kw, 0.5)));
    assert!(close(f64s(p, "p95_kw")[k], percentile(&kw, 0.95)));
    // The superseded 9,999 Wh delivery is not demand: hour 2 UTC of the
    // first quarter hours (local 02:00 PST does not exist; interval 10 is
    // 10:30Z = 03:30 PDT).
    let k = up1
        .iter()
        .copied()
        .find(|&k| hours[k] == Some(3) && day_types[k].as_deref() == Some("weekend"))
        .unwrap();
    let expected: f64 = (8..12)
        .map(|i| delivered_wh(i) as f64 * 4.0 / 1000.0)
        .sum::<f64>()
        / 4.0;
    assert!(close(f64s(p, "mean_kw")[k], expected));

    let s = &result.summary;
    assert_eq!(
        strs(s, "usage_point"),
        ["UP1", "UP2", "all"].map(|s| Some(s.to_owned()))
    );
    // UP1 peaks in the last quarter hour of the DST day: 23:45 PDT, 191 Wh.
    assert!(close(f64s(s, "peak_kw")[0], 191.0 * 4.0 / 1000.0));
    assert_eq!(
        strs(s, "peak_time")[0].as_deref(),
        Some("2024-03-10 23:45:00.000000")
    );
    let energy: i64 = (0..QUARTERS_DAY1 + 4).map(delivered_wh).sum();
    let mean_kw = energy as f64 / 1000.0 / 24.0; // 96 quarter hours
    assert!(close(f64s(s, "mean_kw")[0], mean_kw));
    assert!(close(
        f64s(s, "load_factor")[0],
        mean_kw / (191.0 * 4.0 / 1000.0)
    ));
    // Baseload: 10th percentile of demand between 00:00 and 05:59 local.
    let mut night: Vec<f64> = (0..QUARTERS_DAY1 + 4)
        .filter(|&i| local_hour(DAY1_UTC + i * 900) < 6)
        .map(|i| delivered_wh(i) as f64 * 4.0 / 1000.0)
        .collect();
    night.sort_by(f64::total_cmp);
    assert!(close(f64s(s, "baseload_kw")[0], percentile(&night, 0.1)));
    // The population: total demand hour by hour; its peak is the last UTC
    // hour of day 1 (quarters 88-91 of UP1 plus 1 kWh of UP2).
    let last_hour: i64 = (88..92).map(delivered_wh).sum::<i64>() + 1000;
    assert!(close(f64s(s, "peak_kw")[2], last_hour as f64 / 1000.0));
    assert_eq!(
        strs(s, "peak_time")[2].as_deref(),
        Some("2024-03-10 23:00:00.000000")
    );
}

#[test]
fn load_profile_of_one_usage_point_only() {
    let result = load_profile(
        &dataset(&rows(), None),
        &LoadProfileOptions {
            usage_points: vec!["UP2".into()],
            population_only: false,
        },
    )
    .unwrap();
    let up = strs(&result.profile, "usage_point");
    assert!(up.iter().all(|u| u.as_deref() == Some("UP2")));
    assert_eq!(result.profile.height(), 23);
    assert!(f64s(&result.profile, "mean_kw")
        .iter()
        .all(|&v| close(v, 1.0)));
    assert!(close(f64s(&result.summary, "load_factor")[0], 1.0));
}

#[test]
fn completeness_counts_dst_days_gaps_duplicates_and_estimates() {
    let table = completeness(&dataset(&rows(), None)).unwrap();
    let mr = strs(&table, "meter_reading");
    let row = |m: &str, date: &str| {
        let dates = strs(&table, "date");
        (0..table.height())
            .find(|&k| mr[k].as_deref() == Some(m) && dates[k].as_deref() == Some(date))
            .unwrap_or_else(|| panic!("{m} {date}"))
    };
    let get = |name: &str, k: usize| i64s(&table, name)[k].unwrap();
    // MR1 day 1: 92 expected on the 23-hour day, all present, one
    // duplicate (superseded), one estimated.
    let k = row("MR1", "2024-03-10");
    assert_eq!(
        [
            get("expected", k),
            get("present", k),
            get("missing", k),
            get("duplicates", k),
            get("superseded", k),
            get("gaps", k),
            get("estimated", k),
        ],
        [92, 92, 0, 1, 1, 0, 1]
    );
    // MR1 day 2: one hour of 24 (a trailing gap).
    let k = row("MR1", "2024-03-11");
    assert_eq!(
        [
            get("expected", k),
            get("present", k),
            get("missing", k),
            get("gaps", k)
        ],
        [96, 4, 92, 1]
    );
    // MR2 day 1: interval 30 missing, one gap inside the day.
    let k = row("MR2", "2024-03-10");
    assert_eq!(
        [
            get("expected", k),
            get("present", k),
            get("missing", k),
            get("gaps", k)
        ],
        [92, 91, 1, 1]
    );
    // MR4: hourly, 23 hours on the 23-hour day.
    let k = row("MR4", "2024-03-10");
    assert_eq!(
        [get("expected", k), get("present", k), get("missing", k)],
        [23, 23, 0]
    );
    assert_eq!(i64s(&table, "interval_s")[k], Some(3600));
    // The last reading of UP1 ends at 01:00 PDT on 11 March = 08:00Z.
    let k = row("MR1", "2024-03-11");
    assert_eq!(
        strs(&table, "last_reading")[k].as_deref(),
        Some("2024-03-11 08:00:00.000000+00:00")
    );
}

#[test]
fn completeness_lists_days_without_readings() {
    let mut rows = rows();
    // MR4 also has one reading at local midnight three days later
    // (2024-03-13T07:00Z = 00:00 PDT): the two days between are reported with
    // nothing present.
    let last = rows.last().unwrap().clone();
    rows.push(Row {
        start: DAY1_UTC + 3 * 86_400 - HOUR,
        ..last
    });
    let table = completeness(&dataset(&rows, None)).unwrap();
    let mr = strs(&table, "meter_reading");
    let dates: Vec<String> = (0..table.height())
        .filter(|&k| mr[k].as_deref() == Some("MR4"))
        .map(|k| strs(&table, "date")[k].clone().unwrap())
        .collect();
    assert_eq!(
        dates,
        ["2024-03-10", "2024-03-11", "2024-03-12", "2024-03-13"]
    );
    let present = i64s(&table, "present");
    let missing = i64s(&table, "missing");
    let k = (0..table.height())
        .find(|&k| {
            mr[k].as_deref() == Some("MR4")
                && strs(&table, "date")[k].as_deref() == Some("2024-03-11")
        })
        .unwrap();
    assert_eq!((present[k], missing[k]), (Some(0), Some(24)));
    assert_eq!(i64s(&table, "gaps")[k], Some(1));
}

#[test]
fn tou_rollup_per_month_and_billing_period() {
    let table = tou_rollup(
        &dataset(&rows(), Some(summaries(40.0))),
        &TouOptions {
            periods: vec![Period::Month, Period::Billing],
        },
    )
    .unwrap();
    let period = strs(&table, "period");
    let flow = strs(&table, "flow");
    let name = strs(&table, "tou_name");
    let up = strs(&table, "usage_point");
    let find = |p: &str, n: &str| {
        (0..table.height())
            .find(|&k| {
                up[k].as_deref() == Some("UP1")
                    && period[k].as_deref() == Some(p)
                    && flow[k].as_deref() == Some("delivered")
                    && name[k].as_deref() == Some(n)
            })
            .unwrap()
    };
    let peak: Vec<i64> = (0..QUARTERS_DAY1 + 4)
        .filter(|&i| tou_of(DAY1_UTC + i * 900) == 1)
        .map(delivered_wh)
        .collect();
    let off: Vec<i64> = (0..QUARTERS_DAY1 + 4)
        .filter(|&i| tou_of(DAY1_UTC + i * 900) == 2)
        .map(delivered_wh)
        .collect();
    let total: i64 = peak.iter().chain(&off).sum();
    for p in ["month", "billing"] {
        let k = find(p, "peak");
        let wh: i64 = peak.iter().sum();
        assert!(close(f64s(&table, "energy_kwh")[k], wh as f64 / 1000.0));
        // 30 hundred-thousandths per Wh: $0.30 a kWh.
        assert!(close(f64s(&table, "cost")[k], wh as f64 * 30.0 / 100_000.0));
        assert!(close(f64s(&table, "share")[k], wh as f64 / total as f64));
        assert_eq!(i64s(&table, "readings")[k], Some(peak.len() as i64));
        let k = find(p, "off_peak");
        let wh: i64 = off.iter().sum();
        assert!(close(f64s(&table, "energy_kwh")[k], wh as f64 / 1000.0));
        assert!(close(
            f64s(&table, "period_energy_kwh")[k],
            total as f64 / 1000.0
        ));
    }
    let k = find("billing", "peak");
    assert!(close(f64s(&table, "billed_kwh")[k], 40.0));
    assert!(close(f64s(&table, "billed_cost")[k], 12.34));
    assert!(close(
        f64s(&table, "energy_difference_kwh")[k],
        total as f64 / 1000.0 - 40.0
    ));
    assert!(close(
        f64s(&table, "cost_difference")[k],
        total as f64 * 30.0 / 100_000.0 - 12.34
    ));
    // The month rows carry no bill.
    assert_eq!(f64s(&table, "billed_kwh")[find("month", "peak")], None);
    // Readings without a TOU code are `unassigned`.
    assert!((0..table.height())
        .any(|k| { up[k].as_deref() == Some("UP2") && name[k].as_deref() == Some("unassigned") }));
}

#[test]
fn chunks_of_usage_points_give_the_same_tables() {
    // Chunks of at most 50 readings: every usage point is a chunk of its own.
    let whole = dataset(&rows(), Some(summaries(40.0)));
    let chunked = Dataset {
        chunk_readings: 50,
        ..whole.clone()
    };
    for by in [Period::Day, Period::Billing] {
        let options = NetMeteringOptions {
            by,
            ..NetMeteringOptions::default()
        };
        let (a, b) = (
            net_metering(&whole, &options).unwrap(),
            net_metering(&chunked, &options).unwrap(),
        );
        assert_same(&a, &b);
    }
    let tou = TouOptions {
        periods: vec![Period::Month, Period::Billing],
    };
    assert_same(
        &tou_rollup(&whole, &tou).unwrap(),
        &tou_rollup(&chunked, &tou).unwrap(),
    );
    let a = load_profile(&whole, &LoadProfileOptions::default()).unwrap();
    let b = load_profile(&chunked, &LoadProfileOptions::default()).unwrap();
    assert_same(&a.profile, &b.profile);
    assert_same(&a.summary, &b.summary);
    assert_same(
        &completeness(&whole).unwrap(),
        &completeness(&chunked).unwrap(),
    );
}

/// Same column names, types and values (nulls equal; floats to the last bit
/// through their shortest round-trip text).
fn assert_same(a: &DataFrame, b: &DataFrame) {
    assert_eq!(a.get_column_names(), b.get_column_names());
    let text = |c: &Column| {
        let s = c.as_materialized_series();
        (
            s.dtype().clone(),
            s.iter().map(|v| v.to_string()).collect::<Vec<_>>(),
        )
    };
    for (x, y) in a.columns().iter().zip(b.columns()) {
        assert_eq!(text(x), text(y), "{}", x.name());
    }
}
