//! A progress bar on a terminal, fed by entry offsets as the parser goes.

use std::io::IsTerminal;

use espi_core::{ParseError, Reading, Sink};
use espi_model::resource::{Entry, Resource};
use indicatif::{ProgressBar, ProgressStyle};

/// Inputs smaller than this finish too fast for a bar.
const MIN_BYTES_FOR_BAR: u64 = 64 << 20;

/// Progress over all inputs, in bytes.
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar when stderr is a terminal, the run is large and not `quiet`.
    pub(crate) fn new(total_bytes: u64, quiet: bool) -> Progress {
        let show = !quiet && total_bytes >= MIN_BYTES_FOR_BAR && std::io::stderr().is_terminal();
        let bar = show.then(|| {
            let bar = ProgressBar::new(total_bytes);
            bar.set_style(
                ProgressStyle::with_template(
                    "{elapsed_precise} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar
        });
        Progress { bar }
    }

    /// Count `bytes` as done.
    pub(crate) fn advance(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }

    /// Remove the bar.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Forwards to a sink and reports the input position at each entry.
pub(crate) struct ProgressSink<'a, S: Sink> {
    inner: &'a mut S,
    progress: &'a Progress,
    reported: u64,
    position: u64,
}

impl<'a, S: Sink> ProgressSink<'a, S> {
    pub(crate) fn new(inner: &'a mut S, progress: &'a Progress) -> Self {
        ProgressSink {
            inner,
            progress,
            reported: 0,
            position: 0,
        }
    }

    fn at(&mut self, offset: u64) {
        self.position = self.position.max(offset);
        if self.position - self.reported >= 1 << 20 {
            self.progress.advance(self.position - self.reported);
            self.reported = self.position;
        }
    }

    /// The input is done: `bytes` in all.
    pub(crate) fn finish(self, bytes: u64) {
        self.progress.advance(bytes.saturating_sub(self.reported));
    }
}

impl<S: Sink> Sink for ProgressSink<'_, S> {
    #[inline]
    fn reading(&mut self, reading: &Reading) {
        self.inner.reading(reading);
    }

    fn entry(&mut self, entry: Entry, resources: Vec<Resource>) {
        self.at(entry.offset);
        self.inner.entry(entry, resources);
    }

    fn entry_rejected(&mut self, error: &ParseError, readings: u64) {
        self.at(error.offset);
        self.inner.entry_rejected(error, readings);
    }

    fn wants_look_ahead(&self) -> bool {
        self.inner.wants_look_ahead()
    }

    fn look_ahead(&mut self, document: &[u8], from: usize, next_entry_index: u64) {
        self.inner.look_ahead(document, from, next_entry_index);
    }

    fn stop(&self) -> bool {
        self.inner.stop()
    }
}
