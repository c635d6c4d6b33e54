//! Who is here: one room's awareness (presence) table, with the y-protocols ordering rules.
//! No IO: the room feeds it what connections send and relays what it hands back.
//!
//! Three rules beyond "newest clock wins" keep presence honest with real y-websocket peers:
//! - a departed client leaves a *tombstone* (its last clock), so a late echo of its old state,
//!   which peers re-broadcast, cannot bring it back;
//! - a state belongs to the connection that last set it: when a client reconnects on a new
//!   socket before the old one is noticed dead, the old socket closing removes nothing;
//! - renewals (same state, newer clock) are relayed in bulk every few seconds, which keeps them
//!   inside the receivers' 30 s timeout at a fraction of the frames.
//!
//! On a workshop's docs a connection's [`PresenceRights`] (from `policy::presence_rights`) also
//! hold: a client id is claimed by the first connection that sets it, and only a connection of
//! the same device may take it over (a phone reconnecting on a new socket) or remove it; the
//! `screen` a state announces must be one the connection's role may show, and its `id` must be
//! the connection's device id. Anything else is dropped (`presence_not_owner`,
//! `presence_forged`), so nobody can overwrite someone else's presence or pose as the projector.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use yrs::sync::awareness::{AwarenessUpdate, AwarenessUpdateEntry};
use yrs::ClientID;

use crate::conn::ConnId;

struct Entry {
    clock: u32,
    /// `None` once the client left: a tombstone that only a newer clock can replace.
    json: Option<Arc<str>>,
    renewed: Instant,
    owner: ConnId,
    /// The owner's device, which may take the client id over from a new connection.
    device: Option<Arc<str>>,
}

/// What one connection may announce.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct PresenceRights {
    /// Its device id; a state's `id` must equal it.
    pub(crate) device: Option<Arc<str>>,
    /// The `screen` values it may announce; `None` = any.
    pub(crate) screens: Option<&'static [&'static str]>,
    /// Client ids are owned (a workshop's docs); `false` on open docs, where newest wins.
    pub(crate) strict: bool,
}

impl PresenceRights {
    /// No checks: an open doc.
    pub(crate) fn open() -> Self {
        PresenceRights::default()
    }

    /// Whether a state's content is one this connection may announce.
    fn allows(&self, json: &str) -> bool {
        if !self.strict {
            return true;
        }
        let Ok(serde_json::Value::Object(state)) = serde_json::from_str::<serde_json::Value>(json)
        else {
            return true;
        };
        let screen_ok = match (state.get("screen"), self.screens) {
            (None, _) | (_, None) => true,
            (Some(serde_json::Value::String(s)), Some(allowed)) => allowed.contains(&s.as_str()),
            (Some(_), Some(_)) => false,
        };
        let id_ok = match (state.get("id"), &self.device) {
            (None, _) | (_, None) => true,
            (Some(serde_json::Value::String(id)), Some(device)) => id == &**device,
            (Some(_), Some(_)) => false,
        };
        screen_ok && id_ok
    }
}

/// A state set or removed on a client id another device owns.
pub(crate) const NOT_OWNER: &str = "presence_not_owner";
/// A state announcing a screen or an id the connection may not claim.
pub(crate) const FORGED: &str = "presence_forged";

/// Client ids one connection may own: a browser tab has one; more is a flood.
const MAX_OWNED: usize = 8;

/// Bytes a room's presence may take: one state, and all states together (which is also the
/// most a newcomer's first presence frame carries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PresenceLimits {
    /// Largest state accepted (a name, a colour and a cursor are ~200 bytes).
    pub(crate) state_bytes: usize,
    /// Most bytes of live states in one doc.
    pub(crate) doc_bytes: usize,
}

impl Default for PresenceLimits {
    fn default() -> Self {
        PresenceLimits {
            state_bytes: 4 * 1024,
            doc_bytes: 256 * 1024,
        }
    }
}

