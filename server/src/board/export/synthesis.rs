//! A synthesis or side remarks typed as Markdown, read into report blocks (pulldown-cmark):
//! headings, paragraphs, nested bullet lists, emphasis, quotes. Everything is then rendered by
//! the same escaping renderers as the rest of the report, so raw HTML, links and images in the
//! source come out as plain text, never as markup.

use pulldown_cmark::{Event, HeadingLevel, Parser, Tag, TagEnd};

use super::blocks::{Block, Item, Span};

/// Most nesting kept (deeper lists are flattened into their parent).
const MAX_DEPTH: usize = 8;

#[derive(Default)]
struct Reader {
    blocks: Vec<Block>,
    /// Spans of the paragraph, heading or item being read.
    spans: Vec<Span>,
    /// Open lists: the items of each level.
    lists: Vec<Vec<Item>>,
    /// Inline style in force (0 = none).
    strong: usize,
    em: usize,
    quote: usize,
    heading: Option<u8>,
    /// Heading levels of the source become `shift` deeper (under the activity's own heading).
    shift: u8,
}

impl Reader {
    fn push_text(&mut self, text: &str) {
        let span = if self.strong > 0 {
            Span::Strong(text.to_owned())
        } else if self.em > 0 {
            Span::Em(text.to_owned())
        } else {
            Span::Text(text.to_owned())
        };
        // Adjacent plain runs are merged so escaping sees whole words.
        match (self.spans.last_mut(), &span) {
            (Some(Span::Text(prev)), Span::Text(t)) => prev.push_str(t),
            _ => self.spans.push(span),
        }
    }

    fn take_spans(&mut self) -> Vec<Span> {
        let mut spans = std::mem::take(&mut self.spans);
        if let Some(Span::Text(t)) = spans.first_mut() {
            *t = t.trim_start().to_owned();
        }
        spans.retain(|s| !matches!(s, Span::Text(t) if t.is_empty()));
        spans
    }

    /// Closes the text being read into the open list item, or into a block.
    fn flush(&mut self) {
        if self.spans.is_empty() {
            return;
        }
        let spans = self.take_spans();
        if spans.is_empty() {
            return;
        }
        if let Some(items) = self.lists.last_mut() {
            match items.last_mut() {
                Some(item) if item.spans.is_empty() => item.spans = spans,
                Some(item) => {
                    item.spans.push(Span::Label(" ".to_owned()));
                    item.spans.extend(spans);
                }
                None => items.push(Item {
                    spans,
                    class: None,
                    children: Vec::new(),
                }),
            }
        } else if let Some(level) = self.heading {
            self.blocks.push(Block::Heading(level, spans));
        } else if self.quote > 0 {
            let text: String = spans
                .iter()
                .map(|s| match s {
                    Span::Text(t) | Span::Label(t) | Span::Strong(t) | Span::Em(t) => t.as_str(),
                    Span::Link { text, .. } => text.as_str(),
                })
                .collect();
            self.blocks.push(Block::Quote { class: None, text });
        } else {
            self.blocks.push(Block::Para { class: None, spans });
        }
    }

    fn start(&mut self, tag: Tag) {
        match tag {
            Tag::Heading { level, .. } => {
                self.flush();
                let n = match level {
                    HeadingLevel::H1 => 1,
                    HeadingLevel::H2 => 2,
                    HeadingLevel::H3 => 3,
                    HeadingLevel::H4 => 4,
                    HeadingLevel::H5 => 5,
                    HeadingLevel::H6 => 6,
                };
                self.heading = Some((n + self.shift).min(6));
            }
            Tag::Paragraph => self.flush(),
            Tag::BlockQuote(_) => {
                self.flush();
                self.quote += 1;
            }
            Tag::List(_) => {
                self.flush();
                if self.lists.len() < MAX_DEPTH {
                    self.lists.push(Vec::new());
                }
            }
            Tag::Item => {
                self.flush();
                if let Some(items) = self.lists.last_mut() {
                    items.push(Item {
                        spans: Vec::new(),
                        class: None,
                        children: Vec::new(),
                    });
                }
            }
            Tag::Strong => self.strong += 1,
            Tag::Emphasis => self.em += 1,
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Heading(_) => {
                self.flush();
                self.heading = None;
            }
            TagEnd::Paragraph => self.flush(),
            TagEnd::BlockQuote(_) => {
                self.flush();
                self.quote = self.quote.saturating_sub(1);
            }
            TagEnd::List(_) => {
                self.flush();
                let depth = self.lists.len();
                if depth == 0 {
                    return;
                }
                let items = self.lists.pop().unwrap_or_default();
                let items: Vec<Item> = items
                    .into_iter()
                    .filter(|i| !i.spans.is_empty() || !i.children.is_empty())
                    .collect();
                match self.lists.last_mut().and_then(|parent| parent.last_mut()) {
                    Some(parent) => parent.children.extend(items),
                    None if !items.is_empty() => self.blocks.push(Block::List(items)),
                    None => {}
                }
            }
            TagEnd::Item => self.flush(),
            TagEnd::Strong => self.strong = self.strong.saturating_sub(1),
            TagEnd::Emphasis => self.em = self.em.saturating_sub(1),
            _ => {}
        }
    }
}

/// Reads Markdown source into blocks; headings of the source are made `shift` levels deeper.
pub(crate) fn blocks(source: &str, shift: u8) -> Vec<Block> {
    let mut r = Reader {
        shift,
        ..Reader::default()
    };
    // No options: no tables, footnotes or HTML blocks of our own; raw HTML arrives as text.
    for event in Parser::new(source) {
        match event {
            Event::Start(tag) => r.start(tag),
            Event::End(tag) => r.end(tag),
            Event::Text(t) | Event::Code(t) | Event::Html(t) | Event::InlineHtml(t) => {
                r.push_text(&t)
            }
            Event::SoftBreak => r.push_text(" "),
            Event::HardBreak => r.push_text("\n"),
            _ => {}
        }
    }
    r.flush();
    while let Some(items) = r.lists.pop() {
        if !items.is_empty() {
            r.blocks.push(Block::List(items));
        }
    }
    r.blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(text: &str, children: Vec<Item>) -> Item {
        Item {
            spans: vec![Span::Text(text.into())],
            class: None,
            children,
        }
    }

    #[test]
    fn headings_paragraphs_and_nested_lists() {
        let src =
            "# Retour partagé\n\nMaintenir :\n\n- La formation\n  - les cycles\n- Le **réseau**\n";
        let b = blocks(src, 2);
        assert_eq!(
            b,
            vec![
                Block::Heading(3, vec![Span::Text("Retour partagé".into())]),
                Block::Para {
                    class: None,
                    spans: vec![Span::Text("Maintenir :".into())]
                },
                Block::List(vec![
                    item("La formation", vec![item("les cycles", vec![])]),
                    Item {
                        spans: vec![Span::Text("Le ".into()), Span::Strong("réseau".into())],
                        class: None,
                        children: vec![]
                    },
                ]),
            ]
        );
    }

    #[test]
    fn raw_html_is_text() {
        let b = blocks("<script>alert(1)</script>\n\nok <b>x</b>", 0);
        let all = format!("{b:?}");
        assert!(all.contains("<script>"), "kept as text: {all}");
        assert!(b.iter().all(|x| !matches!(x, Block::Wrap { .. })));
    }
}
