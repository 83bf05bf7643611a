//! Process-wide structure: languages (SA00004), extensions (SA00009, §5.3), start activities
//! (SA00015, SA00056, SA00057), and the children that must be scopes (§11.7, §12.7).

use std::collections::HashSet;

use bpelgate_wsdl::xml::{Element, Pos};

use super::Ctx;
use super::ast::{Activity, ActivityKind, Correlation, Initiate, Timing};
use super::expr;
use super::handlers::children;
use super::scopes::Env;

/// Expression and query languages the engine evaluates (SA00004). The WS-BPEL 2.0 XPath 1.0 and
/// 2.0 URIs, the XPath 1.0 URI BPEL4WS 1.1 and the 2004/03 draft used as their default, and the
/// XQuery 1.0 URI Apache ODE supports (the runtime evaluates it).
pub(crate) const SUPPORTED_LANGUAGES: &[&str] = &[
    "urn:oasis:names:tc:wsbpel:2.0:sublang:xpath1.0",
    "urn:oasis:names:tc:wsbpel:2.0:sublang:xpath2.0",
    "http://www.w3.org/TR/1999/REC-xpath-19991116",
    "urn:oasis:names:tc:wsbpel:2.0:sublang:xquery1.0",
];

/// Extension namespaces the engine understands (SA00009). Any other mandatory extension is
/// rejected; optional ones are ignored (§5.3).
// Only extensions the runtime really implements may be listed here: a mandatory extension
// that is accepted but not executed would silently change the process's meaning. None yet.
pub(crate) const SUPPORTED_EXTENSIONS: &[&str] = &[];

/// SA00004 for one language attribute.
pub(crate) fn check_language(ctx: &mut Ctx<'_>, lang: Option<&str>, pos: Pos) {
    if let Some(l) = lang
        && !SUPPORTED_LANGUAGES.contains(&l)
    {
        let known = SUPPORTED_LANGUAGES.join(", ");
        ctx.error(
            "SA00004",
            pos,
            format!("language \"{l}\" is not supported; use one of: {known}"),
        );
    }
}

/// Process-level structure rules.
pub(crate) fn check_process(ctx: &mut Ctx<'_>) {
    let p = ctx.process;
    check_language(ctx, p.query_language.as_deref(), p.pos);
    check_language(ctx, p.expression_language.as_deref(), p.pos);
    for ext in &p.extensions {
        if ext.must_understand && !SUPPORTED_EXTENSIONS.contains(&ext.namespace.as_str()) {
            let ns = &ext.namespace;
            ctx.error(
                "SA00009",
                ext.pos,
                format!("mandatory extension \"{ns}\" is not supported by this engine; remove it or set mustUnderstand=\"no\""),
            );
        }
    }
    let Some(main) = p.body.activity.as_deref() else {
        return;
    };
    let mut starts = Vec::new();
    collect_starts(main, &mut starts);
    if starts.is_empty() {
        // A process without start activity compiles (ODE accepts it) but can never be
        // instantiated; SA00015 is therefore reported as a warning.
        ctx.warning(
            "SA00015",
            main.pos,
            "the process has no start activity; mark the first <receive> or <pick> with createInstance=\"yes\"",
        );
        return;
    }
    check_initial(ctx, main);
    check_start_correlations(ctx, &starts);
}

fn is_start(a: &Activity) -> bool {
    match &a.kind {
        ActivityKind::Receive(r) => r.create_instance,
        ActivityKind::Pick(p) => p.create_instance,
        _ => false,
    }
}

/// Start activities of the main activity tree (handlers cannot hold start activities).
fn collect_starts<'a>(a: &'a Activity, out: &mut Vec<&'a Activity>) {
    if is_start(a) {
        out.push(a);
    }
    for c in children(a) {
        collect_starts(c, out);
    }
}

fn contains_start(a: &Activity) -> bool {
    is_start(a) || children(a).into_iter().any(contains_start)
}

