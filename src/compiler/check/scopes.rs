//! Symbol tables (WS-BPEL 2.0 §5.2, §8.1, §12.7.1) and the one walk over the activity tree that
//! drives every per-activity rule family.
//!
//! Names resolve from the innermost scope outwards. Implicit declarations get their own frame:
//! the onEvent variable and fromPart variables (§12.7.1, in the associated scope), the forEach
//! counter (§11.7, in the child scope) and a catch's faultVariable (§12.5, visible in the catch).

use std::collections::{HashMap, HashSet};

use bpelgate_wsdl::xml::{Pos, QName};

use super::Ctx;
use super::ast::{
    Activity, ActivityKind, Catch, CorrelationSetDecl, Handler, OnEvent, PartnerLinkDecl,
    ScopeBody, VariableType,
};
use super::{assign, decls, expr, handlers, messaging, structure};

/// The static type of a variable as far as the checker needs it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum VarTy<'a> {
    /// WSDL message type.
    Message(&'a QName),
    /// XSD element.
    Element(&'a QName),
    /// XSD type.
    Type(&'a QName),
    /// forEach counter (xsd:unsignedInt).
    Counter,
    /// Declared without a usable type (already reported).
    Unknown,
}

impl<'a> VarTy<'a> {
    /// The type of a declared variable (first type attribute; SA00025 reports the rest).
    pub(crate) fn of(types: &'a [VariableType]) -> Self {
        match types.first() {
            Some(VariableType::MessageType(q)) => VarTy::Message(q),
            Some(VariableType::Element(q)) => VarTy::Element(q),
            Some(VariableType::Type(q)) => VarTy::Type(q),
            None => VarTy::Unknown,
        }
    }
}

/// One scope's declarations.
#[derive(Default)]
pub(crate) struct Frame<'a> {
    /// Variables.
    pub(crate) vars: HashMap<&'a str, VarTy<'a>>,
    /// Partner links.
    pub(crate) partner_links: HashMap<&'a str, &'a PartnerLinkDecl>,
    /// Correlation sets.
    pub(crate) correlation_sets: HashMap<&'a str, &'a CorrelationSetDecl>,
    /// Message exchanges.
    pub(crate) message_exchanges: HashSet<&'a str>,
}

/// The scopes enclosing the activity being checked, innermost last.
#[derive(Default)]
pub(crate) struct Env<'a> {
    frames: Vec<Frame<'a>>,
}

impl<'a> Env<'a> {
    /// Enters a scope.
    pub(crate) fn push(&mut self, frame: Frame<'a>) {
        self.frames.push(frame);
    }

    /// Leaves a scope.
    pub(crate) fn pop(&mut self) {
        self.frames.pop();
    }

    /// The variable `name` visible here.
    pub(crate) fn var(&self, name: &str) -> Option<VarTy<'a>> {
        self.frames
            .iter()
            .rev()
            .find_map(|f| f.vars.get(name).copied())
    }

    /// The partner link `name` visible here.
    pub(crate) fn partner_link(&self, name: &str) -> Option<&'a PartnerLinkDecl> {
        self.frames
            .iter()
            .rev()
            .find_map(|f| f.partner_links.get(name).copied())
    }

    /// The correlation set `name` visible here.
    pub(crate) fn correlation_set(&self, name: &str) -> Option<&'a CorrelationSetDecl> {
        self.frames
            .iter()
            .rev()
            .find_map(|f| f.correlation_sets.get(name).copied())
    }

    /// True when the message exchange `name` is declared in an enclosing scope.
    pub(crate) fn message_exchange(&self, name: &str) -> bool {
        self.frames
            .iter()
            .any(|f| f.message_exchanges.contains(name))
    }
}

/// Where in the process an activity sits, as far as placement rules care.
#[derive(Clone, Copy, Default)]
pub(crate) struct Site<'a> {
    /// Inside a catch/catchAll (rethrow allowed, SA00006).
    pub(crate) in_catch: bool,
    /// Inside a fault, compensation or termination handler (compensate allowed, SA00007/8).
    pub(crate) in_fct: bool,
    /// The scope whose FCT-handler encloses the activity (compensateScope targets, SA00077).
    pub(crate) fct_owner: Option<&'a ScopeBody>,
    /// The nearest enclosing exitOnStandardFault value (SA00003 is inherited by nested scopes).
    pub(crate) exit_on_standard_fault: bool,
    /// Inside an isolated scope (SA00091).
    pub(crate) isolated: bool,
}

