//! Cross-module tests of the board model: golden exports of the seed day, checked-in binary
//! fixtures, concurrency and hostile content.
//! Over 400 lines: one golden or hostile-content case per test, sharing the seed-day helpers.

use std::path::PathBuf;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use yrs::updates::decoder::Decode;
use yrs::{Doc, Map, ReadTxn, StateVector, Transact, Update, WriteTxn};

use super::export;
use super::fields::{doc_from_update, encode_doc};
use super::fixtures::{board_by_template, seed_filled, T0};
use super::grid::{self, NoteInput};
use super::schema::{board_root, field, Author, BoardKind};
use super::view::{read_board, ControlView};
use super::view::{read_workshop, BoardContent, WorkshopView};
use super::BoardError;

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

fn blessing() -> bool {
    std::env::var_os("PALABRE_BLESS").is_some_and(|v| v == "1")
}

/// Compares `actual` with a checked-in file, or rewrites the file under `PALABRE_BLESS=1`.
fn golden(name: &str, actual: &[u8]) {
    let path = fixtures_dir().join(name);
    if blessing() {
        std::fs::create_dir_all(fixtures_dir()).expect("create fixtures dir");
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with PALABRE_BLESS=1 to create it)",
            path.display()
        )
    });
    if expected != actual {
        let actual_path = path.with_extension("actual");
        std::fs::write(&actual_path, actual).ok();
        panic!(
            "{} differs from the output written to {} (PALABRE_BLESS=1 to accept)",
            path.display(),
            actual_path.display()
        );
    }
}

fn seed_view() -> WorkshopView {
    let (workshop, boards) = seed_filled().expect("seed scenario");
    read_workshop(&workshop, &boards)
}

#[test]
fn golden_markdown_of_the_seed_day() {
    let md = export::markdown(&seed_view());
    golden("journee-bilan.expected.md", md.as_bytes());
}

#[test]
fn golden_html_and_json_of_the_seed_day() {
    let view = seed_view();
    golden(
        "journee-bilan.expected.html",
        export::html(&view).as_bytes(),
    );
    golden(
        "journee-bilan.expected.json",
        export::json(&view).as_bytes(),
    );
    golden("journee-bilan.expected.csv", export::csv(&view).as_bytes());
}

#[test]
fn seed_view_has_the_expected_shape() {
    let view = seed_view();
    assert_eq!(view.title, "Journée bilan");
    assert_eq!(view.date, "2023-05-09");
    assert_eq!(view.objectives.len(), 3);
    assert_eq!(view.participants.len(), 9);
    assert_eq!(view.groups.len(), 4);
    assert_eq!(view.participants.iter().filter(|p| p.phone).count(), 4);
    let titles: Vec<&str> = view.boards.iter().map(|b| b.title.as_str()).collect();
    assert_eq!(titles.len(), 9, "{titles:?}");
    assert_eq!(
        view.projected.as_deref(),
        view.boards.get(2).map(|b| b.id.as_str())
    );

    let Some(BoardContent::Timeline(t)) = view.boards.get(1).map(|b| &b.content) else {
        panic!("second board is the timeline");
    };
    let order: Vec<&str> = t.cards.iter().map(|c| c.sort_key.as_str()).collect();
    assert_eq!(
        order,
        ["2021", "2022-04", "2022-09"],
        "stored keys are kept"
    );

    let Some(BoardContent::Grid(g)) = view.boards.get(2).map(|b| &b.content) else {
        panic!("third board is the five-column grid");
    };
    let columns: Vec<&str> = g.columns.iter().map(|c| c.title.as_str()).collect();
    assert_eq!(
        columns,
        ["Créer", "Maintenir", "Amplifier", "Réduire", "Arrêter"]
    );
    let maintain = g.columns.get(1).expect("Maintenir");
    let first = maintain.notes.first().expect("a note");
    assert_eq!(first.text, "Le partage d'expérience");
    assert_eq!(first.votes, 3);
    assert_eq!(first.voters.get("p-ines"), Some(&2));
    assert_eq!(first.author.name, "Sophie Garnier");
    assert_eq!(first.author.organisation, "CLEF Chantemerle");
    assert_eq!(first.created_at, T0 + 63 * 60_000);

    let next_actions = view.boards.get(3).expect("next actions");
    let Some(BoardContent::Grid(na)) = Some(&next_actions.content) else {
        panic!("grid");
    };
    // Participants are added after creation, so the template falls back to one column.
    // The template fell back to one column (people came later); the facilitator added one.
    assert_eq!(na.columns.len(), 2);

    let Some(BoardContent::Icebreaker(ice)) = view.boards.first().map(|b| &b.content) else {
        panic!("first board is the icebreaker");
    };
    assert_eq!(ice.notes.len(), 2);
    assert_eq!(ice.hidden, 1);
}

