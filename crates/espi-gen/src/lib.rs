//! Deterministic generator of realistic Green Button (NAESB ESPI) Atom feeds of
//! any size, for benchmarks and tests.
//!
//! The output looks like a PG&E "Share My Data" Bulk feed: one Atom `<feed>`
//! with a shared `LocalTimeParameters` entry (US Pacific) and, per usage point,
//! a `UsagePoint` entry, one or two `MeterReading` entries with their
//! `ReadingType`s, one `IntervalBlock` entry per local day per meter reading,
//! optional correction blocks (an earlier day re-delivered with changed
//! values and a later `<updated>`), and `UsageSummary` entries for billing
//! periods that close inside the generated days.
//!
//! The mix of usage points is drawn from the seed: about 72% electric
//! 15-minute, 16% electric hourly and 12% gas daily; 15% of electric points are
//! net-metered (a second series with flowDirection 19: solar export, zero at
//! night). Days are local Pacific days, so DST change days hold 23 or 25 hours.
//!
//! Output is streamed: memory use does not grow with the feed size, and the
//! same [`GenOptions`] give byte-identical output on every machine (the PRNG
//! and all arithmetic are platform-independent). In the default entry order a
//! feed with `n` usage points is a prefix of the feed with more usage points
//! and otherwise equal options (up to the closing `</feed>`);
//! [`EntryOrder::BlocksFirst`] writes the same entries with every
//! IntervalBlock before any metadata, the order that makes a one-pass reader
//! hold the most.
#![warn(missing_docs)]

use std::collections::BTreeMap;
use std::io::{self, Write};

mod feed;
mod fmt;
mod model;
mod rng;
mod time;

/// Base URL of every resource href in a generated feed.
pub const BASE_URL: &str = feed::BASE;

/// Which kind of Atom feed to write. Both are `<feed>` documents with the same
/// entry shapes; they differ in title, self link and typical number of days.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FeedKind {
    /// A daily Bulk delivery (`/Batch/Bulk/{id}`): usually one day per usage
    /// point, plus corrections of earlier days.
    #[default]
    Bulk,
    /// A usage history (`/Batch/Subscription/{id}`): many days per usage point.
    History,
}

/// How the Atom and ESPI namespaces are bound in the output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PrefixStyle {
    /// Atom is the root's default namespace; each ESPI resource element
    /// re-declares the default namespace (`<UsagePoint xmlns="http://naesb.org/espi">`).
    #[default]
    DefaultNamespace,
    /// Atom default namespace, ESPI bound to `espi:` on the root.
    EspiPrefix,
    /// PG&E style: `ns1:` for Atom and `ns0:` for ESPI, both declared on the root.
    Ns0,
}

/// In which order the entries are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum EntryOrder {
    /// The LocalTimeParameters first, then per usage point: its UsagePoint,
    /// MeterReading and ReadingType entries, its IntervalBlocks, its
    /// UsageSummaries (as utilities write Bulk feeds).
    #[default]
    ByUsagePoint,
    /// Every IntervalBlock first (usage point by usage point), then the
    /// LocalTimeParameters and every usage point's metadata and summaries:
    /// a reader learns what the readings mean only at the end.
    BlocksFirst,
}

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct GenOptions {
    /// Seed of every random choice; same options give identical bytes.
    pub seed: u64,
    /// Number of usage points (customers / service points).
    pub usage_points: u32,
    /// Days of interval data per usage point.
    pub days: u32,
    /// First day, as days since 1970-01-01 (a local Pacific calendar day).
    pub start_day: i64,
    /// Bulk or History feed.
    pub kind: FeedKind,
    /// Namespace prefix style.
    pub prefix_style: PrefixStyle,
    /// Fraction (0..=1) of usage points for which an extra IntervalBlock
    /// re-delivers an earlier day with changed values and a later `<updated>`.
    /// With `days >= 2` the corrected day lies inside the feed (so both
    /// deliveries are present); with one day it precedes `start_day`.
    pub corrections: f64,
    /// Entry order.
    pub order: EntryOrder,
}

