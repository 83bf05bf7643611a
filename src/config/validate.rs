//! Checks that go beyond types: ranges and combinations.

use super::Config;

/// Appends one line per problem.
pub(super) fn validate(c: &Config, problems: &mut Vec<String>) {
    for (i, s) in c.cleanup_schedule.iter().enumerate() {
        let at = format!("cleanup-schedule[{i}]");
        if let Err(e) = crate::scheduler::cron::Cron::parse(&s.when) {
            problems.push(format!("{at}.when: {e}"));
        }
        if s.filters.is_empty() {
            problems.push(format!(
                "{at}.filters: give at least one ODE instance filter, e.g. \"status=completed\""
            ));
        }
        for f in &s.filters {
            if let Err(e) = crate::store::filter::parse(f, 0) {
                problems.push(format!("{at}.filters: {e}"));
            }
        }
        for cat in &s.categories {
            if !matches!(
                cat.as_str(),
                "instance" | "events" | "variables" | "messages" | "correlations" | "all"
            ) {
                problems.push(format!(
                    "{at}.categories: '{cat}' is not one of instance, events, variables, messages, correlations, all"
                ));
            }
        }
    }
    if c.server.effective_http_port().is_none() {
        problems.push(format!(
            "server.port-offset: http-port {} + port-offset {} is beyond 65535",
            c.server.http_port, c.server.port_offset
        ));
    }
    if c.server.scan_interval_ms < 10 {
        problems.push("server.scan-interval-ms: must be at least 10".to_string());
    }
    if c.server.mex_timeout_ms == 0 {
        problems.push("server.mex-timeout-ms: must be greater than 0".to_string());
    }
    if c.server.deploy_dir.as_os_str().is_empty() {
        problems.push("server.deploy-dir: must not be empty".to_string());
    }
    if let Some(t) = &c.management.token
        && t.trim().is_empty()
    {
        problems.push(
            "management.token: must not be empty (remove the key to disable token checks)"
                .to_string(),
        );
    }
    if let Some(url) = &c.database.url
        && !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
    {
        problems.push(format!(
            "database.url: '{url}' is neither sqlite:PATH nor postgres://..."
        ));
    }
    let hc = &c.http_client;
    if hc.max_connections_per_host == 0 {
        problems.push("http-client.max-connections-per-host: must be at least 1".to_string());
    }
    if hc.max_total_connections < hc.max_connections_per_host {
        problems.push(format!(
            "http-client.max-total-connections: {} is less than max-connections-per-host {}",
            hc.max_total_connections, hc.max_connections_per_host
        ));
    }
    if hc.connect_timeout_ms == 0 || hc.request_timeout_ms == 0 {
        problems.push("http-client: timeouts must be greater than 0".to_string());
    }
    if c.limits.max_body_bytes < 1024 {
        problems.push("limits.max-body-bytes: must be at least 1024".to_string());
    }
    if c.limits.max_xml_depth == 0 {
        problems.push("limits.max-xml-depth: must be at least 1".to_string());
    }
    if c.limits.max_package_bytes == 0 || c.limits.max_package_files == 0 {
        problems.push(
            "limits: max-package-bytes and max-package-files must be greater than 0".to_string(),
        );
    }
    if c.limits.header_read_timeout_ms == 0 {
        problems.push("limits.header-read-timeout-ms: must be greater than 0".to_string());
    }
}
