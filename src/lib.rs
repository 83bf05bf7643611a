//! bpelgate: a WS-BPEL 2.0 process server, compatible with Apache ODE / WSO2 BPS packages.
//!
//! Data flows one way: `config` → `deploy` (packages, deploy.xml, hot deployment) → `compiler`
//! (BPEL model, static analysis, compiled process in `model`) → runtime. `wsdl` and `transports`
//! are crates of their own and never depend on this one.
//!
//! Glossary: *package* (deployment unit: a directory with deploy.xml), *SA code* (a static analysis
//! requirement of WS-BPEL 2.0 Appendix B, e.g. SA00056), *DPE* (dead-path elimination).

pub mod compiler;
pub mod config;
pub mod deploy;
pub mod events;
pub mod mgmt;
pub mod model;
pub mod partners;
pub mod router;
pub mod runtime;
pub mod scheduler;
pub mod server;
pub mod services;
pub mod store;
pub mod xpath;
pub mod xslt;
