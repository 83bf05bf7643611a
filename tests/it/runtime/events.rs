//! The events themselves: what the instance-creating step publishes, deploy.xml filtering
//! (`<process-events>`, `<scope-events>`), scope information, ids and timestamps.

use std::collections::HashSet;

use bpelgate::events::{Category, EventQuery, EventType};

use super::kit::{
    LOG_DECL, MAIN_DEPLOY, Pkg, deploy_all, deploy_traced, echo, log, main_deploy_with,
    only_instance, process, req, resp, set_out, types, wait_end,
};
use super::output;

#[tokio::test]
async fn the_instance_creating_step_publishes_its_activity_events() {
    // Everything happens in the step that creates the instance.
    let (e, ev, _d) = deploy_traced(&process("", &echo(&set_out("'x'"))));
    assert_eq!(
        output(e.call("TestService", "run", &req("", "k")).await),
        resp("x")
    );
    let id = only_instance(&ev);
    let t = types(&ev.events_for(id));
    for want in [
        "ActivityExecStartEvent",
        "VariableModificationEvent",
        "ProcessMessageExchangeEvent",
        "ProcessCompletionEvent",
    ] {
        assert!(t.contains(&want), "no {want} in {t:?}");
    }
}

#[tokio::test]
async fn a_later_step_publishes_its_events_too() {
    let body = r#"<sequence>
        <receive partnerLink="client" operation="start" variable="req" createInstance="yes">
          <correlations><correlation set="cs" initiate="yes"/></correlations></receive>
        <receive partnerLink="client" operation="run" variable="req">
          <correlations><correlation set="cs"/></correlations></receive>
        <assign><copy><from>'later'</from><to variable="resp" part="out"/></copy></assign>
        <reply partnerLink="client" operation="run" variable="resp"/>
      </sequence>"#;
    let (e, ev, _d) = deploy_traced(&process("", body));
    e.send("TestService", "start", &req("", "K")).await;
    assert_eq!(
        output(e.call("TestService", "run", &req("", "K")).await),
        resp("later")
    );
    let events = wait_end(&ev, only_instance(&ev)).await;
    let ends = super::kit::activity_kinds(&events, EventType::ActivityExecEnd);
    assert_eq!(ends, ["receive", "receive", "assign", "reply", "sequence"]);
}

#[tokio::test]
async fn generate_none_with_enabled_categories_filters_events() {
    let dd = main_deploy_with(
        r#"<process-events generate="none"><enable-event>instanceLifecycle</enable-event></process-events>"#,
    );
    let bpel = process("", &echo(&set_out("'x'")));
    let (e, ev, _d) = deploy_all(&[Pkg {
        name: "main",
        bpel: &bpel,
        deploy: &dd,
        files: &[],
    }]);
    assert_eq!(
        output(e.call("TestService", "run", &req("", "k")).await),
        resp("x")
    );
    let events = wait_end(&ev, only_instance(&ev)).await;
    let cats: HashSet<Category> = events.iter().map(|e| e.category()).collect();
    assert_eq!(cats, HashSet::from([Category::InstanceLifecycle]));
    assert!(types(&events).contains(&"ProcessCompletionEvent"));
}

#[tokio::test]
async fn scope_events_enable_categories_inside_one_scope() {
    let dd = main_deploy_with(
        r#"<process-events><scope-events name="inside"><enable-event>activityLifecycle</enable-event></scope-events></process-events>"#,
    );
    let body = echo(&format!(
        r#"{}<scope name="inside"><sequence>{}<empty name="deep"/></sequence></scope>{}"#,
        log("out,"),
        log("in,"),
        set_out("$log")
    ));
    let bpel = process(LOG_DECL, &body);
    let (e, ev, _d) = deploy_all(&[Pkg {
        name: "main",
        bpel: &bpel,
        deploy: &dd,
        files: &[],
    }]);
    assert_eq!(
        output(e.call("TestService", "run", &req("", "k")).await),
        resp("out,in,")
    );
    // Nothing is enabled at process level, so there is no NewProcessInstance to find the
    // instance by: take every event of the process.
    let q = EventQuery::default();
    let events = ev.recent(&q, usize::MAX);
    assert!(!events.is_empty(), "the scope's activities report events");
    assert!(
        events
            .iter()
            .all(|e| e.category() == Category::ActivityLifecycle),
        "{:?}",
        types(&events)
    );
    let kinds: Vec<String> = events
        .iter()
        .filter(|e| e.event_type() == EventType::ActivityExecStart)
        .filter_map(|e| e.activity.as_ref().map(|a| a.kind.to_string()))
        .collect();
    assert_eq!(
        kinds,
        ["sequence", "assign", "empty"],
        "only inside `inside`"
    );
    assert!(events.iter().all(|e| {
        e.scope
            .as_ref()
            .is_some_and(|s| s.parent_scope_names.iter().any(|n| &**n == "inside"))
    }));
}

