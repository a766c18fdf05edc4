//! Splitting one large feed at entry boundaries for parallel parsing.
//!
//! [`FeedLayout::of`] reads the head of a document up to its first entry:
//! the root element (whose namespace declarations every part needs) and the
//! exact end tag of an entry (`</entry>`, `</atom:entry>`, ...).
//! [`FeedLayout::split`] cuts the entries into parts right after such end
//! tags, and [`parse_part`] parses one part as if the document's root were
//! open around it. A cut that is not a real entry boundary (the end tag text
//! inside a comment or CDATA section) makes a part fail to parse; callers then
//! fall back to parsing the whole document in one piece.

use std::io::BufRead;
use std::ops::Range;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

use crate::error::ParseError;
use crate::parser::{
    configure, finish, run_reader, run_slice, Machine, ParseOptions, ParseStats, Sink, NS_ATOM,
};

/// Where the entries of a feed are, and what every part needs to know.
#[derive(Debug, Clone)]
pub struct FeedLayout {
    /// The root start tag's content (name and attributes, without `<` `>`).
    root_content: String,
    /// Length of the root element's qualified name.
    root_name_len: usize,
    /// `</entry>` as the document writes it.
    entry_end: Vec<u8>,
    /// Offset of the first entry's start tag.
    first_entry: usize,
    /// Offset after the UTF-8 byte-order mark, if any.
    bom: usize,
}

