//! The serving side: a request to a process endpoint in, its reply or fault out.

use crate::wsdl::{SoapVersion, Style};
use crate::xml::{Element, Limits, Node, NsScope, QName};

use super::binding::{MessageBinding, OperationBinding, PartPlace, PortBinding};
use super::envelope::{
    Envelope, FaultSpec, StdCode, fault_element, read_envelope, split_content_type, unquote,
    version_of_content_type, with_scope, write_envelope,
};
use super::message::{
    accessor, accessor_from_rpc, accessor_from_wire, content_accessor, element_accessor, has_value,
    new_message, renamed, wire_from_accessor,
};
use super::{SoapError, SoapFault};

/// A decoded request to one of the port's operations.
#[derive(Clone, Debug, PartialEq)]
pub struct InboundRequest {
    /// The SOAP version the request came in (answer in the same).
    pub version: SoapVersion,
    /// The operation it is for.
    pub operation: String,
    /// The input message in the message form (header parts included).
    pub message: Element,
    /// Every SOAP header block as received (declaring the outer bindings its QName-valued
    /// content refers to).
    pub headers: Vec<Element>,
}

/// Reads a request: version from the Content-Type (the envelope decides when there is none),
/// operation from the body (rpc wrapper name, document part element) or the SOAP action, and
/// the input message checked against the binding. Every problem is a Client fault.
pub fn decode_request(
    pb: &PortBinding,
    content_type: Option<&str>,
    soap_action: Option<&str>,
    body: &[u8],
    limits: &Limits,
) -> Result<InboundRequest, SoapFault> {
    let (declared, mut action) = match content_type {
        Some(ct) => {
            let version = version_of_content_type(ct);
            // Split the parameters only when there can be an action among them (SOAP 1.2).
            let action = if ct
                .as_bytes()
                .windows(6)
                .any(|w| w.eq_ignore_ascii_case(b"action"))
            {
                split_content_type(ct)
                    .1
                    .into_iter()
                    .find(|(k, _)| k == "action")
                    .map(|(_, v)| v)
            } else {
                None
            };
            (version, action)
        }
        None => (None, None),
    };
    if let Some(a) = soap_action.map(unquote).filter(|a| !a.is_empty()) {
        action = Some(a.to_owned());
    }
    let fallback = declared.unwrap_or(pb.version);
    let env =
        read_envelope(body, limits).map_err(|e| SoapFault::client(fallback, e.to_string()))?;
    if let Some(v) = declared
        && v != env.version
    {
        return Err(SoapFault::client(
            v,
            format!(
                "the Content-Type announces {} but the envelope is {} (namespace {})",
                version_name(v),
                version_name(env.version),
                env.version.envelope_ns()
            ),
        ));
    }
    let version = env.version;
    let op = dispatch(pb, &env, action.as_deref()).map_err(|r| SoapFault::client(version, r))?;
    let Envelope { headers, body, .. } = env;
    let message = read_message(op, &op.input, op.style, body, &headers, false)
        .map_err(|r| SoapFault::client(version, r))?;
    Ok(InboundRequest {
        version,
        operation: op.name.clone(),
        message,
        headers,
    })
}

fn version_name(v: SoapVersion) -> &'static str {
    match v {
        SoapVersion::Soap11 => "SOAP 1.1",
        SoapVersion::Soap12 => "SOAP 1.2",
    }
}

