//! Runtime tests: small BPEL processes compiled and deployed into a registry with a router,
//! driven through the engine API (message form in, reply out).

mod activities;
mod basics;
mod compensation;
mod correlation;
mod durable;
mod events;
mod events_handlers;
mod failure;
mod faults;
mod flow;
pub(crate) mod kit;
mod ode_compat;
mod roundtrip;
mod semantics;
mod versions;

use std::sync::Arc;

use bpelgate::deploy::Registry;
use bpelgate::router::{Delivery, Router};
use bpelgate::runtime::ReplyBody;
use bpelgate_wsdl::xml::{Limits, QName, parse_str, to_string};

/// A registry and router with packages from `tests/processes/` deployed.
pub(crate) struct Engine {
    pub(crate) registry: Arc<Registry>,
    pub(crate) router: Router,
}

impl Engine {
    /// Sends a message (message form, XML text) to the process providing `service`.
    pub(crate) async fn call(&self, service: &str, operation: &str, message: &str) -> Delivery {
        let ep = self
            .registry
            .endpoint(service)
            .unwrap_or_else(|| panic!("no service {service}"));
        let message = parse_str(message, &Limits::default()).expect("test message parses");
        let one_way = false;
        self.router
            .deliver(
                &ep.process,
                ep.version,
                &ep.partner_link,
                operation,
                message,
                one_way,
            )
            .await
    }

    /// Sends a one-way message.
    pub(crate) async fn send(&self, service: &str, operation: &str, message: &str) -> Delivery {
        let ep = self.registry.endpoint(service).expect("service");
        let message = parse_str(message, &Limits::default()).expect("test message parses");
        self.router
            .deliver(
                &ep.process,
                ep.version,
                &ep.partner_link,
                operation,
                message,
                true,
            )
            .await
    }
}

/// The reply's message as XML text; panics on anything else.
pub(crate) fn output(d: Delivery) -> String {
    match d {
        Delivery::Reply(ReplyBody::Output(m)) => to_string(&m),
        other => panic!("expected an output message, got {other:?}"),
    }
}

/// The reply's fault QName; panics on anything else.
pub(crate) fn fault(d: Delivery) -> QName {
    match d {
        Delivery::Reply(ReplyBody::Fault { name, .. }) => name,
        other => panic!("expected a fault, got {other:?}"),
    }
}
