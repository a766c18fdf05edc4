//! The `espi` binary on hostile and broken input (`testdata/invalid/`, plus
//! files generated here at run time): every failure is positioned (file,
//! line, column, byte, element), entities are never expanded nor fetched,
//! counts always add up (read = written + rejected + superseded left out),
//! a failed strict run publishes nothing, memory stays bounded on huge text
//! nodes and deep nesting, and a killed run never leaves a partial file under
//! a final name nor damages the previous output.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

mod common;
use common::{all_files, espi, read_table, rows, run, testdata};

fn name_of(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().to_string()
}

/// No `.inprogress` file anywhere under `dir` (staging folders included).
fn assert_no_inprogress(dir: &Path, context: &str) {
    let left: Vec<_> = all_files(dir)
        .into_iter()
        .filter(|p| name_of(p).ends_with(".inprogress"))
        .collect();
    assert!(
        left.is_empty(),
        "{context}: files left in progress: {left:?}"
    );
}

/// The published table folders of OUT (hidden staging folders excluded).
fn table_dirs(out: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(out) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && !name_of(p).starts_with('.'))
        .collect();
    dirs.sort();
    dirs
}

/// Rows of every published table, by name; every Parquet file must open.
fn table_rows(out: &Path) -> BTreeMap<String, usize> {
    table_dirs(out)
        .iter()
        .map(|d| (name_of(d), rows(&read_table(d))))
        .collect()
}

