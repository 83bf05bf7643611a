//! Model-level tests: category mapping, ODE names, JSON shape.

use std::sync::Arc;

use bpelgate_wsdl::QName;
use serde_json::json;

use super::*;
use crate::deploy::descriptor::EventCategory;

fn mex() -> MexRef {
    MexRef {
        port_type: QName::new("urn:w", "PT"),
        operation: "op".into(),
        mex_id: "mex-1".into(),
    }
}

fn key() -> CorrelationKey {
    CorrelationKey {
        correlation_set: "order".into(),
        values: vec!["42".into(), "eu".into()],
    }
}

/// One sample of every kind, with the category ODE's `getType()` gives its class.
fn every_kind() -> Vec<(EventKind, Category, &'static str)> {
    use Category::*;
    vec![
        (
            EventKind::ActivityEnabled,
            ActivityLifecycle,
            "ActivityEnabledEvent",
        ),
        (
            EventKind::ActivityDisabled,
            ActivityLifecycle,
            "ActivityDisabledEvent",
        ),
        (
            EventKind::ActivityExecStart,
            ActivityLifecycle,
            "ActivityExecStartEvent",
        ),
        (
            EventKind::ActivityExecEnd,
            ActivityLifecycle,
            "ActivityExecEndEvent",
        ),
        (
            EventKind::ActivityFailure {
                reason: "down".into(),
            },
            ActivityLifecycle,
            "ActivityFailureEvent",
        ),
        (
            EventKind::ActivityRecovery {
                action: RecoveryAction::Retry,
            },
            ActivityLifecycle,
            "ActivityRecoveryEvent",
        ),
        (EventKind::ScopeStart, ScopeHandling, "ScopeStartEvent"),
        (
            EventKind::ScopeCompletion,
            ScopeHandling,
            "ScopeCompletionEvent",
        ),
        (
            EventKind::ScopeFault {
                fault: QName::new("urn:f", "oops"),
                fault_line: Some(7),
                explanation: Some("why".into()),
            },
            ScopeHandling,
            "ScopeFaultEvent",
        ),
        (
            EventKind::CompensationHandlerRegistered,
            ScopeHandling,
            "CompensationHandlerRegistered",
        ),
        (
            EventKind::VariableModification {
                variable: "v".into(),
                value: Some("<a/>".into()),
            },
            DataHandling,
            "VariableModificationEvent",
        ),
        (
            EventKind::VariableRead {
                variable: "v".into(),
            },
            DataHandling,
            "VariableReadEvent",
        ),
        (
            EventKind::CorrelationSetWrite { key: key() },
            DataHandling,
            "CorrelationSetWriteEvent",
        ),
        (
            EventKind::PartnerLinkModification {
                partner_link: "pl".into(),
            },
            DataHandling,
            "PartnerLinkModificationEvent",
        ),
        (
            EventKind::NewProcessInstance {
                root_scope_id: 1,
                scope_declaration_id: 0,
                mex: Some(mex()),
            },
            InstanceLifecycle,
            "NewProcessInstanceEvent",
        ),
        (
            EventKind::ProcessInstanceStarted {
                root_scope_id: 1,
                scope_declaration_id: 0,
            },
            InstanceLifecycle,
            "ProcessInstanceStartedEvent",
        ),
        (
            EventKind::ProcessInstanceStateChange {
                old_state: InstanceState::Active,
                new_state: InstanceState::CompletedOk,
            },
            InstanceLifecycle,
            "ProcessInstanceStateChangeEvent",
        ),
        (
            EventKind::ProcessCompletion { fault: None },
            InstanceLifecycle,
            "ProcessCompletionEvent",
        ),
        (
            EventKind::ProcessTermination,
            InstanceLifecycle,
            "ProcessTerminationEvent",
        ),
        (
            EventKind::ProcessMessageExchange {
                mex: mex(),
                aspect: MexAspect::PartnerFailure,
            },
            InstanceLifecycle,
            "ProcessMessageExchangeEvent",
        ),
        (
            EventKind::CorrelationMatch {
                mex: mex(),
                keys: vec![key()],
            },
            Correlation,
            "CorrelationMatchEvent",
        ),
        (
            EventKind::CorrelationNoMatch {
                mex: mex(),
                keys: vec![],
            },
            Correlation,
            "CorrelationNoMatchEvent",
        ),
    ]
}

fn event(kind: EventKind) -> Event {
    Event::new(
        1_700_000_000_123,
        Arc::from("{urn:p}Order-3"),
        Arc::new(QName::new("urn:p", "Order")),
        Some(17),
        kind,
    )
}

#[test]
fn every_kind_maps_to_its_ode_category_and_class() {
    let kinds = every_kind();
    assert_eq!(kinds.len(), EventType::ALL.len());
    let mut seen = Vec::new();
    for (kind, category, class) in kinds {
        assert_eq!(kind.category(), category, "{class}");
        assert_eq!(kind.ode_type(), class);
        let ty = kind.event_type();
        assert_eq!(ty.category(), category);
        assert_eq!(EventType::from_ode_type(class), Some(ty));
        assert_eq!(ty.to_string(), class);
        assert_eq!(
            ty.is_scoped(),
            !matches!(
                category,
                Category::InstanceLifecycle | Category::Correlation
            )
        );
        assert!(!seen.contains(&ty), "{class} twice");
        seen.push(ty);
    }
    assert_eq!(
        EventType::from_ode_type("ActivityEnabled"),
        Some(EventType::ActivityEnabled)
    );
    assert_eq!(EventType::from_ode_type("Nope"), None);
}

