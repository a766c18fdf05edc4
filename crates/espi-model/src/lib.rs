//! The ESPI (NAESB REQ.21, "Green Button") data model shared by every espi crate.
//!
//! * [`codes`]: the schema's code tables (unit symbols, flow directions, quality, ...).
//! * [`units`]: unit normalisation (Wh to kWh, W to kW, ...) and exact scaling of raw
//!   integer values by `powerOfTenMultiplier`.
//! * [`numbers`]: strict, allocation-free parsing of the integers and timestamps
//!   ESPI writes as element text.
//! * [`links`]: Atom link hrefs, normalised so that entries can be related.
//! * [`local_time`]: LocalTimeParameters and their DST rules, UTC to wall-clock time.
//! * [`quality`]: reading quality flags (estimated, edited, validated, raw).
//! * [`tou`]: names of TOU period codes.
//! * [`resource`]: the small metadata resources (ReadingType, UsagePoint, ...)
//!   kept while readings stream past.
//!
//! # Examples
//!
//! ```
//! use espi_model::units::{normalise, scale_exact};
//! // 12345 Wh with powerOfTenMultiplier -1 is 1.2345 kWh.
//! let unit = normalise(72);
//! assert_eq!(unit.symbol(), Some("kWh"));
//! assert_eq!(scale_exact(12345, -1 + unit.exponent_shift), Some(1.2345));
//! ```
#![warn(missing_docs)]

pub mod codes;
pub mod links;
pub mod local_time;
pub mod numbers;
pub mod quality;
pub mod resource;
pub mod text;
pub mod tou;
pub mod units;
