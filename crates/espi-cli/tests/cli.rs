//! The `espi` binary end to end: Parquet output equals the in-memory Arrow
//! conversion (itself checked against an independent extraction), errors are
//! positioned, nothing is published on failure, counts add up.

use std::process::Stdio;

use arrow_array::RecordBatch;
use espi_arrow::{convert_slice, ConvertOptions, Table};

mod common;
use common::{espi, parquet_files, read_table, rows, run, testdata};

/// A feed from `espi gen` of about `size` ("20MB") in `dir`.
fn generated_feed(dir: &std::path::Path, size: &str, seed: &str) -> std::path::PathBuf {
    let feed = dir.join("bulk.xml");
    let result = run(espi()
        .args(["gen", "--size", size, "--seed", seed, "-o"])
        .arg(&feed));
    assert!(result.status.success());
    feed
}

fn concat(batches: &[RecordBatch]) -> RecordBatch {
    arrow_select::concat::concat_batches(&batches[0].schema(), batches).unwrap()
}

#[test]
fn parquet_readings_equal_the_arrow_conversion_for_every_bundled_file() {
    for name in [
        "ameren_15min.xml",
        "pge_interval_blocks_ns_prefixes.xml",
        "three_usage_points_net_metered.xml",
        "gas_daily.xml",
        "pge_e6_tou_hourly.xml",
        "bom_15min.xml",
        "relative_hrefs_gas_electric.xml",
    ] {
        let out = tempfile::tempdir().unwrap();
        let input = testdata(name);
        let result = run(espi().arg("convert").arg(&input).arg("-o").arg(out.path()));
        assert!(result.status.success(), "{name}");
        let written = read_table(&out.path().join("readings"));
        let bytes = std::fs::read(&input).unwrap();
        let source = input.display().to_string();
        let (expected, conversion) =
            convert_slice(&source, &bytes, &ConvertOptions::default()).unwrap();
        let expected = &expected[&Table::Readings];
        assert_eq!(
            rows(&written),
            conversion.counts.readings_written as usize,
            "{name}"
        );
        assert_eq!(concat(&written), concat(expected), "{name}");
        let stdout = String::from_utf8_lossy(&result.stdout);
        let count = conversion.counts.readings_read;
        assert!(
            stdout.contains(&format!("{} read", thousands(count))),
            "{name}: summary lacks the reading count: {stdout}"
        );
        for table in [
            "usage_points",
            "meter_readings",
            "reading_types",
            "entries",
            "rejects",
        ] {
            assert!(
                !parquet_files(&out.path().join(table)).is_empty(),
                "{name}: {table}"
            );
        }
    }
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[test]
fn malformed_input_fails_with_a_position_and_publishes_nothing() {
    let out = tempfile::tempdir().unwrap();
    let result = run(espi()
        .arg("convert")
        .arg(testdata("ameren_15min.xml"))
        .arg(testdata("invalid/junk_after_root.xml"))
        .arg("-o")
        .arg(out.path()));
    assert_eq!(result.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains("junk_after_root.xml: line 56, column 1"),
        "{stderr}"
    );
    assert!(stderr.contains("after the root element"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(out.path()).unwrap().collect();
    assert!(left.is_empty(), "nothing may be published: {left:?}");
}

const BAD_VALUE_FEED: &str = r#"<?xml version="1.0"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:espi="http://naesb.org/espi">
<entry><id>good</id><link rel="up" href="/UsagePoint/1/MeterReading/1/IntervalBlock"/>
<content><espi:IntervalBlock>
<espi:IntervalReading><espi:timePeriod><espi:duration>900</espi:duration><espi:start>0</espi:start></espi:timePeriod><espi:value>1</espi:value></espi:IntervalReading>
</espi:IntervalBlock></content></entry>
<entry><id>bad</id><link rel="up" href="/UsagePoint/1/MeterReading/1/IntervalBlock"/>
<content><espi:IntervalBlock>
<espi:IntervalReading><espi:timePeriod><espi:duration>900</espi:duration><espi:start>900</espi:start></espi:timePeriod><espi:value>2</espi:value></espi:IntervalReading>
<espi:IntervalReading><espi:timePeriod><espi:duration>900</espi:duration><espi:start>1800</espi:start></espi:timePeriod><espi:value>12kWh</espi:value></espi:IntervalReading>
</espi:IntervalBlock></content></entry>
</feed>
"#;

#[test]
fn a_bad_value_stops_the_run_or_is_skipped_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bad.xml");
    std::fs::write(&input, BAD_VALUE_FEED).unwrap();

    let strict = dir.path().join("strict");
    let result = run(espi().arg("convert").arg(&input).arg("-o").arg(&strict));
    assert_eq!(result.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains("bad.xml: line 10, column 121")
            && stderr.contains("IntervalReading/value")
            && stderr.contains("\"12kWh\"")
            && stderr.contains("entry #1 (bad)"),
        "{stderr}"
    );
    assert!(!strict.join("readings").exists());

    let lenient = dir.path().join("lenient");
    let report = dir.path().join("report.json");
    let result = run(espi()
        .arg("convert")
        .arg(&input)
        .arg("-o")
        .arg(&lenient)
        .arg("--skip-bad-entries")
        .arg("--report")
        .arg(&report));
    assert!(result.status.success());
    assert_eq!(rows(&read_table(&lenient.join("readings"))), 1);
    assert_eq!(rows(&read_table(&lenient.join("rejects"))), 1);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let totals = &report["totals"];
    assert_eq!(totals["readings_read"], 3);
    assert_eq!(totals["readings_written"], 1);
    assert_eq!(totals["readings_rejected"], 2);
    let rejection = &report["rejections"][0];
    assert_eq!(rejection["entry_id"], "bad");
    assert_eq!(rejection["line"], 10);
    assert_eq!(rejection["readings"], 2);
}

#[test]
fn partitioned_output_holds_every_row_in_hive_folders() {
    let out = tempfile::tempdir().unwrap();
    let result = run(espi()
        .arg("convert")
        .arg(testdata("three_usage_points_net_metered.xml"))
        .arg(testdata("ameren_15min.xml"))
        .args([
            "--partition-by",
            "month,usage-point-bucket",
            "--buckets",
            "4",
        ])
        .arg("-o")
        .arg(out.path()));
    assert!(result.status.success());
    let files = parquet_files(&out.path().join("readings"));
    assert!(files.len() > 2);
    for f in &files {
        let rel = f
            .strip_prefix(out.path().join("readings"))
            .unwrap()
            .to_string_lossy()
            .to_string();
        assert!(
            rel.starts_with("month=") && rel.contains("/usage_point_bucket="),
            "{rel}"
        );
    }
    let total = rows(&read_table(&out.path().join("readings")));
    assert_eq!(total, 384 + 2976);
}

#[test]
fn stdin_gives_the_same_readings_as_the_file() {
    let input = testdata("bom_15min.xml");
    let out = tempfile::tempdir().unwrap();
    let mut child = espi()
        .args(["convert", "-", "-o"])
        .arg(out.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let bytes = std::fs::read(&input).unwrap();
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(&bytes).unwrap();
    }
    let status = child.wait().unwrap();
    assert!(status.success());
    let (expected, _) = convert_slice("<stdin>", &bytes, &ConvertOptions::default()).unwrap();
    let expected = &expected[&Table::Readings];
    assert_eq!(
        concat(&read_table(&out.path().join("readings"))),
        concat(expected)
    );
}

/// A feed larger than the chunks a stream is parsed in: every table is the
/// same from stdin as from the file, but for the source's name.
#[test]
fn a_large_feed_from_stdin_gives_the_same_tables_as_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let feed = generated_feed(dir.path(), "12MB", "11");
    let from_file = dir.path().join("file");
    let result = run(espi()
        .arg("convert")
        .arg(&feed)
        .args(["--threads", "1", "-o"])
        .arg(&from_file));
    assert!(result.status.success());
    let from_stdin = dir.path().join("stdin");
    let status = espi()
        .args(["convert", "-", "-o"])
        .arg(&from_stdin)
        .stdin(std::fs::File::open(&feed).unwrap())
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    for table in [
        "readings",
        "usage_points",
        "meter_readings",
        "reading_types",
        "entries",
    ] {
        let [file, stdin] = [&from_file, &from_stdin].map(|out| {
            let batches = read_table(&out.join(table));
            let without_source: Vec<RecordBatch> = batches
                .iter()
                .map(|b| {
                    let keep: Vec<usize> = (0..b.num_columns())
                        .filter(|&i| b.schema().field(i).name() != "source_file")
                        .collect();
                    b.project(&keep).unwrap()
                })
                .collect();
            row_texts(&without_source)
        });
        assert!(file.len() > 10, "{table}: {} rows", file.len());
        assert!(
            file == stdin,
            "{table}: {} and {} rows",
            file.len(),
            stdin.len()
        );
    }
}

#[test]
fn a_second_run_replaces_the_first() {
    let out = tempfile::tempdir().unwrap();
    for name in ["ameren_15min.xml", "gas_daily.xml"] {
        let result = run(espi()
            .arg("convert")
            .arg(testdata(name))
            .arg("-o")
            .arg(out.path()));
        assert!(result.status.success());
    }
    assert_eq!(rows(&read_table(&out.path().join("readings"))), 816);
    let hidden: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "{hidden:?}");
}

