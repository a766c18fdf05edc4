//! Streams (stdin, pipes, decompressors) parsed a chunk of whole entries at
//! a time, so that they take the in-memory parser's fast paths.
//!
//! The stream is read into a buffer of a few MiB. A scan at memchr speed
//! follows the element depth through it (tags, comments, CDATA sections,
//! processing instructions, quoted attribute values) and notes where the
//! last element directly inside the feed ends; the bytes up to there are
//! parsed as a part of the feed ([`parse_chunk`]) while the rest waits for
//! more. Inputs that are not an Atom feed with entries, and an entry too
//! large for the buffer, are read the general way ([`parse_reader`],
//! [`parse_rest`]).

use std::io::{self, BufRead, Cursor, Read};

use crate::error::ParseError;
use crate::parser::{parse_first_chunk, parse_reader, ParseOptions, ParseStats, Sink};
use crate::split::{parse_chunk, parse_rest, FeedLayout};

/// Bytes read from the stream at a time.
const READ_BYTES: usize = 4 << 20;

/// The head (up to the first entry) is looked for in this many bytes.
const HEAD_BYTES: usize = 1 << 20;

/// A part of the stream waiting for its end past this many bytes (an entry
/// larger than this) sends the rest of the stream the general way, whose
/// memory is bounded by the largest single event.
const LARGEST_CHUNK: usize = 16 << 20;

/// Parse a stream into `sink`, chunk by chunk (see the module's notes).
pub(crate) fn parse_stream<R: BufRead, S: Sink>(
    input: R,
    options: &ParseOptions,
    sink: &mut S,
) -> Result<ParseStats, Box<ParseError>> {
    parse_stream_in(input, options, sink, READ_BYTES, LARGEST_CHUNK)
}

/// [`parse_stream`] reading `read_bytes` at a time, waiting for a chunk's
/// end up to `largest_chunk` bytes.
pub(crate) fn parse_stream_in<R: BufRead, S: Sink>(
    mut input: R,
    options: &ParseOptions,
    sink: &mut S,
    read_bytes: usize,
    largest_chunk: usize,
) -> Result<ParseStats, Box<ParseError>> {
    let mut buf: Vec<u8> = Vec::new();
    // The head, up to the first entry's start tag.
    let layout = loop {
        let read = read_more(&mut input, &mut buf, read_bytes.min(HEAD_BYTES), 0)?;
        if let Some(layout) = FeedLayout::of(&buf) {
            break layout;
        }
        if read == 0 || buf.len() >= HEAD_BYTES {
            return parse_reader(Cursor::new(buf).chain(input), options, sink);
        }
    };
    // `buf` is at absolute offset `base` and not parsed yet: the whole head
    // until the first chunk is parsed, then from between two children of
    // the root element.
    let mut base = 0u64;
    let mut first = true;
    let mut depth = Depth::new(layout.first_entry());
    let mut total = ParseStats::default();
    loop {
        let read = read_more(&mut input, &mut buf, read_bytes, base)?;
        let ends_input = read == 0;
        depth.scan(&buf);
        let cut = match (ends_input, depth.last_cut) {
            (true, _) => buf.len(),
            (false, Some(cut)) => cut,
            (false, None) => {
                if buf.len() > largest_chunk {
                    let rest = Cursor::new(buf).chain(input);
                    if first {
                        return parse_reader(rest, options, sink);
                    }
                    let stats = parse_rest(rest, base, &layout, total.entries, options, sink);
                    return add(total, stats);
                }
                continue;
            }
        };
        let chunk = &buf[..cut];
        let stats = if first {
            parse_first_chunk(chunk, ends_input, options, sink)
        } else {
            parse_chunk(
                chunk,
                base,
                &layout,
                total.entries,
                ends_input,
                options,
                sink,
            )
        };
        total = add(total, stats)?;
        if ends_input {
            return Ok(total);
        }
        // Keep what follows the cut at the buffer's start.
        buf.drain(..cut);
        base += cut as u64;
        first = false;
        depth.shift(cut);
    }
}

/// `total` with a part's statistics added (the part's error, if any).
fn add(
    mut total: ParseStats,
    part: Result<ParseStats, Box<ParseError>>,
) -> Result<ParseStats, Box<ParseError>> {
    let part = part?;
    total.bytes += part.bytes;
    total.entries += part.entries;
    total.readings += part.readings;
    total.rejected_entries += part.rejected_entries;
    total.rejected_readings += part.rejected_readings;
    Ok(total)
}

/// Append up to `want` bytes from `input` to `buf`; how many came (0 at the
/// end of the stream). A read error is an error at the stream's offset.
fn read_more<R: Read>(
    input: &mut R,
    buf: &mut Vec<u8>,
    want: usize,
    base: u64,
) -> Result<usize, Box<ParseError>> {
    let before = buf.len();
    // Room for exactly this read: growing by doubling would leave up to
    // twice the largest chunk allocated.
    buf.reserve_exact(want);
    let taken = input
        .by_ref()
        .take(want as u64)
        .read_to_end(buf)
        .or_else(|e| match e.kind() {
            io::ErrorKind::Interrupted => Ok(buf.len() - before),
            _ => Err(e),
        })
        .map_err(|e| {
            Box::new(ParseError::new_xml(
                format!("reading the input: {e}"),
                base + buf.len() as u64,
            ))
        })?;
    Ok(taken)
}

