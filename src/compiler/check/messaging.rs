//! Web service interactions: receive, reply, invoke, pick/onMessage and onEvent (WS-BPEL 2.0
//! §10.3–10.4, §11.5, §12.7.1; partner link roles §6.2; correlation §9.2).

use bpelgate_wsdl::wsdl::{Message, Operation};
use bpelgate_wsdl::xml::{Pos, QName};

use super::Ctx;
use super::ast::{
    Activity, Correlation, FromPart, Invoke, MessageTarget, OnEvent, OnMessage, Pattern, Pick,
    Receive, Reply, ToPart,
};
use super::lookup;
use super::scopes::{Env, VarTy};

/// Which role of the partner link an activity uses.
#[derive(Clone, Copy, PartialEq)]
enum Side {
    /// myRole: the process provides the operation (receive, reply, onMessage, onEvent).
    My,
    /// partnerRole: the partner provides it (invoke).
    Partner,
}

/// SA codes that differ between onEvent and the other message activities.
#[derive(Clone, Copy)]
struct Codes {
    partner_link: &'static str,
    correlation_set: &'static str,
    message_exchange: &'static str,
}

const PLAIN: Codes = Codes {
    partner_link: "BPEL",
    correlation_set: "BPEL",
    message_exchange: "SA00061",
};

const ON_EVENT: Codes = Codes {
    partner_link: "SA00084",
    correlation_set: "SA00088",
    message_exchange: "SA00089",
};

/// Resolves partnerLink + role + operation; reports what does not resolve. Returns the operation
/// when the WSDL lets us know it.
#[allow(clippy::too_many_arguments)]
fn resolve_operation<'a>(
    ctx: &mut Ctx<'a>,
    env: &Env<'a>,
    what: &str,
    partner_link: &str,
    port_type: Option<&QName>,
    operation: &str,
    side: Side,
    codes: Codes,
    pos: Pos,
) -> Option<&'a Operation> {
    let Some(pl) = env.partner_link(partner_link) else {
        ctx.error(
            codes.partner_link,
            pos,
            format!("{what} uses partnerLink \"{partner_link}\", which is not declared in this or an enclosing scope; declare it in <partnerLinks> or fix the name"),
        );
        return None;
    };
    let (role, role_attr) = match side {
        Side::My => (pl.my_role.as_deref(), "myRole"),
        Side::Partner => (pl.partner_role.as_deref(), "partnerRole"),
    };
    let Some(role) = role else {
        ctx.error(
            "BPEL",
            pos,
            format!("{what} needs the {role_attr} of partnerLink \"{partner_link}\", but it declares none; add {role_attr} to the partnerLink"),
        );
        return None;
    };
    let plt = lookup::partner_link_type(ctx.wsdl, pl.partner_link_type.as_ref()?)?;
    let role_pt = &plt.role(role)?.port_type;
    if let Some(pt) = port_type
        && pt != role_pt
    {
        // Apache ODE ignores the portType attribute of an invoke, but rejects a receive's,
        // reply's or onMessage's that differs from the role's (compiler-negative
        // PortTypeMismatch), so ode-compat only accepts the former.
        let message = format!(
            "{what} names portType {pt}, but role \"{role}\" of partnerLink \"{partner_link}\" has portType {role_pt}; fix or drop the portType attribute"
        );
        if side == Side::Partner {
            ctx.ode_lenient("SA00005", pos, message);
        } else {
            ctx.error("SA00005", pos, message);
        }
    }
    let pt = lookup::port_type(ctx.wsdl, role_pt)?;
    let op = pt.operation(operation);
    // ode-compat accepts a portType with notification/solicit-response operations (SA00001).
    // A partner's such operation is invoked the way Apache ODE does (request: its input
    // message, or an empty one; response: its output); receiving or replying on one stays an
    // error.
    if let Some(o) = op
        && o.is_outbound_first()
    {
        if !ctx.options.ode_compat {
            return None;
        }
        if side == Side::My {
            ctx.error(
                "BPEL",
                pos,
                format!("{what} uses operation \"{operation}\" of portType {role_pt}, a notification/solicit-response operation, which a process cannot receive or reply on; use a one-way or request-response operation"),
            );
            return None;
        }
    }
    if op.is_none() {
        let ops: Vec<&str> = pt.operations.iter().map(|o| o.name.as_str()).collect();
        let ops = ops.join(", ");
        ctx.error(
            "BPEL",
            pos,
            format!("{what} calls operation \"{operation}\", which portType {role_pt} does not have (it has: {ops}); fix the operation name"),
        );
    }
    op
}

