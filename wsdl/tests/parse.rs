//! One WSDL document at a time: messages, portTypes, bindings, services and the BPEL extensions.

use bpelgate_wsdl::Error;
use bpelgate_wsdl::wsdl::*;
use bpelgate_wsdl::xml::QName;
use bpelgate_wsdl::xsd::*;

fn fixture(name: &str) -> Definitions {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap();
    parse_wsdl(&bytes, name).unwrap()
}

fn q(ns: &str, l: &str) -> QName {
    QName::new(ns, l)
}

const XS: &str = "http://www.w3.org/2001/XMLSchema";

fn invalid(src: &str) -> (u32, String) {
    match parse_wsdl(src.as_bytes(), "bad.wsdl") {
        Err(Error::Invalid {
            file,
            line,
            message,
            ..
        }) => {
            assert_eq!(file, "bad.wsdl");
            (line, message)
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn doc_literal_soap11() {
    let d = fixture("doclit11.wsdl");
    assert_eq!(d.target_namespace, "urn:orders");
    let m = &d.messages[0];
    assert_eq!(m.name, q("urn:orders", "OrderRequest"));
    assert_eq!(
        m.part("body").unwrap().kind,
        PartKind::Element(q("urn:orders:types", "order"))
    );
    assert_eq!(m.origin.file, "doclit11.wsdl");
    assert_eq!(m.origin.pos.line, 60);
    assert_eq!(d.messages[2].parts[0].kind, PartKind::Type(q(XS, "string")));

    let pt = &d.port_types[0];
    let place = pt.operation("place").unwrap();
    assert_eq!(place.shape, OperationShape::RequestResponse);
    assert!(place.is_request_response());
    assert_eq!(place.input, Some(q("urn:orders", "OrderRequest")));
    assert_eq!(
        place.fault("rejected").unwrap().message,
        q("urn:orders", "OrderFault")
    );
    assert!(pt.operation("cancel").unwrap().is_one_way());

    let b = &d.bindings[0];
    assert_eq!(b.port_type, q("urn:orders", "OrderPT"));
    assert_eq!(
        b.kind,
        BindingKind::Soap {
            version: SoapVersion::Soap11,
            style: Style::Document
        }
    );
    let bo = b.operation("place").unwrap();
    assert_eq!(bo.soap_action.as_deref(), Some("urn:orders/place"));
    assert_eq!(bo.input.body_parts, None);
    assert_eq!(bo.output.body_parts, Some(vec!["body".to_string()]));
    assert_eq!(bo.faults, vec!["rejected".to_string()]);
    assert!(!bo.input.encoded);

    let s = &d.services[0];
    let p = s.port("OrderPort").unwrap();
    assert_eq!(p.binding, q("urn:orders", "OrderSoap"));
    assert_eq!(
        p.address.as_deref(),
        Some("http://localhost:8080/ode/processes/OrderService")
    );
}

#[test]
fn notification_and_solicit_response_are_recorded() {
    let d = fixture("doclit11.wsdl");
    let push = &d.port_types[1];
    let n = push.operation("notify").unwrap();
    assert_eq!(n.shape, OperationShape::Notification);
    assert!(n.is_outbound_first() && !n.is_one_way() && !n.is_request_response());
    let s = push.operation("solicit").unwrap();
    assert_eq!(s.shape, OperationShape::SolicitResponse);
    assert!(s.is_outbound_first() && !s.is_request_response());
}

#[test]
fn inline_schema_components() {
    let d = fixture("doclit11.wsdl");
    let s = &d.schemas[0];
    assert_eq!(s.target_namespace, "urn:orders:types");
    assert!(s.element_form_qualified);
    let t = "urn:orders:types";
    assert_eq!(
        s.element(&q(t, "order")).unwrap().type_def,
        ElementType::Named(q(t, "OrderType"))
    );
    let ack = s.element(&q(t, "ack")).unwrap();
    assert!(ack.nillable);
    let ElementType::Complex(ct) = &ack.type_def else {
        panic!("anonymous type expected")
    };
    let Content::Particle(p) = &ct.content else {
        panic!("particle expected")
    };
    let Term::Group(g) = &p.term else { panic!() };
    assert_eq!(g.compositor, Compositor::Sequence);
    let Term::Element(id) = &g.particles[0].term else {
        panic!()
    };
    // elementFormDefault="qualified": local elements take the target namespace.
    assert_eq!(id.name, q(t, "id"));
    assert_eq!(g.particles[1].term, Term::ElementRef(q(t, "note")));
    assert_eq!(g.particles[1].min_occurs, 0);
    assert_eq!(g.particles[1].max_occurs, MaxOccurs::Unbounded);
    let AttributeItem::Decl(status) = &ct.attributes[0] else {
        panic!()
    };
    assert_eq!(status.name, QName::local("status"));
    assert_eq!(status.use_, AttributeUse::Required);
    assert_eq!(
        s.element(&q(t, "note")).unwrap().substitution_group,
        Some(q(t, "remark"))
    );
    assert!(s.element(&q(t, "remark")).unwrap().is_abstract);

    let Some(TypeDef::Complex(money)) = s.type_def(&q(t, "Money")) else {
        panic!()
    };
    assert!(matches!(
        &money.content,
        Content::Simple { derivation: Derivation::Extension, base, .. } if *base == q(XS, "decimal")
    ));
    let Some(TypeDef::Complex(big)) = s.type_def(&q(t, "BigOrder")) else {
        panic!()
    };
    let Content::Complex {
        base,
        particle: Some(all),
        ..
    } = &big.content
    else {
        panic!()
    };
    assert_eq!(*base, q(t, "OrderType"));
    assert!(matches!(&all.term, Term::Group(g) if g.compositor == Compositor::All));
    let Some(TypeDef::Simple(status)) = s.type_def(&q(t, "Status")) else {
        panic!()
    };
    let SimpleVariety::Restriction { base, facets } = &status.variety else {
        panic!()
    };
    assert_eq!(*base, q(XS, "string"));
    assert_eq!(facets.enumerations, vec!["ok", "rejected"]);
    assert_eq!(facets.max_length, Some(8));
}

#[test]
fn partner_link_types_in_three_namespaces() {
    let d = fixture("doclit11.wsdl");
    let lt = &d.partner_link_types[0];
    assert_eq!(lt.name, q("urn:orders", "OrderLT"));
    assert_eq!(
        lt.role("seller").unwrap().port_type,
        q("urn:orders", "OrderPT")
    );
    assert_eq!(
        lt.role("buyer").unwrap().port_type,
        q("urn:orders", "PushPT")
    );

    let d = fixture("rpc12.wsdl");
    let lt = &d.partner_link_types[0];
    assert_eq!(lt.roles.len(), 1);
    assert_eq!(
        lt.role("calculator").unwrap().port_type,
        q("urn:calc", "CalcPT")
    );

    let d = fixture("bpel4ws.wsdl");
    let lt = &d.partner_link_types[0];
    assert_eq!(lt.roles.len(), 2);
    assert_eq!(
        lt.role("client").unwrap().port_type,
        q("urn:legacy", "LegacyPT")
    );
}

#[test]
fn properties_and_aliases_all_forms() {
    let d = fixture("doclit11.wsdl");
    assert_eq!(d.properties[0].kind, PartKind::Type(q(XS, "string")));
    assert_eq!(
        d.properties[1].kind,
        PartKind::Element(q("urn:orders:types", "order"))
    );
    let [a1, a2, a3] = &d.property_aliases[..] else {
        panic!("three aliases expected")
    };
    assert_eq!(a1.property, q("urn:orders", "orderId"));
    assert_eq!(
        a1.target,
        AliasTarget::MessagePart {
            message: q("urn:orders", "OrderRequest"),
            part: "body".into()
        }
    );
    let query = a1.query.as_ref().unwrap();
    assert_eq!(query.text, "q:id");
    assert_eq!(query.language, None);
    assert!(
        query
            .namespaces
            .contains(&("q".to_string(), "urn:orders:types".to_string()))
    );
    assert!(
        query
            .namespaces
            .contains(&("tns".to_string(), "urn:orders".to_string()))
    );
    assert_eq!(
        a2.target,
        AliasTarget::Element(q("urn:orders:types", "ack"))
    );
    assert_eq!(
        a2.query.as_ref().unwrap().language.as_deref(),
        Some("urn:oasis:names:tc:wsbpel:2.0:sublang:xpath2.0")
    );
    assert_eq!(
        a3.target,
        AliasTarget::Type(q("urn:orders:types", "OrderType"))
    );
    assert_eq!(a3.query, None);

    // The 2004/03 draft: property and alias in the business-process namespace, query child.
    let d = fixture("rpc12.wsdl");
    assert_eq!(d.properties[0].name, q("urn:calc", "a"));
    assert_eq!(d.property_aliases[0].query.as_ref().unwrap().text, ".");

    // BPEL4WS 1.1: the query is an attribute.
    let d = fixture("bpel4ws.wsdl");
    let a = &d.property_aliases[0];
    assert_eq!(
        a.target,
        AliasTarget::MessagePart {
            message: q("urn:legacy", "Req"),
            part: "payload".into()
        }
    );
    let query = a.query.as_ref().unwrap();
    assert_eq!(query.text, "/ex:payload/ex:key");
    assert!(
        query
            .namespaces
            .contains(&("ex".to_string(), "urn:legacy:data".to_string()))
    );
}

#[test]
fn rpc_literal_soap12_and_http_bindings() {
    let d = fixture("rpc12.wsdl");
    let b12 = d
        .bindings
        .iter()
        .find(|b| b.name.local == "CalcSoap12")
        .unwrap();
    assert_eq!(
        b12.kind,
        BindingKind::Soap {
            version: SoapVersion::Soap12,
            style: Style::Rpc
        }
    );
    let op = b12.operation("add").unwrap();
    assert_eq!(op.style, Some(Style::Rpc));
    assert_eq!(op.soap_action.as_deref(), Some("urn:calc#add"));
    assert_eq!(op.input.namespace.as_deref(), Some("urn:calc:wrap"));
    assert_eq!(
        op.input.body_parts,
        Some(vec!["a".to_string(), "b".to_string()])
    );
    assert_eq!(
        op.input.headers,
        vec![(q("urn:calc", "Auth"), "token".to_string())]
    );
    let b11 = d
        .bindings
        .iter()
        .find(|b| b.name.local == "CalcSoap11")
        .unwrap();
    assert_eq!(
        b11.kind,
        BindingKind::Soap {
            version: SoapVersion::Soap11,
            style: Style::Rpc
        }
    );
    let http = d
        .bindings
        .iter()
        .find(|b| b.name.local == "CalcHttp")
        .unwrap();
    assert_eq!(http.kind, BindingKind::Http { verb: "GET".into() });
    assert_eq!(
        http.operation("add").unwrap().http_location.as_deref(),
        Some("/add")
    );
    let s = &d.services[0];
    assert_eq!(
        s.port("Soap12Port").unwrap().address.as_deref(),
        Some("http://example.com/calc12")
    );
    assert_eq!(
        s.port("HttpPort").unwrap().address.as_deref(),
        Some("http://example.com/calc-http")
    );
}

#[test]
fn not_xml_is_an_xml_error_with_the_file() {
    let err = parse_wsdl(b"this is not xml", "junk.wsdl").unwrap_err();
    assert!(
        matches!(&err, Error::Xml { file, .. } if file == "junk.wsdl"),
        "{err:?}"
    );
    assert!(err.to_string().starts_with("junk.wsdl:"), "{err}");
}

#[test]
fn wrong_roots_are_explained() {
    let (_, m) = invalid("<foo/>");
    assert!(m.contains("expected wsdl:definitions"), "{m}");
    let (_, m) = invalid("<definitions xmlns='urn:other'/>");
    assert!(m.contains("namespace 'urn:other'"), "{m}");
    let (_, m) = invalid("<description xmlns='http://www.w3.org/ns/wsdl'/>");
    assert!(m.contains("WSDL 2.0"), "{m}");
    let (_, m) = invalid("<schema xmlns='http://www.w3.org/2001/XMLSchema'/>");
    assert!(m.contains("XML Schema document"), "{m}");
}

const HEAD: &str = "<definitions xmlns='http://schemas.xmlsoap.org/wsdl/' \
    xmlns:xsd='http://www.w3.org/2001/XMLSchema' \
    xmlns:plnk='http://docs.oasis-open.org/wsbpel/2.0/plnktype' \
    xmlns:vprop='http://docs.oasis-open.org/wsbpel/2.0/varprop' \
    xmlns:tns='urn:t' targetNamespace='urn:t'>\n";

fn doc(body: &str) -> String {
    format!("{HEAD}{body}\n</definitions>")
}

#[test]
fn structural_problems_are_located_and_explained() {
    let cases = [
        (
            "<message name='M'><part name='p'/></message>",
            "needs an element or a type",
        ),
        (
            "<message name='M'><part name='p' type='nope:x'/></message>",
            "prefix 'nope'",
        ),
        ("<message name='M'/><message name='M'/>", "defined twice"),
        (
            "<portType name='P'><operation name='o'/></portType>",
            "neither <input> nor <output>",
        ),
        (
            "<portType name='P'><operation name='o'><input/></operation></portType>",
            "needs a message attribute",
        ),
        ("<binding name='B'/>", "needs a type attribute"),
        (
            "<plnk:partnerLinkType name='L'/>",
            "it must have one or two",
        ),
        (
            "<plnk:partnerLinkType name='L'><plnk:role name='r'/></plnk:partnerLinkType>",
            "needs a portType",
        ),
        ("<vprop:property name='p'/>", "needs a type or an element"),
        (
            "<vprop:propertyAlias propertyName='tns:p'/>",
            "needs messageType (with part), element or type",
        ),
        (
            "<vprop:propertyAlias propertyName='tns:p' element='tns:e' type='xsd:string'/>",
            "only one of",
        ),
        (
            "<types><xsd:schema><xsd:complexType name='c'><xsd:choice>\
             <xsd:element name='e' minOccurs='-1'/></xsd:choice></xsd:complexType>\
             </xsd:schema></types>",
            "minOccurs='-1'",
        ),
        (
            "<types><xsd:schema><xsd:simpleType name='s'/></xsd:schema></types>",
            "needs a restriction, list or union",
        ),
        (
            "<types><xsd:schema><xsd:complexType name='c'><xsd:sequence>\
             <xsd:element name='e' maxOccurs='many'/></xsd:sequence></xsd:complexType>\
             </xsd:schema></types>",
            "maxOccurs='many'",
        ),
    ];
    for (body, expect) in cases {
        let src = doc(body);
        match parse_wsdl(src.as_bytes(), "bad.wsdl") {
            Err(Error::Invalid { line, message, .. }) => {
                assert_eq!(line, 2, "{body}: {message}");
                assert!(message.contains(expect), "{body}: {message}");
            }
            other => panic!("{body}: expected Invalid, got {other:?}"),
        }
    }
}

#[test]
fn alias_without_part_is_kept_with_an_empty_part() {
    let src = doc("<vprop:propertyAlias propertyName='tns:p' messageType='tns:M'/>");
    let d = parse_wsdl(src.as_bytes(), "a.wsdl").unwrap();
    assert_eq!(
        d.property_aliases[0].target,
        AliasTarget::MessagePart {
            message: q("urn:t", "M"),
            part: String::new()
        }
    );
}

#[test]
fn qnames_resolve_against_the_scope_of_their_element() {
    let src = doc("<message name='M' xmlns:x='urn:outer'>\
           <part name='a' type='x:T'/>\
           <part name='b' xmlns:x='urn:inner' element='x:E'/>\
         </message>");
    let d = parse_wsdl(src.as_bytes(), "a.wsdl").unwrap();
    let m = &d.messages[0];
    assert_eq!(m.parts[0].kind, PartKind::Type(q("urn:outer", "T")));
    assert_eq!(m.parts[1].kind, PartKind::Element(q("urn:inner", "E")));
}

#[test]
fn builtin_types() {
    for l in [
        "string",
        "int",
        "boolean",
        "dateTime",
        "anyType",
        "anySimpleType",
        "unsignedInt",
        "QName",
        "NOTATION",
        "base64Binary",
        "gMonthDay",
        "IDREFS",
        "ENTITIES",
        "NMTOKENS",
        "language",
        "positiveInteger",
        "nonPositiveInteger",
        "negativeInteger",
        "duration",
    ] {
        assert!(is_builtin(&q(XS, l)), "{l}");
    }
    assert!(!is_builtin(&q(XS, "Strnig")));
    assert!(!is_builtin(&q("urn:x", "string")));
    assert!(!is_builtin_simple(&q(XS, "anyType")));
    assert_eq!(builtin_base(&q(XS, "int")), Some(q(XS, "long")));
}
