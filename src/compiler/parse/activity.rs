//! Activities: the standard attributes and elements, then one function per kind.

use bpelgate_wsdl::xml::{Element, Pos};

use super::super::ast::{
    Activity, ActivityKind, CompletionCondition, ElseIf, Flow, ForEach, Handler, If, Invoke, Pick,
    Receive, Reply, Scope, Source, Targets, Timing,
};
use super::{Child, Order, Parser};

/// Activities of WS-BPEL 2.0 (and of the draft, which adds the older spellings below).
const ACTIVITIES_20: &[&str] = &[
    "assign",
    "compensate",
    "compensateScope",
    "empty",
    "exit",
    "extensionActivity",
    "flow",
    "forEach",
    "if",
    "invoke",
    "pick",
    "receive",
    "repeatUntil",
    "reply",
    "rethrow",
    "scope",
    "sequence",
    "throw",
    "validate",
    "wait",
    "while",
];

/// Activities of BPEL4WS 1.1.
const ACTIVITIES_11: &[&str] = &[
    "assign",
    "compensate",
    "empty",
    "flow",
    "invoke",
    "pick",
    "receive",
    "reply",
    "scope",
    "sequence",
    "switch",
    "terminate",
    "throw",
    "wait",
    "while",
];

impl Parser<'_> {
    /// True when `local` names an activity in this dialect.
    pub(super) fn is_activity(&self, local: &str) -> bool {
        match self.dialect {
            super::Dialect::Bpel20 => ACTIVITIES_20.contains(&local),
            super::Dialect::Bpel11 => ACTIVITIES_11.contains(&local),
            super::Dialect::Bpel20Draft => {
                ACTIVITIES_20.contains(&local) || ACTIVITIES_11.contains(&local)
            }
        }
    }

    /// The attributes an activity kind takes besides the standard ones.
    fn kind_attrs(&self, local: &str) -> &'static [&'static str] {
        let legacy = self.legacy();
        match local {
            "receive" => &[
                "partnerLink",
                "portType",
                "operation",
                "variable",
                "createInstance",
                "messageExchange",
            ],
            "reply" => &[
                "partnerLink",
                "portType",
                "operation",
                "variable",
                "faultName",
                "messageExchange",
            ],
            "invoke" => &[
                "partnerLink",
                "portType",
                "operation",
                "inputVariable",
                "outputVariable",
            ],
            "assign" if !self.is11() => &["validate"],
            "throw" => &["faultName", "faultVariable"],
            "wait" if legacy => &["for", "until"],
            "while" if legacy => &["condition"],
            "forEach" => &["counterName", "parallel"],
            "pick" => &["createInstance"],
            "scope" if self.is11() => &["variableAccessSerializable"],
            "scope" if legacy => &[
                "isolated",
                "exitOnStandardFault",
                "variableAccessSerializable",
            ],
            "scope" => &["isolated", "exitOnStandardFault"],
            "compensate" if legacy => &["scope"],
            "compensateScope" => &["target"],
            "validate" => &["variables"],
            _ => &[],
        }
    }

    /// Parses an activity element (`is_activity` holds for its name).
    pub(super) fn activity(&mut self, el: &Element) -> Activity {
        self.within(el, |p| p.activity_in(el))
    }

    fn activity_in(&mut self, el: &Element) -> Activity {
        let local = el.name.local.as_str();
        let mut allowed = vec!["name", "suppressJoinFailure"];
        if self.legacy() {
            allowed.push("joinCondition");
        }
        allowed.extend_from_slice(self.kind_attrs(local));
        if local == "extensionActivity" {
            allowed.clear();
        }
        let foreign_attrs = self.check_attrs(el, &allowed);
        let name = self.optional(el, "name");
        let suppress_join_failure = self.bool_attr(el, "suppressJoinFailure");

        let mut extension_elements = Vec::new();
        let mut targets: Option<Targets> = None;
        let mut sources = Vec::new();
        let mut rest = Vec::new();
        let mut seen_other = false;
        let mut seen_targets = false;
        let mut seen_sources = false;
        if self.legacy()
            && let Some(j) = self.expr_attr(el, "joinCondition")
        {
            targets.get_or_insert_with(empty_targets).join_condition = Some(j);
        }
        for c in self.children(el) {
            let c = match c {
                Child::Foreign(f) => {
                    extension_elements.push(f.clone());
                    continue;
                }
                Child::Bpel(c) => c,
            };
            let standard = match c.name.local.as_str() {
                "targets" if !self.is11() => {
                    if seen_targets {
                        self.duplicate(c, el);
                    }
                    seen_targets = true;
                    let t = self.within(c, |p| p.targets(c));
                    let into = targets.get_or_insert_with(empty_targets);
                    if t.join_condition.is_some() {
                        into.join_condition = t.join_condition;
                    }
                    into.links.extend(t.links);
                    true
                }
                "sources" if !self.is11() => {
                    if seen_sources {
                        self.duplicate(c, el);
                    }
                    seen_sources = true;
                    self.within(c, |p| p.sources(c, &mut sources));
                    true
                }
                "target" if self.legacy() => {
                    let link = self.within(c, |p| {
                        p.check_attrs(c, &["linkName"]);
                        p.required(c, "linkName")
                    });
                    targets
                        .get_or_insert_with(empty_targets)
                        .links
                        .push((link, c.pos));
                    true
                }
                "source" if self.legacy() => {
                    let s = self.within(c, |p| p.source(c, true));
                    sources.push(s);
                    true
                }
                _ => false,
            };
            if standard {
                if seen_other && self.is20() {
                    self.error(
                        c.pos,
                        format!(
                            "<{}> is out of place: it must come first in <{local}>",
                            c.name.local
                        ),
                    );
                }
            } else {
                seen_other = true;
                rest.push(c);
            }
        }

        let kind = self.kind(el, local, rest, &mut extension_elements);
        Activity {
            name,
            suppress_join_failure,
            targets,
            sources,
            kind,
            extension_elements,
            foreign_attrs,
            pos: el.pos,
        }
    }

    fn targets(&mut self, el: &Element) -> Targets {
        self.check_attrs(el, &[]);
        let mut t = empty_targets();
        let mut order = Order::new();
        for c in self.bpel_children(el, None) {
            match c.name.local.as_str() {
                "joinCondition" => {
                    order.see(self, c, 0);
                    if t.join_condition.is_some() {
                        self.duplicate(c, el);
                    }
                    t.join_condition = Some(self.expr_element(c, "expressionLanguage", &[], false));
                }
                "target" => {
                    order.see(self, c, 1);
                    let link = self.within(c, |p| {
                        p.check_attrs(c, &["linkName"]);
                        p.bpel_children(c, None)
                            .into_iter()
                            .for_each(|x| p.unexpected(x, c));
                        p.required(c, "linkName")
                    });
                    t.links.push((link, c.pos));
                }
                _ => self.unexpected(c, el),
            }
        }
        if t.links.is_empty() {
            self.error(el.pos, "<targets> must contain at least one <target>");
        }
        t
    }

    fn sources(&mut self, el: &Element, out: &mut Vec<Source>) {
        self.check_attrs(el, &[]);
        let before = out.len();
        for c in self.bpel_children(el, None) {
            if c.name.local == "source" {
                let s = self.within(c, |p| p.source(c, false));
                out.push(s);
            } else {
                self.unexpected(c, el);
            }
        }
        if out.len() == before {
            self.error(el.pos, "<sources> must contain at least one <source>");
        }
    }

    /// `<source>`; `direct` when it is a direct child of the activity (BPEL4WS 1.1 style).
    fn source(&mut self, el: &Element, direct: bool) -> Source {
        let legacy_attr = direct && self.legacy();
        let allowed: &[&str] = if legacy_attr {
            &["linkName", "transitionCondition"]
        } else {
            &["linkName"]
        };
        self.check_attrs(el, allowed);
        let link = self.required(el, "linkName");
        let mut transition_condition = if legacy_attr {
            self.expr_attr(el, "transitionCondition")
        } else {
            None
        };
        for c in self.bpel_children(el, None) {
            if c.name.local == "transitionCondition" && !self.is11() {
                if transition_condition.is_some() {
                    self.duplicate(c, el);
                }
                transition_condition = Some(self.expr_element(c, "expressionLanguage", &[], false));
            } else {
                self.unexpected(c, el);
            }
        }
        Source {
            link,
            transition_condition,
            pos: el.pos,
        }
    }

    /// The activity proper, from the children left after the standard elements.
    fn kind(
        &mut self,
        el: &Element,
        local: &str,
        rest: Vec<&Element>,
        ext: &mut Vec<Element>,
    ) -> ActivityKind {
        match local {
            "receive" => {
                let (target, rest) = self.message_target(el, rest);
                self.none_expected(el, rest);
                ActivityKind::Receive(Receive {
                    target,
                    create_instance: self.bool_attr(el, "createInstance").unwrap_or(false),
                })
            }
            "reply" => ActivityKind::Reply(self.reply(el, rest)),
            "invoke" => ActivityKind::Invoke(Box::new(self.invoke(el, rest))),
            "assign" => ActivityKind::Assign(self.assign(el, rest)),
            "throw" => {
                self.none_expected(el, rest);
                let fault_name = self.qname_attr(el, "faultName");
                if el.attr("faultName").is_none() {
                    self.required(el, "faultName");
                }
                ActivityKind::Throw {
                    fault_name,
                    fault_variable: self.optional(el, "faultVariable"),
                }
            }
            "rethrow" => {
                self.none_expected(el, rest);
                ActivityKind::Rethrow
            }
            "exit" | "terminate" => {
                self.none_expected(el, rest);
                ActivityKind::Exit
            }
            "empty" => {
                self.none_expected(el, rest);
                ActivityKind::Empty
            }
            "wait" => ActivityKind::Wait(self.wait(el, rest)),
            "sequence" => ActivityKind::Sequence(self.activities(el, rest)),
            "if" => ActivityKind::If(Box::new(self.if_(el, rest))),
            "switch" => ActivityKind::If(Box::new(self.switch(el, rest))),
            "while" => self.while_(el, rest),
            "repeatUntil" => self.repeat_until(el, rest),
            "forEach" => ActivityKind::ForEach(Box::new(self.for_each(el, rest))),
            "pick" => ActivityKind::Pick(self.pick(el, rest)),
            "flow" => ActivityKind::Flow(self.flow(el, rest)),
            "scope" => ActivityKind::Scope(Box::new(self.scope(el, rest))),
            "compensate" => {
                self.none_expected(el, rest);
                match el.attr("scope") {
                    Some(s) if self.legacy() => ActivityKind::CompensateScope {
                        target: s.trim().to_string(),
                    },
                    _ => ActivityKind::Compensate,
                }
            }
            "compensateScope" => {
                self.none_expected(el, rest);
                ActivityKind::CompensateScope {
                    target: self.required(el, "target"),
                }
            }
            "validate" => {
                self.none_expected(el, rest);
                let v = self.required(el, "variables");
                let variables: Vec<String> = v.split_whitespace().map(str::to_string).collect();
                if variables.is_empty() && el.attr("variables").is_some() {
                    self.error(el.pos, "attribute 'variables' on <validate> is empty");
                }
                ActivityKind::Validate { variables }
            }
            _ => self.extension_activity(el, rest, ext),
        }
    }

    /// Reports every element of `rest`: the activity takes no further children.
    fn none_expected(&mut self, el: &Element, rest: Vec<&Element>) {
        for c in rest {
            self.unexpected(c, el);
        }
    }

    fn extension_activity(
        &mut self,
        el: &Element,
        rest: Vec<&Element>,
        ext: &mut Vec<Element>,
    ) -> ActivityKind {
        self.none_expected(el, rest);
        if ext.len() != 1 {
            self.error(
                el.pos,
                format!(
                    "<extensionActivity> must contain exactly one element from an extension namespace (found {})",
                    ext.len()
                ),
            );
        }
        if ext.is_empty() {
            ActivityKind::Empty
        } else {
            ActivityKind::Extension(ext.remove(0))
        }
    }

    /// Activities among `rest` (sequence, flow); at least one is required.
    fn activities(&mut self, el: &Element, rest: Vec<&Element>) -> Vec<Activity> {
        let mut out = Vec::new();
        for c in rest {
            if self.is_activity(&c.name.local) {
                out.push(self.activity(c));
            } else {
                self.unexpected(c, el);
            }
        }
        if out.is_empty() {
            self.error(
                el.pos,
                format!("<{}> must contain at least one activity", el.name.local),
            );
        }
        out
    }

    fn reply(&mut self, el: &Element, rest: Vec<&Element>) -> Reply {
        let partner_link = self.required(el, "partnerLink");
        let port_type = self.qname_attr(el, "portType");
        if self.is11() && port_type.is_none() {
            self.required(el, "portType");
        }
        let operation = self.required(el, "operation");
        let mut correlations = Vec::new();
        let mut to_parts = Vec::new();
        let mut order = Order::new();
        for c in rest {
            match c.name.local.as_str() {
                "correlations" => {
                    order.see(self, c, 0);
                    if !correlations.is_empty() {
                        self.duplicate(c, el);
                    }
                    self.within(c, |p| p.correlations(c, false, &mut correlations));
                }
                "toParts" if !self.is11() => {
                    order.see(self, c, 1);
                    if !to_parts.is_empty() {
                        self.duplicate(c, el);
                    }
                    self.within(c, |p| p.read_to_parts(c, &mut to_parts));
                }
                _ => self.unexpected(c, el),
            }
        }
        Reply {
            partner_link,
            port_type,
            operation,
            variable: self.optional(el, "variable"),
            fault_name: self.qname_attr(el, "faultName"),
            message_exchange: self.optional(el, "messageExchange"),
            correlations,
            to_parts,
        }
    }

    fn invoke(&mut self, el: &Element, rest: Vec<&Element>) -> Invoke {
        let partner_link = self.required(el, "partnerLink");
        let port_type = self.qname_attr(el, "portType");
        if self.is11() && port_type.is_none() {
            self.required(el, "portType");
        }
        let operation = self.required(el, "operation");
        let mut inv = Invoke {
            partner_link,
            port_type,
            operation,
            input_variable: self.optional(el, "inputVariable"),
            output_variable: self.optional(el, "outputVariable"),
            correlations: Vec::new(),
            to_parts: Vec::new(),
            from_parts: Vec::new(),
            catches: Vec::new(),
            catch_all: None,
            compensation_handler: None,
        };
        let mut order = Order::new();
        let mut seen: Vec<&str> = Vec::new();
        for c in rest {
            let local = c.name.local.as_str();
            let rank = match local {
                "correlations" => 0,
                "catch" => 1,
                "catchAll" => 2,
                "compensationHandler" => 3,
                "toParts" if !self.is11() => 4,
                "fromParts" if !self.is11() => 5,
                _ => {
                    self.unexpected(c, el);
                    continue;
                }
            };
            order.see(self, c, rank);
            if local != "catch" {
                if seen.contains(&local) {
                    self.duplicate(c, el);
                }
                seen.push(local);
            }
            match local {
                "correlations" => {
                    self.within(c, |p| p.correlations(c, true, &mut inv.correlations));
                }
                "catch" => {
                    let k = self.within(c, |p| p.catch(c));
                    inv.catches.push(k);
                }
                "catchAll" => inv.catch_all = Some(self.handler(c)),
                "compensationHandler" => inv.compensation_handler = Some(self.handler(c)),
                "toParts" => self.within(c, |p| p.read_to_parts(c, &mut inv.to_parts)),
                _ => self.within(c, |p| p.read_from_parts(c, &mut inv.from_parts)),
            }
        }
        inv
    }

    fn wait(&mut self, el: &Element, rest: Vec<&Element>) -> Timing {
        let mut timing = Timing::default();
        if self.legacy() {
            timing.for_expr = self.expr_attr(el, "for");
            timing.until_expr = self.expr_attr(el, "until");
            if timing.for_expr.is_some() && timing.until_expr.is_some() {
                self.error(el.pos, "<wait> must have exactly one of 'for' and 'until'");
            }
        }
        for c in rest {
            match c.name.local.as_str() {
                "for" | "until" if !self.is11() => {
                    let e = self.expr_element(c, "expressionLanguage", &[], false);
                    self.set_timing(el, c, &mut timing, e);
                }
                _ => self.unexpected(c, el),
            }
        }
        if timing.for_expr.is_none() && timing.until_expr.is_none() {
            self.error(el.pos, "<wait> must have <for> or <until>");
        }
        timing
    }

    /// The `<condition>` child (or, in the older dialects, a `condition` attribute).
    fn condition_child(&mut self, parent: &Element, c: &Element, slot: &mut Option<super::Expr>) {
        if slot.is_some() {
            self.duplicate(c, parent);
        }
        *slot = Some(self.expr_element(c, "expressionLanguage", &[], false));
    }

    fn if_(&mut self, el: &Element, rest: Vec<&Element>) -> If {
        let mut condition = None;
        let mut then = None;
        let mut else_ifs = Vec::new();
        let mut otherwise: Option<Handler> = None;
        let mut order = Order::new();
        for c in rest {
            match c.name.local.as_str() {
                "condition" => {
                    order.see(self, c, 0);
                    self.condition_child(el, c, &mut condition);
                }
                "then" if !self.is20() => {
                    order.see(self, c, 1);
                    let h = self.handler(c);
                    self.set_then(el, c.pos, &mut then, h.activity);
                }
                "elseif" => {
                    order.see(self, c, 2);
                    let e = self.within(c, |p| p.else_if(c));
                    else_ifs.push(e);
                }
                "else" => {
                    order.see(self, c, 3);
                    if otherwise.is_some() {
                        self.duplicate(c, el);
                    }
                    otherwise = Some(self.handler(c));
                }
                local if self.is_activity(local) => {
                    order.see(self, c, 1);
                    let a = self.activity(c);
                    self.set_then(el, c.pos, &mut then, Some(Box::new(a)));
                }
                _ => self.unexpected(c, el),
            }
        }
        if condition.is_none() {
            self.error(el.pos, "<if> must have a <condition>");
        }
        If {
            condition,
            then,
            else_ifs,
            otherwise,
        }
    }

    fn set_then(
        &mut self,
        el: &Element,
        pos: Pos,
        then: &mut Option<Box<Activity>>,
        a: Option<Box<Activity>>,
    ) {
        if then.is_some() {
            self.error(
                pos,
                format!(
                    "<{}> must contain exactly one activity before its branches",
                    el.name.local
                ),
            );
        } else {
            *then = a;
        }
    }

    fn else_if(&mut self, el: &Element) -> ElseIf {
        self.check_attrs(el, &[]);
        let mut condition = None;
        let mut activity = None;
        for c in self.bpel_children(el, None) {
            match c.name.local.as_str() {
                "condition" => {
                    if activity.is_some() && self.is20() {
                        self.error(c.pos, "<condition> is out of place: it must come first");
                    }
                    self.condition_child(el, c, &mut condition);
                }
                "then" if !self.is20() => {
                    let h = self.handler(c);
                    self.set_then(el, c.pos, &mut activity, h.activity);
                }
                local if self.is_activity(local) => {
                    let a = self.activity(c);
                    self.set_then(el, c.pos, &mut activity, Some(Box::new(a)));
                }
                _ => self.unexpected(c, el),
            }
        }
        if condition.is_none() {
            self.error(el.pos, "<elseif> must have a <condition>");
        }
        ElseIf {
            condition,
            activity,
            pos: el.pos,
        }
    }

    /// BPEL4WS 1.1 `<switch>`: the first case becomes the if, later ones elseifs.
    fn switch(&mut self, el: &Element, rest: Vec<&Element>) -> If {
        let mut cases: Vec<ElseIf> = Vec::new();
        let mut otherwise: Option<Handler> = None;
        for c in rest {
            match c.name.local.as_str() {
                "case" => {
                    if otherwise.is_some() {
                        self.error(
                            c.pos,
                            "<case> is out of place: it must come before <otherwise>",
                        );
                    }
                    let k = self.within(c, |p| p.case(c));
                    cases.push(k);
                }
                "otherwise" => {
                    if otherwise.is_some() {
                        self.duplicate(c, el);
                    }
                    otherwise = Some(self.handler(c));
                }
                _ => self.unexpected(c, el),
            }
        }
        if cases.is_empty() {
            self.error(el.pos, "<switch> must contain at least one <case>");
            return If {
                condition: None,
                then: None,
                else_ifs: Vec::new(),
                otherwise,
            };
        }
        let first = cases.remove(0);
        If {
            condition: first.condition,
            then: first.activity,
            else_ifs: cases,
            otherwise,
        }
    }

    fn case(&mut self, el: &Element) -> ElseIf {
        self.check_attrs(el, &["condition"]);
        let mut condition = self.expr_attr(el, "condition");
        let mut rest = Vec::new();
        for c in self.bpel_children(el, None) {
            if c.name.local == "condition" && !self.is11() {
                self.condition_child(el, c, &mut condition);
            } else {
                rest.push(c);
            }
        }
        if condition.is_none() {
            self.error(el.pos, "<case> must have a condition");
        }
        ElseIf {
            condition,
            activity: self.one_activity(el, rest),
            pos: el.pos,
        }
    }

    fn while_(&mut self, el: &Element, rest: Vec<&Element>) -> ActivityKind {
        let mut condition = if self.legacy() {
            self.expr_attr(el, "condition")
        } else {
            None
        };
        let mut others = Vec::new();
        let mut order = Order::new();
        for c in rest {
            if c.name.local == "condition" && !self.is11() {
                order.see(self, c, 0);
                self.condition_child(el, c, &mut condition);
            } else {
                order.see(self, c, 1);
                others.push(c);
            }
        }
        if condition.is_none() {
            self.error(el.pos, "<while> must have a <condition>");
        }
        ActivityKind::While {
            condition,
            body: self.one_activity(el, others),
        }
    }

    fn repeat_until(&mut self, el: &Element, rest: Vec<&Element>) -> ActivityKind {
        let mut condition = None;
        let mut others = Vec::new();
        let mut order = Order::new();
        for c in rest {
            if c.name.local == "condition" {
                order.see(self, c, 1);
                self.condition_child(el, c, &mut condition);
            } else {
                order.see(self, c, 0);
                others.push(c);
            }
        }
        if condition.is_none() {
            self.error(el.pos, "<repeatUntil> must have a <condition>");
        }
        ActivityKind::RepeatUntil {
            body: self.one_activity(el, others),
            condition,
        }
    }

    fn for_each(&mut self, el: &Element, rest: Vec<&Element>) -> ForEach {
        let counter_name = self.required(el, "counterName");
        let parallel = match self.bool_attr(el, "parallel") {
            Some(b) => b,
            None => {
                if el.attr("parallel").is_none() {
                    self.required(el, "parallel");
                }
                false
            }
        };
        let mut fe = ForEach {
            counter_name,
            parallel,
            start: None,
            end: None,
            completion: None,
            activity: None,
        };
        let mut others = Vec::new();
        let mut order = Order::new();
        for c in rest {
            match c.name.local.as_str() {
                "startCounterValue" => {
                    order.see(self, c, 0);
                    if fe.start.is_some() {
                        self.duplicate(c, el);
                    }
                    fe.start = Some(self.expr_element(c, "expressionLanguage", &[], false));
                }
                "finalCounterValue" => {
                    order.see(self, c, 1);
                    if fe.end.is_some() {
                        self.duplicate(c, el);
                    }
                    fe.end = Some(self.expr_element(c, "expressionLanguage", &[], false));
                }
                "completionCondition" => {
                    order.see(self, c, 2);
                    if fe.completion.is_some() {
                        self.duplicate(c, el);
                    }
                    fe.completion = Some(self.within(c, |p| p.completion(c)));
                }
                _ => {
                    order.see(self, c, 3);
                    others.push(c);
                }
            }
        }
        if fe.start.is_none() {
            self.error(el.pos, "<forEach> must have a <startCounterValue>");
        }
        if fe.end.is_none() {
            self.error(el.pos, "<forEach> must have a <finalCounterValue>");
        }
        fe.activity = self.one_activity(el, others);
        if self.is20() {
            self.require_scope(el, fe.activity.as_deref());
        }
        fe
    }

    fn completion(&mut self, el: &Element) -> CompletionCondition {
        self.check_attrs(el, &[]);
        let mut cc = CompletionCondition {
            branches: None,
            successful_branches_only: false,
            pos: el.pos,
        };
        for c in self.bpel_children(el, None) {
            if c.name.local != "branches" {
                self.unexpected(c, el);
                continue;
            }
            if cc.branches.is_some() {
                self.duplicate(c, el);
            }
            cc.branches = Some(self.expr_element(
                c,
                "expressionLanguage",
                &["successfulBranchesOnly"],
                false,
            ));
            cc.successful_branches_only = self
                .within(c, |p| p.bool_attr(c, "successfulBranchesOnly"))
                .unwrap_or(false);
        }
        cc
    }

    fn pick(&mut self, el: &Element, rest: Vec<&Element>) -> Pick {
        let mut pick = Pick {
            create_instance: self.bool_attr(el, "createInstance").unwrap_or(false),
            on_messages: Vec::new(),
            on_alarms: Vec::new(),
        };
        let mut order = Order::new();
        for c in rest {
            match c.name.local.as_str() {
                "onMessage" => {
                    order.see(self, c, 0);
                    let m = self.within(c, |p| p.on_message(c));
                    pick.on_messages.push(m);
                }
                "onAlarm" => {
                    order.see(self, c, 1);
                    let a = self.within(c, |p| p.on_alarm(c, false));
                    pick.on_alarms.push(a);
                }
                _ => self.unexpected(c, el),
            }
        }
        if pick.on_messages.is_empty() {
            self.error(el.pos, "<pick> must contain at least one <onMessage>");
        }
        pick
    }

    fn on_message(&mut self, el: &Element) -> super::super::ast::OnMessage {
        self.check_attrs(
            el,
            &[
                "partnerLink",
                "portType",
                "operation",
                "variable",
                "messageExchange",
            ],
        );
        let children = self.bpel_children(el, None);
        let (target, rest) = self.message_target(el, children);
        super::super::ast::OnMessage {
            target,
            activity: self.one_activity(el, rest),
            pos: el.pos,
        }
    }

    fn flow(&mut self, el: &Element, rest: Vec<&Element>) -> Flow {
        let mut links = Vec::new();
        let mut acts = Vec::new();
        let mut seen_links = false;
        for c in rest {
            if c.name.local == "links" {
                if !acts.is_empty() && self.is20() {
                    self.error(
                        c.pos,
                        "<links> is out of place: it must come before the activities",
                    );
                }
                if seen_links {
                    self.duplicate(c, el);
                }
                seen_links = true;
                self.within(c, |p| p.links(c, &mut links));
            } else {
                acts.push(c);
            }
        }
        Flow {
            links,
            activities: self.activities(el, acts),
        }
    }

    fn links(&mut self, el: &Element, out: &mut Vec<(String, Pos)>) {
        self.check_attrs(el, &[]);
        let before = out.len();
        for c in self.bpel_children(el, None) {
            if c.name.local != "link" {
                self.unexpected(c, el);
                continue;
            }
            let name = self.within(c, |p| {
                p.check_attrs(c, &["name"]);
                p.bpel_children(c, None)
                    .into_iter()
                    .for_each(|x| p.unexpected(x, c));
                p.required(c, "name")
            });
            out.push((name, c.pos));
        }
        if out.len() == before {
            self.error(el.pos, "<links> must contain at least one <link>");
        }
    }

    fn scope(&mut self, el: &Element, rest: Vec<&Element>) -> Scope {
        let isolated = self.bool_attr(el, "isolated");
        let serializable = if self.legacy() {
            self.bool_attr(el, "variableAccessSerializable")
        } else {
            None
        };
        let exit_on_standard_fault = self.bool_attr(el, "exitOnStandardFault");
        let body = self.scope_body(el, rest, false, Order::new());
        Scope {
            isolated: isolated.or(serializable).unwrap_or(false),
            exit_on_standard_fault,
            body,
        }
    }
}

fn empty_targets() -> Targets {
    Targets {
        join_condition: None,
        links: Vec::new(),
    }
}