/// Checks that `var` can hold message `msg` (SA00048/SA00058/SA00087 shape).
fn check_message_var(
    ctx: &mut Ctx<'_>,
    env: &Env<'_>,
    var: &str,
    msg: &QName,
    code: &str,
    what: &str,
    pos: Pos,
) {
    let Some(ty) = env.var(var) else {
        ctx.undeclared_variable(pos, var, what);
        return;
    };
    let Some(message) = lookup::message(ctx.wsdl, msg) else {
        return;
    };
    match ty {
        VarTy::Message(q) if q == msg => {}
        VarTy::Element(e) if lookup::single_element_part(message) == Some(e) => {}
        VarTy::Unknown => {}
        VarTy::Message(q) => ctx.error(
            code,
            pos,
            format!("{what} variable \"{var}\" has messageType {q}, but the operation's message is {msg}; declare the variable with messageType {msg}"),
        ),
        VarTy::Element(e) => ctx.error(
            code,
            pos,
            format!("{what} variable \"{var}\" has element {e}, but the operation's message {msg} is not a single part of that element; declare the variable with messageType {msg}"),
        ),
        VarTy::Type(_) | VarTy::Counter => ctx.error(
            code,
            pos,
            format!("{what} variable \"{var}\" is not a message variable; declare it with messageType {msg}"),
        ),
    }
}

fn check_from_parts(
    ctx: &mut Ctx<'_>,
    env: &Env<'_>,
    parts: &[FromPart],
    msg: Option<&Message>,
    declare_check: bool,
) {
    for fp in parts {
        let part = &fp.part;
        if let Some(m) = msg
            && m.part(part).is_none()
        {
            let mname = &m.name;
            ctx.error(
                "SA00053",
                fp.pos,
                format!("<fromPart part=\"{part}\"> names a part that message {mname} does not have; use one of its parts"),
            );
        }
        if declare_check && env.var(&fp.to_variable).is_none() {
            ctx.undeclared_variable(fp.pos, &fp.to_variable, "<fromPart toVariable>");
        }
    }
}

fn check_to_parts(
    ctx: &mut Ctx<'_>,
    env: &Env<'_>,
    parts: &[ToPart],
    msg: Option<&Message>,
    pos: Pos,
) {
    for tp in parts {
        let part = &tp.part;
        if let Some(m) = msg
            && m.part(part).is_none()
        {
            let mname = &m.name;
            ctx.error(
                "SA00054",
                tp.pos,
                format!("<toPart part=\"{part}\"> names a part that message {mname} does not have; use one of its parts"),
            );
        }
        if env.var(&tp.from_variable).is_none() {
            ctx.undeclared_variable(tp.pos, &tp.from_variable, "<toPart fromVariable>");
        }
    }
    if !parts.is_empty()
        && let Some(m) = msg
    {
        for p in &m.parts {
            if !parts.iter().any(|tp| tp.part == p.name) {
                let (pn, mname) = (&p.name, &m.name);
                ctx.error(
                    "SA00050",
                    pos,
                    format!("<toParts> has no <toPart> for part \"{pn}\" of message {mname}; every part must be given"),
                );
            }
        }
    }
}

