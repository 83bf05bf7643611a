//! Which event categories a process generates, per scope, precomputed at deploy time.
//!
//! Semantics follow Apache ODE (`ProcessConfImpl.initEventList` / `isEventEnabled`):
//!
//! - no `<process-events>`: the server default ([`DefaultEvents`]); ODE generates every category
//!   but `scopeHandling`, WSO2 BPS generates nothing;
//! - `generate="all"`: every category, everywhere (`<enable-event>` and `<scope-events>` are then
//!   irrelevant);
//! - otherwise (`generate="none"` or no `generate`): the process-level `<enable-event>` list, which
//!   may be empty. `generate="none"` does not cancel the list: ODE never looks at the value
//!   `none`, so `generate="none"` plus `<enable-event>correlation</enable-event>` yields
//!   `correlation`;
//! - `<scope-events name="S">` categories are **added** for scope S and every scope nested in it
//!   (ODE checks the event's chain of enclosing scope names: enabled if any of them, or the
//!   process level, enables the category). A nested `<scope-events>` adds to what its ancestors
//!   enabled; it cannot take categories away. When two `<scope-events>` name the same scope the
//!   last one wins, as in ODE's map;
//! - only named `<scope>` activities can be targeted; unnamed and implicit scopes inherit from
//!   their ancestors, and the process scope is the process level.
//!
//! Instance and correlation events are not scope events in ODE: they are filtered at process
//! level only, whatever scope the executor is in ([`EventFilter::type_enabled`] and
//! [`EventSink`](super::EventSink) apply this).

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::deploy::descriptor::{Generate, ProcessEvents};
use crate::model::{Process, ScopeId, ScopeKind};

use super::model::{Category, CategorySet, EventType, ScopeInfo};

/// What a process without `<process-events>` generates: a server-wide setting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DefaultEvents {
    /// Apache ODE: every category except `scopeHandling`.
    #[default]
    Ode,
    /// WSO2 BPS: nothing (its default list is commented out).
    None,
    /// Every category.
    All,
}

impl DefaultEvents {
    /// The categories this default enables.
    pub const fn categories(self) -> CategorySet {
        match self {
            DefaultEvents::Ode => CategorySet::ODE_DEFAULT,
            DefaultEvents::None => CategorySet::EMPTY,
            DefaultEvents::All => CategorySet::ALL,
        }
    }
}

/// Names precomputed per scope declaration.
#[derive(Clone, Debug)]
struct ScopeNames {
    /// The scope's own name, when it can be targeted.
    name: Option<Arc<str>>,
    /// Its name and its named ancestors', innermost first.
    names: Arc<[Arc<str>]>,
}

/// The event filter of one process version: enabled categories per scope declaration, plus the
/// scope names events carry. Build it once per deployed process, share it (`Arc`), and ask it
/// before building an event — or let an [`EventSink`](super::EventSink) do that.
#[derive(Clone, Debug)]
pub struct EventFilter {
    process: CategorySet,
    /// Process level plus every enclosing `<scope-events>`, indexed by `ScopeId::index()`; a
    /// scope missing here behaves like the process level. Kept apart from `names` so the hot
    /// lookup walks a dense byte array.
    masks: Vec<CategorySet>,
    /// Parallel to `masks`.
    names: Vec<ScopeNames>,
    silent: bool,
}

