//! HTML rendering of a [`Report`]: one self-contained page (no external asset) laid out for
//! printing; every piece of users' text is entity-escaped.

use std::fmt::Write as _;

use super::blocks::{Block, Item, Span};
use super::labels::Labels;
use super::report::Report;
use super::text::{clean, one_line, text_lines};

/// HTML-escapes text (also safe inside double- or single-quoted attributes).
pub(crate) fn escape(s: &str) -> String {
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

/// User text that may span lines, with `<br>` between lines.
pub(crate) fn multiline(s: &str) -> String {
    text_lines(s)
        .iter()
        .map(|l| escape(l))
        .collect::<Vec<_>>()
        .join("<br>")
}

const CSS: &str = "\
:root{--ink:#1f2328;--muted:#59636e;--line:#d1d9e0}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--ink);max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45}
h1{font-size:2rem;margin-bottom:.25rem}h2{margin-top:2.5rem;border-bottom:2px solid var(--line);padding-bottom:.2rem}
h3{margin-bottom:.4rem}.kind{color:var(--muted);font-style:italic;margin-top:0}
.meta{color:var(--muted)}.method{border-left:4px solid var(--line);margin:0 0 1rem;padding:.3rem .9rem;color:var(--muted)}
.columns{display:grid;grid-template-columns:repeat(auto-fill,minmax(14rem,1fr));gap:1rem}
.column{border-top:6px solid var(--c);padding:.2rem .6rem;background:#fafbfc}
.column ul{padding-left:1.1rem}.note{margin:.25rem 0;overflow-wrap:anywhere}
.group{font-weight:600;margin-top:.5rem}.group li{font-weight:400}
.card{border-left:4px solid #8250df;padding:.1rem .9rem;margin:1rem 0;break-inside:avoid}
.card .who{color:var(--muted);font-style:italic}blockquote{margin:.4rem 0 .4rem 1rem;overflow-wrap:anywhere}
.empty{color:var(--muted);font-style:italic}p,li{overflow-wrap:anywhere}
summary{cursor:pointer;color:var(--muted)}
.c-yellow{--c:#e3b341}.c-orange{--c:#f0883e}.c-pink{--c:#db61a2}.c-purple{--c:#a371f7}
.c-blue{--c:#4493f8}.c-green{--c:#3fb950}.c-grey{--c:#8c959f}
@media print{body{margin:0;max-width:none;font-size:11pt}h2{break-before:auto;break-after:avoid}
h3{break-after:avoid}.column,.card,li{break-inside:avoid}a{color:inherit;text-decoration:none}
summary{display:none}@page{margin:1.6cm}}
";

fn spans(spans: &[Span]) -> String {
    let mut out = String::new();
    for span in spans {
        match span {
            Span::Text(t) => out.push_str(&multiline(t)),
            Span::Label(l) => out.push_str(&escape(l)),
            Span::Strong(s) => {
                let _ = write!(out, "<strong>{}</strong>", escape(&one_line(s)));
            }
            Span::Em(s) => {
                let _ = write!(out, "<em>{}</em>", escape(&one_line(s)));
            }
            Span::Link { text, url } => match super::markdown::safe_url(url) {
                Some(url) => {
                    let _ = write!(
                        out,
                        "<a href=\"{}\" rel=\"noopener noreferrer\">{}</a>",
                        escape(&url),
                        escape(&one_line(text))
                    );
                }
                None => out.push_str(&escape(&one_line(text))),
            },
        }
    }
    out
}

fn class_attr(class: Option<&str>) -> String {
    class.map_or_else(String::new, |c| format!(" class=\"{}\"", escape(c)))
}

fn list(out: &mut String, items: &[Item]) {
    out.push_str("<ul>\n");
    for item in items {
        let _ = write!(
            out,
            "<li{} dir=\"auto\">{}",
            class_attr(item.class.as_deref()),
            spans(&item.spans)
        );
        if !item.children.is_empty() {
            out.push('\n');
            list(out, &item.children);
        }
        out.push_str("</li>\n");
    }
    out.push_str("</ul>\n");
}

fn block(out: &mut String, b: &Block) {
    match b {
        Block::Heading(level, s) => {
            let n = level.clamp(&1, &6);
            let _ = writeln!(out, "<h{n} dir=\"auto\">{}</h{n}>", spans(s));
        }
        Block::Para { class, spans: s } => {
            let _ = writeln!(
                out,
                "<p{} dir=\"auto\">{}</p>",
                class_attr(*class),
                spans(s)
            );
        }
        Block::Fields(fields) => {
            let parts: Vec<String> = fields
                .iter()
                .map(|(name, value)| format!("<strong>{}</strong> {}", escape(name), spans(value)))
                .collect();
            let _ = writeln!(
                out,
                "<p class=\"meta\" dir=\"auto\">{}</p>",
                parts.join(" · ")
            );
        }
        Block::List(items) => list(out, items),
        Block::Quote { class, text } => {
            let _ = writeln!(
                out,
                "<blockquote{} dir=\"auto\">{}</blockquote>",
                class_attr(*class),
                multiline(text)
            );
        }
        Block::Empty(note) => {
            let _ = writeln!(out, "<p class=\"empty\">{}</p>", escape(note));
        }
        Block::Details { summary, body } => {
            let _ = writeln!(
                out,
                "<details open>\n<summary>{}</summary>",
                escape(summary)
            );
            body.iter().for_each(|b| block(out, b));
            out.push_str("</details>\n");
        }
        Block::Wrap { tag, class, body } => {
            let _ = writeln!(out, "<{tag}{}>", class_attr(Some(class)));
            body.iter().for_each(|b| block(out, b));
            let _ = writeln!(out, "</{tag}>");
        }
    }
}

/// The report as a printable HTML page.
pub(crate) fn render(report: &Report, labels: &Labels) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n",
        labels.lang,
        escape(&report.title)
    );
    for b in &report.blocks {
        block(&mut out, b);
    }
    out.push_str("</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(
            escape("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
        assert_eq!(multiline("a\n\n<b>"), "a<br>&lt;b&gt;");
    }
}
