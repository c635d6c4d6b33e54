//! What one node's held-count writer sends to Redis: the queue the held rooms fill (the newest
//! count per held doc, completeness marks, boards to recount, deleted workshops) and the
//! commands one flush of it makes. The queue is plain data, unit-tested without Redis.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use redis::aio::ConnectionManager;

use crate::board::held::MAX_HELD_NOTES;
use crate::doc_id::DocId;
use crate::policy::DeviceCounts;

/// The field that marks a board's hash as complete (device ids never hold `*`).
pub(super) const COMPLETE: &str = "*";
/// Held docs whose counts wait for Redis at most; past it their boards are recounted.
const MAX_QUEUED: usize = 65_536;
/// Keys looked at per `SCAN` step when a workshop is deleted, and most steps.
const SCAN_COUNT: usize = 500;
const SCAN_STEPS: usize = 10_000;

/// Key of board doc `board`'s hash (bounded: a doc id is at most 128 bytes).
pub(super) fn key(board: &DocId) -> String {
    format!("palabre:held:{}", board.as_str())
}

/// What waits to be written to Redis.
#[derive(Debug, Default)]
pub(super) struct Queue {
    batch: Batch,
    /// Counts taken by the flush in progress (read over the hash until it lands).
    flushing: HashMap<DocId, usize>,
}

/// One flush's worth.
#[derive(Debug, Default)]
pub(super) struct Batch {
    /// Held doc → newest count.
    counts: HashMap<DocId, usize>,
    /// Boards to mark complete (after their counts).
    complete: HashSet<DocId>,
    /// Boards whose counts were dropped: their mark is removed, so the next reader recounts.
    stale: HashSet<DocId>,
    /// Deleted workshops whose hashes are to be removed.
    forget: HashSet<String>,
}

impl Batch {
    fn is_empty(&self) -> bool {
        self.counts.is_empty()
            && self.complete.is_empty()
            && self.stale.is_empty()
            && self.forget.is_empty()
    }
}

impl Queue {
    /// Held doc `held` now holds `n` notes; a full queue gives its board up for a recount.
    pub(super) fn put(&mut self, held: &DocId, n: usize) {
        let b = &mut self.batch;
        if b.counts.len() >= MAX_QUEUED && !b.counts.contains_key(held) {
            if let Some(board) = held.board_doc() {
                b.complete.remove(&board);
                b.stale.insert(board);
            }
            return;
        }
        b.counts.insert(held.clone(), n);
    }

    /// Every stored held doc of `board` has been put.
    pub(super) fn complete(&mut self, board: &DocId) {
        if !self.batch.stale.contains(board) {
            self.batch.complete.insert(board.clone());
        }
    }

    /// Workshop `wid` was deleted: nothing of it is written, its hashes are removed.
    pub(super) fn forget(&mut self, wid: &str) {
        let b = &mut self.batch;
        b.counts.retain(|held, _| held.workshop() != wid);
        b.complete.retain(|board| board.workshop() != wid);
        b.stale.retain(|board| board.workshop() != wid);
        b.forget.insert(wid.to_owned());
    }

    /// Everything queued, for one flush (`None` if nothing is).
    pub(super) fn take(&mut self) -> Option<Batch> {
        if self.batch.is_empty() {
            return None;
        }
        let batch = std::mem::take(&mut self.batch);
        self.flushing.clone_from(&batch.counts);
        Some(batch)
    }

    /// A flush ended; one that failed is queued again under what was queued since.
    pub(super) fn settle(&mut self, batch: Batch, written: bool) {
        self.flushing.clear();
        if written {
            return;
        }
        for (held, n) in batch.counts {
            if !self.batch.counts.contains_key(&held) && !batch.forget.contains(held.workshop()) {
                self.put(&held, n);
            }
        }
        for board in batch.complete {
            self.complete(&board);
        }
        self.batch.stale.extend(batch.stale);
        self.batch.forget.extend(batch.forget);
    }

    /// Puts this node's counts not yet in Redis over `devices`, a board's hash as read.
    pub(super) fn overlay(&self, board: &DocId, devices: &mut DeviceCounts) {
        for (held, n) in self.flushing.iter().chain(&self.batch.counts) {
            if held.board_doc().as_ref() != Some(board) {
                continue;
            }
            if let Some(device) = held.device() {
                devices.insert(device.to_owned(), (*n).min(MAX_HELD_NOTES));
            }
        }
        devices.retain(|_, n| *n > 0);
    }
}

