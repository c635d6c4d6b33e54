//! Workshops through the real server, by topic: the seed day written by yrs clients over
//! WebSocket and exported by the API and the offline `palabre export` against the golden files
//! (`golden.rs`), concurrent moves and adds (`concurrent.rs`), hostile text (`hostile_text.rs`),
//! and the roles of the REST API (`rest.rs`). Shared here: a note as the clients write it.

use std::time::{SystemTime, UNIX_EPOCH};

use palabre::board::grid::NoteInput;
use palabre::board::Author;

#[path = "workshops/golden.rs"]
mod golden;

#[path = "workshops/concurrent.rs"]
mod concurrent;

#[path = "workshops/hostile_text.rs"]
mod hostile_text;

#[path = "workshops/rest.rs"]
mod rest;

/// Now, in milliseconds since the epoch, as the clients stamp what they create.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A note by `author` in `column`, created now.
fn note(id: &str, column: &str, text: &str, author: &Author) -> NoteInput {
    NoteInput {
        id: id.to_string(),
        column: column.to_string(),
        text: text.to_string(),
        colour: String::new(),
        author: author.clone(),
        created_at: now_ms(),
    }
}
