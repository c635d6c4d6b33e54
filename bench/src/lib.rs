//! Palabre's load generator: simulated y-websocket clients, the workloads, a bare relay and the report.
//!
//! - [`wire`]: y-websocket framing and messages; no IO.
//! - [`client`]: one simulated browser (yrs doc + WebSocket) driven by commands.
//! - [`procstat`]: CPU and memory of the server, the generator and the machine from /proc.
//! - [`stats`]: latency percentiles and CDF.
//! - [`workload`]: W1–W4 and the result files they write.
//! - [`relay`]: the floor — forwards frames between sockets of a room, no document.
//! - [`svg`]: the hand-written CDF plot.
//! - [`report`]: renders `docs/benchmarks.md` tables and the W1 latency plot from result files.

pub mod client;
pub mod procstat;
pub mod relay;
pub mod report;
pub mod stats;
pub mod svg;
pub mod wire;
pub mod workload;
