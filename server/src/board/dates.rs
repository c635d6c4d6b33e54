//! French date labels as people write them on a timeline ("mai 2021", "fin 2021", "rentrée
//! 2022", "12/10/2022", "2021–2022") turned into a key that sorts as they mean it: `yyyy-mm-dd`,
//! a period at its start. A label with no recognisable year gives `""` (kept in entry order after
//! the dated cards). The TypeScript twin is `web/src/lib/dates.ts`; both are tested on
//! `tests/fixtures/french-dates.json`.

/// Months by their French (and English) names and abbreviations, accents removed.
const MONTHS: [(&str, u32); 38] = [
    ("janvier", 1),
    ("janv", 1),
    ("jan", 1),
    ("january", 1),
    ("fevrier", 2),
    ("fevr", 2),
    ("fev", 2),
    ("february", 2),
    ("mars", 3),
    ("march", 3),
    ("avril", 4),
    ("avr", 4),
    ("april", 4),
    ("mai", 5),
    ("may", 5),
    ("juin", 6),
    ("june", 6),
    ("juillet", 7),
    ("juil", 7),
    ("july", 7),
    ("aout", 8),
    ("august", 8),
    ("septembre", 9),
    ("sept", 9),
    ("sep", 9),
    ("september", 9),
    ("octobre", 10),
    ("oct", 10),
    ("october", 10),
    ("novembre", 11),
    ("nov", 11),
    ("november", 11),
    ("decembre", 12),
    ("dec", 12),
    ("december", 12),
    ("feb", 2),
    ("apr", 4),
    ("aug", 8),
];

/// Periods of a year by their start (month, day).
const PERIODS: [(&str, (u32, u32)); 13] = [
    ("printemps", (3, 20)),
    ("ete", (6, 21)),
    ("automne", (9, 22)),
    ("hiver", (12, 21)),
    ("rentree", (9, 1)),
    ("debut", (1, 1)),
    ("mi", (7, 1)),
    ("milieu", (7, 1)),
    ("fin", (11, 1)),
    ("t1", (1, 1)),
    ("t2", (4, 1)),
    ("t3", (7, 1)),
    ("t4", (10, 1)),
];

/// Qualifiers of a month: the day they stand for.
const IN_MONTH: [(&str, u32); 4] = [("debut", 1), ("mi", 15), ("milieu", 15), ("fin", 25)];

/// What one side of a label says.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Partial {
    year: Option<u32>,
    month: Option<u32>,
    day: Option<u32>,
    /// Start of a period (season, "rentrée", "fin", a quarter), when no month is named.
    period: Option<(u32, u32)>,
}

impl Partial {
    fn is_empty(&self) -> bool {
        *self == Partial::default()
    }

    fn key(&self) -> String {
        let Some(y) = self.year else {
            return String::new();
        };
        let (m, d) = match (self.month, self.period) {
            (Some(m), _) => (m, self.day.unwrap_or(1)),
            (None, Some(p)) => p,
            (None, None) => (1, 1),
        };
        format!("{y:04}-{m:02}-{d:02}")
    }
}

/// Lower case, accents and typographic variants folded, so "Été", "ete" and "été" read alike.
fn fold(label: &str) -> String {
    label
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'â' | 'ä' | 'á' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' | 'í' => 'i',
            'ô' | 'ö' | 'ó' => 'o',
            'û' | 'ù' | 'ü' | 'ú' => 'u',
            'ç' => 'c',
            '–' | '—' | '→' => '~',
            '\u{2019}' => '\'',
            c => c,
        })
        .collect()
}

fn year_of(n: u32, digits: usize) -> Option<u32> {
    match digits {
        4 if (1900..=2099).contains(&n) => Some(n),
        2 => Some(2000 + n),
        _ => None,
    }
}

fn number(s: &str) -> Option<(u32, usize)> {
    (!s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok().map(|n| (n, s.len())))
        .flatten()
}

/// "12/10/2022", "12.10.22", "2022-10-12", "2022-10", "10/2022" as (year, month, day).
fn numeric(word: &str) -> Option<(u32, u32, Option<u32>)> {
    let parts: Vec<&str> = word.split(['/', '.', '-']).collect();
    let nums: Vec<(u32, usize)> = parts.iter().map(|p| number(p)).collect::<Option<_>>()?;
    let month_ok = |m: u32| (1..=12).contains(&m);
    let day_ok = |d: u32| (1..=31).contains(&d);
    match nums.as_slice() {
        [(y, 4), (m, 2), (d, 2)] if word.contains('-') => {
            (month_ok(*m) && day_ok(*d)).then_some((year_of(*y, 4)?, *m, Some(*d)))
        }
        [(y, 4), (m, 2)] if word.contains('-') => {
            month_ok(*m).then_some((year_of(*y, 4)?, *m, None))
        }
        [(d, 1..=2), (m, 1..=2), (y, yd @ (2 | 4))] => {
            (month_ok(*m) && day_ok(*d)).then_some((year_of(*y, *yd)?, *m, Some(*d)))
        }
        [(m, 1..=2), (y, 4)] => month_ok(*m).then_some((year_of(*y, 4)?, *m, None)),
        _ => None,
    }
}

fn lookup<T: Copy>(table: &[(&str, T)], word: &str) -> Option<T> {
    table.iter().find(|(w, _)| *w == word).map(|(_, v)| *v)
}

