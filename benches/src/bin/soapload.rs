//! `soapload`: a closed-loop SOAP/HTTP load generator.
//!
//! N keep-alive HTTP/1.1 connections each send the same request back to back for a warm-up
//! period and then for the measured duration; it prints req/s, latency percentiles and the
//! failures by status or kind.

use std::collections::BTreeMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bpelgate_benches::{Latency, Report, parse_duration};
use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::header::{CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

#[derive(Parser, Debug)]
#[command(
    name = "soapload",
    about = "Closed-loop SOAP/HTTP load: N keep-alive connections, req/s and latency percentiles"
)]
struct Args {
    /// Endpoint URL (http only), e.g. http://127.0.0.1:9763/services/EchoService.
    #[arg(long)]
    url: String,
    /// File holding the request body (a SOAP envelope).
    #[arg(long)]
    body: PathBuf,
    /// SOAPAction header value (sent quoted, SOAP 1.1); omitted when not given.
    #[arg(long)]
    action: Option<String>,
    /// Content-Type of the request.
    #[arg(long, default_value = "text/xml; charset=utf-8")]
    content_type: String,
    /// Concurrent connections (each with one request in flight).
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Measured duration (e.g. 10s, 500ms).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Warm-up before measuring (requests sent but not counted).
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    warmup: Duration,
    /// Worker threads of the generator's runtime.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// HTTP status counted as success.
    #[arg(long, default_value_t = 200)]
    expect_status: u16,
    /// Text a successful response body must contain (else counted as "unexpected body").
    #[arg(long)]
    expect_body: Option<String>,
    /// Send exactly this many requests (no warm-up, no time limit) instead of running for
    /// --duration; for cost measurements under a profiler.
    #[arg(long)]
    requests: Option<u64>,
    /// Print one `key=value` summary line instead of the human-readable report.
    #[arg(long)]
    summary: bool,
}

/// What one connection measured.
#[derive(Default)]
struct Tally {
    ok: u64,
    samples: Vec<u64>,
    by_status: BTreeMap<u16, u64>,
    failures: BTreeMap<String, u64>,
}

impl Tally {
    fn fail(&mut self, kind: &str) {
        *self.failures.entry(kind.to_string()).or_default() += 1;
    }
}

/// The parts of a request that every connection shares.
struct Target {
    addr: SocketAddr,
    uri: Uri,
    host: HeaderValue,
    content_type: HeaderValue,
    action: Option<HeaderValue>,
    body: Bytes,
    expect_status: u16,
    expect_body: Option<Vec<u8>>,
}

fn target(args: &Args) -> anyhow::Result<Target> {
    let uri: Uri = args.url.parse().context("--url is not a URL")?;
    if uri.scheme_str() != Some("http") {
        bail!("--url must be an http:// URL");
    }
    let authority = uri.authority().context("--url has no host")?.clone();
    let port = authority.port_u16().unwrap_or(80);
    let addr = (authority.host(), port)
        .to_socket_addrs()
        .context("cannot resolve the --url host")?
        .next()
        .context("the --url host has no address")?;
    let path: Uri = uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .parse()
        .context("bad --url path")?;
    let body = std::fs::read(&args.body)
        .with_context(|| format!("cannot read {}", args.body.display()))?;
    let action = args
        .action
        .as_ref()
        .map(|a| HeaderValue::from_str(&format!("\"{a}\"")))
        .transpose()
        .context("--action is not a valid header value")?;
    Ok(Target {
        addr,
        uri: path,
        host: HeaderValue::from_str(authority.as_str()).context("bad --url authority")?,
        content_type: HeaderValue::from_str(&args.content_type)
            .context("--content-type is not a valid header value")?,
        action,
        body: Bytes::from(body),
        expect_status: args.expect_status,
        expect_body: args.expect_body.as_ref().map(|s| s.as_bytes().to_vec()),
    })
}

