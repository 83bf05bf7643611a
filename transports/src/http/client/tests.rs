//! The client against a local hyper server that counts connections and concurrent requests.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::*;

#[derive(Default)]
struct Stats {
    connections: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

/// Paths: `/echo` (body and content type back, status from `x-status`), `/slow/<ms>`,
/// `/big/<bytes>`.
async fn server() -> (SocketAddr, Arc<Stats>, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stats = Arc::new(Stats::default());
    let st = stats.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            st.connections.fetch_add(1, Ordering::SeqCst);
            let st = st.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: hyper::Request<Incoming>| {
                    let st = st.clone();
                    async move { Ok::<_, Infallible>(answer(req, &st).await) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (addr, stats, task)
}

async fn answer(req: hyper::Request<Incoming>, st: &Stats) -> Response<Full<Bytes>> {
    let now = st.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    st.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let path = req.uri().path().to_owned();
    let status = req
        .headers()
        .get("x-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u16>().ok());
    let ct = req.headers().get(CONTENT_TYPE).cloned();
    let body = req.into_body().collect().await.unwrap().to_bytes();
    let mut resp = if path == "/soap" {
        soap_service(ct.as_ref(), &body)
    } else if let Some(ms) = path.strip_prefix("/slow/") {
        tokio::time::sleep(Duration::from_millis(ms.parse().unwrap())).await;
        Response::new(Full::new(Bytes::from_static(b"slept")))
    } else if let Some(n) = path.strip_prefix("/big/") {
        Response::new(Full::new(Bytes::from(vec![b'x'; n.parse().unwrap()])))
    } else {
        let mut r = Response::new(Full::new(body));
        if let Some(ct) = ct {
            r.headers_mut().insert(CONTENT_TYPE, ct);
        }
        r
    };
    if let Some(status) = status {
        *resp.status_mut() = StatusCode::from_u16(status).unwrap();
    }
    st.in_flight.fetch_sub(1, Ordering::SeqCst);
    resp
}

const CALC: &str = r#"<definitions xmlns="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:tns="urn:calc" targetNamespace="urn:calc">
  <message name="In"><part name="a" type="xsd:int"/><part name="b" type="xsd:int"/></message>
  <message name="Out"><part name="sum" type="xsd:int"/></message>
  <message name="Err"><part name="text" type="xsd:string"/></message>
  <portType name="PT"><operation name="add">
    <input message="tns:In"/><output message="tns:Out"/><fault name="Negative" message="tns:Err"/>
  </operation></portType>
  <binding name="B" type="tns:PT"><soap:binding style="rpc"/>
    <operation name="add"><soap:operation soapAction="urn:add"/>
      <input><soap:body use="literal"/></input><output><soap:body use="literal"/></output>
    </operation></binding>
  <service name="S"><port name="P" binding="tns:B"/></service>
</definitions>"#;

fn calc() -> bpelgate_wsdl::soap::PortBinding {
    use bpelgate_wsdl::wsdl::{MemLoader, WsdlSet};
    let loader = MemLoader::new().with("c.wsdl", CALC);
    let (set, errors) = WsdlSet::load(&loader, &["c.wsdl".to_owned()]);
    assert!(errors.is_empty(), "{errors:?}");
    bpelgate_wsdl::soap::PortBinding::resolve(
        &set,
        &bpelgate_wsdl::QName::new("urn:calc", "S"),
        "P",
    )
    .unwrap()
}

/// A process endpoint in miniature: adds a and b, faults with the declared fault when the sum
/// is negative.
fn soap_service(ct: Option<&HeaderValue>, body: &[u8]) -> Response<Full<Bytes>> {
    use bpelgate_wsdl::soap::*;
    use bpelgate_wsdl::xml::{Limits, parse_str};
    let pb = calc();
    let ct = ct.and_then(|v| v.to_str().ok());
    let (status, bytes, version) = match decode_request(&pb, ct, None, body, &Limits::default()) {
        Err(f) => (500, f.to_envelope(), f.version),
        Ok(req) => {
            let n = |p: &str| {
                req.message
                    .elements()
                    .find(|e| e.name.local == p)
                    .and_then(|e| e.text().trim().parse::<i64>().ok())
                    .unwrap_or(0)
            };
            let sum = n("a") + n("b");
            if sum < 0 {
                let m = parse_str(
                    "<message><text>negative</text></message>",
                    &Limits::default(),
                )
                .unwrap();
                let name = bpelgate_wsdl::QName::new("urn:calc", "Negative");
                (
                    500,
                    encode_fault(&pb, req.version, "add", &name, Some(&m)),
                    req.version,
                )
            } else {
                let m = parse_str(
                    &format!("<message><sum>{sum}</sum></message>"),
                    &Limits::default(),
                )
                .unwrap();
                (
                    200,
                    encode_response(&pb, req.version, "add", &m).unwrap(),
                    req.version,
                )
            }
        }
    };
    let mut r = Response::new(Full::new(Bytes::from(bytes)));
    *r.status_mut() = StatusCode::from_u16(status).unwrap();
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(bpelgate_wsdl::soap::content_type(version)),
    );
    r
}

#[tokio::test]
async fn soap_call_over_http() {
    use bpelgate_wsdl::soap::*;
    use bpelgate_wsdl::xml::{Limits, parse_str};
    let (addr, _stats, _task) = server().await;
    let c = client(ClientConfig::default());
    let pb = calc();
    let url = format!("http://{addr}/soap");
    for (a, b, want) in [(2, 3, Some(5)), (2, -3, None)] {
        let m = parse_str(
            &format!("<message><a>{a}</a><b>{b}</b></message>"),
            &Limits::default(),
        )
        .unwrap();
        let req = encode_request(&pb, "add", &m, &[]).unwrap();
        assert_eq!(req.soap_action.as_deref(), Some("\"urn:add\""));
        let resp = c
            .post(&url, &req.http_headers(), Bytes::from(req.body))
            .await
            .unwrap();
        let reply =
            decode_response(&pb, "add", resp.status, &resp.body, &Limits::default()).unwrap();
        match (reply, want) {
            (PartnerReply::Output(m), Some(sum)) => {
                assert_eq!(m.first_element().unwrap().text(), sum.to_string());
            }
            (PartnerReply::Fault { name, message, .. }, None) => {
                assert_eq!(name.local, "Negative");
                assert_eq!(message.first_element().unwrap().text(), "negative");
            }
            (other, _) => panic!("{other:?}"),
        }
    }
    // Garbage gets a Client fault back, which the caller sees as an undeclared fault.
    let resp = c
        .post(
            &url,
            &[("Content-Type".into(), "text/xml".into())],
            Bytes::from_static(b"<oops"),
        )
        .await
        .unwrap();
    assert_eq!(resp.status, 500);
    match decode_response(&pb, "add", resp.status, &resp.body, &Limits::default()).unwrap() {
        PartnerReply::UndeclaredFault { code, reason, .. } => {
            assert_eq!(code, "{http://schemas.xmlsoap.org/soap/envelope/}Client");
            assert!(reason.contains("not well-formed"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

fn client(config: ClientConfig) -> HttpClient {
    HttpClient::new(config).unwrap()
}

#[tokio::test]
async fn posts_and_reuses_pooled_connections() {
    let (addr, stats, _task) = server().await;
    let c = client(ClientConfig::default());
    let url = format!("http://{addr}/echo");
    for i in 0..5 {
        let headers = vec![
            (
                "Content-Type".to_owned(),
                "text/xml; charset=utf-8".to_owned(),
            ),
            ("SOAPAction".to_owned(), "\"urn:x\"".to_owned()),
            (
                "x-status".to_owned(),
                if i == 4 { "500" } else { "200" }.to_owned(),
            ),
        ];
        let r = c
            .post(&url, &headers, Bytes::from(format!("<m>{i}</m>")))
            .await
            .unwrap();
        assert_eq!(r.body, Bytes::from(format!("<m>{i}</m>")));
        assert_eq!(r.content_type.as_deref(), Some("text/xml; charset=utf-8"));
        // A 500 is an answer, not an error: SOAP faults come with it.
        assert_eq!(r.status, if i == 4 { 500 } else { 200 });
    }
    assert_eq!(
        stats.connections.load(Ordering::SeqCst),
        1,
        "keep-alive reuse"
    );
}

#[tokio::test]
async fn a_slow_partner_times_out() {
    let (addr, _stats, _task) = server().await;
    let c = client(ClientConfig {
        request_timeout: Duration::from_millis(150),
        ..ClientConfig::default()
    });
    let url = format!("http://{addr}/slow/2000");
    let started = std::time::Instant::now();
    let err = c.post(&url, &[], Bytes::new()).await.unwrap_err();
    assert!(
        matches!(err, ClientError::Timeout { after, .. } if after == Duration::from_millis(150))
    );
    assert!(started.elapsed() < Duration::from_millis(1500));
    // A per-call deadline overrides the configured one.
    let r = c
        .post_with_timeout(
            &format!("http://{addr}/slow/10"),
            &[],
            Bytes::new(),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(r.body, Bytes::from_static(b"slept"));
}

#[tokio::test]
async fn per_host_limit_bounds_concurrent_requests() {
    let (addr, stats, _task) = server().await;
    let c = client(ClientConfig {
        max_connections_per_host: 2,
        ..ClientConfig::default()
    });
    let url = format!("http://{addr}/slow/100");
    let calls: Vec<_> = (0..6)
        .map(|_| {
            let c = c.clone();
            let url = url.clone();
            tokio::spawn(async move { c.post(&url, &[], Bytes::new()).await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap().status, 200);
    }
    assert_eq!(stats.max_in_flight.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn total_limit_bounds_concurrent_requests() {
    let (addr, stats, _task) = server().await;
    let c = client(ClientConfig {
        max_connections_per_host: 10,
        max_total_connections: 3,
        ..ClientConfig::default()
    });
    let url = format!("http://{addr}/slow/100");
    let calls: Vec<_> = (0..6)
        .map(|_| {
            let c = c.clone();
            let url = url.clone();
            tokio::spawn(async move { c.post(&url, &[], Bytes::new()).await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(stats.max_in_flight.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn response_body_is_capped() {
    let (addr, _stats, _task) = server().await;
    let c = client(ClientConfig {
        max_response_bytes: 1000,
        ..ClientConfig::default()
    });
    let ok = c
        .post(&format!("http://{addr}/big/1000"), &[], Bytes::new())
        .await
        .unwrap();
    assert_eq!(ok.body.len(), 1000);
    let err = c
        .post(&format!("http://{addr}/big/5000"), &[], Bytes::new())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::TooLarge { limit: 1000, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn bad_urls_headers_and_refused_connections() {
    let c = client(ClientConfig::default());
    for url in ["not a url", "/relative/path", "ftp://host/x", "mailto:x@y"] {
        let err = c.post(url, &[], Bytes::new()).await.unwrap_err();
        assert!(matches!(err, ClientError::BadUrl { .. }), "{url}: {err}");
    }
    let err = c
        .post(
            "http://127.0.0.1:9/",
            &[("bad header".to_owned(), "v".to_owned())],
            Bytes::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ClientError::BadHeader {
            name: "bad header".into()
        }
    );
    // A port nothing listens on: bind one, then free it.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap().port()
    };
    let err = c
        .post(&format!("http://127.0.0.1:{port}/x"), &[], Bytes::new())
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::ConnectFailed { .. }), "{err}");
}

#[test]
fn pool_keys_normalize_scheme_host_and_port() {
    assert_eq!(
        check_url("http://Example.COM/x").unwrap().1,
        "http://example.com:80"
    );
    assert_eq!(check_url("http://h:8080/x").unwrap().1, "http://h:8080");
    #[cfg(feature = "https")]
    assert_eq!(check_url("https://h/x").unwrap().1, "https://h:443");
}
