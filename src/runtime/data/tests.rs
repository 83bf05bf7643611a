//! Tests of the data layer against a small compiled package (WSDL, schema, property aliases)
//! and a map-backed [`Variables`].

use std::collections::HashMap;
use std::sync::Arc;

use bpelgate_wsdl::wsdl::{MemLoader, WsdlSet};
use bpelgate_wsdl::xml::{Limits, parse_str, to_string};
use bpelgate_wsdl::{Element, Pos, QName};

use super::*;
use crate::compiler::compile_with_loader;
use crate::model::{
    Copy, CorrelationSetId, ExprDecl, ExprKind, FromSpec, Inbound, OperationRef, ToSpec, XPATH_1_0,
};
use crate::runtime::fault::{BPEL_NS, FaultData};
use crate::xpath::functions::{BPEL11_NS, ODE_EXT_NS};
use crate::xpath::{self, Language};

const T: &str = "urn:t";

const WSDL: &str = r#"<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:tns="urn:t"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    xmlns:plnk="http://docs.oasis-open.org/wsbpel/2.0/plnktype"
    xmlns:vprop="http://docs.oasis-open.org/wsbpel/2.0/varprop" targetNamespace="urn:t">
  <types>
    <xsd:schema targetNamespace="urn:t" elementFormDefault="qualified">
      <xsd:element name="order">
        <xsd:complexType>
          <xsd:sequence>
            <xsd:element name="id" type="xsd:string"/>
            <xsd:element name="qty" type="xsd:int"/>
          </xsd:sequence>
          <xsd:attribute name="kind" type="xsd:string"/>
        </xsd:complexType>
      </xsd:element>
      <xsd:element name="ack" type="xsd:string"/>
      <xsd:element name="fault" type="xsd:string"/>
      <xsd:complexType name="Pair">
        <xsd:sequence>
          <xsd:element name="a" type="xsd:string"/>
          <xsd:element name="b" type="xsd:string"/>
        </xsd:sequence>
      </xsd:complexType>
      <xsd:simpleType name="Count"><xsd:restriction base="xsd:int"/></xsd:simpleType>
    </xsd:schema>
  </types>
  <message name="OrderMsg"><part name="order" element="tns:order"/></message>
  <message name="TwoParts">
    <part name="id" type="xsd:string"/>
    <part name="count" type="xsd:int"/>
    <part name="pair" type="tns:Pair"/>
  </message>
  <message name="AckMsg"><part name="ack" element="tns:ack"/></message>
  <message name="FaultMsg"><part name="f" element="tns:fault"/></message>
  <portType name="PT">
    <operation name="place">
      <input message="tns:OrderMsg"/><output message="tns:AckMsg"/>
      <fault name="bad" message="tns:FaultMsg"/>
    </operation>
    <operation name="two"><input message="tns:TwoParts"/></operation>
  </portType>
  <plnk:partnerLinkType name="LT">
    <plnk:role name="me" portType="tns:PT"/>
    <plnk:role name="them" portType="tns:PT"/>
  </plnk:partnerLinkType>
  <vprop:property name="orderId" type="xsd:string"/>
  <vprop:propertyAlias propertyName="tns:orderId" messageType="tns:OrderMsg" part="order">
    <vprop:query>tns:id</vprop:query>
  </vprop:propertyAlias>
  <vprop:propertyAlias propertyName="tns:orderId" messageType="tns:TwoParts" part="id"/>
  <vprop:propertyAlias propertyName="tns:orderId" element="tns:order">
    <vprop:query>tns:id</vprop:query>
  </vprop:propertyAlias>
  <vprop:propertyAlias propertyName="tns:orderId" type="tns:Pair">
    <vprop:query>tns:a</vprop:query>
  </vprop:propertyAlias>
</definitions>"#;

const BPEL: &str = r#"<process name="P" targetNamespace="urn:p"
    xmlns="http://docs.oasis-open.org/wsbpel/2.0/process/executable"
    xmlns:tns="urn:t" xmlns:xsd="http://www.w3.org/2001/XMLSchema">
  <import namespace="urn:t" location="t.wsdl" importType="http://schemas.xmlsoap.org/wsdl/"/>
  <partnerLinks>
    <partnerLink name="pl" partnerLinkType="tns:LT" myRole="me" partnerRole="them"/>
  </partnerLinks>
  <variables>
    <variable name="msg" messageType="tns:OrderMsg"/>
    <variable name="two" messageType="tns:TwoParts"/>
    <variable name="ack" messageType="tns:AckMsg"/>
    <variable name="ack2" messageType="tns:AckMsg"/>
    <variable name="fmsg" messageType="tns:FaultMsg"/>
    <variable name="order" element="tns:order"/>
    <variable name="fe" element="tns:fault"/>
    <variable name="pair" type="tns:Pair"/>
    <variable name="s" type="xsd:string"/>
    <variable name="s2" type="xsd:string"/>
    <variable name="n" type="xsd:int"/>
    <variable name="c" type="tns:Count"/>
    <variable name="flag" type="xsd:boolean"/>
    <variable name="any" type="xsd:anyType"/>
    <variable name="when" type="xsd:dateTime"/>
    <variable name="day" type="xsd:date"/>
    <variable name="greeting" type="xsd:string"><from>concat('hello', ' ', 'world')</from></variable>
  </variables>
  <correlationSets><correlationSet name="cs" properties="tns:orderId"/></correlationSets>
  <sequence>
    <receive name="start" partnerLink="pl" operation="place" variable="msg" createInstance="yes">
      <correlations><correlation set="cs" initiate="yes"/></correlations>
    </receive>
    <reply name="done" partnerLink="pl" operation="place" variable="ack"/>
  </sequence>
</process>"#;

/// Variables, endpoints and link states in maps.
#[derive(Default)]
struct Vars {
    values: HashMap<VariableId, Element>,
    eprs: HashMap<(PartnerLinkId, bool), Element>,
    links: HashMap<String, bool>,
}

impl Variables for Vars {
    fn get(&self, var: VariableId) -> Option<&Element> {
        self.values.get(&var)
    }
    fn set(&mut self, var: VariableId, value: Element) {
        self.values.insert(var, value);
    }
    fn endpoint(&self, pl: PartnerLinkId, role: EndpointRole) -> Option<Element> {
        self.eprs.get(&(pl, role == EndpointRole::MyRole)).cloned()
    }
    fn set_endpoint(&mut self, pl: PartnerLinkId, epr: Element) {
        self.eprs.insert((pl, false), epr);
    }
    fn link_status(&self, name: &str) -> Option<bool> {
        self.links.get(name).copied()
    }
}

struct NoSheets;

impl Stylesheets for NoSheets {
    fn stylesheet(&self, uri: &str) -> Result<Arc<crate::xslt::Stylesheet>, Fault> {
        Err(Fault::standard(
            "xsltStylesheetNotFound",
            format!("no stylesheet {uri}"),
        ))
    }
}

/// The compiled process (extended with hand-made expressions) and its WSDL.
struct Fx {
    p: Process,
    w: WsdlSet,
    props: Vec<(QName, Element)>,
    now: Millis,
}

fn xml(text: &str) -> Element {
    parse_str(text, &Limits::default()).unwrap()
}

