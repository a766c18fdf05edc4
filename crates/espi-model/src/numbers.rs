//! Strict, allocation-free parsing of ESPI element text.
//!
//! Real files pad numbers with whitespace (`<kind> 0 </kind>`), so every parser
//! here trims ASCII whitespace first; anything else that is not a number is an
//! error, never a silent zero.

use std::fmt;

/// Why a piece of text is not the number it should be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NumberError {
    /// The text is empty or only whitespace.
    Empty,
    /// A character that does not belong in the number.
    InvalidDigit,
    /// The number does not fit in 64 bits.
    Overflow,
}

impl fmt::Display for NumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NumberError::Empty => "empty number",
            NumberError::InvalidDigit => "not an integer",
            NumberError::Overflow => "integer out of the 64-bit range",
        })
    }
}

impl std::error::Error for NumberError {}

/// Strip leading and trailing ASCII whitespace.
#[inline]
pub fn trim_ascii(bytes: &[u8]) -> &[u8] {
    bytes.trim_ascii()
}

/// `text` as a number when it is 1 to 18 ASCII digits and nothing else (the
/// usual form, read without a branch per digit; at most 18 digits cannot
/// overflow), else `None`.
#[inline]
fn plain_digits(text: &[u8]) -> Option<i64> {
    if text.is_empty() || text.len() > 18 {
        return None;
    }
    let mut acc: i64 = 0;
    let mut not_digit = false;
    for &b in text {
        let d = b.wrapping_sub(b'0');
        not_digit |= d > 9;
        acc = acc.wrapping_mul(10).wrapping_add(d as i64);
    }
    (!not_digit).then_some(acc)
}

/// Parse a signed decimal integer, allowing surrounding whitespace and a sign.
///
/// ```
/// use espi_model::numbers::{parse_i64, NumberError};
/// assert_eq!(parse_i64(b" -42 "), Ok(-42));
/// assert_eq!(parse_i64(b"+7"), Ok(7));
/// assert_eq!(parse_i64(b"12a"), Err(NumberError::InvalidDigit));
/// assert_eq!(parse_i64(b"99999999999999999999"), Err(NumberError::Overflow));
/// ```
#[inline]
pub fn parse_i64(text: &[u8]) -> Result<i64, NumberError> {
    if let Some(n) = plain_digits(text) {
        return Ok(n);
    }
    let t = trim_ascii(text);
    let (negative, digits) = match t.first() {
        None => return Err(NumberError::Empty),
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        Some(_) => (false, t),
    };
    if digits.is_empty() {
        return Err(NumberError::InvalidDigit);
    }
    // Accumulate negatively so that i64::MIN parses.
    let mut acc: i64 = 0;
    if digits.len() < 19 {
        for &b in digits {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                return Err(NumberError::InvalidDigit);
            }
            acc = acc * 10 - d as i64;
        }
    } else {
        for &b in digits {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                return Err(NumberError::InvalidDigit);
            }
            acc = acc
                .checked_mul(10)
                .and_then(|a| a.checked_sub(d as i64))
                .ok_or(NumberError::Overflow)?;
        }
    }
    if negative {
        Ok(acc)
    } else {
        acc.checked_neg().ok_or(NumberError::Overflow)
    }
}

