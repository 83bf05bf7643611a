//! Qualified names and namespace scopes.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The namespace bound to the reserved `xml` prefix.
pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
/// The namespace of `xmlns` declarations.
pub const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";

/// An expanded name: namespace URI (empty for "no namespace") and local part.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct QName {
    /// Namespace URI; the empty string means no namespace.
    pub ns: String,
    /// Local part.
    pub local: String,
}

impl QName {
    /// A name in namespace `ns`.
    pub fn new(ns: impl Into<String>, local: impl Into<String>) -> Self {
        QName {
            ns: ns.into(),
            local: local.into(),
        }
    }

    /// A name in no namespace.
    pub fn local(local: impl Into<String>) -> Self {
        QName {
            ns: String::new(),
            local: local.into(),
        }
    }

    /// True when this name has namespace `ns` and local part `local`.
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.ns == ns && self.local == local
    }

    /// Clark notation: `{ns}local`, or `local` when there is no namespace.
    pub fn clark(&self) -> String {
        self.to_string()
    }

    /// Parses Clark notation (`{ns}local` or `local`).
    pub fn from_clark(s: &str) -> QName {
        if let Some(rest) = s.strip_prefix('{')
            && let Some(end) = rest.find('}')
        {
            return QName::new(&rest[..end], &rest[end + 1..]);
        }
        QName::local(s)
    }
}

impl fmt::Display for QName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ns.is_empty() {
            write!(f, "{}", self.local)
        } else {
            write!(f, "{{{}}}{}", self.ns, self.local)
        }
    }
}

/// Splits `prefix:local` into its parts (`("", s)` when unprefixed).
pub fn split_prefixed(s: &str) -> (&str, &str) {
    match s.find(':') {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => ("", s),
    }
}

/// A stack of namespace declarations, pushed and popped while walking a tree.
///
/// The empty prefix is the default namespace. `xml` is always bound.
#[derive(Clone, Debug, Default)]
pub struct NsScope {
    bindings: Vec<(String, String)>,
    marks: Vec<usize>,
}

impl NsScope {
    /// An empty scope (only `xml` bound).
    pub fn new() -> Self {
        NsScope::default()
    }

    /// Enters an element: its declarations shadow outer ones until [`NsScope::pop`].
    pub fn push(&mut self, decls: &[(String, String)]) {
        self.marks.push(self.bindings.len());
        self.bindings.extend(decls.iter().cloned());
    }

    /// Leaves the element entered last.
    pub fn pop(&mut self) {
        if let Some(m) = self.marks.pop() {
            self.bindings.truncate(m);
        }
    }

    /// The namespace bound to `prefix`, if any. An empty URI for the default prefix
    /// (an undeclaration `xmlns=""`) is reported as `Some("")`.
    pub fn lookup(&self, prefix: &str) -> Option<&str> {
        if prefix == "xml" {
            return Some(XML_NS);
        }
        self.bindings
            .iter()
            .rev()
            .find(|(p, _)| p == prefix)
            .map(|(_, u)| u.as_str())
    }

    /// A prefix currently bound to `uri` (the innermost one that is not shadowed).
    pub fn prefix_for(&self, uri: &str) -> Option<&str> {
        self.bindings
            .iter()
            .rev()
            .find(|(p, u)| u == uri && self.lookup(p) == Some(uri))
            .map(|(p, _)| p.as_str())
    }

    /// Resolves a `prefix:local` value (an attribute value of type xs:QName).
    ///
    /// Unprefixed names take the default namespace when `use_default` is true (xs:QName
    /// values do; XPath names do not).
    pub fn resolve(&self, prefixed: &str, use_default: bool) -> Result<QName, String> {
        let prefixed = prefixed.trim();
        let (prefix, local) = split_prefixed(prefixed);
        if local.is_empty() || local.contains(':') {
            return Err(format!("'{prefixed}' is not a valid qualified name"));
        }
        if prefix.is_empty() {
            let ns = if use_default {
                self.lookup("").unwrap_or("")
            } else {
                ""
            };
            return Ok(QName::new(ns, local));
        }
        match self.lookup(prefix) {
            Some(ns) if !ns.is_empty() => Ok(QName::new(ns, local)),
            _ => Err(format!(
                "namespace prefix '{prefix}' of '{prefixed}' is not declared"
            )),
        }
    }

    /// Every binding in force, innermost first wins; one entry per prefix, sorted by prefix.
    pub fn in_scope(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for (p, u) in self.bindings.iter().rev() {
            if !out.iter().any(|(q, _)| q == p) {
                out.push((p.clone(), u.clone()));
            }
        }
        out.retain(|(p, u)| !(p.is_empty() && u.is_empty()));
        out.sort();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clark_round_trip() {
        let q = QName::new("urn:a", "b");
        assert_eq!(q.clark(), "{urn:a}b");
        assert_eq!(QName::from_clark("{urn:a}b"), q);
        assert_eq!(QName::from_clark("b"), QName::local("b"));
    }

    #[test]
    fn scope_shadowing_and_resolution() {
        let mut s = NsScope::new();
        s.push(&[("a".into(), "urn:1".into()), ("".into(), "urn:d".into())]);
        s.push(&[("a".into(), "urn:2".into())]);
        assert_eq!(s.resolve("a:x", true).unwrap(), QName::new("urn:2", "x"));
        assert_eq!(s.resolve("x", true).unwrap(), QName::new("urn:d", "x"));
        assert_eq!(s.resolve("x", false).unwrap(), QName::local("x"));
        assert!(s.resolve("b:x", true).is_err());
        assert_eq!(s.prefix_for("urn:1"), None);
        s.pop();
        assert_eq!(s.resolve("a:x", true).unwrap(), QName::new("urn:1", "x"));
        assert_eq!(s.prefix_for("urn:1"), Some("a"));
    }
}