/// Picks the operation a request is for.
fn dispatch<'p>(
    pb: &'p PortBinding,
    env: &Envelope,
    action: Option<&str>,
) -> Result<&'p OperationBinding, String> {
    let first = env.body.first();
    let by_action = || {
        action.and_then(|a| {
            pb.operations
                .iter()
                .find(|o| !o.soap_action.is_empty() && o.soap_action == a)
        })
    };
    let Some(first) = first else {
        // An empty body can only be a document operation without body parts.
        let empty: Vec<&OperationBinding> = pb
            .operations
            .iter()
            .filter(|o| o.style == Style::Document && o.input.body_parts().next().is_none())
            .collect();
        return match (empty.as_slice(), by_action()) {
            (_, Some(o)) => Ok(o),
            ([o, ..], None) => Ok(o),
            ([], None) => Err("the SOAP Body is empty; expected an operation's request".into()),
        };
    };
    let rpc_exact = |o: &&OperationBinding| {
        o.style == Style::Rpc && first.name.local == o.name && first.name.ns == o.input.namespace
    };
    let doc = |o: &&OperationBinding| {
        o.style == Style::Document
            && o.input.body_parts().next().map(|p| p.wire_name()) == Some(first.name.clone())
    };
    let exact: Vec<&OperationBinding> = pb
        .operations
        .iter()
        .filter(|o| rpc_exact(o) || doc(o))
        .collect();
    match exact.as_slice() {
        [o] => return Ok(o),
        [o, ..] => return Ok(by_action().filter(|a| exact.contains(a)).unwrap_or(o)),
        [] => {}
    }
    // rpc wrappers in another namespace than the binding's: accepted by operation name, as
    // clients that guess the namespace are common and the name is unambiguous.
    if let Some(o) = pb
        .operations
        .iter()
        .find(|o| o.style == Style::Rpc && first.name.local == o.name)
    {
        return Ok(o);
    }
    if let Some(o) = by_action() {
        return Ok(o);
    }
    Err(format!(
        "no operation of port '{}' (portType {}) matches the request: the Body starts with {}{}",
        pb.port,
        pb.port_type,
        first.name,
        match action {
            Some(a) => format!(" and the SOAP action is '{a}'"),
            None => String::new(),
        }
    ))
}

/// Builds the message form of `mb` from body entries and header blocks. `lenient` (partner
/// replies) ignores unexpected body content; requests reject it.
pub(super) fn read_message(
    op: &OperationBinding,
    mb: &MessageBinding,
    style: Style,
    body: Vec<Element>,
    headers: &[Element],
    lenient: bool,
) -> Result<Element, String> {
    let mut slots: Vec<Option<Element>> = vec![None; mb.parts.len()];
    match style {
        Style::Rpc => {
            let mut entries = body.into_iter();
            let wrapper = entries.next();
            if let (Some(extra), false) = (entries.next(), lenient) {
                return Err(format!(
                    "unexpected element {} after the rpc wrapper of operation '{}'",
                    extra.name, op.name
                ));
            }
            let Some(wrapper) = wrapper else {
                return Err(format!(
                    "the SOAP Body is empty; expected the rpc wrapper of operation '{}'",
                    op.name
                ));
            };
            // Accessors leave their wrapper: bindings declared on it (or above) that their
            // content refers to must come along.
            let mut scope = NsScope::new();
            scope.push(&wrapper.ns_decls);
            for node in wrapper.children {
                let acc = match node {
                    Node::Element(e) => with_scope(e, &scope, ""),
                    Node::Text(t) if t.trim().is_empty() || lenient => continue,
                    Node::Text(_) => {
                        return Err(format!(
                            "unexpected text in the rpc wrapper of operation '{}'",
                            op.name
                        ));
                    }
                    _ => continue,
                };
                let found = mb
                    .parts
                    .iter()
                    .position(|p| p.place == PartPlace::Body && p.name == acc.name.local);
                match found {
                    Some(i) if slots[i].is_none() => {
                        slots[i] = Some(accessor_from_rpc(&mb.parts[i], acc));
                    }
                    Some(_) if lenient => {}
                    Some(_) => {
                        return Err(format!(
                            "part '{}' appears twice in the request of operation '{}'",
                            acc.name.local, op.name
                        ));
                    }
                    None if lenient => {}
                    None => {
                        return Err(format!(
                            "unexpected element {} in the request of operation '{}'; its parts \
                             are: {}",
                            acc.name,
                            op.name,
                            part_list(mb, PartPlace::Body)
                        ));
                    }
                }
            }
        }
        Style::Document => {
            for entry in body {
                let found = mb.parts.iter().enumerate().position(|(i, p)| {
                    p.place == PartPlace::Body && slots[i].is_none() && p.wire_name() == entry.name
                });
                match found {
                    Some(i) => slots[i] = Some(accessor_from_wire(&mb.parts[i], entry)),
                    None if lenient => {}
                    None => {
                        return Err(format!(
                            "unexpected element {} in the Body of operation '{}'; expected: {}",
                            entry.name,
                            op.name,
                            part_list(mb, PartPlace::Body)
                        ));
                    }
                }
            }
        }
    }
    // Header blocks the binding declares fill their parts; every other one is kept too (below).
    let mut taken = vec![false; headers.len()];
    for (i, p) in mb.parts.iter().enumerate() {
        if !matches!(p.place, PartPlace::Header | PartPlace::ForeignHeader) {
            continue;
        }
        let want = p.wire_name();
        if let Some(j) = (0..headers.len()).find(|&j| !taken[j] && headers[j].name == want) {
            taken[j] = true;
            slots[i] = Some(accessor_from_wire(p, headers[j].clone()));
        }
    }
    let mut message = new_message();
    for (p, slot) in mb.parts.iter().zip(slots) {
        match slot {
            Some(acc) => message.children.push(Node::Element(acc)),
            // Header parts are optional on the wire: a process may never read them, and
            // intermediaries drop headers.
            None if p.place != PartPlace::Body => {}
            None => {
                return Err(format!(
                    "the {} of operation '{}' lacks part '{}' ({})",
                    if lenient { "reply" } else { "request" },
                    op.name,
                    p.name,
                    match style {
                        Style::Rpc => format!("an accessor <{}>", p.name),
                        Style::Document => format!("element {}", p.wire_name()),
                    }
                ));
            }
        }
    }
    for (h, _) in headers.iter().zip(taken).filter(|(_, t)| !t) {
        let local = h.name.local.as_str();
        if is_exchange_header(h)
            || mb.parts.iter().any(|p| p.name == local)
            || accessor(&message, local).is_some()
        {
            continue;
        }
        message
            .children
            .push(Node::Element(element_accessor(local, h.clone())));
    }
    Ok(message)
}

