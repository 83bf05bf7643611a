//! The process element, scope bodies, declarations and handlers.

use bpelgate_wsdl::xml::Element;

use super::super::ast::{
    Activity, ActivityKind, Catch, Correlation, CorrelationSetDecl, EventHandlers, Expr,
    ExtensionDecl, FaultHandlers, FromPart, Handler, Import, Initiate, MessageExchangeDecl,
    MessageTarget, OnAlarm, OnEvent, PartnerLinkDecl, Pattern, Process, ScopeBody, Timing, ToPart,
    VariableDecl, VariableType,
};
use super::{Order, Parser};

/// Schema order of the children of a process or scope.
fn body_rank(local: &str) -> Option<u8> {
    Some(match local {
        "extensions" => 0,
        "import" => 1,
        "partnerLinks" | "partners" => 2,
        "messageExchanges" => 3,
        "variables" => 4,
        "correlationSets" => 5,
        "faultHandlers" => 6,
        "compensationHandler" => 7,
        "terminationHandler" => 8,
        "eventHandlers" => 9,
        _ => return None,
    })
}

impl Parser<'_> {
    pub(super) fn process(&mut self, el: &Element) -> Process {
        let mut allowed = vec![
            "name",
            "targetNamespace",
            "queryLanguage",
            "expressionLanguage",
            "suppressJoinFailure",
            "exitOnStandardFault",
        ];
        if self.legacy() {
            allowed.extend(["enableInstanceCompensation", "abstractProcess"]);
        }
        let foreign_attrs = self.check_attrs(el, &allowed);
        let name = self.required(el, "name");
        let target_namespace = self.required(el, "targetNamespace");
        let query_language = self.optional(el, "queryLanguage");
        let expression_language = self.optional(el, "expressionLanguage");
        let suppress_join_failure = self.bool_attr(el, "suppressJoinFailure");
        let exit_on_standard_fault = self.bool_attr(el, "exitOnStandardFault");
        self.bool_attr(el, "enableInstanceCompensation");
        let ns = self.ns();
        let children = self.bpel_children(el, None);
        let mut extensions = Vec::new();
        let mut imports = Vec::new();
        let mut rest = Vec::new();
        let mut order = Order::new();
        let mut seen_ext = false;
        for c in children {
            match c.name.local.as_str() {
                "extensions" => {
                    order.see(self, c, 0);
                    if seen_ext {
                        self.duplicate(c, el);
                    }
                    seen_ext = true;
                    self.within(c, |p| p.extensions(c, &mut extensions));
                }
                "import" => {
                    order.see(self, c, 1);
                    let i = self.within(c, |p| p.import(c));
                    imports.push(i);
                }
                _ => rest.push(c),
            }
        }
        let body = self.scope_body(el, rest, true, order);
        Process {
            dialect: self.dialect,
            name,
            target_namespace,
            query_language,
            expression_language,
            suppress_join_failure,
            exit_on_standard_fault,
            extensions,
            imports,
            body,
            ns,
            foreign_attrs,
            pos: el.pos,
        }
    }

    fn extensions(&mut self, el: &Element, out: &mut Vec<ExtensionDecl>) {
        self.check_attrs(el, &[]);
        for c in self.bpel_children(el, None) {
            if c.name.local != "extension" {
                self.unexpected(c, el);
                continue;
            }
            self.within(c, |p| {
                p.check_attrs(c, &["namespace", "mustUnderstand"]);
                let namespace = p.required(c, "namespace");
                let must_understand = match c.attr("mustUnderstand") {
                    Some(_) => p.bool_attr(c, "mustUnderstand").unwrap_or(false),
                    None if p.is20() => {
                        p.required(c, "mustUnderstand");
                        false
                    }
                    None => false,
                };
                out.push(ExtensionDecl {
                    namespace,
                    must_understand,
                    pos: c.pos,
                });
            });
        }
    }

    fn import(&mut self, el: &Element) -> Import {
        self.check_attrs(el, &["namespace", "location", "importType"]);
        self.bpel_children(el, None)
            .into_iter()
            .for_each(|c| self.unexpected(c, el));
        Import {
            namespace: self.optional(el, "namespace"),
            location: self.optional(el, "location"),
            import_type: self.required(el, "importType"),
            pos: el.pos,
        }
    }

    /// Declarations, handlers and the primary activity of a process or scope. `children` are
    /// the BPEL children left once the caller took its own (extensions, imports, targets...).
    pub(super) fn scope_body(
        &mut self,
        el: &Element,
        children: Vec<&Element>,
        is_process: bool,
        mut order: Order,
    ) -> ScopeBody {
        let mut body = ScopeBody::default();
        let mut seen: Vec<&str> = Vec::new();
        for c in children {
            let local = c.name.local.as_str();
            if self.is_activity(local) {
                order.see(self, c, 10);
                let a = self.activity(c);
                if body.activity.is_some() {
                    self.error(
                        c.pos,
                        format!(
                            "<{}> must contain exactly one activity; <{local}> is a second one",
                            el.name.local
                        ),
                    );
                } else {
                    body.activity = Some(Box::new(a));
                }
                continue;
            }
            let process_only = matches!(local, "extensions" | "import");
            let scope_only = matches!(local, "compensationHandler" | "terminationHandler");
            let legacy_only = local == "partners";
            let Some(rank) = body_rank(local) else {
                self.unexpected(c, el);
                continue;
            };
            if process_only
                || (scope_only && is_process)
                || (legacy_only && !self.legacy())
                || (local == "terminationHandler" && self.is11())
            {
                self.unexpected(c, el);
                continue;
            }
            order.see(self, c, rank);
            if seen.contains(&local) {
                self.duplicate(c, el);
            }
            seen.push(c.name.local.as_str());
            self.within(c, |p| match local {
                "partnerLinks" => p.partner_links(c, &mut body.partner_links),
                "partners" => p.partners(c),
                "messageExchanges" => p.message_exchanges(c, &mut body.message_exchanges),
                "variables" => p.variables(c, &mut body.variables),
                "correlationSets" => p.correlation_sets(c, &mut body.correlation_sets),
                "faultHandlers" => body.fault_handlers = Some(p.fault_handlers(c)),
                "eventHandlers" => body.event_handlers = Some(p.event_handlers(c)),
                "compensationHandler" => body.compensation_handler = Some(p.handler(c)),
                _ => body.termination_handler = Some(p.handler(c)),
            });
        }
        body
    }

    fn partner_links(&mut self, el: &Element, out: &mut Vec<PartnerLinkDecl>) {
        self.check_attrs(el, &[]);
        for c in self.bpel_children(el, None) {
            if c.name.local != "partnerLink" {
                self.unexpected(c, el);
                continue;
            }
            let d = self.within(c, |p| {
                let mut allowed = vec!["name", "partnerLinkType", "myRole", "partnerRole"];
                if !p.is11() {
                    allowed.push("initializePartnerRole");
                }
                p.check_attrs(c, &allowed);
                p.bpel_children(c, None)
                    .into_iter()
                    .for_each(|x| p.unexpected(x, c));
                PartnerLinkDecl {
                    name: p.required(c, "name"),
                    partner_link_type: p.qname_attr(c, "partnerLinkType"),
                    my_role: p.optional(c, "myRole"),
                    partner_role: p.optional(c, "partnerRole"),
                    initialize_partner_role: p.bool_attr(c, "initializePartnerRole"),
                    pos: c.pos,
                }
            });
            out.push(d);
        }
    }

    /// BPEL4WS 1.1 `<partners>`: groups partner links; carries no semantics the engine uses.
    fn partners(&mut self, el: &Element) {
        self.check_attrs(el, &[]);
        for c in self.bpel_children(el, None) {
            if c.name.local != "partner" {
                self.unexpected(c, el);
                continue;
            }
            self.within(c, |p| {
                p.check_attrs(c, &["name"]);
                p.required(c, "name");
                for pl in p.bpel_children(c, None) {
                    if pl.name.local == "partnerLink" {
                        p.within(pl, |p| {
                            p.check_attrs(pl, &["name"]);
                            p.required(pl, "name");
                        });
                    } else {
                        p.unexpected(pl, c);
                    }
                }
            });
        }
    }

    fn message_exchanges(&mut self, el: &Element, out: &mut Vec<MessageExchangeDecl>) {
        self.check_attrs(el, &[]);
        for c in self.bpel_children(el, None) {
            if c.name.local != "messageExchange" {
                self.unexpected(c, el);
                continue;
            }
            let d = self.within(c, |p| {
                p.check_attrs(c, &["name"]);
                p.bpel_children(c, None)
                    .into_iter()
                    .for_each(|x| p.unexpected(x, c));
                MessageExchangeDecl {
                    name: p.required(c, "name"),
                    pos: c.pos,
                }
            });
            out.push(d);
        }
    }

    fn variables(&mut self, el: &Element, out: &mut Vec<VariableDecl>) {
        self.check_attrs(el, &[]);
        for c in self.bpel_children(el, None) {
            if c.name.local != "variable" {
                self.unexpected(c, el);
                continue;
            }
            let d = self.within(c, |p| p.variable(c));
            out.push(d);
        }
    }

    fn variable(&mut self, el: &Element) -> VariableDecl {
        self.check_attrs(el, &["name", "messageType", "type", "element"]);
        let name = self.required(el, "name");
        let mut types = Vec::new();
        if let Some(q) = self.qname_attr(el, "messageType") {
            types.push(VariableType::MessageType(q));
        }
        if let Some(q) = self.qname_attr(el, "type") {
            types.push(VariableType::Type(q));
        }
        if let Some(q) = self.qname_attr(el, "element") {
            types.push(VariableType::Element(q));
        }
        let mut from = None;
        for c in self.bpel_children(el, None) {
            if c.name.local == "from" && !self.is11() {
                if from.is_some() {
                    self.duplicate(c, el);
                    continue;
                }
                from = Some(self.read_from(c));
            } else {
                self.unexpected(c, el);
            }
        }
        VariableDecl {
            name,
            types,
            from,
            pos: el.pos,
        }
    }

    fn correlation_sets(&mut self, el: &Element, out: &mut Vec<CorrelationSetDecl>) {
        self.check_attrs(el, &[]);
        for c in self.bpel_children(el, None) {
            if c.name.local != "correlationSet" {
                self.unexpected(c, el);
                continue;
            }
            let d = self.within(c, |p| {
                p.check_attrs(c, &["name", "properties"]);
                p.bpel_children(c, None)
                    .into_iter()
                    .for_each(|x| p.unexpected(x, c));
                if c.attr("properties").is_none() {
                    p.required(c, "properties");
                }
                CorrelationSetDecl {
                    name: p.required(c, "name"),
                    properties: p.qname_list_attr(c, "properties"),
                    pos: c.pos,
                }
            });
            out.push(d);
        }
    }

    pub(super) fn fault_handlers(&mut self, el: &Element) -> FaultHandlers {
        self.check_attrs(el, &[]);
        let mut catches = Vec::new();
        let mut catch_all = None;
        self.catches(el, &mut catches, &mut catch_all, false);
        FaultHandlers {
            catches,
            catch_all,
            pos: el.pos,
        }
    }

    /// Reads catch/catchAll children of `el` (faultHandlers, or an invoke when `inline`, whose
    /// other children the caller handles).
    pub(super) fn catches(
        &mut self,
        el: &Element,
        catches: &mut Vec<Catch>,
        catch_all: &mut Option<Handler>,
        inline: bool,
    ) {
        let mut order = Order::new();
        for c in self.bpel_children(el, None) {
            match c.name.local.as_str() {
                "catch" => {
                    order.see(self, c, 0);
                    let k = self.within(c, |p| p.catch(c));
                    catches.push(k);
                }
                "catchAll" => {
                    order.see(self, c, 1);
                    if catch_all.is_some() {
                        self.duplicate(c, el);
                    }
                    *catch_all = Some(self.handler(c));
                }
                _ if inline => {}
                _ => self.unexpected(c, el),
            }
        }
    }

    /// One `<catch>` (called with its namespaces in scope).
    pub(super) fn catch(&mut self, el: &Element) -> Catch {
        let mut allowed = vec!["faultName", "faultVariable"];
        if !self.is11() {
            allowed.extend(["faultMessageType", "faultElement"]);
        }
        self.check_attrs(el, &allowed);
        let fault_name = self.qname_attr(el, "faultName");
        let fault_variable = self.optional(el, "faultVariable");
        let fault_message_type = self.qname_attr(el, "faultMessageType");
        let fault_element = self.qname_attr(el, "faultElement");
        let activity = self.single_activity(el);
        Catch {
            fault_name,
            fault_variable,
            fault_message_type,
            fault_element,
            activity,
            pos: el.pos,
        }
    }

    /// A handler holding one activity (compensation, termination, catchAll, else, otherwise).
    pub(super) fn handler(&mut self, el: &Element) -> Handler {
        self.within(el, |p| {
            p.check_attrs(el, &[]);
            Handler {
                activity: p.single_activity(el),
                pos: el.pos,
            }
        })
    }

    /// The one activity child of `el` (None when missing: the checker reports what is needed).
    pub(super) fn single_activity(&mut self, el: &Element) -> Option<Box<Activity>> {
        let children = self.bpel_children(el, None);
        self.one_activity(el, children)
    }

    /// The one activity among `children`; other elements and extra activities are errors.
    pub(super) fn one_activity(
        &mut self,
        el: &Element,
        children: Vec<&Element>,
    ) -> Option<Box<Activity>> {
        let mut found: Option<Box<Activity>> = None;
        let mut count = 0;
        for c in children {
            if !self.is_activity(&c.name.local) {
                self.unexpected(c, el);
                continue;
            }
            count += 1;
            let a = self.activity(c);
            if count > 1 {
                self.error(
                    c.pos,
                    format!(
                        "<{}> must contain exactly one activity; <{}> is a second one",
                        el.name.local, c.name.local
                    ),
                );
            } else {
                found = Some(Box::new(a));
            }
        }
        found
    }

    fn event_handlers(&mut self, el: &Element) -> EventHandlers {
        self.check_attrs(el, &[]);
        let mut on_events = Vec::new();
        let mut on_alarms = Vec::new();
        let mut order = Order::new();
        for c in self.bpel_children(el, None) {
            match c.name.local.as_str() {
                "onEvent" if !self.is11() => {
                    order.see(self, c, 0);
                    let e = self.within(c, |p| p.on_event(c));
                    on_events.push(e);
                }
                "onMessage" if self.legacy() => {
                    let e = self.within(c, |p| p.on_event(c));
                    on_events.push(e);
                }
                "onAlarm" => {
                    order.see(self, c, 1);
                    let a = self.within(c, |p| p.on_alarm(c, true));
                    on_alarms.push(a);
                }
                _ => self.unexpected(c, el),
            }
        }
        EventHandlers {
            on_events,
            on_alarms,
            pos: el.pos,
        }
    }

    fn on_event(&mut self, el: &Element) -> OnEvent {
        let mut allowed = vec![
            "partnerLink",
            "portType",
            "operation",
            "variable",
            "messageExchange",
        ];
        if !self.is11() {
            allowed.extend(["messageType", "element"]);
        }
        self.check_attrs(el, &allowed);
        let message_type = self.qname_attr(el, "messageType");
        let element = self.qname_attr(el, "element");
        let children = self.bpel_children(el, None);
        let (target, rest) = self.message_target(el, children);
        let activity = self.one_activity(el, rest);
        if self.is20() {
            self.require_scope(el, activity.as_deref());
        }
        OnEvent {
            target,
            message_type,
            element,
            activity,
            pos: el.pos,
        }
    }

    /// The WS-BPEL 2.0 schema makes the child of onEvent, onAlarm (event handler) and forEach
    /// a `<scope>`.
    pub(super) fn require_scope(&mut self, el: &Element, a: Option<&Activity>) {
        if let Some(a) = a
            && !matches!(a.kind, ActivityKind::Scope(_))
        {
            self.error(
                a.pos,
                format!("the activity of <{}> must be a <scope>", el.name.local),
            );
        }
    }

    /// `<onAlarm>` of a pick (`in_handlers` false) or of eventHandlers.
    pub(super) fn on_alarm(&mut self, el: &Element, in_handlers: bool) -> OnAlarm {
        let allowed: &[&str] = if self.legacy() {
            &["for", "until"]
        } else {
            &[]
        };
        self.check_attrs(el, allowed);
        let mut timing = Timing::default();
        let mut repeat_every = None;
        let mut rest = Vec::new();
        let mut order = Order::new();
        if self.legacy() {
            timing.for_expr = self.expr_attr(el, "for");
            timing.until_expr = self.expr_attr(el, "until");
        }
        for c in self.bpel_children(el, None) {
            match c.name.local.as_str() {
                "for" | "until" if !self.is11() => {
                    order.see(self, c, 0);
                    let e = self.expr_element(c, "expressionLanguage", &[], false);
                    self.set_timing(el, c, &mut timing, e);
                }
                "repeatEvery" if in_handlers && !self.is11() => {
                    order.see(self, c, 1);
                    if repeat_every.is_some() {
                        self.duplicate(c, el);
                    }
                    repeat_every = Some(self.expr_element(c, "expressionLanguage", &[], false));
                }
                _ => {
                    order.see(self, c, 2);
                    rest.push(c);
                }
            }
        }
        if timing.for_expr.is_none() && timing.until_expr.is_none() && repeat_every.is_none() {
            let what = if in_handlers {
                "<for>, <until> or <repeatEvery>"
            } else {
                "<for> or <until>"
            };
            self.error(el.pos, format!("<onAlarm> must have {what}"));
        }
        let activity = self.one_activity(el, rest);
        if in_handlers && self.is20() {
            self.require_scope(el, activity.as_deref());
        }
        OnAlarm {
            timing,
            repeat_every,
            activity,
            pos: el.pos,
        }
    }

    /// Stores a for/until expression; both, or one twice, is an error.
    pub(super) fn set_timing(
        &mut self,
        parent: &Element,
        c: &Element,
        timing: &mut Timing,
        e: Expr,
    ) {
        if timing.for_expr.is_some() || timing.until_expr.is_some() {
            self.error(
                c.pos,
                format!(
                    "<{}> must have exactly one of <for> and <until>",
                    parent.name.local
                ),
            );
            return;
        }
        if c.name.local == "for" {
            timing.for_expr = Some(e);
        } else {
            timing.until_expr = Some(e);
        }
    }

    /// The attributes and children shared by receive, onMessage and onEvent. Returns the other
    /// BPEL children for the caller.
    pub(super) fn message_target<'e>(
        &mut self,
        el: &Element,
        children: Vec<&'e Element>,
    ) -> (MessageTarget, Vec<&'e Element>) {
        let partner_link = self.required(el, "partnerLink");
        let port_type = self.qname_attr(el, "portType");
        if self.is11() && port_type.is_none() {
            self.required(el, "portType");
        }
        let operation = self.required(el, "operation");
        let variable = self.optional(el, "variable");
        let message_exchange = self.optional(el, "messageExchange");
        let mut correlations = Vec::new();
        let mut from_parts = Vec::new();
        let mut rest = Vec::new();
        let mut seen = (false, false);
        for c in children {
            match c.name.local.as_str() {
                "correlations" => {
                    if seen.0 {
                        self.duplicate(c, el);
                    }
                    seen.0 = true;
                    self.within(c, |p| p.correlations(c, false, &mut correlations));
                }
                "fromParts" if !self.is11() => {
                    if seen.1 {
                        self.duplicate(c, el);
                    }
                    seen.1 = true;
                    self.within(c, |p| p.read_from_parts(c, &mut from_parts));
                }
                _ => rest.push(c),
            }
        }
        let target = MessageTarget {
            partner_link,
            port_type,
            operation,
            variable,
            message_exchange,
            correlations,
            from_parts,
        };
        (target, rest)
    }

    /// `<correlations>`; `with_pattern` on invoke.
    pub(super) fn correlations(
        &mut self,
        el: &Element,
        with_pattern: bool,
        out: &mut Vec<Correlation>,
    ) {
        self.check_attrs(el, &[]);
        for c in self.bpel_children(el, None) {
            if c.name.local != "correlation" {
                self.unexpected(c, el);
                continue;
            }
            let d = self.within(c, |p| p.correlation(c, with_pattern));
            out.push(d);
        }
    }

    fn correlation(&mut self, el: &Element, with_pattern: bool) -> Correlation {
        let allowed: &[&str] = if with_pattern {
            &["set", "initiate", "pattern"]
        } else {
            &["set", "initiate"]
        };
        self.check_attrs(el, allowed);
        self.bpel_children(el, None)
            .into_iter()
            .for_each(|x| self.unexpected(x, el));
        let set = self.required(el, "set");
        let initiate = if self.is11() {
            self.enum_attr(
                el,
                "initiate",
                &[("yes", Initiate::Yes), ("no", Initiate::No)],
            )
        } else {
            self.enum_attr(
                el,
                "initiate",
                &[
                    ("yes", Initiate::Yes),
                    ("join", Initiate::Join),
                    ("no", Initiate::No),
                ],
            )
        };
        let new_patterns = [
            ("request", Pattern::Request),
            ("response", Pattern::Response),
            ("request-response", Pattern::RequestResponse),
        ];
        // BPEL4WS 1.1 names the directions from the process's side: out = request.
        let old_patterns = [
            ("out", Pattern::Request),
            ("in", Pattern::Response),
            ("out-in", Pattern::RequestResponse),
        ];
        let pattern = if !with_pattern {
            None
        } else {
            match self.dialect {
                super::Dialect::Bpel20 => self.enum_attr(el, "pattern", &new_patterns),
                super::Dialect::Bpel11 => self.enum_attr(el, "pattern", &old_patterns),
                super::Dialect::Bpel20Draft => {
                    let both: Vec<(&str, Pattern)> =
                        new_patterns.iter().chain(&old_patterns).copied().collect();
                    self.enum_attr(el, "pattern", &both)
                }
            }
        };
        Correlation {
            set,
            initiate,
            pattern,
            pos: el.pos,
        }
    }

    pub(super) fn read_from_parts(&mut self, el: &Element, out: &mut Vec<FromPart>) {
        self.check_attrs(el, &[]);
        for c in self.bpel_children(el, None) {
            if c.name.local != "fromPart" {
                self.unexpected(c, el);
                continue;
            }
            let d = self.within(c, |p| {
                p.check_attrs(c, &["part", "toVariable"]);
                p.bpel_children(c, None)
                    .into_iter()
                    .for_each(|x| p.unexpected(x, c));
                FromPart {
                    part: p.required(c, "part"),
                    to_variable: p.required(c, "toVariable"),
                    pos: c.pos,
                }
            });
            out.push(d);
        }
    }

    pub(super) fn read_to_parts(&mut self, el: &Element, out: &mut Vec<ToPart>) {
        self.check_attrs(el, &[]);
        for c in self.bpel_children(el, None) {
            if c.name.local != "toPart" {
                self.unexpected(c, el);
                continue;
            }
            let d = self.within(c, |p| {
                p.check_attrs(c, &["part", "fromVariable"]);
                p.bpel_children(c, None)
                    .into_iter()
                    .for_each(|x| p.unexpected(x, c));
                ToPart {
                    part: p.required(c, "part"),
                    from_variable: p.required(c, "fromVariable"),
                    pos: c.pos,
                }
            });
            out.push(d);
        }
    }
}
