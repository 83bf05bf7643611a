//! Declarations of a scope or the process: partner links (§6.2), variables (§8.1), correlation
//! sets (§9.1–9.2) and message exchanges (§10.4.1).

use std::collections::HashMap;

use bpelgate_wsdl::wsdl::PartKind;
use bpelgate_wsdl::xml::{Pos, QName};

use super::Ctx;
use super::assign;
use super::ast::{ScopeBody, VariableType};
use super::lookup;
use super::scopes::{Env, Frame, VarTy};

/// Builds the frame of `body`, reporting duplicate and ill-formed declarations.
pub(crate) fn declare<'a>(ctx: &mut Ctx<'a>, body: &'a ScopeBody) -> Frame<'a> {
    let mut frame = Frame::default();

    for pl in &body.partner_links {
        let name = &pl.name;
        if frame.partner_links.insert(name, pl).is_some() {
            ctx.error(
                "SA00018",
                pl.pos,
                format!("partnerLink \"{name}\" is declared twice in the same scope; rename or remove one of them"),
            );
        }
        if pl.my_role.is_none() && pl.partner_role.is_none() {
            ctx.error(
                "SA00016",
                pl.pos,
                format!("partnerLink \"{name}\" has neither myRole nor partnerRole; add the role(s) this process plays or expects"),
            );
        }
        if pl.initialize_partner_role.is_some() && pl.partner_role.is_none() {
            ctx.error(
                "SA00017",
                pl.pos,
                format!("partnerLink \"{name}\" sets initializePartnerRole but has no partnerRole; remove the attribute or add a partnerRole"),
            );
        }
        check_partner_link_type(ctx, pl);
    }

    for v in &body.variables {
        let name = &v.name;
        if frame.vars.insert(name, VarTy::of(&v.types)).is_some() {
            ctx.error(
                "SA00023",
                v.pos,
                format!("variable \"{name}\" is declared twice in the same scope; rename or remove one of them"),
            );
        }
        check_variable_name(ctx, name, v.pos);
        if v.types.len() != 1 {
            let n = v.types.len();
            ctx.error(
                "SA00025",
                v.pos,
                format!("variable \"{name}\" has {n} of the messageType/type/element attributes; give it exactly one"),
            );
        }
        if let Some(VariableType::MessageType(q)) = v.types.first()
            && lookup::has_documents(ctx.wsdl)
            && lookup::message(ctx.wsdl, q).is_none()
        {
            ctx.error(
                "SA00010",
                v.pos,
                format!("variable \"{name}\" has messageType {q}, which no imported WSDL defines; import the WSDL that defines it or fix the name"),
            );
        }
    }

    for v in &body.variables {
        let (q, element, attr) = match v.types.first() {
            Some(VariableType::Element(q)) => (q, true, "element"),
            Some(VariableType::Type(q)) => (q, false, "type"),
            _ => continue,
        };
        if lookup::missing_schema_component(ctx.wsdl, q, element) {
            let name = &v.name;
            ctx.error(
                "SA00010",
                v.pos,
                format!("variable \"{name}\" has {attr} {q}, which the imported schemas of that namespace do not define; import the schema that defines it or fix the name"),
            );
        }
    }

    for cs in &body.correlation_sets {
        let name = &cs.name;
        if frame.correlation_sets.insert(name, cs).is_some() {
            ctx.error(
                "SA00044",
                cs.pos,
                format!("correlationSet \"{name}\" is declared twice in the same scope; rename or remove one of them"),
            );
        }
        for p in &cs.properties {
            check_correlation_property(ctx, name, p, cs.pos);
        }
    }

    let mut mex: HashMap<&str, Pos> = HashMap::new();
    for m in &body.message_exchanges {
        let name = m.name.as_str();
        if mex.insert(name, m.pos).is_some() {
            // §10.4.1: messageExchange names are unique within their scope (no SA code).
            ctx.error(
                "BPEL",
                m.pos,
                format!("messageExchange \"{name}\" is declared twice in the same scope; rename or remove one of them"),
            );
        }
        frame.message_exchanges.insert(name);
    }
    frame
}

/// Checks the inline from-spec initialisers of `body`'s variables (§8.1), in the scope itself.
pub(crate) fn check_initializers<'a>(ctx: &mut Ctx<'a>, env: &Env<'a>, body: &'a ScopeBody) {
    for v in &body.variables {
        if let Some(from) = &v.from {
            assign::check_from(ctx, env, from);
        }
    }
}

