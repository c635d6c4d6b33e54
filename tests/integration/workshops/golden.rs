//! The seed day ("Journée bilan") written by yrs clients over WebSocket and exported by the
//! live API, compared with the golden Markdown, CSV and JSON files; and the offline
//! `palabre export` of the stopped server, which must print the same.

use std::collections::BTreeMap;

use palabre::board::fixtures::fill_seed_slice;
use serde_json::Value;
use yrs::Doc;

use super::now_ms;
use crate::api::{edit_docs, join, model, wait_server_has, Workshop};
use crate::client::TestClient;
use crate::harness::{
    io, palabre_binary, within, ChildServer, TestError, TestResult, TestServer, WAIT,
};
use crate::reports::{csv_rows, first_line_diff, fixture, json_diff, rename_strings};

/// A facilitator's clients on a workshop doc (first) and on each of its boards (in agenda order).
struct Day {
    workshop: Workshop,
    clients: Vec<TestClient>,
}

/// Creates a "Journée bilan" workshop through the API, connects a facilitator client to every
/// doc, writes the seed slice into the clients' docs, and waits until the server holds it all.
async fn seed_day(addr: std::net::SocketAddr) -> TestResult<Day> {
    let w = Workshop::create(addr, "journee-bilan", "Journée bilan", "2023-05-09").await?;
    let mut clients = vec![join(&w, &w.id, &w.facilitator).await?];
    for b in &w.boards {
        clients.push(join(&w, &b.doc_id, &w.facilitator).await?);
    }
    let (workshop_client, board_clients) = clients
        .split_first()
        .ok_or_else(|| TestError::Protocol("no client".into()))?;
    let boards: Vec<(String, Doc)> = w
        .boards
        .iter()
        .zip(board_clients)
        .map(|(b, c)| (b.doc_id.clone(), c.doc().clone()))
        .collect();
    let all: Vec<&TestClient> = clients.iter().collect();
    edit_docs(&all, || fill_seed_slice(workshop_client.doc(), &boards))?.map_err(model)?;
    wait_server_has(&w.ws_url(&w.id, &w.facilitator), workshop_client).await?;
    for (b, c) in w.boards.iter().zip(board_clients) {
        wait_server_has(&w.ws_url(&b.doc_id, &w.facilitator), c).await?;
    }
    Ok(Day {
        workshop: w,
        clients,
    })
}

/// The activity headings of the seed report (shared/seed/journee-bilan-2023-05-09.txt), in order.
const SEED_ACTIVITIES: [&str; 9] = [
    "Brise glace \"Confidences et petits papiers\"",
    "Frise chronologique des temps forts",
    "Bilan collectif et évolutions pour la suite",
    "Voir les prochaines actions à prioriser",
    "Accélérateurs de projet",
    "Energizer pour faire connaissance et se dynamiser",
    "Entretiens croisés",
    "Réflexion collective sur 3 axes d'amélioration",
    "Bilan de la journée",
];

