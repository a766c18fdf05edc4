//! `ParseOptions::blocks_only` reads exactly what a full parse reads, less
//! the resources that are not IntervalBlocks: the same entries (envelopes,
//! offsets, numbering), readings, blocks, rejections and errors.

mod common;

use espi_core::{parse_slice, ParseError, ParseOptions, Reading, Sink};
use espi_model::resource::{Entry, Resource};

#[derive(Default)]
struct Recorder {
    events: Vec<String>,
}

impl Sink for Recorder {
    fn reading(&mut self, r: &Reading) {
        self.events.push(format!("{r:?}"));
    }
    fn entry(&mut self, e: Entry, resources: Vec<Resource>) {
        let blocks: Vec<&Resource> = resources.iter().filter(|r| r.is("IntervalBlock")).collect();
        self.events.push(format!("{e:?} {blocks:?}"));
    }
    fn entry_rejected(&mut self, error: &ParseError, readings: u64) {
        self.events.push(format!("rejected {error:?} {readings}"));
    }
}

fn record(xml: &[u8], options: &ParseOptions) -> String {
    let mut rec = Recorder::default();
    let result = parse_slice(xml, options, &mut rec);
    format!("{result:?}\n{}", rec.events.join("\n"))
}

fn assert_same(xml: &[u8], label: &str) {
    for skip_bad_entries in [false, true] {
        for skip_interval_blocks in [false, true] {
            let full = ParseOptions {
                skip_bad_entries,
                skip_interval_blocks,
                ..Default::default()
            };
            let blocks_only = ParseOptions {
                blocks_only: true,
                ..full.clone()
            };
            let (a, b) = (record(xml, &full), record(xml, &blocks_only));
            assert!(
                a == b,
                "{label} (skip bad {skip_bad_entries}, skip blocks {skip_interval_blocks}):\nfull:\n{a}\nblocks only:\n{b}"
            );
        }
    }
}

#[test]
fn every_sample_reads_the_same_blocks() {
    for path in common::sample_files() {
        assert_same(&std::fs::read(&path).unwrap(), &path.display().to_string());
    }
}

#[test]
fn errors_inside_skipped_resources_are_reported_as_in_a_full_parse() {
    let entry = |content: &str| {
        format!(
            "<entry><id>e</id><link rel=\"self\" href=\"/UsagePoint/1\"/><content>{content}</content></entry>"
        )
    };
    let block = "<IntervalBlock xmlns=\"http://naesb.org/espi\"><interval><duration>900</duration><start>0</start></interval><IntervalReading><timePeriod><duration>900</duration><start>0</start></timePeriod><value>5</value></IntervalReading></IntervalBlock>";
    for (case, bad) in [
        // An unbound prefix, a mismatched end tag, a huge text, a nested
        // IntervalBlock inside another resource, a second resource after one.
        "<UsagePoint xmlns=\"http://naesb.org/espi\"><x:kind>1</x:kind></UsagePoint>".to_string(),
        "<UsagePoint xmlns=\"http://naesb.org/espi\"><kind>1</kindx></UsagePoint>".to_string(),
        format!(
            "<UsagePoint xmlns=\"http://naesb.org/espi\"><kind>{}</kind></UsagePoint>",
            "9".repeat(espi_core::MAX_TEXT_BYTES + 1)
        ),
        format!("<UsagePoint xmlns=\"http://naesb.org/espi\">{block}</UsagePoint>"),
        format!("<ReadingType xmlns=\"http://naesb.org/espi\"><uom>72</uom></ReadingType>{block}"),
    ]
    .iter()
    .enumerate()
    {
        let xml = format!(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\">{}{}{}</feed>",
            entry(block),
            entry(bad),
            entry(block)
        );
        assert_same(xml.as_bytes(), &bad[..bad.len().min(120)]);
        if case < 3 {
            // The first three are errors: the comparison covers their reports.
            let full = record(xml.as_bytes(), &ParseOptions::default());
            assert!(full.starts_with("Err"), "{full}");
        }
    }
}
