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

    /// Cluster mode: keep documents in this PostgreSQL database (`postgres://user:pass@host/db`)
    /// instead of SQLite under --data-dir. See README, "Several nodes".
    #[arg(
        long = "postgres",
        env = "PALABRE_POSTGRES_URL",
        hide_env_values = true
    )]
    pub postgres_url: Option<String>,

    /// Cluster mode: relay updates between nodes through this Redis (`redis://host:6379/`).
    #[arg(long = "redis", env = "PALABRE_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,

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

    /// Bytes queued towards one connection (not yet written to its socket) before it is
    /// considered too slow and closed (1013). One frame larger than this still fits an empty queue.
    #[arg(long, env = "PALABRE_SEND_QUEUE_BYTES", default_value_t = 8 << 20)]
    pub send_queue_bytes: usize,

    /// A frame the client's socket has not taken for this long closes the connection (1013).
    #[arg(long, env = "PALABRE_WRITE_STALL", default_value = "10s", value_parser = humantime::parse_duration)]
    pub write_stall: Duration,

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

    /// Reverse proxies (addresses or CIDRs, comma-separated) whose X-Forwarded-For is believed:
    /// the client is the rightmost hop that is not one of them. Without a trusted peer the
    /// header is ignored.
    #[arg(long, env = "PALABRE_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_net)]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// Deprecated: same as `--trusted-proxies 127.0.0.1,::1` (a proxy on this machine).
    #[arg(long, env = "PALABRE_TRUST_FORWARDED_FOR", hide = true)]
    pub trust_forwarded_for: bool,

    /// Host names this server is reached by (e.g. board.example.org), comma-separated. A
    /// browser's Origin must name one of them, a loopback name or an IP address: a page on
    /// another name that resolves here (DNS rebinding) is refused.
    #[arg(long, env = "PALABRE_PUBLIC_HOST", value_delimiter = ',')]
    pub public_host: Vec<String>,

    /// A client that has not sent a whole request head within this time is disconnected
    /// (also bounds idle keep-alive connections).
    #[arg(long, env = "PALABRE_HEADER_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub header_timeout: Duration,

    /// A request (its body included) not answered within this gets 408: a slow body cannot hold
    /// a connection. WebSockets are not concerned once upgraded.
    #[arg(long, env = "PALABRE_REQUEST_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub request_timeout: Duration,

    /// Open TCP connections at most (lowered to fit the open-files limit).
    #[arg(long, env = "PALABRE_MAX_CONNECTIONS", default_value_t = 20_000)]
    pub max_connections: usize,

    /// Open connections that have not yet opened an authorised WebSocket.
    #[arg(long, env = "PALABRE_MAX_UNAUTHENTICATED", default_value_t = 8192)]
    pub max_unauthenticated: usize,

    /// WebSocket upgrades being checked at once per client address (a venue's phones behind one
    /// address scan the projector's QR code within the same second: 200 must all get in).
    #[arg(long, env = "PALABRE_MAX_UPGRADES_PER_ADDR", default_value_t = 256)]
    pub max_upgrades_per_addr: usize,

    /// Open connections from one TCP peer address (IPv6: its /64) that have not yet opened an
    /// authorised WebSocket; counted before any request is read. Trusted proxies are exempt.
    #[arg(
        long,
        env = "PALABRE_MAX_UNAUTHENTICATED_PER_ADDR",
        default_value_t = 512
    )]
    pub max_unauthenticated_per_addr: usize,

    /// Document update bytes per second one client address may write, over all its
    /// connections and docs; past it its connections are throttled, then closed (1013).
    #[arg(long, env = "PALABRE_ADDR_WRITE_BYTES_PER_SEC", default_value_t = 256 << 10)]
    pub addr_write_bytes_per_sec: u32,

    /// Update bytes one client address may write at once above its sustained rate.
    #[arg(long, env = "PALABRE_ADDR_WRITE_BURST_BYTES", default_value_t = 8 << 20)]
    pub addr_write_burst_bytes: u32,

    /// Document update bytes per second all clients together may write (what the store's
    /// writer is asked to take); past it every writer is throttled.
    #[arg(long, env = "PALABRE_WRITE_BYTES_PER_SEC", default_value_t = 16 << 20)]
    pub write_bytes_per_sec: u32,

    /// Update bytes all clients together may write at once above the sustained rate.
    #[arg(long, env = "PALABRE_WRITE_BURST_BYTES", default_value_t = 64 << 20)]
    pub write_burst_bytes: u32,

    /// Bytes the store's writer may hold accepted but not yet durable before the server stops
    /// reading clients' update bytes (the disk is slower than what comes in); 0 turns it off.
    #[arg(long, env = "PALABRE_STORE_BACKLOG_BYTES", default_value_t = 32 << 20)]
    pub store_backlog_bytes: u64,

    /// Once paused for the store's backlog, updates are read again when it is back to this.
    #[arg(long, env = "PALABRE_STORE_BACKLOG_RESUME_BYTES", default_value_t = 16 << 20)]
    pub store_backlog_resume_bytes: u64,

    /// Documents that are not in memory one client address may open per minute (each is read
    /// from the store and becomes a room).
    #[arg(long, env = "PALABRE_DOC_OPENS_PER_MIN", default_value_t = 120)]
    pub doc_opens_per_min: u32,

    /// How long workshop credentials stay cached in memory before they are read again; expired
    /// entries are swept, so a workshop deleted elsewhere leaves memory within this.
    #[arg(long, env = "PALABRE_CREDENTIAL_TTL", default_value = "10m", value_parser = humantime::parse_duration)]
    pub credential_ttl: Duration,

    /// If set, creating a workshop needs this token (servers that should not let anyone create).
    #[arg(long, env = "PALABRE_CREATE_TOKEN", hide_env_values = true)]
    pub create_token: Option<String>,

    /// Workshops one address may create per hour.
    #[arg(long, env = "PALABRE_CREATE_PER_HOUR", default_value_t = 30)]
    pub create_per_hour: u32,

    /// Workshops all addresses together may create per hour.
    #[arg(long, env = "PALABRE_CREATE_GLOBAL_PER_HOUR", default_value_t = 600)]
    pub create_global_per_hour: u32,

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

    /// Bytes a workshop may store (its doc and all its boards, snapshots and logs); past it,
    /// writes are refused from everyone and adding boards answers 409.
    #[arg(long, env = "PALABRE_WORKSHOP_QUOTA_BYTES", default_value_t = 256 << 20)]
    pub workshop_quota_bytes: u64,

    /// Boards a workshop's agenda may hold.
    #[arg(long, env = "PALABRE_MAX_BOARDS", default_value_t = 100)]
    pub max_boards: usize,

    /// Sustained document updates per second allowed per connection.
    #[arg(long, env = "PALABRE_UPDATES_PER_SEC", default_value_t = 50.0)]
    pub updates_per_sec: f64,

    /// Updates a connection may send in a burst above the sustained rate.
    #[arg(long, env = "PALABRE_UPDATE_BURST", default_value_t = 300.0)]
    pub update_burst: f64,

    /// Sustained sync step 1 and query-awareness messages per second allowed per connection
    /// (each makes the server encode a reply).
    #[arg(long, env = "PALABRE_SYNC_PER_SEC", default_value_t = 10.0)]
    pub sync_per_sec: f64,

    /// Sync step 1 and query-awareness messages a connection may send in a burst.
    #[arg(long, env = "PALABRE_SYNC_BURST", default_value_t = 30.0)]
    pub sync_burst: f64,

    /// Sustained awareness (presence) messages per second allowed per connection.
    #[arg(long, env = "PALABRE_AWARENESS_PER_SEC", default_value_t = 10.0)]
    pub awareness_per_sec: f64,

    /// Awareness messages a connection may send in a burst.
    #[arg(long, env = "PALABRE_AWARENESS_BURST", default_value_t = 50.0)]
    pub awareness_burst: f64,

    /// Largest awareness message accepted, in bytes.
    #[arg(long, env = "PALABRE_MAX_AWARENESS_BYTES", default_value_t = 16 * 1024)]
    pub max_awareness_bytes: usize,

    /// Largest presence state kept (a name, a colour, a cursor are ~200 bytes); larger ones
    /// are dropped.
    #[arg(long, env = "PALABRE_PRESENCE_STATE_BYTES", default_value_t = 4 * 1024)]
    pub presence_state_bytes: usize,

    /// Most presence bytes one doc keeps, which is also the most a newcomer is sent; states
    /// past it are dropped.
    #[arg(long, env = "PALABRE_PRESENCE_DOC_BYTES", default_value_t = 256 * 1024)]
    pub presence_doc_bytes: usize,

    /// A connection throttled without pause for this long is closed (a flood).
    #[arg(long, env = "PALABRE_FLOOD_GRACE", default_value = "5s", value_parser = humantime::parse_duration)]
    pub flood_grace: Duration,

    /// Wrong join codes an address may try per 10 minutes before its lookups need a proof of work.
    #[arg(long, env = "PALABRE_JOIN_ATTEMPTS", default_value_t = 10)]
    pub join_attempts: u32,

    /// Leading zero bits of the proof of work asked once an address is past its free attempts
    /// (doubles in cost each time its failures double).
    #[arg(long, env = "PALABRE_JOIN_POW_BITS", default_value_t = 16)]
    pub join_pow_bits: u32,

    /// Wrong join codes accepted per hour from all addresses together (bounds distributed guessing).
    #[arg(long, env = "PALABRE_JOIN_GLOBAL_PER_HOUR", default_value_t = 300)]
    pub join_global_per_hour: u32,

    /// How long an address's wrong join codes are remembered (its proof-of-work window).
    #[arg(long, env = "PALABRE_JOIN_LOCKOUT", default_value = "15m", value_parser = humantime::parse_duration)]
    pub join_lockout: Duration,

    /// Delete workshops this long after their date (`90d`), checked at start-up and hourly;
    /// off when not given (RGPD: the day's papers and notes are personal data).
    #[arg(long, env = "PALABRE_RETENTION", value_parser = humantime::parse_duration)]
    pub retention: Option<Duration>,
}

