//! The hot path: a specialised scanner for runs of IntervalReading elements.
//!
//! Bulk feeds are almost entirely `<IntervalReading>` elements of one fixed
//! shape. Inside an IntervalBlock of an in-memory input, the parser hands the
//! bytes after the last tag to [`scan_readings`], which reads complete
//! readings directly (memchr to find tags, integers parsed in place) and stops
//! at the first thing it does not expect: attributes, comments, CDATA,
//! entity references, unknown or differently prefixed elements, or a value
//! the general path would reject. It returns how many bytes of *complete*
//! readings it consumed; the general quick-xml path resumes exactly there, so
//! both paths see every reading identically (tested against each other).

use espi_model::numbers::{parse_i64, parse_seconds_to_micros};

use crate::parser::Reading;

/// The element names the scanner recognises, with the IntervalBlock's prefix.
pub(crate) struct Tags {
    /// `P:` (empty for the default namespace).
    prefix: Vec<u8>,
}

impl Tags {
    /// `</P:name>`.
    pub(crate) fn end_tag(&self, name: &[u8]) -> Vec<u8> {
        let mut t = b"</".to_vec();
        t.extend_from_slice(&self.prefix);
        t.extend_from_slice(name);
        t.push(b'>');
        t
    }

    pub(crate) fn new(prefix: &str) -> Tags {
        let mut p = prefix.as_bytes().to_vec();
        if !p.is_empty() {
            p.push(b':');
        }
        Tags { prefix: p }
    }
}

#[inline]
fn is_xml_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

#[inline]
fn skip_space(input: &[u8], mut pos: usize) -> usize {
    while pos < input.len() && is_xml_space(input[pos]) {
        pos += 1;
    }
    pos
}

/// Where a child tag starts: `<P:name>` (returns the name and the position
/// after `>`), or `None` for anything else (including an end tag).
#[inline]
fn open_tag<'a>(input: &'a [u8], pos: usize, tags: &Tags) -> Option<(&'a [u8], usize)> {
    let rest = input.get(pos..)?;
    let rest = rest.strip_prefix(b"<")?;
    let rest = rest.strip_prefix(tags.prefix.as_slice())?;
    let len = rest.iter().position(|&b| !b.is_ascii_alphabetic())?;
    if len == 0 || rest[len] != b'>' {
        return None;
    }
    Some((&rest[..len], pos + 1 + tags.prefix.len() + len + 1))
}

/// `</P:name>` at `pos`: the position after it.
#[inline]
fn close_tag(input: &[u8], pos: usize, tags: &Tags, name: &[u8]) -> Option<usize> {
    let rest = input.get(pos..)?;
    let rest = rest.strip_prefix(b"</")?;
    let rest = rest.strip_prefix(tags.prefix.as_slice())?;
    let rest = rest.strip_prefix(name)?;
    rest.first().filter(|&&b| b == b'>')?;
    Some(pos + 2 + tags.prefix.len() + name.len() + 1)
}

/// The text of a leaf `<P:name>text</P:name>` starting at `pos` (after the
/// open tag): the text and the position after the end tag.
#[inline]
fn leaf<'a>(input: &'a [u8], pos: usize, tags: &Tags, name: &[u8]) -> Option<(&'a [u8], usize)> {
    let end = pos + memchr::memchr(b'<', input.get(pos..)?)?;
    let text = &input[pos..end];
    if memchr::memchr(b'&', text).is_some() {
        return None;
    }
    Some((text, close_tag(input, end, tags, name)?))
}

#[inline]
fn int(text: &[u8]) -> Option<i64> {
    parse_i64(text).ok()
}

#[inline]
fn int32(text: &[u8]) -> Option<i32> {
    int(text).and_then(|v| i32::try_from(v).ok())
}

