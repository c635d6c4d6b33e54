//! A consistent plain-data view of a workshop and its boards, read leniently (bad data is skipped
//! or defaulted). Serialised with serde_json it is the JSON export.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use yrs::{Doc, MapRef, ReadTxn, Transact};

use super::fields::{
    author_of, bool_of, counts_of, entries, int_of, map_of, root, sorted_keys, str_of,
};
use super::schema::{
    board_root, field, palette_colour, split_doc_id, workshop_root, Author, BoardKind,
    ParticipantGroup, Stage,
};
use super::workshop::{agenda_entries, EmptyBoards};

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

/// A grid: columns in order, each with its notes in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GridView {
    /// Columns in order; a trailing column with an empty id holds notes whose column is gone.
    pub columns: Vec<ColumnView>,
    /// Groups in order.
    pub groups: Vec<GroupView>,
    /// Notes still held back by their writers (board-schema §6), not in the board doc.
    #[serde(skip_serializing_if = "is_zero")]
    pub held: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A grid column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnView {
    /// Column id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Palette colour.
    pub colour: String,
    /// Notes in order.
    pub notes: Vec<NoteView>,
}

/// A group of notes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupView {
    /// Group id.
    pub id: String,
    /// Title.
    pub title: String,
}

/// A post-it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NoteView {
    /// Note id.
    pub id: String,
    /// Text.
    pub text: String,
    /// Palette colour (the column's when the note has none).
    pub colour: String,
    /// Group id, when grouped (and the group exists).
    pub group: Option<String>,
    /// The note this one is a sub-point of (when that note exists on the board).
    pub parent: Option<String>,
    /// Total dot votes.
    pub votes: u32,
    /// Dot votes per voter id.
    pub voters: BTreeMap<String, u32>,
    /// Who wrote it.
    pub author: Author,
    /// When (ms).
    pub created_at: i64,
}

/// A timeline: cards in date order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TimelineView {
    /// Cards sorted by sort key (undated last), creation time, id.
    pub cards: Vec<CardView>,
}

/// A timeline card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CardView {
    /// Card id.
    pub id: String,
    /// Free label.
    pub when: String,
    /// Sortable date.
    pub sort_key: String,
    /// Title.
    pub title: String,
    /// Person.
    pub person: String,
    /// Person's organisation.
    pub organisation: String,
    /// Quote.
    pub quote: String,
    /// Who typed it.
    pub author: Author,
    /// When (ms).
    pub created_at: i64,
}

/// An accelerator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AcceleratorView {
    /// Who brings the problem.
    pub owner: String,
    /// Their organisation.
    pub owner_org: String,
    /// Short question.
    pub question: String,
    /// Context.
    pub context: String,
    /// Problem as stated.
    pub statement: String,
    /// Stage 1: clarifying questions.
    pub questions: Vec<ItemView>,
    /// Stage 2: reformulation.
    pub reformulation: String,
    /// Stage 3: ideas.
    pub ideas: Vec<ItemView>,
    /// Stage 4: action plan.
    pub actions: Vec<ItemView>,
}

/// An accelerator item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemView {
    /// Item id.
    pub id: String,
    /// Question, idea, or what to do.
    pub text: String,
    /// Who does it (actions).
    pub who: String,
    /// Next step (actions).
    pub next: String,
    /// Who wrote it.
    pub author: Author,
    /// When (ms).
    pub created_at: i64,
}

/// Cross-interviews: answers by question, then by group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InterviewView {
    /// Questions in order.
    pub questions: Vec<QuestionView>,
}

/// A question and its answers per group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuestionView {
    /// Question id.
    pub id: String,
    /// Question text.
    pub text: String,
    /// Every group in order, with its answers (possibly none).
    pub groups: Vec<AnswerGroupView>,
}

/// A group's answers to one question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnswerGroupView {
    /// Group id.
    pub id: String,
    /// Group name.
    pub name: String,
    /// Who ran the group ("animé par"), `""` when not said.
    pub lead: String,
    /// Answers in order.
    pub answers: Vec<AnswerView>,
}

/// An interview answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AnswerView {
    /// Answer id.
    pub id: String,
    /// Text.
    pub text: String,
    /// Who wrote it.
    pub author: Author,
    /// When (ms).
    pub created_at: i64,
}

/// An icebreaker: only revealed notes are part of the view.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IcebreakerView {
    /// The question asked.
    pub prompt: String,
    /// Revealed notes in order.
    pub notes: Vec<IcebreakerNoteView>,
    /// How many notes are still hidden.
    pub hidden: u32,
}

