//! Workshops through the real server: the seed day written by yrs clients over WebSocket and
//! exported by the API (golden Markdown, CSV and JSON), concurrent moves and adds, hostile text,
//! the offline `palabre export`, and the roles of the REST API.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{SystemTime, UNIX_EPOCH};

use palabre::board::fixtures::fill_seed_slice;
use palabre::board::grid::{self, NoteInput};
use palabre::board::schema::{board_root, field, workshop_root};
use palabre::board::workshop;
use palabre::board::Author;
use serde_json::{json, Value};
use yrs::{Any, Doc, Map, Out, ReadTxn, Text, Transact};

use crate::api::{edit_doc, edit_docs, get, join, model, send_json, wait_server_has, Workshop};
use crate::client::TestClient;
use crate::harness::{
    eventually, io, palabre_binary, within, ChildServer, TestError, TestResult, TestServer, WAIT,
};
use crate::reports::{csv_rows, first_line_diff, fixture, json_diff, rename_strings, unescaped};

/// Columns of the five-column review template.
const FIVE: [&str; 5] = ["creer", "maintenir", "amplifier", "reduire", "arreter"];

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

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

/// A grid note's column and order key as a replica sees them.
fn note_place(doc: &Doc, id: &str) -> Option<(String, String)> {
    let txn = doc.transact();
    let notes = txn.get_map(board_root::NOTES)?;
    let Some(Out::YMap(note)) = notes.get(&txn, id) else {
        return None;
    };
    let text = |key: &str| match note.get(&txn, key) {
        Some(Out::Any(Any::String(s))) => Some(s.to_string()),
        _ => None,
    };
    Some((text(field::COLUMN)?, text(field::ORDER)?))
}

/// Every note id of a grid board in an export.json, with its column id, once per occurrence.
fn exported_notes(export: &Value, board_id: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let boards = export.get("boards").and_then(Value::as_array);
    let board = boards.and_then(|bs| {
        bs.iter()
            .find(|b| b.get("id").and_then(Value::as_str) == Some(board_id))
    });
    let columns = board
        .and_then(|b| b.pointer("/content/columns"))
        .and_then(Value::as_array);
    for column in columns.into_iter().flatten() {
        let cid = column
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("(none)")
            .to_string();
        for note in column
            .get("notes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(id) = note.get("id").and_then(Value::as_str) {
                out.push((id.to_string(), cid.clone()));
            }
        }
    }
    out
}

