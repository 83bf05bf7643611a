//! Shared helpers: a fake compiler driven by a spec file, package writers, a raw HTTP client,
//! and a server started on loopback port 0.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bpelgate::compiler::{Diagnostic, PackageOutput};
use bpelgate::config::Config;
use bpelgate::deploy::{PackageCompiler, PackageInfo, PackageState};
use bpelgate::model::{Dialect, PartnerLink, PartnerLinkId, Process, ScopeId};
use bpelgate::server::{self, Running};
use bpelgate_wsdl::Pos;
use bpelgate_wsdl::wsdl::{DirLoader, WsdlSet};
use bpelgate_wsdl::xml::QName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Compiles processes from `fake-compile.txt` instead of BPEL, so deployment can be tested
/// without the real compiler; the WSDL documents are loaded for real from the package. Lines:
/// `process {ns}Name`, `my PL {ns}PortType`, `partner PL {ns}PortType` (partner links of the
/// last process), `error CODE message`, `panic`, `delay-ms N`.
pub(crate) struct FakeCompiler;

impl PackageCompiler for FakeCompiler {
    fn compile(&self, dir: &Path) -> PackageOutput {
        let spec = std::fs::read_to_string(dir.join("fake-compile.txt")).unwrap_or_default();
        let mut out = PackageOutput::default();
        for line in spec.lines() {
            let w: Vec<&str> = line.split_whitespace().collect();
            match w.as_slice() {
                ["process", name] => out.processes.push(Process::empty(
                    QName::from_clark(name),
                    "p.bpel",
                    Dialect::Bpel20,
                )),
                ["my" | "partner", pl, pt] => {
                    let role = Some(("role".to_string(), QName::from_clark(pt)));
                    let link = PartnerLink {
                        name: pl.to_string(),
                        partner_link_type: QName::new("urn:plt", "PLT"),
                        my_role: if w[0] == "my" { role.clone() } else { None },
                        partner_role: if w[0] == "partner" { role } else { None },
                        id: PartnerLinkId(0),
                        scope: ScopeId::PROCESS,
                        initialize_partner_role: None,
                        pos: Pos::default(),
                    };
                    out.processes.last_mut().unwrap().partner_links.push(link);
                }
                ["error", code, msg @ ..] => out.diagnostics.push(Diagnostic::error(
                    *code,
                    "p.bpel",
                    Pos { line: 7, col: 3 },
                    msg.join(" "),
                )),
                ["panic"] => panic!("fake compiler asked to panic"),
                ["delay-ms", n] => std::thread::sleep(Duration::from_millis(n.parse().unwrap())),
                _ => {}
            }
        }
        let (wsdl, errors) = WsdlSet::load_package(&DirLoader::new(dir));
        for e in errors {
            out.diagnostics.push(Diagnostic::error(
                "WSDL",
                "svc.wsdl",
                Pos::default(),
                e.to_string(),
            ));
        }
        out.wsdl = wsdl;
        out
    }
}

/// A deploy.xml providing `{urn:w}svc` through partner link `client` of `{urn:p}proc`.
pub(crate) fn deploy_xml(proc_local: &str, svc_local: &str, port: &str) -> String {
    format!(
        r#"<?xml version="1.0"?>
<deploy xmlns="http://www.apache.org/ode/schemas/dd/2007/03" xmlns:p="urn:p" xmlns:w="urn:w">
  <process name="p:{proc_local}">
    <provide partnerLink="client">
      <service name="w:{svc_local}" port="{port}"/>
    </provide>
  </process>
</deploy>
"#
    )
}

/// The fake-compile spec of a one-process package whose partner link `client` provides
/// portType `{urn:w}PT`.
pub(crate) fn spec(proc_local: &str, _svc_local: &str) -> String {
    format!("process {{urn:p}}{proc_local}\nmy client {{urn:w}}PT\n")
}

/// A small WSDL whose service `svc` has one SOAP port `Port` (binding `B`, portType `PT`).
pub(crate) fn wsdl(svc_local: &str) -> String {
    wsdl_with(&[(svc_local, "B")])
}

