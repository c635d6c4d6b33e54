//! Hostile text typed into notes by a client, keystroke by keystroke (Markdown and HTML
//! markup, spreadsheet formulas, a very long text, emoji, right-to-left and bidi overrides),
//! and a hostile facilitator synthesis: the server merges every keystroke exactly, and every
//! export prints them as text (no injected heading, tag, link or formula).

use std::collections::{BTreeMap, BTreeSet};

use palabre::board::grid;
use palabre::board::schema::{board_root, field};
use palabre::board::workshop;
use palabre::board::Author;
use serde_json::Value;
use yrs::{Doc, Map, Out, Text, Transact};

use super::note;
use crate::api::{edit_doc, join, model, wait_server_has, Workshop};
use crate::harness::{TestError, TestResult, TestServer};
use crate::reports::{csv_rows, unescaped};

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
