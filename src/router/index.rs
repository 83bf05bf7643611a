//! The subscription index: which instance waits for which (partner link, operation,
//! correlation values).

use std::collections::{BTreeMap, HashMap};

use bpelgate_wsdl::{Element, QName};

use crate::model::{CorrelationSetId, PartnerLinkId, ScopeId};
use crate::runtime::data::{self, Env};
use crate::runtime::exec::required_correlation;
use crate::runtime::{Instance, ProcessCtx};

/// What a message is addressed to inside a process.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub(crate) struct WaitKey {
    pub(crate) partner_link: PartnerLinkId,
    pub(crate) operation: String,
}

type Values = Vec<String>;

/// A claimed subscription.
#[derive(Debug)]
pub(crate) struct Claim {
    pub(crate) instance: i64,
    pub(crate) sub: u32,
    /// The correlation values it matched on.
    pub(crate) keys: Vec<(CorrelationSetId, Values)>,
    /// Another subscription of the same instance matched too, through other correlation
    /// sets: `bpel:ambiguousReceive`.
    pub(crate) ambiguous: bool,
}

impl Claim {
    /// The step input delivering `message` to the claimed subscription.
    pub(crate) fn input(
        &self,
        message: Element,
        mex: Option<crate::runtime::state::MexId>,
    ) -> crate::runtime::Input {
        if self.ambiguous {
            crate::runtime::Input::Ambiguous {
                subscription: self.sub,
                message,
                mex,
            }
        } else {
            crate::runtime::Input::Message {
                subscription: self.sub,
                message,
                mex,
            }
        }
    }
}

struct Entry {
    instance: i64,
    sub: u32,
    correlation: Vec<(CorrelationSetId, Values)>,
}

/// One thing an instance waits for: stored with the instance (`waits`), so the index can be
/// rebuilt at start-up without loading instance states.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Wait {
    pub(crate) key: WaitKey,
    pub(crate) sub: u32,
    pub(crate) correlation: Vec<(CorrelationSetId, Values)>,
}

/// What `inst` waits for, as index entries.
pub(crate) fn waits(ctx: &ProcessCtx, inst: &Instance) -> Vec<Wait> {
    let mut out = Vec::new();
    for (id, sub) in &inst.subscriptions {
        let correlation = required_correlation(ctx, inst, *id);
        // A start activity of a running instance with nothing to correlate on would take
        // messages meant to create new instances.
        if sub.create_instance && correlation.is_empty() {
            continue;
        }
        out.push(Wait {
            key: WaitKey {
                partner_link: sub.partner_link,
                operation: sub.operation.clone(),
            },
            sub: *id,
            correlation,
        });
    }
    out
}

#[derive(Default)]
struct WaitList {
    /// Subscriptions with no correlation to match: first come, first served.
    uncorrelated: Vec<Entry>,
    /// By the first correlation set's values.
    keyed: HashMap<(CorrelationSetId, Values), Vec<Entry>>,
    /// How many `keyed` entries each correlation set heads: the sets a message is matched
    /// on, without scanning every waiting instance.
    sets: BTreeMap<CorrelationSetId, usize>,
}

/// Where one of an instance's entries sits, so removing it touches only that bucket.
type Place = (WaitKey, Option<(CorrelationSetId, Values)>);

/// Open subscriptions of a process version's instances.
#[derive(Default)]
pub(crate) struct Index {
    waits: HashMap<WaitKey, WaitList>,
    by_instance: HashMap<i64, Vec<Place>>,
}

impl WaitList {
    fn take_keyed(&mut self, head: &(CorrelationSetId, Values), pos: usize) -> Option<Entry> {
        let entries = self.keyed.get_mut(head)?;
        if pos >= entries.len() {
            return None;
        }
        let e = entries.remove(pos);
        if entries.is_empty() {
            self.keyed.remove(head);
        }
        if let Some(n) = self.sets.get_mut(&head.0) {
            *n -= 1;
            if *n == 0 {
                self.sets.remove(&head.0);
            }
        }
        Some(e)
    }

    fn is_empty(&self) -> bool {
        self.uncorrelated.is_empty() && self.keyed.is_empty()
    }
}

