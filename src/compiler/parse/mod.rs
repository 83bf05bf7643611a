//! BPEL documents → [`super::ast::Process`], with diagnostics for what does not fit.
//!
//! One recursive walk over the DOM keeps an [`NsScope`] in step with the elements it enters, so
//! QName attributes and expressions see exactly the namespaces in force where they were written.
//! Schema-level problems are reported with code `BPEL`; from/to forms matching none of the
//! WS-BPEL 2.0 variants with `SA00032`. Every problem is collected; the walk never stops early.

mod activity;
mod assign;
mod decl;

use std::sync::Arc;

use bpelgate_wsdl::xml::{Element, Node, NsScope, Pos, QName};

use super::ast::{Dialect, Expr, Namespaces, Process};
use super::diag::Diagnostic;

/// The WS-BPEL 2.0 executable process namespace.
pub const BPEL20_NS: &str = "http://docs.oasis-open.org/wsbpel/2.0/process/executable";
/// The WS-BPEL 2.0 abstract process namespace (rejected: abstract processes are not deployable).
pub const BPEL20_ABSTRACT_NS: &str = "http://docs.oasis-open.org/wsbpel/2.0/process/abstract";
/// The pre-OASIS 2004/03 draft namespace.
pub const BPEL20_DRAFT_NS: &str = "http://schemas.xmlsoap.org/ws/2004/03/business-process/";
/// The BPEL4WS 1.1 namespace.
pub const BPEL11_NS: &str = "http://schemas.xmlsoap.org/ws/2003/03/business-process/";

const ALL_BPEL_NS: [&str; 4] = [BPEL20_NS, BPEL20_ABSTRACT_NS, BPEL20_DRAFT_NS, BPEL11_NS];

/// Diagnostic code for schema-level problems.
const BPEL: &str = "BPEL";

/// Parses a BPEL document already read as XML. `file` is the package-relative path used in
/// diagnostics. Returns the tree (None when the root is not a BPEL process) and every problem.
pub fn parse_process(file: &str, root: &Element) -> (Option<Process>, Vec<Diagnostic>) {
    let dialect = match root.name.ns.as_str() {
        BPEL20_NS => Dialect::Bpel20,
        BPEL20_DRAFT_NS => Dialect::Bpel20Draft,
        BPEL11_NS => Dialect::Bpel11,
        BPEL20_ABSTRACT_NS if root.name.local == "process" => {
            let d = Diagnostic::error(
                BPEL,
                file,
                root.pos,
                "abstract processes cannot be deployed: use the executable namespace \
                 http://docs.oasis-open.org/wsbpel/2.0/process/executable",
            );
            return (None, vec![d]);
        }
        _ => {
            let d = Diagnostic::error(
                BPEL,
                file,
                root.pos,
                format!(
                    "root element {} is not a BPEL process (expected <process> in the WS-BPEL 2.0 namespace {BPEL20_NS})",
                    root.name
                ),
            );
            return (None, vec![d]);
        }
    };
    if root.name.local != "process" {
        let d = Diagnostic::error(
            BPEL,
            file,
            root.pos,
            format!(
                "root element <{}> is not a BPEL process: expected <process>",
                root.name.local
            ),
        );
        return (None, vec![d]);
    }
    if dialect != Dialect::Bpel20 && root.attr("abstractProcess") == Some("yes") {
        let d = Diagnostic::error(
            BPEL,
            file,
            root.pos,
            "abstract processes cannot be deployed (abstractProcess=\"yes\")",
        );
        return (None, vec![d]);
    }
    let mut p = Parser {
        file,
        dialect,
        bpel: root.name.ns.clone(),
        scope: NsScope::new(),
        last_ns: None,
        diags: Vec::new(),
    };
    let process = p.within(root, |p| p.process(root));
    (Some(process), p.diags)
}

/// The walk's state.
struct Parser<'a> {
    file: &'a str,
    dialect: Dialect,
    /// The namespace of the process element: BPEL elements are looked up in it.
    bpel: String,
    scope: NsScope,
    /// The namespaces last handed to an expression, shared when the next one sees the same.
    last_ns: Option<Namespaces>,
    diags: Vec<Diagnostic>,
}

