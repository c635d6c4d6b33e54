//! The write budget that spans an address's connections: update bytes per client address
//! (IPv6: /64) and by everyone together, and documents not in memory opened per address. GCRA
//! buckets (governor) with bytes as cells; the reader waits on them before a room sees a write.
//! Everyone's budget also listens to the disk: while the store's writer holds more than its
//! high-water mark ([`crate::store::Backlog`]), no update bytes are let in at all.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::time::Instant;

use super::host_key;
use crate::conn::CloseReason;
use crate::metrics::Metrics;
use crate::store::Backlog;

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
    /// The store's writer is behind: nobody's bytes go in until it catches up.
    Store,
}

/// Bytes written per address and by everyone, and cold documents opened per address: what one
/// client reconnecting, or spreading over many docs, cannot escape (per-connection buckets
/// start full on every connection). GCRA buckets (governor) with bytes as cells.
pub struct WriteBudget {
    per_addr: DefaultKeyedRateLimiter<IpAddr>,
    global: DefaultDirectRateLimiter,
    opens: DefaultKeyedRateLimiter<IpAddr>,
    /// The docs each address paid a cold open for within the last [`OPEN_MEMORY`]: a burst of
    /// phones behind one venue address joining the same board pays once, not once per phone
    /// that arrives before the room is in memory.
    opened: dashmap::DashMap<(IpAddr, Box<str>), Instant>,
    addr_burst: NonZeroU32,
    global_burst: NonZeroU32,
    /// What the store's writer has not made durable yet.
    backlog: Arc<Backlog>,
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
    /// A budget of `limits` that also waits for the store's `backlog` to drain.
    pub fn new(limits: WriteLimits, backlog: Arc<Backlog>) -> Self {
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
            opened: dashmap::DashMap::new(),
            addr_burst,
            global_burst,
            backlog,
        }
    }

    /// The store backlog this budget listens to.
    pub fn backlog(&self) -> &Backlog {
        &self.backlog
    }

    /// Pays for `take` from `addr`'s budget, then everyone's; `Err` says how long until the
    /// scope still unpaid can take it. A message larger than a burst pays the whole burst.
    /// While the store's backlog is saturated, a message that paid its address waits
    /// ([`Scope::Store`], no set time: until [`Backlog::resumed`]) before it pays everyone's.
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
            if self.backlog.saturated() {
                return Err((Duration::ZERO, Scope::Store));
            }
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
    /// The same doc opened again by the same address within [`OPEN_MEMORY`] is not charged again.
    pub fn may_open(&self, addr: IpAddr, doc: &str) -> Result<(), Duration> {
        let now = DefaultClock::default().now();
        let key = (host_key(addr), Box::<str>::from(doc));
        let seen = Instant::now();
        if self
            .opened
            .get(&key)
            .is_some_and(|at| seen.duration_since(*at) < OPEN_MEMORY)
        {
            return Ok(());
        }
        if self.opens.len() > 100_000 {
            self.opens.retain_recent();
        }
        if self.opened.len() > MAX_OPENED {
            self.opened
                .retain(|_, at| seen.duration_since(*at) < OPEN_MEMORY);
        }
        self.opens
            .check_key(&key.0)
            .map_err(|n| n.wait_time_from(now))?;
        if self.opened.len() <= MAX_OPENED {
            self.opened.insert(key, seen);
        }
        Ok(())
    }
}

/// Longest wait for the store's backlog before checking it again.
const STORE_RECHECK: Duration = Duration::from_secs(1);

/// How long a paid cold open of one doc by one address covers that address's next opens of it.
const OPEN_MEMORY: Duration = Duration::from_secs(60);
/// Most (address, doc) pairs remembered; past it, pairs older than [`OPEN_MEMORY`] are dropped
/// and no new pair is remembered until there is room (such opens are then charged each time).
const MAX_OPENED: usize = 100_000;

/// Waits until `bytes` of updates from `addr` fit the write budget: not reading is the throttle.
/// A connection whose address has kept it waiting for longer than `grace` is closed with 1013
/// (try again later: the web client reconnects, where 1008 would stop it, and a phone behind
/// the same NAT as a hostile writer has done nothing wrong); waiting for everyone's budget or
/// for the store's backlog never closes a connection (it is not this client's doing).
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
    let mut store_held = false;
    loop {
        match budget.take(addr, &mut take) {
            Ok(()) => {
                // Only a message that did not have to wait ends a run of waiting.
                if !waited {
                    *waiting_since = None;
                }
                return Ok(());
            }
            Err((_, Scope::Store)) => {
                // Counted once per message held, however long the writer takes.
                if !store_held {
                    metrics.reject("store_backlog");
                    store_held = true;
                }
                waited = true;
                // Woken when the backlog is back to its low mark; the timeout only bounds a
                // wake-up that could be missed, a message is never let in while saturated.
                let resumed = budget.backlog.resumed();
                let _ = tokio::time::timeout(STORE_RECHECK, resumed).await;
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
                        1013,
                        "your address is writing too fast, retry later",
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

    fn budget(addr_rate: u32, addr_burst: u32, global_rate: u32, global_burst: u32) -> WriteBudget {
        WriteBudget::new(
            WriteLimits {
                addr_bytes_per_sec: addr_rate,
                addr_burst_bytes: addr_burst,
                global_bytes_per_sec: global_rate,
                global_burst_bytes: global_burst,
                doc_opens_per_min: 2,
            },
            Arc::default(),
        )
    }

    #[test]
    fn a_saturated_store_holds_every_write_after_its_address_paid_and_before_everyone() {
        use crate::store::Marks;
        let b = budget(1_000_000, 1_000_000, 1_000_000, 1_000_000);
        let a: IpAddr = [10, 0, 0, 1].into();
        b.backlog.set_marks(Marks { high: 0, low: 0 });
        assert!(b.take(a, &mut WriteTake::new(10)).is_ok(), "0 turns it off");
        let low = Marks { high: 1, low: 0 };
        b.backlog.set_marks(low);
        let ticket = b.backlog.enter(1);
        let mut take = WriteTake::new(100);
        assert!(matches!(b.take(a, &mut take), Err((_, Scope::Store))));
        assert!(take.addr_paid && !take.global_paid);
        drop(ticket);
        assert!(
            b.take(a, &mut take).is_ok(),
            "paid once the writer caught up"
        );
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
        assert!(b.may_open(a, "w.one").is_ok());
        assert!(b.may_open(a, "w.two").is_ok());
        assert!(b.may_open(a, "w.three").is_err());
        assert!(b.may_open([10, 0, 0, 2].into(), "w.three").is_ok());
        // Opening a doc already paid for (a venue's phones joining one board) costs nothing.
        for _ in 0..10 {
            assert!(b.may_open(a, "w.one").is_ok());
        }
    }
}
