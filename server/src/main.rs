//! The `palabre` command: parse options, set up logging, serve or export.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// Palabre — realtime collaborative boards for participatory workshops.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the boards over HTTP and WebSocket.
    Serve(Box<palabre::Config>),
    /// Print a workshop's report from the data directory (works with the server stopped).
    Export {
        /// The workshop id (the part of its links after /w/).
        workshop: String,
        /// Report format.
        #[arg(long, value_enum, default_value = "md")]
        format: palabre::ExportFormat,
        /// Directory holding palabre.db.
        #[arg(long, env = "PALABRE_DATA_DIR", default_value = "./data")]
        data_dir: std::path::PathBuf,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("PALABRE_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("palabre: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    // yrs recurses over nested types (deleting or encoding a map of maps): nesting built by a
    // hostile client overflows tokio's default 2 MiB stacks (about 10 000 levels) and aborts the
    // process. Rooms refuse changes nested deeper than 64 types, but one message can still add a
    // chain of ~100 000 levels; stacks are reserved, not committed, so 512 MiB per thread costs
    // nothing until used and holds millions of levels (ARCHITECTURE.md, threat model).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(512 << 20)
        .max_blocking_threads(64)
        .build()
        .context("starting the async runtime")?;
    match cli.command {
        Command::Serve(config) => runtime.block_on(serve(*config)),
        Command::Export {
            workshop,
            format,
            data_dir,
        } => {
            let report = runtime.block_on(palabre::export_stored(&data_dir, &workshop, format))?;
            print!("{report}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn serve(config: palabre::Config) -> anyhow::Result<ExitCode> {
    raise_fd_limit();
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("cannot listen on {}", config.bind))?;
    let data_dir = config.data_dir.display().to_string();
    palabre::run_when_ready(listener, config, shutdown_signal(), |addr| {
        // Tests and scripts read this line to find the port when binding to :0; it is printed
        // only once the store is open and connections are accepted.
        println!("listening on http://{addr}");
        tracing::info!(%addr, %data_dir, "Palabre is serving");
    })
    .await?;
    tracing::info!("stopped cleanly");
    Ok(ExitCode::SUCCESS)
}

/// Raises the soft open-files limit to the hard one: each connection is a descriptor, and the
/// usual default of 1 024 is exhausted by a few hundred half-open requests.
fn raise_fd_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => tracing::info!(open_files = n, "open-files limit"),
        Err(e) => tracing::warn!(error = %e, "cannot raise the open-files limit"),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
