//! Running a compiled stylesheet: template selection, instructions, result tree building, and
//! the XSLT functions offered to XPath through a [`Resolver`].

use std::cell::{Cell, RefCell};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::rc::Rc;
use std::sync::Arc;

use bpelgate_wsdl::xml::{Attr, Element, Node, QName, XML_NS};

use super::compile::{
    Avt, AvtPart, Binding, BindingValue, Compiled, Instr, NumberInstr, NumberLevel, Rule, SortKey,
    Template, XSLT_NS,
};
use super::format::{format_number, format_numbers};
use super::{XsltError, XsltErrorKind};
use crate::xpath::ast::Expr;
use crate::xpath::value::{element_at, in_scope_namespaces};
use crate::xpath::{
    Context, NodeData, NodeKind, NodeRef, Resolver, Tree, Value, XPathError, eval_expr,
};

/// The namespace of the element that holds a result tree fragment's top-level nodes. A
/// fragment is handed to XPath as that element, so `$frag/item` selects its top-level items.
const RTF_NS: &str = "urn:bpelgate:xslt:result-tree-fragment";

/// Deepest nesting of template invocations (recursive templates included), as libxslt.
const MAX_DEPTH: usize = 3000;

/// Stack of the thread a transformation runs on. A nested template costs about 14 KB of stack
/// in a debug build and 1.5 KB in a release build (measured), so [`MAX_DEPTH`] levels fit with
/// room for nested instructions; memory is only committed as the stack grows.
const STACK_BYTES: usize = 128 * 1024 * 1024;

/// Most instructions one transformation may execute.
const MAX_STEPS: u64 = 20_000_000;

/// The XSLT 1.0 instructions, for `element-available()`.
const INSTRUCTIONS: &[&str] = &[
    "apply-imports",
    "apply-templates",
    "attribute",
    "call-template",
    "choose",
    "comment",
    "copy",
    "copy-of",
    "element",
    "fallback",
    "for-each",
    "if",
    "message",
    "number",
    "processing-instruction",
    "text",
    "value-of",
    "variable",
];

/// Functions this processor adds to the XPath core library, for `function-available()`.
const XSLT_FUNCTIONS: &[&str] = &[
    "current",
    "document",
    "element-available",
    "format-number",
    "function-available",
    "generate-id",
    "key",
    "system-property",
    "unparsed-entity-uri",
];

/// Runs `c` on the document whose element is `source`, on a thread of its own: recursive
/// templates recurse in the processor, and the caller's stack (an async worker's) may be small.
pub(crate) fn run<'a>(
    c: &Compiled,
    source: &'a Element,
    params: &[(QName, Value<'a>)],
) -> Result<Element, XsltError> {
    std::thread::scope(|s| {
        let worker = std::thread::Builder::new()
            .name("xslt".to_owned())
            .stack_size(STACK_BYTES)
            .spawn_scoped(s, || run_here(c, source, params))
            .map_err(|e| XsltError::dynamic(format!("cannot start the XSLT thread: {e}")))?;
        worker
            .join()
            .unwrap_or_else(|_| Err(XsltError::dynamic("the XSLT processor failed")))
    })
}

fn run_here<'a>(
    c: &Compiled,
    source: &'a Element,
    params: &[(QName, Value<'a>)],
) -> Result<Element, XsltError> {
    let tree = if c.space_rules.iter().any(|r| r.strip) {
        Tree::owned(strip_space(source, c, false))
    } else {
        Tree::borrowed(source)
    };
    let mut order: Vec<usize> = (0..c.rules.len()).collect();
    // Best first: higher import precedence, then higher priority, then later in the stylesheet.
    order.sort_by(|&a, &b| {
        let (ra, rb) = (&c.rules[a], &c.rules[b]);
        rb.precedence
            .cmp(&ra.precedence)
            .then(rb.priority.total_cmp(&ra.priority))
            .then(rb.order.cmp(&ra.order))
    });
    let tr = Tr {
        c,
        root: NodeRef::document(tree),
        params: params.to_vec(),
        order,
        globals: RefCell::new(vec![GlobalState::Pending; c.globals.len()]),
        keys: RefCell::new(HashMap::new()),
        building_keys: RefCell::new(Vec::new()),
        depth: Cell::new(0),
        steps: Cell::new(0),
        pending: RefCell::new(None),
    };
    let mut out = Builder::new();
    let cx = Cx {
        node: tr.root.clone(),
        pos: 1,
        size: 1,
        mode: None,
        rule_precedence: None,
    };
    tr.apply(&cx, &[], &mut out, None)?;
    if c.output_method == "text" {
        return Err(XsltError {
            kind: XsltErrorKind::NoDocumentElement,
            message: "the stylesheet's output method is text, which yields no element".to_owned(),
        });
    }
    out.into_document_element()
}

fn strip_space(el: &Element, c: &Compiled, preserve: bool) -> Element {
    let preserve = match el.attr_ns(XML_NS, "space") {
        Some("preserve") => true,
        Some("default") => false,
        _ => preserve,
    };
    let strip_here = !preserve && c.strips(&el.name);
    let mut out = Element {
        children: Vec::with_capacity(el.children.len()),
        ..Element::new(el.name.clone())
    };
    out.prefix.clone_from(&el.prefix);
    out.attrs.clone_from(&el.attrs);
    out.ns_decls.clone_from(&el.ns_decls);
    out.pos = el.pos;
    for n in &el.children {
        match n {
            Node::Text(t)
                if strip_here && t.chars().all(|c| matches!(c, ' ' | '\t' | '\r' | '\n')) => {}
            Node::Element(e) => out
                .children
                .push(Node::Element(strip_space(e, c, preserve))),
            n => out.children.push(n.clone()),
        }
    }
    out
}

#[derive(Clone)]
enum GlobalState<'a> {
    Pending,
    Running,
    Done(Value<'a>),
}

type KeyIndex<'a> = Rc<HashMap<String, Vec<NodeRef<'a>>>>;

/// A transformation in progress.
struct Tr<'s, 'a> {
    c: &'s Compiled,
    root: NodeRef<'a>,
    params: Vec<(QName, Value<'a>)>,
    /// Rule indexes, best first.
    order: Vec<usize>,
    globals: RefCell<Vec<GlobalState<'a>>>,
    keys: RefCell<HashMap<(QName, usize), KeyIndex<'a>>>,
    building_keys: RefCell<Vec<(QName, usize)>>,
    depth: Cell<usize>,
    steps: Cell<u64>,
    /// An error raised inside an XPath callback, kept with its kind while XPath unwinds.
    pending: RefCell<Option<XsltError>>,
}

/// The dynamic context of an instruction.
#[derive(Clone)]
struct Cx<'s, 'a> {
    node: NodeRef<'a>,
    pos: usize,
    size: usize,
    mode: Option<&'s QName>,
    /// Import precedence of the template rule being instantiated (for `xsl:apply-imports`).
    rule_precedence: Option<usize>,
}

type Locals<'a> = Vec<(QName, Value<'a>)>;

/// What XPath sees from inside a stylesheet: local and global variables, `current()`, and the
/// XSLT functions.
struct Scope<'t, 's, 'a> {
    tr: &'t Tr<'s, 'a>,
    locals: &'t [(QName, Value<'a>)],
    current: &'t NodeRef<'a>,
}

