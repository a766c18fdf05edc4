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