/// A revealed anonymous note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IcebreakerNoteView {
    /// Note id.
    pub id: String,
    /// Text.
    pub text: String,
    /// When (ms).
    pub created_at: i64,
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
fn in_order<T: ReadTxn>(
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
        BoardKind::Grid => BoardContent::Grid(read_grid(&txn)),
        BoardKind::Timeline => BoardContent::Timeline(read_timeline(&txn)),
        BoardKind::Accelerator => BoardContent::Accelerator(read_accelerator(&txn)),
        BoardKind::Interview => BoardContent::Interview(read_interview(&txn)),
        BoardKind::Icebreaker => BoardContent::Icebreaker(read_icebreaker(&txn, control)),
    }
}

fn read_grid<T: ReadTxn>(txn: &T) -> GridView {
    let groups: Vec<GroupView> = root(txn, board_root::GROUPS)
        .map(|g| {
            in_order(txn, &g, |_| true)
                .into_iter()
                .map(|(id, m)| GroupView {
                    title: str_of(txn, &m, field::TITLE),
                    id,
                })
                .collect()
        })
        .unwrap_or_default();
    let mut columns: Vec<ColumnView> = root(txn, board_root::COLUMNS)
        .map(|c| {
            in_order(txn, &c, |_| true)
                .into_iter()
                .map(|(id, m)| ColumnView {
                    title: str_of(txn, &m, field::TITLE),
                    colour: palette_colour(&str_of(txn, &m, field::COLOUR), "grey").to_owned(),
                    notes: Vec::new(),
                    id,
                })
                .collect()
        })
        .unwrap_or_default();
    let mut orphans = Vec::new();
    let note_ids: BTreeSet<String> = root(txn, board_root::NOTES)
        .map(|n| entries(txn, &n).into_iter().map(|(id, _)| id).collect())
        .unwrap_or_default();
    if let Some(notes) = root(txn, board_root::NOTES) {
        // Notes sort by (order, id) globally, so each column receives its notes in order.
        for (id, m) in in_order(txn, &notes, |_| true) {
            let column = str_of(txn, &m, field::COLUMN);
            let target = columns.iter_mut().find(|c| c.id == column);
            let default_colour = target.as_ref().map_or("yellow", |c| c.colour.as_str());
            let colour = palette_colour(&str_of(txn, &m, field::COLOUR), default_colour);
            let group = Some(str_of(txn, &m, field::GROUP))
                .filter(|g| groups.iter().any(|known| &known.id == g));
            let voters = counts_of(txn, &m, field::VOTES);
            let parent =
                Some(str_of(txn, &m, field::PARENT)).filter(|p| *p != id && note_ids.contains(p));
            let note = NoteView {
                text: str_of(txn, &m, field::TEXT),
                colour: colour.to_owned(),
                group,
                parent,
                votes: voters.values().copied().fold(0u32, u32::saturating_add),
                voters,
                author: author_of(txn, &m),
                created_at: int_of(txn, &m, field::CREATED_AT),
                id,
            };
            match target {
                Some(c) => c.notes.push(note),
                None => orphans.push(note),
            }
        }
    }
    untangle_parents(&mut orphans, &mut columns);
    if !orphans.is_empty() {
        columns.push(ColumnView {
            id: String::new(),
            // Reports name it in their language ("Sans colonne").
            title: String::new(),
            colour: "grey".to_owned(),
            notes: orphans,
        });
    }
    GridView {
        columns,
        groups,
        held: 0,
    }
}

/// Most levels of sub-points under one note (writers refuse deeper; readers flatten).
pub const MAX_SUBPOINT_DEPTH: usize = 8;

/// Sub-points form a forest: a note whose chain of parents loops (two clients nesting notes
/// under each other at once) or runs too deep is shown as a note of its own.
fn untangle_parents(orphans: &mut [NoteView], columns: &mut [ColumnView]) {
    let parent_of: std::collections::HashMap<String, Option<String>> = columns
        .iter()
        .flat_map(|c| &c.notes)
        .chain(orphans.iter())
        .map(|n| (n.id.clone(), n.parent.clone()))
        .collect();
    let rooted = |id: &str| {
        let mut at = parent_of.get(id).cloned().flatten();
        for _ in 0..MAX_SUBPOINT_DEPTH {
            match at {
                None => return true,
                Some(p) if p == id => return false,
                Some(p) => at = parent_of.get(&p).cloned().flatten(),
            }
        }
        false
    };
    for note in columns
        .iter_mut()
        .flat_map(|c| c.notes.iter_mut())
        .chain(orphans.iter_mut())
    {
        if note.parent.is_some() && !rooted(&note.id) {
            note.parent = None;
        }
    }
}

