//! Sets of documents: imports, includes, cycles, lookups across documents and `?wsdl` publishing.

use bpelgate_wsdl::Error;
use bpelgate_wsdl::wsdl::*;
use bpelgate_wsdl::xml::{Limits, QName, parse_str};
use bpelgate_wsdl::xsd::{ElementType, SimpleVariety, TypeDef};

fn data(dir: &str) -> DirLoader {
    DirLoader::new(format!("{}/tests/data/{dir}", env!("CARGO_MANIFEST_DIR")))
}

fn q(ns: &str, l: &str) -> QName {
    QName::new(ns, l)
}

const XS: &str = "http://www.w3.org/2001/XMLSchema";

fn wsdl(tns: &str, body: &str) -> String {
    format!(
        "<definitions xmlns='http://schemas.xmlsoap.org/wsdl/' \
         xmlns:xsd='http://www.w3.org/2001/XMLSchema' targetNamespace='{tns}'>\n{body}\n</definitions>"
    )
}

fn invalid_messages(errors: &[Error]) -> Vec<(String, u32, String)> {
    errors
        .iter()
        .map(|e| match e {
            Error::Invalid {
                file,
                line,
                message,
                ..
            } => (file.clone(), *line, message.clone()),
            other => panic!("expected Invalid, got {other:?}"),
        })
        .collect()
}

#[test]
fn imports_in_subdirectories_and_schema_chain() {
    let (set, errors) = WsdlSet::load(&data("pkg"), &["main.wsdl".to_string()]);
    assert!(errors.is_empty(), "{errors:?}");
    let docs: Vec<&String> = set.documents.keys().collect();
    assert_eq!(docs, ["main.wsdl", "sub/interface.wsdl"]);
    let schemas: Vec<&String> = set.schema_documents.keys().collect();
    assert_eq!(
        schemas,
        [
            "schemas/chameleon.xsd#urn:data",
            "schemas/common.xsd",
            "schemas/data-part.xsd",
            "schemas/data.xsd",
        ]
    );

    // Lookups go across documents.
    let (s, p, b) = set.find_port(&q("urn:main", "S"), "P").unwrap();
    assert_eq!(s.name.local, "S");
    assert_eq!(p.name, "P");
    assert_eq!(b.port_type, q("urn:itf", "PT"));
    let pt = set.port_type(&b.port_type).unwrap();
    let input = pt.operation("op").unwrap().input.clone().unwrap();
    let msg = set.message(&input).unwrap();
    let PartKind::Element(el) = &msg.part("p").unwrap().kind else {
        panic!()
    };
    let record = set.element_decl(el).unwrap();
    assert_eq!(record.type_def, ElementType::Named(q("urn:data", "Record")));
    assert!(matches!(
        set.type_def(&q("urn:data", "Record")),
        Some(TypeDef::Complex(_))
    ));
    // From the included schema.
    assert!(matches!(
        set.type_def(&q("urn:data", "Part")),
        Some(TypeDef::Complex(_))
    ));
    // From the chameleon include: it takes the including schema's namespace, and so do its
    // unqualified references.
    let Some(TypeDef::Simple(extra)) = set.type_def(&q("urn:data", "Extra")) else {
        panic!("chameleon type not found")
    };
    assert_eq!(
        extra.variety,
        SimpleVariety::List {
            item_type: q("urn:data", "Code")
        }
    );
    // From the imported schema (location with a `..` to fold).
    assert!(matches!(
        set.type_def(&q("urn:common", "Id")),
        Some(TypeDef::Simple(_))
    ));
    // Inline schema element.
    assert!(set.element_decl(&q("urn:itf", "wrapper")).is_some());
    assert_eq!(
        set.type_def(&q(XS, "dateTime")),
        Some(TypeDef::Builtin(q(XS, "dateTime")))
    );
    assert!(set.type_def(&q("urn:data", "Nope")).is_none());

    let found = set.services_for_port_type(&q("urn:itf", "PT"));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].1.name, "P");
    assert_eq!(
        set.document_of_service(&q("urn:main", "S")).unwrap().file,
        "main.wsdl"
    );
    assert_eq!(set.documents_in_namespace("urn:itf").count(), 1);
    assert_eq!(set.documents_in_namespace("urn:nothing").count(), 0);
}

