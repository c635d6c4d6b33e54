//! Reports rendered from a [`WorkshopView`]: Markdown (wiki-ready, built like the seed report),
//! self-contained printable HTML, CSV (one row per note/card/item/answer) and JSON.
//!
//! Every piece of user text is escaped for its target: Markdown punctuation is backslash-escaped
//! and line-start markers neutralised, HTML special characters become entities, CSV cells are
//! RFC 4180-quoted by the `csv` crate and cells that a spreadsheet would run as a formula get a
//! leading `'`. Control characters are dropped everywhere.
//! Post-it authors are left out of the Markdown and HTML reports, like in the seed report; CSV and
//! JSON carry them. Icebreaker notes appear only once revealed (see the schema).

use std::fmt::Write as _;

use super::schema::ParticipantGroup;
use super::view::{
    AcceleratorView, BoardContent, BoardView, GridView, IcebreakerView, InterviewView, ItemView,
    NoteView, TimelineView, WorkshopView,
};

// ---------------------------------------------------------------------------------------------
// Text helpers

/// Drops control characters (keeping newlines and tabs, tabs as spaces).
fn clean(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            '\n' => Some('\n'),
            '\t' => Some(' '),
            '\r' => None,
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect()
}

/// Non-empty trimmed lines of a user text.
fn text_lines(s: &str) -> Vec<String> {
    clean(s)
        .split(['\n', '\u{2028}', '\u{2029}'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// One line of user text, escaped for Markdown wherever it sits on a line.
fn md_escape_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    for c in line.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&' | '#' | '$'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    // Line-start markers: list bullets, ordered lists ("1." / "1)"), setext underlines.
    if let Some(first) = out.chars().next() {
        if matches!(first, '-' | '+' | '=') {
            out.insert(0, '\\');
        } else if first.is_ascii_digit() {
            let digits = out.chars().take_while(char::is_ascii_digit).count();
            if let Some(next) = out.chars().nth(digits) {
                if next == '.' || next == ')' {
                    out.insert(digits, '\\');
                }
            }
        }
    }
    out
}

/// User text on a single Markdown line (headings, labels): lines joined with spaces.
fn md_inline(s: &str) -> String {
    md_escape_line(&text_lines(s).join(" "))
}

/// User text that may span lines, with hard breaks; continuation lines start with `cont`.
fn md_multiline(s: &str, cont: &str) -> String {
    text_lines(s)
        .iter()
        .map(|l| md_escape_line(l))
        .collect::<Vec<_>>()
        .join(&format!("\\\n{cont}"))
}

/// User text that may span lines, one paragraph per line; every line after the first starts
/// with `prefix` (`">"` inside a block quote).
fn md_paragraphs(s: &str, prefix: &str) -> String {
    let sep = if prefix.is_empty() {
        "\n\n".to_owned()
    } else {
        format!("\n{prefix}\n{prefix} ")
    };
    text_lines(s)
        .iter()
        .map(|l| md_escape_line(l))
        .collect::<Vec<_>>()
        .join(&sep)
}

/// HTML-escapes text (also safe inside double- or single-quoted attributes).
fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in clean(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// User text that may span lines, as HTML with `<br>` between lines.
fn html_multiline(s: &str) -> String {
    text_lines(s)
        .iter()
        .map(|l| html_escape(l))
        .collect::<Vec<_>>()
        .join("<br>")
}

const MONTHS_FR: [&str; 12] = [
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
];

/// "2023-05-09" → "9 mai 2023"; anything else is returned as it is.
pub fn french_date(date: &str) -> String {
    let parts: Vec<&str> = date.trim().split('-').collect();
    if let [y, m, d] = parts.as_slice() {
        let month = m
            .parse::<usize>()
            .ok()
            .and_then(|m| m.checked_sub(1))
            .and_then(|i| MONTHS_FR.get(i));
        let day = d.parse::<u32>().ok().filter(|d| (1..=31).contains(d));
        let year_ok = y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit());
        if let (Some(month), Some(day), true) = (month, day, year_ok) {
            let day = if day == 1 {
                "1er".to_owned()
            } else {
                day.to_string()
            };
            return format!("{day} {month} {y}");
        }
    }
    date.trim().to_owned()
}

/// Milliseconds since the epoch as `yyyy-mm-ddThh:mm:ssZ`; `""` for 0 or out-of-range values.
pub fn iso_time(ms: i64) -> String {
    if ms <= 0 || ms > 253_402_300_799_999 {
        return String::new();
    }
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn votes_label(votes: u32) -> String {
    match votes {
        0 => String::new(),
        1 => "1 vote".to_owned(),
        n => format!("{n} votes"),
    }
}

fn plural(n: u32, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Notes of a column laid out for reports: groups first (in group order), then ungrouped notes.
fn grid_sections<'a>(
    grid: &'a GridView,
    notes: &'a [NoteView],
) -> (Vec<(&'a str, Vec<&'a NoteView>)>, Vec<&'a NoteView>) {
    let grouped = grid
        .groups
        .iter()
        .map(|g| {
            let members: Vec<&NoteView> = notes
                .iter()
                .filter(|n| n.group.as_deref() == Some(g.id.as_str()))
                .collect();
            (g.title.as_str(), members)
        })
        .filter(|(_, members)| !members.is_empty())
        .collect();
    let loose = notes.iter().filter(|n| n.group.is_none()).collect();
    (grouped, loose)
}

fn person_line<'a>(person: &'a str, organisation: &'a str) -> Vec<&'a str> {
    [person, organisation]
        .into_iter()
        .filter(|s| !s.trim().is_empty())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Markdown

/// The day's report as wiki-ready Markdown.
pub fn markdown(view: &WorkshopView) -> String {
    let mut out = String::new();
    let title = if view.title.trim().is_empty() {
        "Atelier".to_owned()
    } else {
        md_inline(&view.title)
    };
    let _ = writeln!(out, "# {title}\n");
    if !view.date.trim().is_empty() {
        let _ = writeln!(out, "- **Date :** {}", md_inline(&french_date(&view.date)));
    }
    if !view.place.trim().is_empty() {
        let _ = writeln!(out, "- **Lieu :** {}", md_inline(&view.place));
    }
    if !view.date.trim().is_empty() || !view.place.trim().is_empty() {
        out.push('\n');
    }
    if !view.objectives.is_empty() {
        out.push_str("## Objectifs de la journée\n\n");
        for o in &view.objectives {
            let _ = writeln!(out, "- {}", md_inline(o));
        }
        out.push('\n');
    }
    if !view.participants.is_empty() {
        out.push_str("## Participants\n\n");
        for group in ParticipantGroup::ALL {
            let people: Vec<_> = view
                .participants
                .iter()
                .filter(|p| p.group == group)
                .collect();
            if people.is_empty() {
                continue;
            }
            let _ = writeln!(out, "### {}\n", group.label_fr());
            for p in people {
                let mut line = md_inline(&p.name);
                if !p.role.trim().is_empty() {
                    let _ = write!(line, ", {}", md_inline(&p.role));
                }
                if !p.organisation.trim().is_empty() {
                    let _ = write!(line, " — {}", md_inline(&p.organisation));
                }
                let _ = writeln!(out, "- {line}");
            }
            out.push('\n');
        }
    }
    for (i, board) in view.boards.iter().enumerate() {
        md_board(&mut out, i + 1, board);
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

fn md_board(out: &mut String, n: usize, board: &BoardView) {
    let _ = writeln!(out, "## {n}. {}\n", md_inline(&board.title));
    let _ = writeln!(out, "*{}*\n", board.kind.label_fr());
    if !text_lines(&board.method).is_empty() {
        let _ = writeln!(out, "> {}\n", md_paragraphs(&board.method, ">"));
    }
    match &board.content {
        BoardContent::Grid(g) => md_grid(out, g),
        BoardContent::Timeline(t) => md_timeline(out, t),
        BoardContent::Accelerator(a) => md_accelerator(out, a),
        BoardContent::Interview(iv) => md_interview(out, iv),
        BoardContent::Icebreaker(ice) => md_icebreaker(out, ice),
        BoardContent::Missing => out.push_str("_Contenu indisponible._\n\n"),
    }
}

fn md_note(note: &NoteView, indent: &str) -> String {
    let cont = format!("{indent}  ");
    let mut line = format!("{indent}- {}", md_multiline(&note.text, &cont));
    if note.votes > 0 {
        let _ = write!(line, " — **{}**", votes_label(note.votes));
    }
    line
}

fn md_grid(out: &mut String, grid: &GridView) {
    for column in &grid.columns {
        let _ = writeln!(out, "### {}\n", md_inline(&column.title));
        if column.notes.is_empty() {
            out.push_str("_Aucune note._\n\n");
            continue;
        }
        let (groups, loose) = grid_sections(grid, &column.notes);
        for (title, members) in groups {
            let _ = writeln!(out, "- **{}**", md_inline(title));
            for note in members {
                let _ = writeln!(out, "{}", md_note(note, "  "));
            }
        }
        for note in loose {
            let _ = writeln!(out, "{}", md_note(note, ""));
        }
        out.push('\n');
    }
}

fn md_timeline(out: &mut String, timeline: &TimelineView) {
    if timeline.cards.is_empty() {
        out.push_str("_Aucun temps fort._\n\n");
    }
    for card in &timeline.cards {
        let when = if card.when.trim().is_empty() {
            card.sort_key.as_str()
        } else {
            card.when.as_str()
        };
        let heading: Vec<String> = [when, card.title.as_str()]
            .into_iter()
            .filter(|s| !s.trim().is_empty())
            .map(md_inline)
            .collect();
        let _ = writeln!(out, "### {}\n", heading.join(" — "));
        let who = person_line(&card.person, &card.organisation);
        if !who.is_empty() {
            let who: Vec<String> = who.into_iter().map(md_inline).collect();
            let _ = writeln!(out, "*{}*\n", who.join(" — "));
        }
        if !text_lines(&card.quote).is_empty() {
            let _ = writeln!(out, "> {}\n", md_paragraphs(&card.quote, ">"));
        }
    }
}

fn md_items(out: &mut String, heading: &str, items: &[ItemView], actions: bool) {
    let _ = writeln!(out, "### {heading}\n");
    if items.is_empty() {
        out.push_str("_Rien de noté._\n\n");
        return;
    }
    for item in items {
        let mut line = format!("- {}", md_multiline(&item.text, "  "));
        if actions {
            if !item.who.trim().is_empty() {
                let _ = write!(line, " — qui : {}", md_inline(&item.who));
            }
            if !item.next.trim().is_empty() {
                let _ = write!(line, " — prochaine étape : {}", md_inline(&item.next));
            }
        }
        let _ = writeln!(out, "{line}");
    }
    out.push('\n');
}

fn md_accelerator(out: &mut String, a: &AcceleratorView) {
    let owner = person_line(&a.owner, &a.owner_org);
    if !owner.is_empty() {
        let owner: Vec<String> = owner.into_iter().map(md_inline).collect();
        let _ = writeln!(out, "**Porteur ou porteuse :** {}\n", owner.join(" — "));
    }
    if !a.question.trim().is_empty() {
        let _ = writeln!(out, "**Question :** {}\n", md_inline(&a.question));
    }
    for (label, text) in [("Contexte", &a.context), ("Problématique", &a.statement)] {
        if !text_lines(text).is_empty() {
            let _ = writeln!(out, "**{label} :** {}\n", md_paragraphs(text, ""));
        }
    }
    md_items(out, "Questions de clarification", &a.questions, false);
    out.push_str("### Reformulation\n\n");
    if text_lines(&a.reformulation).is_empty() {
        out.push_str("_Rien de noté._\n\n");
    } else {
        let _ = writeln!(out, "{}\n", md_paragraphs(&a.reformulation, ""));
    }
    md_items(out, "Idées du groupe", &a.ideas, false);
    md_items(out, "Plan d'action", &a.actions, true);
}

fn md_interview(out: &mut String, iv: &InterviewView) {
    for q in &iv.questions {
        let _ = writeln!(out, "### {}\n", md_inline(&q.text));
        let mut any = false;
        for g in q.groups.iter().filter(|g| !g.answers.is_empty()) {
            any = true;
            let _ = writeln!(out, "**{}**\n", md_inline(&g.name));
            for a in &g.answers {
                let _ = writeln!(out, "- {}", md_multiline(&a.text, "  "));
            }
            out.push('\n');
        }
        if !any {
            out.push_str("_Pas de réponse._\n\n");
        }
    }
}

fn md_icebreaker(out: &mut String, ice: &IcebreakerView) {
    if !ice.prompt.trim().is_empty() {
        let _ = writeln!(out, "**Question :** {}\n", md_inline(&ice.prompt));
    }
    for note in &ice.notes {
        let _ = writeln!(out, "- {}", md_multiline(&note.text, "  "));
    }
    if !ice.notes.is_empty() {
        out.push('\n');
    }
    if ice.hidden > 0 {
        let _ = writeln!(
            out,
            "_{}._\n",
            plural(ice.hidden, "papier non révélé", "papiers non révélés")
        );
    } else if ice.notes.is_empty() {
        out.push_str("_Aucun papier._\n\n");
    }
}

// ---------------------------------------------------------------------------------------------
// HTML

const CSS: &str = "\
:root{--ink:#1f2328;--muted:#59636e;--line:#d1d9e0}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--ink);max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45}
h1{font-size:2rem;margin-bottom:.25rem}h2{margin-top:2.5rem;border-bottom:2px solid var(--line);padding-bottom:.2rem}
h3{margin-bottom:.4rem}.kind{color:var(--muted);font-style:italic;margin-top:0}
.meta{color:var(--muted)}.method{border-left:4px solid var(--line);margin:0 0 1rem;padding:.3rem .9rem;color:var(--muted)}
.columns{display:grid;grid-template-columns:repeat(auto-fill,minmax(14rem,1fr));gap:1rem}
.column{border-top:6px solid var(--c);padding:.2rem .6rem;background:#fafbfc}
.column ul,.items{padding-left:1.1rem}.note{margin:.25rem 0;overflow-wrap:anywhere}
.votes{font-weight:600;white-space:nowrap}.group{font-weight:600;margin-top:.5rem}
.card{border-left:4px solid #8250df;padding:.1rem .9rem;margin:1rem 0;break-inside:avoid}
.card .who{color:var(--muted);font-style:italic}blockquote{margin:.4rem 0 .4rem 1rem;overflow-wrap:anywhere}
.empty{color:var(--muted);font-style:italic}p,li{overflow-wrap:anywhere}
.c-yellow{--c:#e3b341}.c-orange{--c:#f0883e}.c-pink{--c:#db61a2}.c-purple{--c:#a371f7}
.c-blue{--c:#4493f8}.c-green{--c:#3fb950}.c-grey{--c:#8c959f}
@media print{body{margin:0;max-width:none;font-size:11pt}h2{break-before:auto;break-after:avoid}
h3{break-after:avoid}.column,.card,li{break-inside:avoid}a{color:inherit;text-decoration:none}
@page{margin:1.6cm}}
";

/// The day's report as a self-contained, printable HTML page (no external asset).
pub fn html(view: &WorkshopView) -> String {
    let title = if view.title.trim().is_empty() {
        "Atelier".to_owned()
    } else {
        html_escape(view.title.trim())
    };
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n<h1 dir=\"auto\">{title}</h1>\n"
    );
    let meta: Vec<String> = [
        ("Date", french_date(&view.date)),
        ("Lieu", view.place.trim().to_owned()),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| format!("<strong>{k} :</strong> {}", html_escape(&v)))
    .collect();
    if !meta.is_empty() {
        let _ = writeln!(out, "<p class=\"meta\">{}</p>", meta.join(" · "));
    }
    if !view.objectives.is_empty() {
        out.push_str("<h2>Objectifs de la journée</h2>\n<ul>\n");
        for o in &view.objectives {
            let _ = writeln!(out, "<li dir=\"auto\">{}</li>", html_escape(o));
        }
        out.push_str("</ul>\n");
    }
    if !view.participants.is_empty() {
        out.push_str("<h2>Participants</h2>\n");
        for group in ParticipantGroup::ALL {
            let people: Vec<_> = view
                .participants
                .iter()
                .filter(|p| p.group == group)
                .collect();
            if people.is_empty() {
                continue;
            }
            let _ = writeln!(out, "<h3>{}</h3>\n<ul>", group.label_fr());
            for p in people {
                let mut line = html_escape(&p.name);
                if !p.role.trim().is_empty() {
                    let _ = write!(line, ", {}", html_escape(&p.role));
                }
                if !p.organisation.trim().is_empty() {
                    let _ = write!(line, " — {}", html_escape(&p.organisation));
                }
                let _ = writeln!(out, "<li dir=\"auto\">{line}</li>");
            }
            out.push_str("</ul>\n");
        }
    }
    for (i, board) in view.boards.iter().enumerate() {
        html_board(&mut out, i + 1, board);
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn html_board(out: &mut String, n: usize, board: &BoardView) {
    let _ = writeln!(
        out,
        "<section class=\"board board-{}\">\n<h2 dir=\"auto\">{n}. {}</h2>\n<p class=\"kind\">{}</p>",
        board.kind.as_str(),
        html_escape(board.title.trim()),
        board.kind.label_fr()
    );
    if !text_lines(&board.method).is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"method\" dir=\"auto\">{}</p>",
            html_multiline(&board.method)
        );
    }
    match &board.content {
        BoardContent::Grid(g) => html_grid(out, g),
        BoardContent::Timeline(t) => html_timeline(out, t),
        BoardContent::Accelerator(a) => html_accelerator(out, a),
        BoardContent::Interview(iv) => html_interview(out, iv),
        BoardContent::Icebreaker(ice) => html_icebreaker(out, ice),
        BoardContent::Missing => out.push_str("<p class=\"empty\">Contenu indisponible.</p>\n"),
    }
    out.push_str("</section>\n");
}

fn html_note(note: &NoteView) -> String {
    let votes = if note.votes > 0 {
        format!(
            " <span class=\"votes\">— {}</span>",
            votes_label(note.votes)
        )
    } else {
        String::new()
    };
    format!(
        "<li class=\"note c-{}\" dir=\"auto\">{}{votes}</li>",
        super::schema::palette_colour(&note.colour, "yellow"),
        html_multiline(&note.text)
    )
}

fn html_grid(out: &mut String, grid: &GridView) {
    out.push_str("<div class=\"columns\">\n");
    for column in &grid.columns {
        let _ = writeln!(
            out,
            "<div class=\"column c-{}\">\n<h3 dir=\"auto\">{}</h3>",
            super::schema::palette_colour(&column.colour, "grey"),
            html_escape(&column.title)
        );
        if column.notes.is_empty() {
            out.push_str("<p class=\"empty\">Aucune note.</p>\n</div>\n");
            continue;
        }
        out.push_str("<ul>\n");
        let (groups, loose) = grid_sections(grid, &column.notes);
        for (title, members) in groups {
            let _ = writeln!(
                out,
                "<li class=\"group\" dir=\"auto\">{}<ul>",
                html_escape(title)
            );
            for note in members {
                let _ = writeln!(out, "{}", html_note(note));
            }
            out.push_str("</ul></li>\n");
        }
        for note in loose {
            let _ = writeln!(out, "{}", html_note(note));
        }
        out.push_str("</ul>\n</div>\n");
    }
    out.push_str("</div>\n");
}

fn html_timeline(out: &mut String, timeline: &TimelineView) {
    if timeline.cards.is_empty() {
        out.push_str("<p class=\"empty\">Aucun temps fort.</p>\n");
    }
    for card in &timeline.cards {
        let when = if card.when.trim().is_empty() {
            &card.sort_key
        } else {
            &card.when
        };
        let heading: Vec<String> = [when.as_str(), card.title.as_str()]
            .into_iter()
            .filter(|s| !s.trim().is_empty())
            .map(|s| html_escape(&text_lines(s).join(" ")))
            .collect();
        let _ = writeln!(
            out,
            "<div class=\"card\">\n<h3 dir=\"auto\">{}</h3>",
            heading.join(" — ")
        );
        let who = person_line(&card.person, &card.organisation);
        if !who.is_empty() {
            let who: Vec<String> = who.into_iter().map(html_escape).collect();
            let _ = writeln!(out, "<p class=\"who\" dir=\"auto\">{}</p>", who.join(" — "));
        }
        if !text_lines(&card.quote).is_empty() {
            let _ = writeln!(
                out,
                "<blockquote dir=\"auto\">{}</blockquote>",
                html_multiline(&card.quote)
            );
        }
        out.push_str("</div>\n");
    }
}

fn html_items(out: &mut String, heading: &str, items: &[ItemView], actions: bool) {
    let _ = writeln!(out, "<h3>{heading}</h3>");
    if items.is_empty() {
        out.push_str("<p class=\"empty\">Rien de noté.</p>\n");
        return;
    }
    out.push_str("<ul class=\"items\">\n");
    for item in items {
        let mut line = html_multiline(&item.text);
        if actions {
            if !item.who.trim().is_empty() {
                let _ = write!(line, " — qui : {}", html_escape(&item.who));
            }
            if !item.next.trim().is_empty() {
                let _ = write!(line, " — prochaine étape : {}", html_multiline(&item.next));
            }
        }
        let _ = writeln!(out, "<li dir=\"auto\">{line}</li>");
    }
    out.push_str("</ul>\n");
}

fn html_accelerator(out: &mut String, a: &AcceleratorView) {
    let owner = person_line(&a.owner, &a.owner_org);
    if !owner.is_empty() {
        let owner: Vec<String> = owner.into_iter().map(html_escape).collect();
        let _ = writeln!(
            out,
            "<p dir=\"auto\"><strong>Porteur ou porteuse :</strong> {}</p>",
            owner.join(" — ")
        );
    }
    if !a.question.trim().is_empty() {
        let _ = writeln!(
            out,
            "<p dir=\"auto\"><strong>Question :</strong> {}</p>",
            html_escape(&a.question)
        );
    }
    for (label, text) in [("Contexte", &a.context), ("Problématique", &a.statement)] {
        if !text_lines(text).is_empty() {
            let _ = writeln!(
                out,
                "<p dir=\"auto\"><strong>{label} :</strong> {}</p>",
                html_multiline(text)
            );
        }
    }
    html_items(out, "Questions de clarification", &a.questions, false);
    out.push_str("<h3>Reformulation</h3>\n");
    if text_lines(&a.reformulation).is_empty() {
        out.push_str("<p class=\"empty\">Rien de noté.</p>\n");
    } else {
        let _ = writeln!(
            out,
            "<p dir=\"auto\">{}</p>",
            html_multiline(&a.reformulation)
        );
    }
    html_items(out, "Idées du groupe", &a.ideas, false);
    html_items(out, "Plan d'action", &a.actions, true);
}

fn html_interview(out: &mut String, iv: &InterviewView) {
    for q in &iv.questions {
        let _ = writeln!(out, "<h3 dir=\"auto\">{}</h3>", html_escape(&q.text));
        let mut any = false;
        for g in q.groups.iter().filter(|g| !g.answers.is_empty()) {
            any = true;
            let _ = writeln!(
                out,
                "<p class=\"group\" dir=\"auto\">{}</p>\n<ul>",
                html_escape(&g.name)
            );
            for a in &g.answers {
                let _ = writeln!(out, "<li dir=\"auto\">{}</li>", html_multiline(&a.text));
            }
            out.push_str("</ul>\n");
        }
        if !any {
            out.push_str("<p class=\"empty\">Pas de réponse.</p>\n");
        }
    }
}

fn html_icebreaker(out: &mut String, ice: &IcebreakerView) {
    if !ice.prompt.trim().is_empty() {
        let _ = writeln!(
            out,
            "<p dir=\"auto\"><strong>Question :</strong> {}</p>",
            html_escape(&ice.prompt)
        );
    }
    if !ice.notes.is_empty() {
        out.push_str("<ul>\n");
        for note in &ice.notes {
            let _ = writeln!(out, "<li dir=\"auto\">{}</li>", html_multiline(&note.text));
        }
        out.push_str("</ul>\n");
    }
    if ice.hidden > 0 {
        let _ = writeln!(
            out,
            "<p class=\"empty\">{}.</p>",
            plural(ice.hidden, "papier non révélé", "papiers non révélés")
        );
    } else if ice.notes.is_empty() {
        out.push_str("<p class=\"empty\">Aucun papier.</p>\n");
    }
}

// ---------------------------------------------------------------------------------------------
// CSV

/// Column headers of the CSV export, in order.
pub const CSV_HEADERS: [&str; 17] = [
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
    fn record(&self) -> [String; 17] {
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
        ]
    }
}

fn csv_rows(view: &WorkshopView) -> Vec<Row> {
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
                        rows.push(Row {
                            section: column.title.clone(),
                            group,
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
                    ("Questions de clarification", &a.questions),
                    ("Idées du groupe", &a.ideas),
                    ("Plan d'action", &a.actions),
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
    }
    rows
}

/// One row per note, card, accelerator item, interview answer and revealed icebreaker note.
pub fn csv(view: &WorkshopView) -> String {
    let mut writer = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(Vec::new());
    // Writing to a Vec cannot fail on IO; a failure would only truncate the export.
    let _ = writer.write_record(CSV_HEADERS);
    for row in csv_rows(view) {
        let _ = writer.write_record(row.record());
    }
    let bytes = writer.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

/// The whole view as pretty-printed JSON.
pub fn json(view: &WorkshopView) -> String {
    // The view holds only strings, integers, booleans, vecs and string-keyed maps: serialising it
    // cannot fail.
    serde_json::to_string_pretty(view).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::schema::BoardKind;

    #[test]
    fn markdown_line_escaping() {
        assert_eq!(md_escape_line("# title"), "\\# title");
        assert_eq!(md_escape_line("- item"), "\\- item");
        assert_eq!(md_escape_line("12. x"), "12\\. x");
        assert_eq!(md_escape_line("3) x"), "3\\) x");
        assert_eq!(md_escape_line("a|b"), "a\\|b");
        assert_eq!(md_escape_line("[x](y)"), "\\[x\\](y)");
        assert_eq!(md_escape_line("<script>"), "\\<script\\>");
        assert_eq!(md_escape_line("`code`"), "\\`code\\`");
        assert_eq!(md_escape_line("==="), "\\===");
        assert_eq!(md_escape_line("Grand-Chambéry 2023"), "Grand-Chambéry 2023");
        assert_eq!(md_inline("a\n# b\r\nc\u{0}"), "a \\# b c");
    }

    #[test]
    fn html_escaping() {
        assert_eq!(
            html_escape("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
        assert_eq!(html_multiline("a\n\n<b>"), "a<br>&lt;b&gt;");
    }

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
    fn csv_cells_are_defused() {
        assert_eq!(csv_cell("=1+1"), "'=1+1");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("a\nb"), "a / b");
        assert_eq!(csv_cell("plain"), "plain");
    }

    #[test]
    fn kinds_have_labels() {
        for k in BoardKind::ALL {
            assert!(!k.label_fr().is_empty());
        }
    }
}
