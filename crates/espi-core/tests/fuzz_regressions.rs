//! Inputs found by the fuzz targets in `fuzz/` (minimised), kept as tests.

use espi_core::{parse_reader, parse_slice, ParseError, ParseOptions, Reading, Sink};
use espi_model::resource::{Entry, Resource};

#[derive(Default)]
struct Count {
    readings: u64,
    entries: u64,
    rejected: u64,
}

impl Sink for Count {
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

/// fuzz target `parse`: with `skip_interval_blocks`, an IntervalReading after
/// text (here control characters) in its block was read and counted, because
/// the block was skipped only when a reading followed a tag directly.
/// `ParseOptions::skip_interval_blocks` promises blocks report 0 readings.
const TEXT_BEFORE_FIRST_READING: &[u8] = b"<ns1:feed xmlns:ns1=\"http://www.w3.org/2005/Atom\" xmlns:ns0=\"hpi\">\n  <ns1:entry><ns1:content><ns0:IntervalBlock>\n  \x05\x05\x05\x05\x05  <ns0:IntervalReading>alu</ns0:IntervalReading>\n  </ns0:IntervalBlock></ns1:content></ns1:entry></ns1:feed>";

fn skipping(skip_bad_entries: bool) -> ParseOptions {
    ParseOptions {
        skip_bad_entries,
        skip_interval_blocks: true,
        ..Default::default()
    }
}

#[test]
fn skip_interval_blocks_reads_no_reading_after_text_in_the_block() {
    // Read normally, the block has one reading.
    let mut count = Count::default();
    let stats = parse_slice(
        TEXT_BEFORE_FIRST_READING,
        &ParseOptions::default(),
        &mut count,
    )
    .unwrap();
    assert_eq!((stats.readings, count.readings, count.entries), (1, 1, 1));

    for skip_bad_entries in [false, true] {
        let mut count = Count::default();
        let stats = parse_slice(
            TEXT_BEFORE_FIRST_READING,
            &skipping(skip_bad_entries),
            &mut count,
        )
        .unwrap();
        assert_eq!(stats.readings, 0);
        assert_eq!((count.readings, count.entries, count.rejected), (0, 1, 0));
    }
}

#[test]
fn skip_interval_blocks_reads_no_reading_after_a_comment_or_with_another_prefix() {
    let reading = |p: &str| {
        format!(
            "<{p}IntervalReading><{p}timePeriod><{p}duration>900</{p}duration><{p}start>0</{p}start></{p}timePeriod><{p}value>oops</{p}value></{p}IntervalReading>"
        )
    };
    let feeds = [
        // A comment before the first reading.
        format!("<!-- readings -->{}{}", reading("e:"), reading("e:")),
        // A reading spelled with another prefix than its block.
        format!(
            "<x:IntervalReading xmlns:x=\"http://naesb.org/espi\"><x:value>1</x:value></x:IntervalReading>{}",
            reading("e:")
        ),
    ];
    for body in feeds {
        let xml = format!(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\" xmlns:e=\"http://naesb.org/espi\"><entry><content><e:IntervalBlock>{body}</e:IntervalBlock></content></entry></feed>"
        );
        // Read normally, the bad value rejects the entry.
        let err = parse_slice(
            xml.as_bytes(),
            &ParseOptions::default(),
            &mut Count::default(),
        );
        assert!(err.is_err(), "{xml}");
        for skip_bad_entries in [false, true] {
            // Skipped, its readings (and their bad values) are not read at all.
            let mut count = Count::default();
            let stats =
                parse_slice(xml.as_bytes(), &skipping(skip_bad_entries), &mut count).unwrap();
            assert_eq!(stats.readings, 0, "{xml}");
            assert_eq!(
                (count.readings, count.entries, count.rejected),
                (0, 1, 0),
                "{xml}"
            );
            let mut count = Count::default();
            let stats =
                parse_reader(xml.as_bytes(), &skipping(skip_bad_entries), &mut count).unwrap();
            assert_eq!(
                (stats.readings, count.readings, count.entries),
                (0, 0, 1),
                "{xml}"
            );
        }
    }
}