/// The element depth through a buffer, from a point inside the root
/// between its children (depth 1).
#[derive(Debug)]
struct Depth {
    /// Where the scan goes on: the start of the first markup not read whole.
    at: usize,
    depth: usize,
    /// Just after the last end tag (or empty-element tag) of a child of the
    /// root, if any since the last cut.
    last_cut: Option<usize>,
    /// The root element has ended (what follows is read to the end of the
    /// stream and parsed with the last chunk).
    at_end: bool,
}

impl Depth {
    fn new(at: usize) -> Self {
        Depth {
            at,
            depth: 1,
            last_cut: None,
            at_end: false,
        }
    }

    /// The buffer lost its first `cut` bytes.
    fn shift(&mut self, cut: usize) {
        self.at -= cut;
        self.last_cut = None;
    }

    /// Follow the depth through `buf[self.at..]`, stopping before markup
    /// that is not complete yet.
    fn scan(&mut self, buf: &[u8]) {
        while !self.at_end {
            let Some(lt) = memchr::memchr(b'<', &buf[self.at..]).map(|i| self.at + i) else {
                self.at = buf.len();
                return;
            };
            let Some(end) = markup_end(buf, lt) else {
                self.at = lt;
                return;
            };
            match (buf.get(lt + 1), buf[end - 2]) {
                (Some(b'/'), _) => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 1 {
                        self.last_cut = Some(end);
                    } else if self.depth == 0 {
                        self.at_end = true;
                    }
                }
                (Some(b'!' | b'?'), _) => {}
                (_, b'/') => {
                    if self.depth == 1 {
                        self.last_cut = Some(end);
                    }
                }
                _ => self.depth += 1,
            }
            self.at = end;
        }
    }
}

