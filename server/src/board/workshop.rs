//! The workshop doc: creating a workshop from a template, and its agenda of boards (add,
//! remove, move, rename). Its meta and per-board notes live in `workshop/meta.rs`, the
//! facilitator's control state in `workshop/control.rs`, its people in `people.rs`.

use rand::Rng;
use serde::{Deserialize, Serialize};
use yrs::{Doc, Map, MapRef, Transact, TransactionMut};

use super::fields::{
    check_label, check_len, create_item, encode_doc, entries, item, map_of, new_map, new_text,
    order_key_at, root_mut, set_int, set_str, set_text, sorted_keys, str_of,
};
use super::schema::{
    board_doc_id, check_id, field, new_item_id, new_workshop_id, workshop_root, BoardKind,
    ParticipantGroup, VERSION,
};
use super::templates::{init_board, BoardSpec, WorkshopTemplate, MAX_TITLE};
use super::BoardError;

mod control;
mod meta;

pub use super::people::{remove_participant, upsert_participant, ParticipantInput};
pub use control::{
    set_locked, set_note_revealed, set_projected, set_reveal_all, set_timer, set_votes_per_person,
    votes_per_person,
};
pub use meta::{mark_links_renewed, set_board_notes, set_meta, EmptyBoards, MetaPatch};

/// Longest method or objectives text accepted.
pub const MAX_LONG_TEXT: usize = 20_000;

/// What a new workshop should be: the body of "create a workshop" requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct WorkshopParams {
    /// Template to start from.
    #[cfg_attr(test, ts(type = "WorkshopTemplateId | BoardTemplateId"))]
    pub template: WorkshopTemplate,
    /// Title of the day.
    pub title: String,
    /// Date, ISO `yyyy-mm-dd` preferably.
    #[serde(default)]
    #[cfg_attr(test, ts(as = "Option<String>", optional))]
    pub date: String,
    /// Place.
    #[serde(default)]
    #[cfg_attr(test, ts(as = "Option<String>", optional))]
    pub place: String,
    /// Objectives; when absent, the template's.
    #[serde(default)]
    #[cfg_attr(test, ts(optional))]
    pub objectives: Option<Vec<String>>,
}

impl WorkshopParams {
    /// Params with a template, a title and a date.
    pub fn new(template: WorkshopTemplate, title: &str, date: &str) -> Self {
        WorkshopParams {
            template,
            title: title.to_owned(),
            date: date.to_owned(),
            place: String::new(),
            objectives: None,
        }
    }
}

/// A freshly created workshop: its id and the initial state of every doc.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewWorkshop {
    /// Workshop id, also the workshop doc id.
    pub id: String,
    /// Initial state of the workshop doc (yrs v1 update).
    #[serde(skip)]
    pub update: Vec<u8>,
    /// Its boards in agenda order.
    pub boards: Vec<NewBoard>,
}

/// A freshly created board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewBoard {
    /// Board id within the workshop.
    pub id: String,
    /// Board doc id `{wid}.{bid}`.
    pub doc_id: String,
    /// Kind of board.
    pub kind: BoardKind,
    /// Title in the agenda.
    pub title: String,
    /// Initial state of the board doc (yrs v1 update).
    #[serde(skip)]
    pub update: Vec<u8>,
}

fn random_client_id(rng: &mut impl Rng) -> u64 {
    // Yjs client ids are 32-bit; 0 is avoided as some tools treat it as "unset".
    u64::from(rng.random_range(1..=u32::MAX))
}

