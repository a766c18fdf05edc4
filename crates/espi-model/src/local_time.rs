//! ESPI `LocalTimeParameters`: the time zone of a usage point, and the local
//! wall-clock time of UTC instants.
//!
//! A `LocalTimeParameters` resource has four elements:
//!
//! * `tzOffset`: seconds east of UTC of local *standard* time (PG&E: `-28800`);
//! * `dstOffset`: seconds added while daylight saving time is in force (`3600`);
//! * `dstStartRule` and `dstEndRule`: [`DstRule`]s, 32-bit bit maps written as
//!   eight hex digits (`360E2000` = second Sunday of March, 02:00).
//!
//! A rule's time is the local wall-clock time just before the change: DST
//! starts at the start rule's time read in standard time (UTC = local -
//! `tzOffset`) and ends at the end rule's time read in daylight time (UTC =
//! local - `tzOffset` - `dstOffset`). DST is in force from the start instant
//! (inclusive) to the end instant (exclusive). Rules whose start comes later in
//! the year than their end (southern hemisphere) keep DST across the new year:
//! in general the state at an instant is set by the latest transition, start
//! or end, at or before it.
//!
//! There is no DST when either rule is absent, empty, `FFFFFFFF` or otherwise
//! not a usable rule (see [`DstRule::from_bits`]), or when `dstOffset` is
//! absent or zero.
//!
//! Nothing here panics, whatever the input: rule bits, years and instants are
//! all handled with bounded or saturating arithmetic.

use std::fmt;

use crate::numbers::{civil_from_days, days_from_civil, parse_i64};

/// The largest `tzOffset` or `dstOffset`, in either direction, that
/// [`LocalTimeParameters::from_fields`] accepts: two days.
pub const MAX_OFFSET_S: i64 = 2 * SECONDS_PER_DAY;

/// DST is applied in years (of local standard time) `-MAX_DST_YEAR..=MAX_DST_YEAR`
/// only; instants outside are in standard time. A million years covers every
/// microsecond an `i64` can hold.
const MAX_DST_YEAR: i64 = 1_000_000;

const SECONDS_PER_DAY: i64 = 86_400;
const MICROS_PER_SECOND: i64 = 1_000_000;

/// Why the text of a `LocalTimeParameters` element is not usable.
///
/// Each variant names the element and keeps (at most the first 64 characters
/// of) its text.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LocalTimeError {
    /// `tzOffset` or `dstOffset` is not an integer number of seconds.
    InvalidOffset {
        /// The element name (`tzOffset`, `dstOffset`).
        field: &'static str,
        /// The element text.
        text: String,
    },
    /// `tzOffset` or `dstOffset` is more than [`MAX_OFFSET_S`] from zero.
    OffsetOutOfRange {
        /// The element name (`tzOffset`, `dstOffset`).
        field: &'static str,
        /// The element text.
        text: String,
    },
    /// A DST rule is not one to eight hex digits (with an optional `0x`).
    InvalidRule {
        /// The element name (`dstStartRule`, `dstEndRule`; `dstRule` from
        /// [`DstRule::parse`]).
        field: &'static str,
        /// The element text.
        text: String,
    },
}

impl LocalTimeError {
    /// The name of the element whose text was rejected.
    pub fn field(&self) -> &'static str {
        match self {
            LocalTimeError::InvalidOffset { field, .. }
            | LocalTimeError::OffsetOutOfRange { field, .. }
            | LocalTimeError::InvalidRule { field, .. } => field,
        }
    }

    fn with_field(self, field: &'static str) -> Self {
        match self {
            LocalTimeError::InvalidOffset { text, .. } => {
                LocalTimeError::InvalidOffset { field, text }
            }
            LocalTimeError::OffsetOutOfRange { text, .. } => {
                LocalTimeError::OffsetOutOfRange { field, text }
            }
            LocalTimeError::InvalidRule { text, .. } => LocalTimeError::InvalidRule { field, text },
        }
    }
}

impl fmt::Display for LocalTimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LocalTimeError::InvalidOffset { field, text } => {
                write!(f, "{field} {text:?} is not an integer number of seconds")
            }
            LocalTimeError::OffsetOutOfRange { field, text } => write!(
                f,
                "{field} {text:?} is more than {MAX_OFFSET_S} seconds (two days) from zero"
            ),
            LocalTimeError::InvalidRule { field, text } => {
                write!(f, "{field} {text:?} is not a DST rule (up to 8 hex digits)")
            }
        }
    }
}

impl std::error::Error for LocalTimeError {}

/// The first 64 characters of an element text, for an error.
fn excerpt(text: &str) -> String {
    text.chars().take(64).collect()
}

/// ISO weekday (1 = Monday ... 7 = Sunday) of a day count since 1970-01-01 (a Thursday).
fn weekday(days: i64) -> i64 {
    (days + 3).rem_euclid(7) + 1
}

/// A DST start or end rule (`DstRuleType`), decoded.
///
/// The bit map, from the ESPI schema:
///
/// | bits  | field                                             |
/// |-------|---------------------------------------------------|
/// | 0-11  | seconds, 0-3599 (added to the hour)               |
/// | 12-16 | hour, 0-23                                        |
/// | 17-19 | day of the week, 1 = Monday ... 7 = Sunday; 0 = not applicable |
/// | 20-24 | day of the month, 1-31; 0 = not applicable         |
/// | 25-27 | operator                                          |
/// | 28-31 | month, 1-12                                       |
///
/// Operators: 0 = on the day of the month; 1 = the first day of the week on or
/// after the day of the month; 2, 3, 4, 5, 6 = the first, second, third,
/// fourth, fifth day of the week in the month; 7 = the last day of the week in
/// the month. (The schema defines no "on or before" operator.)
///
/// ```
/// use espi_model::local_time::DstRule;
/// // US: DST starts on the second Sunday of March at 02:00.
/// let rule = DstRule::from_bits(0x360E_2000).unwrap();
/// assert_eq!((rule.month, rule.operator, rule.day_of_week, rule.hour), (3, 3, 7, 2));
/// assert_eq!(DstRule::from_bits(0xFFFF_FFFF), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DstRule {
    /// Month, 1-12.
    pub month: u8,
    /// Operator, 0-7 (see the type's documentation).
    pub operator: u8,
    /// Day of the week, 1 = Monday ... 7 = Sunday (0 = not applicable).
    pub day_of_week: u8,
    /// Day of the month, 1-31 (0 = not applicable).
    pub day_of_month: u8,
    /// Hour of the day, 0-23.
    pub hour: u8,
    /// Seconds after the hour, 0-3599.
    pub seconds: u16,
}

impl DstRule {
    /// Decode a rule's bits.
    ///
    /// `None` (no DST) for `0xFFFFFFFF`, a month outside 1-12, operator 0 with
    /// day of month 0, and operators 1-7 with a day of the week outside 1-7.
    /// Hours above 23 and seconds above 3599 (outside the schema's ranges) are
    /// kept and simply added to the day.
    pub fn from_bits(bits: u32) -> Option<DstRule> {
        if bits == u32::MAX {
            return None;
        }
        // Every field is masked to at most 5 bits (12 for seconds): the casts are exact.
        let rule = DstRule {
            month: (bits >> 28) as u8,
            operator: ((bits >> 25) & 0x7) as u8,
            day_of_month: ((bits >> 20) & 0x1F) as u8,
            day_of_week: ((bits >> 17) & 0x7) as u8,
            hour: ((bits >> 12) & 0x1F) as u8,
            seconds: (bits & 0xFFF) as u16,
        };
        let usable = (1..=12).contains(&rule.month)
            && if rule.operator == 0 {
                rule.day_of_month != 0
            } else {
                (1..=7).contains(&rule.day_of_week)
            };
        usable.then_some(rule)
    }

