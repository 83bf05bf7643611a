//! Process instance states with Apache ODE's numeric codes.
//!
//! The codes are what ODE stores in `ODE_PROCESS_INSTANCE.INSTANCE_STATE` and carries in
//! `ProcessInstanceStateChangeEvent` (`org.apache.ode.bpel.common.ProcessState`), so they are part
//! of the compatibility surface: persisted rows, events and management filters all use them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The state of a process instance.
///
/// Serialized (JSON) as ODE's constant name (`"ACTIVE"`, `"COMPLETED_OK"`, ...); use
/// [`InstanceState::code`] for the numeric column value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InstanceState {
    /// Created, nothing run yet (code 0).
    New,
    /// Ready to run (code 10).
    Ready,
    /// Running or waiting (code 20).
    Active,
    /// Finished normally (code 30).
    CompletedOk,
    /// Finished with an uncaught fault (code 40).
    CompletedWithFault,
    /// Suspended by an operator (code 50).
    Suspended,
    /// Terminated by `<exit>` or an operator (code 60).
    Terminated,
}

/// Every state, in code order.
pub const ALL_STATES: [InstanceState; 7] = [
    InstanceState::New,
    InstanceState::Ready,
    InstanceState::Active,
    InstanceState::CompletedOk,
    InstanceState::CompletedWithFault,
    InstanceState::Suspended,
    InstanceState::Terminated,
];

impl InstanceState {
    /// ODE's numeric code (`ProcessState.STATE_*`).
    pub const fn code(self) -> i16 {
        match self {
            InstanceState::New => 0,
            InstanceState::Ready => 10,
            InstanceState::Active => 20,
            InstanceState::CompletedOk => 30,
            InstanceState::CompletedWithFault => 40,
            InstanceState::Suspended => 50,
            InstanceState::Terminated => 60,
        }
    }

    /// The state with ODE code `code`, if there is one.
    pub const fn from_code(code: i16) -> Option<Self> {
        Some(match code {
            0 => InstanceState::New,
            10 => InstanceState::Ready,
            20 => InstanceState::Active,
            30 => InstanceState::CompletedOk,
            40 => InstanceState::CompletedWithFault,
            50 => InstanceState::Suspended,
            60 => InstanceState::Terminated,
            _ => return None,
        })
    }

    /// ODE's constant name without the `STATE_` prefix (`"COMPLETED_OK"`): the serialized form.
    pub const fn name(self) -> &'static str {
        match self {
            InstanceState::New => "NEW",
            InstanceState::Ready => "READY",
            InstanceState::Active => "ACTIVE",
            InstanceState::CompletedOk => "COMPLETED_OK",
            InstanceState::CompletedWithFault => "COMPLETED_WITH_FAULT",
            InstanceState::Suspended => "SUSPENDED",
            InstanceState::Terminated => "TERMINATED",
        }
    }

    /// ODE's display string (`ProcessState.stateToString`: `"Completed Ok"`, ...).
    pub const fn display_name(self) -> &'static str {
        match self {
            InstanceState::New => "New",
            InstanceState::Ready => "Ready",
            InstanceState::Active => "Active",
            InstanceState::CompletedOk => "Completed Ok",
            InstanceState::CompletedWithFault => "Completed Fault",
            InstanceState::Suspended => "Suspended",
            InstanceState::Terminated => "Terminated",
        }
    }

    /// The pmapi `tInstanceStatus` value (`ACTIVE COMPLETED TERMINATED FAILED SUSPENDED`);
    /// a faulted instance reports `FAILED`. pmapi's `ERROR` depends on activity failures, not on
    /// this state, so it is never returned here.
    pub const fn pmapi_status(self) -> &'static str {
        match self {
            InstanceState::New | InstanceState::Ready | InstanceState::Active => "ACTIVE",
            InstanceState::CompletedOk => "COMPLETED",
            InstanceState::CompletedWithFault => "FAILED",
            InstanceState::Suspended => "SUSPENDED",
            InstanceState::Terminated => "TERMINATED",
        }
    }

    /// The states an instance-filter `status=` keyword selects (case-insensitive), following
    /// ODE's `InstanceFilter.convertFilterState`, quirks included: `failed` selects faulted
    /// instances, while `error` and `faulted` are known keywords that select nothing.
    /// `None` for an unknown keyword.
    pub fn from_filter_status(keyword: &str) -> Option<&'static [InstanceState]> {
        const ACTIVE: &[InstanceState] = &[
            InstanceState::New,
            InstanceState::Ready,
            InstanceState::Active,
        ];
        Some(match keyword.to_ascii_lowercase().as_str() {
            "active" => ACTIVE,
            "suspended" => &[InstanceState::Suspended],
            "completed" => &[InstanceState::CompletedOk],
            "terminated" => &[InstanceState::Terminated],
            "failed" => &[InstanceState::CompletedWithFault],
            "error" | "faulted" => &[],
            _ => return None,
        })
    }

    /// True once the instance can no longer run (completed, faulted or terminated).
    pub const fn is_final(self) -> bool {
        matches!(
            self,
            InstanceState::CompletedOk
                | InstanceState::CompletedWithFault
                | InstanceState::Terminated
        )
    }
}

impl fmt::Display for InstanceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_ode() {
        let codes: Vec<i16> = ALL_STATES.iter().map(|s| s.code()).collect();
        assert_eq!(codes, [0, 10, 20, 30, 40, 50, 60]);
        for s in ALL_STATES {
            assert_eq!(InstanceState::from_code(s.code()), Some(s));
        }
        assert_eq!(InstanceState::from_code(5), None);
        assert_eq!(InstanceState::from_code(-1), None);
    }

    #[test]
    fn names_and_serde_agree() {
        for s in ALL_STATES {
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.name()));
            let back: InstanceState = serde_json::from_str(&json).unwrap();
            assert_eq!(back, s);
        }
        assert_eq!(
            InstanceState::CompletedWithFault.display_name(),
            "Completed Fault"
        );
        assert_eq!(InstanceState::Active.to_string(), "ACTIVE");
    }

    #[test]
    fn pmapi_status_and_filter_quirks() {
        assert_eq!(InstanceState::Ready.pmapi_status(), "ACTIVE");
        assert_eq!(InstanceState::CompletedWithFault.pmapi_status(), "FAILED");
        assert_eq!(
            InstanceState::from_filter_status("ACTIVE"),
            Some(
                &[
                    InstanceState::New,
                    InstanceState::Ready,
                    InstanceState::Active
                ][..]
            )
        );
        assert_eq!(
            InstanceState::from_filter_status("failed"),
            Some(&[InstanceState::CompletedWithFault][..])
        );
        assert_eq!(InstanceState::from_filter_status("faulted"), Some(&[][..]));
        assert_eq!(InstanceState::from_filter_status("error"), Some(&[][..]));
        assert_eq!(InstanceState::from_filter_status("bogus"), None);
        assert!(InstanceState::Terminated.is_final());
        assert!(!InstanceState::Suspended.is_final());
    }
}
