//! Expression evaluation: the [`Resolver`] binding BPEL variables and functions into XPath,
//! the one [`evaluate`] entry point, and the mapping of XPath errors to BPEL faults.

use std::cell::RefCell;

use bpelgate_wsdl::wsdl::{PartKind, WsdlSet};
use bpelgate_wsdl::xsd::{SimpleVariety, TypeDef, builtin_primitive, is_builtin};
use bpelgate_wsdl::{Element, QName};

use super::property;
use super::store::{Store, accessor_index, first_element_index};
use super::time::format_date_time;
use super::{Env, ode};
use crate::model::{ExprDecl, ExprId, VarType, VariableDecl, VariableId};
use crate::runtime::fault::{BPEL_NS, Fault};
use crate::xpath::ast::PathStart;
use crate::xpath::functions::{
    BPEL11_NS, BPEL20_DRAFT_NS, BPEL20_NS, ODE_EXT_NS, XPATH_DATATYPES_NS,
};
use crate::xpath::value::element_at;
use crate::xpath::xdm::{self, AtomicType};
use crate::xpath::{
    self, Atomic, Compiled, Context, ErrorKind, Item, Language, NodeKind, NodeRef, Resolver,
    Sequence, Tree, Value, XPathError, value_to_sequence,
};

const XSD_NS: &str = "http://www.w3.org/2001/XMLSchema";

/// The trees handed to XPath that are (parts of) variables, so a selected node can be traced
/// back to the variable and path to modify. A tree's tag is its index here plus one; tag 0
/// is a tree that is no variable (a function result).
#[derive(Default)]
pub(super) struct Trees(RefCell<Vec<(VariableId, Vec<usize>)>>);

impl Trees {
    /// The tag of the subtree of `var` at child-index path `base`.
    pub(super) fn tag(&self, var: VariableId, base: &[usize]) -> u64 {
        let mut v = self.0.borrow_mut();
        let i = match v.iter().position(|(w, b)| *w == var && b == base) {
            Some(i) => i,
            None => {
                v.push((var, base.to_vec()));
                v.len() - 1
            }
        };
        i as u64 + 1
    }

    /// The variable a node belongs to and the path to the node (to its element for
    /// attributes) from the variable's root; `None` for nodes of other trees.
    pub(super) fn locate(&self, node: &NodeRef<'_>) -> Option<(VariableId, Vec<usize>)> {
        let tag = usize::try_from(node.tree().tag()).ok()?.checked_sub(1)?;
        let v = self.0.borrow();
        let (var, base) = v.get(tag)?;
        let mut path = base.clone();
        path.extend_from_slice(node.path());
        Some((*var, path))
    }
}

/// A node over the subtree of `var`'s value `root` at `base`, tagged for [`Trees::locate`].
pub(super) fn var_node<'a>(
    trees: &Trees,
    var: VariableId,
    root: &'a Element,
    base: &[usize],
) -> Option<NodeRef<'a>> {
    let sub = element_at(root, base)?;
    Some(NodeRef::element(
        Tree::borrowed(sub).with_tag(trees.tag(var, base)),
    ))
}

/// The expression `id`, or a fault for an id that is not in the process (a bug upstream).
pub(super) fn expr_decl<'p>(env: &Env<'p>, id: ExprId) -> Result<&'p ExprDecl, Fault> {
    env.process.exprs.get(id.index()).ok_or_else(|| {
        Fault::standard(
            "subLanguageExecutionFault",
            format!("expression #{} is not part of the process", id.0),
        )
    })
}

/// The compiled form of an expression; a fault when there is none (a syntax error tolerated
/// at deployment, or a language this engine does not evaluate).
pub(super) fn compiled(decl: &ExprDecl) -> Result<&Compiled, Fault> {
    decl.compiled.as_ref().ok_or_else(|| {
        let why = if Language::from_uri(&decl.language).is_some() {
            "the expression did not compile"
        } else {
            "the expression language is not supported"
        };
        Fault::standard(
            "subLanguageExecutionFault",
            format!("{why}: \"{}\" ({})", decl.text, decl.language),
        )
    })
}

