//! A port's binding flattened into what the SOAP mapping needs per operation.

use crate::wsdl::{
    BindingKind, BoundMessage, Operation, Part, PartKind, PortType, SoapVersion, Style, WsdlSet,
};
use crate::xml::QName;

use super::SoapError;

/// Where a part travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartPlace {
    /// In the SOAP Body (an rpc accessor, or a document part element).
    Body,
    /// As a SOAP header block (`soap:header` naming the operation's own message).
    Header,
    /// As a SOAP header block named by a `soap:header` whose message is not the operation's
    /// (WSDL 1.1 §3.7 allows any message). Apache ODE keeps such a header as one more part of
    /// the message, named after the header's part, read and written like a header part.
    ForeignHeader,
    /// Neither: `soap:body/@parts` leaves it out and no `soap:header` names it.
    Unbound,
}

/// One part of a bound message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoundPart {
    /// Part name (the accessor's name in the message form and in rpc wrappers).
    pub name: String,
    /// Element or type.
    pub kind: PartKind,
    /// Body, header or not sent.
    pub place: PartPlace,
}

impl BoundPart {
    /// The element this part appears as on the wire in document style and in headers: the part
    /// element, or for a type part an unqualified element named after the part.
    pub fn wire_name(&self) -> QName {
        match &self.kind {
            PartKind::Element(q) => q.clone(),
            PartKind::Type(_) => QName::local(&self.name),
        }
    }
}

/// One direction (input or output) of a bound operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageBinding {
    /// The WSDL message.
    pub message: QName,
    /// rpc wrapper namespace: `soap:body/@namespace`, else the portType namespace.
    pub namespace: String,
    /// The message's parts in message order, each with where it travels.
    pub parts: Vec<BoundPart>,
}

impl MessageBinding {
    /// Parts carried in the Body, in message order.
    pub fn body_parts(&self) -> impl Iterator<Item = &BoundPart> {
        self.parts.iter().filter(|p| p.place == PartPlace::Body)
    }

    /// Parts carried as SOAP header blocks, in message order (the message's own header parts;
    /// see [`MessageBinding::foreign_header_parts`] for the others).
    pub fn header_parts(&self) -> impl Iterator<Item = &BoundPart> {
        self.parts.iter().filter(|p| p.place == PartPlace::Header)
    }

    /// Header blocks whose `soap:header` names a part of another message, in binding order.
    pub fn foreign_header_parts(&self) -> impl Iterator<Item = &BoundPart> {
        self.parts
            .iter()
            .filter(|p| p.place == PartPlace::ForeignHeader)
    }
}

/// A declared fault of an operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultBinding {
    /// The WSDL fault name.
    pub name: String,
    /// The BPEL fault name: portType namespace + fault name (WS-BPEL 2.0 §10.3).
    pub qname: QName,
    /// The fault's message.
    pub message: QName,
    /// The message's parts (all in the fault `detail`).
    pub parts: Vec<Part>,
}

impl FaultBinding {
    /// The single element part, when the fault message is exactly one element part: its
    /// element is the `detail` entry. Otherwise the detail entry is a wrapper named after the
    /// fault in the portType namespace holding the part accessors (the FaultService convention).
    pub fn element_part(&self) -> Option<(&str, &QName)> {
        match self.parts.as_slice() {
            [
                Part {
                    name,
                    kind: PartKind::Element(q),
                },
            ] => Some((name, q)),
            _ => None,
        }
    }

    /// The `detail` entry's element name for this fault.
    pub fn detail_name(&self) -> QName {
        match self.element_part() {
            Some((_, q)) => q.clone(),
            None => self.qname.clone(),
        }
    }
}

/// A request-response or one-way operation as bound on a port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperationBinding {
    /// Operation name.
    pub name: String,
    /// document or rpc (the operation's `soap:operation/@style`, else the binding's).
    pub style: Style,
    /// `soap:operation/@soapAction`, `""` when absent.
    pub soap_action: String,
    /// The input message.
    pub input: MessageBinding,
    /// The output message; None for one-way operations.
    pub output: Option<MessageBinding>,
    /// Declared faults.
    pub faults: Vec<FaultBinding>,
}

impl OperationBinding {
    /// True when the operation has no output.
    pub fn is_one_way(&self) -> bool {
        self.output.is_none()
    }

    /// The declared fault named `name` (the WSDL fault name).
    pub fn fault(&self, name: &str) -> Option<&FaultBinding> {
        self.faults.iter().find(|f| f.name == name)
    }
}

