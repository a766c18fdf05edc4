//! Parse errors with their position in the input.

use std::fmt;

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The XML is not well-formed (message from the XML tokenizer).
    Xml(String),
    /// An element or attribute uses a prefix that no `xmlns:` declares.
    UnboundPrefix(String),
    /// A second root element, or text, after the root element closed.
    ContentAfterRoot,
    /// The input ended before the root element closed.
    UnexpectedEof {
        /// The innermost element still open.
        open: String,
    },
    /// The input holds no root element.
    NoRootElement,
    /// A field that must be a number is not one.
    InvalidNumber {
        /// The text found (cut to 64 characters).
        text: String,
        /// Why it is not a number.
        reason: String,
    },
    /// A value outside the range its field allows.
    OutOfRange {
        /// The value found.
        value: i64,
        /// What the field allows.
        allowed: &'static str,
    },
    /// A reference to an entity other than the five predefined ones; entities
    /// are never expanded.
    UndefinedEntity(String),
    /// The text of one element is longer than [`crate::MAX_TEXT_BYTES`]
    /// (ESPI fields are short; such text is refused, not kept).
    TextTooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// Reading the input failed.
    Io(String),
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Xml(msg) => write!(f, "malformed XML: {msg}"),
            ErrorKind::UnboundPrefix(p) => write!(f, "namespace prefix `{p}` is not declared"),
            ErrorKind::ContentAfterRoot => {
                f.write_str("content after the root element (a document has one root)")
            }
            ErrorKind::UnexpectedEof { open } => {
                write!(f, "input ends before <{open}> is closed (truncated file?)")
            }
            ErrorKind::NoRootElement => f.write_str("no root element"),
            ErrorKind::InvalidNumber { text, reason } => {
                write!(f, "expected an integer, found {text:?} ({reason})")
            }
            ErrorKind::OutOfRange { value, allowed } => {
                write!(f, "value {value} is out of range ({allowed})")
            }
            ErrorKind::UndefinedEntity(name) => {
                write!(
                    f,
                    "entity `&{name};` is not predefined and is never expanded"
                )
            }
            ErrorKind::TextTooLong { limit } => write!(
                f,
                "element text is longer than the limit of {} MiB",
                limit >> 20
            ),
            ErrorKind::Io(msg) => write!(f, "read error: {msg}"),
        }
    }
}

/// A parse error: what, where (byte offset, line and column when known) and
/// in which element and entry.
///
/// ```
/// use espi_core::{parse_slice, NullSink, ParseOptions};
/// let err = parse_slice(b"<feed>\n<entry>", &ParseOptions::default(), &mut NullSink).unwrap_err();
/// assert_eq!((err.line, err.column), (Some(2), Some(8)));
/// assert!(err.to_string().contains("truncated"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// Byte offset in the input (after any byte-order mark is counted).
    pub offset: u64,
    /// 1-based line, when the input could be scanned for it.
    pub line: Option<u64>,
    /// 1-based column in bytes, when the line is known.
    pub column: Option<u64>,
    /// Path of the element concerned, e.g. `feed/entry/content/IntervalBlock/IntervalReading/value`.
    pub element: String,
    /// Index (from 0) of the Atom entry concerned, if inside one.
    pub entry_index: Option<u64>,
    /// Atom id of that entry, if it was read before the error.
    pub entry_id: Option<String>,
}

impl ParseError {
    /// A malformed-XML error at `offset` with no element context.
    pub(crate) fn new_xml(message: String, offset: u64) -> ParseError {
        ParseError {
            kind: ErrorKind::Xml(message),
            offset,
            line: None,
            column: None,
            element: String::new(),
            entry_index: None,
            entry_id: None,
        }
    }

    /// Is the rest of the input unreadable after this error (as opposed to an
    /// error confined to one entry)?
    pub fn is_fatal(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Xml(_)
                | ErrorKind::ContentAfterRoot
                | ErrorKind::UnexpectedEof { .. }
                | ErrorKind::NoRootElement
                | ErrorKind::Io(_)
        )
    }

    /// "line L, column C" or "byte B".
    pub fn position(&self) -> String {
        match (self.line, self.column) {
            (Some(l), Some(c)) => format!("line {l}, column {c} (byte {})", self.offset),
            _ => format!("byte {}", self.offset),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.position())?;
        if !self.element.is_empty() {
            write!(f, ", in <{}>", self.element)?;
        }
        if let Some(i) = self.entry_index {
            write!(f, ", entry #{i}")?;
            if let Some(id) = &self.entry_id {
                write!(f, " ({id})")?;
            }
        }
        write!(f, ": {}", self.kind)
    }
}

impl std::error::Error for ParseError {}
