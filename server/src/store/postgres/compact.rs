//! Compaction when several nodes write the same doc.
//!
//! On one node, "store this snapshot, drop log entries `<= upto`" is safe: the room that took
//! the snapshot had applied every entry up to `upto`. With several nodes it is not, for two
//! reasons, each a way to lose an update that another node committed:
//!
//! - **RACE: late-visible lower seq.** Node B numbers an update 10; node A numbers its own 11
//!   and commits first; A compacts up to 11 and deletes `seq <= 11` while B's row 10 is still
//!   invisible (uncommitted); B commits; row 10 now lies below the snapshot's mark, and a load
//!   that reads only `seq > snapshot_seq` skips it for ever. Closed twice: seqs are taken
//!   under the doc row's lock until `COMMIT` (`writer.rs`), so no seq of a doc is ever in flight
//!   while this transaction holds that lock; and loads read every remaining row, never filtering
//!   on the mark.
//! - **RACE: the compactor's state lacks a peer's committed update.** B's row 10 is committed
//!   but A's room has not received it yet (it is on its way through the fan-out). A snapshot of
//!   A's doc does not contain it, so deleting row 10 in favour of that snapshot loses it.
//!   Closed by never trusting the caller's snapshot to cover the rows: the new snapshot is the
//!   merge of the stored snapshot, every row deleted, and the caller's snapshot. Yjs updates
//!   merge commutatively and idempotently, so the merge holds at least what was stored.
//!
//! `store::postgres::tests::two_nodes_compacting_while_writing_lose_nothing` provokes both.

use deadpool_postgres::Pool;

use super::{db_error, pool_error};
use crate::store::sqlite::stats::Counters;
use crate::store::StoreError;

/// Folds the stored snapshot, the log rows `<= upto` and `snapshot` into one snapshot and
/// deletes exactly those rows, in one transaction holding the doc row's lock.
pub(super) async fn compact(
    pool: &Pool,
    counters: &Counters,
    doc: &str,
    snapshot: Vec<u8>,
    upto: i64,
) -> Result<(), StoreError> {
    let started = std::time::Instant::now();
    let mut client = pool.get().await.map_err(|e| pool_error(&e))?;
    let tx = client.transaction().await.map_err(|e| db_error(&e))?;
    let Some(head) = tx
        .query_opt(
            "SELECT snapshot, snapshot_seq FROM docs WHERE doc = $1 FOR UPDATE",
            &[&doc],
        )
        .await
        .map_err(|e| db_error(&e))?
    else {
        // Never written (or written by nobody yet): nothing to fold.
        return Ok(());
    };
    let stored: Option<Vec<u8>> = head.get(0);
    let stored_seq: i64 = head.get(1);
    let rows = tx
        .query(
            "SELECT seq, data FROM updates WHERE doc = $1 AND seq <= $2 ORDER BY seq",
            &[&doc, &upto],
        )
        .await
        .map_err(|e| db_error(&e))?;
    if rows.is_empty() {
        // Everything up to `upto` is already folded (a stale or repeated compaction): the
        // stored snapshot already holds at least what the caller's does.
        tracing::debug!(doc, upto, stored_seq, "nothing to compact");
        return Ok(());
    }
    let last: i64 = rows
        .iter()
        .map(|r| r.get::<_, i64>(0))
        .max()
        .unwrap_or(upto);
    let mut parts: Vec<Vec<u8>> = Vec::with_capacity(rows.len() + 2);
    parts.extend(stored);
    parts.extend(rows.into_iter().map(|row| row.get::<_, Vec<u8>>(1)));
    parts.push(snapshot);
    let merged = tokio::task::spawn_blocking(move || yrs::merge_updates_v1(&parts))
        .await
        .map_err(|e| StoreError::Database(format!("compaction task failed: {e}")))?
        .map_err(|e| StoreError::Database(format!("cannot merge the log of {doc}: {e}")))?;
    tx.execute(
        "UPDATE docs SET snapshot = $2, snapshot_seq = GREATEST(snapshot_seq, $3) WHERE doc = $1",
        &[&doc, &merged, &last],
    )
    .await
    .map_err(|e| db_error(&e))?;
    tx.execute(
        "DELETE FROM updates WHERE doc = $1 AND seq <= $2",
        &[&doc, &last],
    )
    .await
    .map_err(|e| db_error(&e))?;
    tx.commit().await.map_err(|e| db_error(&e))?;
    counters.record_commit(started.elapsed(), 0, 0, 1);
    Ok(())
}
