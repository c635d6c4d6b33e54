//! The join-code guess limiter: punishes the guesser, not the venue.
//!
//! A venue's phones share one address, and an address's lookups cannot be told apart before the
//! code is checked: refusing (or slowing) an address refuses the honest people behind it, and
//! answering a locked-out address's correct codes while refusing its wrong ones tells a guesser
//! which is which. So past its free attempts an address is not locked out: each of its lookups
//! must carry a proof of work bound to the code it tries, which each phone computes for itself
//! (about a second). A correct code with its proof is always accepted; every extra guess costs
//! its sender work that doubles each time the address's failures double. All addresses together
//! are still capped per hour (the bound on distributed guessing). Arithmetic in ARCHITECTURE.md.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use futures_util::future::BoxFuture;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use rand::RngCore;
use sha1::{Digest, Sha1};

/// Limits on join-code guessing.
#[derive(Debug, Clone, Copy)]
pub struct GuessLimits {
    /// Wrong codes an address may try per `window` without a proof of work.
    pub per_address: u32,
    /// The window of the free attempts.
    pub window: Duration,
    /// How long after its last failure an address still needs a proof of work.
    pub lockout: Duration,
    /// Leading zero bits of the first proof of work; one more each time failures double.
    pub pow_bits: u32,
    /// Wrong codes accepted per hour from all addresses together; past it, code lookups pause
    /// for everyone (links and QR codes keep working).
    pub global_per_hour: u32,
}

/// Whether a lookup may go on to check its code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// Check the code.
    Open,
    /// This address must first prove work: SHA-1(`challenge:code:nonce`) with `bits` leading
    /// zero bits, sent back as `?pow=nonce`.
    Pow {
        /// Hex challenge of this address.
        challenge: String,
        /// Leading zero bits required.
        bits: u32,
    },
    /// Too many wrong codes from everyone this hour: retry after this long.
    Paused(Duration),
}

struct Suspect {
    failures: u32,
    last_failure: Instant,
    challenge: String,
}

/// Counts wrong join codes per address (IPv6 per /64) and decides when proofs of work are due.
pub struct GuessLimiter {
    limits: GuessLimits,
    free: RateLimiter<
        IpAddr,
        DefaultKeyedStateStore<IpAddr>,
        DefaultClock,
        StateInformationMiddleware,
    >,
    global: DefaultDirectRateLimiter,
    /// When the global cap was hit, until when lookups pause.
    paused_until: std::sync::Mutex<Option<Instant>>,
    suspects: DashMap<IpAddr, Suspect>,
    /// Counts kept for the whole cluster (its Redis), when this node is one of several.
    shared: std::sync::OnceLock<std::sync::Arc<dyn SharedGuesses>>,
}

/// Join-code failures counted outside this process (a cluster's Redis), so that every node
/// applies the same limits: an address's failures within the lockout, everyone's this hour.
pub trait SharedGuesses: Send + Sync {
    /// The counts that decide a lookup from `key` (an address, IPv6 as its /64).
    fn counts(&self, key: IpAddr) -> BoxFuture<'_, Result<SharedCounts, String>>;
    /// Counts one wrong code from `key`; its count lives `lockout` after its last failure.
    fn fail(&self, key: IpAddr, lockout: Duration) -> BoxFuture<'_, Result<(), String>>;
}

/// What [`SharedGuesses::counts`] answers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SharedCounts {
    /// Wrong codes from this address since it was last quiet for the lockout.
    pub address: u32,
    /// Wrong codes from everyone in the current hour.
    pub global: u32,
    /// Until the hour's count starts again.
    pub global_reset: Duration,
    /// The address's proof-of-work challenge (shared, so a proof made for one node is good on
    /// every node).
    pub challenge: Option<String>,
}

/// An IPv6 client controls its whole /64: count it as one address.
fn key_of(addr: IpAddr) -> IpAddr {
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

fn quota(n: u32, per: Duration) -> Quota {
    let n = NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN);
    let period = per / n.get();
    Quota::with_period(period.max(Duration::from_micros(1)))
        .unwrap_or_else(|| Quota::per_second(n))
        .allow_burst(n)
}

/// Leading zero bits of SHA-1(`challenge:code:nonce`).
pub fn pow_zero_bits(challenge: &str, code: &str, nonce: &str) -> u32 {
    let mut h = Sha1::new();
    h.update(challenge.as_bytes());
    h.update(b":");
    h.update(code.as_bytes());
    h.update(b":");
    h.update(nonce.as_bytes());
    let digest = h.finalize();
    let mut bits = 0;
    for byte in digest {
        if byte == 0 {
            bits += 8;
            continue;
        }
        bits += byte.leading_zeros();
        break;
    }
    bits
}

