//! `palabre-bench`: command line of the load generator (w1–w4), the bare relay and the report.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};

use palabre_bench::client::{Behaviour, Mode};
use palabre_bench::procstat::Proc;
use palabre_bench::report::{self, ReportPaths};
use palabre_bench::workload::{self, w1, w2, w3, w4, Ctx, Target};

/// Load generator speaking y-websocket with real yrs docs, a bare relay, and the report.
#[derive(Parser)]
#[command(name = "palabre-bench", version)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// W1 plenary: one doc, many clients, some writing a note per second.
    W1 {
        #[command(flatten)]
        common: Common,
        /// Connected clients [quick 300, full 1000].
        #[arg(long)]
        clients: Option<usize>,
        /// Clients writing one note per second [quick 30, full 100].
        #[arg(long)]
        writers: Option<usize>,
        /// Seconds of writing [quick 10, full 30].
        #[arg(long)]
        seconds: Option<u64>,
    },
    /// W2 many rooms: docs × clients, 5 % writing once a second.
    W2 {
        #[command(flatten)]
        common: Common,
        /// Docs [quick 100, full 500].
        #[arg(long)]
        docs: Option<usize>,
        /// Clients per doc [20].
        #[arg(long)]
        clients_per_doc: Option<usize>,
        /// Seconds of the mostly idle phase [quick 8, full 30].
        #[arg(long)]
        seconds: Option<u64>,
    },
    /// W3 join storm: a doc of many notes, many clients joining within one second.
    W3 {
        #[command(flatten)]
        common: Common,
        /// Notes in the doc [5000].
        #[arg(long)]
        notes: Option<usize>,
        /// Joiners [quick 100, full 300].
        #[arg(long)]
        joiners: Option<usize>,
    },
    /// W4 durable writes: writers on a few docs, as fast as acknowledgements come back.
    W4 {
        #[command(flatten)]
        common: Common,
        /// Docs [10].
        #[arg(long)]
        docs: Option<usize>,
        /// Writers per doc [5].
        #[arg(long)]
        writers_per_doc: Option<usize>,
        /// Unacknowledged updates in flight per writer [8].
        #[arg(long)]
        window: Option<usize>,
        /// Seconds of writing [quick 10, full 20].
        #[arg(long)]
        seconds: Option<u64>,
    },
    /// Honest clients' p99 alone, then under an attack (step-1 flood, stray-doc writes, slowloris).
    Attack {
        #[command(flatten)]
        common: Common,
        /// Which attack.
        #[arg(long, value_enum)]
        kind: workload::attack::Attack,
        /// Seconds of each phase [6].
        #[arg(long)]
        seconds: Option<u64>,
    },
    /// Honest participants on a board of 5 000 notes, alone then beside participants hammering
    /// it with checked updates (own edits, votes, forged deletions). Palabre only.
    Fullboard {
        #[command(flatten)]
        common: Common,
        /// What the attackers send.
        #[arg(long, value_enum)]
        variant: workload::fullboard::Variant,
        /// Seconds of each phase [8].
        #[arg(long)]
        seconds: Option<u64>,
        /// Attacking participants [2].
        #[arg(long)]
        attackers: Option<usize>,
        /// Updates per second per attacker [40; the server's default budget is 50].
        #[arg(long)]
        attack_rate: Option<u32>,
    },
    /// Render docs/benchmarks.md tables and the W1 plot from the newest run's result files.
    Report {
        /// Folder of result files.
        #[arg(long, default_value = "bench/results")]
        results: PathBuf,
        /// Markdown document whose generated section is rewritten.
        #[arg(long, default_value = "docs/benchmarks.md")]
        doc: PathBuf,
        /// SVG plot to write.
        #[arg(long, default_value = "bench/results/w1-latency.svg")]
        svg: PathBuf,
        /// Link to the plot as written in the document.
        #[arg(long, default_value = "../bench/results/w1-latency.svg")]
        svg_link: String,
    },
    /// The floor: forward each binary frame to the other sockets of the same URL path.
    Relay {
        /// Address to listen on; the bound address is printed on stdout.
        #[arg(long, default_value = "127.0.0.1:0")]
        bind: String,
    },
    /// Print a loopback TCP port that is free right now.
    FreePort,
}

#[derive(Args)]
struct Common {
    /// WebSocket URL of a doc, `{doc}` standing for its id, e.g. ws://127.0.0.1:8080/ws/{doc};
    /// several, comma-separated, spread W1's clients over a cluster's nodes (round robin).
    #[arg(long)]
    url: String,
    /// `crdt` for document servers, `relay` for the bare relay.
    #[arg(long, value_enum, default_value = "crdt")]
    mode: Mode,
    /// POST {"docId": id} here before connecting (y-sweet: http://HOST:PORT/doc/new).
    #[arg(long)]
    create_url: Option<String>,
    /// Server name used in results and file names.
    #[arg(long, default_value = "server")]
    server: String,
    /// Server process id, to measure its CPU and memory; several (comma-separated) for a
    /// cluster's nodes, whose CPU and memory are summed.
    #[arg(long, value_delimiter = ',')]
    server_pid: Vec<u32>,
    /// Run id shared by all results of one run [default: now].
    #[arg(long)]
    run_id: Option<String>,
    /// Result file [default: bench/results/<workload>-<server>.json].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Full sizes (`make bench-full`) instead of quick ones.
    #[arg(long)]
    full: bool,
    /// Simulated browsers: `plain` y-websocket providers, `web` like Palabre's web client (asks
    /// for confirmation of its own edits), `web-eager` like the web client before issue 9.
    #[arg(long, value_enum, default_value = "plain")]
    client: Behaviour,
}

