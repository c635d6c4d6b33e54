//! Only real boards are served (issue 13): a participant cannot create stray docs by naming
//! them, a board removed from the agenda is read-only for all but the facilitator, and a
//! workshop's quota of stored bytes and of boards ends in a clear error.

use serde_json::{json, Value};

use crate::api::{denials, join, send_json, upgrade, wait_denied, Workshop};
use crate::client::{note_ids, TestClient};

use crate::harness::{TestResult, TestServer, WAIT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_boards_on_the_agenda_are_served_and_removed_ones_are_read_only() -> TestResult {
    let server = TestServer::start().await?;
    let addr = server.addr();
    let w = Workshop::create(addr, "journee-bilan", "Journée bilan", "2026-05-09").await?;

    // A name that is not on the agenda is not a board.
    let stray = format!("{}.notaboard", w.id);
    let (status, body) = upgrade(&w.ws_url(&stray, &w.participant), &[]).await?;
    assert_eq!(status, 404, "a stray board id is refused: {body}");
    assert!(body.contains("agenda"), "and says why: {body}");
    let (status, _) = upgrade(&w.ws_url(&stray, &w.viewer), &[]).await?;
    assert_eq!(status, 404, "for viewers too");
    let m = server.metrics().await?;
    assert_eq!(
        m.value("palabre_rejected_total{reason=\"not_on_agenda\"}"),
        2.0
    );

    // A grid: the day opens with an icebreaker, whose papers only the server's reveal writes.
    let board = w.board("grid", 0)?.clone();
    let mut participant = join(&w, &board.doc_id, &w.participant).await?;
    let witness = TestClient::connect(&w.ws_url(&board.doc_id, &w.viewer)).await?;
    participant.add_note_by("while-listed", "ok", &w.me());
    witness
        .wait_until("the participant's note", WAIT, |d| {
            note_ids(d).contains("while-listed")
        })
        .await?;

    // The facilitator removes the board: it stays readable, but only the facilitator writes.
    let path = format!("/api/workshops/{}/boards/{}", w.id, board.id);
    let r = send_json(addr, "DELETE", &path, Some(&w.facilitator), None).await?;
    assert_eq!(r.status, 204, "{}", r.body);
    let before = denials(&participant).len();
    participant.add_note_by("after-removal", "refused", &w.me());
    let denied = wait_denied(&participant, before).await?;
    let last = denied.last().cloned().unwrap_or_default();
    assert!(last.contains("removed"), "the denial says why: {last}");
    assert!(participant.is_connected(), "refused, not disconnected");

    let mut late = join(&w, &board.doc_id, &w.participant).await?;
    assert!(
        late.note_ids().contains("while-listed"),
        "a removed board can still be read"
    );
    let before = denials(&late).len();
    late.add_note_by("late-write", "refused too", &w.me());
    wait_denied(&late, before).await?;

    let mut facilitator = TestClient::connect(&w.ws_url(&board.doc_id, &w.facilitator)).await?;
    facilitator.add_note("facilitator-after-removal", "still allowed");
    witness
        .wait_until("the facilitator's note", WAIT, |d| {
            note_ids(d).contains("facilitator-after-removal")
        })
        .await?;
    let ids = witness.note_ids();
    assert!(!ids.contains("after-removal") && !ids.contains("late-write"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workshop_over_its_quotas_is_refused_with_a_clear_error() -> TestResult {
    const QUOTA: u64 = 96 * 1024;
    let server = TestServer::start_with(|c| {
        c.workshop_quota_bytes = QUOTA;
        c.max_boards = 2;
    })
    .await?;
    let addr = server.addr();
    let w = Workshop::create(addr, "empty", "Petit atelier", "2026-05-09").await?;
    let base = format!("/api/workshops/{}", w.id);
    let f = Some(w.facilitator.as_str());
    let new_board = json!({"kind": "grid", "title": "Idées", "template": "axes"});

    // Boards: two fit, the third is refused with a message the facilitator screen shows.
    let mut boards = Vec::new();
    for _ in 0..2 {
        let r = send_json(addr, "POST", &format!("{base}/boards"), f, Some(&new_board)).await?;
        assert_eq!(r.status, 201, "{}", r.body);
        let doc_id = r
            .json()?
            .get("docId")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_default();
        boards.push(doc_id);
    }
    let r = send_json(addr, "POST", &format!("{base}/boards"), f, Some(&new_board)).await?;
    r.assert_error(409, "a third board past --max-boards 2")?;
    assert!(r.body.contains("boards"), "says what is full: {}", r.body);

    // Bytes: a participant fills the workshop; past the quota every write is refused.
    let board = boards.first().cloned().unwrap_or_default();
    let mut participant = join(&w, &board, &w.participant).await?;
    let witness = TestClient::connect(&w.ws_url(&board, &w.viewer)).await?;
    let body = "q".repeat(4096);
    let mut refused = None;
    for i in 0..64 {
        let before = denials(&participant).len();
        let id = format!("fill-{i}");
        participant.add_note_by(&id, &body, &w.me());
        // Each note is either relayed (stored), or refused.
        crate::harness::eventually("the note to be relayed or refused", WAIT, || {
            let done = witness.note_ids().contains(&id) || denials(&participant).len() > before;
            async move { done }
        })
        .await?;
        if let Some(last) = denials(&participant).get(before).cloned() {
            refused = Some((i, last));
            break;
        }
    }
    let Some((at, reason)) = refused else {
        panic!("64 notes of 4 KiB never hit a {QUOTA}-byte quota");
    };
    eprintln!("refused at note {at}: {reason}");
    assert!(reason.contains("quota"), "the denial says why: {reason}");
    assert!(
        at as u64 * 4096 <= QUOTA,
        "refused by the time the quota is used"
    );
    assert!(participant.is_connected());

    // The facilitator, too, gets a clear error: on the API…
    let r = send_json(
        addr,
        "DELETE",
        &format!("{base}/boards/{}", board_bid(&board)),
        f,
        None,
    )
    .await?;
    assert_eq!(r.status, 204, "removing a board frees a slot: {}", r.body);
    let r = send_json(addr, "POST", &format!("{base}/boards"), f, Some(&new_board)).await?;
    r.assert_error(409, "a board past the byte quota")?;
    assert!(r.body.contains("quota"), "says what is full: {}", r.body);
    // … and on the board itself.
    let mut facilitator = TestClient::connect(&w.ws_url(&boards[1], &w.facilitator)).await?;
    let before = denials(&facilitator).len();
    facilitator.add_note("facilitator-over-quota", "refused");
    let denied = wait_denied(&facilitator, before).await?;
    assert!(denied.last().is_some_and(|d| d.contains("quota")));
    let m = server.metrics().await?;
    assert!(m.value("palabre_rejected_total{reason=\"workshop_quota\"}") >= 2.0);
    assert_eq!(
        m.value("palabre_rejected_total{reason=\"too_many_boards\"}"),
        1.0
    );
    Ok(())
}

fn board_bid(doc_id: &str) -> &str {
    doc_id.split_once('.').map_or(doc_id, |(_, bid)| bid)
}