/// SA00024: BPELVariableName is an NCName without ".".
fn check_variable_name(ctx: &mut Ctx<'_>, name: &str, pos: Pos) {
    if name.contains('.') {
        ctx.error(
            "SA00024",
            pos,
            format!("variable name \"{name}\" contains \".\", which WS-BPEL reserves for part access; rename it without the dot"),
        );
    } else if !is_ncname(name) {
        ctx.error(
            "SA00024",
            pos,
            format!("variable name \"{name}\" is not an NCName; use a name that starts with a letter or \"_\" and has no spaces or colons"),
        );
    }
}

/// True for an XML NCName (ASCII-precise; non-ASCII letters are accepted).
pub(crate) fn is_ncname(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    (first.is_alphabetic() || first == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.') || !c.is_ascii())
}

fn check_partner_link_type(ctx: &mut Ctx<'_>, pl: &super::ast::PartnerLinkDecl) {
    let name = &pl.name;
    let Some(plt_name) = &pl.partner_link_type else {
        return;
    };
    if !lookup::has_documents(ctx.wsdl) {
        return;
    }
    let Some(plt) = lookup::partner_link_type(ctx.wsdl, plt_name) else {
        ctx.error(
            "SA00010",
            pl.pos,
            format!("partnerLink \"{name}\" uses partnerLinkType {plt_name}, which no imported WSDL defines; import the WSDL that defines it or fix the name"),
        );
        return;
    };
    for role in [&pl.my_role, &pl.partner_role].into_iter().flatten() {
        match plt.role(role) {
            None => {
                let known: Vec<&str> = plt.roles.iter().map(|r| r.name.as_str()).collect();
                let known = known.join(", ");
                ctx.error(
                    "BPEL",
                    pl.pos,
                    format!("partnerLink \"{name}\" names role \"{role}\", which partnerLinkType {plt_name} does not define (it has: {known}); use one of its roles"),
                );
            }
            Some(r) => match lookup::port_type(ctx.wsdl, &r.port_type) {
                None => {
                    let pt = &r.port_type;
                    ctx.error(
                        "SA00010",
                        pl.pos,
                        format!("role \"{role}\" of partnerLinkType {plt_name} uses portType {pt}, which no imported WSDL defines; import it"),
                    );
                }
                Some(pt) => check_port_type(ctx, pt, pl.pos),
            },
        }
    }
}

/// SA00001 (notification operations) and SA00002 (overloaded operation names) of a portType the
/// process uses.
fn check_port_type(ctx: &mut Ctx<'_>, pt: &bpelgate_wsdl::wsdl::PortType, pos: Pos) {
    let name = &pt.name;
    let mut seen = std::collections::HashSet::new();
    for op in &pt.operations {
        let opn = &op.name;
        if !seen.insert(opn.as_str()) {
            ctx.error(
                "SA00002",
                pos,
                format!("portType {name} used here overloads operation \"{opn}\"; WS-BPEL needs unique operation names, so rename one in the WSDL"),
            );
        }
        if op.is_outbound_first() {
            ctx.ode_lenient(
                "SA00001",
                pos,
                format!("portType {name} used here has notification/solicit-response operation \"{opn}\", which WS-BPEL cannot use; remove it or use another portType"),
            );
        }
    }
}

/// SA00010 (property defined) and SA00045 (simple-typed) for a correlation set property.
fn check_correlation_property(ctx: &mut Ctx<'_>, set: &str, p: &QName, pos: Pos) {
    if !lookup::has_documents(ctx.wsdl) {
        return;
    }
    match lookup::property(ctx.wsdl, p) {
        None => ctx.error(
            "SA00010",
            pos,
            format!("correlationSet \"{set}\" uses property {p}, which no imported WSDL defines; import the WSDL that defines it or fix the name"),
        ),
        Some(prop) => {
            if let PartKind::Element(e) = &prop.kind {
                ctx.error(
                    "SA00045",
                    pos,
                    format!("correlationSet \"{set}\" uses property {p}, which is defined by element {e}; correlation properties must have an XML Schema simple type"),
                );
            } else if let PartKind::Type(t) = &prop.kind
                && t.ns == lookup::XSD_NS
                && matches!(t.local.as_str(), "anyType" | "anySimpleType")
            {
                ctx.error(
                    "SA00045",
                    pos,
                    format!("correlationSet \"{set}\" uses property {p} of type {t}; correlation properties must have a concrete XML Schema simple type"),
                );
            }
        }
    }
}