/// Everything the SOAP mapping needs about one port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortBinding {
    /// The service.
    pub service: QName,
    /// The port name.
    pub port: String,
    /// The portType the port implements.
    pub port_type: QName,
    /// The port's address as written in the WSDL.
    pub address: Option<String>,
    /// The SOAP version of the binding (1.1 when the binding is not SOAP).
    pub version: SoapVersion,
    /// False when the WSDL binding is not a SOAP binding: the port is then served as
    /// SOAP 1.1 rpc/literal, namespace = portType namespace, soapAction "".
    pub soap_binding: bool,
    /// Request-response and one-way operations of the portType, in portType order.
    pub operations: Vec<OperationBinding>,
    /// Notification and solicit-response operations, bound the way Apache ODE invokes them: the
    /// request is the operation's input message (none: an empty message), the response its
    /// output. WS-BPEL forbids them (SA00001); only a process compiled with ode-compat can
    /// invoke one, and none is ever served.
    pub outbound_first: Vec<OperationBinding>,
}

impl PortBinding {
    /// Resolves port `port` of `service` across every document of `set`.
    pub fn resolve(set: &WsdlSet, service: &QName, port: &str) -> Result<PortBinding, SoapError> {
        let svc = set
            .service(service)
            .ok_or_else(|| SoapError::UnknownService(service.clone()))?;
        let p = svc.port(port).ok_or_else(|| SoapError::UnknownPort {
            service: service.clone(),
            port: port.to_owned(),
        })?;
        let binding = set
            .binding(&p.binding)
            .ok_or_else(|| SoapError::UnknownBinding(p.binding.clone()))?;
        let pt = set
            .port_type(&binding.port_type)
            .ok_or_else(|| SoapError::UnknownPortType(binding.port_type.clone()))?;
        let (version, style, soap_binding) = match binding.kind {
            BindingKind::Soap { version, style } => (version, style, true),
            _ => (SoapVersion::Soap11, Style::Rpc, false),
        };
        let mut operations = Vec::new();
        let mut outbound_first = Vec::new();
        for op in &pt.operations {
            let bop = if soap_binding {
                binding.operation(&op.name)
            } else {
                None
            };
            let op_style = bop.and_then(|b| b.style).unwrap_or(style);
            let soap_action = bop.and_then(|b| b.soap_action.clone()).unwrap_or_default();
            let empty = BoundMessage::default();
            let (bin, bout) = bop.map_or((&empty, &empty), |b| (&b.input, &b.output));
            let bound = bind_operation(set, pt, op, op_style, soap_action, bin, bout);
            if is_usable(op) {
                operations.push(bound?);
            } else if let Ok(bound) = bound {
                // Served ports never use these: one that cannot be bound must not take the
                // port's usable operations down with it.
                outbound_first.push(bound);
            }
        }
        Ok(PortBinding {
            service: service.clone(),
            port: port.to_owned(),
            port_type: pt.name.clone(),
            address: p.address.clone(),
            version,
            soap_binding,
            operations,
            outbound_first,
        })
    }

    /// The default binding for a portType that no WSDL binds: SOAP 1.1 rpc/literal, namespace =
    /// portType namespace, soapAction "". `service`/`port` only name the result.
    pub fn for_port_type(
        set: &WsdlSet,
        port_type: &QName,
        service: &QName,
        port: &str,
    ) -> Result<PortBinding, SoapError> {
        let pt = set
            .port_type(port_type)
            .ok_or_else(|| SoapError::UnknownPortType(port_type.clone()))?;
        let empty = BoundMessage::default();
        let mut operations = Vec::new();
        let mut outbound_first = Vec::new();
        for op in &pt.operations {
            let bound = bind_operation(set, pt, op, Style::Rpc, String::new(), &empty, &empty);
            if is_usable(op) {
                operations.push(bound?);
            } else if let Ok(bound) = bound {
                outbound_first.push(bound);
            }
        }
        Ok(PortBinding {
            service: service.clone(),
            port: port.to_owned(),
            port_type: pt.name.clone(),
            address: None,
            version: SoapVersion::Soap11,
            soap_binding: false,
            operations,
            outbound_first,
        })
    }

    /// The operation named `name`.
    pub fn operation(&self, name: &str) -> Option<&OperationBinding> {
        self.operations.iter().find(|o| o.name == name)
    }

