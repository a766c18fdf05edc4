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

use crate::parser::{Reading, MAX_TEXT_BYTES};

/// The tags the scanner recognises, spelled with the IntervalBlock's prefix.
pub(crate) struct Tags {
    /// `P:` (empty for the default namespace).
    prefix: Vec<u8>,
    open_reading: Vec<u8>,
    /// End tags, indexed by [`Child`].
    ends: [Vec<u8>; CHILDREN],
}

/// The child elements of an IntervalReading the scanner reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Child {
    IntervalReading,
    TimePeriod,
    Start,
    Duration,
    Value,
    Cost,
    Tou,
    ConsumptionTier,
    Cpp,
    ReadingQuality,
    Quality,
}

const CHILDREN: usize = 11;
const NAMES: [&[u8]; CHILDREN] = [
    b"IntervalReading",
    b"timePeriod",
    b"start",
    b"duration",
    b"value",
    b"cost",
    b"tou",
    b"consumptionTier",
    b"cpp",
    b"ReadingQuality",
    b"quality",
];

impl Tags {
    pub(crate) fn new(prefix: &str) -> Tags {
        let mut p = prefix.as_bytes().to_vec();
        if !p.is_empty() {
            p.push(b':');
        }
        let tag = |open: &[u8], name: &[u8]| {
            let mut t = open.to_vec();
            t.extend_from_slice(&p);
            t.extend_from_slice(name);
            t.push(b'>');
            t
        };
        Tags {
            open_reading: tag(b"<", b"IntervalReading"),
            ends: NAMES.map(|n| tag(b"</", n)),
            prefix: p,
        }
    }

    /// Are these the tags of `prefix` (empty for the default namespace)?
    pub(crate) fn of_prefix(&self, prefix: &str) -> bool {
        match self.prefix.split_last() {
            Some((b':', p)) => p == prefix.as_bytes(),
            _ => self.prefix.is_empty() && prefix.is_empty(),
        }
    }

    /// `</P:name>`.
    pub(crate) fn end_tag(&self, name: &[u8]) -> Vec<u8> {
        let mut t = b"</".to_vec();
        t.extend_from_slice(&self.prefix);
        t.extend_from_slice(name);
        t.push(b'>');
        t
    }

    #[inline]
    fn end(&self, child: Child) -> &[u8] {
        &self.ends[child as usize]
    }
}

/// Equality of two short byte strings with word loads (no library call).
#[inline(always)]
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], i: usize| u64::from_le_bytes(s[i..i + 8].try_into().expect("8 bytes"));
    if n >= 8 {
        let mut i = 0;
        while i + 8 < n {
            if word(a, i) != word(b, i) {
                return false;
            }
            i += 8;
        }
        return word(a, n - 8) == word(b, n - 8);
    }
    // Shorter: two overlapping loads of half the width or less.
    let half = |s: &[u8], i: usize| u32::from_le_bytes(s[i..i + 4].try_into().expect("4 bytes"));
    let quarter = |s: &[u8], i: usize| u16::from_le_bytes(s[i..i + 2].try_into().expect("2 bytes"));
    match n {
        4.. => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        2.. => quarter(a, 0) == quarter(b, 0) && quarter(a, n - 2) == quarter(b, n - 2),
        1 => a[0] == b[0],
        _ => true,
    }
}

/// Does `input` hold `pattern` at `pos`?
#[inline(always)]
pub(crate) fn at(input: &[u8], pos: usize, pattern: &[u8]) -> bool {
    input
        .get(pos..pos + pattern.len())
        .is_some_and(|s| same(s, pattern))
}

#[inline]
pub(crate) fn is_xml_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// A byte of the plain names the scanners take: ASCII letters, digits,
/// `_`, `-` and `.`.
#[inline]
pub(crate) fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

/// A plain name: [`is_name_byte`]s, starting with a letter or `_` (no
/// prefix, no quote or other markup in it, no non-ASCII letter); other
/// names are left to the general path.
#[inline]
pub(crate) fn is_plain_name(name: &[u8]) -> bool {
    name.first()
        .is_some_and(|&b| b.is_ascii_alphabetic() || b == b'_')
        && name.iter().all(|&b| is_name_byte(b))
}

/// Position after `</qname>` if it is exactly at `pos`.
#[inline]
pub(crate) fn end_tag(input: &[u8], pos: usize, qname: &[u8]) -> Option<usize> {
    let n = qname.len();
    (at(input, pos, b"</") && at(input, pos + 2, qname) && input.get(pos + 2 + n) == Some(&b'>'))
        .then_some(pos + n + 3)
}