#[test]
fn inspect_lists_meter_readings_with_their_reading_types() {
    let result = run(espi()
        .arg("inspect")
        .arg(testdata("three_usage_points_net_metered.xml")));
    assert!(result.status.success());
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(stdout.contains("usage points (3)"), "{stdout}");
    assert!(stdout.contains("flow reverse (19)"), "{stdout}");
    assert!(stdout.contains("unit kWh"), "{stdout}");
    assert!(stdout.contains("384 read"), "{stdout}");
}

#[test]
fn help_explains_each_command_with_an_example() {
    for cmd in ["convert", "inspect"] {
        let result = run(espi().arg(cmd).arg("--help"));
        let stdout = String::from_utf8_lossy(&result.stdout);
        assert!(
            stdout.contains("espi ") && stdout.contains("Example"),
            "{cmd}: {stdout}"
        );
    }
}

#[test]
fn a_large_feed_split_into_parallel_parts_gives_the_same_readings() {
    let dir = tempfile::tempdir().unwrap();
    let feed = generated_feed(dir.path(), "20MB", "3");
    let mut tables = Vec::new();
    for threads in ["1", "4"] {
        let out = dir.path().join(format!("out{threads}"));
        let result = run(espi()
            .arg("convert")
            .arg(&feed)
            .args(["--threads", threads, "--memory", "4096", "-o"])
            .arg(&out));
        assert!(result.status.success());
        let files = parquet_files(&out.join("readings")).len();
        let small: Vec<Vec<String>> =
            ["usage_points", "meter_readings", "reading_types", "entries"]
                .iter()
                .map(|table| row_texts(&read_table(&out.join(table))))
                .collect();
        tables.push((files, rows(&read_table(&out.join("readings"))), small));
    }
    // Four parts write four files; the rows are the same.
    assert_eq!(tables[0].0, 1);
    assert!(tables[1].0 > 1, "{}", tables[1].0);
    assert_eq!(tables[0].1, tables[1].1);
    assert!(tables[0].1 > 10_000);
    for (one, parts) in tables[0].2.iter().zip(&tables[1].2) {
        assert!(one.len() > 10);
        assert!(one == parts, "{} rows and {} rows", one.len(), parts.len());
    }
}

