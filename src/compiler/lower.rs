//! Lowering: a checked AST becomes a [`model::Process`] with every name resolved to an id.
//!
//! Lowering runs only on processes that passed the static checks, so every failed lookup here
//! means the checker let something through; it is still reported (code `BPEL`) and never panics.
//! Activities are numbered in pre-order (a parent before its children), a scope's primary
//! activity before its handlers.

use std::collections::HashSet;

use bpelgate_wsdl::wsdl::{Operation, PartKind, WsdlSet};
use bpelgate_wsdl::{Pos, QName};

use super::Options;
use super::ast;
use super::check;
use super::diag::Diagnostic;
use crate::model::{
    self, ActivityId, ActivityKind, ActivityNode, CorrelationRef, CorrelationSetId, Dialect,
    EndpointRole, ExprDecl, ExprId, ExprKind, FaultHandlers, FromSpec, Inbound, LinkDecl, LinkId,
    MessageExchangeDecl, MessageExchangeId, OperationRef, PartBinding, PartnerLink, PartnerLinkId,
    ScopeDecl, ScopeId, ScopeKind, Timing, ToSpec, VarType, VariableDecl, VariableId,
    VariableOrigin, XPATH_1_0,
};
use crate::xpath::{self, Language};

/// The XML Schema namespace (forEach counters are `xsd:unsignedInt`).
const XSD_NS: &str = "http://www.w3.org/2001/XMLSchema";

/// Stands in for an id that could not be resolved; a diagnostic is always recorded with it, so
/// it never reaches a returned process.
const UNRESOLVED: u32 = u32::MAX;

/// Lowers a checked process to its compiled form.
///
/// `file` is the package-relative path used in diagnostics and kept in the model; `wsdl` holds
/// every WSDL document of the package (partnerLinkTypes and portTypes are looked up there).
pub fn lower(
    file: &str,
    ast: &ast::Process,
    wsdl: &WsdlSet,
) -> Result<model::Process, Vec<Diagnostic>> {
    lower_with(file, ast, wsdl, &Options::default())
}

/// [`lower`] with explicit compiler [`Options`]: with `ode_compat`, start activities sharing a
/// correlation set with `initiate="yes"` join it (SA00057), and the process is marked so the
/// runtime copies whole messages between message types like Apache ODE (SA00043).
pub fn lower_with(
    file: &str,
    ast: &ast::Process,
    wsdl: &WsdlSet,
    options: &Options,
) -> Result<model::Process, Vec<Diagnostic>> {
    let mut l = Lowerer::new(file, ast, wsdl);
    l.p.ode_compat = options.ode_compat;
    if options.ode_compat {
        l.join_sets = super::check::shared_start_sets(ast);
    }
    l.lower_process(ast);
    l.finish()
}

/// Where an activity sits: what it inherits from its lexical context.
#[derive(Clone, Copy)]
struct Ctx {
    parent: Option<ActivityId>,
    scope: ScopeId,
    suppress_join_failure: bool,
}

/// A variable a construct declares in its child scope without a `<variable>` element.
struct ImplicitVar {
    name: String,
    ty: VarType,
    origin: VariableOrigin,
    pos: Pos,
}

/// Which role of a partner link a messaging activity uses.
#[derive(Clone, Copy, PartialEq)]
enum Role {
    My,
    Partner,
}

struct Lowerer<'a> {
    file: &'a str,
    wsdl: &'a WsdlSet,
    p: model::Process,
    /// (source, target) of each link, filled while the flow's children are lowered.
    link_ends: Vec<(Option<ActivityId>, Option<ActivityId>)>,
    /// Links of the flows enclosing the activity being lowered, innermost last.
    flow_stack: Vec<Vec<LinkId>>,
    /// compensateScope activities whose target is resolved once every activity exists.
    compensate_targets: Vec<(ActivityId, String, Pos)>,
    diags: Vec<Diagnostic>,
    /// ode-compat: correlation sets shared by several start activities, which those start
    /// activities join even when they say `initiate="yes"` (SA00057).
    join_sets: HashSet<String>,
}

impl<'a> Lowerer<'a> {
    fn new(file: &'a str, ast: &ast::Process, wsdl: &'a WsdlSet) -> Self {
        let dialect = match ast.dialect {
            ast::Dialect::Bpel20 => Dialect::Bpel20,
            ast::Dialect::Bpel20Draft => Dialect::Bpel20Draft,
            ast::Dialect::Bpel11 => Dialect::Bpel11,
        };
        let p = model::Process {
            format_version: model::FORMAT_VERSION,
            name: QName::new(&ast.target_namespace, &ast.name),
            file: file.to_string(),
            partner_links: Vec::new(),
            dialect,
            expression_language: ast
                .expression_language
                .clone()
                .unwrap_or_else(|| XPATH_1_0.to_string()),
            query_language: ast
                .query_language
                .clone()
                .unwrap_or_else(|| XPATH_1_0.to_string()),
            extensions: ast
                .extensions
                .iter()
                .map(|e| model::Extension {
                    namespace: e.namespace.clone(),
                    must_understand: e.must_understand,
                })
                .collect(),
            extension_attributes: ast.foreign_attrs.clone(),
            activities: Vec::new(),
            scopes: Vec::new(),
            variables: Vec::new(),
            links: Vec::new(),
            correlation_sets: Vec::new(),
            message_exchanges: Vec::new(),
            exprs: Vec::new(),
            start_activities: Vec::new(),
            ode_compat: false,
        };
        Lowerer {
            file,
            wsdl,
            p,
            link_ends: Vec::new(),
            flow_stack: Vec::new(),
            compensate_targets: Vec::new(),
            diags: Vec::new(),
            join_sets: HashSet::new(),
        }
    }

    fn error(&mut self, pos: Pos, message: String) {
        self.diags
            .push(Diagnostic::error("BPEL", self.file, pos, message));
    }

    fn lower_process(&mut self, ast: &ast::Process) {
        let sid = self.new_scope(
            ScopeKind::Process,
            Some(ast.name.clone()),
            None,
            None,
            false,
            ast.exit_on_standard_fault.unwrap_or(false),
            ast.pos,
        );
        self.declare(sid, &ast.body, Vec::new());
        let ctx = Ctx {
            parent: None,
            scope: sid,
            suppress_join_failure: ast.suppress_join_failure.unwrap_or(false),
        };
        match &ast.body.activity {
            Some(a) => {
                let body = self.activity(a, ctx, Vec::new());
                self.p.scopes[sid.index()].body = Some(body);
            }
            None => self.error(ast.pos, "the process has no primary activity".into()),
        }
        self.handlers(sid, &ast.body, ctx);
    }