/// Creates a workshop from a template: returns its id, the workshop doc's initial state and,
/// for each board of the template, its doc id and initial state.
pub fn new_workshop(
    params: &WorkshopParams,
    created_at: i64,
    rng: &mut impl Rng,
) -> Result<NewWorkshop, BoardError> {
    check_label("title", &params.title, MAX_TITLE)?;
    check_len("date", &params.date, MAX_TITLE)?;
    check_len("place", &params.place, MAX_TITLE)?;
    let objectives = params
        .objectives
        .clone()
        .unwrap_or_else(|| params.template.objectives());
    let objectives = objectives.join("\n");
    check_len("objectives", &objectives, MAX_LONG_TEXT)?;

    let wid = new_workshop_id(rng);
    let doc = Doc::with_client_id(random_client_id(rng));
    let mut boards = Vec::new();
    {
        let mut txn = doc.transact_mut();
        let meta = root_mut(&mut txn, workshop_root::META);
        set_int(&mut txn, &meta, field::VERSION, VERSION);
        set_str(&mut txn, &meta, field::ID, &wid);
        set_str(&mut txn, &meta, field::TITLE, params.title.trim());
        set_str(&mut txn, &meta, field::DATE, params.date.trim());
        set_str(&mut txn, &meta, field::PLACE, params.place.trim());
        new_text(&mut txn, &meta, field::OBJECTIVES, &objectives);
        set_str(&mut txn, &meta, field::TEMPLATE, params.template.as_str());
        set_int(&mut txn, &meta, field::CREATED_AT, created_at);
        set_str(&mut txn, &meta, field::PROJECTED, "");
        root_mut(&mut txn, workshop_root::PARTICIPANTS);
        super::people::init_groups(&mut txn, params.template);
        root_mut(&mut txn, workshop_root::AGENDA);
        root_mut(&mut txn, workshop_root::CONTROL);
        for spec in params.template.boards() {
            boards.push(add_board_txn(&mut txn, &wid, &spec, created_at, rng)?);
        }
    }
    Ok(NewWorkshop {
        update: encode_doc(&doc),
        id: wid,
        boards,
    })
}

/// Appends a board to the agenda of a live workshop doc; returns the new board with its doc's
/// initial state.
pub fn add_board(
    workshop: &Doc,
    wid: &str,
    spec: &BoardSpec,
    created_at: i64,
    rng: &mut impl Rng,
) -> Result<NewBoard, BoardError> {
    check_id(wid)?;
    let mut txn = workshop.transact_mut();
    add_board_txn(&mut txn, wid, spec, created_at, rng)
}

fn add_board_txn(
    txn: &mut TransactionMut,
    wid: &str,
    spec: &BoardSpec,
    created_at: i64,
    rng: &mut impl Rng,
) -> Result<NewBoard, BoardError> {
    let (template, kind) = spec.resolve()?;
    let title = match spec.title.as_deref().map(str::trim) {
        Some(t) if !t.is_empty() => t.to_owned(),
        _ => template.default_title().to_owned(),
    };
    check_label("title", &title, MAX_TITLE)?;
    let method = spec.method.as_deref().unwrap_or(template.method());
    check_len("method", method, MAX_LONG_TEXT)?;

    let bid = new_item_id(rng);
    let board_doc = Doc::with_client_id(random_client_id(rng));
    init_board(
        &mut board_doc.transact_mut(),
        wid,
        &bid,
        template,
        spec,
        &accompanied_organisations(txn),
    )?;

    let agenda = root_mut(txn, workshop_root::AGENDA);
    let order = order_key_at(txn, &agenda, None, None, |_| true);
    let entry = create_item(txn, &agenda, "board", &bid)?;
    set_str(txn, &entry, field::TITLE, &title);
    set_str(txn, &entry, field::KIND, kind.as_str());
    set_str(txn, &entry, field::TEMPLATE, template.as_str());
    new_text(txn, &entry, field::METHOD, method);
    set_str(txn, &entry, field::ORDER, &order);
    set_int(txn, &entry, field::CREATED_AT, created_at);

    let control = root_mut(txn, workshop_root::CONTROL);
    let c = new_map(txn, &control, &bid);
    init_control(txn, &c);

    Ok(NewBoard {
        doc_id: board_doc_id(wid, &bid),
        id: bid,
        kind,
        title,
        update: encode_doc(&board_doc),
    })
}

pub(super) fn init_control(txn: &mut TransactionMut, c: &MapRef) {
    c.insert(txn, field::LOCKED, false);
    c.insert(txn, field::REVEAL_ALL, false);
    new_map(txn, c, field::REVEALED);
    set_int(txn, c, field::TIMER_END, 0);
    set_int(txn, c, field::VOTES_PER_PERSON, 0);
}