/// An implicit declaration added to the frame of the scope it belongs to.
pub(crate) struct Implicit<'a> {
    /// Name.
    pub(crate) name: &'a str,
    /// Type.
    pub(crate) ty: VarTy<'a>,
    /// Where it is declared, for SA00076/SA00086.
    pub(crate) pos: Pos,
    /// The SA code to report when the scope re-declares it.
    pub(crate) clash_code: &'static str,
}

/// Walks the process: its declarations, handlers and main activity.
pub(crate) fn walk_process<'a>(ctx: &mut Ctx<'a>) {
    let process = ctx.process;
    let mut env = Env::default();
    let site = Site {
        exit_on_standard_fault: process.exit_on_standard_fault.unwrap_or(false),
        ..Site::default()
    };
    walk_body(ctx, &mut env, &process.body, site, &[], None, process.pos);
}

/// Walks one scope (or the process): declares, then checks handlers and the primary activity.
pub(crate) fn walk_body<'a>(
    ctx: &mut Ctx<'a>,
    env: &mut Env<'a>,
    body: &'a ScopeBody,
    site: Site<'a>,
    implicit: &[Implicit<'a>],
    on_event: Option<&'a OnEvent>,
    pos: Pos,
) {
    let mut frame = decls::declare(ctx, body);
    for imp in implicit {
        if frame.vars.contains_key(imp.name) {
            let code = imp.clash_code;
            let name = imp.name;
            ctx.error(
                code,
                imp.pos,
                format!(
                    "variable \"{name}\" is declared implicitly here and again in the child scope's <variables>; remove the explicit declaration or rename it"
                ),
            );
        } else {
            frame.vars.insert(imp.name, imp.ty);
        }
    }
    env.push(frame);
    if let Some(ev) = on_event {
        messaging::on_event(ctx, env, ev);
    }
    decls::check_initializers(ctx, env, body);
    handlers::check_scope_handlers(ctx, body, site);
    match &body.activity {
        Some(a) => walk_activity(ctx, env, a, site),
        None => ctx.error(
            "BPEL",
            pos,
            "this process or scope has no activity; add the activity it performs (e.g. a <sequence>)",
        ),
    }
    let handler_site = |in_catch| Site {
        in_catch,
        in_fct: true,
        fct_owner: Some(body),
        ..site
    };
    if let Some(fh) = &body.fault_handlers {
        for c in &fh.catches {
            walk_catch(ctx, env, c, handler_site(true));
        }
        if let Some(h) = &fh.catch_all {
            walk_handler(ctx, env, h, handler_site(true));
        }
    }
    for h in [&body.compensation_handler, &body.termination_handler]
        .into_iter()
        .flatten()
    {
        walk_handler(ctx, env, h, handler_site(false));
    }
    if let Some(eh) = &body.event_handlers {
        for ev in &eh.on_events {
            walk_on_event(ctx, env, ev, site);
        }
        for al in &eh.on_alarms {
            structure::check_timing(ctx, env, &al.timing);
            if let Some(e) = &al.repeat_every {
                expr::check(ctx, env, e, expr::Role::Value);
            }
            match al.activity.as_deref() {
                Some(a) => {
                    structure::require_scope(ctx, a, "onAlarm");
                    walk_activity(ctx, env, a, site);
                }
                None => structure::require_scope_missing(ctx, al.pos, "onAlarm"),
            }
        }
    }
    env.pop();
}