#[tokio::test]
async fn generate_all_in_deploy_xml_overrides_a_silent_default() {
    // The kit's router enables everything by default; this checks deploy.xml `generate="all"`
    // is accepted and yields scope events (which ODE's default leaves out).
    let dd = main_deploy_with(r#"<process-events generate="all"/>"#);
    let bpel = process(
        "",
        &echo(&format!("<scope name=\"s\">{}</scope>", set_out("'x'"))),
    );
    let (e, ev, _d) = deploy_all(&[Pkg {
        name: "main",
        bpel: &bpel,
        deploy: &dd,
        files: &[],
    }]);
    assert_eq!(
        output(e.call("TestService", "run", &req("", "k")).await),
        resp("x")
    );
    let events = wait_end(&ev, only_instance(&ev)).await;
    let cats: HashSet<Category> = events.iter().map(|e| e.category()).collect();
    for c in [
        Category::InstanceLifecycle,
        Category::ActivityLifecycle,
        Category::DataHandling,
        Category::ScopeHandling,
    ] {
        assert!(cats.contains(&c), "{c} missing");
    }
    // Unchanged kit deploy.xml still works side by side.
    assert!(MAIN_DEPLOY.contains("TestService"));
}

#[tokio::test]
async fn scope_information_nests_and_ids_are_consistent() {
    let body = echo(&format!(
        r#"<scope name="outer"><sequence><scope><scope name="inner">{}</scope></scope></sequence></scope>"#,
        set_out("'x'")
    ));
    let (e, ev, _d) = deploy_traced(&process("", &body));
    assert_eq!(
        output(e.call("TestService", "run", &req("", "k")).await),
        resp("x")
    );
    let events = wait_end(&ev, only_instance(&ev)).await;
    let starts: Vec<_> = events
        .iter()
        .filter(|e| e.event_type() == EventType::ScopeStart)
        .filter_map(|e| e.scope.clone())
        .collect();
    assert_eq!(starts.len(), 4, "process, outer, unnamed, inner");
    let inner = starts
        .iter()
        .find(|s| s.name.as_deref() == Some("inner"))
        .expect("inner");
    let names: Vec<&str> = inner.parent_scope_names.iter().map(|n| &**n).collect();
    assert_eq!(names, ["inner", "outer"], "named scopes, innermost first");
    // Each scope's parent is the scope started before it.
    for w in starts.windows(2) {
        assert_eq!(
            w[1].parent_scope_instance_id,
            Some(w[0].scope_instance_id),
            "{starts:?}"
        );
    }
    // The assign runs in `inner`.
    let assign = events
        .iter()
        .find(|e| {
            e.event_type() == EventType::ActivityExecStart
                && e.activity.as_ref().is_some_and(|a| a.kind == "assign")
        })
        .expect("assign start");
    assert_eq!(
        assign.scope.as_ref().map(|s| s.scope_instance_id),
        Some(inner.scope_instance_id)
    );
    // Timestamps never go back; activity instance ids are unique per execution.
    assert!(
        events
            .windows(2)
            .all(|w| w[0].timestamp_ms <= w[1].timestamp_ms)
    );
    let ids: Vec<u64> = events
        .iter()
        .filter(|e| e.event_type() == EventType::ActivityExecStart)
        .filter_map(|e| e.activity.as_ref().map(|a| a.activity_instance_id))
        .collect();
    let unique: HashSet<u64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len());
    // Lines point into the BPEL.
    assert!(assign.line.is_some_and(|l| l > 1));
}

#[tokio::test]
async fn events_serialize_with_ode_type_names() {
    let (e, ev, _d) = deploy_traced(&process("", &echo(&set_out("'x'"))));
    output(e.call("TestService", "run", &req("", "k")).await);
    let events = wait_end(&ev, only_instance(&ev)).await;
    let json = serde_json::to_value(&events).expect("events serialize");
    let arr = json.as_array().expect("array");
    assert_eq!(arr.len(), events.len());
    assert_eq!(arr[0]["type"], "NewProcessInstanceEvent");
    assert_eq!(arr[0]["category"], "instanceLifecycle");
    assert_eq!(arr[0]["process_name"], "{urn:p}P");
    let last_completion = arr
        .iter()
        .find(|v| v["type"] == "ProcessCompletionEvent")
        .expect("completion");
    assert!(last_completion["fault"].is_null());
}