impl Config {
    /// The store backlog's marks (`--store-backlog-bytes`, `--store-backlog-resume-bytes`).
    pub fn backlog_marks(&self) -> crate::store::Marks {
        crate::store::Marks {
            high: self.store_backlog_bytes,
            low: self
                .store_backlog_resume_bytes
                .min(self.store_backlog_bytes),
        }
    }

    /// A configuration with every default, serving `data_dir`; used by tests and embedders.
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: data_dir.into(),
            postgres_url: None,
            redis_url: None,
            web_dir: PathBuf::from("web/dist"),
            durability: Durability::Strict,
            max_message_bytes: 1 << 20,
            room_idle: Duration::from_secs(60),
            compact_bytes: 4 << 20,
            compact_updates: 2000,
            send_queue_bytes: 8 << 20,
            write_stall: Duration::from_secs(10),
            coalesce: Duration::from_millis(2),
            coalesce_max: Duration::from_millis(20),
            ping_interval: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(40),
            awareness_timeout: Duration::from_secs(30),
            open_docs: false,
            allowed_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            trust_forwarded_for: false,
            public_host: Vec::new(),
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 20_000,
            max_unauthenticated: 8192,
            max_upgrades_per_addr: 256,
            max_unauthenticated_per_addr: 512,
            addr_write_bytes_per_sec: 256 << 10,
            addr_write_burst_bytes: 8 << 20,
            write_bytes_per_sec: 16 << 20,
            write_burst_bytes: 64 << 20,
            store_backlog_bytes: 32 << 20,
            store_backlog_resume_bytes: 16 << 20,
            doc_opens_per_min: 120,
            credential_ttl: Duration::from_secs(600),
            create_token: None,
            create_per_hour: 30,
            create_global_per_hour: 600,
            max_conns_per_addr: 2000,
            max_conns_per_doc: 2000,
            max_doc_bytes: 64 << 20,
            max_items: 5000,
            workshop_quota_bytes: 256 << 20,
            max_boards: 100,
            updates_per_sec: 50.0,
            update_burst: 300.0,
            sync_per_sec: 10.0,
            sync_burst: 30.0,
            awareness_per_sec: 10.0,
            awareness_burst: 50.0,
            max_awareness_bytes: 16 * 1024,
            presence_state_bytes: 4 * 1024,
            presence_doc_bytes: 256 * 1024,
            flood_grace: Duration::from_secs(5),
            join_attempts: 10,
            join_pow_bits: 16,
            join_global_per_hour: 300,
            join_lockout: Duration::from_secs(15 * 60),
            retention: None,
        }
    }
}

impl Config {
    /// The proxies whose X-Forwarded-For is believed (`--trust-forwarded-for` adds loopback).
    pub fn proxies(&self) -> Vec<ipnet::IpNet> {
        let mut nets = self.trusted_proxies.clone();
        if self.trust_forwarded_for {
            nets.extend(
                ["127.0.0.1/32", "::1/128"]
                    .iter()
                    .filter_map(|n| n.parse::<ipnet::IpNet>().ok()),
            );
        }
        nets
    }
}

/// An address (`10.0.0.1`) or a network (`10.0.0.0/8`).
fn parse_net(s: &str) -> Result<ipnet::IpNet, String> {
    let s = s.trim();
    if let Ok(ip) = s.parse::<std::net::IpAddr>() {
        return Ok(ipnet::IpNet::from(ip));
    }
    s.parse()
        .map_err(|_| format!("{s:?} is neither an address nor a CIDR network"))
}
