//! The accept loop: what a connection may cost before it has proved anything.
//!
//! axum's `serve` builds hyper without a timer, so hyper's header-read timeout never fires; this
//! loop builds hyper's HTTP/1 connection itself, with a timer and a header deadline (which also
//! bounds idle keep-alive connections), a 64 KiB request-head buffer, a cap on open connections
//! and a tighter one on connections that have not opened an authorised WebSocket, overall and
//! per peer address (trusted proxies excepted: they carry everyone). A refused connection is
//! closed at once, before a byte is read. Accept errors (out of file descriptors)
//! back off instead of spinning, and are logged at most once a second.

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::Router;
use dashmap::DashMap;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt as _;

use super::limits::host_key;
use crate::metrics::Metrics;

/// The limits of the accept loop.
#[derive(Debug, Clone)]
pub struct ServeLimits {
    /// A request head must be complete within this.
    pub header_timeout: Duration,
    /// Open connections at most.
    pub max_connections: usize,
    /// Open connections that are not authorised WebSockets, at most.
    pub max_unauthenticated: usize,
    /// Of those, from one peer address (IPv6: its /64), at most.
    pub max_unauthenticated_per_addr: usize,
    /// Peers exempt from the per-address cap (the trusted reverse proxies).
    pub proxies: Vec<ipnet::IpNet>,
}

/// A connection's place among the unauthenticated ones: in the global pool, and in its peer
/// address's count (unless the peer is a trusted proxy).
#[derive(Debug)]
struct Unauthenticated {
    _permit: OwnedSemaphorePermit,
    _addr: Option<AddrPlace>,
}

/// One place in a peer address's count of unauthenticated connections; given back on drop.
#[derive(Debug)]
struct AddrPlace {
    counts: Arc<DashMap<IpAddr, usize>>,
    addr: IpAddr,
}

impl Drop for AddrPlace {
    fn drop(&mut self) {
        self.counts.remove_if_mut(&self.addr, |_, n| {
            *n = n.saturating_sub(1);
            *n == 0
        });
    }
}

fn addr_place(counts: &Arc<DashMap<IpAddr, usize>>, addr: IpAddr, max: usize) -> Option<AddrPlace> {
    let mut n = counts.entry(addr).or_insert(0);
    if *n >= max {
        return None;
    }
    *n += 1;
    drop(n);
    Some(AddrPlace {
        counts: counts.clone(),
        addr,
    })
}

fn is_proxy(proxies: &[ipnet::IpNet], ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    proxies.iter().any(|net| net.contains(&ip))
}

/// One connection's places in the caps, reachable from its requests (as an extension): the
/// WebSocket upgrade takes them over once the connection is authorised.
#[derive(Debug)]
pub struct ConnGate {
    total: std::sync::Mutex<Option<OwnedSemaphorePermit>>,
    unauthenticated: std::sync::Mutex<Option<Unauthenticated>>,
}

/// A connection's place in the cap on open connections, held by its WebSocket task.
#[derive(Debug)]
pub struct ConnPermit(#[allow(dead_code)] Option<OwnedSemaphorePermit>);

impl ConnGate {
    /// The connection opened an authorised WebSocket: it leaves the unauthenticated pool and
    /// its place in the total cap moves to the returned permit (hyper forgets upgraded
    /// connections, so the WebSocket task must hold it).
    pub fn authenticated(&self) -> ConnPermit {
        if let Ok(mut u) = self.unauthenticated.lock() {
            u.take();
        }
        ConnPermit(self.total.lock().ok().and_then(|mut t| t.take()))
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then runs `on_shutdown` (closing
/// WebSockets, saving documents) and lets requests in flight finish (at most 10 s).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServeLimits,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let total = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let unauth = Arc::new(Semaphore::new(limits.max_unauthenticated.max(1)));
    let unauth_per_addr: Arc<DashMap<IpAddr, usize>> = Arc::default();
    // HTTP/1 only: a browser speaks HTTP/2 only over TLS, which a reverse proxy ends.
    let mut builder =
        hyper_util::server::conn::auto::Builder::new(TokioExecutor::new()).http1_only();
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(64 * 1024);
    let builder = Arc::new(builder);
    let graceful = GracefulShutdown::new();
    let mut backoff = Duration::from_millis(5);
    let mut last_logged: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(v) => { backoff = Duration::from_millis(5); v }
                Err(e) => {
                    metrics.reject("accept_error");
                    if last_logged.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                        tracing::warn!(error = %e, "accept failed; backing off");
                        last_logged = Some(Instant::now());
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Ok(total_permit) = total.clone().try_acquire_owned() else {
            metrics.reject("too_many_connections");
            continue;
        };
        let addr = if is_proxy(&limits.proxies, peer.ip()) {
            None
        } else {
            let key = host_key(peer.ip());
            let Some(place) =
                addr_place(&unauth_per_addr, key, limits.max_unauthenticated_per_addr)
            else {
                metrics.reject("too_many_unauthenticated_addr");
                continue;
            };
            Some(place)
        };
        let Ok(unauth_permit) = unauth.clone().try_acquire_owned() else {
            metrics.reject("too_many_unauthenticated");
            continue;
        };
        // Small frames must leave at once: without TCP_NODELAY, Nagle's algorithm holds a reply
        // until the previous segment is acknowledged (up to 40 ms with delayed ACKs).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let gate = Arc::new(ConnGate {
            total: std::sync::Mutex::new(Some(total_permit)),
            unauthenticated: std::sync::Mutex::new(Some(Unauthenticated {
                _permit: unauth_permit,
                _addr: addr,
            })),
        });
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            req.extensions_mut().insert(gate.clone());
            router.clone().oneshot(req)
        });
        let watcher = graceful.watcher();
        let builder = builder.clone();
        tokio::spawn(async move {
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(tcp), service);
            if let Err(e) = watcher.watch(conn).await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    on_shutdown.await;
    if tokio::time::timeout(Duration::from_secs(10), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some HTTP requests were still running after 10 s; closing them");
    }
}

/// Lowers `wanted` connections to what the open-files limit leaves after the store, static
/// files and logs (an eighth of the limit plus 64 descriptors are kept for them).
pub fn fit_to_fd_limit(wanted: usize) -> usize {
    match rlimit::getrlimit(rlimit::Resource::NOFILE) {
        Ok((soft, _)) => {
            let soft = usize::try_from(soft).unwrap_or(usize::MAX);
            let budget = soft.saturating_sub(soft / 8 + 64).max(16);
            wanted.min(budget)
        }
        Err(_) => wanted,
    }
}
