//! A bounded in-memory event log for the management API until events are persisted.

use std::collections::VecDeque;
use std::sync::Mutex;

use super::bus::EventListener;
use super::model::{Category, Event, EventType};

/// Which events a [`RecentEvents::recent`] query selects; every `Some` criterion must match.
/// (The management API maps ODE's event filter, `type=... timestamp>=...`, onto this.)
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventQuery {
    /// Only this instance.
    pub instance_id: Option<i64>,
    /// Only this process version (`{ns}local-version`).
    pub process_id: Option<String>,
    /// Only these types (empty = any).
    pub types: Vec<EventType>,
    /// Only this category.
    pub category: Option<Category>,
    /// Only events at or after this time (ms since the epoch).
    pub from_ms: Option<i64>,
    /// Only events strictly before this time (ms since the epoch).
    pub to_ms: Option<i64>,
}

impl EventQuery {
    /// True when `e` matches every criterion.
    pub fn matches(&self, e: &Event) -> bool {
        self.instance_id.is_none_or(|id| e.instance_id == Some(id))
            && self
                .process_id
                .as_deref()
                .is_none_or(|pid| &*e.process_id == pid)
            && (self.types.is_empty() || self.types.contains(&e.event_type()))
            && self.category.is_none_or(|c| e.category() == c)
            && self.from_ms.is_none_or(|t| e.timestamp_ms >= t)
            && self.to_ms.is_none_or(|t| e.timestamp_ms < t)
    }
}

/// The last `capacity` published events, oldest dropped first. Register it on the
/// [`EventBus`](super::EventBus) (it is an [`EventListener`]) and query it from the management
/// API. Queries scan the buffer: fine for the few thousand events it is meant to hold.
#[derive(Debug)]
pub struct RecentEvents {
    capacity: usize,
    buf: Mutex<VecDeque<Event>>,
}

impl RecentEvents {
    /// The default capacity: enough to inspect recent instances without much memory.
    pub const DEFAULT_CAPACITY: usize = 10_000;

    /// A log keeping at most `capacity` events (0 keeps nothing).
    pub fn new(capacity: usize) -> Self {
        RecentEvents {
            capacity,
            buf: Mutex::new(VecDeque::with_capacity(capacity.min(1024))),
        }
    }

    /// The most events kept.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many events are kept now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when no event is kept.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Every kept event of instance `instance_id`, oldest first.
    pub fn events_for(&self, instance_id: i64) -> Vec<Event> {
        self.lock()
            .iter()
            .filter(|e| e.instance_id == Some(instance_id))
            .cloned()
            .collect()
    }

    /// The newest `limit` kept events matching `query`, returned oldest first.
    pub fn recent(&self, query: &EventQuery, limit: usize) -> Vec<Event> {
        let buf = self.lock();
        let mut out: Vec<Event> = buf
            .iter()
            .rev()
            .filter(|e| query.matches(e))
            .take(limit)
            .cloned()
            .collect();
        out.reverse();
        out
    }

    /// Drops every kept event.
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Event>> {
        // A panic while holding the lock leaves a consistent deque (push/pop are atomic with
        // respect to unwinding), so a poisoned lock is still usable.
        self.buf.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn push_all(&self, events: &[Event]) {
        if self.capacity == 0 {
            return;
        }
        // Only the tail can survive a batch larger than the buffer.
        let skip = events.len().saturating_sub(self.capacity);
        let mut buf = self.lock();
        for e in &events[skip..] {
            if buf.len() == self.capacity {
                buf.pop_front();
            }
            buf.push_back(e.clone());
        }
    }
}

impl Default for RecentEvents {
    fn default() -> Self {
        Self::new(Self::DEFAULT_CAPACITY)
    }
}

impl EventListener for RecentEvents {
    fn on_event(&self, event: &Event) {
        self.push_all(std::slice::from_ref(event));
    }

    fn on_events(&self, events: &[Event]) {
        self.push_all(events);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bpelgate_wsdl::QName;

    use super::*;
    use crate::events::EventBus;
    use crate::events::model::EventKind;

    fn ev(t: i64, instance: i64, kind: EventKind) -> Event {
        Event::new(
            t,
            Arc::from(if instance % 2 == 0 {
                "{urn:t}P-1"
            } else {
                "{urn:t}Q-2"
            }),
            Arc::new(QName::new("urn:t", "P")),
            Some(instance),
            kind,
        )
    }

    fn read(v: &str) -> EventKind {
        EventKind::VariableRead { variable: v.into() }
    }

    #[test]
    fn ring_keeps_the_newest_capacity_events() {
        let log = RecentEvents::new(3);
        for t in 0..5 {
            log.on_event(&ev(t, 1, read("v")));
        }
        assert_eq!(log.len(), 3);
        let times: Vec<i64> = log.events_for(1).iter().map(|e| e.timestamp_ms).collect();
        assert_eq!(times, [2, 3, 4]);

        // A batch bigger than the buffer keeps its tail.
        let batch: Vec<Event> = (10..17).map(|t| ev(t, 1, read("v"))).collect();
        log.on_events(&batch);
        let times: Vec<i64> = log.events_for(1).iter().map(|e| e.timestamp_ms).collect();
        assert_eq!(times, [14, 15, 16]);
        assert_eq!(log.capacity(), 3);

        let none = RecentEvents::new(0);
        none.on_events(&batch);
        assert!(none.is_empty());

        log.clear();
        assert!(log.is_empty());
    }

    #[test]
    fn per_instance_and_filtered_queries() {
        let log = Arc::new(RecentEvents::new(100));
        let bus = EventBus::new();
        bus.add_listener(log.clone());
        bus.publish(&[
            ev(1, 1, EventKind::ActivityEnabled),
            ev(2, 2, read("a")),
            ev(3, 1, read("b")),
            ev(4, 2, EventKind::ScopeStart),
            ev(5, 1, EventKind::ProcessTermination),
        ]);

        let one: Vec<i64> = log.events_for(1).iter().map(|e| e.timestamp_ms).collect();
        assert_eq!(one, [1, 3, 5]);
        assert!(log.events_for(9).is_empty());

        let all = EventQuery::default();
        let newest2: Vec<i64> = log.recent(&all, 2).iter().map(|e| e.timestamp_ms).collect();
        assert_eq!(newest2, [4, 5], "newest N, oldest first");
        assert!(log.recent(&all, 0).is_empty());

        let data = EventQuery {
            category: Some(Category::DataHandling),
            ..EventQuery::default()
        };
        let t: Vec<i64> = log
            .recent(&data, 10)
            .iter()
            .map(|e| e.timestamp_ms)
            .collect();
        assert_eq!(t, [2, 3]);

        let typed = EventQuery {
            types: vec![EventType::ScopeStart, EventType::ActivityEnabled],
            from_ms: Some(2),
            ..EventQuery::default()
        };
        let t: Vec<i64> = log
            .recent(&typed, 10)
            .iter()
            .map(|e| e.timestamp_ms)
            .collect();
        assert_eq!(t, [4]);

        let by_pid = EventQuery {
            process_id: Some("{urn:t}Q-2".into()),
            to_ms: Some(5),
            ..EventQuery::default()
        };
        let t: Vec<i64> = log
            .recent(&by_pid, 10)
            .iter()
            .map(|e| e.timestamp_ms)
            .collect();
        assert_eq!(t, [1, 3]);

        let inst = EventQuery {
            instance_id: Some(2),
            ..EventQuery::default()
        };
        assert_eq!(log.recent(&inst, 10).len(), 2);
    }
}
