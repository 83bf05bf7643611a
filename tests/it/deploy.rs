//! Hot deployment through the deploy dir, seen over HTTP and through the registry.

use std::path::Path;
use std::time::{Duration, Instant};

use bpelgate::config::Config;
use bpelgate::deploy::{BuildContext, DescriptorMode, PackageState, ProcessState, build};

use crate::support::*;

#[tokio::test]
async fn good_package_deploys_and_serves_its_wsdl() {
    let s = TestServer::start().await;
    write_good_package(s.dir(), "Hello", "HelloSvc");
    let info = s.wait_state("Hello", PackageState::Deployed).await;
    assert!(info.errors.is_empty());
    assert_eq!(info.processes.len(), 1);
    assert_eq!(info.processes[0].qname, "{urn:p}Hello");
    assert_eq!(info.processes[0].state, ProcessState::Active);
    assert!(info.processes[0].version >= 1);

    let r = s.get("/services/HelloSvc?wsdl").await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/xml"));
    let expected = format!("location=\"http://{}/services/HelloSvc\"", s.addr);
    assert!(r.body.contains(&expected), "{}", r.body);
    assert!(!r.body.contains("http://HelloSvc/"), "{}", r.body);

    let r = request(
        s.addr,
        "POST",
        "/services/HelloSvc",
        &[("Content-Type", "text/xml")],
        "<x/>",
    )
    .await;
    // Not a SOAP envelope: a Client fault, and the server keeps serving.
    assert_eq!(r.status, 500);
    assert!(r.body.contains("Client"), "{}", r.body);

    assert_eq!(s.get("/services/Nope?wsdl").await.status, 404);
    s.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn bad_deploy_xml_fails_with_file_and_line() {
    let s = TestServer::start().await;
    let dd = "<deploy xmlns=\"http://www.apache.org/ode/schemas/dd/2007/03\" xmlns:p=\"urn:p\">\n  <process name=\"p:Bad\">\n    <active>maybe</active>\n  </process>\n</deploy>\n";
    write_package(
        s.dir(),
        "Bad",
        &[
            ("deploy.xml", dd),
            ("fake-compile.txt", &spec("Bad", "BadSvc")),
        ],
    );
    let info = s.wait_state("Bad", PackageState::Failed).await;
    assert_eq!(
        info.errors,
        vec!["deploy.xml:3:5: BG-DEPLOY-003: <active>: 'maybe' is not a boolean (true or false)"]
    );
    assert!(info.processes.is_empty());
    assert_eq!(s.get("/services/BadSvc?wsdl").await.status, 404);

    write_package(
        s.dir(),
        "NoDd",
        &[("fake-compile.txt", &spec("NoDd", "NoDdSvc"))],
    );
    let info = s.wait_state("NoDd", PackageState::Failed).await;
    assert!(
        info.errors[0].contains("BG-DEPLOY-001"),
        "{:?}",
        info.errors
    );
}

#[tokio::test]
async fn missing_service_or_port_fails_naming_them() {
    let s = TestServer::start().await;
    write_package(
        s.dir(),
        "NoSvc",
        &[
            ("deploy.xml", &deploy_xml("NoSvc", "Missing", "Port")),
            ("fake-compile.txt", &spec("NoSvc", "Present")),
            ("svc.wsdl", &wsdl("Present")),
        ],
    );
    write_package(
        s.dir(),
        "NoPort",
        &[
            ("deploy.xml", &deploy_xml("NoPort", "Present2", "Wrong")),
            ("fake-compile.txt", &spec("NoPort", "Present2")),
            ("svc.wsdl", &wsdl("Present2")),
        ],
    );
    let info = s.wait_state("NoSvc", PackageState::Failed).await;
    let e = info.errors.join("\n");
    assert!(e.contains("BG-DEPLOY-006"), "{e}");
    assert!(e.contains("service {urn:w}Missing is not defined"), "{e}");
    assert!(e.contains("services found: {urn:w}Present"), "{e}");
    let info = s.wait_state("NoPort", PackageState::Failed).await;
    let e = info.errors.join("\n");
    assert!(e.contains("has no port 'Wrong' (ports: Port)"), "{e}");
}

#[tokio::test]
async fn unknown_process_partner_link_and_port_type_mismatch() {
    let s = TestServer::start().await;
    write_package(
        s.dir(),
        "NoProc",
        &[
            ("deploy.xml", &deploy_xml("Other", "S1", "Port")),
            ("fake-compile.txt", &spec("NoProc", "S1")),
            ("svc.wsdl", &wsdl("S1")),
        ],
    );
    let e = s
        .wait_state("NoProc", PackageState::Failed)
        .await
        .errors
        .join("\n");
    assert!(
        e.contains("BG-DEPLOY-004: process {urn:p}Other is not among"),
        "{e}"
    );
    assert!(e.contains("found: {urn:p}NoProc"), "{e}");

    let wrong_pl = "process {urn:p}Pl\npartner client {urn:w}PT\n";
    write_package(
        s.dir(),
        "Pl",
        &[
            ("deploy.xml", &deploy_xml("Pl", "S2", "Port")),
            ("fake-compile.txt", wrong_pl),
            ("svc.wsdl", &wsdl("S2")),
        ],
    );
    let e = s
        .wait_state("Pl", PackageState::Failed)
        .await
        .errors
        .join("\n");
    assert!(
        e.contains("BG-DEPLOY-005") && e.contains("has no myRole"),
        "{e}"
    );

    let mismatch = "process {urn:p}Mm\nmy client {urn:w}PT\n";
    write_package(
        s.dir(),
        "Mm",
        &[
            ("deploy.xml", &deploy_xml("Mm", "S3", "Port")),
            ("fake-compile.txt", mismatch),
            ("svc.wsdl", &wsdl_with(&[("S3", "OB")])),
        ],
    );
    let e = s
        .wait_state("Mm", PackageState::Failed)
        .await
        .errors
        .join("\n");
    assert!(
        e.contains("BG-DEPLOY-007") && e.contains("{urn:w}OtherPT"),
        "{e}"
    );
}

#[tokio::test]
async fn compiler_errors_and_panics_fail_the_package_only() {
    let s = TestServer::start().await;
    let spec_err = format!(
        "{}error SA00056 something is wrong\n",
        spec("Err", "ErrSvc")
    );
    write_package(
        s.dir(),
        "Err",
        &[
            ("deploy.xml", &deploy_xml("Err", "ErrSvc", "Port")),
            ("fake-compile.txt", &spec_err),
        ],
    );
    write_package(
        s.dir(),
        "Boom",
        &[
            ("deploy.xml", &deploy_xml("Boom", "BoomSvc", "Port")),
            ("fake-compile.txt", "panic\n"),
        ],
    );
    let info = s.wait_state("Err", PackageState::Failed).await;
    assert_eq!(info.errors, vec!["p.bpel:7:3: SA00056: something is wrong"]);
    let info = s.wait_state("Boom", PackageState::Failed).await;
    assert!(
        info.errors[0].contains("BG-DEPLOY-010"),
        "{:?}",
        info.errors
    );
    write_good_package(s.dir(), "After", "AfterSvc");
    s.wait_state("After", PackageState::Deployed).await;
    assert_eq!(s.get("/health").await.status, 200);
}

#[tokio::test]
async fn removal_undeploys_and_change_redeploys_with_a_new_version() {
    let s = TestServer::start().await;
    write_good_package(s.dir(), "Ver", "VerSvc");
    let v1 = s.wait_state("Ver", PackageState::Deployed).await.processes[0].version;
    // A new file changes the package's fingerprint.
    std::fs::write(s.dir().join("Ver/notes.txt"), "changed").unwrap();
    let info = s
        .wait_package("Ver", |p| {
            p.is_some_and(|p| p.processes.first().is_some_and(|x| x.version > v1))
        })
        .await
        .unwrap();
    assert_eq!(info.state, PackageState::Deployed);

    std::fs::remove_dir_all(s.dir().join("Ver")).unwrap();
    s.wait_package("Ver", |p| p.is_none()).await;
    assert_eq!(s.get("/management/packages/Ver").await.status, 404);
    assert_eq!(s.get("/services/VerSvc?wsdl").await.status, 404);
}

#[tokio::test]
async fn duplicate_service_names_fail_the_second_package() {
    let s = TestServer::start().await;
    write_good_package(s.dir(), "First", "Shared");
    s.wait_state("First", PackageState::Deployed).await;
    write_good_package(s.dir(), "Second", "Shared");
    let e = s
        .wait_state("Second", PackageState::Failed)
        .await
        .errors
        .join("\n");
    assert!(e.contains("BG-DEPLOY-009"), "{e}");
    assert!(e.contains("already provided by package 'First'"), "{e}");
    // The first one still serves.
    assert_eq!(s.get("/services/Shared?wsdl").await.status, 200);
}

#[tokio::test]
async fn dot_directories_are_ignored() {
    let s = TestServer::start().await;
    write_package(
        s.dir(),
        ".tmp-Hidden",
        &[
            ("deploy.xml", &deploy_xml("Hidden", "HiddenSvc", "Port")),
            ("fake-compile.txt", &spec("Hidden", "HiddenSvc")),
        ],
    );
    write_good_package(s.dir(), "Visible", "VisibleSvc");
    s.wait_state("Visible", PackageState::Deployed).await;
    let names: Vec<String> = s
        .running
        .registry()
        .packages()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, vec!["Visible"]);
}