fn read_report(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn total(report: &serde_json::Value, key: &str) -> u64 {
    report["totals"][key]
        .as_u64()
        .unwrap_or_else(|| panic!("report lacks totals.{key}: {report}"))
}

/// read = written + rejected + superseded left out, in the totals and per file.
fn assert_counts_add_up(report: &serde_json::Value, context: &str) {
    let read = total(report, "readings_read");
    let written = total(report, "readings_written");
    let rejected = total(report, "readings_rejected");
    let dropped = report["totals"]["readings_superseded_dropped"]
        .as_u64()
        .unwrap_or(0);
    assert_eq!(
        read,
        written + rejected + dropped,
        "{context}: readings read {read} != written {written} + rejected {rejected} + superseded left out {dropped}"
    );
    for f in report["files"].as_array().unwrap() {
        let read = f["readings_read"].as_u64().unwrap();
        let written = f["readings_written"].as_u64().unwrap();
        let rejected = f["readings_rejected"].as_u64().unwrap();
        assert!(
            read >= written + rejected,
            "{context}: per file, read {read} < written {written} + rejected {rejected}"
        );
    }
}

/// Limit the data segment (heap; anonymous private mappings) of the child to
/// `bytes`. RLIMIT_DATA, unlike RLIMIT_AS, does not count the read-only
/// memory map of the input, so it bounds what espi allocates, not how large
/// a file it reads.
#[cfg(target_os = "linux")]
fn limit_data(cmd: &mut Command, bytes: u64) -> &mut Command {
    use std::os::unix::process::CommandExt;
    #[repr(C)]
    struct Rlimit {
        cur: u64,
        max: u64,
    }
    extern "C" {
        fn setrlimit(resource: i32, rlim: *const Rlimit) -> i32;
    }
    /// RLIMIT_DATA on Linux (every architecture Rust supports there).
    const RLIMIT_DATA: i32 = 2;
    // SAFETY: the closure runs in the child between fork and exec; it only
    // calls setrlimit (async-signal-safe), allocates nothing and touches no
    // lock; the struct lives on the stack for the duration of the call.
    unsafe {
        cmd.pre_exec(move || {
            let limit = Rlimit {
                cur: bytes,
                max: bytes,
            };
            if setrlimit(RLIMIT_DATA, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

#[cfg(not(target_os = "linux"))]
fn limit_data(cmd: &mut Command, _bytes: u64) -> &mut Command {
    cmd
}

const MEMORY_LIMIT: u64 = 400 << 20;

/// The process ended by itself (exit code), not by a signal (an abort on
/// allocation failure is SIGABRT, a stack overflow SIGSEGV).
fn exit_code(out: &Output, context: &str) -> i32 {
    out.status.code().unwrap_or_else(|| {
        panic!(
            "{context}: espi died of a signal ({:?}), stderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
                .chars()
                .take(2000)
                .collect::<String>()
        )
    })
}

/// One file of `testdata/invalid/` that a strict run must refuse.
struct Refused {
    file: &'static str,
    /// "line L, column C" of the error.
    at: &'static str,
    /// More text the error must hold (element path, entry, reason).
    needles: &'static [&'static str],
    /// Exit code with --skip-bad-entries: 0 when the error is confined to
    /// one entry (the entry is rejected), 1 when the rest of the file is
    /// unreadable (malformed XML: the complete entries before it are kept).
    skip_code: i32,
    /// Readings written and rejected with --skip-bad-entries.
    skip_written: u64,
    skip_rejected: u64,
}

const VALUE: &str = "<feed/entry/content/IntervalBlock/IntervalReading/value>";

const REFUSED: &[Refused] = &[
    Refused {
        file: "truncated_in_reading.xml",
        at: "line 19, column 140",
        needles: &[VALUE, "entry #3 (after)", "truncated"],
        skip_code: 1,
        skip_written: 3,
        skip_rejected: 0,
    },
    Refused {
        file: "truncated_in_entry_envelope.xml",
        at: "line 16, column 22",
        needles: &["in <feed/entry>", "entry #3 (after)", "not closed"],
        skip_code: 1,
        skip_written: 3,
        skip_rejected: 0,
    },
    Refused {
        file: "truncated_after_entry.xml",
        at: "line 16, column 1",
        needles: &["in <feed>", "input ends before <feed> is closed"],
        skip_code: 1,
        skip_written: 3,
        skip_rejected: 0,
    },
    Refused {
        file: "truncated_mid_tag.xml",
        at: "line 19, column 23",
        needles: &[
            "in <feed/entry/content/IntervalBlock/IntervalReading>",
            "entry #3 (after)",
            "not closed",
        ],
        skip_code: 1,
        skip_written: 3,
        skip_rejected: 0,
    },
    Refused {
        file: "invalid_utf8_in_value.xml",
        at: "line 20, column 139",
        needles: &[VALUE, "entry #3 (badutf8)", "UTF-8"],
        skip_code: 1,
        skip_written: 3,
        skip_rejected: 1,
    },
    Refused {
        file: "invalid_utf8_in_tag_name.xml",
        at: "line 19, column 1",
        needles: &["IntervalBlock>", "entry #3 (badtag)", "UTF-8"],
        skip_code: 1,
        skip_written: 3,
        skip_rejected: 0,
    },
    Refused {
        file: "doctype_billion_laughs.xml",
        at: "line 31, column 139",
        needles: &[VALUE, "entry #3 (laughs)", "`&lol9;`", "never expanded"],
        skip_code: 0,
        skip_written: 3,
        skip_rejected: 1,
    },
    // The entity is used in the feed's title, outside any entry: nothing to
    // skip, the file fails even with --skip-bad-entries.
    Refused {
        file: "doctype_external_entity_file.xml",
        at: "line 7, column 8",
        needles: &["in <feed/title>", "`&x;`", "never expanded"],
        skip_code: 1,
        skip_written: 0,
        skip_rejected: 0,
    },
    Refused {
        file: "doctype_external_entity_http.xml",
        at: "line 7, column 8",
        needles: &["in <feed/title>", "`&x;`", "never expanded"],
        skip_code: 1,
        skip_written: 0,
        skip_rejected: 0,
    },
    // The undeclared prefix is the reading's own element: it is never
    // recognised as a reading, so the rejected entry holds 0 readings.
    Refused {
        file: "unbound_prefix.xml",
        at: "line 19, column 1",
        needles: &[
            "in <feed/entry/content/IntervalBlock/IntervalReading>",
            "entry #3 (unbound)",
            "prefix `gb` is not declared",
        ],
        skip_code: 0,
        skip_written: 3,
        skip_rejected: 0,
    },
    Refused {
        file: "two_roots.xml",
        at: "line 18, column 1",
        needles: &["in <feed>", "after the root element"],
        skip_code: 1,
        skip_written: 3,
        skip_rejected: 0,
    },
    Refused {
        file: "non_numeric_value.xml",
        at: "line 20, column 127",
        needles: &[VALUE, "entry #3 (bad)", "\"twelve\""],
        skip_code: 0,
        skip_written: 3,
        skip_rejected: 2,
    },
    Refused {
        file: "value_beyond_i64.xml",
        at: "line 20, column 127",
        needles: &[
            VALUE,
            "entry #3 (huge)",
            "\"9223372036854775808\"",
            "64-bit",
        ],
        skip_code: 0,
        skip_written: 3,
        skip_rejected: 2,
    },
    Refused {
        file: "exponent_value.xml",
        at: "line 20, column 127",
        needles: &[VALUE, "entry #3 (exp)", "\"1e3\"", "not an integer"],
        skip_code: 0,
        skip_written: 3,
        skip_rejected: 2,
    },
    Refused {
        file: "negative_duration.xml",
        at: "line 20, column 40",
        needles: &[
            "<feed/entry/content/IntervalBlock/IntervalReading/timePeriod/duration>",
            "entry #3 (negdur)",
            "-900",
            "not negative",
        ],
        skip_code: 0,
        skip_written: 3,
        skip_rejected: 2,
    },
];

#[test]
fn every_refused_file_fails_strictly_with_a_position_and_publishes_nothing() {
    for case in REFUSED {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let report = dir.path().join("report.json");
        let result = run(espi()
            .arg("convert")
            .arg(testdata(&format!("invalid/{}", case.file)))
            .arg("-o")
            .arg(&out)
            .arg("--report")
            .arg(&report));
        let file = case.file;
        assert_eq!(exit_code(&result, file), 1, "{file}");
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(
            stderr.contains(&format!("espi: error: {file}: {} (byte ", case.at))
                || stderr.contains(&format!("/{file}: {} (byte ", case.at)),
            "{file}: the error names the file, line, column and byte: {stderr}"
        );
        for needle in case.needles {
            assert!(
                stderr.contains(needle),
                "{file}: lacks {needle:?}: {stderr}"
            );
        }
        // Nothing published, no staging folder left, no file in progress.
        let left: Vec<_> = std::fs::read_dir(&out)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        assert!(
            left.is_empty(),
            "{file}: nothing may be published: {left:?}"
        );
        assert_no_inprogress(dir.path(), file);
        let report = read_report(&report);
        assert_eq!(report["published"], false, "{file}");
        assert_eq!(total(&report, "files_failed"), 1, "{file}");
        assert_counts_add_up(&report, file);
    }
}

#[test]
fn every_refused_file_is_skipped_or_ended_with_counts_that_add_up() {
    for case in REFUSED {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let report_path = dir.path().join("report.json");
        let result = run(espi()
            .arg("convert")
            .arg(testdata(&format!("invalid/{}", case.file)))
            .arg("-o")
            .arg(&out)
            .arg("--skip-bad-entries")
            .arg("--report")
            .arg(&report_path));
        let file = case.file;
        assert_eq!(exit_code(&result, file), case.skip_code, "{file}");
        let stderr = String::from_utf8_lossy(&result.stderr);
        // The rejection (or the error that ended the file) is positioned.
        assert!(
            stderr.contains(&format!("{file}: {}", case.at)),
            "{file}: {stderr}"
        );
        let report = read_report(&report_path);
        assert_eq!(report["published"], true, "{file}");
        assert_counts_add_up(&report, file);
        assert_eq!(
            total(&report, "readings_written"),
            case.skip_written,
            "{file}"
        );
        assert_eq!(
            total(&report, "readings_rejected"),
            case.skip_rejected,
            "{file}"
        );
        assert_eq!(
            total(&report, "files_failed"),
            u64::from(case.skip_code == 1),
            "{file}"
        );
        // What the report says is what the tables hold.
        assert_eq!(
            rows(&read_table(&out.join("readings"))) as u64,
            case.skip_written,
            "{file}"
        );
        let rejections = report["rejections"].as_array().unwrap();
        assert!(!rejections.is_empty(), "{file}: the rejection is reported");
        assert_eq!(
            rows(&read_table(&out.join("rejects"))),
            rejections.len(),
            "{file}"
        );
        let rejected: u64 = rejections
            .iter()
            .map(|r| r["readings"].as_u64().unwrap())
            .sum();
        assert_eq!(rejected, case.skip_rejected, "{file}");
        for r in rejections {
            assert!(r["line"].as_u64().is_some(), "{file}: {r}");
            assert!(r["column"].as_u64().is_some(), "{file}: {r}");
            assert!(!r["element"].as_str().unwrap().is_empty(), "{file}: {r}");
        }
        assert_no_inprogress(dir.path(), file);
        let hidden: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| name_of(p).starts_with('.'))
            .collect();
        assert!(hidden.is_empty(), "{file}: {hidden:?}");
    }
}

/// Odd but well-formed input: converted, nothing lost, nothing invented.
#[test]
fn odd_but_well_formed_files_convert_exactly() {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Int32Type, Int64Type};
    // (file, readings written, time-derived readings)
    for (file, written, derived) in [
        // ESPI's value is an Int48; a larger value that fits i64 is kept
        // exactly in value_raw (Int64), not wrapped nor rejected.
        ("value_beyond_int48.xml", 5, 0),
        ("empty_interval_block.xml", 3, 0),
        // Atom content holds one resource; both blocks are read, none lost.
        ("two_resources_in_content.xml", 5, 0),
        // The unit is unknown: the raw uom is kept.
        ("unknown_uom.xml", 3, 0),
        // No start: derived from the block start (`time_derived`).
        ("time_period_without_start.xml", 5, 1),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let report_path = dir.path().join("report.json");
        let result = run(espi()
            .arg("convert")
            .arg(testdata(&format!("invalid/{file}")))
            .arg("-o")
            .arg(&out)
            .arg("--report")
            .arg(&report_path));
        assert_eq!(exit_code(&result, file), 0, "{file}");
        let report = read_report(&report_path);
        assert_counts_add_up(&report, file);
        assert_eq!(total(&report, "readings_written"), written, "{file}");
        assert_eq!(total(&report, "readings_rejected"), 0, "{file}");
        assert_eq!(total(&report, "readings_time_derived"), derived, "{file}");
        let batches = read_table(&out.join("readings"));
        assert_eq!(rows(&batches) as u64, written, "{file}");
        let raw: Vec<i64> = batches
            .iter()
            .flat_map(|b| {
                b.column_by_name("value_raw")
                    .unwrap()
                    .as_primitive::<Int64Type>()
                    .iter()
                    .flatten()
                    .collect::<Vec<_>>()
            })
            .collect();
        match file {
            "value_beyond_int48.xml" => {
                assert!(raw.contains(&(1i64 << 47)), "{file}: {raw:?}")
            }
            "two_resources_in_content.xml" => {
                assert_eq!(raw, [100, 200, 300, 1, 2], "{file}")
            }
            "time_period_without_start.xml" => {
                assert_eq!(raw, [100, 200, 300, 1, 7], "{file}")
            }
            "unknown_uom.xml" => {
                let uoms: Vec<i32> = batches
                    .iter()
                    .flat_map(|b| {
                        b.column_by_name("uom")
                            .unwrap()
                            .as_primitive::<Int32Type>()
                            .iter()
                            .flatten()
                            .collect::<Vec<_>>()
                    })
                    .collect();
                assert_eq!(uoms, [9999, 9999, 9999], "{file}");
            }
            _ => assert_eq!(raw, [100, 200, 300], "{file}"),
        }
    }
}

/// The external entity of the corpus points at a closed port; here it points
/// at a listener of ours, which must see no connection. `file:///etc/passwd`
/// must not be read into the output or the messages.
#[test]
fn external_entities_are_never_fetched_nor_expanded() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let http = std::fs::read_to_string(testdata("invalid/doctype_external_entity_http.xml"))
        .unwrap()
        .replace("127.0.0.1:9/", &format!("127.0.0.1:{port}/"));
    assert!(http.contains(&format!(":{port}/")));
    let http_file = dir.path().join("xxe_http.xml");
    std::fs::write(&http_file, http).unwrap();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let secret = passwd.lines().next().unwrap_or("root:x:0:0").to_owned();
    for input in [
        http_file,
        testdata("invalid/doctype_external_entity_file.xml"),
    ] {
        for skip in [false, true] {
            let out = dir.path().join(format!("out-{skip}"));
            let mut cmd = espi();
            cmd.arg("convert").arg(&input).arg("-o").arg(&out);
            if skip {
                cmd.arg("--skip-bad-entries");
            }
            let result = run(&mut cmd);
            assert_eq!(exit_code(&result, "xxe"), 1);
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&result.stdout),
                String::from_utf8_lossy(&result.stderr)
            );
            assert!(text.contains("never expanded"), "{text}");
            assert!(!secret.is_empty() && !text.contains(&secret), "{text}");
            // No entry was read: the file's only text is never in a table.
            if skip {
                assert_eq!(rows(&read_table(&out.join("entries"))), 0);
                assert_eq!(rows(&read_table(&out.join("readings"))), 0);
            }
        }
    }
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("espi connected to the external entity's URL: {other:?}"),
    }
}

