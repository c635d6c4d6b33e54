//! The one integration-test binary: the real Palabre server (in-process or as a child
//! process) driven by real clients — yrs over tokio-tungstenite, and npm y-websocket from Node.

#[path = "integration/harness.rs"]
mod harness;

#[path = "integration/client.rs"]
mod client;

#[path = "integration/sync.rs"]
mod sync;

#[path = "integration/persist.rs"]
mod persist;

#[path = "integration/crash.rs"]
mod crash;

#[path = "integration/bad_input.rs"]
mod bad_input;

#[path = "integration/slow.rs"]
mod slow;

#[path = "integration/presence.rs"]
mod presence;

#[path = "integration/interop.rs"]
mod interop;

#[path = "integration/ops.rs"]
mod ops;

#[path = "integration/api.rs"]
mod api;

#[path = "integration/reports.rs"]
mod reports;

#[path = "integration/workshops.rs"]
mod workshops;

#[path = "integration/security.rs"]
mod security;
