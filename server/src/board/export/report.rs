//! The one walk over a [`WorkshopView`]: it decides what a report says and in which order, as a
//! small tree of [`Block`]s. The Markdown and HTML renderers only decide how a block looks, so a
//! new section or a new kind of board is written here once for every format.

use super::labels::Labels;
use super::synthesis;
use super::text::{is_blank, long_date, one_line};
use crate::board::view::{
    AcceleratorView, BoardContent, BoardView, GridView, IcebreakerView, InterviewView, ItemView,
    NoteView, ParticipantView, TimelineView, WorkshopView,
};
use crate::board::workshop::EmptyBoards;

/// A run of text on one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Span {
    /// Users' text; its line breaks are kept as the block allows (hard breaks, paragraphs).
    Text(String),
    /// Our own words (labels, separators, numbers): escaped, never a line-start marker.
    Label(String),
    /// Strong text (users' or ours), on one line.
    Strong(String),
    /// Emphasised text (users' or ours), on one line.
    Em(String),
    /// A link to an http(s) address (anything else is shown as text).
    Link { text: String, url: String },
}

/// A list item, possibly with sub-items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Item {
    pub spans: Vec<Span>,
    /// HTML class (colour of a note, a group header).
    pub class: Option<String>,
    pub children: Vec<Item>,
}

impl Item {
    fn new(spans: Vec<Span>) -> Self {
        Item {
            spans,
            class: None,
            children: Vec::new(),
        }
    }
}

/// A block of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Block {
    /// A heading of level 1 to 6.
    Heading(u8, Vec<Span>),
    /// A paragraph; users' text in it becomes one paragraph per line.
    Para {
        class: Option<&'static str>,
        spans: Vec<Span>,
    },
    /// Label/value pairs (date, place).
    Fields(Vec<(String, Vec<Span>)>),
    /// A bulleted list.
    List(Vec<Item>),
    /// Users' text set apart (a method, a quote): one paragraph per line.
    Quote {
        class: Option<&'static str>,
        text: String,
    },
    /// Our own remark that a part is empty.
    Empty(String),
    /// A section that can be folded on screen (`<details>`, open so that it prints); Markdown
    /// shows its body.
    Details { summary: String, body: Vec<Block> },
    /// A visual container (board, grid columns, card): no mark of its own in Markdown.
    Wrap {
        tag: &'static str,
        class: String,
        body: Vec<Block>,
    },
}

/// A whole report: its title and its blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Report {
    pub title: String,
    pub blocks: Vec<Block>,
}

fn text(s: &str) -> Span {
    Span::Text(s.to_owned())
}

fn label(s: impl Into<String>) -> Span {
    Span::Label(s.into())
}

fn para(spans: Vec<Span>) -> Block {
    Block::Para { class: None, spans }
}

/// "**Label :** value" as a paragraph.
fn labelled(labels: &Labels, name: &str, value: Span) -> Block {
    para(vec![Span::Strong(labels.field(name)), label(" "), value])
}

/// Non-blank parts joined with " — ", each on one line.
fn joined(parts: &[&str]) -> String {
    parts
        .iter()
        .filter(|s| !is_blank(s))
        .map(|s| one_line(s))
        .collect::<Vec<_>>()
        .join(" — ")
}

/// Walks the view into a report.
pub(crate) fn report(view: &WorkshopView, labels: &Labels) -> Report {
    let title = if is_blank(&view.title) {
        labels.untitled.to_owned()
    } else {
        one_line(&view.title)
    };
    let mut blocks = vec![Block::Heading(1, vec![text(&title)])];
    let fields: Vec<(String, Vec<Span>)> = [
        (labels.date, long_date(&view.date, labels)),
        (labels.place, view.place.clone()),
    ]
    .into_iter()
    .filter(|(_, v)| !is_blank(v))
    .map(|(k, v)| (labels.field(k), vec![Span::Text(one_line(&v))]))
    .chain((!is_blank(&view.notes_url)).then(|| {
        let url = one_line(&view.notes_url);
        (
            labels.field(labels.notes_link),
            vec![Span::Link {
                text: url.clone(),
                url,
            }],
        )
    }))
    .collect();
    if !fields.is_empty() {
        blocks.push(Block::Fields(fields));
    }
    if !view.objectives.is_empty() {
        blocks.push(Block::Heading(2, vec![label(labels.objectives)]));
        blocks.push(Block::List(
            view.objectives
                .iter()
                .map(|o| Item::new(vec![Span::Text(one_line(o))]))
                .collect(),
        ));
    }
    people(&mut blocks, view, labels);
    let shown = view
        .boards
        .iter()
        .filter(|b| view.empty_boards == EmptyBoards::Show || !board_is_empty(b));
    for (i, board) in shown.enumerate() {
        blocks.push(board_block(i + 1, board, labels));
    }
    Report { title, blocks }
}