/// A WSDL with portTypes `PT` and `OtherPT`, bindings `B` (of `PT`) and `OB` (of `OtherPT`),
/// and one service per `(name, binding)`, each with port `Port` at `http://{name}/`.
pub(crate) fn wsdl_with(services: &[(&str, &str)]) -> String {
    let mut svcs = String::new();
    for (name, binding) in services {
        svcs.push_str(&format!(
            r#"<service name="{name}"><port name="Port" binding="w:{binding}"><soap:address location="http://{name}/"/></port></service>"#
        ));
    }
    format!(
        r#"<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:w="urn:w" targetNamespace="urn:w">
  <message name="M"><part name="p" type="xsd:string"/></message>
  <portType name="PT"><operation name="op"><input message="w:M"/><output message="w:M"/></operation></portType>
  <portType name="OtherPT"><operation name="op"><input message="w:M"/></operation></portType>
  <binding name="B" type="w:PT"><soap:binding style="rpc" transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="op"><soap:operation soapAction=""/><input><soap:body use="literal" namespace="urn:w"/></input><output><soap:body use="literal" namespace="urn:w"/></output></operation></binding>
  <binding name="OB" type="w:OtherPT"><soap:binding style="rpc" transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="op"><soap:operation soapAction=""/><input><soap:body use="literal" namespace="urn:w"/></input></operation></binding>
  {svcs}
</definitions>"#
    )
}

/// Writes a package directory `name` under `root` with the given files.
pub(crate) fn write_package(root: &Path, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for (f, text) in files {
        std::fs::write(dir.join(f), text).unwrap();
    }
    dir
}

/// Writes a complete, valid package providing `svc`, atomically (temp dir then rename).
pub(crate) fn write_good_package(root: &Path, name: &str, svc: &str) {
    let tmp = format!(".tmp-{name}");
    write_package(
        root,
        &tmp,
        &[
            ("deploy.xml", &deploy_xml(name, svc, "Port")),
            ("fake-compile.txt", &spec(name, svc)),
            ("svc.wsdl", &wsdl(svc)),
        ],
    );
    std::fs::rename(root.join(tmp), root.join(name)).unwrap();
}

/// A server on loopback port 0 over a temp deploy dir and a temp data dir, using
/// [`FakeCompiler`].
pub(crate) struct TestServer {
    pub(crate) running: Running,
    pub(crate) deploy_dir: tempfile::TempDir,
    pub(crate) data_dir: tempfile::TempDir,
    pub(crate) addr: SocketAddr,
}

impl TestServer {
    pub(crate) async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub(crate) async fn start_with(tweak: impl FnOnce(&mut Config)) -> Self {
        let deploy_dir = tempfile::tempdir().unwrap();
        let data_dir = tempfile::tempdir().unwrap();
        Self::start_in(deploy_dir, data_dir, tweak).await
    }

    async fn start_in(
        deploy_dir: tempfile::TempDir,
        data_dir: tempfile::TempDir,
        tweak: impl FnOnce(&mut Config),
    ) -> Self {
        let mut config = Config::default();
        config.server.http_port = 0;
        config.server.deploy_dir = deploy_dir.path().to_path_buf();
        config.server.data_dir = data_dir.path().to_path_buf();
        config.server.scan_interval_ms = 50;
        tweak(&mut config);
        let running = server::start(config, Arc::new(FakeCompiler)).await.unwrap();
        let addr = running.local_addr();
        TestServer {
            running,
            deploy_dir,
            data_dir,
            addr,
        }
    }

    /// Stops the server and starts a new one on the same deploy and data dirs.
    pub(crate) async fn restart(self) -> Self {
        self.restart_after(|_| {}).await
    }

    /// [`restart`](Self::restart), calling `between` with the deploy dir while it is stopped.
    pub(crate) async fn restart_after(self, between: impl FnOnce(&Path)) -> Self {
        self.running.shutdown().await.unwrap();
        between(self.deploy_dir.path());
        Self::start_in(self.deploy_dir, self.data_dir, |_| {}).await
    }

    /// The version store's directory.
    pub(crate) fn versions_dir(&self) -> PathBuf {
        self.data_dir.path().join(server::VERSIONS_DIR)
    }

    pub(crate) fn dir(&self) -> &Path {
        self.deploy_dir.path()
    }

    /// Waits (up to 20 s) until `pred` holds for package `name`'s current info.
    pub(crate) async fn wait_package(
        &self,
        name: &str,
        pred: impl Fn(Option<&PackageInfo>) -> bool,
    ) -> Option<PackageInfo> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let info = self.running.registry().package(name);
            if pred(info.as_ref()) {
                return info;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for package {name}: {info:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub(crate) async fn wait_state(&self, name: &str, state: PackageState) -> PackageInfo {
        self.wait_package(name, |p| p.is_some_and(|p| p.state == state))
            .await
            .unwrap()
    }

    pub(crate) async fn get(&self, path: &str) -> Response {
        request(self.addr, "GET", path, &[], "").await
    }
}

/// A response read off the wire.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Response {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`).
pub(crate) async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Response {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Response {
        status,
        headers,
        body: body.to_string(),
    }
}

/// Runs the real `bpelgate` binary with `args`; returns (exit code, stdout, stderr).
pub(crate) async fn cli(args: Vec<String>) -> (i32, String, String) {
    tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_bpelgate"))
            .args(&args)
            .env_remove("BPELGATE_TOKEN")
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}