fn fx() -> Fx {
    let loader = MemLoader::new()
        .with("t.wsdl", WSDL)
        .with("p.bpel", BPEL)
        .with(
            "t.xsl",
            "<xsl:stylesheet xmlns:xsl='http://www.w3.org/1999/XSL/Transform' version='1.0'/>",
        );
    let out = compile_with_loader(&loader);
    assert!(!out.has_errors(), "{:#?}", out.diagnostics);
    let p = out.processes.into_iter().next().unwrap();
    Fx {
        p,
        w: out.wsdl,
        props: vec![(
            QName::new(T, "p1"),
            xml("<property name='tns:p1' xmlns:tns='urn:t'>value one</property>"),
        )],
        now: 1_700_000_000_000,
    }
}

impl Fx {
    fn env(&self) -> Env<'_> {
        Env {
            process: &self.p,
            wsdl: &self.w,
            scope: ScopeId::PROCESS,
            instance_id: 42,
            now: self.now,
            properties: &self.props,
            stylesheets: &NoSheets,
        }
    }

    fn var(&self, name: &str) -> VariableId {
        self.p
            .find_variable(ScopeId::PROCESS, name)
            .unwrap_or_else(|| panic!("no variable {name}"))
    }

    fn add(&mut self, text: &str, kind: ExprKind) -> ExprId {
        self.add_in(text, kind, Language::XPath1)
    }

    /// An XPath 2.0 expression.
    fn expr2(&mut self, text: &str) -> ExprId {
        self.add_in(text, ExprKind::Expression, Language::XPath2)
    }

    fn add_in(&mut self, text: &str, kind: ExprKind, lang: Language) -> ExprId {
        let ns: Vec<(String, String)> = [
            ("tns", T),
            ("bpel", BPEL_NS),
            ("bpws", BPEL11_NS),
            ("ode", ODE_EXT_NS),
            ("xsd", "http://www.w3.org/2001/XMLSchema"),
        ]
        .iter()
        .map(|(p, u)| ((*p).to_owned(), (*u).to_owned()))
        .collect();
        let id = ExprId(self.p.exprs.len() as u32);
        let compiled = xpath::compile(text, lang, &ns).ok();
        self.p.exprs.push(ExprDecl {
            id,
            text: text.to_owned(),
            language: match lang {
                Language::XPath2 => Language::XPATH2_URI.to_owned(),
                _ => XPATH_1_0.to_owned(),
            },
            ns,
            pos: Pos::default(),
            kind,
            compiled,
            error: None,
        });
        id
    }

    fn expr(&mut self, text: &str) -> ExprId {
        self.add(text, ExprKind::Expression)
    }

    fn query(&mut self, text: &str) -> ExprId {
        self.add(text, ExprKind::Query)
    }

    fn src_expr(&mut self, text: &str) -> FromSpec {
        FromSpec::Expression(self.expr(text))
    }

    fn dst_expr(&mut self, text: &str) -> ToSpec {
        ToSpec::Expression(self.expr(text))
    }

    fn to_var(&self, name: &str) -> ToSpec {
        ToSpec::Variable {
            variable: self.var(name),
            part: None,
            query: None,
        }
    }

    fn run(&self, vars: &mut Vars, copies: Vec<Copy>) -> Result<Vec<VariableId>, Fault> {
        self.run_assign(vars, copies, false)
    }

    fn run_assign(
        &self,
        vars: &mut Vars,
        copies: Vec<Copy>,
        validate: bool,
    ) -> Result<Vec<VariableId>, Fault> {
        let a = Assign {
            validate,
            operations: copies.into_iter().map(AssignOperation::Copy).collect(),
        };
        assign(&self.env(), vars, &a)
    }

    fn value(&mut self, vars: &Vars, text: &str) -> String {
        let e = self.expr(&format!("string({text})"));
        let store = Store::new(vars);
        let trees = Trees::default();
        evaluate(&self.env(), &store, &trees, e, &Context::none())
            .unwrap()
            .into_xpath_string()
    }

    fn eval(&mut self, vars: &Vars, text: &str) -> Result<String, Fault> {
        let e = self.expr(text);
        let store = Store::new(vars);
        let trees = Trees::default();
        evaluate(&self.env(), &store, &trees, e, &Context::none()).map(Value::into_xpath_string)
    }

    fn set(&self, vars: &mut Vars, name: &str, text: &str) {
        vars.values.insert(self.var(name), xml(text));
    }

    fn get(&self, vars: &Vars, name: &str) -> String {
        to_string(&vars.values[&self.var(name)])
    }
}

fn cp(from: FromSpec, to: ToSpec) -> Copy {
    Copy {
        keep_src_element_name: false,
        ignore_missing_from_data: false,
        insert_missing_to_data: false,
        ignore_uninitialized_from_variable: false,
        from,
        to,
        pos: Pos::default(),
    }
}

fn literal(inner: &str) -> FromSpec {
    FromSpec::Literal(xml(&format!(
        "<literal xmlns:tns='urn:t'>{inner}</literal>"
    )))
}

fn fault_name(r: Result<impl std::fmt::Debug, Fault>) -> String {
    match r {
        Err(f) => f.name.local,
        Ok(v) => panic!("expected a fault, got {v:?}"),
    }
}

const ORDER: &str =
    "<tns:order xmlns:tns='urn:t' kind='k'><tns:id>A1</tns:id><tns:qty>3</tns:qty></tns:order>";
const MSG: &str = "<message><order><tns:order xmlns:tns='urn:t'><tns:id>M7</tns:id><tns:qty>5</tns:qty></tns:order></order></message>";
const TWO: &str = "<message><id>I9</id><count>4</count><pair><tns:a xmlns:tns='urn:t'>x</tns:a><tns:b xmlns:tns='urn:t'>y</tns:b></pair></message>";

// ---- copy: from-spec and to-spec forms -------------------------------------------------

#[test]
fn literal_element_to_uninitialised_element_variable() {
    let f = fx();
    let mut v = Vars::default();
    let written = f
        .run(&mut v, vec![cp(literal(ORDER), f.to_var("order"))])
        .unwrap();
    assert_eq!(written, vec![f.var("order")]);
    let o = &v.values[&f.var("order")];
    assert_eq!(o.name, QName::new(T, "order"));
    assert_eq!(o.attr("kind"), Some("k"));
    assert_eq!(o.text(), "A13");
}

#[test]
fn literal_onto_an_engine_made_element_keeps_the_authors_prefix() {
    let f = fx();
    let mut v = Vars::default();
    f.run(&mut v, vec![cp(literal(ORDER), f.to_var("order"))])
        .unwrap();
    // The first copy created the variable from the literal; a second copy replaces the content
    // of that element and must not lose the literal's prefix.
    if let Some(o) = v.values.get_mut(&f.var("order")) {
        o.prefix.clear();
    }
    f.run(&mut v, vec![cp(literal(ORDER), f.to_var("order"))])
        .unwrap();
    assert_eq!(v.values[&f.var("order")].prefix, "tns");
}

#[test]
fn literal_text_to_simple_variable() {
    let f = fx();
    let mut v = Vars::default();
    f.run(&mut v, vec![cp(literal("plain text"), f.to_var("s"))])
        .unwrap();
    let s = &v.values[&f.var("s")];
    assert_eq!(
        s.name,
        QName::local("s"),
        "a type variable is a wrapper named after it"
    );
    assert_eq!(s.text(), "plain text");
}

