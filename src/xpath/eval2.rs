//! The XPath 2.0 evaluator: the same trees, axes and [`Resolver`] as XPath 1.0, over
//! sequences of items ([`super::xdm`]).
//!
//! The tree is evaluated as compiled; nothing is re-parsed. Numeric literals arrive as
//! doubles from the shared syntax tree, so an integral literal is typed `xs:integer` and
//! any other `xs:decimal` (exact from its shortest decimal form).

use std::cell::{OnceCell, RefCell};

use rust_decimal::Decimal;

use bpelgate_wsdl::xml::QName;

use super::ast::{
    Axis, BinOp, Binding, Expr, ItemType, KindTest, Name, NodeTest, Occurrence, PathStart,
    SequenceType, Step,
};
use super::axes;
use super::datetime::DateTime;
use super::error::{ErrorKind, XPathError};
use super::eval::{Context, Resolver};
use super::functions::{FN_FUNCTIONS, FN_NS, XPATH_DATATYPES_NS, XS_NS};
use super::value::{NodeRef, sort_nodes};
use super::xdm::{
    ArithOp, Atomic, AtomicType, CmpOp, Item, Sequence, TypeRef, arithmetic, atomize,
    compare_atomic, effective_boolean, negate, parse_double, type_by_name, type_mismatch,
};

/// Ranges longer than this are refused rather than materialized.
const MAX_RANGE: i64 = 10_000_000;

/// The focus: context item, position and size.
#[derive(Clone, Debug)]
pub(super) struct Focus<'a> {
    pub(super) item: Option<Item<'a>>,
    pub(super) position: usize,
    pub(super) size: usize,
}

pub(super) struct Eval2<'r, 'a> {
    pub(super) resolver: &'r dyn Resolver<'a>,
    /// Range variables of enclosing `for`/`some`/`every`, innermost last.
    vars: RefCell<Vec<(QName, Sequence<'a>)>>,
    /// `current-dateTime()`, fixed for the whole evaluation (F&O 16.3).
    now: OnceCell<DateTime>,
    pub(super) tz: i16,
}

/// Evaluates a resolved expression tree with XPath 2.0 semantics.
pub fn eval_expr2<'a>(
    e: &Expr,
    ctx: &Context<'a>,
    r: &dyn Resolver<'a>,
) -> Result<Sequence<'a>, XPathError> {
    let ev = Eval2 {
        resolver: r,
        vars: RefCell::new(Vec::new()),
        now: OnceCell::new(),
        tz: r.implicit_timezone(),
    };
    let focus = Focus {
        item: ctx.node.clone().map(Item::Node),
        position: ctx.position,
        size: ctx.size,
    };
    ev.expr(e, &focus)
}

fn at(offset: usize) -> impl Fn(XPathError) -> XPathError {
    move |mut e| {
        if e.offset == 0 {
            e.offset = offset;
        }
        e
    }
}

fn one(b: bool) -> Sequence<'static> {
    vec![Item::Atomic(Atomic::Boolean(b))]
}

/// The literal's type: integral values are `xs:integer`, others `xs:decimal`.
fn number_literal(n: f64) -> Atomic {
    if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
        return Atomic::Integer(n as i64);
    }
    number_to_decimal(n).map_or(Atomic::Double(n), Atomic::Decimal)
}

fn number_to_decimal(n: f64) -> Option<Decimal> {
    super::xdm::parse_decimal(&super::value::number_to_string(n))
}

fn cmp_op(op: BinOp) -> Option<(CmpOp, bool)> {
    Some(match op {
        BinOp::Eq => (CmpOp::Eq, true),
        BinOp::Ne => (CmpOp::Ne, true),
        BinOp::Lt => (CmpOp::Lt, true),
        BinOp::Le => (CmpOp::Le, true),
        BinOp::Gt => (CmpOp::Gt, true),
        BinOp::Ge => (CmpOp::Ge, true),
        BinOp::ValueEq => (CmpOp::Eq, false),
        BinOp::ValueNe => (CmpOp::Ne, false),
        BinOp::ValueLt => (CmpOp::Lt, false),
        BinOp::ValueLe => (CmpOp::Le, false),
        BinOp::ValueGt => (CmpOp::Gt, false),
        BinOp::ValueGe => (CmpOp::Ge, false),
        _ => return None,
    })
}

