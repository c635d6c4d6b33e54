//! Reports rendered from a [`WorkshopView`]: Markdown (wiki-ready, built like the seed report),
//! self-contained printable HTML, CSV (one row per note/card/item/answer) and JSON.
//!
//! Layout: [`report`] walks the view once into blocks (what the report says, in which order);
//! [`markdown`] and [`html`] only decide how each block looks; [`csv`] lays the same content out
//! as rows; JSON is the view itself. Every word that is not the users' own is in [`labels`].
//!
//! Every piece of user text is escaped for its target: Markdown punctuation is backslash-escaped
//! and line-start markers neutralised, HTML special characters become entities, CSV cells are
//! quoted and defused against formulas. Control characters are dropped everywhere.
//! Post-it authors are left out of the Markdown and HTML reports, like in the seed report; CSV and
//! JSON carry them. Icebreaker notes appear only once revealed (see the schema).

mod blocks;
mod csv;
mod html;
pub mod labels;
mod markdown;
mod report;
mod synthesis;
mod text;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use self::csv::CSV_HEADERS;
pub use labels::{Labels, FR};
pub use text::{iso_time, long_date};

use super::view::WorkshopView;

/// A format a workshop can be exported in: the one list the command line and HTTP share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Wiki-ready Markdown report.
    Md,
    /// Self-contained printable HTML.
    Html,
    /// One row per note or card.
    Csv,
    /// Everything, structured.
    Json,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 4] = [Format::Md, Format::Html, Format::Csv, Format::Json];

    /// File extension, also the name used on the command line.
    pub fn ext(self) -> &'static str {
        match self {
            Format::Md => "md",
            Format::Html => "html",
            Format::Csv => "csv",
            Format::Json => "json",
        }
    }

    /// Media type of a response carrying it.
    pub fn mime(self) -> &'static str {
        match self {
            Format::Md => "text/markdown; charset=utf-8",
            Format::Html => "text/html; charset=utf-8",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/json",
        }
    }

    /// The file name of this export: the workshop's title and date, `journee-bilan-2023-05-09.md`
    /// (ASCII letters, digits and dashes only; `atelier` when the title has none).
    pub fn file_name(self, view: &WorkshopView) -> String {
        let mut slug = String::new();
        for c in format!("{} {}", view.title, view.date).chars() {
            let c = fold_ascii(c);
            if c.is_ascii_alphanumeric() {
                slug.push(c.to_ascii_lowercase());
            } else if !slug.ends_with('-') && !slug.is_empty() {
                slug.push('-');
            }
            if slug.len() >= 80 {
                break;
            }
        }
        let slug = slug.trim_end_matches('-');
        let slug = if slug.is_empty() { "atelier" } else { slug };
        format!("{slug}.{}", self.ext())
    }

    /// Renders a view in this format, with French labels.
    pub fn render(self, view: &WorkshopView) -> String {
        self.render_with(view, &FR)
    }

    /// Renders a view in this format with the given labels.
    pub fn render_with(self, view: &WorkshopView, labels: &Labels) -> String {
        match self {
            Format::Md => markdown::render(&report::report(view, labels)),
            Format::Html => html::render(&report::report(view, labels), labels),
            Format::Csv => csv::render(view, labels),
            // The view holds only strings, integers, booleans, vecs and string-keyed maps:
            // serialising it cannot fail.
            Format::Json => serde_json::to_string_pretty(view).unwrap_or_default(),
        }
    }
}

/// A letter with its accent removed (the French ones), others unchanged.
fn fold_ascii(c: char) -> char {
    match c {
        'à' | 'â' | 'ä' | 'á' | 'À' | 'Â' => 'a',
        'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' => 'e',
        'î' | 'ï' | 'Î' => 'i',
        'ô' | 'ö' | 'Ô' => 'o',
        'û' | 'ù' | 'ü' | 'Û' => 'u',
        'ç' | 'Ç' => 'c',
        'œ' => 'o',
        c => c,
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.ext())
    }
}

/// Why a format name was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown export format `{0}` (md, html, csv or json)")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        let s = if s == "markdown" { "md" } else { s.as_str() };
        Format::ALL
            .into_iter()
            .find(|f| f.ext() == s)
            .ok_or_else(|| UnknownFormat(s.to_owned()))
    }
}

/// The day's report as wiki-ready Markdown.
pub fn markdown(view: &WorkshopView) -> String {
    Format::Md.render(view)
}

/// The day's report as a self-contained, printable HTML page.
pub fn html(view: &WorkshopView) -> String {
    Format::Html.render(view)
}

/// One row per note, card, accelerator item, interview answer and revealed icebreaker note.
pub fn csv(view: &WorkshopView) -> String {
    Format::Csv.render(view)
}

/// The whole view as pretty-printed JSON.
pub fn json(view: &WorkshopView) -> String {
    Format::Json.render(view)
}

/// "2023-05-09" → "9 mai 2023"; anything else is returned as it is.
pub fn french_date(date: &str) -> String {
    long_date(date, &FR)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::schema::BoardKind;

    #[test]
    fn dates_and_times() {
        assert_eq!(french_date("2023-05-09"), "9 mai 2023");
        assert_eq!(french_date("2023-12-01"), "1er décembre 2023");
        assert_eq!(french_date("printemps 2023"), "printemps 2023");
        assert_eq!(french_date("2023-13-01"), "2023-13-01");
        assert_eq!(iso_time(0), "");
        assert_eq!(iso_time(1_683_621_000_000), "2023-05-09T08:30:00Z");
        assert_eq!(iso_time(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(iso_time(i64::MAX), "");
    }

    #[test]
    fn formats_round_trip() {
        for f in Format::ALL {
            assert_eq!(f.ext().parse::<Format>(), Ok(f));
        }
        assert_eq!("Markdown".parse::<Format>(), Ok(Format::Md));
        assert!("pdf".parse::<Format>().is_err());
    }

    #[test]
    fn file_names_from_title_and_date() {
        let (workshop, boards) = crate::board::fixtures::seed_filled().expect("seed");
        let view = crate::board::read_workshop(&workshop, &boards);
        assert_eq!(Format::Md.file_name(&view), "journee-bilan-2023-05-09.md");
        let mut odd = view.clone();
        odd.title = "../<Été>\"; rm".into();
        odd.date = String::new();
        assert_eq!(Format::Csv.file_name(&odd), "ete-rm.csv");
        odd.title = "!!!".into();
        assert_eq!(Format::Json.file_name(&odd), "atelier.json");
    }

    #[test]
    fn kinds_have_labels() {
        for k in BoardKind::ALL {
            assert!(!FR.kind(k).is_empty());
        }
    }
}
