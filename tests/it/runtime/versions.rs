//! Redeploying a process (in the same package or another one) makes a new version: new instances
//! use it, running instances finish on theirs (their correlated messages still reach them).

use bpelgate::deploy::{BpelCompiler, BuildContext, DescriptorMode, PackageState, build};
use bpelgate_wsdl::xml::Limits;

use super::kit::{MAIN_DEPLOY, Pkg, TEST_WSDL, deploy_all, process, req};
use super::output;

fn versioned(tag: &str) -> String {
    process(
        "",
        &format!(
            r#"<sequence>
          <receive partnerLink="client" operation="start" variable="req" createInstance="yes">
            <correlations><correlation set="cs" initiate="yes"/></correlations>
          </receive>
          <receive partnerLink="client" operation="run" variable="req">
            <correlations><correlation set="cs"/></correlations>
          </receive>
          <assign><copy><from>'{tag}'</from><to variable="resp" part="out"/></copy></assign>
          <reply partnerLink="client" operation="run" variable="resp"/>
        </sequence>"#
        ),
    )
}

#[tokio::test]
async fn running_instances_finish_on_their_version() {
    let v1 = versioned("v1");
    let (e, _log, dir) = deploy_all(&[Pkg {
        name: "v1",
        bpel: &v1,
        deploy: MAIN_DEPLOY,
        files: &[],
    }]);
    e.send("TestService", "start", &req("", "OLD")).await;

    let pkg = dir.path().join("v2");
    std::fs::create_dir_all(&pkg).expect("dir");
    std::fs::write(pkg.join("test.wsdl"), TEST_WSDL).expect("wsdl");
    std::fs::write(pkg.join("p.bpel"), versioned("v2")).expect("bpel");
    std::fs::write(pkg.join("deploy.xml"), MAIN_DEPLOY).expect("deploy.xml");
    let result = build(
        &pkg,
        &BpelCompiler,
        &BuildContext {
            conf_dir: dir.path().to_path_buf(),
            limits: Limits::default(),
            compiler: Default::default(),
        },
        DescriptorMode::Required,
    );
    let info = e.registry.install("v2", result);
    assert_eq!(info.state, PackageState::Deployed, "{:?}", info.errors);
    let old = e.registry.package("v1").expect("v1 still listed");
    assert_eq!(
        format!("{:?}", old.processes[0].state),
        "Retired",
        "the older version stops creating instances"
    );

    e.send("TestService", "start", &req("", "NEW")).await;
    assert_eq!(
        output(e.call("TestService", "run", &req("", "NEW")).await),
        "<message><out>v2</out></message>"
    );
    assert_eq!(
        output(e.call("TestService", "run", &req("", "OLD")).await),
        "<message><out>v1</out></message>"
    );
}

/// Rewrites package `name` under `dir` with the versioned process tagged `tag` and builds it.
fn rebuild(dir: &std::path::Path, name: &str, tag: &str) -> bpelgate::deploy::BuildResult {
    let pkg = dir.join(name);
    std::fs::write(pkg.join("p.bpel"), versioned(tag)).expect("bpel");
    build(
        &pkg,
        &BpelCompiler,
        &BuildContext {
            conf_dir: dir.to_path_buf(),
            limits: Limits::default(),
            compiler: Default::default(),
        },
        DescriptorMode::Required,
    )
}

#[tokio::test]
async fn redeploying_the_same_package_keeps_its_running_instances() {
    let v1 = versioned("v1");
    let (e, _log, dir) = deploy_all(&[Pkg {
        name: "same",
        bpel: &v1,
        deploy: MAIN_DEPLOY,
        files: &[],
    }]);
    e.send("TestService", "start", &req("", "OLD")).await;

    let info = e
        .registry
        .install("same", rebuild(dir.path(), "same", "v2"));
    assert_eq!(info.state, PackageState::Deployed, "{:?}", info.errors);
    let states: Vec<String> = info
        .processes
        .iter()
        .map(|p| format!("{:?}", p.state))
        .collect();
    assert_eq!(states, ["Active", "Retired"]);
    let (new, old) = (info.processes[0].version, info.processes[1].version);

    e.send("TestService", "start", &req("", "NEW")).await;
    assert_eq!(
        output(e.call("TestService", "run", &req("", "OLD")).await),
        "<message><out>v1</out></message>",
        "the instance started before the redeploy finishes on its version"
    );
    assert_eq!(
        output(e.call("TestService", "run", &req("", "NEW")).await),
        "<message><out>v2</out></message>"
    );

    // Activating the old version makes it create the instances again.
    let pid = format!("{{urn:p}}P-{old}");
    e.registry
        .set_process_state(&pid, bpelgate::deploy::ProcessState::Active)
        .expect("activate");
    assert_eq!(e.registry.endpoint("TestService").expect("ep").version, old);
    e.send("TestService", "start", &req("", "AGAIN")).await;
    assert_eq!(
        output(e.call("TestService", "run", &req("", "AGAIN")).await),
        "<message><out>v1</out></message>"
    );
    let now: Vec<(u64, String)> = e
        .registry
        .package("same")
        .expect("listed")
        .processes
        .iter()
        .map(|p| (p.version, format!("{:?}", p.state)))
        .collect();
    assert_eq!(now, [(new, "Retired".into()), (old, "Active".into())]);
}