    pub(super) fn op(&self, name: &str) -> Result<&OperationBinding, SoapError> {
        self.operation(name)
            .ok_or_else(|| SoapError::UnknownOperation(name.to_owned()))
    }

    /// The operation named `name` as a partner is invoked: one of [`PortBinding::operations`],
    /// else one of [`PortBinding::outbound_first`].
    pub fn invocable(&self, name: &str) -> Option<&OperationBinding> {
        self.operation(name)
            .or_else(|| self.outbound_first.iter().find(|o| o.name == name))
    }

    pub(super) fn invoke_op(&self, name: &str) -> Result<&OperationBinding, SoapError> {
        self.invocable(name)
            .ok_or_else(|| SoapError::UnknownOperation(name.to_owned()))
    }
}

/// Notification and solicit-response operations cannot be served or invoked by BPEL (SA00001).
fn is_usable(op: &Operation) -> bool {
    (op.is_one_way() || op.is_request_response()) && op.input.is_some()
}

fn bind_operation(
    set: &WsdlSet,
    pt: &PortType,
    op: &Operation,
    style: Style,
    soap_action: String,
    bin: &BoundMessage,
    bout: &BoundMessage,
) -> Result<OperationBinding, SoapError> {
    let pt_ns = &pt.name.ns;
    let input = match &op.input {
        Some(q) => bind_message(set, &op.name, q, bin, pt_ns, None)?,
        // A notification operation invoked like Apache ODE does: an empty request.
        None if op.is_outbound_first() => MessageBinding {
            message: QName::default(),
            namespace: bin.namespace.clone().unwrap_or_else(|| pt_ns.clone()),
            parts: Vec::new(),
        },
        None => return Err(SoapError::UnknownOperation(op.name.clone())),
    };
    let output = match (
        &op.output,
        op.is_request_response() || op.is_outbound_first(),
    ) {
        (Some(q), true) => Some(bind_message(
            set,
            &op.name,
            q,
            bout,
            pt_ns,
            bin.namespace.as_deref(),
        )?),
        _ => None,
    };
    let mut faults = Vec::new();
    for f in &op.faults {
        let msg = set
            .message(&f.message)
            .ok_or_else(|| SoapError::UnknownMessage(f.message.clone()))?;
        faults.push(FaultBinding {
            name: f.name.clone(),
            qname: QName::new(pt_ns.clone(), f.name.clone()),
            message: f.message.clone(),
            parts: msg.parts.clone(),
        });
    }
    Ok(OperationBinding {
        name: op.name.clone(),
        style,
        soap_action,
        input,
        output,
        faults,
    })
}

fn bind_message(
    set: &WsdlSet,
    op: &str,
    message: &QName,
    bound: &BoundMessage,
    pt_ns: &str,
    fallback_ns: Option<&str>,
) -> Result<MessageBinding, SoapError> {
    let msg = set
        .message(message)
        .ok_or_else(|| SoapError::UnknownMessage(message.clone()))?;
    for (hm, hp) in &bound.headers {
        let m = set
            .message(hm)
            .ok_or_else(|| SoapError::UnknownMessage(hm.clone()))?;
        if m.part(hp).is_none() {
            return Err(SoapError::UnknownHeaderPart {
                operation: op.to_owned(),
                message: hm.clone(),
                part: hp.clone(),
            });
        }
    }
    let mut parts: Vec<BoundPart> = msg
        .parts
        .iter()
        .map(|p| {
            let in_header = bound
                .headers
                .iter()
                .any(|(hm, hp)| hm == message && *hp == p.name);
            let place = if in_header {
                PartPlace::Header
            } else {
                match &bound.body_parts {
                    Some(listed) if !listed.contains(&p.name) => PartPlace::Unbound,
                    _ => PartPlace::Body,
                }
            };
            BoundPart {
                name: p.name.clone(),
                kind: p.kind.clone(),
                place,
            }
        })
        .collect();
    for (hm, hp) in &bound.headers {
        if hm == message || parts.iter().any(|p| p.name == *hp) {
            continue;
        }
        if let Some(part) = set.message(hm).and_then(|m| m.part(hp)) {
            parts.push(BoundPart {
                name: part.name.clone(),
                kind: part.kind.clone(),
                place: PartPlace::ForeignHeader,
            });
        }
    }
    let namespace = bound
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .or_else(|| fallback_ns.filter(|n| !n.is_empty()).map(str::to_owned))
        .unwrap_or_else(|| pt_ns.to_owned());
    Ok(MessageBinding {
        message: message.clone(),
        namespace,
        parts,
    })
}
