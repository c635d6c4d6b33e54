//! y-protocols frames (sync, awareness, auth, query-awareness) <-> typed messages. No IO.

pub mod bounds;