/// Reads one side of a label (no range separator in it).
fn partial(side: &str) -> Partial {
    let mut p = Partial::default();
    let mut qualifier: Option<&str> = None;
    let mut pending_day: Option<u32> = None;
    for raw in side.split_whitespace() {
        let word = raw.trim_matches(|c: char| matches!(c, ',' | ';' | ':' | '(' | ')' | '.'));
        if let Some((y, m, d)) = numeric(word) {
            p.year = Some(y);
            p.month = Some(m);
            p.day = d;
            continue;
        }
        for piece in word.split(|c: char| !c.is_alphanumeric()) {
            if piece.is_empty() {
                continue;
            }
            if let Some((n, digits)) = number(piece) {
                if let Some(y) = year_of(n, digits).filter(|_| digits == 4) {
                    p.year = Some(y);
                } else if (1..=31).contains(&n) {
                    pending_day = Some(n);
                }
            } else if matches!(piece, "1er" | "1ere" | "premier") {
                pending_day = Some(1);
            } else if let Some(m) = lookup(&MONTHS, piece) {
                p.month = Some(m);
                p.day = pending_day
                    .take()
                    .or_else(|| qualifier.and_then(|q| lookup(&IN_MONTH, q)));
            } else if let Some(start) = lookup(&PERIODS, piece) {
                // A qualifier ("fin") only counts when no season follows it ("fin de l'été").
                if matches!(piece, "debut" | "mi" | "milieu" | "fin") {
                    qualifier = Some(piece);
                    if p.period.is_none() {
                        p.period = Some(start);
                    }
                } else {
                    p.period = Some(start);
                }
            } else if piece == "semestre" {
                p.period = Some(if pending_day == Some(2) {
                    (7, 1)
                } else {
                    (1, 1)
                });
            } else if matches!(piece, "second" | "seconde" | "2e" | "2eme" | "deuxieme") {
                pending_day = Some(2);
            }
        }
    }
    if p.month.is_none() && p.period.is_none() && pending_day.is_some() {
        p.day = pending_day;
    }
    p
}

/// Splits a range ("2021–2022", "mai à juin 2022", "du 12 au 14 octobre 2022") at its start.
fn split_range(folded: &str) -> (String, Option<String>) {
    let mut s = folded.trim().to_owned();
    for lead in ["de ", "du ", "depuis ", "entre "] {
        if let Some(rest) = s.strip_prefix(lead) {
            s = rest.to_owned();
        }
    }
    // "2021-2022": a hyphen between two years is a range, not an ISO date.
    let bytes: Vec<char> = s.chars().collect();
    let mut cut = None;
    for i in 0..bytes.len() {
        let is_sep = matches!(bytes[i], '~')
            || (bytes[i] == '-'
                && i >= 4
                && bytes[i - 4..i].iter().all(char::is_ascii_digit)
                && bytes
                    .get(i + 1..i + 5)
                    .is_some_and(|w| w.iter().all(char::is_ascii_digit))
                && bytes.get(i + 5).is_none_or(|c| !c.is_ascii_digit()));
        if is_sep {
            cut = Some(i);
            break;
        }
    }
    if let Some(i) = cut {
        let first: String = bytes[..i].iter().collect();
        let rest: String = bytes[i + 1..].iter().collect();
        return (first, Some(rest));
    }
    for sep in [" - ", " au ", " a ", " et ", " jusqu'", " / "] {
        if let Some((a, b)) = s.split_once(sep) {
            return (a.to_owned(), Some(b.to_owned()));
        }
    }
    (s, None)
}

/// The sort key of a free date label: `yyyy-mm-dd` (a period at its start), or `""`.
pub fn sort_key(label: &str) -> String {
    let folded = fold(label);
    let (first, rest) = split_range(&folded);
    let mut start = partial(&first);
    if let Some(rest) = rest {
        if start.is_empty() {
            return String::new();
        }
        let end = partial(&rest);
        if start.year.is_none() {
            start.year = end.year;
            if start.month.is_none() && start.period.is_none() {
                start.month = end.month;
            }
        }
    }
    start.key()
}

/// The key a reader sorts a card by: the stored one when there is one, else derived from `when`.
pub fn card_key(stored: &str, when: &str) -> String {
    if stored.trim().is_empty() {
        sort_key(when)
    } else {
        stored.trim().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Table {
        labels: Vec<(String, String)>,
        order: Vec<String>,
        sorted: Vec<String>,
    }

    fn table() -> Table {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/french-dates.json"
        );
        let text = std::fs::read_to_string(path).expect("french-dates.json");
        serde_json::from_str(&text).expect("french-dates.json is a table")
    }

    #[test]
    fn every_label_of_the_shared_table() {
        let t = table();
        assert!(
            t.labels.len() >= 40,
            "the table has {} labels",
            t.labels.len()
        );
        let wrong: Vec<String> = t
            .labels
            .iter()
            .filter(|(label, key)| sort_key(label) != *key)
            .map(|(label, key)| format!("{label:?}: {:?}, expected {key:?}", sort_key(label)))
            .collect();
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn entry_order_sorts_as_people_mean_it() {
        let t = table();
        let mut cards: Vec<(String, usize, &String)> = t
            .order
            .iter()
            .enumerate()
            .map(|(i, label)| (sort_key(label), i, label))
            .collect();
        cards.sort_by(|a, b| (a.0.is_empty(), &a.0, a.1).cmp(&(b.0.is_empty(), &b.0, b.1)));
        let sorted: Vec<&String> = cards.iter().map(|c| c.2).collect();
        assert_eq!(sorted, t.sorted.iter().collect::<Vec<_>>());
    }

    #[test]
    fn keys_are_valid_sort_keys() {
        for (label, _) in table().labels {
            assert!(
                super::super::timeline::is_sort_key(&sort_key(&label)),
                "{label}"
            );
        }
        assert_eq!(card_key("2020", "mai 2021"), "2020");
        assert_eq!(card_key("", "mai 2021"), "2021-05-01");
    }
}
