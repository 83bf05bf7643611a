//! The default deploy dir is `<data-dir>/deploy`, seeded with copies of the sample packages, so
//! undeploying a sample never deletes the source tree's copy.

use bpelgate::deploy::PackageState;

use crate::support::*;

#[tokio::test]
async fn samples_are_copied_into_the_default_deploy_dir_and_deleted_there() {
    let samples = tempfile::tempdir().unwrap();
    write_good_package(samples.path(), "Sample", "SampleSvc");
    let samples_dir = samples.path().to_path_buf();
    let s = TestServer::start_with(move |c| {
        // The temp dir TestServer made becomes the data dir; the deploy dir its default.
        c.server.data_dir = c.server.deploy_dir.clone();
        c.server.deploy_dir = c.server.default_deploy_dir();
        c.server.samples_dir = samples_dir;
    })
    .await;
    let deploy = s.dir().join("deploy");
    s.wait_state("Sample", PackageState::Deployed).await;
    assert!(deploy.join("Sample/deploy.xml").is_file());

    let r = request(s.addr, "DELETE", "/management/packages/Sample", &[], "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!deploy.join("Sample").exists());
    assert!(
        samples.path().join("Sample/deploy.xml").is_file(),
        "the sample itself must survive an undeploy"
    );
    s.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_explicit_deploy_dir_gets_no_samples() {
    let samples = tempfile::tempdir().unwrap();
    write_good_package(samples.path(), "Sample", "SampleSvc");
    let samples_dir = samples.path().to_path_buf();
    let s = TestServer::start_with(move |c| c.server.samples_dir = samples_dir).await;
    assert!(!s.dir().join("Sample").exists());
    assert!(s.running.registry().package("Sample").is_none());
    s.running.shutdown().await.unwrap();
}