#[test]
fn csv_is_checked_field_by_field() {
    let csv_text = export::csv(&seed_view());
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .expect("headers")
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(headers, export::CSV_HEADERS);
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().expect("rows");
    let col = |name: &str| headers.iter().position(|h| h == name).expect("column");
    let find = |id: &str| {
        rows.iter()
            .find(|r| r.get(col("id")) == Some(id))
            .unwrap_or_else(|| panic!("row {id}"))
    };
    let note = find("n-maint-1");
    assert_eq!(
        note.get(col("board")),
        Some("Bilan collectif et évolutions pour la suite")
    );
    assert_eq!(note.get(col("kind")), Some("grid"));
    assert_eq!(note.get(col("section")), Some("Maintenir"));
    assert_eq!(note.get(col("text")), Some("Le partage d'expérience"));
    assert_eq!(note.get(col("author")), Some("Sophie Garnier"));
    assert_eq!(note.get(col("organisation")), Some("CLEF Chantemerle"));
    assert_eq!(note.get(col("votes")), Some("3"));
    assert_eq!(note.get(col("created_at")), Some("2023-05-09T09:03:00Z"));
    let grouped = find("n-ampl-3");
    assert_eq!(grouped.get(col("group")), Some("Travailler en réseau"));
    let card = find("card-pix");
    assert_eq!(card.get(col("when")), Some("printemps 2022"));
    assert_eq!(card.get(col("date")), Some("2022-04"));
    assert_eq!(card.get(col("person")), Some("Inès Caron"));
    assert_eq!(
        card.get(col("person_organisation")),
        Some("Régie Coup de Pouce")
    );
    let action = find("acc-a1");
    assert_eq!(action.get(col("section")), Some("Plan d'action"));
    assert_eq!(action.get(col("who")), Some("Julien Morel"));
    assert_eq!(
        action.get(col("next_step")),
        Some("Premier brouillon avant la fin du mois")
    );
    let answer = find("ans-2");
    assert_eq!(answer.get(col("group")), Some("Structures accompagnées"));
    assert_eq!(answer.get(col("section")), Some("Ce que je retiens"));
    assert!(
        rows.iter().all(|r| r.get(col("id")) != Some("ice-3")),
        "hidden note exported"
    );
    assert!(rows.iter().any(|r| r.get(col("id")) == Some("ice-2")));
    // 12 + 6 + 4 notes, 3 cards, 7 items, 4 answers, 2 revealed icebreaker notes, a synthesis
    // and side remarks.
    assert_eq!(rows.len(), 40);
    let sub = find("na-3");
    assert_eq!(
        sub.get(col("parent")),
        Some("na-2"),
        "a sub-point names its note"
    );
}

#[test]
fn json_is_checked_field_by_field() {
    let view = seed_view();
    let json: serde_json::Value = serde_json::from_str(&export::json(&view)).expect("valid JSON");
    assert_eq!(json["title"], "Journée bilan");
    assert_eq!(json["participants"][0]["group"], "facilitation");
    let boards = json["boards"].as_array().expect("boards");
    assert_eq!(boards.len(), 9);
    assert_eq!(boards[0]["kind"], "icebreaker");
    assert_eq!(
        boards[0]["control"]["revealed"],
        serde_json::json!(["ice-1", "ice-2"])
    );
    assert_eq!(boards[1]["content"]["cards"][0]["person"], "Hugo Lemaire");
    assert_eq!(boards[2]["control"]["votesPerPerson"], 3);
    assert_eq!(boards[2]["content"]["kind"], "grid");
    assert_eq!(boards[2]["content"]["columns"][1]["notes"][0]["votes"], 3);
    assert_eq!(
        boards[2]["content"]["columns"][1]["notes"][0]["author"]["organisation"],
        "CLEF Chantemerle"
    );
    assert_eq!(boards[4]["content"]["actions"][0]["who"], "Julien Morel");
    assert_eq!(
        boards[4]["content"]["reformulation"]
            .as_str()
            .map(|s| s.starts_with("Comment recruter")),
        Some(true)
    );
    assert_eq!(
        boards[6]["content"]["questions"][3]["groups"][1]["answers"][1]["text"],
        "Le diagnostic de départ, source du projet"
    );
    assert_eq!(boards[0]["content"]["hidden"], 1);
    assert_eq!(
        boards[0]["doc_id"],
        serde_json::Value::Null,
        "camelCase keys only"
    );
    assert_eq!(
        boards[0]["docId"]
            .as_str()
            .map(|d| d.starts_with(json["id"].as_str().unwrap_or("?"))),
        Some(true)
    );
}

