//! A fast path for the Atom envelope of an entry.
//!
//! Every entry of a feed carries the same few Atom children: `<id>`,
//! `<link rel=".." href=".."/>`, `<title>`, `<published>`, `<updated>`. In a
//! Bulk feed most entries are small metadata entries, so these elements are
//! a large share of all XML events. Right after a tag that leaves an entry
//! open (its start tag, the end of its `content`), the parser hands the bytes
//! that follow to [`scan_envelope`], which reads complete children of those
//! five kinds directly and stops at the first thing it does not expect:
//! another element, a prefix other than the entry's, attributes on a text
//! element, namespace declarations, entity or character references, CDATA,
//! comments, carriage returns, invalid UTF-8 or over-long text. The general
//! quick-xml path resumes exactly there, so both paths read every envelope
//! identically (tested against each other on every sample).

use crate::fast::{
    at, end_tag, is_plain_name, is_xml_space, plain_text, same, skip_space, text_end,
};

/// The Atom text children of an entry the scanner reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TextField {
    Id,
    Title,
    Published,
    Updated,
}

/// One envelope child read by the scanner.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Item<'a> {
    /// A text child (its text as written, untrimmed).
    Text(TextField, &'a str),
    /// A `link` element: its `rel` and `href` attributes as written.
    Link {
        rel: Option<&'a str>,
        href: Option<&'a str>,
    },
}

/// Read the envelope children at the start of `input`, whose entry element
/// is spelled with `prefix` (`"P:"`, or empty for the default namespace).
/// Returns the bytes consumed (up to the end of the last complete child) and
/// how many children were read; each child is passed to `on_item` in order.
pub(crate) fn scan_envelope(
    input: &[u8],
    prefix: &[u8],
    mut on_item: impl FnMut(Item<'_>),
) -> (usize, u64) {
    let mut consumed = 0;
    let mut children = 0;
    while let Some((end, item)) = child(input, consumed, prefix) {
        on_item(item);
        consumed = end;
        children += 1;
    }
    (consumed, children)
}

/// The child element starting (after white space) at `from`, and the
/// position after it; `None` when it is not one the scanner reads.
fn child<'a>(input: &'a [u8], from: usize, prefix: &[u8]) -> Option<(usize, Item<'a>)> {
    let open = skip_space(input, from);
    if input.get(open) != Some(&b'<') {
        return None;
    }
    let name_start = open + 1;
    let name_end = name_start
        + input[name_start..]
            .iter()
            .position(|&b| is_xml_space(b) || b == b'/' || b == b'>')?;
    let name = &input[name_start..name_end];
    // Names are compared without library calls: they are short, and there
    // are several per entry.
    if !at(name, 0, prefix) {
        return None;
    }
    let local = &name[prefix.len()..];
    let field = match local.len() {
        4 if same(local, b"link") => return link(input, name_end, name),
        2 if same(local, b"id") => TextField::Id,
        5 if same(local, b"title") => TextField::Title,
        9 if same(local, b"published") => TextField::Published,
        7 if same(local, b"updated") => TextField::Updated,
        _ => return None,
    };
    // `<name>text</name>`: no attributes, no markup or references in the text.
    if input.get(name_end) != Some(&b'>') {
        return None;
    }
    let text_start = name_end + 1;
    let close = text_start + text_end(&input[text_start..])?;
    if input[close] != b'<' {
        // An entity or character reference.
        return None;
    }
    let after = end_tag(input, close, name)?;
    let text = plain_text(&input[text_start..close])?;
    Some((after, Item::Text(field, text)))
}