/// Correlations: set declared, `pattern` use (SA00046), and a propertyAlias for every property
/// of the set on every message the correlation applies to (SA00021).
fn check_correlations(
    ctx: &mut Ctx<'_>,
    env: &Env<'_>,
    corrs: &[Correlation],
    invoke_op: Option<Option<&Operation>>,
    messages_for: &dyn Fn(Option<Pattern>) -> Vec<QName>,
    codes: Codes,
) {
    for c in corrs {
        let set = &c.set;
        let Some(decl) = env.correlation_set(set) else {
            ctx.error(
                codes.correlation_set,
                c.pos,
                format!("<correlation set=\"{set}\"> names a correlationSet that is not declared in this or an enclosing scope; declare it or fix the name"),
            );
            continue;
        };
        match invoke_op {
            None => {
                if c.pattern.is_some() {
                    ctx.error(
                        "BPEL",
                        c.pos,
                        format!("<correlation set=\"{set}\"> has a pattern attribute, which only <invoke> correlations may have; remove it"),
                    );
                }
            }
            Some(Some(op)) => {
                if op.is_request_response()
                    && c.pattern.is_none()
                    && ctx.process.dialect != super::ast::Dialect::Bpel11
                {
                    ctx.ode_lenient(
                        "SA00046",
                        c.pos,
                        format!("<correlation set=\"{set}\"> on a request-response invoke needs pattern=\"request\", \"response\" or \"request-response\"; add it"),
                    );
                    // ode-compat: like Apache ODE, such a correlation applies to neither
                    // message (the lowering drops it), so it needs no propertyAlias.
                    if ctx.options.ode_compat {
                        continue;
                    }
                }
                if !op.is_request_response()
                    && ctx.process.dialect == super::ast::Dialect::Bpel20
                    && c.pattern.is_some_and(|p| p != Pattern::Request)
                {
                    ctx.error(
                        "SA00046",
                        c.pos,
                        format!("<correlation set=\"{set}\"> has a response pattern on a one-way invoke; remove the pattern attribute"),
                    );
                }
            }
            Some(None) => {}
        }
        for msg in messages_for(c.pattern) {
            for prop in &decl.properties {
                if lookup::property(ctx.wsdl, prop).is_none() {
                    continue;
                }
                let message = lookup::message(ctx.wsdl, &msg);
                let single = message.and_then(lookup::single_element_part);
                let found = lookup::aliases(ctx.wsdl, prop).any(|a| match &a.target {
                    bpelgate_wsdl::wsdl::AliasTarget::MessagePart { message, .. } => {
                        *message == msg
                    }
                    bpelgate_wsdl::wsdl::AliasTarget::Element(e) => Some(e) == single,
                    bpelgate_wsdl::wsdl::AliasTarget::Type(_) => false,
                });
                if !found {
                    ctx.error(
                        "SA00021",
                        c.pos,
                        format!("correlationSet \"{set}\" uses property {prop}, but no propertyAlias maps it on message {msg}; add a vprop:propertyAlias for {prop} with messageType {msg}"),
                    );
                }
            }
        }
    }
}

fn check_mex(
    ctx: &mut Ctx<'_>,
    env: &Env<'_>,
    mex: Option<&String>,
    codes: Codes,
    what: &str,
    pos: Pos,
) {
    if let Some(m) = mex
        && !env.message_exchange(m)
    {
        // Apache ODE declares undeclared message exchanges implicitly at process level and
        // real processes rely on it, so this is a warning rather than a rejection.
        ctx.warning(
            codes.message_exchange,
            pos,
            format!("{what} uses messageExchange \"{m}\", which is not declared in this or an enclosing scope; declare it in <messageExchanges>"),
        );
    }
}

/// The receiving side shared by receive and onMessage.
fn check_target<'a>(
    ctx: &mut Ctx<'a>,
    env: &Env<'a>,
    what: &str,
    t: &MessageTarget,
    parts_code: &str,
    pos: Pos,
) {
    let op = resolve_operation(
        ctx,
        env,
        what,
        &t.partner_link,
        t.port_type.as_ref(),
        &t.operation,
        Side::My,
        PLAIN,
        pos,
    );
    if t.variable.is_some() && !t.from_parts.is_empty() {
        ctx.error(
            parts_code,
            pos,
            format!("{what} has both a variable attribute and <fromParts>; use one or the other"),
        );
    }
    let input = op.and_then(|o| o.input.clone());
    if let (Some(v), Some(msg)) = (&t.variable, &input) {
        check_message_var(ctx, env, v, msg, "SA00058", what, pos);
    } else if let Some(v) = &t.variable
        && env.var(v).is_none()
    {
        ctx.undeclared_variable(pos, v, what);
    }
    let message = input.as_ref().and_then(|m| lookup::message(ctx.wsdl, m));
    check_from_parts(ctx, env, &t.from_parts, message, true);
    let input_for = input.clone();
    check_correlations(
        ctx,
        env,
        &t.correlations,
        None,
        &move |_| input_for.iter().cloned().collect(),
        PLAIN,
    );
    check_mex(ctx, env, t.message_exchange.as_ref(), PLAIN, what, pos);
}

/// `<receive>`.
pub(crate) fn receive<'a>(ctx: &mut Ctx<'a>, env: &Env<'a>, a: &Activity, r: &Receive) {
    check_target(ctx, env, "<receive>", &r.target, "SA00055", a.pos);
}

/// `<onMessage>` of a pick.
pub(crate) fn on_message<'a>(ctx: &mut Ctx<'a>, env: &Env<'a>, om: &OnMessage) {
    check_target(ctx, env, "<onMessage>", &om.target, "SA00063", om.pos);
}

