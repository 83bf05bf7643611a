//! Benchmarks and load generators for bpelgate.
//!
//! The `soapload` binary drives a SOAP endpoint over keep-alive HTTP/1.1 connections; this
//! library holds the parts of it that are worth testing on their own: duration parsing and the
//! latency summary.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// A duration as written on the command line: `10s`, `500ms`, `2m`, or plain seconds (`10`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, unit) = match t.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a duration (e.g. 10s, 500ms, 2m)"))?;
    let secs = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("'{text}': unknown unit '{unit}' (use ms, s or m)")),
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("'{text}' is not a duration"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Latency percentiles over a run, in microseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Latency {
    /// Number of samples.
    pub count: usize,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Slowest request.
    pub max: u64,
}

impl Latency {
    /// The summary of `samples` (microseconds; sorted in place). `None` without samples.
    pub fn of(samples: &mut [u64]) -> Option<Latency> {
        if samples.is_empty() {
            return None;
        }
        samples.sort_unstable();
        Some(Latency {
            count: samples.len(),
            p50: percentile(samples, 50.0),
            p90: percentile(samples, 90.0),
            p99: percentile(samples, 99.0),
            max: samples[samples.len() - 1],
        })
    }
}

/// Nearest-rank percentile of sorted, non-empty `sorted`.
fn percentile(sorted: &[u64], p: f64) -> u64 {
    // Nearest rank: the smallest value with at least p% of the samples at or below it.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Microseconds as milliseconds with three decimals.
pub struct Millis(pub u64);

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}", self.0 / 1000, self.0 % 1000)
    }
}

/// What a run measured.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Measured wall time (warm-up excluded).
    pub elapsed: Duration,
    /// Responses with the expected status, in the measured window.
    pub ok: u64,
    /// Responses with another status, by status code.
    pub by_status: BTreeMap<u16, u64>,
    /// Transport failures (connect, reset) and unexpected bodies, by kind.
    pub failures: BTreeMap<String, u64>,
    /// Latency of the successful responses.
    pub latency: Option<Latency>,
}

impl Report {
    /// Successful responses per second.
    pub fn rate(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 { self.ok as f64 / s } else { 0.0 }
    }

    /// Responses that were not successful (bad status or transport failure).
    pub fn errors(&self) -> u64 {
        self.by_status.values().sum::<u64>() + self.failures.values().sum::<u64>()
    }

    /// One machine-readable line: `key=value` pairs (for scripts).
    pub fn summary_line(&self, connections: usize) -> String {
        let l = self.latency.clone().unwrap_or(Latency {
            count: 0,
            p50: 0,
            p90: 0,
            p99: 0,
            max: 0,
        });
        format!(
            "connections={connections} rps={:.0} ok={} errors={} p50_ms={} p90_ms={} p99_ms={} max_ms={}",
            self.rate(),
            self.ok,
            self.errors(),
            Millis(l.p50),
            Millis(l.p90),
            Millis(l.p99),
            Millis(l.max)
        )
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "  {} ok in {:.2} s: {:.0} req/s",
            self.ok,
            self.elapsed.as_secs_f64(),
            self.rate()
        )?;
        if let Some(l) = &self.latency {
            writeln!(
                f,
                "  latency ms: p50 {}  p90 {}  p99 {}  max {}",
                Millis(l.p50),
                Millis(l.p90),
                Millis(l.p99),
                Millis(l.max)
            )?;
        }
        for (status, n) in &self.by_status {
            writeln!(f, "  status {status}: {n}")?;
        }
        for (kind, n) in &self.failures {
            writeln!(f, "  error {kind}: {n}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("10h").is_err());
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn nearest_rank_percentiles() {
        let mut s: Vec<u64> = (1..=100).rev().collect();
        let l = Latency::of(&mut s).unwrap();
        assert_eq!(
            (l.count, l.p50, l.p90, l.p99, l.max),
            (100, 50, 90, 99, 100)
        );
        let mut one = vec![7];
        let l = Latency::of(&mut one).unwrap();
        assert_eq!((l.p50, l.p99, l.max), (7, 7, 7));
        assert_eq!(Latency::of(&mut []), None);
    }

    #[test]
    fn report_rate_and_errors() {
        let mut r = Report {
            elapsed: Duration::from_secs(2),
            ok: 1000,
            ..Report::default()
        };
        r.by_status.insert(500, 3);
        r.failures.insert("reset".into(), 2);
        assert_eq!(r.rate(), 500.0);
        assert_eq!(r.errors(), 5);
        assert!(
            r.summary_line(16)
                .starts_with("connections=16 rps=500 ok=1000 errors=5")
        );
        assert_eq!(Millis(1234).to_string(), "1.234");
    }
}
