//! Zip upload (`POST /management/packages`), undeploy, and the
//! `bpelgate deploy|undeploy|processes|retire|activate` client against a server started in-process.

use std::io::{Cursor, Write};
use std::path::Path;

use bpelgate::deploy::PackageState;
use bpelgate::deploy::archive::{ArchiveLimits, zip_dir};
use bpelgate::mgmt::client::{Client, ClientError};
use bytes::Bytes;
use hyper::Method;
use zip::write::{SimpleFileOptions, ZipWriter};

use crate::support::*;

/// A valid package (for the fake compiler) written under a fresh temp dir, as `root/name`.
fn package_source(name: &str, svc: &str) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    write_package(
        root.path(),
        name,
        &[
            ("deploy.xml", &deploy_xml(name, svc, "Port")),
            ("fake-compile.txt", &spec(name, svc)),
            ("svc.wsdl", &wsdl(svc)),
        ],
    );
    root
}

fn zipped(root: &Path, name: &str) -> Vec<u8> {
    zip_dir(&root.join(name), name, &ArchiveLimits::default()).unwrap()
}

fn client(s: &TestServer) -> Client {
    Client::new(&format!("http://{}", s.addr), None).unwrap()
}

/// Entries of the deploy dir, hidden ones included, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn uploaded_zip_is_deployed_and_delete_undeploys_it() {
    let s = TestServer::start().await;
    let src = package_source("Up", "UpSvc");
    let c = client(&s);

    let (status, body) = c
        .send(
            Method::POST,
            "/management/packages",
            Bytes::from(zipped(src.path(), "Up")),
            Some("application/zip"),
        )
        .await
        .unwrap();
    assert_eq!(status.as_u16(), 202, "{body:?}");
    let info: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(info["name"], "Up");
    assert_eq!(info["state"], "deployed", "{info}");
    assert_eq!(info["location"], "/management/packages/Up");
    assert_eq!(info["processes"][0]["qname"], "{urn:p}Up");
    assert_eq!(listing(s.dir()), vec!["Up".to_string()], "no staging left");
    assert_eq!(
        std::fs::read_to_string(s.dir().join("Up/svc.wsdl")).unwrap(),
        wsdl("UpSvc")
    );
    assert_eq!(s.get("/services/UpSvc?wsdl").await.status, 200);
    assert_eq!(
        s.get("/management/packages/Up").await.json()["state"],
        "deployed"
    );

    c.undeploy("Up").await.unwrap();
    assert!(!s.dir().join("Up").exists());
    assert_eq!(s.get("/management/packages/Up").await.status, 404);
    assert_eq!(s.get("/services/UpSvc?wsdl").await.status, 404);
    match c.undeploy("Up").await {
        Err(ClientError::Server {
            status: 404,
            message,
        }) => {
            assert!(message.contains("no package named 'Up'"), "{message}")
        }
        other => panic!("expected 404, got {other:?}"),
    }
}

#[tokio::test]
async fn name_parameter_and_redeploy_with_a_new_version() {
    let s = TestServer::start().await;
    // deploy.xml names process p:Up, so the package name may differ from it.
    let src = package_source("Up", "UpSvc");
    let c = client(&s);
    let first = c
        .deploy_zip(zipped(src.path(), "Up"), Some("Renamed"))
        .await
        .unwrap();
    assert_eq!(first["name"], "Renamed");
    assert_eq!(first["state"], "deployed", "{first}");
    let v1 = first["processes"][0]["version"].as_u64().unwrap();
    assert!(s.dir().join("Renamed/deploy.xml").is_file());

    // The same content again is the same version (WSO2 compares the archive's checksum).
    let same = c
        .deploy_zip(zipped(src.path(), "Up"), Some("Renamed"))
        .await
        .unwrap();
    assert_eq!(same["processes"], first["processes"], "{same}");

    std::fs::write(src.path().join("Up/notes.txt"), "changed").unwrap();
    let second = c
        .deploy_zip(zipped(src.path(), "Up"), Some("Renamed"))
        .await
        .unwrap();
    let v2 = second["processes"][0]["version"].as_u64().unwrap();
    assert!(
        v2 > v1,
        "a changed package makes a new version: {v1} then {v2}"
    );
    assert_eq!(second["processes"][0]["state"], "active", "{second}");
    assert_eq!(second["processes"][1]["version"], v1, "{second}");
    assert_eq!(second["processes"][1]["state"], "retired", "{second}");
    assert_eq!(listing(s.dir()), vec!["Renamed".to_string()]);
}

