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

/// A server with the real compiler and the sample packages of `examples/`, on SQLite.
async fn start_with_samples(data_dir: &std::path::Path) -> bpelgate::server::Running {
    let mut config = bpelgate::config::Config::default();
    config.server.http_port = 0;
    config.server.data_dir = data_dir.to_path_buf();
    config.server.deploy_dir = config.server.default_deploy_dir();
    config.server.samples_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    config.server.scan_interval_ms = 50;
    config.events.generate_default = bpelgate::config::GenerateEvents::All;
    bpelgate::server::start(config, std::sync::Arc::new(bpelgate::deploy::BpelCompiler))
        .await
        .expect("server starts")
}

/// The id and status of every stored instance of process `local` (any namespace).
async fn instances_of(addr: std::net::SocketAddr, local: &str) -> Vec<(i64, String)> {
    let list = request(addr, "GET", "/management/instances", &[], "").await;
    assert_eq!(list.status, 200, "{}", list.body);
    list.json()
        .as_array()
        .expect("a JSON array")
        .iter()
        .filter(|i| {
            i["pid"]
                .as_str()
                .is_some_and(|p| p.contains(&format!("}}{local}-")))
        })
        .map(|i| {
            (
                i["id"].as_i64().expect("id"),
                i["status"].as_str().expect("status").to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_are_listed_and_deleted_and_a_live_one_is_refused() {
    let data = tempfile::tempdir().unwrap();
    let running = start_with_samples(data.path()).await;
    let addr = running.local_addr();
    let soap = |ns: &str, body: &str| {
        format!(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="{ns}"><s:Body>{body}</s:Body></s:Envelope>"#
        )
    };

    // An ended instance: HelloWorld completes at once.
    let hello = request(
        addr,
        "POST",
        "/services/HelloService",
        &[
            ("Content-Type", "text/xml"),
            ("SOAPAction", "\"http://bpelgate.example/hello/wsdl/hello\""),
        ],
        &soap(
            "http://bpelgate.example/hello/wsdl",
            "<m:hello><m:name>Ada</m:name></m:hello>",
        ),
    )
    .await;
    assert_eq!(hello.status, 200, "{}", hello.body);
    let done = instances_of(addr, "HelloWorld").await;
    assert_eq!(done.len(), 1, "{done:?}");
    let (id, status) = &done[0];
    assert_eq!(status, "completed");

    // The command-line client lists it, and its events by ODE's event filter.
    let server = format!("http://{addr}");
    let (code, out, err) = cli(vec![
        "instances".into(),
        "status=completed".into(),
        "--server".into(),
        server.clone(),
    ])
    .await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("ID"), "{out}");
    assert!(
        out.lines().any(|l| l.starts_with(&id.to_string())
            && l.contains("completed")
            && l.contains("}HelloWorld-")),
        "{out}"
    );
    let (code, out, err) = cli(vec![
        "instances".into(),
        "status=active".into(),
        "--server".into(),
        server.clone(),
    ])
    .await;
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.trim(), "No instances match.");
    let (code, out, err) = cli(vec![
        "events".into(),
        "type=ProcessCompletion|NewProcessInstanceEvent".into(),
        "--server".into(),
        server.clone(),
    ])
    .await;
    assert_eq!(code, 0, "{out}{err}");
    let types: Vec<&str> = out
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert!(types.contains(&"ProcessCompletionEvent"), "{out}");
    assert!(types.contains(&"NewProcessInstanceEvent"), "{out}");
    assert!(
        types
            .iter()
            .all(|t| *t == "ProcessCompletionEvent" || *t == "NewProcessInstanceEvent"),
        "{out}"
    );
    let (code, _, err) = cli(vec![
        "events".into(),
        "type=NoSuchEvent".into(),
        "--server".into(),
        server.clone(),
    ])
    .await;
    assert_ne!(code, 0);
    assert!(err.contains("NoSuchEvent"), "{err}");

    let path = format!("/management/instances/{id}");
    let deleted = request(addr, "DELETE", &path, &[], "").await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(deleted.json(), json!({ "id": id, "deleted": true }));
    assert_eq!(request(addr, "GET", &path, &[], "").await.status, 404);
    assert_eq!(request(addr, "DELETE", &path, &[], "").await.status, 404);
    assert!(instances_of(addr, "HelloWorld").await.is_empty());

    // A live instance: LoanApproval waits for an officer.
    let filed = request(
        addr,
        "POST",
        "/services/LoanService",
        &[
            ("Content-Type", "text/xml"),
            ("SOAPAction", "\"http://bpelgate.example/loan/wsdl/request\""),
        ],
        &soap(
            "http://bpelgate.example/loan/wsdl",
            "<m:request><m:applicationId>D-1</m:applicationId><m:applicant>Ada</m:applicant><m:amount>10</m:amount></m:request>",
        ),
    )
    .await;
    assert_eq!(filed.status, 202, "{}", filed.body);
    let waiting = instances_of(addr, "LoanApproval").await;
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    let (id, status) = &waiting[0];
    assert_eq!(status, "active");
    let path = format!("/management/instances/{id}");
    let refused = request(addr, "DELETE", &path, &[], "").await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(refused.body.contains("terminate it"), "{}", refused.body);
    assert_eq!(request(addr, "GET", &path, &[], "").await.status, 200);
    let stopped = request(addr, "POST", &format!("{path}/terminate"), &[], "").await;
    assert_eq!(stopped.status, 200, "{}", stopped.body);
    let deleted = request(addr, "DELETE", &path, &[], "").await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(request(addr, "GET", &path, &[], "").await.status, 404);

    assert_eq!(
        request(addr, "DELETE", "/management/instances/abc", &[], "")
            .await
            .status,
        400
    );

    // Bulk: ended instances by ODE filter; live ones stay; a filter is required.
    for _ in 0..3 {
        let r = request(
            addr,
            "POST",
            "/services/HelloService",
            &[
                ("Content-Type", "text/xml"),
                ("SOAPAction", "\"http://bpelgate.example/hello/wsdl/hello\""),
            ],
            &soap(
                "http://bpelgate.example/hello/wsdl",
                "<m:hello><m:name>Bo</m:name></m:hello>",
            ),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let filed = request(
        addr,
        "POST",
        "/services/LoanService",
        &[
            ("Content-Type", "text/xml"),
            ("SOAPAction", "\"http://bpelgate.example/loan/wsdl/request\""),
        ],
        &soap(
            "http://bpelgate.example/loan/wsdl",
            "<m:request><m:applicationId>D-2</m:applicationId><m:applicant>Bo</m:applicant><m:amount>10</m:amount></m:request>",
        ),
    )
    .await;
    assert_eq!(filed.status, 202, "{}", filed.body);
    assert_eq!(
        request(addr, "DELETE", "/management/instances", &[], "")
            .await
            .status,
        400
    );
    let bulk = request(
        addr,
        "DELETE",
        "/management/instances?filter=status=completed|active",
        &[],
        "",
    )
    .await;
    assert_eq!(bulk.status, 200, "{}", bulk.body);
    assert_eq!(bulk.json(), json!({ "deleted": 3, "live_skipped": 1 }));
    assert!(instances_of(addr, "HelloWorld").await.is_empty());
    assert_eq!(instances_of(addr, "LoanApproval").await.len(), 1);
    running.shutdown().await.unwrap();
}