impl FeedLayout {
    /// Read the head of `input`. `None` when the document is not an Atom feed
    /// with entries, or its head is not well-formed: such inputs are parsed in
    /// one piece.
    ///
    /// ```
    /// use espi_core::FeedLayout;
    /// let xml = b"<a:feed xmlns:a='http://www.w3.org/2005/Atom'><a:entry/><a:entry></a:entry></a:feed>";
    /// let layout = FeedLayout::of(xml).unwrap();
    /// let parts = layout.split(xml, 2);
    /// assert_eq!(parts.first().unwrap().start, 46);
    /// assert_eq!(parts.last().unwrap().end, xml.len());
    /// ```
    pub fn of(input: &[u8]) -> Option<FeedLayout> {
        let bom = if input.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        let body = &input[bom..];
        let mut reader = NsReader::from_reader(body);
        let mut root: Option<(String, usize)> = None;
        let mut depth = 0usize;
        loop {
            let pos = reader.buffer_position() as usize;
            let (ns, event) = reader.read_resolved_event().ok()?;
            let atom = match ns {
                ResolveResult::Bound(n) => n.0 == NS_ATOM,
                ResolveResult::Unbound => true,
                ResolveResult::Unknown(_) => return None,
            };
            let opens = matches!(event, Event::Start(_));
            match event {
                Event::Start(e) if depth == 0 => {
                    if e.local_name().into_inner() != "feed" || !atom {
                        return None;
                    }
                    root = Some((e.to_string(), e.name().into_inner().len()));
                    depth = 1;
                }
                Event::Start(e) | Event::Empty(e) if depth == 1 => {
                    if e.local_name().into_inner() == "entry" && atom {
                        let (root_content, root_name_len) = root?;
                        let entry_end = format!("</{}>", e.name().into_inner()).into_bytes();
                        return Some(FeedLayout {
                            root_content,
                            root_name_len,
                            entry_end,
                            first_entry: bom + pos,
                            bom,
                        });
                    }
                    if opens {
                        depth += 1;
                    }
                }
                Event::Start(_) => depth += 1,
                Event::Empty(_) if depth == 0 => return None,
                Event::End(_) => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return None;
                    }
                }
                Event::Eof => return None,
                _ => {}
            }
        }
    }

    /// Cut the entries into at most `parts` ranges of about equal size, each
    /// ending right after an entry end tag (the last one at the end of input).
    /// A cut goes before a UsagePoint entry when one is near (the next, or
    /// else the last before), so that a part of a Bulk feed starts with a
    /// usage point and holds what its blocks link to.
    pub fn split(&self, input: &[u8], parts: usize) -> Vec<Range<usize>> {
        let finder = memchr::memmem::Finder::new(&self.entry_end);
        let span = input.len().saturating_sub(self.first_entry);
        let parts = parts.max(1);
        let near = (span / parts / 8).min(4 << 20);
        let mut cuts = vec![self.first_entry];
        for k in 1..parts {
            let target = self.first_entry + span * k / parts;
            let from = target.max(*cuts.last().expect("non-empty"));
            if let Some(found) = finder.find(&input[from..]) {
                let cut = from + found + self.entry_end.len();
                let cut = self.before_usage_point(input, cut, near).unwrap_or(cut);
                if cut < input.len() && cut > *cuts.last().expect("non-empty") {
                    cuts.push(cut);
                }
            }
        }
        cuts.push(input.len());
        cuts.windows(2).map(|w| w[0]..w[1]).collect()
    }

    /// The entry boundary (right after an entry end tag) before the first
    /// UsagePoint entry from `cut` on, or else the last before `cut`, within
    /// `near` bytes of `cut` (itself such a boundary).
    fn before_usage_point(&self, input: &[u8], cut: usize, near: usize) -> Option<usize> {
        let boundary_before = |text: &[u8], at: usize| {
            memchr::memmem::rfind(&text[..at], &self.entry_end).map(|e| e + self.entry_end.len())
        };
        let after = &input[cut..input.len().min(cut + near)];
        if let Some(at) = element_start(after, b"UsagePoint") {
            return Some(cut + boundary_before(after, at).unwrap_or(0));
        }
        let from = cut.saturating_sub(near).max(self.first_entry);
        let before = &input[from..cut];
        let at = memchr::memmem::rfind_iter(before, b"UsagePoint")
            .find(|&at| is_element_name(before, at, b"UsagePoint".len()))?;
        boundary_before(before, at).map(|b| from + b)
    }

    /// The entries before the first IntervalBlock element, within the first
    /// `limit` bytes of entries: where a feed defines what its blocks share
    /// (LocalTimeParameters, typically). A range [`parse_part`] accepts,
    /// ending right after an entry end tag; empty when there is none.
    ///
    /// ```
    /// use espi_core::FeedLayout;
    /// let xml = b"<feed xmlns='http://www.w3.org/2005/Atom'><entry><id>t</id></entry>\
    ///   <entry><link href='/IntervalBlock'/><content><IntervalBlock/></content></entry></feed>";
    /// let layout = FeedLayout::of(xml).unwrap();
    /// assert_eq!(&xml[layout.head(xml, 1 << 20)], b"<entry><id>t</id></entry>");
    /// assert!(layout.head(xml, 10).is_empty());
    /// ```
    pub fn head(&self, input: &[u8], limit: usize) -> Range<usize> {
        let end = input.len().min(self.first_entry.saturating_add(limit));
        let window = &input[self.first_entry..end];
        let block = element_start(window, b"IntervalBlock").unwrap_or(window.len());
        let cut = memchr::memmem::rfind(&window[..block], &self.entry_end)
            .map_or(0, |at| at + self.entry_end.len());
        self.first_entry..self.first_entry + cut
    }

    /// How many entry end tags, written as the document's first one is,
    /// `part` holds: its number of entries, unless some are empty elements,
    /// end tags are written differently or their text sits inside comments
    /// or CDATA sections (a count to check against the parser's).
    ///
    /// ```
    /// use espi_core::FeedLayout;
    /// let xml = b"<feed xmlns='http://www.w3.org/2005/Atom'><entry></entry><entry></entry></feed>";
    /// let layout = FeedLayout::of(xml).unwrap();
    /// assert_eq!(layout.entry_end_tags(xml), 2);
    /// ```
    pub fn entry_end_tags(&self, part: &[u8]) -> u64 {
        memchr::memmem::find_iter(part, &self.entry_end).count() as u64
    }

    /// The entries of `input[range]` (a part from [`FeedLayout::split`])
    /// that hold no start tag of an element named `name` (any prefix), as
    /// the ranges [`parse_part_skipping`] leaves out: a pass that needs only
    /// some entries (the IntervalBlocks, to find corrections) jumps over the
    /// rest without reading them. The bytes are searched, not parsed: an
    /// entry is left out only when it holds exactly one entry start tag and
    /// no such element start tag, and no range reaches into the bytes
    /// between such a start tag and the entry end tag after it, so that an
    /// entry holding the element is always read (text that merely looks
    /// like a tag, in a comment or CDATA section, only makes more entries
    /// read). Should a range still not fall between entries, parsing with
    /// it fails and the caller reads the part whole.
    ///
    /// ```
    /// use espi_core::FeedLayout;
    /// let xml = b"<feed xmlns='http://www.w3.org/2005/Atom'><entry><id>a</id></entry>\
    ///   <entry><link href='/IntervalBlock/1'/><content><b:IntervalBlock xmlns:b='x'>\
    ///   </b:IntervalBlock></content></entry><entry><id>c</id></entry></feed>";
    /// let layout = FeedLayout::of(xml).unwrap();
    /// let part = layout.split(xml, 1)[0].clone();
    /// let skip = layout.entries_without(xml, part, b"IntervalBlock");
    /// let texts: Vec<&[u8]> = skip.iter().map(|r| &xml[r.start as usize..r.end as usize]).collect();
    /// assert_eq!(texts, [&b"<entry><id>a</id></entry>"[..], b"<entry><id>c</id></entry>"]);
    /// ```
    pub fn entries_without(
        &self,
        input: &[u8],
        range: Range<usize>,
        name: &[u8],
    ) -> Vec<Range<u64>> {
        let end_finder = memchr::memmem::Finder::new(&self.entry_end);
        let entry_name = &self.entry_end[2..self.entry_end.len() - 1];
        let part = &input[..range.end];
        let mut skip = Vec::new();
        // `from`: the end of the entry before (or the part's start).
        let mut from = range.start;
        loop {
            let element = next_start_tag(part, from, name).unwrap_or(part.len());
            let mut entry_start = from;
            for found in end_finder.find_iter(&part[from..element]) {
                let entry_end = from + found + self.entry_end.len();
                if start_tags(&part[entry_start..entry_end], entry_name) == 1 {
                    skip.push(entry_start as u64..entry_end as u64);
                }
                entry_start = entry_end;
            }
            if element == part.len() {
                return skip;
            }
            // The entry holding the element ends at the first entry end tag
            // after the element's start: looked for after the element's
            // end (its end tag, or its start tag when it is empty), so that
            // its content (a block's readings) is not searched twice.
            let qualified = qualified_name(part, element, name);
            let tag_end =
                memchr::memchr(b'>', &part[element..]).map_or(part.len(), |at| element + at);
            let after = if part[..tag_end].ends_with(b"/") {
                (tag_end + 1).min(part.len())
            } else {
                let mut close = b"</".to_vec();
                close.extend_from_slice(qualified);
                close.push(b'>');
                memchr::memmem::find(&part[element..], &close)
                    .map_or(element + 1, |at| element + at + close.len())
            };
            match end_finder.find(&part[after..]) {
                Some(at) => from = after + at + self.entry_end.len(),
                None => return skip,
            }
        }
    }

    /// Offset after the byte-order mark (0 without one).
    pub fn bom(&self) -> usize {
        self.bom
    }
}

