//! What the HTTP edge decides before any workshop is involved: who the client is (behind
//! trusted proxies only), whether a browser's Origin names a host this server serves (DNS
//! rebinding), how fast workshops may be created, how many upgrades an address may have in
//! flight, how fast it may write (the budget itself is in `limits`), and the security headers of
//! every response.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use dashmap::DashMap;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::config::Config;

/// The app's pages: scripts and styles from this server only, connections back to it only,
/// never framed, no `<base>` or plugin tricks.
pub const APP_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// A report (`export.html`) runs nothing and loads nothing: inline styles and data images only.
pub const EXPORT_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
    base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The edge's shared state (inside `AppState`).
pub struct Edge {
    proxies: Vec<IpNet>,
    hosts: Vec<String>,
    create_per_addr: DefaultKeyedRateLimiter<IpAddr>,
    create_global: DefaultDirectRateLimiter,
    upgrades: Arc<DashMap<IpAddr, usize>>,
    /// Update bytes and cold document opens per address and in total.
    pub writes: super::limits::WriteBudget,
}

fn hourly(n: u32) -> Quota {
    let n = NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(Duration::from_secs(3600) / n.get())
        .unwrap_or_else(|| Quota::per_second(n))
        .allow_burst(n)
}

/// Holds one upgrade's place in its address's count while it is checked.
pub struct UpgradeSlot {
    upgrades: Arc<DashMap<IpAddr, usize>>,
    addr: IpAddr,
}

impl Drop for UpgradeSlot {
    fn drop(&mut self) {
        self.upgrades.remove_if_mut(&self.addr, |_, n| {
            *n = n.saturating_sub(1);
            *n == 0
        });
    }
}

/// The host part of `host[:port]` (IPv6 literals in brackets keep them).
fn hostname(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    authority.rsplit_once(':').map_or(authority, |(h, _)| h)
}

impl Edge {
    /// The edge for `config`; the write budget listens to the store's `backlog`.
    pub fn new(config: &Config, backlog: Arc<crate::store::Backlog>) -> Self {
        Edge {
            proxies: config.proxies(),
            hosts: config
                .public_host
                .iter()
                .map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
            create_per_addr: RateLimiter::keyed(hourly(config.create_per_hour)),
            create_global: RateLimiter::direct(hourly(config.create_global_per_hour)),
            upgrades: Arc::default(),
            writes: super::limits::WriteBudget::new(
                super::limits::WriteLimits {
                    addr_bytes_per_sec: config.addr_write_bytes_per_sec,
                    addr_burst_bytes: config.addr_write_burst_bytes,
                    global_bytes_per_sec: config.write_bytes_per_sec,
                    global_burst_bytes: config.write_burst_bytes,
                    doc_opens_per_min: config.doc_opens_per_min,
                },
                backlog,
            ),
        }
    }

    fn trusted(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.proxies.iter().any(|net| net.contains(&ip))
    }

    /// The client's address: the peer, unless the peer is a trusted proxy; then the rightmost
    /// X-Forwarded-For hop that is not a trusted proxy (hops left of it are the client's own
    /// claims). A hop that does not parse ends the walk at the last trusted address.
    pub fn client_addr(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.ip();
        if !self.trusted(client) {
            return client;
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        for hop in hops.iter().rev() {
            let Ok(ip) = hop.parse::<IpAddr>() else {
                return client;
            };
            client = ip;
            if !self.trusted(ip) {
                return ip;
            }
        }
        client
    }

    /// Whether an `Origin: scheme://authority` may open a WebSocket here. Its host must be one
    /// this server serves — an IP address, a loopback name or a `--public-host` — and be the
    /// request's own `Host`, or the whole origin must be in `--allowed-origins`.
    pub fn origin_allowed(&self, headers: &HeaderMap, allowed_origins: &[String]) -> bool {
        let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
            return true;
        };
        let origin = origin.trim_end_matches('/');
        if allowed_origins
            .iter()
            .any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(origin))
        {
            return true;
        }
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let Some(authority) = origin.split_once("://").map(|(_, rest)| rest) else {
            return false;
        };
        if !host.is_some_and(|h| h.eq_ignore_ascii_case(authority)) {
            return false;
        }
        let name = hostname(authority).to_ascii_lowercase();
        // A DNS-rebinding page is on a name; an IP address cannot be rebound.
        name.parse::<IpAddr>().is_ok()
            || name == "localhost"
            || name.ends_with(".localhost")
            || self
                .hosts
                .iter()
                .any(|h| *h == name || h.eq_ignore_ascii_case(authority))
    }

    /// Takes a workshop creation from `addr`; `Err` says how long to wait.
    pub fn may_create(&self, addr: IpAddr) -> Result<(), Duration> {
        let now = DefaultClock::default().now();
        if self.create_per_addr.len() > 100_000 {
            self.create_per_addr.retain_recent();
        }
        self.create_per_addr
            .check_key(&addr)
            .map_err(|n| n.wait_time_from(now))?;
        self.create_global
            .check()
            .map_err(|n| n.wait_time_from(now))
    }

    /// A place for one more upgrade in flight from `addr`, unless it already has `max`.
    pub fn upgrade_slot(&self, addr: IpAddr, max: usize) -> Option<UpgradeSlot> {
        let mut n = self.upgrades.entry(addr).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        drop(n);
        Some(UpgradeSlot {
            upgrades: self.upgrades.clone(),
            addr,
        })
    }
}

