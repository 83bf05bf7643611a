//! The XQuery 1.0 subset BPEL processes use (`urn:oasis:names:tc:wsbpel:2.0:sublang:xquery1.0`),
//! on top of the XPath 2.0 parser and evaluator (docs/decisions/006-xquery.md).
//!
//! An XQuery expression is an XPath 2.0 expression that may also contain FLWOR expressions
//! (`for … at …`, `let`, `where`, `order by`, `return`), `typeswitch`, direct element
//! constructors with enclosed expressions and namespace declarations, and computed element,
//! attribute, text, comment and document constructors. These live in one [`Expr::XQuery`]
//! node, so the XPath layers only pass them through. There is no prolog, no schema import
//! and no user-defined function. Constructed nodes are new trees (copies of the nodes they
//! contain); boundary whitespace is stripped (the XQuery default).

use serde::{Deserialize, Serialize};

use bpelgate_wsdl::xml::{Attr, Element, Node, QName};

use super::ast::{Expr, Language, Name, SequenceType};
use super::compile::Compiled;
use super::error::XPathError;
use super::eval2::{Eval2, Focus};
use super::parse::{parse_enclosed, parse_xquery};
use super::value::{NodeData, NodeKind, NodeRef, Tree, in_scope_namespaces};
use super::xdm::{Atomic, Item, Sequence, atomize, effective_boolean};

const PREDECLARED: &[(&str, &str)] = &[
    ("xs", "http://www.w3.org/2001/XMLSchema"),
    ("xsi", "http://www.w3.org/2001/XMLSchema-instance"),
    ("fn", "http://www.w3.org/2005/xpath-functions"),
    ("local", "http://www.w3.org/2005/xquery-local-functions"),
    ("xdt", "http://www.w3.org/2005/xpath-datatypes"),
];

/// The WS-BPEL 2.0 URI of XQuery 1.0.
pub const XQUERY1_URI: &str = "urn:oasis:names:tc:wsbpel:2.0:sublang:xquery1.0";

/// Parses and resolves an XQuery expression against the BPEL namespace context `ns`. The
/// result evaluates with the XPath 2.0 evaluator.
pub fn compile(text: &str, ns: &[(String, String)]) -> Result<Compiled, Vec<XPathError>> {
    let mut expr = parse_xquery(text).map_err(|e| vec![e])?;
    // XQuery's predeclared prefixes (XQuery 1.0 §4.12), overridden by the process' own.
    let mut scope: Vec<(String, String)> = PREDECLARED
        .iter()
        .map(|(p, u)| ((*p).to_owned(), (*u).to_owned()))
        .collect();
    scope.extend(ns.iter().cloned());
    expr.resolve(&scope)?;
    Ok(Compiled {
        lang: Language::XPath2,
        expr,
    })
}

/// An XQuery construct.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum XqExpr {
    /// `for`/`let`/`where`/`order by`/`return`.
    Flwor {
        /// The clauses in order.
        clauses: Vec<Clause>,
        /// `order by` keys, most significant first.
        order: Vec<OrderSpec>,
        /// The `return` expression.
        ret: Expr,
    },
    /// `typeswitch (operand) case … default … return …`.
    Typeswitch {
        /// The operand.
        operand: Expr,
        /// The cases in order.
        cases: Vec<TypeCase>,
        /// The `default` clause's variable.
        default_var: Option<Name>,
        /// The `default` clause's value.
        default: Expr,
    },
    /// A direct or computed element constructor.
    Element {
        /// The name.
        name: CtorName,
        /// Namespace declarations written on a direct constructor, (prefix, URI).
        ns_decls: Vec<(String, String)>,
        /// Attributes of a direct constructor.
        attrs: Vec<(Name, Vec<Content>)>,
        /// The content.
        content: Vec<Content>,
    },
    /// A computed attribute constructor.
    Attribute {
        /// The name.
        name: CtorName,
        /// The value.
        value: Vec<Content>,
    },
    /// `text { … }`.
    Text(Vec<Content>),
    /// `comment { … }`.
    Comment(Vec<Content>),
    /// `document { … }`.
    Document(Vec<Content>),
}

/// The name of a constructed node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum CtorName {
    /// Written as a QName.
    Static(Name),
    /// Computed: the expression and the namespace context its prefixes resolve in.
    Computed(Box<Expr>, Vec<(String, String)>),
}

/// A piece of constructor content.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Content {
    /// Literal characters.
    Text(String),
    /// An enclosed expression `{ … }`.
    Expr(Expr),
}

