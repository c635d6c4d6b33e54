//! Opening the SQLite file: the connection settings both threads need (WAL, synchronous level,
//! busy timeout), the integrity check at start, and recognising, creating or refusing the schema.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, TransactionBehavior};

/// Version of the schema this code writes, kept in `PRAGMA user_version`.
const SCHEMA_VERSION: i64 = 1;

/// Marks the file as Palabre's (`PRAGMA application_id`, "PALB").
const APPLICATION_ID: i64 = 0x5041_4C42;

/// How long a statement waits for a lock held by another connection (a backup tool, the
/// checkpoint) before failing its batch with `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The WAL file is truncated back to this size after checkpoints, so one burst does not
/// leave a huge file behind.
const WAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

const SCHEMA_V1: &str = "
    CREATE TABLE docs (
        doc TEXT PRIMARY KEY NOT NULL,
        snapshot BLOB,
        snapshot_seq INTEGER NOT NULL
    );
    CREATE TABLE updates (
        doc TEXT NOT NULL,
        seq INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (doc, seq)
    ) WITHOUT ROWID;
    CREATE TABLE meta (
        key TEXT PRIMARY KEY NOT NULL,
        value BLOB NOT NULL
    );
";

/// Opens a connection and applies the settings both threads need.
pub(super) fn open_connection(path: &Path, synchronous_full: bool) -> Result<Connection, String> {
    let reason = |error: rusqlite::Error| open_reason(&error);
    let conn = Connection::open(path).map_err(reason)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(reason)?;
    // The first statement that reads the file: a non-database fails here with SQLITE_NOTADB.
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(reason)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(format!("WAL mode unavailable (journal mode is {mode})"));
    }
    let synchronous = if synchronous_full { "FULL" } else { "NORMAL" };
    conn.pragma_update(None, "synchronous", synchronous)
        .map_err(reason)?;
    conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)
        .map_err(reason)?;
    Ok(conn)
}

pub(super) fn open_reason(error: &rusqlite::Error) -> String {
    match error.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => {
            format!("not a SQLite database, or its header is damaged ({error})")
        }
        Some(ErrorCode::DatabaseCorrupt) => format!("the database is corrupt ({error})"),
        _ => error.to_string(),
    }
}

/// Refuses a damaged database at startup rather than failing on whichever doc hits the damage.
///
/// `quick_check` reads every page once (seconds for gigabytes), which startup can afford.
pub(super) fn check_integrity(conn: &Connection) -> Result<(), String> {
    let problems = (|| {
        let mut statement = conn.prepare("PRAGMA quick_check(5)")?;
        let rows = statement.query_map([], |row| row.get::<_, String>(0))?;
        rows.collect::<rusqlite::Result<Vec<String>>>()
    })()
    .map_err(|error| open_reason(&error))?;
    if problems.iter().all(|line| line == "ok") {
        Ok(())
    } else {
        Err(format!("the database is corrupt: {}", problems.join("; ")))
    }
}

/// Creates or upgrades the schema, recognising the file by `application_id`/`user_version`.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), String> {
    let reason = |error: rusqlite::Error| open_reason(&error);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(reason)?;
    let application_id: i64 = tx
        .pragma_query_value(None, "application_id", |row| row.get(0))
        .map_err(reason)?;
    let version: i64 = tx
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(reason)?;
    if application_id != 0 && application_id != APPLICATION_ID {
        return Err(format!(
            "the file belongs to another application (application_id {application_id:#x})"
        ));
    }
    match version {
        0 => {
            let tables: i64 = tx
                .query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))
                .map_err(reason)?;
            if tables != 0 {
                return Err(
                    "a SQLite database that is not Palabre's (it already holds other tables)"
                        .to_owned(),
                );
            }
            tx.execute_batch(SCHEMA_V1).map_err(reason)?;
            tx.pragma_update(None, "application_id", APPLICATION_ID)
                .map_err(reason)?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)
                .map_err(reason)?;
            tracing::info!(version = SCHEMA_VERSION, "created the storage schema");
        }
        SCHEMA_VERSION => {}
        newer if newer > SCHEMA_VERSION => {
            return Err(format!(
                "written by a newer Palabre (schema version {newer}; this one knows up to {SCHEMA_VERSION})"
            ));
        }
        other => return Err(format!("unknown schema version {other}")),
    }
    tx.commit().map_err(reason)
}
