//! A consistent plain-data view of a workshop and its boards, read leniently (bad data is skipped
//! or defaulted). Serialised with serde_json it is the JSON export.
//!
//! This file holds the workshop level (meta, people, control, the agenda) and the dispatch by
//! board kind; each kind's view and reader live in `view/grid.rs` (grids: columns, groups,
//! sub-points) and `view/kinds.rs` (timeline, accelerator, interview, icebreaker).

use std::collections::BTreeSet;

use serde::Serialize;
use yrs::{Doc, MapRef, ReadTxn, Transact};

use super::fields::{bool_of, entries, int_of, map_of, root, sorted_keys, str_of};
use super::schema::{board_root, field, split_doc_id, workshop_root, BoardKind, ParticipantGroup};
use super::workshop::{agenda_entries, EmptyBoards};

mod grid;
mod kinds;

pub use grid::{ColumnView, GridView, GroupView, NoteView, MAX_SUBPOINT_DEPTH};
pub use kinds::{
    AcceleratorView, AnswerGroupView, AnswerView, CardView, IcebreakerNoteView, IcebreakerView,
    InterviewView, ItemView, QuestionView, TimelineView,
};
/// A whole workshop day.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkshopView {
    /// Schema version found in the doc.
    pub version: i64,
    /// Workshop id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Date as stored (ISO `yyyy-mm-dd` normally).
    pub date: String,
    /// Place.
    pub place: String,
    /// Objectives, one per entry.
    pub objectives: Vec<String>,
    /// Link to an external notes document (`""` = none).
    pub notes_url: String,
    /// What reports do with activities where nothing was noted.
    pub empty_boards: EmptyBoards,
    /// Template it was created from.
    pub template: String,
    /// Creation time (ms).
    pub created_at: i64,
    /// Board projected right now.
    pub projected: Option<String>,
    /// The facilitator's groups of people, in order.
    pub groups: Vec<PeopleGroupView>,
    /// Participants in list order.
    pub participants: Vec<ParticipantView>,
    /// Phones asking to be listed, oldest first.
    pub requests: Vec<RequestView>,
    /// Boards in agenda order.
    pub boards: Vec<BoardView>,
}

/// A group of people, as the facilitator named it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeopleGroupView {
    /// Group id.
    pub id: String,
    /// Name.
    pub name: String,
}

/// A phone asking to be listed among the people present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestView {
    /// The phone's participant id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Role.
    pub role: String,
    /// Organisation.
    pub organisation: String,
    /// When it asked (ms).
    pub created_at: i64,
}

/// A participant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParticipantView {
    /// Participant id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: String,
    /// Organisation.
    pub organisation: String,
    /// Group id (one of `groups`, else listed without a group).
    pub group: String,
    /// Joined with a phone.
    pub phone: bool,
}

/// One board of the agenda with its content.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BoardView {
    /// Board id.
    pub id: String,
    /// Board doc id.
    pub doc_id: String,
    /// Title.
    pub title: String,
    /// Kind.
    pub kind: BoardKind,
    /// Template it was made from.
    pub template: String,
    /// Method text.
    pub method: String,
    /// What was said, as the facilitator or note-takers typed it (Markdown source).
    pub synthesis: String,
    /// Side remarks ("Parenthèses"), Markdown source.
    pub remarks: String,
    /// Creation time (ms).
    pub created_at: i64,
    /// Facilitator's control state.
    pub control: ControlView,
    /// What people wrote on it.
    pub content: BoardContent,
}

/// Facilitator's control state of a board.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ControlView {
    /// Participants may not write.
    pub locked: bool,
    /// Every icebreaker note is revealed.
    pub reveal_all: bool,
    /// Icebreaker notes revealed one by one.
    pub revealed: Vec<String>,
    /// End of the countdown (ms), 0 = none.
    pub timer_end: i64,
    /// Votes per person, 0 = unlimited.
    pub votes_per_person: u32,
}

