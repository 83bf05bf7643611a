//! Messages in and out of variables, fault data, validation and the inbound shape check.

use bpelgate_wsdl::wsdl::PartKind;
use bpelgate_wsdl::{Element, Node, QName};

use super::store::accessor;
use super::{Env, Variables};
use crate::model::{Inbound, PartBinding, VarType, VariableId};
use crate::runtime::fault::{Fault, FaultData};

fn decl_type<'p>(env: &Env<'p>, var: VariableId) -> Result<(&'p str, &'p VarType), Fault> {
    env.process
        .variables
        .get(var.index())
        .map(|d| (d.name.as_str(), &d.ty))
        .ok_or_else(|| {
            Fault::standard(
                "selectionFailure",
                format!("variable #{} is not declared", var.0),
            )
        })
}

fn uninitialized(name: &str) -> Fault {
    Fault::standard(
        "uninitializedVariable",
        format!("variable {name} is not initialised"),
    )
}

/// The value a non-message variable takes from a part accessor: the element inside it for an
/// element variable, a wrapper with the accessor's content for a type variable.
fn from_accessor(name: &str, ty: &VarType, acc: &Element) -> Result<Element, Fault> {
    match ty {
        VarType::Element(_) => acc.first_element().cloned().ok_or_else(|| {
            Fault::standard(
                "selectionFailure",
                format!("part {} has no element for variable {name}", acc.name.local),
            )
        }),
        VarType::Type(_) => {
            let mut w = Element::new(QName::local(name));
            w.attrs = acc.attrs.clone();
            w.ns_decls = acc.ns_decls.clone();
            w.children = acc.children.clone();
            Ok(w)
        }
        VarType::MessageType(_) => Err(Fault::standard(
            "mismatchedAssignmentFailure",
            format!("a message part cannot be stored in message variable {name}"),
        )),
    }
}

/// An accessor named `part` holding a non-message variable's value.
fn to_accessor(part: &str, ty: &VarType, value: &Element) -> Element {
    let mut acc = Element::new(QName::local(part));
    match ty {
        VarType::Type(_) => {
            acc.attrs = value.attrs.clone();
            acc.ns_decls = value.ns_decls.clone();
            acc.children = value.children.clone();
        }
        _ => acc.children.push(Node::Element(value.clone())),
    }
    acc
}

pub(super) fn bind_inbound(
    env: &Env<'_>,
    vars: &mut dyn Variables,
    variable: Option<VariableId>,
    from_parts: &[PartBinding],
    message: Element,
) -> Result<(), Fault> {
    // fromParts read the message first, so that a message variable can take it without a copy.
    let mut part_writes = Vec::with_capacity(from_parts.len());
    for b in from_parts {
        let (name, ty) = decl_type(env, b.variable)?;
        let acc = accessor(&message, &b.part).ok_or_else(|| {
            Fault::standard(
                "selectionFailure",
                format!("the message has no part {} for fromPart", b.part),
            )
        })?;
        part_writes.push((b.variable, from_accessor(name, ty, acc)?));
    }
    if let Some(v) = variable {
        let (name, ty) = decl_type(env, v)?;
        let value = match ty {
            VarType::MessageType(_) => message,
            // WS-BPEL 2.0 §10.4: an element variable receives a single-part message's element.
            _ => match message.first_element() {
                Some(acc) => from_accessor(name, ty, acc)?,
                None => {
                    return Err(Fault::standard(
                        "selectionFailure",
                        format!("the message has no part for variable {name}"),
                    ));
                }
            },
        };
        vars.set(v, value);
    }
    for (v, e) in part_writes {
        vars.set(v, e);
    }
    Ok(())
}