/// A leaf's text as the scanners keep it: at most [`MAX_TEXT_BYTES`]
/// (longer is an error of the general path), no carriage return (which
/// the general path reads differently), valid UTF-8.
#[inline]
pub(crate) fn plain_text(text: &[u8]) -> Option<&str> {
    if text.len() > MAX_TEXT_BYTES || memchr::memchr(b'\r', text).is_some() {
        return None;
    }
    std::str::from_utf8(text).ok()
}

/// The position of the first byte from `pos` on that is not XML white
/// space (or the end). Indentation is skipped sixteen bytes at a time
/// (SSE2, part of every x86-64 processor), else eight.
#[inline]
pub(crate) fn skip_space(input: &[u8], mut pos: usize) -> usize {
    if input.get(pos).is_none_or(|&b| !is_xml_space(b)) {
        return pos;
    }
    #[cfg(target_arch = "x86_64")]
    while let Some(chunk) = input.get(pos..pos + 16) {
        let run = leading_space_16(chunk.try_into().expect("16 bytes"));
        if run < 16 {
            return pos + run as usize;
        }
        pos += 16;
    }
    while let Some(word) = input.get(pos..pos + 8) {
        let x = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        let other = !space_bytes(x) & HIGH_BITS;
        if other != 0 {
            return pos + (other.trailing_zeros() / 8) as usize;
        }
        pos += 8;
    }
    while pos < input.len() && is_xml_space(input[pos]) {
        pos += 1;
    }
    pos
}

/// How many of the 16 bytes of `chunk` are XML white space before the
/// first that is not (16 when all are).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn leading_space_16(chunk: &[u8; 16]) -> u32 {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    // SAFETY: SSE2 is in the x86-64 baseline (these intrinsics are always
    // available); the unaligned load reads the 16 bytes of `chunk` and
    // nothing else.
    let mask = unsafe {
        let bytes = _mm_loadu_si128(chunk.as_ptr().cast());
        let space = _mm_or_si128(
            _mm_or_si128(
                _mm_cmpeq_epi8(bytes, _mm_set1_epi8(b' ' as i8)),
                _mm_cmpeq_epi8(bytes, _mm_set1_epi8(b'\n' as i8)),
            ),
            _mm_or_si128(
                _mm_cmpeq_epi8(bytes, _mm_set1_epi8(b'\t' as i8)),
                _mm_cmpeq_epi8(bytes, _mm_set1_epi8(b'\r' as i8)),
            ),
        );
        _mm_movemask_epi8(space) as u32
    };
    // Bit i is set for each white-space byte i; the first clear bit ends
    // the run.
    (!mask).trailing_zeros()
}

const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
const LOW_BITS: u64 = 0x7f7f_7f7f_7f7f_7f7f;

/// The high bit of each byte of `x` that is zero (exactly: no carries
/// between bytes).
#[inline(always)]
fn zero_bytes(x: u64) -> u64 {
    !(((x & LOW_BITS) + LOW_BITS) | x | LOW_BITS)
}

/// The high bit of each byte of `x` that equals `b`.
#[inline(always)]
fn bytes_equal(x: u64, b: u8) -> u64 {
    zero_bytes(x ^ u64::from_le_bytes([b; 8]))
}

/// The high bit of each byte of `x` that is XML white space.
#[inline(always)]
fn space_bytes(x: u64) -> u64 {
    bytes_equal(x, b' ') | bytes_equal(x, b'\n') | bytes_equal(x, b'\t') | bytes_equal(x, b'\r')
}

/// Where the text at the start of `input` ends: its first `<` or `&`.
/// Short texts (numbers) are searched a word at a time, longer ones with
/// memchr.
#[inline]
pub(crate) fn text_end(input: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(word) = input.get(i..i + 8) {
        let x = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        let hit = (bytes_equal(x, b'<') | bytes_equal(x, b'&')) & HIGH_BITS;
        if hit != 0 {
            return Some(i + (hit.trailing_zeros() / 8) as usize);
        }
        i += 8;
        if i == 32 {
            return memchr::memchr2(b'<', b'&', &input[i..]).map(|j| i + j);
        }
    }
    input[i..]
        .iter()
        .position(|&b| b == b'<' || b == b'&')
        .map(|j| i + j)
}