    /// Parse a rule's element text: one to eight hex digits, either case, with
    /// an optional `0x` and surrounding whitespace.
    ///
    /// `Ok(None)` (no DST) for empty text and for bits that are not a usable
    /// rule ([`from_bits`](Self::from_bits)); `Err` for anything that is not
    /// hex or is longer than eight digits.
    ///
    /// ```
    /// use espi_model::local_time::DstRule;
    /// assert_eq!(DstRule::parse(" 0xb40e2000 ").unwrap(), DstRule::from_bits(0xB40E_2000));
    /// assert_eq!(DstRule::parse("FFFFFFFF").unwrap(), None);
    /// assert!(DstRule::parse("B40E20001").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Option<DstRule>, LocalTimeError> {
        let invalid = || LocalTimeError::InvalidRule {
            field: "dstRule",
            text: excerpt(text),
        };
        let t = text.trim();
        if t.is_empty() {
            return Ok(None);
        }
        let digits = t
            .strip_prefix("0x")
            .or_else(|| t.strip_prefix("0X"))
            .unwrap_or(t);
        if digits.is_empty() || digits.len() > 8 {
            return Err(invalid());
        }
        let mut bits: u32 = 0;
        for c in digits.chars() {
            let digit = c.to_digit(16).ok_or_else(invalid)?;
            // At most eight digits: never shifts a set bit out.
            bits = (bits << 4) | digit;
        }
        Ok(DstRule::from_bits(bits))
    }

    /// The rule's moment in `year`, as local wall-clock seconds since
    /// 1970-01-01T00:00 local.
    ///
    /// A fifth occurrence (operator 6) that the month does not have is read as
    /// the last (fourth) one. A day of the month past the month's end is read
    /// as its last day; for operator 1 the weekday found may then be in the
    /// next month, and a day of the month of 0 is read as 1. Fields set by
    /// hand outside the schema's ranges are clamped (month to 1-12, day of the
    /// week to 1-7; operators above 7 act as 7), so any value gives an answer.
    ///
    /// ```
    /// use espi_model::local_time::DstRule;
    /// let rule = DstRule::from_bits(0x360E_2000).unwrap();
    /// // 2024-03-10T02:00:00 (local) is 1710036000 seconds after 1970-01-01T00:00 (local).
    /// assert_eq!(rule.local_seconds_in(2024), 1_710_036_000);
    /// ```
    pub fn local_seconds_in(&self, year: i32) -> i64 {
        // |year| <= 2^31: every intermediate value stays below 2^57.
        let year = i64::from(year);
        let month = u32::from(self.month.clamp(1, 12));
        let first = days_from_civil(year, month, 1);
        let next = if month == 12 {
            days_from_civil(year + 1, 1, 1)
        } else {
            days_from_civil(year, month + 1, 1)
        };
        let days_in_month = next - first;
        let last = next - 1;
        let dow = i64::from(self.day_of_week.clamp(1, 7));
        let day_of_month = i64::from(self.day_of_month).clamp(1, days_in_month);
        let day = match self.operator {
            0 => first + day_of_month - 1,
            1 => {
                let from = first + day_of_month - 1;
                from + (dow - weekday(from)).rem_euclid(7)
            }
            n @ 2..=6 => {
                let occurrence =
                    first + (dow - weekday(first)).rem_euclid(7) + 7 * (i64::from(n) - 2);
                // Only a fifth occurrence can miss; the fourth always exists.
                if occurrence > last {
                    occurrence - 7
                } else {
                    occurrence
                }
            }
            _ => last - (weekday(last) - dow).rem_euclid(7),
        };
        day * SECONDS_PER_DAY + i64::from(self.hour) * 3600 + i64::from(self.seconds)
    }
}

/// The decoded `LocalTimeParameters` (ESPI `TimeConfiguration`) resource.
///
/// ```
/// use espi_model::local_time::LocalTimeParameters;
/// // PG&E: Pacific time, DST from the second Sunday of March to the first
/// // Sunday of November, 02:00 local.
/// let pacific = LocalTimeParameters::from_fields(
///     "-28800",
///     Some("3600"),
///     Some("360E2000"),
///     Some("B40E2000"),
/// )?;
/// // 2024-07-01T00:00:00Z is 17:00 PDT (UTC-7) on June 30.
/// assert_eq!(pacific.offset_at(1_719_792_000), (-25_200, true));
/// // 2024-01-01T00:00:00Z is 16:00 PST (UTC-8) on December 31.
/// assert_eq!(pacific.offset_at(1_704_067_200), (-28_800, false));
/// // DST 2024: 2024-03-10T10:00:00Z to 2024-11-03T09:00:00Z.
/// assert_eq!(pacific.transitions(2024), Some((1_710_064_800, 1_730_624_400)));
/// # Ok::<(), espi_model::local_time::LocalTimeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTimeParameters {
    /// `tzOffset`: seconds east of UTC of local standard time.
    pub tz_offset_s: i64,
    /// `dstOffset`: seconds added to standard time while DST is in force.
    pub dst_offset_s: i64,
    /// `dstStartRule`, `None` for no DST.
    pub dst_start: Option<DstRule>,
    /// `dstEndRule`, `None` for no DST.
    pub dst_end: Option<DstRule>,
}

/// A stretch of UTC seconds `[lo, hi)` with one offset.
#[derive(Debug, Clone, Copy)]
struct Span {
    lo: i64,
    hi: i64,
    offset_s: i64,
    is_dst: bool,
}

