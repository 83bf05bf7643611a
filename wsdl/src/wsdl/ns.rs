//! Namespace URIs of WSDL 1.1, its bindings and the BPEL extensions carried in WSDL documents.

/// WSDL 1.1.
pub const WSDL: &str = "http://schemas.xmlsoap.org/wsdl/";
/// WSDL 2.0 (recognised only to reject it clearly).
pub const WSDL20: &str = "http://www.w3.org/ns/wsdl";
/// WSDL 1.1 SOAP 1.1 binding.
pub const SOAP11: &str = "http://schemas.xmlsoap.org/wsdl/soap/";
/// WSDL 1.1 SOAP 1.2 binding.
pub const SOAP12: &str = "http://schemas.xmlsoap.org/wsdl/soap12/";
/// WSDL 1.1 HTTP binding.
pub const HTTP: &str = "http://schemas.xmlsoap.org/wsdl/http/";
/// WS-BPEL 2.0 partner link types.
pub const PLNK: &str = "http://docs.oasis-open.org/wsbpel/2.0/plnktype";
/// Partner link types of the 2004/03 BPEL draft.
pub const PLNK_2004: &str = "http://schemas.xmlsoap.org/ws/2004/03/partner-link/";
/// Partner link types of BPEL4WS 1.1.
pub const PLNK_2003: &str = "http://schemas.xmlsoap.org/ws/2003/05/partner-link/";
/// WS-BPEL 2.0 variable properties.
pub const VPROP: &str = "http://docs.oasis-open.org/wsbpel/2.0/varprop";
/// The 2004/03 BPEL draft namespace (properties and aliases live in it).
pub const BPWS_2004: &str = "http://schemas.xmlsoap.org/ws/2004/03/business-process/";
/// BPEL4WS 1.1 (properties and aliases live in it).
pub const BPWS_2003: &str = "http://schemas.xmlsoap.org/ws/2003/03/business-process/";

/// True for the three partner link type namespaces.
pub fn is_plnk(ns: &str) -> bool {
    matches!(ns, PLNK | PLNK_2004 | PLNK_2003)
}

/// True for the three namespaces that define `property` and `propertyAlias`.
/// The WS-BPEL 2.0 executable process namespace (some WSDLs declare properties in it).
pub const BPEL20_EXECUTABLE: &str = "http://docs.oasis-open.org/wsbpel/2.0/process/executable";

/// True for the namespaces that define `property` and `propertyAlias`.
pub fn is_vprop(ns: &str) -> bool {
    // ODE also reads properties declared in the WS-BPEL 2.0 process namespace itself.
    matches!(ns, VPROP | BPWS_2004 | BPWS_2003 | BPEL20_EXECUTABLE)
}