#[test]
fn element_variable_into_element_part_creates_the_message() {
    let f = fx();
    let mut v = Vars::default();
    f.set(&mut v, "order", ORDER);
    let to = ToSpec::Variable {
        variable: f.var("msg"),
        part: Some("order".into()),
        query: None,
    };
    let from = FromSpec::Variable {
        variable: f.var("order"),
        part: None,
        query: None,
    };
    f.run(&mut v, vec![cp(from, to)]).unwrap();
    let m = &v.values[&f.var("msg")];
    assert_eq!(m.name, QName::local("message"));
    let part = m.first_element().unwrap();
    assert_eq!(part.name, QName::local("order"));
    let el = part.first_element().unwrap();
    assert_eq!(el.name, QName::new(T, "order"));
    assert_eq!(el.attr("kind"), Some("k"));
    assert_eq!(el.text(), "A13");
}

#[test]
fn expression_to_query_of_a_part() {
    let mut f = fx();
    let mut v = Vars::default();
    f.set(&mut v, "order", ORDER);
    f.set(&mut v, "msg", MSG);
    let q = f.query("tns:id");
    let from = f.src_expr("concat($order/tns:id, '-x')");
    let to = ToSpec::Variable {
        variable: f.var("msg"),
        part: Some("order".into()),
        query: Some(q),
    };
    f.run(&mut v, vec![cp(from, to)]).unwrap();
    assert_eq!(f.value(&v, "$msg.order/tns:id"), "A1-x");
    assert_eq!(f.value(&v, "$msg.order/tns:qty"), "5", "siblings untouched");
}

#[test]
fn expression_to_expression_path_and_attribute() {
    let mut f = fx();
    let mut v = Vars::default();
    f.set(&mut v, "order", ORDER);
    f.set(&mut v, "msg", MSG);
    let c1 = cp(
        f.src_expr("$order/tns:qty + 1"),
        f.dst_expr("$msg.order/tns:qty"),
    );
    let c2 = cp(f.src_expr("'new-kind'"), f.dst_expr("$order/@kind"));
    f.run(&mut v, vec![c1, c2]).unwrap();
    assert_eq!(f.value(&v, "$msg.order/tns:qty"), "4");
    assert_eq!(f.value(&v, "$order/@kind"), "new-kind");
}

#[test]
fn query_from_spec_and_text_node_target() {
    let mut f = fx();
    let mut v = Vars::default();
    f.set(&mut v, "two", TWO);
    f.set(&mut v, "order", ORDER);
    let q = f.query("tns:b");
    let from = FromSpec::Variable {
        variable: f.var("two"),
        part: Some("pair".into()),
        query: Some(q),
    };
    let c1 = cp(from, f.to_var("s"));
    let c2 = cp(f.src_expr("'B2'"), f.dst_expr("$order/tns:id/text()"));
    f.run(&mut v, vec![c1, c2]).unwrap();
    assert_eq!(v.values[&f.var("s")].text(), "y");
    assert_eq!(f.value(&v, "$order/tns:id"), "B2");
}

#[test]
fn keep_src_element_name_renames_the_target() {
    let mut f = fx();
    let mut v = Vars::default();
    f.set(&mut v, "msg", MSG);
    let keep = Copy {
        keep_src_element_name: true,
        ..cp(literal("<tns:ack>hi</tns:ack>"), f.dst_expr("$msg.order"))
    };
    f.run(&mut v, vec![keep]).unwrap();
    let el = v.values[&f.var("msg")]
        .first_element()
        .and_then(Element::first_element)
        .unwrap()
        .clone();
    assert_eq!(el.name, QName::new(T, "ack"));
    assert_eq!(el.text(), "hi");

    let mut v = Vars::default();
    f.set(&mut v, "msg", MSG);
    let c = cp(literal("<tns:ack>hi</tns:ack>"), f.dst_expr("$msg.order"));
    f.run(&mut v, vec![c]).unwrap();
    let el = v.values[&f.var("msg")]
        .first_element()
        .and_then(Element::first_element)
        .unwrap()
        .clone();
    assert_eq!(el.name, QName::new(T, "order"), "the target keeps its name");
    assert_eq!(el.text(), "hi");
    assert!(el.elements().next().is_none(), "content replaced");
}

#[test]
fn whole_message_copies_and_mismatches() {
    let f = fx();
    let mut v = Vars::default();
    f.set(
        &mut v,
        "ack",
        "<message><ack><tns:ack xmlns:tns='urn:t'>ok</tns:ack></ack></message>",
    );
    let from = FromSpec::Variable {
        variable: f.var("ack"),
        part: None,
        query: None,
    };
    f.run(&mut v, vec![cp(from, f.to_var("ack2"))]).unwrap();
    assert_eq!(f.get(&v, "ack2"), f.get(&v, "ack"));

    // A non-message value cannot become a message variable.
    let r = f.run(&mut v, vec![cp(literal("<tns:x/>"), f.to_var("ack2"))]);
    assert_eq!(fault_name(r), "mismatchedAssignmentFailure");
    // And a message cannot go into an element.
    let from = FromSpec::Variable {
        variable: f.var("ack"),
        part: None,
        query: None,
    };
    let r = f.run(&mut v, vec![cp(from, f.to_var("order"))]);
    assert_eq!(fault_name(r), "mismatchedAssignmentFailure");
}

#[test]
fn selection_failures_and_ignore_missing_from_data() {
    let mut f = fx();
    let mut v = Vars::default();
    f.set(&mut v, "order", ORDER);
    f.set(&mut v, "s", "<s>before</s>");
    let none = cp(f.src_expr("$order/tns:nothing"), f.to_var("s"));
    assert_eq!(fault_name(f.run(&mut v, vec![none])), "selectionFailure");
    let many = cp(f.src_expr("$order/*"), f.to_var("s"));
    assert_eq!(fault_name(f.run(&mut v, vec![many])), "selectionFailure");
    let to_many = cp(f.src_expr("'z'"), f.dst_expr("$order/*"));
    assert_eq!(fault_name(f.run(&mut v, vec![to_many])), "selectionFailure");
    let to_none = cp(f.src_expr("'z'"), f.dst_expr("$order/tns:nothing"));
    assert_eq!(fault_name(f.run(&mut v, vec![to_none])), "selectionFailure");
    let ignored = Copy {
        ignore_missing_from_data: true,
        ..cp(f.src_expr("$order/tns:nothing"), f.to_var("s"))
    };
    assert_eq!(
        f.run(&mut v, vec![ignored]).unwrap(),
        Vec::<VariableId>::new()
    );
    assert_eq!(v.values[&f.var("s")].text(), "before");
    // ignoreMissingFromData does not hide a selection of several nodes.
    let many = Copy {
        ignore_missing_from_data: true,
        ..cp(f.src_expr("$order/*"), f.to_var("s"))
    };
    assert_eq!(fault_name(f.run(&mut v, vec![many])), "selectionFailure");
}

