//! Round trips through both sides of the mapping, and every way a request can be refused.

use super::*;
use crate::wsdl::{MemLoader, SoapVersion, Style, WsdlSet};
use crate::xml::{Element, Limits, Node, QName, parse_str};

const DOC: &str = r#"<?xml version="1.0"?>
<definitions xmlns="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    xmlns:tns="urn:doc" xmlns:t="urn:doc:types" targetNamespace="urn:doc">
  <types>
    <xsd:schema targetNamespace="urn:doc:types" elementFormDefault="qualified">
      <xsd:element name="order" type="xsd:string"/>
      <xsd:element name="receipt" type="xsd:string"/>
      <xsd:element name="auth" type="xsd:string"/>
      <xsd:element name="note" type="xsd:string"/>
      <xsd:element name="rejected" type="xsd:string"/>
    </xsd:schema>
  </types>
  <message name="OrderIn">
    <part name="auth" element="t:auth"/>
    <part name="order" element="t:order"/>
  </message>
  <message name="OrderOut"><part name="receipt" element="t:receipt"/></message>
  <message name="NoteIn"><part name="note" element="t:note"/></message>
  <message name="Rejected"><part name="why" element="t:rejected"/></message>
  <message name="Empty"/>
  <portType name="ShopPT">
    <operation name="place">
      <input message="tns:OrderIn"/>
      <output message="tns:OrderOut"/>
      <fault name="rejected" message="tns:Rejected"/>
    </operation>
    <operation name="notify"><input message="tns:NoteIn"/></operation>
    <operation name="notifyAgain"><input message="tns:NoteIn"/></operation>
    <operation name="ping"><input message="tns:Empty"/></operation>
  </portType>
  <binding name="ShopB" type="tns:ShopPT">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="place">
      <soap:operation soapAction="urn:place"/>
      <input>
        <soap:header message="tns:OrderIn" part="auth" use="literal"/>
        <soap:body use="literal" parts="order"/>
      </input>
      <output><soap:body use="literal"/></output>
      <fault name="rejected"><soap:fault name="rejected" use="literal"/></fault>
    </operation>
    <operation name="notify">
      <soap:operation soapAction="urn:notify"/>
      <input><soap:body use="literal"/></input>
    </operation>
    <operation name="notifyAgain">
      <soap:operation soapAction="urn:notifyAgain"/>
      <input><soap:body use="literal"/></input>
    </operation>
    <operation name="ping">
      <soap:operation soapAction="urn:ping"/>
      <input><soap:body use="literal"/></input>
    </operation>
  </binding>
  <service name="ShopService">
    <port name="ShopPort" binding="tns:ShopB"><soap:address location="http://x/shop"/></port>
  </service>
</definitions>"#;

const RPC: &str = r#"<?xml version="1.0"?>
<definitions xmlns="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    xmlns:tns="urn:calc" targetNamespace="urn:calc">
  <message name="AddIn"><part name="a" type="xsd:int"/><part name="b" type="xsd:int"/></message>
  <message name="AddOut"><part name="sum" type="xsd:int"/></message>
  <message name="Err"><part name="errorID" type="xsd:string"/><part name="errorText" type="xsd:string"/></message>
  <portType name="CalcPT">
    <operation name="add">
      <input message="tns:AddIn"/><output message="tns:AddOut"/>
      <fault name="Overflow" message="tns:Err"/>
    </operation>
  </portType>
  <binding name="CalcB" type="tns:CalcPT">
    <soap12:binding style="rpc" transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="add">
      <soap12:operation soapAction="urn:calc#add"/>
      <input><soap12:body use="literal" namespace="urn:calc:wrap"/></input>
      <output><soap12:body use="literal" namespace="urn:calc:wrap"/></output>
      <fault name="Overflow"><soap12:fault name="Overflow" use="literal"/></fault>
    </operation>
  </binding>
  <service name="CalcService">
    <port name="CalcPort" binding="tns:CalcB"><soap12:address location="http://x/calc"/></port>
  </service>
</definitions>"#;

/// ODE's in-process test WSDLs: a binding with no SOAP extension at all.
const PLAIN: &str = r#"<?xml version="1.0"?>
<definitions xmlns="http://schemas.xmlsoap.org/wsdl/"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    xmlns:tns="urn:plain" targetNamespace="urn:plain">
  <message name="Req"><part name="requestID" type="xsd:string"/><part name="requestText" type="xsd:string"/></message>
  <message name="Resp"><part name="replyText" type="xsd:string"/></message>
  <message name="FaultMsg"><part name="errorID" type="xsd:string"/><part name="errorText" type="xsd:string"/></message>
  <portType name="PlainPT">
    <operation name="request">
      <input message="tns:Req"/><output message="tns:Resp"/>
      <fault name="FaultMessage1" message="tns:FaultMsg"/>
    </operation>
  </portType>
  <binding name="PlainB" type="tns:PlainPT">
    <operation name="request"><input/><output/></operation>
  </binding>
  <service name="PlainService"><port name="PlainPort" binding="tns:PlainB"/></service>
</definitions>"#;

fn set(text: &str) -> WsdlSet {
    let loader = MemLoader::new().with("a.wsdl", text);
    let (set, errors) = WsdlSet::load(&loader, &["a.wsdl".to_owned()]);
    assert!(errors.is_empty(), "{errors:?}");
    set
}

fn doc() -> PortBinding {
    PortBinding::resolve(&set(DOC), &QName::new("urn:doc", "ShopService"), "ShopPort").unwrap()
}