fn walk_on_event<'a>(ctx: &mut Ctx<'a>, env: &mut Env<'a>, ev: &'a OnEvent, site: Site<'a>) {
    let mut implicit = Vec::new();
    if let Some(v) = &ev.target.variable {
        let ty = match (&ev.message_type, &ev.element) {
            (Some(m), _) => VarTy::Message(m),
            (None, Some(e)) => VarTy::Element(e),
            (None, None) => VarTy::Unknown,
        };
        implicit.push(Implicit {
            name: v,
            ty,
            pos: ev.pos,
            clash_code: "SA00086",
        });
    }
    for fp in &ev.target.from_parts {
        implicit.push(Implicit {
            name: &fp.to_variable,
            ty: VarTy::Unknown,
            pos: fp.pos,
            clash_code: "SA00086",
        });
    }
    match ev.activity.as_deref() {
        Some(a) => match &a.kind {
            ActivityKind::Scope(s) => {
                activity_common(ctx, env, a);
                let inner = scope_site(ctx, a, s.isolated, s.exit_on_standard_fault, site);
                walk_body(ctx, env, &s.body, inner, &implicit, Some(ev), a.pos);
            }
            _ => {
                structure::require_scope(ctx, a, "onEvent");
                env.push(implicit_frame(&implicit));
                messaging::on_event(ctx, env, ev);
                walk_activity(ctx, env, a, site);
                env.pop();
            }
        },
        None => {
            structure::require_scope_missing(ctx, ev.pos, "onEvent");
            env.push(implicit_frame(&implicit));
            messaging::on_event(ctx, env, ev);
            env.pop();
        }
    }
}

fn implicit_frame<'a>(implicit: &[Implicit<'a>]) -> Frame<'a> {
    let mut frame = Frame::default();
    for imp in implicit {
        frame.vars.insert(imp.name, imp.ty);
    }
    frame
}

fn walk_catch<'a>(ctx: &mut Ctx<'a>, env: &mut Env<'a>, c: &'a Catch, site: Site<'a>) {
    let mut frame = Frame::default();
    if let Some(v) = &c.fault_variable {
        let ty = match (&c.fault_message_type, &c.fault_element) {
            (Some(m), _) => VarTy::Message(m),
            (None, Some(e)) => VarTy::Element(e),
            (None, None) => VarTy::Unknown,
        };
        frame.vars.insert(v.as_str(), ty);
    }
    env.push(frame);
    if let Some(a) = &c.activity {
        walk_activity(ctx, env, a, site);
    }
    env.pop();
}

fn walk_handler<'a>(ctx: &mut Ctx<'a>, env: &mut Env<'a>, h: &'a Handler, site: Site<'a>) {
    if let Some(a) = &h.activity {
        walk_activity(ctx, env, a, site);
    }
}

fn scope_site<'a>(
    ctx: &mut Ctx<'a>,
    a: &'a Activity,
    isolated: bool,
    exit_on_standard_fault: Option<bool>,
    site: Site<'a>,
) -> Site<'a> {
    if isolated && site.isolated {
        let name = a.name.as_deref().unwrap_or("(unnamed)");
        ctx.error(
            "SA00091",
            a.pos,
            format!(
                "isolated scope \"{name}\" is nested inside another isolated scope; isolated scopes must not contain isolated scopes, so remove isolated=\"yes\" from one of them"
            ),
        );
    }
    Site {
        isolated: site.isolated || isolated,
        exit_on_standard_fault: exit_on_standard_fault.unwrap_or(site.exit_on_standard_fault),
        ..site
    }
}

/// Checks the standard elements every activity may carry (join and transition conditions).
fn activity_common<'a>(ctx: &mut Ctx<'a>, env: &Env<'a>, a: &'a Activity) {
    if let Some(t) = &a.targets
        && let Some(j) = &t.join_condition
    {
        expr::check(ctx, env, j, expr::Role::JoinCondition(&t.links));
    }
    for s in &a.sources {
        if let Some(c) = &s.transition_condition {
            expr::check(ctx, env, c, expr::Role::Value);
        }
    }
}

