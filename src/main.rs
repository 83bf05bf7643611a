//! The `bpelgate` command: `serve` and `check`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use bpelgate::compiler::Severity;
use bpelgate::config::{self, Overrides};
use bpelgate::deploy::{BpelCompiler, BuildContext, DescriptorMode, build};

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
    },
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
        } => serve(
            config.as_deref(),
            &Overrides {
                http_port,
                port_offset,
                deploy_dir,
                data_dir,
                database_url,
            },
        ),
        Command::Check {
            pkg_dir,
            config,
            strict,
        } => check(&pkg_dir, config.as_deref(), strict),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("bpelgate: {e:#}");
            ExitCode::from(2)
        }
    }
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

fn check(dir: &Path, file: Option<&Path>, strict: bool) -> anyhow::Result<ExitCode> {
    if !dir.is_dir() {
        anyhow::bail!("{} is not a directory", dir.display());
    }
    let config = load_config(file, &Overrides::default())?;
    let mut ctx = BuildContext::from_config(&config);
    ctx.compiler.strict_expressions |= strict;
    let result = build(dir, &BpelCompiler, &ctx, DescriptorMode::IfPresent);
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
