//! The streaming parser never panics, whatever the bytes, and its two
//! IntervalReading paths (the specialised scanner and the general quick-xml
//! path) agree exactly: same result (stats or error, with its position) and
//! the same events in the same order, with and without `skip_bad_entries`
//! (the equivalence `crates/espi-core/tests/fast_path.rs` checks on samples).
//!
//! Also exercised, for panics only (plus invariants noted inline): skipping
//! IntervalBlocks, the `BufRead` path, and splitting a feed into parts.
#![no_main]

use std::io::BufReader;

use espi_core::{
    parse_part, parse_reader, parse_slice, FeedLayout, ParseError, ParseOptions, ParseStats,
    Reading, Sink,
};
use espi_model::resource::{Entry, Resource};
use libfuzzer_sys::fuzz_target;

/// Records every event (Debug text) and counts them.
#[derive(Default)]
struct Recorder {
    events: Vec<String>,
    readings: u64,
    entries: u64,
    rejected: u64,
    /// Readings delivered since the last entry (or rejection).
    pending: u64,
    /// Readings delivered and kept (their entry was not rejected).
    kept: u64,
}

impl Sink for Recorder {
    fn reading(&mut self, r: &Reading) {
        self.readings += 1;
        self.pending += 1;
        self.events.push(format!("{r:?}"));
    }
    fn entry(&mut self, e: Entry, resources: Vec<Resource>) {
        self.entries += 1;
        self.kept += std::mem::take(&mut self.pending);
        self.events.push(format!("{e:?} {resources:?}"));
    }
    fn entry_rejected(&mut self, error: &ParseError, readings: u64) {
        self.rejected += 1;
        // The entry's readings: those delivered and any not delivered.
        assert!(
            self.pending <= readings,
            "rejected entry delivered {} of {readings}",
            self.pending
        );
        self.pending = 0;
        self.events.push(format!("rejected {error:?} {readings}"));
    }
}

/// Only counts.
#[derive(Default)]
struct Counter {
    readings: u64,
    entries: u64,
    rejected: u64,
}

impl Sink for Counter {
    fn reading(&mut self, _: &Reading) {
        self.readings += 1;
    }
    fn entry(&mut self, _: Entry, _: Vec<Resource>) {
        self.entries += 1;
    }
    fn entry_rejected(&mut self, _: &ParseError, _: u64) {
        self.rejected += 1;
    }
}

fn options(skip_bad_entries: bool, fast_readings: bool) -> ParseOptions {
    ParseOptions {
        skip_bad_entries,
        fast_readings,
        ..Default::default()
    }
}

type Outcome = Result<ParseStats, Box<ParseError>>;

fn run(data: &[u8], skip: bool, fast: bool) -> (Outcome, Recorder) {
    let mut rec = Recorder::default();
    let result = parse_slice(data, &options(skip, fast), &mut rec);
    (result, rec)
}

fn check_stats(result: &Outcome, rec: &Recorder) {
    if let Ok(stats) = result {
        // Every entry read is either delivered or rejected.
        assert_eq!(stats.entries, rec.entries + rec.rejected, "entries");
        assert_eq!(stats.rejected_entries, rec.rejected, "rejected entries");
        assert!(
            stats.rejected_readings <= stats.readings,
            "rejected readings"
        );
        // Readings of good entries (or of a root that is no entry) are all
        // delivered; those of rejected entries are counted as rejected.
        assert_eq!(
            stats.readings - stats.rejected_readings,
            rec.kept + rec.pending,
            "readings kept"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    for skip in [false, true] {
        let (fast, fast_rec) = run(data, skip, true);
        let (general, general_rec) = run(data, skip, false);
        check_stats(&fast, &fast_rec);
        check_stats(&general, &general_rec);
        let fast_text = format!("{fast:?}");
        let general_text = format!("{general:?}");
        assert_eq!(
            fast_text, general_text,
            "fast and general results differ (skip_bad_entries {skip})"
        );
        assert_eq!(
            fast_rec.readings, general_rec.readings,
            "readings count (skip {skip})"
        );
        assert!(
            fast_rec.events == general_rec.events,
            "fast and general events differ (skip_bad_entries {skip}):\nfast:\n{}\ngeneral:\n{}",
            fast_rec.events.join("\n"),
            general_rec.events.join("\n"),
        );
    }

    // Envelopes only: never panics; blocks report no readings.
    for skip in [false, true] {
        let mut counter = Counter::default();
        let opts = ParseOptions {
            skip_bad_entries: skip,
            skip_interval_blocks: true,
            ..Default::default()
        };
        if let Ok(stats) = parse_slice(data, &opts, &mut counter) {
            assert_eq!(
                counter.readings, 0,
                "skip_interval_blocks delivered readings"
            );
            assert_eq!(stats.readings, 0, "skip_interval_blocks counted readings");
        }
    }

    // The BufRead path, through a tiny buffer: never panics; it agrees with
    // the in-memory general path on success or failure and on the events
    // delivered when both succeed.
    let mut streamed = Recorder::default();
    let stream = parse_reader(
        BufReader::with_capacity(7, data),
        &options(false, false),
        &mut streamed,
    );
    let (whole, whole_rec) = run(data, false, false);
    assert_eq!(
        stream.is_ok(),
        whole.is_ok(),
        "stream {stream:?} vs slice {whole:?}"
    );
    if stream.is_ok() {
        assert!(
            streamed.events == whole_rec.events,
            "stream and slice events differ"
        );
    }

    // Parts of a feed: never panics; when the whole and every part parse,
    // the parts read what the whole does.
    if let Some(layout) = FeedLayout::of(data) {
        let parts = layout.split(data, 3);
        let mut counter = Counter::default();
        let mut all_ok = true;
        let mut entries = 0;
        for range in parts {
            match parse_part(
                data,
                &layout,
                range,
                entries,
                &ParseOptions::default(),
                &mut counter,
            ) {
                Ok(stats) => entries += stats.entries,
                Err(_) => all_ok = false,
            }
        }
        if all_ok {
            if let Ok(stats) = &whole {
                assert_eq!(counter.readings, stats.readings, "parts vs whole readings");
                assert_eq!(entries, stats.entries, "parts vs whole entries");
            }
        }
    }
});
