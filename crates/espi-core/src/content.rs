//! A fast path for the fields of a resource (UsagePoint, ReadingType,
//! UsageSummary, ...).
//!
//! Most of a resource is plain nested elements with short texts:
//! `<ServiceCategory><kind>0</kind></ServiceCategory>`. Right after a tag
//! that leaves a resource (or an element inside one) open, the parser hands
//! the bytes that follow to [`scan_fields`], which reads complete child
//! elements of that shape and stops before the first child it does not
//! expect: attributes (namespace declarations among them), a prefix other
//! than the resource's, comments, CDATA, processing instructions, entity or
//! character references, carriage returns, text beside child elements,
//! white space inside tags, invalid UTF-8, over-long text or deep nesting.
//! Only whole children are taken (a child read in part is given back), so
//! the general quick-xml path resumes exactly there with its state as if it
//! had read them: both paths read every resource identically (tested
//! against each other on every sample).

use crate::fast::{
    at, end_tag, is_name_byte, is_plain_name, is_xml_space, plain_text, skip_space, text_end,
};

/// Elements nested deeper than this below the scanned element are left to
/// the general path.
const MAX_DEPTH: usize = 16;

/// Read the complete child elements at the start of `input`. `prefix` is the
/// resource element's prefix with its colon (`"espi:"`, or empty): children
/// are taken with that prefix or none. `path` is the `/`-joined path of the
/// open element below the resource (empty at the resource itself); each leaf
/// is pushed to `fields` as (path below the resource, trimmed text), as the
/// general path keeps it. Returns the bytes consumed (up to the end of the
/// last complete child) and the number of elements read.
pub(crate) fn scan_fields(
    input: &[u8],
    prefix: &[u8],
    path: &mut String,
    fields: &mut Vec<(String, String)>,
) -> (usize, u64) {
    let mut consumed = 0;
    let mut elements = 0;
    loop {
        let (path_len, fields_len) = (path.len(), fields.len());
        let mut read = 0;
        match child(input, consumed, prefix, path, fields, &mut read, 0) {
            Some(end) => {
                consumed = end;
                elements += read;
            }
            None => {
                // Give back a child read in part.
                path.truncate(path_len);
                fields.truncate(fields_len);
                return (consumed, elements);
            }
        }
    }
}

/// The child element starting (after white space) at `from`: read whole,
/// its leaves pushed to `fields`; the position after its end tag.
fn child(
    input: &[u8],
    from: usize,
    prefix: &[u8],
    path: &mut String,
    fields: &mut Vec<(String, String)>,
    elements: &mut u64,
    depth: usize,
) -> Option<usize> {
    if depth >= MAX_DEPTH {
        return None;
    }
    let open = skip_space(input, from);
    if input.get(open) != Some(&b'<') {
        return None;
    }
    let name_start = open + 1;
    let (name_end, local) = name(input, name_start, prefix)?;
    let qname = &input[name_start..name_end];
    let path_len = path.len();
    path.push('/');
    path.push_str(local);
    *elements += 1;
    match input.get(name_end)? {
        b'/' => {
            // `<name/>`: a leaf with no text.
            if input.get(name_end + 1) != Some(&b'>') {
                return None;
            }
            fields.push((path[1..].to_owned(), String::new()));
            path.truncate(path_len);
            Some(name_end + 2)
        }
        b'>' => {
            let content = name_end + 1;
            let text_len = text_end(&input[content..])?;
            let stop = content + text_len;
            if at(input, stop, b"</") {
                // A leaf: its text, then its end tag.
                let after = end_tag(input, stop, qname)?;
                let text = plain_text(&input[content..stop])?;
                fields.push((
                    path[1..].to_owned(),
                    espi_model::text::trim(text).to_owned(),
                ));
                path.truncate(path_len);
                return Some(after);
            }
            // Child elements (with only white space around them), then the
            // end tag.
            if input[stop] != b'<' || !input[content..stop].iter().all(|&b| is_xml_space(b)) {
                return None;
            }
            let mut pos = stop;
            loop {
                let next = skip_space(input, pos);
                if at(input, next, b"</") {
                    let after = end_tag(input, next, qname)?;
                    path.truncate(path_len);
                    return Some(after);
                }
                pos = child(input, next, prefix, path, fields, elements, depth + 1)?;
            }
        }
        _ => None,
    }
}