/// A billion-laughs DOCTYPE is neither expanded nor slow.
#[test]
fn billion_laughs_is_refused_quickly_in_bounded_memory() {
    for skip in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = espi();
        cmd.arg("convert")
            .arg(testdata("invalid/doctype_billion_laughs.xml"))
            .arg("-o")
            .arg(dir.path());
        if skip {
            cmd.arg("--skip-bad-entries");
        }
        limit_data(&mut cmd, 64 << 20);
        let started = Instant::now();
        let result = run(&mut cmd);
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(exit_code(&result, "laughs"), if skip { 0 } else { 1 });
        assert!(result.stderr.len() + result.stdout.len() < 8192);
        assert!(!String::from_utf8_lossy(&result.stderr).contains("lollol"));
    }
}

/// Entry preamble for generated files: a ReadingType and a MeterReading.
fn preamble() -> String {
    let text = std::fs::read_to_string(testdata("invalid/non_numeric_value.xml")).unwrap();
    let end = text.find("<entry><id>good</id>").unwrap();
    text[..end].to_owned()
}

#[test]
fn nesting_100000_deep_is_refused_with_a_position() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("deep.xml");
    let depth = 100_000;
    let mut text = preamble();
    text.push_str("<entry><id>deep</id><content>");
    text.push_str(&"<a>".repeat(depth));
    text.push_str(&"</a>".repeat(depth));
    text.push_str("</content></entry>\n</feed>\n");
    std::fs::write(&input, text).unwrap();
    for skip in [false, true] {
        let out = dir.path().join(format!("out-{skip}"));
        let mut cmd = espi();
        cmd.arg("convert").arg(&input).arg("-o").arg(&out);
        if skip {
            cmd.arg("--skip-bad-entries");
        }
        limit_data(&mut cmd, MEMORY_LIMIT);
        let result = run(&mut cmd);
        // Malformed for espi (beyond its depth limit): the file ends there.
        assert_eq!(exit_code(&result, "deep"), 1);
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(stderr.contains("deep.xml: line 9, column "), "{stderr}");
        assert!(stderr.contains("entry #2 (deep)"), "{stderr}");
        assert!(stderr.contains("deeper than"), "{stderr}");
        // The element path is abbreviated, not 100,000 names long.
        assert!(stderr.len() < 8192, "{} bytes of stderr", stderr.len());
        assert_no_inprogress(dir.path(), "deep");
        if !skip {
            assert!(table_dirs(&out).is_empty());
        }
    }
}

