//! Atom link hrefs and the relations ESPI expresses through them.
//!
//! ESPI relates entries only by link hrefs laid out as a path:
//! `.../UsagePoint/{id}/MeterReading/{id}/IntervalBlock/{id}`. Feeds write them
//! as absolute URLs, absolute paths or relative paths, so hrefs are compared in a
//! normalised form: whitespace, scheme and host, and leading and trailing slashes
//! removed.

/// Normalise an href for comparison.
///
/// ```
/// use espi_model::links::normalise_href;
/// assert_eq!(
///     normalise_href(" https://api.example.com/espi/1_1/resource/UsagePoint/1/ "),
///     "espi/1_1/resource/UsagePoint/1"
/// );
/// assert_eq!(normalise_href("/ReadingType/07"), "ReadingType/07");
/// assert_eq!(normalise_href("ReadingType/07"), "ReadingType/07");
/// ```
pub fn normalise_href(href: &str) -> &str {
    let mut h = crate::text::trim(href);
    if let Some(scheme_end) = scheme_end(h) {
        let after = &h[scheme_end + 3..];
        h = match after.find('/') {
            Some(slash) => &after[slash..],
            None => "",
        };
    }
    h.trim_matches('/')
}

/// Where the first `://` of `h` starts (a byte search: this runs for every
/// href of every entry).
fn scheme_end(h: &str) -> Option<usize> {
    let bytes = h.as_bytes();
    let mut from = 0;
    while let Some(i) = bytes[from..].iter().position(|&b| b == b':') {
        let colon = from + i;
        if bytes[colon + 1..].starts_with(b"//") {
            return Some(colon);
        }
        from = colon + 1;
    }
    None
}

/// The MeterReading an IntervalBlock belongs to, from the block's `up` href
/// (its collection) or failing that its `self` href: the part before the last
/// `/IntervalBlock`. Hrefs outside the convention are returned whole.
///
/// ```
/// use espi_model::links::meter_reading_key_of_block;
/// assert_eq!(
///     meter_reading_key_of_block("UsagePoint/1/MeterReading/2/IntervalBlock"),
///     "UsagePoint/1/MeterReading/2"
/// );
/// assert_eq!(
///     meter_reading_key_of_block("UsagePoint/1/MeterReading/2/IntervalBlock/17"),
///     "UsagePoint/1/MeterReading/2"
/// );
/// ```
pub fn meter_reading_key_of_block(normalised_href: &str) -> &str {
    parent_before(normalised_href, "/IntervalBlock")
}

/// The UsagePoint a MeterReading belongs to: the part of its normalised href
/// before the last `/MeterReading`, or the whole href outside the convention.
///
/// ```
/// use espi_model::links::usage_point_key_of_meter_reading;
/// assert_eq!(
///     usage_point_key_of_meter_reading("RetailCustomer/1/UsagePoint/J26/MeterReading/3"),
///     "RetailCustomer/1/UsagePoint/J26"
/// );
/// ```
pub fn usage_point_key_of_meter_reading(normalised_href: &str) -> &str {
    parent_before(normalised_href, "/MeterReading")
}

/// `href` before the last whole path segment `segment` (a `/` and a name
/// without `/`), or all of `href` without one.
fn parent_before<'a>(href: &'a str, segment: &str) -> &'a str {
    debug_assert!(segment.starts_with('/') && !segment[1..].contains('/'));
    // Every occurrence starts at a '/': look at those, from the last.
    for (pos, _) in href.rmatch_indices('/') {
        let rest = &href.as_bytes()[pos..];
        if rest.starts_with(segment.as_bytes())
            && (rest.len() == segment.len() || rest[segment.len()] == b'/')
        {
            return &href[..pos];
        }
    }
    href
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation() {
        assert_eq!(normalise_href("http://localhost:8080"), "");
        assert_eq!(normalise_href("//x//"), "x");
        assert_eq!(
            normalise_href("https://h/a/MeterReading/b/IntervalBlock"),
            "a/MeterReading/b/IntervalBlock"
        );
    }

    #[test]
    fn segment_must_be_whole() {
        assert_eq!(
            meter_reading_key_of_block("UP/1/MeterReading/IntervalBlockX/IntervalBlock/3"),
            "UP/1/MeterReading/IntervalBlockX"
        );
        assert_eq!(meter_reading_key_of_block("ReadingType/1"), "ReadingType/1");
        // The last whole segment, past later partial ones.
        assert_eq!(
            meter_reading_key_of_block("UP/IntervalBlock/MR/1/IntervalBlock/IntervalBlockY"),
            "UP/IntervalBlock/MR/1"
        );
        assert_eq!(
            meter_reading_key_of_block("IntervalBlock/1"),
            "IntervalBlock/1"
        );
        assert_eq!(meter_reading_key_of_block("/IntervalBlock"), "");
        assert_eq!(
            usage_point_key_of_meter_reading("UsagePoint/1/MeterReadings"),
            "UsagePoint/1/MeterReadings"
        );
    }
}
