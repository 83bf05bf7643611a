//! `<assign>`/`<copy>` and variable initialisers (WS-BPEL 2.0 §8.4, SA00032–SA00043).

use bpelgate_wsdl::wsdl::AliasTarget;
use bpelgate_wsdl::xml::{Node, Pos, QName};

use super::Ctx;
use super::ast::{Assign, AssignOperation, Copy, From, FromSpec, To, ToSpec};
use super::lookup;
use super::scopes::{Env, VarTy};
use super::{expr, structure};

/// What a from-spec or to-spec selects, as far as SA00043 can tell statically.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Shape<'a> {
    /// A whole variable of this WSDL message type.
    WholeMessage(&'a QName),
    /// Something that is certainly not a whole message variable.
    NotMessage,
    /// Not known statically.
    Unknown,
}

/// Checks every operation of an assign.
pub(crate) fn check<'a>(ctx: &mut Ctx<'a>, env: &Env<'a>, asg: &'a Assign) {
    for op in &asg.operations {
        match op {
            AssignOperation::Copy(c) => check_copy(ctx, env, c),
            AssignOperation::Extension(el) => structure::check_extension_element(ctx, el, el.pos),
        }
    }
}

fn check_copy<'a>(ctx: &mut Ctx<'a>, env: &Env<'a>, c: &'a Copy) {
    let mut from = check_from(ctx, env, &c.from);
    let mut to = check_to(ctx, env, &c.to);
    // Apache ODE's `header="name"` on <from variable>/<to variable> selects a SOAP header part of
    // the message (the lowering reads it like `part`): not the whole message.
    if has_ode_header(&c.from.foreign_attrs) {
        from = Shape::Unknown;
    }
    if has_ode_header(&c.to.foreign_attrs) {
        to = Shape::Unknown;
    }
    match (from, to) {
        (Shape::WholeMessage(a), Shape::WholeMessage(b)) if a != b => ctx.ode_lenient(
            "SA00043",
            c.pos,
            format!("<copy> copies a variable of messageType {a} into one of messageType {b}; whole message variables can only be copied between the same message type"),
        ),
        (Shape::WholeMessage(m), Shape::NotMessage) | (Shape::NotMessage, Shape::WholeMessage(m)) => {
            ctx.error(
                "SA00043",
                c.pos,
                format!("<copy> mixes a whole variable of messageType {m} with a non-message value; copy part by part (use the part attribute) instead"),
            )
        }
        _ => {}
    }
    if c.keep_src_element_name {
        let from_tii = matches!(
            c.from.spec,
            FromSpec::Property { .. } | FromSpec::PartnerLink { .. }
        );
        let to_tii = matches!(
            c.to.spec,
            ToSpec::Property { .. } | ToSpec::PartnerLink { .. }
        );
        if from_tii || to_tii {
            ctx.error(
                "SA00042",
                c.pos,
                "keepSrcElementName=\"yes\" only applies when both from-spec and to-spec select elements; remove it from this <copy>",
            );
        }
    }
}

/// True when ODE's unqualified `header` attribute is present and not empty.
fn has_ode_header(attrs: &[(QName, String)]) -> bool {
    attrs
        .iter()
        .any(|(q, v)| q.ns.is_empty() && q.local == "header" && !v.trim().is_empty())
}

fn variable_part<'a>(
    ctx: &mut Ctx<'a>,
    env: &Env<'a>,
    variable: &str,
    part: Option<&String>,
    query: Option<&'a super::ast::Expr>,
    pos: Pos,
    what: &str,
) -> Shape<'a> {
    if let Some(q) = query {
        expr::check(ctx, env, q, expr::Role::Query);
    }
    let Some(ty) = env.var(variable) else {
        ctx.undeclared_variable(pos, variable, what);
        return Shape::Unknown;
    };
    match (ty, part) {
        (VarTy::Message(m), None) if query.is_none() => Shape::WholeMessage(m),
        (VarTy::Message(m), Some(p)) => {
            if let Some(msg) = lookup::message(ctx.wsdl, m)
                && msg.part(p).is_none()
            {
                let parts: Vec<&str> = msg.parts.iter().map(|p| p.name.as_str()).collect();
                let parts = parts.join(", ");
                ctx.error(
                    "BPEL",
                    pos,
                    format!("{what} names part \"{p}\" of variable \"{variable}\", but message {m} has no such part (it has: {parts}); fix the part name"),
                );
            }
            Shape::NotMessage
        }
        (VarTy::Element(_) | VarTy::Type(_) | VarTy::Counter, Some(p)) => {
            ctx.error(
                "SA00034",
                pos,
                format!("{what} uses part=\"{p}\" on variable \"{variable}\", which is not a message variable; remove the part attribute"),
            );
            Shape::NotMessage
        }
        (VarTy::Unknown, _) => Shape::Unknown,
        _ => Shape::NotMessage,
    }
}