/// Parse seconds since the epoch, possibly with a fraction (`1721154384.66136`,
/// seen in real files), into whole microseconds, rounding toward negative
/// infinity. Returns the microseconds and whether a fraction was present.
///
/// ```
/// use espi_model::numbers::parse_seconds_to_micros;
/// assert_eq!(parse_seconds_to_micros(b"1700000000"), Ok((1_700_000_000_000_000, false)));
/// assert_eq!(parse_seconds_to_micros(b"1.5"), Ok((1_500_000, true)));
/// assert_eq!(parse_seconds_to_micros(b"-0.0000005"), Ok((-1, true)));
/// ```
pub fn parse_seconds_to_micros(text: &[u8]) -> Result<(i64, bool), NumberError> {
    if let Some(secs) = plain_digits(text) {
        let us = secs.checked_mul(1_000_000).ok_or(NumberError::Overflow)?;
        return Ok((us, false));
    }
    let t = trim_ascii(text);
    let Some(dot) = t.iter().position(|&b| b == b'.') else {
        let secs = parse_i64(t)?;
        return secs
            .checked_mul(1_000_000)
            .map(|us| (us, false))
            .ok_or(NumberError::Overflow);
    };
    let (int_part, frac_part) = (&t[..dot], &t[dot + 1..]);
    let negative = int_part.first() == Some(&b'-');
    let secs = match int_part {
        b"" | b"-" | b"+" => 0,
        _ => parse_i64(int_part)?,
    };
    if frac_part.is_empty() && matches!(int_part, b"" | b"-" | b"+") {
        return Err(NumberError::InvalidDigit);
    }
    let mut micros: i64 = 0;
    let mut remainder_nonzero = false;
    for (i, &b) in frac_part.iter().enumerate() {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return Err(NumberError::InvalidDigit);
        }
        if i < 6 {
            micros = micros * 10 + d as i64;
        } else if d != 0 {
            remainder_nonzero = true;
        }
    }
    for _ in frac_part.len()..6 {
        micros *= 10;
    }
    let whole = secs.checked_mul(1_000_000).ok_or(NumberError::Overflow)?;
    let total = if negative {
        whole
            .checked_sub(micros + remainder_nonzero as i64)
            .ok_or(NumberError::Overflow)?
    } else {
        whole.checked_add(micros).ok_or(NumberError::Overflow)?
    };
    Ok((total, true))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
