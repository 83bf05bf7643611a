use super::*;

fn parse_ok(text: &str) -> Descriptor {
    match parse(text.as_bytes(), "deploy.xml", &Limits::default()) {
        Ok(d) => d,
        Err(e) => panic!("unexpected errors: {e:#?}"),
    }
}

fn parse_err(text: &str) -> Vec<String> {
    parse(text.as_bytes(), "deploy.xml", &Limits::default())
        .expect_err("expected errors")
        .iter()
        .map(ToString::to_string)
        .collect()
}

const FULL: &str = r#"<?xml version="1.0"?>
<deploy xmlns="http://www.apache.org/ode/schemas/dd/2007/03"
        xmlns:p="urn:proc" xmlns:w="urn:wsdl" xmlns:foo="urn:foo">
  <process name="p:Proc" fileName="Proc.bpel">
    <property name="knob">42</property>
    <property name="p:xmlProp"><foo:cfg a="1"/></property>
    <in-memory>true</in-memory>
    <retired>false</retired>
    <active>false</active>
    <type>p:ProcType</type>
    <process-events generate="none">
      <enable-event>instanceLifecycle</enable-event>
      <scope-events name="inner"><enable-event>dataHandling</enable-event></scope-events>
    </process-events>
    <foo:unknown>ignored</foo:unknown>
    <provide partnerLink="client" correlationFilter="w:filter">
      <service name="w:Svc" port="Port">
        <endpoint xmlns="http://wso2.org/bps/bpel/endpoint/config" endpointReference="x.epr"
                  serviceDescriptionReference="services.xml">
          <mex-timeout value="5000"/>
        </endpoint>
      </service>
      <enableSharing/>
    </provide>
    <invoke partnerLink="partner" usePeer2Peer="false">
      <service name="w:Partner" port="PartnerPort">
        <endpoint xmlns="http://wso2.org/bps/bpel/endpoint/config">
          <wsa:EndpointReference xmlns:wsa="http://www.w3.org/2005/08/addressing">
            <wsa:Address>http://inline/</wsa:Address>
          </wsa:EndpointReference>
        </endpoint>
      </service>
      <binding name="w:PartnerBinding"/>
      <ext:failureHandling xmlns:ext="http://ode.apache.org/activityRecovery">
        <ext:retryFor>3</ext:retryFor>
        <ext:retryDelay>10</ext:retryDelay>
        <ext:faultOnFailure>true</ext:faultOnFailure>
      </ext:failureHandling>
    </invoke>
    <invoke partnerLink="p2p"/>
    <mex-interceptors><mex-interceptor><class-name>a.B</class-name></mex-interceptor></mex-interceptors>
    <cleanup on="success"><category>all</category></cleanup>
    <cleanup on="failure"><category>messages</category></cleanup>
    <schedule when="0 0 * * * ?">
      <cleanup><filter>status=completed</filter><category>events</category></cleanup>
    </schedule>
  </process>
</deploy>"#;

