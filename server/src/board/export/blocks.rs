//! The tree every report is made of, whatever its format: the walk (`report.rs`) and a
//! synthesis's Markdown (`synthesis.rs`) build [`Block`]s; the Markdown and HTML renderers only
//! decide how each looks.

/// A run of text on one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Span {
    /// Users' text; its line breaks are kept as the block allows (hard breaks, paragraphs).
    Text(String),
    /// Our own words (labels, separators, numbers): escaped, never a line-start marker.
    Label(String),
    /// Strong text (users' or ours), on one line.
    Strong(String),
    /// Emphasised text (users' or ours), on one line.
    Em(String),
    /// A link to an http(s) address (anything else is shown as text).
    Link { text: String, url: String },
}

/// A list item, possibly with sub-items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Item {
    pub spans: Vec<Span>,
    /// HTML class (colour of a note, a group header).
    pub class: Option<String>,
    pub children: Vec<Item>,
}

impl Item {
    pub(crate) fn new(spans: Vec<Span>) -> Self {
        Item {
            spans,
            class: None,
            children: Vec::new(),
        }
    }
}

/// A block of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Block {
    /// A heading of level 1 to 6.
    Heading(u8, Vec<Span>),
    /// A paragraph; users' text in it becomes one paragraph per line.
    Para {
        class: Option<&'static str>,
        spans: Vec<Span>,
    },
    /// Label/value pairs (date, place).
    Fields(Vec<(String, Vec<Span>)>),
    /// A bulleted list.
    List(Vec<Item>),
    /// Users' text set apart (a method, a quote): one paragraph per line.
    Quote {
        class: Option<&'static str>,
        text: String,
    },
    /// Our own remark that a part is empty.
    Empty(String),
    /// A section that can be folded on screen (`<details>`, open so that it prints); Markdown
    /// shows its body.
    Details { summary: String, body: Vec<Block> },
    /// A visual container (board, grid columns, card): no mark of its own in Markdown.
    Wrap {
        tag: &'static str,
        class: String,
        body: Vec<Block>,
    },
}

/// Users' text.
pub(crate) fn text(s: &str) -> Span {
    Span::Text(s.to_owned())
}

/// Our own words.
pub(crate) fn label(s: impl Into<String>) -> Span {
    Span::Label(s.into())
}

/// A paragraph with no class.
pub(crate) fn para(spans: Vec<Span>) -> Block {
    Block::Para { class: None, spans }
}
