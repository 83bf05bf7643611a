//! `waitload`: load for many waiting instances (benches/packages/Waiting).
//!
//! `create` sends one-way `open(key)` for keys `PREFIX0 .. PREFIX{count-1}`, each creating an
//! instance that then waits on a correlated receive; `poke` sends request-response
//! `poke(key)` to randomly chosen existing keys (distinct while there are enough) and reports
//! the latency of the answers.

use std::collections::BTreeMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bpelgate_benches::{Latency, Report};
use bytes::Bytes;
use clap::{Parser, Subcommand};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::header::{CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

const NS: &str = "http://bpelgate.example/bench/waiting";

#[derive(Parser, Debug)]
#[command(
    name = "waitload",
    about = "Creates many waiting instances, then pokes random ones"
)]
struct Args {
    /// The Waiting service URL (http only), e.g. http://127.0.0.1:9763/services/WaitingService.
    #[arg(long)]
    url: String,
    /// Key prefix (keys are PREFIX0, PREFIX1, ...).
    #[arg(long, default_value = "w")]
    prefix: String,
    /// Worker threads of the generator's runtime.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// One-way `open(key)` for `count` keys: `count` new waiting instances.
    Create {
        /// Instances to create.
        #[arg(long, default_value_t = 100_000)]
        count: usize,
        /// Concurrent connections.
        #[arg(long, default_value_t = 64)]
        connections: usize,
    },
    /// `poke(key)` to `requests` randomly chosen keys among the first `count`.
    Poke {
        /// Instances that exist (keys to choose from).
        #[arg(long, default_value_t = 100_000)]
        count: usize,
        /// Requests to send.
        #[arg(long, default_value_t = 5_000)]
        requests: usize,
        /// Concurrent connections.
        #[arg(long, default_value_t = 8)]
        connections: usize,
        /// Seed of the key choice.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

/// Where requests go.
struct Target {
    addr: SocketAddr,
    uri: Uri,
    host: HeaderValue,
}

fn target(url: &str) -> anyhow::Result<Target> {
    let uri: Uri = url.parse().context("--url is not a URL")?;
    if uri.scheme_str() != Some("http") {
        bail!("--url must be an http:// URL");
    }
    let authority = uri.authority().context("--url has no host")?.clone();
    let addr = (authority.host(), authority.port_u16().unwrap_or(80))
        .to_socket_addrs()
        .context("cannot resolve the --url host")?
        .next()
        .context("the --url host has no address")?;
    let path: Uri = uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .parse()
        .context("bad --url path")?;
    Ok(Target {
        addr,
        uri: path,
        host: HeaderValue::from_str(authority.as_str()).context("bad --url authority")?,
    })
}

/// One request of the run.
struct Job {
    key: String,
    body: Bytes,
}

/// What a request must get back.
struct Expect {
    status: u16,
    /// Texts the body must contain (the key, for pokes).
    body_has_key: bool,
    action: HeaderValue,
}

#[derive(Default)]
struct Tally {
    ok: u64,
    samples: Vec<u64>,
    by_status: BTreeMap<u16, u64>,
    failures: BTreeMap<String, u64>,
}

fn envelope(op: &str, key: &str) -> Bytes {
    Bytes::from(format!(
        r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:w="{NS}"><soapenv:Body><w:{op}><w:key>{key}</w:key></w:{op}></soapenv:Body></soapenv:Envelope>"#
    ))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// One keep-alive connection taking jobs until none are left; reconnects after errors.
async fn connection(
    t: &Target,
    jobs: &[Job],
    next: &AtomicUsize,
    expect: &Expect,
    tally: &Mutex<Tally>,
) {
    let mut local = Tally::default();
    let mut pending: Option<usize> = None;
    // A server that is gone ends the run instead of spinning on connects.
    let mut refused = 0;
    'connect: loop {
        let stream = match TcpStream::connect(t.addr).await {
            Ok(s) => s,
            Err(_) => {
                local.fail("connect");
                refused += 1;
                if refused >= 100 {
                    break 'connect;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        refused = 0;
        let _ = stream.set_nodelay(true);
        let Ok((mut sender, conn)) = http1::handshake(TokioIo::new(stream)).await else {
            local.fail("handshake");
            continue;
        };
        let driver = tokio::spawn(conn);
        loop {
            let i = match pending.take() {
                Some(i) => i,
                None => next.fetch_add(1, Ordering::Relaxed),
            };
            let Some(job) = jobs.get(i) else {
                driver.abort();
                break 'connect;
            };
            if sender.ready().await.is_err() {
                // The server closed the idle connection: this job goes on the next one.
                pending = Some(i);
                driver.abort();
                continue 'connect;
            }
            let mut req = Request::new(Full::new(job.body.clone()));
            *req.method_mut() = Method::POST;
            *req.uri_mut() = t.uri.clone();
            let h = req.headers_mut();
            h.insert(HOST, t.host.clone());
            h.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/xml; charset=utf-8"),
            );
            h.insert("soapaction", expect.action.clone());
            let started = Instant::now();
            let outcome = match sender.send_request(req).await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    match resp.into_body().collect().await {
                        Ok(b) => Ok((status, b.to_bytes())),
                        Err(_) => Err("body read"),
                    }
                }
                Err(_) => Err("request"),
            };
            let micros = started.elapsed().as_micros() as u64;
            match outcome {
                Ok((status, _)) if status != expect.status => {
                    *local.by_status.entry(status).or_default() += 1;
                }
                Ok((_, body))
                    if expect.body_has_key
                        && !contains(&body, format!(">{}<", job.key).as_bytes()) =>
                {
                    local.fail("unexpected body");
                }
                Ok(_) => {
                    local.ok += 1;
                    local.samples.push(micros);
                }
                Err(kind) => {
                    local.fail(kind);
                    driver.abort();
                    continue 'connect;
                }
            }
        }
    }
    let mut t = tally.lock().unwrap_or_else(|e| e.into_inner());
    t.ok += local.ok;
    t.samples.extend(local.samples);
    for (s, n) in local.by_status {
        *t.by_status.entry(s).or_default() += n;
    }
    for (k, n) in local.failures {
        *t.failures.entry(k).or_default() += n;
    }
}

impl Tally {
    fn fail(&mut self, kind: &str) {
        *self.failures.entry(kind.to_string()).or_default() += 1;
    }
}

async fn run(t: Arc<Target>, jobs: Vec<Job>, connections: usize, expect: Expect) -> Report {
    let jobs = Arc::new(jobs);
    let next = Arc::new(AtomicUsize::new(0));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let expect = Arc::new(expect);
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        let (t, jobs, next, tally, expect) = (
            t.clone(),
            jobs.clone(),
            next.clone(),
            tally.clone(),
            expect.clone(),
        );
        tasks.push(tokio::spawn(async move {
            connection(&t, &jobs, &next, &expect, &tally).await;
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let mut tally = std::mem::take(&mut *tally.lock().unwrap_or_else(|e| e.into_inner()));
    Report {
        elapsed: start.elapsed(),
        ok: tally.ok,
        by_status: tally.by_status,
        failures: tally.failures,
        latency: Latency::of(&mut tally.samples),
    }
}

/// `requests` indexes below `count`, chosen at random (xorshift64*): distinct while
/// `requests <= count` (a partial Fisher–Yates shuffle), then repeating.
fn random_indexes(count: usize, requests: usize, seed: u64) -> Vec<usize> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut rnd = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let mut pool: Vec<usize> = (0..count).collect();
    let mut out = Vec::with_capacity(requests);
    while out.len() < requests {
        let take = (requests - out.len()).min(count);
        for i in 0..take {
            let j = i + (rnd() % (count - i) as u64) as usize;
            pool.swap(i, j);
            out.push(pool[i]);
        }
    }
    out
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let t = Arc::new(target(&args.url)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let action = |op: &str| HeaderValue::from_str(&format!("\"{NS}/{op}\""));
    match args.command {
        Cmd::Create { count, connections } => {
            if connections == 0 {
                bail!("--connections must be at least 1");
            }
            let jobs = (0..count)
                .map(|i| {
                    let key = format!("{}{i}", args.prefix);
                    Job {
                        body: envelope("open", &key),
                        key,
                    }
                })
                .collect();
            let expect = Expect {
                status: 202,
                body_has_key: false,
                action: action("open")?,
            };
            let report = runtime.block_on(run(t, jobs, connections, expect));
            println!("create: {count} one-way open() over {connections} connections");
            print!("{report}");
        }
        Cmd::Poke {
            count,
            requests,
            connections,
            seed,
        } => {
            if connections == 0 || count == 0 {
                bail!("--connections and --count must be at least 1");
            }
            let jobs = random_indexes(count, requests, seed)
                .into_iter()
                .map(|i| {
                    let key = format!("{}{i}", args.prefix);
                    Job {
                        body: envelope("poke", &key),
                        key,
                    }
                })
                .collect();
            let expect = Expect {
                status: 200,
                body_has_key: true,
                action: action("poke")?,
            };
            let report = runtime.block_on(run(t, jobs, connections, expect));
            println!(
                "poke: {requests} requests to random instances of {count}, {connections} connections"
            );
            print!("{report}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::random_indexes;

    #[test]
    fn random_indexes_are_distinct_until_they_must_repeat() {
        let mut v = random_indexes(1000, 1000, 7);
        v.sort_unstable();
        assert_eq!(v, (0..1000).collect::<Vec<_>>());
        let v = random_indexes(10, 25, 7);
        assert_eq!(v.len(), 25);
        assert!(v.iter().all(|&i| i < 10));
        assert_ne!(random_indexes(1000, 5, 1), random_indexes(1000, 5, 2));
    }
}
