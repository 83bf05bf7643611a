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