#[test]
fn assign_is_atomic() {
    let mut f = fx();
    let mut v = Vars::default();
    f.set(&mut v, "order", ORDER);
    f.set(&mut v, "s", "<s>before</s>");
    let ok = cp(f.src_expr("'after'"), f.to_var("s"));
    let ok2 = cp(f.src_expr("'fresh'"), f.to_var("s2"));
    let bad = cp(f.src_expr("$order/tns:nothing"), f.to_var("n"));
    let r = f.run(&mut v, vec![ok, ok2, bad]);
    assert_eq!(fault_name(r), "selectionFailure");
    assert_eq!(v.values[&f.var("s")].text(), "before");
    assert!(!v.values.contains_key(&f.var("s2")));
}

#[test]
fn later_copies_see_earlier_ones() {
    let mut f = fx();
    let mut v = Vars::default();
    let c1 = cp(f.src_expr("20"), f.to_var("n"));
    let c2 = cp(f.src_expr("$n + 1"), f.to_var("n"));
    let c3 = cp(f.src_expr("$n * 2"), f.to_var("c"));
    let written = f.run(&mut v, vec![c1, c2, c3]).unwrap();
    assert_eq!(written, vec![f.var("n"), f.var("c")]);
    assert_eq!(v.values[&f.var("n")].text(), "21");
    assert_eq!(v.values[&f.var("c")].text(), "42");
}

#[test]
fn uninitialised_sources() {
    let mut f = fx();
    let mut v = Vars::default();
    let from = FromSpec::Variable {
        variable: f.var("s2"),
        part: None,
        query: None,
    };
    assert_eq!(
        fault_name(f.run(&mut v, vec![cp(from, f.to_var("s"))])),
        "uninitializedVariable"
    );
    let c = cp(f.src_expr("$s2"), f.to_var("s"));
    assert_eq!(fault_name(f.run(&mut v, vec![c])), "uninitializedVariable");
    // A missing part of an initialised message is uninitialised too.
    f.set(&mut v, "two", "<message><id>1</id></message>");
    let c = cp(f.src_expr("$two.count"), f.to_var("s"));
    assert_eq!(fault_name(f.run(&mut v, vec![c])), "uninitializedVariable");
}

#[test]
fn type_parts_and_skeletons() {
    let mut f = fx();
    let mut v = Vars::default();
    let to = ToSpec::Variable {
        variable: f.var("two"),
        part: Some("id".into()),
        query: None,
    };
    let c1 = cp(f.src_expr("'abc'"), to);
    let c2 = cp(f.src_expr("7"), f.dst_expr("$two.count"));
    f.run(&mut v, vec![c1, c2]).unwrap();
    assert_eq!(
        f.get(&v, "two"),
        "<message><id>abc</id><count>7</count></message>"
    );
    // A simple-typed part is an atomic value: arithmetic works on it.
    assert_eq!(f.value(&v, "$two.count + 1"), "8");
}

#[test]
fn complex_and_simple_type_variables() {
    let mut f = fx();
    let mut v = Vars::default();
    let c1 = cp(
        literal("<x><tns:a>1</tns:a><tns:b>2</tns:b></x>"),
        f.to_var("pair"),
    );
    f.run(&mut v, vec![c1]).unwrap();
    let pair = &v.values[&f.var("pair")];
    assert_eq!(pair.name, QName::local("pair"));
    assert_eq!(pair.elements().count(), 2);
    assert_eq!(f.value(&v, "$pair/tns:b"), "2");
    // xsd:boolean and user simple types are atomic values of their primitive type.
    f.set(&mut v, "flag", "<flag>false</flag>");
    f.set(&mut v, "c", "<c>05</c>");
    assert_eq!(f.eval(&v, "$flag").unwrap(), "false");
    assert_eq!(f.eval(&v, "not($flag)").unwrap(), "true");
    assert_eq!(f.eval(&v, "$c").unwrap(), "5", "a Count is a number");
    f.set(&mut v, "s", "<s>05</s>");
    assert_eq!(f.eval(&v, "$s").unwrap(), "05", "a string stays a string");
}

#[test]
fn partner_link_endpoints() {
    let mut f = fx();
    let mut v = Vars::default();
    let pl = f.p.partner_links[0].id;
    // An address string becomes a WS-Addressing endpoint reference.
    let c = cp(
        f.src_expr("'http://partner/x'"),
        ToSpec::PartnerLink { partner_link: pl },
    );
    f.run(&mut v, vec![c]).unwrap();
    let epr = &v.eprs[&(pl, false)];
    assert!(epr.is(assign::WSA_NS, "EndpointReference"));
    assert_eq!(epr.text(), "http://partner/x");
    // Reading it back wraps it in sref:service-ref.
    let from = FromSpec::PartnerLink {
        partner_link: pl,
        endpoint: EndpointRole::PartnerRole,
    };
    let c = Copy {
        keep_src_element_name: true,
        ..cp(from, f.to_var("any"))
    };
    f.run(&mut v, vec![c]).unwrap();
    let any = &v.values[&f.var("any")];
    assert!(any.is(assign::SREF_NS, "service-ref"));
    assert!(
        any.first_element()
            .unwrap()
            .is(assign::WSA_NS, "EndpointReference")
    );
    // No partnerRole endpoint yet: uninitializedPartnerRole.
    let mut empty = Vars::default();
    let from = FromSpec::PartnerLink {
        partner_link: pl,
        endpoint: EndpointRole::PartnerRole,
    };
    let r = f.run(&mut empty, vec![cp(from, f.to_var("any"))]);
    assert_eq!(fault_name(r), "uninitializedPartnerRole");
}

#[test]
fn properties_from_and_to() {
    let mut f = fx();
    let mut v = Vars::default();
    f.set(&mut v, "msg", MSG);
    f.set(&mut v, "order", ORDER);
    f.set(&mut v, "two", TWO);
    let prop = QName::new(T, "orderId");
    let c1 = cp(
        FromSpec::Property {
            variable: f.var("msg"),
            property: prop.clone(),
        },
        f.to_var("s"),
    );
    let c2 = cp(
        f.src_expr("'P9'"),
        ToSpec::Property {
            variable: f.var("order"),
            property: prop,
        },
    );
    f.run(&mut v, vec![c1, c2]).unwrap();
    assert_eq!(v.values[&f.var("s")].text(), "M7");
    assert_eq!(f.value(&v, "$order/tns:id"), "P9");
    assert_eq!(
        f.value(&v, "bpel:getVariableProperty('two', 'tns:orderId')"),
        "I9"
    );
    assert_eq!(
        f.value(&v, "bpel:getVariableProperty('order', 'tns:orderId')"),
        "P9"
    );
    f.set(
        &mut v,
        "pair",
        "<pair><tns:a xmlns:tns='urn:t'>PA</tns:a></pair>",
    );
    assert_eq!(
        f.value(&v, "bpel:getVariableProperty('pair', 'tns:orderId')"),
        "PA"
    );
    // No alias for a plain string variable.
    assert_eq!(
        fault_name(f.eval(&v, "bpel:getVariableProperty('s', 'tns:orderId')")),
        "selectionFailure"
    );
}

