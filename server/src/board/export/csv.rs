//! CSV rendering of a [`WorkshopView`]: one row per note, card, accelerator item, interview answer
//! and revealed icebreaker note. Cells are RFC 4180-quoted by the `csv` crate; a cell that a
//! spreadsheet would run as a formula gets a leading `'`.

use super::labels::Labels;
use super::text::{clean, iso_time};
use crate::board::view::{BoardContent, WorkshopView};

/// Column headers of the CSV export, in order.
pub const CSV_HEADERS: [&str; 18] = [
    "board",
    "kind",
    "section",
    "group",
    "id",
    "text",
    "author",
    "organisation",
    "votes",
    "created_at",
    "when",
    "date",
    "person",
    "person_organisation",
    "quote",
    "who",
    "next_step",
    "parent",
];

/// One CSV row; every field is user text except `kind`, `id`, `votes`, `created_at`, `date`.
#[derive(Default)]
struct Row {
    board: String,
    kind: &'static str,
    section: String,
    group: String,
    id: String,
    text: String,
    author: String,
    organisation: String,
    votes: String,
    created_at: String,
    when: String,
    date: String,
    person: String,
    person_organisation: String,
    quote: String,
    who: String,
    next_step: String,
    parent: String,
}

/// Neutralises cells a spreadsheet would evaluate as a formula (OWASP "CSV injection").
fn csv_cell(s: &str) -> String {
    let s = clean(s).replace('\n', " / ");
    let s = s.trim();
    match s.chars().next() {
        Some('=' | '+' | '-' | '@') => format!("'{s}"),
        _ => s.to_owned(),
    }
}

impl Row {
    fn record(&self) -> [String; 18] {
        [
            csv_cell(&self.board),
            self.kind.to_owned(),
            csv_cell(&self.section),
            csv_cell(&self.group),
            csv_cell(&self.id),
            csv_cell(&self.text),
            csv_cell(&self.author),
            csv_cell(&self.organisation),
            self.votes.clone(),
            self.created_at.clone(),
            csv_cell(&self.when),
            csv_cell(&self.date),
            csv_cell(&self.person),
            csv_cell(&self.person_organisation),
            csv_cell(&self.quote),
            csv_cell(&self.who),
            csv_cell(&self.next_step),
            csv_cell(&self.parent),
        ]
    }
}

fn rows(view: &WorkshopView, labels: &Labels) -> Vec<Row> {
    let mut rows = Vec::new();
    for board in &view.boards {
        let base = || Row {
            board: board.title.clone(),
            kind: board.kind.as_str(),
            ..Row::default()
        };
        match &board.content {
            BoardContent::Grid(grid) => {
                for column in &grid.columns {
                    for note in &column.notes {
                        let group = note
                            .group
                            .as_ref()
                            .and_then(|g| grid.groups.iter().find(|known| &known.id == g))
                            .map(|g| g.title.clone())
                            .unwrap_or_default();
                        let section = if column.id.is_empty() && column.title.is_empty() {
                            labels.no_column.to_owned()
                        } else {
                            column.title.clone()
                        };
                        rows.push(Row {
                            section,
                            group,
                            parent: note.parent.clone().unwrap_or_default(),
                            id: note.id.clone(),
                            text: note.text.clone(),
                            author: note.author.name.clone(),
                            organisation: note.author.organisation.clone(),
                            votes: note.votes.to_string(),
                            created_at: iso_time(note.created_at),
                            ..base()
                        });
                    }
                }
            }
            BoardContent::Timeline(t) => {
                for card in &t.cards {
                    rows.push(Row {
                        id: card.id.clone(),
                        text: card.title.clone(),
                        author: card.author.name.clone(),
                        organisation: card.author.organisation.clone(),
                        created_at: iso_time(card.created_at),
                        when: card.when.clone(),
                        date: card.sort_key.clone(),
                        person: card.person.clone(),
                        person_organisation: card.organisation.clone(),
                        quote: card.quote.clone(),
                        ..base()
                    });
                }
            }
            BoardContent::Accelerator(a) => {
                let stages = [
                    (labels.questions, &a.questions),
                    (labels.ideas, &a.ideas),
                    (labels.actions, &a.actions),
                ];
                for (section, items) in stages {
                    for item in items {
                        rows.push(Row {
                            section: section.to_owned(),
                            id: item.id.clone(),
                            text: item.text.clone(),
                            author: item.author.name.clone(),
                            organisation: item.author.organisation.clone(),
                            created_at: iso_time(item.created_at),
                            person: a.owner.clone(),
                            person_organisation: a.owner_org.clone(),
                            who: item.who.clone(),
                            next_step: item.next.clone(),
                            ..base()
                        });
                    }
                }
            }
            BoardContent::Interview(iv) => {
                for q in &iv.questions {
                    for g in &q.groups {
                        for answer in &g.answers {
                            rows.push(Row {
                                section: q.text.clone(),
                                group: g.name.clone(),
                                who: g.lead.clone(),
                                id: answer.id.clone(),
                                text: answer.text.clone(),
                                author: answer.author.name.clone(),
                                organisation: answer.author.organisation.clone(),
                                created_at: iso_time(answer.created_at),
                                ..base()
                            });
                        }
                    }
                }
            }
            BoardContent::Icebreaker(ice) => {
                for note in &ice.notes {
                    rows.push(Row {
                        section: ice.prompt.clone(),
                        id: note.id.clone(),
                        text: note.text.clone(),
                        created_at: iso_time(note.created_at),
                        ..base()
                    });
                }
            }
            BoardContent::Missing => {}
        }
        // What was said beside what was posted: one row each, the Markdown source as text.
        for (section, text) in [
            (labels.synthesis, &board.synthesis),
            (labels.remarks, &board.remarks),
        ] {
            if !text.trim().is_empty() {
                rows.push(Row {
                    section: section.to_owned(),
                    text: text.clone(),
                    ..base()
                });
            }
        }
    }
    rows
}

/// One row per note, card, accelerator item, interview answer and revealed icebreaker note.
pub(crate) fn render(view: &WorkshopView, labels: &Labels) -> String {
    let mut writer = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(Vec::new());
    // Writing to a Vec cannot fail on IO; a failure would only truncate the export.
    let _ = writer.write_record(CSV_HEADERS);
    for row in rows(view, labels) {
        let _ = writer.write_record(row.record());
    }
    let bytes = writer.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_defused() {
        assert_eq!(csv_cell("=1+1"), "'=1+1");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("a\nb"), "a / b");
        assert_eq!(csv_cell("plain"), "plain");
    }
}
