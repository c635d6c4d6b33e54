//! Workshop and board templates: the "Journée bilan" day and one starting point per board kind,
//! with method descriptions written for Palabre.
//! Over 400 lines: mostly the method texts of each template (data, read once per creation).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use yrs::{MapRef, TransactionMut};

use super::fields::{new_map, new_text, root_mut, set_int, set_str};
use super::order;
use super::schema::{board_root, field, BoardKind, VERSION};
use super::BoardError;

/// A template for one board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "BoardTemplateId"))]
pub enum BoardTemplate {
    /// Grid: Créer / Maintenir / Amplifier / Réduire / Arrêter.
    FiveColumns,
    /// Grid: one column per accompanied organisation.
    NextActions,
    /// Grid: end-of-day feedback.
    Feedback,
    /// Grid: N axes of improvement (default 3).
    Axes,
    /// Timeline of highlights.
    Timeline,
    /// Project accelerator.
    Accelerator,
    /// Cross-interviews with the seven questions.
    Interview,
    /// Anonymous icebreaker.
    Icebreaker,
    /// Grid with a single column.
    EmptyGrid,
    /// Empty timeline.
    EmptyTimeline,
    /// Empty accelerator.
    EmptyAccelerator,
    /// Interview without questions.
    EmptyInterview,
    /// Icebreaker without prompt.
    EmptyIcebreaker,
}

impl BoardTemplate {
    /// Every board template.
    pub const ALL: [BoardTemplate; 13] = [
        BoardTemplate::FiveColumns,
        BoardTemplate::NextActions,
        BoardTemplate::Feedback,
        BoardTemplate::Axes,
        BoardTemplate::Timeline,
        BoardTemplate::Accelerator,
        BoardTemplate::Interview,
        BoardTemplate::Icebreaker,
        BoardTemplate::EmptyGrid,
        BoardTemplate::EmptyTimeline,
        BoardTemplate::EmptyAccelerator,
        BoardTemplate::EmptyInterview,
        BoardTemplate::EmptyIcebreaker,
    ];

