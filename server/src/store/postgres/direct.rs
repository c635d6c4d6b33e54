//! What goes straight to the pool rather than through the group commit: loads, metadata reads,
//! a workshop's size, and deleting a workshop (one transaction of its own, like a compaction).

use deadpool_postgres::Pool;

use super::{db_error, pool_error, to_seq};
use crate::store::{StoreError, StoredDoc};

/// Snapshot and log in one repeatable-read transaction, so a compaction committed between the
/// two queries cannot make the log miss entries the snapshot does not hold.
///
/// Every remaining log row is returned, not only those above `snapshot_seq`: a row is deleted
/// only by the transaction that folds it into the snapshot, so a row still present is one the
/// snapshot may lack (Yjs updates are idempotent: loading one twice is harmless).
pub(super) async fn load(pool: &Pool, doc: &str) -> Result<StoredDoc, StoreError> {
    let mut client = pool.get().await.map_err(|e| pool_error(&e))?;
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(|e| db_error(&e))?;
    let head = tx
        .query_opt(
            "SELECT snapshot, snapshot_seq FROM docs WHERE doc = $1",
            &[&doc],
        )
        .await
        .map_err(|e| db_error(&e))?;
    let (snapshot, snapshot_seq) = match head {
        Some(row) => (row.get::<_, Option<Vec<u8>>>(0), row.get::<_, i64>(1)),
        None => (None, 0),
    };
    let rows = tx
        .query(
            "SELECT seq, data FROM updates WHERE doc = $1 ORDER BY seq",
            &[&doc],
        )
        .await
        .map_err(|e| db_error(&e))?;
    tx.commit().await.map_err(|e| db_error(&e))?;
    let updates = rows
        .into_iter()
        .map(|row| Ok((to_seq(row.get::<_, i64>(0))?, row.get::<_, Vec<u8>>(1))))
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(StoredDoc {
        snapshot,
        snapshot_seq: to_seq(snapshot_seq)?,
        updates,
    })
}

/// A metadata record, if present.
pub(super) async fn get_meta(pool: &Pool, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
    let client = pool.get().await.map_err(|e| pool_error(&e))?;
    let row = client
        .query_opt("SELECT value FROM meta WHERE key = $1", &[&key])
        .await
        .map_err(|e| db_error(&e))?;
    Ok(row.map(|row| row.get(0)))
}

/// Keys of the metadata records starting with `prefix`.
pub(super) async fn meta_keys(pool: &Pool, prefix: &str) -> Result<Vec<String>, StoreError> {
    let client = pool.get().await.map_err(|e| pool_error(&e))?;
    let rows = client
        .query(
            "SELECT key FROM meta WHERE starts_with(key, $1)",
            &[&prefix],
        )
        .await
        .map_err(|e| db_error(&e))?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

/// Bytes stored for workshop `wid`: snapshots and log entries of its doc and boards.
pub(super) async fn workshop_bytes(pool: &Pool, wid: &str) -> Result<u64, StoreError> {
    let client = pool.get().await.map_err(|e| pool_error(&e))?;
    let prefix = format!("{wid}.");
    // `starts_with`, not a range on text: a range depends on the database's collation.
    let row = client
        .query_one(
            "SELECT \
               (SELECT COALESCE(SUM(octet_length(snapshot)), 0)::bigint FROM docs \
                  WHERE doc = $1 OR starts_with(doc, $2)) + \
               (SELECT COALESCE(SUM(octet_length(data)), 0)::bigint FROM updates \
                  WHERE doc = $1 OR starts_with(doc, $2))",
            &[&wid, &prefix],
        )
        .await
        .map_err(|e| db_error(&e))?;
    let total: i64 = row.get(0);
    Ok(u64::try_from(total).unwrap_or(0))
}

/// Every doc of workshop `wid` and the records naming it, in one transaction of its own.
pub(super) async fn delete_workshop(pool: &Pool, wid: &str) -> Result<(), StoreError> {
    let mut client = pool.get().await.map_err(|e| pool_error(&e))?;
    let tx = client.transaction().await.map_err(|e| db_error(&e))?;
    // `{wid}` and `{wid}.{bid}`: ids never hold a '.', so the prefix is exact.
    let boards = format!("{wid}.");
    for table in ["updates", "docs"] {
        tx.execute(
            &format!("DELETE FROM {table} WHERE doc = $1 OR starts_with(doc, $2)"),
            &[&wid, &boards],
        )
        .await
        .map_err(|e| db_error(&e))?;
    }
    // The tombstone every node's writer checks before writing a doc of this workshop again.
    tx.execute(
        "INSERT INTO deleted_workshops (wid) VALUES ($1) ON CONFLICT (wid) DO NOTHING",
        &[&wid],
    )
    .await
    .map_err(|e| db_error(&e))?;
    // Records naming the workshop: keyed `…:{wid}`, or holding its id (join codes).
    let suffix = format!(":{wid}");
    tx.execute(
        "DELETE FROM meta WHERE right(key, length($1)) = $1 OR value = $2",
        &[&suffix, &wid.as_bytes()],
    )
    .await
    .map_err(|e| db_error(&e))?;
    tx.commit().await.map_err(|e| db_error(&e))
}
