//! Redeploying a process in another package makes a new version: new instances use it, running
//! instances finish on theirs (their correlated messages still reach them).

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
