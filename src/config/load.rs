//! Layering: defaults < TOML file < `BPELGATE__SECTION__KEY` environment < command-line flags.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use toml::{Table, Value};

use super::validate::validate;
use super::{
    CompilerSection, Config, DatabaseSection, DehydrationSection, Error, EventsSection,
    HttpClientSection, LimitsSection, ManagementSection, ServerSection,
};

/// Prefix of configuration environment variables: `BPELGATE__SERVER__HTTP_PORT=9000`.
pub const ENV_PREFIX: &str = "BPELGATE__";

const SECTIONS: &[&str] = &[
    "server",
    "management",
    "database",
    "http-client",
    "limits",
    "events",
    "compiler",
    "dehydration",
    "cleanup-schedule",
];

/// Values given on the command line; `None` leaves the lower layers alone.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--http-port`.
    pub http_port: Option<u16>,
    /// `--port-offset`.
    pub port_offset: Option<u16>,
    /// `--deploy-dir`.
    pub deploy_dir: Option<PathBuf>,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--database-url`.
    pub database_url: Option<String>,
    /// `--ode-compat`: `Some(true)` sets `[compiler] ode-compat`.
    pub ode_compat: Option<bool>,
}

/// Builds the configuration from every layer and validates it; all problems are reported at once.
///
/// `file` is read when given (a missing file is an error); `env` is usually `std::env::vars()`.
pub fn load(
    file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
    overrides: &Overrides,
) -> Result<Config, Error> {
    let file_name = file.map(|f| f.display().to_string());
    let mut problems = Vec::new();
    let mut table = match file {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => parse_table(&text, &mut problems),
            Err(e) => {
                return Err(Error {
                    file: file_name,
                    problems: vec![format!("cannot read the file: {e}")],
                });
            }
        },
        None => Table::new(),
    };
    apply_env(&mut table, env, &mut problems);
    apply_overrides(&mut table, overrides);
    let config = build(table, &mut problems);
    if problems.is_empty() {
        validate(&config, &mut problems);
    }
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(Error {
            file: file_name,
            problems,
        })
    }
}

/// Builds the configuration from TOML text alone (no environment, no flags) and validates it.
pub fn load_str(text: &str) -> Result<Config, Error> {
    let mut problems = Vec::new();
    let table = parse_table(text, &mut problems);
    let config = build(table, &mut problems);
    if problems.is_empty() {
        validate(&config, &mut problems);
    }
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(Error {
            file: None,
            problems,
        })
    }
}

fn parse_table(text: &str, problems: &mut Vec<String>) -> Table {
    match text.parse::<Table>() {
        Ok(t) => t,
        Err(e) => {
            problems.push(e.to_string().trim_end().to_string());
            Table::new()
        }
    }
}

fn apply_env(
    table: &mut Table,
    env: impl IntoIterator<Item = (String, String)>,
    problems: &mut Vec<String>,
) {
    let mut vars: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with(ENV_PREFIX))
        .collect();
    // Deterministic order, so problems are reported the same way every time.
    vars.sort();
    for (var, raw) in vars {
        let rest = &var[ENV_PREFIX.len()..];
        let parts: Vec<String> = rest
            .split("__")
            .map(|p| p.to_ascii_lowercase().replace('_', "-"))
            .collect();
        let [section, key] = parts.as_slice() else {
            problems.push(format!(
                "environment variable {var}: expected {ENV_PREFIX}SECTION__KEY"
            ));
            continue;
        };
        if !SECTIONS.contains(&section.as_str()) {
            problems.push(format!(
                "environment variable {var}: unknown section '{section}'; expected one of {}",
                SECTIONS.join(", ")
            ));
            continue;
        }
        let value = typed_env_value(section, key, &raw);
        let entry = table
            .entry(section.clone())
            .or_insert_with(|| Value::Table(Table::new()));
        match entry {
            Value::Table(t) => {
                t.insert(key.clone(), value);
            }
            _ => problems.push(format!("[{section}] must be a table")),
        }
    }
}

/// Environment values are strings; numbers and booleans are recognised when the key takes them.
fn typed_env_value(section: &str, key: &str, raw: &str) -> Value {
    let typed = if let Ok(i) = raw.trim().parse::<i64>() {
        Some(Value::Integer(i))
    } else if let Ok(b) = raw.trim().parse::<bool>() {
        Some(Value::Boolean(b))
    } else {
        None
    };
    match typed {
        Some(v) if key_accepts(section, key, &v) => v,
        _ => Value::String(raw.to_string()),
    }
}

fn key_accepts(section: &str, key: &str, value: &Value) -> bool {
    let mut one = Table::new();
    one.insert(key.to_string(), value.clone());
    let one = Value::Table(one);
    match section {
        "server" => one.try_into::<ServerSection>().is_ok(),
        "management" => one.try_into::<ManagementSection>().is_ok(),
        "database" => one.try_into::<DatabaseSection>().is_ok(),
        "http-client" => one.try_into::<HttpClientSection>().is_ok(),
        "limits" => one.try_into::<LimitsSection>().is_ok(),
        "events" => one.try_into::<EventsSection>().is_ok(),
        "compiler" => one.try_into::<CompilerSection>().is_ok(),
        "dehydration" => one.try_into::<DehydrationSection>().is_ok(),
        _ => false,
    }
}

fn apply_overrides(table: &mut Table, o: &Overrides) {
    let mut set = |section: &str, key: &str, value: Value| {
        let entry = table
            .entry(section.to_string())
            .or_insert_with(|| Value::Table(Table::new()));
        if !entry.is_table() {
            *entry = Value::Table(Table::new());
        }
        if let Value::Table(t) = entry {
            t.insert(key.to_string(), value);
        }
    };
    if let Some(p) = o.http_port {
        set("server", "http-port", Value::Integer(i64::from(p)));
    }
    if let Some(p) = o.port_offset {
        set("server", "port-offset", Value::Integer(i64::from(p)));
    }
    if let Some(d) = &o.deploy_dir {
        set(
            "server",
            "deploy-dir",
            Value::String(d.display().to_string()),
        );
    }
    if let Some(d) = &o.data_dir {
        set("server", "data-dir", Value::String(d.display().to_string()));
    }
    if let Some(u) = &o.database_url {
        set("database", "url", Value::String(u.clone()));
    }
    if let Some(b) = o.ode_compat {
        set("compiler", "ode-compat", Value::Boolean(b));
    }
}

fn build(table: Table, problems: &mut Vec<String>) -> Config {
    // An unset or empty deploy-dir follows the data dir, wherever that was set.
    let deploy_dir_set = table
        .get("server")
        .and_then(|s| s.get("deploy-dir"))
        .is_some_and(|d| d.as_str() != Some(""));
    let mut config = Config::default();
    for (name, value) in table {
        match name.as_str() {
            "server" => config.server = section(&name, value, problems),
            "management" => config.management = section(&name, value, problems),
            "database" => config.database = section(&name, value, problems),
            "http-client" => config.http_client = section(&name, value, problems),
            "limits" => config.limits = section(&name, value, problems),
            "events" => config.events = section(&name, value, problems),
            "compiler" => config.compiler = section(&name, value, problems),
            "dehydration" => config.dehydration = section(&name, value, problems),
            "cleanup-schedule" => config.cleanup_schedule = schedules(value, problems),
            other => problems.push(format!(
                "unknown section [{other}]; expected one of {}",
                SECTIONS.join(", ")
            )),
        }
    }
    if !deploy_dir_set {
        config.server.deploy_dir = config.server.default_deploy_dir();
    }
    config
}

/// Deserializes one section; on failure, retries key by key so that every bad key is reported.
/// `[[cleanup-schedule]]` entries (not settable from the environment: they are a list).
fn schedules(value: Value, problems: &mut Vec<String>) -> Vec<super::CleanupSchedule> {
    let Value::Array(entries) = value else {
        problems.push("cleanup-schedule: write each entry as [[cleanup-schedule]]".to_string());
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, e) in entries.into_iter().enumerate() {
        match e.try_into::<super::CleanupSchedule>() {
            Ok(s) => out.push(s),
            Err(err) => problems.push(format!(
                "cleanup-schedule[{i}]: {}",
                err.to_string().trim_end()
            )),
        }
    }
    out
}

fn section<T: DeserializeOwned + Default>(
    name: &str,
    value: Value,
    problems: &mut Vec<String>,
) -> T {
    let Value::Table(table) = value else {
        problems.push(format!("[{name}] must be a table"));
        return T::default();
    };
    match Value::Table(table.clone()).try_into::<T>() {
        Ok(t) => t,
        Err(_) => {
            for (key, v) in table {
                let mut one = Table::new();
                one.insert(key.clone(), v);
                if let Err(e) = Value::Table(one).try_into::<T>() {
                    let msg = e.to_string();
                    problems.push(format!("{name}.{key}: {}", msg.trim_end()));
                }
            }
            T::default()
        }
    }
}