#[tokio::test]
async fn bad_uploads_are_refused_and_leave_nothing_behind() {
    let s = TestServer::start().await;
    let c = client(&s);
    let post = |body: Vec<u8>, path: &'static str| {
        let c = c.clone();
        async move {
            c.json(
                Method::POST,
                path,
                Bytes::from(body),
                Some("application/zip"),
            )
            .await
        }
    };
    let expect_400 = |r: Result<serde_json::Value, ClientError>, needle: &str| match r {
        Err(ClientError::Server {
            status: 400,
            message,
        }) => {
            assert!(message.contains(needle), "{message}")
        }
        other => panic!("expected 400 mentioning {needle:?}, got {other:?}"),
    };
    expect_400(
        post(b"not a zip".to_vec(), "/management/packages").await,
        "not a readable zip",
    );
    expect_400(
        post(Vec::new(), "/management/packages").await,
        "zip archive",
    );

    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    for name in ["P/deploy.xml", "P/../../escape.txt"] {
        w.start_file(name, SimpleFileOptions::default()).unwrap();
        w.write_all(b"x").unwrap();
    }
    let evil = w.finish().unwrap().into_inner();
    expect_400(post(evil, "/management/packages").await, "unsafe path");

    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    w.start_file("deploy.xml", SimpleFileOptions::default())
        .unwrap();
    w.write_all(b"x").unwrap();
    let flat = w.finish().unwrap().into_inner();
    expect_400(post(flat.clone(), "/management/packages").await, "?name=");
    expect_400(
        post(flat, "/management/packages?name=.hidden").await,
        "not a valid package name",
    );

    assert!(listing(s.dir()).is_empty(), "{:?}", listing(s.dir()));
    assert!(!s.dir().parent().unwrap().join("escape.txt").exists());
}

#[tokio::test]
async fn failed_package_is_reported_in_the_answer() {
    let s = TestServer::start().await;
    let root = tempfile::tempdir().unwrap();
    write_package(
        root.path(),
        "Bad",
        &[("deploy.xml", "<deploy"), ("fake-compile.txt", "")],
    );
    let info = client(&s)
        .deploy_zip(zipped(root.path(), "Bad"), None)
        .await
        .unwrap();
    assert_eq!(info["state"], "failed");
    assert!(
        info["errors"][0]
            .as_str()
            .unwrap()
            .starts_with("deploy.xml:1:"),
        "{info}"
    );
    s.wait_state("Bad", PackageState::Failed).await;
}

#[tokio::test]
async fn the_client_sends_the_token() {
    let s = TestServer::start_with(|c| c.management.token = Some("s3cret".into())).await;
    let src = package_source("Tok", "TokSvc");
    let anonymous = client(&s);
    match anonymous.deploy_zip(zipped(src.path(), "Tok"), None).await {
        Err(ClientError::Server { status: 401, .. }) => {}
        other => panic!("expected 401, got {other:?}"),
    }
    let with_token = Client::new(&format!("http://{}", s.addr), Some("s3cret".into())).unwrap();
    let info = with_token
        .deploy_zip(zipped(src.path(), "Tok"), None)
        .await
        .unwrap();
    assert_eq!(info["state"], "deployed");
    let procs = with_token.processes().await.unwrap();
    assert_eq!(procs[0]["package"], "Tok");
}

#[tokio::test]
async fn cli_deploy_processes_undeploy() {
    let s = TestServer::start().await;
    let src = package_source("Cli", "CliSvc");
    let server = format!("http://{}", s.addr);
    let dir = src.path().join("Cli").display().to_string();
    let args = |v: &[&str]| -> Vec<String> {
        v.iter()
            .map(|a| a.to_string())
            .chain(["--server".to_string(), server.clone()])
            .collect()
    };

    let (code, out, err) = cli(args(&["deploy", &dir])).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Package Cli deployed."), "{out}");
    assert!(out.contains("{urn:p}Cli  version"), "{out}");
    assert!(s.dir().join("Cli/deploy.xml").is_file());

    // A zip file deploys the same way.
    let other = package_source("Other", "OtherSvc");
    let zip_path = other.path().join("other.zip");
    std::fs::write(&zip_path, zipped(other.path(), "Other")).unwrap();
    let zip_arg = zip_path.display().to_string();
    let (code, out, err) = cli(args(&["deploy", &zip_arg, "--name", "Cli2"])).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Package Cli2 deployed."), "{out}");

    // A package whose (different) process claims a service already provided fails: exit 1
    // with the server's errors. (The same process in another package is a new version.)
    let clash = package_source("Clash", "OtherSvc");
    let clash_dir = clash.path().join("Clash").display().to_string();
    let (code, out, _) = cli(args(&["deploy", &clash_dir, "--name", "Cli3"])).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("Package Cli3 failed to deploy:"), "{out}");
    assert!(out.contains("BG-DEPLOY-009"), "{out}");

    let (code, out, _) = cli(args(&["processes"])).await;
    assert_eq!(code, 0);
    assert!(out.starts_with("PID"), "{out}");
    assert!(out.contains("{urn:p}Cli-"), "{out}");
    assert!(out.contains("Cli2"), "{out}");

    let pid = format!(
        "{{urn:p}}Cli-{}",
        s.running.registry().package("Cli").unwrap().processes[0].version
    );
    let (code, out, err) = cli(args(&["retire", &pid])).await;
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.trim(), format!("{pid}  retired  Cli"));
    let (code, out, err) = cli(args(&["activate", "{urn:p}Cli"])).await;
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.trim(), format!("{pid}  active  Cli"));
    let (code, _, err) = cli(args(&["retire", "{urn:p}Nope"])).await;
    assert_eq!(code, 1);
    assert!(
        err.contains("no process or process version '{urn:p}Nope'"),
        "{err}"
    );

    let (code, out, _) = cli(args(&["undeploy", "Cli"])).await;
    assert_eq!(code, 0);
    assert!(out.contains("Package Cli undeployed."), "{out}");
    assert!(!s.dir().join("Cli").exists());

    let (code, _, err) = cli(args(&["undeploy", "Cli"])).await;
    assert_eq!(code, 1);
    assert!(err.contains("no package named 'Cli'"), "{err}");
}