impl GuessLimiter {
    /// A limiter with `limits`.
    pub fn new(limits: GuessLimits) -> Self {
        GuessLimiter {
            limits,
            free: RateLimiter::keyed(quota(limits.per_address, limits.window))
                .with_middleware::<StateInformationMiddleware>(),
            global: RateLimiter::direct(quota(limits.global_per_hour, Duration::from_secs(3600))),
            paused_until: std::sync::Mutex::new(None),
            suspects: DashMap::new(),
            shared: std::sync::OnceLock::new(),
        }
    }

    /// Counts failures in `shared` from now on (a cluster node); once.
    pub fn share(&self, shared: std::sync::Arc<dyn SharedGuesses>) {
        let _ = self.shared.set(shared);
    }

    /// [`GuessLimiter::gate`], on the cluster's counts when shared (this node's own when the
    /// shared counts cannot be read: the limits then hold per node, as on a single node).
    pub async fn check(&self, addr: IpAddr, code: &str, pow: Option<&str>) -> Gate {
        if let Some(shared) = self.shared.get() {
            match shared.counts(key_of(addr)).await {
                Ok(counts) => return self.gate_counted(&counts, code, pow),
                Err(error) => {
                    tracing::warn!(%error, "join-code counts unreadable in Redis: limiting on this node's own")
                }
            }
        }
        self.gate(addr, code, pow)
    }

    /// [`GuessLimiter::fail`], counted in the cluster's counts when shared.
    pub async fn record_failure(&self, addr: IpAddr) {
        if let Some(shared) = self.shared.get() {
            match shared.fail(key_of(addr), self.limits.lockout).await {
                Ok(()) => return,
                Err(error) => {
                    tracing::warn!(%error, "join-code failure not counted in Redis: counted on this node")
                }
            }
        }
        self.fail(addr);
    }

    /// The verdict on a lookup, given the cluster's counts.
    pub fn gate_counted(&self, counts: &SharedCounts, code: &str, pow: Option<&str>) -> Gate {
        if counts.global >= self.limits.global_per_hour {
            return Gate::Paused(counts.global_reset);
        }
        let Some(challenge) = counts
            .challenge
            .as_ref()
            .filter(|_| counts.address >= self.limits.per_address)
        else {
            return Gate::Open;
        };
        let bits = self.bits_for(counts.address);
        let proved = pow
            .filter(|n| n.len() <= 32)
            .is_some_and(|n| pow_zero_bits(challenge, code, n) >= bits);
        if proved {
            Gate::Open
        } else {
            Gate::Pow {
                challenge: challenge.clone(),
                bits,
            }
        }
    }

    fn bits_for(&self, failures: u32) -> u32 {
        let over = failures / self.limits.per_address.max(1);
        // +1 bit per doubling of failures past the free allowance, at most +8.
        let extra = (u32::BITS - over.max(1).leading_zeros()).saturating_sub(1);
        (self.limits.pow_bits + extra.min(8)).min(40)
    }

    /// Whether a lookup of `code` from `addr` carrying `pow` (a nonce) may be checked.
    pub fn gate(&self, addr: IpAddr, code: &str, pow: Option<&str>) -> Gate {
        let now = Instant::now();
        if let Ok(p) = self.paused_until.lock() {
            if let Some(until) = *p {
                if until > now {
                    return Gate::Paused(until - now);
                }
            }
        }
        let key = key_of(addr);
        let Some(s) = self.suspects.get(&key) else {
            return Gate::Open;
        };
        if now.duration_since(s.last_failure) > self.limits.lockout {
            drop(s);
            self.suspects.remove_if(&key, |_, s| {
                now.duration_since(s.last_failure) > self.limits.lockout
            });
            return Gate::Open;
        }
        let bits = self.bits_for(s.failures);
        let proved = pow
            .filter(|n| n.len() <= 32)
            .is_some_and(|n| pow_zero_bits(&s.challenge, code, n) >= bits);
        if proved {
            Gate::Open
        } else {
            Gate::Pow {
                challenge: s.challenge.clone(),
                bits,
            }
        }
    }

    /// Records a wrong code from `addr`.
    pub fn fail(&self, addr: IpAddr) {
        let now = Instant::now();
        if let Err(not_until) = self.global.check() {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            if let Ok(mut p) = self.paused_until.lock() {
                *p = Some(now + wait);
            }
        }
        let key = key_of(addr);
        let mut suspect = self.suspects.get_mut(&key);
        if let Some(s) = suspect.as_mut() {
            s.failures = s.failures.saturating_add(1);
            s.last_failure = now;
            return;
        }
        drop(suspect);
        // The failure that uses the last free attempt makes the address a suspect.
        if self
            .free
            .check_key(&key)
            .is_ok_and(|state| state.remaining_burst_capacity() > 0)
        {
            return;
        }
        if self.suspects.len() > 100_000 {
            self.prune();
        }
        let mut challenge = [0u8; 12];
        rand::rng().fill_bytes(&mut challenge);
        let challenge = challenge.iter().map(|b| format!("{b:02x}")).collect();
        self.suspects.insert(
            key,
            Suspect {
                failures: self.limits.per_address.max(1),
                last_failure: now,
                challenge,
            },
        );
    }

