//! Server configuration: every option of `palabre serve`, from flags or `PALABRE_*` env vars.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// When a received update may be relayed to other clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Durability {
    /// Relay only after the commit holding the update is on disk (fsync). Nothing any client
    /// has seen can be lost by a crash.
    Strict,
    /// Relay first, commit right after (no fsync per commit). For benchmarks only.
    Relaxed,
}

/// Options of `palabre serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Address and port to listen on (use 0.0.0.0:8080 to accept other machines).
    #[arg(long, env = "PALABRE_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Directory holding the database (palabre.db and its WAL). Back it up with `sqlite3 .backup`.
    #[arg(long, env = "PALABRE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// Directory of the built web client (served at /).
    #[arg(long, env = "PALABRE_WEB_DIR", default_value = "web/dist")]
    pub web_dir: PathBuf,

    /// strict: an update is relayed only once durable on disk; relaxed: relay first (benchmarks).
    #[arg(long, env = "PALABRE_DURABILITY", value_enum, default_value = "strict")]
    pub durability: Durability,

    /// Largest WebSocket message accepted; a larger one closes the connection with 1009.
    #[arg(long, env = "PALABRE_MAX_MESSAGE_BYTES", default_value_t = 1 << 20)]
    pub max_message_bytes: usize,

    /// How long a document stays in memory with nobody connected before it is compacted and evicted.
    #[arg(long, env = "PALABRE_ROOM_IDLE", default_value = "60s", value_parser = humantime::parse_duration)]
    pub room_idle: Duration,

    /// Fold a document's update log into a snapshot once it holds this many bytes.
    #[arg(long, env = "PALABRE_COMPACT_BYTES", default_value_t = 4 << 20)]
    pub compact_bytes: u64,

    /// Fold a document's update log into a snapshot once it holds this many entries.
    #[arg(long, env = "PALABRE_COMPACT_UPDATES", default_value_t = 2000)]
    pub compact_updates: u64,

    /// Outgoing frames queued per connection before it is considered too slow and disconnected.
    #[arg(long, env = "PALABRE_SEND_QUEUE", default_value_t = 1024)]
    pub send_queue: usize,

    /// How long a room gathers incoming updates before committing and relaying them as one frame.
    #[arg(long, env = "PALABRE_COALESCE", default_value = "2ms", value_parser = humantime::parse_duration)]
    pub coalesce: Duration,

    /// Interval between WebSocket pings.
    #[arg(long, env = "PALABRE_PING_INTERVAL", default_value = "20s", value_parser = humantime::parse_duration)]
    pub ping_interval: Duration,

    /// A connection silent for this long (no message, no pong) is dropped.
    #[arg(long, env = "PALABRE_IDLE_TIMEOUT", default_value = "40s", value_parser = humantime::parse_duration)]
    pub idle_timeout: Duration,

    /// Awareness (presence) states not renewed for this long are removed.
    #[arg(long, env = "PALABRE_AWARENESS_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub awareness_timeout: Duration,
}

impl Config {
    /// A configuration with every default, serving `data_dir`; used by tests and embedders.
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: data_dir.into(),
            web_dir: PathBuf::from("web/dist"),
            durability: Durability::Strict,
            max_message_bytes: 1 << 20,
            room_idle: Duration::from_secs(60),
            compact_bytes: 4 << 20,
            compact_updates: 2000,
            send_queue: 1024,
            coalesce: Duration::from_millis(2),
            ping_interval: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(40),
            awareness_timeout: Duration::from_secs(30),
        }
    }
}