/// A FLWOR clause.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Clause {
    /// `for $v at $i in seq`.
    For {
        /// The range variable.
        var: Name,
        /// The positional variable.
        at: Option<Name>,
        /// The sequence.
        seq: Expr,
    },
    /// `let $v := value`.
    Let {
        /// The variable.
        var: Name,
        /// Its value.
        value: Expr,
    },
    /// `where cond`.
    Where(Expr),
}

/// An `order by` key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderSpec {
    /// The key expression.
    pub key: Expr,
    /// `descending`.
    pub descending: bool,
    /// `empty greatest` (the default is `empty least`).
    pub empty_greatest: bool,
}

/// A `case $v as T return e` of a typeswitch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TypeCase {
    /// The case variable.
    pub var: Option<Name>,
    /// The type.
    pub ty: SequenceType,
    /// The value.
    pub ret: Expr,
}

// ----- parsing of direct constructors (called by the lexer) -----

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || (!c.is_ascii() && c.is_alphabetic())
}

fn is_name_char(c: char) -> bool {
    is_name_start(c) || c.is_ascii_digit() || matches!(c, '-' | '.' | '\u{B7}')
}

struct Scan<'t> {
    text: &'t str,
    pos: usize,
}

impl Scan<'_> {
    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn starts(&self, s: &str) -> bool {
        self.text[self.pos..].starts_with(s)
    }

    fn err(&self, msg: impl Into<String>) -> XPathError {
        XPathError::syntax(self.pos, msg)
    }

    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                self.pos += c.len_utf8();
            } else {
                break;
            }
        }
    }

    fn qname(&mut self) -> Result<Name, XPathError> {
        let start = self.pos;
        let ncname = |s: &mut Self| {
            let from = s.pos;
            while let Some(c) = s.peek() {
                if (s.pos == from && is_name_start(c)) || (s.pos > from && is_name_char(c)) {
                    s.pos += c.len_utf8();
                } else {
                    break;
                }
            }
            s.text[from..s.pos].to_owned()
        };
        let first = ncname(self);
        if first.is_empty() {
            return Err(self.err("expected a name"));
        }
        if self.peek() == Some(':') {
            self.pos += 1;
            let local = ncname(self);
            if local.is_empty() {
                return Err(self.err("expected a local name after ':'"));
            }
            return Ok(Name::new(first, local, start));
        }
        Ok(Name::new("", first, start))
    }

    /// `&lt;` and the other predefined entities, and character references.
    fn reference(&mut self, out: &mut String) -> Result<(), XPathError> {
        let end = self.text[self.pos..]
            .find(';')
            .ok_or_else(|| self.err("unterminated entity reference"))?;
        let name = &self.text[self.pos + 1..self.pos + end];
        let c = match name {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(h) = name.strip_prefix("#x") {
                    u32::from_str_radix(h, 16).ok()
                } else if let Some(d) = name.strip_prefix('#') {
                    d.parse().ok()
                } else {
                    None
                };
                code.and_then(char::from_u32)
                    .ok_or_else(|| self.err(format!("unknown entity reference '&{name};'")))?
            }
        };
        out.push(c);
        self.pos += end + 1;
        Ok(())
    }

    fn enclosed(&mut self) -> Result<Expr, XPathError> {
        let (e, end) = parse_enclosed(self.text, self.pos + 1)?;
        self.pos = end;
        Ok(e)
    }

    fn attr_value(&mut self) -> Result<Vec<Content>, XPathError> {
        let quote = self.peek().filter(|c| matches!(c, '"' | '\''));
        let Some(quote) = quote else {
            return Err(self.err("expected a quoted attribute value"));
        };
        self.pos += 1;
        let mut parts = Vec::new();
        let mut text = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.err("unterminated attribute value"));
            };
            if c == quote {
                self.pos += 1;
                if self.peek() == Some(quote) {
                    self.pos += 1;
                    text.push(quote);
                    continue;
                }
                break;
            }
            match c {
                '{' if self.starts("{{") => {
                    self.pos += 2;
                    text.push('{');
                }
                '}' if self.starts("}}") => {
                    self.pos += 2;
                    text.push('}');
                }
                '{' => {
                    if !text.is_empty() {
                        parts.push(Content::Text(std::mem::take(&mut text)));
                    }
                    parts.push(Content::Expr(self.enclosed()?));
                }
                '}' => return Err(self.err("'}' must be written '}}' in an attribute value")),
                '<' => return Err(self.err("'<' is not allowed in an attribute value")),
                '&' => self.reference(&mut text)?,
                c => {
                    // Attribute value normalization: whitespace characters become spaces.
                    text.push(if c.is_whitespace() { ' ' } else { c });
                    self.pos += c.len_utf8();
                }
            }
        }
        if !text.is_empty() {
            parts.push(Content::Text(text));
        }
        Ok(parts)
    }

    /// A direct element constructor starting at `<`.
    fn element(&mut self, depth: usize) -> Result<XqExpr, XPathError> {
        if depth > 64 {
            return Err(self.err("element constructors nested too deeply"));
        }
        self.pos += 1;
        let name = self.qname()?;
        let mut ns_decls = Vec::new();
        let mut attrs = Vec::new();
        loop {
            let before = self.pos;
            self.skip_ws();
            if self.starts("/>") {
                self.pos += 2;
                return Ok(XqExpr::Element {
                    name: CtorName::Static(name),
                    ns_decls,
                    attrs,
                    content: Vec::new(),
                });
            }
            if self.starts(">") {
                self.pos += 1;
                break;
            }
            if self.pos == before {
                return Err(self.err("expected whitespace, an attribute, '>' or '/>'"));
            }
            let an = self.qname()?;
            self.skip_ws();
            if !self.starts("=") {
                return Err(self.err("expected '=' after the attribute name"));
            }
            self.pos += 1;
            self.skip_ws();
            let value = self.attr_value()?;
            let literal = |v: &[Content]| -> Option<String> {
                match v {
                    [] => Some(String::new()),
                    [Content::Text(t)] => Some(t.clone()),
                    _ => None,
                }
            };
            if an.prefix.is_empty() && an.local == "xmlns" {
                let uri = literal(&value).ok_or_else(|| self.err("xmlns must be a literal"))?;
                ns_decls.push((String::new(), uri));
            } else if an.prefix == "xmlns" {
                let uri = literal(&value).ok_or_else(|| self.err("xmlns must be a literal"))?;
                ns_decls.push((an.local.clone(), uri));
            } else {
                attrs.push((an, value));
            }
        }
        let mut content = Vec::new();
        let mut text = String::new();
        // Whitespace-only literal text between tags and enclosed expressions is boundary
        // whitespace, which XQuery strips by default; CDATA and references are kept.
        let mut significant = false;
        let flush = |text: &mut String, significant: &mut bool, content: &mut Vec<Content>| {
            if !text.is_empty() && (*significant || !text.trim().is_empty()) {
                content.push(Content::Text(std::mem::take(text)));
            }
            text.clear();
            *significant = false;
        };
        loop {
            let Some(c) = self.peek() else {
                return Err(self.err(format!("element <{}> is not closed", name.written())));
            };
            if self.starts("</") {
                flush(&mut text, &mut significant, &mut content);
                self.pos += 2;
                let end = self.qname()?;
                if end.prefix != name.prefix || end.local != name.local {
                    return Err(self.err(format!(
                        "</{}> does not close <{}>",
                        end.written(),
                        name.written()
                    )));
                }
                self.skip_ws();
                if !self.starts(">") {
                    return Err(self.err("expected '>'"));
                }
                self.pos += 1;
                break;
            }
            if self.starts("<!--") {
                let end = self.text[self.pos..]
                    .find("-->")
                    .ok_or_else(|| self.err("unterminated comment"))?;
                self.pos += end + 3;
                continue;
            }
            if self.starts("<![CDATA[") {
                let start = self.pos + 9;
                let end = self.text[start..]
                    .find("]]>")
                    .ok_or_else(|| self.err("unterminated CDATA section"))?;
                text.push_str(&self.text[start..start + end]);
                significant = true;
                self.pos = start + end + 3;
                continue;
            }
            match c {
                '<' => {
                    flush(&mut text, &mut significant, &mut content);
                    let child = self.element(depth + 1)?;
                    content.push(Content::Expr(Expr::XQuery(Box::new(child))));
                }
                '{' if self.starts("{{") => {
                    self.pos += 2;
                    text.push('{');
                    significant = true;
                }
                '}' if self.starts("}}") => {
                    self.pos += 2;
                    text.push('}');
                    significant = true;
                }
                '{' => {
                    flush(&mut text, &mut significant, &mut content);
                    content.push(Content::Expr(self.enclosed()?));
                }
                '}' => return Err(self.err("'}' must be written '}}' in element content")),
                '&' => {
                    self.reference(&mut text)?;
                    significant = true;
                }
                c => {
                    text.push(c);
                    self.pos += c.len_utf8();
                }
            }
        }
        Ok(XqExpr::Element {
            name: CtorName::Static(name),
            ns_decls,
            attrs,
            content,
        })
    }
}