impl<'a> Resolver<'a> for Scope<'_, '_, 'a> {
    fn variable(&self, name: &QName, part: Option<&str>) -> Result<Value<'a>, XPathError> {
        // `$a.b` is a BPEL part reference to the XPath parser; in XSLT it is the name "a.b".
        let owned;
        let name = match part {
            Some(p) => {
                owned = QName::new(name.ns.clone(), format!("{}.{p}", name.local));
                &owned
            }
            None => name,
        };
        if let Some((_, v)) = self.locals.iter().rev().find(|(n, _)| n == name) {
            return Ok(v.clone());
        }
        self.tr.global(name).map_err(|e| self.tr.park(e))
    }

    fn function(
        &self,
        name: &QName,
        args: Vec<Value<'a>>,
    ) -> Option<Result<Value<'a>, XPathError>> {
        if !name.ns.is_empty() {
            return None;
        }
        let r = match name.local.as_str() {
            "current" => Ok(Value::Nodes(vec![self.current.clone()])),
            "xslt:node-set" => Ok(args.into_iter().next().unwrap_or(Value::Nodes(Vec::new()))),
            "generate-id" => Ok(Value::String(match args.first() {
                Some(Value::Nodes(n)) => n.first().map(generate_id).unwrap_or_default(),
                _ => String::new(),
            })),
            "key" => self.tr.key(&args).map_err(|e| self.tr.park(e)),
            "document" => self.tr.document(&args).map_err(|e| self.tr.park(e)),
            "format-number" => self.tr.format_number(&args).map_err(|e| self.tr.park(e)),
            "system-property" => Ok(system_property(&arg_string(&args, 0))),
            "element-available" => {
                let q = QName::from_clark(&arg_string(&args, 0));
                Ok(Value::Boolean(
                    q.ns == XSLT_NS && INSTRUCTIONS.contains(&q.local.as_str()),
                ))
            }
            "function-available" => {
                let q = QName::from_clark(&arg_string(&args, 0));
                let core = crate::xpath::functions::XPATH1_CORE
                    .iter()
                    .any(|f| f.name == q.local);
                Ok(Value::Boolean(
                    q.ns.is_empty() && (core || XSLT_FUNCTIONS.contains(&q.local.as_str())),
                ))
            }
            "unparsed-entity-uri" => Ok(Value::String(String::new())),
            _ => return None,
        };
        Some(r)
    }
}

fn arg_string(args: &[Value<'_>], i: usize) -> String {
    args.get(i).map(Value::to_xpath_string).unwrap_or_default()
}

fn system_property(clark: &str) -> Value<'static> {
    let q = QName::from_clark(clark);
    if q.ns != XSLT_NS {
        return Value::String(String::new());
    }
    match q.local.as_str() {
        "version" => Value::Number(1.0),
        "vendor" => Value::String("bpelgate".to_owned()),
        _ => Value::String(String::new()),
    }
}

/// A stable identifier for a node: an NCName made from a hash of its tree and position.
fn generate_id(n: &NodeRef<'_>) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    n.tree().id().hash(&mut h);
    n.path().hash(&mut h);
    n.kind().hash(&mut h);
    format!("id{:x}", h.finish())
}

/// The children of `n` (the document element for the root node).
fn children<'a>(n: &NodeRef<'a>) -> Vec<NodeRef<'a>> {
    match n.kind() {
        NodeKind::Root => vec![NodeRef::element(n.tree().clone())],
        NodeKind::Element => {
            let Some(el) = n.as_element() else {
                return Vec::new();
            };
            el.children
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let mut p = n.path().to_vec();
                    p.push(i);
                    NodeRef::new(n.tree().clone(), p, child_kind(c))
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

fn child_kind(c: &Node) -> NodeKind {
    match c {
        Node::Element(_) => NodeKind::Element,
        Node::Text(_) => NodeKind::Text,
        Node::Comment(_) => NodeKind::Comment,
        Node::Pi(_) => NodeKind::ProcessingInstruction,
    }
}

/// The attributes of an element node.
fn attributes<'a>(n: &NodeRef<'a>) -> Vec<NodeRef<'a>> {
    match n.as_element() {
        Some(el) => (0..el.attrs.len())
            .map(|i| NodeRef::new(n.tree().clone(), n.path().to_vec(), NodeKind::Attribute(i)))
            .collect(),
        None => Vec::new(),
    }
}

fn is_fragment(el: &Element) -> bool {
    el.name.ns == RTF_NS
}

impl<'s, 'a> Tr<'s, 'a> {
    /// Keeps `e` (with its kind) for when XPath's error comes back, and gives XPath a message.
    fn park(&self, e: XsltError) -> XPathError {
        let msg = e.message.clone();
        *self.pending.borrow_mut() = Some(e);
        XPathError::dynamic(0, msg)
    }