fn person_item(p: &ParticipantView) -> Item {
    let mut spans = vec![Span::Text(one_line(&p.name))];
    if !is_blank(&p.role) {
        spans.extend([label(", "), Span::Text(one_line(&p.role))]);
    }
    if !is_blank(&p.organisation) {
        spans.extend([label(" — "), Span::Text(one_line(&p.organisation))]);
    }
    Item::new(spans)
}

/// People by the facilitator's groups in order, then those of no known group.
fn people(blocks: &mut Vec<Block>, view: &WorkshopView, labels: &Labels) {
    if view.participants.is_empty() {
        return;
    }
    let mut body = Vec::new();
    let mut section = |name: &str, members: Vec<Item>| {
        if !members.is_empty() {
            body.push(Block::Heading(3, vec![Span::Text(one_line(name))]));
            body.push(Block::List(members));
        }
    };
    for group in &view.groups {
        let members = view
            .participants
            .iter()
            .filter(|p| p.group == group.id)
            .map(person_item)
            .collect();
        section(&group.name, members);
    }
    let others = view
        .participants
        .iter()
        .filter(|p| !view.groups.iter().any(|g| g.id == p.group))
        .map(person_item)
        .collect();
    section(labels.no_group, others);
    blocks.push(Block::Heading(2, vec![label(labels.people)]));
    blocks.push(Block::Details {
        summary: labels.people_summary.to_owned(),
        body,
    });
}

/// Nothing was noted on a board: no content, no synthesis, no side remarks.
pub(crate) fn board_is_empty(board: &BoardView) -> bool {
    let content_empty = match &board.content {
        BoardContent::Grid(g) => g.columns.iter().all(|c| c.notes.is_empty()),
        BoardContent::Timeline(t) => t.cards.is_empty(),
        BoardContent::Accelerator(a) => {
            [
                &a.owner,
                &a.question,
                &a.context,
                &a.statement,
                &a.reformulation,
            ]
            .iter()
            .all(|s| is_blank(s))
                && a.questions.is_empty()
                && a.ideas.is_empty()
                && a.actions.is_empty()
        }
        BoardContent::Interview(iv) => iv
            .questions
            .iter()
            .all(|q| q.groups.iter().all(|g| g.answers.is_empty())),
        BoardContent::Icebreaker(ice) => ice.notes.is_empty() && ice.hidden == 0,
        BoardContent::Missing => false,
    };
    content_empty && is_blank(&board.synthesis) && is_blank(&board.remarks)
}

fn board_block(n: usize, board: &BoardView, labels: &Labels) -> Block {
    let mut body = vec![
        Block::Heading(
            2,
            vec![label(format!("{n}. ")), text(&one_line(&board.title))],
        ),
        Block::Para {
            class: Some("kind"),
            spans: vec![Span::Em(labels.kind(board.kind).to_owned())],
        },
    ];
    if !is_blank(&board.method) {
        body.push(Block::Quote {
            class: Some("method"),
            text: board.method.clone(),
        });
    }
    if board_is_empty(board) {
        body.push(Block::Empty(labels.empty_board.to_owned()));
        return Block::Wrap {
            tag: "section",
            class: format!("board board-{}", board.kind.as_str()),
            body,
        };
    }
    match &board.content {
        BoardContent::Grid(g) => grid(&mut body, g, labels),
        BoardContent::Timeline(t) => timeline(&mut body, t, labels),
        BoardContent::Accelerator(a) => accelerator(&mut body, a, labels),
        BoardContent::Interview(iv) => interview(&mut body, iv, labels),
        BoardContent::Icebreaker(ice) => icebreaker(&mut body, ice, labels),
        BoardContent::Missing => body.push(Block::Empty(labels.unavailable.to_owned())),
    }
    for (name, source) in [
        (labels.synthesis, &board.synthesis),
        (labels.remarks, &board.remarks),
    ] {
        if !is_blank(source) {
            body.push(Block::Heading(3, vec![label(name)]));
            // The source's own headings go under this one: "#" becomes a level-4 heading.
            body.extend(synthesis::blocks(source, 3));
        }
    }
    Block::Wrap {
        tag: "section",
        class: format!("board board-{}", board.kind.as_str()),
        body,
    }
}