fn arith_op(op: BinOp) -> Option<ArithOp> {
    Some(match op {
        BinOp::Add => ArithOp::Add,
        BinOp::Sub => ArithOp::Sub,
        BinOp::Mul => ArithOp::Mul,
        BinOp::Div => ArithOp::Div,
        BinOp::IDiv => ArithOp::IDiv,
        BinOp::Mod => ArithOp::Mod,
        _ => return None,
    })
}

/// The type an atomic type name denotes; `xs:` or (leniently) no namespace.
pub(super) fn resolve_type(name: &Name) -> Result<TypeRef, XPathError> {
    let ns = name.ns.as_deref().unwrap_or("");
    let found = if ns == XS_NS || ns.is_empty() {
        type_by_name(&name.local)
    } else {
        None
    };
    found.ok_or_else(|| {
        XPathError::type_error(
            name.offset,
            format!(
                "[XPST0051] {} is not a built-in atomic type",
                name.written()
            ),
        )
    })
}

/// The nodes of a sequence, or a type error naming `what` needed them.
fn nodes_of<'a>(seq: Sequence<'a>, what: &str) -> Result<Vec<NodeRef<'a>>, XPathError> {
    seq.into_iter()
        .map(|i| match i {
            Item::Node(n) => Ok(n),
            Item::Atomic(a) => Err(XPathError::type_error(
                0,
                format!(
                    "[XPTY0019] {what} needs nodes, not a {} value",
                    a.type_name()
                ),
            )),
        })
        .collect()
}

