//! A test kit: one WSDL shared by small inline BPEL processes, written to a temp package.
//!
//! `urn:t` defines portType `Test` (myRole of partner link `client`): `run(Req) -> Resp` with
//! fault `oops(Fault)`, `next(Req) -> Resp`, one-way `start(Req)` and `ping(Req)`; portType
//! `Partner` (partner link `partner`): `call(Req) -> Resp` with fault `bad(Fault)`, one-way
//! `notify(Req)`. `Req` has string parts `in` and `key`; `Resp` has `out`; property `t:key` is
//! aliased to `Req.key` and `Resp.out`.

use std::sync::Arc;

use bpelgate::deploy::{BpelCompiler, BuildContext, DescriptorMode, PackageState, Registry, build};
use bpelgate::router::{Router, RouterConfig};
use bpelgate_wsdl::xml::Limits;

use super::Engine;

pub(crate) const TEST_WSDL: &str = r#"<?xml version="1.0"?>
<definitions name="t" targetNamespace="urn:t"
    xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:t="urn:t"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:plnk="http://docs.oasis-open.org/wsbpel/2.0/plnktype"
    xmlns:vprop="http://docs.oasis-open.org/wsbpel/2.0/varprop">
  <types>
    <xsd:schema targetNamespace="urn:t" elementFormDefault="qualified">
      <xsd:element name="order">
        <xsd:complexType><xsd:sequence>
          <xsd:element name="id" type="xsd:string"/>
          <xsd:element name="qty" type="xsd:int"/>
        </xsd:sequence></xsd:complexType>
      </xsd:element>
    </xsd:schema>
  </types>
  <message name="Req"><part name="in" type="xsd:string"/><part name="key" type="xsd:string"/></message>
  <message name="Resp"><part name="out" type="xsd:string"/></message>
  <message name="Fault"><part name="detail" type="xsd:string"/></message>
  <message name="OrderMsg"><part name="order" element="t:order"/></message>
  <portType name="Test">
    <operation name="run"><input message="t:Req"/><output message="t:Resp"/><fault name="oops" message="t:Fault"/></operation>
    <operation name="next"><input message="t:Req"/><output message="t:Resp"/></operation>
    <operation name="start"><input message="t:Req"/></operation>
    <operation name="ping"><input message="t:Req"/></operation>
  </portType>
  <portType name="Partner">
    <operation name="call"><input message="t:Req"/><output message="t:Resp"/><fault name="bad" message="t:Fault"/></operation>
    <operation name="notify"><input message="t:Req"/></operation>
  </portType>
  <plnk:partnerLinkType name="TestPLT"><plnk:role name="tester" portType="t:Test"/></plnk:partnerLinkType>
  <plnk:partnerLinkType name="PartnerPLT"><plnk:role name="partner" portType="t:Partner"/></plnk:partnerLinkType>
  <vprop:property name="key" type="xsd:string"/>
  <vprop:propertyAlias propertyName="t:key" messageType="t:Req" part="key"/>
  <vprop:propertyAlias propertyName="t:key" messageType="t:Resp" part="out"/>
  <binding name="TestBinding" type="t:Test">
    <soap:binding style="rpc" transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="run"><soap:operation soapAction="run"/><input><soap:body use="literal" namespace="urn:t"/></input><output><soap:body use="literal" namespace="urn:t"/></output><fault name="oops"><soap:fault name="oops" use="literal"/></fault></operation>
    <operation name="next"><soap:operation soapAction="next"/><input><soap:body use="literal" namespace="urn:t"/></input><output><soap:body use="literal" namespace="urn:t"/></output></operation>
    <operation name="start"><soap:operation soapAction="start"/><input><soap:body use="literal" namespace="urn:t"/></input></operation>
    <operation name="ping"><soap:operation soapAction="ping"/><input><soap:body use="literal" namespace="urn:t"/></input></operation>
  </binding>
  <binding name="PartnerBinding" type="t:Partner">
    <soap:binding style="rpc" transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="call"><soap:operation soapAction="call"/><input><soap:body use="literal" namespace="urn:t"/></input><output><soap:body use="literal" namespace="urn:t"/></output><fault name="bad"><soap:fault name="bad" use="literal"/></fault></operation>
    <operation name="notify"><soap:operation soapAction="notify"/><input><soap:body use="literal" namespace="urn:t"/></input></operation>
  </binding>
  <service name="TestService"><port name="TestPort" binding="t:TestBinding"><soap:address location="http://localhost:9763/services/TestService"/></port></service>
  <service name="PartnerService"><port name="PartnerPort" binding="t:PartnerBinding"><soap:address location="http://localhost:9/services/PartnerService"/></port></service>