fn note_item(note: &NoteView, all: &[&NoteView], labels: &Labels, depth: usize) -> Item {
    let mut spans = vec![text(&note.text)];
    if note.votes > 0 {
        spans.extend([label(" — "), Span::Strong(labels.votes.of(note.votes))]);
    }
    Item {
        spans,
        class: Some(format!(
            "note c-{}",
            crate::board::schema::palette_colour(&note.colour, "yellow")
        )),
        // The view guarantees sub-points form a tree; the depth bound is a second guard.
        children: if depth < 8 {
            all.iter()
                .filter(|n| n.parent.as_deref() == Some(note.id.as_str()))
                .map(|n| note_item(n, all, labels, depth + 1))
                .collect()
        } else {
            Vec::new()
        },
    }
}

/// Notes of a column: groups first (in group order) with their notes, then ungrouped notes.
fn column_items(grid: &GridView, notes: &[NoteView], labels: &Labels) -> Vec<Item> {
    let all: Vec<&NoteView> = grid.columns.iter().flat_map(|c| &c.notes).collect();
    let top: Vec<&NoteView> = notes.iter().filter(|n| n.parent.is_none()).collect();
    let mut items: Vec<Item> = grid
        .groups
        .iter()
        .filter_map(|g| {
            let members: Vec<Item> = top
                .iter()
                .filter(|n| n.group.as_deref() == Some(g.id.as_str()))
                .map(|n| note_item(n, &all, labels, 0))
                .collect();
            (!members.is_empty()).then(|| Item {
                spans: vec![Span::Strong(one_line(&g.title))],
                class: Some("group".to_owned()),
                children: members,
            })
        })
        .collect();
    items.extend(
        top.iter()
            .filter(|n| n.group.is_none())
            .map(|n| note_item(n, &all, labels, 0)),
    );
    items
}

fn grid(body: &mut Vec<Block>, grid: &GridView, labels: &Labels) {
    let columns = grid
        .columns
        .iter()
        .map(|column| {
            let title = if column.id.is_empty() && is_blank(&column.title) {
                labels.no_column.to_owned()
            } else {
                one_line(&column.title)
            };
            let content = if column.notes.iter().all(|n| n.parent.is_some()) {
                Block::Empty(labels.no_notes.to_owned())
            } else {
                Block::List(column_items(grid, &column.notes, labels))
            };
            Block::Wrap {
                tag: "div",
                class: format!(
                    "column c-{}",
                    crate::board::schema::palette_colour(&column.colour, "grey")
                ),
                body: vec![Block::Heading(3, vec![Span::Text(title)]), content],
            }
        })
        .collect();
    body.push(Block::Wrap {
        tag: "div",
        class: "columns".to_owned(),
        body: columns,
    });
    if grid.held > 0 {
        body.push(Block::Empty(format!(
            "{}.",
            labels.held_notes.of(grid.held)
        )));
    }
}

fn timeline(body: &mut Vec<Block>, timeline: &TimelineView, labels: &Labels) {
    if timeline.cards.is_empty() {
        body.push(Block::Empty(labels.no_cards.to_owned()));
    }
    for card in &timeline.cards {
        let when = if is_blank(&card.when) {
            &card.sort_key
        } else {
            &card.when
        };
        let mut inner = vec![Block::Heading(
            3,
            vec![Span::Text(joined(&[when, &card.title]))],
        )];
        let who = joined(&[&card.person, &card.organisation]);
        if !who.is_empty() {
            inner.push(Block::Para {
                class: Some("who"),
                spans: vec![Span::Em(who)],
            });
        }
        if !is_blank(&card.quote) {
            inner.push(Block::Quote {
                class: None,
                text: card.quote.clone(),
            });
        }
        body.push(Block::Wrap {
            tag: "div",
            class: "card".to_owned(),
            body: inner,
        });
    }
}