/// A start tag's name at `at`: `prefix` (or no prefix) and a local name of
/// ASCII letters, digits, `_`, `-` and `.` (starting with a letter or `_`).
/// Returns the end of the name and the local name.
#[inline]
fn name<'a>(input: &'a [u8], start: usize, prefix: &[u8]) -> Option<(usize, &'a str)> {
    let rest = input.get(start..)?;
    let local_start = if !prefix.is_empty() && rest.starts_with(prefix) {
        prefix.len()
    } else {
        0
    };
    let local = &rest[local_start..];
    let len = local.iter().position(|&b| !is_name_byte(b))?;
    if !is_plain_name(&local[..len]) {
        return None;
    }
    // A colon here is another prefix (or a second colon): not ours.
    if local[len] == b':' {
        return None;
    }
    let local = std::str::from_utf8(&local[..len]).ok()?;
    Some((start + local_start + len, local))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::MAX_TEXT_BYTES;

    fn scan(input: &str, prefix: &str) -> (usize, u64, Vec<(String, String)>) {
        let mut path = String::new();
        let mut fields = Vec::new();
        let (n, elements) =
            scan_fields(input.as_bytes(), prefix.as_bytes(), &mut path, &mut fields);
        assert!(path.is_empty());
        (n, elements, fields)
    }

    fn pairs(fields: &[(&str, &str)]) -> Vec<(String, String)> {
        fields
            .iter()
            .map(|(p, v)| (p.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn nested_leaves_become_paths_with_trimmed_texts() {
        let xml = "\n  <p:ServiceCategory>\n    <p:kind> 0 </p:kind>\n  </p:ServiceCategory>\n  <status>1</status><p:empty/><p:blank></p:blank>\n</p:UsagePoint>";
        let (n, elements, fields) = scan(xml, "p:");
        assert_eq!(&xml[n..], "\n</p:UsagePoint>");
        assert_eq!(elements, 5);
        assert_eq!(
            fields,
            pairs(&[
                ("ServiceCategory/kind", "0"),
                ("status", "1"),
                ("empty", ""),
                ("blank", "")
            ])
        );
    }

    #[test]
    fn stops_before_a_child_it_does_not_take_and_gives_back_its_fields() {
        let cases = [
            "<a x=\"1\">1</a>",
            "<a >1</a>",
            "<a>1</a >",
            "<q:a>1</q:a>",
            "<a>1&amp;2</a>",
            "<a>&#49;</a>",
            "<a><![CDATA[1]]></a>",
            "<a><!-- c -->1</a>",
            "<a><?pi?>1</a>",
            "<a>1\r\n</a>",
            "<a>1</b>",
            "<a>x<b>1</b></a>",
            "<a><b>1</b>x</a>",
            "<a><b>1</b><c x='1'/></a>",
            "<a><b>1</b>",
            "<a>1",
            "<1a>1</1a>",
            "<a:b:c>1</a:b:c>",
            "<a xmlns=\"urn:x\">1</a>",
            "<a/ >",
            "<é>1</é>",
        ];
        for case in cases {
            let xml = format!("<p:ok>1</p:ok>{case}<p:after>2</p:after>");
            let (n, elements, fields) = scan(&xml, "p:");
            assert_eq!(n, "<p:ok>1</p:ok>".len(), "{case}");
            assert_eq!(elements, 1, "{case}");
            assert_eq!(fields, pairs(&[("ok", "1")]), "{case}");
        }
        // Invalid UTF-8 and over-long text.
        let mut bad = b"<a>".to_vec();
        bad.extend_from_slice(&[0xff, b'<', b'/', b'a', b'>']);
        assert_eq!(
            scan_fields(&bad, b"", &mut String::new(), &mut Vec::new()),
            (0, 0)
        );
        let long = format!("<a>{}</a>", "7".repeat(MAX_TEXT_BYTES + 1));
        assert_eq!(scan(&long, "").0, 0);
        // Nesting deeper than the scanner goes.
        let deep = format!(
            "{}1{}",
            "<a>".repeat(MAX_DEPTH + 1),
            "</a>".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(scan(&deep, "").0, 0);
        let shallow = format!("{}1{}", "<a>".repeat(MAX_DEPTH), "</a>".repeat(MAX_DEPTH));
        assert_eq!(scan(&shallow, "").0, shallow.len());
    }

    #[test]
    fn fields_are_appended_below_the_open_element() {
        let mut path = String::from("/costAdditionalDetailLastPeriod");
        let mut fields = vec![("before".to_string(), "0".to_string())];
        let xml = b"<amount>10</amount><note>x</note></costAdditionalDetailLastPeriod>";
        let (n, elements) = scan_fields(xml, b"", &mut path, &mut fields);
        assert_eq!(&xml[n..], b"</costAdditionalDetailLastPeriod>");
        assert_eq!(elements, 2);
        assert_eq!(path, "/costAdditionalDetailLastPeriod");
        assert_eq!(
            fields,
            pairs(&[
                ("before", "0"),
                ("costAdditionalDetailLastPeriod/amount", "10"),
                ("costAdditionalDetailLastPeriod/note", "x")
            ])
        );
    }
}
