//! SOAP 1.1 / 1.2 envelopes: content types, reading an envelope into header blocks and body
//! entries, writing one, and the Fault element in both versions.

use crate::wsdl::SoapVersion;
use crate::xml::{Attr, Element, Limits, Node, NsScope, QName, XML_NS, parse, write_element};

/// The SOAP 1.1 envelope namespace.
pub const SOAP11_ENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// The SOAP 1.2 envelope namespace.
pub const SOAP12_ENV: &str = "http://www.w3.org/2003/05/soap-envelope";

impl SoapVersion {
    /// The envelope namespace of this version.
    pub fn envelope_ns(self) -> &'static str {
        match self {
            SoapVersion::Soap11 => SOAP11_ENV,
            SoapVersion::Soap12 => SOAP12_ENV,
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            SoapVersion::Soap11 => "soapenv",
            SoapVersion::Soap12 => "soap",
        }
    }
}

/// The Content-Type of a message in `version` (without the SOAP 1.2 `action` parameter).
pub fn content_type(version: SoapVersion) -> &'static str {
    match version {
        SoapVersion::Soap11 => "text/xml; charset=utf-8",
        SoapVersion::Soap12 => "application/soap+xml; charset=utf-8",
    }
}

/// The SOAP version a Content-Type announces: `text/xml` → 1.1, `application/soap+xml` → 1.2,
/// anything else → None.
pub fn version_of_content_type(content_type: &str) -> Option<SoapVersion> {
    // Asked on every request: compare in place rather than through split_content_type's copies.
    let mime = content_type.split(';').next().unwrap_or("").trim();
    if mime.eq_ignore_ascii_case("text/xml") {
        Some(SoapVersion::Soap11)
    } else if mime.eq_ignore_ascii_case("application/soap+xml") {
        Some(SoapVersion::Soap12)
    } else {
        None
    }
}

/// Media type (lower-cased) and parameters (names lower-cased, values unquoted).
pub(super) fn split_content_type(ct: &str) -> (String, Vec<(String, String)>) {
    let mut it = ct.split(';');
    let mime = it.next().unwrap_or("").trim().to_ascii_lowercase();
    let params = it
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            Some((k.trim().to_ascii_lowercase(), unquote(v).to_owned()))
        })
        .collect();
    (mime, params)
}

/// Strips surrounding whitespace and one pair of double quotes (SOAPAction is sent quoted).
pub(super) fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(s)
}

/// A read envelope: header blocks and body entries, each carrying the namespace bindings in
/// scope where it stood (so QName-valued content stays resolvable once detached).
#[derive(Debug)]
pub(super) struct Envelope {
    pub version: SoapVersion,
    pub headers: Vec<Element>,
    pub body: Vec<Element>,
    /// The bindings in scope inside Body, the envelope namespace's included (detached entries
    /// leave that one out, a Fault's code needs it).
    pub body_scope: Vec<(String, String)>,
}

/// Why bytes are not a SOAP envelope.
#[derive(Debug)]
pub(super) enum EnvelopeError {
    Xml(String),
    NotEnvelope(String),
    NoBody,
}

impl std::fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EnvelopeError::Xml(m) => write!(f, "the message is not well-formed XML: {m}"),
            EnvelopeError::NotEnvelope(m) => f.write_str(m),
            EnvelopeError::NoBody => f.write_str("the SOAP envelope has no Body"),
        }
    }
}

pub(super) fn read_envelope(bytes: &[u8], limits: &Limits) -> Result<Envelope, EnvelopeError> {
    let root = parse(bytes, limits).map_err(|e| EnvelopeError::Xml(e.to_string()))?;
    let version = match root.name.ns.as_str() {
        SOAP11_ENV if root.name.local == "Envelope" => SoapVersion::Soap11,
        SOAP12_ENV if root.name.local == "Envelope" => SoapVersion::Soap12,
        _ => {
            return Err(EnvelopeError::NotEnvelope(format!(
                "the message is not a SOAP envelope: root element is {}, expected Envelope in \
                 {SOAP11_ENV} (SOAP 1.1) or {SOAP12_ENV} (SOAP 1.2)",
                root.name
            )));
        }
    };
    let env_ns = version.envelope_ns();
    let mut scope = NsScope::new();
    scope.push(&root.ns_decls);
    let mut headers = Vec::new();
    let mut body = None;
    let mut body_scope = Vec::new();
    for child in root.children {
        let Node::Element(c) = child else { continue };
        if c.is(env_ns, "Header") && body.is_none() {
            scope.push(&c.ns_decls);
            headers.extend(detach_children(c.children, &scope, env_ns));
            scope.pop();
        } else if c.is(env_ns, "Body") && body.is_none() {
            scope.push(&c.ns_decls);
            body_scope = scope.in_scope();
            body = Some(detach_children(c.children, &scope, env_ns));
            scope.pop();
        }
    }
    let body = body.ok_or(EnvelopeError::NoBody)?;
    Ok(Envelope {
        version,
        headers,
        body,
        body_scope,
    })
}