/// Walks one activity and everything below it.
pub(crate) fn walk_activity<'a>(
    ctx: &mut Ctx<'a>,
    env: &mut Env<'a>,
    a: &'a Activity,
    site: Site<'a>,
) {
    activity_common(ctx, env, a);
    let walk_opt = |ctx: &mut Ctx<'a>, env: &mut Env<'a>, b: &'a Option<Box<Activity>>| {
        if let Some(b) = b {
            walk_activity(ctx, env, b, site);
        }
    };
    match &a.kind {
        ActivityKind::Receive(r) => messaging::receive(ctx, env, a, r),
        ActivityKind::Reply(r) => messaging::reply(ctx, env, a, r),
        ActivityKind::Invoke(inv) => {
            messaging::invoke(ctx, env, a, inv);
            handlers::check_invoke_handlers(ctx, a, inv);
            // Inline handlers are those of an implicit scope around the invoke (§10.3).
            let inner = Site {
                in_fct: true,
                fct_owner: None,
                ..site
            };
            for c in &inv.catches {
                walk_catch(
                    ctx,
                    env,
                    c,
                    Site {
                        in_catch: true,
                        ..inner
                    },
                );
            }
            if let Some(h) = &inv.catch_all {
                walk_handler(
                    ctx,
                    env,
                    h,
                    Site {
                        in_catch: true,
                        ..inner
                    },
                );
            }
            if let Some(h) = &inv.compensation_handler {
                walk_handler(ctx, env, h, inner);
            }
        }
        ActivityKind::Assign(asg) => assign::check(ctx, env, asg),
        ActivityKind::Throw { fault_variable, .. } => {
            if let Some(v) = fault_variable
                && env.var(v).is_none()
            {
                ctx.undeclared_variable(a.pos, v, "faultVariable of <throw>");
            }
        }
        ActivityKind::Rethrow | ActivityKind::Compensate | ActivityKind::CompensateScope { .. } => {
            handlers::check_placement(ctx, a, site);
        }
        ActivityKind::Exit | ActivityKind::Empty | ActivityKind::Extension(_) => {
            if let ActivityKind::Extension(el) = &a.kind {
                structure::check_extension_element(ctx, el, a.pos);
            }
        }
        ActivityKind::Wait(t) => structure::check_timing(ctx, env, t),
        ActivityKind::Sequence(children) => {
            for c in children {
                walk_activity(ctx, env, c, site);
            }
        }
        ActivityKind::Flow(f) => {
            for c in &f.activities {
                walk_activity(ctx, env, c, site);
            }
        }
        ActivityKind::If(i) => {
            if let Some(c) = &i.condition {
                expr::check(ctx, env, c, expr::Role::Value);
            }
            walk_opt(ctx, env, &i.then);
            for ei in &i.else_ifs {
                if let Some(c) = &ei.condition {
                    expr::check(ctx, env, c, expr::Role::Value);
                }
                walk_opt(ctx, env, &ei.activity);
            }
            if let Some(h) = &i.otherwise {
                walk_handler(ctx, env, h, site);
            }
        }
        ActivityKind::While { condition, body } | ActivityKind::RepeatUntil { body, condition } => {
            if let Some(c) = condition {
                expr::check(ctx, env, c, expr::Role::Value);
            }
            walk_opt(ctx, env, body);
        }
        ActivityKind::ForEach(fe) => {
            for e in [&fe.start, &fe.end].into_iter().flatten() {
                expr::check(ctx, env, e, expr::Role::Value);
            }
            if let Some(cc) = &fe.completion
                && let Some(b) = &cc.branches
            {
                expr::check(ctx, env, b, expr::Role::Value);
            }
            let counter = [Implicit {
                name: &fe.counter_name,
                ty: VarTy::Counter,
                pos: a.pos,
                clash_code: "SA00076",
            }];
            match fe.activity.as_deref() {
                Some(child) => match &child.kind {
                    ActivityKind::Scope(s) => {
                        activity_common(ctx, env, child);
                        let inner =
                            scope_site(ctx, child, s.isolated, s.exit_on_standard_fault, site);
                        walk_body(ctx, env, &s.body, inner, &counter, None, child.pos);
                    }
                    _ => {
                        structure::require_scope(ctx, child, "forEach");
                        env.push(implicit_frame(&counter));
                        walk_activity(ctx, env, child, site);
                        env.pop();
                    }
                },
                None => structure::require_scope_missing(ctx, a.pos, "forEach"),
            }
        }
        ActivityKind::Pick(p) => {
            messaging::pick(ctx, a, p);
            for om in &p.on_messages {
                messaging::on_message(ctx, env, om);
                walk_opt(ctx, env, &om.activity);
            }
            for al in &p.on_alarms {
                structure::check_timing(ctx, env, &al.timing);
                walk_opt(ctx, env, &al.activity);
            }
        }
        ActivityKind::Scope(s) => {
            let inner = scope_site(ctx, a, s.isolated, s.exit_on_standard_fault, site);
            walk_body(ctx, env, &s.body, inner, &[], None, a.pos);
        }
        ActivityKind::Validate { variables } => {
            for v in variables {
                if env.var(v).is_none() {
                    ctx.undeclared_variable(a.pos, v, "<validate variables>");
                }
            }
        }
    }
}