///
/// ```
/// assert_eq!(espi_model::numbers::days_from_civil(2000, 3, 1), 11017);
/// ```
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// The (year, month, day) of a day count since 1970-01-01.
///
/// ```
/// assert_eq!(espi_model::numbers::civil_from_days(11017), (2000, 3, 1));
/// ```
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Parse an Atom (RFC 3339) date-time such as `2012-05-08T14:43:06.144Z` or
/// `2023-08-01T15:57:21.787877+00:00` into microseconds since the epoch (UTC).
///
/// Also accepts a space instead of `T`, a missing offset (read as UTC) and a
/// bare date (`2024-06-21`, midnight UTC), all seen in real feeds. Anything else
/// is `None`; callers keep the original text.
///
/// ```
/// use espi_model::numbers::parse_rfc3339_micros;
/// assert_eq!(parse_rfc3339_micros("1970-01-01T00:00:01.5Z"), Some(1_500_000));
/// assert_eq!(parse_rfc3339_micros("1970-01-01T01:00:00+01:00"), Some(0));
/// assert_eq!(parse_rfc3339_micros("yesterday"), None);
/// ```
pub fn parse_rfc3339_micros(text: &str) -> Option<i64> {
    let b = crate::text::trim(text).as_bytes();
    let num = |s: &[u8]| -> Option<i64> {
        if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        parse_i64(s).ok()
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (year, month, day) = (num(&b[..4])?, num(&b[5..7])?, num(&b[8..10])?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let days = days_from_civil(year, month as u32, day as u32);
    if b.len() == 10 {
        return Some(days * 86_400_000_000);
    }
    if !matches!(b[10], b'T' | b't' | b' ') || b.len() < 19 || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (h, mi, s) = (num(&b[11..13])?, num(&b[14..16])?, num(&b[17..19])?);
    if h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut rest = &b[19..];
    let mut micros = 0i64;
    if rest.first() == Some(&b'.') {
        let digits = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        for (i, &c) in rest[1..=digits].iter().enumerate() {
            if i < 6 {
                micros = micros * 10 + (c - b'0') as i64;
            }
        }
        for _ in digits..6 {
            micros *= 10;
        }
        rest = &rest[1 + digits..];
    }
    let offset_s = match rest {
        b"" | b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), hh1, hh2, b':', mm1, mm2] => {
            let hh = num(&[*hh1, *hh2])?;
            let mm = num(&[*mm1, *mm2])?;
            let v = hh * 3600 + mm * 60;
            if *sign == b'-' {
                -v
            } else {
                v
            }
        }
        _ => return None,
    };
    let secs = days * 86_400 + h * 3600 + mi * 60 + s - offset_s;
    Some(secs * 1_000_000 + micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        assert_eq!(parse_i64(b"0"), Ok(0));
        assert_eq!(parse_i64(b"\r\n\t 123 \n"), Ok(123));
        assert_eq!(parse_i64(b"-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775807"), Ok(i64::MAX));
        assert_eq!(
            parse_i64(b"9223372036854775808"),
            Err(NumberError::Overflow)
        );
        assert_eq!(parse_i64(b""), Err(NumberError::Empty));
        assert_eq!(parse_i64(b"   "), Err(NumberError::Empty));
        assert_eq!(parse_i64(b"-"), Err(NumberError::InvalidDigit));
        assert_eq!(parse_i64(b"1 2"), Err(NumberError::InvalidDigit));
        assert_eq!(parse_i64(b"1.0"), Err(NumberError::InvalidDigit));
        assert_eq!(parse_i64(b"0x10"), Err(NumberError::InvalidDigit));
    }

    /// Every digit count up to past i64's, with the bytes either side of
    /// '0'..='9' in ASCII, against the standard library's parser.
    #[test]
    fn integers_agree_with_std() {
        let mut texts: Vec<String> = Vec::new();
        for digits in 1..=21 {
            let nines = "9".repeat(digits);
            let mixed: String = (0..digits)
                .map(|i| char::from(b'0' + (i * 7 % 10) as u8))
                .collect();
            for t in [nines, mixed] {
                for edit in ["", "/", ":", " ", "-", "+", "0"] {
                    texts.push(format!("{edit}{t}"));
                    texts.push(format!("{t}{edit}"));
                    let mid = t.len() / 2;
                    texts.push(format!("{}{edit}{}", &t[..mid], &t[mid..]));
                }
            }
        }
        for t in &texts {
            let std = t.trim_ascii().parse::<i64>().ok();
            assert_eq!(parse_i64(t.as_bytes()).ok(), std, "{t:?}");
            let us = std
                .and_then(|s| s.checked_mul(1_000_000))
                .map(|us| (us, false));
            if !t.contains('.') {
                assert_eq!(parse_seconds_to_micros(t.as_bytes()).ok(), us, "{t:?}");
            }
        }
    }

    #[test]
    fn fractional_seconds() {
        assert_eq!(
            parse_seconds_to_micros(b"1721154384.66136"),
            Ok((1_721_154_384_661_360, true))
        );
        assert_eq!(parse_seconds_to_micros(b"-1.25"), Ok((-1_250_000, true)));
        assert_eq!(parse_seconds_to_micros(b"2."), Ok((2_000_000, true)));
        assert!(parse_seconds_to_micros(b".").is_err());
        assert!(parse_seconds_to_micros(b"1.2.3").is_err());
        assert_eq!(
            parse_seconds_to_micros(b"99999999999999999"),
            Err(NumberError::Overflow)
        );
    }

    #[test]
    fn civil_round_trip() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn rfc3339() {
        assert_eq!(
            parse_rfc3339_micros("2012-05-08T14:43:06.144Z"),
            Some(1_336_488_186_144_000)
        );
        assert_eq!(
            parse_rfc3339_micros("2023-08-01T15:57:21.787877+00:00"),
            Some(1_690_905_441_787_877)
        );
        assert_eq!(
            parse_rfc3339_micros("2024-06-21"),
            Some(1_718_928_000_000_000)
        );
        assert_eq!(parse_rfc3339_micros("2024-13-21"), None);
        assert_eq!(parse_rfc3339_micros("2024-06-21T25:00:00Z"), None);
    }
}