#[test]
fn init_variable_and_validation() {
    let mut f = fx();
    let mut v = Vars::default();
    init_variable(&f.env(), &mut v, f.var("greeting")).unwrap();
    assert_eq!(v.values[&f.var("greeting")].text(), "hello world");
    // A variable without an initialiser stays as it is.
    init_variable(&f.env(), &mut v, f.var("s")).unwrap();
    assert!(!v.values.contains_key(&f.var("s")));

    // validate="yes": a wrongly named element is invalid, and nothing is written.
    let c = cp(literal("<tns:ack>x</tns:ack>"), f.dst_expr("$msg.order"));
    let keep = Copy {
        keep_src_element_name: true,
        ..c
    };
    f.set(&mut v, "msg", MSG);
    let before = f.get(&v, "msg");
    let r = f.run_assign(&mut v, vec![keep], true);
    assert_eq!(fault_name(r), "invalidVariables");
    assert_eq!(f.get(&v, "msg"), before);
    let ok = cp(f.src_expr("'Z'"), f.dst_expr("$msg.order/tns:id"));
    f.run_assign(&mut v, vec![ok], true).unwrap();

    assert_eq!(
        fault_name(validate(&f.env(), &v, &[f.var("s2")])),
        "uninitializedVariable"
    );
    f.set(&mut v, "order", "<tns:other xmlns:tns='urn:t'/>");
    assert_eq!(
        fault_name(validate(&f.env(), &v, &[f.var("order")])),
        "invalidVariables"
    );
    f.set(&mut v, "order", ORDER);
    validate(&f.env(), &v, &[f.var("order"), f.var("msg")]).unwrap();
}

// ---- expressions ----------------------------------------------------------------------

#[test]
fn conditions_counters_and_links() {
    let mut f = fx();
    let mut v = Vars::default();
    f.set(&mut v, "order", ORDER);
    let e = f.expr("$order/tns:qty > 2");
    assert!(eval_bool(&f.env(), &v, e).unwrap());
    let e = f.expr("$order/tns:nothing");
    assert!(!eval_bool(&f.env(), &v, e).unwrap());
    let e = f.expr("$order/tns:qty * 2");
    assert_eq!(eval_unsigned(&f.env(), &v, e).unwrap(), 6);
    for bad in ["-1", "1.5", "'x'", "4294967296"] {
        let e = f.expr(bad);
        assert_eq!(
            fault_name(eval_unsigned(&f.env(), &v, e)),
            "invalidExpressionValue",
            "{bad}"
        );
    }
    let e = f.expr("4294967295");
    assert_eq!(eval_unsigned(&f.env(), &v, e).unwrap(), u32::MAX);
    // Join conditions: link names are variables, and the BPEL4WS function works too.
    v.links.insert("L1".into(), true);
    v.links.insert("L2".into(), false);
    let e = f.expr("$L1 and not($L2)");
    assert!(eval_bool(&f.env(), &v, e).unwrap());
    let e = f.expr("bpws:getLinkStatus('L2')");
    assert!(!eval_bool(&f.env(), &v, e).unwrap());
}

#[test]
fn expression_faults() {
    let mut f = fx();
    let v = Vars::default();
    let e = f.expr("$s2 = 'x'");
    assert_eq!(
        fault_name(eval_bool(&f.env(), &v, e)),
        "uninitializedVariable"
    );
    // Tolerated at deployment, faulting at run time: no compiled form.
    let e = f.expr("1 +");
    assert!(f.p.exprs[e.index()].compiled.is_none());
    assert_eq!(
        fault_name(eval_bool(&f.env(), &v, e)),
        "subLanguageExecutionFault"
    );
    let e = f.expr("relative/path");
    assert_eq!(
        fault_name(eval_bool(&f.env(), &v, e)),
        "subLanguageExecutionFault"
    );
    let mut f2 = fx();
    let e = f2.expr("true()");
    f2.p.exprs[e.index()].language = "urn:x-xquery".into();
    f2.p.exprs[e.index()].compiled = None;
    assert_eq!(
        fault_name(eval_bool(&f2.env(), &v, e)),
        "subLanguageExecutionFault"
    );
}

#[test]
fn ode_variables_and_bpel11_get_variable_data() {
    let mut f = fx();
    let mut v = Vars::default();
    assert_eq!(f.eval(&v, "$ode:pid").unwrap(), "42");
    assert_eq!(f.eval(&v, "$ode:processQName").unwrap(), "{urn:p}P");
    assert_eq!(
        f.eval(&v, "$ode:currentEventDateTime").unwrap(),
        "2023-11-14T22:13:20.000Z"
    );
    f.set(&mut v, "msg", MSG);
    f.set(&mut v, "two", TWO);
    assert_eq!(
        f.eval(
            &v,
            "string(bpws:getVariableData('msg', 'order', '/tns:order/tns:id'))"
        )
        .unwrap(),
        "M7"
    );
    assert_eq!(
        f.eval(&v, "string(bpws:getVariableData('two', 'id'))")
            .unwrap(),
        "I9"
    );
    assert_eq!(
        fault_name(f.eval(&v, "bpws:getVariableData('msg', 'order', '/tns:order/*')")),
        "selectionFailure"
    );
    // getVariableData selects nodes of the variable: usable as a to-spec.
    let c = cp(
        f.src_expr("'M8'"),
        f.dst_expr("bpws:getVariableData('msg', 'order', '/tns:order/tns:id')"),
    );
    f.run(&mut v, vec![c]).unwrap();
    assert_eq!(f.value(&v, "$msg.order/tns:id"), "M8");
}

#[test]
fn do_xsl_transform_faults() {
    let mut f = fx();
    let mut v = Vars::default();
    f.set(&mut v, "order", ORDER);
    assert_eq!(
        fault_name(f.eval(&v, "bpel:doXslTransform('t.xsl', 'text')")),
        "xsltInvalidSource"
    );
    assert_eq!(
        fault_name(f.eval(&v, "bpel:doXslTransform('t.xsl', $order)")),
        "xsltStylesheetNotFound"
    );
}

