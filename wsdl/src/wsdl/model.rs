//! WSDL 1.1 definitions as data, plus the BPEL extensions that live in WSDL documents
//! (partnerLinkType, vprop:property, vprop:propertyAlias).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::xml::{Element, Pos, QName};
use crate::xsd::Schema;

/// Where a definition was written: file (package-relative path) and position.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// Package-relative path of the document.
    pub file: String,
    /// Position of the defining element.
    pub pos: Pos,
}

/// A message part: typed by an XSD type or an element.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PartKind {
    /// `element="qname"`.
    Element(QName),
    /// `type="qname"`.
    Type(QName),
}

/// `wsdl:part`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// Part name.
    pub name: String,
    /// Its element or type.
    pub kind: PartKind,
}

/// `wsdl:message`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Qualified name (targetNamespace of its document).
    pub name: QName,
    /// Parts in document order.
    pub parts: Vec<Part>,
    /// Where it is defined.
    pub origin: Origin,
}

impl Message {
    /// The part named `name`.
    pub fn part(&self, name: &str) -> Option<&Part> {
        self.parts.iter().find(|p| p.name == name)
    }
}

/// `wsdl:fault` of an operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRef {
    /// Fault name (local to the operation; BPEL fault QName = portType namespace + this name).
    pub name: String,
    /// Message type.
    pub message: QName,
}

/// The message exchange pattern of a portType operation (WSDL 1.1 section 2.4), decided by
/// which of `wsdl:input`/`wsdl:output` are present and which comes first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OperationShape {
    /// Input only.
    OneWay,
    /// Input, then output.
    RequestResponse,
    /// Output only: BPEL cannot use it (SA00001).
    Notification,
    /// Output, then input: BPEL cannot use it (SA00001).
    SolicitResponse,
}

/// `wsdl:operation` of a portType.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    /// Operation name.
    pub name: String,
    /// Input message as written (also present for solicit-response: check [`Operation::shape`]).
    pub input: Option<QName>,
    /// Output message as written: Some for request-response, None for one-way.
    pub output: Option<QName>,
    /// Declared faults.
    pub faults: Vec<FaultRef>,
    /// One-way, request-response, or one of the two shapes BPEL rejects.
    pub shape: OperationShape,
    /// Where it is defined.
    pub origin: Origin,
}

impl Operation {
    /// True for request-response operations (input first, then output).
    pub fn is_request_response(&self) -> bool {
        self.shape == OperationShape::RequestResponse
    }

    /// True for one-way operations (input only).
    pub fn is_one_way(&self) -> bool {
        self.shape == OperationShape::OneWay
    }

    /// True for notification and solicit-response operations, which WS-BPEL 2.0 forbids (SA00001).
    pub fn is_outbound_first(&self) -> bool {
        matches!(
            self.shape,
            OperationShape::Notification | OperationShape::SolicitResponse
        )
    }

    /// The fault named `name`.
    pub fn fault(&self, name: &str) -> Option<&FaultRef> {
        self.faults.iter().find(|f| f.name == name)
    }
}

/// `wsdl:portType`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortType {
    /// Qualified name.
    pub name: QName,
    /// Operations in document order.
    pub operations: Vec<Operation>,
    /// Where it is defined.
    pub origin: Origin,
}

impl PortType {
    /// The operation named `name`.
    pub fn operation(&self, name: &str) -> Option<&Operation> {
        self.operations.iter().find(|o| o.name == name)
    }
}

/// SOAP version of a binding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SoapVersion {
    /// SOAP 1.1 (`http://schemas.xmlsoap.org/wsdl/soap/`).
    Soap11,
    /// SOAP 1.2 (`http://schemas.xmlsoap.org/wsdl/soap12/`).
    Soap12,
}

/// Binding style.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Style {
    /// document/literal.
    Document,
    /// rpc/literal.
    Rpc,
}

/// `soap:body` / `soap:header` details of one direction of a bound operation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoundMessage {
    /// `soap:body/@parts` when given (None = all parts not bound to headers).
    pub body_parts: Option<Vec<String>>,
    /// `soap:body/@namespace` (rpc wrapper namespace).
    pub namespace: Option<String>,
    /// `soap:header` entries: (message, part).
    pub headers: Vec<(QName, String)>,
    /// `soap:body/@use="encoded"` (SOAP encoding, which bpelgate does not implement).
    pub encoded: bool,
}

/// One operation of a binding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindingOperation {
    /// Operation name.
    pub name: String,
    /// `soap:operation/@soapAction`.
    pub soap_action: Option<String>,
    /// `soap:operation/@style`, overriding the binding's.
    pub style: Option<Style>,
    /// Input direction.
    pub input: BoundMessage,
    /// Output direction.
    pub output: BoundMessage,
    /// Names of the bound `wsdl:fault`s.
    pub faults: Vec<String>,
    /// `http:operation/@location` of an HTTP binding.
    pub http_location: Option<String>,
}