/// Read one `<P:IntervalReading>…</P:IntervalReading>` starting at `pos`
/// (after its open tag) into `r`; the position after its end tag.
fn reading_body(input: &[u8], mut pos: usize, tags: &Tags, r: &mut Reading) -> Option<usize> {
    r.clear();
    loop {
        pos = skip_space(input, pos);
        if let Some(end) = close_tag(input, pos, tags, b"IntervalReading") {
            return Some(end);
        }
        let (name, after) = open_tag(input, pos, tags)?;
        pos = match name {
            b"timePeriod" => {
                let mut p = after;
                loop {
                    p = skip_space(input, p);
                    if let Some(end) = close_tag(input, p, tags, b"timePeriod") {
                        break end;
                    }
                    let (child, after) = open_tag(input, p, tags)?;
                    let (text, end) = leaf(input, after, tags, child)?;
                    match child {
                        b"start" => {
                            let (us, fractional) = parse_seconds_to_micros(text).ok()?;
                            r.start_us = Some(us);
                            r.start_fractional = fractional;
                        }
                        b"duration" => {
                            let d = int(text).filter(|d| *d >= 0)?;
                            r.duration_s = Some(d);
                        }
                        _ => return None,
                    }
                    p = end;
                }
            }
            b"ReadingQuality" => {
                let p = skip_space(input, after);
                let (child, after) = open_tag(input, p, tags)?;
                if child != b"quality" {
                    return None;
                }
                let (text, end) = leaf(input, after, tags, child)?;
                r.qualities.push(int32(text)?);
                close_tag(input, skip_space(input, end), tags, b"ReadingQuality")?
            }
            _ => {
                let (text, end) = leaf(input, after, tags, name)?;
                match name {
                    b"value" => r.value = Some(int(text)?),
                    b"cost" => r.cost = Some(int(text)?),
                    b"tou" => r.tou = Some(int32(text)?),
                    b"consumptionTier" => r.consumption_tier = Some(int32(text)?),
                    b"cpp" => r.cpp = Some(int32(text)?),
                    _ => return None,
                }
                end
            }
        };
    }
}

/// Scan complete IntervalReadings at the start of `input` (the bytes right
/// after a tag inside an IntervalBlock), calling `on_reading` for each.
/// Returns the bytes consumed: the end of the last complete reading, or 0.
pub(crate) fn scan_readings(
    input: &[u8],
    tags: &Tags,
    reading: &mut Reading,
    mut on_reading: impl FnMut(&Reading),
) -> usize {
    let mut committed = 0;
    loop {
        let pos = skip_space(input, committed);
        let Some((name, after)) = open_tag(input, pos, tags) else {
            return committed;
        };
        if name != b"IntervalReading" {
            return committed;
        }
        match reading_body(input, after, tags, reading) {
            Some(end) => {
                on_reading(reading);
                committed = end;
            }
            None => return committed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(input: &str, prefix: &str) -> (usize, Vec<Reading>) {
        let mut out = Vec::new();
        let mut r = Reading::default();
        let n = scan_readings(input.as_bytes(), &Tags::new(prefix), &mut r, |r| {
            out.push(r.clone())
        });
        (n, out)
    }

    #[test]
    fn reads_a_run_and_stops_at_the_block_end() {
        let xml = "\n <e:IntervalReading><e:cost>5</e:cost><e:ReadingQuality><e:quality>8</e:quality></e:ReadingQuality>\
            <e:timePeriod><e:duration>900</e:duration><e:start>0</e:start></e:timePeriod><e:value> 7 </e:value><e:tou>2</e:tou></e:IntervalReading>\
            <e:IntervalReading><e:timePeriod><e:duration>900</e:duration><e:start>900</e:start></e:timePeriod><e:value>-3</e:value></e:IntervalReading>\n</e:IntervalBlock>";
        let (n, rs) = scan(xml, "e");
        assert_eq!(rs.len(), 2);
        assert_eq!(&xml[n..], "\n</e:IntervalBlock>");
        assert_eq!(
            (rs[0].cost, rs[0].qualities.clone(), rs[0].value, rs[0].tou),
            (Some(5), vec![8], Some(7), Some(2))
        );
        assert_eq!((rs[1].start_us, rs[1].value), (Some(900_000_000), Some(-3)));
    }

    #[test]
    fn stops_before_anything_unexpected() {
        for tail in [
            "<IntervalReading a='1'><value>1</value></IntervalReading>",
            "<IntervalReading><!-- c --><value>1</value></IntervalReading>",
            "<IntervalReading><value>&#49;</value></IntervalReading>",
            "<IntervalReading><value><![CDATA[1]]></value></IntervalReading>",
            "<IntervalReading><value>x</value></IntervalReading>",
            "<IntervalReading><other>1</other></IntervalReading>",
            "<IntervalReading><espi:value>1</espi:value></IntervalReading>",
            "<IntervalReading><timePeriod><duration>-1</duration></timePeriod></IntervalReading>",
            "<IntervalReading><tou>99999999999</tou></IntervalReading>",
            "<IntervalReading><value>1</value></IntervalReading >",
            "<IntervalReading><value>1</value>",
        ] {
            let xml = format!("<IntervalReading><value>1</value></IntervalReading>{tail}");
            let (n, rs) = scan(&xml, "");
            assert_eq!(rs.len(), 1, "{tail}");
            assert_eq!(&xml[n..], tail);
        }
    }
}