/// SA00062: a start pick has only onMessage events.
pub(crate) fn pick(ctx: &mut Ctx<'_>, a: &Activity, p: &Pick) {
    if p.create_instance
        && let Some(al) = p.on_alarms.first()
    {
        let _ = a;
        ctx.error(
            "SA00062",
            al.pos,
            "a <pick createInstance=\"yes\"> may only have <onMessage> events; remove this <onAlarm> or the createInstance attribute",
        );
    }
}

/// `<onEvent>`, checked with its associated scope's frame pushed (SA00084/88/89 resolve there
/// first).
pub(crate) fn on_event<'a>(ctx: &mut Ctx<'a>, env: &Env<'a>, ev: &OnEvent) {
    let what = "<onEvent>";
    let t = &ev.target;
    let op = resolve_operation(
        ctx,
        env,
        what,
        &t.partner_link,
        t.port_type.as_ref(),
        &t.operation,
        Side::My,
        ON_EVENT,
        ev.pos,
    );
    if !t.from_parts.is_empty()
        && (t.variable.is_some() || ev.message_type.is_some() || ev.element.is_some())
    {
        ctx.error(
            "SA00085",
            ev.pos,
            "<onEvent> has <fromParts> together with variable/messageType/element; use one or the other",
        );
    }
    if t.variable.is_some() && ev.message_type.is_none() && ev.element.is_none() {
        ctx.error(
            "SA00090",
            ev.pos,
            "<onEvent> declares a variable but neither messageType nor element; add the one matching the operation's input",
        );
    }
    let input = op.and_then(|o| o.input.clone());
    if let Some(msg) = &input
        && let Some(message) = lookup::message(ctx.wsdl, msg)
    {
        if let Some(mt) = &ev.message_type
            && mt != msg
        {
            ctx.error(
                "SA00087",
                ev.pos,
                format!("<onEvent> messageType {mt} differs from the operation's input message {msg}; use messageType {msg}"),
            );
        }
        if let Some(el) = &ev.element
            && lookup::single_element_part(message) != Some(el)
        {
            ctx.error(
                "SA00087",
                ev.pos,
                format!("<onEvent> element {el} is not the single element part of input message {msg}; use messageType {msg} instead"),
            );
        }
        check_from_parts(ctx, env, &t.from_parts, Some(message), false);
    }
    let input_for = input.clone();
    check_correlations(
        ctx,
        env,
        &t.correlations,
        None,
        &move |_| input_for.iter().cloned().collect(),
        ON_EVENT,
    );
    check_mex(
        ctx,
        env,
        t.message_exchange.as_ref(),
        ON_EVENT,
        what,
        ev.pos,
    );
}

/// `<reply>`.
pub(crate) fn reply<'a>(ctx: &mut Ctx<'a>, env: &Env<'a>, a: &Activity, r: &Reply) {
    let what = "<reply>";
    let op = resolve_operation(
        ctx,
        env,
        what,
        &r.partner_link,
        r.port_type.as_ref(),
        &r.operation,
        Side::My,
        PLAIN,
        a.pos,
    );
    if r.variable.is_some() && !r.to_parts.is_empty() {
        ctx.error(
            "SA00059",
            a.pos,
            "<reply> has both a variable attribute and <toParts>; use one or the other",
        );
    }
    let mut msg: Option<QName> = None;
    if let Some(op) = op {
        let opn = &op.name;
        if !op.is_request_response() {
            ctx.error(
                "BPEL",
                a.pos,
                format!("<reply> answers operation \"{opn}\", which is one-way; only request-response operations can be replied to"),
            );
        } else if let Some(f) = &r.fault_name {
            match op.fault(&f.local) {
                Some(fr) => msg = Some(fr.message.clone()),
                None => {
                    let faults: Vec<&str> = op.faults.iter().map(|f| f.name.as_str()).collect();
                    let faults = faults.join(", ");
                    ctx.error(
                        "BPEL",
                        a.pos,
                        format!("<reply faultName=\"{f}\"> names a fault that operation \"{opn}\" does not declare (it has: {faults}); use a declared fault"),
                    );
                }
            }
        } else {
            msg = op.output.clone();
        }
    }
    match (&r.variable, &msg) {
        (Some(v), Some(m)) => check_message_var(ctx, env, v, m, "SA00058", what, a.pos),
        (Some(v), None) if env.var(v).is_none() => ctx.undeclared_variable(a.pos, v, what),
        _ => {}
    }
    let message = msg.as_ref().and_then(|m| lookup::message(ctx.wsdl, m));
    check_to_parts(ctx, env, &r.to_parts, message, a.pos);
    let out = msg.clone();
    check_correlations(
        ctx,
        env,
        &r.correlations,
        None,
        &move |_| out.iter().cloned().collect(),
        PLAIN,
    );
    check_mex(ctx, env, r.message_exchange.as_ref(), PLAIN, what, a.pos);
}

