//! Analytic kernels over the tables `espi convert` writes: net-metering
//! reconciliation, load profiles, TOU and billing roll-ups, and
//! data-completeness reports.
//!
//! Every kernel reads a [`Dataset`] (the Parquet datasets of a conversion) as
//! polars lazy frames and returns a [`DataFrame`]. The rules they share:
//!
//! - Only the latest delivery of an interval counts: readings marked
//!   `superseded` are left out (the completeness report counts them).
//! - Energy is the readings' `interval_delta` in kWh (the value of delta
//!   series, the difference of consecutive register readings), summed exactly
//!   as integer micro-watt-hours and turned into a float once, at the end.
//!   Readings in other units (kW, kVArh, therms, ...) are not energy.
//! - Local time is the `local_start` the converter derived from the usage
//!   point's LocalTimeParameters (DST days have 23 or 25 hours); a usage point
//!   without LocalTimeParameters is reported in UTC.
//!
//! ```no_run
//! use espi_analytics::{net_metering, Dataset, NetMeteringOptions, Period};
//!
//! let dataset = Dataset::open("converted/".as_ref())?;
//! let options = NetMeteringOptions { by: Period::Month, ..NetMeteringOptions::default() };
//! let table = net_metering(&dataset, &options)?;
//! println!("{table}");
//! # Ok::<(), espi_analytics::AnalyticsError>(())
//! ```

pub mod chart;
mod completeness;
mod dataset;
mod load_profile;
mod net_metering;
mod output;
mod prepared;
mod tou;

use std::path::PathBuf;

pub use completeness::completeness;
pub use dataset::{Dataset, CHUNK_READINGS};
pub use load_profile::{load_profile, LoadProfile, LoadProfileOptions, ALL_USAGE_POINTS};
pub use net_metering::{net_metering, NetMeteringOptions, SELF_CONSUMPTION_NOTE};
pub use output::{write_table, OutputFormat};
pub use polars::prelude::DataFrame;
pub use tou::{tou_rollup, TouOptions};

/// Why an analysis could not be made.
#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    /// The folder has no readings dataset.
    #[error("{0}: no readings dataset (expected Parquet files under {0}/readings, as `espi convert` writes)")]
    NoReadings(PathBuf),
    /// Billing periods were asked for and the input has no UsageSummary.
    #[error("no UsageSummary billing periods in the input: use a calendar period (day or month)")]
    NoBillingPeriods,
    /// An output file name without a known extension.
    #[error("{0}: unknown output format (use .csv or .parquet)")]
    UnknownFormat(PathBuf),
    /// Reading or writing a file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The query engine.
    #[error(transparent)]
    Polars(#[from] polars::error::PolarsError),
}

/// The periods readings are summed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Period {
    /// Local calendar day.
    Day,
    /// Local calendar month (`period_start` is its first day).
    #[default]
    Month,
    /// The billing periods of the usage point's UsageSummary entries.
    Billing,
}

impl Period {
    /// Parse `day`, `month` or `billing`.
    ///
    /// ```
    /// use espi_analytics::Period;
    /// assert_eq!(Period::parse("billing"), Some(Period::Billing));
    /// assert_eq!(Period::parse("week"), None);
    /// ```
    pub fn parse(s: &str) -> Option<Period> {
        match s {
            "day" => Some(Period::Day),
            "month" => Some(Period::Month),
            "billing" => Some(Period::Billing),
            _ => None,
        }
    }
}
pub use polars;