/// The end (just past its last byte) of the markup starting with the `<` at
/// `lt`: a tag (`>` outside quoted attribute values), a comment, a CDATA
/// section, a processing instruction or a declaration; `None` if `buf` ends
/// first.
fn markup_end(buf: &[u8], lt: usize) -> Option<usize> {
    let rest = &buf[lt..];
    let find = |close: &[u8], from: usize| {
        memchr::memmem::find(&rest[from..], close).map(|i| lt + from + i + close.len())
    };
    if rest.len() < 2 {
        return None;
    }
    match rest[1] {
        b'!' => {
            if rest.len() < 9 {
                // Long enough to tell a comment from CDATA?
                if rest.starts_with(b"<!--") {
                    return find(b"-->", 4);
                }
                return None;
            }
            if rest.starts_with(b"<!--") {
                find(b"-->", 4)
            } else if rest.starts_with(b"<![CDATA[") {
                find(b"]]>", 9)
            } else {
                find(b">", 2)
            }
        }
        b'?' => find(b"?>", 2),
        _ => {
            // A tag: its `>` is the first outside quotes.
            let mut at = 1;
            loop {
                let i = memchr::memchr3(b'>', b'"', b'\'', &rest[at..])?;
                let c = rest[at + i];
                if c == b'>' {
                    return Some(lt + at + i + 1);
                }
                let close = memchr::memchr(c, &rest[at + i + 1..])?;
                at += i + 1 + close + 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::Reading;
    use espi_model::resource::{Entry, Resource};
    use std::path::Path;

    /// Everything a sink is told, as text.
    #[derive(Default)]
    struct Record(Vec<String>);

    impl Sink for Record {
        fn reading(&mut self, reading: &Reading) {
            self.0.push(format!("{reading:?}"));
        }
        fn entry(&mut self, entry: Entry, resources: Vec<Resource>) {
            self.0.push(format!("{entry:?} {resources:?}"));
        }
        fn entry_rejected(&mut self, error: &ParseError, readings: u64) {
            self.0.push(format!("rejected {readings}: {error:?}"));
        }
    }

    /// What a sink was told and how the parse ended.
    fn outcome(result: Result<ParseStats, Box<ParseError>>, record: Record) -> Vec<String> {
        let mut lines = record.0;
        lines.push(format!("{result:?}"));
        lines
    }

    /// The stream read in chunks tells the sink what the general reader
    /// does, for every way of cutting it.
    fn assert_as_reader(xml: &[u8], name: &str) {
        // Byte-at-a-time reads are slow on larger inputs.
        let sizes: &[(usize, usize)] = if xml.len() > 400_000 {
            &[(4096, 1 << 20), (100_000, 1 << 20)]
        } else {
            &[
                (1, 1 << 20),
                (7, 1 << 20),
                (100, 300),
                (4096, 1 << 20),
                (1 << 20, 1 << 20),
            ]
        };
        for skip_bad_entries in [false, true] {
            let options = ParseOptions {
                skip_bad_entries,
                ..ParseOptions::default()
            };
            let mut reference = Record::default();
            let result = parse_reader(xml, &options, &mut reference);
            let expected = outcome(result, reference);
            for &(read_bytes, largest_chunk) in sizes {
                let mut chunked = Record::default();
                let result =
                    parse_stream_in(xml, &options, &mut chunked, read_bytes, largest_chunk);
                let got = outcome(result, chunked);
                if got != expected {
                    let at = got.iter().zip(&expected).position(|(a, b)| a != b);
                    let at = at.unwrap_or(got.len().min(expected.len()));
                    panic!(
                        "{name} (reads of {read_bytes}, chunks up to {largest_chunk}, skip {skip_bad_entries}): \
                         line {at} differs:\n  chunked: {:?}\n  reader:  {:?}",
                        got.get(at),
                        expected.get(at)
                    );
                }
            }
        }
    }

    fn xml_files(dir: &Path) -> Vec<std::path::PathBuf> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut files: Vec<_> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "xml"))
            .collect();
        files.sort();
        files
    }

    #[test]
    fn samples_read_in_chunks_as_by_the_general_reader() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut files = xml_files(&root.join("testdata"));
        files.extend(xml_files(&root.join("testdata/invalid")));
        let bundled = files.len();
        files.extend(xml_files(&root.join("../shared/espi-samples/public")));
        assert!(bundled >= 20, "bundled samples missing");
        for path in files {
            let xml = std::fs::read(&path).unwrap();
            assert_as_reader(&xml, &path.display().to_string());
        }
    }

    #[test]
    fn hostile_feeds_read_in_chunks_as_by_the_general_reader() {
        let block = "<IntervalBlock xmlns='http://naesb.org/espi'><IntervalReading><timePeriod>\
            <duration>900</duration><start>0</start></timePeriod><value>5</value></IntervalReading>\
            </IntervalBlock>";
        let entries = [
            format!("<entry><id>a</id><content>{block}</content></entry>"),
            format!("<entry><!-- </entry> --><content>{block}</content></entry>"),
            format!("<entry><link href='x>y' rel=\"</entry>\"/><content>{block}</content></entry>"),
            "<entry><content><![CDATA[</entry>]]></content></entry>".to_string(),
            "<entry/>".to_string(),
            "<?pi </entry>?><title>t</title>".to_string(),
            "<entry><content><UsagePoint xmlns='http://naesb.org/espi'><kind>x</kind></UsagePoint></content></entry>".to_string(),
            format!("<entry><content>{}</content></entry>", block.replace("<value>5", "<value>five")),
        ];
        for (i, tail) in [
            "</feed>\n",
            "</feed><extra/>",
            "",
            "<entry><content>",
            "</feed>  <!-- c -->",
        ]
        .iter()
        .enumerate()
        {
            let mut xml = String::from("\u{feff}<?xml version='1.0'?>\n<feed xmlns='http://www.w3.org/2005/Atom'><title>f</title>\n");
            for k in 0..40 {
                xml.push_str(&entries[(k * 7 + i) % entries.len()]);
                xml.push('\n');
            }
            xml.push_str(tail);
            assert_as_reader(xml.as_bytes(), &format!("hostile feed {i}"));
        }
    }

    fn cuts(xml: &str, from: usize) -> (Option<usize>, usize, bool) {
        let mut depth = Depth::new(from);
        depth.scan(xml.as_bytes());
        (depth.last_cut, depth.at, depth.at_end)
    }

    #[test]
    fn the_last_child_of_the_root_ends_the_chunk() {
        let xml = "<feed><entry><a x='1>2' y=\"</entry>\"/><!-- </entry> --><![CDATA[</entry>]]><?p </entry>?></entry><entry><b>";
        let (cut, at, at_end) = cuts(xml, 6);
        let first_end = xml.find("</entry><entry>").unwrap() + "</entry>".len();
        assert_eq!(cut, Some(first_end));
        assert_eq!((at, at_end), (xml.len(), false));
    }

    #[test]
    fn markup_cut_short_waits_for_more() {
        for tail in [
            "<",
            "<!",
            "<!-- x",
            "<![CDA",
            "<entry x='>",
            "<?p",
            "</entry",
        ] {
            let xml = format!("<feed><entry></entry>{tail}");
            let (cut, at, _) = cuts(&xml, 6);
            assert_eq!(cut, Some(21), "{tail}");
            assert_eq!(at, 21, "{tail}");
        }
    }

    #[test]
    fn empty_entries_and_the_end_of_the_root() {
        let xml = "<feed><entry/> <title>t</title></feed> <!-- after -->";
        let (cut, _, at_end) = cuts(xml, 6);
        assert_eq!(cut, Some(xml.find("</feed>").unwrap()));
        assert!(at_end);
    }
}
