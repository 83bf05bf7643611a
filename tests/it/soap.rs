//! The SOAP endpoint under bad input: the real server (real BPEL compiler) on loopback port 0
//! with a package built from the runtime kit's WSDL. Good requests get their replies; each bad
//! one gets a SOAP Client fault, and the server keeps serving afterwards.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bpelgate::config::Config;
use bpelgate::deploy::{BpelCompiler, PackageState};
use bpelgate::server::{self, Running};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::runtime::kit::{MAIN_DEPLOY, TEST_WSDL, process};

const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";
/// Largest body the test server accepts.
const MAX_BODY: usize = 128 * 1024;

/// `run` answers `hello <in>` (or the declared fault `oops` when `in` is `fail`); `start` is
/// one-way and creates an instance that ends at once.
fn bpel() -> String {
    process(
        "",
        r#"<pick createInstance="yes">
          <onMessage partnerLink="client" operation="run" variable="req">
            <if><condition>$req.in = 'fail'</condition>
              <sequence>
                <assign><copy><from>'refused'</from><to variable="flt" part="detail"/></copy></assign>
                <reply partnerLink="client" operation="run" variable="flt" faultName="t:oops"/>
              </sequence>
              <else><sequence>
                <assign><copy><from>concat('hello ', $req.in)</from><to variable="resp" part="out"/></copy></assign>
                <reply partnerLink="client" operation="run" variable="resp"/>
              </sequence></else>
            </if>
          </onMessage>
          <onMessage partnerLink="client" operation="start" variable="req"><empty/></onMessage>
        </pick>"#,
    )
}

struct Server {
    running: Running,
    _dir: tempfile::TempDir,
    _data: tempfile::TempDir,
    addr: SocketAddr,
}

async fn start() -> Server {
    start_with(&bpel()).await
}

async fn start_with(bpel: &str) -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let pkg = dir.path().join("soaptest");
    std::fs::create_dir_all(&pkg).expect("package dir");
    std::fs::write(pkg.join("test.wsdl"), TEST_WSDL).expect("wsdl");
    std::fs::write(pkg.join("p.bpel"), bpel).expect("bpel");
    std::fs::write(pkg.join("deploy.xml"), MAIN_DEPLOY).expect("deploy.xml");
    let mut config = Config::default();
    config.server.http_port = 0;
    let data = tempfile::tempdir().expect("temp dir");
    config.server.deploy_dir = dir.path().to_path_buf();
    config.server.data_dir = data.path().to_path_buf();
    config.server.scan_interval_ms = 50;
    config.limits.max_body_bytes = MAX_BODY;
    let running = server::start(config, Arc::new(BpelCompiler))
        .await
        .expect("server starts");
    let addr = running.local_addr();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let info = running.registry().package("soaptest");
        if info
            .as_ref()
            .is_some_and(|p| p.state == PackageState::Deployed)
        {
            break;
        }
        assert!(Instant::now() < deadline, "package not deployed: {info:#?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Server {
        running,
        _dir: dir,
        _data: data,
        addr,
    }
}

#[derive(Debug)]
struct Response {
    status: u16,
    content_type: String,
    body: String,
}

/// One HTTP/1.1 request on a fresh connection. The server may answer and close before the
/// whole body is sent (oversized bodies): write errors are ignored and the answer read.
async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = s.write_all(head.as_bytes()).await;
    let _ = s.write_all(body).await;
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut raw)).await;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP response: {text:?}"));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line: {head}"));
    let content_type = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    Response {
        status,
        content_type,
        body: body.to_string(),
    }
}

async fn post11(addr: SocketAddr, action: &str, body: &str) -> Response {
    send(
        addr,
        "POST",
        "/services/TestService",
        &[
            ("Content-Type", "text/xml; charset=utf-8"),
            ("SOAPAction", action),
        ],
        body.as_bytes(),
    )
    .await
}

fn envelope11(body: &str) -> String {
    format!(
        r#"<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="{SOAP11}"><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"#
    )
}

fn run_call(input: &str) -> String {
    envelope11(&format!(
        r#"<t:run xmlns:t="urn:t"><in>{input}</in><key>k</key></t:run>"#
    ))
}

