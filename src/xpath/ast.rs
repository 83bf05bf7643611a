//! The XPath syntax tree: one tree for XPath 1.0 and the XPath 2.0 subset BPEL processes use.
//!
//! Names keep the prefix as written; [`Expr::resolve`] fills in namespace URIs so the tree can
//! be stored in the compiled model and evaluated without the source's namespace context.

use serde::{Deserialize, Serialize};

use bpelgate_wsdl::xml::QName;

use super::error::XPathError;

/// The expression language of a BPEL expression or query.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Language {
    /// XPath 1.0 (`urn:oasis:names:tc:wsbpel:2.0:sublang:xpath1.0`, the BPEL default).
    XPath1,
    /// XPath 2.0 (`urn:oasis:names:tc:wsbpel:2.0:sublang:xpath2.0`).
    XPath2,
}

impl Language {
    /// The WS-BPEL 2.0 URI of XPath 1.0.
    pub const XPATH1_URI: &'static str = "urn:oasis:names:tc:wsbpel:2.0:sublang:xpath1.0";
    /// The WS-BPEL 2.0 URI of XPath 2.0.
    pub const XPATH2_URI: &'static str = "urn:oasis:names:tc:wsbpel:2.0:sublang:xpath2.0";

    /// The language named by an `expressionLanguage`/`queryLanguage` URI, if it is XPath.
    pub fn from_uri(uri: &str) -> Option<Language> {
        match uri.trim() {
            Self::XPATH1_URI | "http://www.w3.org/TR/1999/REC-xpath-19991116" => {
                Some(Language::XPath1)
            }
            Self::XPATH2_URI => Some(Language::XPath2),
            _ => None,
        }
    }
}

/// A qualified name as written (`prefix:local`), with its namespace once resolved.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Name {
    /// Prefix as written; empty when unprefixed.
    pub prefix: String,
    /// Local part.
    pub local: String,
    /// Namespace URI, filled in by [`Expr::resolve`] (`None` before; `Some("")` for no namespace).
    pub ns: Option<String>,
    /// Byte offset of the name in the expression text.
    pub offset: usize,
}

impl Name {
    /// An unresolved name.
    pub fn new(prefix: impl Into<String>, local: impl Into<String>, offset: usize) -> Self {
        Name {
            prefix: prefix.into(),
            local: local.into(),
            ns: None,
            offset,
        }
    }

    /// The name as written: `prefix:local` or `local`.
    pub fn written(&self) -> String {
        if self.prefix.is_empty() {
            self.local.clone()
        } else {
            format!("{}:{}", self.prefix, self.local)
        }
    }

    /// The expanded name; an unresolved name counts as being in no namespace.
    pub fn qname(&self) -> QName {
        QName::new(self.ns.clone().unwrap_or_default(), self.local.clone())
    }
}

/// A variable reference `$name`, or BPEL's `$name.part` for a part of a message variable.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VarRef {
    /// The variable name.
    pub name: Name,
    /// The message part, for `$name.part`.
    pub part: Option<String>,
}

/// Binary operators, XPath 1.0 and 2.0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BinOp {
    /// `or`
    Or,
    /// `and`
    And,
    /// `=` (general comparison)
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `eq` (XPath 2.0 value comparison)
    ValueEq,
    /// `ne`
    ValueNe,
    /// `lt`
    ValueLt,
    /// `le`
    ValueLe,
    /// `gt`
    ValueGt,
    /// `ge`
    ValueGe,
    /// `is` (XPath 2.0 node identity)
    Is,
    /// `<<` (XPath 2.0 document order)
    Precedes,
    /// `>>`
    Follows,
    /// `to` (XPath 2.0 range)
    To,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `div`
    Div,
    /// `idiv` (XPath 2.0)
    IDiv,
    /// `mod`
    Mod,
    /// `|` or `union`
    Union,
    /// `intersect` (XPath 2.0)
    Intersect,
    /// `except` (XPath 2.0)
    Except,
}

impl BinOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Or => "or",
            BinOp::And => "and",
            BinOp::Eq => "=",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::ValueEq => "eq",
            BinOp::ValueNe => "ne",
            BinOp::ValueLt => "lt",
            BinOp::ValueLe => "le",
            BinOp::ValueGt => "gt",
            BinOp::ValueGe => "ge",
            BinOp::Is => "is",
            BinOp::Precedes => "<<",
            BinOp::Follows => ">>",
            BinOp::To => "to",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "div",
            BinOp::IDiv => "idiv",
            BinOp::Mod => "mod",
            BinOp::Union => "|",
            BinOp::Intersect => "intersect",
            BinOp::Except => "except",
        }
    }
}