/// Evaluates expression `id` with context `ctx`: the single place expressions are run, so
/// switching XPath engines (XPath 2.0) is a change here only.
pub(super) fn evaluate<'a>(
    env: &Env<'_>,
    store: &'a Store<'a>,
    trees: &Trees,
    id: ExprId,
    ctx: &Context<'a>,
) -> Result<Value<'a>, Fault> {
    let decl = expr_decl(env, id)?;
    let c = compiled(decl)?;
    let res = Res {
        env,
        store,
        ns: &decl.ns,
        trees,
    };
    xpath::eval(c, ctx, &res).map_err(|e| fault_of(&e, &decl.text))
}

/// Evaluates query `id` (a from/to `<query>`) on `node`. A query written as an absolute path
/// that selects nothing from the document root is retried relative to `node`: Apache ODE
/// processes write `/corr1` (propertyAlias) or `query="/template"` for a child of the part,
/// while BPEL4WS-style queries name the part element first (`/tns:order/tns:id`); both work.
pub(super) fn evaluate_query<'a>(
    env: &Env<'_>,
    store: &'a Store<'a>,
    trees: &Trees,
    id: ExprId,
    node: NodeRef<'a>,
) -> Result<Value<'a>, Fault> {
    let ctx = Context::at(node);
    let v = evaluate(env, store, trees, id, &ctx)?;
    if matches!(&v, Value::Nodes(n) if n.is_empty()) {
        let decl = expr_decl(env, id)?;
        if let Some(rel) = decl.compiled.as_ref().and_then(relative_of_absolute) {
            let res = Res {
                env,
                store,
                ns: &decl.ns,
                trees,
            };
            return xpath::eval(&rel, &ctx, &res).map_err(|e| fault_of(&e, &decl.text));
        }
    }
    Ok(v)
}

/// `/a/b` as the relative path `a/b`; `None` for anything else.
pub(super) fn relative_of_absolute(c: &Compiled) -> Option<Compiled> {
    match &c.expr {
        xpath::Expr::Path {
            start: PathStart::Root,
            steps,
        } if !steps.is_empty() => Some(Compiled {
            lang: c.lang,
            expr: xpath::Expr::Path {
                start: PathStart::Context,
                steps: steps.clone(),
            },
        }),
        _ => None,
    }
}

/// A BPEL fault for an XPath error: resolver-raised faults keep their name, uninitialised
/// variables are `bpel:uninitializedVariable`, everything else `bpel:subLanguageExecutionFault`.
pub(super) fn fault_of(err: &XPathError, text: &str) -> Fault {
    match err.kind {
        ErrorKind::Fault => Fault {
            name: err
                .fault
                .clone()
                .unwrap_or_else(|| QName::new(BPEL_NS, "subLanguageExecutionFault")),
            data: None,
            explanation: err.message.clone(),
        },
        ErrorKind::UninitializedVariable => {
            Fault::standard("uninitializedVariable", err.message.clone())
        }
        _ => Fault::standard("subLanguageExecutionFault", format!("\"{text}\": {err}")),
    }
}

/// A fault raised inside a function, carried through XPath.
pub(super) fn xfault(f: Fault) -> XPathError {
    XPathError::fault(f.name, f.explanation)
}

/// A standard BPEL fault raised inside a function.
pub(super) fn xstd(local: &str, msg: impl Into<String>) -> XPathError {
    XPathError::fault(QName::new(BPEL_NS, local), msg)
}