/// The docs of the seed day as (file name, bytes): the workshop doc, then each board in agenda
/// order named after its position and template.
fn seed_fixture_files() -> Vec<(String, Vec<u8>)> {
    let (workshop, boards) = seed_filled().expect("seed scenario");
    let view = read_workshop(&workshop, &boards);
    let mut files = vec![("rust-workshop.bin".to_owned(), encode_doc(&workshop))];
    for (i, b) in view.boards.iter().enumerate() {
        let doc = boards
            .iter()
            .find(|(id, _)| *id == b.doc_id)
            .map(|(_, d)| d)
            .expect("board doc");
        files.push((
            format!("rust-board-{}-{}.bin", i + 1, b.template),
            encode_doc(doc),
        ));
    }
    files
}

/// Reads a set of docs given as bytes: the workshop doc is the one with a `workshop` meta map,
/// board docs say their own doc id in their `board` meta map.
fn read_fixture_set(files: &[(String, Vec<u8>)]) -> WorkshopView {
    let mut workshop = None;
    let mut boards = Vec::new();
    for (name, bytes) in files {
        let doc = doc_from_update(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let ids = {
            let txn = doc.transact();
            txn.get_map(board_root::META).map(|m| {
                (
                    super::fields::str_of(&txn, &m, field::WORKSHOP),
                    super::fields::str_of(&txn, &m, field::ID),
                )
            })
        };
        match ids {
            Some((wid, bid)) => boards.push((format!("{wid}.{bid}"), doc)),
            None => workshop = Some(doc),
        }
    }
    let workshop = workshop.expect("a workshop doc among the fixtures");
    read_workshop(&workshop, &boards)
}

#[test]
fn rust_binary_fixtures_decode_to_the_expected_view() {
    let fresh = seed_fixture_files();
    if blessing() {
        for (name, bytes) in &fresh {
            std::fs::write(fixtures_dir().join(name), bytes).expect("write fixture");
        }
    }
    let mut stored = Vec::new();
    for entry in std::fs::read_dir(fixtures_dir()).expect("fixtures dir") {
        let path = entry.expect("dir entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_owned();
        if name.starts_with("rust-") && name.ends_with(".bin") {
            stored.push((name, std::fs::read(&path).expect("read fixture")));
        }
    }
    assert_eq!(
        stored.len(),
        fresh.len(),
        "one fixture per doc of the seed day"
    );
    let view = read_fixture_set(&stored);
    let expected = std::fs::read_to_string(fixtures_dir().join("journee-bilan.expected.json"))
        .expect("expected JSON");
    assert_eq!(export::json(&view), expected);
    assert_eq!(view, seed_view());
}

fn ts_fixture(name: &str) -> Doc {
    let path = fixtures_dir().join(name);
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (cd web && npm run bless-fixtures)", path.display()));
    doc_from_update(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The TypeScript mirror writes `tests/fixtures/ts-*.bin` with its own writers (see
/// web/tests/unit/fixtures.test.ts for what each holds); Rust must read the same content.
#[test]
fn typescript_fixtures_read_back_as_written() {
    let files: Vec<(String, Vec<u8>)> = [
        "ts-workshop.bin",
        "ts-board-grid.bin",
        "ts-board-icebreaker.bin",
    ]
    .iter()
    .map(|n| {
        (
            n.to_string(),
            std::fs::read(fixtures_dir().join(n)).expect("TS fixture"),
        )
    })
    .collect();
    let view = read_fixture_set(&files);
    let expected =
        std::fs::read_to_string(fixtures_dir().join("ts-expected.md")).expect("expected Markdown");
    assert_eq!(export::markdown(&view), expected);
    assert_eq!(view.title, "Atelier TS");
    assert_eq!(view.projected.as_deref(), Some("tsgrid000001"));
    let grid = view.boards.first().expect("grid board");
    assert!(grid.control.locked);
    assert_eq!(grid.control.votes_per_person, 2);
    assert_eq!(grid.control.timer_end, 1_710_421_200_000);

    let no_control = ControlView::default();
    let BoardContent::Timeline(t) = read_board(
        &ts_fixture("ts-board-timeline.bin"),
        BoardKind::Timeline,
        &no_control,
    ) else {
        panic!("timeline fixture is not a timeline");
    };
    let keys: Vec<&str> = t.cards.iter().map(|c| c.sort_key.as_str()).collect();
    assert_eq!(
        keys,
        ["2021-01-01", "2022-09-01", "2023-01-01"],
        "cards typed out of order, shown in date order"
    );

    let BoardContent::Accelerator(a) = read_board(
        &ts_fixture("ts-board-accelerator.bin"),
        BoardKind::Accelerator,
        &no_control,
    ) else {
        panic!("accelerator fixture is not an accelerator");
    };
    assert!(!a.question.is_empty() && !a.statement.is_empty() && !a.reformulation.is_empty());
    assert_eq!(
        (a.questions.len(), a.ideas.len(), a.actions.len()),
        (1, 1, 1)
    );
    let action = a.actions.first().expect("an action");
    assert!(!action.who.is_empty() && !action.next.is_empty());

    let BoardContent::Interview(i) = read_board(
        &ts_fixture("ts-board-interview.bin"),
        BoardKind::Interview,
        &no_control,
    ) else {
        panic!("interview fixture is not an interview");
    };
    let ids: Vec<&str> = i.questions.iter().map(|q| q.id.as_str()).collect();
    assert_eq!(ids, ["why", "needs"]);
    let answers: usize = i
        .questions
        .iter()
        .flat_map(|q| &q.groups)
        .map(|g| g.answers.len())
        .sum();
    assert_eq!(answers, 1);
}

fn sync(from: &Doc, to: &Doc) {
    let sv = to.transact().state_vector();
    let update = from.transact().encode_state_as_update_v1(&sv);
    let update = Update::decode_v1(&update).expect("own update decodes");
    to.transact_mut()
        .apply_update(update)
        .expect("update applies");
}

fn replica(base: &Doc, client_id: u64) -> Doc {
    let doc = Doc::with_client_id(client_id);
    sync(base, &doc);
    doc
}

fn note_count(doc: &Doc) -> usize {
    let txn = doc.transact();
    txn.get_map(board_root::NOTES)
        .map_or(0, |m| m.len(&txn) as usize)
}

#[test]
fn concurrent_moves_of_one_note_end_in_one_place() {
    let (workshop, boards) = seed_filled().expect("seed");
    let (_, board) = board_by_template(&workshop, &boards, "five-columns", 0).expect("board");
    let a = replica(board, 101);
    let b = replica(board, 102);
    grid::move_note(&a, "n-creer-2", "arreter", 0).expect("move on a");
    grid::move_note(&b, "n-creer-2", "maintenir", 2).expect("move on b");
    grid::edit_note(&a, "n-creer-2", "De nouveaux projets entre structures").expect("edit a");
    sync(&a, &b);
    sync(&b, &a);
    assert_eq!(encode_state(&a), encode_state(&b));

    let view_of = |doc: &Doc| {
        let pairs = vec![(
            boards
                .iter()
                .find(|(_, d)| std::ptr::eq(d, board))
                .map(|(id, _)| id.clone())
                .unwrap_or_default(),
            doc.clone(),
        )];
        read_workshop(&workshop, &pairs)
    };
    let (va, vb) = (view_of(&a), view_of(&b));
    assert_eq!(va, vb);
    let Some(BoardContent::Grid(g)) = va.boards.get(2).map(|x| &x.content) else {
        panic!("grid");
    };
    let places: Vec<(&str, usize)> = g
        .columns
        .iter()
        .flat_map(|c| {
            c.notes
                .iter()
                .enumerate()
                .filter(|(_, n)| n.id == "n-creer-2")
                .map(move |(i, _)| (c.id.as_str(), i))
        })
        .collect();
    assert_eq!(places.len(), 1, "{places:?}");
    assert!(matches!(
        places.first(),
        Some(("arreter", 0)) | Some(("maintenir", 2))
    ));
    let total: usize = g.columns.iter().map(|c| c.notes.len()).sum();
    assert_eq!(total, 12);
    assert_eq!(note_count(&a), 12);
    let moved = g
        .columns
        .iter()
        .flat_map(|c| &c.notes)
        .find(|n| n.id == "n-creer-2");
    assert_eq!(
        moved.map(|n| n.text.as_str()),
        Some("De nouveaux projets entre structures")
    );
}

fn encode_state(doc: &Doc) -> Vec<u8> {
    // Same content, same state vector: compare what each replica would send a newcomer.
    let txn = doc.transact();
    let mut sv: Vec<_> = txn.state_vector().iter().map(|(c, k)| (*c, *k)).collect();
    sv.sort();
    let mut out = format!("{sv:?}").into_bytes();
    out.extend(
        txn.encode_state_as_update_v1(&StateVector::default())
            .len()
            .to_le_bytes(),
    );
    out
}

#[test]
fn fifty_concurrent_adds_are_all_kept_once() {
    let (workshop, boards) = seed_filled().expect("seed");
    let (_, board) = board_by_template(&workshop, &boards, "five-columns", 0).expect("board");
    let replicas: Vec<Doc> = (0..50u64).map(|i| replica(board, 1000 + i)).collect();
    for (i, doc) in replicas.iter().enumerate() {
        let who = Author::new(&format!("p{i}"), &format!("Personne {i}"), "Org");
        grid::add_note(
            doc,
            &NoteInput {
                id: format!("c{i:02}"),
                column: "creer".to_owned(),
                text: format!("idée {i}"),
                colour: String::new(),
                author: who,
                created_at: T0 + i as i64,
            },
            Some(1),
        )
        .expect("add");
    }
    let updates: Vec<Vec<u8>> = replicas
        .iter()
        .map(|d| {
            d.transact()
                .encode_state_as_update_v1(&StateVector::default())
        })
        .collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(50);
    let mut merged_views = Vec::new();
    for (k, doc) in replicas.iter().enumerate().step_by(7) {
        let mut order: Vec<&Vec<u8>> = updates.iter().collect();
        order.shuffle(&mut rng);
        for u in order {
            doc.transact_mut()
                .apply_update(Update::decode_v1(u).expect("decode"))
                .expect("apply");
        }
        assert_eq!(note_count(doc), 62, "replica {k}");
        let pairs = vec![(board_doc_id_of(&workshop, &boards, board), doc.clone())];
        merged_views.push(read_workshop(&workshop, &pairs));
    }
    let first = merged_views.first().expect("views").clone();
    assert!(
        merged_views.iter().all(|v| *v == first),
        "replicas converge"
    );
    let Some(BoardContent::Grid(g)) = first.boards.get(2).map(|b| &b.content) else {
        panic!("grid");
    };
    let creer = g.columns.first().expect("Créer");
    let ids: Vec<&str> = creer.notes.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids.len(), 53);
    for i in 0..50 {
        let id = format!("c{i:02}");
        assert_eq!(ids.iter().filter(|x| **x == id).count(), 1, "{id}");
    }
    assert_eq!(ids.first(), Some(&"n-creer-1"));
    assert_eq!(
        ids.last(),
        Some(&"n-creer-3"),
        "inserted between, not after"
    );
}

fn board_doc_id_of(_workshop: &Doc, boards: &[(String, Doc)], board: &Doc) -> String {
    boards
        .iter()
        .find(|(_, d)| std::ptr::eq(d, board))
        .map(|(id, _)| id.clone())
        .unwrap_or_default()
}

const HOSTILE: &str = "# title\n<script>alert('x')</script>\n| a | b |\n```rust\n- item\n1. first\n[x](javascript:alert(1))\n=1+1\n===\n<img src=x onerror=alert(1)>\n&amp; ~~s~~ *b* _i_ \\ \u{0007}";

#[test]
fn hostile_text_exports_safely() {
    let (workshop, boards) = seed_filled().expect("seed");
    let (_, board) = board_by_template(&workshop, &boards, "five-columns", 0).expect("board");
    let long = "é".repeat(5_000) + &"x".repeat(5_000);
    let rtl = "مرحبا بالعالم — שלום 👋🏽 \u{202E}evil";
    let who = Author::new("p-x", "<b>Mallory</b> | #1", "=HYPERLINK(\"x\")");
    for (id, text) in [("h-1", HOSTILE), ("h-2", long.as_str()), ("h-3", rtl)] {
        grid::add_note(
            board,
            &NoteInput {
                id: id.to_owned(),
                column: "creer".to_owned(),
                text: text.to_owned(),
                colour: String::new(),
                author: who.clone(),
                created_at: T0,
            },
            None,
        )
        .expect("add hostile note");
    }
    super::workshop::rename_board(
        &workshop,
        &first_grid_bid(&workshop, &boards),
        "## <i>Board</i> |",
    )
    .expect("rename");
    let view = read_workshop(&workshop, &boards);

    let md = export::markdown(&view);
    for line in md.lines() {
        assert!(
            !line.starts_with("# title") && !line.contains("- # title"),
            "{line}"
        );
        assert!(!line.starts_with("```"), "{line}");
        assert!(!line.trim_start().starts_with("1. first"), "{line}");
        assert!(!line.starts_with("==="), "{line}");
    }
    for active in [
        "<script>",
        "<img",
        "<i>",
        "](javascript",
        "`",
        "|",
        "*b*",
        "_i_",
        "~~",
    ] {
        assert_eq!(
            unescaped(&md, active),
            0,
            "{active} left active in Markdown"
        );
    }
    assert!(md.contains("\\# title"));
    assert!(md.contains("\\| a \\| b \\|"));
    assert!(md.contains(&long), "long note kept whole");
    assert!(md.contains("مرحبا بالعالم") && md.contains("👋🏽"));
    assert!(!md.contains('\u{0007}'));
    assert!(md.contains("## 3. \\#\\# \\<i\\>Board\\</i\\> \\|"));

    let html = export::html(&view);
    assert!(!html.contains("<script>") && !html.contains("<img") && !html.contains("<i>Board"));
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(html.contains(&long));
    assert!(html.contains("dir=\"auto\">مرحبا"));
    assert_eq!(html.matches("<script").count(), 0);
    assert_eq!(html.matches("<style>").count(), 1);

    let csv_text = export::csv(&view);
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let rows: Vec<csv::StringRecord> = reader
        .records()
        .collect::<Result<_, _>>()
        .expect("valid CSV");
    let text_of = |id: &str| {
        rows.iter()
            .find(|r| r.get(4) == Some(id))
            .map(|r| {
                (
                    r.get(5).unwrap_or("").to_owned(),
                    r.get(7).unwrap_or("").to_owned(),
                )
            })
            .expect("row")
    };
    let (hostile, org) = text_of("h-1");
    assert!(hostile.starts_with("# title / <script>"), "{hostile}");
    assert!(
        hostile.contains("=1+1 / ==="),
        "formula text kept inside the cell: {hostile}"
    );
    assert_eq!(org, "'=HYPERLINK(\"x\")");
    assert_eq!(text_of("h-2").0, long);
    assert!(text_of("h-3").0.starts_with("مرحبا"));
}

/// Occurrences of `needle` in Markdown whose first character is not backslash-escaped.
fn unescaped(md: &str, needle: &str) -> usize {
    md.match_indices(needle)
        .filter(|(i, _)| {
            let slashes = md[..*i].chars().rev().take_while(|c| *c == '\\').count();
            slashes % 2 == 0
        })
        .count()
}

fn first_grid_bid(workshop: &Doc, boards: &[(String, Doc)]) -> String {
    board_by_template(workshop, boards, "five-columns", 0)
        .map(|(bid, _)| bid)
        .expect("grid")
}

#[test]
fn malformed_docs_read_without_panicking() {
    let (workshop, boards) = seed_filled().expect("seed");
    for (_, doc) in &boards {
        let mut txn = doc.transact_mut();
        let notes = txn.get_or_insert_map(board_root::NOTES);
        notes.insert(&mut txn, "junk-string", "not a map");
        notes.insert(&mut txn, "junk-number", 42);
        let bad = notes.insert(&mut txn, "junk-map", yrs::MapPrelim::default());
        bad.insert(&mut txn, field::TEXT, 3.5);
        bad.insert(&mut txn, field::COLUMN, yrs::MapPrelim::default());
        bad.insert(&mut txn, field::VOTES, "lots");
        bad.insert(&mut txn, field::ORDER, "\u{0}\u{ffff}");
        bad.insert(&mut txn, field::CREATED_AT, f64::INFINITY);
        let cards = txn.get_or_insert_map(board_root::CARDS);
        let c = cards.insert(&mut txn, "junk-card", yrs::MapPrelim::default());
        c.insert(&mut txn, field::SORT_KEY, yrs::TextPrelim::new("9999"));
        c.insert(&mut txn, field::QUOTE, -1);
        let items = txn.get_or_insert_map(board_root::ITEMS);
        let i = items.insert(&mut txn, "junk-item", yrs::MapPrelim::default());
        i.insert(&mut txn, field::STAGE, "dance");
        let meta = txn.get_or_insert_map(board_root::META);
        meta.insert(&mut txn, field::PROMPT, yrs::MapPrelim::default());
    }
    {
        let mut txn = workshop.transact_mut();
        let agenda = txn.get_or_insert_map(super::schema::workshop_root::AGENDA);
        let e = agenda.insert(&mut txn, "zz-unknown", yrs::MapPrelim::default());
        e.insert(&mut txn, field::KIND, "whiteboard");
        agenda.insert(&mut txn, "zz-string", "x");
        let control = txn.get_or_insert_map(super::schema::workshop_root::CONTROL);
        for (_, m) in super::fields::entries(&txn, &control) {
            m.insert(&mut txn, field::VOTES_PER_PERSON, -5);
            m.insert(&mut txn, field::REVEALED, "all");
        }
        let meta = txn.get_or_insert_map(super::schema::workshop_root::META);
        meta.insert(&mut txn, field::TITLE, 12);
    }
    let view = read_workshop(&workshop, &boards);
    assert_eq!(view.boards.len(), 9, "unknown agenda entries are skipped");
    assert_eq!(view.title, "");
    for b in &view.boards {
        assert_eq!(b.control.votes_per_person, 0);
        assert!(b.control.revealed.is_empty());
    }
    let Some(BoardContent::Grid(g)) = view.boards.get(2).map(|b| &b.content) else {
        panic!("grid");
    };
    let orphan = g.columns.last().expect("orphan column");
    assert_eq!(orphan.id, "");
    assert!(orphan
        .notes
        .iter()
        .any(|n| n.id == "junk-map" && n.text.is_empty() && n.votes == 0));
    for render in [
        export::markdown(&view),
        export::html(&view),
        export::csv(&view),
        export::json(&view),
    ] {
        assert!(!render.is_empty());
    }
    // Writers still work on the damaged docs.
    let (_, board) = board_by_template(&workshop, &boards, "five-columns", 0).expect("board");
    grid::vote(board, "junk-map", "p-x", 0).expect("vote on a junk note");
    grid::move_note(board, "n-creer-1", "creer", 0).expect("move next to junk keys");
}

#[test]
fn writers_check_kind_ids_and_limits() {
    let (workshop, boards) = seed_filled().expect("seed");
    let (bid, board) = board_by_template(&workshop, &boards, "five-columns", 0).expect("board");
    let (_, timeline) = board_by_template(&workshop, &boards, "timeline", 0).expect("timeline");
    let note = NoteInput {
        id: "ok-id".to_owned(),
        column: "creer".to_owned(),
        text: "x".to_owned(),
        colour: String::new(),
        author: Author::default(),
        created_at: T0,
    };
    assert!(matches!(
        grid::add_note(timeline, &note, None),
        Err(BoardError::WrongKind { .. })
    ));
    let bad_id = NoteInput {
        id: "a.b".to_owned(),
        ..note.clone()
    };
    assert!(matches!(
        grid::add_note(board, &bad_id, None),
        Err(BoardError::InvalidId(_))
    ));
    let dup = NoteInput {
        id: "n-creer-1".to_owned(),
        ..note.clone()
    };
    assert!(matches!(
        grid::add_note(board, &dup, None),
        Err(BoardError::AlreadyExists { .. })
    ));
    let bad_col = NoteInput {
        column: "nope".to_owned(),
        ..note.clone()
    };
    assert!(matches!(
        grid::add_note(board, &bad_col, None),
        Err(BoardError::NotFound { .. })
    ));
    let bad_colour = NoteInput {
        colour: "red;}".to_owned(),
        ..note.clone()
    };
    assert!(grid::add_note(board, &bad_colour, None).is_err());

    // Julien has used one of his three votes; two more pass, the fourth is refused.
    let limit = super::workshop::votes_per_person(&workshop, &bid);
    assert_eq!(limit, 3);
    assert_eq!(
        grid::vote(board, "n-red-1", "p-julien", limit).ok(),
        Some(1)
    );
    assert_eq!(
        grid::vote(board, "n-red-1", "p-julien", limit).ok(),
        Some(2)
    );
    assert!(matches!(
        grid::vote(board, "n-arr-1", "p-julien", limit),
        Err(BoardError::VoteLimit { limit: 3 })
    ));
    assert_eq!(grid::unvote(board, "n-red-1", "p-julien").ok(), Some(1));
    assert_eq!(
        grid::vote(board, "n-arr-1", "p-julien", limit).ok(),
        Some(1)
    );
    assert_eq!(grid::unvote(board, "n-arr-1", "p-julien").ok(), Some(0));
    assert_eq!(grid::unvote(board, "n-arr-1", "p-julien").ok(), Some(0));
}

#[test]
fn agenda_can_be_edited() {
    use super::templates::{BoardSpec, BoardTemplate};
    use super::workshop::{add_board, move_board, remove_board, rename_board};
    let (created, workshop, _) = super::fixtures::seed_workshop().expect("seed");
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    let spec = BoardSpec {
        axes: Some(5),
        ..BoardSpec::from_template(BoardTemplate::Axes)
    };
    let added = add_board(&workshop, &created.id, &spec, T0, &mut rng).expect("add");
    assert!(added.doc_id.starts_with(&format!("{}.", created.id)));
    let doc = doc_from_update(&added.update).expect("board doc");
    let view = read_workshop(&workshop, &[(added.doc_id.clone(), doc)]);
    let last = view.boards.last().expect("appended at the end");
    assert_eq!(last.id, added.id);
    let Some(BoardContent::Grid(g)) = Some(&last.content) else {
        panic!("grid");
    };
    assert_eq!(g.columns.len(), 5);

    move_board(&workshop, &added.id, 0).expect("move first");
    rename_board(&workshop, &added.id, "Cinq axes").expect("rename");
    let view = read_workshop(&workshop, &[]);
    assert_eq!(
        view.boards.first().map(|b| b.title.as_str()),
        Some("Cinq axes")
    );
    assert!(matches!(
        view.boards.first().map(|b| &b.content),
        Some(BoardContent::Missing)
    ));
    // Without the moved board, the one at index 4 is the one now at index 5.
    let middle = view.boards.get(5).map(|b| b.id.clone()).expect("a board");
    move_board(&workshop, &added.id, 5).expect("move into the middle");
    let ids: Vec<String> = read_workshop(&workshop, &[])
        .boards
        .iter()
        .map(|b| b.id.clone())
        .collect();
    assert_eq!(ids.get(5), Some(&added.id));
    assert_eq!(ids.get(4), Some(&middle));
    remove_board(&workshop, &added.id).expect("remove");
    assert_eq!(read_workshop(&workshop, &[]).boards.len(), 9);
    assert!(matches!(
        remove_board(&workshop, &added.id),
        Err(BoardError::NotFound { .. })
    ));

    let mismatch = BoardSpec {
        kind: Some(super::BoardKind::Timeline),
        ..BoardSpec::from_template(BoardTemplate::FiveColumns)
    };
    assert!(add_board(&workshop, &created.id, &mismatch, T0, &mut rng).is_err());
    assert_eq!(super::workshop::board_doc_ids(&workshop).len(), 9);
}

#[test]
fn next_actions_has_one_column_per_accompanied_organisation() {
    use super::templates::{BoardSpec, BoardTemplate};
    let (workshop, _) = seed_filled().expect("seed");
    let wid = read_workshop(&workshop, &[]).id;
    let mut rng = rand::rngs::StdRng::seed_from_u64(10);
    let spec = BoardSpec::from_template(BoardTemplate::NextActions);
    let added = super::workshop::add_board(&workshop, &wid, &spec, T0, &mut rng).expect("add");
    let doc = doc_from_update(&added.update).expect("doc");
    let view = read_workshop(&workshop, &[(added.doc_id.clone(), doc)]);
    let Some(BoardContent::Grid(g)) = view.boards.last().map(|b| &b.content) else {
        panic!("grid");
    };
    let titles: Vec<&str> = g.columns.iter().map(|c| c.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "Foyer résidence Les Epinettes",
            "CCAS La Ravoire",
            "CLEF Chantemerle",
            "Régie Coup de Pouce"
        ]
    );
}