/// The thirteen XPath axes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Axis {
    /// `ancestor::`
    Ancestor,
    /// `ancestor-or-self::`
    AncestorOrSelf,
    /// `attribute::` or `@`
    Attribute,
    /// `child::` (the default axis)
    Child,
    /// `descendant::`
    Descendant,
    /// `descendant-or-self::`
    DescendantOrSelf,
    /// `following::`
    Following,
    /// `following-sibling::`
    FollowingSibling,
    /// `namespace::`
    Namespace,
    /// `parent::` or `..`
    Parent,
    /// `preceding::`
    Preceding,
    /// `preceding-sibling::`
    PrecedingSibling,
    /// `self::` or `.`
    SelfAxis,
}

impl Axis {
    /// The axis named `name`, if any.
    pub fn from_name(name: &str) -> Option<Axis> {
        Some(match name {
            "ancestor" => Axis::Ancestor,
            "ancestor-or-self" => Axis::AncestorOrSelf,
            "attribute" => Axis::Attribute,
            "child" => Axis::Child,
            "descendant" => Axis::Descendant,
            "descendant-or-self" => Axis::DescendantOrSelf,
            "following" => Axis::Following,
            "following-sibling" => Axis::FollowingSibling,
            "namespace" => Axis::Namespace,
            "parent" => Axis::Parent,
            "preceding" => Axis::Preceding,
            "preceding-sibling" => Axis::PrecedingSibling,
            "self" => Axis::SelfAxis,
            _ => return None,
        })
    }

    /// True for the axes whose proximity positions run in reverse document order.
    pub fn is_reverse(self) -> bool {
        matches!(
            self,
            Axis::Ancestor
                | Axis::AncestorOrSelf
                | Axis::Parent
                | Axis::Preceding
                | Axis::PrecedingSibling
        )
    }
}

/// A kind test: `node()`, `text()`, … and the XPath 2.0 kind tests.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KindTest {
    /// `node()`
    AnyNode,
    /// `text()`
    Text,
    /// `comment()`
    Comment,
    /// `processing-instruction()` with an optional target literal.
    Pi(Option<String>),
    /// `document-node()` (XPath 2.0), optionally `document-node(element(..))`.
    Document(Option<Box<KindTest>>),
    /// `element()`, `element(name)`, `element(*, type)` (XPath 2.0); `None` name means any.
    Element(Option<Name>, Option<Name>),
    /// `attribute()`, `attribute(name)`, `attribute(*, type)` (XPath 2.0).
    Attribute(Option<Name>, Option<Name>),
    /// `schema-element(name)` (XPath 2.0).
    SchemaElement(Name),
    /// `schema-attribute(name)` (XPath 2.0).
    SchemaAttribute(Name),
}

/// The node test of a step.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NodeTest {
    /// `*`: any node of the axis' principal node type.
    Any,
    /// `prefix:*`: any name in a namespace (the `Name`'s local part is empty).
    Namespace(Name),
    /// `*:local` (XPath 2.0): a local name in any namespace.
    LocalName(String),
    /// A name test.
    Name(Name),
    /// A kind test.
    Kind(KindTest),
}

/// One step of a path.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Step {
    /// `axis::test[pred]*`.
    Axis {
        /// The axis.
        axis: Axis,
        /// The node test.
        test: NodeTest,
        /// Predicates, in order.
        predicates: Vec<Expr>,
    },
    /// An XPath 2.0 filter expression used as a step, e.g. `a/(b|c)` or `a/f(.)`.
    Filter(Box<Expr>),
}

impl Step {
    /// The `descendant-or-self::node()` step that `//` abbreviates.
    pub fn descendant_or_self() -> Step {
        Step::Axis {
            axis: Axis::DescendantOrSelf,
            test: NodeTest::Kind(KindTest::AnyNode),
            predicates: Vec::new(),
        }
    }
}

/// Where a path starts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PathStart {
    /// A relative location path: from the context node.
    Context,
    /// An absolute location path: from the root of the context node's tree.
    Root,
    /// A filter expression followed by `/` or `//`, e.g. `$v/a`.
    Expr(Box<Expr>),
}

/// How often an item type may occur in a sequence type (XPath 2.0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Occurrence {
    /// Exactly one.
    One,
    /// `?`
    ZeroOrOne,
    /// `*`
    ZeroOrMore,
    /// `+`
    OneOrMore,
}

/// An item type (XPath 2.0).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ItemType {
    /// `item()`
    Item,
    /// An atomic type name such as `xs:integer`.
    Atomic(Name),
    /// A kind test such as `element()`.
    Kind(KindTest),
}

/// A sequence type (XPath 2.0 `instance of`, `treat as`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SequenceType {
    /// `empty-sequence()`
    Empty,
    /// An item type with an occurrence indicator.
    Items(ItemType, Occurrence),
}

