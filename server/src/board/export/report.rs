//! The one walk over a [`WorkshopView`]: it decides what a report says and in which order, as a
//! small tree of [`Block`]s. The Markdown and HTML renderers only decide how a block looks, so a
//! new section or a new kind of board is written here once for every format. This file walks
//! the day and each board's frame; `report/boards.rs` walks each kind's content.

use super::blocks::{label, para, text, Block, Item, Span};
use super::labels::Labels;
use super::synthesis;
use super::text::{is_blank, long_date, one_line};
use crate::board::view::{BoardContent, BoardView, ParticipantView, WorkshopView};
use crate::board::workshop::EmptyBoards;

mod boards;

use boards::{accelerator, grid, icebreaker, interview, timeline};

/// A whole report: its title and its blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Report {
    pub title: String,
    pub blocks: Vec<Block>,
}

/// "**Label :** value" as a paragraph.
pub(super) fn labelled(labels: &Labels, name: &str, value: Span) -> Block {
    para(vec![Span::Strong(labels.field(name)), label(" "), value])
}

/// Non-blank parts joined with " — ", each on one line.
pub(super) fn joined(parts: &[&str]) -> String {
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
