//! The workshop doc: creating a workshop from a template, its meta, participants, agenda of
//! boards and the facilitator's control state.

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

pub use super::people::{remove_participant, upsert_participant, ParticipantInput};

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

fn init_control(txn: &mut TransactionMut, c: &MapRef) {
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

/// Changes to the workshop's meta fields; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaPatch {
    /// New title.
    #[serde(default)]
    pub title: Option<String>,
    /// New date.
    #[serde(default)]
    pub date: Option<String>,
    /// New place.
    #[serde(default)]
    pub place: Option<String>,
    /// New objectives, one per entry.
    #[serde(default)]
    pub objectives: Option<Vec<String>>,
    /// New link to an external notes document (`""` removes it).
    #[serde(default)]
    pub notes_url: Option<String>,
    /// Whether reports show or leave out activities where nothing was noted.
    #[serde(default)]
    pub empty_boards: Option<EmptyBoards>,
}

/// What reports do with an activity where nothing was noted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmptyBoards {
    /// Shown once, with a line saying nothing was noted.
    #[default]
    Show,
    /// Left out of the report.
    Omit,
}

impl EmptyBoards {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            EmptyBoards::Show => "show",
            EmptyBoards::Omit => "omit",
        }
    }

    /// Reads a stored name; anything else is `Show`.
    pub fn parse_lenient(s: &str) -> Self {
        if s == "omit" {
            EmptyBoards::Omit
        } else {
            EmptyBoards::Show
        }
    }
}

/// Whether a link to a notes document is acceptable: empty, or an http(s) URL.
fn check_url(url: &str) -> Result<(), BoardError> {
    let u = url.trim();
    let lower = u.to_ascii_lowercase();
    if u.is_empty() || lower.starts_with("https://") || lower.starts_with("http://") {
        check_len("notesUrl", u, 2_000)
    } else {
        Err(BoardError::InvalidField {
            field: "notesUrl",
            reason: "must be an http(s) link",
        })
    }
}

/// Updates the workshop's title, date, place or objectives.
pub fn set_meta(workshop: &Doc, patch: &MetaPatch) -> Result<(), BoardError> {
    if let Some(t) = &patch.title {
        check_label("title", t, MAX_TITLE)?;
    }
    for (name, v) in [("date", &patch.date), ("place", &patch.place)] {
        if let Some(v) = v {
            check_len(name, v, MAX_TITLE)?;
        }
    }
    if let Some(u) = &patch.notes_url {
        check_url(u)?;
    }
    let objectives = patch.objectives.as_ref().map(|o| o.join("\n"));
    if let Some(o) = &objectives {
        check_len("objectives", o, MAX_LONG_TEXT)?;
    }
    let mut txn = workshop.transact_mut();
    let meta = root_mut(&mut txn, workshop_root::META);
    let fields = [
        (field::TITLE, &patch.title),
        (field::DATE, &patch.date),
        (field::PLACE, &patch.place),
        (field::NOTES_URL, &patch.notes_url),
    ];
    for (key, value) in fields {
        if let Some(v) = value {
            set_str(&mut txn, &meta, key, v.trim());
        }
    }
    if let Some(o) = &objectives {
        set_text(&mut txn, &meta, field::OBJECTIVES, o);
    }
    if let Some(e) = patch.empty_boards {
        set_str(&mut txn, &meta, field::REPORT_EMPTY, e.as_str());
    }
    Ok(())
}

/// Rewrites an activity's synthesis (Markdown source) or side remarks, merging with concurrent
/// edits: what the facilitator and note-takers typed during the discussion.
pub fn set_board_notes(
    workshop: &Doc,
    bid: &str,
    synthesis: Option<&str>,
    remarks: Option<&str>,
) -> Result<(), BoardError> {
    for (name, v) in [("synthesis", synthesis), ("remarks", remarks)] {
        if let Some(v) = v {
            check_len(name, v, MAX_LONG_TEXT)?;
        }
    }
    let mut txn = workshop.transact_mut();
    let agenda = root_mut(&mut txn, workshop_root::AGENDA);
    let entry = item(&txn, &agenda, "board", bid)?;
    if let Some(v) = synthesis {
        set_text(&mut txn, &entry, field::SYNTHESIS, v);
    }
    if let Some(v) = remarks {
        set_text(&mut txn, &entry, field::REMARKS, v);
    }
    Ok(())
}

