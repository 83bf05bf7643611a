//! Partner calls: in-process when the partner is a process of this engine (peer-to-peer),
//! otherwise through the configured [`PartnerTransport`].

use std::sync::Arc;

use bpelgate_wsdl::{Element, QName};

use super::{Delivery, Deployed, PartnerCall, Router, epr_address};
use crate::runtime::{InvokeOut, InvokeResult, ReplyBody};

impl Router {
    /// Calls a partner: in-process when it is a process of this engine (and usePeer2Peer is
    /// not false), else through the transport.
    pub(super) async fn call_partner(&self, d: &Arc<Deployed>, out: InvokeOut) -> InvokeResult {
        let ep = d.invokes.get(&out.partner_link);
        let pl = d.ctx.process.partner_link(out.partner_link);
        let Some((_, port_type)) = pl.partner_role.clone() else {
            return InvokeResult::Failure(format!("partner link {} has no partnerRole", pl.name));
        };
        let dynamic = out.endpoint.as_ref().and_then(epr_address);
        if out.endpoint.is_some() && dynamic.is_none() {
            // The process assigned an endpoint reference this engine cannot call.
            return InvokeResult::Fault {
                name: QName::new(crate::runtime::fault::BPEL_NS, "unsupportedReference"),
                data: None,
            };
        }
        let address = dynamic
            .clone()
            .or_else(|| ep.and_then(|e| e.address.clone()));
        // Peer-to-peer: the configured service is provided by a process of this engine.
        let p2p_allowed = ep.is_none_or(|e| e.use_peer2peer);
        if p2p_allowed && dynamic.is_none() {
            if let Some(target) = ep
                .and_then(|e| e.service.as_ref())
                .and_then(|(svc, _)| self.local_endpoint(svc))
            {
                return self.call_local(target, &out).await;
            }
            if let Some(target) = address
                .as_deref()
                .and_then(|a| self.local_endpoint_by_address(a))
            {
                return self.call_local(target, &out).await;
            }
        }
        let Some(address) = address else {
            // Nothing initialised the partner role: no EPR assigned, no deploy.xml address, no
            // local provider (WS-BPEL 2.0 §10.3).
            return InvokeResult::Fault {
                name: QName::new(crate::runtime::fault::BPEL_NS, "uninitializedPartnerRole"),
                data: None,
            };
        };
        let transport = self.inner.transport.read().ok().and_then(|t| t.clone());
        let Some(transport) = transport else {
            return InvokeResult::Failure("no partner transport is configured".into());
        };
        transport
            .call(PartnerCall {
                address,
                service: ep.and_then(|e| e.service.clone()),
                port_type,
                operation: out.operation.clone(),
                one_way: out.one_way,
                message: out.message,
                wsdl: d.ctx.wsdl.clone(),
            })
            .await
    }

    fn local_endpoint(&self, service: &QName) -> Option<Arc<crate::deploy::registry::Endpoint>> {
        let registry = self.inner.registry.upgrade()?;
        registry
            .endpoint(&service.local)
            .filter(|e| e.service == *service)
    }

    fn local_endpoint_by_address(
        &self,
        address: &str,
    ) -> Option<Arc<crate::deploy::registry::Endpoint>> {
        let registry = self.inner.registry.upgrade()?;
        let path = address.split("/services/").nth(1)?;
        let name = path.split(['?', '/']).next()?;
        registry.endpoint(name)
    }

    async fn call_local(
        &self,
        target: Arc<crate::deploy::registry::Endpoint>,
        out: &InvokeOut,
    ) -> InvokeResult {
        let delivery = Box::pin(self.deliver(
            &target.process,
            target.version,
            &target.partner_link,
            &out.operation,
            out.message.clone(),
            out.one_way,
        ))
        .await;
        match delivery {
            Delivery::Accepted => InvokeResult::Output(Element::new(QName::new("", "message"))),
            Delivery::Reply(ReplyBody::Output(m)) => InvokeResult::Output(m),
            Delivery::Reply(ReplyBody::Fault {
                name,
                data,
                explanation,
            }) => {
                if data.is_some() {
                    InvokeResult::Fault { name, data }
                } else {
                    InvokeResult::Failure(format!("partner process faulted: {name} {explanation}"))
                }
            }
            Delivery::Rejected(reason) | Delivery::Unavailable(reason) => {
                InvokeResult::Failure(reason)
            }
        }
    }
}