/// Why a state was dropped (a `palabre_rejected_total` reason).
pub(crate) const STATE_TOO_BIG: &str = "presence_state_too_big";
/// The doc's presence budget is spent.
pub(crate) const DOC_FULL: &str = "presence_doc_full";

/// One room's presence states and what is waiting to be relayed.
#[derive(Default)]
pub(crate) struct Presence {
    limits: PresenceLimits,
    /// Bytes of live states.
    bytes: usize,
    /// Reasons of states dropped since the last [`Presence::take_drops`].
    drops: Vec<&'static str>,
    entries: HashMap<ClientID, Entry>,
    /// How many live states each connection owns.
    owned: HashMap<ConnId, usize>,
    changes: HashMap<ClientID, AwarenessUpdateEntry>,
    renewals: HashMap<ClientID, AwarenessUpdateEntry>,
    renewals_flushed: Option<Instant>,
}

fn null() -> Arc<str> {
    Arc::from("null")
}

impl Presence {
    /// An empty table with these limits.
    pub(crate) fn with_limits(limits: PresenceLimits) -> Self {
        Presence {
            limits,
            ..Presence::default()
        }
    }

    /// Why states were dropped since the last call (one reason per state).
    pub(crate) fn take_drops(&mut self) -> Vec<&'static str> {
        std::mem::take(&mut self.drops)
    }

    /// Bytes of live states now.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Applies what connection `conn`, with `rights`, announced. Returns true when something
    /// must be relayed soon.
    pub(crate) fn apply(
        &mut self,
        conn: ConnId,
        rights: &PresenceRights,
        update: AwarenessUpdate,
        now: Instant,
    ) -> bool {
        for (client, entry) in update.clients {
            let is_null = &*entry.json == "null";
            if rights.strict {
                let foreign = self.entries.get(&client).is_some_and(|cur| {
                    cur.owner != conn && (cur.device.is_none() || cur.device != rights.device)
                });
                if foreign {
                    self.drops.push(NOT_OWNER);
                    continue;
                }
                if !is_null && !rights.allows(&entry.json) {
                    self.drops.push(FORGED);
                    continue;
                }
            }
            let newer = match self.entries.get(&client) {
                None => !is_null,
                Some(cur) => {
                    cur.clock < entry.clock
                        || (cur.clock == entry.clock && is_null && cur.json.is_some())
                }
            };
            if !newer {
                continue;
            }
            let old_len = self
                .entries
                .get(&client)
                .and_then(|e| e.json.as_ref())
                .map_or(0, |j| j.len());
            if !is_null {
                let len = entry.json.len();
                if len > self.limits.state_bytes {
                    self.drops.push(STATE_TOO_BIG);
                    continue;
                }
                if self.bytes - old_len + len > self.limits.doc_bytes {
                    self.drops.push(DOC_FULL);
                    continue;
                }
            }
            let previous_owner = self
                .entries
                .get(&client)
                .filter(|e| e.json.is_some())
                .map(|e| e.owner);
            if !is_null && previous_owner != Some(conn) {
                let count = self.owned.entry(conn).or_default();
                if *count >= MAX_OWNED {
                    continue;
                }
                *count += 1;
                if let Some(before) = previous_owner {
                    self.disown(before);
                }
            } else if is_null && previous_owner.is_some() {
                if let Some(before) = previous_owner {
                    self.disown(before);
                }
            }
            let new_len = if is_null { 0 } else { entry.json.len() };
            self.bytes = self.bytes - old_len + new_len;
            let renewal = !is_null
                && self
                    .entries
                    .get(&client)
                    .is_some_and(|cur| cur.json.as_deref() == Some(&*entry.json));
            self.entries.insert(
                client,
                Entry {
                    clock: entry.clock,
                    json: (!is_null).then(|| entry.json.clone()),
                    renewed: now,
                    owner: conn,
                    device: rights.device.clone(),
                },
            );
            if renewal {
                self.renewals.insert(client, entry);
            } else {
                self.renewals.remove(&client);
                self.changes.insert(client, entry);
            }
        }
        !self.changes.is_empty()
    }

    /// Connection `conn` closed: the states it still owns are removed. Returns true when
    /// something must be relayed soon.
    pub(crate) fn forget_conn(&mut self, conn: ConnId, now: Instant) -> bool {
        let gone: Vec<ClientID> = self
            .entries
            .iter()
            .filter(|(_, e)| e.owner == conn && e.json.is_some())
            .map(|(c, _)| *c)
            .collect();
        for client in gone {
            self.remove(client, now);
        }
        !self.changes.is_empty()
    }

    /// Removes states not renewed for `timeout`, and forgets tombstones after twice that.
    /// Returns true when something must be relayed soon.
    pub(crate) fn expire(&mut self, now: Instant, timeout: Duration) -> bool {
        let stale: Vec<ClientID> = self
            .entries
            .iter()
            .filter(|(_, e)| e.json.is_some() && now.duration_since(e.renewed) >= timeout)
            .map(|(c, _)| *c)
            .collect();
        for client in stale {
            self.remove(client, now);
        }
        self.entries
            .retain(|_, e| e.json.is_some() || now.duration_since(e.renewed) < timeout * 2);
        !self.changes.is_empty()
    }

    fn disown(&mut self, conn: ConnId) {
        if let Some(n) = self.owned.get_mut(&conn) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.owned.remove(&conn);
            }
        }
    }

    fn remove(&mut self, client: ClientID, now: Instant) {
        self.renewals.remove(&client);
        let owner = self
            .entries
            .get(&client)
            .filter(|e| e.json.is_some())
            .map(|e| e.owner);
        if let Some(owner) = owner {
            self.disown(owner);
        }
        if let Some(e) = self.entries.get_mut(&client) {
            let len = e.json.as_ref().map_or(0, |j| j.len());
            self.bytes = self.bytes.saturating_sub(len);
            e.clock = e.clock.wrapping_add(1);
            e.json = None;
            e.renewed = now;
            self.changes.insert(
                client,
                AwarenessUpdateEntry {
                    clock: e.clock,
                    json: null(),
                },
            );
        }
    }

    /// Everything to relay now: the changes, with pending renewals riding along for free.
    pub(crate) fn take_changes(&mut self) -> Option<AwarenessUpdate> {
        if self.changes.is_empty() {
            return None;
        }
        let mut clients = std::mem::take(&mut self.changes);
        clients.extend(self.renewals.drain());
        Some(AwarenessUpdate { clients })
    }

    /// The renewals gathered, once `every` has passed since the last bulk relay.
    pub(crate) fn take_renewals(
        &mut self,
        now: Instant,
        every: Duration,
    ) -> Option<AwarenessUpdate> {
        let due = self
            .renewals_flushed
            .is_none_or(|t| now.duration_since(t) >= every);
        if self.renewals.is_empty() || !due {
            return None;
        }
        self.renewals_flushed = Some(now);
        Some(AwarenessUpdate {
            clients: std::mem::take(&mut self.renewals),
        })
    }

    /// Every present client's state, for a newcomer or a query; `None` when nobody is here.
    pub(crate) fn snapshot(&self) -> Option<AwarenessUpdate> {
        present_states(self.entries.iter().map(|(c, e)| (*c, e.clock, &e.json)))
    }
}

/// The states among `entries` (client, clock, state or `None` once removed) that are present,
/// as one update; `None` when there are none. Shared by local and remote presence.
pub(crate) fn present_states<'a>(
    entries: impl Iterator<Item = (ClientID, u32, &'a Option<Arc<str>>)>,
) -> Option<AwarenessUpdate> {
    let clients: HashMap<ClientID, AwarenessUpdateEntry> = entries
        .filter_map(|(client, clock, json)| {
            json.as_ref().map(|json| {
                (
                    client,
                    AwarenessUpdateEntry {
                        clock,
                        json: json.clone(),
                    },
                )
            })
        })
        .collect();
    (!clients.is_empty()).then_some(AwarenessUpdate { clients })
}

#[cfg(test)]
mod tests;
