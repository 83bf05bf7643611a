//! Expressions and queries (WS-BPEL 2.0 §8.2–8.3): each one is compiled with the XPath compiler
//! in its effective language and namespace context, then checked against the process:
//! variables in scope and their parts, the BPEL functions and their literal arguments
//! (SA00028, SA00030, SA00031, SA00039–SA00041), join conditions over incoming links only
//! (SA00073) and `<to>` expressions that select nodes (SA00033).
//!
//! XQuery 1.0 expressions are accepted without analysis: the runtime compiles them.
//!
//! Codes: `XPATH` for what the XPath compiler rejects (syntax, undeclared prefix, unknown
//! function, function in a namespace no library provides, wrong argument count); `BPEL` for
//! unresolved references (variable, part, style sheet file). Positions are the expression's
//! element (or attribute); the message gives the offset in the expression text.
//!
//! Syntax errors and undeclared prefixes are warnings unless `strict-expressions` is set:
//! Apache ODE deploys such processes and faults only when the expression is evaluated, and
//! existing packages rely on it (docs/decisions/003-expression-errors.md). Unknown functions
//! and wrong argument counts stay errors.

use bpelgate_wsdl::xml::{Pos, QName};

use super::Ctx;
use super::assign;
use super::ast::{Dialect, Expr};
use super::lookup;
use super::scopes::{Env, VarTy};
use super::structure;
use crate::xpath::{self, Compiled, ErrorKind, Language, XPathError};

/// Where an expression is used.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Role<'a> {
    /// A value/condition expression (variables in scope).
    Value,
    /// A joinCondition over the activity's incoming links (`<target linkName>` with position):
    /// `$name` (WS-BPEL 2.0) and `getLinkStatus('name')` (BPEL4WS 1.1) refer to links.
    JoinCondition(&'a [(String, Pos)]),
    /// A `<query>` of a from-spec or to-spec (language from `queryLanguage`).
    Query,
    /// The expression of a `<to>`: it must select nodes of a variable.
    To,
}

/// The XPath language an expression is compiled in, or `None` when it is not XPath (XQuery, or
/// an unsupported language SA00004 already reports).
pub(crate) fn effective_language(ctx: &Ctx<'_>, e: &Expr, query: bool) -> Option<Language> {
    let p = ctx.process;
    let inherited = if query {
        p.query_language.as_deref()
    } else {
        p.expression_language.as_deref()
    };
    match e.language.as_deref().or(inherited) {
        None => Some(Language::XPath1),
        Some(uri) => Language::from_uri(uri),
    }
}

/// Checks one expression or query.
pub(crate) fn check(ctx: &mut Ctx<'_>, env: &Env<'_>, e: &Expr, role: Role<'_>) {
    structure::check_language(ctx, e.language.as_deref(), e.pos);
    let Some(lang) = effective_language(ctx, e, role == Role::Query) else {
        return;
    };
    let jaxen;
    let e = match jaxen_text(&e.text, lang, ctx.options.ode_compat) {
        Some(text) => {
            ctx.warning(
                "XPATH",
                e.pos,
                format!(
                    "expression \"{}\": the unterminated string literal at its end is ignored, as \
                     Apache ODE's XPath 1.0 engine does (accepted: ode-compat)",
                    e.text
                ),
            );
            jaxen = Expr {
                text: text.to_string(),
                ..e.clone()
            };
            &jaxen
        }
        None => e,
    };
    let compiled = match xpath::compile(&e.text, lang, &e.ns) {
        Ok(c) => c,
        Err(errors) => {
            for err in &errors {
                report_compile_error(ctx, e, err);
            }
            return;
        }
    };
    match role {
        Role::JoinCondition(links) => check_join(ctx, e, &compiled, links),
        Role::To => {
            check_to(ctx, e, &compiled);
            check_variables(ctx, env, e, &compiled);
        }
        Role::Value | Role::Query => check_variables(ctx, env, e, &compiled),
    }
    check_bpel_calls(
        ctx,
        env,
        e,
        &compiled,
        matches!(role, Role::JoinCondition(_)),
    );
}

/// Whether a compile error of this kind is tolerated (reported as a warning, the expression
/// faulting at run time) when expressions are not checked strictly.
pub(crate) fn is_deferrable(kind: ErrorKind) -> bool {
    matches!(kind, ErrorKind::Syntax | ErrorKind::UndeclaredPrefix)
}

