//! `<copy>` (WS-BPEL 2.0 §8.4): evaluating from-specs to values, to-specs to locations, and
//! the replacement rules of §8.4.2.

use bpelgate_wsdl::{Element, Node, QName};

use super::Env;
use super::eval::{Trees, evaluate, evaluate_query, expr_decl, var_node};
use super::ode::detached_element;
use super::property;
use super::store::{PartShape, Store, accessor_index, first_element_index, message_part_shape};
use crate::model::{Copy, EndpointRole, FromSpec, PartnerLinkId, ToSpec, VarType, VariableId};
use crate::runtime::fault::{BPEL_NS, Fault};
use crate::xpath::ast::PathStart;
use crate::xpath::value::{element_at, element_at_mut};
use crate::xpath::{Context, Expr, NodeKind, NodeRef, Value};

/// The WS-BPEL service reference namespace.
pub(super) const SREF_NS: &str = "http://docs.oasis-open.org/wsbpel/2.0/serviceref";
/// WS-Addressing 1.0.
pub(super) const WSA_NS: &str = "http://www.w3.org/2005/08/addressing";

/// What a from-spec yields.
#[derive(Debug)]
pub(super) enum Src {
    /// An element (EII).
    Element(Element),
    /// A text, attribute or atomic value, as its string.
    Text(String),
    /// A whole message variable's value.
    Message {
        /// Its message type.
        ty: QName,
        /// The value, message form.
        value: Element,
    },
}

impl Src {
    fn string(&self) -> String {
        match self {
            Src::Element(e) | Src::Message { value: e, .. } => e.text(),
            Src::Text(t) => t.clone(),
        }
    }
}

/// Where a to-spec writes.
#[derive(Debug)]
enum Target {
    /// A node of a variable: child-index path from the variable's root, and the node kind.
    Node {
        var: VariableId,
        path: Vec<usize>,
        kind: NodeKind,
    },
    /// A whole message variable.
    Message { var: VariableId, ty: QName },
    /// The accessor of a header part that holds no element yet: an element copied here
    /// becomes the header element.
    Accessor { var: VariableId, path: Vec<usize> },
    /// A partner link's partnerRole endpoint.
    PartnerLink(PartnerLinkId),
}

fn selection_failure(msg: impl Into<String>) -> Fault {
    Fault::standard("selectionFailure", msg)
}

fn var_name<'p>(env: &Env<'p>, var: VariableId) -> &'p str {
    env.process
        .variables
        .get(var.index())
        .map_or("?", |d| d.name.as_str())
}

fn var_type<'p>(env: &Env<'p>, var: VariableId) -> Result<&'p VarType, Fault> {
    env.process
        .variables
        .get(var.index())
        .map(|d| &d.ty)
        .ok_or_else(|| selection_failure(format!("variable #{} is not declared", var.0)))
}

fn uninitialized(env: &Env<'_>, var: VariableId) -> Fault {
    Fault::standard(
        "uninitializedVariable",
        format!("variable {} is not initialised", var_name(env, var)),
    )
}

/// Runs one copy against the store; `Ok` without a write when `ignoreMissingFromData` (or
/// ODE's `ignoreUninitializedFromVariable`) applies.
pub(super) fn copy(env: &Env<'_>, store: &mut Store<'_>, c: &Copy) -> Result<(), Fault> {
    let src = match from_value(env, store, &c.from, c.ignore_missing_from_data) {
        Ok(Some(src)) => src,
        Ok(None) => return Ok(()),
        Err(f)
            if c.ignore_uninitialized_from_variable
                && f.name == QName::new(BPEL_NS, "uninitializedVariable") =>
        {
            return Ok(());
        }
        Err(f) => return Err(f),
    };
    let target = to_target(env, store, &c.to, c.insert_missing_to_data)?;
    apply(env, store, target, src, c.keep_src_element_name)
}