/// Stream `head`, `size` bytes of `fill`, then `tail` to a new file.
fn write_big(path: &Path, head: &str, fill: u8, size: usize, tail: &str) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    f.write_all(head.as_bytes()).unwrap();
    let chunk = vec![fill; 1 << 20];
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len());
        f.write_all(&chunk[..n]).unwrap();
        left -= n;
    }
    f.write_all(tail.as_bytes()).unwrap();
    f.flush().unwrap();
}

const HUGE: usize = 100 << 20;

const READING: &str = "<espi:IntervalReading><espi:timePeriod><espi:duration>900</espi:duration><espi:start>1700000000</espi:start></espi:timePeriod><espi:value>1</espi:value></espi:IntervalReading>";

#[test]
fn a_100_mb_value_is_refused_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("huge_value.xml");
    write_big(
        &input,
        &format!("{}<entry><id>big</id><link rel=\"up\" href=\"/UsagePoint/1/MeterReading/1/IntervalBlock\"/><content><espi:IntervalBlock><espi:IntervalReading><espi:timePeriod><espi:duration>900</espi:duration><espi:start>1700000000</espi:start></espi:timePeriod><espi:value>", preamble()),
        b'7',
        HUGE,
        "</espi:value></espi:IntervalReading></espi:IntervalBlock></content></entry>\n</feed>\n",
    );
    for skip in [false, true] {
        let out = dir.path().join(format!("out-{skip}"));
        let report = dir.path().join(format!("report-{skip}.json"));
        let mut cmd = espi();
        cmd.arg("convert")
            .arg(&input)
            .arg("-o")
            .arg(&out)
            .arg("--report")
            .arg(&report);
        if skip {
            cmd.arg("--skip-bad-entries");
        }
        limit_data(&mut cmd, MEMORY_LIMIT);
        let result = run(&mut cmd);
        assert_eq!(exit_code(&result, "huge value"), if skip { 0 } else { 1 });
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(
            stderr.contains("huge_value.xml: line 9, column ") && stderr.contains(VALUE),
            "{stderr}"
        );
        assert!(
            stderr.contains("longer than the limit of 1 MiB"),
            "{stderr}"
        );
        // The value is quoted cut short, not 100 MB of it.
        assert!(stderr.len() < 8192, "{} bytes of stderr", stderr.len());
        let report = read_report(&report);
        assert_counts_add_up(&report, "huge value");
        if skip {
            assert_eq!(total(&report, "readings_rejected"), 1);
        }
    }
}

