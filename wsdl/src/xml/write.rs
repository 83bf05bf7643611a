//! [`Element`] → text, adding the namespace declarations a fragment needs.

use std::borrow::Cow;

use super::dom::{Element, Node};
use super::names::NsScope;

/// Serializes an element (no XML declaration), declaring every namespace it uses.
pub fn to_string(el: &Element) -> String {
    // Most messages are small; skip the first few doublings of the buffer.
    let mut out = String::with_capacity(512);
    write_element(el, &mut NsScope::new(), &mut out);
    out
}

/// Serializes `el` into `out`; `scope` holds what the surrounding output already declares.
pub fn write_element(el: &Element, scope: &mut NsScope, out: &mut String) {
    // Borrowed until the element needs a declaration or prefix of its own (most do not).
    let mut decls: Cow<'_, [(String, String)]> = Cow::Borrowed(&el.ns_decls);
    let mut prefix: Cow<'_, str> = Cow::Borrowed(&el.prefix);
    scope.push(&decls);
    let bound = scope.lookup(&prefix).unwrap_or("");
    if bound != el.name.ns {
        scope.pop();
        let d = decls.to_mut();
        if el.name.ns.is_empty() {
            prefix = Cow::Borrowed("");
            d.retain(|(p, _)| !p.is_empty());
            d.push((String::new(), String::new()));
        } else if d.iter().any(|(p, u)| *p == *prefix && *u != el.name.ns) {
            let fresh = fresh_prefix(scope, d);
            d.push((fresh.clone(), el.name.ns.clone()));
            prefix = Cow::Owned(fresh);
        } else {
            d.push((prefix.to_string(), el.name.ns.clone()));
        }
        scope.push(&decls);
    }
    let mut attr_prefixes = Vec::with_capacity(el.attrs.len());
    let mut extra: Vec<(String, String)> = Vec::new();
    for a in &el.attrs {
        if a.name.ns.is_empty() {
            attr_prefixes.push(String::new());
            continue;
        }
        let usable = |p: &str, scope: &NsScope, extra: &[(String, String)]| {
            !p.is_empty()
                && (extra.iter().any(|(q, u)| q == p && *u == a.name.ns)
                    || (scope.lookup(p) == Some(a.name.ns.as_str())
                        && !extra.iter().any(|(q, _)| q == p)))
        };
        let p = if usable(&a.prefix, scope, &extra) {
            a.prefix.clone()
        } else if let Some(p) = scope.prefix_for(&a.name.ns).filter(|p| !p.is_empty()) {
            p.to_owned()
        } else {
            let mut all = decls.to_vec();
            all.extend(extra.iter().cloned());
            let p = if !a.prefix.is_empty()
                && scope.lookup(&a.prefix).is_none()
                && !all.iter().any(|(q, _)| *q == a.prefix)
            {
                a.prefix.clone()
            } else {
                fresh_prefix(scope, &all)
            };
            extra.push((p.clone(), a.name.ns.clone()));
            p
        };
        attr_prefixes.push(p);
    }
    if !extra.is_empty() {
        scope.pop();
        decls.to_mut().extend(extra);
        scope.push(&decls);
    }
    out.push('<');
    push_name(out, &prefix, &el.name.local);
    for (p, u) in decls.iter() {
        out.push_str(if p.is_empty() { " xmlns" } else { " xmlns:" });
        out.push_str(p);
        out.push_str("=\"");
        escape_attr(u, out);
        out.push('"');
    }
    for (a, p) in el.attrs.iter().zip(&attr_prefixes) {
        out.push(' ');
        push_name(out, p, &a.name.local);
        out.push_str("=\"");
        escape_attr(&a.value, out);
        out.push('"');
    }
    if el.children.is_empty() {
        out.push_str("/>");
    } else {
        out.push('>');
        for c in &el.children {
            match c {
                Node::Element(e) => write_element(e, scope, out),
                Node::Text(t) => escape_text(t, out),
                Node::Comment(c) => {
                    out.push_str("<!--");
                    out.push_str(c);
                    out.push_str("-->");
                }
                Node::Pi(p) => {
                    out.push_str("<?");
                    out.push_str(p);
                    out.push_str("?>");
                }
            }
        }
        out.push_str("</");
        push_name(out, &prefix, &el.name.local);
        out.push('>');
    }
    scope.pop();
}

