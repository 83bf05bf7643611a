//! WSDL messages ⇄ SOAP envelopes, driven by a port's binding.
//!
//! Messages travel between transports and the engine in Apache ODE's abstract form: an element
//! `message` (no namespace) with one child per WSDL part, named after the part (no namespace).
//! An element part's accessor holds the part element; a type part's accessor holds the value
//! (text and/or children) directly.
//!
//! SOAP header blocks the binding does not declare travel too, as Apache ODE does (custom
//! headers such as conversation ids): read, each becomes one more accessor named after the
//! block's local name and holding the block, as a declared element header part's does (declared
//! parts win a name clash; WS-Addressing blocks are left out, they describe the exchange);
//! written, every accessor that is not a part of the message and holds an element becomes a
//! header block after the declared ones.
//!
//! - [`PortBinding::resolve`] flattens service/port/binding/portType/messages into what the
//!   mapping needs per operation (style, version, soapAction, rpc namespace, body vs header parts,
//!   faults).
//! - Server side: [`decode_request`] (every bad input is a [`SoapFault`] the caller sends back as a
//!   Client fault), [`encode_response`], [`encode_fault`], [`encode_client_fault`].
//! - Client side: [`encode_request`], [`decode_response`] → [`PartnerReply`].
//!
//! Nothing here does I/O; the transports crate carries the bytes.

mod binding;
mod client;
mod envelope;
mod message;
mod server;

#[cfg(test)]
mod tests;

pub use binding::{
    BoundPart, FaultBinding, MessageBinding, OperationBinding, PartPlace, PortBinding,
};
pub use client::{OutboundRequest, PartnerReply, decode_response, encode_request};
pub use envelope::{SOAP11_ENV, SOAP12_ENV, content_type, version_of_content_type};
pub use server::{
    InboundRequest, decode_request, encode_client_fault, encode_fault, encode_fault_explained,
    encode_response, encode_server_fault,
};

use crate::wsdl::SoapVersion;
use crate::xml::QName;

/// A problem with a port's WSDL, a message the engine handed over, or a partner's reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SoapError {
    /// No WSDL of the set defines the service.
    #[error("service {0} is not defined in any WSDL of the package")]
    UnknownService(QName),
    /// The service has no port of that name.
    #[error("service {service} has no port '{port}'")]
    UnknownPort {
        /// The service.
        service: QName,
        /// The port asked for.
        port: String,
    },
    /// The port names a binding no WSDL defines.
    #[error("binding {0} is not defined in any WSDL of the package")]
    UnknownBinding(QName),
    /// The binding names a portType no WSDL defines.
    #[error("portType {0} is not defined in any WSDL of the package")]
    UnknownPortType(QName),
    /// An operation refers to a message no WSDL defines.
    #[error("message {0} is not defined in any WSDL of the package")]
    UnknownMessage(QName),
    /// A soap:header names a part its message does not have.
    #[error(
        "soap:header of operation '{operation}' names part '{part}' that message {message} lacks"
    )]
    UnknownHeaderPart {
        /// The operation.
        operation: String,
        /// The header's message.
        message: QName,
        /// The part named.
        part: String,
    },
    /// The operation is not one of the port's (request-response or one-way) operations.
    #[error("port has no operation '{0}'")]
    UnknownOperation(String),
    /// The operation has no output (one-way) but a reply was asked for.
    #[error("operation '{0}' is one-way and has no output message")]
    NoOutput(String),
    /// The engine's message lacks a part the binding puts on the wire.
    #[error("message for operation '{operation}' has no value for part '{part}'")]
    MissingPart {
        /// The operation.
        operation: String,
        /// The missing part.
        part: String,
    },
    /// The partner answered with a non-2xx HTTP status and no SOAP fault.
    #[error("partner answered HTTP {status} without a SOAP fault")]
    HttpStatus {
        /// The status code.
        status: u16,
    },
    /// The partner's reply cannot be read as the operation's output.
    #[error("partner reply: {0}")]
    BadReply(String),
}

/// A request the server refuses: answered with a SOAP Client (1.2: Sender) fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct SoapFault {
    /// The SOAP version to answer in (the request's, as far as it could be told).
    pub version: SoapVersion,
    /// What is wrong with the request, for the caller.
    pub reason: String,
}

impl SoapFault {
    /// A Client fault in `version` with `reason`.
    pub fn client(version: SoapVersion, reason: impl Into<String>) -> Self {
        SoapFault {
            version,
            reason: reason.into(),
        }
    }

    /// The fault envelope to send back (HTTP 500, [`content_type`] of [`SoapFault::version`]).
    pub fn to_envelope(&self) -> Vec<u8> {
        encode_client_fault(self.version, &self.reason)
    }
}