/// A `link` element whose name ends at `at`: plain attributes (no prefixes,
/// no namespace declarations, no references or line breaks in values), then
/// `/>` or an immediate end tag.
fn link<'a>(input: &'a [u8], mut at: usize, name: &[u8]) -> Option<(usize, Item<'a>)> {
    let (mut rel, mut href) = (None, None);
    loop {
        let next = skip_space(input, at);
        match input.get(next)? {
            b'/' => {
                return (input.get(next + 1) == Some(&b'>'))
                    .then_some((next + 2, Item::Link { rel, href }));
            }
            b'>' => {
                let after = end_tag(input, next + 1, name)?;
                return Some((after, Item::Link { rel, href }));
            }
            _ => {}
        }
        // Attributes are separated by white space.
        if next == at {
            return None;
        }
        let key_end = next
            + input[next..]
                .iter()
                .position(|&b| b == b'=' || is_xml_space(b) || b == b'/' || b == b'>')?;
        let key = &input[next..key_end];
        if !is_plain_name(key) || key.starts_with(b"xmlns") {
            return None;
        }
        let eq = skip_space(input, key_end);
        if input.get(eq) != Some(&b'=') {
            return None;
        }
        let quote_at = skip_space(input, eq + 1);
        let quote = *input.get(quote_at)?;
        if quote != b'"' && quote != b'\'' {
            return None;
        }
        let value_start = quote_at + 1;
        let value_len = memchr::memchr(quote, &input[value_start..])?;
        let value = &input[value_start..value_start + value_len];
        if value
            .iter()
            .any(|&b| matches!(b, b'&' | b'<' | b'\t' | b'\n' | b'\r'))
        {
            return None;
        }
        let value = std::str::from_utf8(value).ok()?;
        let slot = match key {
            b"rel" => &mut rel,
            b"href" => &mut href,
            _ => {
                at = value_start + value_len + 1;
                continue;
            }
        };
        if slot.is_some() {
            // A repeated attribute is an error for the general path.
            return None;
        }
        *slot = Some(value);
        at = value_start + value_len + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(xml: &str, prefix: &str) -> (usize, Vec<String>) {
        let mut items = Vec::new();
        let (n, count) = scan_envelope(xml.as_bytes(), prefix.as_bytes(), |i| {
            items.push(format!("{i:?}"))
        });
        assert_eq!(count as usize, items.len());
        (n, items)
    }

    #[test]
    fn reads_the_usual_children_and_stops_at_content() {
        let xml = "\n  <id>urn:1</id>\n  <link rel=\"self\" href=\"/a/1\"/>\n  <link href='/b' rel='up'></link>\n  <title>T</title>\n  <content>";
        let (n, items) = scan(xml, "");
        assert_eq!(&xml[n..], "\n  <content>");
        assert_eq!(
            items,
            [
                "Text(Id, \"urn:1\")",
                "Link { rel: Some(\"self\"), href: Some(\"/a/1\") }",
                "Link { rel: Some(\"up\"), href: Some(\"/b\") }",
                "Text(Title, \"T\")",
            ]
        );
    }

    #[test]
    fn stops_at_anything_the_general_path_must_read() {
        for xml in [
            "<title type=\"text\">T</title>",
            "<title>A &amp; B</title>",
            "<title>A\r\nB</title>",
            "<title><![CDATA[x]]></title>",
            "<title/>",
            "<id>1</id >",
            "<atom:id>1</atom:id>",
            "<!-- c --><id>1</id>",
            "<link rel=\"self\" rel=\"up\" href=\"/a\"/>",
            "<link xmlns=\"urn:other\" rel=\"self\" href=\"/a\"/>",
            "<link a:rel=\"self\" href=\"/a\"/>",
            "<link rel=\"self\"href=\"/a\"/>",
            "<link href=\"/a&amp;b\"/>",
            "<link href=\"/a\">x</link>",
            "x<id>1</id>",
        ] {
            assert_eq!(scan(xml, "").0, 0, "{xml}");
        }
    }

    #[test]
    fn follows_the_entry_prefix() {
        let xml = "<a:id>1</a:id><a:updated>2024-01-01T00:00:00Z</a:updated><id>2</id>";
        let (n, items) = scan(xml, "a:");
        assert_eq!(&xml[n..], "<id>2</id>");
        assert_eq!(items.len(), 2);
    }
}
