//! `Sink::look_ahead`: after any complete entry of an in-memory document, a
//! sink that asks is shown where the rest of the document begins, and that
//! rest reads (as a part of the feed) exactly as the entries the parse then
//! delivers.

mod common;

use espi_core::{
    parse_part, parse_reader, parse_slice, FeedLayout, ParseError, ParseOptions, Reading, Sink,
};
use espi_model::resource::{Entry, Resource};

/// Records entry envelopes, and asks to look ahead after entry `after`.
#[derive(Default)]
struct Recorder {
    entries: Vec<String>,
    after: Option<u64>,
    asked: u64,
    seen: Option<(usize, u64)>,
}

impl Sink for Recorder {
    fn reading(&mut self, _: &Reading) {}
    fn entry(&mut self, e: Entry, resources: Vec<Resource>) {
        let names: Vec<&str> = resources.iter().map(|r| r.name.as_str()).collect();
        self.entries.push(format!(
            "{} {:?} {} {names:?}",
            e.index, e.self_href, e.offset
        ));
    }
    fn entry_rejected(&mut self, error: &ParseError, _: u64) {
        self.entries.push(format!("rejected {}", error.offset));
    }
    fn wants_look_ahead(&self) -> bool {
        self.seen.is_none() && self.after.is_some_and(|n| self.entries.len() as u64 > n)
    }
    fn look_ahead(&mut self, _: &[u8], from: usize, next_entry_index: u64) {
        self.asked += 1;
        self.seen = Some((from, next_entry_index));
    }
}

#[test]
fn the_rest_of_the_document_reads_as_the_entries_that_follow() {
    let mut checked = 0;
    for path in common::sample_files() {
        let xml = std::fs::read(&path).unwrap();
        let mut whole = Recorder::default();
        if parse_slice(&xml, &ParseOptions::default(), &mut whole).is_err() {
            continue;
        }
        let n = whole.entries.len() as u64;
        let Some(layout) = FeedLayout::of(&xml) else {
            continue;
        };
        for after in [0, n / 2, n.saturating_sub(1)] {
            for fast_readings in [true, false] {
                let options = ParseOptions {
                    fast_readings,
                    ..Default::default()
                };
                let mut rec = Recorder {
                    after: Some(after),
                    ..Default::default()
                };
                parse_slice(&xml, &options, &mut rec).unwrap();
                let what = format!("{} after {after} fast {fast_readings}", path.display());
                assert_eq!(rec.entries, whole.entries, "{what}");
                assert_eq!(rec.asked, 1, "{what}");
                let (from, next) = rec.seen.unwrap();
                assert_eq!(next, after + 1, "{what}");
                let mut rest = Recorder::default();
                parse_part(&xml, &layout, from..xml.len(), next, &options, &mut rest).unwrap();
                assert_eq!(rest.entries, whole.entries[next as usize..], "{what}");
            }
        }
        checked += 1;
    }
    assert!(checked >= 7, "{checked} samples checked");
}

#[test]
fn streams_are_never_read_ahead() {
    let xml = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/ameren_15min.xml"
    ))
    .unwrap();
    let mut rec = Recorder {
        after: Some(0),
        ..Default::default()
    };
    parse_reader(&xml[..], &ParseOptions::default(), &mut rec).unwrap();
    assert_eq!(rec.asked, 0);
    assert!(!rec.entries.is_empty());
}

/// Counts entries and asks to stop after `after` of them.
struct Stopper {
    entries: u64,
    after: u64,
}

impl Sink for Stopper {
    fn reading(&mut self, _: &Reading) {}
    fn entry(&mut self, _: Entry, _: Vec<Resource>) {
        self.entries += 1;
    }
    fn entry_rejected(&mut self, _: &ParseError, _: u64) {
        self.entries += 1;
    }
    fn stop(&self) -> bool {
        self.entries >= self.after
    }
}

/// `Sink::stop`: the parse of a document in memory ends right after the
/// entry the sink asked to stop at, without an error, its statistics
/// counting the entries and bytes read so far; a sink that never asks reads
/// every entry.
#[test]
fn a_sink_that_asks_to_stop_reads_no_further_entry() {
    let mut checked = 0;
    for path in common::sample_files() {
        let xml = std::fs::read(&path).unwrap();
        let mut whole = Stopper {
            entries: 0,
            after: u64::MAX,
        };
        let Ok(all) = parse_slice(&xml, &ParseOptions::default(), &mut whole) else {
            continue;
        };
        if all.entries < 2 {
            continue;
        }
        let mut first = Stopper {
            entries: 0,
            after: 1,
        };
        let stats = parse_slice(&xml, &ParseOptions::default(), &mut first).unwrap();
        assert_eq!((first.entries, stats.entries), (1, 1), "{}", path.display());
        assert!(stats.bytes < xml.len() as u64, "{}", path.display());
        assert_eq!(whole.entries, all.entries);
        checked += 1;
    }
    assert!(checked >= 5, "{checked} files checked");
}
