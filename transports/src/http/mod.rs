//! HTTP/1.1: the listener and its limits.

pub mod limits;
pub mod server;

pub use server::{Handler, HttpRequest, HttpResponse, ServerOptions, bind, serve};
