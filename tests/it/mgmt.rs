//! The management API: JSON shapes, access control, undeploy.

use bpelgate::deploy::PackageState;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn package_json_has_the_documented_shape() {
    let s = TestServer::start().await;
    assert_eq!(s.get("/management/packages/Hello").await.status, 404);
    write_good_package(s.dir(), "Hello", "HelloSvc");
    let info = s.wait_state("Hello", PackageState::Deployed).await;
    let version = info.processes[0].version;

    let r = s.get("/management/packages/Hello").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.json(),
        json!({
            "name": "Hello",
            "state": "deployed",
            "errors": [],
            "warnings": [],
            "processes": [{"qname": "{urn:p}Hello", "version": version, "state": "active"}]
        })
    );
    let list = s.get("/management/packages").await.json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["name"], "Hello");

    let procs = s.get("/management/processes").await.json();
    assert_eq!(procs[0]["pid"], format!("{{urn:p}}Hello-{version}"));
    assert_eq!(procs[0]["package"], "Hello");

    write_package(s.dir(), "Broken", &[("deploy.xml", "<deploy")]);
    s.wait_state("Broken", PackageState::Failed).await;
    let b = s.get("/management/packages/Broken").await.json();
    assert_eq!(b["state"], "failed");
    assert_eq!(b["processes"], json!([]));
    assert!(
        b["errors"][0]
            .as_str()
            .unwrap()
            .starts_with("deploy.xml:1:"),
        "{b}"
    );
}

#[tokio::test]
async fn delete_undeploys_and_removes_the_directory() {
    let s = TestServer::start().await;
    write_good_package(s.dir(), "Gone", "GoneSvc");
    s.wait_state("Gone", PackageState::Deployed).await;
    let r = request(s.addr, "DELETE", "/management/packages/Gone", &[], "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!s.dir().join("Gone").exists());
    assert_eq!(s.get("/management/packages/Gone").await.status, 404);
    assert_eq!(s.get("/services/GoneSvc?wsdl").await.status, 404);
    let r = request(s.addr, "DELETE", "/management/packages/Gone", &[], "").await;
    assert_eq!(r.status, 404);
    let r = request(s.addr, "DELETE", "/management/packages/..", &[], "").await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn bearer_token_is_required_when_configured() {
    let s = TestServer::start_with(|c| c.management.token = Some("s3cret".into())).await;
    let r = s.get("/management/packages").await;
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    let r = request(
        s.addr,
        "GET",
        "/management/packages",
        &[("Authorization", "Bearer nope")],
        "",
    )
    .await;
    assert_eq!(r.status, 401);
    let r = request(
        s.addr,
        "GET",
        "/management/packages",
        &[("Authorization", "Bearer s3cret")],
        "",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!([]));
    // Health is never behind the token.
    assert_eq!(s.get("/health").await.status, 200);
}

#[tokio::test]
async fn health_routes_and_body_cap() {
    let s = TestServer::start_with(|c| c.limits.max_body_bytes = 1024).await;
    let r = s.get("/health").await;
    assert_eq!((r.status, r.body.as_str()), (200, "ok"));
    assert_eq!(s.get("/nowhere").await.status, 404);
    assert_eq!(s.get("/management/nowhere").await.status, 404);
    let big = "x".repeat(2048);
    let r = request(s.addr, "POST", "/services/X", &[], &big).await;
    assert_eq!(r.status, 413);
    s.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn metrics_count_packages_and_processes() {
    let s = TestServer::start().await;
    write_good_package(s.dir(), "M1", "M1Svc");
    write_package(s.dir(), "MBroken", &[("deploy.xml", "<deploy")]);
    s.wait_state("M1", PackageState::Deployed).await;
    s.wait_state("MBroken", PackageState::Failed).await;
    let r = s.get("/metrics").await;
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("text/plain; version=0.0.4")),
        "{r:?}"
    );
    assert!(
        r.body.contains("bpelgate_packages{state=\"deployed\"} 1\n"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("bpelgate_packages{state=\"failed\"} 1\n"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("bpelgate_processes{state=\"active\"} 1\n"),
        "{}",
        r.body
    );
    assert_eq!(
        request(s.addr, "POST", "/metrics", &[], "").await.status,
        405
    );
}