impl LocalTimeParameters {
    /// From the element texts (`tzOffset` required; the others optional).
    ///
    /// Offsets are integers of seconds within two days ([`MAX_OFFSET_S`]) of
    /// zero; an absent `dstOffset` is 0 (no DST). Rules are read by
    /// [`DstRule::parse`]; an absent rule is no DST. Errors name the element.
    pub fn from_fields(
        tz_offset: &str,
        dst_offset: Option<&str>,
        dst_start_rule: Option<&str>,
        dst_end_rule: Option<&str>,
    ) -> Result<Self, LocalTimeError> {
        let rule = |field: &'static str, text: Option<&str>| match text {
            Some(text) => DstRule::parse(text).map_err(|e| e.with_field(field)),
            None => Ok(None),
        };
        Ok(LocalTimeParameters {
            tz_offset_s: parse_offset("tzOffset", tz_offset)?,
            dst_offset_s: match dst_offset {
                Some(text) => parse_offset("dstOffset", text)?,
                None => 0,
            },
            dst_start: rule("dstStartRule", dst_start_rule)?,
            dst_end: rule("dstEndRule", dst_end_rule)?,
        })
    }

    /// Whether DST is observed at all: both rules are present and the DST
    /// offset is not zero.
    pub fn has_dst(&self) -> bool {
        self.dst_offset_s != 0 && self.dst_start.is_some() && self.dst_end.is_some()
    }

    /// DST start and end instants (UTC seconds) of `year`'s rules, `None`
    /// without DST ([`has_dst`](Self::has_dst)).
    ///
    /// Where DST spans the new year (southern hemisphere) the start is later
    /// than the end: DST is in force before the end and from the start on.
    pub fn transitions(&self, year: i32) -> Option<(i64, i64)> {
        let (start, end) = (self.dst_start?, self.dst_end?);
        if self.dst_offset_s == 0 {
            return None;
        }
        let start_utc = start
            .local_seconds_in(year)
            .saturating_sub(self.tz_offset_s);
        let end_utc = end
            .local_seconds_in(year)
            .saturating_sub(self.tz_offset_s)
            .saturating_sub(self.dst_offset_s);
        Some((start_utc, end_utc))
    }

    /// UTC offset in seconds in force at `utc_s` (seconds since the epoch),
    /// and whether DST is in force.
    ///
    /// DST is in force from a start instant (inclusive) up to the next end
    /// instant (exclusive). Instants more than a million years from 1970 are
    /// in standard time.
    pub fn offset_at(&self, utc_s: i64) -> (i64, bool) {
        let span = self.span_at(utc_s);
        (span.offset_s, span.is_dst)
    }

    /// The stretch of UTC seconds around `t` over which the offset is the one
    /// in force at `t`.
    fn span_at(&self, t: i64) -> Span {
        let standard = self.tz_offset_s;
        let whole = Span {
            lo: i64::MIN,
            hi: i64::MAX,
            offset_s: standard,
            is_dst: false,
        };
        if !self.has_dst() {
            return whole;
        }
        // DST only in local standard years -MAX_DST_YEAR..=MAX_DST_YEAR.
        let range_lo =
            (days_from_civil(-MAX_DST_YEAR, 1, 1) * SECONDS_PER_DAY).saturating_sub(standard);
        let range_hi =
            (days_from_civil(MAX_DST_YEAR + 1, 1, 1) * SECONDS_PER_DAY).saturating_sub(standard);
        if t < range_lo {
            return Span {
                hi: range_lo,
                ..whole
            };
        }
        if t >= range_hi {
            return Span {
                lo: range_hi,
                ..whole
            };
        }
        let local = t.saturating_add(standard);
        let year = civil_from_days(local.div_euclid(SECONDS_PER_DAY)).0;
        let year = i32::try_from(year.clamp(-MAX_DST_YEAR, MAX_DST_YEAR)).unwrap_or(0);
        // With offsets within two days, the transitions of the years around
        // `year` always include one at or before `t` and one after it.
        let mut events = [(0_i64, false); 10];
        for (k, y) in (year - 2..=year + 2).enumerate() {
            let Some((start, end)) = self.transitions(y) else {
                return whole;
            };
            events[2 * k] = (start, true);
            events[2 * k + 1] = (end, false);
        }
        // At equal instants a start sorts before an end, so the end wins.
        events.sort_unstable_by_key(|&(at, is_start)| (at, !is_start));
        let (lo, hi, is_dst) = match events.iter().rposition(|&(at, _)| at <= t) {
            Some(k) => {
                let hi = events.get(k + 1).map_or(t.saturating_add(1), |e| e.0);
                (events[k].0, hi, events[k].1)
            }
            // Only with offsets beyond two days set by hand.
            None => (range_lo, events[0].0, false),
        };
        Span {
            lo: lo.max(range_lo),
            hi: hi.min(range_hi),
            offset_s: if is_dst {
                standard.saturating_add(self.dst_offset_s)
            } else {
                standard
            },
            is_dst,
        }
    }
}

/// Parse an offset element: integer seconds within [`MAX_OFFSET_S`] of zero.
fn parse_offset(field: &'static str, text: &str) -> Result<i64, LocalTimeError> {
    let value = parse_i64(text.as_bytes()).map_err(|_| LocalTimeError::InvalidOffset {
        field,
        text: excerpt(text),
    })?;
    if value.checked_abs().is_none_or(|v| v > MAX_OFFSET_S) {
        return Err(LocalTimeError::OffsetOutOfRange {
            field,
            text: excerpt(text),
        });
    }
    Ok(value)
}

/// Converts many UTC instants (microseconds) to local time fast: caches the
/// stretch between the transitions around the instant last asked for, so the
/// cost per reading is two compares and an add until the next transition.
///
/// Gives exactly what [`LocalTimeParameters::offset_at`] gives.
///
/// ```
/// use espi_model::local_time::{LocalClock, LocalTimeParameters};
/// let pacific = LocalTimeParameters::from_fields(
///     "-28800", Some("3600"), Some("360E2000"), Some("B40E2000"),
/// )?;
/// let mut clock = LocalClock::new(pacific);
/// // 2024-11-03T08:30Z and 09:30Z are both 01:30 local: PDT, then PST.
/// let local_0130 = 1_730_597_400_000_000; // 2024-11-03T01:30 as local microseconds
/// assert_eq!(clock.local_us(1_730_622_600_000_000), (local_0130, true));
/// assert_eq!(clock.local_us(1_730_626_200_000_000), (local_0130, false));
/// # Ok::<(), espi_model::local_time::LocalTimeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct LocalClock {
    params: LocalTimeParameters,
    /// Cached stretch `[lo_us, hi_us)` of UTC microseconds (empty at first).
    lo_us: i64,
    hi_us: i64,
    offset_us: i64,
    is_dst: bool,
}

impl LocalClock {
    /// A clock for `params`, with nothing cached yet.
    pub fn new(params: LocalTimeParameters) -> Self {
        LocalClock {
            params,
            lo_us: 0,
            hi_us: 0,
            offset_us: 0,
            is_dst: false,
        }
    }

    /// The parameters this clock applies.
    pub fn params(&self) -> &LocalTimeParameters {
        &self.params
    }

    /// (local wall-clock microseconds since 1970-01-01T00:00 local, is_dst)
    /// of `utc_us` (UTC microseconds since the epoch). Saturates at the ends
    /// of the `i64` range.
    #[inline]
    pub fn local_us(&mut self, utc_us: i64) -> (i64, bool) {
        if utc_us < self.lo_us || utc_us >= self.hi_us {
            self.refill(utc_us);
        }
        (utc_us.saturating_add(self.offset_us), self.is_dst)
    }