/// Every row of a table as text, sorted.
fn row_texts(batches: &[RecordBatch]) -> Vec<String> {
    let mut out = Vec::new();
    for b in batches {
        for i in 0..b.num_rows() {
            let row: Vec<String> = b
                .columns()
                .iter()
                .map(|c| format!("{:?}", c.slice(i, 1)))
                .collect();
            out.push(row.join("|"));
        }
    }
    out.sort();
    out
}

/// Malformed XML inside an IntervalBlock of the last part: the metadata
/// pass skips block content and succeeds, the part fails in the second pass,
/// so every part is void and one sequential pass converts up to the error.
/// The files the other parts had already closed are removed: the output is
/// what `--threads 1` gives.
#[test]
fn a_void_parallel_split_leaves_no_part_files_behind() {
    let dir = tempfile::tempdir().unwrap();
    let feed = generated_feed(dir.path(), "40MB", "5");
    let xml = std::fs::read_to_string(&feed).unwrap();
    let at = xml.len() * 9 / 10;
    let bad = at + xml[at..].find("</value>").unwrap();
    let broken = dir.path().join("broken.xml");
    std::fs::write(
        &broken,
        format!("{}</valu>{}", &xml[..bad], &xml[bad + "</value>".len()..]),
    )
    .unwrap();
    let mut tables = Vec::new();
    for threads in ["1", "4"] {
        let out = dir.path().join(format!("out{threads}"));
        let result = run(espi()
            .arg("convert")
            .arg(&broken)
            .args(["--skip-bad-entries", "--threads", threads])
            .args(["--memory", "4096", "-o"])
            .arg(&out));
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(stderr.contains("valu"), "{stderr}");
        tables.push((
            parquet_files(&out.join("readings")).len(),
            rows(&read_table(&out.join("readings"))),
        ));
    }
    assert_eq!(tables[0], tables[1]);
    assert_eq!(tables[1].0, 1, "only the sequential pass's file remains");
    assert!(tables[1].1 > 50_000, "{tables:?}");
}