fn rpc() -> PortBinding {
    PortBinding::resolve(
        &set(RPC),
        &QName::new("urn:calc", "CalcService"),
        "CalcPort",
    )
    .unwrap()
}

fn plain() -> PortBinding {
    PortBinding::resolve(
        &set(PLAIN),
        &QName::new("urn:plain", "PlainService"),
        "PlainPort",
    )
    .unwrap()
}

fn el(s: &str) -> Element {
    parse_str(s, &Limits::default()).unwrap()
}

/// A namespace- and prefix-independent rendering: `{ns}local[attrs](children)`, text trimmed,
/// whitespace-only text dropped.
fn canon(e: &Element) -> String {
    let mut s = e.name.clark();
    let mut attrs: Vec<String> = e
        .attrs
        .iter()
        .map(|a| format!("{}={}", a.name.clark(), a.value))
        .collect();
    attrs.sort();
    if !attrs.is_empty() {
        s.push_str(&format!("[{}]", attrs.join(",")));
    }
    s.push('(');
    for c in &e.children {
        match c {
            Node::Element(c) => s.push_str(&canon(c)),
            Node::Text(t) if !t.trim().is_empty() => s.push_str(t.trim()),
            _ => {}
        }
    }
    s.push(')');
    s
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn lim() -> Limits {
    Limits::default()
}

/// Serves `req` on `pb` and returns the Client fault (checked to be a well-formed fault envelope
/// with a Client/Sender code).
fn refused(pb: &PortBinding, ct: Option<&str>, action: Option<&str>, req: &str) -> SoapFault {
    let f = decode_request(pb, ct, action, req.as_bytes(), &lim())
        .expect_err("request should be refused");
    let env = text(&f.to_envelope());
    let root = el(&env);
    let body = root.elements().last().unwrap();
    let fault = body.first_element().unwrap();
    assert_eq!(fault.name.local, "Fault", "{env}");
    match f.version {
        SoapVersion::Soap11 => {
            assert!(
                env.contains("<faultcode>soapenv:Client</faultcode>"),
                "{env}"
            )
        }
        SoapVersion::Soap12 => assert!(env.contains(">soap:Sender<"), "{env}"),
    }
    f
}

fn env11(body: &str) -> String {
    format!(
        "<s:Envelope xmlns:s='http://schemas.xmlsoap.org/soap/envelope/'><s:Body>{body}</s:Body></s:Envelope>"
    )
}

#[test]
fn resolves_document_binding() {
    let pb = doc();
    assert_eq!(pb.version, SoapVersion::Soap11);
    assert!(pb.soap_binding);
    assert_eq!(pb.port_type, QName::new("urn:doc", "ShopPT"));
    assert_eq!(pb.address.as_deref(), Some("http://x/shop"));
    let place = pb.operation("place").unwrap();
    assert_eq!(place.style, Style::Document);
    assert_eq!(place.soap_action, "urn:place");
    assert!(!place.is_one_way());
    let body: Vec<_> = place.input.body_parts().map(|p| p.name.as_str()).collect();
    let head: Vec<_> = place
        .input
        .header_parts()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!((body, head), (vec!["order"], vec!["auth"]));
    let f = place.fault("rejected").unwrap();
    assert_eq!(f.qname, QName::new("urn:doc", "rejected"));
    assert_eq!(f.message, QName::new("urn:doc", "Rejected"));
    assert_eq!(f.detail_name(), QName::new("urn:doc:types", "rejected"));
    assert!(pb.operation("notify").unwrap().is_one_way());
}

#[test]
fn resolves_rpc12_and_plain_bindings() {
    let pb = rpc();
    assert_eq!(pb.version, SoapVersion::Soap12);
    let add = pb.operation("add").unwrap();
    assert_eq!(add.style, Style::Rpc);
    assert_eq!(add.soap_action, "urn:calc#add");
    assert_eq!(add.input.namespace, "urn:calc:wrap");
    assert_eq!(add.output.as_ref().unwrap().namespace, "urn:calc:wrap");
    assert_eq!(
        add.fault("Overflow").unwrap().detail_name(),
        QName::new("urn:calc", "Overflow")
    );

    let pb = plain();
    assert!(!pb.soap_binding);
    assert_eq!(pb.version, SoapVersion::Soap11);
    let op = pb.operation("request").unwrap();
    assert_eq!(op.style, Style::Rpc);
    assert_eq!(op.soap_action, "");
    assert_eq!(op.input.namespace, "urn:plain");

    let s = set(PLAIN);
    let pb2 = PortBinding::for_port_type(
        &s,
        &QName::new("urn:plain", "PlainPT"),
        &QName::new("urn:plain", "Gen"),
        "GenPort",
    )
    .unwrap();
    assert_eq!(pb2.operations, pb.operations);
}

#[test]
fn resolve_errors_name_what_is_missing() {
    let s = set(DOC);
    assert_eq!(
        PortBinding::resolve(&s, &QName::new("urn:doc", "Nope"), "P"),
        Err(SoapError::UnknownService(QName::new("urn:doc", "Nope")))
    );
    assert!(matches!(
        PortBinding::resolve(&s, &QName::new("urn:doc", "ShopService"), "Other"),
        Err(SoapError::UnknownPort { port, .. }) if port == "Other"
    ));
}

#[test]
fn document_round_trip_with_header_part() {
    let pb = doc();
    let msg = el(
        "<message><auth><t:auth xmlns:t='urn:doc:types'>secret</t:auth></auth>\
         <order><t:order xmlns:t='urn:doc:types'>3 apples</t:order></order></message>",
    );
    let extra = el("<x:trace xmlns:x='urn:trace'>42</x:trace>");
    let out = encode_request(&pb, "place", &msg, std::slice::from_ref(&extra)).unwrap();
    assert_eq!(out.content_type, "text/xml; charset=utf-8");
    assert_eq!(out.soap_action.as_deref(), Some("\"urn:place\""));
    let wire = text(&out.body);
    let root = el(&wire);
    let header = root.child(SOAP11_ENV, "Header").unwrap();
    let names: Vec<_> = header.elements().map(|e| e.name.clark()).collect();
    assert_eq!(names, ["{urn:doc:types}auth", "{urn:trace}trace"]);
    let body = root.child(SOAP11_ENV, "Body").unwrap();
    assert_eq!(
        canon(body),
        format!("{{{SOAP11_ENV}}}Body({{urn:doc:types}}order(3 apples))")
    );

    let req = decode_request(
        &pb,
        Some(&out.content_type),
        out.soap_action.as_deref(),
        &out.body,
        &lim(),
    )
    .unwrap();
    assert_eq!(req.version, SoapVersion::Soap11);
    assert_eq!(req.operation, "place");
    // The undeclared header block is kept as one more accessor after the parts.
    let mut with_trace = msg;
    with_trace.children.push(Node::Element(el(
        "<trace><x:trace xmlns:x='urn:trace'>42</x:trace></trace>",
    )));
    assert_eq!(canon(&req.message), canon(&with_trace));
    assert_eq!(req.headers.len(), 2);
    assert_eq!(canon(&req.headers[1]), canon(&extra));

    let reply = el(
        "<message><receipt><t:receipt xmlns:t='urn:doc:types'>ok</t:receipt></receipt></message>",
    );
    let resp = encode_response(&pb, req.version, "place", &reply).unwrap();
    match decode_response(&pb, "place", 200, &resp, &lim()).unwrap() {
        PartnerReply::Output(m) => assert_eq!(canon(&m), canon(&reply)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn document_dispatch_by_element_then_soap_action() {
    let pb = doc();
    let req = env11("<t:note xmlns:t='urn:doc:types'>hi</t:note>");
    // Two operations take t:note: the action decides, else the first one.
    let r = decode_request(
        &pb,
        Some("text/xml"),
        Some("\"urn:notifyAgain\""),
        req.as_bytes(),
        &lim(),
    )
    .unwrap();
    assert_eq!(r.operation, "notifyAgain");
    let r = decode_request(&pb, Some("text/xml"), None, req.as_bytes(), &lim()).unwrap();
    assert_eq!(r.operation, "notify");
    assert_eq!(canon(&r.message), "message(note({urn:doc:types}note(hi)))");
    // No body parts: an empty Body, picked by action.
    let r = decode_request(
        &pb,
        Some("text/xml"),
        Some("urn:ping"),
        env11("").as_bytes(),
        &lim(),
    )
    .unwrap();
    assert_eq!(r.operation, "ping");
    assert_eq!(canon(&r.message), "message()");
}

#[test]
fn rpc_soap12_round_trip() {
    let pb = rpc();
    let msg = el("<message><a>1</a><b>2</b></message>");
    let out = encode_request(&pb, "add", &msg, &[]).unwrap();
    assert_eq!(
        out.content_type,
        "application/soap+xml; charset=utf-8; action=\"urn:calc#add\""
    );
    assert_eq!(out.soap_action, None);
    let wire = text(&out.body);
    let root = el(&wire);
    assert_eq!(root.name, QName::new(SOAP12_ENV, "Envelope"));
    let body = root.child(SOAP12_ENV, "Body").unwrap();
    assert_eq!(
        canon(body.first_element().unwrap()),
        "{urn:calc:wrap}add(a(1)b(2))"
    );
    let req = decode_request(&pb, Some(&out.content_type), None, &out.body, &lim()).unwrap();
    assert_eq!(req.version, SoapVersion::Soap12);
    assert_eq!(req.operation, "add");
    assert_eq!(canon(&req.message), "message(a(1)b(2))");

    let reply = el("<message><sum>3</sum></message>");
    let resp = encode_response(&pb, SoapVersion::Soap12, "add", &reply).unwrap();
    let rtext = text(&resp);
    let rroot = el(&rtext);
    let wrapper = rroot
        .child(SOAP12_ENV, "Body")
        .and_then(|b| b.first_element())
        .unwrap();
    assert_eq!(canon(wrapper), "{urn:calc:wrap}addResponse(sum(3))");
    match decode_response(&pb, "add", 200, &resp, &lim()).unwrap() {
        PartnerReply::Output(m) => assert_eq!(canon(&m), "message(sum(3))"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn rpc_request_in_soap11_to_a_soap12_port_is_answered_in_11() {
    let pb = rpc();
    let req = env11("<w:add xmlns:w='urn:calc:wrap'><a>5</a><b>6</b></w:add>");
    let r = decode_request(
        &pb,
        Some("text/xml; charset=utf-8"),
        Some("\"\""),
        req.as_bytes(),
        &lim(),
    )
    .unwrap();
    assert_eq!(r.version, SoapVersion::Soap11);
    assert_eq!(canon(&r.message), "message(a(5)b(6))");
}

#[test]
fn plain_binding_served_as_rpc_literal() {
    let pb = plain();
    // What the conformance runner sends for ODE's in-process tests.
    let req = env11(
        "<rpc:request xmlns:rpc='urn:plain'><requestID>Start</requestID>\
         <requestText>Event</requestText></rpc:request>",
    );
    let r = decode_request(
        &pb,
        Some("text/xml; charset=utf-8"),
        Some("\"\""),
        req.as_bytes(),
        &lim(),
    )
    .unwrap();
    assert_eq!(r.operation, "request");
    assert_eq!(
        canon(&r.message),
        "message(requestID(Start)requestText(Event))"
    );
    let out = encode_response(
        &pb,
        SoapVersion::Soap11,
        "request",
        &el("<message><replyText>done -> ok</replyText></message>"),
    )
    .unwrap();
    let t = text(&out);
    assert!(t.contains("<ns:requestResponse xmlns:ns=\"urn:plain\"><replyText>done -&gt; ok</replyText></ns:requestResponse>"), "{t}");
}

#[test]
fn rpc_element_parts_keep_the_element_inside_the_accessor() {
    let w = r#"<definitions xmlns="http://schemas.xmlsoap.org/wsdl/"
        xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:tns="urn:e" targetNamespace="urn:e">
      <message name="M"><part name="p" element="tns:item"/></message>
      <portType name="PT"><operation name="op"><input message="tns:M"/></operation></portType>
      <binding name="B" type="tns:PT"><soap:binding style="rpc"/>
        <operation name="op"><input><soap:body use="literal"/></input></operation></binding>
      <service name="S"><port name="P" binding="tns:B"/></service>
    </definitions>"#;
    let pb = PortBinding::resolve(&set(w), &QName::new("urn:e", "S"), "P").unwrap();
    let msg = el("<message><p><i:item xmlns:i='urn:e' k='v'>x</i:item></p></message>");
    let out = encode_request(&pb, "op", &msg, &[]).unwrap();
    let t = text(&out.body);
    assert!(
        t.contains(
            "<ns:op xmlns:ns=\"urn:e\"><p><i:item xmlns:i=\"urn:e\" k=\"v\">x</i:item></p></ns:op>"
        ),
        "{t}"
    );
    let r = decode_request(&pb, Some("text/xml"), None, &out.body, &lim()).unwrap();
    assert_eq!(canon(&r.message), canon(&msg));
    // One-way: no reply expected; an empty 202 is the whole answer.
    match decode_response(&pb, "op", 202, b"", &lim()).unwrap() {
        PartnerReply::Output(m) => assert_eq!(canon(&m), "message()"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        encode_response(&pb, SoapVersion::Soap11, "op", &msg),
        Err(SoapError::NoOutput("op".into()))
    );
}

#[test]
fn in_scope_namespaces_travel_with_detached_parts() {
    let pb = doc();
    let req = "<s:Envelope xmlns:s='http://schemas.xmlsoap.org/soap/envelope/' xmlns:q='urn:q' \
               xmlns:unused='urn:unused'>\
               <s:Body><t:note xmlns:t='urn:doc:types'>q:value</t:note></s:Body></s:Envelope>";
    let r = decode_request(&pb, Some("text/xml"), None, req.as_bytes(), &lim()).unwrap();
    let note = r.message.first_element().unwrap().first_element().unwrap();
    assert_eq!(
        note.ns_decls,
        [
            ("t".to_owned(), "urn:doc:types".to_owned()),
            ("q".to_owned(), "urn:q".to_owned())
        ]
    );

    // rpc accessors leave the wrapper: a QName in an attribute value keeps its binding, and
    // nothing else is declared on them.
    let pb = rpc();
    let req = env11(
        "<w:add xmlns:w='urn:calc:wrap' xmlns:xsd='http://www.w3.org/2001/XMLSchema' \
         xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance'>\
         <a xsi:type='xsd:int'>1</a><b>2</b></w:add>",
    );
    let r = decode_request(&pb, Some("text/xml"), None, req.as_bytes(), &lim()).unwrap();
    let a = r.message.first_element().unwrap();
    assert_eq!(
        a.ns_decls,
        [(
            "xsd".to_owned(),
            "http://www.w3.org/2001/XMLSchema".to_owned()
        )]
    );
    let b = r.message.elements().nth(1).unwrap();
    assert!(b.ns_decls.is_empty(), "{:?}", b.ns_decls);
    // And the reply writes accessors with exactly the declarations the message carries.
    let out = encode_response(
        &pb,
        SoapVersion::Soap11,
        "add",
        &el("<message><sum>3</sum></message>"),
    )
    .unwrap();
    assert!(text(&out).contains("<sum>3</sum>"), "{}", text(&out));
}

#[test]
fn declared_element_fault_round_trip() {
    let pb = doc();
    let fault_msg = el(
        "<message><why><t:rejected xmlns:t='urn:doc:types'>out of stock</t:rejected></why></message>",
    );
    let f = encode_fault(
        &pb,
        SoapVersion::Soap11,
        "place",
        &QName::new("urn:doc", "rejected"),
        Some(&fault_msg),
    );
    let t = text(&f);
    assert!(t.contains("<faultcode>soapenv:Server</faultcode>"), "{t}");
    assert!(
        t.contains("<faultstring>{urn:doc}rejected</faultstring>"),
        "{t}"
    );
    assert!(
        t.contains(
            "<detail><t:rejected xmlns:t=\"urn:doc:types\">out of stock</t:rejected></detail>"
        ),
        "{t}"
    );
    match decode_response(&pb, "place", 500, &f, &lim()).unwrap() {
        PartnerReply::Fault {
            name,
            message_type,
            message,
        } => {
            assert_eq!(name, QName::new("urn:doc", "rejected"));
            assert_eq!(message_type, QName::new("urn:doc", "Rejected"));
            assert_eq!(canon(&message), canon(&fault_msg));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn declared_type_part_fault_follows_the_fault_service_convention() {
    for (pb, version) in [(rpc(), SoapVersion::Soap12), (rpc(), SoapVersion::Soap11)] {
        let fault_msg =
            el("<message><errorID>FA-1</errorID><errorText>too big</errorText></message>");
        let f = encode_fault(
            &pb,
            version,
            "add",
            &QName::new("urn:calc", "Overflow"),
            Some(&fault_msg),
        );
        let t = text(&f);
        assert!(
            t.contains("<ns:Overflow xmlns:ns=\"urn:calc\"><errorID>FA-1</errorID><errorText>too big</errorText></ns:Overflow>"),
            "{t}"
        );
        match decode_response(&pb, "add", 500, &f, &lim()).unwrap() {
            PartnerReply::Fault { name, message, .. } => {
                assert_eq!(name, QName::new("urn:calc", "Overflow"));
                assert_eq!(canon(&message), canon(&fault_msg));
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn runner_fault_service_reply_maps_to_the_declared_fault() {
    let w = PLAIN.replace("urn:plain", "http://ode/bpel/unit-test/FaultService.wsdl");
    let pb = PortBinding::resolve(
        &set(&w),
        &QName::new(
            "http://ode/bpel/unit-test/FaultService.wsdl",
            "PlainService",
        ),
        "PlainPort",
    )
    .unwrap();
    let reply = "<?xml version='1.0' encoding='utf-8'?><soapenv:Envelope \
        xmlns:soapenv='http://schemas.xmlsoap.org/soap/envelope/'><soapenv:Body><soapenv:Fault>\
        <faultcode>soapenv:Server</faultcode><faultstring>FaultMessage1</faultstring><detail>\
        <flt:FaultMessage1 xmlns:flt='http://ode/bpel/unit-test/FaultService.wsdl'>\
        <errorID>FA-1</errorID><errorText>data</errorText></flt:FaultMessage1></detail>\
        </soapenv:Fault></soapenv:Body></soapenv:Envelope>";
    match decode_response(&pb, "request", 500, reply.as_bytes(), &lim()).unwrap() {
        PartnerReply::Fault {
            name,
            message_type,
            message,
        } => {
            assert_eq!(
                name,
                QName::new(
                    "http://ode/bpel/unit-test/FaultService.wsdl",
                    "FaultMessage1"
                )
            );
            assert_eq!(message_type.local, "FaultMsg");
            assert_eq!(canon(&message), "message(errorID(FA-1)errorText(data))");
        }
        other => panic!("{other:?}"),
    }
    // A detail element matching no declared fault (the mock's "UnKnownFault").
    let unknown = reply
        .replace("FaultMessage1 ", "UnKnownFault ")
        .replace("FaultMessage1>", "UnKnownFault>");
    match decode_response(&pb, "request", 500, unknown.as_bytes(), &lim()).unwrap() {
        PartnerReply::UndeclaredFault {
            code,
            reason,
            detail,
        } => {
            assert_eq!(code, format!("{{{SOAP11_ENV}}}Server"));
            assert_eq!(reason, "FaultMessage1");
            assert_eq!(detail.unwrap().name.local, "UnKnownFault");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn undeclared_fault_carries_its_qname_in_both_versions() {
    let pb = doc();
    let name = QName::new("urn:bpel:faults", "badThing");
    let f11 = text(&encode_fault(
        &pb,
        SoapVersion::Soap11,
        "place",
        &name,
        None,
    ));
    assert!(f11.contains("xmlns:fault=\"urn:bpel:faults\""), "{f11}");
    assert!(
        f11.contains("<faultcode>fault:badThing</faultcode>"),
        "{f11}"
    );
    assert!(
        f11.contains("<faultstring>{urn:bpel:faults}badThing</faultstring>"),
        "{f11}"
    );
    assert!(!f11.contains("<detail"), "{f11}");
    let f12 = text(&encode_fault(
        &pb,
        SoapVersion::Soap12,
        "place",
        &name,
        None,
    ));
    assert!(f12.contains("<soap:Value>soap:Receiver</soap:Value><soap:Subcode><soap:Value>fault:badThing</soap:Value>"), "{f12}");
    assert!(
        f12.contains("<soap:Text xml:lang=\"en\">{urn:bpel:faults}badThing</soap:Text>"),
        "{f12}"
    );
    for f in [&f11, &f12] {
        match decode_response(&pb, "place", 500, f.as_bytes(), &lim()).unwrap() {
            PartnerReply::UndeclaredFault {
                code,
                reason,
                detail,
            } => {
                assert_eq!(code, "{urn:bpel:faults}badThing");
                assert_eq!(reason, "{urn:bpel:faults}badThing");
                assert_eq!(detail, None);
            }
            other => panic!("{other:?}"),
        }
    }
    // A declared name without its message is reported as undeclared (nothing to put in detail),
    // and fault data of an undeclared fault goes to detail.
    let data = el("<message><info>x</info></message>");
    let f = text(&encode_fault(
        &pb,
        SoapVersion::Soap11,
        "place",
        &name,
        Some(&data),
    ));
    assert!(f.contains("<detail><info>x</info></detail>"), "{f}");
}

#[test]
fn non_fault_error_status_and_bad_replies() {
    let pb = rpc();
    assert_eq!(
        decode_response(&pb, "add", 503, b"<html>busy</html>", &lim()),
        Err(SoapError::HttpStatus { status: 503 })
    );
    assert_eq!(
        decode_response(&pb, "add", 500, b"", &lim()),
        Err(SoapError::HttpStatus { status: 500 })
    );
    assert!(matches!(
        decode_response(&pb, "add", 200, b"", &lim()),
        Err(SoapError::BadReply(m)) if m.contains("empty body")
    ));
    assert!(matches!(
        decode_response(&pb, "add", 200, b"<notsoap/>", &lim()),
        Err(SoapError::BadReply(m)) if m.contains("not a SOAP envelope")
    ));
    let missing = env11("<w:addResponse xmlns:w='urn:calc:wrap'/>");
    assert!(matches!(
        decode_response(&pb, "add", 200, missing.as_bytes(), &lim()),
        Err(SoapError::BadReply(m)) if m.contains("lacks part 'sum'")
    ));
    assert_eq!(
        encode_request(&pb, "add", &el("<message><a>1</a></message>"), &[]),
        Err(SoapError::MissingPart {
            operation: "add".into(),
            part: "b".into()
        })
    );
    assert_eq!(
        encode_request(&pb, "sub", &el("<message/>"), &[]),
        Err(SoapError::UnknownOperation("sub".into()))
    );
}

#[test]
fn bad_requests_get_client_faults() {
    let pb = doc();
    let ct = Some("text/xml; charset=utf-8");
    let cases: Vec<(Option<&str>, String, &str)> = vec![
        (ct, "this is not xml".into(), "not well-formed XML"),
        (ct, "<a><b></a>".into(), "not well-formed XML"),
        (ct, "<order xmlns='urn:doc:types'>x</order>".into(), "not a SOAP envelope"),
        (
            ct,
            "<s:Envelope xmlns:s='http://schemas.xmlsoap.org/soap/envelope/'><s:Header/></s:Envelope>".into(),
            "no Body",
        ),
        (
            Some("application/soap+xml"),
            env11("<t:note xmlns:t='urn:doc:types'>x</t:note>"),
            "Content-Type announces SOAP 1.2 but the envelope is SOAP 1.1",
        ),
        (ct, env11("<t:unknown xmlns:t='urn:doc:types'/>"), "no operation of port 'ShopPort'"),
        (
            ct,
            env11("<t:note xmlns:t='urn:doc:types'>x</t:note><t:order xmlns:t='urn:doc:types'/>"),
            "unexpected element {urn:doc:types}order",
        ),
        (
            ct,
            "<!DOCTYPE lol [<!ENTITY a 'aaaaaaaa'><!ENTITY b '&a;&a;&a;&a;'>]>\
             <s:Envelope xmlns:s='http://schemas.xmlsoap.org/soap/envelope/'><s:Body>&b;</s:Body></s:Envelope>"
                .into(),
            "DOCTYPE",
        ),
        (ct, env11("<t:note xmlns:t='urn:doc:types'>&ent;</t:note>"), "unknown entity"),
        (
            ct,
            env11(&format!("{}{}", "<d>".repeat(1000), "</d>".repeat(1000))),
            "nested deeper than the limit",
        ),
    ];
    for (ct, req, want) in cases {
        let f = refused(&pb, ct, None, &req);
        assert!(
            f.reason.contains(want),
            "{req:.80}: got '{}', want '{want}'",
            f.reason
        );
    }
    // The wrong-version fault answers in the version the Content-Type announced.
    let f = refused(
        &pb,
        Some("application/soap+xml"),
        None,
        &env11("<t:note xmlns:t='urn:doc:types'>x</t:note>"),
    );
    assert_eq!(f.version, SoapVersion::Soap12);

    // Missing and unexpected rpc parts.
    let pb = rpc();
    let f = refused(
        &pb,
        ct,
        None,
        &env11("<w:add xmlns:w='urn:calc:wrap'><a>1</a></w:add>"),
    );
    assert!(f.reason.contains("lacks part 'b'"), "{}", f.reason);
    let f = refused(
        &pb,
        ct,
        None,
        &env11("<w:add xmlns:w='urn:calc:wrap'><a>1</a><b>2</b><c>3</c></w:add>"),
    );
    assert!(f.reason.contains("unexpected element c"), "{}", f.reason);
    let f = refused(
        &pb,
        ct,
        None,
        &env11("<w:add xmlns:w='urn:calc:wrap'><a>1</a><a>1</a><b>2</b></w:add>"),
    );
    assert!(f.reason.contains("appears twice"), "{}", f.reason);
    let f = refused(&pb, ct, None, &env11("<w:mul xmlns:w='urn:calc:wrap'/>"));
    assert!(f.reason.contains("no operation"), "{}", f.reason);
    // A missing document part.
    let f = refused(&doc(), ct, Some("urn:place"), &env11(""));
    assert!(f.reason.contains("lacks part 'order'"), "{}", f.reason);

    // Oversized: the byte cap of the limits.
    let small = Limits {
        max_bytes: 64,
        ..Limits::default()
    };
    let big = env11(&format!(
        "<t:note xmlns:t='urn:doc:types'>{}</t:note>",
        "x".repeat(100)
    ));
    let f = decode_request(&doc(), ct, None, big.as_bytes(), &small).unwrap_err();
    assert!(f.reason.contains("more than the limit"), "{}", f.reason);
}

#[test]
fn content_types() {
    assert_eq!(
        version_of_content_type("Text/XML; charset=UTF-8"),
        Some(SoapVersion::Soap11)
    );
    assert_eq!(
        version_of_content_type("application/soap+xml;action=\"x\""),
        Some(SoapVersion::Soap12)
    );
    assert_eq!(version_of_content_type("application/json"), None);
    assert_eq!(
        version_of_content_type(" APPLICATION/SOAP+XML "),
        Some(SoapVersion::Soap12)
    );
    assert_eq!(version_of_content_type("text/xmlx"), None);
    assert_eq!(version_of_content_type(""), None);
    assert_eq!(
        content_type(SoapVersion::Soap12),
        "application/soap+xml; charset=utf-8"
    );
}

#[test]
fn header_of_another_message_is_written_from_the_message_form() {
    // WSDL 1.1 lets soap:header name any message; ODE keeps such a header as one more part
    // of the message form, named after the header's part.
    let text = DOC.replace(
        r#"<soap:operation soapAction="urn:notifyAgain"/>
      <input><soap:body use="literal"/></input>"#,
        r#"<soap:operation soapAction="urn:notifyAgain"/>
      <input>
        <soap:header message="tns:OrderIn" part="auth" use="literal"/>
        <soap:body use="literal"/>
      </input>"#,
    );
    assert_ne!(text, DOC);
    let s = set(&text);
    let pb = PortBinding::resolve(&s, &QName::new("urn:doc", "ShopService"), "ShopPort").unwrap();
    let with_header = el(
        "<message><note><t:note xmlns:t='urn:doc:types'>hi</t:note></note>\
         <auth><t:auth xmlns:t='urn:doc:types'>secret</t:auth></auth></message>",
    );
    let out = encode_request(&pb, "notifyAgain", &with_header, &[]).unwrap();
    let root = el(&text_of(&out.body));
    let header = root.child(SOAP11_ENV, "Header").unwrap();
    let names: Vec<_> = header.elements().map(|e| e.name.clark()).collect();
    assert_eq!(names, ["{urn:doc:types}auth"]);
    let body = root.child(SOAP11_ENV, "Body").unwrap();
    assert_eq!(
        canon(body),
        format!("{{{SOAP11_ENV}}}Body({{urn:doc:types}}note(hi))")
    );
    // Without the header part nothing is sent for it.
    let plain = el("<message><note><t:note xmlns:t='urn:doc:types'>hi</t:note></note></message>");
    let out = encode_request(&pb, "notifyAgain", &plain, &[]).unwrap();
    assert!(
        el(&text_of(&out.body))
            .child(SOAP11_ENV, "Header")
            .is_none()
    );
}

fn text_of(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const NOTIFY: &str = r#"<?xml version="1.0"?>
<definitions xmlns="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    xmlns:tns="urn:n" targetNamespace="urn:n">
  <types>
    <xsd:schema targetNamespace="urn:n" elementFormDefault="qualified">
      <xsd:element name="pong" type="xsd:string"/>
    </xsd:schema>
  </types>
  <message name="Pong"><part name="parameters" element="tns:pong"/></message>
  <portType name="NPT">
    <operation name="ping"><output message="tns:Pong"/></operation>
  </portType>
  <binding name="NB" type="tns:NPT">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="ping"><soap:operation soapAction="urn:ping"/><output><soap:body use="literal"/></output></operation>
  </binding>
  <service name="NService"><port name="NPort" binding="tns:NB"><soap:address location="http://localhost/n"/></port></service>
</definitions>"#;

/// A notification operation (output only) is never served, and is invoked the way Apache ODE
/// invokes it (ode-compat): an empty request, its output as the response.
#[test]
fn notification_operation_is_invocable_with_an_empty_request() {
    let pb = PortBinding::resolve(&set(NOTIFY), &QName::new("urn:n", "NService"), "NPort")
        .expect("binding");
    assert!(pb.operation("ping").is_none());
    let op = pb.invocable("ping").expect("ping is invocable");
    assert!(op.input.parts.is_empty());
    assert!(op.output.is_some());
    let req = encode_request(&pb, "ping", &el("<message/>"), &[]).expect("request");
    assert_eq!(req.soap_action.as_deref(), Some("\"urn:ping\""));
    let body = text(&req.body);
    assert!(!body.contains("pong"), "{body}");
    let reply = env11(r#"<n:pong xmlns:n="urn:n">ok</n:pong>"#);
    match decode_response(&pb, "ping", 200, reply.as_bytes(), &lim()).expect("reply") {
        PartnerReply::Output(m) => assert!(canon(&m).contains("ok"), "{}", canon(&m)),
        other => panic!("{other:?}"),
    }
}

fn header_names(envelope: &[u8]) -> Vec<String> {
    el(&text_of(envelope))
        .child(SOAP11_ENV, "Header")
        .map(|h| h.elements().map(|e| e.name.clark()).collect())
        .unwrap_or_default()
}

#[test]
fn undeclared_header_blocks_become_accessors() {
    let pb = rpc();
    let req = format!(
        "<s:Envelope xmlns:s='{SOAP11_ENV}'><s:Header>\
         <c:ConversationId xmlns:c='urn:conv'>ZZZXYZ</c:ConversationId>\
         <wsa:MessageID xmlns:wsa='http://www.w3.org/2005/08/addressing'>urn:m1</wsa:MessageID>\
         <c:ConversationId xmlns:c='urn:other'>second</c:ConversationId>\
         </s:Header><s:Body><c:add xmlns:c='urn:calc'><a>1</a><b>2</b></c:add></s:Body>\
         </s:Envelope>"
    );
    let got = decode_request(&pb, None, None, req.as_bytes(), &lim()).unwrap();
    // Same shape as a declared element header part: the accessor holds the block itself. The
    // first block of a name wins; WS-Addressing blocks describe the exchange and stay out.
    assert_eq!(
        canon(&got.message),
        canon(&el("<message><a>1</a><b>2</b>\
             <ConversationId><c:ConversationId xmlns:c='urn:conv'>ZZZXYZ</c:ConversationId>\
             </ConversationId></message>"))
    );
    assert_eq!(got.headers.len(), 3);
}

#[test]
fn undeclared_header_never_overrides_a_declared_part() {
    let pb = doc();
    // A block named like the body part 'order' and one named like the header part 'auth'
    // (other namespaces): the declared parts keep their own values.
    let req = format!(
        "<s:Envelope xmlns:s='{SOAP11_ENV}'><s:Header>\
         <x:order xmlns:x='urn:x'>fake</x:order><x:auth xmlns:x='urn:x'>fake</x:auth>\
         <t:auth xmlns:t='urn:doc:types'>secret</t:auth>\
         </s:Header><s:Body><t:order xmlns:t='urn:doc:types'>3 apples</t:order></s:Body>\
         </s:Envelope>"
    );
    let got = decode_request(&pb, None, Some("urn:place"), req.as_bytes(), &lim()).unwrap();
    assert_eq!(
        canon(&got.message),
        canon(&el(
            "<message><auth><t:auth xmlns:t='urn:doc:types'>secret</t:auth></auth>\
             <order><t:order xmlns:t='urn:doc:types'>3 apples</t:order></order></message>"
        ))
    );
    // Absent declared header part: a same-named undeclared block still does not take its name.
    let req = format!(
        "<s:Envelope xmlns:s='{SOAP11_ENV}'><s:Header><x:auth xmlns:x='urn:x'>fake</x:auth>\
         </s:Header><s:Body><t:order xmlns:t='urn:doc:types'>3 apples</t:order></s:Body>\
         </s:Envelope>"
    );
    let got = decode_request(&pb, None, Some("urn:place"), req.as_bytes(), &lim()).unwrap();
    assert_eq!(
        canon(&got.message),
        canon(&el(
            "<message><order><t:order xmlns:t='urn:doc:types'>3 apples</t:order></order></message>"
        ))
    );
}

#[test]
fn extra_accessors_are_written_as_header_blocks() {
    let pb = rpc();
    let plain = el("<message><sum>3</sum></message>");
    let before = encode_response(&pb, SoapVersion::Soap11, "add", &plain).unwrap();
    assert!(header_names(&before).is_empty());
    let mut with = plain;
    with.children.push(Node::Element(el(
        "<ConversationId><c:ConversationId xmlns:c='urn:conv'>ZZYV</c:ConversationId>\
         </ConversationId>",
    )));
    // An accessor without an element has no header block to write.
    with.children
        .push(Node::Element(el("<empty>text only</empty>")));
    let after = encode_response(&pb, SoapVersion::Soap11, "add", &with).unwrap();
    assert_eq!(header_names(&after), ["{urn:conv}ConversationId"]);
    let root = el(&text_of(&after));
    assert_eq!(
        canon(root.child(SOAP11_ENV, "Body").unwrap()),
        canon(el(&text_of(&before)).child(SOAP11_ENV, "Body").unwrap())
    );

    // Outbound requests too, after the declared header parts; a block the caller adds itself
    // wins over an accessor of the same element name.
    let pb = doc();
    let msg = el(
        "<message><auth><t:auth xmlns:t='urn:doc:types'>secret</t:auth></auth>\
         <order><t:order xmlns:t='urn:doc:types'>3 apples</t:order></order>\
         <ConversationId><c:ConversationId xmlns:c='urn:conv'>ZZZXYZ</c:ConversationId>\
         </ConversationId><trace><x:trace xmlns:x='urn:trace'>1</x:trace></trace></message>",
    );
    let own = el("<x:trace xmlns:x='urn:trace'>2</x:trace>");
    let out = encode_request(&pb, "place", &msg, std::slice::from_ref(&own)).unwrap();
    assert_eq!(
        header_names(&out.body),
        [
            "{urn:doc:types}auth",
            "{urn:conv}ConversationId",
            "{urn:trace}trace"
        ]
    );
    assert!(text_of(&out.body).contains(">2<"));
    assert!(!text_of(&out.body).contains(">1<"));
}

#[test]
fn messages_of_declared_parts_encode_as_before() {
    // Byte-for-byte: the envelope of a message with exactly its parts is what it always was.
    let pb = doc();
    let msg = el(
        "<message><auth><t:auth xmlns:t='urn:doc:types'>secret</t:auth></auth>\
         <order><t:order xmlns:t='urn:doc:types'>3 apples</t:order></order></message>",
    );
    let out = encode_request(&pb, "place", &msg, &[]).unwrap();
    assert_eq!(
        text_of(&out.body),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\">\
         <soapenv:Header><t:auth xmlns:t=\"urn:doc:types\">secret</t:auth></soapenv:Header>\
         <soapenv:Body><t:order xmlns:t=\"urn:doc:types\">3 apples</t:order></soapenv:Body>\
         </soapenv:Envelope>"
    );
}

#[test]
fn partner_reply_keeps_undeclared_headers() {
    let pb = doc();
    let resp = format!(
        "<s:Envelope xmlns:s='{SOAP11_ENV}'><s:Header>\
         <c:ConversationId xmlns:c='urn:conv'>ZZYV</c:ConversationId></s:Header>\
         <s:Body><t:receipt xmlns:t='urn:doc:types'>ok</t:receipt></s:Body></s:Envelope>"
    );
    match decode_response(&pb, "place", 200, resp.as_bytes(), &lim()).unwrap() {
        PartnerReply::Output(m) => assert_eq!(
            canon(&m),
            canon(&el(
                "<message><receipt><t:receipt xmlns:t='urn:doc:types'>ok</t:receipt></receipt>\
                 <ConversationId><c:ConversationId xmlns:c='urn:conv'>ZZYV</c:ConversationId>\
                 </ConversationId></message>"
            ))
        ),
        other => panic!("{other:?}"),
    }
}