pub(super) fn build_outbound(
    env: &Env<'_>,
    vars: &dyn Variables,
    variable: Option<VariableId>,
    to_parts: &[PartBinding],
    message_type: &QName,
) -> Result<Element, Fault> {
    let wsdl_message = env.wsdl.message(message_type);
    let parts: Vec<(&str, &PartKind)> = wsdl_message
        .map(|m| m.parts.iter().map(|p| (p.name.as_str(), &p.kind)).collect())
        .unwrap_or_default();
    if let Some(v) = variable {
        let (name, ty) = decl_type(env, v)?;
        let value = vars.get(v).ok_or_else(|| uninitialized(name))?;
        return match ty {
            VarType::MessageType(_) => {
                // ODE: a part the WSDL message requires but the variable lacks is an
                // uninitialised part.
                for (p, kind) in &parts {
                    let ok = accessor(value, p).is_some_and(|acc| match kind {
                        PartKind::Element(_) => acc.has_element_children(),
                        PartKind::Type(_) => true,
                    });
                    if !ok {
                        return Err(Fault::standard(
                            "uninitializedVariable",
                            format!("part {p} of variable {name} is not initialised"),
                        ));
                    }
                }
                Ok(value.clone())
            }
            _ => {
                let part = match parts.as_slice() {
                    [(p, _)] => *p,
                    _ => {
                        return Err(Fault::standard(
                            "mismatchedAssignmentFailure",
                            format!(
                                "variable {name} can only be sent as a message with exactly one part"
                            ),
                        ));
                    }
                };
                let mut m = Element::new(QName::local("message"));
                m.children.push(Node::Element(to_accessor(part, ty, value)));
                Ok(m)
            }
        };
    }
    let mut m = Element::new(QName::local("message"));
    let mut names: Vec<&str> = parts.iter().map(|(p, _)| *p).collect();
    // toParts naming parts the WSDL does not list (or no WSDL message at all) still go out.
    for b in to_parts {
        if !names.contains(&b.part.as_str()) {
            names.push(&b.part);
        }
    }
    for p in names {
        let Some(b) = to_parts.iter().find(|b| b.part == p) else {
            return Err(Fault::standard(
                "uninitializedVariable",
                format!("no toPart provides part {p} of message {message_type}"),
            ));
        };
        let (name, ty) = decl_type(env, b.variable)?;
        let value = vars.get(b.variable).ok_or_else(|| uninitialized(name))?;
        if let VarType::MessageType(_) = ty {
            return Err(Fault::standard(
                "mismatchedAssignmentFailure",
                format!("toPart {p}: message variable {name} cannot be a part"),
            ));
        }
        m.children.push(Node::Element(to_accessor(p, ty, value)));
    }
    Ok(m)
}

pub(super) fn fault_data(
    env: &Env<'_>,
    vars: &dyn Variables,
    var: VariableId,
) -> Result<FaultData, Fault> {
    let (name, ty) = decl_type(env, var)?;
    let value = vars.get(var).ok_or_else(|| uninitialized(name))?.clone();
    Ok(match ty {
        VarType::MessageType(mt) => FaultData::Message {
            message_type: mt.clone(),
            value,
        },
        VarType::Element(_) | VarType::Type(_) => FaultData::Element(value),
    })
}

/// The element of a single-element-part message, if the message type is one.
fn single_element_part<'v>(
    env: &Env<'_>,
    message_type: &QName,
    value: &'v Element,
) -> Option<(&'v Element, QName)> {
    let m = env.wsdl.message(message_type)?;
    let [part] = m.parts.as_slice() else {
        return None;
    };
    let PartKind::Element(q) = &part.kind else {
        return None;
    };
    let el = accessor(value, &part.name)?.first_element()?;
    Some((el, q.clone()))
}

pub(super) fn fault_type_matches(env: &Env<'_>, ty: &VarType, data: &FaultData) -> bool {
    match (ty, data) {
        (VarType::MessageType(q), FaultData::Message { message_type, .. }) => q == message_type,
        (VarType::Element(q), FaultData::Element(e)) => e.name == *q,
        // §12.5: a single-part message whose part is the element matches faultElement.
        (
            VarType::Element(q),
            FaultData::Message {
                message_type,
                value,
            },
        ) => {
            env.wsdl
                .message(message_type)
                .is_some_and(|m| match m.parts.as_slice() {
                    [p] => matches!(&p.kind, PartKind::Element(e) if e == q),
                    _ => false,
                })
                && single_element_part(env, message_type, value).is_some()
        }
        _ => false,
    }
}

