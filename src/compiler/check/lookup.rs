//! Definition lookups over every document of the package's [`WsdlSet`].
//!
//! Thin wrappers over the [`WsdlSet`] lookups; every lookup searches all documents, as WS-BPEL
//! 2.0 §5.4 makes every imported definition visible to the process.

use bpelgate_wsdl::wsdl::{
    Message, PartKind, PartnerLinkType, PortType, Property, PropertyAlias, WsdlSet,
};
use bpelgate_wsdl::xml::QName;

/// Namespace of XML Schema built-in types.
pub(crate) const XSD_NS: &str = "http://www.w3.org/2001/XMLSchema";

/// The message named `name`.
pub(crate) fn message<'w>(set: &'w WsdlSet, name: &QName) -> Option<&'w Message> {
    set.message(name)
}

/// The portType named `name`.
pub(crate) fn port_type<'w>(set: &'w WsdlSet, name: &QName) -> Option<&'w PortType> {
    set.port_type(name)
}

/// The partnerLinkType named `name`.
pub(crate) fn partner_link_type<'w>(set: &'w WsdlSet, name: &QName) -> Option<&'w PartnerLinkType> {
    set.partner_link_type(name)
}

/// The property named `name`.
pub(crate) fn property<'w>(set: &'w WsdlSet, name: &QName) -> Option<&'w Property> {
    set.property(name)
}

/// Every propertyAlias of `property`.
pub(crate) fn aliases<'w>(
    set: &'w WsdlSet,
    property: &'w QName,
) -> impl Iterator<Item = &'w PropertyAlias> + 'w {
    set.property_aliases(property)
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

/// SA00010 for an XSD element or type: reported only when a schema of that namespace is loaded
/// and lacks the name (a namespace with no schema at all is the WSDL loader's finding).
pub(crate) fn missing_schema_component(set: &WsdlSet, name: &QName, element: bool) -> bool {
    if !element && bpelgate_wsdl::xsd::is_builtin(name) {
        return false;
    }
    let ns_known = set.schemas().any(|s| s.target_namespace == name.ns);
    let found = if element {
        set.element_decl(name).is_some()
    } else {
        set.type_def(name).is_some()
    };
    ns_known && !found
}
