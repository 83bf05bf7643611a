//! Compensation handlers (explicit and default, reverse order, `<compensateScope>`) and
//! termination handlers (explicit and default).

use bpelgate::events::EventType;

use super::kit::{
    LOG_DECL, activity_kinds, completion, deploy_traced, echo, log, only_instance, process, req,
    resp, scope_names, set_out, wait_end,
};
use super::output;

/// A scope `name` whose body logs `do<name>` and whose compensation handler logs `undo<name>`.
fn undoable(name: &str) -> String {
    format!(
        r#"<scope name="{name}">
             <compensationHandler>{}</compensationHandler>
             {}
           </scope>"#,
        log(&format!("undo{name},")),
        log(&format!("do{name},"))
    )
}

#[tokio::test]
async fn compensate_runs_installed_handlers_in_reverse_order() {
    let body = echo(&format!(
        r#"<scope name="work">
             <faultHandlers><catchAll><sequence><compensate/>{}</sequence></catchAll></faultHandlers>
             <sequence>{}{}{}<throw faultName="t:stop"/></sequence>
           </scope>"#,
        set_out("$log"),
        undoable("A"),
        undoable("B"),
        undoable("C")
    ));
    let (e, ev, _d) = deploy_traced(&process(LOG_DECL, &body));
    assert_eq!(
        output(e.call("TestService", "run", &req("", "k")).await),
        resp("doA,doB,doC,undoC,undoB,undoA,")
    );
    let events = wait_end(&ev, only_instance(&ev)).await;
    assert_eq!(
        scope_names(&events, EventType::CompensationHandlerRegistered),
        ["A", "B", "C"]
    );
    assert!(activity_kinds(&events, EventType::ActivityExecStart).contains(&"compensate".into()));
    assert_eq!(completion(&events), Some(None));
}

#[tokio::test]
async fn compensate_scope_runs_one_handler_once() {
    let body = echo(&format!(
        r#"<scope name="work">
             <faultHandlers><catchAll><sequence>
               <compensateScope target="A"/><compensateScope target="A"/><compensateScope target="C"/>{}
             </sequence></catchAll></faultHandlers>
             <sequence>{}{}{}<throw faultName="t:stop"/></sequence>
           </scope>"#,
        set_out("$log"),
        undoable("A"),
        undoable("B"),
        undoable("C")
    ));
    let (e, ev, _d) = deploy_traced(&process(LOG_DECL, &body));
    assert_eq!(
        output(e.call("TestService", "run", &req("", "k")).await),
        resp("doA,doB,doC,undoA,undoC,")
    );
    let events = wait_end(&ev, only_instance(&ev)).await;
    assert_eq!(
        activity_kinds(&events, EventType::ActivityExecStart)
            .iter()
            .filter(|k| *k == "compensateScope")
            .count(),
        3
    );
}

#[tokio::test]
async fn default_fault_handler_compensates_then_rethrows() {
    // `mid` has no fault handler: its default one compensates A and B (reverse order) and
    // rethrows to `top`, which replies with the log.
    let body = echo(&format!(
        r#"<scope name="top">
             <faultHandlers><catch faultName="t:stop">{}</catch></faultHandlers>
             <scope name="mid"><sequence>{}{}<throw faultName="t:stop"/></sequence></scope>
           </scope>"#,
        set_out("concat($log, 'caught')"),
        undoable("A"),
        undoable("B")
    ));
    let (e, ev, _d) = deploy_traced(&process(LOG_DECL, &body));
    assert_eq!(
        output(e.call("TestService", "run", &req("", "k")).await),
        resp("doA,doB,undoB,undoA,caught")
    );
    let events = wait_end(&ev, only_instance(&ev)).await;
    assert_eq!(
        scope_names(&events, EventType::ScopeFault),
        ["mid", "top"],
        "the fault went through mid to top"
    );
}

#[tokio::test]
async fn default_compensation_handler_compensates_nested_scopes() {
    // `outer` has no compensation handler: compensating it compensates its completed children
    // in reverse order.
    let body = echo(&format!(
        r#"<scope name="work">
             <faultHandlers><catchAll><sequence><compensateScope target="outer"/>{}</sequence></catchAll></faultHandlers>
             <sequence>
               <scope name="outer"><sequence>{}{}</sequence></scope>
               <throw faultName="t:stop"/>
             </sequence>
           </scope>"#,
        set_out("$log"),
        undoable("A"),
        undoable("B")
    ));
    let (e, ev, _d) = deploy_traced(&process(LOG_DECL, &body));
    assert_eq!(
        output(e.call("TestService", "run", &req("", "k")).await),
        resp("doA,doB,undoB,undoA,")
    );
    let events = wait_end(&ev, only_instance(&ev)).await;
    assert_eq!(
        scope_names(&events, EventType::CompensationHandlerRegistered),
        ["A", "B", "outer"]
    );
}

