//! The subscription index: which instance waits for which (partner link, operation,
//! correlation values).

use std::collections::{BTreeSet, HashMap};

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

/// A claimed subscription: instance, subscription id, and the correlation values it matched on.
pub(crate) type Claim = (i64, u32, Vec<(CorrelationSetId, Values)>);

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
}

/// Open subscriptions of a process version's instances.
#[derive(Default)]
pub(crate) struct Index {
    waits: HashMap<WaitKey, WaitList>,
    by_instance: HashMap<i64, BTreeSet<WaitKey>>,
}

impl Index {
    pub(crate) fn remove_instance(&mut self, instance: i64) {
        let Some(keys) = self.by_instance.remove(&instance) else {
            return;
        };
        for k in keys {
            if let Some(list) = self.waits.get_mut(&k) {
                list.uncorrelated.retain(|e| e.instance != instance);
                list.keyed.retain(|_, v| {
                    v.retain(|e| e.instance != instance);
                    !v.is_empty()
                });
                if list.uncorrelated.is_empty() && list.keyed.is_empty() {
                    self.waits.remove(&k);
                }
            }
        }
    }

    pub(crate) fn add_waits(&mut self, instance: i64, waits: Vec<Wait>) {
        for w in waits {
            self.by_instance
                .entry(instance)
                .or_default()
                .insert(w.key.clone());
            let list = self.waits.entry(w.key).or_default();
            let entry = Entry {
                instance,
                sub: w.sub,
                correlation: w.correlation,
            };
            match entry.correlation.first().cloned() {
                None => list.uncorrelated.push(entry),
                Some(first) => list.keyed.entry(first).or_default().push(entry),
            }
        }
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
            let sets: BTreeSet<CorrelationSetId> = list.keyed.keys().map(|(s, _)| *s).collect();
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
                let Some(entries) = list.keyed.get_mut(&(set, values.clone())) else {
                    continue;
                };
                let pos = entries.iter().position(|e| {
                    e.correlation
                        .iter()
                        .skip(1)
                        .all(|(s, v)| values_of(*s).as_ref() == Some(v))
                });
                if let Some(pos) = pos {
                    let e = entries.remove(pos);
                    if entries.is_empty() {
                        list.keyed.remove(&(set, values));
                    }
                    return Some((e.instance, e.sub, e.correlation));
                }
            }
        }
        if list.uncorrelated.is_empty() || correlated_only {
            return None;
        }
        let e = list.uncorrelated.remove(0);
        Some((e.instance, e.sub, e.correlation))
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
