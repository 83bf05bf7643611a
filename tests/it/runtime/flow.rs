//! `<flow>`: concurrency, links, transition conditions, join conditions and dead-path
//! elimination.

use bpelgate::events::{EventKind, EventType};

use super::kit::{
    LOG_DECL, activity_kinds, bpel_fault, completion, deploy_traced, echo, log, only_instance,
    process, req, resp, scope_faults, set_out, wait_end,
};
use super::{fault, output};

/// An assign named `name` appending `name` to `$log`, with `links` (sources/targets XML).
fn step(name: &str, links: &str) -> String {
    format!(
        r#"<assign name="{name}">{links}<copy><from>concat($log, '{name}')</from><to variable="log"/></copy></assign>"#
    )
}

/// The names of the assigns that ran (ActivityExecStart events with a name), in order.
fn ran(events: &[bpelgate::events::Event]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.event_type() == EventType::ActivityExecStart)
        .filter_map(|e| e.activity.as_ref())
        .filter(|a| a.kind == "assign")
        .filter_map(|a| a.name.as_deref().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn links_order_activities_declared_in_reverse() {
    let flow = format!(
        r#"<flow><links><link name="ab"/><link name="bc"/></links>
             {}{}{}
           </flow>"#,
        step("c", r#"<targets><target linkName="bc"/></targets>"#),
        step(
            "b",
            r#"<targets><target linkName="ab"/></targets><sources><source linkName="bc"/></sources>"#
        ),
        step("a", r#"<sources><source linkName="ab"/></sources>"#),
    );
    let (e, ev, _d) = deploy_traced(&process(
        LOG_DECL,
        &echo(&format!("{flow}{}", set_out("$log"))),
    ));
    assert_eq!(
        output(e.call("TestService", "run", &req("", "k")).await),
        resp("abc")
    );
    let events = wait_end(&ev, only_instance(&ev)).await;
    assert_eq!(ran(&events), ["a", "b", "c"]);
    let flow_end = activity_kinds(&events, EventType::ActivityExecEnd);
    assert_eq!(flow_end.iter().filter(|k| *k == "flow").count(), 1);
}

#[tokio::test]
async fn flow_without_links_runs_every_branch() {
    let flow = format!(
        "<flow>{}{}{}</flow>",
        step("x", ""),
        step("y", ""),
        step("z", "")
    );
    let (e, ev, _d) = deploy_traced(&process(
        LOG_DECL,
        &echo(&format!("{flow}{}", set_out("string(string-length($log))"))),
    ));
    assert_eq!(
        output(e.call("TestService", "run", &req("", "k")).await),
        resp("3")
    );
    let events = wait_end(&ev, only_instance(&ev)).await;
    let mut names = ran(&events);
    names.sort();
    assert_eq!(names, ["x", "y", "z"]);
}

#[tokio::test]
async fn transition_conditions_choose_the_path_and_dead_paths_are_skipped() {
    // a -> b when in = 'b', a -> c otherwise; b -> d: when b is skipped, d is skipped too
    // (dead-path elimination), while e (join of b and c) still runs.
    let flow = format!(
        r#"<flow suppressJoinFailure="yes">
             <links><link name="ab"/><link name="ac"/><link name="bd"/><link name="be"/><link name="ce"/></links>
             {}{}{}{}{}
           </flow>"#,
        step(
            "a",
            r#"<sources><source linkName="ab"><transitionCondition>$req.in = 'b'</transitionCondition></source>
                        <source linkName="ac"><transitionCondition>$req.in != 'b'</transitionCondition></source></sources>"#
        ),
        step(
            "b",
            r#"<targets><target linkName="ab"/></targets><sources><source linkName="bd"/><source linkName="be"/></sources>"#
        ),
        step(
            "c",
            r#"<targets><target linkName="ac"/></targets><sources><source linkName="ce"/></sources>"#
        ),
        step("d", r#"<targets><target linkName="bd"/></targets>"#),
        step(
            "e",
            r#"<targets><target linkName="be"/><target linkName="ce"/></targets>"#
        ),
    );
    let (e, ev, _d) = deploy_traced(&process(
        LOG_DECL,
        &echo(&format!("{flow}{}", set_out("$log"))),
    ));
    // d and e are both enabled by b: either order is right.
    let out = output(e.call("TestService", "run", &req("b", "k")).await);
    assert!(out == resp("abde") || out == resp("abed"), "{out}");
    assert_eq!(
        output(e.call("TestService", "run", &req("c", "k")).await),
        resp("ace")
    );
    let ids = super::kit::instances_of(&ev, &super::kit::main_name());
    let events = wait_end(&ev, ids[1]).await;
    assert_eq!(ran(&events), ["a", "c", "e"]);
    assert_eq!(completion(&events), Some(None));
}

#[tokio::test]
async fn join_condition_and_requires_both_links() {
    let flow = |suppress: &str| {
        format!(
            r#"<flow suppressJoinFailure="{suppress}">
                 <links><link name="l1"/><link name="l2"/></links>
                 {}{}{}
               </flow>"#,
            step("a", r#"<sources><source linkName="l1"/></sources>"#),
            step(
                "b",
                r#"<sources><source linkName="l2"><transitionCondition>$req.in = 'both'</transitionCondition></source></sources>"#
            ),
            step(
                "j",
                r#"<targets><joinCondition>$l1 and $l2</joinCondition><target linkName="l1"/><target linkName="l2"/></targets>"#
            ),
        )
    };
    // suppressJoinFailure="yes": a false join condition skips the target.
    let (e, ev, _d) = deploy_traced(&process(
        LOG_DECL,
        &echo(&format!("{}{}", flow("yes"), set_out("$log"))),
    ));
    let out = output(e.call("TestService", "run", &req("both", "k")).await);
    assert!(out == resp("abj") || out == resp("baj"), "{out}");
    let out = output(e.call("TestService", "run", &req("one", "k")).await);
    assert!(out == resp("ab") || out == resp("ba"), "{out}");
    let ids = super::kit::instances_of(&ev, &super::kit::main_name());
    let events = wait_end(&ev, ids[1]).await;
    assert!(!ran(&events).contains(&"j".to_string()));
    assert!(scope_faults(&events).is_empty(), "DPE is not a fault");

    // suppressJoinFailure="no": bpel:joinFailure, here caught by the enclosing scope.
    let body = echo(&format!(
        r#"<scope><faultHandlers><catch faultName="bpel:joinFailure">{}</catch></faultHandlers>{}</scope>"#,
        set_out("concat('joinFailure after ', $log)"),
        flow("no")
    ));
    let (e, ev, _d) = deploy_traced(&process(LOG_DECL, &body));
    let out = output(e.call("TestService", "run", &req("one", "k")).await);
    assert!(
        out == resp("joinFailure after ab") || out == resp("joinFailure after ba"),
        "{out}"
    );
    let events = wait_end(&ev, only_instance(&ev)).await;
    assert_eq!(scope_faults(&events), [bpel_fault("joinFailure")]);
    let failed: Vec<String> = events
        .iter()
        .filter(|e| e.event_type() == EventType::ActivityFailure)
        .filter_map(|e| e.activity.as_ref().and_then(|a| a.name.as_deref()))
        .map(str::to_string)
        .collect();
    assert!(failed.contains(&"j".to_string()), "{failed:?}");
}

#[tokio::test]
async fn default_join_condition_is_or_of_incoming_links() {
    let flow = format!(
        r#"<flow><links><link name="l1"/><link name="l2"/></links>
             {}{}{}
           </flow>"#,
        step(
            "a",
            r#"<sources><source linkName="l1"><transitionCondition>false()</transitionCondition></source></sources>"#
        ),
        step("b", r#"<sources><source linkName="l2"/></sources>"#),
        step(
            "j",
            r#"<targets><target linkName="l1"/><target linkName="l2"/></targets>"#
        ),
    );
    let (e, _ev, _d) = deploy_traced(&process(
        LOG_DECL,
        &echo(&format!("{flow}{}", set_out("substring($log, 3)"))),
    ));
    assert_eq!(
        output(e.call("TestService", "run", &req("", "k")).await),
        resp("j")
    );
}

#[tokio::test]
async fn uncaught_join_failure_faults_the_process() {
    let flow = format!(
        r#"<flow suppressJoinFailure="no"><links><link name="l"/></links>{}{}</flow>"#,
        step(
            "a",
            r#"<sources><source linkName="l"><transitionCondition>false()</transitionCondition></source></sources>"#
        ),
        step("b", r#"<targets><target linkName="l"/></targets>"#),
    );
    let (e, ev, _d) = deploy_traced(&process(
        LOG_DECL,
        &echo(&format!("{flow}{}", set_out("$log"))),
    ));
    let f = fault(e.call("TestService", "run", &req("", "k")).await);
    assert_eq!(f.to_string(), bpel_fault("joinFailure"));
    let events = wait_end(&ev, only_instance(&ev)).await;
    assert_eq!(
        completion(&events).flatten().map(|q| q.to_string()),
        Some(bpel_fault("joinFailure"))
    );
}

#[tokio::test]
async fn links_leaving_a_faulted_activity_are_dead() {
    // The link's source throws (the fault is handled by its scope): the link never fires, so its
    // target (suppressJoinFailure) is skipped.
    let flow = format!(
        r#"<flow suppressJoinFailure="yes"><links><link name="l"/></links>
             <scope name="s">
               <faultHandlers><catchAll>{}</catchAll></faultHandlers>
               <sequence>
                 <throw faultName="t:x"><sources><source linkName="l"/></sources></throw>
               </sequence>
             </scope>
             {}
           </flow>"#,
        log("handled,"),
        step("c", r#"<targets><target linkName="l"/></targets>"#),
    );
    let (e, ev, _d) = deploy_traced(&process(
        LOG_DECL,
        &echo(&format!("{flow}{}", set_out("$log"))),
    ));
    assert_eq!(
        output(e.call("TestService", "run", &req("", "k")).await),
        resp("handled,")
    );
    let events = wait_end(&ev, only_instance(&ev)).await;
    assert!(!ran(&events).contains(&"c".to_string()));
    assert!(events.iter().any(|e| matches!(
        &e.kind,
        EventKind::ScopeFault { fault, .. } if fault.to_string() == "{urn:t}x"
    )));
}