/// 2024-06-01.
const DEFAULT_START_DAY: i64 = 19_875;

impl Default for GenOptions {
    /// 100 usage points, one day (2024-06-01), Bulk, default namespace, 5% corrections.
    fn default() -> Self {
        GenOptions {
            seed: 1,
            usage_points: 100,
            days: 1,
            start_day: DEFAULT_START_DAY,
            kind: FeedKind::Bulk,
            prefix_style: PrefixStyle::DefaultNamespace,
            corrections: 0.05,
            order: EntryOrder::ByUsagePoint,
        }
    }
}

/// What [`generate`] wrote, for tests to check against.
///
/// Flows are keyed by `flowDirection` (1 delivered, 19 received). A key is
/// present only when at least one reading of that flow was written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GenSummary {
    /// Bytes written.
    pub bytes: u64,
    /// `<entry>` elements (including the LocalTimeParameters entry).
    pub entries: u64,
    /// UsagePoint entries.
    pub usage_points: u64,
    /// MeterReading entries (each with its own ReadingType entry).
    pub meter_readings: u64,
    /// IntervalBlock entries, corrections included.
    pub interval_blocks: u64,
    /// IntervalBlock entries that re-deliver an earlier day (a subset of `interval_blocks`).
    pub correction_blocks: u64,
    /// IntervalReading elements, corrections included.
    pub readings: u64,
    /// IntervalReading elements by flowDirection, corrections included.
    pub readings_by_flow: BTreeMap<i64, u64>,
    /// Sum of the raw `<value>`s by flowDirection, corrections included.
    pub raw_sum_by_flow: BTreeMap<i64, i128>,
    /// Readings by flowDirection after "latest `<updated>` wins": each
    /// (meter reading, interval start) counted once.
    pub readings_latest_by_flow: BTreeMap<i64, u64>,
    /// Sum of raw values by flowDirection after "latest `<updated>` wins".
    pub raw_sum_latest_by_flow: BTreeMap<i64, i128>,
    /// UsageSummary entries.
    pub usage_summaries: u64,
}

/// Write the feed; returns what was written (for tests to check against).
///
/// Output is streamed into `out` in chunks of about 256 KiB (no extra
/// `BufWriter` needed); memory stays bounded whatever the size.
///
/// ```
/// use espi_gen::{generate, GenOptions, PrefixStyle};
///
/// let options = GenOptions {
///     usage_points: 3,
///     days: 2,
///     prefix_style: PrefixStyle::EspiPrefix,
///     ..GenOptions::default()
/// };
/// let mut xml = Vec::new();
/// let summary = generate(&options, &mut xml)?;
/// assert_eq!(summary.bytes as usize, xml.len());
/// assert_eq!(summary.usage_points, 3);
/// let text = String::from_utf8(xml).unwrap();
/// assert_eq!(text.matches("<espi:IntervalReading>").count() as u64, summary.readings);
/// // Deterministic: the same options give the same bytes.
/// let mut again = Vec::new();
/// generate(&options, &mut again)?;
/// assert_eq!(text.as_bytes(), &again[..]);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn generate<W: Write>(options: &GenOptions, out: W) -> io::Result<GenSummary> {
    feed::run(options, out, |_, _| true)
}

