//! The readings of every public sample against an independent extraction
//! (`tools/reference_extract.py`: Python's ElementTree and exact decimal
//! arithmetic, written separately from this crate): reading count, first and
//! last start, and per (flow direction, uom, multiplier) group the count, the
//! exact sum of raw values, the scaled total and the cost total.
//! Skips cleanly when `../shared` is not there.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use espi_arrow::{convert_slice, ConvertOptions, Table};

type GroupKey = (Option<i32>, Option<i32>, Option<i32>);

#[derive(Default, Debug)]
struct Group {
    count: u64,
    raw_sum: i128,
    scaled_sum: f64,
    scaled_count: u64,
    raw_count: u64,
    cost_raw_sum: i128,
    cost_count: u64,
}

fn samples_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/espi-samples/public");
    dir.is_dir().then_some(dir)
}

fn opt_i32(v: &serde_json::Value) -> Option<i32> {
    v.as_i64().map(|x| x as i32)
}

fn summarise(
    batches: &[RecordBatch],
) -> (u64, Option<i64>, Option<i64>, BTreeMap<GroupKey, Group>) {
    let mut groups: BTreeMap<GroupKey, Group> = BTreeMap::new();
    let (mut n, mut first, mut last) = (0u64, None::<i64>, None::<i64>);
    for b in batches {
        let col = |name: &str| b.column_by_name(name).unwrap().clone();
        let flow = col("flow_direction");
        let flow = flow.as_primitive::<Int32Type>();
        let uom = col("uom");
        let uom = uom.as_primitive::<Int32Type>();
        let mult = col("power_of_ten_multiplier");
        let mult = mult.as_primitive::<Int32Type>();
        let raw = col("value_raw");
        let raw = raw.as_primitive::<Int64Type>();
        let value = col("value");
        let value = value.as_primitive::<Float64Type>();
        let cost = col("cost_raw");
        let cost = cost.as_primitive::<Int64Type>();
        let start = col("start");
        let start = start.as_primitive::<TimestampMicrosecondType>();
        for i in 0..b.num_rows() {
            let get = |a: &arrow_array::Int32Array| (!a.is_null(i)).then(|| a.value(i));
            let g = groups.entry((get(flow), get(uom), get(mult))).or_default();
            g.count += 1;
            if !raw.is_null(i) {
                g.raw_sum += raw.value(i) as i128;
                g.raw_count += 1;
            }
            if !value.is_null(i) {
                g.scaled_sum += value.value(i);
                g.scaled_count += 1;
            }
            if !cost.is_null(i) {
                g.cost_raw_sum += cost.value(i) as i128;
                g.cost_count += 1;
            }
            let s = start.value(i);
            first = Some(first.map_or(s, |f| f.min(s)));
            last = Some(last.map_or(s, |l| l.max(s)));
            n += 1;
        }
    }
    (n, first, last, groups)
}

/// The samples bundled in `testdata/` (listed in its README with their
/// original sample names), for runs without `../shared`.
fn bundled_samples() -> Vec<(String, PathBuf)> {
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
    let readme = std::fs::read_to_string(testdata.join("README.md")).unwrap();
    readme
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line
                .split('|')
                .map(|c| c.trim().trim_matches('`'))
                .collect();
            let (here, original) = (cells.get(1)?, cells.get(7)?);
            here.ends_with(".xml")
                .then(|| (original.to_string(), testdata.join(here)))
        })
        .collect()
}

#[test]
fn bundled_samples_match_the_independent_extraction() {
    let bundled = bundled_samples();
    assert!(bundled.len() >= 7);
    check_against_reference(&bundled.into_iter().collect(), 4);
}

#[test]
fn every_sample_matches_the_independent_extraction() {
    let Some(dir) = samples_dir() else {
        eprintln!("skipped: ../shared/espi-samples/public not present");
        return;
    };
    let all: BTreeMap<String, PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.file_name().unwrap().to_string_lossy().to_string(), p))
        .collect();
    check_against_reference(&all, 10);
}