fn read_timeline<T: ReadTxn>(txn: &T) -> TimelineView {
    let Some(cards) = root(txn, board_root::CARDS) else {
        return TimelineView::default();
    };
    let mut cards: Vec<CardView> = entries(txn, &cards)
        .into_iter()
        .map(|(id, m)| CardView {
            when: str_of(txn, &m, field::WHEN),
            // Cards written by other clients or older boards may carry no key.
            sort_key: super::dates::card_key(
                &str_of(txn, &m, field::SORT_KEY),
                &str_of(txn, &m, field::WHEN),
            ),
            title: str_of(txn, &m, field::TITLE),
            person: str_of(txn, &m, field::PERSON),
            organisation: str_of(txn, &m, field::ORGANISATION),
            quote: str_of(txn, &m, field::QUOTE),
            author: author_of(txn, &m),
            created_at: int_of(txn, &m, field::CREATED_AT),
            id,
        })
        .collect();
    cards.sort_by(|a, b| {
        (a.sort_key.is_empty(), &a.sort_key, a.created_at, &a.id).cmp(&(
            b.sort_key.is_empty(),
            &b.sort_key,
            b.created_at,
            &b.id,
        ))
    });
    TimelineView { cards }
}

fn read_accelerator<T: ReadTxn>(txn: &T) -> AcceleratorView {
    let meta = root(txn, board_root::META);
    let get = |key: &str| {
        meta.as_ref()
            .map(|m| str_of(txn, m, key))
            .unwrap_or_default()
    };
    let items = root(txn, board_root::ITEMS);
    let stage_items = |stage: Stage| -> Vec<ItemView> {
        let Some(items) = &items else {
            return Vec::new();
        };
        in_order(txn, items, |m| {
            Stage::parse(&str_of(txn, m, field::STAGE)) == Some(stage)
        })
        .into_iter()
        .map(|(id, m)| ItemView {
            text: str_of(txn, &m, field::TEXT),
            who: str_of(txn, &m, field::WHO),
            next: str_of(txn, &m, field::NEXT),
            author: author_of(txn, &m),
            created_at: int_of(txn, &m, field::CREATED_AT),
            id,
        })
        .collect()
    };
    AcceleratorView {
        owner: get(field::OWNER),
        owner_org: get(field::OWNER_ORG),
        question: get(field::QUESTION),
        context: get(field::CONTEXT),
        statement: get(field::STATEMENT),
        questions: stage_items(Stage::Questions),
        reformulation: get(field::REFORMULATION),
        ideas: stage_items(Stage::Ideas),
        actions: stage_items(Stage::Actions),
    }
}

fn read_interview<T: ReadTxn>(txn: &T) -> InterviewView {
    let list = |name: &str, label: &str| -> Vec<(String, String)> {
        root(txn, name)
            .map(|r| {
                in_order(txn, &r, |_| true)
                    .into_iter()
                    .map(|(id, m)| (id, str_of(txn, &m, label)))
                    .collect()
            })
            .unwrap_or_default()
    };
    let questions = list(board_root::QUESTIONS, field::TEXT);
    let groups = list(board_root::GROUPS, field::NAME);
    let leads = list(board_root::GROUPS, field::LEAD);
    let answers: Vec<(String, String, AnswerView)> = root(txn, board_root::ANSWERS)
        .map(|r| {
            in_order(txn, &r, |_| true)
                .into_iter()
                .map(|(id, m)| {
                    (
                        str_of(txn, &m, field::QUESTION),
                        str_of(txn, &m, field::GROUP),
                        AnswerView {
                            text: str_of(txn, &m, field::TEXT),
                            author: author_of(txn, &m),
                            created_at: int_of(txn, &m, field::CREATED_AT),
                            id,
                        },
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    InterviewView {
        questions: questions
            .into_iter()
            .map(|(qid, text)| QuestionView {
                groups: groups
                    .iter()
                    .zip(&leads)
                    .map(|((gid, name), (_, lead))| AnswerGroupView {
                        id: gid.clone(),
                        name: name.clone(),
                        lead: lead.clone(),
                        answers: answers
                            .iter()
                            .filter(|(q, g, _)| *q == qid && g == gid)
                            .map(|(_, _, a)| a.clone())
                            .collect(),
                    })
                    .collect(),
                id: qid,
                text,
            })
            .collect(),
    }
}

fn read_icebreaker<T: ReadTxn>(txn: &T, control: &ControlView) -> IcebreakerView {
    let prompt = root(txn, board_root::META)
        .map(|m| str_of(txn, &m, field::PROMPT))
        .unwrap_or_default();
    let Some(notes) = root(txn, board_root::NOTES) else {
        return IcebreakerView {
            prompt,
            ..IcebreakerView::default()
        };
    };
    let all = in_order(txn, &notes, |_| true);
    let total = all.len();
    let notes: Vec<IcebreakerNoteView> = all
        .into_iter()
        .filter(|(id, _)| control.reveal_all || control.revealed.contains(id))
        .map(|(id, m)| IcebreakerNoteView {
            text: str_of(txn, &m, field::TEXT),
            created_at: int_of(txn, &m, field::CREATED_AT),
            id,
        })
        .collect();
    IcebreakerView {
        prompt,
        hidden: u32::try_from(total - notes.len()).unwrap_or(u32::MAX),
        notes,
    }
}
