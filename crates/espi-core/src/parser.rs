//! The streaming parser: quick-xml events in, entries and readings out.
//!
//! One state machine serves both inputs: a borrowed byte slice (a memory map,
//! zero-copy) and any `BufRead` (stdin, pipes) with one reused event buffer.
//! Elements are matched by namespace URI and local name, never by prefix.
//! Readings are pushed to the [`Sink`] one at a time through one reused
//! [`Reading`]; nothing is allocated per reading.

use std::io::BufRead;
use std::ops::Range;

use espi_model::numbers::{parse_i64, parse_seconds_to_micros};
use espi_model::resource::{Entry, Namespace, Resource};
use espi_model::text::trim;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{QName, ResolveResult};
use quick_xml::NsReader;

use crate::error::{ErrorKind, ParseError};
use crate::fast::{scan_readings, Tags};

/// ESPI usage namespace.
pub const NS_ESPI: &str = "http://naesb.org/espi";
/// ESPI customer namespace.
pub const NS_CUSTOMER: &str = "http://naesb.org/espi/customer";
/// Atom namespace.
pub const NS_ATOM: &str = "http://www.w3.org/2005/Atom";

/// One IntervalReading as read. Optional elements are `None` when absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reading {
    /// `timePeriod/start` in microseconds since the epoch.
    pub start_us: Option<i64>,
    /// `timePeriod/start` had a fractional part.
    pub start_fractional: bool,
    /// `timePeriod/duration` in seconds.
    pub duration_s: Option<i64>,
    /// `value` as written.
    pub value: Option<i64>,
    /// `cost` in hundred-thousandths of the currency.
    pub cost: Option<i64>,
    /// `tou` period code.
    pub tou: Option<i32>,
    /// `consumptionTier`.
    pub consumption_tier: Option<i32>,
    /// `cpp` (critical peak pricing) code.
    pub cpp: Option<i32>,
    /// Every `ReadingQuality/quality` code, in document order.
    pub qualities: Vec<i32>,
}

impl Reading {
    pub(crate) fn clear(&mut self) {
        self.start_us = None;
        self.start_fractional = false;
        self.duration_s = None;
        self.value = None;
        self.cost = None;
        self.tou = None;
        self.consumption_tier = None;
        self.cpp = None;
        self.qualities.clear();
    }
}

/// Receives what the parser reads, in document order.
///
/// Readings of an entry arrive before the entry itself (an entry's links and
/// `updated` may follow its content); [`Sink::entry`] then lists the entry's
/// resources, and each IntervalBlock resource says how many of the readings
/// just delivered are its own. If the entry turns out to be bad,
/// [`Sink::entry_rejected`] is called instead and the sink must drop the
/// readings it received since the previous entry.
pub trait Sink {
    /// One reading of the current IntervalBlock.
    fn reading(&mut self, reading: &Reading);
    /// A complete entry and the resources in its content, in order.
    fn entry(&mut self, entry: Entry, resources: Vec<Resource>);
    /// The current entry is bad and skipped; `readings` were read in it.
    fn entry_rejected(&mut self, error: &ParseError, readings: u64);
    /// Asked after every complete entry of a whole in-memory document: does
    /// the sink want to read the rest of the document ahead (see
    /// [`Sink::look_ahead`])? A sink holding readings until metadata that
    /// comes later in the document arrives says yes once it holds too many.
    fn wants_look_ahead(&self) -> bool {
        false
    }
    /// Called when [`Sink::wants_look_ahead`] said yes: `document` is the
    /// whole input, the next entry (if any) begins at or after byte `from`
    /// and will have index `next_entry_index`. Parsing then goes on as
    /// before; the sink may read `document[from..]` itself (for example with
    /// [`parse_part`](crate::parse_part)).
    fn look_ahead(&mut self, document: &[u8], from: usize, next_entry_index: u64) {
        let _ = (document, from, next_entry_index);
    }
    /// With [`ParseOptions::skip_interval_blocks`], asked at each
    /// IntervalBlock's start tag with its entry's envelope as read so far
    /// (links written after the content are not known yet): read this
    /// block's readings after all? By default no block is read.
    fn reads_block(&mut self, entry: &Entry) -> bool {
        let _ = entry;
        false
    }
    /// Asked after every complete entry of a document in memory (not of
    /// [`parse_reader`]'s streams): stop here? A sink that has learned the
    /// input must be read again another way says yes; the parse then ends
    /// as if the document ended after this entry, its statistics counting
    /// the bytes read so far.
    fn stop(&self) -> bool {
        false
    }
}

/// A sink that drops everything (for validation and benchmarks).
#[derive(Debug, Default, Clone, Copy)]
pub struct NullSink;

impl Sink for NullSink {
    fn reading(&mut self, _: &Reading) {}
    fn entry(&mut self, _: Entry, _: Vec<Resource>) {}
    fn entry_rejected(&mut self, _: &ParseError, _: u64) {}
}

/// How the parser treats its input.
#[derive(Debug, Clone)]
pub struct ParseOptions {
    /// Skip an entry with a bad value (reporting it through
    /// [`Sink::entry_rejected`]) instead of stopping. Errors that make the
    /// rest of the input unreadable (malformed XML, truncation) always stop.
    pub skip_bad_entries: bool,
    /// Read runs of IntervalReadings, and the Atom children of entries, of
    /// in-memory inputs with the specialised scanners (on by default; off
    /// only to compare the two paths).
    pub fast_readings: bool,
    /// Skip the readings of IntervalBlocks (in-memory inputs): read only the
    /// entries' envelopes, the small resources and each block's `interval`.
    /// Blocks report 0 readings, except those the sink asks for
    /// ([`Sink::reads_block`]).
    pub skip_interval_blocks: bool,
    /// Keep only IntervalBlock resources: the other resources of an entry's
    /// `content` are read as XML (errors are reported as usual) but keep no
    /// fields, and the entry lists no resource for them. For passes that
    /// need only the blocks and the entry envelopes (finding corrections).
    pub blocks_only: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            skip_bad_entries: false,
            fast_readings: true,
            skip_interval_blocks: false,
            blocks_only: false,
        }
    }
}

