//! The PostgreSQL schema, created and migrated at start under an advisory lock so that several
//! nodes starting together migrate once.

use tokio_postgres::Client;

use super::pg_reason;

/// Version this code writes, kept in `palabre_schema`.
pub(super) const SCHEMA_VERSION: i32 = 2;

/// Advisory lock key held while migrating ("PALB").
const MIGRATION_LOCK: i64 = 0x5041_4C42;

/// Each entry upgrades version `n` to `n + 1`; entry 0 creates the schema.
const MIGRATIONS: [&str; SCHEMA_VERSION as usize] = [
    // v1. `docs.next_seq` is the per-doc sequence counter: appends take it with the row lock
    // (see `writer.rs`), which is what keeps sequence numbers in commit order per doc.
    "CREATE TABLE docs (
         doc text PRIMARY KEY,
         next_seq bigint NOT NULL DEFAULT 1,
         snapshot bytea,
         snapshot_seq bigint NOT NULL DEFAULT 0
     );
     CREATE TABLE updates (
         doc text NOT NULL,
         seq bigint NOT NULL,
         data bytea NOT NULL,
         PRIMARY KEY (doc, seq)
     );
     CREATE TABLE meta (
         key text PRIMARY KEY,
         value bytea NOT NULL
     );",
    // v2. Deleted workshops: a node that still held one of their rooms when another node
    // deleted them must not write it back (see `writer.rs`, "a deleted workshop stays deleted").
    "CREATE TABLE deleted_workshops (wid text PRIMARY KEY);",
];

/// Creates or upgrades the schema; refuses a database written by a newer Palabre.
pub(super) async fn migrate(client: &mut Client) -> Result<(), String> {
    let tx = client.transaction().await.map_err(|e| pg_reason(&e))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(|e| pg_reason(&e))?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS palabre_schema (version integer NOT NULL)")
        .await
        .map_err(|e| pg_reason(&e))?;
    let row = tx
        .query_opt("SELECT version FROM palabre_schema", &[])
        .await
        .map_err(|e| pg_reason(&e))?;
    let version: i32 = match row {
        Some(row) => row.get(0),
        None => {
            let foreign = tx
                .query_one(
                    "SELECT count(*) FROM information_schema.tables
                     WHERE table_schema = current_schema()
                       AND table_name IN ('docs', 'updates', 'meta')",
                    &[],
                )
                .await
                .map_err(|e| pg_reason(&e))?;
            if foreign.get::<_, i64>(0) != 0 {
                return Err(
                    "the database already holds docs/updates/meta tables that are not Palabre's"
                        .to_owned(),
                );
            }
            tx.execute("INSERT INTO palabre_schema (version) VALUES (0)", &[])
                .await
                .map_err(|e| pg_reason(&e))?;
            0
        }
    };
    if version > SCHEMA_VERSION {
        return Err(format!(
            "written by a newer Palabre (schema version {version}; this one knows up to {SCHEMA_VERSION})"
        ));
    }
    let from = usize::try_from(version).map_err(|_| format!("bad schema version {version}"))?;
    for (step, sql) in MIGRATIONS.iter().enumerate().skip(from) {
        tx.batch_execute(sql).await.map_err(|e| pg_reason(&e))?;
        tracing::info!(version = step + 1, "migrated the PostgreSQL schema");
    }
    tx.execute("UPDATE palabre_schema SET version = $1", &[&SCHEMA_VERSION])
        .await
        .map_err(|e| pg_reason(&e))?;
    tx.commit().await.map_err(|e| pg_reason(&e))
}