fn detach_children(children: Vec<Node>, scope: &NsScope, env_ns: &str) -> Vec<Element> {
    children
        .into_iter()
        .filter_map(|n| match n {
            Node::Element(e) => Some(with_scope(e, scope, env_ns)),
            _ => None,
        })
        .collect()
}

/// Declares on `el` the bindings of `scope` that QName-valued content of its subtree (a text
/// or attribute value `p:local`) refers to and `el` does not declare itself, so the value stays
/// resolvable once detached. Element and attribute names need nothing: the writer declares
/// their namespaces. `skip_ns` (the envelope namespace) is never copied.
pub(super) fn with_scope(mut el: Element, scope: &NsScope, skip_ns: &str) -> Element {
    let mut used: Vec<String> = Vec::new();
    collect_value_prefixes(&el, &mut used);
    for p in used {
        if el.ns_decls.iter().any(|(q, _)| *q == p) {
            continue;
        }
        if let Some(u) = scope.lookup(&p).filter(|u| !u.is_empty() && *u != skip_ns) {
            let u = u.to_owned();
            el.ns_decls.push((p, u));
        }
    }
    el
}

fn collect_value_prefixes(el: &Element, out: &mut Vec<String>) {
    for a in &el.attrs {
        note_prefix(&a.value, out);
    }
    for c in &el.children {
        match c {
            Node::Text(t) => note_prefix(t, out),
            Node::Element(e) => collect_value_prefixes(e, out),
            _ => {}
        }
    }
}

fn note_prefix(value: &str, out: &mut Vec<String>) {
    // Most values (all whitespace between elements) hold no colon at all.
    if !value.as_bytes().contains(&b':') {
        return;
    }
    if let Some((p, l)) = value.trim().split_once(':')
        && is_ncname(p)
        && is_ncname(l)
        && p != "xml"
        && !out.iter().any(|q| q == p)
    {
        out.push(p.to_owned());
    }
}

fn is_ncname(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Writes an envelope with `headers` (no Header element when empty) and `body` entries.
pub(super) fn write_envelope(
    version: SoapVersion,
    headers: Vec<Element>,
    body: Vec<Element>,
) -> Vec<u8> {
    let ns = version.envelope_ns();
    let mut env = env_el(version, "Envelope");
    env.ns_decls
        .push((version.prefix().to_owned(), ns.to_owned()));
    if !headers.is_empty() {
        let mut h = env_el(version, "Header");
        h.children = headers.into_iter().map(Node::Element).collect();
        env.children.push(Node::Element(h));
    }
    let mut b = env_el(version, "Body");
    b.children = body.into_iter().map(Node::Element).collect();
    env.children.push(Node::Element(b));
    let mut out = String::with_capacity(1024);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    write_element(&env, &mut NsScope::new(), &mut out);
    out.into_bytes()
}

fn env_el(version: SoapVersion, local: &str) -> Element {
    let mut e = Element::new(QName::new(version.envelope_ns(), local));
    e.prefix = version.prefix().to_owned();
    e
}

/// An element named `local` in no namespace with text content.
pub(super) fn text_el(name: QName, prefix: &str, text: &str) -> Element {
    let mut e = Element::new(name);
    e.prefix = prefix.to_owned();
    if !text.is_empty() {
        e.children.push(Node::Text(text.to_owned()));
    }
    e
}

/// The standard fault codes this crate emits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum StdCode {
    /// 1.1 `Client`, 1.2 `Sender`.
    Client,
    /// 1.1 `Server`, 1.2 `Receiver`.
    Server,
}

/// What a Fault element says.
pub(super) struct FaultSpec<'a> {
    pub code: StdCode,
    /// An application fault name: 1.1 puts it in `faultcode` (replacing the standard code),
    /// 1.2 in a `Subcode`.
    pub app_code: Option<&'a QName>,
    pub reason: &'a str,
    pub detail: Vec<Element>,
}

/// Prefix used for the application fault code's namespace on the Fault element.
const FAULT_PREFIX: &str = "fault";

