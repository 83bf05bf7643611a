//! Activity failure handling (Apache ODE's `ext:failureHandling` and activity recovery): which
//! policy applies to a failed invoke, and what an operator sees of failed activities.

use bpelgate_wsdl::{Element, QName};

use super::data::Millis;
use super::exec::kind_name;
use super::fault::Fault;
use super::process::ProcessCtx;
use super::state::{Instance, TaskId};
use crate::deploy::descriptor::{FailureHandling, RECOVERY_NS};
use crate::events::RecoveryAction;
use crate::model::{ActivityId, ActivityKind};

/// The fault a failed activity throws (`faultOnFailure`, or an operator's `fault` action).
pub fn activity_failure(explanation: String) -> Fault {
    Fault {
        name: QName::new(RECOVERY_NS, "activityFailure"),
        data: None,
        explanation,
    }
}

/// The failure policy of `activity`: for an invoke, deploy.xml's `<invoke partnerLink>` policy
/// first; else the `ext:failureHandling` of the activity or of its nearest enclosing activity
/// that declares one (ODE inherits it at compile time). None: no policy, the activity waits for
/// an operator on its first failure.
pub fn policy(ctx: &ProcessCtx, activity: ActivityId) -> Option<FailureHandling> {
    let node = ctx.process.activity(activity);
    if let ActivityKind::Invoke(inv) = &node.kind
        && let Some(p) = ctx.failure_handling.get(&inv.partner_link)
    {
        return Some(*p);
    }
    let mut cur = Some(activity);
    while let Some(a) = cur {
        let node = ctx.process.activity(a);
        if let Some(el) = node
            .extension_elements
            .iter()
            .find(|e| e.name.ns == RECOVERY_NS && e.name.local == "failureHandling")
        {
            return Some(parse(el));
        }
        cur = node.parent;
    }
    None
}

/// Reads an `ext:failureHandling` element the way ODE's compiler does: missing or empty children
/// keep the defaults (0, 0, false), `faultOnFailure` is true only for the text `true` (any case),
/// numbers that do not parse count as 0.
fn parse(el: &Element) -> FailureHandling {
    let mut f = FailureHandling::default();
    for c in el.elements().filter(|c| c.name.ns == RECOVERY_NS) {
        let text = c.text();
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        match c.name.local.as_str() {
            "retryFor" => f.retry_for = number(text, "retryFor"),
            "retryDelay" => f.retry_delay_s = number(text, "retryDelay"),
            "faultOnFailure" => f.fault_on_failure = text.eq_ignore_ascii_case("true"),
            _ => {}
        }
    }
    f
}

fn number(text: &str, what: &str) -> u32 {
    text.parse().unwrap_or_else(|_| {
        tracing::warn!(
            value = text,
            "ext:{what} is not a non-negative integer; using 0"
        );
        0
    })
}

/// A failed activity waiting for an operator (ODE's `ODE_ACTIVITY_RECOVERY` row, pmapi
/// `tActivityInfo.failure`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedActivity {
    /// The activity instance (the id `recoverActivity` takes).
    pub task: TaskId,
    /// The activity's declaration id.
    pub activity: ActivityId,
    /// Its `name`.
    pub name: Option<String>,
    /// Its element name (`invoke`).
    pub kind: &'static str,
    /// Why the last attempt failed.
    pub reason: String,
    /// Retries made so far.
    pub retries: u32,
    /// When the last attempt failed.
    pub at: Millis,
    /// The recovery actions an operator may choose.
    pub actions: [RecoveryAction; 3],
}

/// The activities of `inst` waiting for an operator's recovery, by task id.
pub fn failed_activities(ctx: &ProcessCtx, inst: &Instance) -> Vec<FailedActivity> {
    inst.failures
        .iter()
        .filter(|(_, f)| f.awaiting_recovery)
        .map(|(task, f)| {
            let node = ctx.process.activity(f.activity);
            FailedActivity {
                task: *task,
                activity: f.activity,
                name: node.name.clone(),
                kind: kind_name(&node.kind),
                reason: f.reason.clone(),
                retries: f.retries,
                at: f.at,
                actions: [
                    RecoveryAction::Retry,
                    RecoveryAction::Cancel,
                    RecoveryAction::Fault,
                ],
            }
        })
        .collect()
}
