//! The one integration-test binary: the real Palabre server (in-process or as a child
//! process) driven by real clients — yrs over tokio-tungstenite, and npm y-websocket from Node.
//!
//! Needs `target/debug/palabre` (`cargo build -p palabre`; or set `PALABRE_BIN`) for the
//! crash and signal tests, and Node.js 18+ with npm for the interop tests (they run
//! `npm ci` in tests/node when its node_modules is missing). Randomized tests print their
//! seed; `PALABRE_TEST_SEED=<n>` replays one. A watchdog aborts the run after
//! `PALABRE_TEST_WATCHDOG_SECS` (300) so a blocked thread fails instead of hanging.

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

#[path = "integration/store_backlog.rs"]
mod store_backlog;

#[path = "integration/presence.rs"]
mod presence;

#[path = "integration/interop.rs"]
mod interop;

#[path = "integration/ops.rs"]
mod ops;

#[path = "integration/api.rs"]
mod api;

#[path = "integration/bench_fullboard.rs"]
mod bench_fullboard;

#[path = "integration/reports.rs"]
mod reports;

#[path = "integration/workshops.rs"]
mod workshops;

#[path = "integration/security.rs"]
mod security;

#[path = "integration/hostile_http.rs"]
mod hostile_http;
#[path = "integration/room_faults.rs"]
mod room_faults;

#[path = "integration/hostile_room.rs"]
mod hostile_room;

#[path = "integration/hostile_boards.rs"]
mod hostile_boards;

#[path = "integration/hostile_presence.rs"]
mod hostile_presence;

#[path = "integration/hostile_writes.rs"]
mod hostile_writes;

#[path = "../server/src/store/testdb.rs"]
mod testdb;

#[path = "integration/cluster.rs"]
mod cluster;

#[path = "integration/cluster_sync.rs"]
mod cluster_sync;

#[path = "integration/cluster_faults.rs"]
mod cluster_faults;

#[path = "integration/cluster_shared.rs"]
mod cluster_shared;

#[path = "integration/cluster_guesses.rs"]
mod cluster_guesses;

#[path = "integration/cluster_held.rs"]
mod cluster_held;

#[path = "integration/rgpd.rs"]
mod rgpd;

#[path = "integration/ownership.rs"]
mod ownership;

#[path = "integration/phases.rs"]
mod phases;

#[path = "integration/held.rs"]
mod held;