    #[cold]
    fn refill(&mut self, utc_us: i64) {
        let span = self.params.span_at(utc_us.div_euclid(MICROS_PER_SECOND));
        // Spans start and end on whole seconds, so comparing microseconds
        // against them is exact; saturation only widens the ends to the
        // i64 range (or, at i64::MAX, makes every call a refill).
        self.lo_us = span.lo.saturating_mul(MICROS_PER_SECOND);
        self.hi_us = span.hi.saturating_mul(MICROS_PER_SECOND);
        self.offset_us = span.offset_s.saturating_mul(MICROS_PER_SECOND);
        self.is_dst = span.is_dst;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Rules, encoded by hand from the bit layout
    // (month << 28 | operator << 25 | day_of_month << 20 | day_of_week << 17 | hour << 12 | seconds).

    /// US since 2007, start: March, operator 3 (second), Sunday, 02:00.
    const US_START: &str = "360E2000";
    /// US since 2007, end: November, operator 2 (first), Sunday, 02:00.
    const US_END: &str = "B40E2000";
    /// Sydney start: October (0xA), operator 2 (first), Sunday (7), 02:00:
    /// 0xA000_0000 | 0x0400_0000 | 0x000E_0000 | 0x2000.
    const SYDNEY_START: &str = "A40E2000";
    /// Sydney end: April (4), operator 2 (first), Sunday, 03:00:
    /// 0x4000_0000 | 0x0400_0000 | 0x000E_0000 | 0x3000.
    const SYDNEY_END: &str = "440E3000";
    /// EU (UK) start: March, operator 7 (last), Sunday, 01:00 GMT:
    /// 0x3000_0000 | 0x0E00_0000 | 0x000E_0000 | 0x1000.
    const EU_START: &str = "3E0E1000";
    /// EU (UK) end: October, operator 7 (last), Sunday, 02:00 BST (01:00 UTC):
    /// 0xA000_0000 | 0x0E00_0000 | 0x000E_0000 | 0x2000.
    const EU_END: &str = "AE0E2000";

    const QUARTER_HOUR_US: i64 = 900 * MICROS_PER_SECOND;

    fn params(tz: &str, dst: &str, start: &str, end: &str) -> LocalTimeParameters {
        LocalTimeParameters::from_fields(tz, Some(dst), Some(start), Some(end)).unwrap()
    }

    fn pacific() -> LocalTimeParameters {
        params("-28800", "3600", US_START, US_END)
    }

    fn sydney() -> LocalTimeParameters {
        params("36000", "3600", SYDNEY_START, SYDNEY_END)
    }

    fn london() -> LocalTimeParameters {
        params("0", "3600", EU_START, EU_END)
    }

    /// Seconds since the epoch of a UTC (or, read as local, local) date-time.
    fn at(y: i64, mo: u32, d: u32, h: i64, mi: i64) -> i64 {
        days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60
    }

    /// The local date of local microseconds.
    fn local_date(local_us: i64) -> (i64, u32, u32) {
        civil_from_days(local_us.div_euclid(86_400 * MICROS_PER_SECOND))
    }

    #[test]
    fn decodes_the_us_rules() {
        let start = DstRule::from_bits(0x360E_2000).unwrap();
        assert_eq!(
            start,
            DstRule {
                month: 3,
                operator: 3,
                day_of_week: 7,
                day_of_month: 0,
                hour: 2,
                seconds: 0
            }
        );
        let end = DstRule::from_bits(0xB40E_2000).unwrap();
        assert_eq!(
            end,
            DstRule {
                month: 11,
                operator: 2,
                day_of_week: 7,
                day_of_month: 0,
                hour: 2,
                seconds: 0
            }
        );
        // The schema's example: third Friday of March at 01:45 (2700 s):
        // 0x3000_0000 | 4 << 25 | 5 << 17 | 1 << 12 | 0xA8C.
        let example = DstRule::from_bits(0x380A_1A8C).unwrap();
        assert_eq!(
            example,
            DstRule {
                month: 3,
                operator: 4,
                day_of_week: 5,
                day_of_month: 0,
                hour: 1,
                seconds: 2700
            }
        );
        // March 2024: Fridays 1, 8, 15.
        assert_eq!(example.local_seconds_in(2024), 1_710_467_100); // 2024-03-15T01:45
    }

    #[test]
    fn ffffffff_and_unusable_rules_mean_no_dst() {
        assert_eq!(DstRule::from_bits(0xFFFF_FFFF), None);
        assert_eq!(DstRule::from_bits(0), None); // month 0
        assert_eq!(DstRule::from_bits(0x060E_2000), None); // month 0
        assert_eq!(DstRule::from_bits(0xD60E_2000), None); // month 13
        assert_eq!(DstRule::from_bits(0x3600_2000), None); // second "day 0" of March
        assert_eq!(DstRule::from_bits(0x3000_2000), None); // operator 0, day of month 0
        assert_eq!(DstRule::parse("FFFFFFFF"), Ok(None));
        assert_eq!(DstRule::parse(" ffffffff\n"), Ok(None));
        assert_eq!(DstRule::parse(""), Ok(None));
        assert_eq!(DstRule::parse("00000000"), Ok(None));

        let none = params("-28800", "3600", "FFFFFFFF", "FFFFFFFF");
        assert!(!none.has_dst());
        assert_eq!(none.transitions(2024), None);
        assert_eq!(none.offset_at(1_719_792_000), (-28_800, false));
        // One rule disabled, or absent, is no DST.
        let half = params("-28800", "3600", US_START, "FFFFFFFF");
        assert_eq!(half.transitions(2024), None);
        assert_eq!(half.offset_at(1_719_792_000), (-28_800, false));
        let absent =
            LocalTimeParameters::from_fields("-28800", Some("3600"), None, Some(US_END)).unwrap();
        assert_eq!(absent.offset_at(1_719_792_000), (-28_800, false));
        // No or zero dstOffset: no DST either.
        let zero = params("-28800", "0", US_START, US_END);
        assert_eq!(zero.transitions(2024), None);
        assert_eq!(zero.offset_at(1_719_792_000), (-28_800, false));
        let no_offset =
            LocalTimeParameters::from_fields("-28800", None, Some(US_START), Some(US_END)).unwrap();
        assert_eq!(no_offset.offset_at(1_719_792_000), (-28_800, false));
        let mut clock = LocalClock::new(none);
        assert_eq!(clock.local_us(0), (-28_800_000_000, false));
    }

    #[test]
    fn parses_rule_text_forms() {
        let start = DstRule::from_bits(0x360E_2000);
        assert!(start.is_some());
        for text in [
            "360E2000",
            "360e2000",
            " 360E2000 ",
            "0x360E2000",
            "0X360e2000",
            "\t0x360E2000\r\n",
        ] {
            assert_eq!(DstRule::parse(text), Ok(start), "{text:?}");
        }
        for text in [
            "360E20001",
            "0x360E20001",
            "0x",
            "0x ",
            "zz",
            "360E 2000",
            "+360E2000",
            "-1",
            "360E2000h",
            "３６０",
        ] {
            match DstRule::parse(text) {
                Err(LocalTimeError::InvalidRule { field, text: kept }) => {
                    assert_eq!(field, "dstRule");
                    assert_eq!(kept, text);
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn from_fields_errors_name_the_field() {
        let err = LocalTimeParameters::from_fields("PST", None, None, None).unwrap_err();
        assert_eq!(
            err,
            LocalTimeError::InvalidOffset {
                field: "tzOffset",
                text: "PST".into()
            }
        );
        assert!(err.to_string().contains("tzOffset") && err.to_string().contains("PST"));
        let err =
            LocalTimeParameters::from_fields("-28800", Some("3600.0"), None, None).unwrap_err();
        assert_eq!(err.field(), "dstOffset");
        let err = LocalTimeParameters::from_fields("172801", None, None, None).unwrap_err();
        assert_eq!(
            err,
            LocalTimeError::OffsetOutOfRange {
                field: "tzOffset",
                text: "172801".into()
            }
        );
        let err = LocalTimeParameters::from_fields("0", Some("-9223372036854775808"), None, None)
            .unwrap_err();
        assert!(matches!(
            err,
            LocalTimeError::OffsetOutOfRange {
                field: "dstOffset",
                ..
            }
        ));
        let err = LocalTimeParameters::from_fields("0", Some("3600"), Some("xyz"), Some(US_END))
            .unwrap_err();
        assert_eq!(
            err,
            LocalTimeError::InvalidRule {
                field: "dstStartRule",
                text: "xyz".into()
            }
        );
        assert!(err.to_string().contains("dstStartRule"));
        let err =
            LocalTimeParameters::from_fields("0", Some("3600"), Some(US_START), Some("1234567890"))
                .unwrap_err();
        assert_eq!(err.field(), "dstEndRule");
        // Long texts are cut to 64 characters in the error.
        let long = "x".repeat(1000);
        let err = LocalTimeParameters::from_fields(&long, None, None, None).unwrap_err();
        assert!(matches!(err, LocalTimeError::InvalidOffset { ref text, .. } if text.len() == 64));
        // Two days either way is accepted, with whitespace and sign.
        let p = LocalTimeParameters::from_fields(" -172800 ", Some("+172800"), None, None).unwrap();
        assert_eq!((p.tz_offset_s, p.dst_offset_s), (-172_800, 172_800));
    }

    #[test]
    fn us_pacific_transitions() {
        let p = pacific();
        // Published US DST dates, 02:00 local: UTC = 10:00 (PST) and 09:00 (PDT).
        // 2023-03-12T10:00Z, 2023-11-05T09:00Z
        assert_eq!(p.transitions(2023), Some((1_678_615_200, 1_699_174_800)));
        // 2024-03-10T10:00Z, 2024-11-03T09:00Z
        assert_eq!(p.transitions(2024), Some((1_710_064_800, 1_730_624_400)));
        // 2025-03-09T10:00Z, 2025-11-02T09:00Z
        assert_eq!(p.transitions(2025), Some((1_741_514_400, 1_762_074_000)));
        assert_eq!(
            p.transitions(2024),
            Some((at(2024, 3, 10, 10, 0), at(2024, 11, 3, 9, 0)))
        );
    }

    #[test]
    fn spring_forward_2024() {
        let p = pacific();
        let start = at(2024, 3, 10, 10, 0);
        assert_eq!(start, 1_710_064_800);
        // 09:45 UTC is 01:45 PST; 10:00 UTC is 03:00 PDT.
        assert_eq!(p.offset_at(start - 900), (-28_800, false));
        assert_eq!(p.offset_at(start - 1), (-28_800, false));
        assert_eq!(p.offset_at(start), (-25_200, true));
        let mut clock = LocalClock::new(p);
        let us = |s: i64| s * MICROS_PER_SECOND;
        assert_eq!(
            clock.local_us(us(start - 900)),
            (us(at(2024, 3, 10, 1, 45)), false)
        );
        assert_eq!(clock.local_us(us(start)), (us(at(2024, 3, 10, 3, 0)), true));
        // The local day 2024-03-10 has 23 hours: 92 quarter-hours, from
        // 08:00 UTC (00:00 PST) to 07:00 UTC next day (00:00 PDT).
        let mut count = 0;
        let mut first = None;
        let mut t = us(at(2024, 3, 9, 0, 0));
        while t < us(at(2024, 3, 12, 0, 0)) {
            if local_date(clock.local_us(t).0) == (2024, 3, 10) {
                count += 1;
                first.get_or_insert(t);
            }
            t += QUARTER_HOUR_US;
        }
        assert_eq!(count, 92);
        assert_eq!(first, Some(us(at(2024, 3, 10, 8, 0))));
        // No local time between 02:00 and 03:00 occurs.
        let mut t = us(at(2024, 3, 10, 0, 0));
        while t < us(at(2024, 3, 11, 0, 0)) {
            let local = clock.local_us(t).0;
            assert!(!(us(at(2024, 3, 10, 2, 0))..us(at(2024, 3, 10, 3, 0))).contains(&local));
            t += QUARTER_HOUR_US;
        }
    }

    #[test]
    fn fall_back_2024() {
        let p = pacific();
        let mut clock = LocalClock::new(p);
        let us = |s: i64| s * MICROS_PER_SECOND;
        let local_0100 = us(at(2024, 11, 3, 1, 0));
        let local_0130 = us(at(2024, 11, 3, 1, 30));
        assert_eq!(
            clock.local_us(us(at(2024, 11, 3, 8, 0))),
            (local_0100, true)
        );
        assert_eq!(
            clock.local_us(us(at(2024, 11, 3, 8, 30))),
            (local_0130, true)
        );
        assert_eq!(
            clock.local_us(us(at(2024, 11, 3, 9, 0))),
            (local_0100, false)
        );
        assert_eq!(
            clock.local_us(us(at(2024, 11, 3, 9, 30))),
            (local_0130, false)
        );
        assert_eq!(p.offset_at(1_730_624_400 - 1), (-25_200, true));
        assert_eq!(p.offset_at(1_730_624_400), (-28_800, false));
        // The local day 2024-11-03 has 25 hours: 100 quarter-hours, from
        // 07:00 UTC (00:00 PDT) to 08:00 UTC next day (00:00 PST).
        let mut count = 0;
        let mut first = None;
        let mut t = us(at(2024, 11, 2, 0, 0));
        while t < us(at(2024, 11, 5, 0, 0)) {
            if local_date(clock.local_us(t).0) == (2024, 11, 3) {
                count += 1;
                first.get_or_insert(t);
            }
            t += QUARTER_HOUR_US;
        }
        assert_eq!(count, 100);
        assert_eq!(first, Some(us(at(2024, 11, 3, 7, 0))));
    }

    #[test]
    fn sydney_southern_hemisphere() {
        let p = sydney();
        // DST ended 2024-04-07 03:00 AEDT = 2024-04-06T16:00Z and started
        // 2024-10-06 02:00 AEST = 2024-10-05T16:00Z: start after end.
        assert_eq!(p.transitions(2024), Some((1_728_144_000, 1_712_419_200)));
        // DST across the new year, standard in the (southern) winter.
        assert_eq!(p.offset_at(1_704_067_200), (39_600, true)); // 2024-01-01T00:00Z
        assert_eq!(p.offset_at(1_712_419_200 - 1), (39_600, true));
        assert_eq!(p.offset_at(1_712_419_200), (36_000, false));
        assert_eq!(p.offset_at(1_719_792_000), (36_000, false)); // 2024-07-01T00:00Z
        assert_eq!(p.offset_at(1_728_144_000 - 1), (36_000, false));
        assert_eq!(p.offset_at(1_728_144_000), (39_600, true));
        assert_eq!(p.offset_at(at(2024, 12, 31, 23, 59)), (39_600, true));
        assert_eq!(p.offset_at(at(2025, 1, 1, 0, 0)), (39_600, true));
        // Repeated hour 02:00-03:00 local on 2024-04-07.
        let mut clock = LocalClock::new(p);
        let us = |s: i64| s * MICROS_PER_SECOND;
        let local_0230 = us(at(2024, 4, 7, 2, 30));
        assert_eq!(
            clock.local_us(us(at(2024, 4, 6, 15, 30))),
            (local_0230, true)
        );
        assert_eq!(
            clock.local_us(us(at(2024, 4, 6, 16, 30))),
            (local_0230, false)
        );
    }

    #[test]
    fn london_last_sunday_rules() {
        let p = london();
        // 2024-03-31T01:00Z and 2024-10-27T01:00Z.
        assert_eq!(p.transitions(2024), Some((1_711_846_800, 1_729_990_800)));
        assert_eq!(p.offset_at(1_711_846_800 - 1), (0, false));
        assert_eq!(p.offset_at(1_711_846_800), (3600, true));
        assert_eq!(p.offset_at(1_729_990_800 - 1), (3600, true));
        assert_eq!(p.offset_at(1_729_990_800), (0, false));
    }

    #[test]
    fn operator_0_fixed_day_of_month() {
        // March 21, 00:00: 0x3000_0000 | 21 << 20 (0x0150_0000).
        let rule = DstRule::parse("31500000").unwrap().unwrap();
        assert_eq!((rule.operator, rule.day_of_month, rule.hour), (0, 21, 0));
        assert_eq!(rule.local_seconds_in(2024), 1_710_979_200); // 2024-03-21T00:00
                                                                // Day 31 in a 30-day month is read as its last day: April 31 -> April 30.
        let april_31 = DstRule::from_bits(0x41F0_0000).unwrap();
        assert_eq!(april_31.local_seconds_in(2024), at(2024, 4, 30, 0, 0));
        // February 29 -> 28 in a common year.
        let feb_29 = DstRule::from_bits(0x21D0_0000).unwrap();
        assert_eq!(feb_29.local_seconds_in(2023), at(2023, 2, 28, 0, 0));
        assert_eq!(feb_29.local_seconds_in(2024), at(2024, 2, 29, 0, 0));
    }

    #[test]
    fn operator_1_on_or_after() {
        // Sunday on or after March 8, 02:00 (same as the second Sunday):
        // 0x3000_0000 | 1 << 25 | 8 << 20 | 7 << 17 | 2 << 12.
        let rule = DstRule::parse("328E2000").unwrap().unwrap();
        assert_eq!(rule.local_seconds_in(2024), 1_710_036_000); // 2024-03-10T02:00
                                                                // US rules 1987-2006: first Sunday on or after April 1 (0x421E2000), last
                                                                // Sunday of October (0xAE0E2000). 2006: 2006-04-02T10:00Z, 2006-10-29T09:00Z.
        let p = params("-28800", "3600", "421E2000", "AE0E2000");
        assert_eq!(p.transitions(2006), Some((1_143_972_000, 1_162_112_400)));
        // When the day itself is the weekday: Sunday on or after 2024-03-10.
        let same_day = DstRule::from_bits(0x32AE_2000).unwrap();
        assert_eq!(same_day.local_seconds_in(2024), 1_710_036_000);
        // Runs into the next month: Sunday on or after 2024-03-31 is March 31,
        // Monday on or after 2024-03-31 is April 1 (0x3000_0000 | 1 << 25 | 31 << 20 | 1 << 17).
        let monday = DstRule::from_bits(0x33F2_0000).unwrap();
        assert_eq!(monday.local_seconds_in(2024), at(2024, 4, 1, 0, 0));
    }

    #[test]
    fn nth_and_last_occurrences() {
        // March 2024 Sundays: 3, 10, 17, 24, 31.
        let sunday = |op: u32| DstRule::from_bits(0x3000_0000 | op << 25 | 7 << 17).unwrap();
        for (op, day) in [(2, 3), (3, 10), (4, 17), (5, 24), (6, 31), (7, 31)] {
            assert_eq!(
                sunday(op).local_seconds_in(2024),
                at(2024, 3, day, 0, 0),
                "op {op}"
            );
        }
        // February 2024 Sundays: 4, 11, 18, 25: no fifth, so the fifth is the last (25th).
        let fifth_feb = DstRule::parse("2C0E0000").unwrap().unwrap();
        assert_eq!(fifth_feb.local_seconds_in(2024), 1_708_819_200); // 2024-02-25T00:00
        let last_feb = DstRule::parse("2E0E0000").unwrap().unwrap();
        assert_eq!(last_feb.local_seconds_in(2024), 1_708_819_200);
        // Last Thursday of February 2024 (leap year) is the 29th; 2023, the 23rd.
        let last_thu = DstRule::from_bits(0x2000_0000 | 7 << 25 | 4 << 17).unwrap();
        assert_eq!(last_thu.local_seconds_in(2024), at(2024, 2, 29, 0, 0));
        assert_eq!(last_thu.local_seconds_in(2023), at(2023, 2, 23, 0, 0));
        // Seconds and hours add up: 23:59:59 (hour 23, 3599 s).
        let late = DstRule::from_bits(0x3E0E_0000 | 23 << 12 | 3599).unwrap();
        assert_eq!(late.local_seconds_in(2024), at(2024, 3, 31, 23, 59) + 59);
    }

    #[test]
    fn rules_match_the_tz_database() {
        for (zone, p, table) in [
            ("America/Los_Angeles", pacific(), LOS_ANGELES),
            ("Europe/London", london(), LONDON),
            ("Australia/Sydney", sydney(), SYDNEY),
        ] {
            for &(year, start, end) in table {
                assert_eq!(p.transitions(year), Some((start, end)), "{zone} {year}");
                assert!(
                    p.offset_at(start).1 && !p.offset_at(start - 1).1,
                    "{zone} {year}"
                );
                assert!(
                    !p.offset_at(end).1 && p.offset_at(end - 1).1,
                    "{zone} {year}"
                );
            }
        }
    }

    /// Every 15 minutes over 2023 and 2024, LocalClock agrees with offset_at;
    /// also when instants jump back and forth.
    #[test]
    fn clock_matches_offset_at() {
        let no_dst = params("19800", "3600", "FFFFFFFF", US_END);
        let odd = params("-12345", "-1800", "B40E2000", "360E2000");
        for p in [pacific(), sydney(), london(), no_dst, odd] {
            let mut clock = LocalClock::new(p);
            let from = at(2023, 1, 1, 0, 0) * MICROS_PER_SECOND;
            let to = at(2025, 1, 1, 0, 0) * MICROS_PER_SECOND;
            let check = |clock: &mut LocalClock, utc_us: i64| {
                let (offset, dst) = p.offset_at(utc_us.div_euclid(MICROS_PER_SECOND));
                assert_eq!(
                    clock.local_us(utc_us),
                    (utc_us + offset * MICROS_PER_SECOND, dst),
                    "{p:?} {utc_us}"
                );
            };
            let mut t = from;
            let mut n = 0;
            while t < to {
                check(&mut clock, t);
                t += QUARTER_HOUR_US;
                n += 1;
            }
            assert_eq!(n, 731 * 96);
            // Sub-second instants around each transition, and jumps.
            for year in 2023..=2024 {
                if let Some((start, end)) = p.transitions(year) {
                    for edge in [start, end] {
                        for d in [
                            -1_000_001, -1_000_000, -999_999, -1, 0, 1, 999_999, 1_000_000,
                        ] {
                            check(&mut clock, edge * MICROS_PER_SECOND + d);
                            check(&mut clock, from);
                        }
                    }
                }
            }
            let mut x: u64 = 1;
            for _ in 0..2000 {
                x = lcg(x);
                check(&mut clock, from + (x % (to - from) as u64) as i64);
            }
        }
    }

    fn lcg(x: u64) -> u64 {
        x.wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407)
    }

    /// Pseudo-random rule bits, offsets, years and instants: nothing panics
    /// or overflows (run the tests without --release for overflow checks),
    /// DST is only ever in force with usable rules, and the clock agrees with
    /// offset_at.
    #[test]
    fn no_panic_sweep() {
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = || {
            x = lcg(x);
            x
        };
        let extremes = [i64::MIN, i64::MIN + 1, -1, 0, 1, i64::MAX - 1, i64::MAX];
        for i in 0..4000 {
            let (a, b) = (next(), next());
            let start_bits = (a >> 32) as u32;
            let end_bits = (b >> 32) as u32;
            let start = DstRule::from_bits(start_bits);
            let end = DstRule::from_bits(end_bits);
            assert_eq!(DstRule::parse(&format!("{start_bits:08x}")), Ok(start));
            assert_eq!(DstRule::parse(&format!("0X{end_bits:X}")), Ok(end));
            let tz = (next() % (2 * MAX_OFFSET_S as u64 + 1)) as i64 - MAX_OFFSET_S;
            let dst = (next() % (2 * MAX_OFFSET_S as u64 + 1)) as i64 - MAX_OFFSET_S;
            let p = LocalTimeParameters::from_fields(
                &tz.to_string(),
                Some(&dst.to_string()),
                Some(&format!("{start_bits:08X}")),
                Some(&format!("{end_bits:08X}")),
            )
            .unwrap();
            assert_eq!((p.dst_start, p.dst_end), (start, end));
            let year = (next() % 20_001) as i32 - 10_000;
            for rule in [start, end].into_iter().flatten() {
                for y in [year, i32::MIN, i32::MAX, 0, -1] {
                    let _ = rule.local_seconds_in(y);
                }
            }
            let _ = p.transitions(year);
            let _ = p.transitions(i32::MIN);
            let _ = p.transitions(i32::MAX);
            let mut clock = LocalClock::new(p);
            let base = at(i64::from(year), 1, 1, 0, 0);
            for k in 0..8 {
                let t = base + (next() % (2 * 366 * 86_400)) as i64 - 366 * 86_400;
                let (offset, is_dst) = p.offset_at(t);
                assert!(p.has_dst() || !is_dst);
                assert_eq!(offset, if is_dst { tz + dst } else { tz });
                let t_us = t * MICROS_PER_SECOND + (k * 123_457) % MICROS_PER_SECOND;
                assert_eq!(
                    clock.local_us(t_us),
                    (t_us + offset * MICROS_PER_SECOND, is_dst)
                );
            }
            let random = next() as i64;
            for &t in extremes.iter().chain([random].iter()) {
                let _ = p.offset_at(t);
                let _ = clock.local_us(t);
            }
            // Raw fields outside every range.
            let wild = LocalTimeParameters {
                tz_offset_s: extremes[i % extremes.len()],
                dst_offset_s: extremes[(i / 7) % extremes.len()],
                dst_start: Some(DstRule {
                    month: next() as u8,
                    operator: next() as u8,
                    day_of_week: next() as u8,
                    day_of_month: next() as u8,
                    hour: next() as u8,
                    seconds: next() as u16,
                }),
                dst_end: end.or(start),
            };
            let mut wild_clock = LocalClock::new(wild);
            for &t in extremes.iter().chain([random, base].iter()) {
                let _ = wild.offset_at(t);
                let _ = wild.transitions(year);
                let _ = wild_clock.local_us(t);
            }
        }
    }

    #[test]
    fn extreme_instants_and_years() {
        let p = pacific();
        // Far outside a million years: standard time, saturating.
        assert_eq!(p.offset_at(i64::MIN), (-28_800, false));
        assert_eq!(p.offset_at(i64::MAX), (-28_800, false));
        let mut clock = LocalClock::new(p);
        assert_eq!(clock.local_us(i64::MIN), (i64::MIN, false));
        assert_eq!(clock.local_us(i64::MAX), (i64::MAX - 28_800_000_000, false));
        assert_eq!(clock.local_us(i64::MAX), (i64::MAX - 28_800_000_000, false));
        // The ends of the microsecond range (about 292,000 years) still have DST
        // by the rules: mid-July is in DST, mid-January is not.
        let july = at(290_000, 7, 15, 12, 0);
        assert_eq!(p.offset_at(july), (-25_200, true));
        assert!(clock.local_us(july * MICROS_PER_SECOND).1);
        let july_bc = at(-290_000, 7, 15, 12, 0);
        assert_eq!(p.offset_at(july_bc), (-25_200, true));
        assert_eq!(p.offset_at(at(-290_000, 1, 15, 12, 0)), (-28_800, false));
        // Years -10000 and 10000: second Sunday of March and first of November.
        for year in [-10_000, 10_000] {
            let (start, end) = p.transitions(year).unwrap();
            let (y, m, d) = civil_from_days((start - 28_800).div_euclid(86_400));
            assert_eq!((y, m), (i64::from(year), 3));
            assert!((8..=14).contains(&d));
            assert_eq!(weekday(days_from_civil(y, m, d)), 7);
            let (y, m, d) = civil_from_days((end - 25_200).div_euclid(86_400));
            assert_eq!((y, m), (i64::from(year), 11));
            assert!((1..=7).contains(&d));
            assert_eq!(weekday(days_from_civil(y, m, d)), 7);
        }
        // Year 10000: 2024-style check against a known date, 10000-03-12 is a Sunday
        // (the Gregorian calendar repeats every 400 years: 10000 = 2000 + 20 * 400,
        // and 2000-03-12 was a Sunday).
        assert_eq!(p.transitions(10_000).unwrap().0, at(10_000, 3, 12, 10, 0));
        let _ = p.transitions(i32::MIN);
        let _ = p.transitions(i32::MAX);
        assert!(
            DstRule::from_bits(0x360E_2000)
                .unwrap()
                .local_seconds_in(i32::MAX)
                > 0
        );
        assert!(
            DstRule::from_bits(0x360E_2000)
                .unwrap()
                .local_seconds_in(i32::MIN)
                < 0
        );
    }

    #[test]
    fn rule_moments_past_the_end_of_the_year() {
        // Hours above 23 are kept: December 31 at hour 31 is January 1, 07:00,
        // of the next year. Start: 0xC000_0000 | 31 << 20 | 31 << 12; end: hour 30
        // (daylight), so 05:00 UTC with tzOffset 0 and dstOffset 3600.
        let p = params("0", "3600", "C1F1F000", "C1F1E000");
        assert_eq!(
            p.transitions(2023),
            Some((at(2024, 1, 1, 7, 0), at(2024, 1, 1, 5, 0)))
        );
        // Both of 2023's transitions come after 2024-01-01T03:00Z, which is
        // still in the DST started by 2022's rule on 2023-01-01T07:00Z.
        let mut clock = LocalClock::new(p);
        for (t, expected) in [
            (at(2024, 1, 1, 3, 0), (3600, true)),
            (at(2024, 1, 1, 5, 0) - 1, (3600, true)),
            (at(2024, 1, 1, 5, 0), (0, false)),
            (at(2024, 1, 1, 7, 0) - 1, (0, false)),
            (at(2024, 1, 1, 7, 0), (3600, true)),
            (at(2024, 7, 1, 0, 0), (3600, true)),
        ] {
            assert_eq!(p.offset_at(t), expected, "{t}");
            let t_us = t * MICROS_PER_SECOND;
            assert_eq!(
                clock.local_us(t_us),
                (t_us + expected.0 * MICROS_PER_SECOND, expected.1)
            );
        }
    }

    #[test]
    fn start_and_end_at_the_same_instant_is_no_dst() {
        // Start 01:00 standard and end 02:00 daylight on the same day are the
        // same instant: DST lasts no time at all (the end wins the tie).
        // 0x3000_0000 | 7 << 25 | 7 << 17 | 1 << 12, and hour 2.
        let p = params("0", "3600", "3E0E1000", "3E0E2000");
        let (start, end) = p.transitions(2024).unwrap();
        assert_eq!(start, end);
        assert_eq!(start, 1_711_846_800); // 2024-03-31T01:00Z
        let mut clock = LocalClock::new(p);
        for t in [start - 1, start, start + 1, start + 86_400 * 100] {
            assert_eq!(p.offset_at(t), (0, false));
            assert!(!clock.local_us(t * MICROS_PER_SECOND).1);
        }
    }

    /// The state at an instant is set by the latest transition at or before
    /// it, here found by brute force over eleven years of transitions, for
    /// random rules (many at the ends of the year) and offsets up to two days.
    #[test]
    fn matches_brute_force_over_random_rules() {
        let mut x: u64 = 7;
        let mut next = || {
            x = lcg(x);
            x >> 16
        };
        let mut checked = 0;
        while checked < 3000 {
            let mut bits = [next() as u32, next() as u32];
            if next() % 2 == 0 {
                // Rules in January or December, so near the new year.
                bits[0] = bits[0] & 0x0FFF_FFFF
                    | if next() % 2 == 0 {
                        0x1000_0000
                    } else {
                        0xC000_0000
                    };
                bits[1] = bits[1] & 0x0FFF_FFFF
                    | if next() % 2 == 0 {
                        0x1000_0000
                    } else {
                        0xC000_0000
                    };
            }
            let (Some(start), Some(end)) =
                (DstRule::from_bits(bits[0]), DstRule::from_bits(bits[1]))
            else {
                continue;
            };
            let span = 2 * MAX_OFFSET_S as u64 + 1;
            let p = LocalTimeParameters {
                tz_offset_s: (next() % span) as i64 - MAX_OFFSET_S,
                dst_offset_s: (next() % span) as i64 - MAX_OFFSET_S,
                dst_start: Some(start),
                dst_end: Some(end),
            };
            if !p.has_dst() {
                continue;
            }
            let year = (next() % 400) as i32 + 1800;
            let new_year = at(i64::from(year), 1, 1, 0, 0);
            let mut clock = LocalClock::new(p);
            for _ in 0..10 {
                let t = new_year + (next() % (8 * 86_400)) as i64 - 4 * 86_400;
                let mut latest: Option<(i64, bool)> = None;
                for y in year - 5..=year + 5 {
                    let (s, e) = p.transitions(y).unwrap();
                    for (at, is_start) in [(s, true), (e, false)] {
                        let later = match latest {
                            None => true,
                            Some((l, l_start)) => at > l || (at == l && l_start && !is_start),
                        };
                        if at <= t && later {
                            latest = Some((at, is_start));
                        }
                    }
                }
                let is_dst = latest.unwrap().1;
                let offset = p.tz_offset_s + if is_dst { p.dst_offset_s } else { 0 };
                assert_eq!(p.offset_at(t), (offset, is_dst), "{p:?} {t}");
                let t_us = t * MICROS_PER_SECOND;
                assert_eq!(
                    clock.local_us(t_us),
                    (t_us + offset * MICROS_PER_SECOND, is_dst)
                );
            }
            checked += 1;
        }
    }

    #[test]
    fn weekday_of_known_dates() {
        assert_eq!(weekday(0), 4); // 1970-01-01, Thursday
        assert_eq!(weekday(days_from_civil(2024, 3, 10)), 7); // Sunday
        assert_eq!(weekday(days_from_civil(2000, 1, 1)), 6); // Saturday
        assert_eq!(weekday(days_from_civil(1969, 12, 29)), 1); // Monday
    }

    /// `America/Los_Angeles` (start, end) instants, UTC seconds, from the IANA tz database
    /// (Python `zoneinfo`), one row per year.
    const LOS_ANGELES: &[(i32, i64, i64)] = &[
        (2007, 1173607200, 1194166800),
        (2008, 1205056800, 1225616400),
        (2009, 1236506400, 1257066000),
        (2010, 1268560800, 1289120400),
        (2011, 1300010400, 1320570000),
        (2012, 1331460000, 1352019600),
        (2013, 1362909600, 1383469200),
        (2014, 1394359200, 1414918800),
        (2015, 1425808800, 1446368400),
        (2016, 1457863200, 1478422800),
        (2017, 1489312800, 1509872400),
        (2018, 1520762400, 1541322000),
        (2019, 1552212000, 1572771600),
        (2020, 1583661600, 1604221200),
        (2021, 1615716000, 1636275600),
        (2022, 1647165600, 1667725200),
        (2023, 1678615200, 1699174800),
        (2024, 1710064800, 1730624400),
        (2025, 1741514400, 1762074000),
        (2026, 1772964000, 1793523600),
        (2027, 1805018400, 1825578000),
        (2028, 1836468000, 1857027600),
        (2029, 1867917600, 1888477200),
        (2030, 1899367200, 1919926800),
        (2031, 1930816800, 1951376400),
        (2032, 1962871200, 1983430800),
        (2033, 1994320800, 2014880400),
        (2034, 2025770400, 2046330000),
        (2035, 2057220000, 2077779600),
        (2036, 2088669600, 2109229200),
        (2037, 2120119200, 2140678800),
    ];

    /// `Europe/London` (start, end) instants, UTC seconds, from the IANA tz database
    /// (Python `zoneinfo`), one row per year.
    const LONDON: &[(i32, i64, i64)] = &[
        (1996, 828234000, 846378000),
        (1997, 859683600, 877827600),
        (1998, 891133200, 909277200),
        (1999, 922582800, 941331600),
        (2000, 954032400, 972781200),
        (2001, 985482000, 1004230800),
        (2002, 1017536400, 1035680400),
        (2003, 1048986000, 1067130000),
        (2004, 1080435600, 1099184400),
        (2005, 1111885200, 1130634000),
        (2006, 1143334800, 1162083600),
        (2007, 1174784400, 1193533200),
        (2008, 1206838800, 1224982800),
        (2009, 1238288400, 1256432400),
        (2010, 1269738000, 1288486800),
        (2011, 1301187600, 1319936400),
        (2012, 1332637200, 1351386000),
        (2013, 1364691600, 1382835600),
        (2014, 1396141200, 1414285200),
        (2015, 1427590800, 1445734800),
        (2016, 1459040400, 1477789200),
        (2017, 1490490000, 1509238800),
        (2018, 1521939600, 1540688400),
        (2019, 1553994000, 1572138000),
        (2020, 1585443600, 1603587600),
        (2021, 1616893200, 1635642000),
        (2022, 1648342800, 1667091600),
        (2023, 1679792400, 1698541200),
        (2024, 1711846800, 1729990800),
        (2025, 1743296400, 1761440400),
        (2026, 1774746000, 1792890000),
        (2027, 1806195600, 1824944400),
        (2028, 1837645200, 1856394000),
        (2029, 1869094800, 1887843600),
        (2030, 1901149200, 1919293200),
        (2031, 1932598800, 1950742800),
        (2032, 1964048400, 1982797200),
        (2033, 1995498000, 2014246800),
        (2034, 2026947600, 2045696400),
        (2035, 2058397200, 2077146000),
        (2036, 2090451600, 2108595600),
        (2037, 2121901200, 2140045200),
    ];

    /// `Australia/Sydney` (start, end) instants, UTC seconds, from the IANA tz database
    /// (Python `zoneinfo`), one row per year.
    const SYDNEY: &[(i32, i64, i64)] = &[
        (2008, 1223136000, 1207411200),
        (2009, 1254585600, 1238860800),
        (2010, 1286035200, 1270310400),
        (2011, 1317484800, 1301760000),
        (2012, 1349539200, 1333209600),
        (2013, 1380988800, 1365264000),
        (2014, 1412438400, 1396713600),
        (2015, 1443888000, 1428163200),
        (2016, 1475337600, 1459612800),
        (2017, 1506787200, 1491062400),
        (2018, 1538841600, 1522512000),
        (2019, 1570291200, 1554566400),
        (2020, 1601740800, 1586016000),
        (2021, 1633190400, 1617465600),
        (2022, 1664640000, 1648915200),
        (2023, 1696089600, 1680364800),
        (2024, 1728144000, 1712419200),
        (2025, 1759593600, 1743868800),
        (2026, 1791043200, 1775318400),
        (2027, 1822492800, 1806768000),
        (2028, 1853942400, 1838217600),
        (2029, 1885996800, 1869667200),
        (2030, 1917446400, 1901721600),
        (2031, 1948896000, 1933171200),
        (2032, 1980345600, 1964620800),
        (2033, 2011795200, 1996070400),
        (2034, 2043244800, 2027520000),
        (2035, 2075299200, 2058969600),
        (2036, 2106748800, 2091024000),
        (2037, 2138198400, 2122473600),
    ];
}