/// Asserts `r` is a SOAP 1.1 Client fault (`faultcode` ending in `Client`) with an error status.
fn assert_client_fault(r: &Response, what: &str) {
    assert!(
        r.status == 500 || (400..500).contains(&r.status),
        "{what}: status {} {}",
        r.status,
        r.body
    );
    assert!(
        r.body.contains(SOAP11),
        "{what}: not a SOAP 1.1 envelope: {}",
        r.body
    );
    assert!(r.body.contains("Fault"), "{what}: no Fault: {}", r.body);
    let code = r
        .body
        .split("<faultcode>")
        .nth(1)
        .and_then(|s| s.split("</faultcode>").next())
        .unwrap_or_default();
    assert!(
        code.ends_with("Client"),
        "{what}: faultcode {code:?} in {}",
        r.body
    );
}

/// The server still answers a valid request correctly.
async fn assert_alive(addr: SocketAddr) {
    let r = post11(addr, "run", &run_call("again")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("hello again"), "{}", r.body);
}

#[tokio::test]
async fn valid_rpc_request_gets_the_reply() {
    let s = start().await;
    let r = post11(s.addr, "run", &run_call("bob")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.content_type.starts_with("text/xml"), "{}", r.content_type);
    assert!(r.body.contains(SOAP11), "{}", r.body);
    assert!(r.body.contains("runResponse"), "{}", r.body);
    assert!(r.body.contains("<out>hello bob</out>"), "{}", r.body);
    assert!(
        !r.body.contains("Header"),
        "no header block to send: {}",
        r.body
    );
    // Without a SOAPAction header the body's wrapper element selects the operation.
    let r = send(
        s.addr,
        "POST",
        "/services/TestService",
        &[("Content-Type", "text/xml")],
        run_call("no action").as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("hello no action"), "{}", r.body);
    s.running.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn undeclared_soap_header_is_copied_to_the_reply_with_ode_header_attribute() {
    // Apache ODE keeps header blocks the binding does not declare as extra parts, which
    // `header="…"` copies address; parts the WSDL message lacks go out as header blocks.
    let s = start_with(&process(
        "",
        r#"<sequence>
          <receive partnerLink="client" operation="run" variable="req" createInstance="yes"/>
          <assign>
            <copy><from>concat('hello ', $req.in)</from><to variable="resp" part="out"/></copy>
            <copy><from variable="req" header="ConversationId"/><to variable="resp" header="ConversationId"/></copy>
          </assign>
          <reply partnerLink="client" operation="run" variable="resp"/>
        </sequence>"#,
    ))
    .await;
    let request = format!(
        r#"<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="{SOAP11}"><soapenv:Header><c:ConversationId xmlns:c="urn:conv">ZZZXYZ</c:ConversationId><wsa:MessageID xmlns:wsa="http://www.w3.org/2005/08/addressing">urn:uuid:1</wsa:MessageID></soapenv:Header><soapenv:Body><t:run xmlns:t="urn:t"><in>bob</in><key>k</key></t:run></soapenv:Body></soapenv:Envelope>"#
    );
    let r = post11(s.addr, "run", &request).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<out>hello bob</out>"), "{}", r.body);
    let header = r
        .body
        .split_once("<soapenv:Header>")
        .and_then(|(_, rest)| rest.split_once("</soapenv:Header>"))
        .map(|(h, _)| h)
        .unwrap_or_else(|| panic!("no SOAP Header in the reply: {}", r.body));
    assert!(
        header.starts_with("<c:ConversationId xmlns:c=\"urn:conv\">ZZZXYZ</c:ConversationId>"),
        "the first header block is the conversation id: {header}"
    );
    // WS-Addressing blocks describe the request's exchange: not echoed.
    assert!(!r.body.contains("MessageID"), "{}", r.body);
    s.running.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn declared_fault_reply_is_a_soap_fault_with_detail() {
    let s = start().await;
    let r = post11(s.addr, "run", &run_call("fail")).await;
    assert_eq!(r.status, 500, "{}", r.body);
    assert!(r.body.contains("Fault"), "{}", r.body);
    assert!(
        r.body.contains("refused"),
        "the fault message is in the detail: {}",
        r.body
    );
    assert_alive(s.addr).await;
}

#[tokio::test]
async fn one_way_request_is_accepted_with_202() {
    let s = start().await;
    let r = post11(
        s.addr,
        "start",
        &envelope11(r#"<t:start xmlns:t="urn:t"><in>x</in><key>k</key></t:start>"#),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert!(r.body.is_empty(), "{:?}", r.body);
    assert_alive(s.addr).await;
}

#[tokio::test]
async fn soap12_request_gets_a_soap12_reply() {
    let s = start().await;
    let body = format!(
        r#"<?xml version="1.0"?><env:Envelope xmlns:env="{SOAP12}"><env:Body><t:run xmlns:t="urn:t"><in>twelve</in><key>k</key></t:run></env:Body></env:Envelope>"#
    );
    let r = send(
        s.addr,
        "POST",
        "/services/TestService",
        &[(
            "Content-Type",
            "application/soap+xml; charset=utf-8; action=\"run\"",
        )],
        body.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.content_type.starts_with("application/soap+xml"),
        "{}",
        r.content_type
    );
    assert!(r.body.contains(SOAP12), "{}", r.body);
    assert!(r.body.contains("hello twelve"), "{}", r.body);
    assert_alive(s.addr).await;
}

#[tokio::test]
async fn not_xml_is_a_client_fault() {
    let s = start().await;
    let r = post11(s.addr, "run", "this is not XML at all <<<").await;
    assert_client_fault(&r, "not XML");
    let r = post11(s.addr, "run", "").await;
    assert_client_fault(&r, "empty body");
    assert_alive(s.addr).await;
}

#[tokio::test]
async fn xml_that_is_not_soap_is_a_client_fault() {
    let s = start().await;
    let r = post11(
        s.addr,
        "run",
        r#"<t:run xmlns:t="urn:t"><in>x</in><key>k</key></t:run>"#,
    )
    .await;
    assert_client_fault(&r, "bare payload");
    let r = post11(
        s.addr,
        "run",
        &format!(r#"<soapenv:Envelope xmlns:soapenv="{SOAP11}"/>"#),
    )
    .await;
    assert_client_fault(&r, "envelope without body");
    assert_alive(s.addr).await;
}

#[tokio::test]
async fn wrong_envelope_namespace_is_refused() {
    let s = start().await;
    let r = post11(
        s.addr,
        "run",
        r#"<soapenv:Envelope xmlns:soapenv="urn:not-soap"><soapenv:Body><t:run xmlns:t="urn:t"><in>x</in><key>k</key></t:run></soapenv:Body></soapenv:Envelope>"#,
    )
    .await;
    assert!(r.status == 500 || (400..500).contains(&r.status), "{r:?}");
    assert!(r.body.contains("Fault"), "{}", r.body);
    // SOAP 1.1 §4.4.1 calls this a VersionMismatch; a Client fault is accepted too.
    assert!(
        r.body.contains("VersionMismatch") || r.body.contains("Client"),
        "{}",
        r.body
    );
    assert!(!r.body.contains("hello"), "{}", r.body);
    assert_alive(s.addr).await;
}

#[tokio::test]
async fn unknown_operation_is_a_client_fault() {
    let s = start().await;
    let r = post11(
        s.addr,
        "nope",
        &envelope11(r#"<t:nope xmlns:t="urn:t"><in>x</in></t:nope>"#),
    )
    .await;
    assert_client_fault(&r, "unknown operation");
    // An operation of another portType of the same WSDL is unknown here too.
    let r = post11(
        s.addr,
        "call",
        &envelope11(r#"<t:call xmlns:t="urn:t"><in>x</in><key>k</key></t:call>"#),
    )
    .await;
    assert_client_fault(&r, "operation of another port");
    assert_alive(s.addr).await;
}

#[tokio::test]
async fn missing_part_is_a_client_fault() {
    let s = start().await;
    let r = post11(
        s.addr,
        "run",
        &envelope11(r#"<t:run xmlns:t="urn:t"><in>x</in></t:run>"#),
    )
    .await;
    assert_client_fault(&r, "missing part");
    assert_alive(s.addr).await;
}

#[tokio::test]
async fn doctype_and_entities_are_refused() {
    let s = start().await;
    let internal = format!(
        r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "expanded">]><soapenv:Envelope xmlns:soapenv="{SOAP11}"><soapenv:Body><t:run xmlns:t="urn:t"><in>&e;</in><key>k</key></t:run></soapenv:Body></soapenv:Envelope>"#
    );
    let r = post11(s.addr, "run", &internal).await;
    assert_client_fault(&r, "internal entity");
    assert!(!r.body.contains("hello expanded"), "{}", r.body);
    let external = format!(
        r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><soapenv:Envelope xmlns:soapenv="{SOAP11}"><soapenv:Body><t:run xmlns:t="urn:t"><in>&e;</in><key>k</key></t:run></soapenv:Body></soapenv:Envelope>"#
    );
    let r = post11(s.addr, "run", &external).await;
    assert_client_fault(&r, "external entity");
    assert!(!r.body.contains("root:"), "{}", r.body);
    let laughs = format!(
        r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><soapenv:Envelope xmlns:soapenv="{SOAP11}"><soapenv:Body><t:run xmlns:t="urn:t"><in>&c;</in><key>k</key></t:run></soapenv:Body></soapenv:Envelope>"#
    );
    let r = post11(s.addr, "run", &laughs).await;
    assert_client_fault(&r, "entity expansion");
    assert_alive(s.addr).await;
}

#[tokio::test]
async fn deep_nesting_is_a_client_fault() {
    let s = start().await;
    let depth = 10_000;
    let mut inner = String::with_capacity(depth * 8);
    for _ in 0..depth {
        inner.push_str("<d>");
    }
    for _ in 0..depth {
        inner.push_str("</d>");
    }
    let body = envelope11(&format!(
        r#"<t:run xmlns:t="urn:t"><in>{inner}</in><key>k</key></t:run>"#
    ));
    assert!(
        body.len() < MAX_BODY,
        "the nesting, not the size, must be the problem"
    );
    let r = post11(s.addr, "run", &body).await;
    assert_client_fault(&r, "deep nesting");
    assert_alive(s.addr).await;
}

#[tokio::test]
async fn oversized_body_is_refused() {
    let s = start().await;
    let filler = "x".repeat(MAX_BODY * 3);
    let r = post11(s.addr, "run", &run_call(&filler)).await;
    assert!(
        r.status == 413 || r.status == 500 || r.status == 400,
        "{} {}",
        r.status,
        r.body
    );
    assert!(
        !r.body.contains("hello x"),
        "the request must not reach the process"
    );
    assert_alive(s.addr).await;
}

#[tokio::test]
async fn oversized_body_is_a_soap_client_fault() {
    let s = start().await;
    let filler = "x".repeat(MAX_BODY * 3);
    let r = post11(s.addr, "run", &run_call(&filler)).await;
    assert_client_fault(&r, "oversized body");
    assert_alive(s.addr).await;
}

#[tokio::test]
async fn wsdl_is_published_with_the_server_address() {
    let s = start().await;
    let r = send(s.addr, "GET", "/services/TestService?wsdl", &[], b"").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.content_type.starts_with("text/xml"), "{}", r.content_type);
    assert!(r.body.contains("definitions"), "{}", r.body);
    assert!(r.body.contains("TestService"), "{}", r.body);
    assert!(
        r.body
            .contains(&format!("http://{}/services/TestService", s.addr)),
        "the port address is rewritten to this server: {}",
        r.body
    );
    // Not a GET without ?wsdl, nor an unknown service.
    let r = send(s.addr, "GET", "/services/TestService", &[], b"").await;
    assert_eq!(r.status, 405);
    let r = post11(s.addr, "run", &run_call("x")).await;
    assert_eq!(r.status, 200);
    let r = send(
        s.addr,
        "POST",
        "/services/NoSuchService",
        &[("Content-Type", "text/xml")],
        run_call("x").as_bytes(),
    )
    .await;
    assert_client_fault(&r, "unknown service");
    assert_alive(s.addr).await;
}
