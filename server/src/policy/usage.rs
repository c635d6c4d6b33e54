//! Stored bytes per workshop, against its quota (`--workshop-quota-bytes`). The count is read
//! from the store now and then (an async caller refreshes it: the WebSocket upgrade, the REST
//! API) and grows in between by every update a policy accepts, so the check itself is a map
//! lookup on the room's task. No IO.

use std::time::{Duration, Instant};

use dashmap::DashMap;

/// How old a stored count may be before a caller that can wait refreshes it.
pub(crate) const REFRESH_AFTER: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// As last read from the store.
    stored: u64,
    /// Accepted since then.
    since: u64,
    read_at: Instant,
}

/// Stored bytes per workshop.
#[derive(Debug)]
pub struct Usage {
    quota: u64,
    workshops: DashMap<String, Entry>,
}

impl Usage {
    /// Counts against `quota` bytes per workshop.
    pub fn new(quota: u64) -> Self {
        Usage {
            quota,
            workshops: DashMap::new(),
        }
    }

    /// The quota, in bytes.
    pub fn quota(&self) -> u64 {
        self.quota
    }

    /// Best known bytes stored for `wid` (0 if never read).
    pub fn used(&self, wid: &str) -> u64 {
        self.workshops
            .get(wid)
            .map_or(0, |e| e.stored.saturating_add(e.since))
    }

    /// Whether `wid` has reached its quota.
    pub fn over(&self, wid: &str) -> bool {
        self.used(wid) >= self.quota
    }

    /// An update of `bytes` was accepted for `wid`.
    pub fn add(&self, wid: &str, bytes: u64) {
        if let Some(mut e) = self.workshops.get_mut(wid) {
            e.since = e.since.saturating_add(bytes);
        }
    }

    /// Whether the stored count of `wid` is missing or older than [`REFRESH_AFTER`].
    pub fn stale(&self, wid: &str, now: Instant) -> bool {
        self.workshops
            .get(wid)
            .is_none_or(|e| now.saturating_duration_since(e.read_at) >= REFRESH_AFTER)
    }

    /// The store says `wid` holds `stored` bytes.
    pub fn set(&self, wid: &str, stored: u64, now: Instant) {
        self.workshops.insert(
            wid.to_string(),
            Entry {
                stored,
                since: 0,
                read_at: now,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_stored_plus_accepted_and_goes_stale() {
        let u = Usage::new(100);
        let t = Instant::now();
        assert!(u.stale("w", t));
        u.add("w", 50);
        assert_eq!(u.used("w"), 0, "nothing counted before the first read");
        u.set("w", 60, t);
        assert!(!u.over("w"));
        u.add("w", 40);
        assert!(u.over("w"));
        assert!(!u.stale("w", t + Duration::from_secs(1)));
        assert!(u.stale("w", t + REFRESH_AFTER));
        u.set("w", 10, t + REFRESH_AFTER);
        assert!(!u.over("w"), "a compaction shrank it");
    }
}