#[test]
fn load_package_reads_every_wsdl_and_xsd() {
    let (set, errors) = WsdlSet::load_package(&data("pkg"));
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(set.documents.len(), 2);
    // The chameleon schema is loaded on its own (no namespace) and as included.
    assert!(set.schema_documents.contains_key("schemas/chameleon.xsd"));
    assert!(
        set.schema_documents
            .contains_key("schemas/chameleon.xsd#urn:data")
    );
}

#[test]
fn import_cycle_loads_each_document_once() {
    let (set, errors) = WsdlSet::load(&data("cycle"), &["a.wsdl".to_string()]);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(set.documents.len(), 2);
    assert!(set.message(&q("urn:a", "A")).is_some());
    assert!(set.message(&q("urn:b", "B")).is_some());

    let (set, errors) = WsdlSet::load_package(&data("cycle"));
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(set.documents.len(), 2);
}

#[test]
fn self_import_terminates() {
    let l = MemLoader::new().with(
        "x/self.wsdl",
        wsdl(
            "urn:s",
            "<import namespace='urn:s' location='../x/self.wsdl'/>",
        ),
    );
    let (set, errors) = WsdlSet::load(&l, &["x/self.wsdl".to_string()]);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(set.documents.len(), 1);
}

#[test]
fn missing_import_names_the_importing_file_and_line() {
    let l = MemLoader::new()
        .with(
            "dir/main.wsdl",
            wsdl(
                "urn:m",
                "<import namespace='urn:b' location='b.wsdl'/>\n\
                 <import namespace='urn:gone' location='../gone.wsdl'/>",
            ),
        )
        .with(
            "dir/b.wsdl",
            wsdl("urn:b", "<import namespace='urn:m' location='main.wsdl'/>"),
        );
    let (set, errors) = WsdlSet::load(&l, &["dir/main.wsdl".to_string()]);
    assert_eq!(set.documents.len(), 2);
    let errs = invalid_messages(&errors);
    assert_eq!(errs.len(), 1, "{errs:?}");
    let (file, line, message) = &errs[0];
    assert_eq!(file, "dir/main.wsdl");
    assert_eq!(*line, 3);
    assert!(message.contains("'../gone.wsdl'"), "{message}");
    assert!(message.contains("resolved to 'gone.wsdl'"), "{message}");
}

#[test]
fn missing_entry_file_is_a_load_error() {
    let (_, errors) = WsdlSet::load(&MemLoader::new(), &["none.wsdl".to_string()]);
    assert!(
        matches!(&errors[..], [Error::Load { file, .. }] if file == "none.wsdl"),
        "{errors:?}"
    );
}

#[test]
fn namespace_mismatch_is_an_error() {
    let l = MemLoader::new()
        .with(
            "main.wsdl",
            wsdl(
                "urn:m",
                "<types><xsd:schema targetNamespace='urn:m'>\
                   <xsd:import namespace='urn:x' schemaLocation='x.xsd'/>\
                 </xsd:schema></types>\n\
                 <import namespace='urn:expected' location='other.wsdl'/>",
            ),
        )
        .with("other.wsdl", wsdl("urn:actual", ""))
        .with(
            "x.xsd",
            "<schema xmlns='http://www.w3.org/2001/XMLSchema' targetNamespace='urn:y'/>",
        );
    let (_, errors) = WsdlSet::load(&l, &["main.wsdl".to_string()]);
    let errs = invalid_messages(&errors);
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(errs.iter().any(|(f, line, m)| f == "main.wsdl"
        && *line == 2
        && m.contains("xsd:import of 'x.xsd' declares namespace 'urn:x'")
        && m.contains("'urn:y'")));
    assert!(errs.iter().any(|(f, line, m)| f == "main.wsdl"
        && *line == 3
        && m.contains("declares namespace 'urn:expected'")
        && m.contains("'urn:actual'")));
}

