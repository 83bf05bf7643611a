//! HTTP/1.1: the listener, its limits, and the pooled partner client.

pub mod client;
pub mod limits;
pub mod server;

pub use client::{ClientConfig, ClientError, ClientResponse, HttpClient};
pub use server::{Handler, HttpRequest, HttpResponse, ServerOptions, bind, serve};