/// Checks that `property` exists and has an alias for the type of `variable` (SA00010, SA00021).
pub(crate) fn check_property_use(
    ctx: &mut Ctx<'_>,
    ty: VarTy<'_>,
    variable: &str,
    property: &QName,
    pos: Pos,
) {
    if !lookup::has_documents(ctx.wsdl) {
        return;
    }
    if lookup::property(ctx.wsdl, property).is_none() {
        ctx.error(
            "SA00010",
            pos,
            format!("property {property} is not defined in any imported WSDL; import the WSDL that defines it or fix the name"),
        );
        return;
    }
    let found = lookup::aliases(ctx.wsdl, property).any(|a| match (&a.target, ty) {
        (AliasTarget::MessagePart { message, .. }, VarTy::Message(m)) => message == m,
        (AliasTarget::Element(e), VarTy::Element(v)) => e == v,
        (AliasTarget::Type(t), VarTy::Type(v)) => t == v,
        (_, VarTy::Unknown) => true,
        _ => false,
    });
    if !found && ty != VarTy::Unknown {
        let tyname = match ty {
            VarTy::Message(m) => format!("messageType {m}"),
            VarTy::Element(e) => format!("element {e}"),
            VarTy::Type(t) => format!("type {t}"),
            VarTy::Counter => "type xsd:unsignedInt".to_owned(),
            VarTy::Unknown => String::new(),
        };
        ctx.error(
            "SA00021",
            pos,
            format!("property {property} is used on variable \"{variable}\" ({tyname}), but no propertyAlias maps it for that type; add a vprop:propertyAlias for {property} and {tyname}"),
        );
    }
}

/// Checks a from-spec (in a copy or a variable initialiser).
pub(crate) fn check_from<'a>(ctx: &mut Ctx<'a>, env: &Env<'a>, from: &'a From) -> Shape<'a> {
    let pos = from.pos;
    match &from.spec {
        FromSpec::Variable {
            variable,
            part,
            query,
        } => variable_part(
            ctx,
            env,
            variable,
            part.as_ref(),
            query.as_ref(),
            pos,
            "<from>",
        ),
        FromSpec::PartnerLink {
            partner_link,
            endpoint_reference,
        } => {
            match env.partner_link(partner_link) {
                None => ctx.error(
                    "BPEL",
                    pos,
                    format!("<from partnerLink=\"{partner_link}\"> names a partnerLink that is not declared in this or an enclosing scope; declare it or fix the name"),
                ),
                Some(pl) => {
                    if endpoint_reference == "myRole" && pl.my_role.is_none() {
                        ctx.error(
                            "SA00035",
                            pos,
                            format!("<from endpointReference=\"myRole\"> needs partnerLink \"{partner_link}\" to have a myRole; add one or copy the partnerRole"),
                        );
                    }
                    if endpoint_reference == "partnerRole" && pl.partner_role.is_none() {
                        ctx.error(
                            "SA00036",
                            pos,
                            format!("<from endpointReference=\"partnerRole\"> needs partnerLink \"{partner_link}\" to have a partnerRole; add one or copy the myRole"),
                        );
                    }
                }
            }
            Shape::NotMessage
        }
        FromSpec::Property { variable, property } => {
            match env.var(variable) {
                None => ctx.undeclared_variable(pos, variable, "<from property>"),
                Some(ty) => check_property_use(ctx, ty, variable, property, pos),
            }
            Shape::NotMessage
        }
        FromSpec::Expression(e) => {
            expr::check(ctx, env, e, expr::Role::Value);
            Shape::Unknown
        }
        FromSpec::Literal(lit) => {
            let elements = lit.elements().count();
            let text = lit
                .children
                .iter()
                .any(|n| matches!(n, Node::Text(t) if !t.trim().is_empty()));
            if elements > 1 || (elements == 1 && text) {
                ctx.error(
                    "SA00038",
                    pos,
                    "<literal> must hold a single element or only text; wrap the content in one element",
                );
            }
            Shape::Unknown
        }
        FromSpec::Empty => {
            ctx.error(
                "SA00032",
                pos,
                "<from> has none of the executable forms (variable, partnerLink, property, expression, literal); add one",
            );
            Shape::Unknown
        }
    }
}

fn check_to<'a>(ctx: &mut Ctx<'a>, env: &Env<'a>, to: &'a To) -> Shape<'a> {
    let pos = to.pos;
    match &to.spec {
        ToSpec::Variable {
            variable,
            part,
            query,
        } => variable_part(
            ctx,
            env,
            variable,
            part.as_ref(),
            query.as_ref(),
            pos,
            "<to>",
        ),
        ToSpec::PartnerLink { partner_link } => {
            match env.partner_link(partner_link) {
                None => ctx.error(
                    "BPEL",
                    pos,
                    format!("<to partnerLink=\"{partner_link}\"> names a partnerLink that is not declared in this or an enclosing scope; declare it or fix the name"),
                ),
                Some(pl) if pl.partner_role.is_none() => ctx.error(
                    "SA00037",
                    pos,
                    format!("<to partnerLink=\"{partner_link}\"> needs the partnerLink to have a partnerRole; add one"),
                ),
                Some(_) => {}
            }
            Shape::NotMessage
        }
        ToSpec::Property { variable, property } => {
            match env.var(variable) {
                None => ctx.undeclared_variable(pos, variable, "<to property>"),
                Some(ty) => check_property_use(ctx, ty, variable, property, pos),
            }
            Shape::NotMessage
        }
        ToSpec::Expression(e) => {
            expr::check(ctx, env, e, expr::Role::To);
            Shape::Unknown
        }
        ToSpec::Empty => {
            ctx.error(
                "SA00032",
                pos,
                "<to> has none of the executable forms (variable, partnerLink, property, expression); add one",
            );
            Shape::Unknown
        }
    }
}