/// Where the first start tag of an element named `name` (any prefix) is in
/// `text`, by its name's offset; text that only names it (an href, a
/// comment's words) does not count.
fn element_start(text: &[u8], name: &[u8]) -> Option<usize> {
    memchr::memmem::find_iter(text, name).find(|&at| is_element_name(text, at, name.len()))
}

/// Where the next start tag (`<name` or `<prefix:name`) of an element
/// named `name` is in `text`, from `from` on: the offset of its `<`.
fn next_start_tag(text: &[u8], from: usize, name: &[u8]) -> Option<usize> {
    memchr::memmem::find_iter(&text[from..], name).find_map(|at| {
        let at = from + at;
        if !is_element_name(text, at, name.len()) {
            return None;
        }
        let open = text[..at].iter().rposition(|&b| b == b'<')?;
        let prefix = &text[open + 1..at];
        let is_prefix = prefix.is_empty()
            || (prefix.ends_with(b":")
                && prefix[..prefix.len() - 1]
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')));
        is_prefix.then_some(open)
    })
}

/// The qualified name of the start tag at `open` (its `<`) whose local
/// name is `name`.
fn qualified_name<'t>(text: &'t [u8], open: usize, name: &[u8]) -> &'t [u8] {
    let start = open + 1;
    let len = memchr::memmem::find(&text[start..], name).map_or(0, |at| at + name.len());
    &text[start..start + len]
}

