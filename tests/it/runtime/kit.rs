//! A test kit: one WSDL shared by small inline BPEL processes, written to a temp package.
//!
//! `urn:t` defines portType `Test` (myRole of partner link `client`): `run(Req) -> Resp` with
//! fault `oops(Fault)`, `next(Req) -> Resp`, one-way `start(Req)` and `ping(Req)`; portType
//! `Partner` (partner link `partner`): `call(Req) -> Resp` with fault `bad(Fault)`, one-way
//! `notify(Req)`. `Req` has string parts `in` and `key`; `Resp` has `out`; property `t:key` is
//! aliased to `Req.key` and `Resp.out`.

use std::sync::Arc;

use bpelgate::compiler;
use bpelgate::deploy::{BpelCompiler, BuildContext, DescriptorMode, PackageState, Registry, build};
use bpelgate::events::{
    DefaultEvents, Event, EventBus, EventKind, EventQuery, EventType, InstanceState, RecentEvents,
};
use bpelgate::router::{Router, RouterConfig};
use bpelgate_wsdl::xml::{Limits, QName};

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
    match deploy_with(bpel, compiler::Options::default()) {
        Ok(deployed) => deployed,
        Err(errors) => panic!("{errors:#?}"),
    }
}

/// [`deploy`] with explicit compiler options; the package's errors when it does not deploy.
pub(crate) fn deploy_with(
    bpel: &str,
    options: compiler::Options,
) -> Result<(Engine, tempfile::TempDir), Vec<String>> {
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
            compiler: options,
        },
        DescriptorMode::Required,
    );
    let info = registry.install("pkg", result);
    if info.state != PackageState::Deployed {
        return Err(info.errors);
    }
    Ok((Engine { registry, router }, dir))
}

/// A `Req` message.
pub(crate) fn req(input: &str, key: &str) -> String {
    format!("<message><in>{input}</in><key>{key}</key></message>")
}

// ------------------------------------------------------------------ events and several packages

/// A `<receive>` of `run` creating the instance into `req`.
pub(crate) const RECEIVE: &str =
    r#"<receive partnerLink="client" operation="run" variable="req" createInstance="yes"/>"#;

/// The `<reply>` of `run` from `resp`.
pub(crate) const REPLY: &str = r#"<reply partnerLink="client" operation="run" variable="resp"/>"#;

/// `<sequence>` receive `run`, `middle`, reply `run`.
pub(crate) fn echo(middle: &str) -> String {
    format!("<sequence>{RECEIVE}{middle}{REPLY}</sequence>")
}