/// With ode-compat, the part of an XPath 1.0 expression that Apache ODE evaluates when the
/// text ends in a string literal that never closes (its XPath 1.0 engine drops that literal);
/// None when the text is used as written.
pub(crate) fn jaxen_text(text: &str, lang: Language, ode_compat: bool) -> Option<&str> {
    if !ode_compat || lang != Language::XPath1 {
        return None;
    }
    xpath::parse::unterminated_literal(text).map(|at| text[..at].trim_end())
}

fn report_compile_error(ctx: &mut Ctx<'_>, e: &Expr, err: &XPathError) {
    let offset = err.offset;
    let message = &err.message;
    let text = &e.text;
    let (code, hint) = match err.kind {
        ErrorKind::Syntax => ("XPATH", "fix the expression syntax"),
        ErrorKind::UndeclaredPrefix => ("XPATH", "declare the namespace or fix the prefix"),
        ErrorKind::UnknownFunction => ("XPATH", "fix the function name"),
        ErrorKind::ForeignFunction => (
            "XPATH",
            "this engine provides XPath, fn:, xs:, the BPEL functions and the ODE extension functions only",
        ),
        ErrorKind::Arity if called_name(text, offset).ends_with("doXslTransform") => (
            "SA00040",
            "doXslTransform() takes the style sheet, the source and then name/value pairs",
        ),
        ErrorKind::Arity => ("XPATH", "fix the number of arguments"),
        // Evaluation-time kinds cannot come out of compilation; report them plainly if they do.
        ErrorKind::Dynamic
        | ErrorKind::Type
        | ErrorKind::Unsupported
        | ErrorKind::UninitializedVariable
        | ErrorKind::Fault => ("XPATH", "fix the expression"),
    };
    if is_deferrable(err.kind) && !ctx.options.strict_expressions {
        ctx.warning(
            code,
            e.pos,
            format!(
                "expression \"{}\": {message} (at offset {offset}); {hint} (deployed anyway, as Apache ODE does: evaluating it faults with bpel:subLanguageExecutionFault)",
                shorten(text)
            ),
        );
        return;
    }
    ctx.error(
        code,
        e.pos,
        format!(
            "expression \"{}\": {message} (at offset {offset}); {hint}",
            shorten(text)
        ),
    );
}

/// The function name written at `offset` of `text` (where the compiler reports a call).
fn called_name(text: &str, offset: usize) -> &str {
    let rest = text.get(offset..).unwrap_or("");
    let end = rest
        .find(|c: char| c == '(' || c.is_whitespace())
        .unwrap_or(rest.len());
    &rest[..end]
}

/// The expression text for messages: on one line, cut after 80 characters.
fn shorten(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &one_line[..i]),
        None => one_line,
    }
}

/// The instance variables Apache ODE binds in its extension namespace (`$ode:pid`, …).
const ODE_VARIABLES: &[&str] = &["pid", "processQName", "currentEventDateTime"];

/// `$var` and `$var.part` must name a variable in scope and a part of its message type.
fn check_variables(ctx: &mut Ctx<'_>, env: &Env<'_>, e: &Expr, c: &Compiled) {
    for v in c.variable_refs() {
        let name = v.name.written();
        let offset = v.name.offset;
        if v.name.ns.as_deref() == Some(xpath::functions::ODE_EXT_NS)
            && ODE_VARIABLES.contains(&v.name.local.as_str())
            && v.part.is_none()
        {
            continue;
        }
        if !v.name.prefix.is_empty() {
            ctx.error(
                "BPEL",
                e.pos,
                format!("expression \"{}\" uses variable ${name} (at offset {offset}); BPEL variable names have no prefix, so fix the reference", shorten(&e.text)),
            );
            continue;
        }
        let Some(ty) = env.var(&name) else {
            ctx.undeclared_variable(
                e.pos,
                &name,
                &format!("this expression (at offset {offset})"),
            );
            continue;
        };
        if let Some(part) = &v.part {
            check_part(ctx, e.pos, ty, &name, part, offset);
        }
    }
}