    fn finish(mut self) -> Result<model::Process, Vec<Diagnostic>> {
        for (i, ends) in std::mem::take(&mut self.link_ends).into_iter().enumerate() {
            let link = &self.p.links[i];
            let (name, pos) = (link.name.clone(), link.pos);
            match ends {
                (Some(source), Some(target)) => {
                    self.p.links[i].source = source;
                    self.p.links[i].target = target;
                }
                (None, _) => self.error(pos, format!("link `{name}` has no source activity")),
                (_, None) => self.error(pos, format!("link `{name}` has no target activity")),
            }
        }
        for (id, target, pos) in std::mem::take(&mut self.compensate_targets) {
            match self.compensation_target(id, &target) {
                Some(t) => {
                    self.p.activities[id.index()].kind = ActivityKind::CompensateScope { target: t }
                }
                None => self.error(
                    pos,
                    format!(
                        "compensateScope target `{target}` is not a scope or invoke immediately \
                         enclosed by the handler's scope"
                    ),
                ),
            }
        }
        if self.diags.is_empty() {
            Ok(self.p)
        } else {
            Err(self.diags)
        }
    }

    // ----- scopes and declarations -----

    #[allow(clippy::too_many_arguments)]
    fn new_scope(
        &mut self,
        kind: ScopeKind,
        name: Option<String>,
        activity: Option<ActivityId>,
        parent: Option<ScopeId>,
        isolated: bool,
        exit_on_standard_fault: bool,
        pos: Pos,
    ) -> ScopeId {
        let id = ScopeId(self.p.scopes.len() as u32);
        self.p.scopes.push(ScopeDecl {
            id,
            kind,
            name,
            activity,
            parent,
            isolated,
            exit_on_standard_fault,
            variables: Vec::new(),
            partner_links: Vec::new(),
            correlation_sets: Vec::new(),
            message_exchanges: Vec::new(),
            fault_handlers: None,
            compensation_handler: None,
            termination_handler: None,
            on_events: Vec::new(),
            on_alarms: Vec::new(),
            body: None,
            pos,
        });
        id
    }

    fn new_variable(
        &mut self,
        scope: ScopeId,
        name: &str,
        ty: VarType,
        origin: VariableOrigin,
        pos: Pos,
    ) -> VariableId {
        let id = VariableId(self.p.variables.len() as u32);
        self.p.variables.push(VariableDecl {
            id,
            name: name.to_string(),
            scope,
            ty,
            init: None,
            origin,
            pos,
        });
        self.p.scopes[scope.index()].variables.push(id);
        id
    }

    /// Declares what `body` declares (after the construct's implicit variables) in scope `sid`.
    fn declare(&mut self, sid: ScopeId, body: &ast::ScopeBody, implicit: Vec<ImplicitVar>) {
        for v in implicit {
            self.new_variable(sid, &v.name, v.ty, v.origin, v.pos);
        }
        for pl in &body.partner_links {
            self.declare_partner_link(sid, pl);
        }
        for m in &body.message_exchanges {
            let id = MessageExchangeId(self.p.message_exchanges.len() as u32);
            self.p.message_exchanges.push(MessageExchangeDecl {
                id,
                name: m.name.clone(),
                scope: sid,
                implicit: false,
                pos: m.pos,
            });
            self.p.scopes[sid.index()].message_exchanges.push(id);
        }
        let mut declared = Vec::new();
        for v in &body.variables {
            let ty = match v.types.as_slice() {
                [t] => match t {
                    ast::VariableType::MessageType(q) => VarType::MessageType(q.clone()),
                    ast::VariableType::Type(q) => VarType::Type(q.clone()),
                    ast::VariableType::Element(q) => VarType::Element(q.clone()),
                },
                _ => {
                    self.error(
                        v.pos,
                        format!(
                            "variable `{}` must have exactly one of messageType, type, element",
                            v.name
                        ),
                    );
                    continue;
                }
            };
            let id = self.new_variable(sid, &v.name, ty, VariableOrigin::Declared, v.pos);
            declared.push((id, v));
        }
        // Initialisers are resolved once all variables of the scope exist: they may read
        // variables declared before them in the same scope.
        for (id, v) in declared {
            if let Some(from) = &v.from {
                let init = self.lower_from(from, sid);
                self.p.variables[id.index()].init = init;
            }
        }
        for c in &body.correlation_sets {
            let id = CorrelationSetId(self.p.correlation_sets.len() as u32);
            self.p.correlation_sets.push(model::CorrelationSet {
                id,
                name: c.name.clone(),
                scope: sid,
                properties: c.properties.clone(),
                pos: c.pos,
            });
            self.p.scopes[sid.index()].correlation_sets.push(id);
        }
    }

    fn declare_partner_link(&mut self, sid: ScopeId, pl: &ast::PartnerLinkDecl) {
        let Some(plt_name) = &pl.partner_link_type else {
            self.error(
                pl.pos,
                format!("partnerLink `{}` has no partnerLinkType", pl.name),
            );
            return;
        };
        let Some(plt) = self.wsdl.partner_link_type(plt_name) else {
            self.error(
                pl.pos,
                format!(
                    "partnerLinkType `{plt_name}` of partnerLink `{}` is not defined in the package",
                    pl.name
                ),
            );
            return;
        };
        let mut role = |r: &Option<String>| -> Option<(String, QName)> {
            let r = r.as_ref()?;
            match plt.role(r) {
                Some(role) => Some((r.clone(), role.port_type.clone())),
                None => {
                    self.diags.push(Diagnostic::error(
                        "BPEL",
                        self.file,
                        pl.pos,
                        format!(
                            "role `{r}` of partnerLink `{}` is not a role of partnerLinkType \
                             `{plt_name}`",
                            pl.name
                        ),
                    ));
                    None
                }
            }
        };
        let my_role = role(&pl.my_role);
        let partner_role = role(&pl.partner_role);
        let id = PartnerLinkId(self.p.partner_links.len() as u32);
        self.p.partner_links.push(PartnerLink {
            name: pl.name.clone(),
            partner_link_type: plt_name.clone(),
            my_role,
            partner_role,
            id,
            scope: sid,
            initialize_partner_role: pl.initialize_partner_role,
            pos: pl.pos,
        });
        self.p.scopes[sid.index()].partner_links.push(id);
    }

