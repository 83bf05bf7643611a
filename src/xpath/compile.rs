//! The compile-time facade the BPEL compiler uses: parse, resolve prefixes, check functions,
//! and answer the questions static analysis asks about an expression.

use serde::{Deserialize, Serialize};

use bpelgate_wsdl::xml::QName;

use super::ast::{Expr, Language, PathStart, Step, VarRef};
use super::error::XPathError;
use super::functions::{BPEL11_NS, BPEL20_DRAFT_NS, BPEL20_NS, check_functions};
use super::parse::parse;
use super::xquery::{Clause, XqExpr};

/// A parsed, resolved and checked expression, ready to be stored in the compiled model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Compiled {
    /// The language it was written in.
    pub lang: Language,
    /// The tree, with every prefix resolved.
    pub expr: Expr,
}

/// A `getVariableProperty('var', 'prefix:property')` call with literal arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PropertyUse {
    /// Byte offset of the call.
    pub offset: usize,
    /// The variable name, when the first argument is a string literal.
    pub variable: Option<String>,
    /// The property QName as written, when the second argument is a string literal; the
    /// caller resolves its prefix in the expression's namespace context.
    pub property: Option<String>,
}

/// Parses `text`, resolves its prefixes against `ns` (prefix, URI) pairs (innermost last) and
/// checks its function calls. All errors found are returned; a syntax error stops the rest.
pub fn compile(
    text: &str,
    lang: Language,
    ns: &[(String, String)],
) -> Result<Compiled, Vec<XPathError>> {
    let mut expr = parse(text, lang).map_err(|e| vec![e])?;
    let mut errors = match expr.resolve(ns) {
        Ok(()) => Vec::new(),
        Err(errors) => errors,
    };
    errors.extend(check_functions(&expr, lang));
    if errors.is_empty() {
        Ok(Compiled { lang, expr })
    } else {
        errors.sort_by_key(|e| e.offset);
        Err(errors)
    }
}

fn is_bpel_ns(ns: &str) -> bool {
    ns == BPEL20_NS || ns == BPEL20_DRAFT_NS || ns == BPEL11_NS
}

fn literal(e: &Expr) -> Option<String> {
    match e {
        Expr::Literal(s) => Some(s.clone()),
        _ => None,
    }
}

/// Collects variable references, skipping XPath 2.0 range variables where they are bound.
fn collect_vars(e: &Expr, bound: &mut Vec<String>, out: &mut Vec<VarRef>) {
    match e {
        Expr::Var(v) => {
            let range_var =
                v.part.is_none() && v.name.prefix.is_empty() && bound.contains(&v.name.local);
            if !range_var
                && !out.iter().any(|o| {
                    o.name.prefix == v.name.prefix
                        && o.name.local == v.name.local
                        && o.part == v.part
                })
            {
                out.push(v.clone());
            }
        }
        Expr::For { bindings, ret } => {
            let mark = bound.len();
            for b in bindings {
                collect_vars(&b.seq, bound, out);
                bound.push(b.var.local.clone());
            }
            collect_vars(ret, bound, out);
            bound.truncate(mark);
        }
        Expr::Quantified {
            bindings,
            satisfies,
            ..
        } => {
            let mark = bound.len();
            for b in bindings {
                collect_vars(&b.seq, bound, out);
                bound.push(b.var.local.clone());
            }
            collect_vars(satisfies, bound, out);
            bound.truncate(mark);
        }
        Expr::Binary { lhs, rhs, .. } => {
            collect_vars(lhs, bound, out);
            collect_vars(rhs, bound, out);
        }
        Expr::Neg(x)
        | Expr::Plus(x)
        | Expr::InstanceOf(x, _)
        | Expr::TreatAs(x, _)
        | Expr::CastableAs(x, _, _)
        | Expr::CastAs(x, _, _) => collect_vars(x, bound, out),
        Expr::Literal(_) | Expr::Number(_) | Expr::ContextItem => {}
        Expr::Call { args, .. } | Expr::Sequence(args) => {
            args.iter().for_each(|a| collect_vars(a, bound, out));
        }
        Expr::Filter {
            primary,
            predicates,
        } => {
            collect_vars(primary, bound, out);
            predicates.iter().for_each(|p| collect_vars(p, bound, out));
        }
        Expr::Path { start, steps } => {
            if let PathStart::Expr(x) = start {
                collect_vars(x, bound, out);
            }
            for s in steps {
                match s {
                    Step::Axis { predicates, .. } => {
                        predicates.iter().for_each(|p| collect_vars(p, bound, out));
                    }
                    Step::Filter(x) => collect_vars(x, bound, out),
                }
            }
        }
        Expr::If { cond, then, els } => {
            collect_vars(cond, bound, out);
            collect_vars(then, bound, out);
            collect_vars(els, bound, out);
        }
        Expr::XQuery(x) => collect_xquery_vars(x, bound, out),
    }
}

