//! The `bpelgate` command: `serve`, `check`, and the management client commands `deploy`,
//! `undeploy`, `processes`, `instances`, `events`, `retire` and `activate`, and `db init|migrate`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use bpelgate::compiler::Severity;
use bpelgate::config::{self, Overrides};
use bpelgate::deploy::archive::{self, ArchiveLimits};
use bpelgate::deploy::{BuildContext, DescriptorMode, build};
use bpelgate::mgmt::client::{Client, DEFAULT_SERVER};
use serde_json::Value;

// The request path allocates many small DOM nodes; mimalloc's thread-local free lists make that
// much cheaper than glibc malloc (decision 007). Only the binary sets it: library users choose
// their own allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The configuration file used when `--config` is not given and it exists.
const DEFAULT_CONFIG: &str = "conf/bpelgate.toml";

#[derive(Parser, Debug)]
#[command(
    name = "bpelgate",
    version,
    about = "WS-BPEL 2.0 process server (Apache ODE / WSO2 BPS compatible)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server (hot-deploys every package of the deploy dir).
    Serve {
        /// Configuration file [default: conf/bpelgate.toml when it exists, else built-in defaults].
        #[arg(long)]
        config: Option<PathBuf>,
        /// HTTP port (before the offset).
        #[arg(long)]
        http_port: Option<u16>,
        /// Added to every port.
        #[arg(long)]
        port_offset: Option<u16>,
        /// Hot deployment directory.
        #[arg(long)]
        deploy_dir: Option<PathBuf>,
        /// Data directory.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Database URL (sqlite:PATH or postgres://...).
        #[arg(long)]
        database_url: Option<String>,
        /// Apache ODE compatibility: accept, with warnings, processes that break the static
        /// analysis rules ODE does not enforce (like `[compiler] ode-compat = true`).
        #[arg(long)]
        ode_compat: bool,
    },
    /// Compile a package without a server; prints every problem as file:line:col: code: message.
    Check {
        /// The package directory.
        pkg_dir: PathBuf,
        /// Configuration file (for conf:/ EPR references, limits and compiler options).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Report XPath syntax errors and undeclared prefixes in expressions as errors, not
        /// warnings (like `[compiler] strict-expressions = true`).
        #[arg(long)]
        strict: bool,
        /// Apache ODE compatibility: report the static analysis rules ODE does not enforce as
        /// warnings (like `[compiler] ode-compat = true`).
        #[arg(long)]
        ode_compat: bool,
    },
    /// Deploy a package to a running server: a package directory (zipped on the fly) or a zip.
    Deploy {
        /// The package directory or zip file.
        package: PathBuf,
        /// Package name [default: the directory's name, or the zip's single top-level directory].
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Undeploy a package from a running server (its directory is deleted).
    Undeploy {
        /// The package name.
        name: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List the process versions deployed on a running server.
    Processes {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List instances on a running server, newest first.
    Instances {
        /// ODE instance filter, e.g. "status=active pid={urn:x}Order-3 started>=-1d".
        #[arg(default_value = "")]
        filter: String,
        /// Most instances to list.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List recent execution events on a running server.
    Events {
        /// ODE event filter, e.g. "type=ProcessCompletion|ScopeFault timestamp>=-1h".
        #[arg(default_value = "")]
        filter: String,
        /// Most events to list.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Retire a process version: it creates no new instances, its running ones finish.
    Retire {
        /// A pid `{ns}Name-VERSION`, or `{ns}Name` for every active version of the process.
        process: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Activate a process version: it takes its services over from the version that held them.
    Activate {
        /// A pid `{ns}Name-VERSION`, or `{ns}Name` for the newest version of the process.
        process: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Create or upgrade the database schema of the configured database.
    Db {
        #[command(subcommand)]
        action: DbAction,
        /// Configuration file [default: conf/bpelgate.toml when it exists].
        #[arg(long, global = true)]
        config: Option<PathBuf>,
        /// Data directory (where the default SQLite file lives).
        #[arg(long, global = true)]
        data_dir: Option<PathBuf>,
        /// Database URL (sqlite:PATH or postgres://...).
        #[arg(long, global = true)]
        database_url: Option<String>,
    },
}

#[derive(Subcommand, Debug, Clone, Copy)]
enum DbAction {
    /// Create the schema (a no-op on an up-to-date database).
    Init,
    /// Apply pending schema migrations.
    Migrate,
}

/// Where the management client commands send their requests.
#[derive(clap::Args, Debug)]
struct ServerArgs {
    /// The server's base URL.
    #[arg(long, default_value = DEFAULT_SERVER)]
    server: String,
    /// Bearer token for the management API.
    #[arg(long, env = "BPELGATE_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let result = match cli.command {
        Command::Serve {
            config,
            http_port,
            port_offset,
            deploy_dir,
            data_dir,
            database_url,
            ode_compat,
        } => serve(
            config.as_deref(),
            &Overrides {
                http_port,
                port_offset,
                deploy_dir,
                data_dir,
                database_url,
                ode_compat: ode_compat.then_some(true),
            },
        ),
        Command::Check {
            pkg_dir,
            config,
            strict,
            ode_compat,
        } => check(&pkg_dir, config.as_deref(), strict, ode_compat),
        Command::Deploy {
            package,
            name,
            server,
        } => client_command(&server, |c| deploy(c, &package, name.as_deref())),
        Command::Undeploy { name, server } => client_command(&server, |c| undeploy(c, &name)),
        Command::Processes { server } => client_command(&server, processes),
        Command::Instances {
            filter,
            limit,
            server,
        } => client_command(&server, |c| instances(c, &filter, limit)),
        Command::Events {
            filter,
            limit,
            server,
        } => client_command(&server, |c| events(c, &filter, limit)),
        Command::Db {
            action,
            config,
            data_dir,
            database_url,
        } => db(
            action,
            config.as_deref(),
            &Overrides {
                data_dir,
                database_url,
                ..Overrides::default()
            },
        ),
        Command::Retire { process, server } => {
            client_command(&server, |c| set_state(c, &process, "retire"))
        }
        Command::Activate { process, server } => {
            client_command(&server, |c| set_state(c, &process, "activate"))
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("bpelgate: {e:#}");
            if is_database_error(&e) {
                ExitCode::from(EXIT_DATABASE)
            } else {
                ExitCode::from(2)
            }
        }
    }
}

/// Exit status when the database cannot be opened (unreachable, bad URL, schema problem).
const EXIT_DATABASE: u8 = 3;

fn is_database_error(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<bpelgate::store::StoreError>().is_some()
            || matches!(
                c.downcast_ref::<bpelgate::server::Error>(),
                Some(bpelgate::server::Error::Database { .. })
            )
    })
}

fn db(action: DbAction, file: Option<&Path>, overrides: &Overrides) -> anyhow::Result<ExitCode> {
    let config = load_config(file, overrides)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let verb = match action {
            DbAction::Init => "initialised",
            DbAction::Migrate => "migrated",
        };
        // Opened without migrating first, so the message says what this command changed.
        match bpelgate::store::open::open(&config.database, &config.server.data_dir, false).await {
            Ok(store) => {
                let report = store.migrate().await?;
                let what = if report.from == report.to {
                    format!("already at schema version {}", report.to)
                } else {
                    format!("{verb}: schema version {} (was {})", report.to, report.from)
                };
                println!("{} database {what}", store.backend());
            }
            Err(bpelgate::store::StoreError::Schema(before)) => {
                let store =
                    bpelgate::store::open::open(&config.database, &config.server.data_dir, true)
                        .await?;
                let report = store.migrate().await?;
                println!(
                    "{} database {verb}: schema version {} ({before})",
                    store.backend(),
                    report.to
                );
            }
            Err(e) => return Err(anyhow::Error::new(e)),
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn load_config(file: Option<&Path>, overrides: &Overrides) -> anyhow::Result<config::Config> {
    let default = Path::new(DEFAULT_CONFIG);
    let file = file.or_else(|| default.is_file().then_some(default));
    Ok(config::load(file, std::env::vars(), overrides)?)
}

fn serve(file: Option<&Path>, overrides: &Overrides) -> anyhow::Result<ExitCode> {
    let config = load_config(file, overrides)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(bpelgate::server::run(config))?;
    Ok(ExitCode::SUCCESS)
}

fn check(
    dir: &Path,
    file: Option<&Path>,
    strict: bool,
    ode_compat: bool,
) -> anyhow::Result<ExitCode> {
    if !dir.is_dir() {
        anyhow::bail!("{} is not a directory", dir.display());
    }
    let config = load_config(file, &Overrides::default())?;
    let mut ctx = BuildContext::from_config(&config);
    ctx.compiler.strict_expressions |= strict;
    ctx.compiler.ode_compat |= ode_compat;
    let result = build(
        dir,
        &bpelgate::deploy::BpelCompiler,
        &ctx,
        DescriptorMode::IfPresent,
    );
    for d in &result.diagnostics {
        println!("{d}");
    }
    let errors = result
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = result.diagnostics.len() - errors;
    println!(
        "{}: {errors} error(s), {warnings} warning(s)",
        dir.display()
    );
    Ok(if errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Runs one management client command on a small single-threaded runtime. Failures the server
/// reports (and connection problems) print as `bpelgate: message` and exit 1.
fn client_command<F, Fut>(args: &ServerArgs, run: F) -> anyhow::Result<ExitCode>
where
    F: FnOnce(Client) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<ExitCode>>,
{
    let client = Client::new(&args.server, args.token.clone())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match runtime.block_on(run(client)) {
        Ok(code) => Ok(code),
        Err(e) => {
            eprintln!("bpelgate: {e:#}");
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn deploy(client: Client, package: &Path, name: Option<&str>) -> anyhow::Result<ExitCode> {
    let limits = ArchiveLimits::default();
    let (zip, name) = if package.is_dir() {
        let dir_name = std::fs::canonicalize(package)
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .context("cannot tell the package name from the directory; pass --name")?;
        let name = name.map_or(dir_name, str::to_string);
        let zip = archive::zip_dir(package, &name, &limits)
            .with_context(|| format!("cannot zip {}", package.display()))?;
        (zip, Some(name))
    } else {
        let zip =
            std::fs::read(package).with_context(|| format!("cannot read {}", package.display()))?;
        (zip, name.map(str::to_string))
    };
    let info = client.deploy_zip(zip, name.as_deref()).await?;
    let name = info["name"].as_str().unwrap_or("?");
    let ok = info["state"].as_str() == Some("deployed");
    if ok {
        println!("Package {name} deployed.");
        print_package_processes(&info);
    } else {
        println!("Package {name} failed to deploy:");
        for e in info["errors"].as_array().into_iter().flatten() {
            println!("  {}", e.as_str().unwrap_or_default());
        }
    }
    let warnings = info["warnings"].as_array().map_or(&[][..], Vec::as_slice);
    if !warnings.is_empty() {
        println!("Warnings:");
        for w in warnings {
            println!("  {}", w.as_str().unwrap_or_default());
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_package_processes(info: &Value) {
    for p in info["processes"].as_array().into_iter().flatten() {
        println!(
            "  {}  version {}  {}",
            p["qname"].as_str().unwrap_or("?"),
            p["version"],
            p["state"].as_str().unwrap_or("?")
        );
    }
}

async fn undeploy(client: Client, name: &str) -> anyhow::Result<ExitCode> {
    client.undeploy(name).await?;
    println!("Package {name} undeployed.");
    Ok(ExitCode::SUCCESS)
}

async fn set_state(client: Client, process: &str, action: &str) -> anyhow::Result<ExitCode> {
    let versions = client.set_process_state(process, action).await?;
    for p in versions.as_array().into_iter().flatten() {
        println!(
            "{}  {}  {}",
            p["pid"].as_str().unwrap_or("?"),
            p["state"].as_str().unwrap_or("?"),
            p["package"].as_str().unwrap_or("?")
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn instances(client: Client, filter: &str, limit: usize) -> anyhow::Result<ExitCode> {
    let list = client.instances(filter, limit).await?;
    print_list(
        &list,
        &["ID", "STATUS", "PID", "FAULT"],
        "No instances match.",
        |i| {
            vec![
                i["id"].to_string(),
                i["status"].as_str().unwrap_or("?").to_string(),
                i["pid"].as_str().unwrap_or("?").to_string(),
                i["fault"].as_str().unwrap_or("").to_string(),
            ]
        },
    );
    Ok(ExitCode::SUCCESS)
}

async fn events(client: Client, filter: &str, limit: usize) -> anyhow::Result<ExitCode> {
    let list = client.events(filter, limit).await?;
    print_list(
        &list,
        &["TIME", "TYPE", "INSTANCE", "PROCESS"],
        "No events match.",
        |e| {
            let s = |k: &str| match &e[k] {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                v => v.to_string(),
            };
            vec![
                e["timestamp_ms"].as_i64().map_or_else(String::new, utc),
                s("type"),
                s("instance_id"),
                s("process_id"),
            ]
        },
    );
    Ok(ExitCode::SUCCESS)
}

/// Prints the JSON array `list` as a table with one `row` per entry, or `empty` when it has
/// none.
fn print_list(list: &Value, header: &[&str], empty: &str, row: impl Fn(&Value) -> Vec<String>) {
    let rows: Vec<Vec<String>> = list.as_array().into_iter().flatten().map(row).collect();
    if rows.is_empty() {
        println!("{empty}");
    } else {
        print_table(header, &rows);
    }
}

/// `ms` since the Unix epoch as `YYYY-MM-DDThh:mm:ss.sssZ`.
fn utc(ms: i64) -> String {
    let (days, rem) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (y, m, d) = bpelgate::xpath::datetime::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000
    )
}

/// Prints `rows` under `header`, every column but the last padded to its widest cell.
fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    let all = || std::iter::once(&header).chain(rows.iter());
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            all()
                .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    for r in all() {
        let mut line = String::new();
        for (i, cell) in r.iter().enumerate() {
            if i + 1 == r.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        println!("{}", line.trim_end());
    }
}

async fn processes(client: Client) -> anyhow::Result<ExitCode> {
    let list = client.processes().await?;
    print_list(
        &list,
        &["PID", "STATE", "PACKAGE"],
        "No processes are deployed.",
        |p| {
            let s = |k: &str| p[k].as_str().unwrap_or("?").to_string();
            vec![s("pid"), s("state"), s("package")]
        },
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::utc;

    #[test]
    fn utc_formats_epoch_milliseconds() {
        assert_eq!(utc(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(utc(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(utc(1_796_513_623_677), "2026-12-05T23:33:43.677Z");
    }
}