/// A child element sorted by what it is.
enum Child<'e> {
    /// In the process's BPEL namespace (documentation already skipped).
    Bpel(&'e Element),
    /// In a non-BPEL namespace: an extension element.
    Foreign(&'e Element),
}

impl Parser<'_> {
    fn is11(&self) -> bool {
        self.dialect == Dialect::Bpel11
    }

    fn is20(&self) -> bool {
        self.dialect == Dialect::Bpel20
    }

    /// True for the draft and 1.1, which accept the older spellings.
    fn legacy(&self) -> bool {
        self.dialect != Dialect::Bpel20
    }

    fn error(&mut self, pos: Pos, msg: impl Into<String>) {
        self.diags
            .push(Diagnostic::error(BPEL, self.file, pos, msg.into()));
    }

    fn error_code(&mut self, code: &str, pos: Pos, msg: impl Into<String>) {
        self.diags
            .push(Diagnostic::error(code, self.file, pos, msg.into()));
    }

    /// Runs `f` with `el`'s namespace declarations in scope.
    fn within<R>(&mut self, el: &Element, f: impl FnOnce(&mut Self) -> R) -> R {
        self.scope.push(&el.ns_decls);
        let r = f(self);
        self.scope.pop();
        r
    }

    /// The namespaces in scope now, shared with the previous expression when identical.
    fn ns(&mut self) -> Namespaces {
        let now = self.scope.in_scope();
        if let Some(last) = &self.last_ns
            && **last == now
        {
            return Arc::clone(last);
        }
        let ns = Arc::new(now);
        self.last_ns = Some(Arc::clone(&ns));
        ns
    }

    /// Sorts the children of `el`: text that is not whitespace is an error, documentation and
    /// comments are skipped, elements of another BPEL dialect are errors.
    fn children<'e>(&mut self, el: &'e Element) -> Vec<Child<'e>> {
        let mut out = Vec::new();
        let mut text_reported = false;
        for node in &el.children {
            match node {
                Node::Text(t) if !t.trim().is_empty() && !text_reported => {
                    text_reported = true;
                    self.error(
                        el.pos,
                        format!(
                            "<{}> must not contain text (found \"{}\")",
                            el.name.local,
                            snippet(t)
                        ),
                    );
                }
                Node::Element(c) => {
                    if c.name.ns == self.bpel {
                        if c.name.local != "documentation" {
                            out.push(Child::Bpel(c));
                        }
                    } else if ALL_BPEL_NS.contains(&c.name.ns.as_str()) {
                        self.error(
                            c.pos,
                            format!(
                                "element <{}> is in namespace {}, not in the process's BPEL namespace {}",
                                c.name.local, c.name.ns, self.bpel
                            ),
                        );
                    } else {
                        out.push(Child::Foreign(c));
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// The BPEL children of `el`; foreign ones are appended to `ext` when given, else dropped.
    fn bpel_children<'e>(
        &mut self,
        el: &'e Element,
        mut ext: Option<&mut Vec<Element>>,
    ) -> Vec<&'e Element> {
        let mut out = Vec::new();
        for c in self.children(el) {
            match c {
                Child::Bpel(e) => out.push(e),
                Child::Foreign(e) => {
                    if let Some(v) = ext.as_deref_mut() {
                        v.push(e.clone());
                    }
                }
            }
        }
        out
    }

    fn unexpected(&mut self, child: &Element, parent: &Element) {
        self.error(
            child.pos,
            format!(
                "element <{}> is not allowed in <{}>",
                child.name.local, parent.name.local
            ),
        );
    }

    fn duplicate(&mut self, child: &Element, parent: &Element) {
        self.error(
            child.pos,
            format!(
                "<{}> may appear only once in <{}>",
                child.name.local, parent.name.local
            ),
        );
    }

    /// Checks the attributes of `el` against `allowed` (unqualified names). Unknown unqualified
    /// or BPEL-qualified attributes are errors; attributes in other namespaces are returned.
    fn check_attrs(&mut self, el: &Element, allowed: &[&str]) -> Vec<(QName, String)> {
        let mut foreign = Vec::new();
        for a in &el.attrs {
            if a.name.ns.is_empty() {
                if !allowed.contains(&a.name.local.as_str()) {
                    self.error(
                        el.pos,
                        format!(
                            "attribute '{}' is not allowed on <{}>",
                            a.name.local, el.name.local
                        ),
                    );
                }
            } else if ALL_BPEL_NS.contains(&a.name.ns.as_str()) {
                self.error(
                    el.pos,
                    format!(
                        "attribute '{}:{}' is not allowed on <{}>: BPEL attributes are unqualified",
                        a.prefix, a.name.local, el.name.local
                    ),
                );
            } else {
                foreign.push((a.name.clone(), a.value.clone()));
            }
        }
        foreign
    }

    /// A required unqualified attribute; reports and yields "" when missing.
    fn required(&mut self, el: &Element, name: &str) -> String {
        match el.attr(name) {
            Some(v) => v.trim().to_string(),
            None => {
                self.error(
                    el.pos,
                    format!("<{}> is missing required attribute '{name}'", el.name.local),
                );
                String::new()
            }
        }
    }

    fn optional(&self, el: &Element, name: &str) -> Option<String> {
        el.attr(name).map(|v| v.trim().to_string())
    }

    /// A yes/no attribute.
    fn bool_attr(&mut self, el: &Element, name: &str) -> Option<bool> {
        let v = el.attr(name)?;
        match v.trim() {
            "yes" => Some(true),
            "no" => Some(false),
            other => {
                self.error(
                    el.pos,
                    format!(
                        "attribute '{name}' on <{}> must be \"yes\" or \"no\", not \"{other}\"",
                        el.name.local
                    ),
                );
                None
            }
        }
    }

    /// A QName attribute resolved against the namespaces in scope.
    fn qname_attr(&mut self, el: &Element, name: &str) -> Option<QName> {
        let v = el.attr(name)?;
        self.resolve_qname(el, name, v)
    }

    fn resolve_qname(&mut self, el: &Element, attr: &str, value: &str) -> Option<QName> {
        match self.scope.resolve(value, true) {
            Ok(q) => Some(q),
            Err(e) => {
                self.error(
                    el.pos,
                    format!("attribute '{attr}' on <{}>: {e}", el.name.local),
                );
                None
            }
        }
    }

    /// A list of QNames (e.g. `properties`).
    fn qname_list_attr(&mut self, el: &Element, name: &str) -> Vec<QName> {
        let Some(v) = el.attr(name) else {
            return Vec::new();
        };
        v.split_whitespace()
            .filter_map(|item| self.resolve_qname(el, name, item))
            .collect()
    }

    /// An attribute whose value is one of `choices`.
    fn enum_attr<T: Copy>(&mut self, el: &Element, name: &str, choices: &[(&str, T)]) -> Option<T> {
        let v = el.attr(name)?.trim();
        if let Some((_, t)) = choices.iter().find(|(k, _)| *k == v) {
            return Some(*t);
        }
        let allowed: Vec<String> = choices.iter().map(|(k, _)| format!("\"{k}\"")).collect();
        self.error(
            el.pos,
            format!(
                "attribute '{name}' on <{}> must be one of {}, not \"{v}\"",
                el.name.local,
                allowed.join(", ")
            ),
        );
        None
    }

    /// An expression held in an attribute (BPEL4WS 1.1 style).
    fn expr_attr(&mut self, el: &Element, name: &str) -> Option<Expr> {
        let v = el.attr(name)?;
        let text = v.trim().to_string();
        if text.is_empty() {
            self.error(
                el.pos,
                format!("attribute '{name}' on <{}> is empty", el.name.local),
            );
        }
        Some(Expr {
            language: None,
            text,
            pos: el.pos,
            ns: self.ns(),
        })
    }

    /// An expression element: `expressionLanguage` (or `queryLanguage` for queries) and trimmed
    /// text. Child elements are errors; an empty text is reported unless `allow_empty`.
    /// `extra` lists further attributes the element may carry (read by the caller).
    fn expr_element(
        &mut self,
        el: &Element,
        lang_attr: &str,
        extra: &[&str],
        allow_empty: bool,
    ) -> Expr {
        self.within(el, |p| {
            let mut allowed = vec![lang_attr];
            allowed.extend_from_slice(extra);
            p.check_attrs(el, &allowed);
            let text = p.expr_text(el);
            if text.is_empty() && !allow_empty {
                p.error(
                    el.pos,
                    format!("<{}> must contain an expression", el.name.local),
                );
            }
            Expr {
                language: p.optional(el, lang_attr),
                text,
                pos: el.pos,
                ns: p.ns(),
            }
        })
    }

    /// The text of an expression element, reporting child elements (documentation aside).
    fn expr_text(&mut self, el: &Element) -> String {
        let mut text = String::new();
        for node in &el.children {
            match node {
                Node::Text(t) => text.push_str(t),
                Node::Element(c) if c.is(&self.bpel, "documentation") => {}
                Node::Element(c) => {
                    let msg = format!(
                        "<{}> must contain expression text only, not element <{}>",
                        el.name.local, c.name.local
                    );
                    self.error(c.pos, msg);
                }
                _ => {}
            }
        }
        text.trim().to_string()
    }
}

/// The first characters of a text, for messages.
fn snippet(t: &str) -> String {
    let t = t.trim();
    let mut s: String = t.chars().take(40).collect();
    if t.chars().count() > 40 {
        s.push('…');
    }
    s
}

/// Tracks the order of children where the WS-BPEL 2.0 schema fixes it.
struct Order {
    rank: u8,
    name: String,
}

impl Order {
    fn new() -> Self {
        Order {
            rank: 0,
            name: String::new(),
        }
    }

    /// Records `el` at `rank`; reports it when it comes after something of a higher rank.
    fn see(&mut self, p: &mut Parser<'_>, el: &Element, rank: u8) {
        if !p.is20() {
            return;
        }
        if rank < self.rank {
            p.error(
                el.pos,
                format!(
                    "<{}> is out of place: it must come before <{}>",
                    el.name.local, self.name
                ),
            );
        } else {
            self.rank = rank;
            self.name.clone_from(&el.name.local);
        }
    }
}