/// `<invoke>`.
pub(crate) fn invoke<'a>(ctx: &mut Ctx<'a>, env: &Env<'a>, a: &Activity, inv: &Invoke) {
    let what = "<invoke>";
    let op = resolve_operation(
        ctx,
        env,
        what,
        &inv.partner_link,
        inv.port_type.as_ref(),
        &inv.operation,
        Side::Partner,
        PLAIN,
        a.pos,
    );
    // Tools write `inputVariable=""` for an operation without input, and Apache ODE reads an
    // empty attribute as an absent one: it names no variable (the lowering agrees).
    let input_variable = inv.input_variable.clone().filter(|v| !v.is_empty());
    let output_variable = inv.output_variable.clone().filter(|v| !v.is_empty());
    if input_variable.is_some() && !inv.to_parts.is_empty() {
        ctx.error(
            "SA00051",
            a.pos,
            "<invoke> has both inputVariable and <toParts>; use one or the other",
        );
    }
    if output_variable.is_some() && !inv.from_parts.is_empty() {
        ctx.error(
            "SA00052",
            a.pos,
            "<invoke> has both outputVariable and <fromParts>; use one or the other",
        );
    }
    let input = op.and_then(|o| o.input.clone());
    let output = op.and_then(|o| o.output.clone());
    if let Some(op) = op {
        let opn = &op.name;
        if output.is_none() && (output_variable.is_some() || !inv.from_parts.is_empty()) {
            ctx.error(
                "SA00047",
                a.pos,
                format!("<invoke> of one-way operation \"{opn}\" has an outputVariable or <fromParts>, but no response comes back; remove it"),
            );
        }
        if let Some(out) = &output
            && output_variable.is_none()
            && inv.from_parts.is_empty()
            && lookup::message(ctx.wsdl, out).is_some_and(|m| !m.parts.is_empty())
        {
            ctx.error(
                "SA00047",
                a.pos,
                format!("<invoke> of request-response operation \"{opn}\" has no outputVariable or <fromParts>; add one to receive the response"),
            );
        }
        if let Some(inp) = &input
            && input_variable.is_none()
            && inv.to_parts.is_empty()
            && lookup::message(ctx.wsdl, inp).is_some_and(|m| !m.parts.is_empty())
        {
            ctx.error(
                "SA00047",
                a.pos,
                format!("<invoke> of operation \"{opn}\" has no inputVariable or <toParts>; add one to send the request"),
            );
        }
    }
    match (&input_variable, &input) {
        (Some(v), Some(m)) => {
            check_message_var(ctx, env, v, m, "SA00048", "<invoke> inputVariable", a.pos)
        }
        (Some(v), None) if env.var(v).is_none() => ctx.undeclared_variable(a.pos, v, what),
        _ => {}
    }
    match (&output_variable, &output) {
        (Some(v), Some(m)) => {
            check_message_var(ctx, env, v, m, "SA00048", "<invoke> outputVariable", a.pos)
        }
        (Some(v), None) if env.var(v).is_none() => ctx.undeclared_variable(a.pos, v, what),
        _ => {}
    }
    let in_msg = input.as_ref().and_then(|m| lookup::message(ctx.wsdl, m));
    let out_msg = output.as_ref().and_then(|m| lookup::message(ctx.wsdl, m));
    check_to_parts(ctx, env, &inv.to_parts, in_msg, a.pos);
    check_from_parts(ctx, env, &inv.from_parts, out_msg, true);
    let (i2, o2) = (input.clone(), output.clone());
    check_correlations(
        ctx,
        env,
        &inv.correlations,
        Some(op),
        &move |p| match p {
            Some(Pattern::Response) => o2.iter().cloned().collect(),
            Some(Pattern::RequestResponse) => i2.iter().chain(o2.iter()).cloned().collect(),
            Some(Pattern::Request) | None => i2.iter().cloned().collect(),
        },
        PLAIN,
    );
}
