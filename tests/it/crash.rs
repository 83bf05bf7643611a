//! Crash recovery of the real binary (issue 5): 1,000 long-running persistent instances of
//! `tests/data/durable/CrashFlow` — each calls a slow partner, sleeps on a timer and waits for a
//! correlated message — are interrupted by `kill -9` while many are inside partner calls and
//! timers; the server restarts on the same data (SQLite file, or a PostgreSQL schema) and every
//! instance must complete exactly once.
//!
//! Partners see at-least-once delivery, as with ODE: an invoke whose reply was not committed
//! before the kill is sent again after the restart. The duplicates are counted and printed.

use std::collections::HashMap;
use std::convert::Infallible;
use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const INSTANCES: usize = 1_000;
/// The starts are spread over this long, so that at the kill some instances are inside the
/// partner call, some in the timer and some (the first ones) waiting for `continue`.
const START_SPREAD: Duration = Duration::from_secs(3);
const SENDERS: usize = 16;
const NS: &str = "http://bpelgate.example/test/durable";
const SERVICE: &str = "CrashFlowService";

fn key(i: usize) -> String {
    format!("k{i:04}")
}

/// How long the partner takes to answer `work` for a key: 0.5–1.5 s, spread over the keys.
fn work_delay(key: &str) -> Duration {
    let h = key.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    });
    Duration::from_millis(500 + u64::from(h % 1000))
}

// ---------------------------------------------------------------------------------------------
// The partner: a mock SOAP service answering `work` slowly and recording `done`.

#[derive(Default)]
struct PartnerLog {
    /// `work` calls received, per key.
    work: HashMap<String, usize>,
    /// `work` calls received and not answered yet.
    work_in_flight: usize,
    /// `work` answers written (the engine may have died before reading them).
    work_answered: usize,
    /// `done` results received, per key.
    done: HashMap<String, Vec<String>>,
}

#[derive(Default)]
struct Partner {
    log: Mutex<PartnerLog>,
}

impl Partner {
    fn log(&self) -> std::sync::MutexGuard<'_, PartnerLog> {
        self.log.lock().unwrap()
    }
}

/// The text of the first element with local name `local` (any prefix).
fn element_text(xml: &str, local: &str) -> Option<String> {
    let open = xml.match_indices('<').find_map(|(i, _)| {
        let rest = &xml[i + 1..];
        let name_end = rest.find(|c: char| c == '>' || c.is_whitespace())?;
        let name = &rest[..name_end];
        if name.rsplit(':').next()? != local {
            return None;
        }
        Some(i + 1 + rest.find('>')? + 1)
    })?;
    let len = xml[open..].find('<')?;
    Some(xml[open..open + len].to_string())
}

async fn partner_handle(
    partner: Arc<Partner>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let action = req
        .headers()
        .get("soapaction")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = match req.into_body().collect().await {
        Ok(b) => String::from_utf8_lossy(&b.to_bytes()).into_owned(),
        Err(_) => String::new(),
    };
    let key = element_text(&body, "key").unwrap_or_default();
    let is_done = action.contains("/done") || body.contains(":done") || body.contains("<done");
    if is_done {
        let result = element_text(&body, "result").unwrap_or_default();
        partner.log().done.entry(key).or_default().push(result);
        let mut resp = Response::new(Full::new(Bytes::new()));
        *resp.status_mut() = hyper::StatusCode::ACCEPTED;
        return Ok(resp);
    }
    {
        let mut log = partner.log();
        *log.work.entry(key.clone()).or_default() += 1;
        log.work_in_flight += 1;
    }
    tokio::time::sleep(work_delay(&key)).await;
    {
        let mut log = partner.log();
        log.work_in_flight -= 1;
        log.work_answered += 1;
    }
    let envelope = format!(
        r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><d:workResponse xmlns:d="{NS}"><d:key>{key}</d:key><d:result>worked-{key}</d:result></d:workResponse></soapenv:Body></soapenv:Envelope>"#
    );
    let mut resp = Response::new(Full::new(Bytes::from(envelope)));
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/xml; charset=utf-8"),
    );
    Ok(resp)
}

async fn start_partner(partner: Arc<Partner>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let partner = partner.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req| partner_handle(partner.clone(), req));
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

// ---------------------------------------------------------------------------------------------
// The server under test: the real binary as a child process.

/// A running `bpelgate serve`; killed (SIGKILL) when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// `kill -9`: no shutdown code of the server runs.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The work dir of one test: deploy and data dirs, the server log.
struct Work {
    dir: tempfile::TempDir,
    database_url: Option<String>,
}