/// The nearest built-in type of a simple type (`xsd:int` for a restriction of `xsd:int`),
/// `None` for complex and unknown types.
pub(super) fn simple_builtin(wsdl: &WsdlSet, ty: &QName) -> Option<QName> {
    let mut cur = ty.clone();
    // Derivation chains are short; the bound stops a cyclic schema.
    for _ in 0..64 {
        if is_builtin(&cur) {
            return (cur.local != "anyType").then_some(cur);
        }
        match wsdl.type_def(&cur)? {
            TypeDef::Simple(st) => match &st.variety {
                SimpleVariety::Restriction { base, .. } => cur = base.clone(),
                SimpleVariety::List { .. } | SimpleVariety::Union { .. } => {
                    return Some(QName::new(XSD_NS, "string"));
                }
            },
            TypeDef::Complex(_) => return None,
            TypeDef::Builtin(q) => cur = q,
        }
    }
    None
}

/// The XPath 2.0 value of simple-typed text, as Apache ODE hands it to Saxon: an atomic
/// value of the declared built-in type, or the empty sequence when the text is not a value
/// of that type (an `xsd:date` variable holding `''`). String-like types (and the
/// QName/NOTATION types, which would need the namespace context of the text) stay
/// `xs:untypedAtomic`, which is what a node's text would be, so that a string variable
/// holding digits still compares and computes as a number.
pub(super) fn typed_atomic<'a>(builtin: &QName, text: String) -> Sequence<'a> {
    let Some(t) = xdm::type_by_name(&builtin.local) else {
        return vec![Item::Atomic(Atomic::Untyped(text))];
    };
    if matches!(
        t.base,
        AtomicType::String | AtomicType::Untyped | AtomicType::AnyUri | AtomicType::QName
    ) {
        return vec![Item::Atomic(Atomic::Untyped(text))];
    }
    match Atomic::Untyped(text).cast(&t) {
        Ok(a) => vec![Item::Atomic(a)],
        Err(_) => Vec::new(),
    }
}

/// The XPath value of simple-typed text: number, boolean or string per the primitive type.
pub(super) fn atomic<'a>(primitive: &QName, text: String) -> Value<'a> {
    match primitive.local.as_str() {
        "decimal" | "float" | "double" => Value::Number(xsd_number(&text)),
        "boolean" => Value::Boolean(matches!(text.trim(), "true" | "1")),
        _ => Value::String(text),
    }
}

/// An XML Schema numeric lexical form as a double (NaN when it is none).
fn xsd_number(text: &str) -> f64 {
    let t = text.trim();
    match t {
        "INF" | "+INF" => f64::INFINITY,
        "-INF" => f64::NEG_INFINITY,
        _ if !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'+' | b'-' | b'e' | b'E')) =>
        {
            t.parse().unwrap_or(f64::NAN)
        }
        _ => f64::NAN,
    }
}

/// Resolves `prefix:local` in a namespace context given as (prefix, uri) pairs, innermost
/// last; an unprefixed name takes the default namespace, if any.
pub(super) fn resolve_qname(ns: &[(String, String)], text: &str) -> Option<QName> {
    let text = text.trim();
    let (prefix, local) = match text.split_once(':') {
        Some((p, l)) => (p, l),
        None => ("", text),
    };
    if local.is_empty() || local.contains(':') {
        return None;
    }
    let uri = ns
        .iter()
        .rev()
        .find(|(p, _)| p == prefix)
        .map(|(_, u)| u.as_str());
    match (prefix, uri) {
        ("", u) => Some(QName::new(u.unwrap_or(""), local)),
        (_, Some(u)) => Some(QName::new(u, local)),
        (_, None) => None,
    }
}

fn is_bpel_ns(ns: &str) -> bool {
    ns == BPEL20_NS || ns == BPEL20_DRAFT_NS || ns == BPEL11_NS
}

/// The resolver of one expression evaluation.
pub(super) struct Res<'r, 'a> {
    pub(super) env: &'r Env<'r>,
    pub(super) store: &'a Store<'a>,
    /// The expression's namespace context (QName-valued string arguments).
    pub(super) ns: &'r [(String, String)],
    pub(super) trees: &'r Trees,
}