impl<'a> Eval2<'_, 'a> {
    pub(super) fn now(&self) -> DateTime {
        self.now
            .get_or_init(|| DateTime::from_system_time(self.resolver.now(), self.tz))
            .clone()
    }

    pub(super) fn expr(&self, e: &Expr, f: &Focus<'a>) -> Result<Sequence<'a>, XPathError> {
        match e {
            Expr::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, f),
            Expr::Neg(x) => match self.single_atomic(x, f, "unary '-'")? {
                None => Ok(Vec::new()),
                Some(a) => Ok(vec![Item::Atomic(negate(&a)?)]),
            },
            Expr::Plus(x) => match self.single_atomic(x, f, "unary '+'")? {
                None => Ok(Vec::new()),
                Some(Atomic::Untyped(s)) => Ok(vec![Item::Atomic(Atomic::Double(
                    parse_double(&s)
                        .ok_or_else(|| super::xdm::invalid_value(&format!("\"{s}\""), "double"))?,
                ))]),
                Some(a) if a.is_numeric() => Ok(vec![Item::Atomic(a)]),
                Some(a) => Err(type_mismatch(format!(
                    "unary '+' is not defined on {}",
                    a.type_name()
                ))),
            },
            Expr::Literal(s) => Ok(vec![Item::Atomic(Atomic::String(s.clone()))]),
            Expr::Number(n) => Ok(vec![Item::Atomic(number_literal(*n))]),
            Expr::Var(v) => {
                let q = v.name.qname();
                if v.part.is_none()
                    && let Some(seq) = self
                        .vars
                        .borrow()
                        .iter()
                        .rev()
                        .find(|(n, _)| *n == q)
                        .map(|(_, s)| s.clone())
                {
                    return Ok(seq);
                }
                self.resolver
                    .variable_seq(&q, v.part.as_deref())
                    .map_err(at(v.name.offset))
            }
            Expr::Call { name, args } => self.call(name, args, f),
            Expr::Filter {
                primary,
                predicates,
            } => {
                let mut items = self.expr(primary, f)?;
                for p in predicates {
                    items = self.filter(items, p)?;
                }
                Ok(items)
            }
            Expr::Path { start, steps } => self.path(start, steps, f),
            Expr::ContextItem => Ok(vec![self.context_item(f, "'.'")?]),
            Expr::Sequence(items) => {
                let mut out = Vec::new();
                for i in items {
                    out.extend(self.expr(i, f)?);
                }
                Ok(out)
            }
            Expr::If { cond, then, els } => {
                if effective_boolean(&self.expr(cond, f)?)? {
                    self.expr(then, f)
                } else {
                    self.expr(els, f)
                }
            }
            Expr::For { bindings, ret } => {
                let mut out = Vec::new();
                self.for_loop(bindings, ret, f, &mut out)?;
                Ok(out)
            }
            Expr::Quantified {
                every,
                bindings,
                satisfies,
            } => Ok(one(self.quantified(*every, bindings, satisfies, f)?)),
            Expr::InstanceOf(x, t) => {
                let seq = self.expr(x, f)?;
                Ok(one(self.matches_type(&seq, t)?))
            }
            Expr::TreatAs(x, t) => {
                let seq = self.expr(x, f)?;
                if self.matches_type(&seq, t)? {
                    Ok(seq)
                } else {
                    Err(XPathError::type_error(
                        0,
                        "[XPDY0050] the value does not match the type of 'treat as'",
                    ))
                }
            }
            Expr::CastAs(x, name, optional) => {
                let t = resolve_type(name)?;
                match self.single_atomic(x, f, "'cast as'")? {
                    None if *optional => Ok(Vec::new()),
                    None => Err(type_mismatch("'cast as' of an empty sequence")),
                    Some(a) => Ok(vec![Item::Atomic(a.cast(&t).map_err(at(name.offset))?)]),
                }
            }
            Expr::CastableAs(x, name, optional) => {
                let t = resolve_type(name)?;
                let seq = atomize(&self.expr(x, f)?);
                Ok(one(match seq.as_slice() {
                    [] => *optional,
                    [a] => a.cast(&t).is_ok(),
                    _ => false,
                }))
            }
        }
    }

    pub(super) fn context_item(&self, f: &Focus<'a>, what: &str) -> Result<Item<'a>, XPathError> {
        f.item.clone().ok_or_else(|| {
            XPathError::dynamic(
                0,
                format!("[XPDY0002] {what} needs a context item, and this expression has none"),
            )
        })
    }

    /// Atomizes `e`'s value: empty, or exactly one atomic value.
    fn single_atomic(
        &self,
        e: &Expr,
        f: &Focus<'a>,
        what: &str,
    ) -> Result<Option<Atomic>, XPathError> {
        let seq = self.expr(e, f)?;
        match seq.as_slice() {
            [] => Ok(None),
            [i] => Ok(Some(i.atomize())),
            _ => Err(type_mismatch(format!(
                "an operand of {what} is a sequence of {} items; one is allowed",
                seq.len()
            ))),
        }
    }

    fn single_node(
        &self,
        e: &Expr,
        f: &Focus<'a>,
        what: &str,
    ) -> Result<Option<NodeRef<'a>>, XPathError> {
        let seq = self.expr(e, f)?;
        match seq.len() {
            0 => Ok(None),
            1 => Ok(nodes_of(seq, what)?.into_iter().next()),
            n => Err(type_mismatch(format!(
                "an operand of {what} is a sequence of {n} items; one node is allowed"
            ))),
        }
    }

    fn binary(
        &self,
        op: BinOp,
        lhs: &Expr,
        rhs: &Expr,
        f: &Focus<'a>,
    ) -> Result<Sequence<'a>, XPathError> {
        if let Some((cmp, general)) = cmp_op(op) {
            if general {
                let a = atomize(&self.expr(lhs, f)?);
                let b = atomize(&self.expr(rhs, f)?);
                return Ok(one(self.general_compare(cmp, &a, &b)?));
            }
            let what = format!("'{}'", op.symbol());
            let (Some(a), Some(b)) = (
                self.single_atomic(lhs, f, &what)?,
                self.single_atomic(rhs, f, &what)?,
            ) else {
                return Ok(Vec::new());
            };
            let untyped = |x: Atomic| match x {
                Atomic::Untyped(s) => Atomic::String(s),
                x => x,
            };
            let o = compare_atomic(&untyped(a), &untyped(b), cmp, self.tz)?;
            return Ok(one(cmp.holds(o)));
        }
        if let Some(aop) = arith_op(op) {
            let what = format!("'{}'", op.symbol());
            let (Some(a), Some(b)) = (
                self.single_atomic(lhs, f, &what)?,
                self.single_atomic(rhs, f, &what)?,
            ) else {
                return Ok(Vec::new());
            };
            return Ok(vec![Item::Atomic(arithmetic(aop, &a, &b, self.tz)?)]);
        }
        match op {
            BinOp::Or => {
                Ok(one(effective_boolean(&self.expr(lhs, f)?)?
                    || effective_boolean(&self.expr(rhs, f)?)?))
            }
            BinOp::And => {
                Ok(one(effective_boolean(&self.expr(lhs, f)?)?
                    && effective_boolean(&self.expr(rhs, f)?)?))
            }
            BinOp::Is | BinOp::Precedes | BinOp::Follows => {
                let what = format!("'{}'", op.symbol());
                let (Some(a), Some(b)) = (
                    self.single_node(lhs, f, &what)?,
                    self.single_node(rhs, f, &what)?,
                ) else {
                    return Ok(Vec::new());
                };
                Ok(one(match op {
                    BinOp::Is => a == b,
                    BinOp::Precedes => a < b,
                    _ => a > b,
                }))
            }
            BinOp::To => {
                let (Some(a), Some(b)) = (
                    self.single_atomic(lhs, f, "'to'")?,
                    self.single_atomic(rhs, f, "'to'")?,
                ) else {
                    return Ok(Vec::new());
                };
                let int = |x: Atomic| -> Result<i64, XPathError> {
                    match x {
                        Atomic::Integer(i) => Ok(i),
                        Atomic::Untyped(s) => super::xdm::parse_integer(&s),
                        other => Err(type_mismatch(format!(
                            "'to' needs integers, not {}",
                            other.type_name()
                        ))),
                    }
                };
                let (lo, hi) = (int(a)?, int(b)?);
                if lo > hi {
                    return Ok(Vec::new());
                }
                if hi.saturating_sub(lo) >= MAX_RANGE {
                    return Err(XPathError::dynamic(
                        0,
                        format!("the range {lo} to {hi} is too long to evaluate"),
                    ));
                }
                Ok((lo..=hi)
                    .map(|i| Item::Atomic(Atomic::Integer(i)))
                    .collect())
            }
            BinOp::Union | BinOp::Intersect | BinOp::Except => {
                let what = format!("'{}'", op.symbol());
                let mut a = nodes_of(self.expr(lhs, f)?, &what)?;
                let mut b = nodes_of(self.expr(rhs, f)?, &what)?;
                match op {
                    BinOp::Union => a.extend(b),
                    _ => {
                        sort_nodes(&mut b);
                        let keep = op == BinOp::Intersect;
                        a.retain(|n| b.binary_search(n).is_ok() == keep);
                    }
                }
                sort_nodes(&mut a);
                Ok(a.into_iter().map(Item::Node).collect())
            }
            _ => Err(XPathError::unsupported(
                0,
                format!("operator '{}'", op.symbol()),
            )),
        }
    }

    /// Compares one pair of a general comparison: an untyped value takes the other side's
    /// type (a double against a number, a string against untyped or a string).
    fn general_pair(&self, op: CmpOp, x: &Atomic, y: &Atomic) -> Result<bool, XPathError> {
        let convert = |u: &str, other: &Atomic| -> Result<Atomic, XPathError> {
            if other.is_numeric() {
                parse_double(u)
                    .map(Atomic::Double)
                    .ok_or_else(|| super::xdm::invalid_value(&format!("\"{u}\""), "double"))
            } else if other.is_stringlike() {
                Ok(Atomic::String(u.to_owned()))
            } else {
                let t = type_ref_of(other.type_of());
                Atomic::Untyped(u.to_owned()).cast(&t)
            }
        };
        let (a, b) = match (x, y) {
            (Atomic::Untyped(u), other) => (convert(u, other)?, other.clone()),
            (other, Atomic::Untyped(u)) => (other.clone(), convert(u, other)?),
            _ => (x.clone(), y.clone()),
        };
        Ok(op.holds(compare_atomic(&a, &b, op, self.tz)?))
    }

    pub(super) fn general_compare(
        &self,
        op: CmpOp,
        a: &[Atomic],
        b: &[Atomic],
    ) -> Result<bool, XPathError> {
        for x in a {
            for y in b {
                if self.general_pair(op, x, y)? {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    fn for_loop(
        &self,
        bindings: &[Binding],
        ret: &Expr,
        f: &Focus<'a>,
        out: &mut Sequence<'a>,
    ) -> Result<(), XPathError> {
        let Some((first, rest)) = bindings.split_first() else {
            out.extend(self.expr(ret, f)?);
            return Ok(());
        };
        let seq = self.expr(&first.seq, f)?;
        let name = first.var.qname();
        for item in seq {
            self.vars.borrow_mut().push((name.clone(), vec![item]));
            let r = self.for_loop(rest, ret, f, out);
            self.vars.borrow_mut().pop();
            r?;
        }
        Ok(())
    }

    fn quantified(
        &self,
        every: bool,
        bindings: &[Binding],
        test: &Expr,
        f: &Focus<'a>,
    ) -> Result<bool, XPathError> {
        let Some((first, rest)) = bindings.split_first() else {
            return effective_boolean(&self.expr(test, f)?);
        };
        let seq = self.expr(&first.seq, f)?;
        let name = first.var.qname();
        for item in seq {
            self.vars.borrow_mut().push((name.clone(), vec![item]));
            let r = self.quantified(every, rest, test, f);
            self.vars.borrow_mut().pop();
            // `some` stops at the first true, `every` at the first false.
            if r? != every {
                return Ok(!every);
            }
        }
        Ok(every)
    }

    fn matches_type(&self, seq: &[Item<'a>], t: &SequenceType) -> Result<bool, XPathError> {
        let (item_type, occ) = match t {
            SequenceType::Empty => return Ok(seq.is_empty()),
            SequenceType::Items(i, o) => (i, *o),
        };
        let count_ok = match occ {
            Occurrence::One => seq.len() == 1,
            Occurrence::ZeroOrOne => seq.len() <= 1,
            Occurrence::ZeroOrMore => true,
            Occurrence::OneOrMore => !seq.is_empty(),
        };
        if !count_ok {
            return Ok(false);
        }
        let atomic_type = match item_type {
            ItemType::Atomic(n) => Some(resolve_type(n)?),
            _ => None,
        };
        Ok(seq.iter().all(|i| match (item_type, i) {
            (ItemType::Item, _) => true,
            (ItemType::Atomic(_), Item::Atomic(a)) => {
                atomic_type.is_some_and(|t| a.instance_of(&t))
            }
            (ItemType::Kind(k), Item::Node(n)) => {
                n.data().is_some_and(|d| axes::kind_matches(k, &d))
            }
            _ => false,
        }))
    }

    fn path(
        &self,
        start: &PathStart,
        steps: &[Step],
        f: &Focus<'a>,
    ) -> Result<Sequence<'a>, XPathError> {
        let mut cur: Sequence<'a> = match start {
            PathStart::Context => vec![self.context_item(f, "a relative path")?],
            PathStart::Root => match self.context_item(f, "'/'")? {
                Item::Node(n) => vec![Item::Node(NodeRef::document(n.tree().clone()))],
                Item::Atomic(_) => {
                    return Err(XPathError::type_error(
                        0,
                        "[XPDY0050] '/' needs a node as the context item",
                    ));
                }
            },
            PathStart::Expr(e) => self.expr(e, f)?,
        };
        let mut i = 0;
        while i < steps.len() && !cur.is_empty() {
            let nodes = nodes_of(cur, "a path step")?;
            // `//name` selects exactly `descendant::name` when neither step has predicates.
            if let (
                Step::Axis {
                    axis: Axis::DescendantOrSelf,
                    test: NodeTest::Kind(KindTest::AnyNode),
                    predicates: first,
                },
                Some(Step::Axis {
                    axis: Axis::Child,
                    test,
                    predicates: second,
                }),
            ) = (&steps[i], steps.get(i + 1))
                && first.is_empty()
                && second.is_empty()
            {
                cur = self.axis_step(&nodes, Axis::Descendant, test, &[])?;
                i += 2;
                continue;
            }
            cur = match &steps[i] {
                Step::Axis {
                    axis,
                    test,
                    predicates,
                } => self.axis_step(&nodes, *axis, test, predicates)?,
                Step::Filter(e) => self.filter_step(nodes, e)?,
            };
            i += 1;
        }
        Ok(cur)
    }

    fn axis_step(
        &self,
        from: &[NodeRef<'a>],
        axis: Axis,
        test: &NodeTest,
        predicates: &[Expr],
    ) -> Result<Sequence<'a>, XPathError> {
        let mut out: Vec<NodeRef<'a>> = Vec::new();
        for n in from {
            let found = axes::select(n, axis, test);
            if predicates.is_empty() {
                out.extend(found);
                continue;
            }
            let mut items: Sequence<'a> = found.into_iter().map(Item::Node).collect();
            for p in predicates {
                if items.is_empty() {
                    break;
                }
                items = self.filter(items, p)?;
            }
            out.extend(items.into_iter().filter_map(|i| match i {
                Item::Node(n) => Some(n),
                Item::Atomic(_) => None,
            }));
        }
        // Axis order is reverse document order for reverse axes; a step's result is
        // always in document order.
        sort_nodes(&mut out);
        Ok(out.into_iter().map(Item::Node).collect())
    }

    /// `E1/E2` where `E2` is not an axis step: evaluated once per node of `E1`.
    fn filter_step(&self, from: Vec<NodeRef<'a>>, e: &Expr) -> Result<Sequence<'a>, XPathError> {
        let size = from.len();
        let mut out = Vec::new();
        for (i, n) in from.into_iter().enumerate() {
            let focus = Focus {
                item: Some(Item::Node(n)),
                position: i + 1,
                size,
            };
            out.extend(self.expr(e, &focus)?);
        }
        let nodes = out.iter().filter(|i| matches!(i, Item::Node(_))).count();
        if nodes == out.len() {
            let mut n = nodes_of(out, "a path step")?;
            sort_nodes(&mut n);
            Ok(n.into_iter().map(Item::Node).collect())
        } else if nodes == 0 {
            Ok(out)
        } else {
            Err(XPathError::type_error(
                0,
                "[XPTY0018] the last step of a path yields both nodes and atomic values",
            ))
        }
    }

    /// Keeps the items for which `pred` holds: a number is compared with the position,
    /// anything else taken by its effective boolean value.
    fn filter(&self, items: Sequence<'a>, pred: &Expr) -> Result<Sequence<'a>, XPathError> {
        let size = items.len();
        if let Expr::Number(n) = pred {
            let wanted = n.fract() == 0.0 && *n >= 1.0 && *n <= size as f64;
            return Ok(if wanted {
                items.into_iter().nth(*n as usize - 1).into_iter().collect()
            } else {
                Vec::new()
            });
        }
        let mut out = Vec::new();
        for (i, item) in items.into_iter().enumerate() {
            let focus = Focus {
                item: Some(item),
                position: i + 1,
                size,
            };
            let r = self.expr(pred, &focus)?;
            let keep = match r.as_slice() {
                [Item::Atomic(a)] if a.is_numeric() => a.to_double() == (i + 1) as f64,
                _ => effective_boolean(&r)?,
            };
            if keep && let Some(item) = focus.item {
                out.push(item);
            }
        }
        Ok(out)
    }

    fn call(&self, name: &Name, args: &[Expr], f: &Focus<'a>) -> Result<Sequence<'a>, XPathError> {
        let mut values = Vec::with_capacity(args.len());
        for a in args {
            values.push(self.expr(a, f)?);
        }
        let ns = name.ns.as_deref().unwrap_or("");
        let local = name.local.as_str();
        if (ns.is_empty() || ns == FN_NS) && FN_FUNCTIONS.iter().any(|s| s.name == local) {
            return self.builtin(local, values, f).map_err(at(name.offset));
        }
        let constructor = match ns {
            XS_NS => type_by_name(local).filter(|t| t.base != AtomicType::AnyAtomic),
            XPATH_DATATYPES_NS => type_by_name(local).filter(|t| {
                matches!(
                    t.base,
                    AtomicType::DayTimeDuration | AtomicType::YearMonthDuration
                )
            }),
            _ => None,
        };
        if let Some(t) = constructor {
            let mut values = values.into_iter();
            let arg = atomize(&values.next().unwrap_or_default());
            return match arg.as_slice() {
                [] => Ok(Vec::new()),
                [a] => Ok(vec![Item::Atomic(a.cast(&t).map_err(at(name.offset))?)]),
                _ => Err(XPathError::type_error(
                    name.offset,
                    format!(
                        "[XPTY0004] {}() takes one atomic value, not {}",
                        name.written(),
                        arg.len()
                    ),
                )),
            };
        }
        match self.resolver.function_seq(&name.qname(), values) {
            Some(result) => result.map_err(at(name.offset)),
            None => Err(XPathError::new(
                ErrorKind::UnknownFunction,
                name.offset,
                format!("function {}() is not available", name.written()),
            )),
        }
    }
}

/// The cast target of a primitive type.
pub(super) fn type_ref_of(t: AtomicType) -> TypeRef {
    let name = match t {
        AtomicType::AnyAtomic => "anyAtomicType",
        AtomicType::String => "string",
        AtomicType::Untyped => "untypedAtomic",
        AtomicType::AnyUri => "anyURI",
        AtomicType::Boolean => "boolean",
        AtomicType::Integer => "integer",
        AtomicType::Decimal => "decimal",
        AtomicType::Float => "float",
        AtomicType::Double => "double",
        AtomicType::DateTime => "dateTime",
        AtomicType::Date => "date",
        AtomicType::Time => "time",
        AtomicType::Duration => "duration",
        AtomicType::YearMonthDuration => "yearMonthDuration",
        AtomicType::DayTimeDuration => "dayTimeDuration",
        AtomicType::QName => "QName",
        AtomicType::GYear => "gYear",
        AtomicType::GYearMonth => "gYearMonth",
        AtomicType::GMonth => "gMonth",
        AtomicType::GMonthDay => "gMonthDay",
        AtomicType::GDay => "gDay",
        AtomicType::HexBinary => "hexBinary",
        AtomicType::Base64Binary => "base64Binary",
    };
    type_by_name(name).unwrap_or(TypeRef {
        base: t,
        facet: super::xdm::Facet::None,
        name,
    })
}
