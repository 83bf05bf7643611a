//! XSLT patterns: parsed with the XPath parser (a pattern is a restricted expression), then
//! matched from the last step towards the root.

use crate::xpath::ast::{Axis, Expr, KindTest, NodeTest, PathStart, Step};
use crate::xpath::{Context, NodeData, NodeKind, NodeRef, Resolver, Value, eval_expr};

use super::compile::compile_expr;

/// How a pattern's first step is anchored.
#[derive(Clone, Debug)]
enum Start {
    /// A relative pattern: the first step may be anywhere.
    Anywhere,
    /// `/…`: the first step's parent (or an ancestor, after `//`) is the root node.
    Root,
    /// `id(…)`/`key(…)`: the first step's parent (or an ancestor) is one of the call's nodes.
    Call(Expr),
}

/// One step: an axis (child or attribute), a node test, predicates; `deep` when it follows `//`.
#[derive(Clone, Debug)]
struct PStep {
    deep: bool,
    axis: Axis,
    test: NodeTest,
    /// `child::test[preds]` (or `attribute::…`) as an expression to evaluate from the parent,
    /// when the step has predicates (positions depend on the siblings).
    from_parent: Option<Expr>,
}

/// One alternative of a pattern (the parts of a `|` union).
#[derive(Clone, Debug)]
struct Alt {
    start: Start,
    steps: Vec<PStep>,
}

/// A compiled pattern: a union of alternatives.
#[derive(Clone, Debug)]
pub(crate) struct Pattern {
    alts: Vec<Alt>,
}

fn flatten_union(e: Expr, out: &mut Vec<Expr>) {
    match e {
        Expr::Binary {
            op: crate::xpath::ast::BinOp::Union,
            lhs,
            rhs,
        } => {
            flatten_union(*lhs, out);
            flatten_union(*rhs, out);
        }
        e => out.push(e),
    }
}

fn is_id_or_key(e: &Expr) -> bool {
    match e {
        Expr::Call { name, args } => {
            name.ns.as_deref().unwrap_or("").is_empty()
                && ((name.local == "id" && args.len() == 1)
                    || (name.local == "key" && args.len() == 3))
                && args
                    .iter()
                    .take(2)
                    .all(|a| matches!(a, Expr::Literal(_)) || name.local == "key")
        }
        _ => false,
    }
}

impl Pattern {
    /// Compiles pattern `text` with namespaces `ns`.
    pub(crate) fn compile(text: &str, ns: &[(String, String)]) -> Result<Pattern, String> {
        let e = compile_expr(text, ns)?;
        let mut parts = Vec::new();
        flatten_union(e, &mut parts);
        let mut alts = Vec::new();
        for p in parts {
            alts.push(alt(p).map_err(|m| format!("'{text}' is not a valid pattern: {m}"))?);
        }
        Ok(Pattern { alts })
    }

    /// Each alternative as its own pattern, with its default priority.
    pub(crate) fn alternatives(self) -> Vec<(Pattern, f64)> {
        self.alts
            .into_iter()
            .map(|a| {
                let p = default_priority(&a);
                (Pattern { alts: vec![a] }, p)
            })
            .collect()
    }