fn check_part(ctx: &mut Ctx<'_>, pos: Pos, ty: VarTy<'_>, var: &str, part: &str, offset: usize) {
    match ty {
        VarTy::Message(m) => {
            if let Some(msg) = lookup::message(ctx.wsdl, m)
                && msg.part(part).is_none()
            {
                let parts: Vec<&str> = msg.parts.iter().map(|p| p.name.as_str()).collect();
                let parts = parts.join(", ");
                ctx.error(
                    "BPEL",
                    pos,
                    format!("${var}.{part} (at offset {offset}) names part \"{part}\", but message {m} of variable \"{var}\" has no such part (it has: {parts}); fix the part name"),
                );
            }
        }
        VarTy::Element(_) | VarTy::Type(_) | VarTy::Counter => ctx.error(
            "BPEL",
            pos,
            format!("${var}.{part} (at offset {offset}) selects a part, but variable \"{var}\" is not a message variable; use a path ($name/...) instead"),
        ),
        VarTy::Unknown => {}
    }
}

/// SA00033: the `<to>` expression must select nodes of a variable. WS-BPEL 2.0 requires a path
/// that starts with a variable reference; the 2004/03 draft and BPEL4WS 1.1 allow any path to
/// nodes (including `getVariableData(…)/…`).
///
/// Reported as a warning: Apache ODE deploys such processes and faults at run time
/// (bpel:selectionFailure), and processes rely on catching that fault.
fn check_to(ctx: &mut Ctx<'_>, e: &Expr, c: &Compiled) {
    let ok = match ctx.process.dialect {
        Dialect::Bpel20 => c.is_path_to_node() && starts_with_variable(&c.expr),
        Dialect::Bpel20Draft | Dialect::Bpel11 => c.is_path_to_node(),
    };
    if !ok {
        ctx.ode_lenient(
            "SA00033",
            e.pos,
            format!("the expression in <to>, \"{}\", is not a path to nodes of a variable ($name, $name.part or $name/...); copying to it faults with bpel:selectionFailure at run time", shorten(&e.text)),
        );
    }
}

fn starts_with_variable(e: &xpath::Expr) -> bool {
    match e {
        xpath::Expr::Var(_) => true,
        xpath::Expr::Filter { primary, .. } => starts_with_variable(primary),
        xpath::Expr::Path {
            start: xpath::ast::PathStart::Expr(x),
            ..
        } => starts_with_variable(x),
        _ => false,
    }
}

/// SA00073: a join condition combines the status of the activity's incoming links only.
fn check_join(ctx: &mut Ctx<'_>, e: &Expr, c: &Compiled, links: &[(String, Pos)]) {
    let incoming = |name: &str| links.iter().any(|(l, _)| l == name);
    let list = || {
        let names: Vec<&str> = links.iter().map(|(l, _)| l.as_str()).collect();
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    };
    for v in c.variable_refs() {
        // Link names may contain '.', which the parser reads as a part access.
        let name = match &v.part {
            Some(part) => format!("{}.{part}", v.name.written()),
            None => v.name.written(),
        };
        if !incoming(&name) {
            let offset = v.name.offset;
            ctx.error(
                "SA00073",
                e.pos,
                format!("the joinCondition uses ${name} (at offset {offset}), which is not an incoming link of this activity (its <target>s: {}); a joinCondition may only test incoming links", list()),
            );
        }
    }
    for (offset, args) in c.bpel_call_literals("getLinkStatus") {
        match args.first().cloned().flatten() {
            Some(name) if incoming(&name) => {}
            Some(name) => ctx.error(
                "SA00073",
                e.pos,
                format!("getLinkStatus('{name}') (at offset {offset}) names a link that is not an incoming link of this activity (its <target>s: {}); fix the link name", list()),
            ),
            None => ctx.error(
                "SA00073",
                e.pos,
                format!("getLinkStatus() (at offset {offset}) must name the link with a quoted string; pass a literal"),
            ),
        }
    }
}