/// The path from a message variable's root to the value of `part` (the part's element for
/// element parts and header parts, the accessor for type parts), `None` when the part is not
/// initialised.
fn read_part_path(env: &Env<'_>, root: &Element, ty: &VarType, part: &str) -> Option<Vec<usize>> {
    let i = accessor_index(root, part)?;
    let mut path = vec![i];
    let shape = match ty {
        VarType::MessageType(mt) => message_part_shape(env, mt, part),
        _ => PartShape::Type,
    };
    match shape {
        PartShape::Element(_) => path.push(first_element_index(element_at(root, &path)?)?),
        PartShape::Header => {
            if let Some(j) = element_at(root, &path).and_then(first_element_index) {
                path.push(j);
            }
        }
        PartShape::Type => {}
    }
    Some(path)
}

/// Evaluates a from-spec (also used by variable initialisation).
pub(super) fn from_value(
    env: &Env<'_>,
    store: &Store<'_>,
    from: &FromSpec,
    ignore_missing: bool,
) -> Result<Option<Src>, Fault> {
    let trees = Trees::default();
    match from {
        FromSpec::Variable {
            variable,
            part,
            query,
        } => {
            let var = *variable;
            let ty = var_type(env, var)?;
            let root = store.get(var).ok_or_else(|| uninitialized(env, var))?;
            let base = match part {
                Some(p) => read_part_path(env, root, ty, p).ok_or_else(|| {
                    Fault::standard(
                        "uninitializedVariable",
                        format!(
                            "part {p} of variable {} is not initialised",
                            var_name(env, var)
                        ),
                    )
                })?,
                None => Vec::new(),
            };
            match (query, ty, part) {
                (None, VarType::MessageType(mt), None) => Ok(Some(Src::Message {
                    ty: mt.clone(),
                    value: root.clone(),
                })),
                (None, _, _) => element_at(root, &base)
                    .map(|e| Some(Src::Element(e.clone())))
                    .ok_or_else(|| selection_failure("the part has no value")),
                (Some(q), _, _) => {
                    let node = var_node(&trees, var, root, &base)
                        .ok_or_else(|| selection_failure("the part has no value"))?;
                    let v = evaluate_query(env, store, &trees, *q, node)?;
                    one_source(v, ignore_missing, "the from-spec query")
                }
            }
        }
        FromSpec::PartnerLink {
            partner_link,
            endpoint,
        } => {
            let epr = store.endpoint(*partner_link, *endpoint).ok_or_else(|| {
                let name = env
                    .process
                    .partner_links
                    .get(partner_link.index())
                    .map_or("?", |p| p.name.as_str());
                match endpoint {
                    EndpointRole::PartnerRole => Fault::standard(
                        "uninitializedPartnerRole",
                        format!("partner link {name} has no partnerRole endpoint"),
                    ),
                    EndpointRole::MyRole => {
                        selection_failure(format!("partner link {name} has no myRole endpoint"))
                    }
                }
            })?;
            Ok(Some(Src::Element(service_ref(epr))))
        }
        FromSpec::Property { variable, property } => {
            let var = *variable;
            let ty = var_type(env, var)?;
            let root = store.get(var).ok_or_else(|| uninitialized(env, var))?;
            let nodes = property::locate(env, ty, root, property, &|_| 0)?;
            one_source(Value::Nodes(nodes), ignore_missing, "the property")
        }
        FromSpec::Expression(e) => {
            let v = evaluate(env, store, &trees, *e, &Context::none())?;
            one_source(v, ignore_missing, "the from-spec expression")
        }
        FromSpec::Literal(lit) => Ok(Some(literal(lit))),
    }
}

/// The single node (or the atomic value) a from-spec selected.
fn one_source(v: Value<'_>, ignore_missing: bool, what: &str) -> Result<Option<Src>, Fault> {
    match v {
        Value::Nodes(n) => match n.as_slice() {
            [] if ignore_missing => Ok(None),
            [one] => Ok(Some(node_source(one))),
            _ => Err(selection_failure(format!(
                "{what} selects {} nodes, not one",
                n.len()
            ))),
        },
        other => Ok(Some(Src::Text(other.into_xpath_string()))),
    }
}

fn node_source(n: &NodeRef<'_>) -> Src {
    match detached_element(n) {
        Some(e) => Src::Element(e),
        None => Src::Text(n.string_value()),
    }
}