    /// The id used in docs and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            BoardTemplate::FiveColumns => "five-columns",
            BoardTemplate::NextActions => "next-actions",
            BoardTemplate::Feedback => "feedback",
            BoardTemplate::Axes => "axes",
            BoardTemplate::Timeline => "timeline",
            BoardTemplate::Accelerator => "accelerator",
            BoardTemplate::Interview => "interview",
            BoardTemplate::Icebreaker => "icebreaker",
            BoardTemplate::EmptyGrid => "empty-grid",
            BoardTemplate::EmptyTimeline => "empty-timeline",
            BoardTemplate::EmptyAccelerator => "empty-accelerator",
            BoardTemplate::EmptyInterview => "empty-interview",
            BoardTemplate::EmptyIcebreaker => "empty-icebreaker",
        }
    }

    /// The kind of board this template makes.
    pub fn kind(self) -> BoardKind {
        match self {
            BoardTemplate::FiveColumns
            | BoardTemplate::NextActions
            | BoardTemplate::Feedback
            | BoardTemplate::Axes
            | BoardTemplate::EmptyGrid => BoardKind::Grid,
            BoardTemplate::Timeline | BoardTemplate::EmptyTimeline => BoardKind::Timeline,
            BoardTemplate::Accelerator | BoardTemplate::EmptyAccelerator => BoardKind::Accelerator,
            BoardTemplate::Interview | BoardTemplate::EmptyInterview => BoardKind::Interview,
            BoardTemplate::Icebreaker | BoardTemplate::EmptyIcebreaker => BoardKind::Icebreaker,
        }
    }

    /// The empty template of a kind.
    pub fn empty(kind: BoardKind) -> Self {
        match kind {
            BoardKind::Grid => BoardTemplate::EmptyGrid,
            BoardKind::Timeline => BoardTemplate::EmptyTimeline,
            BoardKind::Accelerator => BoardTemplate::EmptyAccelerator,
            BoardKind::Interview => BoardTemplate::EmptyInterview,
            BoardKind::Icebreaker => BoardTemplate::EmptyIcebreaker,
        }
    }

    /// Title given to a board made from this template when none is given.
    pub fn default_title(self) -> &'static str {
        match self {
            BoardTemplate::FiveColumns => "Bilan collectif et évolutions pour la suite",
            BoardTemplate::NextActions => "Prochaines actions à prioriser",
            BoardTemplate::Feedback => "Bilan de la journée",
            BoardTemplate::Axes => "Réflexion collective sur des axes d'amélioration",
            BoardTemplate::Timeline => "Frise chronologique des temps forts",
            BoardTemplate::Accelerator => "Accélérateur de projet",
            BoardTemplate::Interview => "Entretiens croisés",
            BoardTemplate::Icebreaker => "Brise-glace",
            BoardTemplate::EmptyGrid => "Tableau",
            BoardTemplate::EmptyTimeline => "Frise",
            BoardTemplate::EmptyAccelerator => "Accélérateur",
            BoardTemplate::EmptyInterview => "Entretiens",
            BoardTemplate::EmptyIcebreaker => "Brise-glace",
        }
    }

    /// How the activity works, in French.
    pub fn method(self) -> &'static str {
        match self {
            BoardTemplate::FiveColumns => {
                "Pour préparer la suite, chacun écrit ses idées sur des post-it et les range dans \
                 cinq colonnes : ce qu'il faudrait créer, maintenir, amplifier, réduire ou arrêter.\n\
                 Les idées proches sont regroupées, puis chacun place ses votes sur les points qui \
                 lui semblent prioritaires. La mise en commun commence par les plus votés."
            }
            BoardTemplate::NextActions => {
                "Chaque structure note dans sa colonne les prochaines actions concrètes qu'elle \
                 veut mener dans les semaines qui viennent, avec un exemple d'application. \
                 Chaque colonne est ensuite présentée au groupe, qui peut proposer son aide."
            }
            BoardTemplate::Feedback => {
                "Avant de se quitter, chacun laisse quelques mots sur la journée : ce qu'il a \
                 apprécié, ce qu'il changerait, un mot pour finir."
            }
            BoardTemplate::Axes => {
                "Le groupe retient quelques axes d'amélioration. Chacun rejoint l'axe qui lui \
                 parle ; chaque sous-groupe note ses constats et ses propositions, puis les \
                 présente aux autres, qui complètent."
            }
            BoardTemplate::Timeline => {
                "Chacun choisit un ou deux moments qui ont compté pour lui depuis le début de \
                 l'accompagnement et les place sur la frise : quand, un titre, et une phrase qui \
                 dit pourquoi. La frise est ensuite lue dans l'ordre, chacun présentant ses cartes."
            }
            BoardTemplate::Accelerator => {
                "Une personne expose une difficulté rencontrée dans son projet. Le groupe pose \
                 d'abord des questions pour bien comprendre, sans donner d'avis, puis reformule \
                 le problème avec elle.\n\
                 Vient un temps d'idées et de partage d'expériences, pendant lequel la personne \
                 écoute sans répondre. Elle conclut en choisissant les pistes qu'elle retient : \
                 qui fait quoi, et quelle est la prochaine étape."
            }
            BoardTemplate::Interview => {
                "Par deux, on s'interroge à tour de rôle à partir de la même liste de questions, \
                 en notant les réponses de l'autre. Chaque groupe met ensuite en commun, question \
                 par question, ce qui revient le plus souvent."
            }
            BoardTemplate::Icebreaker => {
                "Chacun écrit, sans le signer, une petite confidence sur son expérience du projet : \
                 un souvenir, une surprise, un regret. L'animation dévoile les papiers un par un ; \
                 le groupe réagit librement, sans chercher à deviner qui a écrit quoi."
            }
            BoardTemplate::EmptyGrid
            | BoardTemplate::EmptyTimeline
            | BoardTemplate::EmptyAccelerator
            | BoardTemplate::EmptyInterview
            | BoardTemplate::EmptyIcebreaker => "",
        }
    }
}

impl fmt::Display for BoardTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for BoardTemplate {
    type Err = BoardError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BoardTemplate::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| BoardError::UnknownTemplate(s.chars().take(80).collect()))
    }
}

/// A template for a whole workshop (serialised as its id string).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum WorkshopTemplate {
    /// The seed day: icebreaker, timeline, five columns, next actions, two accelerators,
    /// cross-interviews, three axes, feedback.
    JourneeBilan,
    /// No board.
    Empty,
    /// A workshop holding a single board made from this template.
    Single(BoardTemplate),
}

impl WorkshopTemplate {
    /// The whole-day templates (any board template id also names a one-board workshop).
    pub const DAYS: [WorkshopTemplate; 2] =
        [WorkshopTemplate::JourneeBilan, WorkshopTemplate::Empty];

