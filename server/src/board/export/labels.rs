//! Every word the reports print that is not the users' own, in one place per language.
//! French is the only language today; an English report is one more `Labels` value.

use crate::board::schema::BoardKind;

/// A count and its noun: "1 vote", "3 votes".
#[derive(Debug, Clone, Copy)]
pub struct Plural {
    /// Noun after 1.
    pub one: &'static str,
    /// Noun after any other count.
    pub many: &'static str,
}

impl Plural {
    /// `n` followed by the right noun.
    pub fn of(self, n: u32) -> String {
        format!("{n} {}", if n == 1 { self.one } else { self.many })
    }
}

/// The words of a report.
#[derive(Debug, Clone, Copy)]
pub struct Labels {
    /// `lang` attribute of the HTML report.
    pub lang: &'static str,
    /// Title used when the workshop has none.
    pub untitled: &'static str,
    /// Field label of the workshop date.
    pub date: &'static str,
    /// Field label of the place.
    pub place: &'static str,
    /// Field label of the external notes link.
    pub notes_link: &'static str,
    /// Heading of the objectives.
    pub objectives: &'static str,
    /// Heading of the people present.
    pub people: &'static str,
    /// Summary of the collapsible list of people in the HTML report.
    pub people_summary: &'static str,
    /// Heading of people without a group.
    pub no_group: &'static str,
    /// Names of board kinds, in `BoardKind::ALL` order.
    pub kinds: [&'static str; 5],
    /// Heading of the method.
    pub method: &'static str,
    /// Heading of the synthesis.
    pub synthesis: &'static str,
    /// Heading of side remarks.
    pub remarks: &'static str,
    /// A board whose doc could not be read.
    pub unavailable: &'static str,
    /// A board with nothing on it.
    pub empty_board: &'static str,
    /// Column title of notes whose column is gone.
    pub no_column: &'static str,
    /// A column without notes.
    pub no_notes: &'static str,
    /// A timeline without cards.
    pub no_cards: &'static str,
    /// A stage or field left empty.
    pub nothing_noted: &'static str,
    /// A question nobody answered.
    pub no_answer: &'static str,
    /// An icebreaker without notes.
    pub no_papers: &'static str,
    /// Icebreaker notes not revealed.
    pub unrevealed: Plural,
    /// Grid notes still held back by their writers.
    pub held_notes: Plural,
    /// Dot votes of a note.
    pub votes: Plural,
    /// Who brings an accelerator's problem.
    pub owner: &'static str,
    /// An accelerator's short question, an icebreaker's prompt.
    pub question: &'static str,
    /// Accelerator context.
    pub context: &'static str,
    /// Accelerator problem statement.
    pub statement: &'static str,
    /// Accelerator stage 1.
    pub questions: &'static str,
    /// Accelerator stage 2.
    pub reformulation: &'static str,
    /// Accelerator stage 3.
    pub ideas: &'static str,
    /// Accelerator stage 4.
    pub actions: &'static str,
    /// Who does an action.
    pub who: &'static str,
    /// Next step of an action.
    pub next_step: &'static str,
    /// Who ran an interview group.
    pub led_by: &'static str,
    /// Separator between a label and its value ("Date :" in French typography).
    pub colon: &'static str,
    /// Month names, January first.
    pub months: [&'static str; 12],
    /// A long date from its day, month name and year.
    pub long_date: fn(u32, &str, &str) -> String,
}

impl Labels {
    /// Name of a kind of board.
    pub fn kind(&self, kind: BoardKind) -> &'static str {
        let i = BoardKind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
        self.kinds[i]
    }

    /// "Label :" as the language writes it.
    pub fn field(&self, label: &str) -> String {
        format!("{label}{}", self.colon)
    }
}

fn long_date_fr(day: u32, month: &str, year: &str) -> String {
    if day == 1 {
        format!("1er {month} {year}")
    } else {
        format!("{day} {month} {year}")
    }
}

/// French, the language of the seed report.
pub const FR: Labels = Labels {
    lang: "fr",
    untitled: "Atelier",
    date: "Date",
    place: "Lieu",
    notes_link: "Notes",
    objectives: "Objectifs de la journée",
    people: "Participants",
    people_summary: "Voir qui était présent·e",
    no_group: "Autres personnes",
    kinds: [
        "Tableau de post-it",
        "Frise chronologique",
        "Accélérateur de projet",
        "Entretiens croisés",
        "Brise-glace",
    ],
    method: "Méthode",
    synthesis: "Synthèse",
    remarks: "Parenthèses",
    unavailable: "Contenu indisponible.",
    empty_board: "Rien de noté pendant cette activité.",
    no_column: "Sans colonne",
    no_notes: "Aucune note.",
    no_cards: "Aucun temps fort.",
    nothing_noted: "Rien de noté.",
    no_answer: "Pas de réponse.",
    no_papers: "Aucun papier.",
    unrevealed: Plural {
        one: "papier non révélé",
        many: "papiers non révélés",
    },
    held_notes: Plural {
        one: "note non dévoilée",
        many: "notes non dévoilées",
    },
    votes: Plural {
        one: "vote",
        many: "votes",
    },
    owner: "Porteur ou porteuse",
    question: "Question",
    context: "Contexte",
    statement: "Problématique",
    questions: "Questions de clarification",
    reformulation: "Reformulation",
    ideas: "Idées du groupe",
    actions: "Plan d'action",
    who: "qui",
    next_step: "prochaine étape",
    led_by: "Groupe animé par",
    colon: " :",
    months: [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ],
    long_date: long_date_fr,
};