fn check_against_reference(samples: &BTreeMap<String, PathBuf>, minimum: usize) {
    let expected_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/expected");
    let mut files_with_readings = 0;
    let mut failures = Vec::new();
    for entry in std::fs::read_dir(&expected_dir).unwrap() {
        let path = entry.unwrap().path();
        let expected: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let name = expected["file"].as_str().unwrap().to_owned();
        let Some(sample) = samples.get(&name) else {
            continue;
        };
        let bytes = std::fs::read(sample).unwrap();
        let result = convert_slice(
            &name,
            &bytes,
            &ConvertOptions {
                batch_size: 1000,
                ..Default::default()
            },
        );
        if expected.get("error").is_some() {
            assert!(result.is_err(), "{name} should fail");
            continue;
        }
        let (batches, conversion) = result.unwrap_or_else(|e| panic!("{name}: {e}"));
        let batches = batches.get(&Table::Readings).cloned().unwrap_or_default();
        let c = conversion.counts;
        assert_eq!(
            c.readings_read,
            c.readings_written + c.readings_rejected,
            "{name}"
        );
        let (n, first, last, groups) = summarise(&batches);
        let want_n = expected["readings"].as_u64().unwrap();
        if n != want_n {
            failures.push(format!("{name}: {n} readings, expected {want_n}"));
            continue;
        }
        if n == 0 {
            continue;
        }
        files_with_readings += 1;
        if first != expected["first_start_us"].as_i64()
            || last != expected["last_start_us"].as_i64()
        {
            failures.push(format!("{name}: span {first:?}..{last:?}"));
        }
        let want_groups = expected["groups"].as_array().unwrap();
        if want_groups.len() != groups.len() {
            failures.push(format!(
                "{name}: groups {:?}",
                groups.keys().collect::<Vec<_>>()
            ));
            continue;
        }
        for wg in want_groups {
            let key = (
                opt_i32(&wg["flow_direction"]),
                opt_i32(&wg["uom"]),
                opt_i32(&wg["power_of_ten_multiplier"]),
            );
            let Some(g) = groups.get(&key) else {
                failures.push(format!("{name}: missing group {key:?}"));
                continue;
            };
            let raw_sum: i128 = wg["raw_sum"].as_str().unwrap().parse().unwrap();
            let cost_sum: i128 = wg["cost_raw_sum"].as_str().unwrap().parse().unwrap();
            if g.count != wg["count"].as_u64().unwrap()
                || g.raw_sum != raw_sum
                || g.cost_raw_sum != cost_sum
                || g.cost_count != wg["cost_count"].as_u64().unwrap()
            {
                failures.push(format!("{name}: group {key:?}: {g:?} vs {wg}"));
            }
            match wg["scaled_sum"].as_str() {
                Some(s) => {
                    let want: f64 = s.parse().unwrap();
                    let tolerance = 1e-9 * want.abs().max(1.0);
                    if g.scaled_count != g.raw_count || (g.scaled_sum - want).abs() > tolerance {
                        failures.push(format!(
                            "{name}: group {key:?} scaled {} vs {want}",
                            g.scaled_sum
                        ));
                    }
                }
                None => {
                    if g.scaled_count != 0 {
                        failures.push(format!("{name}: group {key:?} should be unscaled"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        files_with_readings >= minimum,
        "only {files_with_readings} files with readings"
    );
}

/// Entries in reverse order (IntervalBlocks before their MeterReading and
/// ReadingType) give the same readings.
#[test]
fn entry_order_does_not_change_the_readings() {
    let Some(dir) = samples_dir() else { return };
    for name in [
        "mtmckenna__pge_sample_data2.xml",
        // (Not gbcmdtest__oneusagepointsonecustomerthreemeasurements.xml: it
        // defines ReadingType/2 twice with the same `updated`, so the first
        // definition wins and reversing the file changes which that is.)
        "ryanmaule__DownLoadMyData_1.xml",
    ] {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        let first = text.find("<entry").unwrap();
        let last = text.rfind("</entry>").unwrap() + "</entry>".len();
        let mut entries: Vec<&str> = Vec::new();
        let mut rest = &text[first..last];
        while let Some(end) = rest.find("</entry>") {
            let end = end + "</entry>".len();
            entries.push(&rest[..end]);
            rest = rest[end..].trim_start();
        }
        assert!(entries.len() > 3, "{name}");
        entries.reverse();
        let reordered = format!("{}{}{}", &text[..first], entries.join("\n"), &text[last..]);
        let options = ConvertOptions {
            batch_size: 100,
            ..Default::default()
        };
        let (a, ca) = convert_slice(name, &bytes, &options).unwrap();
        let (b, cb) = convert_slice(name, reordered.as_bytes(), &options).unwrap();
        let (a, b) = (&a[&Table::Readings], &b[&Table::Readings]);
        let (sa, sb) = (summarise(a), summarise(b));
        assert_eq!((sa.0, sa.1, sa.2), (sb.0, sb.1, sb.2), "{name}");
        assert_eq!(
            sa.3.keys().collect::<Vec<_>>(),
            sb.3.keys().collect::<Vec<_>>(),
            "{name}"
        );
        for (ga, gb) in sa.3.values().zip(sb.3.values()) {
            assert_eq!(
                (ga.count, ga.raw_sum, ga.cost_raw_sum, ga.scaled_count),
                (gb.count, gb.raw_sum, gb.cost_raw_sum, gb.scaled_count),
                "{name}"
            );
            assert!((ga.scaled_sum - gb.scaled_sum).abs() <= 1e-9 * ga.scaled_sum.abs().max(1.0));
        }
        assert_eq!(
            ca.counts.readings_unlinked, cb.counts.readings_unlinked,
            "{name}"
        );
    }
}
