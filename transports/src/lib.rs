//! The wire for bpelgate: the HTTP listener now; SOAP, the partner client and AMQP next.
//!
//! This crate never depends on the root package: routing is supplied by the caller through
//! [`http::server::Handler`].

pub mod error;
pub mod http;

pub use error::Error;
