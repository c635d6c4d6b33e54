//! The views of the other board kinds: a timeline's cards, an accelerator's items by stage, an
//! interview's questions and answers, an icebreaker's notes.

use serde::Serialize;
use yrs::ReadTxn;

use super::{in_order, ControlView};
use crate::board::fields::{author_of, entries, int_of, root, str_of};
use crate::board::schema::{board_root, field, Author, Stage};

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

/// Reads a workshop doc and the board docs given as (doc id, doc). Each doc is read in one
pub(super) fn read_timeline<T: ReadTxn>(txn: &T) -> TimelineView {
    let Some(cards) = root(txn, board_root::CARDS) else {
        return TimelineView::default();
    };
    let mut cards: Vec<CardView> = entries(txn, &cards)
        .into_iter()
        .map(|(id, m)| CardView {
            when: str_of(txn, &m, field::WHEN),
            // Cards written by other clients or older boards may carry no key.
            sort_key: crate::board::dates::card_key(
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

pub(super) fn read_accelerator<T: ReadTxn>(txn: &T) -> AcceleratorView {
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

pub(super) fn read_interview<T: ReadTxn>(txn: &T) -> InterviewView {
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

pub(super) fn read_icebreaker<T: ReadTxn>(txn: &T, control: &ControlView) -> IcebreakerView {
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
