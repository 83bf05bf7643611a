//! The XPath 1.0 evaluator over `bpelgate_wsdl::xml` trees, and the entry points that
//! evaluate a [`Compiled`] expression of either language.
//!
//! Variables, non-core functions and the clock come from a [`Resolver`] the runtime
//! implements, so the layer knows nothing of BPEL instances. Evaluation does no I/O.

use std::time::SystemTime;

use bpelgate_wsdl::xml::QName;

use super::ast::{Axis, BinOp, Expr, KindTest, Language, Name, NodeTest, PathStart, Step};
use super::axes;
use super::compile::Compiled;
use super::error::{ErrorKind, XPathError};
use super::eval2::eval_expr2;
use super::fns_core;
use super::value::{NodeRef, Value, sort_nodes, string_to_number};
use super::xdm::{
    Atomic, Item, Sequence, effective_boolean, sequence_to_value, type_mismatch, value_to_sequence,
};

/// What an expression can see beyond its own text: variables and extension functions.
///
/// `'a` is the lifetime of the trees the resolver hands out, so a resolver that borrows the
/// instance state returns node-sets borrowing that state, independent of the resolver itself.
pub trait Resolver<'a> {
    /// The value of `$name`, or of `$name.part` (BPEL message parts). Return
    /// [`XPathError::uninitialized`] for a variable or part without a value.
    fn variable(&self, name: &QName, part: Option<&str>) -> Result<Value<'a>, XPathError>;

    /// Calls a function outside the XPath 1.0 core library (`bpel:getVariableProperty`,
    /// `bpel:doXslTransform`, ODE extensions); `None` when the resolver does not provide it.
    fn function(
        &self,
        name: &QName,
        args: Vec<Value<'a>>,
    ) -> Option<Result<Value<'a>, XPathError>> {
        let _ = (name, args);
        None
    }

    /// The value of a variable for XPath 2.0. The default converts [`Resolver::variable`]:
    /// a node-set becomes its nodes, a string `xs:untypedAtomic` (so it casts like the text
    /// of a node), a number `xs:double`, a boolean `xs:boolean`. Override to hand out typed
    /// atomic values.
    fn variable_seq(&self, name: &QName, part: Option<&str>) -> Result<Sequence<'a>, XPathError> {
        self.variable(name, part).map(value_to_sequence)
    }

    /// Calls an extension function from XPath 2.0. The default converts each argument with
    /// [`sequence_to_value`], calls [`Resolver::function`] and converts the result as
    /// [`Resolver::variable_seq`] does, so one implementation serves both languages.
    fn function_seq(
        &self,
        name: &QName,
        args: Vec<Sequence<'a>>,
    ) -> Option<Result<Sequence<'a>, XPathError>> {
        let mut values = Vec::with_capacity(args.len());
        for a in args {
            match sequence_to_value(a) {
                Ok(v) => values.push(v),
                Err(e) => return Some(Err(e)),
            }
        }
        self.function(name, values)
            .map(|r| r.map(value_to_sequence))
    }

    /// The current instant for `fn:current-dateTime()` and friends, read once per
    /// evaluation. The default reads the system clock; the engine overrides it to give
    /// every expression of a step the same "now" (and tests a fixed one).
    #[allow(clippy::disallowed_methods)] // standalone use; the engine injects its clock
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    /// The implicit timezone, in minutes east of UTC: the timezone of `current-dateTime()`
    /// and of values without one in comparisons. The default is UTC.
    fn implicit_timezone(&self) -> i16 {
        0
    }
}

/// A resolver with no variables and no extension functions.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoBindings;

impl<'a> Resolver<'a> for NoBindings {
    fn variable(&self, name: &QName, part: Option<&str>) -> Result<Value<'a>, XPathError> {
        let part = part.map(|p| format!(".{p}")).unwrap_or_default();
        Err(XPathError::uninitialized(format!(
            "variable ${}{part} is not bound",
            name.local
        )))
    }
}

/// The evaluation context: the context node (absent for most BPEL expressions), its
/// position and the context size.
#[derive(Clone, Debug)]
pub struct Context<'a> {
    /// The context node; relative paths and context functions fail without one.
    pub node: Option<NodeRef<'a>>,
    /// The context position (1-based).
    pub position: usize,
    /// The context size.
    pub size: usize,
}

impl Default for Context<'_> {
    fn default() -> Self {
        Context::none()
    }
}

impl<'a> Context<'a> {
    /// No context node: what BPEL expressions (conditions, `<from>` expressions) get.
    pub fn none() -> Self {
        Context {
            node: None,
            position: 1,
            size: 1,
        }
    }

