//! Per-address and per-document connection caps, per-connection rate limiting, and (in
//! `writes`) the write budget that spans connections: bytes written per client address and by
//! everyone together, and cold documents opened per address.

mod writes;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use tokio::time::Instant;

pub use writes::{throttle_write, Scope, WriteBudget, WriteLimits, WriteTake};

/// Counts open connections per client address and per document.
#[derive(Debug, Default)]
pub struct ConnLimits {
    per_addr: DashMap<IpAddr, usize>,
    per_doc: DashMap<String, usize>,
}

/// Which cap a new connection would break.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Over {
    /// Too many connections from this address.
    Address,
    /// Too many connections on this document.
    Document,
}

/// Holds one connection's place; gives it back on drop.
#[derive(Debug)]
pub struct ConnSlot {
    limits: Arc<ConnLimits>,
    addr: IpAddr,
    doc: String,
}

impl ConnSlot {
    /// The client address the place is counted against.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        release(&self.limits.per_addr, &self.addr);
        release(&self.limits.per_doc, &self.doc);
    }
}

fn release<K: std::hash::Hash + Eq>(map: &DashMap<K, usize>, key: &K) {
    map.remove_if_mut(key, |_, n| {
        *n = n.saturating_sub(1);
        *n == 0
    });
}

/// Takes a place for a connection from `addr` to `doc`, unless a cap is reached.
pub fn acquire(
    limits: &Arc<ConnLimits>,
    addr: IpAddr,
    doc: &str,
    max_per_addr: usize,
    max_per_doc: usize,
) -> Result<ConnSlot, Over> {
    {
        let mut a = limits.per_addr.entry(addr).or_insert(0);
        if *a >= max_per_addr {
            return Err(Over::Address);
        }
        *a += 1;
    }
    {
        let mut d = limits.per_doc.entry(doc.to_string()).or_insert(0);
        if *d >= max_per_doc {
            drop(d);
            release(&limits.per_addr, &addr);
            return Err(Over::Document);
        }
        *d += 1;
    }
    Ok(ConnSlot {
        limits: limits.clone(),
        addr,
        doc: doc.to_string(),
    })
}

/// A token bucket that throttles a connection, and notices when it is flooding.
#[derive(Debug)]
pub struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
    /// Since when every message has had to wait for a token.
    throttled_since: Option<Instant>,
}

/// What to do with one message.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    /// Go ahead.
    Pass,
    /// Wait this long first (throttled).
    Wait(Duration),
    /// The connection has been throttled without pause for longer than the grace: close it.
    Flood,
}

impl Bucket {
    /// A full bucket refilling `rate` tokens per second, holding at most `burst`.
    pub fn new(rate: f64, burst: f64) -> Self {
        let burst = burst.max(1.0);
        Bucket {
            rate: rate.max(0.001),
            burst,
            tokens: burst,
            last: Instant::now(),
            throttled_since: None,
        }
    }

    /// Takes a token for one message.
    pub fn take(&mut self, now: Instant, grace: Duration) -> Verdict {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            self.throttled_since = None;
            return Verdict::Pass;
        }
        let since = *self.throttled_since.get_or_insert(now);
        if now.saturating_duration_since(since) > grace {
            return Verdict::Flood;
        }
        Verdict::Wait(Duration::from_secs_f64(-self.tokens / self.rate))
    }
}

/// An IPv6 client controls its whole /64: its budgets are shared by the prefix.
pub fn host_key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_per_address_and_per_doc_and_release_on_drop() {
        let limits = Arc::new(ConnLimits::default());
        let a: IpAddr = [127, 0, 0, 1].into();
        let b: IpAddr = [127, 0, 0, 2].into();
        let s1 = acquire(&limits, a, "d", 2, 3).expect("first");
        let _s2 = acquire(&limits, a, "d", 2, 3).expect("second");
        assert_eq!(acquire(&limits, a, "d", 2, 3).err(), Some(Over::Address));
        let _s3 = acquire(&limits, b, "d", 2, 3).expect("other address");
        assert_eq!(acquire(&limits, b, "d", 2, 3).err(), Some(Over::Document));
        drop(s1);
        assert!(acquire(&limits, a, "d", 2, 3).is_ok());
    }

    #[test]
    fn bucket_passes_a_burst_then_throttles_then_detects_a_flood() {
        let start = Instant::now();
        let mut b = Bucket::new(10.0, 5.0);
        let grace = Duration::from_secs(2);
        for _ in 0..5 {
            assert_eq!(b.take(start, grace), Verdict::Pass);
        }
        assert!(matches!(b.take(start, grace), Verdict::Wait(_)));
        // Paced at the rate, it recovers.
        assert_eq!(
            b.take(start + Duration::from_millis(300), grace),
            Verdict::Pass
        );
        // Sending flat out for longer than the grace is a flood.
        let mut t = start + Duration::from_millis(300);
        let mut verdict = Verdict::Pass;
        for _ in 0..10_000 {
            t += Duration::from_millis(1);
            verdict = b.take(t, grace);
            if verdict == Verdict::Flood {
                break;
            }
        }
        assert_eq!(verdict, Verdict::Flood);
    }
}