/// Start tags of an element named exactly `qualified` in `text`.
fn start_tags(text: &[u8], qualified: &[u8]) -> usize {
    memchr::memmem::find_iter(text, qualified)
        .filter(|&at| {
            at > 0
                && text[at - 1] == b'<'
                && matches!(
                    text.get(at + qualified.len()),
                    Some(b' ' | b'>' | b'/' | b'\t' | b'\n' | b'\r')
                )
        })
        .count()
}

/// Is the name of `len` bytes at `at` in `text` a tag's name?
fn is_element_name(text: &[u8], at: usize, len: usize) -> bool {
    let before = at.checked_sub(1).map(|i| text[i]);
    let after = text.get(at + len).copied();
    matches!(before, Some(b'<' | b':'))
        && matches!(after, Some(b' ' | b'>' | b'/' | b'\t' | b'\n' | b'\r'))
}

/// Parse `input[range]`, a part from [`FeedLayout::split`], as the content of
/// the document's root element. `first_entry_index` numbers its entries;
/// error offsets, lines and columns refer to the whole `input`. A part that
/// runs to the end of `input` must close the root element there.
///
/// ```
/// use espi_core::{parse_part, FeedLayout, NullSink, ParseOptions};
/// let xml = b"<feed xmlns='http://www.w3.org/2005/Atom'><entry></entry><entry></entry></feed>";
/// let layout = FeedLayout::of(xml).unwrap();
/// let parts = layout.split(xml, 2);
/// let options = ParseOptions::default();
/// for part in &parts {
///     parse_part(xml, &layout, part.clone(), 0, &options, &mut NullSink).unwrap();
/// }
/// // Cut after the last entry: the root is never closed.
/// let cut = &xml[..xml.len() - 7];
/// let last = layout.split(cut, 2).pop().unwrap();
/// assert!(parse_part(cut, &layout, last, 0, &options, &mut NullSink).is_err());
/// ```
pub fn parse_part<S: Sink>(
    input: &[u8],
    layout: &FeedLayout,
    range: Range<usize>,
    first_entry_index: u64,
    options: &ParseOptions,
    sink: &mut S,
) -> Result<ParseStats, Box<ParseError>> {
    parse_part_skipping(input, layout, range, first_entry_index, &[], options, sink)
}