#[test]
fn include_of_another_namespace_is_an_error() {
    let l = MemLoader::new()
        .with(
            "a.xsd",
            "<schema xmlns='http://www.w3.org/2001/XMLSchema' targetNamespace='urn:a'>\n\
             <include schemaLocation='b.xsd'/></schema>",
        )
        .with(
            "b.xsd",
            "<schema xmlns='http://www.w3.org/2001/XMLSchema' targetNamespace='urn:b'/>",
        );
    let (_, errors) = WsdlSet::load(&l, &["a.xsd".to_string()]);
    let errs = invalid_messages(&errors);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].2.contains("use xsd:import"), "{errs:?}");
}

#[test]
fn bad_documents_are_reported_and_others_still_load() {
    let l = MemLoader::new()
        .with("good.wsdl", wsdl("urn:g", "<message name='M'/>"))
        .with("notxml.wsdl", "<<<")
        .with("other.wsdl", "<root xmlns='urn:r'/>")
        .with("readme.txt", "ignored");
    let (set, errors) = WsdlSet::load_package(&l);
    assert!(set.message(&q("urn:g", "M")).is_some());
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(matches!(&errors[0], Error::Xml { file, .. } if file == "notxml.wsdl"));
    let Error::Invalid { file, message, .. } = &errors[1] else {
        panic!("{errors:?}")
    };
    assert_eq!(file, "other.wsdl");
    assert!(message.contains("expected wsdl:definitions"), "{message}");
}

#[test]
fn remote_and_escaping_locations_are_refused() {
    let l = MemLoader::new().with(
        "a/main.wsdl",
        wsdl(
            "urn:m",
            "<import namespace='urn:r' location='http://example.com/r.wsdl'/>\n\
             <import namespace='urn:e' location='../../etc/passwd'/>\n\
             <import namespace='urn:abs' location='/etc/passwd'/>",
        ),
    );
    let (_, errors) = WsdlSet::load(&l, &["a/main.wsdl".to_string()]);
    let errs = invalid_messages(&errors);
    assert_eq!(errs.len(), 3, "{errs:?}");
    assert!(
        errs[0].2.contains("remote imports are not supported"),
        "{errs:?}"
    );
    assert!(
        errs[1].2.contains("leaves the package directory"),
        "{errs:?}"
    );
    assert!(
        errs[2].2.contains("absolute paths are not supported"),
        "{errs:?}"
    );
}

#[test]
fn location_resolution() {
    assert_eq!(
        resolve_location("a/b/c.wsdl", "d.xsd").unwrap(),
        "a/b/d.xsd"
    );
    assert_eq!(
        resolve_location("a/b/c.wsdl", "../x/./y.xsd").unwrap(),
        "a/x/y.xsd"
    );
    assert_eq!(
        resolve_location("c.wsdl", "sub/a%20b.xsd").unwrap(),
        "sub/a b.xsd"
    );
    assert_eq!(
        resolve_location("c.wsdl", "sub\\w.xsd").unwrap(),
        "sub/w.xsd"
    );
    assert!(resolve_location("c.wsdl", "../up.xsd").is_err());
    assert!(resolve_location("c.wsdl", "https://h/x").is_err());
    assert!(resolve_location("c.wsdl", "file:///x").is_err());
    assert!(resolve_location("c.wsdl", "C:/x.wsdl").is_err());
}

#[test]
fn dir_loader_stays_inside_the_package() {
    let l = data("pkg");
    assert!(l.load("main.wsdl").is_ok());
    assert!(
        l.load("sub/../main.wsdl")
            .unwrap_err()
            .contains("leaves the package")
    );
    assert!(
        l.load("../doclit11.wsdl")
            .unwrap_err()
            .contains("leaves the package")
    );
    let abs = format!("{}/tests/data/doclit11.wsdl", env!("CARGO_MANIFEST_DIR"));
    assert!(l.load(&abs).unwrap_err().contains("absolute paths"));
    assert!(
        l.load("http://x/y.wsdl")
            .unwrap_err()
            .contains("remote imports")
    );
    assert!(l.load("nope.wsdl").is_err());
    assert_eq!(
        l.list(),
        [
            "main.wsdl",
            "schemas/chameleon.xsd",
            "schemas/common.xsd",
            "schemas/data-part.xsd",
            "schemas/data.xsd",
            "sub/interface.wsdl",
        ]
    );
}

