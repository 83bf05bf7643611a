//! Partners outside the engine over SOAP/HTTP: the message is encoded per the partner port's
//! WSDL binding (a SOAP 1.1 rpc/literal binding of the portType when the WSDL has none) and
//! posted through the pooled client; the answer is decoded back to message form.

use std::sync::Arc;

use bpelgate_transports::http::HttpClient;
use bpelgate_wsdl::QName;
use bpelgate_wsdl::soap::{PartnerReply, PortBinding, decode_response, encode_request};
use bpelgate_wsdl::xml::Limits;
use bytes::Bytes;
use tracing::debug;

use crate::router::{BoxFuture, PartnerCall, PartnerTransport};
use crate::runtime::{FaultData, InvokeResult};

/// The SOAP/HTTP partner transport.
#[derive(Debug, Clone)]
pub struct SoapPartners {
    client: HttpClient,
    limits: Limits,
}

impl SoapPartners {
    /// A transport posting through `client`.
    pub fn new(client: HttpClient, limits: Limits) -> Self {
        SoapPartners { client, limits }
    }

    fn binding(call: &PartnerCall) -> Result<PortBinding, String> {
        if let Some((service, port)) = &call.service
            && let Ok(pb) = PortBinding::resolve(&call.wsdl, service, port)
            && pb.invocable(&call.operation).is_some()
        {
            return Ok(pb);
        }
        let service = call
            .service
            .as_ref()
            .map(|(s, _)| s.clone())
            .unwrap_or_else(|| {
                QName::new(
                    call.port_type.ns.clone(),
                    format!("{}Service", call.port_type.local),
                )
            });
        let port = call
            .service
            .as_ref()
            .map(|(_, p)| p.clone())
            .unwrap_or_else(|| format!("{}Port", call.port_type.local));
        PortBinding::for_port_type(&call.wsdl, &call.port_type, &service, &port)
            .map_err(|e| format!("no SOAP binding for portType {}: {e}", call.port_type))
    }

    async fn call_soap(self, call: PartnerCall) -> InvokeResult {
        let pb = match Self::binding(&call) {
            Ok(pb) => pb,
            Err(e) => return InvokeResult::Failure(e),
        };
        let req = match encode_request(&pb, &call.operation, &call.message, &[]) {
            Ok(r) => r,
            Err(e) => return InvokeResult::Failure(format!("cannot encode the request: {e}")),
        };
        let headers = req.http_headers();
        debug!(address = %call.address, operation = %call.operation, "Calling partner.");
        let resp = match self
            .client
            .post(&call.address, &headers, Bytes::from(req.body))
            .await
        {
            Ok(r) => r,
            Err(e) => return InvokeResult::Failure(e.to_string()),
        };
        if call.one_way {
            return InvokeResult::Output(bpelgate_wsdl::Element::new(QName::new("", "message")));
        }
        match decode_response(&pb, &call.operation, resp.status, &resp.body, &self.limits) {
            Ok(PartnerReply::Output(m)) => InvokeResult::Output(m),
            Ok(PartnerReply::Fault {
                name,
                message_type,
                message,
            }) => InvokeResult::Fault {
                name,
                data: Some(FaultData::Message {
                    message_type,
                    value: message,
                }),
            },
            // An application fault the WSDL does not declare (a detail entry): the partner
            // answered, so the invoke throws it, named by the entry, for a catch or catchAll.
            // A bare SOAP fault (no detail) is an infrastructure failure: it goes to the
            // activity's failure handling (retry, recovery) like an unreachable partner.
            Ok(PartnerReply::UndeclaredFault {
                detail: Some(entry),
                ..
            }) => InvokeResult::Fault {
                name: entry.name,
                data: None,
            },
            Ok(PartnerReply::UndeclaredFault { code, reason, .. }) => {
                InvokeResult::Failure(format!(
                    "partner at {} answered an undeclared SOAP fault {code}: {reason}",
                    call.address
                ))
            }
            Err(e) => InvokeResult::Failure(format!("bad reply from {}: {e}", call.address)),
        }
    }
}

impl PartnerTransport for SoapPartners {
    fn call(&self, call: PartnerCall) -> BoxFuture<InvokeResult> {
        Box::pin(self.clone().call_soap(call))
    }
}

/// Shared handle for the router.
pub fn transport(client: HttpClient, limits: Limits) -> Arc<dyn PartnerTransport> {
    Arc::new(SoapPartners::new(client, limits))
}
