//! Fault, compensation, termination and event handlers (WS-BPEL 2.0 §12), and the placement of
//! rethrow/compensate/compensateScope (§5.2, §12.4.3).

use std::collections::{HashMap, HashSet};

use bpelgate_wsdl::xml::{Pos, QName};

use super::Ctx;
use super::ast::{Activity, ActivityKind, Catch, Dialect, Handler, Invoke, ScopeBody};
use super::scopes::Site;

/// The WS-BPEL 2.0 namespace holding the standard faults.
const BPEL20_NS: &str = "http://docs.oasis-open.org/wsbpel/2.0/process/executable";

/// Standard faults of WS-BPEL 2.0 Appendix A that exitOnStandardFault covers (all but
/// joinFailure, §5.2).
const STANDARD_FAULTS: &[&str] = &[
    "ambiguousReceive",
    "completionConditionFailure",
    "conflictingReceive",
    "conflictingRequest",
    "correlationViolation",
    "invalidBranchCondition",
    "invalidExpressionValue",
    "invalidVariables",
    "mismatchedAssignmentFailure",
    "missingReply",
    "missingRequest",
    "scopeInitializationFailure",
    "selectionFailure",
    "subLanguageExecutionFault",
    "uninitializedPartnerRole",
    "uninitializedVariable",
    "unsupportedReference",
    "xsltInvalidSource",
    "xsltStylesheetNotFound",
];

/// What a name inside a scope refers to, for compensateScope targets.
#[derive(Clone, Copy, PartialEq)]
enum Enclosed {
    Scope,
    /// An invoke with inline fault or compensation handlers.
    InvokeWithHandler,
    /// Any other named activity.
    Other,
}

/// Named activities immediately enclosed by `body` (not inside nested scopes), including those
/// of its event handlers (§12.4.3.1).
fn immediately_enclosed(body: &ScopeBody) -> Vec<(&str, Enclosed, Pos)> {
    fn visit<'b>(a: &'b Activity, out: &mut Vec<(&'b str, Enclosed, Pos)>) {
        let kind = match &a.kind {
            ActivityKind::Scope(_) => Enclosed::Scope,
            ActivityKind::Invoke(inv)
                if !inv.catches.is_empty()
                    || inv.catch_all.is_some()
                    || inv.compensation_handler.is_some() =>
            {
                Enclosed::InvokeWithHandler
            }
            _ => Enclosed::Other,
        };
        if let Some(n) = &a.name {
            out.push((n, kind, a.pos));
        }
        if kind == Enclosed::Scope {
            return;
        }
        for child in children(a) {
            visit(child, out);
        }
    }
    let mut out = Vec::new();
    if let Some(a) = &body.activity {
        visit(a, &mut out);
    }
    if let Some(eh) = &body.event_handlers {
        for a in eh
            .on_events
            .iter()
            .filter_map(|e| e.activity.as_deref())
            .chain(eh.on_alarms.iter().filter_map(|e| e.activity.as_deref()))
        {
            visit(a, &mut out);
        }
    }
    out
}

/// The activities directly nested in `a` (not handlers of invokes).
pub(crate) fn children(a: &Activity) -> Vec<&Activity> {
    let mut v: Vec<&Activity> = Vec::new();
    match &a.kind {
        ActivityKind::Sequence(c) => v.extend(c.iter()),
        ActivityKind::Flow(f) => v.extend(f.activities.iter()),
        ActivityKind::If(i) => {
            v.extend(i.then.as_deref());
            v.extend(i.else_ifs.iter().filter_map(|e| e.activity.as_deref()));
            v.extend(i.otherwise.as_ref().and_then(|h| h.activity.as_deref()));
        }
        ActivityKind::While { body, .. } | ActivityKind::RepeatUntil { body, .. } => {
            v.extend(body.as_deref());
        }
        ActivityKind::ForEach(fe) => v.extend(fe.activity.as_deref()),
        ActivityKind::Pick(p) => {
            v.extend(p.on_messages.iter().filter_map(|m| m.activity.as_deref()));
            v.extend(p.on_alarms.iter().filter_map(|m| m.activity.as_deref()));
        }
        ActivityKind::Scope(s) => v.extend(s.body.activity.as_deref()),
        _ => {}
    }
    v
}

/// Placement of rethrow (SA00006), compensate (SA00008) and compensateScope (SA00007,
/// SA00077, SA00078).
pub(crate) fn check_placement(ctx: &mut Ctx<'_>, a: &Activity, site: Site<'_>) {
    match &a.kind {
        ActivityKind::Rethrow if !site.in_catch => ctx.error(
            "SA00006",
            a.pos,
            "<rethrow> can only be used inside a <catch> or <catchAll>; move it there or use <throw>",
        ),
        ActivityKind::Compensate if !site.in_fct => ctx.error(
            "SA00008",
            a.pos,
            "<compensate> can only be used inside a fault, compensation or termination handler; move it into one",
        ),
        ActivityKind::CompensateScope { target } => {
            if !site.in_fct {
                ctx.error(
                    "SA00007",
                    a.pos,
                    format!("<compensateScope target=\"{target}\"> can only be used inside a fault, compensation or termination handler; move it into one"),
                );
                return;
            }
            let Some(owner) = site.fct_owner else {
                ctx.error(
                    "SA00077",
                    a.pos,
                    format!("<compensateScope target=\"{target}\"> is in an invoke's inline handler, which encloses no scope; target a scope of the enclosing scope from its own handlers"),
                );
                return;
            };
            let enclosed = immediately_enclosed(owner);
            match enclosed.iter().find(|(n, _, _)| n == target) {
                None => ctx.error(
                    "SA00077",
                    a.pos,
                    format!("<compensateScope target=\"{target}\"> does not name a scope immediately enclosed by the scope whose handler this is; name one of its direct child scopes"),
                ),
                Some((_, Enclosed::Other, _)) => ctx.error(
                    "SA00078",
                    a.pos,
                    format!("<compensateScope target=\"{target}\"> names an activity that is neither a scope nor an invoke with handlers; target a scope"),
                ),
                Some(_) => {}
            }
        }
        _ => {}
    }
}