/// Two daily deliveries of the same PG&E blocks: the second file's are
/// updated a day later, so every reading of the first is superseded, and
/// within each file the repeated blocks (later `updated`) supersede the
/// earlier ones. The sample has 2,556 readings of 2,280 distinct
/// (meter reading, start) pairs (counted with Python over the XML).
#[test]
fn corrections_across_the_files_of_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let original =
        std::fs::read_to_string(testdata("pge_interval_blocks_ns_prefixes.xml")).unwrap();
    let day1 = dir.path().join("day1.xml");
    let day2 = dir.path().join("day2.xml");
    std::fs::write(&day1, &original).unwrap();
    std::fs::write(&day2, original.replace(">2015-08-04T", ">2015-08-05T")).unwrap();
    let out = dir.path().join("out");
    let result = run(espi()
        .arg("convert")
        .arg(&day1)
        .arg(&day2)
        .arg("-o")
        .arg(&out));
    assert!(result.status.success());
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(stdout.contains("5,112 read = 5,112 written"), "{stdout}");
    assert!(stdout.contains("2,832 readings superseded"), "{stdout}");
    assert_eq!(rows(&read_table(&out.join("readings"))), 5112);

    let latest = dir.path().join("latest");
    let result = run(espi()
        .arg("convert")
        .arg(&day1)
        .arg(&day2)
        .arg("-o")
        .arg(&latest)
        .arg("--latest-only"));
    assert!(result.status.success());
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(
        stdout.contains("5,112 read = 2,280 written + 0 rejected + 2,832 superseded left out"),
        "{stdout}"
    );
    let written = read_table(&latest.join("readings"));
    assert_eq!(rows(&written), 2280);
    // Every row left comes from the later delivery.
    for b in &written {
        use arrow_array::cast::AsArray;
        let source = b.column_by_name("source_file").unwrap();
        let source = source.as_dictionary::<arrow_array::types::Int32Type>();
        let names = source.values().as_string::<i32>();
        for k in source.keys().iter() {
            assert!(names.value(k.unwrap() as usize).ends_with("day2.xml"));
        }
    }
}

