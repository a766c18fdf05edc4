//! Streaming, namespace-aware parser for ESPI (Green Button) Atom feeds.
//!
//! The parser reads a feed of any size in bounded memory: from a memory map
//! (zero-copy, see [`Input::open`]) or from any buffered reader such as stdin.
//! It matches elements by namespace URI (any prefix, default namespaces,
//! prefixes re-declared on every element), accepts a `<feed>`, a single
//! `<entry>` or a bare resource as the root, and pushes what it reads to a
//! [`Sink`]: one reused [`Reading`] per IntervalReading and, at the end of
//! each entry, the entry's links and small resources.
//!
//! Errors carry the byte offset, line and column, the element path and the
//! entry (see [`ParseError`]); with [`ParseOptions::skip_bad_entries`] an entry
//! holding a bad value is reported and skipped instead.
//!
//! # Examples
//!
//! ```
//! use espi_core::{parse_slice, NullSink, ParseOptions};
//! let xml = br#"<ns1:feed xmlns:ns1="http://www.w3.org/2005/Atom" xmlns:ns0="http://naesb.org/espi">
//!   <ns1:entry><ns1:content><ns0:IntervalBlock>
//!     <ns0:IntervalReading><ns0:value>oops</ns0:value></ns0:IntervalReading>
//!   </ns0:IntervalBlock></ns1:content></ns1:entry></ns1:feed>"#;
//! let err = parse_slice(xml, &ParseOptions::default(), &mut NullSink).unwrap_err();
//! assert_eq!(err.line, Some(3));
//! assert!(err.element.ends_with("IntervalReading/value"));
//!
//! let skip = ParseOptions { skip_bad_entries: true, ..Default::default() };
//! let stats = parse_slice(xml, &skip, &mut NullSink).unwrap();
//! assert_eq!((stats.readings, stats.rejected_readings), (1, 1));
//! ```
#![warn(missing_docs)]

mod content;
mod envelope;
mod error;
mod fast;
mod input;
mod parser;
mod split;
mod stream;

pub use error::{ErrorKind, ParseError};
pub use input::Input;
pub use parser::{
    parse_reader, parse_slice, NullSink, ParseOptions, ParseStats, Reading, Sink, MAX_TEXT_BYTES,
    NS_ATOM, NS_CUSTOMER, NS_ESPI,
};
pub use split::{parse_part, parse_part_skipping, FeedLayout};