    /// Lowers the primary activity's siblings: fault, compensation, termination and event
    /// handlers of scope `sid`. `ctx` is the context of the scope's own children.
    fn handlers(&mut self, sid: ScopeId, body: &ast::ScopeBody, ctx: Ctx) {
        if let Some(fh) = &body.fault_handlers {
            let handlers = self.fault_handlers(sid, &fh.catches, fh.catch_all.as_ref(), ctx);
            self.p.scopes[sid.index()].fault_handlers = Some(handlers);
        }
        if let Some(h) = &body.compensation_handler {
            let a = self.handler_activity(h, ctx, "compensationHandler");
            self.p.scopes[sid.index()].compensation_handler = Some(a);
        }
        if let Some(h) = &body.termination_handler {
            let a = self.handler_activity(h, ctx, "terminationHandler");
            self.p.scopes[sid.index()].termination_handler = Some(a);
        }
        if let Some(eh) = &body.event_handlers {
            for ev in &eh.on_events {
                let on_event = self.on_event(ev, ctx);
                self.p.scopes[sid.index()].on_events.push(on_event);
            }
            for al in &eh.on_alarms {
                let alarm = self.on_alarm(al, ctx);
                self.p.scopes[sid.index()].on_alarms.push(alarm);
            }
        }
    }

    fn handler_activity(&mut self, h: &ast::Handler, ctx: Ctx, what: &str) -> ActivityId {
        self.required(h.activity.as_deref(), ctx, h.pos, what)
    }

    fn fault_handlers(
        &mut self,
        sid: ScopeId,
        catches: &[ast::Catch],
        catch_all: Option<&ast::Handler>,
        ctx: Ctx,
    ) -> FaultHandlers {
        let mut out = FaultHandlers::default();
        for c in catches {
            let fault_type = match (&c.fault_message_type, &c.fault_element) {
                (Some(m), _) => Some(VarType::MessageType(m.clone())),
                (None, Some(e)) => Some(VarType::Element(e.clone())),
                (None, None) => None,
            };
            let mut catch_ctx = ctx;
            let mut catch_scope = None;
            let fault_variable = match (&c.fault_variable, &fault_type) {
                (Some(name), Some(ty)) => {
                    let eosf = self.p.scopes[sid.index()].exit_on_standard_fault;
                    let cs =
                        self.new_scope(ScopeKind::Catch, None, None, Some(sid), false, eosf, c.pos);
                    catch_ctx.scope = cs;
                    catch_scope = Some(cs);
                    Some(self.new_variable(
                        cs,
                        name,
                        ty.clone(),
                        VariableOrigin::FaultVariable,
                        c.pos,
                    ))
                }
                // BPEL4WS 1.1: an untyped faultVariable names a variable declared in scope.
                (Some(name), None) => Some(self.variable(sid, name, c.pos)),
                (None, _) => None,
            };
            let activity = self.required(c.activity.as_deref(), catch_ctx, c.pos, "catch");
            out.catches.push(model::Catch {
                fault_name: c.fault_name.clone(),
                fault_variable,
                fault_type,
                scope: catch_scope,
                activity,
                pos: c.pos,
            });
        }
        if let Some(h) = catch_all {
            out.catch_all = Some(self.handler_activity(h, ctx, "catchAll"));
        }
        out
    }

    fn on_event(&mut self, ev: &ast::OnEvent, ctx: Ctx) -> model::OnEvent {
        let t = &ev.target;
        let mut implicit = Vec::new();
        // The message shape is needed only when a declared type is missing (the draft dialects)
        // or fromParts declare variables typed by the parts.
        let needs_op = (t.variable.is_some() && ev.message_type.is_none() && ev.element.is_none())
            || !t.from_parts.is_empty();
        let input = if needs_op {
            self.input_message_early(t, ctx.scope, ev.pos)
        } else {
            None
        };
        if let Some(v) = &t.variable {
            let ty = match (&ev.message_type, &ev.element) {
                (Some(m), _) => Some(VarType::MessageType(m.clone())),
                (None, Some(e)) => Some(VarType::Element(e.clone())),
                (None, None) => input.as_ref().map(|m| VarType::MessageType(m.name.clone())),
            };
            match ty {
                Some(ty) => implicit.push(ImplicitVar {
                    name: v.clone(),
                    ty,
                    origin: VariableOrigin::OnEvent,
                    pos: ev.pos,
                }),
                None => self.error(
                    ev.pos,
                    format!("cannot determine the type of onEvent variable `{v}`"),
                ),
            }
        }
        for fp in &t.from_parts {
            let part = input.as_ref().and_then(|m| m.part(&fp.part));
            match part {
                Some(part) => implicit.push(ImplicitVar {
                    name: fp.to_variable.clone(),
                    ty: match &part.kind {
                        PartKind::Element(q) => VarType::Element(q.clone()),
                        PartKind::Type(q) => VarType::Type(q.clone()),
                    },
                    origin: VariableOrigin::OnEvent,
                    pos: fp.pos,
                }),
                None => self.error(
                    fp.pos,
                    format!("fromPart `{}` is not a part of the input message", fp.part),
                ),
            }
        }
        let activity = match ev.activity.as_deref() {
            Some(a) => self.activity(a, ctx, implicit),
            None => {
                self.error(ev.pos, "onEvent has no scope".into());
                ActivityId(UNRESOLVED)
            }
        };
        let scope = match self.p.activities.get(activity.index()).map(|a| &a.kind) {
            Some(ActivityKind::Scope(s)) => *s,
            // Reported by `activity` (a non-scope child with implicit variables) or above.
            _ => ctx.scope,
        };
        let inbound = self.inbound(t, scope, ev.pos);
        model::OnEvent {
            inbound,
            activity,
            scope,
            pos: ev.pos,
        }
    }

    /// The input message of an onEvent's operation, found before its scope (and so any partner
    /// link declared there) exists: the partner link is looked up from the enclosing scope.
    fn input_message_early(
        &mut self,
        t: &ast::MessageTarget,
        scope: ScopeId,
        pos: Pos,
    ) -> Option<bpelgate_wsdl::wsdl::Message> {
        let port_type = match &t.port_type {
            Some(pt) => Some(pt.clone()),
            None => self
                .find_partner_link(scope, &t.partner_link)
                .and_then(|pl| self.p.partner_links[pl.index()].my_role.clone())
                .map(|(_, pt)| pt),
        };
        let op = port_type
            .as_ref()
            .and_then(|pt| self.wsdl.port_type(pt))
            .and_then(|pt| pt.operation(&t.operation));
        let msg = op
            .and_then(|o| o.input.as_ref())
            .and_then(|m| self.wsdl.message(m));
        if msg.is_none() {
            self.error(
                pos,
                format!(
                    "cannot find the input message of operation `{}` of partnerLink `{}`",
                    t.operation, t.partner_link
                ),
            );
        }
        msg.cloned()
    }

