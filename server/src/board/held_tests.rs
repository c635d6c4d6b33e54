//! The held-doc model: a reveal copies a note as the server's own item, and nothing of the
//! writer (client id, note id, clock, colour on an anonymous grid) reaches the board doc.

use rand::SeedableRng;
use yrs::{Doc, Map, ReadTxn, Transact};

use super::*;
use crate::board::fields::{doc_from_update, root};
use crate::board::schema::{board_root, field};
use crate::board::templates::BoardTemplate;
use crate::board::workshop::{new_workshop, WorkshopParams};
use crate::board::WorkshopTemplate;

const T: i64 = 1_700_000_000_000;

fn board(template: BoardTemplate) -> Doc {
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let w = WorkshopParams::new(WorkshopTemplate::Single(template), "Atelier", "2026-12-02");
    let created = new_workshop(&w, T, &mut rng).expect("workshop");
    doc_from_update(&created.boards[0].update).expect("board doc")
}

fn note(id: &str, text: &str) -> HeldNote {
    HeldNote {
        id: id.into(),
        text: text.into(),
        column: String::new(),
        colour: "pink".into(),
        author_name: "Alice".into(),
        author_org: "CCAS".into(),
        revealing: None,
    }
}

/// Every key of every note map of a board doc.
fn note_fields(board: &Doc, id: &str) -> Vec<String> {
    let txn = board.transact();
    let notes = root(&txn, board_root::NOTES).expect("notes");
    let m = map_of(&txn, &notes, id).expect("note");
    let mut keys: Vec<String> = m.keys(&txn).map(str::to_string).collect();
    keys.sort();
    keys
}

#[test]
fn an_icebreaker_holds_back_anonymously_and_a_grid_when_asked() {
    let ice = board(BoardTemplate::Icebreaker);
    assert_eq!(
        holding_of(&ice),
        Holding {
            hidden: true,
            anonymous: true
        }
    );
    let grid = board(BoardTemplate::Feedback);
    assert!(!holding_of(&grid).holds());
    let asked = Holding {
        hidden: true,
        anonymous: false,
    };
    set_holding(&grid, asked).expect("grid");
    assert_eq!(holding_of(&grid), asked);
    assert!(set_holding(&ice, asked).is_err());
}

#[test]
fn a_revealed_icebreaker_note_is_the_servers_own_item() {
    let phone = Doc::with_client_id(4242);
    add_held(&phone, &note("n1", "mon secret"), 12_345).expect("add");
    add_held(&phone, &note("n2", "autre"), 12_346).expect("add");
    assert_eq!(held_count(&phone), 2);

    let server = Doc::with_client_id(77);
    let ice = board(BoardTemplate::Icebreaker);
    // The room's doc has the server's client id; the board's template content came from elsewhere.
    let state = crate::board::encode_doc(&ice);
    {
        use yrs::updates::decoder::Decode;
        let u = yrs::Update::decode_v1(&state).expect("decode");
        server.transact_mut().apply_update(u).expect("apply");
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    let held = read_held(&phone);
    let id = begin_reveal(&phone, "n1", &mut rng).expect("there");
    // A retry picks the same board id.
    assert_eq!(begin_reveal(&phone, "n1", &mut rng), Some(id.clone()));
    assert_ne!(id, "n1");
    write_revealed(&server, &id, &held[0], "DEVICE", T + 5).expect("reveal");
    write_revealed(&server, &id, &held[0], "DEVICE", T + 9).expect("idempotent");
    assert!(remove_held(&phone, "n1"));
    assert!(!remove_held(&phone, "n1"));
    assert_eq!(held_count(&phone), 1);

    assert_eq!(note_fields(&server, &id), ["createdAt", "order", "text"]);
    let txn = server.transact();
    let notes = root(&txn, board_root::NOTES).expect("notes");
    let m = map_of(&txn, &notes, &id).expect("note");
    assert_eq!(str_of(&txn, &m, field::TEXT), "mon secret");
    assert_eq!(
        super::super::fields::int_of(&txn, &m, field::CREATED_AT),
        T + 5
    );
    // Every block of the note was written by the server's client.
    let sv = txn.state_vector();
    assert!(
        sv.get(&yrs::block::ClientID::new(4242)) == 0,
        "the phone's client id reached the board"
    );
    assert!(sv.get(&yrs::block::ClientID::new(77)) > 0);
}

#[test]
fn a_grid_reveal_keeps_the_author_only_when_not_anonymous() {
    let grid = board(BoardTemplate::Feedback);
    let column = {
        let txn = grid.transact();
        let cols = root(&txn, board_root::COLUMNS).expect("columns");
        entries(&txn, &cols).into_iter().next().expect("a column").0
    };
    let mut n = note("n1", "signé");
    n.column = column.clone();
    set_holding(
        &grid,
        Holding {
            hidden: true,
            anonymous: false,
        },
    )
    .expect("toggle");
    write_revealed(&grid, "b1", &n, "DEVICE", T).expect("reveal");
    let fields = note_fields(&grid, "b1");
    for f in [
        "authorId",
        "authorName",
        "authorOrg",
        "column",
        "colour",
        "votes",
    ] {
        assert!(fields.contains(&f.to_string()), "{f} missing: {fields:?}");
    }
    set_holding(
        &grid,
        Holding {
            hidden: true,
            anonymous: true,
        },
    )
    .expect("toggle");
    write_revealed(&grid, "b2", &n, "DEVICE", T).expect("reveal");
    let txn = grid.transact();
    let notes = root(&txn, board_root::NOTES).expect("notes");
    let m = map_of(&txn, &notes, "b2").expect("note");
    assert_eq!(str_of(&txn, &m, field::AUTHOR_ID), "");
    assert_eq!(str_of(&txn, &m, field::AUTHOR_NAME), "");
    assert_eq!(str_of(&txn, &m, field::COLOUR), "");
    assert_eq!(str_of(&txn, &m, field::COLUMN), column);
}

#[test]
fn a_deleted_note_cannot_be_revealed_and_edits_are_read_back() {
    let phone = Doc::new();
    add_held(&phone, &note("n1", "avant"), 1).expect("add");
    edit_held(&phone, "n1", "après").expect("edit");
    assert_eq!(read_held(&phone)[0].text, "après");
    assert!(remove_held(&phone, "n1"));
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    assert_eq!(begin_reveal(&phone, "n1", &mut rng), None);
    assert!(read_held(&phone).is_empty());
}