/// A `for`/`some`/`every` binding `$name in expr` (XPath 2.0).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Binding {
    /// The bound variable.
    pub var: Name,
    /// The sequence it ranges over.
    pub seq: Expr,
}

/// An XPath expression.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Expr {
    /// A binary operation.
    Binary {
        /// Operator.
        op: BinOp,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
    },
    /// Unary minus.
    Neg(Box<Expr>),
    /// Unary plus (XPath 2.0; converts to a number).
    Plus(Box<Expr>),
    /// A string literal (quotes removed, XPath 2.0 doubled quotes undone).
    Literal(String),
    /// A numeric literal.
    Number(f64),
    /// A variable reference.
    Var(VarRef),
    /// A function call.
    Call {
        /// The function name.
        name: Name,
        /// Arguments.
        args: Vec<Expr>,
    },
    /// A primary expression with predicates.
    Filter {
        /// The filtered expression.
        primary: Box<Expr>,
        /// Predicates, in order.
        predicates: Vec<Expr>,
    },
    /// A path: a start and steps (`//` expanded to a `descendant-or-self::node()` step).
    Path {
        /// Where the path starts.
        start: PathStart,
        /// The steps; empty only for `/` alone.
        steps: Vec<Step>,
    },
    /// The context item `.` used as a primary expression (XPath 2.0, e.g. `. + 1`).
    ContextItem,
    /// A sequence `(a, b)` or the empty sequence `()` (XPath 2.0).
    Sequence(Vec<Expr>),
    /// `if (c) then a else b` (XPath 2.0).
    If {
        /// The test.
        cond: Box<Expr>,
        /// Value when true.
        then: Box<Expr>,
        /// Value when false.
        els: Box<Expr>,
    },
    /// `for $x in s, $y in t return e` (XPath 2.0).
    For {
        /// The bindings, outermost first.
        bindings: Vec<Binding>,
        /// The body.
        ret: Box<Expr>,
    },
    /// `some`/`every … satisfies …` (XPath 2.0).
    Quantified {
        /// True for `every`, false for `some`.
        every: bool,
        /// The bindings.
        bindings: Vec<Binding>,
        /// The test.
        satisfies: Box<Expr>,
    },
    /// `e instance of T` (XPath 2.0).
    InstanceOf(Box<Expr>, Box<SequenceType>),
    /// `e treat as T` (XPath 2.0).
    TreatAs(Box<Expr>, Box<SequenceType>),
    /// `e castable as T?` (XPath 2.0); the flag is the `?`.
    CastableAs(Box<Expr>, Box<Name>, bool),
    /// `e cast as T?` (XPath 2.0); the flag is the `?`.
    CastAs(Box<Expr>, Box<Name>, bool),
    /// An XQuery construct (FLWOR, typeswitch, constructors); only XQuery expressions have
    /// them, and they evaluate with XPath 2.0.
    XQuery(Box<super::xquery::XqExpr>),
}

impl Expr {
    /// Calls `f` on this expression and every sub-expression, parents first.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Expr)) {
        f(self);
        match self {
            Expr::Binary { lhs, rhs, .. } => {
                lhs.walk(f);
                rhs.walk(f);
            }
            Expr::Neg(e) | Expr::Plus(e) => e.walk(f),
            Expr::InstanceOf(e, _)
            | Expr::TreatAs(e, _)
            | Expr::CastableAs(e, _, _)
            | Expr::CastAs(e, _, _) => e.walk(f),
            Expr::Literal(_) | Expr::Number(_) | Expr::Var(_) | Expr::ContextItem => {}
            Expr::Call { args, .. } => args.iter().for_each(|a| a.walk(f)),
            Expr::Filter {
                primary,
                predicates,
            } => {
                primary.walk(f);
                predicates.iter().for_each(|p| p.walk(f));
            }
            Expr::Path { start, steps } => {
                if let PathStart::Expr(e) = start {
                    e.walk(f);
                }
                for step in steps {
                    match step {
                        Step::Axis { predicates, .. } => predicates.iter().for_each(|p| p.walk(f)),
                        Step::Filter(e) => e.walk(f),
                    }
                }
            }
            Expr::Sequence(items) => items.iter().for_each(|e| e.walk(f)),
            Expr::If { cond, then, els } => {
                cond.walk(f);
                then.walk(f);
                els.walk(f);
            }
            Expr::For { bindings, ret } => {
                bindings.iter().for_each(|b| b.seq.walk(f));
                ret.walk(f);
            }
            Expr::Quantified {
                bindings,
                satisfies,
                ..
            } => {
                bindings.iter().for_each(|b| b.seq.walk(f));
                satisfies.walk(f);
            }
            Expr::XQuery(x) => x.for_each_expr(&mut |e| e.walk(f)),
        }
    }

    /// Resolves every prefix against `ns` (prefix, URI) pairs, innermost last.
    ///
    /// Unprefixed element and attribute names and variables are in no namespace (XPath 1.0
    /// has no default element namespace). Unprefixed function names are left in no namespace
    /// here; the function table decides what they mean in each language. Every undeclared
    /// prefix is reported, each once per occurrence.
    pub fn resolve(&mut self, ns: &[(String, String)]) -> Result<(), Vec<XPathError>> {
        let mut errors = Vec::new();
        let mut r = Resolver {
            ns,
            errors: &mut errors,
        };
        r.expr(self);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

struct Resolver<'a> {
    ns: &'a [(String, String)],
    errors: &'a mut Vec<XPathError>,
}