impl EventFilter {
    /// Builds the filter from deploy.xml's `<process-events>` (None when absent), the server
    /// default, and the process's scope tree as `(id, name, parent)` triples (any order; the
    /// name of `ScopeId::PROCESS` is ignored). See the module docs for the semantics.
    pub fn from_descriptor(
        events: Option<&ProcessEvents>,
        default: DefaultEvents,
        scopes: &[(ScopeId, Option<&str>, Option<ScopeId>)],
    ) -> Self {
        let (process, by_name) = match events {
            None => (default.categories(), HashMap::new()),
            Some(pe) if pe.generate == Some(Generate::All) => (CategorySet::ALL, HashMap::new()),
            Some(pe) => {
                let process = pe.enabled.iter().map(|&c| Category::from(c)).collect();
                let by_name: HashMap<&str, CategorySet> = pe
                    .scopes
                    .iter()
                    .map(|s| {
                        let set = s.enabled.iter().map(|&c| Category::from(c)).collect();
                        (s.name.as_str(), set)
                    })
                    .collect();
                (process, by_name)
            }
        };

        let len = scopes
            .iter()
            .map(|(id, _, _)| id.index() + 1)
            .max()
            .unwrap_or(0);
        // (name, parent) per declaration; gaps stay None and act as the process level.
        let mut table: Vec<Option<(Option<&str>, Option<ScopeId>)>> = vec![None; len];
        for &(id, name, parent) in scopes {
            let name = if id == ScopeId::PROCESS { None } else { name };
            table[id.index()] = Some((name, parent));
        }

        let mut interned: HashMap<&str, Arc<str>> = HashMap::new();
        let mut masks = Vec::with_capacity(len);
        let mut scope_names = Vec::with_capacity(len);
        for start in 0..len {
            let mut mask = process;
            let mut names: Vec<Arc<str>> = Vec::new();
            let mut current = Some(start);
            // Bounded walk: a malformed table with a parent cycle must not hang deployment.
            for _ in 0..=len {
                let Some((name, parent)) = current.and_then(|i| table.get(i).copied().flatten())
                else {
                    break;
                };
                if let Some(name) = name {
                    if let Some(set) = by_name.get(name) {
                        mask = mask.union(*set);
                    }
                    let arc = interned.entry(name).or_insert_with(|| Arc::from(name));
                    names.push(Arc::clone(arc));
                }
                current = parent.map(ScopeId::index);
            }
            let own = table[start]
                .and_then(|(name, _)| name)
                .and_then(|_| names.first().cloned());
            masks.push(mask);
            scope_names.push(ScopeNames {
                name: own,
                names: names.into(),
            });
        }

        let silent = process.is_empty() && masks.iter().all(|m| m.is_empty());
        EventFilter {
            process,
            masks,
            names: scope_names,
            silent,
        }
    }

    /// [`from_descriptor`](Self::from_descriptor) for a compiled process: only `<scope>`
    /// activities are targetable by name (implicit invoke and catch scopes inherit).
    pub fn for_process(
        events: Option<&ProcessEvents>,
        default: DefaultEvents,
        process: &Process,
    ) -> Self {
        let scopes: Vec<(ScopeId, Option<&str>, Option<ScopeId>)> = process
            .scopes
            .iter()
            .map(|s| {
                let name = match s.kind {
                    ScopeKind::Scope => s.name.as_deref(),
                    _ => None,
                };
                (s.id, name, s.parent)
            })
            .collect();
        Self::from_descriptor(events, default, &scopes)
    }

    /// A filter enabling `set` everywhere, with no scope names: for tests and tools.
    pub fn uniform(set: CategorySet) -> Self {
        EventFilter {
            process: set,
            masks: Vec::new(),
            names: Vec::new(),
            silent: set.is_empty(),
        }
    }

    /// True when `cat` is enabled in scope `scope` (process level when the scope is unknown).
    /// One bounds-checked index and one bit test.
    #[inline]
    pub fn enabled(&self, scope: ScopeId, cat: Category) -> bool {
        self.scope_categories(scope).contains(cat)
    }

    /// True when an event of type `ty` raised in `scope` passes: scoped types (activity, scope,
    /// data) use the scope's categories, instance and correlation types the process level.
    #[inline]
    pub fn type_enabled(&self, scope: ScopeId, ty: EventType) -> bool {
        if ty.is_scoped() {
            self.enabled(scope, ty.category())
        } else {
            self.process.contains(ty.category())
        }
    }