/// Text longer than 1 MiB is refused at its element (entry rejected with
/// --skip-bad-entries), never kept or copied.
#[test]
fn a_100_mb_title_is_handled_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("huge_title.xml");
    write_big(
        &input,
        &format!("{}<entry><id>big</id><title>", preamble()),
        b'x',
        HUGE,
        &format!("</title><link rel=\"up\" href=\"/UsagePoint/1/MeterReading/1/IntervalBlock\"/><content><espi:IntervalBlock>{READING}</espi:IntervalBlock></content></entry>\n</feed>\n"),
    );
    for skip in [false, true] {
        let out = dir.path().join(format!("out-{skip}"));
        let mut cmd = espi();
        cmd.arg("convert").arg(&input).arg("-o").arg(&out);
        if skip {
            cmd.arg("--skip-bad-entries");
        }
        limit_data(&mut cmd, MEMORY_LIMIT);
        let result = run(&mut cmd);
        // Refused with a positioned error naming the title; with
        // --skip-bad-entries the entry (and its reading) is rejected.
        assert_eq!(exit_code(&result, "huge title"), if skip { 0 } else { 1 });
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(
            stderr.contains("huge_title.xml: line 9, column ")
                && stderr.contains("<feed/entry/title>")
                && stderr.contains("longer than the limit of 1 MiB"),
            "{stderr}"
        );
        if skip {
            assert_eq!(rows(&read_table(&out.join("readings"))), 0);
            let stdout = String::from_utf8_lossy(&result.stdout);
            assert!(
                stdout.contains("1 read = 0 written + 1 rejected"),
                "{stdout}"
            );
        }
        assert_no_inprogress(dir.path(), "huge title");
    }
}

