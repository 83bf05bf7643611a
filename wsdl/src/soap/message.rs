//! The engine's message form ⇄ wire elements, one part at a time.

use crate::wsdl::PartKind;
use crate::xml::{Element, Node, QName};

use super::binding::BoundPart;

/// The name of the message form's root element.
pub(super) const MESSAGE: &str = "message";

/// An empty message form.
pub(super) fn new_message() -> Element {
    Element::new(QName::local(MESSAGE))
}

/// The accessor of part `name` in a message form.
pub(super) fn accessor<'a>(message: &'a Element, name: &str) -> Option<&'a Element> {
    message
        .elements()
        .find(|e| e.name.ns.is_empty() && e.name.local == name)
}

/// An accessor holding the part element `el`.
pub(super) fn element_accessor(part: &str, el: Element) -> Element {
    let mut a = Element::new(QName::local(part));
    a.children.push(Node::Element(el));
    a
}

/// An accessor holding the content (attributes, namespace declarations, children) of a wire
/// element: an rpc accessor or a type part's header/body element.
pub(super) fn content_accessor(part: &str, wire: Element) -> Element {
    let mut a = Element::new(QName::local(part));
    a.attrs = wire.attrs;
    a.ns_decls = wire.ns_decls;
    a.children = wire.children;
    a
}

/// The accessor for `part` taken from a wire element that stands for the part itself (a
/// document body entry or a header block): element parts keep the element, type parts keep
/// its content.
pub(super) fn accessor_from_wire(part: &BoundPart, wire: Element) -> Element {
    match part.kind {
        PartKind::Element(_) => element_accessor(&part.name, wire),
        PartKind::Type(_) => content_accessor(&part.name, wire),
    }
}

/// The accessor for `part` taken from an rpc accessor element: element parts hold the part
/// element inside, type parts are the value itself. Either way the content moves over.
pub(super) fn accessor_from_rpc(part: &BoundPart, wire: Element) -> Element {
    content_accessor(&part.name, wire)
}

/// The wire element standing for `part` itself (document body entry, header block):
/// element parts → the part element; type parts → an unqualified element named after the part
/// holding the value. None when the accessor holds no element for an element part.
pub(super) fn wire_from_accessor(part: &BoundPart, acc: &Element) -> Option<Element> {
    match &part.kind {
        PartKind::Element(_) => acc.first_element().cloned(),
        PartKind::Type(_) => Some(renamed(acc, QName::local(&part.name))),
    }
}

/// A copy of `acc` under another name (prefix cleared so the writer picks one).
pub(super) fn renamed(acc: &Element, name: QName) -> Element {
    let mut e = Element::new(name);
    e.attrs = acc.attrs.clone();
    e.ns_decls = acc.ns_decls.clone();
    e.children = acc.children.clone();
    e
}

/// True when the accessor carries something: an element, or for type parts any content.
pub(super) fn has_value(part: &BoundPart, acc: &Element) -> bool {
    match part.kind {
        PartKind::Element(_) => acc.first_element().is_some(),
        PartKind::Type(_) => true,
    }
}
