//! Entry end offsets, and parts read with some entries left out.

use espi_core::{
    parse_part_skipping, parse_slice, FeedLayout, ParseError, ParseOptions, Reading, Sink,
};
use espi_model::resource::{Entry, Resource};

/// Entries (with their readings' values) in the order they arrive.
#[derive(Default)]
struct Recorder {
    entries: Vec<(Entry, Vec<i64>)>,
    values: Vec<i64>,
    rejected: usize,
}

impl Sink for Recorder {
    fn reading(&mut self, reading: &Reading) {
        self.values.push(reading.value.unwrap_or_default());
    }
    fn entry(&mut self, entry: Entry, _: Vec<Resource>) {
        self.entries.push((entry, std::mem::take(&mut self.values)));
    }
    fn entry_rejected(&mut self, _: &ParseError, _: u64) {
        self.rejected += 1;
    }
}

const XML: &str = concat!(
    "<?xml version='1.0'?>\n",
    "<a:feed xmlns:a='http://www.w3.org/2005/Atom' xmlns='http://naesb.org/espi'>\n",
    "<a:entry><a:id>0</a:id><a:content><UsagePoint/></a:content></a:entry>\n",
    "<a:entry><a:id>1</a:id><a:content><IntervalBlock><IntervalReading><value>11</value></IntervalReading></IntervalBlock></a:content></a:entry >",
    "<a:entry><a:id>2</a:id><a:content><!-- </a:entry> --><ReadingType/></a:content></a:entry\n>\n",
    "<a:entry/>\n",
    "<a:entry><a:id>4</a:id><a:content><IntervalBlock><IntervalReading><value>44</value></IntervalReading></IntervalBlock></a:content></a:entry>",
    "<a:entry><a:id>5</a:id><a:content><MeterReading/></a:content></a:entry>\n",
    "</a:feed>\n",
);

fn whole() -> Recorder {
    let mut all = Recorder::default();
    parse_slice(XML.as_bytes(), &ParseOptions::default(), &mut all).unwrap();
    all
}

#[test]
fn entries_end_right_after_their_end_tag() {
    let all = whole();
    assert_eq!(all.entries.len(), 6);
    for (entry, _) in &all.entries {
        let start = entry.offset as usize;
        match entry.end_offset {
            Some(end) => {
                let text = &XML[start..end as usize];
                assert!(text.starts_with("<a:entry>"), "{text}");
                let close = text.rfind("</a:entry").unwrap();
                assert!(
                    text[close..]
                        .trim_end_matches('>')
                        .trim()
                        .ends_with("</a:entry"),
                    "{text}"
                );
                assert!(text.ends_with('>'), "{text}");
                let id = entry.id.as_deref().unwrap();
                assert!(text.contains(&format!("<a:id>{id}</a:id>")));
            }
            None => assert_eq!(&XML[start..start + 10], "<a:entry/>"),
        }
    }
}

/// Leave out entries `left_out` (by index): ranges from the end of the
/// entry before.
fn without(left_out: &[usize]) -> Result<Recorder, Box<ParseError>> {
    let all = whole();
    let layout = FeedLayout::of(XML.as_bytes()).unwrap();
    let part = layout.split(XML.as_bytes(), 1)[0].clone();
    let mut from = Some(part.start as u64);
    let mut skip = Vec::new();
    for (entry, _) in &all.entries {
        let start = std::mem::replace(&mut from, entry.end_offset);
        if left_out.contains(&(entry.index as usize)) {
            // Not after an empty-element entry: where it starts is not known.
            skip.push(start.unwrap()..entry.end_offset.unwrap());
        }
    }
    let mut rest = Recorder::default();
    let stats = parse_part_skipping(
        XML.as_bytes(),
        &layout,
        part,
        0,
        &skip,
        &ParseOptions::default(),
        &mut rest,
    )?;
    assert_eq!(stats.entries, 6);
    Ok(rest)
}

#[test]
fn entries_left_out_are_counted_but_not_read() {
    let all = whole();
    for left_out in [
        &[][..],
        &[0],
        &[1],
        &[0, 1],
        &[2],
        &[1, 2],
        &[5],
        &[0, 1, 2, 5],
        &[5],
    ] {
        let rest = without(left_out).unwrap();
        let expected: Vec<_> = all
            .entries
            .iter()
            .filter(|(e, _)| !left_out.contains(&(e.index as usize)))
            .collect();
        assert_eq!(rest.entries.len(), expected.len(), "{left_out:?}");
        for ((got, got_values), (want, want_values)) in rest.entries.iter().zip(expected) {
            assert_eq!(got, want, "{left_out:?}");
            assert_eq!(got_values, want_values, "{left_out:?}");
        }
    }
}