    /// The id used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkshopTemplate::JourneeBilan => "journee-bilan",
            WorkshopTemplate::Empty => "empty",
            WorkshopTemplate::Single(t) => t.as_str(),
        }
    }

    /// The boards of the template, in agenda order.
    pub fn boards(self) -> Vec<BoardSpec> {
        match self {
            WorkshopTemplate::Empty => Vec::new(),
            WorkshopTemplate::Single(t) => vec![BoardSpec::from_template(t)],
            WorkshopTemplate::JourneeBilan => journee_bilan(),
        }
    }

    /// Objectives proposed by the template.
    pub fn objectives(self) -> Vec<String> {
        match self {
            WorkshopTemplate::JourneeBilan => [
                "Partager un bilan collectif de l'accompagnement",
                "Préparer la suite pour que ses bénéfices durent",
                "Ouvrir l'expérience à des structures extérieures, pour prendre du recul et essaimer",
            ]
            .map(String::from)
            .to_vec(),
            WorkshopTemplate::Empty | WorkshopTemplate::Single(_) => Vec::new(),
        }
    }
}

impl fmt::Display for WorkshopTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for WorkshopTemplate {
    type Err = BoardError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "journee-bilan" => Ok(WorkshopTemplate::JourneeBilan),
            "empty" => Ok(WorkshopTemplate::Empty),
            other => other.parse().map(WorkshopTemplate::Single),
        }
    }
}

impl TryFrom<String> for WorkshopTemplate {
    type Error = BoardError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<WorkshopTemplate> for String {
    fn from(t: WorkshopTemplate) -> Self {
        t.as_str().to_owned()
    }
}

/// What a new board should be: the body of "add a board" requests.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(optional_fields))]
pub struct BoardSpec {
    /// Kind; when absent, the template's kind (and a grid when both are absent).
    #[serde(default)]
    pub kind: Option<BoardKind>,
    /// Title; when absent or blank, the template's default title.
    #[serde(default)]
    pub title: Option<String>,
    /// Template; when absent, the empty template of the kind.
    #[serde(default)]
    pub template: Option<BoardTemplate>,
    /// Method text; when absent, the template's.
    #[serde(default)]
    pub method: Option<String>,
    /// `axes` template: number of axes (1–12, default 3).
    #[serde(default)]
    pub axes: Option<u8>,
    /// `next-actions` template: column titles; when absent, the accompanied organisations.
    #[serde(default)]
    pub organisations: Option<Vec<String>>,
    /// `interview` template: names of the answer groups (default "Groupe 1", "Groupe 2").
    #[serde(default)]
    pub groups: Option<Vec<String>>,
}

impl BoardSpec {
    /// A spec that only names a template.
    pub fn from_template(template: BoardTemplate) -> Self {
        BoardSpec {
            template: Some(template),
            ..BoardSpec::default()
        }
    }

    fn titled(template: BoardTemplate, title: &str) -> Self {
        BoardSpec {
            title: Some(title.to_owned()),
            ..BoardSpec::from_template(template)
        }
    }

