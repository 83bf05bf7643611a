//! Expressions and queries (WS-BPEL 2.0 §8.2–8.3): language support (SA00004), variable
//! references, the BPEL XPath functions (unknown ones rejected) and their literal arguments
//! (SA00028, SA00030, SA00031, SA00039–SA00041).
//!
//! Until the XPath compiler is wired in, this is a token scan that knows string literals,
//! `$variable` references and `prefix:name(` calls; it never reports on text it cannot read.

use bpelgate_wsdl::xml::QName;

use super::Ctx;
use super::assign;
use super::ast::Expr;
use super::scopes::Env;
use super::structure;

/// Where an expression is used.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Role {
    /// A value/condition expression (variables in scope).
    Value,
    /// A joinCondition: `$name` refers to links, not variables.
    JoinCondition,
    /// A query relative to a variable (no variable references expected).
    Query,
}

const BPEL20_NS: &str = "http://docs.oasis-open.org/wsbpel/2.0/process/executable";
const BPEL_DRAFT_NS: &str = "http://schemas.xmlsoap.org/ws/2004/03/business-process/";
const BPEL11_NS: &str = "http://schemas.xmlsoap.org/ws/2003/03/business-process/";

/// The functions each BPEL namespace defines (§8.3; BPEL4WS 1.1 §9.1; the 2004/03 draft).
fn known_functions(ns: &str) -> Option<&'static [&'static str]> {
    match ns {
        BPEL20_NS => Some(&["getVariableProperty", "doXslTransform"]),
        BPEL_DRAFT_NS => Some(&[
            "getVariableData",
            "getVariableProperty",
            "getLinkStatus",
            "doXslTransform",
        ]),
        BPEL11_NS => Some(&["getVariableData", "getVariableProperty", "getLinkStatus"]),
        _ => None,
    }
}

/// One token the scan cares about.
#[derive(Debug, PartialEq)]
enum Tok {
    /// A string literal (content).
    Str(String),
    /// `$name`.
    Var(String),
    /// `prefix:local` immediately followed (after blanks) by `(`.
    Call(String, String),
    /// `(`.
    Open,
    /// `)`.
    Close,
    /// `,`.
    Comma,
    /// Anything else (one token per run).
    Other,
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.') || !c.is_ascii()
}

fn tokenize(text: &str) -> Vec<Tok> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\'' | '"' => {
                let start = i + 1;
                let mut j = start;
                while j < chars.len() && chars[j] != c {
                    j += 1;
                }
                out.push(Tok::Str(chars[start..j.min(chars.len())].iter().collect()));
                i = j + 1;
            }
            '$' => {
                let start = i + 1;
                let mut j = start;
                while j < chars.len() && (is_name_char(chars[j]) || chars[j] == ':') {
                    j += 1;
                }
                out.push(Tok::Var(chars[start..j].iter().collect()));
                i = j;
            }
            '(' => {
                out.push(Tok::Open);
                i += 1;
            }
            ')' => {
                out.push(Tok::Close);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                let mut j = i;
                while j < chars.len() && is_name_char(chars[j]) {
                    j += 1;
                }
                let prefix: String = chars[start..j].iter().collect();
                if j + 1 < chars.len() && chars[j] == ':' && chars[j + 1] != ':' {
                    let lstart = j + 1;
                    let mut k = lstart;
                    while k < chars.len() && is_name_char(chars[k]) {
                        k += 1;
                    }
                    let local: String = chars[lstart..k].iter().collect();
                    let mut m = k;
                    while m < chars.len() && chars[m].is_whitespace() {
                        m += 1;
                    }
                    if m < chars.len() && chars[m] == '(' && !local.is_empty() {
                        out.push(Tok::Call(prefix, local));
                    } else {
                        out.push(Tok::Other);
                    }
                    i = k;
                } else {
                    out.push(Tok::Other);
                    i = j;
                }
            }
            _ => {
                if !c.is_whitespace() && !matches!(out.last(), Some(Tok::Other)) {
                    out.push(Tok::Other);
                }
                i += 1;
            }
        }
    }
    out
}

