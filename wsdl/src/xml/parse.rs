//! quick-xml → [`Element`] under [`Limits`]. This is the only place that reads XML text.
//!
//! No DTD is ever processed: a DOCTYPE is rejected, so entity expansion attacks cannot happen;
//! only the five predefined entities and character references are resolved.

use std::borrow::Cow;

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use super::dom::{Attr, Element, Node, Pos};
use super::names::{NsScope, QName, XMLNS_NS, split_prefixed};

/// Caps applied while parsing untrusted XML.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted document, in bytes.
    pub max_bytes: usize,
    /// Deepest accepted element nesting.
    pub max_depth: usize,
    /// Most attributes on one element (namespace declarations included).
    pub max_attrs: usize,
    /// Most namespace declarations on one element.
    pub max_ns_decls: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 16 * 1024 * 1024,
            max_depth: 256,
            max_attrs: 256,
            max_ns_decls: 128,
        }
    }
}

/// Why a document could not be read, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{col}: {message}")]
pub struct XmlError {
    /// 1-based line of the problem (0 when it concerns the whole document).
    pub line: u32,
    /// 1-based column.
    pub col: u32,
    /// What is wrong.
    pub message: String,
}

impl XmlError {
    fn at(pos: Pos, message: impl Into<String>) -> Self {
        XmlError {
            line: pos.line,
            col: pos.col,
            message: message.into(),
        }
    }
}

/// Parses a document given as bytes (UTF-8, or ISO-8859-1 when the declaration says so).
pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Element, XmlError> {
    if bytes.len() > limits.max_bytes {
        return Err(XmlError::at(
            Pos::default(),
            format!(
                "document is {} bytes, more than the limit of {}",
                bytes.len(),
                limits.max_bytes
            ),
        ));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.starts_with(b"\xFE\xFF") || bytes.starts_with(b"\xFF\xFE") {
        return Err(XmlError::at(
            Pos::default(),
            "UTF-16 documents are not supported; use UTF-8",
        ));
    }
    let text: Cow<'_, str> = match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(e) => {
            if declares_latin1(bytes) {
                Cow::Owned(bytes.iter().map(|&b| b as char).collect())
            } else {
                let pos = Cursor::new(bytes).pos(e.valid_up_to());
                return Err(XmlError::at(pos, "document is not valid UTF-8"));
            }
        }
    };
    parse_str(&text, limits)
}

fn declares_latin1(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(200)];
    let head: String = head
        .iter()
        .map(|&b| b as char)
        .collect::<String>()
        .to_ascii_lowercase();
    head.starts_with("<?xml") && (head.contains("iso-8859-1") || head.contains("latin1"))
}

/// Byte offset → line/column, for offsets that mostly grow: each call scans only the bytes
/// since the previous one, so positions for every event of a document cost O(document) in all
/// (a line index with a per-call column count was quadratic in the length of a one-line
/// document, the usual shape of a SOAP message).
struct Cursor<'a> {
    text: &'a [u8],
    offset: usize,
    line: u32,
    col: u32,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a [u8]) -> Self {
        Cursor {
            text,
            offset: 0,
            line: 1,
            col: 1,
        }
    }

    /// The position of `offset`; the column counts characters (for valid UTF-8 up to
    /// `offset`, which is all this is asked about).
    fn pos(&mut self, offset: usize) -> Pos {
        let offset = offset.min(self.text.len());
        if offset < self.offset {
            // Only error positions can go back; start over.
            *self = Cursor::new(self.text);
        }
        for &b in &self.text[self.offset..offset] {
            if b == b'\n' {
                self.line += 1;
                self.col = 1;
            } else if b & 0xC0 != 0x80 {
                // Not a UTF-8 continuation byte: a new character.
                self.col += 1;
            }
        }
        self.offset = offset;
        Pos {
            line: self.line,
            col: self.col,
        }
    }
}

struct Open {
    el: Element,
}