#[test]
fn categories_have_ode_names_and_convert_from_the_descriptor() {
    for c in Category::ALL {
        assert_eq!(Category::parse(c.as_str()), Some(c));
        assert_eq!(serde_json::to_value(c).unwrap(), json!(c.as_str()));
    }
    assert_eq!(Category::parse("ScopeHandling"), None);
    assert_eq!(
        Category::from(EventCategory::ScopeHandling),
        Category::ScopeHandling
    );
    assert_eq!(
        Category::from(EventCategory::InstanceLifecycle),
        Category::InstanceLifecycle
    );

    let set: CategorySet = [Category::DataHandling, Category::Correlation]
        .into_iter()
        .collect();
    assert!(set.contains(Category::Correlation));
    assert!(!set.contains(Category::ScopeHandling));
    assert_eq!(
        set.iter().collect::<Vec<_>>(),
        [Category::DataHandling, Category::Correlation]
    );
    assert_eq!(CategorySet::ALL.iter().count(), 5);
    assert!(!CategorySet::ODE_DEFAULT.contains(Category::ScopeHandling));
    assert_eq!(CategorySet::ODE_DEFAULT.iter().count(), 4);
}

#[test]
fn mex_aspect_codes() {
    for code in 0..7 {
        let aspect = MexAspect::from_code(code).unwrap();
        assert_eq!(aspect.code(), code);
    }
    assert_eq!(MexAspect::from_code(7), None);
    assert_eq!(MexAspect::PartnerInput.code(), 3);
}

#[test]
fn json_shape_of_an_activity_event() {
    let filter = EventFilter::from_descriptor(
        None,
        DefaultEvents::Ode,
        &[
            (crate::model::ScopeId(0), None, None),
            (
                crate::model::ScopeId(1),
                Some("Main"),
                Some(crate::model::ScopeId(0)),
            ),
        ],
    );
    let e = event(EventKind::ActivityFailure {
        reason: "partner down".into(),
    })
    .with_line(42)
    .with_scope(filter.scope_info(crate::model::ScopeId(1), 5, Some(2)))
    .with_activity(ActivityInfo {
        name: Some(Arc::from("callPartner")),
        kind: "invoke".into(),
        declaration_id: 9,
        activity_instance_id: 31,
    });
    let value = serde_json::to_value(&e).unwrap();
    assert_eq!(
        value,
        json!({
            "timestamp_ms": 1_700_000_000_123_i64,
            "line": 42,
            "process_id": "{urn:p}Order-3",
            "process_name": "{urn:p}Order",
            "instance_id": 17,
            "scope": {
                "scope_instance_id": 5,
                "parent_scope_instance_id": 2,
                "name": "Main",
                "declaration_id": 1,
                "parent_scope_names": ["Main"]
            },
            "activity": {
                "name": "callPartner",
                "kind": "invoke",
                "declaration_id": 9,
                "activity_instance_id": 31
            },
            "category": "activityLifecycle",
            "type": "ActivityFailureEvent",
            "reason": "partner down"
        })
    );
}

#[test]
fn json_shape_of_instance_events() {
    let v = serde_json::to_value(event(EventKind::ProcessMessageExchange {
        mex: mex(),
        aspect: MexAspect::ProcessInput,
    }))
    .unwrap();
    assert_eq!(v["type"], "ProcessMessageExchangeEvent");
    assert_eq!(v["category"], "instanceLifecycle");
    assert_eq!(v["port_type"], "{urn:w}PT");
    assert_eq!(v["operation"], "op");
    assert_eq!(v["mex_id"], "mex-1");
    assert_eq!(v["aspect"], "PROCESS_INPUT");
    assert_eq!(v["scope"], serde_json::Value::Null);

    let v = serde_json::to_value(event(EventKind::ProcessInstanceStateChange {
        old_state: InstanceState::New,
        new_state: InstanceState::Active,
    }))
    .unwrap();
    assert_eq!(v["old_state"], "NEW");
    assert_eq!(v["new_state"], "ACTIVE");

    let v = serde_json::to_value(event(EventKind::ProcessCompletion {
        fault: Some(QName::new("urn:f", "bad")),
    }))
    .unwrap();
    assert_eq!(v["fault"], "{urn:f}bad");
}

#[test]
fn every_kind_round_trips_through_json() {
    for (kind, _, class) in every_kind() {
        let e = event(kind);
        let text = serde_json::to_string(&e).unwrap();
        let back: Event =
            serde_json::from_str(&text).unwrap_or_else(|err| panic!("{class}: {err}"));
        assert_eq!(back, e, "{class}");
    }
    // A process in no namespace round-trips too.
    let mut e = event(EventKind::ProcessTermination);
    e.process_name = Arc::new(QName::local("Bare"));
    let back: Event = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
    assert_eq!(back.process_name.local, "Bare");
    assert_eq!(back.process_name.ns, "");
}
