//! The walk over each kind of board's content: a grid's columns and nested notes, a timeline's
//! cards, an accelerator's items by stage, an interview's answers, an icebreaker's notes.

use super::super::blocks::{label, para, text, Block, Item, Span};
use super::super::labels::Labels;
use super::super::text::{is_blank, one_line};
use super::{joined, labelled};
use crate::board::view::{
    AcceleratorView, GridView, IcebreakerView, InterviewView, ItemView, NoteView, TimelineView,
};

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

pub(super) fn grid(body: &mut Vec<Block>, grid: &GridView, labels: &Labels) {
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

pub(super) fn timeline(body: &mut Vec<Block>, timeline: &TimelineView, labels: &Labels) {
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

pub(super) fn accelerator(body: &mut Vec<Block>, a: &AcceleratorView, labels: &Labels) {
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
pub(super) fn interview(body: &mut Vec<Block>, iv: &InterviewView, labels: &Labels) {
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

pub(super) fn icebreaker(body: &mut Vec<Block>, ice: &IcebreakerView, labels: &Labels) {
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