#[test]
fn ode_extension_functions() {
    let mut f = fx();
    let mut v = Vars::default();
    f.set(&mut v, "order", ORDER);
    let c = cp(
        f.src_expr("ode:split-to-elements('a, b,c', ',', 'item', 'urn:t')"),
        f.to_var("any"),
    );
    f.run(&mut v, vec![c]).unwrap();
    assert_eq!(f.value(&v, "count($any/tns:item)"), "3");
    assert_eq!(f.value(&v, "$any/tns:item[2]"), "b");

    let c = cp(
        f.src_expr("ode:insert-as-last-into($order, $order/tns:id)"),
        f.to_var("order"),
    );
    f.run(&mut v, vec![c]).unwrap();
    assert_eq!(f.value(&v, "count($order/tns:id)"), "2");
    assert_eq!(f.value(&v, "local-name($order/*[3])"), "id");
    let c = cp(f.src_expr("ode:delete($order/tns:id)"), f.to_var("order"));
    f.run(&mut v, vec![c]).unwrap();
    assert_eq!(f.value(&v, "count($order/*)"), "1");
    let c = cp(
        f.src_expr("ode:insert-before($order, $order/tns:qty, $order/tns:qty)"),
        f.to_var("order"),
    );
    f.run(&mut v, vec![c]).unwrap();
    assert_eq!(f.value(&v, "count($order/tns:qty)"), "2");
    let c = cp(
        f.src_expr("ode:rename($order/tns:qty[1], 'tns:quantity')"),
        f.to_var("order"),
    );
    f.run(&mut v, vec![c]).unwrap();
    assert_eq!(f.value(&v, "local-name($order/*[1])"), "quantity");
    assert_eq!(f.value(&v, "$order/@kind"), "k", "the attributes survive");
    let c = cp(
        f.src_expr("ode:insert-after($order/tns:quantity, $order/tns:qty)"),
        f.to_var("order"),
    );
    f.run(&mut v, vec![c]).unwrap();
    assert_eq!(f.value(&v, "count($order/tns:qty)"), "2");

    assert_eq!(
        f.eval(&v, "ode:combine-url('http://h/a/b', '../c')")
            .unwrap(),
        "http://h/c"
    );
    assert_eq!(
        fault_name(f.eval(&v, "ode:combine-url('nobase', 'c')")),
        "combineUrlInvalidSource"
    );
    assert_eq!(
        f.eval(
            &v,
            "ode:compose-url('http://h/{id}?q={q}', 'id', 'a b', 'q', 1)"
        )
        .unwrap(),
        "http://h/a%20b?q=1"
    );
    assert_eq!(
        f.eval(
            &v,
            "ode:expand-template('http://h/{id}/{other}', 'id', 'x')"
        )
        .unwrap(),
        "http://h/x/{other}"
    );
    assert_eq!(
        f.eval(&v, "ode:dom-to-string($order/tns:quantity)")
            .unwrap(),
        "<tns:quantity xmlns:tns=\"urn:t\">3</tns:quantity>"
    );
    assert_eq!(
        f.eval(&v, "ode:process-property('tns:p1')").unwrap(),
        "value one"
    );
    assert_eq!(
        f.eval(&v, "count(ode:process-property('tns:nope'))")
            .unwrap(),
        "0"
    );
}

// ---- time -----------------------------------------------------------------------------

#[test]
fn deadlines_and_durations() {
    let mut f = fx();
    let v = Vars::default();
    let e = f.expr("'PT1M30S'");
    let t = Timing {
        for_expr: Some(e),
        until_expr: None,
    };
    assert_eq!(eval_deadline(&f.env(), &v, &t).unwrap(), f.now + 90_000);
    let e = f.expr("'2030-01-01T00:00:00+01:00'");
    let t = Timing {
        for_expr: None,
        until_expr: Some(e),
    };
    assert_eq!(eval_deadline(&f.env(), &v, &t).unwrap(), 1_893_452_400_000);
    let e = f.expr("'2030-01-01'");
    let t = Timing {
        for_expr: None,
        until_expr: Some(e),
    };
    assert_eq!(eval_deadline(&f.env(), &v, &t).unwrap(), 1_893_456_000_000);
    let e = f.expr("'soon'");
    let t = Timing {
        for_expr: Some(e),
        until_expr: None,
    };
    assert_eq!(
        fault_name(eval_deadline(&f.env(), &v, &t)),
        "invalidExpressionValue"
    );
    let e = f.expr("'P1D'");
    assert_eq!(eval_duration(&f.env(), &v, e).unwrap(), 86_400_000);
    // Months are calendar months from now: 2023-11-14 + 1 month = 30 days.
    let e = f.expr("'P1M'");
    assert_eq!(eval_duration(&f.env(), &v, e).unwrap(), 30 * 86_400_000);
    for bad in ["'PT0S'", "'-PT1S'", "'1 hour'"] {
        let e = f.expr(bad);
        assert_eq!(
            fault_name(eval_duration(&f.env(), &v, e)),
            "invalidExpressionValue",
            "{bad}"
        );
    }
}

// ---- messages, correlation, faults ----------------------------------------------------

fn inbound(f: &Fx, op: &str, input: &str) -> Inbound {
    Inbound {
        partner_link: f.p.partner_links[0].id,
        operation: OperationRef {
            port_type: QName::new(T, "PT"),
            name: op.into(),
            request_response: false,
            input: Some(QName::new(T, input)),
            output: None,
        },
        variable: None,
        message_exchange: None,
        correlations: Vec::new(),
        from_parts: Vec::new(),
    }
}

#[test]
fn inbound_binding_and_from_parts() {
    let f = fx();
    let mut v = Vars::default();
    bind_inbound(&f.env(), &mut v, Some(f.var("msg")), &[], xml(MSG)).unwrap();
    assert_eq!(f.get(&v, "msg"), to_string(&xml(MSG)));
    let parts = [
        PartBinding {
            part: "id".into(),
            variable: f.var("s"),
        },
        PartBinding {
            part: "pair".into(),
            variable: f.var("pair"),
        },
    ];
    bind_inbound(&f.env(), &mut v, None, &parts, xml(TWO)).unwrap();
    assert_eq!(f.get(&v, "s"), "<s>I9</s>");
    assert_eq!(v.values[&f.var("pair")].elements().count(), 2);
    let parts = [PartBinding {
        part: "order".into(),
        variable: f.var("order"),
    }];
    bind_inbound(&f.env(), &mut v, None, &parts, xml(MSG)).unwrap();
    assert_eq!(v.values[&f.var("order")].name, QName::new(T, "order"));
    let missing = [PartBinding {
        part: "nope".into(),
        variable: f.var("s"),
    }];
    assert_eq!(
        fault_name(bind_inbound(&f.env(), &mut v, None, &missing, xml(TWO))),
        "selectionFailure"
    );
}

#[test]
fn outbound_messages() {
    let f = fx();
    let mut v = Vars::default();
    let order_msg = QName::new(T, "OrderMsg");
    let two = QName::new(T, "TwoParts");
    assert_eq!(
        fault_name(build_outbound(
            &f.env(),
            &v,
            Some(f.var("msg")),
            &[],
            &order_msg
        )),
        "uninitializedVariable"
    );
    f.set(&mut v, "msg", "<message><order/></message>");
    assert_eq!(
        fault_name(build_outbound(
            &f.env(),
            &v,
            Some(f.var("msg")),
            &[],
            &order_msg
        )),
        "uninitializedVariable",
        "an element part without its element is uninitialised"
    );
    f.set(&mut v, "msg", MSG);
    let m = build_outbound(&f.env(), &v, Some(f.var("msg")), &[], &order_msg).unwrap();
    assert_eq!(m, xml(MSG));
    // An element variable for a single-element-part message.
    f.set(&mut v, "order", ORDER);
    let m = build_outbound(&f.env(), &v, Some(f.var("order")), &[], &order_msg).unwrap();
    assert_eq!(
        m.first_element().unwrap().first_element().unwrap().name,
        QName::new(T, "order")
    );
    // toParts, in WSDL part order; a part without a toPart is uninitialised.
    f.set(&mut v, "s", "<s>I1</s>");
    f.set(&mut v, "n", "<n>2</n>");
    f.set(
        &mut v,
        "pair",
        "<pair><tns:a xmlns:tns='urn:t'>x</tns:a></pair>",
    );
    let tp = |part: &str, var: &str| PartBinding {
        part: part.into(),
        variable: f.var(var),
    };
    let m = build_outbound(
        &f.env(),
        &v,
        None,
        &[tp("pair", "pair"), tp("count", "n"), tp("id", "s")],
        &two,
    )
    .unwrap();
    assert_eq!(
        to_string(&m),
        "<message><id>I1</id><count>2</count><pair><tns:a xmlns:tns=\"urn:t\">x</tns:a></pair></message>"
    );
    assert_eq!(
        fault_name(build_outbound(&f.env(), &v, None, &[tp("id", "s")], &two)),
        "uninitializedVariable"
    );
}