    /// The categories enabled at process level.
    pub fn process_categories(&self) -> CategorySet {
        self.process
    }

    /// The categories enabled in `scope` (process level when the scope is unknown).
    #[inline]
    pub fn scope_categories(&self, scope: ScopeId) -> CategorySet {
        self.masks
            .get(scope.index())
            .copied()
            .unwrap_or(self.process)
    }

    /// True when no event of any category can pass anywhere: the executor may skip event work
    /// entirely.
    pub fn is_silent(&self) -> bool {
        self.silent
    }

    /// The [`ScopeInfo`] of an instance of declaration `scope`, with its precomputed (shared)
    /// name and enclosing scope names.
    pub fn scope_info(
        &self,
        scope: ScopeId,
        scope_instance_id: u64,
        parent_scope_instance_id: Option<u64>,
    ) -> ScopeInfo {
        let (name, names) = match self.names.get(scope.index()) {
            Some(e) => (e.name.clone(), Arc::clone(&e.names)),
            None => (None, Arc::from(Vec::new())),
        };
        ScopeInfo {
            scope_instance_id,
            parent_scope_instance_id,
            name,
            declaration_id: scope.0,
            parent_scope_names: names,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use bpelgate_wsdl::QName;

    use super::*;
    use crate::deploy::descriptor::{EventCategory, ScopeEvents};
    use crate::model::{Dialect, Pos, ScopeDecl};

    use Category::*;

    fn set(cats: &[Category]) -> CategorySet {
        cats.iter().copied().collect()
    }

    fn cats(list: &[EventCategory]) -> BTreeSet<EventCategory> {
        list.iter().copied().collect()
    }

    /// process(0) ─ outer "Outer"(1) ─ inner "Inner"(2) ─ anon(3) ─ deep "Deep"(4)
    ///            └ other "Other"(5)   └ unnamed(6)
    fn tree() -> Vec<(ScopeId, Option<&'static str>, Option<ScopeId>)> {
        vec![
            (ScopeId(0), Some("TheProcess"), None),
            (ScopeId(1), Some("Outer"), Some(ScopeId(0))),
            (ScopeId(2), Some("Inner"), Some(ScopeId(1))),
            (ScopeId(3), None, Some(ScopeId(2))),
            (ScopeId(4), Some("Deep"), Some(ScopeId(3))),
            (ScopeId(5), Some("Other"), Some(ScopeId(0))),
            (ScopeId(6), None, Some(ScopeId(1))),
        ]
    }

    fn all_masks(f: &EventFilter) -> Vec<CategorySet> {
        (0..7).map(|i| f.scope_categories(ScopeId(i))).collect()
    }

    #[test]
    fn absent_process_events_uses_the_server_default() {
        let ode = EventFilter::from_descriptor(None, DefaultEvents::Ode, &tree());
        let expected = set(&[
            InstanceLifecycle,
            ActivityLifecycle,
            DataHandling,
            Correlation,
        ]);
        assert_eq!(ode.process_categories(), expected);
        assert!(all_masks(&ode).iter().all(|m| *m == expected));
        assert!(!ode.enabled(ScopeId(2), ScopeHandling));
        assert!(ode.enabled(ScopeId(2), ActivityLifecycle));
        assert!(!ode.is_silent());

        let wso2 = EventFilter::from_descriptor(None, DefaultEvents::None, &tree());
        assert!(all_masks(&wso2).iter().all(|m| m.is_empty()));
        assert!(wso2.is_silent());
        for c in Category::ALL {
            assert!(!wso2.enabled(ScopeId(4), c));
        }
    }

    #[test]
    fn generate_all_enables_everything_everywhere() {
        let pe = ProcessEvents {
            generate: Some(Generate::All),
            enabled: cats(&[EventCategory::Correlation]),
            scopes: vec![],
        };
        let f = EventFilter::from_descriptor(Some(&pe), DefaultEvents::None, &tree());
        assert_eq!(f.process_categories(), CategorySet::ALL);
        assert!(all_masks(&f).iter().all(|m| *m == CategorySet::ALL));
    }

    #[test]
    fn generate_none_yields_nothing_but_does_not_cancel_enable_event() {
        let none = ProcessEvents {
            generate: Some(Generate::None),
            ..ProcessEvents::default()
        };
        let f = EventFilter::from_descriptor(Some(&none), DefaultEvents::Ode, &tree());
        assert!(f.is_silent());
        assert!(!f.enabled(ScopeId::PROCESS, InstanceLifecycle));

        let none_plus = ProcessEvents {
            generate: Some(Generate::None),
            enabled: cats(&[EventCategory::Correlation]),
            scopes: vec![],
        };
        let f = EventFilter::from_descriptor(Some(&none_plus), DefaultEvents::Ode, &tree());
        assert_eq!(f.process_categories(), set(&[Correlation]));
    }

    #[test]
    fn enable_event_replaces_the_default_at_process_level() {
        let pe = ProcessEvents {
            generate: None,
            enabled: cats(&[EventCategory::ScopeHandling, EventCategory::DataHandling]),
            scopes: vec![],
        };
        let f = EventFilter::from_descriptor(Some(&pe), DefaultEvents::Ode, &tree());
        let expected = set(&[ScopeHandling, DataHandling]);
        assert_eq!(f.process_categories(), expected);
        assert!(all_masks(&f).iter().all(|m| *m == expected));
        assert!(!f.enabled(ScopeId(1), InstanceLifecycle));
    }

    #[test]
    fn empty_process_events_element_enables_nothing() {
        let f = EventFilter::from_descriptor(
            Some(&ProcessEvents::default()),
            DefaultEvents::Ode,
            &tree(),
        );
        assert!(f.is_silent());
    }

    #[test]
    fn scope_events_are_inherited_and_nested_ones_add() {
        let pe = ProcessEvents {
            generate: None,
            enabled: cats(&[EventCategory::InstanceLifecycle]),
            scopes: vec![
                ScopeEvents {
                    name: "Outer".into(),
                    enabled: cats(&[EventCategory::ActivityLifecycle]),
                },
                ScopeEvents {
                    name: "Deep".into(),
                    enabled: cats(&[EventCategory::DataHandling]),
                },
            ],
        };
        let f = EventFilter::from_descriptor(Some(&pe), DefaultEvents::None, &tree());
        let process = set(&[InstanceLifecycle]);
        let outer = set(&[InstanceLifecycle, ActivityLifecycle]);
        let deep = set(&[InstanceLifecycle, ActivityLifecycle, DataHandling]);
        assert_eq!(
            all_masks(&f),
            vec![process, outer, outer, outer, deep, process, outer]
        );
        // Scope 3 is unnamed: it inherits Outer's additions through Inner.
        assert!(f.enabled(ScopeId(3), ActivityLifecycle));
        assert!(!f.enabled(ScopeId(3), DataHandling));
        // A sibling of Outer gets nothing from it.
        assert!(!f.enabled(ScopeId(5), ActivityLifecycle));
    }

    #[test]
    fn nested_scope_events_cannot_remove_categories() {
        // Inner enables less than Outer: ODE ORs the chain, so Inner keeps Outer's categories.
        let pe = ProcessEvents {
            generate: None,
            enabled: BTreeSet::new(),
            scopes: vec![
                ScopeEvents {
                    name: "Outer".into(),
                    enabled: cats(&[
                        EventCategory::ActivityLifecycle,
                        EventCategory::DataHandling,
                    ]),
                },
                ScopeEvents {
                    name: "Inner".into(),
                    enabled: cats(&[EventCategory::ScopeHandling]),
                },
            ],
        };
        let f = EventFilter::from_descriptor(Some(&pe), DefaultEvents::Ode, &tree());
        assert_eq!(f.process_categories(), CategorySet::EMPTY);
        assert_eq!(
            f.scope_categories(ScopeId(2)),
            set(&[ActivityLifecycle, DataHandling, ScopeHandling])
        );
        assert_eq!(
            f.scope_categories(ScopeId(1)),
            set(&[ActivityLifecycle, DataHandling])
        );
        assert!(!f.is_silent());
    }

    #[test]
    fn process_scope_name_and_unknown_names_are_not_targets() {
        let pe = ProcessEvents {
            generate: None,
            enabled: BTreeSet::new(),
            scopes: vec![
                ScopeEvents {
                    name: "TheProcess".into(),
                    enabled: cats(&[EventCategory::Correlation]),
                },
                ScopeEvents {
                    name: "NoSuchScope".into(),
                    enabled: cats(&[EventCategory::DataHandling]),
                },
            ],
        };
        let f = EventFilter::from_descriptor(Some(&pe), DefaultEvents::Ode, &tree());
        assert!(f.is_silent());
    }

    #[test]
    fn duplicate_scope_events_last_wins() {
        let pe = ProcessEvents {
            generate: None,
            enabled: BTreeSet::new(),
            scopes: vec![
                ScopeEvents {
                    name: "Other".into(),
                    enabled: cats(&[EventCategory::DataHandling]),
                },
                ScopeEvents {
                    name: "Other".into(),
                    enabled: cats(&[EventCategory::Correlation]),
                },
            ],
        };
        let f = EventFilter::from_descriptor(Some(&pe), DefaultEvents::Ode, &tree());
        assert_eq!(f.scope_categories(ScopeId(5)), set(&[Correlation]));
    }

    #[test]
    fn instance_and_correlation_types_use_the_process_level() {
        let pe = ProcessEvents {
            generate: None,
            enabled: BTreeSet::new(),
            scopes: vec![ScopeEvents {
                name: "Outer".into(),
                enabled: cats(&[
                    EventCategory::InstanceLifecycle,
                    EventCategory::DataHandling,
                ]),
            }],
        };
        let f = EventFilter::from_descriptor(Some(&pe), DefaultEvents::Ode, &tree());
        // The category is on in Outer, but ProcessCompletion is not a scope event.
        assert!(f.enabled(ScopeId(1), InstanceLifecycle));
        assert!(!f.type_enabled(ScopeId(1), EventType::ProcessCompletion));
        assert!(f.type_enabled(ScopeId(1), EventType::VariableRead));
        assert!(!f.type_enabled(ScopeId(5), EventType::VariableRead));
    }

    #[test]
    fn unknown_scope_ids_and_cycles_fall_back_safely() {
        let pe = ProcessEvents {
            generate: None,
            enabled: cats(&[EventCategory::Correlation]),
            scopes: vec![ScopeEvents {
                name: "A".into(),
                enabled: cats(&[EventCategory::DataHandling]),
            }],
        };
        // 1 and 2 are each other's parent; 4 is missing.
        let scopes = [
            (ScopeId(0), None, None),
            (ScopeId(1), Some("A"), Some(ScopeId(2))),
            (ScopeId(2), Some("B"), Some(ScopeId(1))),
            (ScopeId(3), None, Some(ScopeId(4))),
        ];
        let f = EventFilter::from_descriptor(Some(&pe), DefaultEvents::Ode, &scopes);
        assert!(f.enabled(ScopeId(2), DataHandling));
        assert_eq!(f.scope_categories(ScopeId(3)), set(&[Correlation]));
        assert_eq!(f.scope_categories(ScopeId(99)), set(&[Correlation]));
        assert_eq!(
            f.scope_info(ScopeId(99), 7, None).parent_scope_names.len(),
            0
        );
    }

    #[test]
    fn scope_info_carries_shared_names() {
        let f = EventFilter::from_descriptor(None, DefaultEvents::Ode, &tree());
        let info = f.scope_info(ScopeId(4), 40, Some(30));
        assert_eq!(info.name.as_deref(), Some("Deep"));
        assert_eq!(info.declaration_id, 4);
        assert_eq!(info.scope_instance_id, 40);
        assert_eq!(info.parent_scope_instance_id, Some(30));
        let names: Vec<&str> = info.parent_scope_names.iter().map(|n| &**n).collect();
        assert_eq!(names, ["Deep", "Inner", "Outer"]);
        // Unnamed scope: no own name, ancestors still listed.
        let anon = f.scope_info(ScopeId(3), 1, None);
        assert_eq!(anon.name, None);
        assert_eq!(anon.parent_scope_names.len(), 2);
        // The process scope's name is not reported.
        assert_eq!(f.scope_info(ScopeId::PROCESS, 0, None).name, None);
        // Shared, not copied, between two events of the same declaration.
        let again = f.scope_info(ScopeId(4), 41, Some(30));
        assert!(Arc::ptr_eq(
            &info.parent_scope_names,
            &again.parent_scope_names
        ));
    }

    fn decl(id: u32, kind: ScopeKind, name: Option<&str>, parent: Option<u32>) -> ScopeDecl {
        ScopeDecl {
            id: ScopeId(id),
            kind,
            name: name.map(str::to_owned),
            activity: None,
            parent: parent.map(ScopeId),
            isolated: false,
            exit_on_standard_fault: false,
            variables: Vec::new(),
            partner_links: Vec::new(),
            correlation_sets: Vec::new(),
            message_exchanges: Vec::new(),
            fault_handlers: None,
            compensation_handler: None,
            termination_handler: None,
            on_events: Vec::new(),
            on_alarms: Vec::new(),
            body: None,
            pos: Pos::default(),
        }
    }

    #[test]
    fn for_process_targets_scope_activities_only() {
        let mut p = Process::empty(QName::new("urn:t", "P"), "p.bpel", Dialect::Bpel20);
        p.scopes = vec![
            decl(0, ScopeKind::Process, Some("P"), None),
            decl(1, ScopeKind::Scope, Some("S"), Some(0)),
            decl(2, ScopeKind::Invoke, Some("inv"), Some(1)),
            decl(3, ScopeKind::Catch, None, Some(2)),
            decl(4, ScopeKind::Scope, Some("T"), Some(0)),
        ];
        let pe = ProcessEvents {
            generate: None,
            enabled: BTreeSet::new(),
            scopes: vec![
                ScopeEvents {
                    name: "S".into(),
                    enabled: cats(&[EventCategory::DataHandling]),
                },
                ScopeEvents {
                    name: "inv".into(),
                    enabled: cats(&[EventCategory::ActivityLifecycle]),
                },
                ScopeEvents {
                    name: "P".into(),
                    enabled: cats(&[EventCategory::Correlation]),
                },
            ],
        };
        let f = EventFilter::for_process(Some(&pe), DefaultEvents::Ode, &p);
        let data = set(&[DataHandling]);
        let masks: Vec<CategorySet> = (0..5).map(|i| f.scope_categories(ScopeId(i))).collect();
        assert_eq!(
            masks,
            [CategorySet::EMPTY, data, data, data, CategorySet::EMPTY]
        );
        let info = f.scope_info(ScopeId(3), 9, Some(8));
        let names: Vec<&str> = info.parent_scope_names.iter().map(|n| &**n).collect();
        assert_eq!(names, ["S"]);
    }

    #[test]
    fn uniform_filter() {
        let f = EventFilter::uniform(set(&[DataHandling]));
        assert!(f.enabled(ScopeId(12), DataHandling));
        assert!(!f.enabled(ScopeId(12), Correlation));
        assert!(EventFilter::uniform(CategorySet::EMPTY).is_silent());
    }
}
