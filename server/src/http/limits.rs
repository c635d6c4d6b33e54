//! Per-address and per-document connection caps, per-connection rate limiting, and the write
//! budget that spans connections: bytes written per client address and by everyone together,
//! and cold documents opened per address.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::time::Instant;

use crate::conn::CloseReason;
use crate::metrics::Metrics;

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

/// The write budget's sizes (see `--addr-write-bytes-per-sec` and the others).
#[derive(Debug, Clone, Copy)]
pub struct WriteLimits {
    /// Update bytes per second one address may write, sustained.
    pub addr_bytes_per_sec: u32,
    /// Update bytes one address may write at once above that.
    pub addr_burst_bytes: u32,
    /// Update bytes per second all addresses together may write, sustained.
    pub global_bytes_per_sec: u32,
    /// Update bytes all addresses together may write at once above that.
    pub global_burst_bytes: u32,
    /// Documents not in memory one address may open per minute.
    pub doc_opens_per_min: u32,
}

/// Whose budget a write waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The client address's own.
    Address,
    /// Everyone's together.
    Global,
}

/// Bytes written per address and by everyone, and cold documents opened per address: what one
/// client reconnecting, or spreading over many docs, cannot escape (per-connection buckets
/// start full on every connection). GCRA buckets (governor) with bytes as cells.
pub struct WriteBudget {
    per_addr: DefaultKeyedRateLimiter<IpAddr>,
    global: DefaultDirectRateLimiter,
    opens: DefaultKeyedRateLimiter<IpAddr>,
    addr_burst: NonZeroU32,
    global_burst: NonZeroU32,
}

/// One message's passage through the budget: which scopes it has already paid (a retry after
/// waiting must not pay twice).
#[derive(Debug)]
pub struct WriteTake {
    bytes: NonZeroU32,
    addr_paid: bool,
    global_paid: bool,
}

impl WriteTake {
    /// A message of `bytes`.
    pub fn new(bytes: usize) -> Self {
        let bytes = u32::try_from(bytes).unwrap_or(u32::MAX);
        WriteTake {
            bytes: NonZeroU32::new(bytes).unwrap_or(NonZeroU32::MIN),
            addr_paid: false,
            global_paid: false,
        }
    }
}

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

fn bytes_quota(per_sec: u32, burst: u32) -> Quota {
    Quota::per_second(nonzero(per_sec)).allow_burst(nonzero(burst.max(per_sec)))
}

impl WriteBudget {
    /// A budget of `limits`.
    pub fn new(limits: WriteLimits) -> Self {
        let addr_burst = nonzero(limits.addr_burst_bytes.max(limits.addr_bytes_per_sec));
        let global_burst = nonzero(limits.global_burst_bytes.max(limits.global_bytes_per_sec));
        let opens = nonzero(limits.doc_opens_per_min);
        let open_period = Duration::from_secs(60) / opens.get();
        WriteBudget {
            per_addr: RateLimiter::keyed(bytes_quota(limits.addr_bytes_per_sec, addr_burst.get())),
            global: RateLimiter::direct(bytes_quota(
                limits.global_bytes_per_sec,
                global_burst.get(),
            )),
            opens: RateLimiter::keyed(
                Quota::with_period(open_period.max(Duration::from_millis(1)))
                    .unwrap_or_else(|| Quota::per_second(opens))
                    .allow_burst(opens),
            ),
            addr_burst,
            global_burst,
        }
    }

    /// Pays for `take` from `addr`'s budget, then everyone's; `Err` says how long until the
    /// scope still unpaid can take it. A message larger than a burst pays the whole burst.
    pub fn take(&self, addr: IpAddr, take: &mut WriteTake) -> Result<(), (Duration, Scope)> {
        let now = DefaultClock::default().now();
        if !take.addr_paid {
            if self.per_addr.len() > 100_000 {
                self.per_addr.retain_recent();
            }
            let n = take.bytes.min(self.addr_burst);
            match self.per_addr.check_key_n(&host_key(addr), n) {
                Ok(Ok(())) | Err(_) => take.addr_paid = true,
                Ok(Err(not_until)) => return Err((not_until.wait_time_from(now), Scope::Address)),
            }
        }
        if !take.global_paid {
            let n = take.bytes.min(self.global_burst);
            match self.global.check_n(n) {
                Ok(Ok(())) | Err(_) => take.global_paid = true,
                Ok(Err(not_until)) => return Err((not_until.wait_time_from(now), Scope::Global)),
            }
        }
        Ok(())
    }