/// An assign of XPath `expr` to `resp.out`.
pub(crate) fn set_out(expr: &str) -> String {
    format!(r#"<assign><copy><from>{expr}</from><to variable="resp" part="out"/></copy></assign>"#)
}

/// An assign appending `text` (an XPath string literal's contents) to string variable `log`.
pub(crate) fn log(text: &str) -> String {
    format!(
        r#"<assign><copy><from>concat($log, '{text}')</from><to variable="log"/></copy></assign>"#
    )
}

/// Declaration of the string variable `log` used by [`log`], initialised to ''.
pub(crate) const LOG_DECL: &str =
    r#"<variable name="log" type="xsd:string"><from>''</from></variable>"#;

/// The `Resp` message text `<message><out>{out}</out></message>`.
pub(crate) fn resp(out: &str) -> String {
    format!("<message><out>{out}</out></message>")
}

/// A partner process `{urn:q}Q` around `body`: partner link `client` (myRole `partner` of
/// `t:PartnerPLT`, so it implements portType `Partner`), variables `req`, `resp`, `flt` plus
/// `decls`, correlation set `cs` on `t:key`. Deploy it with [`PARTNER_DEPLOY`].
pub(crate) fn partner_process(decls: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0"?>
<process name="Q" targetNamespace="urn:q"
    xmlns="http://docs.oasis-open.org/wsbpel/2.0/process/executable"
    xmlns:t="urn:t" xmlns:q="urn:q" xmlns:xsd="http://www.w3.org/2001/XMLSchema">
  <import namespace="urn:t" location="test.wsdl" importType="http://schemas.xmlsoap.org/wsdl/"/>
  <partnerLinks>
    <partnerLink name="client" partnerLinkType="t:PartnerPLT" myRole="partner"/>
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

/// deploy.xml of the main process (`p:P`, providing `TestService`, invoking `PartnerService`).
pub(crate) const MAIN_DEPLOY: &str = DEPLOY;

/// deploy.xml of [`partner_process`]: provides `t:PartnerService`, so the main process's
/// invokes reach it peer-to-peer.
pub(crate) const PARTNER_DEPLOY: &str = r#"<deploy xmlns="http://www.apache.org/ode/schemas/dd/2007/03" xmlns:q="urn:q" xmlns:t="urn:t">
  <process name="q:Q">
    <provide partnerLink="client"><service name="t:PartnerService" port="PartnerPort"/></provide>
  </process>
</deploy>"#;

/// The main deploy.xml with `extra` placed inside `<process name="p:P">` (e.g. a
/// `<process-events>` element).
pub(crate) fn main_deploy_with(extra: &str) -> String {
    format!(
        r#"<deploy xmlns="http://www.apache.org/ode/schemas/dd/2007/03" xmlns:p="urn:p" xmlns:t="urn:t">
  <process name="p:P">
    <provide partnerLink="client"><service name="t:TestService" port="TestPort"/></provide>
    <invoke partnerLink="partner"><service name="t:PartnerService" port="PartnerPort"/></invoke>
    {extra}
  </process>
</deploy>"#
    )
}

/// One package to deploy: a directory `name` with the shared WSDL as `test.wsdl`, the process
/// as `p.bpel`, `deploy.xml`, and extra `files`.
pub(crate) struct Pkg<'a> {
    /// Package (directory) name.
    pub(crate) name: &'a str,
    /// The BPEL text.
    pub(crate) bpel: &'a str,
    /// The deploy.xml text.
    pub(crate) deploy: &'a str,
    /// Extra files (name, text), e.g. stylesheets.
    pub(crate) files: &'a [(&'a str, &'a str)],
}

/// Deploys `pkgs` into one registry with a router generating every event category by default
/// (processes whose deploy.xml has no `<process-events>`), recorded in the returned log.
pub(crate) fn deploy_all(pkgs: &[Pkg<'_>]) -> (Engine, Arc<RecentEvents>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = Arc::new(RecentEvents::new(100_000));
    let bus = EventBus::new();
    bus.add_listener(log.clone());
    let registry = Arc::new(Registry::default());
    let router = Router::new(
        &registry,
        RouterConfig {
            deploy_dir: dir.path().to_path_buf(),
            reply_timeout: std::time::Duration::from_secs(10),
            early_message_timeout: std::time::Duration::from_secs(5),
            default_events: DefaultEvents::All,
            events: bus,
            ..RouterConfig::default()
        },
    );
    for p in pkgs {
        let pkg = dir.path().join(p.name);
        std::fs::create_dir_all(&pkg).expect("package dir");
        std::fs::write(pkg.join("test.wsdl"), TEST_WSDL).expect("write wsdl");
        std::fs::write(pkg.join("p.bpel"), p.bpel).expect("write bpel");
        std::fs::write(pkg.join("deploy.xml"), p.deploy).expect("write deploy.xml");
        for (f, text) in p.files {
            std::fs::write(pkg.join(f), text).expect("write file");
        }
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
        let info = registry.install(p.name, result);
        assert_eq!(
            info.state,
            PackageState::Deployed,
            "{}: {:#?}",
            p.name,
            info.errors
        );
    }
    (Engine { registry, router }, log, dir)
}

/// Deploys one process built by [`process`] with every event recorded.
pub(crate) fn deploy_traced(bpel: &str) -> (Engine, Arc<RecentEvents>, tempfile::TempDir) {
    deploy_files(bpel, &[])
}

/// [`deploy_traced`] with extra package files.
pub(crate) fn deploy_files(
    bpel: &str,
    files: &[(&str, &str)],
) -> (Engine, Arc<RecentEvents>, tempfile::TempDir) {
    deploy_all(&[Pkg {
        name: "main",
        bpel,
        deploy: MAIN_DEPLOY,
        files,
    }])
}

/// Deploys the main process and a [`partner_process`] in one registry (peer-to-peer invokes).
pub(crate) fn deploy_pair(
    main: &str,
    partner: &str,
) -> (Engine, Arc<RecentEvents>, tempfile::TempDir) {
    deploy_all(&[
        Pkg {
            name: "partner",
            bpel: partner,
            deploy: PARTNER_DEPLOY,
            files: &[],
        },
        Pkg {
            name: "main",
            bpel: main,
            deploy: MAIN_DEPLOY,
            files: &[],
        },
    ])
}

/// The process name of events of the main process.
pub(crate) fn main_name() -> QName {
    QName::new("urn:p", "P")
}

/// Ids of the instances of process `name` the log saw created, in creation order.
pub(crate) fn instances_of(log: &RecentEvents, name: &QName) -> Vec<i64> {
    let q = EventQuery {
        types: vec![EventType::NewProcessInstance],
        ..EventQuery::default()
    };
    log.recent(&q, usize::MAX)
        .iter()
        .filter(|e| *e.process_name == *name)
        .filter_map(|e| e.instance_id)
        .collect()
}

/// The only instance of the main process; panics unless exactly one was created.
pub(crate) fn only_instance(log: &RecentEvents) -> i64 {
    let ids = instances_of(log, &main_name());
    assert_eq!(ids.len(), 1, "expected one instance, got {ids:?}");
    ids[0]
}

/// ODE type names of `events`, in order.
pub(crate) fn types(events: &[Event]) -> Vec<&'static str> {
    events.iter().map(Event::ode_type).collect()
}

/// The activity kinds of the events of type `ty`, in order (`"receive"`, `"assign"`, ...).
pub(crate) fn activity_kinds(events: &[Event], ty: EventType) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.event_type() == ty)
        .filter_map(|e| e.activity.as_ref().map(|a| a.kind.to_string()))
        .collect()
}