/// What protocol a binding uses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BindingKind {
    /// `soap:binding` or `soap12:binding`.
    Soap {
        /// Version.
        version: SoapVersion,
        /// Default style (document when absent).
        style: Style,
    },
    /// `http:binding verb=...`.
    Http {
        /// The HTTP verb.
        verb: String,
    },
    /// No binding extension that we know.
    Other,
}

/// `wsdl:binding`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    /// Qualified name.
    pub name: QName,
    /// The portType it binds.
    pub port_type: QName,
    /// Protocol.
    pub kind: BindingKind,
    /// Bound operations.
    pub operations: Vec<BindingOperation>,
    /// Where it is defined.
    pub origin: Origin,
}

impl Binding {
    /// The bound operation named `name`.
    pub fn operation(&self, name: &str) -> Option<&BindingOperation> {
        self.operations.iter().find(|o| o.name == name)
    }
}

/// `wsdl:port`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Port {
    /// Port name.
    pub name: String,
    /// Its binding.
    pub binding: QName,
    /// `soap:address/@location` (or soap12/http address).
    pub address: Option<String>,
    /// Where it is defined.
    pub origin: Origin,
}

/// `wsdl:service`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    /// Qualified name.
    pub name: QName,
    /// Ports in document order.
    pub ports: Vec<Port>,
    /// Where it is defined.
    pub origin: Origin,
}

impl Service {
    /// The port named `name`.
    pub fn port(&self, name: &str) -> Option<&Port> {
        self.ports.iter().find(|p| p.name == name)
    }
}

/// A role of a partnerLinkType.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    /// Role name.
    pub name: String,
    /// Its portType.
    pub port_type: QName,
}

/// `plnk:partnerLinkType` (WS-BPEL 2.0 namespace, or the 2004/03 / 2003/05 ones ODE accepts).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerLinkType {
    /// Qualified name.
    pub name: QName,
    /// One or two roles.
    pub roles: Vec<Role>,
    /// Where it is defined.
    pub origin: Origin,
}

impl PartnerLinkType {
    /// The role named `name`.
    pub fn role(&self, name: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.name == name)
    }
}

/// `vprop:property`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Property {
    /// Qualified name.
    pub name: QName,
    /// Its XSD type (or element, for properties declared with `element=`).
    pub kind: PartKind,
    /// Where it is defined.
    pub origin: Origin,
}

/// What a propertyAlias applies to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AliasTarget {
    /// `messageType` + `part`.
    MessagePart {
        /// The message.
        message: QName,
        /// The part; empty when the document omits it, which WS-BPEL 2.0 forbids (SA00020)
        /// but ODE reads as "the message's only part".
        part: String,
    },
    /// `element`.
    Element(QName),
    /// `type`.
    Type(QName),
}

/// A query of a propertyAlias with the namespace bindings in force where it was written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AliasQuery {
    /// The query language URI, if not the default XPath 1.0.
    pub language: Option<String>,
    /// The query text.
    pub text: String,
    /// In-scope namespace bindings (prefix, uri) at the query element.
    pub namespaces: Vec<(String, String)>,
}

/// `vprop:propertyAlias`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertyAlias {
    /// The property it maps.
    pub property: QName,
    /// Where the value is.
    pub target: AliasTarget,
    /// Optional query into the part/element/type value.
    pub query: Option<AliasQuery>,
    /// Where it is defined.
    pub origin: Origin,
}

/// `wsdl:import`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WsdlImport {
    /// `namespace`.
    pub namespace: String,
    /// `location` as written.
    pub location: Option<String>,
    /// Where the import is written.
    pub pos: Pos,
}

/// One WSDL document as read, with the schemas embedded in its `wsdl:types`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Definitions {
    /// Package-relative path of the document.
    pub file: String,
    /// `targetNamespace`.
    pub target_namespace: String,
    /// `wsdl:import`s as written: (namespace, location); locations are resolved relative to
    /// this file by the set. [`Definitions::wsdl_imports`] has the same with positions.
    pub imports: Vec<(String, Option<String>)>,
    /// `wsdl:import`s with their positions, in document order.
    pub wsdl_imports: Vec<WsdlImport>,
    /// Messages.
    pub messages: Vec<Message>,
    /// PortTypes.
    pub port_types: Vec<PortType>,
    /// Bindings.
    pub bindings: Vec<Binding>,
    /// Services.
    pub services: Vec<Service>,
    /// partnerLinkTypes.
    pub partner_link_types: Vec<PartnerLinkType>,
    /// Properties.
    pub properties: Vec<Property>,
    /// Property aliases.
    pub property_aliases: Vec<PropertyAlias>,
    /// Inline schemas of `wsdl:types`.
    pub schemas: Vec<Schema>,
    /// The document itself (kept to publish `?wsdl` and for extensions).
    pub root: Element,
}

/// Every WSDL and XSD document of a package, imports resolved, indexed by qualified name.
///
/// Lookups search all documents of the set, as ODE does for deploy.xml services.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct WsdlSet {
    /// Documents by package-relative path.
    pub documents: BTreeMap<String, Definitions>,
    /// Stand-alone schema documents (`.xsd`, imported or in the package) by path.
    pub schema_documents: BTreeMap<String, Schema>,
}
