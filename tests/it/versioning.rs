//! Process versioning (ODE/WSO2): a redeployed package keeps its previous versions retired,
//! versions and their states survive restarts (kept copies under `<data-dir>/versions/`),
//! undeploy removes every version, and versions are retired or activated through the API.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bpelgate::deploy::registry::{ActivatedProcess, DeployListener};
use bpelgate::deploy::{
    BuildContext, DescriptorMode, PackageInfo, PackageState, ProcessState, Registry, build,
};
use bpelgate_wsdl::wsdl::WsdlSet;
use bpelgate_wsdl::xml::QName;
use serde_json::{Value, json};

use crate::support::*;

/// `(version, state)` of every process version of a package, newest first.
fn versions(info: &PackageInfo) -> Vec<(u64, ProcessState)> {
    info.processes
        .iter()
        .map(|p| (p.version, p.state))
        .collect()
}

/// Waits until package `name` lists `n` process versions and is deployed.
async fn wait_versions(s: &TestServer, name: &str, n: usize) -> PackageInfo {
    s.wait_package(name, |p| {
        p.is_some_and(|p| p.state == PackageState::Deployed && p.processes.len() == n)
    })
    .await
    .unwrap()
}

/// Kept copies (`<name>-<version>`) in the version store, sorted.
fn copies(s: &TestServer) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(s.versions_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn post(s: &TestServer, path: &str) -> Response {
    request(s.addr, "POST", path, &[], "").await
}

/// The states the API answers, as `(version, state)`, newest first.
fn states(body: &Value) -> Vec<(u64, String)> {
    body.as_array()
        .unwrap_or_else(|| panic!("not an array: {body}"))
        .iter()
        .map(|p| {
            (
                p["version"].as_u64().unwrap(),
                p["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn redeploy_keeps_the_previous_version_retired() {
    let s = TestServer::start().await;
    write_good_package(s.dir(), "Ver", "VerSvc");
    let v1 = wait_versions(&s, "Ver", 1).await.processes[0].version;

    std::fs::write(s.dir().join("Ver/notes.txt"), "changed").unwrap();
    let info = wait_versions(&s, "Ver", 2).await;
    let v2 = info.processes[0].version;
    assert!(v2 > v1);
    assert_eq!(
        versions(&info),
        vec![(v2, ProcessState::Active), (v1, ProcessState::Retired)]
    );
    assert_eq!(s.running.registry().endpoint("VerSvc").unwrap().version, v2);

    let body = s.get("/management/packages/Ver").await.json();
    assert_eq!(
        body["processes"],
        json!([
            {"qname": "{urn:p}Ver", "version": v2, "state": "active"},
            {"qname": "{urn:p}Ver", "version": v1, "state": "retired"},
        ])
    );
    let procs = s.get("/management/processes").await.json();
    let pids: Vec<(&str, &str)> = procs
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["pid"].as_str().unwrap(), p["state"].as_str().unwrap()))
        .collect();
    let (p1, p2) = (format!("{{urn:p}}Ver-{v1}"), format!("{{urn:p}}Ver-{v2}"));
    assert_eq!(
        pids,
        vec![(p2.as_str(), "active"), (p1.as_str(), "retired")]
    );
    assert_eq!(copies(&s), vec![format!("Ver-{v1}"), format!("Ver-{v2}")]);

    // Touching a file without changing it is no new version.
    std::fs::write(s.dir().join("Ver/notes.txt"), "changed").unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let info = s.running.registry().package("Ver").unwrap();
    assert_eq!(info.processes.len(), 2, "{info:?}");
    assert_eq!(info.processes[0].version, v2);

    // A broken redeploy changes no version: the active one keeps serving.
    std::fs::write(s.dir().join("Ver/deploy.xml"), "<deploy").unwrap();
    let info = s.wait_state("Ver", PackageState::Failed).await;
    assert_eq!(
        versions(&info),
        vec![(v2, ProcessState::Active), (v1, ProcessState::Retired)]
    );
    assert_eq!(s.get("/services/VerSvc?wsdl").await.status, 200);
    s.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn versions_and_old_versions_survive_a_restart() {
    let s = TestServer::start().await;
    write_good_package(s.dir(), "Keep", "KeepSvc");
    let v1 = wait_versions(&s, "Keep", 1).await.processes[0].version;
    std::fs::write(s.dir().join("Keep/notes.txt"), "2").unwrap();
    let v2 = wait_versions(&s, "Keep", 2).await.processes[0].version;

    // Unchanged: the same numbers, the old version back as retired, no new version.
    let s = s.restart().await;
    let info = wait_versions(&s, "Keep", 2).await;
    assert_eq!(
        versions(&info),
        vec![(v2, ProcessState::Active), (v1, ProcessState::Retired)]
    );
    assert!(info.errors.is_empty(), "{:?}", info.errors);
    assert_eq!(
        s.running.registry().endpoint("KeepSvc").unwrap().version,
        v2
    );

    // Changed while the server was down: a new number, never one handed out before.
    let s = s
        .restart_after(|d| std::fs::write(d.join("Keep/notes.txt"), "3").unwrap())
        .await;
    let info = wait_versions(&s, "Keep", 3).await;
    let v3 = info.processes[0].version;
    assert!(v3 > v2, "{v3} after {v2}");
    assert_eq!(
        versions(&info),
        vec![
            (v3, ProcessState::Active),
            (v2, ProcessState::Retired),
            (v1, ProcessState::Retired)
        ]
    );

    // A lost copy is reported; the server starts and the other versions load.
    std::fs::remove_dir_all(s.versions_dir().join(format!("Keep-{v1}"))).unwrap();
    let s = s.restart().await;
    let info = wait_versions(&s, "Keep", 2).await;
    assert_eq!(
        versions(&info),
        vec![(v3, ProcessState::Active), (v2, ProcessState::Retired)]
    );
    assert_eq!(info.errors.len(), 1, "{:?}", info.errors);
    assert!(
        info.errors[0].starts_with(&format!("kept version {v1}: deploy.xml:"))
            && info.errors[0].contains("BG-DEPLOY-011")
            && info.errors[0].contains("missing"),
        "{:?}",
        info.errors
    );
    assert_eq!(s.get("/health").await.status, 200);

    // Removed while the server was down: undeployed at start, copies and records gone.
    let s = s
        .restart_after(|d| std::fs::remove_dir_all(d.join("Keep")).unwrap())
        .await;
    assert!(s.running.registry().package("Keep").is_none());
    assert!(copies(&s).is_empty(), "{:?}", copies(&s));
    write_good_package(s.dir(), "Other", "OtherSvc");
    let other = wait_versions(&s, "Other", 1).await.processes[0].version;
    assert!(other > v3, "numbers are not reused: {other} after {v3}");
    s.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn undeploy_removes_every_version_and_its_copies() {
    let s = TestServer::start().await;
    write_good_package(s.dir(), "Gone", "GoneSvc");
    wait_versions(&s, "Gone", 1).await;
    std::fs::write(s.dir().join("Gone/notes.txt"), "2").unwrap();
    let v2 = wait_versions(&s, "Gone", 2).await.processes[0].version;
    assert_eq!(copies(&s).len(), 2);

    let r = request(s.addr, "DELETE", "/management/packages/Gone", &[], "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(s.get("/management/packages/Gone").await.status, 404);
    assert_eq!(s.get("/services/GoneSvc?wsdl").await.status, 404);
    assert!(s.get("/management/processes").await.json() == json!([]));
    assert!(copies(&s).is_empty(), "{:?}", copies(&s));
    let index = std::fs::read_to_string(s.versions_dir().join("versions.json")).unwrap();
    assert!(!index.contains("Gone"), "{index}");

    // The same name again starts over, with a new number.
    write_good_package(s.dir(), "Gone", "GoneSvc");
    let info = wait_versions(&s, "Gone", 1).await;
    assert!(info.processes[0].version > v2);

    // Nothing comes back after a restart.
    let r = request(s.addr, "DELETE", "/management/packages/Gone", &[], "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let s = s.restart().await;
    assert!(s.running.registry().package("Gone").is_none());
    s.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn retire_and_activate_through_the_api() {
    let s = TestServer::start().await;
    write_good_package(s.dir(), "Act", "ActSvc");
    let v1 = wait_versions(&s, "Act", 1).await.processes[0].version;
    std::fs::write(s.dir().join("Act/notes.txt"), "2").unwrap();
    let v2 = wait_versions(&s, "Act", 2).await.processes[0].version;
    let pid1 = encode(&format!("{{urn:p}}Act-{v1}"));
    let qname = encode("{urn:p}Act");

    // Activating the old version takes the endpoint back and retires the newer one.
    let r = post(&s, &format!("/management/processes/{pid1}/activate")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        states(&r.json()),
        vec![(v2, "retired".into()), (v1, "active".into())]
    );
    assert_eq!(s.running.registry().endpoint("ActSvc").unwrap().version, v1);

    // Retiring by QName retires the active version; the newest retired one still answers, so
    // running instances get their messages.
    let r = post(&s, &format!("/management/processes/{qname}/retire")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        states(&r.json()),
        vec![(v2, "retired".into()), (v1, "retired".into())]
    );
    assert_eq!(s.running.registry().endpoint("ActSvc").unwrap().version, v2);

    // States are kept across a restart.
    let s = s.restart().await;
    let info = wait_versions(&s, "Act", 2).await;
    assert_eq!(
        versions(&info),
        vec![(v2, ProcessState::Retired), (v1, ProcessState::Retired)]
    );

    // With no active provider, another process may take the service; activating the retired
    // one then conflicts.
    write_package(
        s.dir(),
        "Taker",
        &[
            ("deploy.xml", &deploy_xml("Taker", "ActSvc", "Port")),
            ("fake-compile.txt", &spec("Taker", "ActSvc")),
            ("svc.wsdl", &wsdl("ActSvc")),
        ],
    );
    s.wait_state("Taker", PackageState::Deployed).await;
    let r = post(&s, &format!("/management/processes/{qname}/activate")).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(
        r.body.contains("already provided by package 'Taker'"),
        "{}",
        r.body
    );
    let r = request(s.addr, "DELETE", "/management/packages/Taker", &[], "").await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Activating by QName picks the newest version.
    let r = post(&s, &format!("/management/processes/{qname}/activate")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        states(&r.json()),
        vec![(v2, "active".into()), (v1, "retired".into())]
    );

    let r = post(
        &s,
        &format!("/management/processes/{}/retire", encode("{urn:p}Nope")),
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = s
        .get(&format!("/management/processes/{qname}/retire"))
        .await;
    assert_eq!(r.status, 405, "{}", r.body);
    s.running.shutdown().await.unwrap();
}

/// What a [`DeployListener`] was told, in order.
#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl DeployListener for Recorder {
    fn activated(&self, package: &str, processes: &[ActivatedProcess], _wsdl: &Arc<WsdlSet>) {
        let list: Vec<String> = processes
            .iter()
            .map(|p| format!("{}-{} {:?}", p.built.process.name.local, p.version, p.state))
            .collect();
        self.0
            .lock()
            .unwrap()
            .push(format!("activated {package} [{}]", list.join(", ")));
    }

    fn removed(&self, package: &str) {
        self.0.lock().unwrap().push(format!("removed {package}"));
    }

    fn state_changed(&self, process: &QName, version: u64, state: ProcessState) {
        self.0
            .lock()
            .unwrap()
            .push(format!("{}-{version} {state:?}", process.local));
    }
}

#[test]
fn the_listener_hears_new_versions_and_retirements_never_removal_on_redeploy() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::default();
    let recorder = Arc::new(Recorder::default());
    registry.set_listener(recorder.clone());
    let ctx = BuildContext {
        conf_dir: dir.path().to_path_buf(),
        limits: Default::default(),
        compiler: Default::default(),
    };
    let pkg = dir.path().join("Pkg");
    let deploy = |extra: &str| {
        write_package(
            dir.path(),
            "Pkg",
            &[
                ("deploy.xml", &deploy_xml("P", "PSvc", "Port")),
                ("fake-compile.txt", &spec("P", "PSvc")),
                ("svc.wsdl", &wsdl("PSvc")),
                ("notes.txt", extra),
            ],
        );
        registry.install(
            "Pkg",
            build(&pkg, &FakeCompiler, &ctx, DescriptorMode::Required),
        )
    };
    deploy("1");
    deploy("2");
    let info = deploy("3");
    assert_eq!(
        versions(&info),
        vec![
            (3, ProcessState::Active),
            (2, ProcessState::Retired),
            (1, ProcessState::Retired)
        ]
    );
    registry
        .set_process_state("{urn:p}P-1", ProcessState::Active)
        .unwrap();
    assert!(registry.undeploy("Pkg"));
    assert!(registry.package("Pkg").is_none());
    assert_eq!(
        *recorder.0.lock().unwrap(),
        vec![
            "activated Pkg [P-1 Active]",
            "activated Pkg [P-2 Active]",
            "P-1 Retired",
            "activated Pkg [P-3 Active]",
            "P-2 Retired",
            "P-3 Retired",
            "P-1 Active",
            "removed Pkg",
        ]
    );
}

#[tokio::test]
async fn a_damaged_version_index_stops_the_start() {
    let deploy = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let versions = data.path().join(bpelgate::server::VERSIONS_DIR);
    std::fs::create_dir_all(&versions).unwrap();
    std::fs::write(versions.join("versions.json"), "{\"next_version\": ").unwrap();
    let mut config = bpelgate::config::Config::default();
    config.server.http_port = 0;
    config.server.deploy_dir = deploy.path().to_path_buf();
    config.server.data_dir = data.path().to_path_buf();
    // Starting empty would hand out version numbers the database's instances already use.
    match bpelgate::server::start(config, Arc::new(FakeCompiler)).await {
        Err(e) => assert!(e.to_string().contains("versions.json is damaged"), "{e}"),
        Ok(_) => panic!("started over a damaged version index"),
    }
}