#[tokio::test]
async fn explicit_handler_sees_the_scope_snapshot_and_can_compensate_children() {
    let decls = format!(r#"{LOG_DECL}<variable name="v" type="xsd:string"/>"#);
    let body = echo(&format!(
        r#"<scope name="work">
             <faultHandlers><catchAll><sequence><compensate/>{}</sequence></catchAll></faultHandlers>
             <sequence>
               <scope name="outer">
                 <variables><variable name="local" type="xsd:string"/></variables>
                 <compensationHandler><sequence>
                   <assign><copy><from>concat($log, 'undoOuter(', $local, '),')</from><to variable="log"/></copy></assign>
                   <compensate/>
                 </sequence></compensationHandler>
                 <sequence>
                   <assign><copy><from>'snap'</from><to variable="local"/></copy></assign>
                   {}
                 </sequence>
               </scope>
               <throw faultName="t:stop"/>
             </sequence>
           </scope>"#,
        set_out("$log"),
        undoable("A")
    ));
    let (e, _ev, _d) = deploy_traced(&process(&decls, &body));
    assert_eq!(
        output(e.call("TestService", "run", &req("", "k")).await),
        resp("doA,undoOuter(snap),undoA,")
    );
}

#[tokio::test]
async fn a_faulted_scope_installs_no_compensation_handler() {
    let body = echo(&format!(
        r#"<scope name="work">
             <faultHandlers><catchAll><sequence><compensate/>{}</sequence></catchAll></faultHandlers>
             <sequence>
               <scope name="F">
                 <faultHandlers><catchAll>{}</catchAll></faultHandlers>
                 <compensationHandler>{}</compensationHandler>
                 <throw faultName="t:inner"/>
               </scope>
               {}
               <throw faultName="t:stop"/>
             </sequence>
           </scope>"#,
        set_out("$log"),
        log("handledF,"),
        log("undoF,"),
        undoable("A")
    ));
    let (e, ev, _d) = deploy_traced(&process(LOG_DECL, &body));
    assert_eq!(
        output(e.call("TestService", "run", &req("", "k")).await),
        resp("handledF,doA,undoA,")
    );
    let events = wait_end(&ev, only_instance(&ev)).await;
    assert_eq!(
        scope_names(&events, EventType::CompensationHandlerRegistered),
        ["A"]
    );
}

#[tokio::test]
async fn compensate_with_nothing_installed_completes() {
    let body = echo(&format!(
        r#"<scope><faultHandlers><catchAll><sequence><compensate/>{}</sequence></catchAll></faultHandlers>
             <throw faultName="t:stop"/></scope>"#,
        set_out("'nothing to undo'")
    ));
    let (e, _ev, _d) = deploy_traced(&process("", &body));
    assert_eq!(
        output(e.call("TestService", "run", &req("", "k")).await),
        resp("nothing to undo")
    );
}

#[tokio::test]
async fn termination_handler_runs_when_a_sibling_faults() {
    let body = echo(&format!(
        r#"<scope name="work">
             <faultHandlers><catchAll>{}</catchAll></faultHandlers>
             <flow>
               <scope name="victim">
                 <terminationHandler>{}</terminationHandler>
                 <sequence>{}<wait><for>'PT1H'</for></wait>{}</sequence>
               </scope>
               <sequence><wait><for>'PT0.1S'</for></wait><throw faultName="t:stop"/></sequence>
             </flow>
           </scope>"#,
        set_out("$log"),
        log("terminated,"),
        log("started,"),
        log("never,")
    ));
    let (e, ev, _d) = deploy_traced(&process(LOG_DECL, &body));
    assert_eq!(
        output(e.call("TestService", "run", &req("", "k")).await),
        resp("started,terminated,")
    );
    let events = wait_end(&ev, only_instance(&ev)).await;
    assert_eq!(completion(&events), Some(None));
    // The victim never completed, so it registered no compensation handler.
    assert!(scope_names(&events, EventType::CompensationHandlerRegistered).is_empty());
}

#[tokio::test]
async fn default_termination_handler_compensates_completed_children() {
    let body = echo(&format!(
        r#"<scope name="work">
             <faultHandlers><catchAll>{}</catchAll></faultHandlers>
             <flow>
               <scope name="victim">
                 <sequence>{}<wait><for>'PT1H'</for></wait></sequence>
               </scope>
               <sequence><wait><for>'PT0.1S'</for></wait><throw faultName="t:stop"/></sequence>
             </flow>
           </scope>"#,
        set_out("$log"),
        undoable("A")
    ));
    let (e, _ev, _d) = deploy_traced(&process(LOG_DECL, &body));
    assert_eq!(
        output(e.call("TestService", "run", &req("", "k")).await),
        resp("doA,undoA,")
    );
}
