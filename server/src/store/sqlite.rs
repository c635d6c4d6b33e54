//! SQLite (WAL) implementation of [`super::Store`] with group commit on a dedicated thread.