/// A child start tag `<P:name>` at `pos`: which child, and the position after `>`.
/// The name's first letter picks the candidates, each compared whole with
/// its `>` (word loads): no scan of the name byte by byte.
#[inline]
fn open_tag(input: &[u8], pos: usize, tags: &Tags) -> Option<(Child, usize)> {
    if input.get(pos) != Some(&b'<') {
        return None;
    }
    let name_start = pos + 1 + tags.prefix.len();
    if !at(input, pos + 1, &tags.prefix) {
        return None;
    }
    let candidates: &[(Child, &[u8])] = match *input.get(name_start)? {
        b't' => &[(Child::TimePeriod, b"timePeriod>"), (Child::Tou, b"tou>")],
        b'd' => &[(Child::Duration, b"duration>")],
        b's' => &[(Child::Start, b"start>")],
        b'v' => &[(Child::Value, b"value>")],
        b'c' => &[
            (Child::Cost, b"cost>"),
            (Child::Cpp, b"cpp>"),
            (Child::ConsumptionTier, b"consumptionTier>"),
        ],
        b'q' => &[(Child::Quality, b"quality>")],
        b'R' => &[(Child::ReadingQuality, b"ReadingQuality>")],
        b'I' => &[(Child::IntervalReading, b"IntervalReading>")],
        _ => return None,
    };
    candidates
        .iter()
        .find(|(_, tag)| at(input, name_start, tag))
        .map(|&(child, tag)| (child, name_start + tag.len()))
}

/// The text of a leaf (from `pos`, after its start tag) and the position
/// after its end tag.
#[inline]
fn leaf<'a>(input: &'a [u8], pos: usize, tags: &Tags, which: Child) -> Option<(&'a [u8], usize)> {
    let end = pos + text_end(input.get(pos..)?)?;
    if input[end] != b'<' {
        // An entity or character reference: left to the general path.
        return None;
    }
    let text = &input[pos..end];
    let close = tags.end(which);
    at(input, end, close).then_some((text, end + close.len()))
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
    let end_reading = tags.end(Child::IntervalReading);
    loop {
        pos = skip_space(input, pos);
        if at(input, pos, end_reading) {
            return Some(pos + end_reading.len());
        }
        let (which, after) = open_tag(input, pos, tags)?;
        pos = match which {
            Child::TimePeriod => {
                let end_period = tags.end(Child::TimePeriod);
                let mut p = after;
                loop {
                    p = skip_space(input, p);
                    if at(input, p, end_period) {
                        break p + end_period.len();
                    }
                    let (inner, after) = open_tag(input, p, tags)?;
                    let (text, end) = leaf(input, after, tags, inner)?;
                    match inner {
                        Child::Start => {
                            let (us, fractional) = parse_seconds_to_micros(text).ok()?;
                            r.start_us = Some(us);
                            r.start_fractional = fractional;
                        }
                        Child::Duration => {
                            let d = int(text).filter(|d| *d >= 0)?;
                            r.duration_s = Some(d);
                        }
                        _ => return None,
                    }
                    p = end;
                }
            }
            Child::ReadingQuality => {
                let p = skip_space(input, after);
                let (inner, after) = open_tag(input, p, tags)?;
                if inner != Child::Quality {
                    return None;
                }
                let (text, end) = leaf(input, after, tags, inner)?;
                r.qualities.push(int32(text)?);
                let p = skip_space(input, end);
                let end_rq = tags.end(Child::ReadingQuality);
                if !at(input, p, end_rq) {
                    return None;
                }
                p + end_rq.len()
            }
            Child::Value | Child::Cost | Child::Tou | Child::ConsumptionTier | Child::Cpp => {
                let (text, end) = leaf(input, after, tags, which)?;
                match which {
                    Child::Value => r.value = Some(int(text)?),
                    Child::Cost => r.cost = Some(int(text)?),
                    Child::Tou => r.tou = Some(int32(text)?),
                    Child::ConsumptionTier => r.consumption_tier = Some(int32(text)?),
                    _ => r.cpp = Some(int32(text)?),
                }
                end
            }
            _ => return None,
        };
    }
}