    fn on_alarm(&mut self, al: &ast::OnAlarm, ctx: Ctx) -> model::OnAlarm {
        let timing = self.timing(&al.timing);
        let repeat_every = al
            .repeat_every
            .as_ref()
            .map(|e| self.expr(e, ExprKind::Expression));
        let activity = self.required(al.activity.as_deref(), ctx, al.pos, "onAlarm");
        model::OnAlarm {
            timing,
            repeat_every,
            activity,
            pos: al.pos,
        }
    }

    // ----- activities -----

    /// Lowers a child the grammar requires; a missing one is reported.
    fn required(
        &mut self,
        a: Option<&ast::Activity>,
        ctx: Ctx,
        pos: Pos,
        what: &str,
    ) -> ActivityId {
        match a {
            Some(a) => self.activity(a, ctx, Vec::new()),
            None => {
                self.error(pos, format!("{what} has no activity"));
                ActivityId(UNRESOLVED)
            }
        }
    }

    fn activity(&mut self, a: &ast::Activity, ctx: Ctx, implicit: Vec<ImplicitVar>) -> ActivityId {
        let id = ActivityId(self.p.activities.len() as u32);
        let sjf = a.suppress_join_failure.unwrap_or(ctx.suppress_join_failure);
        self.p.activities.push(ActivityNode {
            id,
            name: a.name.clone(),
            pos: a.pos,
            parent: ctx.parent,
            scope: ctx.scope,
            suppress_join_failure: sjf,
            join_condition: None,
            targets: Vec::new(),
            sources: Vec::new(),
            kind: ActivityKind::Empty,
            extension_elements: a.extension_elements.clone(),
        });
        if let Some(t) = &a.targets {
            let join = t
                .join_condition
                .as_ref()
                .map(|e| self.expr(e, ExprKind::Expression));
            let mut targets = Vec::new();
            for (name, pos) in &t.links {
                if let Some(l) = self.link_end(name, *pos, id, false) {
                    targets.push(l);
                }
            }
            let node = &mut self.p.activities[id.index()];
            node.join_condition = join;
            node.targets = targets;
        }
        let mut sources = Vec::new();
        for s in &a.sources {
            let cond = s
                .transition_condition
                .as_ref()
                .map(|e| self.expr(e, ExprKind::Expression));
            if let Some(l) = self.link_end(&s.link, s.pos, id, true) {
                sources.push((l, cond));
            }
        }
        self.p.activities[id.index()].sources = sources;

        let child = Ctx {
            parent: Some(id),
            scope: ctx.scope,
            suppress_join_failure: sjf,
        };
        if !implicit.is_empty() && !matches!(a.kind, ast::ActivityKind::Scope(_)) {
            self.error(
                a.pos,
                "the child of onEvent and forEach must be a <scope>".into(),
            );
        }
        let kind = match &a.kind {
            ast::ActivityKind::Receive(r) => {
                let mut inbound = self.inbound(&r.target, ctx.scope, a.pos);
                if r.create_instance {
                    self.p.start_activities.push(id);
                    self.join_shared_sets(&mut inbound, &r.target);
                }
                ActivityKind::Receive(Box::new(model::Receive {
                    inbound,
                    create_instance: r.create_instance,
                }))
            }
            ast::ActivityKind::Reply(r) => self.reply(r, ctx.scope, a.pos),
            ast::ActivityKind::Invoke(inv) => self.invoke(inv, id, ctx, child, a.pos),
            ast::ActivityKind::Assign(asg) => self.assign(asg, ctx.scope),
            ast::ActivityKind::Throw {
                fault_name,
                fault_variable,
            } => {
                let fault_variable = fault_variable
                    .as_ref()
                    .map(|v| self.variable(ctx.scope, v, a.pos));
                match fault_name {
                    Some(fault_name) => ActivityKind::Throw {
                        fault_name: fault_name.clone(),
                        fault_variable,
                    },
                    None => {
                        self.error(a.pos, "throw has no faultName".into());
                        ActivityKind::Empty
                    }
                }
            }
            ast::ActivityKind::Rethrow => ActivityKind::Rethrow,
            ast::ActivityKind::Exit => ActivityKind::Exit,
            ast::ActivityKind::Wait(t) => ActivityKind::Wait(self.timing(t)),
            ast::ActivityKind::Empty => ActivityKind::Empty,
            ast::ActivityKind::Sequence(children) => ActivityKind::Sequence(
                children
                    .iter()
                    .map(|c| self.activity(c, child, Vec::new()))
                    .collect(),
            ),
            ast::ActivityKind::If(i) => self.if_(i, child, a.pos),
            ast::ActivityKind::While { condition, body } => {
                let condition = self.required_expr(condition.as_ref(), a.pos, "while condition");
                let body = self.required(body.as_deref(), child, a.pos, "while");
                ActivityKind::While { condition, body }
            }
            ast::ActivityKind::RepeatUntil { body, condition } => {
                let body = self.required(body.as_deref(), child, a.pos, "repeatUntil");
                let condition =
                    self.required_expr(condition.as_ref(), a.pos, "repeatUntil condition");
                ActivityKind::RepeatUntil { body, condition }
            }
            ast::ActivityKind::ForEach(f) => self.for_each(f, child, a.pos),
            ast::ActivityKind::Pick(p) => {
                if p.create_instance {
                    self.p.start_activities.push(id);
                }
                self.pick(p, child)
            }
            ast::ActivityKind::Flow(f) => self.flow(f, id, child),
            ast::ActivityKind::Scope(s) => self.scope(s, a, id, ctx, child, implicit),
            ast::ActivityKind::Compensate => ActivityKind::Compensate,
            ast::ActivityKind::CompensateScope { target } => {
                self.compensate_targets.push((id, target.clone(), a.pos));
                // Replaced with the resolved target in `finish`.
                ActivityKind::CompensateScope {
                    target: ActivityId(UNRESOLVED),
                }
            }
            ast::ActivityKind::Validate { variables } => ActivityKind::Validate {
                variables: variables
                    .iter()
                    .map(|v| self.variable(ctx.scope, v, a.pos))
                    .collect(),
            },
            ast::ActivityKind::Extension(e) => ActivityKind::Extension(e.clone()),
        };
        self.p.activities[id.index()].kind = kind;
        id
    }

