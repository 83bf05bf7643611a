//! Definition lookups over every document of the package's [`WsdlSet`].
//!
//! Kept here (rather than calling `WsdlSet` methods) so the checker only relies on the model's
//! public fields; every lookup searches all documents, as WS-BPEL 2.0 §5.4 makes every imported
//! definition visible to the process.

use bpelgate_wsdl::wsdl::{
    Message, PartKind, PartnerLinkType, PortType, Property, PropertyAlias, WsdlSet,
};
use bpelgate_wsdl::xml::QName;

/// Namespace of XML Schema built-in types.
pub(crate) const XSD_NS: &str = "http://www.w3.org/2001/XMLSchema";

/// The message named `name`.
pub(crate) fn message<'w>(set: &'w WsdlSet, name: &QName) -> Option<&'w Message> {
    set.documents
        .values()
        .flat_map(|d| d.messages.iter())
        .find(|m| &m.name == name)
}

/// The portType named `name`.
pub(crate) fn port_type<'w>(set: &'w WsdlSet, name: &QName) -> Option<&'w PortType> {
    set.documents
        .values()
        .flat_map(|d| d.port_types.iter())
        .find(|p| &p.name == name)
}

/// The partnerLinkType named `name`.
pub(crate) fn partner_link_type<'w>(set: &'w WsdlSet, name: &QName) -> Option<&'w PartnerLinkType> {
    set.documents
        .values()
        .flat_map(|d| d.partner_link_types.iter())
        .find(|p| &p.name == name)
}

/// The property named `name`.
pub(crate) fn property<'w>(set: &'w WsdlSet, name: &QName) -> Option<&'w Property> {
    set.documents
        .values()
        .flat_map(|d| d.properties.iter())
        .find(|p| &p.name == name)
}

/// Every propertyAlias of `property`.
pub(crate) fn aliases<'w>(
    set: &'w WsdlSet,
    property: &'w QName,
) -> impl Iterator<Item = &'w PropertyAlias> + 'w {
    set.documents
        .values()
        .flat_map(|d| d.property_aliases.iter())
        .filter(move |a| &a.property == property)
}

/// True when the set holds any document at all; with an empty set nothing can be resolved and
/// the resolution checks stay silent rather than flag every name (the caller reports the
/// missing WSDL once).
pub(crate) fn has_documents(set: &WsdlSet) -> bool {
    !set.documents.is_empty()
}

/// True when `name` is the QName of an element-typed single-part message's part element.
pub(crate) fn single_element_part(msg: &Message) -> Option<&QName> {
    match msg.parts.as_slice() {
        [part] => match &part.kind {
            PartKind::Element(e) => Some(e),
            PartKind::Type(_) => None,
        },
        _ => None,
    }
}