pub(super) fn bind_fault(
    env: &Env<'_>,
    vars: &mut dyn Variables,
    var: VariableId,
    data: &FaultData,
) -> Result<(), Fault> {
    let (name, ty) = decl_type(env, var)?;
    let mismatch = || {
        Fault::standard(
            "mismatchedAssignmentFailure",
            format!("the fault data does not fit variable {name}"),
        )
    };
    let value = match (ty, data) {
        (VarType::MessageType(_), FaultData::Message { value, .. }) => value.clone(),
        (VarType::Element(_), FaultData::Element(e)) => e.clone(),
        (
            VarType::Element(_),
            FaultData::Message {
                message_type,
                value,
            },
        ) => single_element_part(env, message_type, value)
            .map(|(e, _)| e.clone())
            .ok_or_else(mismatch)?,
        (VarType::MessageType(mt), FaultData::Element(e)) => {
            // A fault element caught into a single-element-part message variable.
            let part = env
                .wsdl
                .message(mt)
                .and_then(|m| match m.parts.as_slice() {
                    [p] => Some(p.name.clone()),
                    _ => None,
                })
                .ok_or_else(mismatch)?;
            let mut m = Element::new(QName::local("message"));
            let mut acc = Element::new(QName::local(part));
            acc.children.push(Node::Element(e.clone()));
            m.children.push(Node::Element(acc));
            m
        }
        (VarType::Type(_), FaultData::Element(e)) => {
            let mut w = Element::new(QName::local(name));
            w.attrs = e.attrs.clone();
            w.children = e.children.clone();
            w
        }
        (VarType::Type(_), FaultData::Message { .. }) => return Err(mismatch()),
    };
    vars.set(var, value);
    Ok(())
}

/// Checks one value against its declaration; `Err` holds what is wrong.
pub(super) fn validate_value(env: &Env<'_>, ty: &VarType, value: &Element) -> Result<(), String> {
    match ty {
        VarType::MessageType(mt) => {
            let Some(m) = env.wsdl.message(mt) else {
                return Ok(());
            };
            for p in &m.parts {
                let acc = accessor(value, &p.name)
                    .ok_or_else(|| format!("part {} is missing", p.name))?;
                match &p.kind {
                    PartKind::Element(q) => {
                        let el = acc
                            .first_element()
                            .ok_or_else(|| format!("part {} has no element", p.name))?;
                        if el.name != *q {
                            return Err(format!("part {} holds {}, not {q}", p.name, el.name));
                        }
                        schema_validate_element(env, el)?;
                    }
                    PartKind::Type(t) => schema_validate_value(env, t, acc)?,
                }
            }
            Ok(())
        }
        VarType::Element(q) => {
            if value.name != *q {
                return Err(format!("the value is {}, not {q}", value.name));
            }
            schema_validate_element(env, value)
        }
        VarType::Type(t) => schema_validate_value(env, t, value),
    }
}

fn render(errors: Vec<bpelgate_wsdl::xsd::validate::ValidationError>) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

fn schema_validate_element(env: &Env<'_>, el: &Element) -> Result<(), String> {
    bpelgate_wsdl::xsd::validate::validate_element(env.wsdl, el).map_err(render)
}

fn schema_validate_value(env: &Env<'_>, ty: &QName, value: &Element) -> Result<(), String> {
    bpelgate_wsdl::xsd::validate::validate_value(env.wsdl, ty, value).map_err(render)
}

pub(super) fn check_message_shape(
    env: &Env<'_>,
    inbound: &Inbound,
    message: &Element,
) -> Result<(), Fault> {
    let invalid = |msg: String| Fault::standard("invalidVariables", msg);
    let op = &inbound.operation.name;
    if !(message.name.ns.is_empty() && message.name.local == "message") {
        return Err(invalid(format!(
            "operation {op}: the value is {}, not a message",
            message.name
        )));
    }
    let Some(m) = inbound
        .operation
        .input
        .as_ref()
        .and_then(|mt| env.wsdl.message(mt))
    else {
        return Ok(());
    };
    for p in &m.parts {
        let acc = accessor(message, &p.name)
            .ok_or_else(|| invalid(format!("operation {op}: part {} is missing", p.name)))?;
        if matches!(p.kind, PartKind::Element(_)) && !acc.has_element_children() {
            return Err(invalid(format!(
                "operation {op}: part {} has no element",
                p.name
            )));
        }
    }
    if let Some(extra) = message
        .elements()
        .find(|e| !e.name.ns.is_empty() || m.part(&e.name.local).is_none())
    {
        return Err(invalid(format!(
            "operation {op}: unexpected part {}",
            extra.name
        )));
    }
    Ok(())
}