/// The names of the scopes of events of type `ty`, in order (unnamed scopes as `"-"`).
pub(crate) fn scope_names(events: &[Event], ty: EventType) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.event_type() == ty)
        .map(|e| {
            e.scope
                .as_ref()
                .and_then(|s| s.name.as_deref())
                .unwrap_or("-")
                .to_string()
        })
        .collect()
}

/// The fault of the instance's `ProcessCompletion` event: `Some(None)` for a normal
/// completion, None when the instance did not complete (yet, or was terminated).
pub(crate) fn completion(events: &[Event]) -> Option<Option<QName>> {
    events.iter().find_map(|e| match &e.kind {
        EventKind::ProcessCompletion { fault } => Some(fault.clone()),
        _ => None,
    })
}

/// The instance's final state change, if it ended.
pub(crate) fn final_state(events: &[Event]) -> Option<InstanceState> {
    events.iter().rev().find_map(|e| match &e.kind {
        EventKind::ProcessInstanceStateChange { new_state, .. } if new_state.is_final() => {
            Some(*new_state)
        }
        _ => None,
    })
}

/// The faults of `ScopeFault` events, in order, as `{ns}local`.
pub(crate) fn scope_faults(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ScopeFault { fault, .. } => Some(fault.to_string()),
            _ => None,
        })
        .collect()
}

/// Polls `log` until instance `id`'s events satisfy `pred` (up to `secs` seconds); returns
/// them, or panics with what was seen.
pub(crate) async fn wait_events(
    log: &RecentEvents,
    id: i64,
    secs: u64,
    pred: impl Fn(&[Event]) -> bool,
) -> Vec<Event> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let ev = log.events_for(id);
        if pred(&ev) {
            return ev;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for events of instance {id}: {:?}",
            types(&ev)
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// Waits until instance `id` ended (a final state change was published) and returns its events.
pub(crate) async fn wait_end(log: &RecentEvents, id: i64) -> Vec<Event> {
    wait_events(log, id, 10, |ev| final_state(ev).is_some()).await
}

/// The standard fault `bpel:{local}` as `{ns}local`.
pub(crate) fn bpel_fault(local: &str) -> String {
    format!("{{http://docs.oasis-open.org/wsbpel/2.0/process/executable}}{local}")
}