/// One input goes without the corrections pass; should it deliver an
/// interval twice (the PG&E sample repeats blocks with a later `updated`:
/// 2,556 readings of 2,280 distinct (meter reading, start) pairs, counted
/// with Python over the XML), it is converted again after the pass, and
/// the 276 readings a later delivery replaces are marked as they are when
/// the file is one of several. Standard input cannot be read again: a
/// warning says they are not marked. A file without repeats is converted
/// once, without the note.
#[test]
fn a_file_that_repeats_intervals_is_converted_again_to_mark_them() {
    use arrow_array::cast::AsArray;
    let superseded = |out: &std::path::Path| -> usize {
        read_table(&out.join("readings"))
            .iter()
            .map(|b| {
                b.column_by_name("superseded")
                    .unwrap()
                    .as_boolean()
                    .true_count()
            })
            .sum()
    };
    let dir = tempfile::tempdir().unwrap();
    let input = testdata("pge_interval_blocks_ns_prefixes.xml");
    let out = dir.path().join("file");
    let result = run(espi().arg("convert").arg(&input).arg("-o").arg(&out));
    assert!(result.status.success());
    let stdout = String::from_utf8_lossy(&result.stdout);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains("converting it again"), "{stderr}");
    assert!(stdout.contains("2,556 read = 2,556 written"), "{stdout}");
    assert!(stdout.contains("276 readings superseded"), "{stdout}");
    assert_eq!(superseded(&out), 276);
    // The first attempt's files are gone.
    assert_eq!(parquet_files(&out.join("readings")).len(), 1);

    let from_stdin = dir.path().join("stdin");
    let result = espi()
        .args(["convert", "-", "-o"])
        .arg(&from_stdin)
        .stdin(std::fs::File::open(&input).unwrap())
        .output()
        .unwrap();
    assert!(result.status.success());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains("cannot be read twice"), "{stderr}");
    assert_eq!(superseded(&from_stdin), 0);
    assert_eq!(rows(&read_table(&from_stdin.join("readings"))), 2556);

    let once = dir.path().join("once");
    let result = run(espi()
        .arg("convert")
        .arg(testdata("ameren_15min.xml"))
        .arg("-o")
        .arg(&once));
    assert!(result.status.success());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!stderr.contains("converting it again"), "{stderr}");
    assert_eq!(superseded(&once), 0);
}

#[test]
fn a_zstd_level_out_of_range_is_refused_before_anything_is_read() {
    let out = tempfile::tempdir().unwrap();
    for level in ["0", "23", "-5"] {
        let result = run(espi()
            .arg("convert")
            .arg(testdata("ameren_15min.xml"))
            .arg(format!("--zstd-level={level}"))
            .arg("-o")
            .arg(out.path()));
        assert_eq!(result.status.code(), Some(2), "{level}");
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(stderr.contains("--zstd-level"), "{stderr}");
        assert!(stderr.contains("1..=22"), "{stderr}");
    }
    assert!(std::fs::read_dir(out.path()).unwrap().next().is_none());
}

#[test]
fn state_that_cannot_be_mapped_stays_in_memory_with_a_warning() {
    // `--memory 0`: no heap for what is kept per meter reading, so every
    // large block of it goes to the temporary file, or stays in memory
    // when there is none.
    let dir = tempfile::tempdir().unwrap();
    let feed = generated_feed(dir.path(), "30MB", "5");
    let convert = |out: &str, tmp: &std::path::Path| {
        let out = dir.path().join(out);
        let result = run(espi()
            .arg("convert")
            .arg(&feed)
            .args(["--memory", "0", "-o"])
            .arg(&out)
            .env("TMPDIR", tmp));
        assert!(result.status.success());
        (out, String::from_utf8_lossy(&result.stderr).into_owned())
    };
    let (mapped, stderr) = convert("mapped", dir.path());
    assert!(!stderr.contains("stayed in memory"), "{stderr}");
    let (in_memory, stderr) = convert("in_memory", &dir.path().join("missing"));
    // The file is used (and missed) only where it is supported.
    if cfg!(target_os = "linux") {
        assert!(
            stderr.contains("stayed in memory") && stderr.contains("set TMPDIR"),
            "{stderr}"
        );
    }
    for table in [
        "readings",
        "usage_points",
        "meter_readings",
        "reading_types",
    ] {
        let a = read_table(&mapped.join(table));
        let b = read_table(&in_memory.join(table));
        assert!(rows(&a) > 0);
        assert_eq!(concat(&a), concat(&b), "{table}");
    }
}