/// Parses a document given as text.
pub fn parse_str(text: &str, limits: &Limits) -> Result<Element, XmlError> {
    if text.len() > limits.max_bytes {
        return Err(XmlError::at(
            Pos::default(),
            format!(
                "document is {} bytes, more than the limit of {}",
                text.len(),
                limits.max_bytes
            ),
        ));
    }
    let mut index = Cursor::new(text.as_bytes());
    let mut reader = Reader::from_str(text);
    {
        let cfg = reader.config_mut();
        cfg.trim_text(false);
        cfg.expand_empty_elements = false;
        cfg.check_end_names = true;
        cfg.check_comments = true;
    }
    let mut scope = NsScope::new();
    let mut stack: Vec<Open> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let start = reader.buffer_position() as usize;
        let pos = index.pos(start);
        let event = reader.read_event().map_err(|e| {
            XmlError::at(
                index.pos(reader.error_position() as usize),
                format!("malformed XML: {e}"),
            )
        })?;
        match event {
            Event::Start(s) => {
                if root.is_some() {
                    return Err(XmlError::at(pos, "content after the root element"));
                }
                if stack.len() >= limits.max_depth {
                    return Err(XmlError::at(
                        pos,
                        format!(
                            "elements nested deeper than the limit of {}",
                            limits.max_depth
                        ),
                    ));
                }
                let el = open_element(&s, pos, &mut scope, limits)?;
                stack.push(Open { el });
            }
            Event::Empty(s) => {
                if root.is_some() {
                    return Err(XmlError::at(pos, "content after the root element"));
                }
                if stack.len() >= limits.max_depth {
                    return Err(XmlError::at(
                        pos,
                        format!(
                            "elements nested deeper than the limit of {}",
                            limits.max_depth
                        ),
                    ));
                }
                let el = open_element(&s, pos, &mut scope, limits)?;
                scope.pop();
                close(el, &mut stack, &mut root);
            }
            Event::End(_) => {
                let Some(open) = stack.pop() else {
                    return Err(XmlError::at(pos, "end tag without a start tag"));
                };
                scope.pop();
                close(open.el, &mut stack, &mut root);
            }
            Event::Text(t) => {
                let s = t.xml_content(XmlVersion::Implicit1_0);
                push_text(&mut stack, s, pos)?;
            }
            Event::CData(c) => {
                let s = c.xml_content(XmlVersion::Implicit1_0);
                push_text(&mut stack, s, pos)?;
            }
            Event::GeneralRef(r) => {
                let ch = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => match &*r {
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "amp" => "&".into(),
                        "apos" => "'".into(),
                        "quot" => "\"".into(),
                        other => {
                            return Err(XmlError::at(
                                pos,
                                format!(
                                    "unknown entity '&{other};' (DTDs and entities are not supported)"
                                ),
                            ));
                        }
                    },
                    Err(e) => {
                        return Err(XmlError::at(pos, format!("bad character reference: {e}")));
                    }
                };
                push_text(&mut stack, Cow::Owned(ch), pos)?;
            }
            Event::Comment(c) => {
                if let Some(top) = stack.last_mut() {
                    top.el.children.push(Node::Comment(
                        c.xml_content(XmlVersion::Implicit1_0).into_owned(),
                    ));
                }
            }
            Event::PI(p) => {
                if let Some(top) = stack.last_mut() {
                    top.el.children.push(Node::Pi(p.into_inner().into_owned()));
                }
            }
            Event::Decl(_) => {}
            Event::DocType(_) => {
                return Err(XmlError::at(
                    pos,
                    "DOCTYPE declarations are not allowed (no DTD processing)",
                ));
            }
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::at(
            index.pos(text.len()),
            "document ended before the root element was closed",
        ));
    }
    root.ok_or_else(|| XmlError::at(Pos::default(), "document has no root element"))
}