fn items(body: &mut Vec<Block>, heading: &str, items: &[ItemView], labels: &Labels, actions: bool) {
    body.push(Block::Heading(3, vec![label(heading)]));
    if items.is_empty() {
        body.push(Block::Empty(labels.nothing_noted.to_owned()));
        return;
    }
    let list = items
        .iter()
        .map(|item| {
            let mut spans = vec![text(&item.text)];
            if actions {
                for (name, value) in [(labels.who, &item.who), (labels.next_step, &item.next)] {
                    if !is_blank(value) {
                        spans.extend([
                            label(format!(" — {} ", labels.field(name))),
                            Span::Text(one_line(value)),
                        ]);
                    }
                }
            }
            Item::new(spans)
        })
        .collect();
    body.push(Block::List(list));
}

fn accelerator(body: &mut Vec<Block>, a: &AcceleratorView, labels: &Labels) {
    let owner = joined(&[&a.owner, &a.owner_org]);
    if !owner.is_empty() {
        body.push(labelled(labels, labels.owner, Span::Text(owner)));
    }
    if !is_blank(&a.question) {
        body.push(labelled(
            labels,
            labels.question,
            Span::Text(one_line(&a.question)),
        ));
    }
    for (name, value) in [
        (labels.context, &a.context),
        (labels.statement, &a.statement),
    ] {
        if !is_blank(value) {
            body.push(labelled(labels, name, text(value)));
        }
    }
    items(body, labels.questions, &a.questions, labels, false);
    body.push(Block::Heading(3, vec![label(labels.reformulation)]));
    if is_blank(&a.reformulation) {
        body.push(Block::Empty(labels.nothing_noted.to_owned()));
    } else {
        body.push(para(vec![text(&a.reformulation)]));
    }
    items(body, labels.ideas, &a.ideas, labels, false);
    items(body, labels.actions, &a.actions, labels, true);
}

/// Answers headed per group, like the seed: "[Group] Question", who ran the group, the answers.
fn interview(body: &mut Vec<Block>, iv: &InterviewView, labels: &Labels) {
    let mut group_ids: Vec<(&str, &str, &str)> = Vec::new();
    for q in &iv.questions {
        for g in &q.groups {
            if !group_ids.iter().any(|(id, _, _)| *id == g.id) {
                group_ids.push((&g.id, &g.name, &g.lead));
            }
        }
    }
    let mut any = false;
    for (gid, name, lead) in group_ids {
        let mut first = true;
        for q in &iv.questions {
            let Some(g) = q
                .groups
                .iter()
                .find(|g| g.id == gid && !g.answers.is_empty())
            else {
                continue;
            };
            any = true;
            body.push(Block::Heading(
                3,
                vec![Span::Text(format!(
                    "[{}] {}",
                    one_line(name),
                    one_line(&q.text)
                ))],
            ));
            if first && !is_blank(lead) {
                body.push(Block::Para {
                    class: Some("who"),
                    spans: vec![Span::Em(format!("{} {}", labels.led_by, one_line(lead)))],
                });
            }
            first = false;
            body.push(Block::List(
                g.answers
                    .iter()
                    .map(|a| Item::new(vec![text(&a.text)]))
                    .collect(),
            ));
        }
    }
    if !any {
        body.push(Block::Empty(labels.no_answer.to_owned()));
    }
}

fn icebreaker(body: &mut Vec<Block>, ice: &IcebreakerView, labels: &Labels) {
    if !is_blank(&ice.prompt) {
        body.push(labelled(
            labels,
            labels.question,
            Span::Text(one_line(&ice.prompt)),
        ));
    }
    if !ice.notes.is_empty() {
        body.push(Block::List(
            ice.notes
                .iter()
                .map(|n| Item::new(vec![text(&n.text)]))
                .collect(),
        ));
    }
    if ice.hidden > 0 {
        body.push(Block::Empty(format!(
            "{}.",
            labels.unrevealed.of(ice.hidden)
        )));
    } else if ice.notes.is_empty() {
        body.push(Block::Empty(labels.no_papers.to_owned()));
    }
}
