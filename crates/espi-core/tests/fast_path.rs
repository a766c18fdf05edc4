//! The IntervalReading scanner and the general quick-xml path give identical
//! results: same readings, entries, rejections and error positions.

use std::path::Path;

use espi_core::{parse_slice, ParseError, ParseOptions, Reading, Sink};
use espi_model::resource::{Entry, Resource};

#[derive(Default, PartialEq, Debug)]
struct Recorder {
    events: Vec<String>,
}

impl Sink for Recorder {
    fn reading(&mut self, r: &Reading) {
        self.events.push(format!("{r:?}"));
    }
    fn entry(&mut self, e: Entry, resources: Vec<Resource>) {
        self.events.push(format!("{e:?} {resources:?}"));
    }
    fn entry_rejected(&mut self, error: &ParseError, readings: u64) {
        self.events.push(format!("rejected {error:?} {readings}"));
    }
}

fn both_paths(xml: &[u8], skip: bool) -> (String, String) {
    let run = |fast: bool| {
        let mut rec = Recorder::default();
        let options = ParseOptions {
            skip_bad_entries: skip,
            fast_readings: fast,
            ..Default::default()
        };
        let result = parse_slice(xml, &options, &mut rec);
        format!("{result:?}\n{}", rec.events.join("\n"))
    };
    (run(true), run(false))
}

fn assert_same(xml: &[u8], label: &str) {
    for skip in [false, true] {
        let (fast, general) = both_paths(xml, skip);
        assert!(
            fast == general,
            "{label} (skip {skip}):\nfast:\n{fast}\ngeneral:\n{general}"
        );
    }
}

#[test]
fn every_sample_reads_the_same_on_both_paths() {
    let dirs = [
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/espi-samples/public"),
    ];
    let mut n = 0;
    for dir in dirs.iter().filter(|d| d.is_dir()) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("xml"))
            {
                assert_same(&std::fs::read(&path).unwrap(), &path.display().to_string());
                n += 1;
            }
        }
    }
    assert!(n >= 7);
}

const READING: &str = "<p:IntervalReading><p:cost>100</p:cost><p:ReadingQuality><p:quality>17</p:quality></p:ReadingQuality><p:timePeriod><p:duration>900</p:duration><p:start>1700000000</p:start></p:timePeriod><p:value>42</p:value><p:tou>1</p:tou></p:IntervalReading>";

fn feed(readings: &[String]) -> String {
    format!(
        "<?xml version=\"1.0\"?>\n<a:feed xmlns:a=\"http://www.w3.org/2005/Atom\" xmlns:p=\"http://naesb.org/espi\">\n\
         <a:entry><a:id>e1</a:id><a:link rel=\"up\" href=\"/UsagePoint/1/MeterReading/1/IntervalBlock\"/><a:content><p:IntervalBlock>\
         <p:interval><p:duration>86400</p:duration><p:start>1700000000</p:start></p:interval>\n{}\n</p:IntervalBlock></a:content></a:entry>\n\
         <a:entry><a:id>e2</a:id><a:content><p:IntervalBlock>{}</p:IntervalBlock></a:content></a:entry>\n</a:feed>\n",
        readings.join("\n  "),
        READING
    )
}

/// Variations of one reading that the scanner must either read exactly like
/// the general path or leave to it.
#[test]
fn variations_read_the_same_on_both_paths() {
    let variations = [
        READING.to_owned(),
        READING.replace("<p:value>42", "<p:value>  -42\r\n"),
        READING.replace("<p:value>42", "<p:value>4x2"),
        READING.replace("<p:value>42", "<p:value>99999999999999999999"),
        READING.replace("<p:value>42</p:value>", "<p:value/>"),
        READING.replace("<p:value>42", "<p:value>&#52;2"),
        READING.replace("<p:value>42", "<p:value><![CDATA[42]]>"),
        READING.replace("<p:value>42", "<p:value><!-- c -->42"),
        READING.replace("<p:cost>", "<p:cost xmlns:q=\"urn:x\">"),
        READING.replace("<p:tou>1", "<p:tou>4294967296"),
        READING.replace("<p:duration>900", "<p:duration>-900"),
        READING.replace("<p:start>1700000000", "<p:start>1700000000.25"),
        READING.replace("<p:start>1700000000", "<p:start>"),
        READING.replace("<p:timePeriod>", "<p:timePeriod>\n\t"),
        READING.replace(
            "</p:ReadingQuality>",
            "</p:ReadingQuality><p:ReadingQuality><p:quality>8</p:quality></p:ReadingQuality>",
        ),
        READING.replace("<p:tou>1</p:tou>", "<p:extra>1</p:extra>"),
        READING.replace(
            "<p:tou>1</p:tou>",
            "<q:tou xmlns:q=\"http://naesb.org/espi\">1</q:tou>",
        ),
        READING.replace("<p:tou>1</p:tou>", "<z:tou>1</z:tou>"),
        READING.replace("</p:IntervalReading>", "</p:IntervalReading >"),
        READING.replace("<p:value>42</p:value>", ""),
        READING.replace("<p:IntervalReading>", "<p:IntervalReading>\n<?pi x?>"),
    ];
    for (i, v) in variations.iter().enumerate() {
        let readings = vec![READING.to_owned(), v.clone(), READING.to_owned()];
        assert_same(feed(&readings).as_bytes(), &format!("variation {i}: {v}"));
    }
}

#[test]
fn errors_after_scanned_readings_keep_their_position() {
    let readings: Vec<String> = (0..50).map(|_| READING.to_owned()).collect();
    let mut xml = feed(&readings);
    xml.push_str("<second-root/>");
    assert_same(xml.as_bytes(), "second root");
    let truncated = &feed(&readings)[..2000];
    assert_same(truncated.as_bytes(), "truncated");
}
