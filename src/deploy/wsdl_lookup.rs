//! Lookups across a package's WSDL documents and `?wsdl` publishing.
//!
//! These are small on purpose: the `bpelgate-wsdl` crate is growing the same lookups
//! (`WsdlSet::service`, `find_port`, `publish_wsdl`); when it has them, these delegate to it.

use bpelgate_wsdl::wsdl::{Binding, Definitions, Service, WsdlSet};
use bpelgate_wsdl::xml::{self, Element, QName};

/// WSDL 1.1 namespace.
pub const WSDL_NS: &str = "http://schemas.xmlsoap.org/wsdl/";
const ADDRESS_NS: [&str; 3] = [
    "http://schemas.xmlsoap.org/wsdl/soap/",
    "http://schemas.xmlsoap.org/wsdl/soap12/",
    "http://schemas.xmlsoap.org/wsdl/http/",
];

/// The service named `name` and the document that defines it.
pub fn find_service<'a>(set: &'a WsdlSet, name: &QName) -> Option<(&'a Definitions, &'a Service)> {
    set.documents
        .values()
        .find_map(|d| d.services.iter().find(|s| &s.name == name).map(|s| (d, s)))
}

/// The binding named `name`.
pub fn find_binding<'a>(set: &'a WsdlSet, name: &QName) -> Option<&'a Binding> {
    set.documents
        .values()
        .flat_map(|d| d.bindings.iter())
        .find(|b| &b.name == name)
}

/// Every service name of the set, for error messages.
pub fn service_names(set: &WsdlSet) -> Vec<String> {
    let mut v: Vec<String> = set
        .documents
        .values()
        .flat_map(|d| d.services.iter().map(|s| s.name.to_string()))
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The WSDL document defining `service`, with every port address of that service rewritten to
/// `address`. Other services of the document are left as written.
pub fn publish_wsdl(defs: &Definitions, service: &QName, address: &str) -> String {
    let mut root = defs.root.clone();
    for svc in root.elements_mut() {
        if svc.is(WSDL_NS, "service") && svc.attr("name") == Some(service.local.as_str()) {
            for port in svc.elements_mut().filter(|p| p.is(WSDL_NS, "port")) {
                for addr in port.elements_mut() {
                    if addr.name.local == "address" && ADDRESS_NS.contains(&addr.name.ns.as_str()) {
                        addr.set_attr("location", address);
                    }
                }
            }
        }
    }
    document_text(&root)
}

fn document_text(root: &Element) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}",
        xml::to_string(root)
    )
}