fn generate(path: &Path, size: &str, seed: &str) {
    let result = run(espi()
        .args(["gen", "--size", size, "--seed", seed, "-o"])
        .arg(path));
    assert!(result.status.success(), "espi gen");
}

#[test]
fn a_60_mb_feed_converts_under_a_memory_limit() {
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("feed.xml");
    generate(&feed, "60MB", "5");
    let out = dir.path().join("out");
    let report = dir.path().join("report.json");
    let mut cmd = espi();
    cmd.arg("convert")
        .arg(&feed)
        .arg("-o")
        .arg(&out)
        .arg("--report")
        .arg(&report);
    limit_data(&mut cmd, MEMORY_LIMIT);
    let result = run(&mut cmd);
    assert_eq!(exit_code(&result, "60 MB"), 0);
    let report = read_report(&report);
    assert_counts_add_up(&report, "60 MB");
    assert!(total(&report, "readings_written") > 100_000);
    assert_eq!(
        rows(&read_table(&out.join("readings"))) as u64,
        total(&report, "readings_written")
    );
}

/// Names that a run only ever leaves behind while it is running (or killed).
fn leftovers(out: &Path) -> Vec<String> {
    std::fs::read_dir(out)
        .unwrap()
        .map(|e| name_of(&e.unwrap().path()))
        .filter(|n| n.starts_with(".espi-"))
        .collect()
}