/// WS-Addressing namespaces (W3C 1.0 and the 2004/08 submission).
const WSA_NS: [&str; 2] = [
    "http://www.w3.org/2005/08/addressing",
    "http://schemas.xmlsoap.org/ws/2004/08/addressing",
];

/// True for a header block that describes the exchange rather than the message: WS-Addressing
/// headers. Kept in the message form, a process replying with (or forwarding) its input
/// variable would echo the request's MessageID, Action and To.
fn is_exchange_header(h: &Element) -> bool {
    WSA_NS.contains(&h.name.ns.as_str())
}

fn part_list(mb: &MessageBinding, place: PartPlace) -> String {
    let names: Vec<String> = mb
        .parts
        .iter()
        .filter(|p| p.place == place)
        .map(|p| p.name.clone())
        .collect();
    if names.is_empty() {
        "(none)".to_owned()
    } else {
        names.join(", ")
    }
}

/// Writes the message form `message` as `mb` on the wire: (header blocks, body entries).
/// `wrapper` is the rpc wrapper's name (rpc style only). Accessors that are not parts of `mb`
/// become header blocks after the declared ones, except those whose element has the name of one
/// of `extra` (header blocks the caller adds itself).
pub(super) fn write_message(
    op: &OperationBinding,
    mb: &MessageBinding,
    style: Style,
    wrapper: &str,
    message: &Element,
    extra: &[Element],
) -> Result<(Vec<Element>, Vec<Element>), SoapError> {
    let missing = |part: &str| SoapError::MissingPart {
        operation: op.name.clone(),
        part: part.to_owned(),
    };
    let mut headers = Vec::new();
    for p in mb.header_parts().chain(mb.foreign_header_parts()) {
        // An absent header part is simply not sent (see read_message).
        if let Some(acc) = accessor(message, &p.name)
            && let Some(h) = wire_from_accessor(p, acc)
        {
            headers.push(h);
        }
    }
    // Accessors the WSDL message does not have: header blocks a process kept or set (Apache
    // ODE's `header="…"`), written as they are.
    for acc in message.elements() {
        if !acc.name.ns.is_empty() || mb.parts.iter().any(|p| p.name == acc.name.local) {
            continue;
        }
        if let Some(h) = acc.first_element()
            && !extra.iter().any(|x| x.name == h.name)
        {
            headers.push(h.clone());
        }
    }
    let mut body = Vec::new();
    match style {
        Style::Rpc => {
            let mut w = Element::new(QName::new(mb.namespace.clone(), wrapper));
            if !mb.namespace.is_empty() {
                w.prefix = "ns".to_owned();
                w.ns_decls.push(("ns".to_owned(), mb.namespace.clone()));
            }
            for p in mb.body_parts() {
                let acc = accessor(message, &p.name)
                    .filter(|a| has_value(p, a))
                    .ok_or_else(|| missing(&p.name))?;
                w.children
                    .push(Node::Element(renamed(acc, QName::local(&p.name))));
            }
            body.push(w);
        }
        Style::Document => {
            for p in mb.body_parts() {
                let el = accessor(message, &p.name)
                    .and_then(|a| wire_from_accessor(p, a))
                    .ok_or_else(|| missing(&p.name))?;
                body.push(el);
            }
        }
    }
    Ok((headers, body))
}