    /// `node` as the context node at position 1 of 1: what BPEL queries get.
    pub fn at(node: NodeRef<'a>) -> Self {
        Context {
            node: Some(node),
            position: 1,
            size: 1,
        }
    }

    /// The context node, or a dynamic error saying what needed it.
    pub(super) fn require_node(
        &self,
        what: &str,
        offset: usize,
    ) -> Result<&NodeRef<'a>, XPathError> {
        self.node.as_ref().ok_or_else(|| {
            XPathError::dynamic(
                offset,
                format!("{what} needs a context node, and this expression has none"),
            )
        })
    }
}

/// Evaluates a compiled expression of either language: the one entry point for the
/// engine. An XPath 2.0 result is converted with [`sequence_to_value`]: nodes to a node-set,
/// one boolean or number to itself, another atomic value to its string.
pub fn eval<'a>(
    c: &Compiled,
    ctx: &Context<'a>,
    r: &dyn Resolver<'a>,
) -> Result<Value<'a>, XPathError> {
    match c.lang {
        Language::XPath1 => eval_expr(&c.expr, ctx, r),
        Language::XPath2 => sequence_to_value(eval_expr2(&c.expr, ctx, r)?),
    }
}

/// Evaluates a compiled expression of either language to an XPath 2.0 sequence, for callers
/// that want typed atomic values. An XPath 1.0 result converts as one would expect: a
/// node-set to its nodes, a string to `xs:string`, a number to `xs:double`.
pub fn eval_sequence<'a>(
    c: &Compiled,
    ctx: &Context<'a>,
    r: &dyn Resolver<'a>,
) -> Result<Sequence<'a>, XPathError> {
    match c.lang {
        Language::XPath1 => Ok(match eval_expr(&c.expr, ctx, r)? {
            Value::String(s) => vec![Item::Atomic(Atomic::String(s))],
            v => value_to_sequence(v),
        }),
        Language::XPath2 => eval_expr2(&c.expr, ctx, r),
    }
}

/// Evaluates a resolved expression tree with XPath 1.0 semantics.
pub fn eval_expr<'a>(
    e: &Expr,
    ctx: &Context<'a>,
    r: &dyn Resolver<'a>,
) -> Result<Value<'a>, XPathError> {
    Evaluator { resolver: r }.expr(e, ctx)
}

/// Evaluates and converts with `boolean()` (BPEL conditions); XPath 2.0 takes the
/// effective boolean value, which is an error for e.g. a sequence of two strings.
pub fn eval_boolean<'a>(
    c: &Compiled,
    ctx: &Context<'a>,
    r: &dyn Resolver<'a>,
) -> Result<bool, XPathError> {
    match c.lang {
        Language::XPath1 => eval(c, ctx, r).map(|v| v.to_boolean()),
        Language::XPath2 => effective_boolean(&eval_expr2(&c.expr, ctx, r)?),
    }
}

/// Evaluates and converts with `number()` (counters, `for` durations as numbers); in
/// XPath 2.0 an empty result is NaN and more than one item a type error.
pub fn eval_number<'a>(
    c: &Compiled,
    ctx: &Context<'a>,
    r: &dyn Resolver<'a>,
) -> Result<f64, XPathError> {
    match c.lang {
        Language::XPath1 => eval(c, ctx, r).map(|v| v.to_number()),
        Language::XPath2 => match eval_expr2(&c.expr, ctx, r)?.as_slice() {
            [] => Ok(f64::NAN),
            [i] => Ok(i.atomize().to_double()),
            more => Err(type_mismatch(format!(
                "a number is needed, and the expression yields {} items",
                more.len()
            ))),
        },
    }
}

/// Evaluates and converts with `string()` (deadlines, durations, literals); in XPath 2.0 the
/// string values of several items are joined with spaces.
pub fn eval_string<'a>(
    c: &Compiled,
    ctx: &Context<'a>,
    r: &dyn Resolver<'a>,
) -> Result<String, XPathError> {
    match c.lang {
        Language::XPath1 => eval(c, ctx, r).map(Value::into_xpath_string),
        Language::XPath2 => Ok(eval_expr2(&c.expr, ctx, r)?
            .iter()
            .map(Item::string_value)
            .collect::<Vec<_>>()
            .join(" ")),
    }
}

