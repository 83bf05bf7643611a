//! Process execution: instances as data, one deterministic step per event (DESIGN decision 1).
//!
//! `state` is the instance value, `exec` the step function, `data` the expression and variable
//! layer, `links` the dead-path elimination walk, `process` the deployed process, `recovery`
//! the failure policies of invokes and what operators see of failed activities.

// Faults travel by value through `Result`s on the cold path; boxing them would allocate on
// every fault for no measurable gain.
#![allow(clippy::result_large_err, clippy::large_enum_variant)]

pub mod clock;
pub mod data;
pub mod exec;
pub mod fault;
pub mod links;
pub mod process;
pub mod recovery;
pub mod state;

pub use exec::{Effects, Input, InvokeOut, InvokeResult, ReplyBody, ReplyOut, new_instance, step};
pub use fault::{Fault, FaultData};
pub use process::{PackageStylesheets, ProcessCtx};
pub use recovery::{FailedActivity, failed_activities};
pub use state::{Instance, Status};
