//! The one walk over a [`WorkshopView`]: it decides what a report says and in which order, as a
//! small tree of [`Block`]s. The Markdown and HTML renderers only decide how a block looks, so a
//! new section or a new kind of board is written here once for every format.

use super::labels::Labels;
use super::text::{is_blank, long_date, one_line};
use crate::board::view::{
    AcceleratorView, BoardContent, BoardView, GridView, IcebreakerView, InterviewView, ItemView,
    NoteView, TimelineView, WorkshopView,
};

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
    for (i, board) in view.boards.iter().enumerate() {
        blocks.push(board_block(i + 1, board, labels));
    }
    Report { title, blocks }
}

fn people(blocks: &mut Vec<Block>, view: &WorkshopView, labels: &Labels) {
    if view.participants.is_empty() {
        return;
    }
    blocks.push(Block::Heading(2, vec![label(labels.people)]));
    for group in crate::board::schema::ParticipantGroup::ALL {
        let people: Vec<Item> = view
            .participants
            .iter()
            .filter(|p| p.group == group)
            .map(|p| {
                let mut spans = vec![Span::Text(one_line(&p.name))];
                if !is_blank(&p.role) {
                    spans.extend([label(", "), Span::Text(one_line(&p.role))]);
                }
                if !is_blank(&p.organisation) {
                    spans.extend([label(" — "), Span::Text(one_line(&p.organisation))]);
                }
                Item::new(spans)
            })
            .collect();
        if !people.is_empty() {
            blocks.push(Block::Heading(3, vec![label(group.label_fr())]));
            blocks.push(Block::List(people));
        }
    }
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
    match &board.content {
        BoardContent::Grid(g) => grid(&mut body, g, labels),
        BoardContent::Timeline(t) => timeline(&mut body, t, labels),
        BoardContent::Accelerator(a) => accelerator(&mut body, a, labels),
        BoardContent::Interview(iv) => interview(&mut body, iv, labels),
        BoardContent::Icebreaker(ice) => icebreaker(&mut body, ice, labels),
        BoardContent::Missing => body.push(Block::Empty(labels.unavailable.to_owned())),
    }
    Block::Wrap {
        tag: "section",
        class: format!("board board-{}", board.kind.as_str()),
        body,
    }
}

fn note_item(note: &NoteView, labels: &Labels) -> Item {
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
        children: Vec::new(),
    }
}

/// Notes of a column: groups first (in group order) with their notes, then ungrouped notes.
fn column_items(grid: &GridView, notes: &[NoteView], labels: &Labels) -> Vec<Item> {
    let mut items: Vec<Item> = grid
        .groups
        .iter()
        .filter_map(|g| {
            let members: Vec<Item> = notes
                .iter()
                .filter(|n| n.group.as_deref() == Some(g.id.as_str()))
                .map(|n| note_item(n, labels))
                .collect();
            (!members.is_empty()).then(|| Item {
                spans: vec![Span::Strong(one_line(&g.title))],
                class: Some("group".to_owned()),
                children: members,
            })
        })
        .collect();
    items.extend(
        notes
            .iter()
            .filter(|n| n.group.is_none())
            .map(|n| note_item(n, labels)),
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
            let content = if column.notes.is_empty() {
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

fn interview(body: &mut Vec<Block>, iv: &InterviewView, labels: &Labels) {
    for q in &iv.questions {
        body.push(Block::Heading(3, vec![Span::Text(one_line(&q.text))]));
        let mut any = false;
        for g in q.groups.iter().filter(|g| !g.answers.is_empty()) {
            any = true;
            body.push(Block::Para {
                class: Some("group"),
                spans: vec![Span::Strong(one_line(&g.name))],
            });
            body.push(Block::List(
                g.answers
                    .iter()
                    .map(|a| Item::new(vec![text(&a.text)]))
                    .collect(),
            ));
        }
        if !any {
            body.push(Block::Empty(labels.no_answer.to_owned()));
        }
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