/// Evaluates an expression that must select nodes (assign `<from>`/`<to>` queries), in
/// document order; any other result is an [`ErrorKind::Type`] error.
pub fn eval_nodes<'a>(
    c: &Compiled,
    ctx: &Context<'a>,
    r: &dyn Resolver<'a>,
) -> Result<Vec<NodeRef<'a>>, XPathError> {
    if c.lang == Language::XPath2 {
        let seq = eval_expr2(&c.expr, ctx, r)?;
        let mut nodes = Vec::with_capacity(seq.len());
        for item in seq {
            match item {
                Item::Node(n) => nodes.push(n),
                Item::Atomic(a) => {
                    return Err(XPathError::type_error(
                        0,
                        format!("the expression yields a {}, not nodes", a.type_name()),
                    ));
                }
            }
        }
        sort_nodes(&mut nodes);
        return Ok(nodes);
    }
    match eval(c, ctx, r)? {
        Value::Nodes(n) => Ok(n),
        v => Err(XPathError::type_error(
            0,
            format!("the expression yields a {}, not a node-set", v.type_name()),
        )),
    }
}

/// A general comparison operator.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    fn of(op: BinOp) -> Option<Cmp> {
        Some(match op {
            BinOp::Eq => Cmp::Eq,
            BinOp::Ne => Cmp::Ne,
            BinOp::Lt => Cmp::Lt,
            BinOp::Le => Cmp::Le,
            BinOp::Gt => Cmp::Gt,
            BinOp::Ge => Cmp::Ge,
            _ => return None,
        })
    }

    /// The operator with its operands swapped: `a < b` is `b > a`.
    fn flip(self) -> Cmp {
        match self {
            Cmp::Lt => Cmp::Gt,
            Cmp::Le => Cmp::Ge,
            Cmp::Gt => Cmp::Lt,
            Cmp::Ge => Cmp::Le,
            c => c,
        }
    }

    fn is_equality(self) -> bool {
        matches!(self, Cmp::Eq | Cmp::Ne)
    }

    fn numbers(self, a: f64, b: f64) -> bool {
        match self {
            Cmp::Eq => a == b,
            Cmp::Ne => a != b,
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Gt => a > b,
            Cmp::Ge => a >= b,
        }
    }

    fn strings(self, a: &str, b: &str) -> bool {
        match self {
            Cmp::Eq => a == b,
            Cmp::Ne => a != b,
            _ => self.numbers(string_to_number(a), string_to_number(b)),
        }
    }
}

/// Compares two values that are not node-sets (XPath 1.0 section 3.4, last paragraphs).
fn compare_atoms(op: Cmp, a: &Value<'_>, b: &Value<'_>) -> bool {
    if !op.is_equality() {
        return op.numbers(a.to_number(), b.to_number());
    }
    match (a, b) {
        (Value::Boolean(_), _) | (_, Value::Boolean(_)) => {
            (a.to_boolean() == b.to_boolean()) == (op == Cmp::Eq)
        }
        (Value::Number(_), _) | (_, Value::Number(_)) => op.numbers(a.to_number(), b.to_number()),
        _ => op.strings(&a.to_xpath_string(), &b.to_xpath_string()),
    }
}