/// Content of a board, by kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum BoardContent {
    /// Grid content.
    Grid(GridView),
    /// Timeline content.
    Timeline(TimelineView),
    /// Accelerator content.
    Accelerator(AcceleratorView),
    /// Interview content.
    Interview(InterviewView),
    /// Icebreaker content.
    Icebreaker(IcebreakerView),
    /// The board doc was not given, or holds another kind of board.
    Missing,
}

/// Adds the notes still held back on each board (board id → count, as the server counted its
/// held docs) to the view: unrevealed papers of an icebreaker, unrevealed notes of a grid.
pub fn add_held(view: &mut WorkshopView, held: &std::collections::HashMap<String, u32>) {
    for board in &mut view.boards {
        let n = held.get(&board.id).copied().unwrap_or(0);
        match &mut board.content {
            BoardContent::Icebreaker(ice) => ice.hidden = ice.hidden.saturating_add(n),
            BoardContent::Grid(grid) => grid.held = grid.held.saturating_add(n),
            _ => {}
        }
    }
}

/// Reads a workshop doc and the board docs given as (doc id, doc). Each doc is read in one
/// transaction; boards missing from `boards` get [`BoardContent::Missing`].
pub fn read_workshop(workshop: &Doc, boards: &[(String, Doc)]) -> WorkshopView {
    let txn = workshop.transact();
    let meta = root(&txn, workshop_root::META);
    let get = |key: &str| {
        meta.as_ref()
            .map(|m| str_of(&txn, m, key))
            .unwrap_or_default()
    };
    let id = get(field::ID);
    let projected = Some(get(field::PROJECTED)).filter(|p| !p.is_empty());
    let control_root = root(&txn, workshop_root::CONTROL);

    let board_views = agenda_entries(&txn)
        .into_iter()
        .filter_map(|(bid, entry)| {
            let kind: BoardKind = str_of(&txn, &entry, field::KIND).parse().ok()?;
            let control = control_root
                .as_ref()
                .and_then(|c| map_of(&txn, c, &bid))
                .map(|c| read_control(&txn, &c))
                .unwrap_or_default();
            let doc = boards.iter().find_map(|(doc_id, doc)| {
                let (w, b) = split_doc_id(doc_id)?;
                (w == id && b == bid).then_some(doc)
            });
            let content = doc
                .map(|d| read_board(d, kind, &control))
                .unwrap_or(BoardContent::Missing);
            Some(BoardView {
                doc_id: super::schema::board_doc_id(&id, &bid),
                title: str_of(&txn, &entry, field::TITLE),
                template: str_of(&txn, &entry, field::TEMPLATE),
                method: str_of(&txn, &entry, field::METHOD),
                synthesis: str_of(&txn, &entry, field::SYNTHESIS),
                remarks: str_of(&txn, &entry, field::REMARKS),
                created_at: int_of(&txn, &entry, field::CREATED_AT),
                id: bid,
                kind,
                control,
                content,
            })
        })
        .collect();

    WorkshopView {
        version: meta
            .as_ref()
            .map(|m| int_of(&txn, m, field::VERSION))
            .unwrap_or(0),
        title: get(field::TITLE),
        date: get(field::DATE),
        place: get(field::PLACE),
        objectives: lines(&get(field::OBJECTIVES)),
        notes_url: get(field::NOTES_URL),
        empty_boards: EmptyBoards::parse_lenient(&get(field::REPORT_EMPTY)),
        template: get(field::TEMPLATE),
        created_at: meta
            .as_ref()
            .map(|m| int_of(&txn, m, field::CREATED_AT))
            .unwrap_or(0),
        projected,
        groups: read_groups(&txn),
        participants: read_participants(&txn),
        requests: read_requests(&txn),
        boards: board_views,
        id,
    }
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn read_participants<T: ReadTxn>(txn: &T) -> Vec<ParticipantView> {
    let Some(root) = root(txn, workshop_root::PARTICIPANTS) else {
        return Vec::new();
    };
    in_order(txn, &root, |_| true)
        .into_iter()
        .map(|(id, m)| ParticipantView {
            name: str_of(txn, &m, field::NAME),
            role: str_of(txn, &m, field::ROLE),
            organisation: str_of(txn, &m, field::ORGANISATION),
            group: str_of(txn, &m, field::GROUP),
            phone: bool_of(txn, &m, field::PHONE),
            id,
        })
        .collect()
}

/// The facilitator's groups; a workshop made before groups existed gets the three historical
/// kinds, so its people stay grouped.
fn read_groups<T: ReadTxn>(txn: &T) -> Vec<PeopleGroupView> {
    match root(txn, workshop_root::GROUPS) {
        Some(root) => in_order(txn, &root, |_| true)
            .into_iter()
            .map(|(id, m)| PeopleGroupView {
                name: str_of(txn, &m, field::NAME),
                id,
            })
            .collect(),
        None => ParticipantGroup::ALL
            .into_iter()
            .map(|g| PeopleGroupView {
                id: g.as_str().to_owned(),
                name: g.label_fr().to_owned(),
            })
            .collect(),
    }
}

fn read_requests<T: ReadTxn>(txn: &T) -> Vec<RequestView> {
    let Some(root) = root(txn, workshop_root::REQUESTS) else {
        return Vec::new();
    };
    let mut list: Vec<RequestView> = entries(txn, &root)
        .into_iter()
        .map(|(id, m)| RequestView {
            name: str_of(txn, &m, field::NAME),
            role: str_of(txn, &m, field::ROLE),
            organisation: str_of(txn, &m, field::ORGANISATION),
            created_at: int_of(txn, &m, field::CREATED_AT),
            id,
        })
        .collect();
    list.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    list
}

fn read_control<T: ReadTxn>(txn: &T, c: &MapRef) -> ControlView {
    let revealed: BTreeSet<String> = map_of(txn, c, field::REVEALED)
        .map(|r| {
            use yrs::Map;
            r.iter(txn)
                .filter(|(_, v)| matches!(v, yrs::Out::Any(yrs::Any::Bool(true))))
                .map(|(k, _)| k.to_owned())
                .collect()
        })
        .unwrap_or_default();
    ControlView {
        locked: bool_of(txn, c, field::LOCKED),
        reveal_all: bool_of(txn, c, field::REVEAL_ALL),
        revealed: revealed.into_iter().collect(),
        timer_end: int_of(txn, c, field::TIMER_END).max(0),
        votes_per_person: u32::try_from(int_of(txn, c, field::VOTES_PER_PERSON)).unwrap_or(0),
    }
}

/// Items of `root` satisfying `keep`, sorted by (order, id).
pub(super) fn in_order<T: ReadTxn>(
    txn: &T,
    root: &MapRef,
    keep: impl Fn(&MapRef) -> bool,
) -> Vec<(String, MapRef)> {
    sorted_keys(txn, root, keep)
        .into_iter()
        .filter_map(|(_, id)| map_of(txn, root, &id).map(|m| (id, m)))
        .collect()
}

/// Reads one board doc as `kind`; a doc holding another kind reads as `Missing`.
pub fn read_board(doc: &Doc, kind: BoardKind, control: &ControlView) -> BoardContent {
    let txn = doc.transact();
    let stored = root(&txn, board_root::META)
        .map(|m| str_of(&txn, &m, field::KIND))
        .unwrap_or_default();
    if stored != kind.as_str() {
        return BoardContent::Missing;
    }
    match kind {
        BoardKind::Grid => BoardContent::Grid(grid::read_grid(&txn)),
        BoardKind::Timeline => BoardContent::Timeline(kinds::read_timeline(&txn)),
        BoardKind::Accelerator => BoardContent::Accelerator(kinds::read_accelerator(&txn)),
        BoardKind::Interview => BoardContent::Interview(kinds::read_interview(&txn)),
        BoardKind::Icebreaker => BoardContent::Icebreaker(kinds::read_icebreaker(&txn, control)),
    }
}
