//! Properties through propertyAliases (WS-BPEL 2.0 §8.2.4 / §9.2): where a property's value
//! is inside a message, element or type value.

use bpelgate_wsdl::wsdl::{AliasTarget, PartKind, PropertyAlias};
use bpelgate_wsdl::{Element, QName};

use super::Env;
use super::eval::relative_of_absolute;
use super::store::{accessor_index, first_element_index};
use crate::model::VarType;
use crate::runtime::fault::Fault;
use crate::xpath::value::element_at;
use crate::xpath::{self, Context, Language, NoBindings, NodeRef, Tree};

/// The propertyAlias of `property` for values of type `ty`.
fn alias<'w>(env: &Env<'w>, ty: &VarType, property: &QName) -> Option<&'w PropertyAlias> {
    env.wsdl
        .definitions()
        .flat_map(|d| d.property_aliases.iter())
        .filter(|a| a.property == *property)
        .find(|a| match (&a.target, ty) {
            (AliasTarget::MessagePart { message, .. }, VarType::MessageType(m)) => message == m,
            (AliasTarget::Element(e), VarType::Element(v)) => e == v,
            (AliasTarget::Type(t), VarType::Type(v)) => t == v,
            _ => false,
        })
}

/// The nodes a property's alias selects in `root`, a value of type `ty` (message form for
/// message types). A part missing from the message selects nothing. `tag` names the subtree
/// handed to the query (child-index path from `root`), so callers can trace nodes back.
///
/// A missing alias or a failing query is a fault; the caller decides what a count other than
/// one means.
pub(super) fn locate<'a>(
    env: &Env<'_>,
    ty: &VarType,
    root: &'a Element,
    property: &QName,
    tag: &dyn Fn(&[usize]) -> u64,
) -> Result<Vec<NodeRef<'a>>, Fault> {
    let alias = alias(env, ty, property).ok_or_else(|| {
        Fault::standard(
            "selectionFailure",
            format!(
                "no propertyAlias maps property {property} for {}",
                describe(ty)
            ),
        )
    })?;
    let mut base = Vec::new();
    if let AliasTarget::MessagePart { message, part } = &alias.target {
        let wsdl_message = env.wsdl.message(message);
        let part_name = if part.is_empty() {
            // ODE reads an alias without part as "the message's only part".
            match wsdl_message.map(|m| m.parts.as_slice()) {
                Some([only]) => only.name.as_str(),
                _ => part.as_str(),
            }
        } else {
            part.as_str()
        };
        let Some(i) = accessor_index(root, part_name) else {
            return Ok(Vec::new());
        };
        base.push(i);
        let element_part = wsdl_message
            .and_then(|m| m.part(part_name))
            .is_some_and(|p| matches!(p.kind, PartKind::Element(_)));
        if element_part {
            let Some(j) = element_at(root, &base).and_then(first_element_index) else {
                return Ok(Vec::new());
            };
            base.push(j);
        }
    }
    let Some(sub) = element_at(root, &base) else {
        return Ok(Vec::new());
    };
    let node = NodeRef::element(Tree::borrowed(sub).with_tag(tag(&base)));
    let Some(q) = &alias.query else {
        return Ok(vec![node]);
    };
    let lang = match &q.language {
        None => Some(Language::XPath1),
        Some(uri) => Language::from_uri(uri),
    };
    let sublang = |why: String| {
        Fault::standard(
            "subLanguageExecutionFault",
            format!("propertyAlias query \"{}\" of {property}: {why}", q.text),
        )
    };
    let lang = lang.ok_or_else(|| sublang("unsupported query language".to_owned()))?;
    // Alias queries are compiled per use: they are short, and the WSDL model keeps them as text.
    let c = xpath::compile(&q.text, lang, &q.namespaces).map_err(|errs| {
        sublang(
            errs.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        )
    })?;
    let found = xpath::eval_nodes(&c, &Context::at(node.clone()), &NoBindings)
        .map_err(|e| sublang(e.to_string()))?;
    // ODE reads `/corr1` relative to the part, as from/to queries (see `evaluate_query`).
    match relative_of_absolute(&c) {
        Some(rel) if found.is_empty() => xpath::eval_nodes(&rel, &Context::at(node), &NoBindings)
            .map_err(|e| sublang(e.to_string())),
        _ => Ok(found),
    }
}

fn describe(ty: &VarType) -> String {
    match ty {
        VarType::MessageType(q) => format!("messageType {q}"),
        VarType::Element(q) => format!("element {q}"),
        VarType::Type(q) => format!("type {q}"),
    }
}