/// The longest text of one element that is kept (titles, hrefs, resource
/// fields, numbers): 1 MiB. Longer text is an error at its element.
pub const MAX_TEXT_BYTES: usize = 1 << 20;

/// Counts from one parse.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParseStats {
    /// Bytes of input consumed.
    pub bytes: u64,
    /// Entries read (good and rejected).
    pub entries: u64,
    /// IntervalReadings read (delivered and rejected).
    pub readings: u64,
    /// Entries rejected.
    pub rejected_entries: u64,
    /// Readings inside rejected entries.
    pub rejected_readings: u64,
}

/// Parse a whole document held in memory (for example a memory map).
///
/// ```
/// use espi_core::{parse_slice, ParseOptions, Reading, Sink};
/// use espi_model::resource::{Entry, Resource};
///
/// struct Sum(i64);
/// impl Sink for Sum {
///     fn reading(&mut self, r: &Reading) { self.0 += r.value.unwrap_or(0); }
///     fn entry(&mut self, _: Entry, _: Vec<Resource>) {}
///     fn entry_rejected(&mut self, _: &espi_core::ParseError, _: u64) {}
/// }
/// let xml = br#"<feed xmlns="http://www.w3.org/2005/Atom"><entry><content>
///   <IntervalBlock xmlns="http://naesb.org/espi">
///     <IntervalReading><timePeriod><duration>900</duration><start>0</start></timePeriod><value>5</value></IntervalReading>
///     <IntervalReading><timePeriod><duration>900</duration><start>900</start></timePeriod><value> 7 </value></IntervalReading>
///   </IntervalBlock></content></entry></feed>"#;
/// let mut sum = Sum(0);
/// let stats = parse_slice(xml, &ParseOptions::default(), &mut sum).unwrap();
/// assert_eq!((stats.readings, sum.0), (2, 12));
/// ```
pub fn parse_slice<S: Sink>(
    input: &[u8],
    options: &ParseOptions,
    sink: &mut S,
) -> Result<ParseStats, Box<ParseError>> {
    let (mut reader, mut machine) = start_of_document(input, options);
    machine.input = Some(input);
    run_slice(&mut reader, &mut machine, options, sink, input.len() as u64)
}

/// A reader and state machine at the start of a document held in `input`
/// (after its byte-order mark, if any).
fn start_of_document<'o, 'i>(
    input: &'i [u8],
    options: &'o ParseOptions,
) -> (NsReader<&'i [u8]>, Machine<'o, 'i>) {
    let bom = if input.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    (
        NsReader::from_reader(&input[bom..]),
        Machine::new(options, bom as u64),
    )
}

/// Parse `chunk`, the start of a document read in chunks (from its first
/// byte to the end of a child of the root element), whose end is the end of
/// the document when `ends_input`. As for streams, errors carry no line and
/// column, and entries no end offset.
pub(crate) fn parse_first_chunk<S: Sink>(
    chunk: &[u8],
    ends_input: bool,
    options: &ParseOptions,
    sink: &mut S,
) -> Result<ParseStats, Box<ParseError>> {
    let (mut reader, mut machine) = start_of_document(chunk, options);
    machine.open_ended = !ends_input;
    run_slice(&mut reader, &mut machine, options, sink, chunk.len() as u64)
}

