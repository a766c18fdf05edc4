//! Where the bytes come from: a memory-mapped file or a stream.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use memmap2::Mmap;

use crate::error::ParseError;
use crate::parser::{parse_slice, ParseOptions, ParseStats, Sink};
use crate::stream::parse_stream;

/// An input document: mapped when it is a regular file, streamed otherwise
/// (`-` for stdin, pipes, FIFOs, character devices).
pub enum Input {
    /// A regular file mapped into memory: parsed zero-copy.
    Mapped(Mmap),
    /// An empty regular file (which cannot be mapped).
    Empty,
    /// A stream read through a buffer.
    Stream(Box<dyn BufRead + Send>),
}

impl Input {
    /// Open a path; `-` is stdin.
    ///
    /// ```no_run
    /// let input = espi_core::Input::open("feed.xml".as_ref()).unwrap();
    /// ```
    pub fn open(path: &Path) -> io::Result<Input> {
        if path.as_os_str() == "-" {
            return Ok(Self::from_reader(io::stdin()));
        }
        let file = File::open(path)?;
        let meta = file.metadata()?;
        if meta.is_file() {
            if meta.len() == 0 {
                return Ok(Input::Empty);
            }
            // SAFETY: the map is read-only. If another process truncates the
            // file while it is mapped, reads past the new end fault; espi
            // documents that inputs must not be modified during a run, as every
            // mmap-based reader does.
            let map = unsafe { Mmap::map(&file)? };
            #[cfg(unix)]
            {
                let _ = map.advise(memmap2::Advice::Sequential);
            }
            return Ok(Input::Mapped(map));
        }
        Ok(Self::from_reader(file))
    }

    /// Stream from any reader.
    pub fn from_reader<R: Read + Send + 'static>(reader: R) -> Input {
        Input::Stream(Box::new(BufReader::with_capacity(256 * 1024, reader)))
    }

    /// The whole input as bytes, when it is mapped.
    pub fn as_slice(&self) -> Option<&[u8]> {
        match self {
            Input::Mapped(m) => Some(m),
            Input::Empty => Some(&[]),
            Input::Stream(_) => None,
        }
    }

    /// Size in bytes, when known in advance.
    pub fn len_hint(&self) -> Option<u64> {
        self.as_slice().map(|s| s.len() as u64)
    }

    /// Parse the input into `sink`.
    pub fn parse<S: Sink>(
        self,
        options: &ParseOptions,
        sink: &mut S,
    ) -> Result<ParseStats, Box<ParseError>> {
        match self {
            Input::Mapped(m) => parse_slice(&m, options, sink),
            Input::Empty => parse_slice(&[], options, sink),
            Input::Stream(r) => parse_stream(r, options, sink),
        }
    }
}