    fn scope(
        &mut self,
        s: &ast::Scope,
        a: &ast::Activity,
        id: ActivityId,
        ctx: Ctx,
        child: Ctx,
        implicit: Vec<ImplicitVar>,
    ) -> ActivityKind {
        let inherited = self.p.scopes[ctx.scope.index()].exit_on_standard_fault;
        let sid = self.new_scope(
            ScopeKind::Scope,
            a.name.clone(),
            Some(id),
            Some(ctx.scope),
            s.isolated,
            s.exit_on_standard_fault.unwrap_or(inherited),
            a.pos,
        );
        self.declare(sid, &s.body, implicit);
        let inner = Ctx {
            scope: sid,
            ..child
        };
        let body = self.required(s.body.activity.as_deref(), inner, a.pos, "scope");
        self.p.scopes[sid.index()].body = Some(body);
        self.handlers(sid, &s.body, inner);
        ActivityKind::Scope(sid)
    }

    fn flow(&mut self, f: &ast::Flow, id: ActivityId, child: Ctx) -> ActivityKind {
        let mut links = Vec::new();
        for (name, pos) in &f.links {
            let lid = LinkId(self.p.links.len() as u32);
            self.p.links.push(LinkDecl {
                id: lid,
                name: name.clone(),
                flow: id,
                source: ActivityId(UNRESOLVED),
                target: ActivityId(UNRESOLVED),
                pos: *pos,
            });
            self.link_ends.push((None, None));
            links.push(lid);
        }
        self.flow_stack.push(links.clone());
        let activities = f
            .activities
            .iter()
            .map(|c| self.activity(c, child, Vec::new()))
            .collect();
        self.flow_stack.pop();
        ActivityKind::Flow { links, activities }
    }

    /// Records `activity` as the source or target of the innermost link named `name`.
    fn link_end(
        &mut self,
        name: &str,
        pos: Pos,
        activity: ActivityId,
        source: bool,
    ) -> Option<LinkId> {
        let found = self
            .flow_stack
            .iter()
            .rev()
            .flat_map(|frame| frame.iter().copied())
            .find(|l| self.p.links[l.index()].name == name);
        let Some(l) = found else {
            self.error(
                pos,
                format!("link `{name}` is not declared by an enclosing flow"),
            );
            return None;
        };
        let ends = &mut self.link_ends[l.index()];
        let slot = if source { &mut ends.0 } else { &mut ends.1 };
        if slot.is_some() {
            let role = if source { "source" } else { "target" };
            self.error(pos, format!("link `{name}` has more than one {role}"));
            return None;
        }
        *slot = Some(activity);
        Some(l)
    }

    fn if_(&mut self, i: &ast::If, child: Ctx, pos: Pos) -> ActivityKind {
        let mut branches = Vec::new();
        let cond = self.required_expr(i.condition.as_ref(), pos, "if condition");
        let then = self.required(i.then.as_deref(), child, pos, "if");
        branches.push((Some(cond), then));
        for e in &i.else_ifs {
            let cond = self.required_expr(e.condition.as_ref(), e.pos, "elseif condition");
            let act = self.required(e.activity.as_deref(), child, e.pos, "elseif");
            branches.push((Some(cond), act));
        }
        if let Some(h) = &i.otherwise {
            let act = self.handler_activity(h, child, "else");
            branches.push((None, act));
        }
        ActivityKind::If(branches)
    }

    fn for_each(&mut self, f: &ast::ForEach, child: Ctx, pos: Pos) -> ActivityKind {
        let start = self.required_expr(f.start.as_ref(), pos, "startCounterValue");
        let end = self.required_expr(f.end.as_ref(), pos, "finalCounterValue");
        let completion = f.completion.as_ref().map(|c| model::CompletionCondition {
            branches: c
                .branches
                .as_ref()
                .map(|e| self.expr(e, ExprKind::Expression)),
            successful_branches_only: c.successful_branches_only,
        });
        let counter_var = ImplicitVar {
            name: f.counter_name.clone(),
            ty: VarType::Type(QName::new(XSD_NS, "unsignedInt")),
            origin: VariableOrigin::ForEachCounter,
            pos,
        };
        let (activity, counter) = match f.activity.as_deref() {
            Some(a) => {
                let activity = self.activity(a, child, vec![counter_var]);
                let counter = match &self.p.activities[activity.index()].kind {
                    ActivityKind::Scope(s) => self.p.scopes[s.index()].variables.first().copied(),
                    _ => None,
                };
                (activity, counter.unwrap_or(VariableId(UNRESOLVED)))
            }
            None => {
                self.error(pos, "forEach has no scope".into());
                (ActivityId(UNRESOLVED), VariableId(UNRESOLVED))
            }
        };
        ActivityKind::ForEach(Box::new(model::ForEach {
            counter,
            parallel: f.parallel,
            start,
            end,
            completion,
            activity,
        }))
    }

    fn pick(&mut self, p: &ast::Pick, child: Ctx) -> ActivityKind {
        let mut on_messages = Vec::new();
        for m in &p.on_messages {
            let mut inbound = self.inbound(&m.target, child.scope, m.pos);
            if p.create_instance {
                self.join_shared_sets(&mut inbound, &m.target);
            }
            let activity = self.required(m.activity.as_deref(), child, m.pos, "onMessage");
            on_messages.push(model::OnMessage {
                inbound,
                activity,
                pos: m.pos,
            });
        }
        let on_alarms = p
            .on_alarms
            .iter()
            .map(|al| self.on_alarm(al, child))
            .collect();
        ActivityKind::Pick(Box::new(model::Pick {
            create_instance: p.create_instance,
            on_messages,
            on_alarms,
        }))
    }