#[test]
fn a_range_that_is_not_an_entry_after_the_last_is_an_error() {
    let layout = FeedLayout::of(XML.as_bytes()).unwrap();
    let part = layout.split(XML.as_bytes(), 1)[0].clone();
    let all = whole();
    let (first, second) = (&all.entries[0].0, &all.entries[1].0);
    let first_end = first.end_offset.unwrap();
    let bad = [
        // Inside the first entry.
        first.offset + 1..first_end,
        // Past the start of the part.
        part.start as u64 + 1..first_end,
        // The second entry, from its start tag rather than the end of the first.
        second.offset..second.end_offset.unwrap(),
        // Beyond the input.
        first_end..XML.len() as u64 + 10,
    ];
    for range in bad {
        let result = parse_part_skipping(
            XML.as_bytes(),
            &layout,
            part.clone(),
            0,
            std::slice::from_ref(&range),
            &ParseOptions::default(),
            &mut Recorder::default(),
        );
        let error = result.err().unwrap_or_else(|| panic!("{range:?} accepted"));
        assert!(error.to_string().contains("no entry to skip"), "{error}");
    }
}

/// Offsets of the entries holding an IntervalBlock.
#[derive(Default)]
struct Blocks(Vec<u64>);

impl Sink for Blocks {
    fn reading(&mut self, _: &Reading) {}
    fn entry(&mut self, entry: Entry, resources: Vec<Resource>) {
        if resources.iter().any(|r| r.is("IntervalBlock")) {
            self.0.push(entry.offset);
        }
    }
    fn entry_rejected(&mut self, _: &ParseError, _: u64) {}
}

#[test]
fn entries_jumped_over_never_hide_a_block() {
    // Feeds drawn from entries of every shape, the corrections pass's way:
    // the entries `entries_without` leaves out, jumped over, must give the
    // same blocks as reading everything, or fail (the caller then reads
    // the part whole) when text in a comment looks like an entry end tag.
    let fragments = [
        "<a:entry><a:id>m</a:id><a:link rel='related' href='/MeterReading/1/IntervalBlock'/><a:content><MeterReading/></a:content></a:entry>",
        "<a:entry><a:title>IntervalBlock &lt;IntervalBlock></a:title></a:entry>",
        "<a:entry><a:content><IntervalBlock><interval><start>1</start></interval></IntervalBlock></a:content></a:entry>",
        "<a:entry><a:content><e:IntervalBlock xmlns:e='http://naesb.org/espi'><e:IntervalReading><e:value>2</e:value></e:IntervalReading></e:IntervalBlock></a:content></a:entry>",
        "<a:entry><a:content><IntervalBlock/></a:content></a:entry>",
        "<a:entry><a:content><IntervalBlock\n></IntervalBlock\n></a:content></a:entry >",
        "<a:entry><!-- <IntervalBlock> --><a:id>c</a:id></a:entry>",
        "<a:entry/>",
        "<a:entry\n><a:id>n</a:id></a:entry\n>",
        "<a:entry><a:content><![CDATA[<IntervalBlock>]]><UsagePoint/></a:content></a:entry>",
        "<!-- between entries -->",
        "<a:entry><a:content><ReadingType><uom>72</uom></ReadingType></a:content></a:entry>",
    ];
    let misleading = "<a:entry><!-- </a:entry> --><a:id>z</a:id></a:entry>";
    let options = ParseOptions {
        skip_bad_entries: true,
        blocks_only: true,
        skip_interval_blocks: true,
        ..ParseOptions::default()
    };
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let (mut jumped, mut fell_back) = (0, 0);
    for round in 0..300 {
        let mut xml = String::from(
            "<a:feed xmlns:a='http://www.w3.org/2005/Atom' xmlns='http://naesb.org/espi'>\n",
        );
        let with_misleading = round % 5 == 0;
        for i in 0..(5 + next(30)) {
            if with_misleading && i == 3 {
                xml.push_str(misleading);
            } else {
                xml.push_str(fragments[next(fragments.len())]);
            }
            xml.push_str(["", "\n", " \r\n\t"][next(3)]);
        }
        xml.push_str("</a:feed>\n");
        let xml = xml.as_bytes();
        let Some(layout) = FeedLayout::of(xml) else {
            continue;
        };
        for range in layout.split(xml, 1 + next(4)) {
            let mut all = Blocks::default();
            let Ok(whole) =
                espi_core::parse_part(xml, &layout, range.clone(), 0, &options, &mut all)
            else {
                continue;
            };
            let skip = layout.entries_without(xml, range.clone(), b"IntervalBlock");
            let mut some = Blocks::default();
            match parse_part_skipping(xml, &layout, range, 0, &skip, &options, &mut some) {
                Ok(stats) => {
                    assert_eq!(some.0, all.0, "{}", String::from_utf8_lossy(xml));
                    assert_eq!(stats.entries, whole.entries);
                    jumped += skip.len();
                }
                Err(_) => {
                    assert!(with_misleading, "{}", String::from_utf8_lossy(xml));
                    fell_back += 1;
                }
            }
        }
    }
    assert!(jumped > 500 && fell_back > 0, "{jumped} {fell_back}");
}