/// Sends one batch: counts (`HSET`, or `HDEL` at 0), then removed and set marks, each hash's
/// `EXPIRE` renewed to `ttl`; then the deleted workshops' hashes are removed.
pub(super) async fn write(
    conn: &mut ConnectionManager,
    batch: &Batch,
    ttl: Duration,
) -> Result<(), redis::RedisError> {
    let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
    let mut pipe = redis::pipe();
    for (held, n) in &batch.counts {
        let (Some(board), Some(device)) = (held.board_doc(), held.device()) else {
            continue;
        };
        let key = key(&board);
        if *n == 0 {
            pipe.hdel(&key, device).ignore();
        } else {
            pipe.hset(&key, device, *n).ignore();
        }
        pipe.expire(&key, ttl).ignore();
    }
    for board in &batch.stale {
        pipe.hdel(key(board), COMPLETE).ignore();
    }
    for board in batch.complete.difference(&batch.stale) {
        let key = key(board);
        pipe.hset(&key, COMPLETE, 0).ignore();
        pipe.expire(&key, ttl).ignore();
    }
    if !pipe.is_empty() {
        pipe.query_async::<()>(conn).await?;
    }
    for wid in &batch.forget {
        remove_workshop(conn, wid).await?;
    }
    Ok(())
}

/// Removes every board hash of workshop `wid` (doc ids hold no glob characters).
async fn remove_workshop(conn: &mut ConnectionManager, wid: &str) -> Result<(), redis::RedisError> {
    let pattern = format!("palabre:held:{wid}.*");
    let mut cursor = 0u64;
    for _ in 0..SCAN_STEPS {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(SCAN_COUNT)
            .query_async(conn)
            .await?;
        if !keys.is_empty() {
            redis::cmd("DEL").arg(&keys).query_async::<()>(conn).await?;
        }
        if next == 0 {
            break;
        }
        cursor = next;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(bid: &str, device: &str) -> DocId {
        DocId::held_of("w", bid, device).expect("id")
    }

    fn board(bid: &str) -> DocId {
        DocId::board_of("w", bid).expect("id")
    }

    #[test]
    fn a_failed_flush_is_queued_again_under_newer_counts_and_overlays_reads_meanwhile() {
        let mut q = Queue::default();
        q.put(&held("b1", "alice"), 2);
        q.put(&held("b1", "bob"), 1);
        q.complete(&board("b1"));
        let batch = q.take().expect("something queued");
        assert!(q.take().is_none());
        // While it is in flight, Alice writes again and Bob's notes are all revealed.
        q.put(&held("b1", "alice"), 3);
        let mut read = DeviceCounts::from([("carol".to_string(), 4), ("bob".to_string(), 9)]);
        q.put(&held("b1", "bob"), 0);
        q.overlay(&board("b1"), &mut read);
        let want = DeviceCounts::from([("alice".to_string(), 3), ("carol".to_string(), 4)]);
        assert_eq!(read, want);
        q.settle(batch, false);
        let again = q.take().expect("queued again");
        assert_eq!(again.counts.get(&held("b1", "alice")), Some(&3));
        assert_eq!(again.counts.get(&held("b1", "bob")), Some(&0));
        assert!(again.complete.contains(&board("b1")));
        q.settle(again, true);
        assert!(q.take().is_none());
    }

    #[test]
    fn a_full_queue_gives_the_board_up_for_a_recount_and_a_deletion_drops_its_counts() {
        let mut q = Queue::default();
        for i in 0..MAX_QUEUED {
            q.put(&held("b1", &format!("d{i}")), 1);
        }
        q.complete(&board("b2"));
        q.put(&held("b2", "late"), 1);
        q.complete(&board("b2"));
        let batch = q.take().expect("queued");
        assert!(batch.stale.contains(&board("b2")));
        assert!(
            batch.complete.is_empty(),
            "a board missing counts is never marked"
        );
        assert_eq!(batch.counts.len(), MAX_QUEUED);

        let mut q = Queue::default();
        q.put(&held("b1", "alice"), 2);
        q.forget("w");
        let batch = q.take().expect("the deletion is queued");
        assert!(batch.counts.is_empty());
        assert!(batch.forget.contains("w"));
    }
}