/// Compares node-set `set` (left operand) with a value that is not a node-set.
fn compare_set(op: Cmp, set: &[NodeRef<'_>], other: &Value<'_>) -> bool {
    match other {
        Value::Boolean(_) => compare_atoms(op, &Value::Boolean(!set.is_empty()), other),
        Value::Number(n) => set
            .iter()
            .any(|x| op.numbers(string_to_number(&x.string_value()), *n)),
        Value::String(s) => set.iter().any(|x| op.strings(&x.string_value(), s)),
        Value::Nodes(_) => false,
    }
}

/// XPath 1.0 general comparison.
pub(super) fn compare(op: BinOp, a: &Value<'_>, b: &Value<'_>) -> Option<bool> {
    let op = Cmp::of(op)?;
    Some(match (a, b) {
        (Value::Nodes(x), Value::Nodes(y)) => {
            if op.is_equality() {
                let ys: Vec<String> = y.iter().map(NodeRef::string_value).collect();
                x.iter().any(|n| {
                    let s = n.string_value();
                    ys.iter().any(|t| op.strings(&s, t))
                })
            } else {
                let ys: Vec<f64> = y
                    .iter()
                    .map(|n| string_to_number(&n.string_value()))
                    .collect();
                x.iter().any(|n| {
                    let v = string_to_number(&n.string_value());
                    ys.iter().any(|t| op.numbers(v, *t))
                })
            }
        }
        (Value::Nodes(x), other) => compare_set(op, x, other),
        (other, Value::Nodes(y)) => compare_set(op.flip(), y, other),
        _ => compare_atoms(op, a, b),
    })
}

pub(super) struct Evaluator<'r, 'a> {
    resolver: &'r dyn Resolver<'a>,
}

fn xpath2_only(what: &str) -> XPathError {
    XPathError::unsupported(
        0,
        format!("{what} is XPath 2.0, and XPath 2.0 evaluation is not supported yet"),
    )
}

impl<'a> Evaluator<'_, 'a> {
    fn expr(&self, e: &Expr, ctx: &Context<'a>) -> Result<Value<'a>, XPathError> {
        match e {
            Expr::XQuery(_) => Err(XPathError::dynamic(
                0,
                "an XQuery construct cannot be evaluated as XPath 1.0",
            )),
            Expr::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, ctx),
            Expr::Neg(x) => Ok(Value::Number(-self.expr(x, ctx)?.to_number())),
            Expr::Literal(s) => Ok(Value::String(s.clone())),
            Expr::Number(n) => Ok(Value::Number(*n)),
            Expr::Var(v) => {
                let value = self
                    .resolver
                    .variable(&v.name.qname(), v.part.as_deref())
                    .map_err(|mut err| {
                        if err.offset == 0 {
                            err.offset = v.name.offset;
                        }
                        err
                    })?;
                Ok(match value {
                    Value::Nodes(n) => Value::nodes(n),
                    v => v,
                })
            }
            Expr::Call { name, args } => self.call(name, args, ctx),
            Expr::Filter {
                primary,
                predicates,
            } => {
                let mut nodes = self.node_set(primary, ctx, "a filtered expression")?;
                for p in predicates {
                    nodes = self.filter(nodes, p)?;
                }
                Ok(Value::Nodes(nodes))
            }
            Expr::Path { start, steps } => self.path(start, steps, ctx).map(Value::Nodes),
            Expr::ContextItem => Ok(Value::Nodes(vec![ctx.require_node("'.'", 0)?.clone()])),
            Expr::Plus(_) => Err(xpath2_only("unary '+'")),
            Expr::Sequence(_) => Err(xpath2_only("a sequence expression")),
            Expr::If { .. } => Err(xpath2_only("'if'")),
            Expr::For { .. } => Err(xpath2_only("'for'")),
            Expr::Quantified { .. } => Err(xpath2_only("'some'/'every'")),
            Expr::InstanceOf(..) => Err(xpath2_only("'instance of'")),
            Expr::TreatAs(..) => Err(xpath2_only("'treat as'")),
            Expr::CastableAs(..) => Err(xpath2_only("'castable as'")),
            Expr::CastAs(..) => Err(xpath2_only("'cast as'")),
        }
    }

    fn node_set(
        &self,
        e: &Expr,
        ctx: &Context<'a>,
        what: &str,
    ) -> Result<Vec<NodeRef<'a>>, XPathError> {
        match self.expr(e, ctx)? {
            Value::Nodes(n) => Ok(n),
            v => Err(XPathError::type_error(
                offset_of(e),
                format!("{what} needs a node-set, not a {}", v.type_name()),
            )),
        }
    }

    fn binary(
        &self,
        op: BinOp,
        lhs: &Expr,
        rhs: &Expr,
        ctx: &Context<'a>,
    ) -> Result<Value<'a>, XPathError> {
        match op {
            BinOp::Or => Ok(Value::Boolean(
                self.expr(lhs, ctx)?.to_boolean() || self.expr(rhs, ctx)?.to_boolean(),
            )),
            BinOp::And => Ok(Value::Boolean(
                self.expr(lhs, ctx)?.to_boolean() && self.expr(rhs, ctx)?.to_boolean(),
            )),
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let a = self.expr(lhs, ctx)?;
                let b = self.expr(rhs, ctx)?;
                Ok(Value::Boolean(compare(op, &a, &b).unwrap_or(false)))
            }
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => {
                let a = self.expr(lhs, ctx)?.to_number();
                let b = self.expr(rhs, ctx)?.to_number();
                Ok(Value::Number(match op {
                    BinOp::Add => a + b,
                    BinOp::Sub => a - b,
                    BinOp::Mul => a * b,
                    BinOp::Div => a / b,
                    // Truncating remainder with the dividend's sign, as XPath 1.0 and IEEE fmod.
                    _ => a % b,
                }))
            }
            BinOp::Union => {
                let mut a = self.node_set(lhs, ctx, "'|'")?;
                a.extend(self.node_set(rhs, ctx, "'|'")?);
                Ok(Value::nodes(a))
            }
            _ => Err(xpath2_only(&format!("operator '{}'", op.symbol()))),
        }
    }

    fn call(&self, name: &Name, args: &[Expr], ctx: &Context<'a>) -> Result<Value<'a>, XPathError> {
        let mut values = Vec::with_capacity(args.len());
        for a in args {
            values.push(self.expr(a, ctx)?);
        }
        let ns = name.ns.as_deref().unwrap_or("");
        if ns.is_empty() && fns_core::is_core(&name.local) {
            return fns_core::call(&name.local, values, ctx, name.offset);
        }
        let qname = name.qname();
        match self.resolver.function(&qname, values) {
            Some(result) => result
                .map(|v| match v {
                    Value::Nodes(n) => Value::nodes(n),
                    v => v,
                })
                .map_err(|mut err| {
                    if err.offset == 0 {
                        err.offset = name.offset;
                    }
                    err
                }),
            None => Err(XPathError::new(
                ErrorKind::UnknownFunction,
                name.offset,
                format!("function {}() is not available", name.written()),
            )),
        }
    }

    fn path(
        &self,
        start: &PathStart,
        steps: &[Step],
        ctx: &Context<'a>,
    ) -> Result<Vec<NodeRef<'a>>, XPathError> {
        let mut nodes = match start {
            PathStart::Context => vec![ctx.require_node("a relative location path", 0)?.clone()],
            PathStart::Root => {
                let n = ctx.require_node("an absolute location path", 0)?;
                vec![NodeRef::document(n.tree().clone())]
            }
            PathStart::Expr(e) => self.node_set(e, ctx, "a path step")?,
        };
        let mut i = 0;
        while i < steps.len() && !nodes.is_empty() {
            // `//name` is `descendant-or-self::node()/child::name`; without predicates on the
            // child step that selects exactly `descendant::name`, without listing every node.
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
                nodes = self.axis_step(&nodes, Axis::Descendant, test, &[])?;
                i += 2;
                continue;
            }
            nodes = self.step(&nodes, &steps[i])?;
            i += 1;
        }
        Ok(nodes)
    }

    fn step(&self, from: &[NodeRef<'a>], step: &Step) -> Result<Vec<NodeRef<'a>>, XPathError> {
        let (axis, test, predicates) = match step {
            Step::Axis {
                axis,
                test,
                predicates,
            } => (*axis, test, predicates),
            Step::Filter(_) => return Err(xpath2_only("an expression as a path step")),
        };
        self.axis_step(from, axis, test, predicates)
    }

    fn axis_step(
        &self,
        from: &[NodeRef<'a>],
        axis: Axis,
        test: &NodeTest,
        predicates: &[Expr],
    ) -> Result<Vec<NodeRef<'a>>, XPathError> {
        let mut out = Vec::new();
        for n in from {
            let mut found = axes::select(n, axis, test);
            for p in predicates {
                if found.is_empty() {
                    break;
                }
                found = self.filter(found, p)?;
            }
            if axis.is_reverse() {
                found.reverse();
            }
            out.extend(found);
        }
        if from.len() > 1 {
            sort_nodes(&mut out);
        }
        Ok(out)
    }

    /// Keeps the nodes for which `pred` holds, `nodes` being in the order that gives the
    /// proximity positions.
    fn filter(&self, nodes: Vec<NodeRef<'a>>, pred: &Expr) -> Result<Vec<NodeRef<'a>>, XPathError> {
        let size = nodes.len();
        if let Expr::Number(n) = pred {
            // `[3]`: no need to evaluate anything per node.
            let wanted = n.fract() == 0.0 && *n >= 1.0 && *n <= size as f64;
            return Ok(if wanted {
                nodes.into_iter().nth(*n as usize - 1).into_iter().collect()
            } else {
                Vec::new()
            });
        }
        let mut out = Vec::new();
        for (i, n) in nodes.into_iter().enumerate() {
            let ctx = Context {
                node: Some(n),
                position: i + 1,
                size,
            };
            let keep = match self.expr(pred, &ctx)? {
                Value::Number(x) => x == (i + 1) as f64,
                v => v.to_boolean(),
            };
            if keep && let Some(n) = ctx.node {
                out.push(n);
            }
        }
        Ok(out)
    }
}

/// The best offset an expression offers for an error message.
fn offset_of(e: &Expr) -> usize {
    match e {
        Expr::Var(v) => v.name.offset,
        Expr::Call { name, .. } => name.offset,
        Expr::Filter { primary, .. } => offset_of(primary),
        _ => 0,
    }
}