    /// Takes one cold document open (a doc not in memory) for `addr`; `Err` says how long to
    /// wait.
    pub fn may_open(&self, addr: IpAddr) -> Result<(), Duration> {
        let now = DefaultClock::default().now();
        if self.opens.len() > 100_000 {
            self.opens.retain_recent();
        }
        self.opens
            .check_key(&host_key(addr))
            .map_err(|n| n.wait_time_from(now))
    }
}

/// Waits until `bytes` of updates from `addr` fit the write budget: not reading is the throttle.
/// A connection whose address has kept it waiting for longer than `grace` is closed (1008);
/// waiting for everyone's budget never closes a connection (it is not this client's doing).
pub async fn throttle_write(
    budget: &WriteBudget,
    addr: IpAddr,
    bytes: usize,
    grace: Duration,
    waiting_since: &mut Option<Instant>,
    metrics: &Metrics,
) -> Result<(), CloseReason> {
    let mut take = WriteTake::new(bytes);
    let mut waited = false;
    loop {
        match budget.take(addr, &mut take) {
            Ok(()) => {
                // Only a message that did not have to wait ends a run of waiting.
                if !waited {
                    *waiting_since = None;
                }
                return Ok(());
            }
            Err((wait, Scope::Global)) => {
                metrics.reject("global_write_rate");
                waited = true;
                tokio::time::sleep(wait.clamp(Duration::from_millis(1), grace)).await;
            }
            Err((wait, Scope::Address)) => {
                metrics.reject("addr_write_rate");
                let now = Instant::now();
                let since = *waiting_since.get_or_insert(now);
                if now.saturating_duration_since(since) > grace {
                    metrics.reject("addr_write_flood");
                    return Err(CloseReason::new(
                        1008,
                        "your address is writing too fast, slow down",
                    ));
                }
                waited = true;
                tokio::time::sleep(wait.clamp(Duration::from_millis(1), grace)).await;
            }
        }
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

    fn budget(addr_rate: u32, addr_burst: u32, global_rate: u32, global_burst: u32) -> WriteBudget {
        WriteBudget::new(WriteLimits {
            addr_bytes_per_sec: addr_rate,
            addr_burst_bytes: addr_burst,
            global_bytes_per_sec: global_rate,
            global_burst_bytes: global_burst,
            doc_opens_per_min: 2,
        })
    }

    #[test]
    fn an_address_spends_its_own_write_burst_and_others_keep_theirs() {
        let b = budget(1000, 10_000, 1_000_000, 1_000_000);
        let a: IpAddr = [10, 0, 0, 1].into();
        let other: IpAddr = [10, 0, 0, 2].into();
        assert!(b.take(a, &mut WriteTake::new(6000)).is_ok());
        assert!(b.take(a, &mut WriteTake::new(4000)).is_ok());
        let Err((wait, Scope::Address)) = b.take(a, &mut WriteTake::new(2000)) else {
            panic!("the address's burst is spent");
        };
        assert!(wait > Duration::from_millis(500), "{wait:?}");
        assert!(b.take(other, &mut WriteTake::new(6000)).is_ok());
        // One /64 is one host.
        let v6a: IpAddr = "2001:db8:1:2::1".parse().expect("v6");
        let v6b: IpAddr = "2001:db8:1:2:ffff::9".parse().expect("v6");
        assert!(b.take(v6a, &mut WriteTake::new(10_000)).is_ok());
        assert!(b.take(v6b, &mut WriteTake::new(100)).is_err());
    }

    #[test]
    fn the_global_budget_binds_many_addresses_and_a_retry_pays_each_scope_once() {
        let b = budget(1_000_000, 1_000_000, 1000, 5000);
        let a: IpAddr = [10, 0, 0, 1].into();
        let c: IpAddr = [10, 0, 0, 3].into();
        assert!(b.take(a, &mut WriteTake::new(5000)).is_ok());
        let mut take = WriteTake::new(1000);
        assert!(matches!(b.take(c, &mut take), Err((_, Scope::Global))));
        assert!(take.addr_paid && !take.global_paid);
        // An oversized message pays a whole burst instead of never fitting.
        let big = budget(1000, 2000, 1_000_000, 1_000_000);
        assert!(big.take(a, &mut WriteTake::new(50_000)).is_ok());
        assert!(big.take(a, &mut WriteTake::new(10)).is_err());
    }

    #[test]
    fn cold_document_opens_are_counted_per_address() {
        let b = budget(1000, 1000, 1000, 1000);
        let a: IpAddr = [10, 0, 0, 1].into();
        assert!(b.may_open(a).is_ok());
        assert!(b.may_open(a).is_ok());
        assert!(b.may_open(a).is_err());
        assert!(b.may_open([10, 0, 0, 2].into()).is_ok());
    }
}