impl Common {
    fn ctx(&self) -> Ctx {
        Ctx {
            target: Target {
                url_template: self.url.clone(),
                mode: self.mode,
                create_url: self.create_url.clone(),
            },
            server: self.server.clone(),
            server_pid: self.server_pid.first().copied(),
            other_pids: self.server_pid.iter().skip(1).copied().collect(),
            run_id: self.run_id.clone().unwrap_or_else(|| {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                report::utc(now).replace([' ', ':'], "-")
            }),
            full: self.full,
            client: self.client,
            proc: Proc::new(),
        }
    }

    fn out(&self, workload: &str) -> PathBuf {
        self.out.clone().unwrap_or_else(|| {
            PathBuf::from(format!("bench/results/{workload}-{}.json", self.server))
        })
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("palabre-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    // 10 000 sockets need more than the usual 1024 descriptors.
    let nofile = rlimit::increase_nofile_limit(65_536).context("raising RLIMIT_NOFILE")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(async move {
        let (common, name, record) = match cli.cmd {
            Cmd::W1 {
                common,
                clients,
                writers,
                seconds,
            } => {
                let mut s = if common.full {
                    w1::W1Sizes::full()
                } else {
                    w1::W1Sizes::quick()
                };
                s.clients = clients.unwrap_or(s.clients);
                s.writers = writers.unwrap_or(s.writers);
                s.seconds = seconds.unwrap_or(s.seconds);
                check_nofile(nofile, s.clients)?;
                let r = w1::run(&common.ctx(), s).await?;
                (common, "w1", r)
            }
            Cmd::W2 {
                common,
                docs,
                clients_per_doc,
                seconds,
            } => {
                let mut s = if common.full {
                    w2::W2Sizes::full()
                } else {
                    w2::W2Sizes::quick()
                };
                s.docs = docs.unwrap_or(s.docs);
                s.clients_per_doc = clients_per_doc.unwrap_or(s.clients_per_doc);
                s.seconds = seconds.unwrap_or(s.seconds);
                check_nofile(nofile, s.docs * s.clients_per_doc)?;
                let r = w2::run(&common.ctx(), s).await?;
                (common, "w2", r)
            }
            Cmd::W3 {
                common,
                notes,
                joiners,
            } => {
                let mut s = if common.full {
                    w3::W3Sizes::full()
                } else {
                    w3::W3Sizes::quick()
                };
                s.notes = notes.unwrap_or(s.notes);
                s.joiners = joiners.unwrap_or(s.joiners);
                check_nofile(nofile, s.joiners)?;
                let r = w3::run(&common.ctx(), s).await?;
                (common, "w3", r)
            }
            Cmd::W4 {
                common,
                docs,
                writers_per_doc,
                window,
                seconds,
            } => {
                let mut s = if common.full {
                    w4::W4Sizes::full()
                } else {
                    w4::W4Sizes::quick()
                };
                s.docs = docs.unwrap_or(s.docs);
                s.writers_per_doc = writers_per_doc.unwrap_or(s.writers_per_doc);
                s.window = window.unwrap_or(s.window);
                s.seconds = seconds.unwrap_or(s.seconds);
                let r = w4::run(&common.ctx(), s).await?;
                (common, "w4", r)
            }
            Cmd::Attack {
                common,
                kind,
                seconds,
            } => {
                let mut s = workload::attack::AttackSizes::quick();
                s.seconds = seconds.unwrap_or(s.seconds);
                let r = workload::attack::run(&common.ctx(), s, kind).await?;
                (common, "attack", r)
            }
            Cmd::Fullboard {
                common,
                variant,
                seconds,
                attackers,
                attack_rate,
            } => {
                let mut s = workload::fullboard::FullBoardSizes::quick();
                s.seconds = seconds.unwrap_or(s.seconds);
                s.attackers = attackers.unwrap_or(s.attackers);
                s.attack_rate = attack_rate.unwrap_or(s.attack_rate);
                let r = workload::fullboard::run(&common.ctx(), s, variant).await?;
                (common, "fullboard", r)
            }
            Cmd::Report {
                results,
                doc,
                svg,
                svg_link,
            } => {
                let (run_id, left_out) = report::run(&ReportPaths {
                    results,
                    doc: doc.clone(),
                    svg: svg.clone(),
                    svg_link,
                })?;
                for f in left_out {
                    eprintln!("report: {f} is from an older run, left out");
                }
                println!(
                    "report: run {run_id} written to {} and {}",
                    doc.display(),
                    svg.display()
                );
                return Ok(ExitCode::SUCCESS);
            }
            Cmd::Relay { bind } => {
                let listener = tokio::net::TcpListener::bind(&bind)
                    .await
                    .with_context(|| format!("binding {bind}"))?;
                println!("relay listening on {}", listener.local_addr()?);
                tokio::select! {
                    r = palabre_bench::relay::run(listener) => r?,
                    _ = tokio::signal::ctrl_c() => {}
                }
                return Ok(ExitCode::SUCCESS);
            }
            Cmd::FreePort => {
                let l = std::net::TcpListener::bind("127.0.0.1:0")?;
                println!("{}", l.local_addr()?.port());
                return Ok(ExitCode::SUCCESS);
            }
        };
        let out = common.out(name);
        workload::save(&record, &out)?;
        println!("{}", workload::summary(&record));
        eprintln!("{name}: wrote {}", out.display());
        Ok(ExitCode::SUCCESS)
    })
}

fn check_nofile(limit: u64, sockets: usize) -> anyhow::Result<()> {
    if (sockets as u64) + 64 > limit {
        anyhow::bail!(
            "{sockets} sockets need more than the {limit} open files allowed here (ulimit -n)"
        );
    }
    Ok(())
}