/// The control map of board `bid`. A board without one (only in a damaged doc, since
/// `add_board` creates it with the agenda entry) gets a fresh one.
fn control_of(txn: &mut TransactionMut, bid: &str) -> Result<MapRef, BoardError> {
    let agenda = root_mut(txn, workshop_root::AGENDA);
    item(txn, &agenda, "board", bid)?;
    let control = root_mut(txn, workshop_root::CONTROL);
    match map_of(txn, &control, bid) {
        Some(c) => Ok(c),
        None => {
            let c = new_map(txn, &control, bid);
            init_control(txn, &c);
            Ok(c)
        }
    }
}

/// Locks or unlocks a board.
pub fn set_locked(workshop: &Doc, bid: &str, locked: bool) -> Result<(), BoardError> {
    let mut txn = workshop.transact_mut();
    let c = control_of(&mut txn, bid)?;
    c.insert(&mut txn, field::LOCKED, locked);
    Ok(())
}

/// Reveals (or hides again) every icebreaker note of a board at once.
pub fn set_reveal_all(workshop: &Doc, bid: &str, all: bool) -> Result<(), BoardError> {
    let mut txn = workshop.transact_mut();
    let c = control_of(&mut txn, bid)?;
    c.insert(&mut txn, field::REVEAL_ALL, all);
    Ok(())
}

/// Reveals one icebreaker note, or hides it again.
pub fn set_note_revealed(
    workshop: &Doc,
    bid: &str,
    note_id: &str,
    revealed: bool,
) -> Result<(), BoardError> {
    check_id(note_id)?;
    let mut txn = workshop.transact_mut();
    let c = control_of(&mut txn, bid)?;
    let map = match map_of(&txn, &c, field::REVEALED) {
        Some(m) => m,
        None => new_map(&mut txn, &c, field::REVEALED),
    };
    if revealed {
        map.insert(&mut txn, note_id, true);
    } else {
        map.remove(&mut txn, note_id);
    }
    Ok(())
}

/// Sets the end of the board's countdown (ms since the epoch); `0` removes the timer.
pub fn set_timer(workshop: &Doc, bid: &str, end_ms: i64) -> Result<(), BoardError> {
    if end_ms < 0 {
        return Err(BoardError::InvalidField {
            field: "timerEnd",
            reason: "must not be negative",
        });
    }
    let mut txn = workshop.transact_mut();
    let c = control_of(&mut txn, bid)?;
    set_int(&mut txn, &c, field::TIMER_END, end_ms);
    Ok(())
}

/// Sets how many dot votes each person may place on a board; `0` = unlimited.
pub fn set_votes_per_person(workshop: &Doc, bid: &str, votes: u32) -> Result<(), BoardError> {
    let mut txn = workshop.transact_mut();
    let c = control_of(&mut txn, bid)?;
    set_int(&mut txn, &c, field::VOTES_PER_PERSON, i64::from(votes));
    Ok(())
}

/// Projects a board (`None` = nothing projected).
pub fn set_projected(workshop: &Doc, bid: Option<&str>) -> Result<(), BoardError> {
    let mut txn = workshop.transact_mut();
    if let Some(bid) = bid {
        let agenda = root_mut(&mut txn, workshop_root::AGENDA);
        item(&txn, &agenda, "board", bid)?;
    }
    let meta = root_mut(&mut txn, workshop_root::META);
    set_str(&mut txn, &meta, field::PROJECTED, bid.unwrap_or(""));
    Ok(())
}

/// Records that the participant link and join code were renewed at `now_ms`: screens that keep
/// their own link (the projector) watch this field and fetch the new public join info.
pub fn mark_links_renewed(workshop: &Doc, now_ms: i64) {
    let mut txn = workshop.transact_mut();
    let meta = root_mut(&mut txn, workshop_root::META);
    set_int(&mut txn, &meta, field::LINKS_RENEWED, now_ms);
}

/// The votes-per-person limit of a board (0 = unlimited), to pass to `grid::vote`.
pub fn votes_per_person(workshop: &Doc, bid: &str) -> u32 {
    let txn = workshop.transact();
    super::fields::root(&txn, workshop_root::CONTROL)
        .and_then(|c| map_of(&txn, &c, bid))
        .map(|c| super::fields::int_of(&txn, &c, field::VOTES_PER_PERSON))
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(0)
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
