//! The join-code limits of a cluster: failures counted outside this process (its Redis,
//! `cluster::guesses`), so that a guesser spread over every node meets the same counts.

use std::net::IpAddr;
use std::time::Duration;

use futures_util::future::BoxFuture;

use super::{key_of, pow_zero_bits, Gate, GuessLimiter};

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

impl GuessLimiter {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::guess::tests::{limits, solve};

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
}