/// Options whose output is about `bytes` long: estimates `usage_points` for
/// `days` days per point (Bulk, default namespace, other fields default).
///
/// Targets up to a 48 MiB sampling budget are met to within one usage point by
/// generating the feed's prefix into a sink. Larger targets are extrapolated:
/// from the mean size of the sampled usage points when many fit in the budget
/// (short feeds; typically within 1-3%), or for long histories from a per-point
/// size model `a + b * days` fitted on short runs of the actual usage points.
pub fn options_for_size(bytes: u64, days: u32, seed: u64) -> GenOptions {
    const BUDGET: u64 = 48 << 20;
    const MIN_SAMPLE_POINTS: u64 = 512;
    const MAX_MODEL_POINTS: u32 = 4096;
    let mut opts = GenOptions {
        seed,
        days,
        usage_points: 0,
        ..GenOptions::default()
    };
    let empty = generate(&opts, io::sink()).map(|s| s.bytes).unwrap_or(0);
    if bytes <= empty {
        return opts;
    }
    let footer = feed::footer_len(opts.prefix_style);
    let header = empty - footer;
    let target = bytes - empty; // bytes of usage points wanted

    // Generate the real prefix until the target or the budget is reached.
    let mut probe = opts.clone();
    probe.usage_points = u32::MAX;
    let mut before = (0u64, header);
    let mut after = (0u64, header);
    let _ = feed::run(&probe, io::sink(), |points, so_far| {
        after = (points, so_far);
        if so_far + footer >= bytes || so_far >= BUDGET {
            false
        } else {
            before = (points, so_far);
            true
        }
    });
    if after.1 + footer >= bytes {
        let under = bytes - (before.1 + footer);
        let over = after.1 + footer - bytes;
        opts.usage_points = if under <= over { before.0 } else { after.0 } as u32;
        return opts;
    }
    let mean = (after.1 - header) as f64 / after.0.max(1) as f64;
    if after.0 >= MIN_SAMPLE_POINTS || days <= 1 {
        opts.usage_points = (target as f64 / mean)
            .round()
            .clamp(1.0, f64::from(u32::MAX)) as u32;
        return opts;
    }

    // Long histories: few points are needed, so model each point's size as
    // a + b * days from runs of 1 and `short` days of the same points.
    let short = days.min(4);
    let sizes_for = |d: u32, max_points: u32, stop_at: f64| -> Vec<u64> {
        let mut o = opts.clone();
        o.days = d;
        o.usage_points = max_points;
        let mut sizes = Vec::new();
        let mut last = header;
        let mut total = 0f64;
        let _ = feed::run(&o, io::sink(), |_, so_far| {
            sizes.push(so_far - last);
            total += (so_far - last) as f64;
            last = so_far;
            total < stop_at
        });
        sizes
    };
    let scale = f64::from(days) / f64::from(short);
    let long = sizes_for(short, MAX_MODEL_POINTS, 2.0 * target as f64 / scale);
    let one = sizes_for(1, long.len() as u32, f64::INFINITY);
    let predict = |i: usize| -> f64 {
        let b = (long[i] as f64 - one[i] as f64) / f64::from(short - 1);
        one[i] as f64 - b + b * f64::from(days)
    };
    let mut total = 0f64;
    for i in 0..long.len() {
        let next = total + predict(i);
        if next >= target as f64 {
            let n = if target as f64 - total <= next - target as f64 {
                i
            } else {
                i + 1
            };
            opts.usage_points = n.max(1) as u32;
            return opts;
        }
        total = next;
    }
    // More points than the model covers: extrapolate its mean.
    let per_point = total / long.len().max(1) as f64;
    opts.usage_points = (target as f64 / per_point)
        .round()
        .clamp(1.0, f64::from(u32::MAX)) as u32;
    opts
}

/// A calendar date `YYYY-MM-DD` as days since 1970-01-01 (for
/// [`GenOptions::start_day`]).
///
/// ```
/// assert_eq!(espi_gen::parse_day("2024-06-01"), Some(19_875));
/// assert_eq!(espi_gen::parse_day("2024-02-30"), None);
/// ```
pub fn parse_day(text: &str) -> Option<i64> {
    let mut parts = text.trim().splitn(3, '-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&month) || day == 0 {
        return None;
    }
    let days = time::days_from_civil(year, month, day);
    // Day 31 of a 30-day month gives the 1st of the next: not a date.
    (time::civil_from_days(days) == (year, month, day)).then_some(days)
}