/// [`collect_vars`] for XQuery: `for`/`let`/`typeswitch` variables are bound, not used.
fn collect_xquery_vars(x: &XqExpr, bound: &mut Vec<String>, out: &mut Vec<VarRef>) {
    let mark = bound.len();
    match x {
        XqExpr::Flwor {
            clauses,
            order,
            ret,
        } => {
            for c in clauses {
                match c {
                    Clause::For { var, at, seq } => {
                        collect_vars(seq, bound, out);
                        bound.push(var.local.clone());
                        if let Some(a) = at {
                            bound.push(a.local.clone());
                        }
                    }
                    Clause::Let { var, value } => {
                        collect_vars(value, bound, out);
                        bound.push(var.local.clone());
                    }
                    Clause::Where(e) => collect_vars(e, bound, out),
                }
            }
            order.iter().for_each(|o| collect_vars(&o.key, bound, out));
            collect_vars(ret, bound, out);
        }
        XqExpr::Typeswitch {
            operand,
            cases,
            default_var,
            default,
        } => {
            collect_vars(operand, bound, out);
            for c in cases {
                let m = bound.len();
                if let Some(v) = &c.var {
                    bound.push(v.local.clone());
                }
                collect_vars(&c.ret, bound, out);
                bound.truncate(m);
            }
            if let Some(v) = default_var {
                bound.push(v.local.clone());
            }
            collect_vars(default, bound, out);
        }
        other => other.for_each_expr(&mut |e| collect_vars(e, bound, out)),
    }
    bound.truncate(mark);
}

/// True for expressions that select nodes of a variable or the context: `$v`, `$v.p[1]`,
/// `$v/a/b`, `a/b`, `/a`, and BPEL4WS 1.1 `getVariableData(…)/a`.
fn selects_nodes(e: &Expr) -> bool {
    match e {
        Expr::Var(_) => true,
        Expr::Filter { primary, .. } => selects_nodes(primary),
        Expr::Call { name, .. } => {
            name.local == "getVariableData" && name.ns.as_deref().is_some_and(is_bpel_ns)
        }
        Expr::Path { start, steps } => {
            let start_ok = match start {
                PathStart::Context => !steps.is_empty(),
                PathStart::Root => true,
                PathStart::Expr(x) => selects_nodes(x),
            };
            start_ok && steps.iter().all(|s| matches!(s, Step::Axis { .. }))
        }
        _ => false,
    }
}

impl Compiled {
    /// Every variable used, `$x` and `$x.part`, each once (at its first use), in order. Range
    /// variables of XPath 2.0 `for`/`some`/`every` are not included.
    pub fn variable_refs(&self) -> Vec<VarRef> {
        let mut out = Vec::new();
        collect_vars(&self.expr, &mut Vec::new(), &mut out);
        out
    }

    /// Every function call as (expanded name, number of arguments), in order. Unprefixed
    /// XPath 2.0 calls are reported in the `fn:` namespace, unprefixed XPath 1.0 ones in none.
    pub fn function_calls(&self) -> Vec<(QName, usize)> {
        let mut out = Vec::new();
        self.expr.walk(&mut |e| {
            if let Expr::Call { name, args } = e {
                let mut q = name.qname();
                if q.ns.is_empty() && self.lang == Language::XPath2 {
                    q.ns = super::functions::FN_NS.to_owned();
                }
                out.push((q, args.len()));
            }
        });
        out
    }

    /// True when the expression is a path to nodes, usable as the `<to>` of an assign copy:
    /// a location path, a variable (with part), or a variable-rooted path, without unions
    /// or computed steps.
    pub fn is_path_to_node(&self) -> bool {
        selects_nodes(&self.expr)
    }

    /// The literal arguments of every call to the BPEL function `local` (any BPEL
    /// namespace): (offset of the call, argument values where they are string literals).
    pub fn bpel_call_literals(&self, local: &str) -> Vec<(usize, Vec<Option<String>>)> {
        let mut out = Vec::new();
        self.expr.walk(&mut |e| {
            if let Expr::Call { name, args } = e
                && name.local == local
                && name.ns.as_deref().is_some_and(is_bpel_ns)
            {
                out.push((name.offset, args.iter().map(literal).collect()));
            }
        });
        out
    }

    /// Every `bpel:getVariableProperty` call, with its literal variable and property names.
    pub fn variable_properties(&self) -> Vec<PropertyUse> {
        self.bpel_call_literals("getVariableProperty")
            .into_iter()
            .map(|(offset, args)| {
                let mut args = args.into_iter();
                PropertyUse {
                    offset,
                    variable: args.next().flatten(),
                    property: args.next().flatten(),
                }
            })
            .collect()
    }

    /// Every `bpel:doXslTransform` call: (offset, stylesheet URI when it is a literal).
    pub fn xsl_stylesheets(&self) -> Vec<(usize, Option<String>)> {
        self.bpel_call_literals("doXslTransform")
            .into_iter()
            .map(|(offset, args)| (offset, args.into_iter().next().flatten()))
            .collect()
    }
}