/// Security headers on every response that did not set its own, and a deadline on every
/// request (408).
pub fn layers(router: axum::Router, request_timeout: Duration) -> axum::Router {
    let set = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    router
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .layer(set(header::CONTENT_SECURITY_POLICY, APP_CSP))
        .layer(set(header::X_FRAME_OPTIONS, "DENY"))
        .layer(set(header::REFERRER_POLICY, "no-referrer"))
        .layer(set(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(proxies: &str, hosts: &[&str]) -> Edge {
        let mut c = Config::with_data_dir("/nonexistent");
        c.trusted_proxies = proxies
            .split(',')
            .filter(|p| !p.is_empty())
            .filter_map(|p| p.parse().ok())
            .collect();
        c.public_host = hosts.iter().map(|h| h.to_string()).collect();
        Edge::new(&c, Arc::default())
    }

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(v) {
            h.insert("x-forwarded-for", v);
        }
        h
    }

    #[test]
    fn the_client_is_the_rightmost_untrusted_hop_and_only_behind_a_trusted_peer() {
        let e = edge("127.0.0.1/32,10.1.0.0/16", &[]);
        let proxy: SocketAddr = ([127, 0, 0, 1], 4000).into();
        let stranger: SocketAddr = ([203, 0, 113, 9], 4000).into();
        // nginx appends the real peer; whatever the client wrote stays on the left.
        let h = xff("6.6.6.6, 198.51.100.7");
        assert_eq!(e.client_addr(proxy, &h), IpAddr::from([198, 51, 100, 7]));
        let h = xff("6.6.6.6, 198.51.100.7, 10.1.2.3");
        assert_eq!(e.client_addr(proxy, &h), IpAddr::from([198, 51, 100, 7]));
        assert_eq!(
            e.client_addr(stranger, &h),
            stranger.ip(),
            "no trusted peer"
        );
        assert_eq!(e.client_addr(proxy, &xff("garbage")), proxy.ip());
        assert_eq!(e.client_addr(proxy, &HeaderMap::new()), proxy.ip());
    }

    fn origin(o: &str, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let (Ok(o), Ok(host)) = (HeaderValue::from_str(o), HeaderValue::from_str(host)) {
            h.insert(header::ORIGIN, o);
            h.insert(header::HOST, host);
        }
        h
    }

    #[test]
    fn an_origin_must_be_a_host_this_server_serves() {
        let e = edge("", &["board.example.org"]);
        let ok = |o: &str, h: &str| e.origin_allowed(&origin(o, h), &[]);
        assert!(ok("http://127.0.0.1:8080", "127.0.0.1:8080"));
        assert!(ok("http://[::1]:8080", "[::1]:8080"));
        assert!(ok("http://localhost:8080", "localhost:8080"));
        assert!(ok("http://192.168.1.20:8080", "192.168.1.20:8080"));
        assert!(ok("https://board.example.org", "board.example.org"));
        assert!(
            !ok("http://evil.example:8080", "evil.example:8080"),
            "DNS rebinding"
        );
        assert!(!ok("http://evil.example", "127.0.0.1:8080"));
        assert!(e.origin_allowed(
            &origin("https://other.example", "127.0.0.1:8080"),
            &["https://other.example".to_string()]
        ));
    }
}