    fn invoke(
        &mut self,
        inv: &ast::Invoke,
        id: ActivityId,
        ctx: Ctx,
        child: Ctx,
        pos: Pos,
    ) -> ActivityKind {
        let scope = ctx.scope;
        let partner_link = self.partner_link(scope, &inv.partner_link, pos);
        let operation = self.operation(
            partner_link,
            inv.port_type.as_ref(),
            &inv.operation,
            Role::Partner,
            pos,
        );
        // Tools write `inputVariable=""` for an operation without input: it names no variable.
        let input_variable = inv
            .input_variable
            .as_ref()
            .filter(|v| !v.is_empty())
            .map(|v| self.variable(scope, v, pos));
        let output_variable = inv
            .output_variable
            .as_ref()
            .filter(|v| !v.is_empty())
            .map(|v| self.variable(scope, v, pos));
        let mut correlations = self.correlations(&inv.correlations, scope);
        // ode-compat (SA00046): Apache ODE applies an invoke correlation to the request when
        // its pattern says "request", to the response when it says "response"; one without a
        // pattern on a request-response operation applies to neither, so it is dropped.
        if self.p.ode_compat && operation.request_response && self.p.dialect != Dialect::Bpel11 {
            correlations.retain(|c| c.pattern.is_some());
        }
        let to_parts = inv
            .to_parts
            .iter()
            .map(|tp| PartBinding {
                part: tp.part.clone(),
                variable: self.variable(scope, &tp.from_variable, tp.pos),
            })
            .collect();
        let from_parts = self.lower_from_parts(&inv.from_parts, scope);
        let handler_scope = if !inv.catches.is_empty()
            || inv.catch_all.is_some()
            || inv.compensation_handler.is_some()
        {
            let eosf = self.p.scopes[scope.index()].exit_on_standard_fault;
            let hs = self.new_scope(
                ScopeKind::Invoke,
                self.p.activities[id.index()].name.clone(),
                Some(id),
                Some(scope),
                false,
                eosf,
                pos,
            );
            let inner = Ctx { scope: hs, ..child };
            if !inv.catches.is_empty() || inv.catch_all.is_some() {
                let fh = self.fault_handlers(hs, &inv.catches, inv.catch_all.as_ref(), inner);
                self.p.scopes[hs.index()].fault_handlers = Some(fh);
            }
            if let Some(h) = &inv.compensation_handler {
                let a = self.handler_activity(h, inner, "compensationHandler");
                self.p.scopes[hs.index()].compensation_handler = Some(a);
            }
            Some(hs)
        } else {
            None
        };
        ActivityKind::Invoke(Box::new(model::Invoke {
            partner_link,
            operation,
            input_variable,
            output_variable,
            correlations,
            to_parts,
            from_parts,
            handler_scope,
        }))
    }

    fn reply(&mut self, r: &ast::Reply, scope: ScopeId, pos: Pos) -> ActivityKind {
        let partner_link = self.partner_link(scope, &r.partner_link, pos);
        let operation = self.operation(
            partner_link,
            r.port_type.as_ref(),
            &r.operation,
            Role::My,
            pos,
        );
        let variable = r.variable.as_ref().map(|v| self.variable(scope, v, pos));
        let message_exchange = r
            .message_exchange
            .as_ref()
            .map(|m| self.message_exchange(scope, m, pos));
        let correlations = self.correlations(&r.correlations, scope);
        let to_parts = r
            .to_parts
            .iter()
            .map(|tp| PartBinding {
                part: tp.part.clone(),
                variable: self.variable(scope, &tp.from_variable, tp.pos),
            })
            .collect();
        ActivityKind::Reply(Box::new(model::Reply {
            partner_link,
            operation,
            variable,
            fault_name: r.fault_name.clone(),
            message_exchange,
            correlations,
            to_parts,
        }))
    }

    fn assign(&mut self, a: &ast::Assign, scope: ScopeId) -> ActivityKind {
        let mut operations = Vec::new();
        for op in &a.operations {
            match op {
                ast::AssignOperation::Copy(c) => {
                    let from = self.lower_from(&c.from, scope);
                    let to = self.lower_to(&c.to, scope);
                    if let (Some(from), Some(to)) = (from, to) {
                        operations.push(model::AssignOperation::Copy(model::Copy {
                            keep_src_element_name: c.keep_src_element_name,
                            ignore_missing_from_data: c.ignore_missing_from_data,
                            insert_missing_to_data: ode_flag(
                                &c.foreign_attrs,
                                "insertMissingToData",
                            ),
                            ignore_uninitialized_from_variable: ode_flag(
                                &c.foreign_attrs,
                                "ignoreUninitializedFromVariable",
                            ),
                            from,
                            to,
                            pos: c.pos,
                        }));
                    }
                }
                ast::AssignOperation::Extension(e) => {
                    operations.push(model::AssignOperation::Extension(e.clone()))
                }
            }
        }
        ActivityKind::Assign(model::Assign {
            validate: a.validate,
            operations,
        })
    }

    fn lower_from(&mut self, f: &ast::From, scope: ScopeId) -> Option<FromSpec> {
        Some(match &f.spec {
            ast::FromSpec::Variable {
                variable,
                part,
                query,
            } => FromSpec::Variable {
                variable: self.variable(scope, variable, f.pos),
                part: part
                    .clone()
                    .or_else(|| ode_attr(&f.foreign_attrs, "header")),
                query: query.as_ref().map(|q| self.expr(q, ExprKind::Query)),
            },
            ast::FromSpec::PartnerLink {
                partner_link,
                endpoint_reference,
            } => {
                let partner_link = self.partner_link(scope, partner_link, f.pos);
                let endpoint = match endpoint_reference.as_str() {
                    "myRole" => EndpointRole::MyRole,
                    "partnerRole" => EndpointRole::PartnerRole,
                    other => {
                        self.error(
                            f.pos,
                            format!(
                                "endpointReference `{other}` is neither myRole nor partnerRole"
                            ),
                        );
                        return None;
                    }
                };
                FromSpec::PartnerLink {
                    partner_link,
                    endpoint,
                }
            }
            ast::FromSpec::Property { variable, property } => FromSpec::Property {
                variable: self.variable(scope, variable, f.pos),
                property: property.clone(),
            },
            ast::FromSpec::Expression(e) => {
                FromSpec::Expression(self.expr(e, ExprKind::Expression))
            }
            ast::FromSpec::Literal(e) => FromSpec::Literal(e.clone()),
            ast::FromSpec::Empty => {
                self.error(
                    f.pos,
                    "from-spec has no variable, expression or literal".into(),
                );
                return None;
            }
        })
    }

    fn lower_to(&mut self, t: &ast::To, scope: ScopeId) -> Option<ToSpec> {
        Some(match &t.spec {
            ast::ToSpec::Variable {
                variable,
                part,
                query,
            } => ToSpec::Variable {
                variable: self.variable(scope, variable, t.pos),
                // ODE's `header="name"` addresses a SOAP header part of a message variable,
                // which the data layer keeps as one more (element-holding) part.
                part: part
                    .clone()
                    .or_else(|| ode_attr(&t.foreign_attrs, "header")),
                query: query.as_ref().map(|q| self.expr(q, ExprKind::Query)),
            },
            ast::ToSpec::PartnerLink { partner_link } => ToSpec::PartnerLink {
                partner_link: self.partner_link(scope, partner_link, t.pos),
            },
            ast::ToSpec::Property { variable, property } => ToSpec::Property {
                variable: self.variable(scope, variable, t.pos),
                property: property.clone(),
            },
            ast::ToSpec::Expression(e) => ToSpec::Expression(self.expr(e, ExprKind::Expression)),
            ast::ToSpec::Empty => {
                self.error(
                    t.pos,
                    "to-spec has no variable, partnerLink or expression".into(),
                );
                return None;
            }
        })
    }

