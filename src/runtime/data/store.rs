//! A copy-on-write view of the variables: what an `<assign>` works on so that a fault leaves
//! the instance untouched, and what read-only evaluation uses with no writes at all.

use std::collections::BTreeMap;

use bpelgate_wsdl::wsdl::PartKind;
use bpelgate_wsdl::{Element, Node, QName};

use super::{Env, Variables};
use crate::model::{EndpointRole, PartnerLinkId, VarType, VariableId};

/// The variables as seen through pending writes.
pub(super) struct Store<'v> {
    base: &'v dyn Variables,
    changed: BTreeMap<VariableId, Element>,
    endpoints: BTreeMap<PartnerLinkId, Element>,
    written: Vec<VariableId>,
}

/// Writes to commit: variables in first-write order, partner role endpoints.
pub(super) struct Pending {
    pub(super) variables: Vec<(VariableId, Element)>,
    pub(super) endpoints: Vec<(PartnerLinkId, Element)>,
}

impl<'v> Store<'v> {
    pub(super) fn new(base: &'v dyn Variables) -> Self {
        Store {
            base,
            changed: BTreeMap::new(),
            endpoints: BTreeMap::new(),
            written: Vec::new(),
        }
    }

    /// The current value of `var`, `None` while uninitialised.
    pub(super) fn get(&self, var: VariableId) -> Option<&Element> {
        self.changed.get(&var).or_else(|| self.base.get(var))
    }

    /// The endpoint reference of a partner link role, pending writes first.
    pub(super) fn endpoint(&self, pl: PartnerLinkId, role: EndpointRole) -> Option<Element> {
        if role == EndpointRole::PartnerRole
            && let Some(e) = self.endpoints.get(&pl)
        {
            return Some(e.clone());
        }
        self.base.endpoint(pl, role)
    }

    /// The link status the executor provides (join conditions).
    pub(super) fn link_status(&self, name: &str) -> Option<bool> {
        self.base.link_status(name)
    }

    /// Replaces the value of `var`.
    pub(super) fn set(&mut self, var: VariableId, value: Element) {
        self.mark(var);
        self.changed.insert(var, value);
    }

    /// Sets a partner role endpoint.
    pub(super) fn set_endpoint(&mut self, pl: PartnerLinkId, epr: Element) {
        self.endpoints.insert(pl, epr);
    }

    fn mark(&mut self, var: VariableId) {
        if !self.written.contains(&var) {
            self.written.push(var);
        }
    }

    /// The value of `var` for writing: copied from the base on first write, or a skeleton of
    /// its declared type when uninitialised (Apache ODE initialises a variable on first write).
    pub(super) fn get_mut(&mut self, env: &Env<'_>, var: VariableId) -> &mut Element {
        self.mark(var);
        let base = self.base;
        self.changed
            .entry(var)
            .or_insert_with(|| base.get(var).cloned().unwrap_or_else(|| skeleton(env, var)))
    }

    /// Makes sure `var` has a value (a skeleton when uninitialised).
    pub(super) fn ensure(&mut self, env: &Env<'_>, var: VariableId) {
        if self.get(var).is_none() {
            self.set(var, skeleton(env, var));
        }
    }

    /// Makes sure the message variable `var` has the accessor of `part` and, for an element
    /// part, the part's element; returns the child-index path to the part's value (the
    /// element for element parts and for header parts that hold one, else the accessor).
    pub(super) fn ensure_part(&mut self, env: &Env<'_>, var: VariableId, part: &str) -> Vec<usize> {
        let shape = part_shape(env, var, part);
        let root = self.get_mut(env, var);
        let i = match accessor_index(root, part) {
            Some(i) => i,
            None => {
                root.children
                    .push(Node::Element(Element::new(QName::local(part))));
                root.children.len() - 1
            }
        };
        let mut path = vec![i];
        if let Some(Node::Element(acc)) = root.children.get_mut(i) {
            match (shape, first_element_index(acc)) {
                (PartShape::Element(_) | PartShape::Header, Some(j)) => path.push(j),
                (PartShape::Element(el_name), None) => {
                    acc.children.push(Node::Element(Element::new(el_name)));
                    path.push(acc.children.len() - 1);
                }
                _ => {}
            }
        }
        path
    }

    /// Ends the view, returning what it would write.
    pub(super) fn finish(mut self) -> Pending {
        let variables = self
            .written
            .iter()
            .filter_map(|v| self.changed.remove(v).map(|e| (*v, e)))
            .collect();
        Pending {
            variables,
            endpoints: self.endpoints.into_iter().collect(),
        }
    }
}

/// What a part of a message variable holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PartShape {
    /// An element part: the accessor holds this element.
    Element(QName),
    /// A type part (or a part of a message type the WSDL set does not know): the accessor
    /// holds the value's content.
    Type,
    /// A part the message type does not declare: an Apache ODE header part (`header="h"`,
    /// or a SOAP header of another message), whose accessor holds the header element.
    Header,
}

/// The shape of `part` of message variable `var`.
pub(super) fn part_shape(env: &Env<'_>, var: VariableId, part: &str) -> PartShape {
    match env.process.variables.get(var.index()).map(|d| &d.ty) {
        Some(VarType::MessageType(mt)) => message_part_shape(env, mt, part),
        _ => PartShape::Type,
    }
}

/// The shape of `part` of message type `mt`.
pub(super) fn message_part_shape(env: &Env<'_>, mt: &QName, part: &str) -> PartShape {
    let Some(m) = env.wsdl.message(mt) else {
        return PartShape::Type;
    };
    match m.part(part).map(|p| &p.kind) {
        Some(PartKind::Element(q)) => PartShape::Element(q.clone()),
        Some(PartKind::Type(_)) => PartShape::Type,
        None => PartShape::Header,
    }
}

/// The index in `message.children` of the accessor of `part`.
pub(super) fn accessor_index(message: &Element, part: &str) -> Option<usize> {
    message.children.iter().position(|n| match n {
        Node::Element(e) => e.name.ns.is_empty() && e.name.local == part,
        _ => false,
    })
}

/// The accessor of `part` in a message-form value.
pub(super) fn accessor<'e>(message: &'e Element, part: &str) -> Option<&'e Element> {
    message
        .elements()
        .find(|e| e.name.ns.is_empty() && e.name.local == part)
}

/// The index in `el.children` of its first child element.
pub(super) fn first_element_index(el: &Element) -> Option<usize> {
    el.children
        .iter()
        .position(|n| matches!(n, Node::Element(_)))
}

/// The value an uninitialised variable gets on its first write: `<message/>`, the declared
/// element, or the type wrapper named after the variable.
pub(super) fn skeleton(env: &Env<'_>, var: VariableId) -> Element {
    match env.process.variables.get(var.index()) {
        Some(d) => match &d.ty {
            VarType::MessageType(_) => Element::new(QName::local("message")),
            VarType::Element(q) => Element::new(q.clone()),
            VarType::Type(_) => Element::new(QName::local(d.name.as_str())),
        },
        None => Element::new(QName::local("value")),
    }
}
