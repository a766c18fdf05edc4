//! A tiny hand-written XML reader for the tests: checks well-formedness and
//! namespace bindings, and builds a small tree. Not a general XML parser: no
//! DTDs, entities or CDATA (the generator writes none).
#![allow(dead_code)]

use std::collections::HashMap;

pub const ATOM: &str = "http://www.w3.org/2005/Atom";
pub const ESPI: &str = "http://naesb.org/espi";

/// An element with its namespace URI resolved.
#[derive(Debug, Default)]
pub struct Node {
    pub ns: String,
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Node>,
    pub text: String,
}

impl Node {
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// Text of the descendant at a `/`-separated path.
    pub fn text_at(&self, path: &str) -> Option<&str> {
        let mut n = self;
        for part in path.split('/') {
            n = n.child(part)?;
        }
        Some(n.text.trim())
    }

    pub fn int_at(&self, path: &str) -> Option<i64> {
        self.text_at(path).map(|t| t.parse().expect("integer"))
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b':')
}

/// Parse `xml`, checking well-formedness: balanced and properly nested tags,
/// quoted attributes, declared prefixes, nothing but whitespace outside the
/// single root element, no stray `<` or `&` in text.
pub fn parse(xml: &str) -> Result<Node, String> {
    let b = xml.as_bytes();
    let mut i = 0;
    // Stack of open elements and their namespace scopes.
    let mut stack: Vec<(Node, String, HashMap<String, String>)> = Vec::new();
    let mut root: Option<Node> = None;
    while i < b.len() {
        if b[i] != b'<' {
            let end = xml[i..].find('<').map_or(b.len(), |k| i + k);
            let text = &xml[i..end];
            if text.contains('&') || text.contains('>') {
                return Err(format!("unexpected character in text at {i}"));
            }
            match stack.last_mut() {
                Some((node, _, _)) => node.text.push_str(text),
                None if text.trim().is_empty() => {}
                None => return Err(format!("text outside the root at {i}")),
            }
            i = end;
            continue;
        }
        if xml[i..].starts_with("<?") {
            let end = xml[i..]
                .find("?>")
                .ok_or("unterminated processing instruction")?;
            if i != 0 {
                return Err("processing instruction not at the start".into());
            }
            i += end + 2;
            continue;
        }
        if xml[i..].starts_with("<!--") {
            let end = xml[i..].find("-->").ok_or("unterminated comment")?;
            i += end + 3;
            continue;
        }
        if xml[i..].starts_with("</") {
            let mut j = i + 2;
            while j < b.len() && is_name_char(b[j]) {
                j += 1;
            }
            let qname = &xml[i + 2..j];
            while j < b.len() && b[j].is_ascii_whitespace() {
                j += 1;
            }
            if j >= b.len() || b[j] != b'>' {
                return Err(format!("bad end tag at {i}"));
            }
            let (node, open_qname, _) = stack
                .pop()
                .ok_or(format!("end tag {qname} without start"))?;
            if open_qname != qname {
                return Err(format!("end tag {qname} closes {open_qname} at {i}"));
            }
            attach(&mut stack, &mut root, node)?;
            i = j + 1;
            continue;
        }
        // Start tag.
        let mut j = i + 1;
        while j < b.len() && is_name_char(b[j]) {
            j += 1;
        }
        let qname = xml[i + 1..j].to_string();
        if qname.is_empty() {
            return Err(format!("empty tag name at {i}"));
        }
        let mut raw_attrs = Vec::new();
        let empty;
        loop {
            while j < b.len() && b[j].is_ascii_whitespace() {
                j += 1;
            }
            if j >= b.len() {
                return Err("unterminated start tag".into());
            }
            if b[j] == b'>' {
                empty = false;
                j += 1;
                break;
            }
            if b[j] == b'/' {
                if b.get(j + 1) != Some(&b'>') {
                    return Err(format!("bad empty tag at {j}"));
                }
                empty = true;
                j += 2;
                break;
            }
            let a0 = j;
            while j < b.len() && is_name_char(b[j]) {
                j += 1;
            }
            let aname = &xml[a0..j];
            if aname.is_empty() || b.get(j) != Some(&b'=') {
                return Err(format!("bad attribute at {a0}"));
            }
            let quote = b[j + 1];
            if quote != b'"' && quote != b'\'' {
                return Err(format!("unquoted attribute at {a0}"));
            }
            let v0 = j + 2;
            let v1 = v0
                + xml[v0..]
                    .find(quote as char)
                    .ok_or("unterminated attribute")?;
            let value = &xml[v0..v1];
            if value.contains('<') || value.contains('&') {
                return Err(format!("bad attribute value at {v0}"));
            }
            if raw_attrs.iter().any(|(k, _): &(String, String)| k == aname) {
                return Err(format!("duplicate attribute {aname}"));
            }
            raw_attrs.push((aname.to_string(), value.to_string()));
            j = v1 + 1;
        }
        let mut scope = stack.last().map(|s| s.2.clone()).unwrap_or_default();
        let mut attrs = Vec::new();
        for (k, v) in raw_attrs {
            if k == "xmlns" {
                scope.insert(String::new(), v);
            } else if let Some(p) = k.strip_prefix("xmlns:") {
                scope.insert(p.to_string(), v);
            } else {
                attrs.push((k, v));
            }
        }
        let (prefix, local) = match qname.split_once(':') {
            Some((p, l)) => (p.to_string(), l.to_string()),
            None => (String::new(), qname.clone()),
        };
        let ns = match scope.get(&prefix) {
            Some(uri) => uri.clone(),
            None if prefix.is_empty() => String::new(),
            None => return Err(format!("undeclared prefix {prefix} at {i}")),
        };
        let node = Node {
            ns,
            name: local,
            attrs,
            ..Node::default()
        };
        if empty {
            attach(&mut stack, &mut root, node)?;
        } else {
            stack.push((node, qname, scope));
        }
        i = j;
    }
    if let Some((_, q, _)) = stack.last() {
        return Err(format!("unclosed element {q}"));
    }
    root.ok_or_else(|| "no root element".to_string())
}