    // ----- messaging -----

    fn inbound(&mut self, t: &ast::MessageTarget, scope: ScopeId, pos: Pos) -> Inbound {
        let partner_link = self.partner_link(scope, &t.partner_link, pos);
        let operation = self.operation(
            partner_link,
            t.port_type.as_ref(),
            &t.operation,
            Role::My,
            pos,
        );
        let variable = t.variable.as_ref().map(|v| self.variable(scope, v, pos));
        let message_exchange = t
            .message_exchange
            .as_ref()
            .map(|m| self.message_exchange(scope, m, pos));
        let correlations = self.correlations(&t.correlations, scope);
        let from_parts = self.lower_from_parts(&t.from_parts, scope);
        Inbound {
            partner_link,
            operation,
            variable,
            message_exchange,
            correlations,
            from_parts,
        }
    }

    /// ode-compat (SA00057): a start activity's `initiate="yes"` (or "no") on a correlation set
    /// that several start activities share becomes `join`, so that whichever message comes second
    /// is routed to the instance the first one created, as Apache ODE does.
    fn join_shared_sets(&self, inbound: &mut Inbound, t: &ast::MessageTarget) {
        for (c, src) in inbound.correlations.iter_mut().zip(&t.correlations) {
            if self.join_sets.contains(&src.set) {
                c.initiate = model::Initiate::Join;
            }
        }
    }

    fn lower_from_parts(&mut self, parts: &[ast::FromPart], scope: ScopeId) -> Vec<PartBinding> {
        parts
            .iter()
            .map(|fp| PartBinding {
                part: fp.part.clone(),
                variable: self.variable(scope, &fp.to_variable, fp.pos),
            })
            .collect()
    }

    fn correlations(&mut self, cs: &[ast::Correlation], scope: ScopeId) -> Vec<CorrelationRef> {
        cs.iter()
            .map(|c| CorrelationRef {
                set: self.correlation_set(scope, &c.set, c.pos),
                initiate: match c.initiate {
                    Some(ast::Initiate::Yes) => model::Initiate::Yes,
                    Some(ast::Initiate::Join) => model::Initiate::Join,
                    Some(ast::Initiate::No) | None => model::Initiate::No,
                },
                pattern: c.pattern.map(|p| match p {
                    ast::Pattern::Request => model::Pattern::Request,
                    ast::Pattern::Response => model::Pattern::Response,
                    ast::Pattern::RequestResponse => model::Pattern::RequestResponse,
                }),
            })
            .collect()
    }

    /// The operation a messaging activity uses: its portType is the one of the partner link's
    /// role, else the one written on the activity.
    fn operation(
        &mut self,
        pl: PartnerLinkId,
        port_type: Option<&QName>,
        name: &str,
        role: Role,
        pos: Pos,
    ) -> OperationRef {
        let role_pt = self
            .p
            .partner_links
            .get(pl.index())
            .and_then(|p| match role {
                Role::My => p.my_role.as_ref().map(|r| r.1.clone()),
                Role::Partner => p.partner_role.as_ref().map(|r| r.1.clone()),
            });
        let unresolved = |pt: QName| OperationRef {
            port_type: pt,
            name: name.to_string(),
            request_response: false,
            input: None,
            output: None,
        };
        // The role's portType wins: a different portType attribute is an error (SA00005) unless
        // ode-compat is on, and then, like Apache ODE, the attribute is ignored.
        let Some(pt_name) = role_pt.or_else(|| port_type.cloned()) else {
            // An unresolved partner link was already reported.
            if pl.0 != UNRESOLVED {
                let (pl_name, role_name) = (
                    self.p.partner_links[pl.index()].name.clone(),
                    match role {
                        Role::My => "myRole",
                        Role::Partner => "partnerRole",
                    },
                );
                self.error(
                    pos,
                    format!("partnerLink `{pl_name}` has no {role_name} for operation `{name}`"),
                );
            }
            return unresolved(QName::default());
        };
        // A portType name may be defined by more than one document of a package (a copy of a
        // partner's WSDL next to the process's own); take the one defining the operation.
        let found: Option<&Operation> = self
            .wsdl
            .documents
            .values()
            .flat_map(|d| &d.port_types)
            .filter(|pt| pt.name == pt_name)
            .find_map(|pt| pt.operation(name));
        match found {
            Some(op) if op.is_outbound_first() && role == Role::My => {
                self.error(
                    pos,
                    format!("operation `{name}` of portType `{pt_name}` is a notification/solicit-response operation, which a process cannot receive or reply on"),
                );
                unresolved(pt_name)
            }
            // A notification or solicit-response operation of a partner (ode-compat, SA00001)
            // is invoked the way Apache ODE invokes it: a request (the input message, or an
            // empty one when there is none) and its output as the response.
            Some(op) => OperationRef {
                port_type: pt_name,
                name: name.to_string(),
                request_response: op.is_request_response() || op.is_outbound_first(),
                input: op.input.clone(),
                output: op.output.clone(),
            },
            None => {
                self.error(
                    pos,
                    format!("operation `{name}` is not defined by portType `{pt_name}`"),
                );
                unresolved(pt_name)
            }
        }
    }

    // ----- name resolution (innermost declaration wins) -----

    fn find_in_chain<T: Copy>(
        &self,
        scope: ScopeId,
        items: impl Fn(&ScopeDecl) -> &[T],
        matches: impl Fn(T) -> bool,
    ) -> Option<T> {
        let mut cur = Some(scope);
        while let Some(s) = cur {
            let decl = self.p.scopes.get(s.index())?;
            if let Some(found) = items(decl).iter().copied().find(|&t| matches(t)) {
                return Some(found);
            }
            cur = decl.parent;
        }
        None
    }

    fn find_partner_link(&self, scope: ScopeId, name: &str) -> Option<PartnerLinkId> {
        self.find_in_chain(
            scope,
            |s| &s.partner_links,
            |id| self.p.partner_links[id.index()].name == name,
        )
    }

    fn variable(&mut self, scope: ScopeId, name: &str, pos: Pos) -> VariableId {
        let found = self.find_in_chain(
            scope,
            |s| &s.variables,
            |id| self.p.variables[id.index()].name == name,
        );
        found.unwrap_or_else(|| {
            self.error(pos, format!("variable `{name}` is not declared"));
            VariableId(UNRESOLVED)
        })
    }