// ------------------------------------------------------- early messages across process versions

/// Copies `tests/data/correlation/EarlyAcrossVersions` to `dir/name` and builds it.
fn early_package(dir: &std::path::Path, name: &str) -> bpelgate::deploy::BuildResult {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/correlation/EarlyAcrossVersions");
    let pkg = dir.join(name);
    std::fs::create_dir_all(&pkg).expect("package dir");
    for f in std::fs::read_dir(&src).expect("test package") {
        let f = f.expect("entry").path();
        std::fs::copy(&f, pkg.join(f.file_name().expect("name"))).expect("copy");
    }
    build(
        &pkg,
        &BpelCompiler,
        &BuildContext {
            conf_dir: dir.to_path_buf(),
            limits: Limits::default(),
            compiler: Default::default(),
        },
        DescriptorMode::Required,
    )
}

fn early_msg(key: &str, text: &str) -> String {
    format!("<message><key>{key}</key><text>{text}</text></message>")
}

/// One instance on version 1 and one on version 2 each get `third` before the receive that
/// takes it is enabled (they wait for `second`, in an enclosing scope). The messages reach the
/// process through version 2's endpoint; each must still reach its instance once `second`
/// came, whatever the version the instance runs on.
async fn early_messages_reach_instances_of_every_version(
    store: Option<bpelgate::store::SharedStore>,
) {
    use bpelgate::router::{Delivery, Router, RouterConfig};

    let dir = tempfile::tempdir().expect("temp dir");
    let registry = std::sync::Arc::new(bpelgate::deploy::Registry::default());
    let router = Router::new(
        &registry,
        RouterConfig {
            deploy_dir: dir.path().to_path_buf(),
            reply_timeout: std::time::Duration::from_secs(10),
            early_message_timeout: std::time::Duration::from_secs(3),
            store,
            node: "test-node".into(),
            ..RouterConfig::default()
        },
    );
    let e = super::Engine { registry, router };
    let v1 = e.registry.install("v1", early_package(dir.path(), "v1"));
    assert_eq!(v1.state, PackageState::Deployed, "{:#?}", v1.errors);
    assert_eq!(
        output(e.call("EarlyService", "start", &early_msg("OLD", "")).await),
        "<message><out>started OLD</out></message>"
    );
    let v2 = e.registry.install("v2", early_package(dir.path(), "v2"));
    assert_eq!(v2.state, PackageState::Deployed, "{:#?}", v2.errors);
    assert_eq!(
        format!(
            "{:?}",
            e.registry.package("v1").expect("v1").processes[0].state
        ),
        "Retired"
    );
    assert_eq!(
        output(e.call("EarlyService", "start", &early_msg("NEW", "")).await),
        "<message><out>started NEW</out></message>"
    );

    for key in ["OLD", "NEW"] {
        let sent = e.send("EarlyService", "third", &early_msg(key, "3")).await;
        assert!(matches!(sent, Delivery::Accepted), "{key}: {sent:?}");
    }
    for key in ["OLD", "NEW"] {
        let sent = e.send("EarlyService", "second", &early_msg(key, "2")).await;
        assert!(matches!(sent, Delivery::Accepted), "{key}: {sent:?}");
    }
    for key in ["OLD", "NEW"] {
        assert_eq!(
            output(e.call("EarlyService", "finish", &early_msg(key, key)).await),
            format!("<message><out>2+3+{key}</out></message>"),
            "the instance {key} took its early message"
        );
    }
}

#[tokio::test]
async fn early_messages_reach_instances_of_every_version_in_memory() {
    early_messages_reach_instances_of_every_version(None).await;
}

#[tokio::test]
async fn early_messages_reach_instances_of_every_version_with_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = bpelgate::store::sqlite::open(
        &dir.path().join("bpelgate.db"),
        &bpelgate::store::OpenOptions::default(),
    )
    .await
    .expect("open sqlite");
    early_messages_reach_instances_of_every_version(Some(store)).await;
}
