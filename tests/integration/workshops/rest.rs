//! The roles of the REST API: exports for facilitators and viewers only, board changes
//! (add, reorder, remove) for the facilitator alone and seen by connected clients, and
//! malformed requests answered with a JSON error of the contract's status.

use palabre::board::schema::{board_root, field, workshop_root};
use serde_json::{json, Value};
use yrs::{Any, Doc, Map, Out, ReadTxn, Transact};

use crate::api::{get, join, send_json, Workshop};
use crate::harness::{TestResult, TestServer, WAIT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_are_for_facilitators_and_viewers_only() -> TestResult {
    let server = TestServer::start().await?;
    let w = Workshop::create(
        server.addr(),
        "journee-bilan",
        "Journée bilan",
        "2026-05-09",
    )
    .await?;
    let other = Workshop::create(server.addr(), "empty", "Autre atelier", "2026-05-09").await?;
    for ext in ["md", "html", "csv", "json"] {
        w.export(ext, &w.participant)
            .await?
            .assert_error(403, &format!("participant export.{ext}"))?;
        w.export(ext, &other.facilitator).await?.assert_error(
            403,
            &format!("another workshop's facilitator, export.{ext}"),
        )?;
        w.export(ext, "not-a-secret")
            .await?
            .assert_error(403, &format!("wrong token, export.{ext}"))?;
        get(
            server.addr(),
            &format!("/api/workshops/{}/export.{ext}", w.id),
            None,
        )
        .await?
        .assert_error(401, &format!("no token, export.{ext}"))?;
        for token in [&w.viewer, &w.facilitator] {
            let r = w.export(ext, token).await?;
            assert_eq!(r.status, 200, "export.{ext}: {}", r.body);
            // No note yet: the CSV is its header alone; the other reports have the day's title.
            let content = if ext == "csv" {
                "board,kind,"
            } else {
                "Journée bilan"
            };
            assert!(r.body.contains(content), "export.{ext}: {}", r.body);
        }
    }
    // A plain download link carries the secret in the query.
    let r = get(
        server.addr(),
        &format!("/api/workshops/{}/export.md?token={}", w.id, w.viewer),
        None,
    )
    .await?;
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/markdown")));
    let r = get(
        server.addr(),
        &format!("/api/workshops/{}/export.csv?token={}", w.id, w.participant),
        None,
    )
    .await?;
    r.assert_error(403, "participant export through ?token=")?;
    let m = server.metrics().await?;
    assert!(m.value("palabre_rejected_total{reason=\"role_forbidden\"}") >= 5.0);
    Ok(())
}

/// Agenda board ids of a workshop doc replica, in agenda order.
fn agenda_of(doc: &Doc) -> Vec<String> {
    let txn = doc.transact();
    let Some(agenda) = txn.get_map(workshop_root::AGENDA) else {
        return Vec::new();
    };
    let mut entries: Vec<(String, String)> = agenda
        .iter(&txn)
        .map(|(bid, entry)| {
            let order = match entry {
                Out::YMap(m) => match m.get(&txn, field::ORDER) {
                    Some(Out::Any(Any::String(s))) => s.to_string(),
                    _ => String::new(),
                },
                _ => String::new(),
            };
            (order, bid.to_string())
        })
        .collect();
    entries.sort();
    entries.into_iter().map(|(_, bid)| bid).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn board_changes_are_for_the_facilitator_and_reach_connected_clients() -> TestResult {
    let server = TestServer::start().await?;
    let addr = server.addr();
    let w = Workshop::create(addr, "journee-bilan", "Journée bilan", "2026-05-09").await?;
    let base = format!("/api/workshops/{}", w.id);
    let watcher = join(&w, &w.id, &w.participant).await?;
    let ids: Vec<String> = w.boards.iter().map(|b| b.id.clone()).collect();
    assert_eq!(agenda_of(watcher.doc()), ids, "the agenda as created");

    let new_board = json!({"kind": "grid", "title": "Idées en plus", "template": "axes"});
    let reversed: Vec<String> = ids.iter().rev().cloned().collect();
    let order = json!({ "order": reversed });
    let first = ids.first().cloned().unwrap_or_default();
    for (token, who) in [(&w.participant, "participant"), (&w.viewer, "viewer")] {
        let t = Some(token.as_str());
        send_json(addr, "POST", &format!("{base}/boards"), t, Some(&new_board))
            .await?
            .assert_error(403, &format!("{who} adds a board"))?;
        send_json(
            addr,
            "PUT",
            &format!("{base}/boards/order"),
            t,
            Some(&order),
        )
        .await?
        .assert_error(403, &format!("{who} reorders"))?;
        send_json(addr, "DELETE", &format!("{base}/boards/{first}"), t, None)
            .await?
            .assert_error(403, &format!("{who} deletes a board"))?;
        send_json(addr, "POST", &format!("{base}/rotate"), t, None)
            .await?
            .assert_error(403, &format!("{who} rotates the links"))?;
    }
    send_json(
        addr,
        "POST",
        &format!("{base}/boards"),
        None,
        Some(&new_board),
    )
    .await?
    .assert_error(401, "adding a board without a token")?;
    let shown = get(addr, &base, Some(&w.participant)).await?.json()?;
    assert_eq!(shown.get("role"), Some(&json!("participant")));
    assert_eq!(
        crate::api::boards_of(&shown)?,
        w.boards,
        "refused changes changed nothing"
    );
    assert_eq!(agenda_of(watcher.doc()), ids);

    // The facilitator adds a board: it is listed, connectable, and the watcher's agenda has it.
    let f = Some(w.facilitator.as_str());
    let r = send_json(addr, "POST", &format!("{base}/boards"), f, Some(&new_board)).await?;
    assert_eq!(r.status, 201, "{}", r.body);
    let added = r.json()?;
    let bid = added
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        added.get("docId").and_then(Value::as_str),
        Some(format!("{}.{bid}", w.id).as_str())
    );
    assert_eq!(added.get("kind"), Some(&json!("grid")));
    watcher
        .wait_until("the new board in the watcher's agenda", WAIT, |d| {
            agenda_of(d).last() == Some(&bid)
        })
        .await?;
    let on_board = join(&w, &format!("{}.{bid}", w.id), &w.participant).await?;
    let kind = {
        let txn = on_board.doc().transact();
        txn.get_map(board_root::META)
            .and_then(|m| m.get(&txn, field::KIND))
            .map(|k| k.to_string(&txn))
    };
    assert_eq!(kind.as_deref(), Some("grid"), "the new board's doc");

    // Reorder: the API and the watcher agree on the new order.
    let mut wanted = vec![bid.clone()];
    wanted.extend(reversed.iter().cloned());
    let r = send_json(
        addr,
        "PUT",
        &format!("{base}/boards/order"),
        f,
        Some(&json!({ "order": wanted })),
    )
    .await?;
    assert_eq!(r.status, 204, "{}", r.body);
    watcher
        .wait_until("the new order in the watcher's agenda", WAIT, |d| {
            agenda_of(d) == wanted
        })
        .await?;
    let listed: Vec<String> = crate::api::boards_of(&get(addr, &base, f).await?.json()?)?
        .into_iter()
        .map(|b| b.id)
        .collect();
    assert_eq!(listed, wanted);

    // Delete: gone from the API, the watcher's agenda and the report.
    let r = send_json(addr, "DELETE", &format!("{base}/boards/{first}"), f, None).await?;
    assert_eq!(r.status, 204, "{}", r.body);
    watcher
        .wait_until("the deletion in the watcher's agenda", WAIT, |d| {
            !agenda_of(d).contains(&first)
        })
        .await?;
    let export = w.export_json().await?;
    let exported: Vec<&str> = export
        .get("boards")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|b| b.get("id").and_then(Value::as_str))
        .collect();
    assert!(!exported.contains(&first.as_str()) && exported.contains(&bid.as_str()));

    send_json(addr, "DELETE", &format!("{base}/boards/{first}"), f, None)
        .await?
        .assert_error(404, "deleting a deleted board")?;
    Ok(())
}