    fn partner_link(&mut self, scope: ScopeId, name: &str, pos: Pos) -> PartnerLinkId {
        self.find_partner_link(scope, name).unwrap_or_else(|| {
            self.error(pos, format!("partnerLink `{name}` is not declared"));
            PartnerLinkId(UNRESOLVED)
        })
    }

    fn correlation_set(&mut self, scope: ScopeId, name: &str, pos: Pos) -> CorrelationSetId {
        let found = self.find_in_chain(
            scope,
            |s| &s.correlation_sets,
            |id| self.p.correlation_sets[id.index()].name == name,
        );
        found.unwrap_or_else(|| {
            self.error(pos, format!("correlationSet `{name}` is not declared"));
            CorrelationSetId(UNRESOLVED)
        })
    }

    /// Resolves a message exchange; an undeclared one is declared in the process scope, so
    /// that activities naming the same exchange still pair up (Apache ODE accepts this).
    fn message_exchange(&mut self, scope: ScopeId, name: &str, pos: Pos) -> MessageExchangeId {
        let found = self.find_in_chain(
            scope,
            |s| &s.message_exchanges,
            |id| self.p.message_exchanges[id.index()].name == name,
        );
        found.unwrap_or_else(|| {
            let id = MessageExchangeId(self.p.message_exchanges.len() as u32);
            self.p.message_exchanges.push(MessageExchangeDecl {
                id,
                name: name.to_string(),
                scope: ScopeId::PROCESS,
                implicit: true,
                pos,
            });
            self.p.scopes[ScopeId::PROCESS.index()]
                .message_exchanges
                .push(id);
            id
        })
    }

    /// The scope or invoke named `target` immediately enclosed by the scope whose handler holds
    /// the compensateScope activity `id` (in its primary activity or its event handlers).
    fn compensation_target(&self, id: ActivityId, target: &str) -> Option<ActivityId> {
        let mut owner = self.p.activities[id.index()].scope;
        while self.p.scopes[owner.index()].kind == ScopeKind::Catch {
            owner = self.p.scopes[owner.index()].parent?;
        }
        let owner_decl = &self.p.scopes[owner.index()];
        let mut roots: Vec<ActivityId> = owner_decl.body.into_iter().collect();
        roots.extend(owner_decl.on_events.iter().map(|e| e.activity));
        roots.extend(owner_decl.on_alarms.iter().map(|a| a.activity));
        self.p.activities.iter().find_map(|a| {
            let eligible = a.name.as_deref() == Some(target)
                && a.scope == owner
                && matches!(a.kind, ActivityKind::Scope(_) | ActivityKind::Invoke(_));
            if !eligible {
                return None;
            }
            // Walk up to the child of the owner's activity: it must be the body or an event
            // handler, not another handler of the owner.
            let mut top = a.id;
            while let Some(p) = self.p.activities[top.index()].parent {
                if Some(p) == owner_decl.activity {
                    break;
                }
                top = p;
            }
            roots.contains(&top).then_some(a.id)
        })
    }

    // ----- expressions -----

    fn expr(&mut self, e: &ast::Expr, kind: ExprKind) -> ExprId {
        let id = ExprId(self.p.exprs.len() as u32);
        let language = e.language.clone().unwrap_or_else(|| match kind {
            ExprKind::Expression => self.p.expression_language.clone(),
            ExprKind::Query => self.p.query_language.clone(),
        });
        // Compile once here so the runtime never parses. The checker has already reported
        // every compile error: the deferrable ones (syntax, undeclared prefix) as warnings when
        // expressions are not strict, so here they only mark the expression to fault at run
        // time; any other failure comes from lowering an unchecked AST.
        let mut error = None;
        let compiled = match Language::from_uri(&language) {
            Some(lang) => match xpath::compile(
                check::jaxen_text(&e.text, lang, self.p.ode_compat).unwrap_or(&e.text),
                lang,
                &e.ns,
            ) {
                Ok(c) => Some(c),
                Err(errors) => {
                    let text = &e.text;
                    for err in &errors {
                        if !check::is_deferrable(err.kind) {
                            self.diags.push(Diagnostic::error(
                                "XPATH",
                                self.file,
                                e.pos,
                                format!("expression \"{text}\": {err}"),
                            ));
                        }
                    }
                    let reasons: Vec<String> = errors.iter().map(ToString::to_string).collect();
                    error = Some(format!(
                        "expression \"{text}\" does not compile: {}",
                        reasons.join("; ")
                    ));
                    None
                }
            },
            // XQuery is not checked statically: a query that does not compile faults with
            // `bpel:subLanguageExecutionFault` when it runs (ODE reports it at deployment).
            None if language.trim() == xpath::xquery::XQUERY1_URI => {
                match xpath::xquery::compile(&e.text, &e.ns) {
                    Ok(c) => Some(c),
                    Err(errors) => {
                        let reasons: Vec<String> = errors.iter().map(ToString::to_string).collect();
                        error = Some(format!(
                            "XQuery expression \"{}\" does not compile: {}",
                            e.text,
                            reasons.join("; ")
                        ));
                        None
                    }
                }
            }
            None => None,
        };
        self.p.exprs.push(ExprDecl {
            id,
            text: e.text.clone(),
            language,
            ns: e.ns.as_ref().clone(),
            pos: e.pos,
            kind,
            compiled,
            error,
        });
        id
    }

    fn required_expr(&mut self, e: Option<&ast::Expr>, pos: Pos, what: &str) -> ExprId {
        match e {
            Some(e) => self.expr(e, ExprKind::Expression),
            None => {
                self.error(pos, format!("{what} is missing"));
                ExprId(UNRESOLVED)
            }
        }
    }

    fn timing(&mut self, t: &ast::Timing) -> Timing {
        Timing {
            for_expr: t
                .for_expr
                .as_ref()
                .map(|e| self.expr(e, ExprKind::Expression)),
            until_expr: t
                .until_expr
                .as_ref()
                .map(|e| self.expr(e, ExprKind::Expression)),
        }
    }
}

#[cfg(test)]
mod tests;

/// The value of Apache ODE's unqualified extension attribute `name` (kept among the foreign
/// attributes by the parser).
fn ode_attr(attrs: &[(QName, String)], name: &str) -> Option<String> {
    attrs
        .iter()
        .find(|(q, _)| q.ns.is_empty() && q.local == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// An ODE yes/no extension attribute (`insertMissingToData="yes"`).
fn ode_flag(attrs: &[(QName, String)], name: &str) -> bool {
    matches!(ode_attr(attrs, name).as_deref(), Some("yes" | "true"))
}