impl Work {
    fn new(partner: SocketAddr, database_url: Option<String>) -> Work {
        let dir = tempfile::tempdir().unwrap();
        let pkg = dir.path().join("deploy").join("CrashFlow");
        std::fs::create_dir_all(&pkg).unwrap();
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/durable/CrashFlow");
        for entry in std::fs::read_dir(&src).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), pkg.join(entry.file_name())).unwrap();
        }
        std::fs::write(
            pkg.join("partner.epr"),
            format!(
                r#"<wsa:EndpointReference xmlns:wsa="http://www.w3.org/2005/08/addressing"><wsa:Address>http://{partner}/crash-partner</wsa:Address></wsa:EndpointReference>"#
            ),
        )
        .unwrap();
        // The default of 20 connections per partner host would queue most of the slow calls.
        std::fs::write(
            dir.path().join("bpelgate.toml"),
            "[http-client]\nmax-connections-per-host = 1024\nmax-total-connections = 1024\n",
        )
        .unwrap();
        Work { dir, database_url }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn log_path(&self) -> PathBuf {
        self.path().join("server.log")
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(60)..].join("\n")
    }

    /// Starts the server and waits until it is healthy and serves the process.
    async fn start(&self) -> Server {
        let port = free_port();
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_bpelgate"));
        cmd.current_dir(self.path())
            .arg("serve")
            .arg("--config")
            .arg(self.path().join("bpelgate.toml"))
            .args(["--http-port", &port.to_string()])
            .arg("--data-dir")
            .arg(self.path().join("data"))
            .arg("--deploy-dir")
            .arg(self.path().join("deploy"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        if let Some(url) = &self.database_url {
            cmd.args(["--database-url", url]);
        }
        let child = cmd.spawn().unwrap();
        let mut server = Server {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        let wsdl = format!("/services/{SERVICE}?wsdl");
        loop {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("the server exited ({status}):\n{}", self.log_tail());
            }
            let health = http(server.addr, "GET", "/health", &[], "").await;
            if matches!(health, Ok((200, _))) {
                let svc = http(server.addr, "GET", &wsdl, &[], "").await;
                if matches!(svc, Ok((200, _))) {
                    return server;
                }
            }
            assert!(
                Instant::now() < deadline,
                "the server was not ready within 60 s:\n{}",
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// One HTTP/1.1 request on a fresh connection; transport errors are returned, not panicked on.
async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<(u16, String)> {
    let exchange = async {
        let mut s = TcpStream::connect(addr).await?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).await?;
        s.write_all(body.as_bytes()).await?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).await?;
        let text = String::from_utf8_lossy(&raw).into_owned();
        let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP response");
        let (head, body) = text.split_once("\r\n\r\n").ok_or_else(bad)?;
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(bad)?;
        Ok((status, body.to_string()))
    };
    match tokio::time::timeout(Duration::from_secs(30), exchange).await {
        Ok(r) => r,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "no answer within 30 s",
        )),
    }
}

async fn send_one_way(addr: SocketAddr, op: &str, key: &str) -> std::io::Result<(u16, String)> {
    let body = format!(
        r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:d="{NS}"><soapenv:Body><d:{op}><d:key>{key}</d:key></d:{op}></soapenv:Body></soapenv:Envelope>"#
    );
    let action = format!("\"{NS}/{op}\"");
    http(
        addr,
        "POST",
        &format!("/services/{SERVICE}"),
        &[
            ("Content-Type", "text/xml; charset=utf-8"),
            ("SOAPAction", &action),
        ],
        &body,
    )
    .await
}

/// Sends `op` for every key from `SENDERS` concurrent senders. With `pace`, message i leaves
/// no earlier than i × pace after the first. With `retry`, connection errors and 503 are
/// retried until accepted (or a minute passed). Returns the keys that were not accepted, with
/// what the server said.
async fn send_all(
    addr: SocketAddr,
    op: &'static str,
    pace: Option<Duration>,
    retry: bool,
) -> Vec<(String, String)> {
    let next = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(Mutex::new(Vec::new()));
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..SENDERS {
        let next = next.clone();
        let failed = failed.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= INSTANCES {
                    break;
                }
                if let Some(p) = pace {
                    tokio::time::sleep_until((t0 + p * i as u32).into()).await;
                }
                let k = key(i);
                let deadline = Instant::now() + Duration::from_secs(60);
                loop {
                    let r = send_one_way(addr, op, &k).await;
                    let transient = match &r {
                        Ok((202, _)) => break,
                        Ok((503, _)) | Err(_) => true,
                        Ok(_) => false,
                    };
                    if !(retry && transient && Instant::now() < deadline) {
                        failed.lock().unwrap().push((k, format!("{r:?}")));
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut failed = std::mem::take(&mut *failed.lock().unwrap());
    failed.sort();
    failed
}

/// Every instance the management API lists: (id, status).
async fn instances(addr: SocketAddr) -> Result<Vec<(i64, String)>, String> {
    let limit = INSTANCES * 2;
    let (status, body) = http(
        addr,
        "GET",
        &format!("/management/instances?limit={limit}"),
        &[],
        "",
    )
    .await
    .map_err(|e| e.to_string())?;
    if status != 200 {
        return Err(format!("status {status}: {body}"));
    }
    let v: serde_json::Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
    let rows = v.as_array().ok_or("not a JSON array")?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r["id"].as_i64().unwrap_or(-1),
                r["status"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect())
}

fn status_counts(rows: &[(i64, String)]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for (_, s) in rows {
        *counts.entry(s.clone()).or_default() += 1;
    }
    counts
}

/// The whole scenario against one store (`database_url` `None`: SQLite in the data dir).
///
/// With BPELGATE_CRASH_TEST_NO_KILL=1 the same run goes without the kill and the restart, as
/// a control: then no partner call may arrive twice.
async fn crash_and_recover(label: &str, database_url: Option<String>, no_kill: bool) {
    let control = no_kill || std::env::var("BPELGATE_CRASH_TEST_NO_KILL").as_deref() == Ok("1");
    let label = if control {
        format!("{label}, no kill")
    } else {
        label.to_string()
    };
    let partner = Arc::new(Partner::default());
    let partner_addr = start_partner(partner.clone()).await;
    let work = Work::new(partner_addr, database_url);
    let t_begin = Instant::now();

    // 1. Start the instances, spread over START_SPREAD; every start is committed when accepted.
    let server = work.start().await;
    let pace = START_SPREAD / INSTANCES as u32;
    let failed = send_all(server.addr, "start", Some(pace), false).await;
    let started_in = t_begin.elapsed();
    assert!(
        failed.is_empty(),
        "[{label}] {} starts not accepted, e.g. {:?}\n{}",
        failed.len(),
        &failed[..failed.len().min(5)],
        work.log_tail()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;

    // 2. kill -9 with instances inside partner calls and timers.
    let (in_flight, answered, called) = {
        let log = partner.log();
        (log.work_in_flight, log.work_answered, log.work.len())
    };
    let survivor = if control {
        Some(server)
    } else {
        server.kill();
        None
    };
    let t_kill = t_begin.elapsed();
    assert!(
        in_flight > 0 && answered > 0,
        "[{label}] the kill did not hit instances both inside the partner call ({in_flight}) \
         and past it ({answered} answered)"
    );
    assert!(
        partner.log().done.is_empty(),
        "[{label}] done before continue"
    );

    // 3. Restart on the same data; then resume every instance.
    let t_restart = Instant::now();
    let server = match survivor {
        Some(s) => s,
        None => work.start().await,
    };
    let ready_after = t_restart.elapsed();
    let failed = send_all(server.addr, "continue", None, true).await;
    assert!(
        failed.is_empty(),
        "[{label}] {} continue messages not accepted, e.g. {:?}\n{}",
        failed.len(),
        &failed[..failed.len().min(5)],
        work.log_tail()
    );

    // 4. Every key reports done; then no instance is left active.
    let deadline = Instant::now() + Duration::from_secs(60);
    while partner.log().done.len() < INSTANCES && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut rows = Vec::new();
    while Instant::now() < deadline {
        match instances(server.addr).await {
            Ok(r) if !r.iter().any(|(_, s)| s == "active") => {
                rows = r;
                break;
            }
            Ok(r) => rows = r,
            Err(e) => eprintln!("[{label}] listing instances: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let t_total = t_begin.elapsed();

    let log = partner.log();
    let missing: Vec<String> = (0..INSTANCES)
        .map(key)
        .filter(|k| !log.done.contains_key(k))
        .collect();
    let wrong: Vec<(&String, &Vec<String>)> = log
        .done
        .iter()
        .filter(|(k, results)| results.iter().any(|r| *r != format!("worked-{k}")))
        .collect();
    let done_dups: usize = log.done.values().map(|r| r.len() - 1).sum();
    let work_dups: usize = log.work.values().map(|n| n - 1).sum();
    let counts = status_counts(&rows);
    let summary = format!(
        "[{label}] {INSTANCES} instances started in {:.1} s; at the kill point ({:.1} s in) {called} had called the \
         partner, {in_flight} calls in flight, {answered} answered; restart ready after \
         {:.2} s; all done {:.1} s after start. Duplicates: {work_dups} work call(s) \
         (at-least-once: calls cut off by the kill are sent again), {done_dups} done \
         message(s) (every done is sent after the restart). Instances by status: {counts:?}",
        started_in.as_secs_f64(),
        t_kill.as_secs_f64(),
        ready_after.as_secs_f64(),
        t_total.as_secs_f64()
    );
    eprintln!("{summary}");
    assert!(
        missing.is_empty(),
        "{summary}\n{} keys never reported done, e.g. {:?}\n{}",
        missing.len(),
        &missing[..missing.len().min(10)],
        work.log_tail()
    );
    assert!(
        wrong.is_empty(),
        "{summary}\nresults lost across the restart, e.g. {:?}",
        &wrong[..wrong.len().min(5)]
    );
    assert_eq!(
        log.work.len(),
        INSTANCES,
        "{summary}\nwork was called for other keys than the instances'"
    );
    // Each completed instance reported done for its own key once it ran to the end: with every
    // key done and exactly INSTANCES instances, each key has exactly one instance.
    assert_eq!(
        rows.len(),
        INSTANCES,
        "{summary}\nexpected exactly one instance per key"
    );
    assert_eq!(
        counts.get("completed").copied().unwrap_or(0),
        INSTANCES,
        "{summary}\nevery instance must end completed\n{}",
        work.log_tail()
    );
    if control {
        assert!(
            work_dups == 0 && done_dups == 0,
            "{summary}\nwithout a crash, no partner call may be sent twice"
        );
    }
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_flight_then_every_instance_completes_once_on_sqlite() {
    crash_and_recover("sqlite", None, false).await;
}

/// The control run: without a crash, no partner call may be sent twice (the job poller must
/// not pick up a job that was just carried out).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_crash_no_partner_call_is_sent_twice() {
    crash_and_recover("sqlite", None, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_flight_then_every_instance_completes_once_on_postgresql() {
    let Some(schema) = pg::Schema::create().await else {
        return;
    };
    crash_and_recover("postgresql", Some(schema.url.clone()), false).await;
}

/// A PostgreSQL schema of its own for one test run (created and dropped through an admin
/// connection), selected by the server through the URL's `search_path` option.
mod pg {
    use std::time::Duration;

    use tokio_postgres::NoTls;

    fn base_url() -> String {
        std::env::var("BPELGATE_TEST_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
    }

    /// Dropped (with everything the server created in it) when the test ends, passed or not.
    pub(super) struct Schema {
        name: String,
        pub(super) url: String,
    }

    impl Schema {
        /// `None` (after saying so) when PostgreSQL is unreachable, unless
        /// BPELGATE_REQUIRE_PG=1.
        pub(super) async fn create() -> Option<Schema> {
            let url = base_url();
            let name = format!("bpelgate_crash_{}", std::process::id());
            let sql = format!("DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}");
            let why = match tokio::time::timeout(Duration::from_secs(5), execute(&url, &sql)).await
            {
                Ok(Ok(())) => {
                    let sep = if url.contains('?') { '&' } else { '?' };
                    let url = format!("{url}{sep}options=-c%20search_path%3D{name}");
                    return Some(Schema { name, url });
                }
                Ok(Err(e)) => e.to_string(),
                Err(_) => "no answer within 5 s".to_string(),
            };
            if std::env::var("BPELGATE_REQUIRE_PG").as_deref() == Ok("1") {
                panic!("PostgreSQL unreachable at {url}: {why} (BPELGATE_REQUIRE_PG=1)");
            }
            eprintln!("SKIPPED: PostgreSQL unreachable at {url}: {why}");
            None
        }
    }

    impl Drop for Schema {
        fn drop(&mut self) {
            // Drop runs inside the test's runtime, possibly while panicking: a thread with a
            // runtime of its own does the cleanup.
            let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name);
            let cleanup = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())?;
                rt.block_on(execute(&base_url(), &sql))
                    .map_err(|e| e.to_string())
            });
            match cleanup.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => eprintln!("cannot drop schema {}: {e}", self.name),
                Err(_) => eprintln!("cannot drop schema {}: cleanup panicked", self.name),
            }
        }
    }

    async fn execute(url: &str, sql: &str) -> Result<(), tokio_postgres::Error> {
        let cfg: tokio_postgres::Config = url.parse()?;
        let (client, conn) = cfg.connect(NoTls).await?;
        let conn = tokio::spawn(conn);
        let r = client.batch_execute(sql).await;
        drop(client);
        let _ = conn.await;
        r
    }
}