/// Scans the direct element constructor starting at byte `pos` (a `<`) of `text`: the
/// constructor and the byte offset after it.
pub(super) fn scan_element(text: &str, pos: usize) -> Result<(XqExpr, usize), XPathError> {
    let mut s = Scan { text, pos };
    let e = s.element(0)?;
    Ok((e, s.pos))
}

// ----- static resolution -----

impl XqExpr {
    /// Calls `f` on every direct sub-expression.
    pub fn for_each_expr<'a>(&'a self, f: &mut dyn FnMut(&'a Expr)) {
        let content = |c: &'a [Content], f: &mut dyn FnMut(&'a Expr)| {
            for part in c {
                if let Content::Expr(e) = part {
                    f(e);
                }
            }
        };
        match self {
            XqExpr::Flwor {
                clauses,
                order,
                ret,
            } => {
                for c in clauses {
                    match c {
                        Clause::For { seq, .. } => f(seq),
                        Clause::Let { value, .. } => f(value),
                        Clause::Where(e) => f(e),
                    }
                }
                order.iter().for_each(|o| f(&o.key));
                f(ret);
            }
            XqExpr::Typeswitch {
                operand,
                cases,
                default,
                ..
            } => {
                f(operand);
                cases.iter().for_each(|c| f(&c.ret));
                f(default);
            }
            XqExpr::Element {
                name,
                attrs,
                content: c,
                ..
            } => {
                if let CtorName::Computed(e, _) = name {
                    f(e);
                }
                attrs.iter().for_each(|(_, v)| content(v, f));
                content(c, f);
            }
            XqExpr::Attribute { name, value } => {
                if let CtorName::Computed(e, _) = name {
                    f(e);
                }
                content(value, f);
            }
            XqExpr::Text(c) | XqExpr::Comment(c) | XqExpr::Document(c) => content(c, f),
        }
    }

    /// Resolves prefixes; a direct constructor's namespace declarations are in scope for
    /// its name, attributes and content.
    pub(super) fn resolve(&mut self, ns: &[(String, String)], errors: &mut Vec<XPathError>) {
        let sub = |e: &mut Expr, ns: &[(String, String)], errors: &mut Vec<XPathError>| {
            if let Err(es) = e.resolve(ns) {
                errors.extend(es);
            }
        };
        let name = |n: &mut Name, ns: &[(String, String)], errors: &mut Vec<XPathError>| {
            let mut probe = Expr::Var(super::ast::VarRef {
                name: n.clone(),
                part: None,
            });
            match probe.resolve(ns) {
                Ok(()) => {
                    if let Expr::Var(v) = probe {
                        *n = v.name;
                    }
                }
                Err(es) => errors.extend(es),
            }
        };
        match self {
            XqExpr::Flwor {
                clauses,
                order,
                ret,
            } => {
                for c in clauses.iter_mut() {
                    match c {
                        Clause::For { var, at, seq } => {
                            sub(seq, ns, errors);
                            name(var, ns, errors);
                            if let Some(a) = at {
                                name(a, ns, errors);
                            }
                        }
                        Clause::Let { var, value } => {
                            sub(value, ns, errors);
                            name(var, ns, errors);
                        }
                        Clause::Where(e) => sub(e, ns, errors),
                    }
                }
                for o in order.iter_mut() {
                    sub(&mut o.key, ns, errors);
                }
                sub(ret, ns, errors);
            }
            XqExpr::Typeswitch {
                operand,
                cases,
                default_var,
                default,
            } => {
                sub(operand, ns, errors);
                for c in cases.iter_mut() {
                    if let Some(v) = &mut c.var {
                        name(v, ns, errors);
                    }
                    // Resolve the type through an `instance of` over a dummy operand.
                    let mut probe =
                        Expr::InstanceOf(Box::new(Expr::ContextItem), Box::new(c.ty.clone()));
                    match probe.resolve(ns) {
                        Ok(()) => {
                            if let Expr::InstanceOf(_, t) = probe {
                                c.ty = *t;
                            }
                        }
                        Err(es) => errors.extend(es),
                    }
                    sub(&mut c.ret, ns, errors);
                }
                if let Some(v) = default_var {
                    name(v, ns, errors);
                }
                sub(default, ns, errors);
            }
            XqExpr::Element {
                name: ename,
                ns_decls,
                attrs,
                content,
            } => {
                let mut inner = ns.to_vec();
                inner.extend(ns_decls.iter().cloned());
                match ename {
                    CtorName::Static(n) => {
                        if n.prefix.is_empty() {
                            // The default element namespace is the constructors' own `xmlns`.
                            let def = ns_decls.iter().rev().find(|(p, _)| p.is_empty());
                            n.ns = Some(def.map(|(_, u)| u.clone()).unwrap_or_default());
                        } else {
                            name(n, &inner, errors);
                        }
                    }
                    CtorName::Computed(e, ctx) => {
                        sub(e, ns, errors);
                        *ctx = inner.clone();
                    }
                }
                for (an, value) in attrs.iter_mut() {
                    name(an, &inner, errors);
                    for part in value.iter_mut() {
                        if let Content::Expr(e) = part {
                            sub(e, &inner, errors);
                        }
                    }
                }
                // Nested direct constructors inherit the default element namespace.
                let def = ns_decls.iter().rev().find(|(p, _)| p.is_empty()).cloned();
                for part in content.iter_mut() {
                    if let Content::Expr(e) = part {
                        if let (Expr::XQuery(x), Some(d)) = (&mut *e, &def)
                            && let XqExpr::Element { ns_decls: nd, .. } = x.as_mut()
                            && !nd.iter().any(|(p, _)| p.is_empty())
                        {
                            nd.insert(0, d.clone());
                        }
                        sub(e, &inner, errors);
                    }
                }
            }
            XqExpr::Attribute { name: an, value } => {
                match an {
                    CtorName::Static(n) => name(n, ns, errors),
                    CtorName::Computed(e, ctx) => {
                        sub(e, ns, errors);
                        *ctx = ns.to_vec();
                    }
                }
                for part in value.iter_mut() {
                    if let Content::Expr(e) = part {
                        sub(e, ns, errors);
                    }
                }
            }
            XqExpr::Text(c) | XqExpr::Comment(c) | XqExpr::Document(c) => {
                for part in c.iter_mut() {
                    if let Content::Expr(e) = part {
                        sub(e, ns, errors);
                    }
                }
            }
        }
    }
}

