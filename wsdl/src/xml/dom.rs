//! The one XML tree type: used by the compiler (with source positions), XPath, the runtime
//! (variables are infosets) and the transports.

use serde::{Deserialize, Serialize};

use super::names::{NsScope, QName};

/// A source position: 1-based line and column (column counted in characters).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct Pos {
    /// 1-based line; 0 when unknown (built in memory).
    pub line: u32,
    /// 1-based column; 0 when unknown.
    pub col: u32,
}

/// An attribute (namespace declarations are kept apart, in [`Element::ns_decls`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attr {
    /// Expanded name; unprefixed attributes are in no namespace.
    pub name: QName,
    /// Prefix as written (empty when unprefixed).
    pub prefix: String,
    /// Value with references resolved.
    pub value: String,
}

/// A node of the tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Node {
    /// A child element.
    Element(Element),
    /// Character data (CDATA sections are merged into text).
    Text(String),
    /// A comment.
    Comment(String),
    /// A processing instruction (target and data as written).
    Pi(String),
}

/// An element with its attributes, the namespace declarations written on it, and its children.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Element {
    /// Expanded name.
    pub name: QName,
    /// Prefix as written (empty when unprefixed).
    pub prefix: String,
    /// Attributes in document order.
    pub attrs: Vec<Attr>,
    /// `xmlns`/`xmlns:p` declarations on this element as (prefix, uri); "" is the default.
    pub ns_decls: Vec<(String, String)>,
    /// Children in document order.
    pub children: Vec<Node>,
    /// Where the start tag begins in the source.
    pub pos: Pos,
}

impl Element {
    /// A new empty element with no prefix.
    pub fn new(name: QName) -> Self {
        Element {
            name,
            prefix: String::new(),
            attrs: Vec::new(),
            ns_decls: Vec::new(),
            children: Vec::new(),
            pos: Pos::default(),
        }
    }

    /// True when the element's name is `{ns}local`.
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.name.is(ns, local)
    }

    /// The value of the unqualified attribute `local`.
    pub fn attr(&self, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.name.ns.is_empty() && a.name.local == local)
            .map(|a| a.value.as_str())
    }

    /// The value of the attribute `{ns}local`.
    pub fn attr_ns(&self, ns: &str, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.name.is(ns, local))
            .map(|a| a.value.as_str())
    }

    /// Sets (or replaces) the unqualified attribute `local`.
    pub fn set_attr(&mut self, local: &str, value: impl Into<String>) {
        let value = value.into();
        match self
            .attrs
            .iter_mut()
            .find(|a| a.name.ns.is_empty() && a.name.local == local)
        {
            Some(a) => a.value = value,
            None => self.attrs.push(Attr {
                name: QName::local(local),
                prefix: String::new(),
                value,
            }),
        }
    }

    /// Child elements in document order.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            _ => None,
        })
    }

    /// Mutable child elements in document order.
    pub fn elements_mut(&mut self) -> impl Iterator<Item = &mut Element> {
        self.children.iter_mut().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            _ => None,
        })
    }

    /// Child elements named `{ns}local`.
    pub fn children_named<'a>(
        &'a self,
        ns: &'a str,
        local: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.elements().filter(move |e| e.is(ns, local))
    }

    /// The first child element named `{ns}local`.
    pub fn child(&self, ns: &str, local: &str) -> Option<&Element> {
        self.elements().find(|e| e.is(ns, local))
    }

    /// The first child element, whatever its name.
    pub fn first_element(&self) -> Option<&Element> {
        self.elements().next()
    }

    /// The string value: all descendant text concatenated (XPath `string()` of an element).
    pub fn text(&self) -> String {
        let mut out = String::new();
        self.collect_text(&mut out);
        out
    }

    fn collect_text(&self, out: &mut String) {
        for c in &self.children {
            match c {
                Node::Text(t) => out.push_str(t),
                Node::Element(e) => e.collect_text(out),
                _ => {}
            }
        }
    }

    /// True when the element has a child element.
    pub fn has_element_children(&self) -> bool {
        self.elements().next().is_some()
    }

    /// Resolves a QName-valued string against the namespaces declared on this element only.
    /// Walkers that keep an [`NsScope`] should use that instead.
    pub fn resolve_local(&self, value: &str) -> Result<QName, String> {
        let mut s = NsScope::new();
        s.push(&self.ns_decls);
        s.resolve(value, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accessors() {
        let mut e = Element::new(QName::new("urn:x", "a"));
        e.set_attr("k", "v");
        let mut c = Element::new(QName::new("urn:x", "b"));
        c.children.push(Node::Text("hi".into()));
        e.children.push(Node::Element(c));
        e.children.push(Node::Text(" there".into()));
        assert_eq!(e.attr("k"), Some("v"));
        assert_eq!(
            e.child("urn:x", "b").map(|b| b.text()),
            Some("hi".to_string())
        );
        assert_eq!(e.text(), "hi there");
        assert!(e.has_element_children());
    }
}
