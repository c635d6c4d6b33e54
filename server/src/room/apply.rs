//! Applying an update to the room's doc: yrs validates it, a panic inside yrs is caught and
//! reported as a poisoned doc (the room's [`crate::touched::Watch`] flags changes nested too
//! deeply and records what each change touched); plus whether an update would change anything
//! at all. No policy and no pipeline: `writes` decides what to do with the outcome.

use std::panic::AssertUnwindSafe;

use yrs::{ReadTxn, Transact, Update};

use super::Room;
use crate::protocol;

/// Why an update could not be applied.
pub(super) struct ApplyFailure {
    message: String,
    /// The doc may have been changed before the failure and must be rebuilt.
    pub(super) poisoned: bool,
}

impl std::fmt::Display for ApplyFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// An update with no structs and no deletions (what a client in step sends as sync step 2).
pub(super) fn is_empty_update(update: &[u8]) -> bool {
    update == [0, 0]
}

impl Room {
    /// True when applying `update` would change nothing: every block is known and every
    /// deletion already applied.
    pub(super) fn changes_nothing(&self, update: &[u8]) -> bool {
        let Ok(update) = protocol::decode_update(update) else {
            return false;
        };
        let txn = self.doc.transact();
        let mut have = yrs::IdSet::default();
        for (client, clock) in txn.state_vector().iter() {
            have.insert(yrs::ID::new(*client, 0), *clock);
        }
        let mut new_items = update.insertions(true);
        new_items.diff_with(&have);
        if !new_items.is_empty() {
            return false;
        }
        let mut new_deletions = update.delete_set().clone();
        new_deletions.diff_with(&txn.snapshot().delete_set);
        new_deletions.is_empty()
    }

    pub(super) fn apply_bytes(&mut self, bytes: &[u8]) -> Result<(), ApplyFailure> {
        let update = protocol::decode_update(bytes).map_err(|e| ApplyFailure {
            message: e.to_string(),
            poisoned: false,
        })?;
        self.apply(update)
    }

    fn apply(&mut self, update: Update) -> Result<(), ApplyFailure> {
        let doc = &self.doc;
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let mut txn = doc.try_transact_mut().map_err(|e| e.to_string())?;
            txn.apply_update(update).map_err(|e| e.to_string())
        }));
        self.replies.clear();
        match outcome {
            Ok(Ok(())) => Ok(()),
            // The update may have been partly integrated before yrs gave up.
            Ok(Err(message)) => Err(ApplyFailure {
                message,
                poisoned: true,
            }),
            Err(_) => Err(ApplyFailure {
                message: "the document engine failed on it".into(),
                poisoned: true,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::updates::decoder::Decode;
    use yrs::{Doc, StateVector};

    #[test]
    fn empty_update_is_recognised() {
        let doc = Doc::new();
        let empty = doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        assert!(is_empty_update(&empty));
        assert!(Update::decode_v1(&empty).is_ok());
    }
}