// ----- evaluation -----

/// What constructor content evaluates to before it is placed in a node.
enum Piece {
    Text(String),
    Element(Element),
    Attribute(Attr),
}

/// A copy of an element node that stands on its own (with the namespaces in scope there).
fn detached(n: &NodeRef<'_>) -> Option<Element> {
    let mut el = match n.kind() {
        NodeKind::Element => n.as_element()?.clone(),
        _ => return None,
    };
    if let Some(ns) = in_scope_namespaces(n.tree().root(), n.path()) {
        for (p, u) in ns {
            if p != "xml" && !el.ns_decls.iter().any(|(q, _)| q == p) {
                el.ns_decls.push((p.to_owned(), u.to_owned()));
            }
        }
    }
    Some(el)
}

fn qname_of(v: &Sequence<'_>, ctx: &[(String, String)]) -> Result<(QName, String), XPathError> {
    match atomize(v).as_slice() {
        [Atomic::QName(p, q)] => Ok((q.clone(), p.clone())),
        [a] => {
            let s = a.to_string_value();
            let s = s.trim();
            let (prefix, local) = s.split_once(':').unwrap_or(("", s));
            let uri = if prefix.is_empty() {
                String::new()
            } else {
                ctx.iter()
                    .rev()
                    .find(|(p, _)| p == prefix)
                    .map(|(_, u)| u.clone())
                    .ok_or_else(|| {
                        XPathError::dynamic(
                            0,
                            format!("[XQDY0074] prefix '{prefix}' is not declared"),
                        )
                    })?
            };
            Ok((QName::new(uri, local), prefix.to_owned()))
        }
        _ => Err(XPathError::type_error(
            0,
            "[XPTY0004] a computed name must be a single QName or string",
        )),
    }
}