/// A `<literal>`: its single element child, else its text.
fn literal(lit: &Element) -> Src {
    let mut elems = lit.elements();
    let only_space = lit.children.iter().all(|n| match n {
        Node::Text(t) => t.trim().is_empty(),
        _ => true,
    });
    match (elems.next(), elems.next()) {
        (Some(e), None) if only_space => {
            let mut e = e.clone();
            // The literal's own declarations are in scope in its content.
            for (p, u) in &lit.ns_decls {
                if !e.ns_decls.iter().any(|(q, _)| q == p) {
                    e.ns_decls.push((p.clone(), u.clone()));
                }
            }
            Src::Element(e)
        }
        _ => Src::Text(lit.text()),
    }
}

/// An endpoint as a `sref:service-ref` (the value of a partner link from-spec).
fn service_ref(epr: Element) -> Element {
    if epr.is(SREF_NS, "service-ref") {
        return epr;
    }
    let mut sref = Element::new(QName::new(SREF_NS, "service-ref"));
    sref.prefix = "sref".to_owned();
    sref.children.push(Node::Element(epr));
    sref
}

/// What a copy to a partner link stores: the endpoint reference inside a `sref:service-ref`,
/// an element as given, or a `wsa:EndpointReference` built around an address string.
fn endpoint_of(src: Src) -> Result<Element, Fault> {
    match src {
        Src::Element(e) if e.is(SREF_NS, "service-ref") => match e.first_element() {
            Some(inner) => Ok(inner.clone()),
            None => Ok(address_epr(e.text().trim())),
        },
        Src::Element(e) => Ok(e),
        Src::Text(t) => Ok(address_epr(t.trim())),
        Src::Message { .. } => Err(Fault::standard(
            "mismatchedAssignmentFailure",
            "a message is not an endpoint reference",
        )),
    }
}

fn address_epr(address: &str) -> Element {
    let mut epr = Element::new(QName::new(WSA_NS, "EndpointReference"));
    epr.prefix = "wsa".to_owned();
    let mut a = Element::new(QName::new(WSA_NS, "Address"));
    a.prefix = "wsa".to_owned();
    a.children.push(Node::Text(address.to_owned()));
    epr.children.push(Node::Element(a));
    epr
}

/// The leftmost variable of a path expression (`$v/a/b`, `$v.p[1]/c`).
fn head_var(e: &Expr) -> Option<&crate::xpath::VarRef> {
    match e {
        Expr::Var(v) => Some(v),
        Expr::Filter { primary, .. } => head_var(primary),
        Expr::Path {
            start: PathStart::Expr(x),
            ..
        } => head_var(x),
        _ => None,
    }
}