fn attach(
    stack: &mut [(Node, String, HashMap<String, String>)],
    root: &mut Option<Node>,
    node: Node,
) -> Result<(), String> {
    match stack.last_mut() {
        Some((parent, _, _)) => parent.children.push(node),
        None if root.is_none() => *root = Some(node),
        None => return Err("second root element".into()),
    }
    Ok(())
}

/// One Atom entry, flattened.
#[derive(Debug)]
pub struct Entry<'a> {
    pub self_href: String,
    pub up_href: String,
    pub related: Vec<String>,
    pub published: String,
    pub updated: String,
    pub resource: &'a Node,
}

/// The entries of a feed, checking the Atom structure on the way.
pub fn entries(feed: &Node) -> Vec<Entry<'_>> {
    assert_eq!((feed.ns.as_str(), feed.name.as_str()), (ATOM, "feed"));
    let mut out = Vec::new();
    for e in feed.children_named("entry") {
        assert_eq!(e.ns, ATOM);
        let mut self_href = String::new();
        let mut up_href = String::new();
        let mut related = Vec::new();
        for l in e.children_named("link") {
            let href = l.attr("href").expect("href").to_string();
            match l.attr("rel").expect("rel") {
                "self" => self_href = href,
                "up" => up_href = href,
                "related" => related.push(href),
                other => panic!("unexpected rel {other}"),
            }
        }
        let content = e.child("content").expect("content");
        assert_eq!(content.children.len(), 1, "one resource per entry");
        let resource = &content.children[0];
        assert_eq!(
            resource.ns, ESPI,
            "resource {} in the ESPI namespace",
            resource.name
        );
        for c in &resource.children {
            assert_eq!(c.ns, ESPI);
        }
        // <published> and <updated> come after <content>.
        let names: Vec<&str> = e.children.iter().map(|c| c.name.as_str()).collect();
        let pos = |n: &str| names.iter().position(|x| *x == n).expect(n);
        assert!(pos("content") < pos("published") && pos("published") < pos("updated"));
        out.push(Entry {
            self_href,
            up_href,
            related,
            published: e.text_at("published").expect("published").to_string(),
            updated: e.text_at("updated").expect("updated").to_string(),
            resource,
        });
    }
    out
}

#[test]
fn reader_rejects_malformed() {
    assert!(parse("<a><b></a></b>").is_err());
    assert!(parse("<a><b></b>").is_err());
    assert!(parse("<a x=1/>").is_err());
    assert!(parse("<p:a/>").is_err());
    assert!(parse("<a/><b/>").is_err());
    assert!(parse("<a>x & y</a>").is_err());
    let n =
        parse("<?xml version=\"1.0\"?>\n<a xmlns=\"u\" xmlns:p=\"v\"><p:b k='1'/>t</a>").unwrap();
    assert_eq!(n.ns, "u");
    assert_eq!(n.children[0].ns, "v");
    assert_eq!(n.children[0].attr("k"), Some("1"));
}
