//! Verdicts of [`super`] on real board docs of the seed day: what a participant may change
//! under each phase and stage, with no server involved.

use yrs::{Doc, Map, Transact, WriteTxn};

use super::super::accelerator::{self, HeaderPatch, ItemInput};
use super::super::fixtures::{board_by_template, seed_filled, T0};
use super::super::grid::{self, NoteInput};
use super::super::ownership::{snapshot, Scope, Snapshot};
use super::super::schema::{board_root, Author, Stage};
use super::*;

fn author() -> Author {
    Author::new("p-x", "X", "Org")
}

fn note(id: &str) -> NoteInput {
    NoteInput {
        id: id.into(),
        column: "creer".into(),
        text: "nouvelle".into(),
        colour: String::new(),
        author: author(),
        created_at: T0,
    }
}

/// Applies `change` to a copy of `board` and returns the verdict under the workshop's rules.
fn judge(
    workshop: &Doc,
    bid: &str,
    board: &Doc,
    change: impl FnOnce(&Doc),
) -> Result<(), &'static str> {
    let rules = rules_of(workshop)
        .into_iter()
        .find(|(b, _)| b == bid)
        .map(|(_, r)| r)
        .unwrap_or_default();
    if let Some(reason) = rules.forbids_all() {
        return Err(reason);
    }
    let copy = super::super::doc_from_update(&super::super::encode_doc(board)).expect("copy");
    let mut watch = crate::touched::Watch::default();
    watch.watch(&copy);
    watch.take();
    let kept = snapshot(&copy, rules.kind);
    let before = protected(&copy, &rules);
    change(&copy);
    watch.watch(&copy);
    let after = protected(&copy, &rules);
    let whole = verdict_for(&rules, &before, &after);
    // As the room judges: the kept board against the entries the change touched.
    let scope = Scope::of(&watch.take(), &kept.opaque);
    let (was, now) = (
        protected_part(&kept.part(&scope), &rules),
        protected_part(&Snapshot::read_part(&copy, kept.kind, &scope), &rules),
    );
    assert_eq!(
        verdict_for(&rules, &was, &now),
        whole,
        "the part judges like the whole"
    );
    whole
}

fn first_note(board: &Doc) -> String {
    let txn = board.transact();
    let notes = txn.get_map(board_root::NOTES).expect("notes");
    let mut ids: Vec<String> = notes.keys(&txn).map(str::to_owned).collect();
    ids.sort();
    ids.into_iter().next().expect("a note")
}

#[test]
fn phases_of_a_grid() {
    let (workshop, boards) = seed_filled().expect("seed");
    let (bid, board) = board_by_template(&workshop, &boards, "five-columns", 0).expect("grid");
    let n = first_note(board);
    let add = |d: &Doc| grid::add_note(d, &note("new"), None).expect("add");
    let vote = |d: &Doc| {
        grid::vote(d, &n, "p-x", 0).expect("vote");
    };
    let rename = |d: &Doc| grid::rename_column(d, "creer", "Inventer").expect("rename");

    // Writing: notes and votes, but columns are the facilitator's.
    assert_eq!(judge(&workshop, &bid, board, add), Ok(()));
    assert_eq!(judge(&workshop, &bid, board, vote), Ok(()));
    assert_eq!(judge(&workshop, &bid, board, rename), Err(FACILITATOR_ONLY));

    set_phase(&workshop, &bid, Phase::Voting).expect("voting");
    assert_eq!(judge(&workshop, &bid, board, add), Err(VOTING));
    assert_eq!(judge(&workshop, &bid, board, vote), Ok(()));
    let edit = |d: &Doc| grid::edit_note(d, &n, "réécrite").expect("edit");
    assert_eq!(judge(&workshop, &bid, board, edit), Err(VOTING));
    let delete = |d: &Doc| grid::delete_note(d, &n).expect("delete");
    assert_eq!(judge(&workshop, &bid, board, delete), Err(VOTING));

    set_phase(&workshop, &bid, Phase::Closed).expect("closed");
    assert_eq!(judge(&workshop, &bid, board, vote), Err(CLOSED));
}

#[test]
fn accelerator_stages_open_one_by_one() {
    let (workshop, boards) = seed_filled().expect("seed");
    let (bid, board) = board_by_template(&workshop, &boards, "accelerator", 1).expect("acc");
    let question = |d: &Doc| {
        accelerator::add_item(
            d,
            &ItemInput {
                id: "q-new".into(),
                stage: Stage::Questions,
                text: "Combien ?".into(),
                who: String::new(),
                next: String::new(),
                author: author(),
                created_at: T0,
            },
            None,
        )
        .expect("item")
    };
    let idea = |d: &Doc| {
        accelerator::add_item(
            d,
            &ItemInput {
                id: "i-new".into(),
                stage: Stage::Ideas,
                text: "Un forum".into(),
                who: String::new(),
                next: String::new(),
                author: author(),
                created_at: T0,
            },
            None,
        )
        .expect("item")
    };
    // The problem's fields are its owner's (policy::ownership); the rest of the header is the
    // facilitator's, whatever the stage.
    let overwrite = |d: &Doc| {
        let mut txn = d.transact_mut();
        let meta = txn.get_or_insert_map(board_root::META);
        meta.insert(&mut txn, field::ID, "piraté");
    };
    let problem = |d: &Doc| {
        accelerator::set_header(
            d,
            &HeaderPatch {
                statement: Some("Notre problème".into()),
                ..HeaderPatch::default()
            },
        )
        .expect("header")
    };
    assert_eq!(judge(&workshop, &bid, board, problem), Ok(()));
    // Stage 1 (default): nothing else is open yet.
    assert_eq!(
        judge(&workshop, &bid, board, overwrite),
        Err(FACILITATOR_ONLY)
    );
    assert_eq!(
        judge(&workshop, &bid, board, question),
        Err(FACILITATOR_ONLY)
    );

    set_stage(&workshop, &bid, AccStage::Questions).expect("stage");
    assert_eq!(judge(&workshop, &bid, board, question), Ok(()));
    assert_eq!(judge(&workshop, &bid, board, idea), Err(FACILITATOR_ONLY));
    assert_eq!(
        judge(&workshop, &bid, board, overwrite),
        Err(FACILITATOR_ONLY)
    );

    set_stage(&workshop, &bid, AccStage::Ideas).expect("stage");
    assert_eq!(judge(&workshop, &bid, board, idea), Ok(()));
    assert_eq!(
        judge(&workshop, &bid, board, question),
        Err(FACILITATOR_ONLY)
    );
}

#[test]
fn unknown_values_read_as_the_first_phase_and_stage() {
    assert_eq!(Phase::parse_lenient("bogus"), Phase::Writing);
    assert_eq!(Phase::parse_lenient("voting"), Phase::Voting);
    assert_eq!(AccStage::parse_lenient(""), AccStage::Problem);
    assert_eq!(AccStage::parse_lenient("ideas"), AccStage::Ideas);
    let doc = Doc::new();
    assert!(rules_of(&doc).is_empty());
}