impl<'a> Eval2<'_, 'a> {
    /// Evaluates an XQuery construct.
    pub(super) fn xquery(&self, x: &XqExpr, f: &Focus<'a>) -> Result<Sequence<'a>, XPathError> {
        match x {
            XqExpr::Flwor {
                clauses,
                order,
                ret,
            } => {
                let mut tuples: Vec<(Vec<Sequence<'a>>, Sequence<'a>)> = Vec::new();
                self.flwor(clauses, order, ret, f, &mut tuples)?;
                if !order.is_empty() {
                    sort_tuples(&mut tuples, order);
                }
                Ok(tuples.into_iter().flat_map(|(_, r)| r).collect())
            }
            XqExpr::Typeswitch {
                operand,
                cases,
                default_var,
                default,
            } => {
                let v = self.expr(operand, f)?;
                for c in cases {
                    if self.matches_type(&v, &c.ty)? {
                        return self.with_var(c.var.as_ref(), v, |s| s.expr(&c.ret, f));
                    }
                }
                self.with_var(default_var.as_ref(), v, |s| s.expr(default, f))
            }
            XqExpr::Element {
                name,
                ns_decls,
                attrs,
                content,
            } => {
                let (qn, prefix) = match name {
                    CtorName::Static(n) => (n.qname(), n.prefix.clone()),
                    CtorName::Computed(e, ctx) => qname_of(&self.expr(e, f)?, ctx)?,
                };
                let mut el = Element::new(qn);
                el.prefix = prefix;
                el.ns_decls = ns_decls.clone();
                for (an, value) in attrs {
                    el.attrs.push(Attr {
                        name: an.qname(),
                        prefix: an.prefix.clone(),
                        value: self.content_string(value, f)?,
                    });
                }
                for piece in self.pieces(content, f)? {
                    match piece {
                        Piece::Attribute(a) => {
                            el.attrs.retain(|b| b.name != a.name);
                            el.attrs.push(a);
                        }
                        Piece::Element(mut e) => {
                            // Declarations the new parent already makes are redundant.
                            e.ns_decls.retain(|d| !el.ns_decls.contains(d));
                            el.children.push(Node::Element(e));
                        }
                        Piece::Text(t) => match el.children.last_mut() {
                            Some(Node::Text(prev)) => prev.push_str(&t),
                            _ => el.children.push(Node::Text(t)),
                        },
                    }
                }
                Ok(vec![Item::Node(NodeRef::element(Tree::owned(el)))])
            }
            XqExpr::Attribute { name, value } => {
                let (qn, prefix) = match name {
                    CtorName::Static(n) => (n.qname(), n.prefix.clone()),
                    CtorName::Computed(e, ctx) => qname_of(&self.expr(e, f)?, ctx)?,
                };
                // An attribute node needs an owner here: it lives on a holder element.
                let mut holder = Element::new(QName::local("attribute"));
                holder.attrs.push(Attr {
                    name: qn,
                    prefix,
                    value: self.content_string(value, f)?,
                });
                let tree = Tree::owned(holder);
                Ok(vec![Item::Node(NodeRef::new(
                    tree,
                    Vec::new(),
                    NodeKind::Attribute(0),
                ))])
            }
            XqExpr::Text(c) => {
                let s = self.content_string(c, f)?;
                let mut holder = Element::new(QName::local("text"));
                holder.children.push(Node::Text(s));
                Ok(vec![Item::Node(NodeRef::new(
                    Tree::owned(holder),
                    vec![0],
                    NodeKind::Text,
                ))])
            }
            XqExpr::Comment(c) => {
                let s = self.content_string(c, f)?;
                let mut holder = Element::new(QName::local("comment"));
                holder.children.push(Node::Comment(s));
                Ok(vec![Item::Node(NodeRef::new(
                    Tree::owned(holder),
                    vec![0],
                    NodeKind::Comment,
                ))])
            }
            XqExpr::Document(c) => {
                // The engine's trees have one document element: the first constructed one.
                for piece in self.pieces(c, f)? {
                    if let Piece::Element(e) = piece {
                        return Ok(vec![Item::Node(NodeRef::document(Tree::owned(e)))]);
                    }
                }
                Err(XPathError::dynamic(
                    0,
                    "a document constructor needs an element here",
                ))
            }
        }
    }

    fn with_var<T>(
        &self,
        var: Option<&Name>,
        value: Sequence<'a>,
        body: impl FnOnce(&Self) -> Result<T, XPathError>,
    ) -> Result<T, XPathError> {
        let Some(v) = var else {
            return body(self);
        };
        self.vars.borrow_mut().push((v.qname(), value));
        let r = body(self);
        self.vars.borrow_mut().pop();
        r
    }

    fn flwor(
        &self,
        clauses: &[Clause],
        order: &[OrderSpec],
        ret: &Expr,
        f: &Focus<'a>,
        out: &mut Vec<(Vec<Sequence<'a>>, Sequence<'a>)>,
    ) -> Result<(), XPathError> {
        let Some((first, rest)) = clauses.split_first() else {
            let mut keys = Vec::with_capacity(order.len());
            for o in order {
                keys.push(self.expr(&o.key, f)?);
            }
            out.push((keys, self.expr(ret, f)?));
            return Ok(());
        };
        match first {
            Clause::For { var, at, seq } => {
                let items = self.expr(seq, f)?;
                for (i, item) in items.into_iter().enumerate() {
                    let pos = vec![Item::Atomic(Atomic::Integer(i as i64 + 1))];
                    self.with_var(Some(var), vec![item], |s| {
                        s.with_var(at.as_ref(), pos, |s| s.flwor(rest, order, ret, f, out))
                    })?;
                }
                Ok(())
            }
            Clause::Let { var, value } => {
                let v = self.expr(value, f)?;
                self.with_var(Some(var), v, |s| s.flwor(rest, order, ret, f, out))
            }
            Clause::Where(cond) => {
                if effective_boolean(&self.expr(cond, f)?)? {
                    self.flwor(rest, order, ret, f, out)
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Attribute values and computed text: the string values of the items, adjacent atomic
    /// values (within one enclosed expression) separated by spaces.
    fn content_string(&self, c: &[Content], f: &Focus<'a>) -> Result<String, XPathError> {
        let mut out = String::new();
        for part in c {
            match part {
                Content::Text(t) => out.push_str(t),
                Content::Expr(e) => {
                    let items = self.expr(e, f)?;
                    let strings: Vec<String> = items.iter().map(Item::string_value).collect();
                    out.push_str(&strings.join(" "));
                }
            }
        }
        Ok(out)
    }

    fn pieces(&self, c: &[Content], f: &Focus<'a>) -> Result<Vec<Piece>, XPathError> {
        let mut out = Vec::new();
        for part in c {
            match part {
                Content::Text(t) => out.push(Piece::Text(t.clone())),
                Content::Expr(e) => {
                    let mut last_atomic = false;
                    for item in self.expr(e, f)? {
                        match item {
                            Item::Atomic(a) => {
                                let s = a.to_string_value();
                                out.push(Piece::Text(if last_atomic {
                                    format!(" {s}")
                                } else {
                                    s
                                }));
                                last_atomic = true;
                                continue;
                            }
                            Item::Node(n) => match n.data() {
                                // A document node contributes its document element.
                                Some(NodeData::Root(e)) => out.push(Piece::Element(e.clone())),
                                Some(NodeData::Element(_)) => {
                                    if let Some(e) = detached(&n) {
                                        out.push(Piece::Element(e));
                                    }
                                }
                                Some(NodeData::Attribute(a)) => {
                                    out.push(Piece::Attribute(a.clone()))
                                }
                                Some(NodeData::Text(t)) => out.push(Piece::Text(t.to_owned())),
                                _ => {}
                            },
                        }
                        last_atomic = false;
                    }
                }
            }
        }
        Ok(out)
    }
}

/// Orders FLWOR tuples by their keys (a stable sort; incomparable keys keep their order).
fn sort_tuples(tuples: &mut [(Vec<Sequence<'_>>, Sequence<'_>)], order: &[OrderSpec]) {
    use super::xdm::{CmpOp, compare_atomic};
    use std::cmp::Ordering;
    let key = |s: &Sequence<'_>| atomize(s).into_iter().next();
    tuples.sort_by(|a, b| {
        for (i, o) in order.iter().enumerate() {
            let (ka, kb) = (a.0.get(i).and_then(key), b.0.get(i).and_then(key));
            let ord = match (ka, kb) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => {
                    if o.empty_greatest {
                        Ordering::Greater
                    } else {
                        Ordering::Less
                    }
                }
                (Some(_), None) => {
                    if o.empty_greatest {
                        Ordering::Less
                    } else {
                        Ordering::Greater
                    }
                }
                (Some(x), Some(y)) => {
                    // Untyped keys compare as strings (as `order by` casts them).
                    compare_atomic(&x, &y, CmpOp::Lt, 0)
                        .ok()
                        .flatten()
                        .unwrap_or(Ordering::Equal)
                }
            };
            let ord = if o.descending { ord.reverse() } else { ord };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    });
}

#[cfg(test)]
mod tests {
    use bpelgate_wsdl::xml::to_string;

    use super::*;
    use crate::xpath::eval::{Context, NoBindings, eval};
    use crate::xpath::value::Value;

    fn run(text: &str) -> Result<Value<'static>, XPathError> {
        let ns = vec![("t".to_owned(), "urn:t".to_owned())];
        let c = compile(text, &ns).map_err(|mut e| e.remove(0))?;
        let v = eval(&c, &Context::none(), &NoBindings)?;
        // Constructed trees are owned, so the value outlives the compiled expression.
        Ok(match v {
            Value::Nodes(n) => Value::Nodes(
                n.iter()
                    .filter_map(|n| n.as_element().cloned())
                    .map(|e| NodeRef::element(Tree::owned(e)))
                    .collect(),
            ),
            Value::String(s) => Value::String(s),
            Value::Number(x) => Value::Number(x),
            Value::Boolean(b) => Value::Boolean(b),
        })
    }

    fn xml(text: &str) -> String {
        match run(text).unwrap() {
            Value::Nodes(n) => n
                .iter()
                .filter_map(|n| n.as_element().map(to_string))
                .collect(),
            other => panic!("not nodes: {other:?}"),
        }
    }

    fn string(text: &str) -> String {
        run(text).unwrap().into_xpath_string()
    }

    #[test]
    fn direct_constructors() {
        assert_eq!(
            xml("<t:a x='1 {1 + 1}'>  <b>{ 'v', 2 }</b> {{lit}} </t:a>"),
            "<t:a xmlns:t=\"urn:t\" x=\"1 2\"><b>v 2</b> {lit} </t:a>"
        );
        // Declarations on the constructor, and the default namespace for nested elements.
        assert_eq!(
            xml("<p:x xmlns:p='urn:p' xmlns='urn:d'><y>&lt;{ 3 }</y></p:x>"),
            "<p:x xmlns:p=\"urn:p\" xmlns=\"urn:d\"><y>&lt;3</y></p:x>"
        );
        // A multi-line constructor with boundary whitespace (as BPEL literals are written).
        let epr =
            xml("\n <s:r xmlns:s='urn:s'>\n   <s:e><Service n='N'>pp:P</Service></s:e>\n </s:r>\n");
        assert_eq!(
            epr,
            "<s:r xmlns:s=\"urn:s\"><s:e><Service n=\"N\">pp:P</Service></s:e></s:r>"
        );
        // Content nodes are copied.
        assert_eq!(
            xml("<w>{ <a>1</a>, <b/> }</w>/a/.. "),
            "<w><a>1</a><b/></w>"
        );
        assert!(run("<a></b>").is_err());
    }

    #[test]
    fn computed_constructors() {
        assert_eq!(
            xml("element t:e { attribute k { 'v' }, text { 'x' }, 1 + 1 }"),
            "<t:e xmlns:t=\"urn:t\" k=\"v\">x2</t:e>"
        );
        assert_eq!(xml("element { concat('n', 1) } { }"), "<n1/>");
    }

    #[test]
    fn flwor() {
        assert_eq!(
            string(
                "string-join(for $x at $i in ('c', 'a', 'b') let $y := concat($x, $i) where $i > 1 order by $x descending return $y, ',')"
            ),
            "b3,a2"
        );
        assert_eq!(
            string("for $loopOnce in (1) return concat('Hello', 'XQuery World')"),
            "HelloXQuery World"
        );
        assert_eq!(string("let $j := 5 let $k := $j * 2 return $k"), "10");
        // Errors in a FLWOR are dynamic errors (BPEL: subLanguageExecutionFault).
        assert!(run("let $j := 10 div 0 return concat('abc', $j)").is_err());
        assert_eq!(
            xml("<l>{ for $i in (3, 1, 2) order by $i return <i>{ $i }</i> }</l>"),
            "<l><i>1</i><i>2</i><i>3</i></l>"
        );
    }

    #[test]
    fn typeswitch_and_conditionals() {
        let ts = |v: &str| {
            string(&format!(
                "typeswitch ({v}) case $a as xs:string return concat('s:', $a) \
                 case element() return 'element' default $d return 'other'"
            ))
        };
        assert_eq!(ts("'x'"), "s:x");
        assert_eq!(ts("<a/>"), "element");
        assert_eq!(ts("1"), "other");
        assert_eq!(
            xml(
                "<t:t2>{ if (string-length(xs:string('2009-01-01')) != 0) then xs:date('2009-01-01') else 0 }</t:t2>"
            ),
            "<t:t2 xmlns:t=\"urn:t\">2009-01-01</t:t2>"
        );
        // `<` after an operand is still the comparison.
        assert_eq!(string("1 <2"), "true");
    }
}