    fn xpath_err(&self, e: XPathError, what: &str) -> XsltError {
        if let Some(p) = self.pending.borrow_mut().take() {
            return p;
        }
        XsltError::dynamic(format!("{what}: {e}"))
    }

    fn tick(&self) -> Result<(), XsltError> {
        let s = self.steps.get() + 1;
        self.steps.set(s);
        if s > MAX_STEPS {
            return Err(XsltError::dynamic(format!(
                "the transformation exceeds {MAX_STEPS} steps"
            )));
        }
        Ok(())
    }

    fn eval(
        &self,
        e: &Expr,
        cx: &Cx<'s, 'a>,
        locals: &[(QName, Value<'a>)],
    ) -> Result<Value<'a>, XsltError> {
        let scope = Scope {
            tr: self,
            locals,
            current: &cx.node,
        };
        let ctx = Context {
            node: Some(cx.node.clone()),
            position: cx.pos,
            size: cx.size,
        };
        eval_expr(e, &ctx, &scope).map_err(|err| self.xpath_err(err, "XPath evaluation failed"))
    }

    fn eval_nodes(
        &self,
        e: &Expr,
        cx: &Cx<'s, 'a>,
        locals: &[(QName, Value<'a>)],
        what: &str,
    ) -> Result<Vec<NodeRef<'a>>, XsltError> {
        match self.eval(e, cx, locals)? {
            Value::Nodes(n) => Ok(n),
            v => Err(XsltError::dynamic(format!(
                "{what} must select a node-set, not a {}",
                v.type_name()
            ))),
        }
    }

    fn avt(
        &self,
        a: &Avt,
        cx: &Cx<'s, 'a>,
        locals: &[(QName, Value<'a>)],
    ) -> Result<String, XsltError> {
        let mut out = String::new();
        for p in &a.0 {
            match p {
                AvtPart::Lit(s) => out.push_str(s),
                AvtPart::Expr(e) => out.push_str(&self.eval(e, cx, locals)?.into_xpath_string()),
            }
        }
        Ok(out)
    }

    fn global(&self, name: &QName) -> Result<Value<'a>, XsltError> {
        let Some(i) = self.c.globals.iter().position(|g| g.binding.name == *name) else {
            return Err(XsltError::dynamic(format!(
                "variable ${name} is not declared"
            )));
        };
        match &self.globals.borrow()[i] {
            GlobalState::Done(v) => return Ok(v.clone()),
            GlobalState::Running => {
                return Err(XsltError::dynamic(format!(
                    "global variable ${name} is defined in terms of itself"
                )));
            }
            GlobalState::Pending => {}
        }
        self.globals.borrow_mut()[i] = GlobalState::Running;
        let g = &self.c.globals[i];
        let supplied = g
            .is_param
            .then(|| self.params.iter().find(|(n, _)| n == name))
            .flatten();
        let v = match supplied {
            Some((_, v)) => Ok(v.clone()),
            None => {
                let cx = Cx {
                    node: self.root.clone(),
                    pos: 1,
                    size: 1,
                    mode: None,
                    rule_precedence: None,
                };
                self.binding_value(&g.binding, &cx, &mut Vec::new())
            }
        };
        match v {
            Ok(v) => {
                self.globals.borrow_mut()[i] = GlobalState::Done(v.clone());
                Ok(v)
            }
            Err(e) => {
                self.globals.borrow_mut()[i] = GlobalState::Pending;
                Err(e)
            }
        }
    }

    fn binding_value(
        &self,
        b: &'s Binding,
        cx: &Cx<'s, 'a>,
        locals: &mut Locals<'a>,
    ) -> Result<Value<'a>, XsltError> {
        match &b.value {
            BindingValue::Select(e) => self.eval(e, cx, locals),
            BindingValue::Empty => Ok(Value::String(String::new())),
            BindingValue::Body(body) => {
                let mut out = Builder::new();
                self.exec(body, cx, locals, &mut out)?;
                Ok(Value::Nodes(vec![NodeRef::element(Tree::owned(
                    out.into_fragment(),
                ))]))
            }
        }
    }

    fn exec(
        &self,
        body: &'s [Instr],
        cx: &Cx<'s, 'a>,
        locals: &mut Locals<'a>,
        out: &mut Builder,
    ) -> Result<(), XsltError> {
        let mark = locals.len();
        for i in body {
            self.instr(i, cx, locals, out)?;
        }
        locals.truncate(mark);
        Ok(())
    }

    /// The string value of a body instantiated on its own (attribute values, comments, …).
    fn body_text(
        &self,
        body: &'s [Instr],
        cx: &Cx<'s, 'a>,
        locals: &mut Locals<'a>,
    ) -> Result<String, XsltError> {
        if let [Instr::Text(t)] = body {
            return Ok(t.clone());
        }
        let mut out = Builder::new();
        self.exec(body, cx, locals, &mut out)?;
        Ok(out.into_fragment().text())
    }

    fn use_attribute_sets(
        &self,
        sets: &'s [QName],
        cx: &Cx<'s, 'a>,
        out: &mut Builder,
        depth: usize,
    ) -> Result<(), XsltError> {
        if depth > 32 {
            return Err(XsltError::dynamic(
                "attribute sets use each other in a cycle",
            ));
        }
        for name in sets {
            let defs = self.c.attribute_sets.get(name).ok_or_else(|| {
                XsltError::dynamic(format!("attribute set '{name}' is not declared"))
            })?;
            for (uses, body) in defs {
                self.use_attribute_sets(uses, cx, out, depth + 1)?;
                // Attribute sets see only global variables.
                self.exec(body, cx, &mut Vec::new(), out)?;
            }
        }
        Ok(())
    }

    fn instr(
        &self,
        i: &'s Instr,
        cx: &Cx<'s, 'a>,
        locals: &mut Locals<'a>,
        out: &mut Builder,
    ) -> Result<(), XsltError> {
        self.tick()?;
        match i {
            Instr::Text(t) => out.text(t),
            Instr::Literal {
                name,
                prefix,
                ns_decls,
                attrs,
                use_sets,
                body,
            } => {
                let mut el = Element::new(name.clone());
                el.prefix.clone_from(prefix);
                el.ns_decls = out.new_decls(ns_decls.iter().cloned());
                out.start(el);
                self.use_attribute_sets(use_sets, cx, out, 0)?;
                for (n, p, avt) in attrs {
                    let v = self.avt(avt, cx, locals)?;
                    out.attribute(n.clone(), p.clone(), v);
                }
                self.exec(body, cx, locals, out)?;
                out.end();
            }
            Instr::ValueOf(e) => {
                let s = self.eval(e, cx, locals)?.into_xpath_string();
                out.text(&s);
            }
            Instr::CopyOf(e) => match self.eval(e, cx, locals)? {
                Value::Nodes(nodes) => {
                    for n in &nodes {
                        copy_node(n, out, true);
                    }
                }
                v => out.text(&v.into_xpath_string()),
            },
            Instr::Copy { use_sets, body } => {
                let n = &cx.node;
                match n.data() {
                    Some(NodeData::Element(e)) if !is_fragment(e) || !n.path().is_empty() => {
                        let mut el = Element::new(e.name.clone());
                        el.prefix.clone_from(&e.prefix);
                        el.ns_decls = out.new_decls(namespaces_of(n).into_iter());
                        out.start(el);
                        self.use_attribute_sets(use_sets, cx, out, 0)?;
                        self.exec(body, cx, locals, out)?;
                        out.end();
                    }
                    Some(NodeData::Root(_) | NodeData::Element(_)) => {
                        self.exec(body, cx, locals, out)?;
                    }
                    _ => copy_node(n, out, false),
                }
            }
            Instr::Element {
                name,
                namespace,
                ns,
                use_sets,
                body,
            } => {
                let qn = self.avt(name, cx, locals)?;
                let (prefix, local) = split_qname(&qn).ok_or_else(|| {
                    XsltError::dynamic(format!("xsl:element: '{qn}' is not a QName"))
                })?;
                let uri = match namespace {
                    Some(a) => self.avt(a, cx, locals)?,
                    None => lookup(ns, prefix).ok_or_else(|| {
                        XsltError::dynamic(format!(
                            "xsl:element: prefix '{prefix}' of '{qn}' is not declared"
                        ))
                    })?,
                };
                let mut el = Element::new(QName::new(uri, local));
                el.prefix = prefix.to_owned();
                out.start(el);
                self.use_attribute_sets(use_sets, cx, out, 0)?;
                self.exec(body, cx, locals, out)?;
                out.end();
            }
            Instr::Attribute {
                name,
                namespace,
                ns,
                body,
            } => {
                let qn = self.avt(name, cx, locals)?;
                let (prefix, local) = split_qname(&qn)
                    .filter(|(_, l)| qn != "xmlns" && !l.is_empty())
                    .ok_or_else(|| {
                        XsltError::dynamic(format!(
                            "xsl:attribute: '{qn}' is not a valid attribute name"
                        ))
                    })?;
                let uri = match namespace {
                    Some(a) => self.avt(a, cx, locals)?,
                    None if prefix.is_empty() => String::new(),
                    None => lookup(ns, prefix).ok_or_else(|| {
                        XsltError::dynamic(format!(
                            "xsl:attribute: prefix '{prefix}' of '{qn}' is not declared"
                        ))
                    })?,
                };
                let value = self.body_text(body, cx, locals)?;
                let prefix = if uri.is_empty() { "" } else { prefix };
                out.attribute(QName::new(uri, local), prefix.to_owned(), value);
            }
            Instr::Comment(body) => {
                let t = self.body_text(body, cx, locals)?;
                // "--" cannot appear in a comment; a space keeps the output well-formed.
                let mut t = t.replace("--", "- -");
                if t.ends_with('-') {
                    t.push(' ');
                }
                out.push(Node::Comment(t));
            }
            Instr::Pi { name, body } => {
                let target = self.avt(name, cx, locals)?;
                if target.is_empty() || target.contains(':') || target.eq_ignore_ascii_case("xml") {
                    return Err(XsltError::dynamic(format!(
                        "'{target}' is not a processing-instruction target"
                    )));
                }
                let data = self.body_text(body, cx, locals)?.replace("?>", "? >");
                out.push(Node::Pi(if data.is_empty() {
                    target
                } else {
                    format!("{target} {}", data.trim_start())
                }));
            }
            Instr::If { test, body } => {
                if self.eval(test, cx, locals)?.to_boolean() {
                    self.exec(body, cx, locals, out)?;
                }
            }
            Instr::Choose { whens, otherwise } => {
                let mut chosen = otherwise;
                for (test, body) in whens {
                    if self.eval(test, cx, locals)?.to_boolean() {
                        chosen = body;
                        break;
                    }
                }
                self.exec(chosen, cx, locals, out)?;
            }
            Instr::ForEach {
                select,
                sorts,
                body,
            } => {
                let nodes = self.eval_nodes(select, cx, locals, "xsl:for-each select")?;
                let nodes = self.sort(nodes, sorts, cx, locals)?;
                let size = nodes.len();
                for (i, n) in nodes.into_iter().enumerate() {
                    let inner = Cx {
                        node: n,
                        pos: i + 1,
                        size,
                        mode: cx.mode,
                        rule_precedence: None,
                    };
                    self.exec(body, &inner, locals, out)?;
                }
            }
            Instr::ApplyTemplates {
                select,
                mode,
                sorts,
                params,
            } => {
                let nodes = match select {
                    Some(e) => self.eval_nodes(e, cx, locals, "xsl:apply-templates select")?,
                    None => children(&cx.node),
                };
                let nodes = self.sort(nodes, sorts, cx, locals)?;
                let passed = self.with_params(params, cx, locals)?;
                let size = nodes.len();
                for (i, n) in nodes.into_iter().enumerate() {
                    let inner = Cx {
                        node: n,
                        pos: i + 1,
                        size,
                        mode: mode.as_ref(),
                        rule_precedence: None,
                    };
                    self.apply(&inner, &passed, out, None)?;
                }
            }
            Instr::CallTemplate { name, params } => {
                let t = self
                    .c
                    .named
                    .get(name)
                    .map(|&t| &self.c.templates[t])
                    .ok_or_else(|| XsltError::dynamic(format!("no template is named '{name}'")))?;
                let passed = self.with_params(params, cx, locals)?;
                self.invoke(t, cx, &passed, out)?;
            }
            Instr::ApplyImports => {
                let Some(p) = cx.rule_precedence else {
                    return Err(XsltError::dynamic(
                        "xsl:apply-imports is used where there is no current template rule",
                    ));
                };
                self.apply(cx, &[], out, Some(p))?;
            }
            Instr::Variable(b) => {
                let v = self.binding_value(b, cx, locals)?;
                locals.push((b.name.clone(), v));
            }
            Instr::Number(n) => {
                let s = self.number(n, cx, locals)?;
                out.text(&s);
            }
            Instr::Message { terminate, body } => {
                let text = self.body_text(body, cx, locals)?;
                if *terminate {
                    return Err(XsltError {
                        kind: XsltErrorKind::Terminated,
                        message: format!("xsl:message terminated the transformation: {text}"),
                    });
                }
                tracing::info!(target: "bpelgate::xslt", message = %text, "xsl:message");
            }
        }
        Ok(())
    }

    fn with_params(
        &self,
        params: &'s [Binding],
        cx: &Cx<'s, 'a>,
        locals: &mut Locals<'a>,
    ) -> Result<Vec<(QName, Value<'a>)>, XsltError> {
        let mut out = Vec::with_capacity(params.len());
        for p in params {
            out.push((p.name.clone(), self.binding_value(p, cx, locals)?));
        }
        Ok(out)
    }

    fn invoke(
        &self,
        t: &'s Template,
        cx: &Cx<'s, 'a>,
        passed: &[(QName, Value<'a>)],
        out: &mut Builder,
    ) -> Result<(), XsltError> {
        let depth = self.depth.get() + 1;
        if depth > MAX_DEPTH {
            return Err(XsltError::dynamic(format!(
                "templates nest deeper than {MAX_DEPTH} levels (infinite recursion?)"
            )));
        }
        self.depth.set(depth);
        let r = (|| {
            let mut frame: Locals<'a> = Vec::new();
            for p in &t.params {
                let v = match passed.iter().find(|(n, _)| *n == p.name) {
                    Some((_, v)) => v.clone(),
                    None => self.binding_value(p, cx, &mut frame)?,
                };
                frame.push((p.name.clone(), v));
            }
            self.exec(&t.body, cx, &mut frame, out)
        })();
        self.depth.set(depth - 1);
        r
    }

    /// Processes `cx.node` with the best template rule of `cx.mode` (below import precedence
    /// `below`, for apply-imports), or the built-in rule.
    fn apply(
        &self,
        cx: &Cx<'s, 'a>,
        passed: &[(QName, Value<'a>)],
        out: &mut Builder,
        below: Option<usize>,
    ) -> Result<(), XsltError> {
        self.tick()?;
        match self.find_rule(&cx.node, cx.mode, below)? {
            Some(rule) => {
                let inner = Cx {
                    rule_precedence: Some(rule.precedence),
                    ..cx.clone()
                };
                self.invoke(&self.c.templates[rule.template], &inner, passed, out)
            }
            None => self.builtin(cx, out),
        }
    }

    fn find_rule(
        &self,
        node: &NodeRef<'a>,
        mode: Option<&QName>,
        below: Option<usize>,
    ) -> Result<Option<&'s Rule>, XsltError> {
        let scope = Scope {
            tr: self,
            locals: &[],
            current: node,
        };
        for &i in &self.order {
            let r = &self.c.rules[i];
            if r.mode.as_ref() != mode || below.is_some_and(|b| r.precedence >= b) {
                continue;
            }
            if r.pattern
                .matches(node, &scope)
                .map_err(|e| self.xpath_err(e, "matching a template pattern failed"))?
            {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }

    fn builtin(&self, cx: &Cx<'s, 'a>, out: &mut Builder) -> Result<(), XsltError> {
        // Built-in rules recurse once per level of the source tree: counted like templates,
        // as a tree built in memory has no parser depth limit.
        let depth = self.depth.get() + 1;
        if depth > MAX_DEPTH {
            return Err(XsltError::dynamic(format!(
                "templates nest deeper than {MAX_DEPTH} levels"
            )));
        }
        self.depth.set(depth);
        let r = self.builtin_rule(cx, out);
        self.depth.set(depth - 1);
        r
    }

    fn builtin_rule(&self, cx: &Cx<'s, 'a>, out: &mut Builder) -> Result<(), XsltError> {
        match cx.node.kind() {
            NodeKind::Root | NodeKind::Element => {
                let kids = children(&cx.node);
                let size = kids.len();
                for (i, n) in kids.into_iter().enumerate() {
                    let inner = Cx {
                        node: n,
                        pos: i + 1,
                        size,
                        mode: cx.mode,
                        rule_precedence: None,
                    };
                    self.apply(&inner, &[], out, None)?;
                }
            }
            NodeKind::Text | NodeKind::Attribute(_) => out.text(&cx.node.string_value()),
            _ => {}
        }
        Ok(())
    }

    fn sort(
        &self,
        nodes: Vec<NodeRef<'a>>,
        sorts: &'s [SortKey],
        cx: &Cx<'s, 'a>,
        locals: &mut Locals<'a>,
    ) -> Result<Vec<NodeRef<'a>>, XsltError> {
        if sorts.is_empty() || nodes.len() < 2 {
            return Ok(nodes);
        }
        enum K {
            Num(f64),
            Text(String),
        }
        struct Spec {
            descending: bool,
            upper_first: bool,
        }
        let mut specs = Vec::with_capacity(sorts.len());
        let mut numeric = Vec::with_capacity(sorts.len());
        for s in sorts {
            let get = |a: &Option<Avt>| -> Result<Option<String>, XsltError> {
                a.as_ref().map(|a| self.avt(a, cx, locals)).transpose()
            };
            let order = get(&s.order)?;
            let case = get(&s.case_order)?;
            let dt = get(&s.data_type)?;
            specs.push(Spec {
                descending: order.as_deref() == Some("descending"),
                upper_first: case.as_deref() == Some("upper-first"),
            });
            numeric.push(dt.as_deref() == Some("number"));
        }
        let size = nodes.len();
        let mut keyed: Vec<(Vec<K>, usize, NodeRef<'a>)> = Vec::with_capacity(size);
        for (i, n) in nodes.into_iter().enumerate() {
            let inner = Cx {
                node: n,
                pos: i + 1,
                size,
                mode: cx.mode,
                rule_precedence: None,
            };
            let mut ks = Vec::with_capacity(sorts.len());
            for (s, num) in sorts.iter().zip(&numeric) {
                let v = self.eval(&s.select, &inner, locals)?;
                ks.push(if *num {
                    K::Num(v.to_number())
                } else {
                    K::Text(v.into_xpath_string())
                });
            }
            keyed.push((ks, i, inner.node));
        }
        keyed.sort_by(|a, b| {
            for ((ka, kb), spec) in a.0.iter().zip(&b.0).zip(&specs) {
                let o = match (ka, kb) {
                    (K::Num(x), K::Num(y)) => match (x.is_nan(), y.is_nan()) {
                        (true, true) => Ordering::Equal,
                        (true, false) => Ordering::Less,
                        (false, true) => Ordering::Greater,
                        _ => x.partial_cmp(y).unwrap_or(Ordering::Equal),
                    },
                    (K::Text(x), K::Text(y)) => compare_text(x, y, spec.upper_first),
                    _ => Ordering::Equal,
                };
                let o = if spec.descending { o.reverse() } else { o };
                if o != Ordering::Equal {
                    return o;
                }
            }
            a.1.cmp(&b.1)
        });
        Ok(keyed.into_iter().map(|k| k.2).collect())
    }

    fn key(&self, args: &[Value<'a>]) -> Result<Value<'a>, XsltError> {
        let name = QName::from_clark(&arg_string(args, 0));
        if !self.c.keys.iter().any(|k| k.name == name) {
            return Err(XsltError::dynamic(format!("key '{name}' is not declared")));
        }
        let doc = match args.get(2) {
            Some(Value::Nodes(n)) if !n.is_empty() => n[0].clone(),
            _ => self.root.clone(),
        };
        let index = self.key_index(&name, &doc)?;
        let mut out = Vec::new();
        let mut look = |s: &str| {
            if let Some(found) = index.get(s) {
                out.extend(found.iter().cloned());
            }
        };
        match args.get(1) {
            Some(Value::Nodes(ns)) => ns.iter().for_each(|n| look(&n.string_value())),
            Some(v) => look(&v.to_xpath_string()),
            None => {}
        }
        Ok(Value::nodes(out))
    }

    fn key_index(&self, name: &QName, doc: &NodeRef<'a>) -> Result<KeyIndex<'a>, XsltError> {
        let id = (name.clone(), doc.tree().id());
        if let Some(ix) = self.keys.borrow().get(&id) {
            return Ok(Rc::clone(ix));
        }
        if self.building_keys.borrow().contains(&id) {
            return Err(XsltError::dynamic(format!(
                "key '{name}' is defined in terms of itself"
            )));
        }
        self.building_keys.borrow_mut().push(id.clone());
        let r = self.build_key_index(name, doc);
        self.building_keys.borrow_mut().retain(|k| *k != id);
        let ix = Rc::new(r?);
        self.keys.borrow_mut().insert(id, Rc::clone(&ix));
        Ok(ix)
    }

    fn build_key_index(
        &self,
        name: &QName,
        doc: &NodeRef<'a>,
    ) -> Result<HashMap<String, Vec<NodeRef<'a>>>, XsltError> {
        let mut index: HashMap<String, Vec<NodeRef<'a>>> = HashMap::new();
        let defs: Vec<_> = self.c.keys.iter().filter(|k| k.name == *name).collect();
        let mut all = Vec::new();
        let root = NodeRef::document(doc.tree().clone());
        collect_nodes(&root, &mut all);
        for n in all {
            for k in &defs {
                let scope = Scope {
                    tr: self,
                    locals: &[],
                    current: &n,
                };
                if !k
                    .matches
                    .matches(&n, &scope)
                    .map_err(|e| self.xpath_err(e, "matching a key pattern failed"))?
                {
                    continue;
                }
                let cx = Cx {
                    node: n.clone(),
                    pos: 1,
                    size: 1,
                    mode: None,
                    rule_precedence: None,
                };
                let mut add = |s: String| {
                    let slot = index.entry(s).or_default();
                    if slot.last() != Some(&n) {
                        slot.push(n.clone());
                    }
                };
                match self.eval(&k.use_, &cx, &[])? {
                    Value::Nodes(vs) => vs.iter().for_each(|v| add(v.string_value())),
                    v => add(v.into_xpath_string()),
                }
            }
        }
        Ok(index)
    }

    fn document(&self, args: &[Value<'a>]) -> Result<Value<'a>, XsltError> {
        let uri = match args.first() {
            Some(Value::Nodes(n)) => n.first().map(NodeRef::string_value).unwrap_or_default(),
            Some(v) => v.to_xpath_string(),
            None => String::new(),
        };
        if uri.is_empty() {
            let tree = Tree::shared(Arc::clone(&self.c.sheet));
            return Ok(Value::Nodes(vec![NodeRef::document(tree)]));
        }
        Err(XsltError::dynamic(format!(
            "document('{uri}'): only document('') (the stylesheet itself) is supported"
        )))
    }

    fn format_number(&self, args: &[Value<'a>]) -> Result<Value<'a>, XsltError> {
        let n = args.first().map_or(f64::NAN, Value::to_number);
        let pattern = arg_string(args, 1);
        let fmt_name = args
            .get(2)
            .map(|v| QName::from_clark(&v.to_xpath_string()))
            .unwrap_or_default();
        let default = super::compile::DecimalFormat::default();
        let f = match self.c.decimal_formats.get(&fmt_name) {
            Some(f) => f,
            None if fmt_name == QName::default() => &default,
            None => {
                return Err(XsltError::dynamic(format!(
                    "decimal format '{fmt_name}' is not declared"
                )));
            }
        };
        format_number(n, &pattern, f)
            .map(Value::String)
            .map_err(|m| XsltError::dynamic(format!("format-number: {m}")))
    }

    fn number(
        &self,
        n: &'s NumberInstr,
        cx: &Cx<'s, 'a>,
        locals: &mut Locals<'a>,
    ) -> Result<String, XsltError> {
        let format = self.avt(&n.format, cx, locals)?;
        let sep = n
            .grouping_separator
            .as_ref()
            .map(|a| self.avt(a, cx, locals))
            .transpose()?;
        let size = n
            .grouping_size
            .as_ref()
            .map(|a| self.avt(a, cx, locals))
            .transpose()?
            .and_then(|s| s.trim().parse::<usize>().ok())
            .unwrap_or(0);
        let nums: Vec<u64> = if let Some(v) = &n.value {
            let x = xpath_round(self.eval(v, cx, locals)?.to_number());
            if !x.is_finite() || x < 0.0 {
                return Ok(crate::xpath::value::number_to_string(x));
            }
            vec![x as u64]
        } else {
            self.count_numbers(n, cx)?
        };
        Ok(format_numbers(&nums, &format, sep.as_deref(), size))
    }

    fn count_numbers(&self, n: &'s NumberInstr, cx: &Cx<'s, 'a>) -> Result<Vec<u64>, XsltError> {
        let node = &cx.node;
        let counts = |m: &NodeRef<'a>| -> Result<bool, XsltError> {
            match &n.count {
                Some(p) => {
                    let scope = Scope {
                        tr: self,
                        locals: &[],
                        current: node,
                    };
                    p.matches(m, &scope)
                        .map_err(|e| self.xpath_err(e, "xsl:number count"))
                }
                None => Ok(same_kind_and_name(m, node)),
            }
        };
        let from = |m: &NodeRef<'a>| -> Result<bool, XsltError> {
            match &n.from {
                Some(p) => {
                    let scope = Scope {
                        tr: self,
                        locals: &[],
                        current: node,
                    };
                    p.matches(m, &scope)
                        .map_err(|e| self.xpath_err(e, "xsl:number from"))
                }
                None => Ok(false),
            }
        };
        let position = |m: &NodeRef<'a>| -> Result<u64, XsltError> {
            let mut k = 1;
            for s in preceding_siblings(m) {
                if counts(&s)? {
                    k += 1;
                }
            }
            Ok(k)
        };
        match n.level {
            NumberLevel::Single | NumberLevel::Multiple => {
                let mut out = Vec::new();
                let mut cur = Some(node.clone());
                while let Some(m) = cur {
                    if from(&m)? {
                        break;
                    }
                    if counts(&m)? {
                        out.push(position(&m)?);
                        if n.level == NumberLevel::Single {
                            break;
                        }
                    }
                    cur = m.parent();
                }
                out.reverse();
                Ok(out)
            }
            NumberLevel::Any => {
                let mut all = Vec::new();
                collect_nodes(&NodeRef::document(node.tree().clone()), &mut all);
                let mut k = 0u64;
                for m in all {
                    if from(&m)? {
                        k = 0;
                    }
                    if counts(&m)? {
                        k += 1;
                    }
                    if m == *node {
                        break;
                    }
                }
                Ok(if k == 0 { Vec::new() } else { vec![k] })
            }
        }
    }
}

fn same_kind_and_name(a: &NodeRef<'_>, b: &NodeRef<'_>) -> bool {
    std::mem::discriminant(&a.kind()) == std::mem::discriminant(&b.kind())
        && a.expanded_name() == b.expanded_name()
}

/// XPath `round()`: the closest integer, halves towards positive infinity.
fn xpath_round(x: f64) -> f64 {
    if !x.is_finite() || x.fract() == 0.0 {
        x
    } else {
        (x + 0.5).floor()
    }
}

fn preceding_siblings<'a>(n: &NodeRef<'a>) -> Vec<NodeRef<'a>> {
    let Some((&last, parent)) = n.path().split_last() else {
        return Vec::new();
    };
    if matches!(
        n.kind(),
        NodeKind::Attribute(_) | NodeKind::Namespace(_) | NodeKind::Root
    ) {
        return Vec::new();
    }
    let Some(p) = element_at(n.tree().root(), parent) else {
        return Vec::new();
    };
    (0..last)
        .filter_map(|i| {
            let c = p.children.get(i)?;
            let mut path = parent.to_vec();
            path.push(i);
            Some(NodeRef::new(n.tree().clone(), path, child_kind(c)))
        })
        .collect()
}

/// Every node of the tree under `n` (itself included), attributes after their element, in
/// document order.
fn collect_nodes<'a>(n: &NodeRef<'a>, out: &mut Vec<NodeRef<'a>>) {
    out.push(n.clone());
    if n.kind() == NodeKind::Element {
        out.extend(attributes(n));
    }
    for c in children(n) {
        collect_nodes(&c, out);
    }
}

fn compare_text(a: &str, b: &str, upper_first: bool) -> Ordering {
    let la = a.to_lowercase();
    let lb = b.to_lowercase();
    la.cmp(&lb).then_with(|| {
        // Same letters: the case order decides, lower case first unless told otherwise.
        let o = a.cmp(b);
        if upper_first { o } else { o.reverse() }
    })
}

fn split_qname(s: &str) -> Option<(&str, &str)> {
    let s = s.trim();
    let (p, l) = match s.split_once(':') {
        Some((p, l)) => (p, l),
        None => ("", s),
    };
    let ok = |x: &str| {
        !x.is_empty()
            && !x.contains(':')
            && x.chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
            && x.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
    };
    (ok(l) && (p.is_empty() || ok(p))).then_some((p, l))
}

fn lookup(ns: &[(String, String)], prefix: &str) -> Option<String> {
    if prefix == "xml" {
        return Some(XML_NS.to_owned());
    }
    match ns.iter().find(|(p, _)| p == prefix) {
        Some((_, u)) => Some(u.clone()),
        None if prefix.is_empty() => Some(String::new()),
        None => None,
    }
}

/// The namespace nodes of an element node, as declarations.
fn namespaces_of(n: &NodeRef<'_>) -> Vec<(String, String)> {
    in_scope_namespaces(n.tree().root(), n.path())
        .unwrap_or_default()
        .into_iter()
        .filter(|(p, _)| *p != "xml")
        .map(|(p, u)| (p.to_owned(), u.to_owned()))
        .collect()
}

/// Copies `n` to the output (deeply when `deep`: `xsl:copy-of`; `xsl:copy` of a non-element
/// node is the same).
fn copy_node(n: &NodeRef<'_>, out: &mut Builder, deep: bool) {
    match n.data() {
        Some(NodeData::Root(_)) if deep => {
            copy_node(&NodeRef::element(n.tree().clone()), out, deep);
        }
        Some(NodeData::Root(_)) => {}
        Some(NodeData::Element(e)) => {
            if is_fragment(e) && n.path().is_empty() {
                for c in &e.children {
                    out.push(c.clone());
                }
            } else {
                copy_element(e, n, out);
            }
        }
        Some(NodeData::Text(t)) => out.text(t),
        Some(NodeData::Comment(t)) => out.push(Node::Comment(t.to_owned())),
        Some(NodeData::ProcessingInstruction(p)) => out.push(Node::Pi(p.to_owned())),
        Some(NodeData::Attribute(a)) => {
            out.attribute(a.name.clone(), a.prefix.clone(), a.value.clone())
        }
        Some(NodeData::Namespace { prefix, uri }) => out.namespace(prefix, uri),
        None => {}
    }
}

fn copy_element(e: &Element, n: &NodeRef<'_>, out: &mut Builder) {
    let mut copy = e.clone();
    // The copy keeps every namespace in scope in the source, so QName-valued content (e.g.
    // xsi:type) still resolves where it lands.
    let decls = in_scope_namespaces(n.tree().root(), n.path())
        .unwrap_or_default()
        .into_iter()
        .filter(|(p, _)| *p != "xml")
        .map(|(p, u)| (p.to_owned(), u.to_owned()));
    copy.ns_decls = out.new_decls(decls);
    out.push(Node::Element(copy));
}

/// The result tree under construction.
struct Builder {
    /// Open elements; the first is the fragment container.
    stack: Vec<Element>,
}

impl Builder {
    fn new() -> Self {
        Builder {
            stack: vec![Element::new(QName::new(RTF_NS, "fragment"))],
        }
    }

    fn top(&mut self) -> &mut Element {
        // The container is never popped, so the stack is never empty.
        let last = self.stack.len() - 1;
        &mut self.stack[last]
    }

    fn text(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        let top = self.top();
        if let Some(Node::Text(prev)) = top.children.last_mut() {
            prev.push_str(s);
        } else {
            top.children.push(Node::Text(s.to_owned()));
        }
    }

    fn push(&mut self, n: Node) {
        match n {
            Node::Text(t) => self.text(&t),
            n => self.top().children.push(n),
        }
    }

    fn start(&mut self, el: Element) {
        self.stack.push(el);
    }

    fn end(&mut self) {
        if self.stack.len() > 1
            && let Some(el) = self.stack.pop()
        {
            self.top().children.push(Node::Element(el));
        }
    }

    /// The namespace bound to `prefix` by the open result elements.
    fn bound(&self, prefix: &str) -> Option<&str> {
        self.stack[1..]
            .iter()
            .rev()
            .flat_map(|e| e.ns_decls.iter().rev())
            .find(|(p, _)| p == prefix)
            .map(|(_, u)| u.as_str())
    }

    /// The declarations among `decls` that the open result elements do not already make.
    fn new_decls(&self, decls: impl Iterator<Item = (String, String)>) -> Vec<(String, String)> {
        decls
            .filter(|(p, u)| {
                let b = self.bound(p);
                if p.is_empty() {
                    b.unwrap_or("") != u
                } else {
                    b != Some(u.as_str())
                }
            })
            .collect()
    }

    /// Adds an attribute to the element being built; ignored once it has children or outside
    /// an element (XSLT 1.0 section 7.1.3 allows either recovery).
    fn attribute(&mut self, name: QName, prefix: String, value: String) {
        if self.stack.len() < 2 {
            return;
        }
        let top = self.top();
        if !top.children.is_empty() {
            return;
        }
        match top.attrs.iter_mut().find(|a| a.name == name) {
            Some(a) => a.value = value,
            None => top.attrs.push(Attr {
                name,
                prefix,
                value,
            }),
        }
    }

    fn namespace(&mut self, prefix: &str, uri: &str) {
        if self.stack.len() < 2 || self.bound(prefix) == Some(uri) {
            return;
        }
        let top = self.top();
        if top.children.is_empty() && !top.ns_decls.iter().any(|(p, _)| p == prefix) {
            top.ns_decls.push((prefix.to_owned(), uri.to_owned()));
        }
    }

    fn into_fragment(mut self) -> Element {
        while self.stack.len() > 1 {
            self.end();
        }
        self.stack
            .pop()
            .unwrap_or_else(|| Element::new(QName::new(RTF_NS, "fragment")))
    }

    /// The single element of the result; whitespace, comments and processing instructions
    /// around it are dropped.
    fn into_document_element(self) -> Result<Element, XsltError> {
        let frag = self.into_fragment();
        let mut found = None;
        for n in frag.children {
            match n {
                Node::Element(e) => {
                    if found.is_some() {
                        return Err(no_element("the result has more than one top-level element"));
                    }
                    found = Some(e);
                }
                Node::Text(t) if !t.chars().all(|c| matches!(c, ' ' | '\t' | '\r' | '\n')) => {
                    return Err(no_element(
                        "the result has text outside its document element",
                    ));
                }
                _ => {}
            }
        }
        found.ok_or_else(|| no_element("the result has no document element"))
    }
}

fn no_element(message: &str) -> XsltError {
    XsltError {
        kind: XsltErrorKind::NoDocumentElement,
        message: message.to_owned(),
    }
}
