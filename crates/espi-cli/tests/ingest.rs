//! `espi ingest` and `espi lake` end to end: a month of history, then a
//! daily Bulk feed with corrections of earlier days, then the same feed
//! again. The lake must equal the latest-only conversion of both feeds
//! together, checked here through the converted Parquet files and, where
//! the Python `deltalake` and `polars` packages are installed (CI installs
//! them, see `.ci/run`), by reading the Delta tables with them.

mod common;

use std::path::Path;
use std::process::Command;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use common::{espi, read_table, rows, run};

fn generate(path: &Path, kind: &str, start: &str, days: &str, corrections: &str) {
    let out = run(espi()
        .args([
            "gen",
            "--kind",
            kind,
            "--usage-points",
            "12",
            "--days",
            days,
            "--start",
            start,
            "--corrections",
            corrections,
            "-o",
        ])
        .arg(path));
    assert!(out.status.success());
}

fn ingest(feed: &Path, lake: &Path) -> String {
    let out = run(espi()
        .arg("ingest")
        .arg(feed)
        .arg("--lake")
        .arg(lake)
        .arg("-q"));
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// One number from `espi lake sql`'s table output.
fn sql_number(lake: &Path, query: &str) -> i64 {
    let out = run(espi().args(["lake", "sql", "--lake"]).arg(lake).arg(query));
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .filter(|l| l.starts_with('|'))
        .nth(1)
        .and_then(|l| l.trim_matches('|').trim().parse().ok())
        .unwrap_or_else(|| panic!("no number in\n{text}"))
}

/// The interpreter to read the lake with: `ESPI_PYTHON` (then it must
/// work), else `python3` when it has both packages.
fn python() -> Option<String> {
    if let Ok(p) = std::env::var("ESPI_PYTHON") {
        return Some(p);
    }
    let probe = Command::new("python3")
        .args(["-c", "import deltalake, polars"])
        .output()
        .ok()?;
    probe.status.success().then(|| "python3".to_owned())
}

#[test]
fn history_then_a_daily_feed_with_corrections_then_the_same_feed_again() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history.xml");
    let daily = dir.path().join("daily.xml");
    let lake = dir.path().join("lake");
    // 3 May - 1 June, then 2 June with corrections of days in May.
    generate(&history, "history", "2024-05-03", "30", "0");
    generate(&daily, "bulk", "2024-06-02", "1", "0.5");

    let first = ingest(&history, &lake);
    assert!(first.contains("ingested 1 feed"), "{first}");
    let second = ingest(&daily, &lake);
    let readings_line = second.lines().find(|l| l.starts_with("readings ")).unwrap();
    assert!(readings_line.contains("merge"), "{second}");
    assert!(readings_line.contains("2024-05"), "{second}");
    let again = ingest(&daily, &lake);
    assert!(again.contains("nothing to ingest"), "{again}");

    // The same two feeds converted together, later deliveries winning.
    let converted = dir.path().join("converted");
    let out = run(espi()
        .arg("convert")
        .arg(&history)
        .arg(&daily)
        .arg("-o")
        .arg(&converted)
        .args(["--latest-only", "-q"]));
    assert!(out.status.success());
    let expected = read_table(&converted.join("readings"));
    let value_raw_sum: i64 = expected
        .iter()
        .flat_map(|b| {
            let i = b.schema().index_of("value_raw").unwrap();
            b.column(i)
                .as_primitive::<Int64Type>()
                .iter()
                .flatten()
                .collect::<Vec<_>>()
        })
        .sum();
    assert_eq!(
        sql_number(&lake, "SELECT count(*) FROM readings") as usize,
        rows(&expected)
    );
    assert_eq!(
        sql_number(&lake, "SELECT sum(value_raw) FROM readings"),
        value_raw_sum
    );
    assert_eq!(
        sql_number(
            &lake,
            "SELECT count(*) FROM (SELECT usage_point, meter_reading, start FROM readings \
             GROUP BY 1, 2, 3 HAVING count(*) > 1)"
        ),
        0
    );

    // History and stats name both feeds and both months.
    let out = run(espi().args(["lake", "history", "--lake"]).arg(&lake));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("MERGE") && text.contains("WRITE"), "{text}");
    assert!(
        text.contains("daily.xml") && text.contains("history.xml"),
        "{text}"
    );
    let out = run(espi().args(["lake", "stats", "--lake"]).arg(&lake));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("2: 2024-05 .. 2024-06"), "{text}");

    // Optimize (z-order of June) and a vacuum dry run keep the contents.
    let out = run(espi()
        .args(["lake", "optimize", "--lake"])
        .arg(&lake)
        .args(["--month", "2024-06"]));
    assert!(out.status.success());
    let out = run(espi()
        .args(["lake", "vacuum", "--dry-run", "--lake"])
        .arg(&lake));
    assert!(out.status.success());
    assert_eq!(
        sql_number(&lake, "SELECT sum(value_raw) FROM readings"),
        value_raw_sum
    );

    // An engine that is not espi reads the same table.
    let Some(python) = python() else {
        eprintln!("skipped the Python deltalake/polars check: not installed");
        return;
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lake/read_lake.py");
    let out = run(Command::new(python)
        .arg(script)
        .arg(&lake)
        .arg(converted.join("readings"))
        .arg(history.display().to_string())
        .arg(daily.display().to_string()));
    assert!(out.status.success(), "the Python reader disagrees");
}