#[test]
fn correlation_values_through_part_and_query_aliases() {
    let f = fx();
    let cs = CorrelationSetId(0);
    assert_eq!(f.p.correlation_set(cs).name, "cs");
    let order_msg = QName::new(T, "OrderMsg");
    let msg = xml("<message><order><tns:order xmlns:tns='urn:t'><tns:id>  K 1
 </tns:id></tns:order></order></message>");
    assert_eq!(
        correlation_values(&f.env(), cs, &order_msg, &msg).unwrap(),
        vec!["K 1".to_owned()]
    );
    let two = QName::new(T, "TwoParts");
    assert_eq!(
        correlation_values(&f.env(), cs, &two, &xml(TWO)).unwrap(),
        vec!["I9".to_owned()]
    );
    let empty = xml("<message><order><tns:order xmlns:tns='urn:t'/></order></message>");
    assert_eq!(
        fault_name(correlation_values(&f.env(), cs, &order_msg, &empty)),
        "selectionFailure"
    );
    assert_eq!(
        fault_name(correlation_values(
            &f.env(),
            cs,
            &QName::new(T, "AckMsg"),
            &xml("<message><ack/></message>")
        )),
        "selectionFailure",
        "no alias for that message type"
    );
}

#[test]
fn message_shape() {
    let f = fx();
    let ib = inbound(&f, "two", "TwoParts");
    check_message_shape(&f.env(), &ib, &xml(TWO)).unwrap();
    let missing = xml("<message><id>1</id><count>2</count></message>");
    assert_eq!(
        fault_name(check_message_shape(&f.env(), &ib, &missing)),
        "invalidVariables"
    );
    let extra = xml("<message><id/><count/><pair/><more/></message>");
    assert_eq!(
        fault_name(check_message_shape(&f.env(), &ib, &extra)),
        "invalidVariables"
    );
    let ib = inbound(&f, "place", "OrderMsg");
    assert_eq!(
        fault_name(check_message_shape(
            &f.env(),
            &ib,
            &xml("<message><order/></message>")
        )),
        "invalidVariables",
        "an element part needs its element"
    );
    check_message_shape(&f.env(), &ib, &xml(MSG)).unwrap();
}

#[test]
fn faults_data_matching_and_binding() {
    let mut f = fx();
    let mut v = Vars::default();
    let fault_msg = QName::new(T, "FaultMsg");
    let fm = xml("<message><f><tns:fault xmlns:tns='urn:t'>boom</tns:fault></f></message>");
    f.set(&mut v, "fmsg", &to_string(&fm));
    let data = fault_data(&f.env(), &v, f.var("fmsg")).unwrap();
    assert_eq!(
        data,
        FaultData::Message {
            message_type: fault_msg.clone(),
            value: fm
        }
    );
    assert!(fault_type_matches(
        &f.env(),
        &VarType::MessageType(fault_msg.clone()),
        &data
    ));
    assert!(!fault_type_matches(
        &f.env(),
        &VarType::MessageType(QName::new(T, "AckMsg")),
        &data
    ));
    // §12.5: a single-element-part message matches the element.
    assert!(fault_type_matches(
        &f.env(),
        &VarType::Element(QName::new(T, "fault")),
        &data
    ));
    assert!(!fault_type_matches(
        &f.env(),
        &VarType::Element(QName::new(T, "ack")),
        &data
    ));
    bind_fault(&f.env(), &mut v, f.var("fe"), &data).unwrap();
    assert_eq!(v.values[&f.var("fe")].text(), "boom");

    let el = FaultData::Element(xml("<tns:fault xmlns:tns='urn:t'>e</tns:fault>"));
    assert!(fault_type_matches(
        &f.env(),
        &VarType::Element(QName::new(T, "fault")),
        &el
    ));
    assert!(!fault_type_matches(
        &f.env(),
        &VarType::MessageType(fault_msg),
        &el
    ));
    bind_fault(&f.env(), &mut v, f.var("fmsg"), &el).unwrap();
    assert_eq!(f.value(&v, "$fmsg.f"), "e");
    let from_el = fault_data(&f.env(), &v, f.var("fe")).unwrap();
    assert!(matches!(from_el, FaultData::Element(ref e) if e.text() == "boom"));
    assert_eq!(
        fault_name(fault_data(&f.env(), &v, f.var("s2"))),
        "uninitializedVariable"
    );
}

#[test]
fn to_expression_edge_cases() {
    let mut f = fx();
    let mut v = Vars::default();
    // `$var` alone is the variable, initialised on first write.
    let c = cp(literal(ORDER), f.dst_expr("$order"));
    f.run(&mut v, vec![c]).unwrap();
    assert_eq!(f.value(&v, "$order/tns:id"), "A1");
    // A simple-typed `$var` (an atomic value when read) is still a location.
    let c = cp(f.src_expr("'x'"), f.dst_expr("$s"));
    f.run(&mut v, vec![c]).unwrap();
    assert_eq!(f.get(&v, "s"), "<s>x</s>");
    // A node that belongs to no variable is no location.
    let c = cp(
        f.src_expr("'x'"),
        f.dst_expr("ode:split-to-elements('a', ',', 'i')/i"),
    );
    assert_eq!(fault_name(f.run(&mut v, vec![c])), "selectionFailure");
    // A path into a fresh skeleton selects nothing.
    let c = cp(f.src_expr("'x'"), f.dst_expr("$fe/@missing"));
    assert_eq!(fault_name(f.run(&mut v, vec![c])), "selectionFailure");
    assert!(!v.values.contains_key(&f.var("fe")), "nothing committed");
    // A `<message>` literal initialises a message variable.
    let c = cp(
        literal("<message><ack><tns:ack>lit</tns:ack></ack></message>"),
        f.to_var("ack"),
    );
    f.run(&mut v, vec![c]).unwrap();
    assert_eq!(f.value(&v, "$ack.ack"), "lit");
}

impl Fx {
    fn eval2(&mut self, vars: &Vars, text: &str) -> Result<String, Fault> {
        let e = self.expr2(text);
        let store = Store::new(vars);
        let trees = Trees::default();
        evaluate(&self.env(), &store, &trees, e, &Context::none()).map(Value::into_xpath_string)
    }
}

#[test]
fn xpath2_sees_simple_variables_as_typed_atomic_values() {
    let mut f = fx();
    let mut v = Vars::default();
    f.set(&mut v, "when", "<when>2008-01-01T00:00:00Z</when>");
    f.set(&mut v, "n", "<n>7</n>");
    f.set(&mut v, "c", "<c>9</c>");
    f.set(&mut v, "flag", "<flag>true</flag>");
    f.set(&mut v, "s", "<s>12</s>");
    // xsd:dateTime arithmetic needs a typed value (ODE hands Saxon the declared type).
    assert_eq!(
        f.eval2(&v, "$when + xsd:dayTimeDuration('P1D')").unwrap(),
        "2008-01-02T00:00:00Z"
    );
    assert_eq!(f.eval2(&v, "$n instance of xsd:integer").unwrap(), "true");
    assert_eq!(f.eval2(&v, "$n idiv 2").unwrap(), "3");
    // A user simple type derived from xsd:int is an integer too.
    assert_eq!(f.eval2(&v, "$c instance of xsd:integer").unwrap(), "true");
    assert_eq!(
        f.eval2(&v, "$flag instance of xsd:boolean").unwrap(),
        "true"
    );
    // String variables stay untyped, so text holding a number still computes.
    assert_eq!(f.eval2(&v, "$s + 1").unwrap(), "13");
    // A value that is not of the declared type is the empty sequence (ODE).
    f.set(&mut v, "day", "<day></day>");
    assert_eq!(f.eval2(&v, "empty($day)").unwrap(), "true");
    f.set(&mut v, "day", "<day>2009-01-01</day>");
    assert_eq!(f.eval2(&v, "$day instance of xsd:date").unwrap(), "true");
    // XPath 1.0 keeps its number/boolean/string values.
    assert_eq!(f.eval(&v, "$n + 1").unwrap(), "8");
    // The assignment of a computed date writes its lexical form.
    let c = cp(
        f.src_expr2("$when + xsd:dayTimeDuration('P1D')"),
        f.to_var("when"),
    );
    f.run(&mut v, vec![c]).unwrap();
    assert_eq!(v.values[&f.var("when")].text(), "2008-01-02T00:00:00Z");
}

impl Fx {
    fn src_expr2(&mut self, text: &str) -> FromSpec {
        FromSpec::Expression(self.expr2(text))
    }
}

#[test]
fn insert_missing_to_data_creates_plain_paths() {
    let mut f = fx();
    let mut v = Vars::default();
    f.set(&mut v, "order", ORDER);
    let insert = |c: Copy| Copy {
        insert_missing_to_data: true,
        ..c
    };
    // Without the ODE flag a missing target is a selectionFailure.
    let plain = cp(f.src_expr("'x'"), f.dst_expr("$order/tns:note/tns:text"));
    assert_eq!(fault_name(f.run(&mut v, vec![plain])), "selectionFailure");
    let c1 = insert(cp(
        f.src_expr("'x'"),
        f.dst_expr("$order/tns:note/child::tns:text"),
    ));
    let c2 = insert(cp(
        f.src_expr("'y'"),
        f.dst_expr("$order/tns:note/@tns:lang"),
    ));
    // An existing step is reused, not duplicated.
    let c3 = insert(cp(
        f.src_expr("'z'"),
        f.dst_expr("$order/tns:note/tns:more"),
    ));
    f.run(&mut v, vec![c1, c2, c3]).unwrap();
    assert_eq!(f.value(&v, "$order/tns:note/tns:text"), "x");
    assert_eq!(f.value(&v, "$order/tns:note/@tns:lang"), "y");
    assert_eq!(f.value(&v, "count($order/tns:note)"), "1");
    assert_eq!(f.value(&v, "$order/tns:note/tns:more"), "z");
    // A query on the variable, absolute (naming the root element) or not.
    let q1 = f.query("/tns:order/tns:extra");
    let q2 = f.query("/tns:other");
    let order = f.var("order");
    let to_q = |q| ToSpec::Variable {
        variable: order,
        part: None,
        query: Some(q),
    };
    let c4 = insert(cp(f.src_expr("'e'"), to_q(q1)));
    let c5 = insert(cp(f.src_expr("'o'"), to_q(q2)));
    f.run(&mut v, vec![c4, c5]).unwrap();
    assert_eq!(f.value(&v, "$order/tns:extra"), "e");
    assert_eq!(f.value(&v, "$order/tns:other"), "o");
    // Predicates cannot be inserted.
    let c6 = insert(cp(f.src_expr("'p'"), f.dst_expr("$order/tns:id[3]")));
    assert_eq!(fault_name(f.run(&mut v, vec![c6])), "selectionFailure");
}

#[test]
fn ignore_uninitialized_from_variable_skips_the_copy() {
    let mut f = fx();
    let mut v = Vars::default();
    let plain = cp(f.src_expr("$s"), f.to_var("s2"));
    assert_eq!(
        fault_name(f.run(&mut v, vec![plain])),
        "uninitializedVariable"
    );
    let ignoring = Copy {
        ignore_uninitialized_from_variable: true,
        ..cp(f.src_expr("$s"), f.to_var("s2"))
    };
    let then = cp(f.src_expr("'after'"), f.to_var("s"));
    f.run(&mut v, vec![ignoring, then]).unwrap();
    assert!(!v.values.contains_key(&f.var("s2")));
    assert_eq!(v.values[&f.var("s")].text(), "after");
    // Other faults are not ignored.
    f.set(&mut v, "order", ORDER);
    let many = Copy {
        ignore_uninitialized_from_variable: true,
        ..cp(f.src_expr("$order/*"), f.to_var("s2"))
    };
    assert_eq!(fault_name(f.run(&mut v, vec![many])), "selectionFailure");
}

#[test]
fn header_parts_hold_their_element() {
    let mut f = fx();
    let mut v = Vars::default();
    f.set(
        &mut v,
        "msg",
        "<message><order><tns:order xmlns:tns='urn:t'><tns:id>A1</tns:id></tns:order></order></message>",
    );
    // ODE's `<to variable="msg" header="hdr">`: a part the message type does not declare.
    let msg_var = f.var("msg");
    let to_header = |q| ToSpec::Variable {
        variable: msg_var,
        part: Some("hdr".to_owned()),
        query: q,
    };
    let c1 = cp(literal("<tns:h><tns:f/></tns:h>"), to_header(None));
    let q = f.query("tns:f");
    let c2 = cp(f.src_expr("'v'"), to_header(Some(q)));
    f.run(&mut v, vec![c1, c2]).unwrap();
    let msg = f.get(&v, "msg");
    assert!(
        msg.contains("<hdr><tns:h xmlns:tns=\"urn:t\"><tns:f>v</tns:f></tns:h></hdr>"),
        "{msg}"
    );
    assert_eq!(f.value(&v, "$msg.hdr/tns:f"), "v");
    // The declared part is untouched.
    assert_eq!(f.value(&v, "$msg.order/tns:id"), "A1");
}

#[test]
fn absolute_queries_fall_back_to_the_part() {
    let mut f = fx();
    let mut v = Vars::default();
    f.set(
        &mut v,
        "msg",
        "<message><order><tns:order xmlns:tns='urn:t'><tns:id>A1</tns:id></tns:order></order></message>",
    );
    let from_q = |f: &mut Fx, q: &str| FromSpec::Variable {
        variable: f.var("msg"),
        part: Some("order".to_owned()),
        query: Some(f.query(q)),
    };
    // BPEL4WS style names the part element first; ODE processes also write `/child`.
    let a = cp(from_q(&mut f, "/tns:order/tns:id"), f.to_var("s"));
    let b = cp(from_q(&mut f, "/tns:id"), f.to_var("s2"));
    f.run(&mut v, vec![a, b]).unwrap();
    assert_eq!(v.values[&f.var("s")].text(), "A1");
    assert_eq!(v.values[&f.var("s2")].text(), "A1");
    let none = cp(from_q(&mut f, "/tns:nothing"), f.to_var("s"));
    assert_eq!(fault_name(f.run(&mut v, vec![none])), "selectionFailure");
}
