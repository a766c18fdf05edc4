//! ESPI (Green Button) feeds to Arrow record batches.
//!
//! A [`Converter`] is the [`espi_core::Sink`] of a parse: it turns the
//! streamed IntervalReadings into batches of the readings table
//! ([`readings_schema`]), linking each IntervalBlock to its MeterReading,
//! ReadingType and UsagePoint through the Atom link hrefs whatever the entry
//! order, applying `powerOfTenMultiplier` exactly and normalising units. The
//! small resources become the other tables ([`Table`]), streamed in batches.
//!
//! Every reading read is either in a batch or in a [`Rejection`]:
//! `readings_read == readings_written + readings_rejected` ([`ConvertCounts`]).
//!
//! # Examples
//!
//! ```
//! use espi_arrow::convert_slice;
//! let xml = br#"<entry xmlns="http://www.w3.org/2005/Atom"><content>
//!   <IntervalBlock xmlns="http://naesb.org/espi"><IntervalReading>
//!     <timePeriod><duration>3600</duration><start>0</start></timePeriod><value>42</value>
//!   </IntervalReading></IntervalBlock></content></entry>"#;
//! let (batches, conversion) = convert_slice("one.xml", xml, &Default::default()).unwrap();
//! assert_eq!(batches[&espi_arrow::Table::Readings][0].num_rows(), 1);
//! assert_eq!(conversion.counts.readings_unlinked, 1); // no ReadingType in this fragment
//! ```
#![warn(missing_docs)]

mod converter;
mod corrections;
mod dense;
mod keys;
mod metadata;
mod parallel;
mod resources;
mod schema;
mod segmented;
mod spill;
mod state_memory;

pub use converter::{Conversion, ConvertCounts, ConvertOptions, Converter, Rejection, RepeatWatch};
pub use corrections::{ContestedSeries, Corrections, Delivery};
pub use metadata::{empty_batch, Table, TABLE_BATCH_ROWS};
pub use parallel::{convert_parallel, convert_sequential, BatchSink, ParallelConversion};
pub use resources::{empty_resource_batch, ResourceTable};
pub use schema::{
    dict_utf8, readings_plain_columns, readings_schema, timestamp_utc, READINGS_DELTA_COLUMNS,
    READINGS_UNINDEXED_COLUMNS,
};
pub use state_memory::{
    set_state_memory_budget, state_file_error, state_memory_budget, state_memory_in_use,
    DEFAULT_STATE_MEMORY_BUDGET,
};

use arrow_array::RecordBatch;
use espi_core::{parse_slice, ParseError, ParseOptions};

/// Every batch of a conversion, by table.
pub type Batches = std::collections::BTreeMap<Table, Vec<RecordBatch>>;

/// Convert a document held in memory, collecting every batch by table.
/// Stops at the first error (see [`Converter`] with
/// [`ParseOptions::skip_bad_entries`] to skip bad entries instead). Without
/// `options.corrections`, the corrections within this document are found
/// first ([`Corrections::find`]).
pub fn convert_slice(
    source: &str,
    input: &[u8],
    options: &ConvertOptions,
) -> Result<(Batches, Conversion), Box<ParseError>> {
    let mut options = options.clone();
    if options.corrections.is_none() {
        options.corrections = Some(std::sync::Arc::new(Corrections::find(&[input])));
        options.input_index = 0;
    }
    let mut batches = Batches::new();
    let mut converter = Converter::new(source, options, |table, b| {
        batches.entry(table).or_default().push(b)
    });
    parse_slice(input, &ParseOptions::default(), &mut converter)?;
    let conversion = converter.finish();
    Ok((batches, conversion))
}