    /// True when `node` matches the pattern.
    pub(crate) fn matches<'a>(
        &self,
        node: &NodeRef<'a>,
        r: &dyn Resolver<'a>,
    ) -> Result<bool, crate::xpath::XPathError> {
        for a in &self.alts {
            if match_alt(a, node, r)? {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

fn alt(e: Expr) -> Result<Alt, String> {
    match e {
        Expr::Path { start, steps } => {
            let start = match start {
                PathStart::Context => Start::Anywhere,
                PathStart::Root => Start::Root,
                PathStart::Expr(x) if is_id_or_key(&x) => Start::Call(*x),
                PathStart::Expr(_) => {
                    return Err("only id() or key() may start a pattern".to_owned());
                }
            };
            let mut out = Vec::new();
            let mut deep = false;
            for s in steps {
                let Step::Axis {
                    axis,
                    test,
                    predicates,
                } = s
                else {
                    return Err("a step is not an axis step".to_owned());
                };
                if axis == Axis::DescendantOrSelf
                    && test == NodeTest::Kind(KindTest::AnyNode)
                    && predicates.is_empty()
                {
                    if deep {
                        return Err("'///' is not a pattern".to_owned());
                    }
                    deep = true;
                    continue;
                }
                if !matches!(axis, Axis::Child | Axis::Attribute) {
                    return Err("patterns may only use the child and attribute axes".to_owned());
                }
                let from_parent = (!predicates.is_empty()).then(|| Expr::Path {
                    start: PathStart::Context,
                    steps: vec![Step::Axis {
                        axis,
                        test: test.clone(),
                        predicates,
                    }],
                });
                out.push(PStep {
                    deep,
                    axis,
                    test,
                    from_parent,
                });
                deep = false;
            }
            if deep {
                return Err("a pattern cannot end with '//'".to_owned());
            }
            if out.is_empty() && !matches!(start, Start::Root) {
                return Err("a pattern needs a step".to_owned());
            }
            Ok(Alt { start, steps: out })
        }
        e if is_id_or_key(&e) => Ok(Alt {
            start: Start::Call(e),
            steps: Vec::new(),
        }),
        _ => Err("not a location path pattern".to_owned()),
    }
}

/// XSLT 1.0 section 5.5 default priorities.
fn default_priority(a: &Alt) -> f64 {
    if !matches!(a.start, Start::Anywhere) || a.steps.len() != 1 {
        return 0.5;
    }
    let s = &a.steps[0];
    if s.from_parent.is_some() {
        return 0.5;
    }
    match &s.test {
        NodeTest::Name(_) | NodeTest::Kind(KindTest::Pi(Some(_))) => 0.0,
        NodeTest::Namespace(_) | NodeTest::LocalName(_) => -0.25,
        NodeTest::Any | NodeTest::Kind(_) => -0.5,
    }
}

fn ns_of(n: &crate::xpath::Name) -> &str {
    n.ns.as_deref().unwrap_or("")
}

/// The node test of a child or attribute step against `d`.
pub(crate) fn test_matches(axis: Axis, test: &NodeTest, d: &NodeData<'_>) -> bool {
    let principal = match axis {
        Axis::Attribute => matches!(d, NodeData::Attribute(_)),
        _ => matches!(d, NodeData::Element(_)),
    };
    let name = match d {
        NodeData::Element(e) => Some(&e.name),
        NodeData::Attribute(a) => Some(&a.name),
        _ => None,
    };
    match test {
        NodeTest::Any => principal,
        NodeTest::Namespace(n) => principal && name.is_some_and(|q| q.ns == ns_of(n)),
        NodeTest::LocalName(l) => principal && name.is_some_and(|q| q.local == *l),
        NodeTest::Name(n) => principal && name.is_some_and(|q| q.is(ns_of(n), &n.local)),
        NodeTest::Kind(k) => match k {
            KindTest::AnyNode => true,
            KindTest::Text => matches!(d, NodeData::Text(_)),
            KindTest::Comment => matches!(d, NodeData::Comment(_)),
            KindTest::Pi(target) => match d {
                NodeData::ProcessingInstruction(p) => target
                    .as_deref()
                    .is_none_or(|t| crate::xpath::value::pi_parts(p).0 == t),
                _ => false,
            },
            _ => false,
        },
    }
}

fn on_axis(axis: Axis, kind: NodeKind) -> bool {
    match axis {
        Axis::Attribute => matches!(kind, NodeKind::Attribute(_)),
        _ => matches!(
            kind,
            NodeKind::Element
                | NodeKind::Text
                | NodeKind::Comment
                | NodeKind::ProcessingInstruction
        ),
    }
}

fn match_alt<'a>(
    a: &Alt,
    node: &NodeRef<'a>,
    r: &dyn Resolver<'a>,
) -> Result<bool, crate::xpath::XPathError> {
    if a.steps.is_empty() {
        return match &a.start {
            Start::Root => Ok(node.kind() == NodeKind::Root),
            Start::Call(e) => in_call(e, node, false, r),
            Start::Anywhere => Ok(false),
        };
    }
    match_step(a, a.steps.len() - 1, node, r)
}

fn match_step<'a>(
    a: &Alt,
    i: usize,
    node: &NodeRef<'a>,
    r: &dyn Resolver<'a>,
) -> Result<bool, crate::xpath::XPathError> {
    let step = &a.steps[i];
    if !on_axis(step.axis, node.kind()) {
        return Ok(false);
    }
    let Some(d) = node.data() else {
        return Ok(false);
    };
    if !test_matches(step.axis, &step.test, &d) {
        return Ok(false);
    }
    let Some(parent) = node.parent() else {
        return Ok(false);
    };
    if let Some(sel) = &step.from_parent {
        let ctx = Context::at(parent.clone());
        match eval_expr(sel, &ctx, r)? {
            Value::Nodes(ns) if ns.contains(node) => {}
            _ => return Ok(false),
        }
    }
    if i == 0 {
        return match &a.start {
            Start::Anywhere => Ok(true),
            Start::Root => Ok(step.deep || parent.kind() == NodeKind::Root),
            Start::Call(e) => in_call(e, &parent, step.deep, r),
        };
    }
    if !step.deep {
        return match_step(a, i - 1, &parent, r);
    }
    let mut cur = Some(parent);
    while let Some(p) = cur {
        if match_step(a, i - 1, &p, r)? {
            return Ok(true);
        }
        cur = p.parent();
    }
    Ok(false)
}

/// True when `node` (or, when `deep`, one of its ancestors-or-self) is selected by `call`.
fn in_call<'a>(
    call: &Expr,
    node: &NodeRef<'a>,
    deep: bool,
    r: &dyn Resolver<'a>,
) -> Result<bool, crate::xpath::XPathError> {
    let ctx = Context::at(node.clone());
    let Value::Nodes(set) = eval_expr(call, &ctx, r)? else {
        return Ok(false);
    };
    if !deep {
        return Ok(set.contains(node));
    }
    let mut cur = Some(node.clone());
    while let Some(p) = cur {
        if set.contains(&p) {
            return Ok(true);
        }
        cur = p.parent();
    }
    Ok(false)
}