/// Resolves a to-spec to the location it writes, creating the skeleton of an uninitialised
/// variable (and a missing part) first. With ODE's `insertMissingToData`, a path of plain
/// child/attribute name steps that selects nothing is created and selected.
fn to_target(
    env: &Env<'_>,
    store: &mut Store<'_>,
    to: &ToSpec,
    insert_missing: bool,
) -> Result<Target, Fault> {
    match to {
        ToSpec::Variable {
            variable,
            part,
            query,
        } => variable_target(
            env,
            store,
            *variable,
            part.as_deref(),
            *query,
            insert_missing,
        ),
        ToSpec::PartnerLink { partner_link } => Ok(Target::PartnerLink(*partner_link)),
        ToSpec::Property { variable, property } => {
            let var = *variable;
            let ty = var_type(env, var)?;
            store.ensure(env, var);
            let trees = Trees::default();
            let root = store.get(var).ok_or_else(|| uninitialized(env, var))?;
            let nodes = property::locate(env, ty, root, property, &|b| trees.tag(var, b))?;
            single_target(&trees, &nodes, "the to-spec property")
        }
        ToSpec::Expression(id) => {
            let decl = expr_decl(env, *id)?;
            let mut insert_at = None;
            if let Some(c) = &decl.compiled {
                let head =
                    head_var(&c.expr).filter(|v| v.name.ns.as_deref().unwrap_or("").is_empty());
                if let Some(v) = head
                    && let Some(var) = env.process.find_variable(env.scope, &v.name.local)
                {
                    if matches!(c.expr, Expr::Var(_)) {
                        // `$v` / `$v.part` is the variable itself, whatever its type (a simple
                        // typed one evaluates to an atomic value, which is no location).
                        return variable_target(
                            env,
                            store,
                            var,
                            v.part.as_deref(),
                            None,
                            insert_missing,
                        );
                    }
                    let base = match v.part.as_deref().filter(|p| !p.is_empty()) {
                        Some(p) if matches!(var_type(env, var)?, VarType::MessageType(_)) => {
                            store.ensure_part(env, var, p)
                        }
                        _ => {
                            store.ensure(env, var);
                            Vec::new()
                        }
                    };
                    if let Expr::Path {
                        start: PathStart::Expr(_),
                        steps,
                    } = &c.expr
                    {
                        insert_at = Some((var, base, steps.as_slice()));
                    }
                }
            }
            let found = {
                let trees = Trees::default();
                let v = evaluate(env, store, &trees, *id, &Context::none())?;
                match v {
                    Value::Nodes(n) if n.is_empty() && insert_missing && insert_at.is_some() => {
                        None
                    }
                    Value::Nodes(n) => Some(single_target(&trees, &n, "the to-spec expression")),
                    other => Some(Err(selection_failure(format!(
                        "the to-spec expression yields a {}, not a node",
                        other.type_name()
                    )))),
                }
            };
            if let Some(t) = found {
                return t;
            }
            if let Some((var, base, steps)) = insert_at {
                insert_path(env, store, var, &base, steps, false);
            }
            let trees = Trees::default();
            match evaluate(env, store, &trees, *id, &Context::none())? {
                Value::Nodes(n) => single_target(&trees, &n, "the to-spec expression"),
                other => Err(selection_failure(format!(
                    "the to-spec expression yields a {}, not a node",
                    other.type_name()
                ))),
            }
        }
    }
}

fn variable_target(
    env: &Env<'_>,
    store: &mut Store<'_>,
    var: VariableId,
    part: Option<&str>,
    query: Option<crate::model::ExprId>,
    insert_missing: bool,
) -> Result<Target, Fault> {
    let ty = var_type(env, var)?;
    let part = part.filter(|p| !p.is_empty());
    let base = match (part, ty) {
        (Some(p), VarType::MessageType(_)) => store.ensure_part(env, var, p),
        (Some(p), _) => {
            return Err(selection_failure(format!(
                "variable {} is not a message variable and has no part {p}",
                var_name(env, var)
            )));
        }
        (None, _) => {
            store.ensure(env, var);
            Vec::new()
        }
    };
    let Some(q) = query else {
        if let (VarType::MessageType(mt), None) = (ty, part) {
            return Ok(Target::Message {
                var,
                ty: mt.clone(),
            });
        }
        if let (Some(p), [_]) = (part, base.as_slice())
            && crate::runtime::data::store::part_shape(env, var, p) == PartShape::Header
        {
            return Ok(Target::Accessor { var, path: base });
        }
        return Ok(Target::Node {
            var,
            path: base,
            kind: NodeKind::Element,
        });
    };
    let first = query_target(env, store, var, &base, q)?;
    match first {
        Ok(t) => Ok(t),
        Err(empty_fault) if insert_missing => {
            let decl = expr_decl(env, q)?;
            let Some(Expr::Path { start, steps }) = decl.compiled.as_ref().map(|c| &c.expr) else {
                return Err(empty_fault);
            };
            let absolute = match start {
                PathStart::Context => false,
                PathStart::Root => true,
                PathStart::Expr(_) => return Err(empty_fault),
            };
            if !insert_path(env, store, var, &base, steps, absolute) {
                return Err(empty_fault);
            }
            query_target(env, store, var, &base, q)?
        }
        Err(f) => Err(f),
    }
}

