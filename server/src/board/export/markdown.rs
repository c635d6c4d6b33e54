//! Markdown rendering of a [`Report`]: wiki-ready, every piece of users' text escaped so that it
//! can never open a heading, a list, a link, raw HTML or a code span.

use super::blocks::{Block, Item, Span};
use super::report::Report;
use super::text::{one_line, text_lines};

/// One line of user text, escaped for Markdown wherever it sits on a line.
pub(crate) fn escape_line(line: &str) -> String {
    let mut out = escape_inline(line);
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

/// Backslash-escapes Markdown punctuation (not line-start markers).
fn escape_inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&' | '#' | '$'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// An http(s) address fit for a link destination in `<…>`, else `None`.
pub(crate) fn safe_url(url: &str) -> Option<String> {
    let u = one_line(url);
    let lower = u.to_ascii_lowercase();
    let ok = (lower.starts_with("https://") || lower.starts_with("http://"))
        && !u
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\\' | '`'));
    ok.then_some(u)
}

/// How users' text with several lines is laid out where a span sits.
#[derive(Clone, Copy)]
enum Flow<'a> {
    /// Joined with spaces (headings).
    Inline,
    /// Hard line breaks, continuation lines indented (list items).
    Breaks(&'a str),
    /// One paragraph per line, continuation prefix (paragraphs, quotes).
    Paragraphs(&'a str),
}

fn spans(spans: &[Span], flow: Flow) -> String {
    let mut out = String::new();
    for span in spans {
        match span {
            Span::Text(t) => {
                let lines: Vec<String> = match flow {
                    Flow::Inline => vec![escape_line(&one_line(t))],
                    _ => text_lines(t).iter().map(|l| escape_line(l)).collect(),
                };
                let sep = match flow {
                    Flow::Inline => String::new(),
                    Flow::Breaks(cont) => format!("\\\n{cont}"),
                    Flow::Paragraphs("") => "\n\n".to_owned(),
                    Flow::Paragraphs(prefix) => format!("\n{prefix}\n{prefix} "),
                };
                out.push_str(&lines.join(&sep));
            }
            Span::Label(l) => out.push_str(&escape_inline(l)),
            Span::Strong(s) => {
                out.push_str("**");
                out.push_str(&escape_line(&one_line(s)));
                out.push_str("**");
            }
            Span::Em(s) => {
                out.push('*');
                out.push_str(&escape_line(&one_line(s)));
                out.push('*');
            }
            Span::Link { text, url } => match safe_url(url) {
                Some(url) => {
                    out.push('[');
                    out.push_str(&escape_inline(&one_line(text)));
                    out.push_str("](<");
                    out.push_str(&url);
                    out.push_str(">)");
                }
                None => out.push_str(&escape_line(&one_line(text))),
            },
        }
    }
    out
}

fn list(out: &mut String, items: &[Item], indent: &str) {
    let cont = format!("{indent}  ");
    for item in items {
        out.push_str(indent);
        out.push_str("- ");
        out.push_str(&spans(&item.spans, Flow::Breaks(&cont)));
        out.push('\n');
        list(out, &item.children, &cont);
    }
}

fn block(out: &mut String, b: &Block) {
    match b {
        Block::Heading(level, s) => {
            out.push_str(&"#".repeat(usize::from(*level).clamp(1, 6)));
            out.push(' ');
            out.push_str(&spans(s, Flow::Inline));
            out.push_str("\n\n");
        }
        Block::Para { spans: s, .. } => {
            out.push_str(&spans(s, Flow::Paragraphs("")));
            out.push_str("\n\n");
        }
        Block::Fields(fields) => {
            for (name, value) in fields {
                out.push_str("- **");
                out.push_str(&escape_inline(name));
                out.push_str("** ");
                out.push_str(&spans(value, Flow::Inline));
                out.push('\n');
            }
            out.push('\n');
        }
        Block::List(items) => {
            list(out, items, "");
            out.push('\n');
        }
        Block::Quote { text, .. } => {
            out.push_str("> ");
            out.push_str(&spans(&[Span::Text(text.clone())], Flow::Paragraphs(">")));
            out.push_str("\n\n");
        }
        Block::Empty(note) => {
            out.push('_');
            out.push_str(&escape_line(note));
            out.push_str("_\n\n");
        }
        Block::Wrap { body, .. } | Block::Details { body, .. } => {
            body.iter().for_each(|b| block(out, b));
        }
    }
}

/// The report as Markdown, ending with one newline.
pub(crate) fn render(report: &Report) -> String {
    let mut out = String::new();
    for b in &report.blocks {
        block(&mut out, b);
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_escaping() {
        assert_eq!(escape_line("# title"), "\\# title");
        assert_eq!(escape_line("- item"), "\\- item");
        assert_eq!(escape_line("12. x"), "12\\. x");
        assert_eq!(escape_line("3) x"), "3\\) x");
        assert_eq!(escape_line("a|b"), "a\\|b");
        assert_eq!(escape_line("[x](y)"), "\\[x\\](y)");
        assert_eq!(escape_line("<script>"), "\\<script\\>");
        assert_eq!(escape_line("`code`"), "\\`code\\`");
        assert_eq!(escape_line("==="), "\\===");
        assert_eq!(escape_line("Grand-Chambéry 2023"), "Grand-Chambéry 2023");
        assert_eq!(
            spans(&[Span::Text("a\n# b\r\nc\u{0}".into())], Flow::Inline),
            "a \\# b c"
        );
    }
}