/// [`parse_part`], leaving out the entries at `skip`: byte ranges, in
/// document order, each from the end of the entry before (its
/// [`Entry::end_offset`](espi_model::resource::Entry::end_offset)), or the
/// start of the part, to the end of the entry left out. Skipped entries
/// are counted and numbered but not read: nothing of them reaches `sink`.
/// A range that does not start right after an entry of the part (or at its
/// start) makes an error.
///
/// ```
/// use espi_core::{parse_part_skipping, FeedLayout, NullSink, ParseOptions};
/// let xml = b"<feed xmlns='http://www.w3.org/2005/Atom'><entry><id>a</id></entry> <entry><id>b</id></entry></feed>";
/// // 42..67 is the first entry; 67..93 the white space and the second.
/// let layout = FeedLayout::of(xml).unwrap();
/// let part = layout.split(xml, 1)[0].clone();
/// let options = ParseOptions::default();
/// assert_eq!(&xml[42..67], b"<entry><id>a</id></entry>");
/// for skip in [&[42..67][..], &[67..93], &[42..67, 67..93]] {
///     let stats = parse_part_skipping(xml, &layout, part.clone(), 0, skip, &options, &mut NullSink).unwrap();
///     assert_eq!(stats.entries, 2);
/// }
/// assert!(parse_part_skipping(xml, &layout, part, 0, &[43..67], &options, &mut NullSink).is_err());
/// ```
pub fn parse_part_skipping<S: Sink>(
    input: &[u8],
    layout: &FeedLayout,
    range: Range<usize>,
    first_entry_index: u64,
    skip: &[Range<u64>],
    options: &ParseOptions,
    sink: &mut S,
) -> Result<ParseStats, Box<ParseError>> {
    let part = &input[range.clone()];
    let mut reader = layout.part_reader(part, range.start as u64)?;
    let mut machine = layout.part_machine(options, range.start as u64, first_entry_index);
    machine.input = Some(input);
    machine.part_ends_input = range.end == input.len();
    machine.skip_entries(skip);
    run_slice(&mut reader, &mut machine, options, sink, part.len() as u64)
}

/// Parse `chunk`, whole entries of a stream (and whatever else the feed
/// holds between them) that start at byte `base` of the stream, as if the
/// document's root were open around them; `ends_input` when the stream ends
/// with the chunk. As for streams, errors carry no line and column, and
/// entries no end offset.
pub(crate) fn parse_chunk<S: Sink>(
    chunk: &[u8],
    base: u64,
    layout: &FeedLayout,
    first_entry_index: u64,
    ends_input: bool,
    options: &ParseOptions,
    sink: &mut S,
) -> Result<ParseStats, Box<ParseError>> {
    let mut reader = layout.part_reader(chunk, base)?;
    let mut machine = layout.part_machine(options, base, first_entry_index);
    machine.part_ends_input = ends_input;
    run_slice(&mut reader, &mut machine, options, sink, chunk.len() as u64)
}

/// Parse the rest of a stream from byte `base` (between entries) to its end
/// through `reader`, as if the document's root were open around it.
pub(crate) fn parse_rest<R: BufRead, S: Sink>(
    rest: R,
    base: u64,
    layout: &FeedLayout,
    first_entry_index: u64,
    options: &ParseOptions,
    sink: &mut S,
) -> Result<ParseStats, Box<ParseError>> {
    let mut reader = layout.part_reader(rest, base)?;
    configure(&mut reader);
    let mut machine = layout.part_machine(options, base, first_entry_index);
    machine.part_ends_input = true;
    let result = run_reader(&mut reader, &mut machine, sink);
    machine.stats.bytes = reader.buffer_position();
    finish(&mut machine, result, sink)
}

impl FeedLayout {
    /// A reader of a part with the root's namespace declarations in scope.
    fn part_reader<R>(&self, part: R, base: u64) -> Result<NsReader<R>, Box<ParseError>> {
        let mut reader = NsReader::from_reader(part);
        reader.config_mut().allow_unmatched_ends = true;
        let root = BytesStart::from_content(self.root_content.as_str(), self.root_name_len);
        reader
            .resolver_mut()
            .push(&root)
            .map_err(|e| Box::new(ParseError::new_xml(e.to_string(), base)))?;
        Ok(reader)
    }