/// Evaluates a to-spec query on the value at `base`: the target, or (inner `Err`) the
/// selection failure of a query that selects nothing, so that the caller may insert it.
fn query_target(
    env: &Env<'_>,
    store: &Store<'_>,
    var: VariableId,
    base: &[usize],
    q: crate::model::ExprId,
) -> Result<Result<Target, Fault>, Fault> {
    let trees = Trees::default();
    let root = store.get(var).ok_or_else(|| uninitialized(env, var))?;
    let node = var_node(&trees, var, root, base)
        .ok_or_else(|| selection_failure("the part has no value"))?;
    match evaluate_query(env, store, &trees, q, node)? {
        Value::Nodes(n) if n.is_empty() => Ok(Err(selection_failure(
            "the to-spec query selects 0 nodes, not one",
        ))),
        Value::Nodes(n) => single_target(&trees, &n, "the to-spec query").map(Ok),
        other => Err(selection_failure(format!(
            "the to-spec query yields a {}, not a node",
            other.type_name()
        ))),
    }
}

/// Creates the nodes a path of plain name steps (`a/p:b/@c`, `child::a`) selects below the
/// element at `base` of `var`, reusing the first existing match of each step (Apache ODE's
/// `insertMissingToData`). An `absolute` path may name the element at `base` first, as a
/// document root's only child. False (nothing changed) for any other path shape.
fn insert_path(
    env: &Env<'_>,
    store: &mut Store<'_>,
    var: VariableId,
    base: &[usize],
    steps: &[crate::xpath::ast::Step],
    absolute: bool,
) -> bool {
    use crate::xpath::ast::{Axis, NodeTest, Step};
    let mut names = Vec::with_capacity(steps.len());
    for (i, s) in steps.iter().enumerate() {
        match s {
            Step::Axis {
                axis: axis @ (Axis::Child | Axis::Attribute),
                test: NodeTest::Name(n),
                predicates,
            } if predicates.is_empty() && (*axis == Axis::Child || i + 1 == steps.len()) => {
                names.push((*axis == Axis::Attribute, n));
            }
            _ => return false,
        }
    }
    let root = store.get_mut(env, var);
    let Some(mut cur) = element_at_mut(root, base) else {
        return false;
    };
    let mut names = names.as_slice();
    if absolute
        && let Some(((false, n), rest)) = names.split_first()
        && n.qname() == cur.name
    {
        names = rest;
    }
    for (attr, n) in names {
        let q = n.qname();
        if *attr {
            if !cur.attrs.iter().any(|a| a.name == q) {
                cur.attrs.push(bpelgate_wsdl::xml::Attr {
                    name: q,
                    prefix: n.prefix.clone(),
                    value: String::new(),
                });
            }
            return true;
        }
        let idx = cur
            .children
            .iter()
            .position(|c| matches!(c, Node::Element(e) if e.name == q));
        let idx = match idx {
            Some(i) => i,
            None => {
                let mut e = Element::new(q);
                e.prefix = n.prefix.clone();
                cur.children.push(Node::Element(e));
                cur.children.len() - 1
            }
        };
        cur = match cur.children.get_mut(idx) {
            Some(Node::Element(e)) => e,
            _ => return false,
        };
    }
    true
}

