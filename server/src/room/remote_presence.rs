//! Presence announced on other nodes of a cluster, as their relays published it (no IO).
//!
//! Kept apart from the room's own table (`presence.rs`), which owns states per local
//! connection: these states belong to no connection here, are never published again (so
//! nodes cannot echo each other), and leave when their node says so (a client left there) or
//! when their node stops renewing them (it died): after `awareness_timeout`, as a client would
//! drop them itself. Bounded like the local table: per state and per doc, in bytes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use yrs::sync::awareness::{AwarenessUpdate, AwarenessUpdateEntry};
use yrs::ClientID;

struct Entry {
    clock: u32,
    /// `None`: removed (a tombstone, so a late copy cannot bring it back).
    json: Option<Arc<str>>,
    seen: Instant,
}

/// Other nodes' presence states for one doc.
#[derive(Default)]
pub(crate) struct RemotePresence {
    entries: HashMap<ClientID, Entry>,
    bytes: usize,
    state_bytes: usize,
    doc_bytes: usize,
}

impl RemotePresence {
    /// A table that keeps states of at most `state_bytes`, `doc_bytes` in all.
    pub(crate) fn new(state_bytes: usize, doc_bytes: usize) -> Self {
        RemotePresence {
            state_bytes,
            doc_bytes,
            ..RemotePresence::default()
        }
    }

    /// Takes what another node published; returns what is new, to relay to local connections.
    pub(crate) fn apply(
        &mut self,
        update: AwarenessUpdate,
        now: Instant,
    ) -> Option<AwarenessUpdate> {
        let mut relay = HashMap::new();
        for (client, entry) in update.clients {
            let is_null = &*entry.json == "null";
            let current = self.entries.get(&client);
            let newer = match current {
                None => !is_null,
                Some(cur) => {
                    cur.clock < entry.clock
                        || (cur.clock == entry.clock && is_null && cur.json.is_some())
                }
            };
            if !newer {
                // A renewal of what we hold keeps it alive.
                if let Some(cur) = self.entries.get_mut(&client) {
                    if cur.clock == entry.clock && cur.json.is_some() {
                        cur.seen = now;
                    }
                }
                continue;
            }
            let old = current.and_then(|e| e.json.as_ref()).map_or(0, |j| j.len());
            let new = if is_null { 0 } else { entry.json.len() };
            if !is_null && (new > self.state_bytes || self.bytes - old + new > self.doc_bytes) {
                continue;
            }
            self.bytes = self.bytes - old + new;
            self.entries.insert(
                client,
                Entry {
                    clock: entry.clock,
                    json: (!is_null).then(|| entry.json.clone()),
                    seen: now,
                },
            );
            relay.insert(client, entry);
        }
        (!relay.is_empty()).then_some(AwarenessUpdate { clients: relay })
    }

    /// Removes states not renewed for `timeout` (their node died or lost Redis); returns the
    /// removals to relay. Tombstones are forgotten after twice that.
    pub(crate) fn expire(&mut self, now: Instant, timeout: Duration) -> Option<AwarenessUpdate> {
        let mut removed = HashMap::new();
        for (client, e) in &mut self.entries {
            if let Some(json) = &e.json {
                if now.duration_since(e.seen) >= timeout {
                    self.bytes = self.bytes.saturating_sub(json.len());
                    e.clock = e.clock.wrapping_add(1);
                    e.json = None;
                    e.seen = now;
                    removed.insert(
                        *client,
                        AwarenessUpdateEntry {
                            clock: e.clock,
                            json: Arc::from("null"),
                        },
                    );
                }
            }
        }
        self.entries
            .retain(|_, e| e.json.is_some() || now.duration_since(e.seen) < timeout * 2);
        (!removed.is_empty()).then_some(AwarenessUpdate { clients: removed })
    }

    /// Every remote state present, for a newcomer or a query.
    pub(crate) fn snapshot(&self) -> Option<AwarenessUpdate> {
        crate::presence::present_states(self.entries.iter().map(|(c, e)| (*c, e.clock, &e.json)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(client: u64, clock: u32, json: &str) -> AwarenessUpdate {
        let mut clients = HashMap::new();
        clients.insert(
            ClientID::new(client),
            AwarenessUpdateEntry {
                clock,
                json: Arc::from(json),
            },
        );
        AwarenessUpdate { clients }
    }

    #[test]
    fn a_remote_state_is_relayed_once_removed_on_its_nodes_word_and_not_resurrected() {
        let mut p = RemotePresence::new(4096, 1 << 20);
        let now = Instant::now();
        assert!(p.apply(update(7, 1, r#"{"n":"B"}"#), now).is_some());
        assert!(
            p.apply(update(7, 1, r#"{"n":"B"}"#), now).is_none(),
            "a duplicate"
        );
        assert!(p.snapshot().is_some());
        assert!(p.apply(update(7, 2, "null"), now).is_some());
        assert!(p.snapshot().is_none());
        assert!(
            p.apply(update(7, 1, r#"{"n":"B"}"#), now).is_none(),
            "a late copy"
        );
    }

    #[test]
    fn a_dead_nodes_states_expire_and_renewals_keep_the_living() {
        let mut p = RemotePresence::new(4096, 1 << 20);
        let t0 = Instant::now();
        let timeout = Duration::from_secs(30);
        p.apply(update(1, 1, r#"{"n":"renewed"}"#), t0);
        p.apply(update(2, 1, r#"{"n":"dead"}"#), t0);
        p.apply(
            update(1, 2, r#"{"n":"renewed"}"#),
            t0 + Duration::from_secs(20),
        );
        let gone = p.expire(t0 + Duration::from_secs(31), timeout);
        let gone = gone.map(|u| u.clients.keys().copied().collect::<Vec<_>>());
        assert_eq!(gone, Some(vec![ClientID::new(2)]));
        let left = p.snapshot().map(|u| u.clients.len());
        assert_eq!(left, Some(1));
    }

    #[test]
    fn states_past_the_budgets_are_not_kept() {
        let mut p = RemotePresence::new(8, 12);
        let now = Instant::now();
        assert!(p.apply(update(1, 1, "\"0123456789\""), now).is_none());
        assert!(p.apply(update(2, 1, "\"012345\""), now).is_some());
        assert!(p.apply(update(3, 1, "\"012345\""), now).is_none());
    }
}
