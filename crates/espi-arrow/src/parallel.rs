//! One large in-memory feed on many cores.
//!
//! The feed is cut at entry boundaries into parts ([`espi_core::FeedLayout`]).
//! A first pass reads every part's metadata in parallel, skipping the content
//! of IntervalBlocks (a memchr search for their end tag); the metadata is then
//! merged in document order, so every link resolves exactly as in one
//! sequential pass. The second pass parses the parts in parallel, each
//! linking its blocks against the complete metadata at once and sending its
//! batches to its own [`BatchSink`]. Part `k` is always the same bytes for
//! the same `parts`, so the output is deterministic. If a part fails to parse
//! (malformed XML, or a cut that was not a real entry boundary) the work is
//! discarded and the input is converted in one sequential pass, which then
//! reports the error exactly as it would have anyway.

use ahash::AHashMap as HashMap;
use std::sync::Arc;

use arrow_array::RecordBatch;
use espi_core::{parse_part, parse_slice, FeedLayout, ParseError, ParseOptions};
use rayon::prelude::*;

use crate::converter::{Conversion, ConvertCounts, ConvertOptions, Converter, SeriesStats};
use crate::keys::Keys;
use crate::metadata::{empty_tables, final_tables, read_links, Links, Table};

/// Receives the batches of one part of a conversion.
pub trait BatchSink: Send {
    /// One batch of `table`.
    fn batch(&mut self, table: Table, batch: RecordBatch);
    /// The part's readings are all converted: a good moment to release
    /// buffers (close files). More batches may follow: the last part also
    /// receives the tables built at the end, and a [`discard`](Self::discard)
    /// may still void the part.
    fn part_converted(&mut self) {}
    /// The part's batches are void (the conversion is redone sequentially):
    /// drop what was written.
    fn discard(&mut self) {}
}

impl<F: FnMut(Table, RecordBatch) + Send> BatchSink for F {
    fn batch(&mut self, table: Table, batch: RecordBatch) {
        self(table, batch)
    }
}

/// The result of [`convert_parallel`].
pub struct ParallelConversion<C> {
    /// Counts, rejections and metadata tables, as one sequential pass gives.
    pub conversion: Conversion,
    /// The batch sinks, in part order (sink `k` got part `k`'s batches; the
    /// last also got the tables built at the end).
    pub sinks: Vec<C>,
    /// The error that stopped the conversion, if any.
    pub error: Option<Box<ParseError>>,
    /// How many parts were converted in parallel (1: sequentially).
    pub parts: usize,
}

/// Convert `input` in one sequential pass into `sink`.
pub fn convert_sequential<C: BatchSink>(
    source: &str,
    input: &[u8],
    options: &ConvertOptions,
    parse_options: &ParseOptions,
    mut sink: C,
) -> ParallelConversion<C> {
    let mut converter = Converter::new(source, options.clone(), |t, b| sink.batch(t, b));
    let result = parse_slice(input, parse_options, &mut converter);
    let error = result.err();
    if let Some(e) = &error {
        converter.record_fatal(e);
    }
    let conversion = converter.finish();
    ParallelConversion {
        conversion,
        sinks: vec![sink],
        error,
        parts: 1,
    }
}

/// Convert `input` in up to `parts` parallel parts (on the current rayon
/// pool), sending part `k`'s readings batches to `make_sink(k)`.
///
/// ```
/// use espi_arrow::{convert_parallel, ConvertOptions};
/// use espi_core::ParseOptions;
/// let entry = r#"<entry><content><IntervalBlock xmlns="http://naesb.org/espi"><IntervalReading>
///   <timePeriod><duration>900</duration><start>0</start></timePeriod><value>1</value>
///   </IntervalReading></IntervalBlock></content></entry>"#;
/// let xml = format!(r#"<feed xmlns="http://www.w3.org/2005/Atom">{}</feed>"#, entry.repeat(100));
/// let done = convert_parallel("f.xml", xml.as_bytes(), &ConvertOptions::default(),
///     &ParseOptions::default(), 4, |_| |_table, _batch| ());
/// assert_eq!(done.parts, 4);
/// assert_eq!(done.conversion.counts.readings_written, 100);
/// ```
pub fn convert_parallel<C, M>(
    source: &str,
    input: &[u8],
    options: &ConvertOptions,
    parse_options: &ParseOptions,
    parts: usize,
    make_sink: M,
) -> ParallelConversion<C>
where
    C: BatchSink,
    M: Fn(usize) -> C + Sync,
{
    let sequential = || convert_sequential(source, input, options, parse_options, make_sink(0));
    let Some(layout) = FeedLayout::of(input) else {
        return sequential();
    };
    let ranges = layout.split(input, parts);
    if ranges.len() < 2 {
        return sequential();
    }

    // Pass one: metadata of every part, blocks skipped.
    let collected: Result<Vec<(Links, u64)>, Box<ParseError>> = ranges
        .par_iter()
        .map(|range| read_links(input, &layout, range.clone(), parse_options.fast_readings))
        .collect();
    let Ok(collected) = collected else {
        return sequential();
    };
    // The first part's links (numbered from entry 0) take in the others'.
    let mut first_index = Vec::with_capacity(ranges.len());
    let mut links: Option<Links> = None;
    let mut index = 0u64;
    for (mut part, entries) in collected {
        first_index.push(index);
        part.shift_entry_indices(index);
        match links.as_mut() {
            Some(links) => links.merge(part),
            None => links = Some(part),
        }
        index += entries;
    }
    let links = Arc::new(links.unwrap_or_default());

    // Pass two: readings of every part, linked against all the metadata.
    let results: Vec<_> = ranges
        .par_iter()
        .enumerate()
        .map(|(k, range)| {
            let mut sink = make_sink(k);
            let mut converter =
                Converter::with_links(source, options.clone(), links.clone(), |t, b| {
                    sink.batch(t, b)
                });
            let result = parse_part(
                input,
                &layout,
                range.clone(),
                first_index[k],
                parse_options,
                &mut converter,
            );
            let part = converter.finish_part();
            if result.is_ok() {
                sink.part_converted();
            }
            (sink, result.err(), part)
        })
        .collect();
    if results.iter().any(|(_, error, _)| error.is_some()) {
        for (mut sink, _, _) in results {
            sink.discard();
        }
        return sequential();
    }

    let mut counts = ConvertCounts::default();
    let mut rejections = Vec::new();
    let mut keys = Keys::default();
    let mut series: HashMap<u32, SeriesStats> = HashMap::new();
    let mut sinks = Vec::with_capacity(results.len());
    for (sink, _, part) in results {
        sinks.push(sink);
        counts.add(&part.counts);
        rejections.extend(part.rejections);
        for (mr, up, st) in part.series {
            let mr = keys.id(&mr);
            let up = keys.id(&up);
            let merged = series.entry(mr).or_insert(SeriesStats {
                usage_point: up,
                readings: 0,
                first_start_us: st.first_start_us,
                last_start_us: st.last_start_us,
            });
            merged.readings += st.readings;
            merged.first_start_us = merged.first_start_us.min(st.first_start_us);
            merged.last_start_us = merged.last_start_us.max(st.last_start_us);
        }
    }
    if let Some(last) = sinks.last_mut() {
        for (table, batch) in empty_tables(source)
            .into_iter()
            .chain(final_tables(&links, source, &keys, &series))
        {
            last.batch(table, batch);
        }
    }
    ParallelConversion {
        conversion: Conversion {
            counts,
            rejections,
            warnings: links.warning_lines(source),
        },
        sinks,
        error: None,
        parts: ranges.len(),
    }
}