/// Does `input` start (after white space) with an IntervalReading start tag?
pub(crate) fn at_reading(input: &[u8], tags: &Tags) -> bool {
    at(input, skip_space(input, 0), &tags.open_reading)
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
        if !at(input, pos, &tags.open_reading) {
            return committed;
        }
        match reading_body(input, pos + tags.open_reading.len(), tags, reading) {
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

    /// Word-load equality agrees with slice equality at every length, with
    /// a difference at every position.
    #[test]
    fn same_is_equality() {
        for n in 0..40 {
            let a: Vec<u8> = (0..n as u8).map(|i| b'a' + i % 26).collect();
            assert!(same(&a, &a.clone()));
            for i in 0..n {
                let mut b = a.clone();
                b[i] ^= 0x20;
                assert!(!same(&a, &b), "length {n}, difference at {i}");
            }
            if n > 0 {
                assert!(!same(&a, &a[..n - 1]));
            }
        }
    }

    #[test]
    fn open_tag_knows_exactly_the_children_and_nothing_else() {
        // Reference: the name is the run of ASCII letters, which must be
        // followed by `>` and be one of the known children.
        let reference = |input: &[u8], tags: &Tags| -> Option<(Child, usize)> {
            if input.first() != Some(&b'<') || !at(input, 1, &tags.prefix) {
                return None;
            }
            let start = 1 + tags.prefix.len();
            let rest = input.get(start..)?;
            let len = rest.iter().position(|b| !b.is_ascii_alphabetic())?;
            if len == 0 || rest[len] != b'>' {
                return None;
            }
            let i = NAMES.iter().position(|n| *n == &rest[..len])?;
            let child = [
                Child::IntervalReading,
                Child::TimePeriod,
                Child::Start,
                Child::Duration,
                Child::Value,
                Child::Cost,
                Child::Tou,
                Child::ConsumptionTier,
                Child::Cpp,
                Child::ReadingQuality,
                Child::Quality,
            ][i];
            Some((child, start + len + 1))
        };
        for prefix in ["", "e", "espi"] {
            let tags = Tags::new(prefix);
            let p = if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}:")
            };
            let mut names: Vec<String> = NAMES
                .iter()
                .map(|n| String::from_utf8(n.to_vec()).unwrap())
                .collect();
            for n in names.clone() {
                names.push(format!("{n}s"));
                names.push(n[..n.len() - 1].to_owned());
                names.push(n.to_uppercase());
                names.push(format!("x{n}"));
            }
            names.extend(["", "t", "c", "to", "valu", "Value", "costs"].map(String::from));
            for name in &names {
                for after in [">", ">7<", " >", "/>", " a='1'>", "", "1>"] {
                    for pre in [p.as_str(), "", "q:"] {
                        let input = format!("<{pre}{name}{after}");
                        assert!(
                            open_tag(input.as_bytes(), 0, &tags)
                                == reference(input.as_bytes(), &tags),
                            "{input:?} with prefix {prefix:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn text_ends_at_the_first_markup_or_reference() {
        let reference = |input: &[u8]| input.iter().position(|&b| b == b'<' || b == b'&');
        for len in 0..80 {
            for stop in [b'<', b'&', b'>', b'x'] {
                for tail in [&b""[..], b"<a>", b"&amp;<"] {
                    let mut input = vec![b'7'; len];
                    input.push(stop);
                    input.extend_from_slice(tail);
                    assert_eq!(text_end(&input), reference(&input), "{input:?}");
                }
            }
        }
        assert_eq!(text_end(b""), None);
    }

    #[test]
    fn skip_space_stops_at_the_first_byte_that_is_not_white_space() {
        let byte_by_byte = |input: &[u8], mut pos: usize| {
            while pos < input.len() && is_xml_space(input[pos]) {
                pos += 1;
            }
            pos
        };
        // Every byte value after runs of every length of each space kind
        // (across one and two 16-byte chunks), at every offset of the word.
        for stop in 0..=255u8 {
            for space in [b' ', b'\n', b'\t', b'\r'] {
                for run in 0..36 {
                    for lead in 0..9 {
                        let mut input = vec![b'x'; lead];
                        input.extend(std::iter::repeat_n(space, run));
                        input.push(stop);
                        input.extend_from_slice(b"  <a>");
                        for from in 0..=lead {
                            assert_eq!(
                                skip_space(&input, from),
                                byte_by_byte(&input, from),
                                "{input:?} from {from}"
                            );
                        }
                    }
                }
            }
        }
        let mixed = b"\r\n\t \t\t\n\n   \r \t\n\x0b<";
        assert_eq!(skip_space(mixed, 0), mixed.len() - 2);
        assert_eq!(skip_space(b"   ", 0), 3);
        assert_eq!(skip_space(b"", 0), 0);
        assert_eq!(skip_space(b" ", 1), 1);
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