#[tokio::test]
async fn two_hundred_packages_keep_health_fast() {
    let s = TestServer::start().await;
    for i in 0..200 {
        let name = format!("P{i:03}");
        let tmp = format!(".tmp-{name}");
        let spec = format!("delay-ms 5\n{}", spec(&name, &format!("Svc{i}")));
        write_package(
            s.dir(),
            &tmp,
            &[
                ("deploy.xml", &deploy_xml(&name, &format!("Svc{i}"), "Port")),
                ("fake-compile.txt", &spec),
                ("svc.wsdl", &wsdl(&format!("Svc{i}"))),
            ],
        );
        std::fs::rename(s.dir().join(&tmp), s.dir().join(&name)).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut worst = Duration::ZERO;
    let mut probes = 0;
    loop {
        let t = Instant::now();
        let r = s.get("/health").await;
        worst = worst.max(t.elapsed());
        probes += 1;
        assert_eq!(r.status, 200);
        let deployed = s
            .running
            .registry()
            .packages()
            .iter()
            .filter(|p| p.state == PackageState::Deployed)
            .count();
        if deployed == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {deployed} of 200 packages deployed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // A smoke check, not a benchmark: compiling must never block request handling.
    assert!(
        worst < Duration::from_secs(1),
        "worst /health latency {worst:?} over {probes} probes"
    );
}

#[test]
fn invoke_endpoint_reference_sets_the_partner_address() {
    let pkg = tempfile::tempdir().unwrap();
    let conf = tempfile::tempdir().unwrap();
    let dd = r#"<deploy xmlns="http://www.apache.org/ode/schemas/dd/2007/03" xmlns:p="urn:p" xmlns:w="urn:w">
  <process name="p:Inv">
    <invoke partnerLink="partner">
      <service name="w:Partner" port="Port">
        <endpoint xmlns="http://wso2.org/bps/bpel/endpoint/config" endpointReference="conf:/partner.epr"/>
      </service>
    </invoke>
    <invoke partnerLink="other">
      <service name="w:Other" port="Port"/>
    </invoke>
  </process>
</deploy>"#;
    let spec = "process {urn:p}Inv\npartner partner {urn:w}PT\npartner other {urn:w}PT\n";
    std::fs::write(
        pkg.path().join("svc.wsdl"),
        wsdl_with(&[("Partner", "B"), ("Other", "B")]),
    )
    .unwrap();
    std::fs::write(pkg.path().join("deploy.xml"), dd).unwrap();
    std::fs::write(pkg.path().join("fake-compile.txt"), spec).unwrap();
    let ctx = BuildContext {
        conf_dir: conf.path().to_path_buf(),
        limits: Default::default(),
        compiler: Default::default(),
    };
    // Missing EPR file: a deploy error naming it.
    let r = build(pkg.path(), &FakeCompiler, &ctx, DescriptorMode::Required);
    let e: Vec<String> = r.errors().map(ToString::to_string).collect();
    assert!(e[0].starts_with("deploy.xml:5:9: BG-DEPLOY-008"), "{e:?}");
    assert!(e[0].contains("partner.epr"), "{e:?}");

    std::fs::write(
        conf.path().join("partner.epr"),
        r#"<EndpointReference xmlns="http://www.w3.org/2005/08/addressing"><Address>http://from-epr/</Address></EndpointReference>"#,
    )
    .unwrap();
    let r = build(pkg.path(), &FakeCompiler, &ctx, DescriptorMode::Required);
    let pkg_built = r.package.expect("builds");
    let invokes = &pkg_built.processes[0].invokes;
    assert_eq!(invokes[0].address.as_deref(), Some("http://from-epr/"));
    assert!(invokes[0].use_peer2peer);
    assert_eq!(invokes[1].address.as_deref(), Some("http://Other/"));
}

#[test]
fn the_helloworld_example_has_a_valid_deploy_descriptor() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/HelloWorld");
    let bytes = std::fs::read(dir.join("deploy.xml")).unwrap();
    let d =
        bpelgate::deploy::descriptor::parse(&bytes, "deploy.xml", &Config::default().limits.xml())
            .unwrap();
    assert_eq!(
        d.processes[0].name.to_string(),
        "{http://bpelgate.example/hello}HelloWorld"
    );
    assert_eq!(
        d.processes[0].provides[0].service.name.local,
        "HelloService"
    );
    for f in ["HelloWorld.bpel", "HelloWorld.wsdl"] {
        let text = std::fs::read(dir.join(f)).unwrap();
        bpelgate_wsdl::xml::parse(&text, &Default::default()).unwrap();
    }
}

#[test]
fn the_helloworld_example_deploys_against_its_wsdl() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/HelloWorld");
    let pkg = tempfile::tempdir().unwrap();
    for f in ["deploy.xml", "HelloWorld.bpel", "HelloWorld.wsdl"] {
        std::fs::copy(src.join(f), pkg.path().join(f)).unwrap();
    }
    // Stands in for the BPEL compiler: the process and partner link HelloWorld.bpel declares.
    std::fs::write(
        pkg.path().join("fake-compile.txt"),
        "process {http://bpelgate.example/hello}HelloWorld\nmy client {http://bpelgate.example/hello/wsdl}HelloPortType\n",
    )
    .unwrap();
    let ctx = BuildContext {
        conf_dir: pkg.path().to_path_buf(),
        limits: Default::default(),
        compiler: Default::default(),
    };
    let r = build(pkg.path(), &FakeCompiler, &ctx, DescriptorMode::Required);
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    let built = r.package.unwrap();
    assert_eq!(built.processes[0].provides[0].service.local, "HelloService");
    assert_eq!(built.processes[0].provides[0].port, "HelloPort");
}