/// Convert `small` into OUT; start converting `big` into the same OUT and
/// interrupt it with `signal` after ~300 ms; the first output must be intact
/// and readable; a re-run must equal a clean run.
fn interrupted_run_keeps_the_previous_output(signal: &str) {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small.xml");
    let big = dir.path().join("big.xml");
    generate(&small, "2MB", "1");
    generate(&big, "200MB", "2");
    let out = dir.path().join("out");
    let result = run(espi()
        .arg("convert")
        .arg(&small)
        .arg("-o")
        .arg(&out)
        .arg("-q"));
    assert!(result.status.success());
    let before = table_rows(&out);
    assert!(before["readings"] > 1000, "{before:?}");

    let mut child = espi()
        .arg("convert")
        .arg(&big)
        .args(["-q", "--threads", "1", "-o"])
        .arg(&out)
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the conversion ended within 300 ms: make the feed bigger"
    );
    if signal == "KILL" {
        child.kill().unwrap();
    } else {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }
    let status = child.wait().unwrap();
    assert!(!status.success(), "{signal}: {status:?}");

    // Published tables: no file in progress, every file complete, same rows.
    for table in table_dirs(&out) {
        let partial: Vec<_> = all_files(&table)
            .into_iter()
            .filter(|p| name_of(p).ends_with(".inprogress"))
            .collect();
        assert!(partial.is_empty(), "{signal}: {partial:?}");
    }
    assert_eq!(
        table_rows(&out),
        before,
        "{signal}: the first output changed"
    );
    if signal == "KILL" {
        // Killed mid-run, it cannot clean up: its staging folder is left
        // (allowed until the next run, checked below).
        let left = leftovers(&out);
        assert!(
            !left.is_empty() && left.iter().all(|n| n.starts_with(".espi-staging-")),
            "{left:?}"
        );
    }

    // The re-run completes, removes what the killed run left, and equals a
    // clean run.
    let result = run(espi()
        .arg("convert")
        .arg(&big)
        .arg("-o")
        .arg(&out)
        .arg("-q"));
    assert!(result.status.success());
    assert!(
        leftovers(&out).is_empty(),
        "{signal}: {:?}",
        leftovers(&out)
    );
    assert_no_inprogress(&out, signal);
    let clean = dir.path().join("clean");
    let result = run(espi()
        .arg("convert")
        .arg(&big)
        .arg("-o")
        .arg(&clean)
        .arg("-q"));
    assert!(result.status.success());
    let after = table_rows(&out);
    assert_eq!(after, table_rows(&clean), "{signal}");
    assert!(after["readings"] > before["readings"]);
}

#[test]
fn a_run_killed_with_sigkill_keeps_the_previous_output() {
    interrupted_run_keeps_the_previous_output("KILL");
}

#[cfg(unix)]
#[test]
fn a_run_interrupted_with_sigint_keeps_the_previous_output() {
    interrupted_run_keeps_the_previous_output("INT");
}