/// The handler rules of a scope or the process.
pub(crate) fn check_scope_handlers(ctx: &mut Ctx<'_>, body: &ScopeBody, site: Site<'_>) {
    if let Some(fh) = &body.fault_handlers {
        if fh.catches.is_empty() && fh.catch_all.is_none() {
            ctx.error(
                "SA00080",
                fh.pos,
                "<faultHandlers> is empty; add a <catch> or <catchAll>, or remove it",
            );
        }
        check_catches(ctx, &fh.catches, site.exit_on_standard_fault);
        if let Some(h) = &fh.catch_all {
            check_fct_root(ctx, h.activity.as_deref(), "<catchAll>");
        }
    }
    if let Some(h) = &body.compensation_handler {
        check_fct_root(ctx, h.activity.as_deref(), "<compensationHandler>");
    }
    if let Some(h) = &body.termination_handler {
        check_fct_root(ctx, h.activity.as_deref(), "<terminationHandler>");
    }
    if let Some(eh) = &body.event_handlers
        && eh.on_events.is_empty()
        && eh.on_alarms.is_empty()
    {
        ctx.error(
            "SA00083",
            eh.pos,
            "<eventHandlers> is empty; add an <onEvent> or <onAlarm>, or remove it",
        );
    }
    let mut names: HashMap<&str, Pos> = HashMap::new();
    for (name, kind, pos) in immediately_enclosed(body) {
        if kind == Enclosed::Scope && names.insert(name, pos).is_some() {
            ctx.error(
                "SA00092",
                pos,
                format!("two scopes directly inside the same scope are both named \"{name}\"; give each a unique name"),
            );
        }
    }
}

/// The handler rules of an invoke's inline handlers.
pub(crate) fn check_invoke_handlers(ctx: &mut Ctx<'_>, a: &Activity, inv: &Invoke) {
    let _ = a;
    check_catches(ctx, &inv.catches, false);
    for (h, what) in [
        (&inv.catch_all, "<catchAll>"),
        (&inv.compensation_handler, "<compensationHandler>"),
    ] {
        if let Some(Handler { activity, .. }) = h {
            check_fct_root(ctx, activity.as_deref(), what);
        }
    }
}

/// SA00079: the root scope of an FCT-handler has no compensation handler.
fn check_fct_root(ctx: &mut Ctx<'_>, a: Option<&Activity>, what: &str) {
    if let Some(a) = a
        && let ActivityKind::Scope(s) = &a.kind
        && s.body.compensation_handler.is_some()
    {
        ctx.error(
            "SA00079",
            a.pos,
            format!("the scope directly inside this {what} has a <compensationHandler>, which can never run; remove it"),
        );
    }
}

fn check_catches(ctx: &mut Ctx<'_>, catches: &[Catch], exit_on_standard_fault: bool) {
    let dialect = ctx.process.dialect;
    let mut seen: HashSet<(Option<&QName>, Option<&QName>, Option<&QName>)> = HashSet::new();
    for c in catches {
        let key = (
            c.fault_name.as_ref(),
            c.fault_message_type.as_ref(),
            c.fault_element.as_ref(),
        );
        if !seen.insert(key) {
            ctx.error(
                "SA00093",
                c.pos,
                "this <catch> has the same faultName and fault type as an earlier one in the same handlers; merge or remove it",
            );
        }
        let typed =
            usize::from(c.fault_message_type.is_some()) + usize::from(c.fault_element.is_some());
        // BPEL4WS 1.1 typed the fault variable by the fault's message; the 2.0 rule does not apply.
        if dialect != Dialect::Bpel11 {
            if c.fault_variable.is_some() && typed != 1 {
                ctx.error(
                    "SA00081",
                    c.pos,
                    "a <catch> with faultVariable needs exactly one of faultMessageType or faultElement; add one (and only one)",
                );
            }
            if c.fault_variable.is_none() && typed > 0 {
                ctx.error(
                    "SA00081",
                    c.pos,
                    "faultMessageType/faultElement on a <catch> need a faultVariable; add faultVariable or remove them",
                );
            }
        }
        if exit_on_standard_fault
            && let Some(f) = &c.fault_name
            && f.ns == BPEL20_NS
            && STANDARD_FAULTS.contains(&f.local.as_str())
        {
            let local = &f.local;
            ctx.error(
                "SA00003",
                c.pos,
                format!("this scope has exitOnStandardFault=\"yes\", so the standard fault bpel:{local} can never be caught here; remove the <catch> or set exitOnStandardFault=\"no\""),
            );
        }
        check_fct_root(ctx, c.activity.as_deref(), "<catch>");
    }
}