fn single_target(trees: &Trees, nodes: &[NodeRef<'_>], what: &str) -> Result<Target, Fault> {
    let [node] = nodes else {
        return Err(selection_failure(format!(
            "{what} selects {} nodes, not one",
            nodes.len()
        )));
    };
    let (var, path) = trees
        .locate(node)
        .ok_or_else(|| selection_failure(format!("{what} selects a node outside any variable")))?;
    let kind = match node.kind() {
        NodeKind::Root => NodeKind::Element,
        k => k,
    };
    Ok(Target::Node { var, path, kind })
}

/// Writes `src` to `target` per the replacement rules of §8.4.2.
fn apply(
    env: &Env<'_>,
    store: &mut Store<'_>,
    target: Target,
    src: Src,
    keep_src_name: bool,
) -> Result<(), Fault> {
    let mismatch = |msg: String| Fault::standard("mismatchedAssignmentFailure", msg);
    match target {
        Target::PartnerLink(pl) => {
            store.set_endpoint(pl, endpoint_of(src)?);
            Ok(())
        }
        Target::Message { var, ty } => match src {
            Src::Message { ty: from, value } if from == ty => {
                store.set(var, value);
                Ok(())
            }
            // ode-compat (SA00043): Apache ODE replaces the target's message element with the
            // source's parts, whatever the two types.
            Src::Message { value, .. } if env.process.ode_compat => {
                store.set(var, value);
                Ok(())
            }
            Src::Message { ty: from, .. } => Err(mismatch(format!(
                "cannot copy a message of type {from} to variable {} of type {ty}",
                var_name(env, var)
            ))),
            // A `<message>` element (a literal, or `$msg` through an expression).
            Src::Element(e) if e.name.ns.is_empty() && e.name.local == "message" => {
                store.set(var, e);
                Ok(())
            }
            Src::Element(_) | Src::Text(_) => Err(mismatch(format!(
                "variable {} is a message variable; only a message can be copied to it",
                var_name(env, var)
            ))),
        },
        Target::Accessor { var, path } => {
            let root = store.get_mut(env, var);
            let acc = element_at_mut(root, &path)
                .ok_or_else(|| selection_failure("the to-spec location no longer exists"))?;
            match src {
                Src::Element(e) => acc.children = vec![Node::Element(e)],
                Src::Text(t) => acc.children = vec![Node::Text(t)],
                Src::Message { .. } => {
                    return Err(mismatch(format!(
                        "a whole message cannot be copied into a header of variable {}",
                        var_name(env, var)
                    )));
                }
            }
            Ok(())
        }
        Target::Node { var, path, kind } => {
            if matches!(src, Src::Message { .. }) {
                return Err(mismatch(format!(
                    "a whole message cannot be copied into a node of variable {}",
                    var_name(env, var)
                )));
            }
            let root = store.get_mut(env, var);
            let lost = || selection_failure("the to-spec location no longer exists");
            match kind {
                NodeKind::Element | NodeKind::Root => {
                    let el = element_at_mut(root, &path).ok_or_else(lost)?;
                    replace_element(el, src, keep_src_name);
                }
                NodeKind::Attribute(i) => {
                    let el = element_at_mut(root, &path).ok_or_else(lost)?;
                    let a = el.attrs.get_mut(i).ok_or_else(lost)?;
                    a.value = src.string();
                }
                NodeKind::Text | NodeKind::Comment | NodeKind::ProcessingInstruction => {
                    let (last, parent) = path.split_last().ok_or_else(lost)?;
                    let p = element_at_mut(root, parent).ok_or_else(lost)?;
                    let slot = p.children.get_mut(*last).ok_or_else(lost)?;
                    let s = src.string();
                    *slot = match kind {
                        NodeKind::Comment => Node::Comment(s),
                        NodeKind::ProcessingInstruction => {
                            return Err(selection_failure(
                                "a processing instruction cannot be the target of a copy",
                            ));
                        }
                        _ => Node::Text(s),
                    };
                }
                NodeKind::Namespace(_) => {
                    return Err(selection_failure(
                        "a namespace node cannot be the target of a copy",
                    ));
                }
            }
            Ok(())
        }
    }
}

/// Element target: an element source replaces attributes and children (the target keeps its
/// name unless `keepSrcElementName`); any other source replaces the content with its string.
fn replace_element(el: &mut Element, src: Src, keep_src_name: bool) {
    match src {
        Src::Element(s) => {
            if keep_src_name {
                el.name = s.name;
                el.prefix = s.prefix;
            } else if el.prefix.is_empty() && el.name == s.name {
                // Same element (e.g. a literal copied onto a part skeleton the engine created):
                // keep the author's prefix, so unqualified children need no `xmlns=""`.
                el.prefix = s.prefix;
            }
            for (p, u) in s.ns_decls {
                match el.ns_decls.iter_mut().find(|(q, _)| *q == p) {
                    Some(slot) => slot.1 = u,
                    None => el.ns_decls.push((p, u)),
                }
            }
            el.attrs = s.attrs;
            el.children = s.children;
        }
        other => {
            let s = other.string();
            el.children = if s.is_empty() {
                Vec::new()
            } else {
                vec![Node::Text(s)]
            };
        }
    }
}
