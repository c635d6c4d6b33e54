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

    /// Longest coalescing window, used by crowded rooms (the window grows by 20 µs per connection).
    #[arg(long, env = "PALABRE_COALESCE_MAX", default_value = "20ms", value_parser = humantime::parse_duration)]
    pub coalesce_max: Duration,

    /// Interval between WebSocket pings.
    #[arg(long, env = "PALABRE_PING_INTERVAL", default_value = "20s", value_parser = humantime::parse_duration)]
    pub ping_interval: Duration,

    /// A connection silent for this long (no message, no pong) is dropped.
    #[arg(long, env = "PALABRE_IDLE_TIMEOUT", default_value = "40s", value_parser = humantime::parse_duration)]
    pub idle_timeout: Duration,

    /// Awareness (presence) states not renewed for this long are removed.
    #[arg(long, env = "PALABRE_AWARENESS_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub awareness_timeout: Duration,

    /// Serve docs that belong to no workshop without a token (plain y-websocket clients,
    /// benchmarks). Workshop docs always require their links' secrets.
    #[arg(long, env = "PALABRE_OPEN_DOCS")]
    pub open_docs: bool,

    /// Extra origins (e.g. https://board.example.org) allowed to open WebSockets; the server's
    /// own origin always is. Comma-separated.
    #[arg(long, env = "PALABRE_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// Take the client address from X-Forwarded-For (only behind a trusted reverse proxy).
    #[arg(long, env = "PALABRE_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,

    /// Open WebSocket connections allowed per client address (a venue's Wi-Fi is one address).
    #[arg(long, env = "PALABRE_MAX_CONNS_PER_ADDR", default_value_t = 2000)]
    pub max_conns_per_addr: usize,

    /// Open WebSocket connections allowed per document.
    #[arg(long, env = "PALABRE_MAX_CONNS_PER_DOC", default_value_t = 2000)]
    pub max_conns_per_doc: usize,

    /// Largest a document may grow through participants' updates, in bytes.
    #[arg(long, env = "PALABRE_MAX_DOC_BYTES", default_value_t = 64 << 20)]
    pub max_doc_bytes: u64,

    /// Most items (notes, cards, answers…) participants may put on one board.
    #[arg(long, env = "PALABRE_MAX_ITEMS", default_value_t = 5000)]
    pub max_items: usize,

    /// Sustained document updates per second allowed per connection.
    #[arg(long, env = "PALABRE_UPDATES_PER_SEC", default_value_t = 50.0)]
    pub updates_per_sec: f64,

    /// Updates a connection may send in a burst above the sustained rate.
    #[arg(long, env = "PALABRE_UPDATE_BURST", default_value_t = 300.0)]
    pub update_burst: f64,

    /// Sustained awareness (presence) messages per second allowed per connection.
    #[arg(long, env = "PALABRE_AWARENESS_PER_SEC", default_value_t = 10.0)]
    pub awareness_per_sec: f64,

    /// Awareness messages a connection may send in a burst.
    #[arg(long, env = "PALABRE_AWARENESS_BURST", default_value_t = 50.0)]
    pub awareness_burst: f64,

    /// Largest awareness message accepted, in bytes.
    #[arg(long, env = "PALABRE_MAX_AWARENESS_BYTES", default_value_t = 16 * 1024)]
    pub max_awareness_bytes: usize,

    /// A connection throttled without pause for this long is closed (a flood).
    #[arg(long, env = "PALABRE_FLOOD_GRACE", default_value = "5s", value_parser = humantime::parse_duration)]
    pub flood_grace: Duration,

    /// Wrong join codes allowed per address within 10 minutes before a lockout.
    #[arg(long, env = "PALABRE_JOIN_ATTEMPTS", default_value_t = 10)]
    pub join_attempts: u32,

    /// Wrong join codes accepted per hour from all addresses together (bounds distributed guessing).
    #[arg(long, env = "PALABRE_JOIN_GLOBAL_PER_HOUR", default_value_t = 300)]
    pub join_global_per_hour: u32,

    /// How long an address that guessed too many join codes is locked out.
    #[arg(long, env = "PALABRE_JOIN_LOCKOUT", default_value = "15m", value_parser = humantime::parse_duration)]
    pub join_lockout: Duration,

    /// Delete workshops this long after their date (`90d`), checked at start-up and hourly;
    /// off when not given (RGPD: the day's papers and notes are personal data).
    #[arg(long, env = "PALABRE_RETENTION", value_parser = humantime::parse_duration)]
    pub retention: Option<Duration>,
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
            coalesce_max: Duration::from_millis(20),
            ping_interval: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(40),
            awareness_timeout: Duration::from_secs(30),
            open_docs: false,
            allowed_origins: Vec::new(),
            trust_forwarded_for: false,
            max_conns_per_addr: 2000,
            max_conns_per_doc: 2000,
            max_doc_bytes: 64 << 20,
            max_items: 5000,
            updates_per_sec: 50.0,
            update_burst: 300.0,
            awareness_per_sec: 10.0,
            awareness_burst: 50.0,
            max_awareness_bytes: 16 * 1024,
            flood_grace: Duration::from_secs(5),
            join_attempts: 10,
            join_global_per_hour: 300,
            join_lockout: Duration::from_secs(15 * 60),
            retention: None,
        }
    }
}