pub(super) fn fault_element(version: SoapVersion, spec: FaultSpec<'_>) -> Element {
    let ns = version.envelope_ns();
    let p = version.prefix();
    let mut fault = env_el(version, "Fault");
    let app_value = spec.app_code.map(|q| {
        if q.ns.is_empty() {
            q.local.clone()
        } else {
            fault.ns_decls.push((FAULT_PREFIX.to_owned(), q.ns.clone()));
            format!("{FAULT_PREFIX}:{}", q.local)
        }
    });
    match version {
        SoapVersion::Soap11 => {
            let std = match spec.code {
                StdCode::Client => "Client",
                StdCode::Server => "Server",
            };
            let code = app_value.unwrap_or_else(|| format!("{p}:{std}"));
            fault
                .children
                .push(Node::Element(text_el(QName::local("faultcode"), "", &code)));
            fault.children.push(Node::Element(text_el(
                QName::local("faultstring"),
                "",
                spec.reason,
            )));
            if !spec.detail.is_empty() {
                let mut d = Element::new(QName::local("detail"));
                d.children = spec.detail.into_iter().map(Node::Element).collect();
                fault.children.push(Node::Element(d));
            }
        }
        SoapVersion::Soap12 => {
            let std = match spec.code {
                StdCode::Client => "Sender",
                StdCode::Server => "Receiver",
            };
            let mut code = env_el(version, "Code");
            code.children.push(Node::Element(text_el(
                QName::new(ns, "Value"),
                p,
                &format!("{p}:{std}"),
            )));
            if let Some(v) = app_value {
                let mut sub = env_el(version, "Subcode");
                sub.children
                    .push(Node::Element(text_el(QName::new(ns, "Value"), p, &v)));
                code.children.push(Node::Element(sub));
            }
            fault.children.push(Node::Element(code));
            let mut reason = env_el(version, "Reason");
            let mut text = text_el(QName::new(ns, "Text"), p, spec.reason);
            text.attrs.push(Attr {
                name: QName::new(XML_NS, "lang"),
                prefix: "xml".to_owned(),
                value: "en".to_owned(),
            });
            reason.children.push(Node::Element(text));
            fault.children.push(Node::Element(reason));
            if !spec.detail.is_empty() {
                let mut d = env_el(version, "Detail");
                d.children = spec.detail.into_iter().map(Node::Element).collect();
                fault.children.push(Node::Element(d));
            }
        }
    }
    fault
}

/// A Fault as read from a reply.
#[derive(Debug)]
pub(super) struct ReadFault {
    /// The most specific code: 1.1 `faultcode`, 1.2 the innermost `Subcode` value or `Code`
    /// value; resolved to Clark notation when its prefix is declared.
    pub code: String,
    pub reason: String,
    /// The detail entries, each with the bindings in scope.
    pub detail: Vec<Element>,
}

/// Reads a Fault body entry; `outer` are the bindings in scope at the Body.
pub(super) fn read_fault(
    version: SoapVersion,
    fault: &Element,
    outer: &[(String, String)],
) -> ReadFault {
    let ns = version.envelope_ns();
    let mut scope = NsScope::new();
    scope.push(outer);
    scope.push(&fault.ns_decls);
    let resolve = |el: &Element, scope: &mut NsScope| {
        scope.push(&el.ns_decls);
        let raw = el.text();
        let code = scope
            .resolve(&raw, true)
            .map(|q| q.clark())
            .unwrap_or_else(|_| raw.trim().to_owned());
        scope.pop();
        code
    };
    let (code, reason, detail_el) = match version {
        SoapVersion::Soap11 => {
            let code = fault
                .elements()
                .find(|e| e.name.local == "faultcode")
                .map(|e| resolve(e, &mut scope))
                .unwrap_or_default();
            let reason = fault
                .elements()
                .find(|e| e.name.local == "faultstring")
                .map(|e| e.text())
                .unwrap_or_default();
            let detail = fault.elements().find(|e| e.name.local == "detail");
            (code, reason, detail)
        }
        SoapVersion::Soap12 => {
            let mut code = String::new();
            let mut cur = fault.child(ns, "Code");
            let mut depth = 0;
            while let Some(c) = cur {
                scope.push(&c.ns_decls);
                depth += 1;
                if let Some(v) = c.child(ns, "Value") {
                    code = resolve(v, &mut scope);
                }
                cur = c.child(ns, "Subcode");
            }
            for _ in 0..depth {
                scope.pop();
            }
            let reason = fault
                .child(ns, "Reason")
                .and_then(|r| r.child(ns, "Text"))
                .map(|t| t.text())
                .unwrap_or_default();
            (code, reason, fault.child(ns, "Detail"))
        }
    };
    let detail = match detail_el {
        Some(d) => {
            scope.push(&d.ns_decls);
            let out = d
                .elements()
                .map(|e| with_scope(e.clone(), &scope, ns))
                .collect();
            scope.pop();
            out
        }
        None => Vec::new(),
    };
    ReadFault {
        code,
        reason: reason.trim().to_owned(),
        detail,
    }
}