/// Writes the reply of request-response operation `operation` in `version`.
pub fn encode_response(
    pb: &PortBinding,
    version: SoapVersion,
    operation: &str,
    message: &Element,
) -> Result<Vec<u8>, SoapError> {
    let op = pb.op(operation)?;
    let out = op
        .output
        .as_ref()
        .ok_or_else(|| SoapError::NoOutput(operation.to_owned()))?;
    let (headers, body) = write_message(
        op,
        out,
        op.style,
        &format!("{}Response", op.name),
        message,
        &[],
    )?;
    Ok(write_envelope(version, headers, body))
}

/// Writes a fault reply for `operation`.
///
/// A fault the operation declares (`fault` = portType namespace + WSDL fault name) with its
/// message: faultcode Server, `detail` holds the fault part element — or, for a fault message
/// of type parts, one element named after the fault in the portType namespace with the part
/// accessors as children. Any other fault (an uncaught BPEL fault): its QName in the fault code
/// (1.1 `faultcode`, 1.2 `Subcode`) and, in Clark notation, in the reason; message parts, if
/// any, go to `detail`.
pub fn encode_fault(
    pb: &PortBinding,
    version: SoapVersion,
    operation: &str,
    fault: &QName,
    message: Option<&Element>,
) -> Vec<u8> {
    encode_fault_explained(pb, version, operation, fault, message, "")
}

/// [`encode_fault`] with a human explanation appended to the fault string after the fault's
/// QName (`{ns}local: why`), so a caller sees why an undeclared fault happened.
pub fn encode_fault_explained(
    pb: &PortBinding,
    version: SoapVersion,
    operation: &str,
    fault: &QName,
    message: Option<&Element>,
    explanation: &str,
) -> Vec<u8> {
    let declared = pb
        .operation(operation)
        .and_then(|op| op.faults.iter().find(|f| f.qname == *fault));
    let reason = if explanation.is_empty() {
        fault.clark()
    } else {
        format!("{}: {explanation}", fault.clark())
    };
    let fault_el = match (declared, message) {
        (Some(fb), Some(msg)) => {
            let detail = match fb.element_part() {
                Some((part, _)) => accessor(msg, part)
                    .and_then(|a| a.first_element().cloned())
                    .into_iter()
                    .collect(),
                None => {
                    let mut w = Element::new(fb.qname.clone());
                    if !fb.qname.ns.is_empty() {
                        w.prefix = "ns".to_owned();
                        w.ns_decls.push(("ns".to_owned(), fb.qname.ns.clone()));
                    }
                    for p in &fb.parts {
                        if let Some(a) = accessor(msg, &p.name) {
                            w.children
                                .push(Node::Element(renamed(a, QName::local(&p.name))));
                        }
                    }
                    vec![w]
                }
            };
            fault_element(
                version,
                FaultSpec {
                    code: StdCode::Server,
                    app_code: None,
                    reason: &reason,
                    detail,
                },
            )
        }
        _ => {
            let detail = message
                .map(|m| {
                    m.elements()
                        .map(|a| match a.first_element() {
                            Some(e) if a.elements().count() == 1 => e.clone(),
                            _ => content_accessor(&a.name.local, a.clone()),
                        })
                        .collect()
                })
                .unwrap_or_default();
            fault_element(
                version,
                FaultSpec {
                    code: StdCode::Server,
                    app_code: Some(fault),
                    reason: &reason,
                    detail,
                },
            )
        }
    };
    write_envelope(version, Vec::new(), vec![fault_el])
}

/// A Server (1.2: Receiver) fault saying `reason`: the request was fine but cannot be served
/// now (e.g. the database is unreachable); the client may retry.
pub fn encode_server_fault(version: SoapVersion, reason: &str) -> Vec<u8> {
    let f = fault_element(
        version,
        FaultSpec {
            code: StdCode::Server,
            app_code: None,
            reason,
            detail: Vec::new(),
        },
    );
    write_envelope(version, Vec::new(), vec![f])
}

/// A Client (1.2: Sender) fault saying `reason`: the answer to a request that cannot be served.
pub fn encode_client_fault(version: SoapVersion, reason: &str) -> Vec<u8> {
    let f = fault_element(
        version,
        FaultSpec {
            code: StdCode::Client,
            app_code: None,
            reason,
            detail: Vec::new(),
        },
    );
    write_envelope(version, Vec::new(), vec![f])
}
