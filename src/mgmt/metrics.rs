//! `GET /metrics`: Prometheus text exposition format (version 0.0.4) with gauges of what is
//! deployed. Counts only, no package or process names, so it is served without the management
//! token like any scrape endpoint.

use std::fmt::Write as _;

use bpelgate_transports::http::{HttpRequest, HttpResponse};
use hyper::{Method, StatusCode};

use crate::deploy::{PackageState, ProcessState, Registry};

/// Content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Gauge: packages by deployment state (`state` = `deployed` | `failed`).
pub const PACKAGES: &str = "bpelgate_packages";
/// Gauge: process versions by state (`state` = `active` | `retired` | `disabled`).
pub const PROCESSES: &str = "bpelgate_processes";
/// Gauge: warnings of the last build of every package.
pub const PACKAGE_WARNINGS: &str = "bpelgate_package_warnings";
/// Gauge, always 1: the running version in the `version` label.
pub const BUILD_INFO: &str = "bpelgate_build_info";

/// Answers `GET /metrics` (and `HEAD`).
pub fn handle(registry: &Registry, req: &HttpRequest) -> HttpResponse {
    if req.method != Method::GET && req.method != Method::HEAD {
        return HttpResponse::text(StatusCode::METHOD_NOT_ALLOWED, "use GET\n");
    }
    HttpResponse::new(StatusCode::OK, CONTENT_TYPE, render(registry))
}

/// The exposition text for the registry's current state.
pub fn render(registry: &Registry) -> String {
    let packages = registry.packages();
    let count_pkgs = |s: PackageState| packages.iter().filter(|p| p.state == s).count();
    let processes = registry.processes();
    let count_procs = |s: ProcessState| processes.iter().filter(|p| p.state == s).count();
    let warnings: usize = packages.iter().map(|p| p.warnings.len()).sum();

    let mut out = String::new();
    gauge(
        &mut out,
        PACKAGES,
        "Deployment packages by state.",
        &[
            ("state=\"deployed\"", count_pkgs(PackageState::Deployed)),
            ("state=\"failed\"", count_pkgs(PackageState::Failed)),
        ],
    );
    gauge(
        &mut out,
        PROCESSES,
        "Deployed process versions by state.",
        &[
            ("state=\"active\"", count_procs(ProcessState::Active)),
            ("state=\"retired\"", count_procs(ProcessState::Retired)),
            ("state=\"disabled\"", count_procs(ProcessState::Disabled)),
        ],
    );
    gauge(
        &mut out,
        PACKAGE_WARNINGS,
        "Compiler and deployment warnings of the deployed packages.",
        &[("", warnings)],
    );
    let version = format!("version=\"{}\"", env!("CARGO_PKG_VERSION"));
    gauge(
        &mut out,
        BUILD_INFO,
        "The running bpelgate version.",
        &[(version.as_str(), 1)],
    );
    out
}

fn gauge(out: &mut String, name: &str, help: &str, samples: &[(&str, usize)]) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
    for (labels, value) in samples {
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {value}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_registry_renders_zero_gauges() {
        let text = render(&Registry::default());
        assert!(text.contains("# TYPE bpelgate_packages gauge\n"), "{text}");
        assert!(
            text.contains("bpelgate_packages{state=\"deployed\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("bpelgate_processes{state=\"active\"} 0\n"),
            "{text}"
        );
        assert!(text.contains("bpelgate_package_warnings 0\n"), "{text}");
        assert!(text.contains("bpelgate_build_info{version=\""), "{text}");
        // Every sample line is `name[{labels}] value`.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (_, value) = line.rsplit_once(' ').unwrap();
            assert!(value.parse::<u64>().is_ok(), "{line}");
        }
    }
}