impl Resolver<'_> {
    fn name(&mut self, name: &mut Name) {
        if name.prefix.is_empty() {
            name.ns = Some(String::new());
            return;
        }
        let found = if name.prefix == "xml" {
            Some(bpelgate_wsdl::xml::XML_NS)
        } else {
            self.ns
                .iter()
                .rev()
                .find(|(p, _)| *p == name.prefix)
                .map(|(_, u)| u.as_str())
        };
        match found {
            Some(uri) if !uri.is_empty() => name.ns = Some(uri.to_owned()),
            _ => self.errors.push(XPathError::new(
                super::error::ErrorKind::UndeclaredPrefix,
                name.offset,
                format!(
                    "namespace prefix '{}' of '{}' is not declared",
                    name.prefix,
                    name.written()
                ),
            )),
        }
    }

    fn kind(&mut self, k: &mut KindTest) {
        match k {
            KindTest::AnyNode | KindTest::Text | KindTest::Comment | KindTest::Pi(_) => {}
            KindTest::Document(inner) => {
                if let Some(inner) = inner {
                    self.kind(inner);
                }
            }
            KindTest::Element(n, t) | KindTest::Attribute(n, t) => {
                if let Some(n) = n {
                    self.name(n);
                }
                if let Some(t) = t {
                    self.name(t);
                }
            }
            KindTest::SchemaElement(n) | KindTest::SchemaAttribute(n) => self.name(n),
        }
    }

    fn seq_type(&mut self, t: &mut SequenceType) {
        match t {
            SequenceType::Empty | SequenceType::Items(ItemType::Item, _) => {}
            SequenceType::Items(ItemType::Atomic(n), _) => self.name(n),
            SequenceType::Items(ItemType::Kind(k), _) => self.kind(k),
        }
    }

    fn bindings(&mut self, bindings: &mut [Binding]) {
        for b in bindings {
            self.name(&mut b.var);
            self.expr(&mut b.seq);
        }
    }

    fn expr(&mut self, e: &mut Expr) {
        match e {
            Expr::Binary { lhs, rhs, .. } => {
                self.expr(lhs);
                self.expr(rhs);
            }
            Expr::Neg(e) | Expr::Plus(e) => self.expr(e),
            Expr::InstanceOf(e, t) | Expr::TreatAs(e, t) => {
                self.expr(e);
                self.seq_type(t);
            }
            Expr::CastableAs(e, n, _) | Expr::CastAs(e, n, _) => {
                self.expr(e);
                self.name(n);
            }
            Expr::Literal(_) | Expr::Number(_) | Expr::ContextItem => {}
            Expr::Var(v) => self.name(&mut v.name),
            Expr::Call { name, args } => {
                self.name(name);
                args.iter_mut().for_each(|a| self.expr(a));
            }
            Expr::Filter {
                primary,
                predicates,
            } => {
                self.expr(primary);
                predicates.iter_mut().for_each(|p| self.expr(p));
            }
            Expr::Path { start, steps } => {
                if let PathStart::Expr(e) = start {
                    self.expr(e);
                }
                for step in steps {
                    match step {
                        Step::Axis {
                            test, predicates, ..
                        } => {
                            match test {
                                NodeTest::Any | NodeTest::LocalName(_) => {}
                                NodeTest::Namespace(n) | NodeTest::Name(n) => self.name(n),
                                NodeTest::Kind(k) => self.kind(k),
                            }
                            predicates.iter_mut().for_each(|p| self.expr(p));
                        }
                        Step::Filter(e) => self.expr(e),
                    }
                }
            }
            Expr::Sequence(items) => items.iter_mut().for_each(|e| self.expr(e)),
            Expr::If { cond, then, els } => {
                self.expr(cond);
                self.expr(then);
                self.expr(els);
            }
            Expr::For { bindings, ret } => {
                self.bindings(bindings);
                self.expr(ret);
            }
            Expr::Quantified {
                bindings,
                satisfies,
                ..
            } => {
                self.bindings(bindings);
                self.expr(satisfies);
            }
            Expr::XQuery(x) => x.resolve(self.ns, self.errors),
        }
    }
}