/// Organisations of the accompanied participants, in participant order, without duplicates.
fn accompanied_organisations(txn: &TransactionMut) -> Vec<String> {
    let Some(root) = super::fields::root(txn, workshop_root::PARTICIPANTS) else {
        return Vec::new();
    };
    let mut orgs: Vec<String> = Vec::new();
    for (_, id) in sorted_keys(txn, &root, |_| true) {
        let Some(p) = map_of(txn, &root, &id) else {
            continue;
        };
        let group = str_of(txn, &p, field::GROUP);
        let org = str_of(txn, &p, field::ORGANISATION).trim().to_owned();
        if group == ParticipantGroup::Accompanied.as_str()
            && !org.is_empty()
            && !orgs.contains(&org)
        {
            orgs.push(org);
        }
    }
    orgs
}

/// Removes a board from the agenda (and its control state). Its doc is left to the caller.
pub fn remove_board(workshop: &Doc, bid: &str) -> Result<(), BoardError> {
    let mut txn = workshop.transact_mut();
    let agenda = root_mut(&mut txn, workshop_root::AGENDA);
    super::fields::delete_item(&mut txn, &agenda, "board", bid)?;
    let control = root_mut(&mut txn, workshop_root::CONTROL);
    control.remove(&mut txn, bid);
    let meta = root_mut(&mut txn, workshop_root::META);
    if str_of(&txn, &meta, field::PROJECTED) == bid {
        set_str(&mut txn, &meta, field::PROJECTED, "");
    }
    Ok(())
}

/// Moves a board to position `index` of the agenda (0 = first; past the end = last).
pub fn move_board(workshop: &Doc, bid: &str, index: usize) -> Result<(), BoardError> {
    let mut txn = workshop.transact_mut();
    let agenda = root_mut(&mut txn, workshop_root::AGENDA);
    let entry = item(&txn, &agenda, "board", bid)?;
    let key = order_key_at(&txn, &agenda, Some(bid), Some(index), |_| true);
    set_str(&mut txn, &entry, field::ORDER, &key);
    Ok(())
}

/// Renames a board in the agenda.
pub fn rename_board(workshop: &Doc, bid: &str, title: &str) -> Result<(), BoardError> {
    check_label("title", title, MAX_TITLE)?;
    let mut txn = workshop.transact_mut();
    let agenda = root_mut(&mut txn, workshop_root::AGENDA);
    let entry = item(&txn, &agenda, "board", bid)?;
    set_str(&mut txn, &entry, field::TITLE, title.trim());
    Ok(())
}

/// Rewrites a board's method text (merging with concurrent edits).
pub fn set_method(workshop: &Doc, bid: &str, method: &str) -> Result<(), BoardError> {
    check_len("method", method, MAX_LONG_TEXT)?;
    let mut txn = workshop.transact_mut();
    let agenda = root_mut(&mut txn, workshop_root::AGENDA);
    let entry = item(&txn, &agenda, "board", bid)?;
    set_text(&mut txn, &entry, field::METHOD, method);
    Ok(())
}

/// Board doc ids of the workshop's agenda, in agenda order (what an export must load).
pub fn board_doc_ids(workshop: &Doc) -> Vec<String> {
    let txn = workshop.transact();
    let wid = super::fields::root(&txn, workshop_root::META)
        .map(|m| str_of(&txn, &m, field::ID))
        .unwrap_or_default();
    let Some(agenda) = super::fields::root(&txn, workshop_root::AGENDA) else {
        return Vec::new();
    };
    sorted_keys(&txn, &agenda, |_| true)
        .into_iter()
        .filter(|(_, bid)| check_id(bid).is_ok())
        .map(|(_, bid)| board_doc_id(&wid, &bid))
        .collect()
}

/// Every (board id, agenda entry) pair, for callers that need to look at raw entries.
pub(crate) fn agenda_entries<T: yrs::ReadTxn>(txn: &T) -> Vec<(String, MapRef)> {
    let Some(agenda) = super::fields::root(txn, workshop_root::AGENDA) else {
        return Vec::new();
    };
    let mut list: Vec<(String, String, MapRef)> = entries(txn, &agenda)
        .into_iter()
        .map(|(id, m)| (str_of(txn, &m, field::ORDER), id, m))
        .collect();
    list.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    list.into_iter().map(|(_, id, m)| (id, m)).collect()
}
