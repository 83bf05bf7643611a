//! Delivery: listeners registered once, events published after each step.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, RwLock};

use super::model::Event;

/// Receives published events (ODE `BpelEventListener`).
///
/// Listeners run synchronously on the publishing thread, after the step that produced the
/// events committed: keep them quick and non-blocking (hand heavy work to a channel). A panic in
/// a listener is caught and logged; the other listeners still get the events.
pub trait EventListener: Send + Sync {
    /// One event.
    fn on_event(&self, event: &Event);

    /// The events of one step, in order. Override to take a lock once per batch.
    fn on_events(&self, events: &[Event]) {
        for e in events {
            self.on_event(e);
        }
    }

    /// The server is stopping (ODE `shutdown()`): flush what you buffer.
    fn shutdown(&self) {}
}

type Listeners = Arc<[Arc<dyn EventListener>]>;

/// Fans events out to the registered listeners. Clones share the same listener list.
///
/// Adding a listener copies the (short) list; publishing takes a read lock only long enough to
/// clone an `Arc`, so publishers never wait on each other or on a listener.
#[derive(Clone, Default)]
pub struct EventBus {
    listeners: Arc<RwLock<Listeners>>,
}

impl fmt::Debug for EventBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventBus")
            .field("listeners", &self.snapshot().len())
            .finish()
    }
}

impl EventBus {
    /// A bus with no listener.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `listener`; it receives events published from now on.
    pub fn add_listener(&self, listener: Arc<dyn EventListener>) {
        let mut guard = self
            .listeners
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut list: Vec<Arc<dyn EventListener>> = guard.iter().cloned().collect();
        list.push(listener);
        *guard = list.into();
    }

    /// True when at least one listener is registered.
    pub fn has_listeners(&self) -> bool {
        !self.snapshot().is_empty()
    }

    /// Delivers a step's events, in order, to every listener. Call it after the step's
    /// transaction committed, so listeners never see events of a rolled-back step.
    pub fn publish(&self, events: &[Event]) {
        if events.is_empty() {
            return;
        }
        for listener in self.snapshot().iter() {
            let delivered = catch_unwind(AssertUnwindSafe(|| listener.on_events(events)));
            if delivered.is_err() {
                tracing::warn!(target: "bpelgate::events", "an event listener panicked; events skipped for it");
            }
        }
    }

    /// Tells every listener the server is stopping.
    pub fn shutdown(&self) {
        for listener in self.snapshot().iter() {
            if catch_unwind(AssertUnwindSafe(|| listener.shutdown())).is_err() {
                tracing::warn!(target: "bpelgate::events", "an event listener panicked on shutdown");
            }
        }
    }

    fn snapshot(&self) -> Listeners {
        let guard = self
            .listeners
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(&guard)
    }
}

/// Logs every event at `debug` level under target `bpelgate::events` (WSO2's
/// `DebugBpelEventListener`).
#[derive(Clone, Copy, Debug, Default)]
pub struct TracingListener;

impl EventListener for TracingListener {
    fn on_event(&self, e: &Event) {
        tracing::debug!(
            target: "bpelgate::events",
            r#type = e.ode_type(),
            category = e.category().as_str(),
            process = &*e.process_id,
            instance = e.instance_id,
            scope = e.scope.as_ref().map(|s| s.scope_instance_id),
            scope_name = e.scope.as_ref().and_then(|s| s.name.as_deref()),
            activity = e.activity.as_ref().map(|a| a.activity_instance_id),
            activity_kind = e.activity.as_ref().map(|a| &*a.kind),
            activity_name = e.activity.as_ref().and_then(|a| a.name.as_deref()),
            line = e.line,
            "{:?}",
            e.kind
        );
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use bpelgate_wsdl::QName;

    use super::*;
    use crate::events::model::EventKind;

    #[derive(Default)]
    struct Collect(Mutex<Vec<String>>, Mutex<u32>);

    impl EventListener for Collect {
        fn on_event(&self, e: &Event) {
            if let Ok(mut v) = self.0.lock() {
                v.push(e.ode_type().to_owned());
            }
        }
        fn shutdown(&self) {
            if let Ok(mut n) = self.1.lock() {
                *n += 1;
            }
        }
    }

    struct Panics;

    impl EventListener for Panics {
        fn on_event(&self, _: &Event) {
            panic!("listener bug");
        }
    }

    fn ev(kind: EventKind) -> Event {
        Event::new(
            5,
            Arc::from("{urn:t}P-1"),
            Arc::new(QName::new("urn:t", "P")),
            Some(1),
            kind,
        )
    }

    #[test]
    fn publish_reaches_every_listener_in_order_and_survives_panics() {
        let bus = EventBus::new();
        assert!(!bus.has_listeners());
        let a = Arc::new(Collect::default());
        let b = Arc::new(Collect::default());
        bus.add_listener(a.clone());
        bus.add_listener(Arc::new(Panics));
        // A clone shares the list: adding through it is seen by the original.
        let alias = bus.clone();
        alias.add_listener(b.clone());
        assert_eq!(format!("{alias:?}"), "EventBus { listeners: 3 }");
        assert!(bus.has_listeners());

        bus.publish(&[ev(EventKind::ScopeStart), ev(EventKind::ScopeCompletion)]);
        bus.publish(&[]);
        let want = ["ScopeStartEvent", "ScopeCompletionEvent"];
        assert_eq!(*a.0.lock().unwrap(), want);
        assert_eq!(*b.0.lock().unwrap(), want);

        bus.shutdown();
        assert_eq!(*a.1.lock().unwrap(), 1);
        assert_eq!(*b.1.lock().unwrap(), 1);
    }

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buf {
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut b) = self.0.lock() {
                b.extend_from_slice(data);
            }
            Ok(data.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn tracing_listener_logs_at_debug() {
        let buf = Buf::default();
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let e = ev(EventKind::ActivityFailure {
            reason: "partner down".into(),
        });
        tracing::subscriber::with_default(subscriber, || TracingListener.on_event(&e));
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("DEBUG"), "{text}");
        assert!(text.contains("type=\"ActivityFailureEvent\""), "{text}");
        assert!(text.contains("category=\"activityLifecycle\""), "{text}");
        assert!(text.contains("instance=1"), "{text}");
        assert!(text.contains("partner down"), "{text}");

        // Nothing is written when the level is above debug.
        let quiet = Buf::default();
        let writer = quiet.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || TracingListener.on_event(&e));
        assert!(quiet.0.lock().unwrap().is_empty());
    }
}