    /// The template and kind this spec resolves to, checking they agree.
    pub fn resolve(&self) -> Result<(BoardTemplate, BoardKind), BoardError> {
        match (self.template, self.kind) {
            (Some(t), Some(k)) if t.kind() != k => Err(BoardError::TemplateKind {
                template: t.as_str().to_owned(),
                template_kind: t.kind(),
                kind: k,
            }),
            (Some(t), _) => Ok((t, t.kind())),
            (None, Some(k)) => Ok((BoardTemplate::empty(k), k)),
            (None, None) => Ok((BoardTemplate::EmptyGrid, BoardKind::Grid)),
        }
    }
}

fn journee_bilan() -> Vec<BoardSpec> {
    let accelerator = |n: u8| {
        BoardSpec::titled(
            BoardTemplate::Accelerator,
            &format!("Accélérateur de projet {n}"),
        )
    };
    vec![
        BoardSpec::titled(
            BoardTemplate::Icebreaker,
            "Brise-glace « Confidences et petits papiers »",
        ),
        BoardSpec::titled(
            BoardTemplate::Timeline,
            "Frise chronologique des temps forts",
        ),
        BoardSpec::titled(
            BoardTemplate::FiveColumns,
            "Bilan collectif et évolutions pour la suite",
        ),
        BoardSpec::titled(BoardTemplate::NextActions, "Prochaines actions à prioriser"),
        accelerator(1),
        accelerator(2),
        BoardSpec {
            groups: Some(vec![
                "Structures extérieures".to_owned(),
                "Structures accompagnées".to_owned(),
            ]),
            ..BoardSpec::titled(BoardTemplate::Interview, "Entretiens croisés")
        },
        BoardSpec {
            axes: Some(3),
            ..BoardSpec::titled(
                BoardTemplate::Axes,
                "Réflexion collective sur trois axes d'amélioration",
            )
        },
        BoardSpec::titled(BoardTemplate::Feedback, "Bilan de la journée"),
    ]
}

/// The seven interview questions: (fixed id, text).
pub const INTERVIEW_QUESTIONS: [(&str, &str); 7] = [
    (
        "why",
        "Pourquoi je souhaiterais reproduire cette démarche ?",
    ),
    ("needs", "De quoi aurais-je besoin pour la reproduire ?"),
    (
        "fears",
        "Qu'est-ce qui me fait peur, ou pourrait m'en empêcher ?",
    ),
    ("keep", "Ce que je retiens"),
    ("question", "Ce qui me questionne"),
    ("suggest", "Ce que je suggère"),
    ("next", "Mon prochain petit pas"),
];

/// Prompt of the icebreaker template.
pub const ICEBREAKER_PROMPT: &str =
    "Une confidence sur votre expérience du projet : un souvenir, une surprise, un regret…";

/// Writes the meta map and the template's content into a fresh board doc.
pub(crate) fn init_board(
    txn: &mut TransactionMut,
    wid: &str,
    bid: &str,
    template: BoardTemplate,
    spec: &BoardSpec,
    accompanied_orgs: &[String],
) -> Result<(), BoardError> {
    let meta = root_mut(txn, board_root::META);
    set_int(txn, &meta, field::VERSION, VERSION);
    set_str(txn, &meta, field::KIND, template.kind().as_str());
    set_str(txn, &meta, field::WORKSHOP, wid);
    set_str(txn, &meta, field::ID, bid);
    match template.kind() {
        BoardKind::Grid => {
            let columns = grid_columns(template, spec, accompanied_orgs)?;
            let root = root_mut(txn, board_root::COLUMNS);
            root_mut(txn, board_root::NOTES);
            root_mut(txn, board_root::GROUPS);
            write_ordered(txn, &root, &columns, |txn, m, (title, colour)| {
                set_str(txn, m, field::TITLE, title);
                set_str(txn, m, field::COLOUR, colour);
            });
        }
        BoardKind::Timeline => {
            root_mut(txn, board_root::CARDS);
        }
        BoardKind::Accelerator => {
            for key in [field::OWNER, field::OWNER_ORG, field::QUESTION] {
                set_str(txn, &meta, key, "");
            }
            for key in [field::CONTEXT, field::STATEMENT, field::REFORMULATION] {
                new_text(txn, &meta, key, "");
            }
            root_mut(txn, board_root::ITEMS);
        }
        BoardKind::Interview => {
            let questions = root_mut(txn, board_root::QUESTIONS);
            let groups = root_mut(txn, board_root::GROUPS);
            root_mut(txn, board_root::ANSWERS);
            if template == BoardTemplate::Interview {
                let qs: Vec<(String, &str)> = INTERVIEW_QUESTIONS
                    .iter()
                    .map(|(id, text)| ((*id).to_owned(), *text))
                    .collect();
                write_ordered(txn, &questions, &qs, |txn, m, text| {
                    set_str(txn, m, field::TEXT, text);
                });
                let names = spec
                    .groups
                    .clone()
                    .unwrap_or_else(|| vec!["Groupe 1".to_owned(), "Groupe 2".to_owned()]);
                check_titles("groups", &names)?;
                let gs: Vec<(String, &str)> = names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (format!("g{}", i + 1), n.as_str()))
                    .collect();
                write_ordered(txn, &groups, &gs, |txn, m, name| {
                    set_str(txn, m, field::NAME, name);
                });
            }
        }
        BoardKind::Icebreaker => {
            let prompt = if template == BoardTemplate::Icebreaker {
                ICEBREAKER_PROMPT
            } else {
                ""
            };
            set_str(txn, &meta, field::PROMPT, prompt);
            root_mut(txn, board_root::NOTES);
        }
    }
    Ok(())
}

/// Longest column, group or board title accepted.
pub const MAX_TITLE: usize = 200;

fn check_titles(field: &'static str, titles: &[String]) -> Result<(), BoardError> {
    if titles.len() > 24 {
        return Err(BoardError::InvalidField {
            field,
            reason: "at most 24",
        });
    }
    titles
        .iter()
        .try_for_each(|t| super::fields::check_label(field, t, MAX_TITLE))
}