#[tokio::test]
async fn a_schedule_deploys_and_a_bad_cron_expression_fails_the_package() {
    let s = TestServer::start().await;
    let with_schedule = |name: &str, when: &str| {
        deploy_xml(name, &format!("{name}Svc"), "Port").replace(
            "</provide>",
            &format!(
                r#"</provide>
    <schedule when="{when}"><cleanup><filter>status=completed</filter><category>all</category></cleanup></schedule>"#
            ),
        )
    };
    for (name, when) in [("Sched", "0 0 1 * * ?"), ("BadSched", "0 0 1 L * ?")] {
        write_package(
            s.dir(),
            name,
            &[
                ("deploy.xml", &with_schedule(name, when)),
                ("fake-compile.txt", &spec(name, &format!("{name}Svc"))),
                ("svc.wsdl", &wsdl(&format!("{name}Svc"))),
            ],
        );
    }
    let info = s.wait_state("Sched", PackageState::Deployed).await;
    assert!(info.warnings.is_empty(), "{:?}", info.warnings);
    let bad = s.wait_state("BadSched", PackageState::Failed).await;
    assert!(
        bad.errors
            .iter()
            .any(|e| e.contains("BG-DEPLOY-003") && e.contains("L, W and # are not supported")),
        "{:?}",
        bad.errors
    );
}