#[test]
fn parses_every_element_in_any_order() {
    let d = parse_ok(FULL);
    assert_eq!(d.processes.len(), 1);
    let p = &d.processes[0];
    assert_eq!(p.name, QName::new("urn:proc", "Proc"));
    assert_eq!(p.file_name.as_deref(), Some("Proc.bpel"));
    assert!(!p.active && !p.retired && p.in_memory);
    assert_eq!(p.process_type, Some(QName::new("urn:proc", "ProcType")));
    // Unprefixed property names take deploy.xml's default namespace, as in ODE.
    assert_eq!(p.properties[0].name, QName::new(DD_NS, "knob"));
    assert_eq!(p.properties[0].value, PropertyValue::Text("42".into()));
    assert!(matches!(&p.properties[1].value, PropertyValue::Xml(v) if v[0].name.local == "cfg"));
    let ev = p.events.as_ref().unwrap();
    assert_eq!(ev.generate, Some(Generate::None));
    assert!(ev.enabled.contains(&EventCategory::InstanceLifecycle));
    assert_eq!(ev.scopes[0].name, "inner");
    assert!(ev.scopes[0].enabled.contains(&EventCategory::DataHandling));

    let pr = &p.provides[0];
    assert_eq!(pr.partner_link, "client");
    assert!(pr.enable_sharing);
    assert_eq!(
        pr.correlation_filter,
        Some(QName::new("urn:wsdl", "filter"))
    );
    assert_eq!(pr.service.name, QName::new("urn:wsdl", "Svc"));
    assert_eq!(pr.service.port, "Port");
    let ep = pr.service.endpoint.as_ref().unwrap();
    assert_eq!(ep.endpoint_reference.as_deref(), Some("x.epr"));
    assert_eq!(
        ep.service_description_reference.as_deref(),
        Some("services.xml")
    );
    assert_eq!(ep.mex_timeout_ms, Some(5000));

    let inv = &p.invokes[0];
    assert!(!inv.use_peer2peer);
    assert_eq!(inv.binding, Some(QName::new("urn:wsdl", "PartnerBinding")));
    assert_eq!(
        inv.failure_handling,
        Some(FailureHandling {
            retry_for: 3,
            retry_delay_s: 10,
            fault_on_failure: true
        })
    );
    let inline = inv.service.as_ref().unwrap().endpoint.as_ref().unwrap();
    assert!(inline.inline_epr.is_some());
    assert!(p.invokes[1].use_peer2peer, "usePeer2Peer defaults to true");
    assert!(p.invokes[1].service.is_none());
    assert_eq!(p.mex_interceptors, vec!["a.B".to_string()]);
    assert_eq!(p.cleanups.len(), 2);
    assert_eq!(p.cleanups[0].on, Some(CleanupOn::Success));
    assert_eq!(p.cleanups[0].categories.len(), 5);
    assert_eq!(p.schedules[0].when, "0 0 * * * ?");
    assert_eq!(p.schedules[0].cleanups[0].filters, vec!["status=completed"]);
}

#[test]
fn defaults() {
    let d = parse_ok(
        r#"<deploy xmlns="http://www.apache.org/ode/schemas/dd/2007/03" xmlns:p="urn:p"><process name="p:A"/></deploy>"#,
    );
    let p = &d.processes[0];
    assert!(p.active && !p.retired && !p.in_memory);
    assert!(p.events.is_none() && p.provides.is_empty());
}

#[test]
fn bad_values_are_reported_with_positions() {
    let errs = parse_err(
        r#"<deploy xmlns="http://www.apache.org/ode/schemas/dd/2007/03" xmlns:p="urn:p">
  <process name="p:A">
    <active>yes</active>
    <process-events generate="some"><enable-event>everything</enable-event></process-events>
    <provide partnerLink="c"><service name="q:S" port="P"/></provide>
    <cleanup on="success"><category>instance</category></cleanup>
  </process>
  <process name="p:A"/>
</deploy>"#,
    );
    let all = errs.join("\n");
    assert!(
        all.contains("deploy.xml:3:5: BG-DEPLOY-003: <active>: 'yes'"),
        "{all}"
    );
    assert!(all.contains("'some'"), "{all}");
    assert!(all.contains("'everything'"), "{all}");
    assert!(all.contains("prefix 'q'"), "{all}");
    assert!(
        all.contains("'instance' needs 'variables' and 'correlations'"),
        "{all}"
    );
    assert!(all.contains("listed twice"), "{all}");
}

#[test]
fn instance_cleanup_with_variables_and_correlations_is_fine() {
    parse_ok(
        r#"<deploy xmlns="http://www.apache.org/ode/schemas/dd/2007/03" xmlns:p="urn:p"><process name="p:A">
  <cleanup on="always"><category>instance</category><category>variables</category><category>correlations</category></cleanup>
</process></deploy>"#,
    );
}

#[test]
fn wrong_root_and_malformed_xml() {
    let e = parse_err(r#"<deploy xmlns="urn:other"/>"#);
    assert!(e[0].contains("BG-DEPLOY-002"), "{e:?}");
    let e = parse_err("<deploy");
    assert!(e[0].starts_with("deploy.xml:"), "{e:?}");
}

#[test]
fn provide_needs_service() {
    let e = parse_err(
        r#"<deploy xmlns="http://www.apache.org/ode/schemas/dd/2007/03" xmlns:p="urn:p"><process name="p:A"><provide partnerLink="c"/></process></deploy>"#,
    );
    assert!(e[0].contains("needs a <service"), "{e:?}");
}
