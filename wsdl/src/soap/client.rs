//! The calling side: a partner invoke out, the partner's reply in.

use crate::wsdl::{PartKind, SoapVersion};
use crate::xml::{Element, Limits, Node, NsScope, QName};

use super::SoapError;
use super::binding::{FaultBinding, OperationBinding, PortBinding};
use super::envelope::{
    EnvelopeError, content_type, read_envelope, read_fault, with_scope, write_envelope,
};
use super::message::{content_accessor, element_accessor, new_message};
use super::server::{read_message, write_message};

/// A request ready for the HTTP client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboundRequest {
    /// The envelope.
    pub body: Vec<u8>,
    /// The Content-Type header (SOAP 1.2: carries the `action` parameter).
    pub content_type: String,
    /// The `SOAPAction` header value, quoted (SOAP 1.1 only).
    pub soap_action: Option<String>,
}

impl OutboundRequest {
    /// The HTTP headers to send: Content-Type and, for SOAP 1.1, SOAPAction.
    pub fn http_headers(&self) -> Vec<(String, String)> {
        let mut h = vec![("Content-Type".to_owned(), self.content_type.clone())];
        if let Some(a) = &self.soap_action {
            h.push(("SOAPAction".to_owned(), a.clone()));
        }
        h
    }
}

/// What a partner answered.
#[derive(Clone, Debug, PartialEq)]
pub enum PartnerReply {
    /// The output message in the message form (an empty `message` for one-way operations).
    Output(Element),
    /// A fault the operation declares.
    Fault {
        /// The BPEL fault name: portType namespace + WSDL fault name (WS-BPEL 2.0 §10.3).
        name: QName,
        /// The fault's message type.
        message_type: QName,
        /// The fault message in the message form.
        message: Element,
    },
    /// A SOAP fault that matches no declared fault.
    UndeclaredFault {
        /// The most specific fault code (1.1 faultcode, 1.2 innermost Subcode), in Clark
        /// notation when its prefix was declared.
        code: String,
        /// faultstring / Reason text.
        reason: String,
        /// The first detail entry, if any.
        detail: Option<Element>,
    },
}

/// Writes the request of `operation` in the binding's SOAP version, with `headers` as extra
/// header blocks after the message's own header parts.
pub fn encode_request(
    pb: &PortBinding,
    operation: &str,
    message: &Element,
    headers: &[Element],
) -> Result<OutboundRequest, SoapError> {
    let op = pb.invoke_op(operation)?;
    let (mut h, body) = write_message(op, &op.input, op.style, &op.name, message, headers)?;
    h.extend(headers.iter().cloned());
    let version = pb.version;
    let bytes = write_envelope(version, h, body);
    let (content_type, soap_action) = match version {
        SoapVersion::Soap11 => (
            content_type(version).to_owned(),
            Some(format!("\"{}\"", op.soap_action)),
        ),
        SoapVersion::Soap12 if op.soap_action.is_empty() => {
            (content_type(version).to_owned(), None)
        }
        SoapVersion::Soap12 => (
            format!(
                "{}; action=\"{}\"",
                content_type(version),
                op.soap_action.replace('"', "%22")
            ),
            None,
        ),
    };
    Ok(OutboundRequest {
        body: bytes,
        content_type,
        soap_action,
    })
}

/// Reads a partner's reply to `operation`: a SOAP Fault (any status) becomes a declared or
/// undeclared fault; otherwise a 2xx reply is the output message.
pub fn decode_response(
    pb: &PortBinding,
    operation: &str,
    http_status: u16,
    body: &[u8],
    limits: &Limits,
) -> Result<PartnerReply, SoapError> {
    let op = pb.invoke_op(operation)?;
    let ok = (200..300).contains(&http_status);
    if body.iter().all(u8::is_ascii_whitespace) {
        return match (&op.output, ok) {
            (None, true) => Ok(PartnerReply::Output(new_message())),
            (Some(_), true) => Err(SoapError::BadReply(format!(
                "HTTP {http_status} with an empty body; operation '{operation}' expects a reply"
            ))),
            (_, false) => Err(SoapError::HttpStatus {
                status: http_status,
            }),
        };
    }
    let env = match read_envelope(body, limits) {
        Ok(env) => env,
        Err(_) if !ok => {
            return Err(SoapError::HttpStatus {
                status: http_status,
            });
        }
        Err(
            e @ (EnvelopeError::Xml(_) | EnvelopeError::NotEnvelope(_) | EnvelopeError::NoBody),
        ) => {
            return Err(SoapError::BadReply(e.to_string()));
        }
    };
    let env_ns = env.version.envelope_ns();
    if let Some(f) = env.body.first().filter(|f| f.is(env_ns, "Fault")) {
        return Ok(fault_reply(op, env.version, f, &env.body_scope));
    }
    if !ok {
        return Err(SoapError::HttpStatus {
            status: http_status,
        });
    }
    let Some(out) = &op.output else {
        return Ok(PartnerReply::Output(new_message()));
    };
    read_message(op, out, op.style, env.body, &env.headers, true)
        .map(PartnerReply::Output)
        .map_err(SoapError::BadReply)
}

fn fault_reply(
    op: &OperationBinding,
    version: SoapVersion,
    fault: &Element,
    outer: &[(String, String)],
) -> PartnerReply {
    let read = read_fault(version, fault, outer);
    for entry in &read.detail {
        if let Some(fb) = match_fault(op, entry) {
            return PartnerReply::Fault {
                name: fb.qname.clone(),
                message_type: fb.message.clone(),
                message: fault_message(fb, entry.clone()),
            };
        }
    }
    PartnerReply::UndeclaredFault {
        code: read.code,
        reason: read.reason,
        detail: read.detail.into_iter().next(),
    }
}

/// The declared fault whose detail entry `entry` is: the fault message's element part, or a
/// wrapper named after the fault (in the portType namespace, or unqualified).
fn match_fault<'o>(op: &'o OperationBinding, entry: &Element) -> Option<&'o FaultBinding> {
    op.faults
        .iter()
        .find(|f| f.element_part().is_some_and(|(_, q)| *q == entry.name))
        .or_else(|| {
            op.faults.iter().find(|f| {
                f.element_part().is_none()
                    && entry.name.local == f.name
                    && (entry.name.ns == f.qname.ns || entry.name.ns.is_empty())
            })
        })
}

fn fault_message(fb: &FaultBinding, entry: Element) -> Element {
    let mut message = new_message();
    if let Some((part, _)) = fb.element_part() {
        message
            .children
            .push(Node::Element(element_accessor(part, entry)));
        return message;
    }
    let mut scope = NsScope::new();
    scope.push(&entry.ns_decls);
    let mut children: Vec<Element> = entry
        .children
        .into_iter()
        .filter_map(|n| match n {
            Node::Element(e) => Some(with_scope(e, &scope, "")),
            _ => None,
        })
        .collect();
    for p in &fb.parts {
        let Some(i) = children.iter().position(|c| {
            c.name.local == p.name || matches!(&p.kind, PartKind::Element(q) if c.name == *q)
        }) else {
            continue;
        };
        let c = children.remove(i);
        let acc = match &p.kind {
            // An element part inside a wrapper: the accessor holds the element, whether it came
            // bare or inside an accessor named after the part.
            PartKind::Element(q) if c.name == *q => element_accessor(&p.name, c),
            _ => content_accessor(&p.name, c),
        };
        message.children.push(Node::Element(acc));
    }
    message
}