impl Index {
    pub(crate) fn remove_instance(&mut self, instance: i64) {
        let Some(places) = self.by_instance.remove(&instance) else {
            return;
        };
        for (key, head) in places {
            let Some(list) = self.waits.get_mut(&key) else {
                continue;
            };
            match head {
                None => list.uncorrelated.retain(|e| e.instance != instance),
                Some(head) => {
                    while let Some(pos) = list
                        .keyed
                        .get(&head)
                        .and_then(|v| v.iter().position(|e| e.instance == instance))
                    {
                        if list.take_keyed(&head, pos).is_none() {
                            break;
                        }
                    }
                }
            }
            if list.is_empty() {
                self.waits.remove(&key);
            }
        }
    }

    pub(crate) fn add_waits(&mut self, instance: i64, waits: Vec<Wait>) {
        for w in waits {
            let head = w.correlation.first().cloned();
            let places = self.by_instance.entry(instance).or_default();
            let place = (w.key.clone(), head.clone());
            if !places.contains(&place) {
                places.push(place);
            }
            let list = self.waits.entry(w.key).or_default();
            let entry = Entry {
                instance,
                sub: w.sub,
                correlation: w.correlation,
            };
            match head {
                None => list.uncorrelated.push(entry),
                Some(head) => {
                    *list.sets.entry(head.0).or_default() += 1;
                    list.keyed.entry(head).or_default().push(entry);
                }
            }
        }
    }

    /// Whether some instance has an open subscription on `key`.
    pub(crate) fn waits_on(&self, key: &WaitKey) -> bool {
        self.waits.contains_key(key)
    }

    /// Finds and removes the subscription a message matches.
    pub(crate) fn claim(
        &mut self,
        ctx: &ProcessCtx,
        key: &WaitKey,
        message: &Element,
        correlated_only: bool,
    ) -> Option<Claim> {
        let list = self.waits.get_mut(key)?;
        if !list.keyed.is_empty() {
            let message_type = input_type(ctx, key);
            let env = Env {
                process: &ctx.process,
                wsdl: &ctx.wsdl,
                scope: ScopeId::PROCESS,
                instance_id: 0,
                now: 0,
                properties: &ctx.properties,
                stylesheets: ctx.stylesheets.as_ref(),
            };
            let sets: Vec<CorrelationSetId> = list.sets.keys().copied().collect();
            let mut cache: HashMap<CorrelationSetId, Option<Values>> = HashMap::new();
            let mut values_of = |set: CorrelationSetId| -> Option<Values> {
                cache
                    .entry(set)
                    .or_insert_with(|| {
                        message_type
                            .as_ref()
                            .and_then(|mt| data::correlation_values(&env, set, mt, message).ok())
                    })
                    .clone()
            };
            for set in sets {
                let Some(values) = values_of(set) else {
                    continue;
                };
                let head = (set, values);
                let Some(entries) = list.keyed.get(&head) else {
                    continue;
                };
                let pos = entries.iter().position(|e| {
                    e.correlation
                        .iter()
                        .skip(1)
                        .all(|(s, v)| values_of(*s).as_ref() == Some(v))
                });
                if let Some(e) = pos.and_then(|pos| list.take_keyed(&head, pos)) {
                    // Another of the instance's entries on this operation, headed by another
                    // set, whose correlation the message satisfies as well.
                    let ambiguous = list.sets.keys().filter(|s| **s != set).any(|other| {
                        values_of(*other).is_some_and(|v| {
                            list.keyed.get(&(*other, v)).is_some_and(|entries| {
                                entries.iter().any(|x| {
                                    x.instance == e.instance
                                        && x.correlation
                                            .iter()
                                            .skip(1)
                                            .all(|(s, v)| values_of(*s).as_ref() == Some(v))
                                })
                            })
                        })
                    });
                    let claim = Claim {
                        instance: e.instance,
                        sub: e.sub,
                        keys: e.correlation,
                        ambiguous,
                    };
                    if list.is_empty() {
                        self.waits.remove(key);
                    }
                    return Some(claim);
                }
            }
        }
        if list.uncorrelated.is_empty() || correlated_only {
            return None;
        }
        let e = list.uncorrelated.remove(0);
        if list.is_empty() {
            self.waits.remove(key);
        }
        Some(Claim {
            instance: e.instance,
            sub: e.sub,
            keys: e.correlation,
            ambiguous: false,
        })
    }
}

/// The input message type of the operation a key addresses.
fn input_type(ctx: &ProcessCtx, key: &WaitKey) -> Option<QName> {
    let pl = ctx.process.partner_links.get(key.partner_link.index())?;
    let (_, pt) = pl.my_role.as_ref()?;
    ctx.wsdl
        .port_type(pt)?
        .operations
        .iter()
        .find(|o| o.name == key.operation)?
        .input
        .clone()
}
