//! Small civil-date and US Pacific time code (no external crates).
//!
//! Local days follow the rules the feed declares in its LocalTimeParameters:
//! standard offset -08:00, DST +1 h from the second Sunday of March 02:00 to the
//! first Sunday of November 02:00 (US rules since 2007, applied to every year).

/// Standard-time offset from UTC in seconds (Pacific).
pub(crate) const TZ_OFFSET: i64 = -28_800;
/// DST shift in seconds.
pub(crate) const DST_OFFSET: i64 = 3_600;
/// Local wall-clock second of day at which the DST changes happen (02:00).
const CHANGE_SECOND: i64 = 7_200;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Proleptic Gregorian (year, month, day) of a day number.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Day of week, 0 = Sunday ... 6 = Saturday (1970-01-01 was a Thursday).
pub(crate) fn weekday(days: i64) -> i64 {
    (days + 4).rem_euclid(7)
}

fn sunday_on_or_after(days: i64) -> i64 {
    days + (7 - weekday(days)) % 7
}

/// The local days on which DST starts (second Sunday of March) and ends
/// (first Sunday of November) in `year`.
pub(crate) fn dst_change_days(year: i64) -> (i64, i64) {
    let start = sunday_on_or_after(days_from_civil(year, 3, 1)) + 7;
    let end = sunday_on_or_after(days_from_civil(year, 11, 1));
    (start, end)
}

/// Whether DST is in force at local midnight starting `day`.
fn dst_at_midnight(day: i64) -> bool {
    let (year, _, _) = civil_from_days(day);
    let (start, end) = dst_change_days(year);
    start < day && day <= end
}

/// UTC seconds of local midnight starting `day`.
pub(crate) fn utc_of_local_midnight(day: i64) -> i64 {
    let offset = if dst_at_midnight(day) {
        TZ_OFFSET + DST_OFFSET
    } else {
        TZ_OFFSET
    };
    day * 86_400 - offset
}

/// A DST change happening during a local day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Change {
    /// No change: 24 hours.
    None,
    /// Clocks go forward at 02:00: 23 hours.
    Spring,
    /// Clocks go back at 02:00: 25 hours.
    Fall,
}

/// Where a local day lies in UTC.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LocalDay {
    /// UTC seconds of local midnight.
    pub utc_start: i64,
    /// Length in seconds (82 800, 86 400 or 90 000).
    pub len: i64,
    /// DST change during the day.
    pub change: Change,
}

impl LocalDay {
    /// The local day `day` (days since 1970-01-01, local calendar).
    pub(crate) fn new(day: i64) -> Self {
        let utc_start = utc_of_local_midnight(day);
        let len = utc_of_local_midnight(day + 1) - utc_start;
        let change = match len {
            l if l < 86_400 => Change::Spring,
            l if l > 86_400 => Change::Fall,
            _ => Change::None,
        };
        LocalDay {
            utc_start,
            len,
            change,
        }
    }

    /// Wall-clock seconds since local midnight of the instant `elapsed`
    /// seconds after local midnight.
    #[inline]
    pub(crate) fn wall_second(&self, elapsed: i64) -> i64 {
        match self.change {
            Change::None => elapsed,
            Change::Spring if elapsed >= CHANGE_SECOND => elapsed + DST_OFFSET,
            Change::Fall if elapsed >= CHANGE_SECOND => elapsed - DST_OFFSET,
            _ => elapsed,
        }
    }
}

/// Append `ms` (milliseconds since 1970 UTC) as RFC 3339 Zulu with milliseconds.
pub(crate) fn push_rfc3339_ms(out: &mut Vec<u8>, ms: i64) {
    let secs = ms.div_euclid(1000);
    let milli = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let mut b = [0u8; 24];
    let y = y.clamp(0, 9999) as u32;
    put_digits(&mut b[0..4], y);
    b[4] = b'-';
    put_digits(&mut b[5..7], m);
    b[7] = b'-';
    put_digits(&mut b[8..10], d);
    b[10] = b'T';
    put_digits(&mut b[11..13], (sod / 3600) as u32);
    b[13] = b':';
    put_digits(&mut b[14..16], (sod / 60 % 60) as u32);
    b[16] = b':';
    put_digits(&mut b[17..19], (sod % 60) as u32);
    b[19] = b'.';
    put_digits(&mut b[20..23], milli as u32);
    b[23] = b'Z';
    out.extend_from_slice(&b);
}

fn put_digits(dst: &mut [u8], mut v: u32) {
    for slot in dst.iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// `cos(2 pi t)` from basic IEEE operations only (no libm), so results are
/// identical on every platform. Absolute error below 1e-6.
pub(crate) fn cos_turns(t: f64) -> f64 {
    // Reduce to u in [-0.5, 0.5].
    let u = t - (t + 0.5).floor();
    let a = if u < 0.0 { -u } else { u };
    // cos(2 pi a) for a in [0, 0.5]; fold to [0, 0.25] by cos(pi - x) = -cos(x).
    let (a, sign) = if a > 0.25 { (0.5 - a, -1.0) } else { (a, 1.0) };
    let x = a * std::f64::consts::TAU;
    let x2 = x * x;
    let c = 1.0
        + x2 * (-1.0 / 2.0
            + x2 * (1.0 / 24.0
                + x2 * (-1.0 / 720.0
                    + x2 * (1.0 / 40_320.0 + x2 * (-1.0 / 3_628_800.0 + x2 / 479_001_600.0)))));
    sign * c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for d in -800_000..800_000i64 {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2024, 6, 1), 19_875);
        assert_eq!(weekday(days_from_civil(2024, 3, 10)), 0);
    }

    #[test]
    fn dst_days_2024() {
        let (s, e) = dst_change_days(2024);
        assert_eq!(civil_from_days(s), (2024, 3, 10));
        assert_eq!(civil_from_days(e), (2024, 11, 3));
        assert_eq!(LocalDay::new(s).len, 82_800);
        assert_eq!(LocalDay::new(e).len, 90_000);
        assert_eq!(LocalDay::new(s - 1).len, 86_400);
        // 2024-03-10 00:00 PST = 08:00Z.
        assert_eq!(LocalDay::new(s).utc_start, s * 86_400 + 28_800);
        // 2024-06-01 00:00 PDT = 07:00Z.
        assert_eq!(LocalDay::new(19_875).utc_start, 19_875 * 86_400 + 25_200);
        let (s23, e23) = dst_change_days(2023);
        assert_eq!(civil_from_days(s23), (2023, 3, 12));
        assert_eq!(civil_from_days(e23), (2023, 11, 5));
    }

    #[test]
    fn rfc3339() {
        let mut v = Vec::new();
        push_rfc3339_ms(&mut v, 1_430_377_200_123);
        assert_eq!(v, b"2015-04-30T07:00:00.123Z");
    }

    #[test]
    fn cosine() {
        for i in -2000..2000 {
            let t = f64::from(i) / 997.0;
            assert!(
                (cos_turns(t) - (t * std::f64::consts::TAU).cos()).abs() < 1e-6,
                "{t}"
            );
        }
    }
}