/// The BPEL functions: literal arguments and what they name.
fn check_bpel_calls(ctx: &mut Ctx<'_>, env: &Env<'_>, e: &Expr, c: &Compiled, join: bool) {
    if join {
        for (q, _) in c.function_calls() {
            if is_bpel_ns(&q.ns) && q.local != "getLinkStatus" {
                ctx.error(
                    "SA00028",
                    e.pos,
                    format!("{}() is used in a joinCondition, which may only combine the status of incoming links with boolean operators; remove the call", q.local),
                );
            }
        }
    }
    for pu in c.variable_properties() {
        check_variable_property(ctx, env, e, pu);
    }
    for (offset, args) in c.bpel_call_literals("getVariableData") {
        let Some(Some(var)) = args.first() else {
            ctx.error(
                "XPATH",
                e.pos,
                format!("the first argument of getVariableData() (at offset {offset}) must be a quoted variable name; pass a literal"),
            );
            continue;
        };
        let Some(ty) = env.var(var) else {
            ctx.undeclared_variable(
                e.pos,
                var,
                &format!("getVariableData() (at offset {offset})"),
            );
            continue;
        };
        if let Some(Some(part)) = args.get(1) {
            check_part(ctx, e.pos, ty, var, part, offset);
        }
    }
    for (offset, args) in c.bpel_call_literals("doXslTransform") {
        match args.first().cloned().flatten() {
            None => ctx.error(
                "SA00039",
                e.pos,
                format!("the first argument of doXslTransform() (at offset {offset}) must be a quoted style sheet URI; pass a literal"),
            ),
            Some(uri) => check_stylesheet(ctx, e.pos, &uri, offset),
        }
        for (i, name) in args.iter().enumerate().skip(2).step_by(2) {
            let valid = name.as_deref().is_some_and(|n| {
                n.split(':').count() <= 2 && n.split(':').all(super::decls::is_ncname)
            });
            if !valid {
                let n = i + 1;
                ctx.error(
                    "SA00041",
                    e.pos,
                    format!("argument {n} of doXslTransform() (at offset {offset}) is a parameter name and must be a quoted QName; pass a literal such as 'p:name'"),
                );
            }
        }
    }
}

fn is_bpel_ns(ns: &str) -> bool {
    ns == xpath::functions::BPEL20_NS
        || ns == xpath::functions::BPEL20_DRAFT_NS
        || ns == xpath::functions::BPEL11_NS
}

fn check_variable_property(ctx: &mut Ctx<'_>, env: &Env<'_>, e: &Expr, pu: xpath::PropertyUse) {
    let offset = pu.offset;
    let (Some(v), Some(p)) = (pu.variable, pu.property) else {
        ctx.error(
            "SA00030",
            e.pos,
            format!("getVariableProperty() (at offset {offset}) takes two quoted strings (variable name, property QName); pass literals"),
        );
        return;
    };
    let Some(ty) = env.var(&v) else {
        ctx.undeclared_variable(
            e.pos,
            &v,
            &format!("getVariableProperty() (at offset {offset})"),
        );
        return;
    };
    let (prefix, local) = p.split_once(':').unwrap_or(("", p.as_str()));
    let ns = if prefix.is_empty() {
        Some("")
    } else {
        e.ns.iter()
            .rev()
            .find(|(pre, _)| pre == prefix)
            .map(|(_, uri)| uri.as_str())
    };
    match ns {
        Some(ns) if super::decls::is_ncname(local) => {
            assign::check_property_use(ctx, ty, &v, &QName::new(ns, local), e.pos);
        }
        _ => ctx.error(
            "SA00031",
            e.pos,
            format!("the second argument of getVariableProperty() (at offset {offset}), \"{p}\", is not a QName with a declared prefix; write it as 'prefix:property'"),
        ),
    }
}

/// The style sheet must be a file of the package (relative URIs resolve against the BPEL
/// file's folder). Absolute URIs are left to the runtime.
fn check_stylesheet(ctx: &mut Ctx<'_>, pos: Pos, uri: &str, offset: usize) {
    let Some(files) = ctx.files else {
        return;
    };
    if uri.contains("://") || uri.starts_with("urn:") || uri.starts_with("file:") {
        return;
    }
    let base = ctx.file.rsplit_once('/').map_or("", |(dir, _)| dir);
    let Some(path) = resolve_relative(base, uri) else {
        ctx.error(
            "BPEL",
            pos,
            format!("doXslTransform() (at offset {offset}) names style sheet \"{uri}\", which points outside the package; put the style sheet in the package"),
        );
        return;
    };
    if !files.contains(&path) {
        ctx.error(
            "BPEL",
            pos,
            format!("doXslTransform() (at offset {offset}) names style sheet \"{uri}\", but the package has no file {path}; add it or fix the URI"),
        );
    }
}

/// `uri` resolved against the package folder `base`, normalised; `None` when it leaves the
/// package.
fn resolve_relative(base: &str, uri: &str) -> Option<String> {
    let mut parts: Vec<&str> = if uri.starts_with('/') {
        Vec::new()
    } else {
        base.split('/').filter(|s| !s.is_empty()).collect()
    };
    for seg in uri.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}
