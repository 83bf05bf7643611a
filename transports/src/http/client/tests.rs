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
        .and_then(|v| v.parse::<u16>().ok())
        .unwrap_or(200);
    let ct = req.headers().get(CONTENT_TYPE).cloned();
    let body = req.into_body().collect().await.unwrap().to_bytes();
    let mut resp = if let Some(ms) = path.strip_prefix("/slow/") {
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
    *resp.status_mut() = StatusCode::from_u16(status).unwrap();
    st.in_flight.fetch_sub(1, Ordering::SeqCst);
    resp
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