/// SA00056: only start activities, scope, flow and sequence may run before or together with a
/// start activity. Flow children that wait on links are ordered after their sources, so they
/// are not simultaneous with the start activities.
///
/// With ode-compat, an activity running alongside the start activity, or before it without
/// waiting for anything, is a warning: it runs in the instance the start activity's message
/// creates, in the same step (the runtime starts the instance, runs up to the start activity,
/// then hands it the message). A start activity nested in another activity (it might not be
/// reached), or one preceded by an activity that waits (invoke, receive, pick, wait: the start
/// activity would not be active when the message is handed over), stays an error.
fn check_initial(ctx: &mut Ctx<'_>, a: &Activity) {
    check_initial_at(ctx, a, false);
}

fn check_initial_at(ctx: &mut Ctx<'_>, a: &Activity, before: bool) {
    if is_start(a) {
        return;
    }
    match &a.kind {
        ActivityKind::Sequence(c) => {
            if let Some(first) = c.first() {
                check_initial_at(ctx, first, before || contains_start(a));
            }
        }
        ActivityKind::Flow(f) => {
            for c in &f.activities {
                if c.targets.as_ref().is_none_or(|t| t.links.is_empty()) {
                    check_initial_at(ctx, c, false);
                }
            }
        }
        ActivityKind::Scope(s) => {
            if let Some(b) = s.body.activity.as_deref() {
                check_initial_at(ctx, b, before);
            }
        }
        _ => {
            let kind = kind_name(a);
            let nested = contains_start(a);
            let hint = if nested {
                "a start activity may not be nested in it"
            } else {
                "it would run before or alongside the start activity"
            };
            let message = format!(
                "<{kind}> cannot come before the process's start activity ({hint}); make a <receive>/<pick> with createInstance=\"yes\" the first activity"
            );
            if nested || (before && may_wait(a)) {
                ctx.error("SA00056", a.pos, message);
            } else {
                ctx.ode_lenient("SA00056", a.pos, message);
            }
        }
    }
}

/// True when `a` or an activity inside it (handlers aside) may wait for a message, a partner's
/// answer or a timer.
fn may_wait(a: &Activity) -> bool {
    matches!(
        a.kind,
        ActivityKind::Receive(_)
            | ActivityKind::Invoke(_)
            | ActivityKind::Pick(_)
            | ActivityKind::Wait(_)
    ) || children(a).into_iter().any(may_wait)
}

/// The correlations of a start activity (a receive, or every onMessage of a pick).
fn start_correlations(a: &Activity) -> Vec<Correlation> {
    match &a.kind {
        ActivityKind::Receive(r) => r.target.correlations.clone(),
        ActivityKind::Pick(p) => p
            .on_messages
            .iter()
            .flat_map(|m| m.target.correlations.iter().cloned())
            .collect(),
        _ => Vec::new(),
    }
}