    /// Forgets addresses whose failures no longer matter, so the tables cannot grow without bound.
    pub fn prune(&self) {
        let now = Instant::now();
        let lockout = self.limits.lockout;
        self.suspects
            .retain(|_, s| now.duration_since(s.last_failure) <= lockout);
        self.free.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> GuessLimits {
        GuessLimits {
            per_address: 3,
            window: Duration::from_secs(600),
            lockout: Duration::from_secs(600),
            pow_bits: 8,
            global_per_hour: 1000,
        }
    }

    fn solve(challenge: &str, code: &str, bits: u32) -> String {
        (0u64..)
            .map(|n| n.to_string())
            .find(|n| pow_zero_bits(challenge, code, n) >= bits)
            .unwrap_or_default()
    }

    #[test]
    fn past_the_free_attempts_a_lookup_needs_work_and_a_right_code_with_work_passes() {
        let l = GuessLimiter::new(limits());
        let venue: IpAddr = [10, 0, 0, 1].into();
        let other: IpAddr = [10, 0, 0, 2].into();
        for _ in 0..3 {
            assert_eq!(l.gate(venue, "AAAAAA", None), Gate::Open);
            l.fail(venue);
        }
        let Gate::Pow { challenge, bits } = l.gate(venue, "KKKKKK", None) else {
            panic!("a proof of work is due");
        };
        assert_eq!(bits, 8);
        assert_eq!(l.gate(other, "KKKKKK", None), Gate::Open);
        let nonce = solve(&challenge, "KKKKKK", bits);
        assert_eq!(l.gate(venue, "KKKKKK", Some(&nonce)), Gate::Open);
        // The proof is bound to its code: another guess needs its own.
        assert!(matches!(
            l.gate(venue, "MMMMMM", Some(&nonce)),
            Gate::Pow { .. }
        ));
    }

    #[test]
    fn the_web_clients_proof_is_accepted() {
        // web/tests/unit/pow.test.ts finds nonce "b4" for these with 12 bits.
        assert!(pow_zero_bits("0a1b2c", "K7M3QX", "b4") >= 12);
    }

    #[test]
    fn work_doubles_as_failures_double() {
        let l = GuessLimiter::new(limits());
        assert_eq!(l.bits_for(3), 8);
        assert_eq!(l.bits_for(6), 9);
        assert_eq!(l.bits_for(12), 10);
        assert_eq!(l.bits_for(u32::MAX), 16);
    }

    #[test]
    fn an_ipv6_client_counts_as_its_slash_64() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap_or(IpAddr::from([0u8; 16]));
        let b: IpAddr = "2001:db8:1:2:ffff::9"
            .parse()
            .unwrap_or(IpAddr::from([0u8; 16]));
        assert_eq!(key_of(a), key_of(b));
    }

    #[test]
    fn shared_counts_decide_like_local_ones() {
        let l = GuessLimiter::new(limits());
        let mut c = SharedCounts {
            address: 2,
            challenge: Some("ab".into()),
            ..SharedCounts::default()
        };
        assert_eq!(l.gate_counted(&c, "KKKKKK", None), Gate::Open);
        c.address = 3;
        let Gate::Pow { challenge, bits } = l.gate_counted(&c, "KKKKKK", None) else {
            panic!("a proof of work is due");
        };
        assert_eq!((challenge.as_str(), bits), ("ab", 8));
        let nonce = solve("ab", "KKKKKK", bits);
        assert_eq!(l.gate_counted(&c, "KKKKKK", Some(&nonce)), Gate::Open);
        c.global = 1000;
        c.global_reset = Duration::from_secs(60);
        assert_eq!(
            l.gate_counted(&c, "KKKKKK", Some(&nonce)),
            Gate::Paused(Duration::from_secs(60))
        );
    }

    #[test]
    fn many_addresses_together_hit_the_global_cap() {
        let l = GuessLimiter::new(GuessLimits {
            per_address: 100,
            global_per_hour: 5,
            ..limits()
        });
        for i in 0..6u8 {
            l.fail([10, 0, 1, i].into());
        }
        assert!(matches!(
            l.gate([10, 0, 2, 1].into(), "AAAAAA", None),
            Gate::Paused(_)
        ));
    }
}