</definitions>
"#;

/// A process around `body`, with variables `req` (Req), `resp` (Resp), `flt` (Fault) plus
/// `decls` (extra declarations placed inside `<variables>`), partner links `client` and
/// `partner`, and correlation set `cs` on `t:key`.
pub(crate) fn process(decls: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0"?>
<process name="P" targetNamespace="urn:p"
    xmlns="http://docs.oasis-open.org/wsbpel/2.0/process/executable"
    xmlns:t="urn:t" xmlns:p="urn:p" xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    xmlns:bpel="http://docs.oasis-open.org/wsbpel/2.0/process/executable">
  <import namespace="urn:t" location="test.wsdl" importType="http://schemas.xmlsoap.org/wsdl/"/>
  <partnerLinks>
    <partnerLink name="client" partnerLinkType="t:TestPLT" myRole="tester"/>
    <partnerLink name="partner" partnerLinkType="t:PartnerPLT" partnerRole="partner"/>
  </partnerLinks>
  <variables>
    <variable name="req" messageType="t:Req"/>
    <variable name="resp" messageType="t:Resp"/>
    <variable name="flt" messageType="t:Fault"/>
    {decls}
  </variables>
  <correlationSets><correlationSet name="cs" properties="t:key"/></correlationSets>
  {body}
</process>
"#
    )
}

const DEPLOY: &str = r#"<deploy xmlns="http://www.apache.org/ode/schemas/dd/2007/03" xmlns:p="urn:p" xmlns:t="urn:t">
  <process name="p:P">
    <provide partnerLink="client"><service name="t:TestService" port="TestPort"/></provide>
    <invoke partnerLink="partner"><service name="t:PartnerService" port="PartnerPort"/></invoke>
  </process>
</deploy>"#;

/// Deploys a process built by [`process`] (panics with the compiler's errors when it fails).
pub(crate) fn deploy(bpel: &str) -> (Engine, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let pkg = dir.path().join("pkg");
    std::fs::create_dir_all(&pkg).expect("package dir");
    std::fs::write(pkg.join("test.wsdl"), TEST_WSDL).expect("write wsdl");
    std::fs::write(pkg.join("p.bpel"), bpel).expect("write bpel");
    std::fs::write(pkg.join("deploy.xml"), DEPLOY).expect("write deploy.xml");
    let registry = Arc::new(Registry::default());
    let router = Router::new(
        &registry,
        RouterConfig {
            deploy_dir: dir.path().to_path_buf(),
            reply_timeout: std::time::Duration::from_secs(10),
            early_message_timeout: std::time::Duration::from_secs(5),
            ..RouterConfig::default()
        },
    );
    let result = build(
        &pkg,
        &BpelCompiler,
        &BuildContext {
            conf_dir: dir.path().to_path_buf(),
            limits: Limits::default(),
            compiler: Default::default(),
        },
        DescriptorMode::Required,
    );
    let info = registry.install("pkg", result);
    assert_eq!(info.state, PackageState::Deployed, "{:#?}", info.errors);
    (Engine { registry, router }, dir)
}

/// A `Req` message.
pub(crate) fn req(input: &str, key: &str) -> String {
    format!("<message><in>{input}</in><key>{key}</key></message>")
}