fn note(id: &str, column: &str, text: &str, author: &Author) -> NoteInput {
    NoteInput {
        id: id.to_string(),
        column: column.to_string(),
        text: text.to_string(),
        colour: String::new(),
        author: author.clone(),
        created_at: now_ms(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_moving_the_same_note_at_once_leave_one_note_in_one_place() -> TestResult {
    let server = TestServer::start().await?;
    let w = Workshop::create(server.addr(), "five-columns", "Bilan", "2026-05-09").await?;
    let board = w.board("grid", 0)?.clone();
    let alice = join(&w, &board.doc_id, &w.participant).await?;
    let bob = join(&w, &board.doc_id, &w.participant).await?;
    // Alice's two phones (one device): only the author moves her notes.
    let author = Author::new(&w.me(), "Alice", "Centre social");
    let ids = ["disputed-1", "disputed-2", "disputed-3"];
    edit_doc(&alice, |d| {
        ids.iter()
            .try_for_each(|id| grid::add_note(d, &note(id, "creer", "Une idée", &author), None))
    })?
    .map_err(model)?;
    bob.wait_until("bob to see alice's notes", WAIT, |d| {
        ids.iter().all(|id| note_place(d, id).is_some())
    })
    .await?;

    for round in 0..5 {
        // Both move every note before either hears of the other's moves.
        edit_docs(&[&alice, &bob], || {
            ids.iter().enumerate().try_for_each(|(k, id)| {
                let to_a = FIVE[(round + k) % 5];
                let to_b = FIVE[(round + k + 2) % 5];
                grid::move_note(alice.doc(), id, to_a, 0)?;
                grid::move_note(bob.doc(), id, to_b, 1)
            })
        })?
        .map_err(model)?;
        // Both replicas settle on the same single place for each note.
        let (a, b) = (&alice, &bob);
        eventually(
            "alice and bob to agree on every note",
            WAIT,
            || async move {
                ids.iter()
                    .all(|id| note_place(a.doc(), id) == note_place(b.doc(), id))
            },
        )
        .await?;
        for (k, id) in ids.iter().enumerate() {
            let (column, _) = note_place(alice.doc(), id)
                .ok_or_else(|| TestError::Protocol(format!("{id} vanished")))?;
            let allowed = [FIVE[(round + k) % 5], FIVE[(round + k + 2) % 5]];
            assert!(
                allowed.contains(&column.as_str()),
                "{id} ended in {column}, neither mover's target {allowed:?}"
            );
        }
    }
    wait_server_has(&w.ws_url(&board.doc_id, &w.facilitator), &alice).await?;
    wait_server_has(&w.ws_url(&board.doc_id, &w.facilitator), &bob).await?;

    // The server's report, and a newcomer, see each note once, where alice and bob see it.
    let export = w.export_json().await?;
    let exported = exported_notes(&export, &board.id);
    let newcomer = join(&w, &board.doc_id, &w.viewer).await?;
    for id in ids {
        let places: Vec<&String> = exported
            .iter()
            .filter(|(n, _)| n == id)
            .map(|(_, c)| c)
            .collect();
        let here = note_place(alice.doc(), id).map(|(c, _)| c);
        assert_eq!(places.len(), 1, "{id} exported {} times", places.len());
        assert_eq!(places.first().copied(), here.as_ref(), "{id}'s column");
        assert_eq!(note_place(newcomer.doc(), id), note_place(alice.doc(), id));
    }
    assert_eq!(exported.len(), ids.len(), "no other note appeared");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_clients_adding_notes_at_once_all_land_exactly_once() -> TestResult {
    const CLIENTS: usize = 50;
    const EACH: usize = 2;
    let server = TestServer::start().await?;
    let w = Workshop::create(server.addr(), "five-columns", "Bilan", "2026-05-09").await?;
    let board = w.board("grid", 0)?.clone();
    let mut connecting = tokio::task::JoinSet::new();
    // Fifty people, fifty devices: each writes notes carrying its own device id.
    let secret = |i: usize| format!("integration-test-device-{i:02}");
    for i in 0..CLIENTS {
        let url = format!(
            "{}&device={}",
            w.ws_url(&board.doc_id, &w.participant),
            secret(i)
        );
        connecting.spawn(async move { (i, TestClient::connect(&url).await) });
    }
    let mut joined_all = Vec::new();
    while let Some(joined) = connecting.join_next().await {
        let (i, client) = joined.map_err(|e| TestError::Server(format!("connect task: {e}")))?;
        joined_all.push((i, client?));
    }
    joined_all.sort_by_key(|(i, _)| *i);
    let clients: Vec<TestClient> = joined_all.into_iter().map(|(_, c)| c).collect();
    // Every client writes its notes before any of them is sent: all additions are concurrent,
    // most at the very same position (the top of "Créer").
    let all: Vec<&TestClient> = clients.iter().collect();
    let mut expected = BTreeSet::new();
    edit_docs(&all, || {
        clients.iter().enumerate().try_for_each(|(i, c)| {
            let who = Author::new(
                &w.device_id(&secret(i)),
                &format!("Personne {i}"),
                "Structure",
            );
            (0..EACH).try_for_each(|k| {
                let id = format!("c{i:02}-{k}");
                expected.insert(id.clone());
                let column = if k == 0 { "creer" } else { FIVE[i % 5] };
                grid::add_note(c.doc(), &note(&id, column, "idée", &who), Some(0))
            })
        })
    })?
    .map_err(model)?;

    for (i, c) in clients.iter().enumerate() {
        c.wait_until(
            &format!("client {i} to hold all {} notes", CLIENTS * EACH),
            WAIT,
            |d| {
                let txn = d.transact();
                txn.get_map(board_root::NOTES)
                    .is_some_and(|m| m.len(&txn) as usize == CLIENTS * EACH)
            },
        )
        .await?;
    }
    for c in &clients {
        wait_server_has(&w.ws_url(&board.doc_id, &w.facilitator), c).await?;
    }
    let exported = exported_notes(&w.export_json().await?, &board.id);
    let ids: Vec<&String> = exported.iter().map(|(id, _)| id).collect();
    let distinct: BTreeSet<String> = ids.iter().map(|s| s.to_string()).collect();
    assert_eq!(ids.len(), CLIENTS * EACH, "notes in the export");
    assert_eq!(distinct, expected, "each note exactly once");
    Ok(())
}

/// Types `text` into note `id`'s Y.Text a chunk per transaction, as a person typing would.
fn type_into(doc: &Doc, id: &str, text: &str) -> TestResult {
    let chars: Vec<char> = text.chars().collect();
    for chunk in chars.chunks(500) {
        let chunk: String = chunk.iter().collect();
        let notes = doc.get_or_insert_map(board_root::NOTES);
        let mut txn = doc.transact_mut();
        let Some(Out::YMap(n)) = notes.get(&txn, id) else {
            return Err(TestError::Protocol(format!("note {id} missing")));
        };
        let Some(Out::YText(t)) = n.get(&txn, field::TEXT) else {
            return Err(TestError::Protocol(format!("note {id} has no Y.Text")));
        };
        let end = t.len(&txn);
        t.insert(&mut txn, end, &chunk);
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_text_typed_by_a_client_exports_safely() -> TestResult {
    let server = TestServer::start().await?;
    let w = Workshop::create(server.addr(), "five-columns", "Bilan", "2026-05-09").await?;
    let board = w.board("grid", 0)?.clone();
    let headings = |md: &str| -> BTreeSet<String> {
        md.lines()
            .filter(|l| l.starts_with('#'))
            .map(str::to_string)
            .collect()
    };
    // An empty board prints no columns; once notes are there, these are all its headings.
    let headings_before: BTreeSet<String> = [
        "# Bilan",
        "## 1. Bilan collectif et évolutions pour la suite",
        "### Créer",
        "### Maintenir",
        "### Amplifier",
        "### Réduire",
        "### Arrêter",
    ]
    .into_iter()
    .map(str::to_string)
    .collect();

    let long = "Bénévoles!".repeat(1_000);
    let rtl = "مرحبا بالعالم — שלום \u{202E}evil";
    let emoji = "👩🏽‍💻 Merci 🎉🙏🏾";
    let notes: [(&str, &str); 6] = [
        (
            "h-md",
            "# title\n## sub\n- item\n1. first\n```rust\n| a | b |\n[x](javascript:alert(1))\n===\n~~s~~ *b* _i_",
        ),
        (
            "h-html",
            "<script>alert('x')</script><img src=x onerror=alert(1)>",
        ),
        ("h-csv", "=1+1, \"quoted\", a|b\nsecond line"),
        ("h-long", &long),
        ("h-emoji", emoji),
        ("h-rtl", rtl),
    ];
    let mallory = Author::new(&w.me(), "<b>Mallory</b> | #1", "=HYPERLINK(\"x\")");
    let mut typist = join(&w, &board.doc_id, &w.participant).await?;
    for (id, text) in notes {
        edit_doc(&typist, |d| {
            grid::add_note(d, &note(id, "creer", "", &mallory), None).map_err(model)?;
            type_into(d, id, text)
        })??;
    }
    wait_server_has(&w.ws_url(&board.doc_id, &w.facilitator), &typist).await?;
    typist.close().await;
    // The facilitator's synthesis is Markdown on purpose, but nothing in it may become markup
    // other than headings, paragraphs, lists and emphasis under the activity.
    let bid = board
        .doc_id
        .split_once('.')
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    let facilitator = join(&w, &w.id, &w.facilitator).await?;
    let hostile_synthesis = "# Retour\n\n<script>alert('s')</script>\n\n\
        - <img src=x onerror=alert(2)>\n  - [lien](javascript:alert(3))\n\n\
        ```\n</details><h1>x</h1>\n```\n\n| a | b |\n\u{0}\u{1b}[31m";
    edit_doc(&facilitator, |d| {
        workshop::set_board_notes(d, &bid, Some(hostile_synthesis), Some("<b>aparté</b>"))
    })?
    .map_err(model)?;
    wait_server_has(&w.ws_url(&w.id, &w.facilitator), &facilitator).await?;

    // The server merged every keystroke: the structured export holds each text exactly.
    let export = w.export_json().await?;
    let texts: BTreeMap<String, String> = export
        .pointer("/boards/0/content/columns/0/notes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|n| {
            Some((
                n.get("id")?.as_str()?.to_string(),
                n.get("text")?.as_str()?.to_string(),
            ))
        })
        .collect();
    for (id, text) in notes {
        assert_eq!(
            texts.get(id).map(String::as_str),
            Some(text),
            "{id} in export.json"
        );
    }

    let md = w.export_ok("md").await?;
    let synthesis_headings: BTreeSet<String> = ["### Synthèse", "#### Retour", "### Parenthèses"]
        .into_iter()
        .map(str::to_string)
        .collect();
    assert_eq!(
        headings(&md),
        headings_before
            .union(&synthesis_headings)
            .cloned()
            .collect(),
        "user text made Markdown headings"
    );
    assert!(
        !md.contains('\u{0}') && !md.contains('\u{1b}'),
        "control characters dropped"
    );
    for line in md.lines() {
        for start in ["```", "===", "1. first", "- item", "<"] {
            assert!(!line.starts_with(start), "active Markdown line: {line:?}");
        }
    }
    for active in [
        "<script",
        "<img",
        "<b>",
        "](javascript",
        "`",
        "|",
        "~~",
        "*b*",
        "_i_",
    ] {
        assert_eq!(
            unescaped(&md, active),
            0,
            "{active} left active in Markdown"
        );
    }
    assert!(
        md.contains(&long),
        "the 10 000-character note is whole in Markdown"
    );
    assert!(md.contains(emoji) && md.contains("مرحبا بالعالم"));

    let html = w.export_ok("html").await?;
    let lower = html.to_lowercase();
    assert_eq!(lower.matches("<script").count(), 0, "script in HTML");
    assert_eq!(lower.matches("<img").count(), 0, "img in HTML");
    assert_eq!(
        lower.matches("<h1").count(),
        1,
        "only the report's own title is an h1"
    );
    assert_eq!(
        lower.matches("</details>").count(),
        lower.matches("<details").count()
    );
    assert!(!lower.contains("href=\"javascript"), "no script link");
    assert!(!html.contains("<b>aparté"), "side remarks escaped");
    assert!(!html.contains("<b>Mallory"));
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert!(html.contains(&long) && html.contains(emoji) && html.contains(rtl));

    let rows = csv_rows(&w.export_ok("csv").await?)?;
    let row = |id: &str| {
        rows.iter()
            .find(|r| r.get("id").map(String::as_str) == Some(id))
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(
        rows.len(),
        notes.len() + 2,
        "one CSV row per note, none split, plus the synthesis and the side remarks"
    );
    let field_of = |id: &str, name: &str| row(id).get(name).cloned().unwrap_or_default();
    assert_eq!(field_of("h-long", "text"), long);
    assert_eq!(field_of("h-emoji", "text"), emoji);
    assert_eq!(field_of("h-rtl", "text"), rtl);
    assert_eq!(
        field_of("h-csv", "text"),
        "'=1+1, \"quoted\", a|b / second line",
        "quotes and commas kept inside the cell, the formula neutralised"
    );
    assert_eq!(field_of("h-html", "author"), "<b>Mallory</b> | #1");
    assert_eq!(field_of("h-html", "organisation"), "'=HYPERLINK(\"x\")");
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