/// Start activities that have correlations, with them; and the names of the correlation sets
/// common to all of them (empty when fewer than two start activities have correlations).
fn common_start_sets<'a>(
    starts: &[&'a Activity],
) -> (Vec<(&'a Activity, Vec<Correlation>)>, HashSet<String>) {
    let with: Vec<(&Activity, Vec<Correlation>)> = starts
        .iter()
        .map(|a| (*a, start_correlations(a)))
        .filter(|(_, c)| !c.is_empty())
        .collect();
    let Some((first, rest)) = with.split_first().filter(|(_, rest)| !rest.is_empty()) else {
        return (with, HashSet::new());
    };
    let mut common: HashSet<String> = first.1.iter().map(|c| c.set.clone()).collect();
    for (_, cs) in rest {
        let names: HashSet<String> = cs.iter().map(|c| c.set.clone()).collect();
        common.retain(|n| names.contains(n));
    }
    (with, common)
}

/// The correlation sets shared by several start activities of `process` (SA00057): with
/// ode-compat, the lowering makes their start activities join them.
pub(crate) fn shared_start_sets(process: &super::ast::Process) -> HashSet<String> {
    let Some(main) = process.body.activity.as_deref() else {
        return HashSet::new();
    };
    let mut starts = Vec::new();
    collect_starts(main, &mut starts);
    common_start_sets(&starts).1
}

/// SA00057: several start activities with correlations share a set, initiated with "join".
///
/// With ode-compat, a shared set that a start activity initiates with "yes" is a warning: the
/// lowering turns it into "join", which routes the second start message to the instance the
/// first created (Apache ODE routes it there too). No common set at all stays an error.
fn check_start_correlations(ctx: &mut Ctx<'_>, starts: &[&Activity]) {
    if starts.len() < 2 {
        return;
    }
    let (with, common) = common_start_sets(starts);
    if with.len() < 2 {
        return;
    }
    if common.is_empty() {
        ctx.error(
            "SA00057",
            with[1].0.pos,
            "the process has several start activities with correlations but no correlation set common to all of them; use one shared correlationSet with initiate=\"join\"",
        );
        return;
    }
    for (_, cs) in &with {
        for c in cs {
            if common.contains(&c.set) && c.initiate != Some(Initiate::Join) {
                let set = &c.set;
                ctx.ode_lenient(
                    "SA00057",
                    c.pos,
                    format!("correlation set \"{set}\" is shared by several start activities, so it must use initiate=\"join\"; change the initiate attribute"),
                );
            }
        }
    }
}

/// The element name of an activity, for messages.
pub(crate) fn kind_name(a: &Activity) -> &'static str {
    match &a.kind {
        ActivityKind::Receive(_) => "receive",
        ActivityKind::Reply(_) => "reply",
        ActivityKind::Invoke(_) => "invoke",
        ActivityKind::Assign(_) => "assign",
        ActivityKind::Throw { .. } => "throw",
        ActivityKind::Rethrow => "rethrow",
        ActivityKind::Exit => "exit",
        ActivityKind::Wait(_) => "wait",
        ActivityKind::Empty => "empty",
        ActivityKind::Sequence(_) => "sequence",
        ActivityKind::If(_) => "if",
        ActivityKind::While { .. } => "while",
        ActivityKind::RepeatUntil { .. } => "repeatUntil",
        ActivityKind::ForEach(_) => "forEach",
        ActivityKind::Pick(_) => "pick",
        ActivityKind::Flow(_) => "flow",
        ActivityKind::Scope(_) => "scope",
        ActivityKind::Compensate => "compensate",
        ActivityKind::CompensateScope { .. } => "compensateScope",
        ActivityKind::Validate { .. } => "validate",
        ActivityKind::Extension(_) => "extensionActivity",
    }
}

/// The expressions of wait/onAlarm.
pub(crate) fn check_timing<'a>(ctx: &mut Ctx<'a>, env: &Env<'a>, t: &'a Timing) {
    for e in [&t.for_expr, &t.until_expr].into_iter().flatten() {
        expr::check(ctx, env, e, expr::Role::Value);
    }
}

/// The child of forEach/onEvent/onAlarm (in event handlers) must be a scope (§11.7, §12.7).
pub(crate) fn require_scope(ctx: &mut Ctx<'_>, a: &Activity, parent: &str) {
    if !matches!(a.kind, ActivityKind::Scope(_)) {
        let kind = kind_name(a);
        ctx.error(
            "BPEL",
            a.pos,
            format!(
                "the activity of <{parent}> must be a <scope>, found <{kind}>; wrap it in a <scope>"
            ),
        );
    }
}

/// A forEach/onEvent/onAlarm without its scope.
pub(crate) fn require_scope_missing(ctx: &mut Ctx<'_>, pos: Pos, parent: &str) {
    ctx.error(
        "BPEL",
        pos,
        format!("<{parent}> has no <scope>; add the scope it runs"),
    );
}

/// extensionActivity / extensionAssignOperation content must be in a namespace declared in
/// `<extensions>` (§10.9, §8.4).
pub(crate) fn check_extension_element(ctx: &mut Ctx<'_>, el: &Element, pos: Pos) {
    let ns = &el.name.ns;
    if !ctx.process.extensions.iter().any(|e| &e.namespace == ns) {
        let local = &el.name.local;
        ctx.error(
            "BPEL",
            pos,
            format!("extension element <{local}> is in namespace \"{ns}\", which is not declared in <extensions>; declare it there"),
        );
    }
}