#[tokio::test]
async fn malformed_api_requests_get_json_errors_with_the_contracts_status() -> TestResult {
    let server = TestServer::start().await?;
    let addr = server.addr();
    let w = Workshop::create(addr, "empty", "Atelier", "2026-05-09").await?;
    let base = format!("/api/workshops/{}", w.id);
    let boards = format!("{base}/boards");
    let order = format!("{base}/boards/order");
    let cases: [(&str, &str, Option<&str>, u16, &str); 9] = [
        (
            "POST",
            "/api/workshops",
            Some("{not json"),
            400,
            "a syntax error",
        ),
        (
            "POST",
            "/api/workshops",
            Some(r#"{"template": "no-such-template", "title": "X", "date": "2026-05-09"}"#),
            400,
            "an unknown workshop template",
        ),
        (
            "POST",
            "/api/workshops",
            Some(r#"{"template": "empty", "title": "", "date": "2026-05-09"}"#),
            400,
            "an empty title",
        ),
        (
            "POST",
            &boards,
            Some(r#"{"kind": "grid", "title": "X", "template": "no-such-template"}"#),
            400,
            "an unknown board template",
        ),
        (
            "POST",
            &boards,
            Some(r#"{"kind": "timeline", "title": "X", "template": "five-columns"}"#),
            400,
            "a template of another kind",
        ),
        (
            "POST",
            &boards,
            Some(r#"{"kind": 42}"#),
            400,
            "a board without a title",
        ),
        (
            "PUT",
            &order,
            Some(r#"{"order": "not a list"}"#),
            400,
            "an order that is not a list",
        ),
        (
            "DELETE",
            &format!("{boards}/nosuchboard"),
            None,
            404,
            "an unknown board",
        ),
        (
            "GET",
            "/api/workshops/nosuchworkshop",
            None,
            403,
            "an unknown workshop",
        ),
    ];
    let bearer = format!("Bearer {}", w.facilitator);
    let mut broken = Vec::new();
    for (method, path, body, status, what) in cases {
        let r =
            crate::api::request(addr, method, path, &[("Authorization", &bearer)], body).await?;
        let json_error = r
            .json()
            .ok()
            .and_then(|j| j.get("error").and_then(Value::as_str).map(str::to_string));
        if r.status != status || json_error.is_none() {
            broken.push(format!(
                "{method} {path} with {what}: {} {:?} (want {status} and {{\"error\": …}})",
                r.status, r.body
            ));
        }
    }
    assert!(
        broken.is_empty(),
        "errors off the contract:\n{}",
        broken.join("\n")
    );
    Ok(())
}