fn push_name(out: &mut String, prefix: &str, local: &str) {
    if !prefix.is_empty() {
        out.push_str(prefix);
        out.push(':');
    }
    out.push_str(local);
}

fn fresh_prefix(scope: &NsScope, decls: &[(String, String)]) -> String {
    (0..)
        .map(|i| format!("ns{i}"))
        .find(|p| scope.lookup(p).is_none() && !decls.iter().any(|(q, _)| q == p))
        .unwrap_or_else(|| "nsx".to_owned())
}

/// Escapes character data.
pub fn escape_text(s: &str, out: &mut String) {
    escape_with(s, out, |b| match b {
        b'&' => Some("&amp;"),
        b'<' => Some("&lt;"),
        b'>' => Some("&gt;"),
        b'\r' => Some("&#13;"),
        _ => None,
    });
}

/// Escapes an attribute value (double-quoted).
pub fn escape_attr(s: &str, out: &mut String) {
    escape_with(s, out, |b| match b {
        b'&' => Some("&amp;"),
        b'<' => Some("&lt;"),
        b'"' => Some("&quot;"),
        b'\n' => Some("&#10;"),
        b'\t' => Some("&#9;"),
        b'\r' => Some("&#13;"),
        _ => None,
    });
}

/// Copies `s` to `out` in runs between the bytes `escape` replaces. Every replaced character
/// is ASCII, so run boundaries are character boundaries.
fn escape_with(s: &str, out: &mut String, escape: impl Fn(u8) -> Option<&'static str>) {
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        if let Some(rep) = escape(b) {
            out.push_str(&s[start..i]);
            out.push_str(rep);
            start = i + 1;
        }
    }
    out.push_str(&s[start..]);
}

#[cfg(test)]
mod tests {
    use super::super::names::QName;
    use super::super::parse::{Limits, parse_str};
    use super::*;

    #[test]
    fn round_trip() {
        let src =
            r#"<a:x xmlns:a="urn:a" k="v&amp;&quot;"><b xmlns="urn:b">t &lt; u</b><a:y/></a:x>"#;
        let e = parse_str(src, &Limits::default()).unwrap();
        assert_eq!(to_string(&e), src);
    }

    #[test]
    fn escapes_between_runs_of_any_characters() {
        let mut t = String::new();
        escape_text("é<ü>&\r\"x", &mut t);
        assert_eq!(t, "é&lt;ü&gt;&amp;&#13;\"x");
        let mut a = String::new();
        escape_attr("\t€\"<\n>", &mut a);
        assert_eq!(a, "&#9;€&quot;&lt;&#10;>");
        let mut plain = String::from("k=");
        escape_attr("urn:ä", &mut plain);
        assert_eq!(plain, "k=urn:ä");
    }

    #[test]
    fn fragment_gets_declarations_it_needs() {
        let src = r#"<r xmlns:p="urn:p" xmlns:q="urn:q"><p:c q:at="1"><d/></p:c></r>"#;
        let e = parse_str(src, &Limits::default()).unwrap();
        let c = e.first_element().unwrap();
        let s = to_string(c);
        let back = parse_str(&s, &Limits::default()).unwrap();
        assert_eq!(back.name, QName::new("urn:p", "c"));
        assert_eq!(back.attr_ns("urn:q", "at"), Some("1"));
        assert_eq!(back.first_element().unwrap().name, QName::local("d"));
    }

    #[test]
    fn built_elements_get_prefixes() {
        let mut e = Element::new(QName::new("urn:a", "x"));
        let mut c = Element::new(QName::local("y"));
        c.attrs.push(super::super::dom::Attr {
            name: QName::new("urn:z", "k"),
            prefix: String::new(),
            value: "1".into(),
        });
        e.children.push(Node::Element(c));
        let s = to_string(&e);
        let back = parse_str(&s, &Limits::default()).unwrap();
        assert_eq!(back.name, QName::new("urn:a", "x"));
        let y = back.first_element().unwrap();
        assert_eq!(y.name, QName::local("y"));
        assert_eq!(y.attr_ns("urn:z", "k"), Some("1"));
    }
}