fn is_xml_char(c: char) -> bool {
    !matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

fn check_chars(s: &str, pos: Pos) -> Result<(), XmlError> {
    // Fast path on bytes: every forbidden character is a C0 control other than tab, LF and CR,
    // or U+FFFE/U+FFFF, whose UTF-8 starts with 0xEF; text without those bytes is fine.
    if s.bytes()
        .all(|b| (b >= 0x20 && b != 0xEF) || matches!(b, b'\t' | b'\n' | b'\r'))
    {
        return Ok(());
    }
    match s.chars().find(|c| !is_xml_char(*c)) {
        Some(c) => Err(XmlError::at(
            pos,
            format!("character U+{:04X} is not allowed in XML", c as u32),
        )),
        None => Ok(()),
    }
}

fn push_text(stack: &mut [Open], s: Cow<'_, str>, pos: Pos) -> Result<(), XmlError> {
    check_chars(&s, pos)?;
    match stack.last_mut() {
        Some(top) => {
            if let Some(Node::Text(prev)) = top.el.children.last_mut() {
                prev.push_str(&s);
            } else {
                // Owned when quick-xml normalised line ends: moved, not copied again.
                top.el.children.push(Node::Text(s.into_owned()));
            }
            Ok(())
        }
        None if s.trim().is_empty() => Ok(()),
        None => Err(XmlError::at(pos, "text outside the root element")),
    }
}

fn close(el: Element, stack: &mut [Open], root: &mut Option<Element>) {
    match stack.last_mut() {
        Some(parent) => parent.el.children.push(Node::Element(el)),
        None => *root = Some(el),
    }
}

fn open_element(
    s: &BytesStart<'_>,
    pos: Pos,
    scope: &mut NsScope,
    limits: &Limits,
) -> Result<Element, XmlError> {
    let mut decls: Vec<(String, String)> = Vec::new();
    let mut raw_attrs: Vec<(String, String)> = Vec::new();
    for (i, a) in s.attributes().with_checks(true).enumerate() {
        if i >= limits.max_attrs {
            return Err(XmlError::at(
                pos,
                format!("more than {} attributes on one element", limits.max_attrs),
            ));
        }
        let a = a.map_err(|e| XmlError::at(pos, format!("malformed attribute: {e}")))?;
        let key: &str = a.key.as_ref();
        let value = a
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| XmlError::at(pos, format!("bad attribute value of '{key}': {e}")))?
            .into_owned();
        check_chars(&value, pos)?;
        if key == "xmlns" {
            decls.push((String::new(), value));
        } else if let Some(p) = key.strip_prefix("xmlns:") {
            if value.is_empty() {
                return Err(XmlError::at(
                    pos,
                    format!("prefix '{p}' cannot be undeclared"),
                ));
            }
            decls.push((p.to_owned(), value));
        } else {
            raw_attrs.push((key.to_owned(), value));
        }
    }
    if decls.len() > limits.max_ns_decls {
        return Err(XmlError::at(
            pos,
            format!(
                "more than {} namespace declarations on one element",
                limits.max_ns_decls
            ),
        ));
    }
    scope.push(&decls);
    let name = s.name();
    let qname: &str = name.as_ref();
    let (prefix, local) = split_prefixed(qname);
    let ns = if prefix.is_empty() {
        scope.lookup("").unwrap_or("").to_owned()
    } else {
        match scope.lookup(prefix) {
            Some(ns) => ns.to_owned(),
            None => {
                return Err(XmlError::at(
                    pos,
                    format!("namespace prefix '{prefix}' of <{qname}> is not declared"),
                ));
            }
        }
    };
    let mut attrs = Vec::with_capacity(raw_attrs.len());
    for (key, value) in raw_attrs {
        let (p, l) = split_prefixed(&key);
        let name = if p.is_empty() {
            QName::local(l)
        } else {
            match scope.lookup(p) {
                Some(ns) if ns != XMLNS_NS => QName::new(ns, l),
                _ => {
                    return Err(XmlError::at(
                        pos,
                        format!("namespace prefix '{p}' of attribute '{key}' is not declared"),
                    ));
                }
            }
        };
        if attrs.iter().any(|a: &Attr| a.name == name) {
            return Err(XmlError::at(
                pos,
                format!("attribute '{key}' appears twice"),
            ));
        }
        attrs.push(Attr {
            name,
            prefix: p.to_owned(),
            value,
        });
    }
    Ok(Element {
        name: QName::new(ns, local),
        prefix: prefix.to_owned(),
        attrs,
        ns_decls: decls,
        children: Vec::new(),
        pos,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Element, XmlError> {
        parse_str(s, &Limits::default())
    }

    #[test]
    fn namespaces_positions_and_text() {
        let e = p("<?xml version='1.0'?>\n<a xmlns='urn:a' xmlns:b='urn:b'>\n  <b:c x='1' b:y='2'>t&amp;&#65;<![CDATA[<z>]]></b:c>\n</a>").unwrap();
        assert_eq!(e.name, QName::new("urn:a", "a"));
        assert_eq!(e.pos, Pos { line: 2, col: 1 });
        let c = e.child("urn:b", "c").unwrap();
        assert_eq!(c.pos, Pos { line: 3, col: 3 });
        assert_eq!(c.attr("x"), Some("1"));
        assert_eq!(c.attr_ns("urn:b", "y"), Some("2"));
        assert_eq!(c.text(), "t&A<z>");
    }

    #[test]
    fn rejects_dtd_and_unknown_entities() {
        let err = p("<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>").unwrap_err();
        assert!(err.message.contains("DOCTYPE"), "{err}");
        let err = p("<a>&x;</a>").unwrap_err();
        assert!(err.message.contains("unknown entity"), "{err}");
    }

    #[test]
    fn enforces_limits() {
        let deep = "<a>".repeat(20) + &"</a>".repeat(20);
        let lim = Limits {
            max_depth: 10,
            ..Limits::default()
        };
        assert!(
            parse_str(&deep, &lim)
                .unwrap_err()
                .message
                .contains("deeper")
        );
        let lim = Limits {
            max_bytes: 5,
            ..Limits::default()
        };
        assert!(parse_str("<abcdef/>", &lim).is_err());
    }

    #[test]
    fn malformed_inputs_are_errors() {
        for bad in [
            "",
            "<a>",
            "<a></b>",
            "<a/><b/>",
            "text",
            "<p:a/>",
            "<a x='1' x='2'/>",
            "<a>\u{0}</a>",
        ] {
            assert!(p(bad).is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn positions_count_characters_on_long_lines() {
        let e = p("<a>\u{e9}\u{e9}<b/>\u{1F600}<c/>\n\t<d/></a>").unwrap();
        let kids: Vec<&Element> = e.elements().collect();
        assert_eq!(kids[0].pos, Pos { line: 1, col: 6 });
        assert_eq!(kids[1].pos, Pos { line: 1, col: 11 });
        assert_eq!(kids[2].pos, Pos { line: 2, col: 2 });
        // An error reported behind the last event's start still gets its own position.
        let err = p("<a>\n  <b>\u{e9}</c></a>").unwrap_err();
        assert_eq!(err.line, 2, "{err}");
        let mut c = Cursor::new("ab\ncd".as_bytes());
        assert_eq!(c.pos(4), Pos { line: 2, col: 2 });
        assert_eq!(c.pos(1), Pos { line: 1, col: 2 });
    }

    #[test]
    fn forbidden_characters_beyond_ascii() {
        assert!(p("<a>\u{FFFE}</a>").is_err());
        assert!(p("<a x='\u{FFFF}'/>").is_err());
        assert!(p("<a>\u{1b}</a>").is_err());
        assert_eq!(
            p("<a>\u{EFFF}\u{FFFD}\t\n</a>").unwrap().text(),
            "\u{EFFF}\u{FFFD}\t\n"
        );
    }

    #[test]
    fn latin1_declared() {
        let bytes = b"<?xml version='1.0' encoding='ISO-8859-1'?><a>\xe9</a>";
        assert_eq!(parse(bytes, &Limits::default()).unwrap().text(), "\u{e9}");
    }
}