    /// A parser state machine inside the root, at byte `base`, whose first
    /// entry has index `first_entry_index`.
    fn part_machine<'o, 'i>(
        &self,
        options: &'o ParseOptions,
        base: u64,
        first_entry_index: u64,
    ) -> Machine<'o, 'i> {
        let mut machine = Machine::new(options, base);
        machine.open_root_for_part(&self.root_content[..self.root_name_len], first_entry_index);
        machine
    }

    /// Offset of the first entry's start tag.
    pub(crate) fn first_entry(&self) -> usize {
        self.first_entry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A feed of usage point groups: a UsagePoint entry and `blocks`
    /// IntervalBlock entries each.
    fn feed(groups: usize, blocks: usize) -> Vec<u8> {
        let mut xml = String::from("<a:feed xmlns:a='http://www.w3.org/2005/Atom'>\n");
        for g in 0..groups {
            xml.push_str(&format!(
                "<a:entry><a:id>{g}</a:id><a:content><UsagePoint xmlns='http://naesb.org/espi'/></a:content></a:entry>\n"
            ));
            for b in 0..blocks {
                xml.push_str(&format!(
                    "<a:entry><a:link href='/UsagePoint/{g}/MeterReading/1/IntervalBlock/{b}'/><a:content><IntervalBlock xmlns='http://naesb.org/espi'/></a:content></a:entry>\n"
                ));
            }
        }
        xml.push_str("</a:feed>\n");
        xml.into_bytes()
    }

    #[test]
    fn parts_start_with_a_usage_point_when_one_is_near() {
        for (groups, blocks, parts) in [(40, 3, 4), (40, 3, 3), (12, 30, 3), (20, 50, 2)] {
            let xml = feed(groups, blocks);
            let layout = FeedLayout::of(&xml).unwrap();
            let ranges = layout.split(&xml, parts);
            assert_eq!(ranges.len(), parts, "{groups}x{blocks}");
            assert_eq!(ranges.last().unwrap().end, xml.len());
            for pair in ranges.windows(2) {
                assert_eq!(pair[0].end, pair[1].start);
                let part = std::str::from_utf8(&xml[pair[1].clone()]).unwrap();
                assert!(
                    part.trim_start().starts_with("<a:entry><a:id>"),
                    "{groups}x{blocks} into {parts}: {}",
                    &part[..80]
                );
            }
        }
    }

    #[test]
    fn a_cut_far_from_any_usage_point_stays_where_it_was() {
        // One group: no usage point after the first entry.
        let xml = feed(1, 400);
        let layout = FeedLayout::of(&xml).unwrap();
        let ranges = layout.split(&xml, 4);
        assert_eq!(ranges.len(), 4);
        for r in &ranges[1..] {
            assert!(xml[..r.start].ends_with(b"</a:entry>"));
        }
    }

    /// Offsets of the entries holding an IntervalBlock, and the entries seen.
    #[derive(Default)]
    struct Blocks {
        offsets: Vec<u64>,
        entries: u64,
    }

    impl Sink for Blocks {
        fn reading(&mut self, _: &crate::Reading) {}
        fn entry(
            &mut self,
            entry: espi_model::resource::Entry,
            resources: Vec<espi_model::resource::Resource>,
        ) {
            self.entries += 1;
            if resources.iter().any(|r| r.is("IntervalBlock")) {
                self.offsets.push(entry.offset);
            }
        }
        fn entry_rejected(&mut self, _: &ParseError, _: u64) {
            self.entries += 1;
        }
    }

    #[test]
    fn entries_without_a_block_are_jumped_over_and_every_block_is_read() {
        let entries = [
            // Metadata naming blocks in hrefs and text: left out.
            "<a:entry><a:link rel='related' href='/MeterReading/1/IntervalBlock'/><a:content><MeterReading xmlns='http://naesb.org/espi'/></a:content></a:entry>",
            "<a:entry><a:title>IntervalBlock &lt;IntervalBlock></a:title></a:entry>",
            // Blocks: default namespace, prefixed, empty, with attributes.
            "<a:entry><a:content><IntervalBlock xmlns='http://naesb.org/espi'><interval><start>1</start></interval></IntervalBlock></a:content></a:entry>",
            "<a:entry><a:content><e:IntervalBlock xmlns:e='http://naesb.org/espi'><e:interval><e:start>2</e:start></e:interval></e:IntervalBlock></a:content></a:entry>",
            "<a:entry><a:content><e:IntervalBlock xmlns:e='http://naesb.org/espi'/></a:content></a:entry>",
            // A block's tag written in a comment only: read, not left out.
            "<a:entry><!-- <IntervalBlock> --><a:id>x</a:id></a:entry>",
            // An empty entry next to another: read.
            "<a:entry/><a:entry><a:id>y</a:id></a:entry>",
            "<a:entry><a:content><IntervalBlock xmlns='http://naesb.org/espi'\n><interval><start>3</start></interval></IntervalBlock></a:content></a:entry>",
        ];
        // The entry end tag's text in a comment misleads the search: the
        // jump lands inside that entry, whose real end tag then fails the
        // parse (the caller reads the part whole), never silently.
        let misleading = "<a:entry><!-- </a:entry> --><a:id>z</a:id></a:entry>";
        let feed = |extra: Option<&str>| {
            let mut xml = String::from("<a:feed xmlns:a='http://www.w3.org/2005/Atom'>\n");
            for (i, entry) in entries.iter().cycle().take(entries.len() * 3).enumerate() {
                xml.push_str(entry);
                xml.push_str(if i % 2 == 0 { "\n" } else { " " });
                if i == 10 {
                    xml.push_str(extra.unwrap_or_default());
                }
            }
            xml.push_str("</a:feed>\n");
            xml.into_bytes()
        };
        let options = ParseOptions {
            skip_bad_entries: true,
            blocks_only: true,
            skip_interval_blocks: true,
            ..ParseOptions::default()
        };
        for extra in [None, Some(misleading)] {
            let xml = feed(extra);
            let xml = &xml[..];
            let layout = FeedLayout::of(xml).unwrap();
            for parts in [1, 2, 5] {
                for range in layout.split(xml, parts) {
                    let mut all = Blocks::default();
                    // A cut at the end tag's text fails either way.
                    let Ok(whole) = parse_part(xml, &layout, range.clone(), 0, &options, &mut all)
                    else {
                        continue;
                    };
                    let skip = layout.entries_without(xml, range.clone(), b"IntervalBlock");
                    for r in &skip {
                        let text = &xml[r.start as usize..r.end as usize];
                        assert!(memchr::memmem::find(text, b"IntervalBlock xmlns").is_none());
                    }
                    let mut some = Blocks::default();
                    match parse_part_skipping(xml, &layout, range, 0, &skip, &options, &mut some) {
                        Ok(stats) => {
                            assert_eq!(some.offsets, all.offsets);
                            assert_eq!(stats.entries, whole.entries);
                            assert_eq!(some.entries + skip.len() as u64, all.entries);
                        }
                        Err(_) => assert!(extra.is_some(), "only misleading text fails"),
                    }
                }
            }
            // The whole feed: 4 blocks in each of the 3 rounds; the two
            // metadata entries of each round left out.
            if extra.is_none() {
                let range = layout.split(xml, 1).pop().unwrap();
                let skip = layout.entries_without(xml, range.clone(), b"IntervalBlock");
                assert_eq!(skip.len(), 3 * 2);
                let mut some = Blocks::default();
                parse_part_skipping(xml, &layout, range, 0, &skip, &options, &mut some).unwrap();
                assert_eq!(some.offsets.len(), 3 * 4);
            }
        }
    }
}