#[test]
fn property_aliases_are_found_across_documents() {
    let l = MemLoader::new()
        .with(
            "p.wsdl",
            "<definitions xmlns='http://schemas.xmlsoap.org/wsdl/' \
             xmlns:xsd='http://www.w3.org/2001/XMLSchema' \
             xmlns:vprop='http://docs.oasis-open.org/wsbpel/2.0/varprop' \
             xmlns:tns='urn:p' targetNamespace='urn:p'>\
             <vprop:property name='id' type='xsd:string'/>\
             <vprop:propertyAlias propertyName='tns:id' element='tns:a'/>\
             <vprop:propertyAlias propertyName='tns:other' element='tns:a'/>\
             </definitions>",
        )
        .with(
            "q.wsdl",
            "<definitions xmlns='http://schemas.xmlsoap.org/wsdl/' \
             xmlns:vprop='http://docs.oasis-open.org/wsbpel/2.0/varprop' \
             xmlns:p='urn:p' targetNamespace='urn:q'>\
             <vprop:propertyAlias propertyName='p:id' type='p:T'/>\
             </definitions>",
        );
    let (set, errors) = WsdlSet::load_package(&l);
    assert!(errors.is_empty(), "{errors:?}");
    let id = q("urn:p", "id");
    assert!(set.property(&id).is_some());
    let targets: Vec<&AliasTarget> = set.property_aliases(&id).map(|a| &a.target).collect();
    assert_eq!(
        targets,
        [
            &AliasTarget::Element(q("urn:p", "a")),
            &AliasTarget::Type(q("urn:p", "T"))
        ]
    );
    let plnk = set.partner_link_type(&q("urn:p", "nope"));
    assert!(plnk.is_none());
}

#[test]
fn publish_rewrites_only_the_requested_service() {
    let bytes = std::fs::read(format!(
        "{}/tests/data/rpc12.wsdl",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let defs = parse_wsdl(&bytes, "rpc12.wsdl").unwrap();
    let text = publish_wsdl(
        &defs,
        &q("urn:calc", "CalcService"),
        "https://gw.example/services/CalcService",
    );
    assert!(text.starts_with("<?xml"));
    let again = parse_wsdl(text.as_bytes(), "published.wsdl").unwrap();
    let s = again
        .services
        .iter()
        .find(|s| s.name.local == "CalcService")
        .unwrap();
    for port in ["Soap12Port", "Soap11Port"] {
        assert_eq!(
            s.port(port).unwrap().address.as_deref(),
            Some("https://gw.example/services/CalcService")
        );
    }
    // Only SOAP addresses are rewritten; other services keep theirs.
    assert_eq!(
        s.port("HttpPort").unwrap().address.as_deref(),
        Some("http://example.com/calc-http")
    );
    let other = again
        .services
        .iter()
        .find(|s| s.name.local == "OtherService")
        .unwrap();
    assert_eq!(
        other.ports[0].address.as_deref(),
        Some("http://example.com/other")
    );
    // Everything else survives the round trip.
    let shape = |d: &Definitions| {
        d.bindings
            .iter()
            .map(|b| (b.name.clone(), b.kind.clone(), b.operations.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(shape(&again), shape(&defs));
    assert_eq!(again.messages.len(), defs.messages.len());
    assert_eq!(
        again.partner_link_types[0].roles,
        defs.partner_link_types[0].roles
    );
    assert!(parse_str(&text, &Limits::default()).is_ok());

    // A service of another namespace is not touched.
    let text = publish_wsdl(&defs, &q("urn:other", "CalcService"), "x");
    assert!(!text.contains("\"x\""));
}
