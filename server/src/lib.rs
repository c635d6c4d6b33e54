//! Palabre: a realtime collaborative board server for participatory workshops.

pub mod board;
pub mod protocol;
pub mod store;
