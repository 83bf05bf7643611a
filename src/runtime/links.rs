//! Links: the structural walk dead-path elimination needs (join conditions are evaluated by
//! the data layer, with link values answered by the executor's variable view).

use crate::model::{ActivityId, ActivityKind, Process};

/// The activities directly nested in `activity` (its body; not its handlers, which links never
/// cross into).
pub fn children(process: &Process, activity: ActivityId) -> Vec<ActivityId> {
    match &process.activity(activity).kind {
        ActivityKind::Sequence(c) => c.clone(),
        ActivityKind::Flow { activities, .. } => activities.clone(),
        ActivityKind::If(branches) => branches.iter().map(|(_, a)| *a).collect(),
        ActivityKind::While { body, .. } | ActivityKind::RepeatUntil { body, .. } => vec![*body],
        ActivityKind::ForEach(fe) => vec![fe.activity],
        ActivityKind::Pick(p) => p
            .on_messages
            .iter()
            .map(|m| m.activity)
            .chain(p.on_alarms.iter().map(|a| a.activity))
            .collect(),
        ActivityKind::Scope(s) => process.scope(*s).body.into_iter().collect(),
        _ => Vec::new(),
    }
}
