//! The executor's side: collect a step's events, building only those that pass the filter.

use std::sync::Arc;

use bpelgate_wsdl::QName;

use crate::model::ScopeId;

use super::filter::EventFilter;
use super::model::{Event, EventKind, EventType};

/// What every event of one step shares: when, which process version, which instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventHeader {
    /// The step's time (ms since the Unix epoch, from the injected clock).
    pub timestamp_ms: i64,
    /// The process version id, `{ns}local-version`.
    pub process_id: Arc<str>,
    /// The process QName.
    pub process_name: Arc<QName>,
    /// The instance, once it exists.
    pub instance_id: Option<i64>,
}

impl EventHeader {
    /// An event of `kind` with this header and no line, scope or activity (add them with
    /// [`Event::with_scope`], [`Event::with_activity`], [`Event::with_line`]).
    pub fn event(&self, kind: EventKind) -> Event {
        Event::new(
            self.timestamp_ms,
            Arc::clone(&self.process_id),
            Arc::clone(&self.process_name),
            self.instance_id,
            kind,
        )
    }
}

/// Collects the events of one executor step into a caller-owned `Vec`.
///
/// ```
/// # use std::sync::Arc;
/// # use bpelgate::events::*;
/// # use bpelgate::model::ScopeId;
/// # use bpelgate_wsdl::QName;
/// let filter = EventFilter::uniform(CategorySet::ODE_DEFAULT);
/// let header = EventHeader {
///     timestamp_ms: 1_700_000_000_000,
///     process_id: Arc::from("{urn:x}P-1"),
///     process_name: Arc::new(QName::new("urn:x", "P")),
///     instance_id: Some(42),
/// };
/// let mut out = Vec::new();
/// let mut sink = EventSink::new(&filter, &mut out, header);
/// let scope = ScopeId(0);
/// sink.emit(scope, EventType::ActivityEnabled, |h| {
///     h.event(EventKind::ActivityEnabled)
///         .with_scope(filter.scope_info(scope, 1, None))
///         .with_line(12)
/// });
/// // scopeHandling is off in the ODE default: the closure is not even called.
/// sink.emit(scope, EventType::ScopeStart, |h| h.event(EventKind::ScopeStart));
/// assert_eq!(out.len(), 1);
/// ```
#[derive(Debug)]
pub struct EventSink<'a> {
    filter: &'a EventFilter,
    out: &'a mut Vec<Event>,
    header: EventHeader,
}

impl<'a> EventSink<'a> {
    /// A sink appending to `out` (which may already hold events: they are kept).
    pub fn new(filter: &'a EventFilter, out: &'a mut Vec<Event>, header: EventHeader) -> Self {
        EventSink {
            filter,
            out,
            header,
        }
    }

    /// True when an event of type `ty` raised in `scope` would be recorded. Use it to skip
    /// work that only serves events (e.g. serializing a variable value).
    #[inline]
    pub fn enabled(&self, scope: ScopeId, ty: EventType) -> bool {
        self.filter.type_enabled(scope, ty)
    }

    /// Records the event `make` builds, if type `ty` raised in `scope` passes the filter;
    /// otherwise `make` is not called, so a filtered-out event costs one bit test.
    ///
    /// `scope` is the declaration the executor is in. It matters for activity, scope and data
    /// events; instance and correlation events are checked at process level whatever `scope`
    /// is (ODE semantics), so passing the current scope is always right.
    ///
    /// `make` must build an event of type `ty` (checked in debug builds); it receives the
    /// step's [`EventHeader`] to start from.
    #[inline]
    pub fn emit(
        &mut self,
        scope: ScopeId,
        ty: EventType,
        make: impl FnOnce(&EventHeader) -> Event,
    ) {
        if self.filter.type_enabled(scope, ty) {
            let event = make(&self.header);
            debug_assert_eq!(
                event.event_type(),
                ty,
                "EventSink::emit: make built another type"
            );
            self.out.push(event);
        }
    }

    /// The step's header.
    pub fn header(&self) -> &EventHeader {
        &self.header
    }

    /// Sets the instance id for the events that follow (an instance created during the step).
    pub fn set_instance_id(&mut self, instance_id: i64) {
        self.header.instance_id = Some(instance_id);
    }

    /// The filter in use (for [`EventFilter::scope_info`]).
    pub fn filter(&self) -> &'a EventFilter {
        self.filter
    }

    /// How many events the sink's `Vec` holds.
    pub fn len(&self) -> usize {
        self.out.len()
    }

    /// True when the sink's `Vec` is empty.
    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::events::model::{Category, CategorySet};
    use crate::events::state::InstanceState;

    fn header() -> EventHeader {
        EventHeader {
            timestamp_ms: 1000,
            process_id: Arc::from("{urn:t}P-3"),
            process_name: Arc::new(QName::new("urn:t", "P")),
            instance_id: None,
        }
    }

    #[test]
    fn make_is_not_called_when_filtered_out() {
        let filter = EventFilter::uniform(CategorySet::EMPTY.with(Category::DataHandling));
        let mut out = Vec::new();
        let mut sink = EventSink::new(&filter, &mut out, header());
        let calls = Cell::new(0);
        sink.emit(ScopeId(3), EventType::ActivityExecStart, |h| {
            calls.set(calls.get() + 1);
            h.event(EventKind::ActivityExecStart)
        });
        sink.emit(ScopeId(3), EventType::ProcessTermination, |h| {
            calls.set(calls.get() + 1);
            h.event(EventKind::ProcessTermination)
        });
        assert_eq!(calls.get(), 0);
        assert!(sink.is_empty());

        sink.emit(ScopeId(3), EventType::VariableRead, |h| {
            calls.set(calls.get() + 1);
            h.event(EventKind::VariableRead {
                variable: "v".into(),
            })
        });
        assert_eq!(calls.get(), 1);
        assert_eq!(sink.len(), 1);
        assert!(sink.enabled(ScopeId(3), EventType::VariableModification));
        assert!(!sink.enabled(ScopeId(3), EventType::ScopeStart));
    }

    #[test]
    fn header_fills_events_and_instance_id_can_be_set_mid_step() {
        let filter = EventFilter::uniform(CategorySet::ALL);
        let mut out = vec![header().event(EventKind::ProcessTermination)];
        {
            let mut sink = EventSink::new(&filter, &mut out, header());
            sink.emit(ScopeId::PROCESS, EventType::NewProcessInstance, |h| {
                h.event(EventKind::NewProcessInstance {
                    root_scope_id: 1,
                    scope_declaration_id: 0,
                    mex: None,
                })
            });
            sink.set_instance_id(77);
            sink.emit(
                ScopeId::PROCESS,
                EventType::ProcessInstanceStateChange,
                |h| {
                    h.event(EventKind::ProcessInstanceStateChange {
                        old_state: InstanceState::New,
                        new_state: InstanceState::Active,
                    })
                },
            );
            assert_eq!(sink.header().instance_id, Some(77));
        }
        assert_eq!(out.len(), 3, "existing events are kept");
        assert_eq!(out[1].instance_id, None);
        assert_eq!(out[2].instance_id, Some(77));
        assert_eq!(out[2].timestamp_ms, 1000);
        assert_eq!(&*out[2].process_id, "{urn:t}P-3");
    }
}
