//! Every public sample parses, with the reading count an independent
//! extraction (`tools/reference_extract.py`, Python's ElementTree) found.
//! Skips cleanly when `../shared` is not there.

use std::path::{Path, PathBuf};

use espi_core::{Input, NullSink, ParseOptions};

fn samples_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/espi-samples/public");
    dir.is_dir().then_some(dir)
}

fn expected_readings(file: &str) -> Option<u64> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/expected")
        .join(format!("{file}.json"));
    let text = std::fs::read_to_string(path).ok()?;
    let at = text.find("\"readings\":")? + "\"readings\":".len();
    let digits: String = text[at..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[test]
fn every_sample_parses_with_the_reference_reading_count() {
    let Some(dir) = samples_dir() else {
        eprintln!("skipped: ../shared/espi-samples/public not present");
        return;
    };
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.to_ascii_lowercase().ends_with(".xml") {
            continue;
        }
        let input = Input::open(&path).unwrap();
        let result = input.parse(&ParseOptions::default(), &mut NullSink);
        match expected_readings(&name) {
            Some(n) => {
                let stats = result.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(stats.readings, n, "{name}");
                assert_eq!(stats.rejected_readings, 0, "{name}");
            }
            None => {
                let err = result.expect_err(&name);
                assert!(err.line.is_some(), "{name}: {err}");
            }
        }
        checked += 1;
    }
    assert!(checked >= 130, "only {checked} samples found");
}

#[test]
fn the_malformed_sample_fails_with_its_position() {
    let Some(dir) = samples_dir() else { return };
    let path = dir.join("mburns__1hrLP_32DaysM.xml");
    let err = Input::open(&path)
        .unwrap()
        .parse(&ParseOptions::default(), &mut NullSink)
        .unwrap_err();
    // Python's expat reports "junk after document element: line 56, column 0".
    assert_eq!(err.line, Some(56), "{err}");
    assert!(err.to_string().contains("after the root element"), "{err}");
}

#[test]
fn hostile_nesting_stops_at_the_depth_limit_with_a_short_path() {
    let depth = 100_000;
    let xml = format!(
        "<feed xmlns=\"http://www.w3.org/2005/Atom\">{}{}</feed>",
        "<a>".repeat(depth),
        "</a>".repeat(depth)
    );
    let err = espi_core::parse_slice(xml.as_bytes(), &ParseOptions::default(), &mut NullSink)
        .unwrap_err();
    assert!(err.to_string().contains("deeper"), "{err}");
    assert!(err.element.len() < 200, "{}", err.element.len());
    assert!(err.offset > 60_000, "{err}");
}

#[test]
fn invalid_utf8_is_an_error_at_its_element() {
    let xml = b"<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><title>ok \xff\xfe</title></entry></feed>";
    let err = espi_core::parse_slice(xml, &ParseOptions::default(), &mut NullSink).unwrap_err();
    assert!(err.to_string().contains("UTF-8"), "{err}");
    assert_eq!(err.element, "feed/entry/title");
    assert_eq!(err.offset, 56, "{err}"); // the text after <title>
}

#[test]
fn entities_are_never_expanded() {
    let xml = br#"<?xml version="1.0"?><!DOCTYPE f [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY ext SYSTEM "file:///etc/passwd">]>
<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>&b;&ext;</title></entry></feed>"#;
    let err = espi_core::parse_slice(xml, &ParseOptions::default(), &mut NullSink).unwrap_err();
    assert!(err.to_string().contains("never expanded"), "{err}");
    assert_eq!(err.line, Some(2));
}
