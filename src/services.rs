//! Process endpoints over SOAP/HTTP: `POST /services/{name}` is decoded per the port's WSDL
//! binding, delivered to the router, and the reply or fault encoded back (DESIGN §1).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bpelgate_transports::http::{HttpRequest, HttpResponse};
use bpelgate_wsdl::soap::{
    self, PortBinding, decode_request, encode_client_fault, encode_fault, encode_fault_explained,
    encode_response, encode_server_fault,
};
use bpelgate_wsdl::wsdl::SoapVersion;
use bpelgate_wsdl::xml::Limits;
use hyper::StatusCode;
use hyper::header::CONTENT_TYPE;
use tracing::debug;

use crate::deploy::registry::Endpoint;
use crate::router::{Delivery, Router};
use crate::runtime::{FaultData, ReplyBody};

/// Serves process endpoints.
pub struct Services {
    router: Router,
    limits: Limits,
    bindings: Mutex<HashMap<(String, String, u64), Arc<PortBinding>>>,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services").finish_non_exhaustive()
    }
}

fn soap_response(status: StatusCode, version: SoapVersion, body: Vec<u8>) -> HttpResponse {
    let ct = match version {
        SoapVersion::Soap11 => "text/xml; charset=utf-8",
        SoapVersion::Soap12 => "application/soap+xml; charset=utf-8",
    };
    HttpResponse::new(status, ct, body)
}

impl Services {
    /// Endpoints delivering to `router`, parsing with `limits`.
    pub fn new(router: Router, limits: Limits) -> Self {
        Services {
            router,
            limits,
            bindings: Mutex::new(HashMap::new()),
        }
    }

    fn binding(&self, ep: &Endpoint) -> Result<Arc<PortBinding>, String> {
        let key = (ep.package.clone(), ep.service.local.clone(), ep.version);
        if let Some(b) = self.bindings.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(b);
        }
        let pb = PortBinding::resolve(&ep.wsdl, &ep.service, &ep.port)
            .map_err(|e| format!("service {} port {}: {e}", ep.service, ep.port))?;
        let pb = Arc::new(pb);
        if let Ok(mut m) = self.bindings.lock() {
            m.insert(key, pb.clone());
        }
        Ok(pb)
    }

    /// Handles a SOAP request to endpoint `ep`.
    pub async fn invoke(&self, req: &HttpRequest, ep: &Endpoint) -> HttpResponse {
        let version_hint = req
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(soap::version_of_content_type)
            .unwrap_or(SoapVersion::Soap11);
        let pb = match self.binding(ep) {
            Ok(pb) => pb,
            Err(e) => {
                return soap_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    version_hint,
                    encode_client_fault(version_hint, &e),
                );
            }
        };
        let content_type = req.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
        let action = req.headers.get("soapaction").and_then(|v| v.to_str().ok());
        let inbound = match decode_request(&pb, content_type, action, &req.body, &self.limits) {
            Ok(r) => r,
            Err(fault) => {
                debug!(service = %ep.service, reason = %fault.reason, "Bad SOAP request.");
                return soap_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    fault.version,
                    fault.to_envelope(),
                );
            }
        };
        let version = inbound.version;
        let one_way = pb
            .operation(&inbound.operation)
            .is_some_and(|op| op.is_one_way());
        let delivery = self
            .router
            .deliver(
                &ep.process,
                ep.version,
                &ep.partner_link,
                &inbound.operation,
                inbound.message,
                one_way,
            )
            .await;
        match delivery {
            Delivery::Accepted => HttpResponse::new(StatusCode::ACCEPTED, "text/plain", ""),
            Delivery::Reply(ReplyBody::Output(m)) => {
                if one_way {
                    return HttpResponse::new(StatusCode::ACCEPTED, "text/plain", "");
                }
                match encode_response(&pb, version, &inbound.operation, &m) {
                    Ok(body) => soap_response(StatusCode::OK, version, body),
                    Err(e) => {
                        tracing::warn!(service = %ep.service, error = %e, "Reply does not fit the WSDL output message.");
                        soap_response(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            version,
                            encode_fault(
                                &pb,
                                version,
                                &inbound.operation,
                                &bpelgate_wsdl::QName::new(
                                    crate::runtime::fault::BPEL_NS,
                                    "invalidVariables",
                                ),
                                None,
                            ),
                        )
                    }
                }
            }
            Delivery::Reply(ReplyBody::Fault {
                name,
                data,
                explanation,
            }) => {
                debug!(service = %ep.service, fault = %name, %explanation, "Fault reply.");
                let message = match &data {
                    Some(FaultData::Message { value, .. }) => Some(value),
                    _ => None,
                };
                soap_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    version,
                    encode_fault_explained(
                        &pb,
                        version,
                        &inbound.operation,
                        &name,
                        message,
                        &explanation,
                    ),
                )
            }
            Delivery::Rejected(reason) => soap_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                version,
                encode_client_fault(version, &reason),
            ),
            Delivery::Unavailable(reason) => soap_response(
                StatusCode::SERVICE_UNAVAILABLE,
                version,
                encode_server_fault(
                    version,
                    &format!("the engine cannot take the message now: {reason}"),
                ),
            ),
        }
    }
}