/// Drive `machine` over a slice reader to the end (shared by whole documents
/// and parts of one).
pub(crate) fn run_slice<'i, S: Sink>(
    reader: &mut NsReader<&'i [u8]>,
    machine: &mut Machine<'_, 'i>,
    options: &ParseOptions,
    sink: &mut S,
    len: u64,
) -> Result<ParseStats, Box<ParseError>> {
    configure(reader);
    if machine.part_root.is_some() {
        reader.config_mut().allow_unmatched_ends = true;
    }
    // Right after a tag (or at the start) the reader reads text next, so it
    // may go on from anywhere; after text it expects markup.
    let mut after_tag = true;
    let mut stopped = false;
    let result = loop {
        if machine.base_offset + reader.buffer_position() >= machine.next_skip {
            if let Err(e) = machine.jump_skipped(reader, after_tag) {
                break Err(e);
            }
        }
        let pos = reader.buffer_position();
        let (step, markup) = match reader.read_resolved_event() {
            Ok((ns, event)) => {
                let markup = matches!(event, Event::Start(_) | Event::End(_) | Event::Empty(_));
                (machine.on_event(ns, event, pos, sink), markup)
            }
            // quick-xml reports some errors (decoding, nesting) at offset 0:
            // the event being read started at `pos` at the earliest.
            Err(e) => (
                Err(machine.xml_error(&e, reader.error_position().max(pos))),
                false,
            ),
        };
        after_tag = markup;
        match step {
            Ok(true) if machine.entry_closed => {
                if after_entry(reader, machine, sink) {
                    stopped = true;
                    break Ok(());
                }
            }
            Ok(true) => {
                // Right after a tag the reader has consumed exactly up to its
                // `>`; inside an IntervalBlock the scanner may take over.
                if markup && options.fast_readings | options.skip_interval_blocks {
                    let rest: &[u8] = reader.get_ref();
                    let consumed = if machine.in_block() {
                        if machine.skipping_block {
                            machine.skip_block(rest)
                        } else if options.fast_readings {
                            machine.scan_readings(rest, sink)
                        } else {
                            0
                        }
                    } else if options.fast_readings && machine.in_entry() {
                        machine.scan_envelope(rest)
                    } else if options.fast_readings && machine.in_fields() {
                        machine.scan_fields(rest)
                    } else {
                        0
                    };
                    if consumed > 0 {
                        *reader.get_mut() = &rest[consumed..];
                        machine.base_offset += consumed as u64;
                    }
                }
            }
            Ok(false) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    machine.stats.bytes = if stopped {
        machine.base_offset + reader.buffer_position()
    } else {
        len
    };
    finish(machine, result, sink)
}

/// After an entry's end tag: let the sink read the rest of a whole
/// in-memory document ahead, if it wants to; whether it asks to stop.
#[cold]
#[inline(never)]
fn after_entry<S: Sink>(
    reader: &NsReader<&[u8]>,
    machine: &mut Machine<'_, '_>,
    sink: &mut S,
) -> bool {
    machine.entry_closed = false;
    if let (Some(document), None) = (machine.input, &machine.part_root) {
        if sink.wants_look_ahead() {
            let from = machine.base_offset + reader.buffer_position();
            sink.look_ahead(document, from as usize, machine.entries_seen);
        }
    }
    sink.stop()
}

/// Parse a document from a buffered reader (stdin, a pipe, a decompressor),
/// in memory bounded by the largest single event. Errors carry the byte
/// offset; line and column are not known for streams.
///
/// ```
/// use espi_core::{parse_reader, NullSink, ParseOptions};
/// let xml = &b"<entry xmlns='http://www.w3.org/2005/Atom'><content/></entry>"[..];
/// let stats = parse_reader(xml, &ParseOptions::default(), &mut NullSink).unwrap();
/// assert_eq!(stats.entries, 1);
/// ```
pub fn parse_reader<R: BufRead, S: Sink>(
    mut input: R,
    options: &ParseOptions,
    sink: &mut S,
) -> Result<ParseStats, Box<ParseError>> {
    let mut bom = 0;
    if let Ok(head) = input.fill_buf() {
        if head.starts_with(b"\xEF\xBB\xBF") {
            input.consume(3);
            bom = 3;
        }
    }
    let mut reader = NsReader::from_reader(input);
    let mut machine = Machine::new(options, bom);
    configure(&mut reader);
    let result = run_reader(&mut reader, &mut machine, sink);
    machine.stats.bytes = reader.buffer_position() + bom;
    finish(&mut machine, result, sink)
}

/// Drive `machine` over a buffered reader to the end (shared by whole
/// streams and the rest of one read in parts).
pub(crate) fn run_reader<R: BufRead, S: Sink>(
    reader: &mut NsReader<R>,
    machine: &mut Machine<'_, '_>,
    sink: &mut S,
) -> Result<(), Box<ParseError>> {
    let mut buf = Vec::with_capacity(64 * 1024);
    loop {
        buf.clear();
        let pos = reader.buffer_position();
        let step = match reader.read_resolved_event_into(&mut buf) {
            Ok((ns, event)) => machine.on_event(ns, event, pos, sink),
            Err(e) => Err(machine.xml_error(&e, reader.error_position().max(pos))),
        };
        match step {
            Ok(true) => continue,
            Ok(false) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

pub(crate) fn configure<R>(reader: &mut NsReader<R>) {
    let config = reader.config_mut();
    config.trim_text(false);
    config.check_end_names = true;
    config.expand_empty_elements = false;
}

pub(crate) fn finish<S: Sink>(
    machine: &mut Machine<'_, '_>,
    result: Result<(), Box<ParseError>>,
    sink: &mut S,
) -> Result<ParseStats, Box<ParseError>> {
    match result {
        Ok(()) => Ok(machine.stats),
        Err(error) => {
            // A fatal error inside an entry: its readings were read but are not
            // delivered as part of a complete entry.
            if let Some(entry) = machine.entry.take() {
                machine.stats.rejected_entries += 1;
                machine.stats.rejected_readings += entry.readings;
                sink.entry_rejected(&error, entry.readings);
            }
            Err(error)
        }
    }
}

/// What an open element is, for the state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Feed,
    Entry,
    EntryId,
    EntryTitle,
    EntryPublished,
    EntryUpdated,
    EntryLink,
    Content,
    /// A resource other than IntervalBlock, or an element inside one.
    Generic,
    Block,
    BlockInterval,
    BlockIntervalDuration,
    BlockIntervalStart,
    Reading,
    TimePeriod,
    PeriodStart,
    PeriodDuration,
    Value,
    Cost,
    Tou,
    ConsumptionTier,
    Cpp,
    ReadingQuality,
    QualityCode,
    /// Anything espi does not read (kept for the element path only).
    Ignored,
}

impl Tag {
    /// Tags whose local name is fixed (not stored per element).
    fn static_name(self) -> Option<&'static str> {
        Some(match self {
            Tag::Block => "IntervalBlock",
            Tag::BlockInterval => "interval",
            Tag::BlockIntervalDuration | Tag::PeriodDuration => "duration",
            Tag::BlockIntervalStart | Tag::PeriodStart => "start",
            Tag::Reading => "IntervalReading",
            Tag::TimePeriod => "timePeriod",
            Tag::Value => "value",
            Tag::Cost => "cost",
            Tag::Tou => "tou",
            Tag::ConsumptionTier => "consumptionTier",
            Tag::Cpp => "cpp",
            Tag::ReadingQuality => "ReadingQuality",
            Tag::QualityCode => "quality",
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy)]
struct Frame {
    tag: Tag,
    /// Start events seen before this element opened (to tell leaves).
    starts_before: u64,
    /// End of this element's name in `Machine::names` (dynamic names only).
    name_end: u32,
    /// Offset of the start tag.
    offset: u64,
}

struct EntryState {
    entry: Entry,
    resources: Vec<Resource>,
    readings: u64,
    error: Option<Box<ParseError>>,
}

pub(crate) struct Machine<'o, 'i> {
    options: &'o ParseOptions,
    /// The whole input when it is in memory, to give errors a line and column.
    pub(crate) input: Option<&'i [u8]>,
    /// When parsing a part of a feed: the root element's qualified name.
    pub(crate) part_root: Option<String>,
    /// The readings of the open IntervalBlock are skipped.
    skipping_block: bool,
    /// The part runs to the end of the input, where the root must be closed.
    pub(crate) part_ends_input: bool,
    /// The input may end with only the root open: it is the start of a
    /// document read in chunks.
    pub(crate) open_ended: bool,
    /// Last located position (offset, line, offset of that line's start), so
    /// that locating many errors in order stays linear.
    located: std::cell::Cell<(u64, u64, u64)>,
    base_offset: u64,
    stack: Vec<Frame>,
    names: String,
    starts: u64,
    root_seen: bool,
    root_closed: bool,
    entry: Option<EntryState>,
    entries_seen: u64,
    /// An entry ended with the last event (for [`Sink::look_ahead`]).
    entry_closed: bool,
    /// Resource being read (generic or IntervalBlock); pushed to the entry at its end.
    resource: Option<Resource>,
    /// Path below the resource element for generic fields.
    field_path: String,
    /// `P:` of the current resource's element (empty for the default
    /// namespace), for the field scanner.
    resource_prefix: Vec<u8>,
    /// A namespace declaration inside the current resource: prefixes may
    /// mean something else there, so the field scanner stays off.
    resource_declares: bool,
    reading: Reading,
    /// Tag names of the current IntervalBlock's prefix, for the scanner.
    block_tags: Option<Tags>,
    /// `P:` of the current entry's element (empty for the default
    /// namespace), for the envelope scanner.
    entry_prefix: Vec<u8>,
    text: String,
    pub(crate) stats: ParseStats,
    /// Entries not to read (absolute byte ranges, in order), and the start
    /// of the first of them (`u64::MAX` when none is left).
    skip: &'i [Range<u64>],
    next_skip: u64,
}

/// The `rel` of an Atom link, as far as entries keep links.
enum LinkRel {
    Absent,
    SelfLink,
    Up,
    Related,
    Other,
}

impl LinkRel {
    /// The relation named by a `rel` value (surrounding white space ignored).
    fn of(value: &str) -> LinkRel {
        match trim(value) {
            "self" => LinkRel::SelfLink,
            "up" => LinkRel::Up,
            "related" => LinkRel::Related,
            _ => LinkRel::Other,
        }
    }

    /// Keep `href` in the entry field of this relation (others are dropped).
    fn keep(self, entry: &mut Entry, href: impl Into<String>) {
        match self {
            LinkRel::SelfLink => entry.self_href = Some(href.into()),
            LinkRel::Up => entry.up_href = Some(href.into()),
            LinkRel::Related => entry.related_hrefs.push(href.into()),
            LinkRel::Absent | LinkRel::Other => {}
        }
    }
}

fn classify(ns: &ResolveResult<'_>) -> Result<Namespace, String> {
    Ok(match ns {
        ResolveResult::Bound(n) => match n.0 {
            NS_ESPI => Namespace::Espi,
            NS_ATOM => Namespace::Atom,
            NS_CUSTOMER => Namespace::Customer,
            _ => Namespace::Other,
        },
        ResolveResult::Unbound => Namespace::None,
        ResolveResult::Unknown(prefix) => return Err(prefix.clone()),
    })
}

/// `P:` of an element named `P:name` into `out` (empty for no prefix), as
/// the scanners compare names.
fn spell_prefix(out: &mut Vec<u8>, name: QName<'_>) {
    out.clear();
    if let Some(prefix) = name.prefix() {
        out.extend_from_slice(prefix.into_inner().as_bytes());
        out.push(b':');
    }
}

fn is_atom(ns: Namespace) -> bool {
    matches!(ns, Namespace::Atom | Namespace::None)
}

impl<'o, 'i> Machine<'o, 'i> {
    pub(crate) fn new(options: &'o ParseOptions, base_offset: u64) -> Self {
        Machine {
            options,
            input: None,
            part_root: None,
            skipping_block: false,
            part_ends_input: false,
            open_ended: false,
            located: std::cell::Cell::new((0, 1, 0)),
            base_offset,
            stack: Vec::with_capacity(32),
            names: String::with_capacity(256),
            starts: 0,
            root_seen: false,
            root_closed: false,
            entry: None,
            entries_seen: 0,
            entry_closed: false,
            resource: None,
            field_path: String::new(),
            resource_prefix: Vec::new(),
            resource_declares: false,
            reading: Reading::default(),
            block_tags: None,
            entry_prefix: Vec::new(),
            text: String::with_capacity(64),
            stats: ParseStats::default(),
            skip: &[],
            next_skip: u64::MAX,
        }
    }

    /// Handle one event; `Ok(false)` at the end of the input.
    #[inline]
    fn on_event<S: Sink>(
        &mut self,
        ns: ResolveResult<'_>,
        event: Event<'_>,
        pos: u64,
        sink: &mut S,
    ) -> Result<bool, Box<ParseError>> {
        let offset = pos + self.base_offset;
        match event {
            Event::Start(e) => {
                self.on_start(&ns, &e, offset)?;
                if self.options.skip_interval_blocks && self.in_block() {
                    self.skipping_block = match &self.entry {
                        Some(state) => !sink.reads_block(&state.entry),
                        None => true,
                    };
                }
            }
            Event::Empty(e) => {
                self.on_start(&ns, &e, offset)?;
                self.on_end(offset, sink)?;
            }
            Event::End(e) => {
                if self.stack.len() == 1 {
                    if let Some(root) = &self.part_root {
                        if e.name().into_inner() != root {
                            let found = e.name().into_inner().to_owned();
                            return Err(self.error(
                                ErrorKind::Xml(format!("expected </{root}>, found </{found}>")),
                                offset,
                            ));
                        }
                    }
                }
                self.on_end(offset, sink)?
            }
            Event::Text(t) => self.on_text(&t, offset)?,
            Event::CData(t) => self.on_text(&t, offset)?,
            Event::GeneralRef(r) => {
                let ch = match r.resolve_char_ref() {
                    Ok(Some(c)) => Some(c),
                    Ok(None) => match &*r {
                        "amp" => Some('&'),
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "quot" => Some('"'),
                        "apos" => Some('\''),
                        _ => None,
                    },
                    Err(e) => {
                        return self
                            .fail(ErrorKind::Xml(e.to_string()), offset)
                            .map(|_| true)
                    }
                };
                match ch {
                    Some(c) => {
                        if self.stack.is_empty() {
                            return Err(self.error(ErrorKind::ContentAfterRoot, offset));
                        }
                        self.text.push(c);
                    }
                    None => {
                        self.fail(ErrorKind::UndefinedEntity(r.to_string()), offset)?;
                    }
                }
            }
            Event::Eof => {
                let part_open_root = (self.part_root.is_some() && !self.part_ends_input
                    || self.open_ended)
                    && self.stack.len() == 1;
                if let (Some(frame), false) = (self.stack.last(), part_open_root) {
                    let open = self.frame_name(self.stack.len() - 1, frame).to_owned();
                    return Err(self.error(ErrorKind::UnexpectedEof { open }, offset));
                }
                if !self.root_seen {
                    return Err(self.error(ErrorKind::NoRootElement, offset));
                }
                return Ok(false);
            }
            // Declarations, comments, processing instructions and DOCTYPE
            // carry no data; DOCTYPE entities are never expanded.
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
        }
        Ok(true)
    }

    #[inline]
    fn on_text(&mut self, text: &str, offset: u64) -> Result<(), Box<ParseError>> {
        if self.stack.is_empty() {
            if !text.trim_ascii().is_empty() {
                let kind = if self.root_seen {
                    ErrorKind::ContentAfterRoot
                } else {
                    ErrorKind::Xml("text before the root element".into())
                };
                return Err(self.error(kind, offset));
            }
            return Ok(());
        }
        if self.text.len() + text.len() > MAX_TEXT_BYTES {
            // Kept text is bounded: a huge text node is refused (white space
            // between elements is only dropped).
            if text.trim_ascii().is_empty() {
                return Ok(());
            }
            self.text.clear();
            return self.fail(
                ErrorKind::TextTooLong {
                    limit: MAX_TEXT_BYTES,
                },
                offset,
            );
        }
        self.text.push_str(text);
        Ok(())
    }

    #[inline]
    fn on_start(
        &mut self,
        ns: &ResolveResult<'_>,
        e: &BytesStart<'_>,
        offset: u64,
    ) -> Result<(), Box<ParseError>> {
        let qname = e.name();
        let local = qname.local_name().into_inner();
        let parent = self.stack.last().map(|f| f.tag);
        let namespace = match classify(ns) {
            Ok(n) => n,
            Err(prefix) => {
                // Push first so that the error names this element.
                self.push(Tag::Ignored, Some(local), offset);
                self.fail(ErrorKind::UnboundPrefix(prefix), offset)?;
                return Ok(());
            }
        };
        self.text.clear();
        let tag = match parent {
            None => {
                if self.root_closed {
                    self.push(Tag::Ignored, Some(local), offset);
                    return Err(self.error(ErrorKind::ContentAfterRoot, offset));
                }
                self.root_seen = true;
                match local {
                    "feed" if is_atom(namespace) => Tag::Feed,
                    "entry" if is_atom(namespace) => {
                        self.begin_entry(offset);
                        self.set_entry_prefix(e);
                        Tag::Entry
                    }
                    // A bare resource as the document: an entry without envelope.
                    _ => {
                        self.begin_entry(offset);
                        self.begin_resource(e, namespace)
                    }
                }
            }
            Some(Tag::Feed) => match local {
                "entry" if is_atom(namespace) => {
                    self.begin_entry(offset);
                    self.set_entry_prefix(e);
                    Tag::Entry
                }
                _ => Tag::Ignored,
            },
            Some(Tag::Entry) if is_atom(namespace) => match local {
                "id" => Tag::EntryId,
                "title" => Tag::EntryTitle,
                "published" => Tag::EntryPublished,
                "updated" => Tag::EntryUpdated,
                "content" => Tag::Content,
                "link" => {
                    self.read_link(e);
                    Tag::EntryLink
                }
                _ => Tag::Ignored,
            },
            Some(Tag::Content) => match (namespace, local) {
                // Atom envelope fields misplaced inside content (seen in real files).
                (Namespace::Atom, "published") => Tag::EntryPublished,
                (Namespace::Atom, "updated") => Tag::EntryUpdated,
                _ if self.options.blocks_only && local != "IntervalBlock" => Tag::Ignored,
                _ => self.begin_resource(e, namespace),
            },
            Some(Tag::Generic) => {
                self.field_path.push('/');
                self.field_path.push_str(local);
                self.read_field_attributes(e);
                Tag::Generic
            }
            Some(Tag::Block) => match local {
                // Skipping blocks: a reading `skip_block` could not jump over
                // (after text, a comment, another prefix) is not read either.
                "IntervalReading" if self.skipping_block => Tag::Ignored,
                "IntervalReading" => {
                    self.reading.clear();
                    Tag::Reading
                }
                "interval" => Tag::BlockInterval,
                _ => Tag::Ignored,
            },
            Some(Tag::BlockInterval) => match local {
                "start" => Tag::BlockIntervalStart,
                "duration" => Tag::BlockIntervalDuration,
                _ => Tag::Ignored,
            },
            Some(Tag::Reading) => match local {
                "timePeriod" => Tag::TimePeriod,
                "value" => Tag::Value,
                "cost" => Tag::Cost,
                "ReadingQuality" => Tag::ReadingQuality,
                "tou" => Tag::Tou,
                "consumptionTier" => Tag::ConsumptionTier,
                "cpp" => Tag::Cpp,
                _ => Tag::Ignored,
            },
            Some(Tag::TimePeriod) => match local {
                "start" => Tag::PeriodStart,
                "duration" => Tag::PeriodDuration,
                _ => Tag::Ignored,
            },
            Some(Tag::ReadingQuality) => match local {
                "quality" => Tag::QualityCode,
                _ => Tag::Ignored,
            },
            Some(_) => Tag::Ignored,
        };
        let dynamic = if tag.static_name().is_none() {
            Some(local)
        } else {
            None
        };
        self.push(tag, dynamic, offset);
        Ok(())
    }

    #[inline]
    fn push(&mut self, tag: Tag, name: Option<&str>, offset: u64) {
        if let Some(n) = name {
            self.names.push_str(n);
        }
        self.stack.push(Frame {
            tag,
            starts_before: self.starts,
            name_end: self.names.len() as u32,
            offset,
        });
        self.starts += 1;
    }

    fn begin_entry(&mut self, offset: u64) {
        self.entry = Some(EntryState {
            entry: Entry {
                offset,
                index: self.entries_seen,
                ..Entry::default()
            },
            resources: Vec::new(),
            readings: 0,
            error: None,
        });
        self.entries_seen += 1;
    }

    fn set_entry_prefix(&mut self, e: &BytesStart<'_>) {
        spell_prefix(&mut self.entry_prefix, e.name());
    }

    fn begin_resource(&mut self, e: &BytesStart<'_>, namespace: Namespace) -> Tag {
        let qname = e.name();
        let local = qname.local_name().into_inner();
        self.resource = Some(Resource::new(local, namespace));
        self.field_path.clear();
        spell_prefix(&mut self.resource_prefix, qname);
        self.resource_declares = false;
        if local == "IntervalBlock" {
            let prefix = qname.prefix().map_or("", |p| p.into_inner());
            // Blocks of a feed share their prefix: its tags are spelled once.
            if !self
                .block_tags
                .as_ref()
                .is_some_and(|t| t.of_prefix(prefix))
            {
                self.block_tags = Some(Tags::new(prefix));
            }
            Tag::Block
        } else {
            Tag::Generic
        }
    }

    /// Start parsing a part of a feed: the root `name` is open and the first
    /// entry of the part is number `first_entry_index`.
    pub(crate) fn open_root_for_part(&mut self, name: &str, first_entry_index: u64) {
        let local = name.rsplit(':').next().unwrap_or(name);
        self.push(Tag::Feed, Some(local), self.base_offset);
        self.root_seen = true;
        self.entries_seen = first_entry_index;
        self.part_root = Some(name.to_owned());
    }

    /// Leave out the entries at `skip` (absolute byte ranges, in document
    /// order, each from the end of the entry before, or the start of the
    /// part, to the end of the entry left out), counting them as entries
    /// read.
    pub(crate) fn skip_entries(&mut self, skip: &'i [Range<u64>]) {
        self.skip = skip;
        self.next_skip = skip.first().map_or(u64::MAX, |r| r.start);
    }

    /// The reader is at or past the next range to skip: jump over it (and
    /// any that follow at once). A range must start where the reader is,
    /// between entries and right after a tag (or at the start), where the
    /// reader reads text next and so may go on from anywhere; any other
    /// makes an error (the caller then reads everything).
    #[cold]
    #[inline(never)]
    fn jump_skipped(
        &mut self,
        reader: &mut NsReader<&'i [u8]>,
        after_tag: bool,
    ) -> Result<(), Box<ParseError>> {
        while let Some(next) = self.skip.first() {
            let at = self.base_offset + reader.buffer_position();
            if at < next.start {
                self.next_skip = next.start;
                return Ok(());
            }
            let rest: &'i [u8] = reader.get_ref();
            let len = next.end.saturating_sub(at) as usize;
            let between_entries = after_tag && self.stack.len() == 1 && self.entry.is_none();
            if at > next.start || !between_entries || len > rest.len() {
                return Err(self.error(
                    ErrorKind::Xml(format!(
                        "no entry to skip starts here (expected one at byte {})",
                        next.start
                    )),
                    at,
                ));
            }
            *reader.get_mut() = &rest[len..];
            self.base_offset += len as u64;
            self.entries_seen += 1;
            self.stats.entries += 1;
            self.skip = &self.skip[1..];
        }
        self.next_skip = u64::MAX;
        Ok(())
    }

    /// Skip an IntervalBlock's content: the bytes up to its end tag.
    fn skip_block(&mut self, rest: &[u8]) -> usize {
        let Some(tags) = &self.block_tags else {
            return 0;
        };
        // The block's `interval` (before its readings) is read as usual; from
        // the first IntervalReading on, everything up to the end tag is skipped.
        if !crate::fast::at_reading(rest, tags) {
            return 0;
        }
        let end_tag = tags.end_tag(b"IntervalBlock");
        memchr::memmem::find(rest, &end_tag).unwrap_or(0)
    }

    /// Is the innermost open element an IntervalBlock (whose children the
    /// scanner may read)?
    #[inline]
    fn in_block(&self) -> bool {
        matches!(self.stack.last(), Some(f) if f.tag == Tag::Block)
    }

    /// Is the innermost open element an entry (whose Atom children the
    /// envelope scanner may read)?
    #[inline]
    fn in_entry(&self) -> bool {
        matches!(self.stack.last(), Some(f) if f.tag == Tag::Entry)
    }

    /// Is the innermost open element a resource (other than IntervalBlock)
    /// or an element inside one, whose children the field scanner may read?
    #[inline]
    fn in_fields(&self) -> bool {
        matches!(self.stack.last(), Some(f) if f.tag == Tag::Generic)
            && self.resource.is_some()
            && !self.resource_declares
    }

    /// Read complete child elements of the open resource element at the
    /// start of `rest` with the field scanner; returns the bytes consumed.
    fn scan_fields(&mut self, rest: &[u8]) -> usize {
        let Some(resource) = self.resource.as_mut() else {
            return 0;
        };
        let (consumed, elements) = crate::content::scan_fields(
            rest,
            &self.resource_prefix,
            &mut self.field_path,
            &mut resource.fields,
        );
        // As if each element had been pushed and popped.
        self.starts += elements;
        if elements > 0 {
            self.text.clear();
        }
        consumed
    }

    /// Read the entry's envelope children at the start of `rest` with the
    /// envelope scanner; returns the bytes consumed.
    fn scan_envelope(&mut self, rest: &[u8]) -> usize {
        let prefix = std::mem::take(&mut self.entry_prefix);
        let (consumed, children) =
            crate::envelope::scan_envelope(rest, &prefix, |item| self.envelope_item(item));
        self.entry_prefix = prefix;
        // As if each child had been pushed and popped.
        self.starts += children;
        self.text.clear();
        consumed
    }

    /// One envelope child from the scanner, kept as the general path keeps it
    /// (`set_entry_text`, `read_link` through [`LinkRel`]).
    fn envelope_item(&mut self, item: crate::envelope::Item<'_>) {
        use crate::envelope::{Item, TextField};
        let Some(state) = self.entry.as_mut() else {
            return;
        };
        let entry = &mut state.entry;
        match item {
            Item::Text(field, text) => {
                let slot = match field {
                    TextField::Id => &mut entry.id,
                    TextField::Title => &mut entry.title,
                    TextField::Published => &mut entry.published,
                    TextField::Updated => &mut entry.updated,
                };
                if slot.is_none() {
                    *slot = Some(trim(text).to_owned());
                }
            }
            Item::Link { rel, href } => {
                if let Some(href) = href {
                    rel.map_or(LinkRel::Absent, LinkRel::of).keep(entry, href);
                }
            }
        }
    }

    /// Read the run of IntervalReadings at the start of `rest` with the
    /// scanner; returns the bytes consumed.
    fn scan_readings<S: Sink>(&mut self, rest: &[u8], sink: &mut S) -> usize {
        let Some(tags) = self.block_tags.take() else {
            return 0;
        };
        let mut reading = std::mem::take(&mut self.reading);
        let consumed = scan_readings(rest, &tags, &mut reading, |r| self.emit_reading(r, sink));
        self.reading = reading;
        self.block_tags = Some(tags);
        consumed
    }

    /// Count a complete reading and pass it on (unless its entry is bad).
    #[inline]
    fn emit_reading<S: Sink>(&mut self, reading: &Reading, sink: &mut S) {
        self.stats.readings += 1;
        if let Some(state) = self.entry.as_mut() {
            state.readings += 1;
            if state.error.is_none() {
                sink.reading(reading);
            }
        }
        if let Some(block) = self.resource.as_mut() {
            block.readings += 1;
        }
    }

    fn read_link(&mut self, e: &BytesStart<'_>) {
        let Some(state) = self.entry.as_mut() else {
            return;
        };
        let (mut rel, mut href) = (LinkRel::Absent, None);
        for attr in e.attributes().flatten() {
            let key = attr.key.local_name().into_inner();
            if key != "rel" && key != "href" {
                continue;
            }
            let value = attr
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .unwrap_or_else(|_| attr.value.clone());
            if key == "href" {
                href = Some(value.into_owned());
            } else {
                rel = LinkRel::of(&value);
            }
        }
        if let Some(href) = href {
            rel.keep(&mut state.entry, href);
        }
    }

    fn read_field_attributes(&mut self, e: &BytesStart<'_>) {
        let Some(resource) = self.resource.as_mut() else {
            return;
        };
        for attr in e.attributes().flatten() {
            let key = attr.key;
            if key.0 == "xmlns" || key.0.starts_with("xmlns:") {
                self.resource_declares = true;
                continue;
            }
            let path = format!(
                "{}@{}",
                self.field_path.trim_start_matches('/'),
                key.local_name().into_inner()
            );
            resource.fields.push((path, trim(&attr.value).to_owned()));
        }
    }

    #[inline]
    fn on_end<S: Sink>(&mut self, offset: u64, sink: &mut S) -> Result<(), Box<ParseError>> {
        let Some(&frame) = self.stack.last() else {
            return Err(self.error(ErrorKind::Xml("unmatched end tag".into()), offset));
        };
        let leaf = self.starts == frame.starts_before + 1;
        let result = self.close(frame, leaf, offset, sink);
        self.stack.pop();
        if frame.tag.static_name().is_none() {
            let start = self.stack.last().map_or(0, |f| f.name_end) as usize;
            self.names.truncate(start);
        }
        if self.stack.is_empty() {
            self.root_closed = true;
        }
        // The element closed: its text is done with. (Mixed content of a
        // parent is not data in ESPI.)
        self.text.clear();
        result
    }

    fn close<S: Sink>(
        &mut self,
        frame: Frame,
        leaf: bool,
        end_tag: u64,
        sink: &mut S,
    ) -> Result<(), Box<ParseError>> {
        let offset = frame.offset;
        match frame.tag {
            Tag::PeriodStart => match parse_seconds_to_micros(self.text.as_bytes()) {
                Ok((us, fractional)) => {
                    self.reading.start_us = Some(us);
                    self.reading.start_fractional = fractional;
                }
                Err(e) => self.bad_number(e, offset)?,
            },
            Tag::PeriodDuration => {
                if let Some(d) = self.int(offset)? {
                    if d < 0 {
                        self.fail(
                            ErrorKind::OutOfRange {
                                value: d,
                                allowed: "a duration is not negative",
                            },
                            offset,
                        )?;
                    }
                    self.reading.duration_s = Some(d);
                }
            }
            Tag::Value => self.reading.value = self.int(offset)?,
            Tag::Cost => self.reading.cost = self.int(offset)?,
            Tag::Tou => self.reading.tou = self.int32(offset)?,
            Tag::ConsumptionTier => self.reading.consumption_tier = self.int32(offset)?,
            Tag::Cpp => self.reading.cpp = self.int32(offset)?,
            Tag::QualityCode => {
                if let Some(q) = self.int32(offset)? {
                    self.reading.qualities.push(q);
                }
            }
            Tag::Reading => {
                let reading = std::mem::take(&mut self.reading);
                self.emit_reading(&reading, sink);
                self.reading = reading;
            }
            Tag::BlockIntervalStart | Tag::BlockIntervalDuration => {
                let name = if frame.tag == Tag::BlockIntervalStart {
                    "interval/start"
                } else {
                    "interval/duration"
                };
                let value = trim(&self.text).to_owned();
                if let Some(block) = self.resource.as_mut() {
                    block.fields.push((name.to_owned(), value));
                }
            }
            Tag::Generic => {
                let depth_in_resource = self.field_path.matches('/').count();
                if depth_in_resource == 0 {
                    self.end_resource();
                } else {
                    if leaf {
                        let value = trim(&self.text).to_owned();
                        if let Some(resource) = self.resource.as_mut() {
                            let path = self.field_path[1..].to_owned();
                            resource.fields.push((path, value));
                        }
                    }
                    let cut = self.field_path.rfind('/').unwrap_or(0);
                    self.field_path.truncate(cut);
                }
            }
            Tag::Block => self.end_resource(),
            Tag::EntryId => self.set_entry_text(|e| &mut e.id),
            Tag::EntryTitle => self.set_entry_text(|e| &mut e.title),
            Tag::EntryPublished => self.set_entry_text(|e| &mut e.published),
            Tag::EntryUpdated => self.set_entry_text(|e| &mut e.updated),
            Tag::Entry => self.end_entry(Some(end_tag), sink),
            _ => {}
        }
        // A bare resource as the root is its own entry.
        if self.stack.len() == 1 && matches!(frame.tag, Tag::Generic | Tag::Block) {
            self.end_entry(None, sink);
        }
        Ok(())
    }

    fn set_entry_text(&mut self, field: impl Fn(&mut Entry) -> &mut Option<String>) {
        if let Some(state) = self.entry.as_mut() {
            let slot = field(&mut state.entry);
            if slot.is_none() {
                *slot = Some(trim(&self.text).to_owned());
            }
        }
    }

    fn end_resource(&mut self) {
        if let (Some(resource), Some(state)) = (self.resource.take(), self.entry.as_mut()) {
            state.resources.push(resource);
        }
    }

    /// End the entry whose end tag (or empty-element tag) starts at `end_tag`.
    fn end_entry<S: Sink>(&mut self, end_tag: Option<u64>, sink: &mut S) {
        let Some(mut state) = self.entry.take() else {
            return;
        };
        // An end tag holds no `>` before its own.
        state.entry.end_offset = match (self.input, end_tag) {
            (Some(input), Some(at)) if input[at as usize..].starts_with(b"</") => {
                memchr::memchr(b'>', &input[at as usize..]).map(|gt| at + gt as u64 + 1)
            }
            _ => None,
        };
        self.stats.entries += 1;
        self.entry_closed = true;
        match state.error {
            Some(error) => {
                self.stats.rejected_entries += 1;
                self.stats.rejected_readings += state.readings;
                sink.entry_rejected(&error, state.readings);
            }
            None => sink.entry(state.entry, state.resources),
        }
    }

    #[inline]
    fn int(&mut self, offset: u64) -> Result<Option<i64>, Box<ParseError>> {
        match parse_i64(self.text.as_bytes()) {
            Ok(v) => Ok(Some(v)),
            Err(e) => {
                self.bad_number(e, offset)?;
                Ok(None)
            }
        }
    }

    #[inline]
    fn int32(&mut self, offset: u64) -> Result<Option<i32>, Box<ParseError>> {
        match self.int(offset)? {
            None => Ok(None),
            Some(v) => match i32::try_from(v) {
                Ok(v) => Ok(Some(v)),
                Err(_) => {
                    self.fail(
                        ErrorKind::OutOfRange {
                            value: v,
                            allowed: "a 32-bit code",
                        },
                        offset,
                    )?;
                    Ok(None)
                }
            },
        }
    }

    fn bad_number(
        &mut self,
        e: espi_model::numbers::NumberError,
        offset: u64,
    ) -> Result<(), Box<ParseError>> {
        let text: String = self.text.trim().chars().take(64).collect();
        self.fail(
            ErrorKind::InvalidNumber {
                text,
                reason: e.to_string(),
            },
            offset,
        )
    }

    /// An error confined to the current entry: skip the entry when allowed,
    /// stop otherwise.
    fn fail(&mut self, kind: ErrorKind, offset: u64) -> Result<(), Box<ParseError>> {
        let error = self.error(kind, offset);
        if self.options.skip_bad_entries && !error.is_fatal() {
            if let Some(state) = self.entry.as_mut() {
                if state.error.is_none() {
                    state.error = Some(error);
                }
                return Ok(());
            }
        }
        Err(error)
    }

    fn xml_error(&self, e: &quick_xml::Error, pos: u64) -> Box<ParseError> {
        self.error(ErrorKind::Xml(e.to_string()), pos + self.base_offset)
    }

    fn error(&self, kind: ErrorKind, offset: u64) -> Box<ParseError> {
        let (line, column) = match self.locate(offset) {
            Some((l, c)) => (Some(l), Some(c)),
            None => (None, None),
        };
        Box::new(ParseError {
            kind,
            offset,
            line,
            column,
            element: self.element_path(),
            entry_index: self.entry.as_ref().map(|s| s.entry.index),
            entry_id: self.entry.as_ref().and_then(|s| s.entry.id.clone()),
        })
    }

    /// Line and column of `offset` in the in-memory input.
    fn locate(&self, offset: u64) -> Option<(u64, u64)> {
        let input = self.input?;
        let end = (offset as usize).min(input.len());
        let (mut from, mut line, mut line_start) = self.located.get();
        if (from as usize) > end {
            (from, line, line_start) = (0, 1, 0);
        }
        let span = &input[from as usize..end];
        let newlines = memchr::memchr_iter(b'\n', span).count() as u64;
        if let Some(last) = memchr::memrchr(b'\n', span) {
            line_start = from + last as u64 + 1;
        }
        line += newlines;
        self.located.set((end as u64, line, line_start));
        Some((line, end as u64 - line_start + 1))
    }

    fn frame_name<'a>(&'a self, index: usize, frame: &Frame) -> &'a str {
        match frame.tag.static_name() {
            Some(n) => n,
            None => {
                let start = if index == 0 {
                    0
                } else {
                    self.stack[index - 1].name_end as usize
                };
                &self.names[start..frame.name_end as usize]
            }
        }
    }

    /// `feed/entry/content/...`; for absurdly deep nesting the first and
    /// last elements around `…(N more)…`.
    fn element_path(&self) -> String {
        const SHOWN: usize = 8;
        let n = self.stack.len();
        let mut path = String::new();
        for (i, frame) in self.stack.iter().enumerate() {
            if n > 2 * SHOWN && i >= SHOWN && i < n - SHOWN {
                if i == SHOWN {
                    path.push_str(&format!("/…({} more)…", n - 2 * SHOWN));
                }
                continue;
            }
            if i > 0 {
                path.push('/');
            }
            path.push_str(self.frame_name(i, frame));
        }
        path
    }
}