/// The arguments of the call whose `(` is at `toks[open]`: each argument's tokens.
fn call_args(toks: &[Tok], open: usize) -> Vec<&[Tok]> {
    let mut args = Vec::new();
    let mut depth = 0usize;
    let mut start = open + 1;
    for (i, t) in toks.iter().enumerate().skip(open) {
        match t {
            Tok::Open => depth += 1,
            Tok::Close => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    if i > start {
                        args.push(&toks[start..i]);
                    }
                    return args;
                }
            }
            Tok::Comma if depth == 1 => {
                args.push(&toks[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    args
}

fn literal(arg: &[Tok]) -> Option<&str> {
    match arg {
        [Tok::Str(s)] => Some(s),
        _ => None,
    }
}

fn resolve_prefix<'e>(e: &'e Expr, prefix: &str) -> Option<&'e str> {
    e.ns.iter()
        .rev()
        .find(|(p, _)| p == prefix)
        .map(|(_, u)| u.as_str())
}

/// Checks one expression or query.
pub(crate) fn check(ctx: &mut Ctx<'_>, env: &Env<'_>, e: &Expr, role: Role) {
    structure::check_language(ctx, e.language.as_deref(), e.pos);
    let p = ctx.process;
    let inherited = if role == Role::Query {
        p.query_language.as_deref()
    } else {
        p.expression_language.as_deref()
    };
    if let Some(lang) = e.language.as_deref().or(inherited)
        && !structure::is_xpath(lang)
    {
        return;
    }
    let toks = tokenize(&e.text);
    for (i, t) in toks.iter().enumerate() {
        match t {
            Tok::Var(name) if role == Role::Value => {
                // `$var.part` is the WS-BPEL 2.0 part access form (§8.2.2).
                let var = name.split('.').next().unwrap_or(name);
                if !var.contains(':') && env.var(var).is_none() {
                    ctx.undeclared_variable(e.pos, var, "this expression");
                }
            }
            Tok::Call(prefix, local) => {
                let Some(ns) = resolve_prefix(e, prefix) else {
                    ctx.error(
                        "XPATH",
                        e.pos,
                        format!("function {prefix}:{local}() uses prefix \"{prefix}\", which is not declared; declare the namespace or fix the prefix"),
                    );
                    continue;
                };
                let Some(known) = known_functions(ns) else {
                    continue;
                };
                if !known.contains(&local.as_str()) {
                    let list = known.join(", ");
                    ctx.error(
                        "XPATH",
                        e.pos,
                        format!("{prefix}:{local}() is not a WS-BPEL function (the functions of {ns} are: {list}); fix the function name"),
                    );
                    continue;
                }
                if role == Role::JoinCondition && ns == BPEL20_NS {
                    ctx.error(
                        "SA00028",
                        e.pos,
                        format!("{prefix}:{local}() is used in a joinCondition, which may only combine link status values ($linkName) with boolean operators; remove the call"),
                    );
                }
                let args = call_args(&toks, i + 1);
                check_call(ctx, env, e, local, &args);
            }
            _ => {}
        }
    }
}

fn check_call(ctx: &mut Ctx<'_>, env: &Env<'_>, e: &Expr, local: &str, args: &[&[Tok]]) {
    match local {
        "getVariableProperty" => {
            let (Some(v), Some(p)) = (
                args.first().copied().and_then(literal),
                args.get(1).copied().and_then(literal),
            ) else {
                ctx.error(
                    "SA00030",
                    e.pos,
                    "getVariableProperty() takes two quoted strings (variable name, property QName); pass literals",
                );
                return;
            };
            let Some(ty) = env.var(v) else {
                ctx.undeclared_variable(e.pos, v, "getVariableProperty()");
                return;
            };
            let (prefix, lname) = match p.split_once(':') {
                Some((pre, l)) => (pre, l),
                None => ("", p),
            };
            let ns = if prefix.is_empty() {
                Some("")
            } else {
                resolve_prefix(e, prefix)
            };
            match ns {
                Some(ns) if super::decls::is_ncname(lname) => {
                    let q = QName::new(ns, lname);
                    assign::check_property_use(ctx, ty, v, &q, e.pos);
                }
                _ => ctx.error(
                    "SA00031",
                    e.pos,
                    format!("the second argument of getVariableProperty(), \"{p}\", is not a QName with a declared prefix; write it as 'prefix:property'"),
                ),
            }
        }
        "getVariableData" => {
            match args.first().copied().and_then(literal) {
                Some(v) => {
                    if env.var(v).is_none() {
                        ctx.undeclared_variable(e.pos, v, "getVariableData()");
                    }
                }
                None => ctx.error(
                    "XPATH",
                    e.pos,
                    "the first argument of getVariableData() must be a quoted variable name; pass a literal",
                ),
            }
        }
        "doXslTransform" => {
            if args.first().copied().and_then(literal).is_none() {
                ctx.error(
                    "SA00039",
                    e.pos,
                    "the first argument of doXslTransform() must be a quoted style sheet URI; pass a literal",
                );
            }
            if args.len() < 2 || !args.len().is_multiple_of(2) {
                ctx.error(
                    "SA00040",
                    e.pos,
                    "doXslTransform() takes the style sheet, the source and then name/value pairs; the parameters after the second must come in pairs",
                );
            }
            for pair in args.iter().skip(2).step_by(2) {
                if literal(pair).is_none_or(|n| n.split(':').any(|p| !super::decls::is_ncname(p))) {
                    ctx.error(
                        "SA00041",
                        e.pos,
                        "doXslTransform() parameter names must be quoted QNames; pass literals such as 'p:name'",
                    );
                }
            }
        }
        _ => {}
    }
}
