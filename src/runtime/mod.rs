//! Process execution: instances as data, one deterministic step per event (DESIGN decision 1).

pub mod data;
pub mod fault;

pub use fault::{Fault, FaultData};