fn request(t: &Target) -> Request<Full<Bytes>> {
    let mut req = Request::new(Full::new(t.body.clone()));
    *req.method_mut() = Method::POST;
    *req.uri_mut() = t.uri.clone();
    let h = req.headers_mut();
    h.insert(HOST, t.host.clone());
    h.insert(CONTENT_TYPE, t.content_type.clone());
    if let Some(a) = &t.action {
        h.insert("soapaction", a.clone());
    }
    req
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// One connection's closed loop until `end`; only responses that complete inside
/// `[measure_from, end)` are counted.
async fn connection(
    t: &Target,
    measure_from: Instant,
    end: Instant,
    tickets: Option<&AtomicU64>,
) -> Tally {
    let mut tally = Tally::default();
    'connect: while Instant::now() < end {
        let stream = match TcpStream::connect(t.addr).await {
            Ok(s) => s,
            Err(_) => {
                if Instant::now() >= measure_from {
                    tally.fail("connect");
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (mut sender, conn) = match http1::handshake(TokioIo::new(stream)).await {
            Ok(x) => x,
            Err(_) => {
                tally.fail("handshake");
                continue;
            }
        };
        let driver = tokio::spawn(conn);
        loop {
            let started = Instant::now();
            if started >= end {
                break 'connect;
            }
            // A count-limited run: each request takes a ticket first.
            if tickets.is_some_and(|t| {
                t.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                    .is_err()
            }) {
                break 'connect;
            }
            if sender.ready().await.is_err() {
                if started >= measure_from {
                    tally.fail("connection closed");
                }
                break;
            }
            let outcome = match sender.send_request(request(t)).await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    match resp.into_body().collect().await {
                        Ok(b) => Ok((status, b.to_bytes())),
                        Err(_) => Err("body read"),
                    }
                }
                Err(_) => Err("request"),
            };
            let done = Instant::now();
            let counted = done >= measure_from && done < end;
            match outcome {
                Ok((status, body)) if counted => {
                    if status != t.expect_status {
                        *tally.by_status.entry(status).or_default() += 1;
                    } else if t
                        .expect_body
                        .as_deref()
                        .is_some_and(|want| !contains(&body, want))
                    {
                        tally.fail("unexpected body");
                    } else {
                        tally.ok += 1;
                        tally.samples.push((done - started).as_micros() as u64);
                    }
                }
                Ok(_) => {}
                Err(kind) => {
                    if counted {
                        tally.fail(kind);
                    }
                    break;
                }
            }
        }
        driver.abort();
    }
    tally
}

async fn run(args: &Args) -> anyhow::Result<Report> {
    let t = Arc::new(target(args)?);
    let tickets = args.requests.map(|n| Arc::new(AtomicU64::new(n)));
    let start = Instant::now();
    let (measure_from, end) = match tickets {
        // Far enough to never be reached; the tickets end the run.
        Some(_) => (start, start + Duration::from_secs(365 * 24 * 3600)),
        None => (start + args.warmup, start + args.warmup + args.duration),
    };
    let mut tasks = Vec::with_capacity(args.connections);
    for _ in 0..args.connections {
        let t = t.clone();
        let tickets = tickets.clone();
        tasks.push(tokio::spawn(async move {
            connection(&t, measure_from, end, tickets.as_deref()).await
        }));
    }
    let mut report = Report {
        elapsed: args.duration,
        ..Report::default()
    };
    let mut samples = Vec::new();
    for task in tasks {
        let tally = task.await.context("a connection task failed")?;
        report.ok += tally.ok;
        samples.extend(tally.samples);
        for (s, n) in tally.by_status {
            *report.by_status.entry(s).or_default() += n;
        }
        for (k, n) in tally.failures {
            *report.failures.entry(k).or_default() += n;
        }
    }
    if tickets.is_some() {
        report.elapsed = start.elapsed();
    }
    report.latency = Latency::of(&mut samples);
    Ok(report)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.connections == 0 {
        bail!("--connections must be at least 1");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let report = runtime.block_on(run(&args))?;
    if args.summary {
        println!("{}", report.summary_line(args.connections));
    } else {
        match args.requests {
            Some(n) => println!(
                "{} connections, {n} requests: {}",
                args.connections, args.url
            ),
            None => println!(
                "{} connections, {:?} warm-up, {:?} measured: {}",
                args.connections, args.warmup, args.duration, args.url
            ),
        }
        print!("{report}");
    }
    Ok(())
}
