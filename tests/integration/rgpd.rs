//! Ending a workshop, as the law asks: deleting it removes every row that held it from the
//! database file, its links stop working at once, and `--retention` deletes past workshops on
//! start-up. Also: a phone asking to be listed lands in the workshop doc for the facilitator.

use std::path::Path;

use palabre::board::grid::{self, NoteInput};
use palabre::board::Author;
use serde_json::json;

use crate::api::{edit_doc, get, join, model, send_json, upgrade, wait_server_has, Workshop};
use crate::harness::{io, ChildServer, TestError, TestResult};

/// Rows of `palabre.db` that mention `wid`: docs, log entries, metadata keys or values.
fn rows_naming(db: &Path, wid: &str) -> TestResult<usize> {
    let conn = rusqlite::Connection::open(db)
        .map_err(|e| TestError::Protocol(format!("opening {}: {e}", db.display())))?;
    let like = format!("%{wid}%");
    let count = |sql: &str| -> TestResult<usize> {
        conn.query_row(sql, rusqlite::params![like], |r| r.get::<_, i64>(0))
            .map(|n| usize::try_from(n).unwrap_or(0))
            .map_err(|e| TestError::Protocol(format!("{sql}: {e}")))
    };
    Ok(count("SELECT count(*) FROM docs WHERE doc LIKE ?1")?
        + count("SELECT count(*) FROM updates WHERE doc LIKE ?1")?
        + count("SELECT count(*) FROM meta WHERE key LIKE ?1 OR CAST(value AS TEXT) LIKE ?1")?)
}

fn note(me: &str, id: &str) -> NoteInput {
    NoteInput {
        id: id.to_owned(),
        column: "creer".to_owned(),
        text: "Des formations plus régulières".to_owned(),
        colour: String::new(),
        author: Author::new(me, "Alice", "Agate"),
        created_at: 1,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_workshop_removes_every_row_and_its_links_stop_working() -> TestResult {
    let data = tempfile::tempdir().map_err(io("creating a data dir"))?;
    let logs = tempfile::tempdir().map_err(io("creating a log dir"))?;
    let server = ChildServer::start(data.path(), logs.path(), &[]).await?;
    let addr = server.addr();
    let w = Workshop::create(addr, "five-columns", "Bilan", "2026-05-09").await?;
    let kept = Workshop::create(addr, "five-columns", "Autre", "2026-05-09").await?;
    let board = w.board("grid", 0)?.doc_id.clone();
    let phone = join(&w, &board, &w.participant).await?;
    edit_doc(&phone, |d| grid::add_note(d, &note(&w.me(), "n1"), None))?.map_err(model)?;
    wait_server_has(&w.ws_url(&board, &w.facilitator), &phone).await?;
    // A phone asks to be listed (REST, participants cannot write the workshop doc).
    let asked = send_json(
        addr,
        "POST",
        &format!("/api/workshops/{}/requests", w.id),
        Some(&w.participant),
        Some(&json!({"id": "phone-1", "name": "Dora", "organisation": "Régie"})),
    )
    .await?;
    assert_eq!(asked.status, 204, "listing request: {}", asked.body);
    let shown = get(
        addr,
        &format!("/api/workshops/{}/export.json", w.id),
        Some(&w.facilitator),
    )
    .await?
    .json()?;
    assert_eq!(
        shown.pointer("/requests/0/name").and_then(|v| v.as_str()),
        Some("Dora"),
        "the facilitator sees who asked"
    );
    // A rotation leaves the old join code's index entry behind: it must go too.
    send_json(
        addr,
        "POST",
        &format!("/api/workshops/{}/rotate", w.id),
        Some(&w.facilitator),
        None,
    )
    .await?;
    let db = data.path().join("palabre.db");
    assert!(
        rows_naming(&db, &w.id)? > 3,
        "the workshop is stored before"
    );

    // Participants cannot delete; the facilitator can.
    let refused = send_json(
        addr,
        "DELETE",
        &format!("/api/workshops/{}", w.id),
        Some(&w.participant),
        None,
    )
    .await?;
    assert_eq!(refused.status, 403);
    let deleted = send_json(
        addr,
        "DELETE",
        &format!("/api/workshops/{}", w.id),
        Some(&w.facilitator),
        None,
    )
    .await?;
    assert_eq!(deleted.status, 204, "{}", deleted.body);

    // Links stop at once, REST and WebSocket, for every role.
    for token in [&w.facilitator] {
        let r = get(
            addr,
            &format!("/api/workshops/{}/export.md", w.id),
            Some(token),
        )
        .await?;
        assert_eq!(r.status, 403, "export after deletion");
    }
    for doc in [w.id.as_str(), board.as_str()] {
        let (status, _) = upgrade(&w.ws_url(doc, &w.facilitator), &[]).await?;
        assert_eq!(status, 403, "WebSocket to {doc} after deletion");
    }
    let code = get(addr, &format!("/api/join/{}", w.join_code), None).await?;
    assert_eq!(code.status, 404, "join code after deletion");
    assert_eq!(
        get(
            addr,
            &format!("/api/workshops/{}", kept.id),
            Some(&kept.facilitator)
        )
        .await?
        .status,
        200
    );

    // Stop (every room commits and compacts), then read the file: nothing names it any more.
    let status = server.terminate().await?;
    assert!(status.success());
    assert_eq!(
        rows_naming(&db, &w.id)?,
        0,
        "rows left for the deleted workshop"
    );
    assert!(
        rows_naming(&db, &kept.id)? > 0,
        "the other workshop is untouched"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_deletes_a_past_workshop_on_start_up() -> TestResult {
    let data = tempfile::tempdir().map_err(io("creating a data dir"))?;
    let logs = tempfile::tempdir().map_err(io("creating a log dir"))?;
    let server = ChildServer::start(data.path(), logs.path(), &[]).await?;
    let old = Workshop::create(server.addr(), "five-columns", "Bilan 2020", "2020-01-15").await?;
    let today = time_today();
    let recent = Workshop::create(server.addr(), "five-columns", "Bilan du jour", &today).await?;
    let r = get(
        server.addr(),
        &format!("/api/workshops/{}/retention", old.id),
        Some(&old.facilitator),
    )
    .await?
    .json()?;
    assert_eq!(
        r.get("deletesOn"),
        Some(&serde_json::Value::Null),
        "no retention, no deletion date"
    );
    assert!(server.terminate().await?.success());

    let server = ChildServer::start(data.path(), logs.path(), &["--retention", "90d"]).await?;
    let addr = server.addr();
    assert_eq!(
        get(
            addr,
            &format!("/api/workshops/{}", old.id),
            Some(&old.facilitator)
        )
        .await?
        .status,
        403
    );
    let r = get(
        addr,
        &format!("/api/workshops/{}/retention", recent.id),
        Some(&recent.viewer),
    )
    .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = r.json()?;
    assert_eq!(r.get("retentionDays").and_then(|v| v.as_u64()), Some(90));
    assert!(
        r.get("deletesOn").and_then(|v| v.as_str()).is_some(),
        "a deletion date is announced: {r}"
    );
    assert!(server.terminate().await?.success());
    let db = data.path().join("palabre.db");
    assert_eq!(
        rows_naming(&db, &old.id)?,
        0,
        "rows left for the expired workshop"
    );
    assert!(
        rows_naming(&db, &recent.id)? > 0,
        "today's workshop is kept"
    );
    Ok(())
}

/// Today as `yyyy-mm-dd` (UTC).
fn time_today() -> String {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400);
    // Civil date from a day count (H. Hinnant's algorithm).
    let z = i64::try_from(days).unwrap_or(0) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}