impl<'a> Res<'_, 'a> {
    fn find(&self, name: &str) -> Result<(VariableId, &VariableDecl), XPathError> {
        self.env
            .process
            .find_variable(self.env.scope, name)
            .and_then(|v| self.env.process.variables.get(v.index()).map(|d| (v, d)))
            .ok_or_else(|| XPathError::dynamic(0, format!("no variable named {name} is in scope")))
    }

    fn value(&self, var: VariableId) -> Result<&'a Element, XPathError> {
        let store: &'a Store<'a> = self.store;
        store.get(var).ok_or_else(|| {
            let name = self
                .env
                .process
                .variables
                .get(var.index())
                .map_or("?", |d| d.name.as_str());
            XPathError::uninitialized(format!("variable {name} is not initialised"))
        })
    }

    fn node(&self, var: VariableId, root: &'a Element, base: &[usize]) -> Value<'a> {
        match var_node(self.trees, var, root, base) {
            Some(n) => Value::Nodes(vec![n]),
            None => Value::Nodes(Vec::new()),
        }
    }

    /// The path from a message root to the value of `part` (the element of an element part,
    /// the accessor of a type part) and the part's WSDL kind.
    fn part_path(
        &self,
        decl: &VariableDecl,
        root: &Element,
        part: &str,
    ) -> Result<(Vec<usize>, Option<PartKind>), XPathError> {
        let VarType::MessageType(mt) = &decl.ty else {
            return Err(XPathError::dynamic(
                0,
                format!(
                    "variable {} is not a message variable and has no parts",
                    decl.name
                ),
            ));
        };
        let kind = self
            .env
            .wsdl
            .message(mt)
            .and_then(|m| m.part(part))
            .map(|p| p.kind.clone());
        let uninit = || {
            XPathError::uninitialized(format!(
                "part {part} of variable {} is not initialised",
                decl.name
            ))
        };
        let i = accessor_index(root, part).ok_or_else(uninit)?;
        let mut path = vec![i];
        let acc = element_at(root, &path).ok_or_else(uninit)?;
        match kind {
            Some(PartKind::Element(_)) => path.push(first_element_index(acc).ok_or_else(uninit)?),
            // A part the message does not declare is an ODE header part holding an element.
            None if self.env.wsdl.message(mt).is_some() => {
                if let Some(j) = first_element_index(acc) {
                    path.push(j);
                }
            }
            _ => {}
        }
        Ok((path, kind))
    }

    /// `$name` / `$name.part` per WS-BPEL 2.0 §8.2.2: the node, or the simple type and text
    /// of a simple-typed variable or part. An empty part name (`$msg.` as ODE accepts it in
    /// `$msg./a/b`) is the whole message.
    fn variable_parts(
        &self,
        name: &str,
        part: Option<&str>,
    ) -> Result<Result<Value<'a>, (QName, String)>, XPathError> {
        let (var, decl) = self.find(name)?;
        let root = self.value(var)?;
        match (&decl.ty, part.filter(|p| !p.is_empty())) {
            (_, Some(p)) => {
                let (path, kind) = self.part_path(decl, root, p)?;
                if let Some(PartKind::Type(t)) = &kind
                    && let Some(builtin) = simple_builtin(self.env.wsdl, t)
                {
                    let text = element_at(root, &path)
                        .map(Element::text)
                        .unwrap_or_default();
                    return Ok(Err((builtin, text)));
                }
                Ok(Ok(self.node(var, root, &path)))
            }
            (VarType::Type(t), None) => match simple_builtin(self.env.wsdl, t) {
                Some(builtin) => Ok(Err((builtin, root.text()))),
                None => Ok(Ok(self.node(var, root, &[]))),
            },
            _ => Ok(Ok(self.node(var, root, &[]))),
        }
    }

    /// `$name` / `$name.part` for XPath 1.0: a simple value is a number, boolean or string.
    fn variable_value(&self, name: &str, part: Option<&str>) -> Result<Value<'a>, XPathError> {
        Ok(match self.variable_parts(name, part)? {
            Ok(v) => v,
            Err((builtin, text)) => {
                let prim = builtin_primitive(&builtin).unwrap_or(builtin);
                atomic(&prim, text)
            }
        })
    }

    fn ode_variable(&self, local: &str) -> Result<Value<'a>, XPathError> {
        match local {
            "pid" => Ok(Value::Number(self.env.instance_id as f64)),
            "processQName" => Ok(Value::String(self.env.process.name.clark())),
            "currentEventDateTime" => Ok(Value::String(format_date_time(self.env.now))),
            _ => Err(XPathError::dynamic(
                0,
                format!("ODE defines no variable {local}"),
            )),
        }
    }

    /// `bpel:getVariableProperty('var', 'prefix:property')`.
    fn get_variable_property(&self, args: &[Value<'a>]) -> Result<Value<'a>, XPathError> {
        let name = string_arg(args, 0);
        let prop_text = string_arg(args, 1);
        let (var, decl) = self.find(&name)?;
        let prop = resolve_qname(self.ns, &prop_text).ok_or_else(|| {
            XPathError::dynamic(0, format!("'{prop_text}' is not a property name in scope"))
        })?;
        let root = self.value(var)?;
        let trees = self.trees;
        let nodes = property::locate(self.env, &decl.ty, root, &prop, &|base| {
            trees.tag(var, base)
        })
        .map_err(xfault)?;
        match nodes.len() {
            1 => Ok(Value::Nodes(nodes)),
            n => Err(xstd(
                "selectionFailure",
                format!("property {prop} of variable {name} selects {n} nodes"),
            )),
        }
    }

    /// BPEL4WS 1.1 `bpws:getVariableData('var', 'part'?, 'query'?)`.
    fn get_variable_data(&self, args: &[Value<'a>]) -> Result<Value<'a>, XPathError> {
        let name = string_arg(args, 0);
        let (var, decl) = self.find(&name)?;
        let root = self.value(var)?;
        let base = match args.get(1) {
            Some(p) => self.part_path(decl, root, &p.to_xpath_string())?.0,
            None => Vec::new(),
        };
        let node = var_node(self.trees, var, root, &base)
            .ok_or_else(|| xstd("selectionFailure", "the part has no value"))?;
        let Some(q) = args.get(2) else {
            return Ok(Value::Nodes(vec![node]));
        };
        let q = q.to_xpath_string();
        let c = xpath::compile(&q, Language::XPath1, self.ns).map_err(|errs| {
            let why: Vec<String> = errs.iter().map(ToString::to_string).collect();
            XPathError::dynamic(0, format!("query \"{q}\": {}", why.join("; ")))
        })?;
        let nodes = xpath::eval_nodes(&c, &Context::at(node), self)?;
        if nodes.len() == 1 {
            Ok(Value::Nodes(nodes))
        } else {
            Err(xstd(
                "selectionFailure",
                format!(
                    "getVariableData('{name}', …, '{q}') selects {} nodes",
                    nodes.len()
                ),
            ))
        }
    }

    /// `bpel:doXslTransform('uri', node, ('name', value)*)`.
    fn do_xsl_transform(&self, args: &[Value<'a>]) -> Result<Value<'a>, XPathError> {
        let uri = string_arg(args, 0);
        let source = match args.get(1) {
            Some(Value::Nodes(n)) if n.len() == 1 => match n[0].kind() {
                NodeKind::Element => n[0].as_element().cloned(),
                NodeKind::Root => Some(n[0].tree().root().clone()),
                _ => None,
            },
            _ => None,
        }
        .ok_or_else(|| {
            xstd(
                "xsltInvalidSource",
                "the second argument of doXslTransform must be a single element",
            )
        })?;
        let sheet = self.env.stylesheets.stylesheet(&uri).map_err(xfault)?;
        let params: Vec<(String, String)> = args
            .get(2..)
            .unwrap_or_default()
            .chunks(2)
            .map(|pair| {
                (
                    pair[0].to_xpath_string(),
                    pair.get(1).map(Value::to_xpath_string).unwrap_or_default(),
                )
            })
            .collect();
        let out = transform(&sheet, &source, &params).map_err(|why| {
            xstd(
                "subLanguageExecutionFault",
                format!("XSLT {uri} failed: {why}"),
            )
        })?;
        Ok(Value::Nodes(vec![NodeRef::element(Tree::owned(out))]))
    }
}

/// Applies a stylesheet (kept apart so the XSLT engine is wired in one place).
fn transform(
    sheet: &crate::xslt::Stylesheet,
    source: &Element,
    params: &[(String, String)],
) -> Result<Element, String> {
    sheet.transform(source, params).map_err(|e| e.to_string())
}

/// Argument `i` as a string ("" when absent).
pub(super) fn string_arg(args: &[Value<'_>], i: usize) -> String {
    args.get(i).map(Value::to_xpath_string).unwrap_or_default()
}

impl<'a> Resolver<'a> for Res<'_, 'a> {
    /// Every expression of a step sees the step's time (steps are deterministic).
    fn now(&self) -> std::time::SystemTime {
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(self.env.now.max(0) as u64)
    }

    fn variable(&self, name: &QName, part: Option<&str>) -> Result<Value<'a>, XPathError> {
        if name.ns == ODE_EXT_NS && part.is_none() {
            return self.ode_variable(&name.local);
        }
        if !name.ns.is_empty() {
            return Err(XPathError::dynamic(
                0,
                format!("no variable {name} is defined"),
            ));
        }
        // Join conditions name incoming links as variables; the executor answers only there.
        if part.is_none()
            && let Some(status) = self.store.link_status(&name.local)
        {
            return Ok(Value::Boolean(status));
        }
        self.variable_value(&name.local, part)
    }

    /// As [`Resolver::variable`], but a simple-typed variable or part is a typed atomic value
    /// (XPath 2.0 and XQuery see `xs:date` arithmetic, `xs:int` integers …).
    fn variable_seq(&self, name: &QName, part: Option<&str>) -> Result<Sequence<'a>, XPathError> {
        if !name.ns.is_empty() || (part.is_none() && self.store.link_status(&name.local).is_some())
        {
            return self.variable(name, part).map(value_to_sequence);
        }
        Ok(match self.variable_parts(&name.local, part)? {
            Ok(v) => value_to_sequence(v),
            Err((builtin, text)) => typed_atomic(&builtin, text),
        })
    }

    fn function(
        &self,
        name: &QName,
        args: Vec<Value<'a>>,
    ) -> Option<Result<Value<'a>, XPathError>> {
        let ns = name.ns.as_str();
        if is_bpel_ns(ns) {
            return Some(match name.local.as_str() {
                "getVariableProperty" => self.get_variable_property(&args),
                "doXslTransform" => self.do_xsl_transform(&args),
                "getVariableData" => self.get_variable_data(&args),
                "getLinkStatus" => {
                    let link = string_arg(&args, 0);
                    self.store
                        .link_status(&link)
                        .map(Value::Boolean)
                        .ok_or_else(|| {
                            XPathError::dynamic(0, format!("link {link} has no status here"))
                        })
                }
                _ => return None,
            });
        }
        if ns == ODE_EXT_NS {
            return ode::call(self, &name.local, args);
        }
        if ns == XPATH_DATATYPES_NS
            && matches!(name.local.as_str(), "dayTimeDuration" | "yearMonthDuration")
        {
            // Durations are consumed as strings (wait/onAlarm), so the constructor is identity.
            return Some(Ok(Value::String(string_arg(&args, 0).trim().to_owned())));
        }
        None
    }
}