type Column = (String, (String, &'static str));

fn grid_columns(
    template: BoardTemplate,
    spec: &BoardSpec,
    accompanied_orgs: &[String],
) -> Result<Vec<Column>, BoardError> {
    let fixed = |cols: &[(&str, &str, &'static str)]| -> Vec<Column> {
        cols.iter()
            .map(|(id, title, colour)| ((*id).to_owned(), ((*title).to_owned(), *colour)))
            .collect()
    };
    let numbered = |titles: Vec<String>, prefix: &str, colour: &'static str| -> Vec<Column> {
        titles
            .into_iter()
            .enumerate()
            .map(|(i, t)| (format!("{prefix}{}", i + 1), (t, colour)))
            .collect()
    };
    Ok(match template {
        BoardTemplate::FiveColumns => fixed(&[
            ("creer", "Créer", "green"),
            ("maintenir", "Maintenir", "blue"),
            ("amplifier", "Amplifier", "yellow"),
            ("reduire", "Réduire", "orange"),
            ("arreter", "Arrêter", "pink"),
        ]),
        BoardTemplate::Feedback => fixed(&[
            ("apprecie", "Ce que j'ai apprécié", "green"),
            ("changerais", "Ce que je changerais", "orange"),
            ("mot", "Un mot pour finir", "purple"),
        ]),
        BoardTemplate::Axes => {
            let n = spec.axes.unwrap_or(3);
            if !(1..=12).contains(&n) {
                return Err(BoardError::InvalidField {
                    field: "axes",
                    reason: "between 1 and 12",
                });
            }
            let titles = (1..=n).map(|i| format!("Axe d'amélioration {i}")).collect();
            numbered(titles, "axe", "blue")
        }
        BoardTemplate::NextActions => {
            let orgs = match &spec.organisations {
                Some(orgs) => orgs.clone(),
                None => accompanied_orgs.to_vec(),
            };
            check_titles("organisations", &orgs)?;
            let orgs = if orgs.is_empty() {
                vec!["Organisation".to_owned()]
            } else {
                orgs
            };
            numbered(orgs, "org", "yellow")
        }
        _ => numbered(vec!["Colonne 1".to_owned()], "col", "grey"),
    })
}

/// Writes `items` (id, value) as maps of `root`, with increasing order keys.
fn write_ordered<V>(
    txn: &mut TransactionMut,
    root: &MapRef,
    items: &[(String, V)],
    mut fill: impl FnMut(&mut TransactionMut, &MapRef, &V),
) {
    let mut key: Option<String> = None;
    for (id, value) in items {
        let next = order::between(key.as_deref(), None).unwrap_or_else(|_| "V".to_owned());
        let m = new_map(txn, root, id);
        fill(txn, &m, value);
        set_str(txn, &m, field::ORDER, &next);
        key = Some(next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_ids_round_trip() {
        for t in BoardTemplate::ALL {
            assert_eq!(t.as_str().parse::<BoardTemplate>().ok(), Some(t));
            let w: WorkshopTemplate = t.as_str().parse().expect("board template as workshop");
            assert_eq!(w, WorkshopTemplate::Single(t));
            assert_eq!(BoardTemplate::empty(t.kind()).kind(), t.kind());
        }
        let w: WorkshopTemplate =
            serde_json::from_str("\"journee-bilan\"").expect("journee-bilan parses");
        assert_eq!(w, WorkshopTemplate::JourneeBilan);
        assert!(serde_json::from_str::<WorkshopTemplate>("\"nope\"").is_err());
        assert_eq!(
            serde_json::to_string(&BoardTemplate::FiveColumns)
                .ok()
                .as_deref(),
            Some("\"five-columns\"")
        );
    }

    #[test]
    fn spec_kind_must_match_template() {
        let spec = BoardSpec {
            kind: Some(BoardKind::Timeline),
            ..BoardSpec::from_template(BoardTemplate::Axes)
        };
        assert!(matches!(
            spec.resolve(),
            Err(BoardError::TemplateKind { .. })
        ));
        let spec = BoardSpec {
            kind: Some(BoardKind::Interview),
            ..BoardSpec::default()
        };
        assert_eq!(
            spec.resolve().ok(),
            Some((BoardTemplate::EmptyInterview, BoardKind::Interview))
        );
    }

    #[test]
    fn journee_bilan_has_the_seed_agenda() {
        let kinds: Vec<BoardKind> = WorkshopTemplate::JourneeBilan
            .boards()
            .iter()
            .filter_map(|s| s.resolve().ok())
            .map(|(_, k)| k)
            .collect();
        use BoardKind::*;
        assert_eq!(
            kinds,
            [
                Icebreaker,
                Timeline,
                Grid,
                Grid,
                Accelerator,
                Accelerator,
                Interview,
                Grid,
                Grid
            ]
        );
    }
}