/// Letters and digits only, lower case, accents kept apart: how two headings are compared.
fn fold_heading(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Every activity heading of the report (`## N. title`) is one of the seed's, in the seed's order.
fn assert_seed_activity_headings(md: &str) {
    let ours: Vec<&str> = md
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .filter_map(|h| h.split_once(". ").map(|(_, title)| title))
        .collect();
    assert!(ours.len() >= 6, "activity headings: {ours:?}");
    let mut seed = SEED_ACTIVITIES.iter();
    for heading in &ours {
        let folded = fold_heading(&heading.replace(['«', '»'], ""));
        let found = seed.any(|s| fold_heading(s).contains(&folded));
        assert!(
            found,
            "{heading:?} is not a seed activity heading in the seed's order ({ours:?})"
        );
    }
}

fn assert_same_text(name: &str, expected: &str, actual: &str) {
    if let Some(diff) = first_line_diff(expected, actual) {
        panic!("{name} differs from the golden file: {diff}");
    }
}

/// The server's JSON export with its own ids and creation times replaced by the golden file's,
/// after checking that they are well-formed and that the times are those of this run.
fn normalise_json(
    mut actual: Value,
    expected: &Value,
    created_between: (i64, i64),
) -> TestResult<Value> {
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
    let mut renames = BTreeMap::new();
    let (Some(aw), Some(ew)) = (text(&actual, "id"), text(expected, "id")) else {
        return Err(TestError::Protocol("export.json without an id".into()));
    };
    assert!(
        aw.len() == 16 && aw.bytes().all(|b| matches!(b, b'a'..=b'z' | b'2'..=b'7')),
        "workshop id {aw:?} is not 16 base32 characters"
    );
    renames.insert(aw, ew);
    let empty = Vec::new();
    let actual_boards = actual
        .get("boards")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    let expected_boards = expected
        .get("boards")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    assert_eq!(actual_boards.len(), expected_boards.len(), "board count");
    for (a, e) in actual_boards.iter().zip(expected_boards) {
        for key in ["id", "docId"] {
            if let (Some(x), Some(y)) = (text(a, key), text(e, key)) {
                renames.insert(x, y);
            }
        }
    }
    rename_strings(&mut actual, &renames);
    let (from, to) = created_between;
    let fix_time = |v: &mut Value, e: &Value, what: &str| {
        let t = v.get("createdAt").and_then(Value::as_i64).unwrap_or(0);
        assert!(
            (from..=to).contains(&t),
            "{what} createdAt {t} is not the time of this run ({from}..={to})"
        );
        if let (Some(slot), Some(golden)) = (v.get_mut("createdAt"), e.get("createdAt")) {
            *slot = golden.clone();
        }
    };
    fix_time(&mut actual, expected, "workshop");
    if let Some(boards) = actual.get_mut("boards").and_then(Value::as_array_mut) {
        for (i, (a, e)) in boards.iter_mut().zip(expected_boards).enumerate() {
            fix_time(a, e, &format!("board {i}"));
        }
    }
    Ok(actual)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_day_written_by_websocket_clients_exports_the_golden_report() -> TestResult {
    let server = TestServer::start().await?;
    let started = now_ms();
    let day = seed_day(server.addr()).await?;
    let finished = now_ms();
    let w = &day.workshop;
    assert_eq!(w.boards.len(), 9, "the Journée bilan agenda");

    // The Markdown report is the golden one, byte for byte: it shows no server-made id or time.
    let md = w.export_ok("md").await?;
    assert_same_text("export.md", &fixture("journee-bilan.expected.md")?, &md);
    assert_seed_activity_headings(&md);

    // CSV, field by field: same rows, in the same order, with the same values.
    let expected_rows = csv_rows(&fixture("journee-bilan.expected.csv")?)?;
    let rows = csv_rows(&w.export_ok("csv").await?)?;
    assert_eq!(rows.len(), expected_rows.len(), "CSV row count");
    for (i, (row, expected)) in rows.iter().zip(&expected_rows).enumerate() {
        assert_eq!(
            row.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "CSV columns"
        );
        for (name, value) in expected {
            assert_eq!(
                row.get(name),
                Some(value),
                "CSV row {} ({:?}), field {name}",
                i + 1,
                expected.get("id")
            );
        }
    }

    // JSON, field by field. The workshop and board ids and their creation times are the server's
    // (random ids, the time of the POST): checked for shape, then mapped onto the golden file's.
    let expected: Value = serde_json::from_str(&fixture("journee-bilan.expected.json")?)
        .map_err(|e| TestError::Protocol(format!("golden JSON: {e}")))?;
    let actual = normalise_json(w.export_json().await?, &expected, (started, finished))?;
    if let Some(diff) = json_diff(&expected, &actual) {
        panic!("export.json differs from the golden file at {diff}");
    }

    // HTML is the same report: every board title is there, in agenda order.
    let html = w.export_ok("html").await?;
    let mut at = 0;
    let shown: Vec<String> = md
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .filter_map(|h| h.split_once(". ").map(|(_, t)| t.replace("\\", "")))
        .collect();
    for title in &shown {
        let title = title.replace('\'', "&#39;");
        let found = html.get(at..).and_then(|rest| rest.find(&title));
        let Some(pos) = found else {
            panic!("board {title:?} missing or out of order in export.html");
        };
        at += pos + title.len();
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_cli_export_of_a_stopped_server_matches_the_live_api() -> TestResult {
    let data = tempfile::tempdir().map_err(io("creating a data dir"))?;
    let logs = tempfile::tempdir().map_err(io("creating a log dir"))?;
    let server = ChildServer::start(data.path(), logs.path(), &[]).await?;
    let mut day = seed_day(server.addr()).await?;
    let w = day.workshop.clone();
    let mut live = BTreeMap::new();
    for format in ["md", "csv", "json", "html"] {
        live.insert(format, w.export_ok(format).await?);
    }
    assert_same_text(
        "live export.md",
        &fixture("journee-bilan.expected.md")?,
        live.get("md").map(String::as_str).unwrap_or_default(),
    );
    for c in &mut day.clients {
        c.close().await;
    }
    let status = server.terminate().await?;
    assert!(status.success(), "the server stopped with {status}");

    let bin = palabre_binary()?;
    for (format, expected) in &live {
        let out = within(
            &format!("palabre export --format {format}"),
            WAIT,
            tokio::process::Command::new(&bin)
                .arg("export")
                .arg(&w.id)
                .arg("--format")
                .arg(format)
                .arg("--data-dir")
                .arg(data.path())
                .env("PALABRE_LOG", "warn")
                .output(),
        )
        .await?
        .map_err(io("running palabre export"))?;
        assert!(
            out.status.success(),
            "palabre export --format {format} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let printed = String::from_utf8_lossy(&out.stdout);
        assert_same_text(&format!("offline {format}"), expected, &printed);
    }
    Ok(())
}
