//! Sync-step-2 replies encoded once per doc state: peers at the same state vector share one frame.
//!
//! A reply depends only on the doc and, for each client the doc knows, the lower of the peer's
//! clock and ours; the cache key is that normalized vector, so a peer cannot force a fresh
//! encoding by naming clients that do not exist or clocks from the future. The room clears the
//! cache whenever its doc changes. No IO.

use std::collections::VecDeque;

use bytes::Bytes;
use yrs::{Doc, ReadTxn, StateVector, Transact};

use crate::protocol;

/// Replies kept at once (the empty vector — a fresh joiner — is one of them).
const MAX_ENTRIES: usize = 8;
/// Bytes of replies kept at once; the most recent reply is always kept.
const MAX_BYTES: usize = 32 << 20;

/// Encoded sync-step-2 frames of the current doc state, by normalized state vector.
#[derive(Debug, Default)]
pub(crate) struct ReplyCache {
    entries: VecDeque<(StateVector, Bytes)>,
    bytes: usize,
    /// Replies encoded since start (for tests: a repeat must not encode again).
    encoded: u64,
}

impl ReplyCache {
    /// Forgets every reply: the doc changed.
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }

    /// How many replies were encoded so far.
    #[cfg(test)]
    pub(crate) fn encoded(&self) -> u64 {
        self.encoded
    }

    /// The sync-step-2 frame answering a peer at `sv`, encoded only if not cached.
    pub(crate) fn reply(&mut self, doc: &Doc, sv: &StateVector) -> Bytes {
        let txn = doc.transact();
        let key = normalize(&txn.state_vector(), sv);
        if let Some((_, frame)) = self.entries.iter().find(|(k, _)| *k == key) {
            return frame.clone();
        }
        let frame = protocol::encode_sync_step2(&txn.encode_state_as_update_v1(&key));
        self.encoded += 1;
        self.bytes += frame.len();
        self.entries.push_back((key, frame.clone()));
        while self.entries.len() > MAX_ENTRIES || (self.bytes > MAX_BYTES && self.entries.len() > 1)
        {
            if let Some((_, old)) = self.entries.pop_front() {
                self.bytes -= old.len();
            }
        }
        frame
    }
}

/// The part of `theirs` that matters against a doc at `ours`.
fn normalize(ours: &StateVector, theirs: &StateVector) -> StateVector {
    let mut key = StateVector::default();
    for (client, &clock) in ours.iter() {
        let known = theirs.get(client).min(clock);
        if known > 0 {
            key.set_max(*client, known);
        }
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::{Map, WriteTxn};

    fn doc_with_notes(n: usize) -> Doc {
        let doc = Doc::with_client_id(7);
        {
            let mut txn = doc.transact_mut();
            let notes = txn.get_or_insert_map("notes");
            for i in 0..n {
                notes.insert(&mut txn, format!("n{i}"), "text");
            }
        }
        doc
    }

    #[test]
    fn a_repeated_or_disguised_vector_is_encoded_once() {
        let doc = doc_with_notes(10);
        let mut cache = ReplyCache::default();
        let empty = StateVector::default();
        let a = cache.reply(&doc, &empty);
        let b = cache.reply(&doc, &empty);
        assert_eq!(a, b);
        assert_eq!(cache.encoded(), 1);
        // Unknown clients and clocks beyond ours change nothing in the reply.
        let mut bogus = StateVector::default();
        bogus.set_max(yrs::ClientID::new(12345), 99);
        bogus.set_max(yrs::ClientID::new(7), 0);
        cache.reply(&doc, &bogus);
        assert_eq!(cache.encoded(), 1, "an unknown client is not a new state");
        let mut partial = StateVector::default();
        partial.set_max(yrs::ClientID::new(7), 5);
        let p = cache.reply(&doc, &partial);
        assert_ne!(p, a);
        assert_eq!(cache.encoded(), 2);
        let mut ahead = StateVector::default();
        ahead.set_max(yrs::ClientID::new(7), 1_000_000);
        let up_to_date = cache.reply(&doc, &ahead);
        let mut exact = StateVector::default();
        exact.set_max(yrs::ClientID::new(7), 10);
        assert_eq!(cache.reply(&doc, &exact), up_to_date);
        assert_eq!(cache.encoded(), 3);
        cache.clear();
        cache.reply(&doc, &empty);
        assert_eq!(cache.encoded(), 4, "cleared when the doc changes");
    }

    #[test]
    fn the_reply_is_what_yrs_would_encode() {
        let doc = doc_with_notes(3);
        let mut cache = ReplyCache::default();
        let mut sv = StateVector::default();
        sv.set_max(yrs::ClientID::new(7), 1);
        sv.set_max(yrs::ClientID::new(999), 4);
        let expected = protocol::encode_sync_step2(&doc.transact().encode_state_as_update_v1(&{
            let mut s = StateVector::default();
            s.set_max(yrs::ClientID::new(7), 1);
            s
        }));
        assert_eq!(cache.reply(&doc, &sv), expected);
    }

    #[test]
    fn keeps_a_bounded_number_of_replies() {
        let doc = doc_with_notes(20);
        let mut cache = ReplyCache::default();
        for clock in 1..=20 {
            let mut sv = StateVector::default();
            sv.set_max(yrs::ClientID::new(7), clock);
            cache.reply(&doc, &sv);
        }
        assert!(cache.entries.len() <= MAX_ENTRIES);
    }
}
