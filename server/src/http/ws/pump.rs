//! One connection's pump: the room's frames out to the socket (batched, flushed, pinged, each
//! write bounded by `--write-stall`) side by side with the socket's frames in ([`super::read`]).

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket};
use bytes::Bytes;
use futures_util::stream::SplitSink;
use futures_util::SinkExt;
use tokio::time::Instant;

use super::super::AppState;
use super::read::{read_loop, Stream};
use crate::conn::CloseReason;
use crate::hub::Membership;
use crate::outbox::OutboxReceiver;

/// Frames written to the socket in one go before flushing.
const WRITE_BATCH: usize = 64;

pub(super) type Sink = SplitSink<WebSocket, WsMessage>;

/// Moves frames both ways until either side ends; returns the close to send, if any.
///
/// Reading and writing run side by side: a writer waiting on a socket that does not drain never
/// stops the idle check, and a write that makes no progress for `--write-stall` ends the
/// connection by itself.
pub(super) async fn pump(
    sink: &mut Sink,
    stream: &mut Stream,
    state: &AppState,
    m: &mut Membership,
    addr: std::net::IpAddr,
) -> Option<CloseReason> {
    let room = m.sender();
    tokio::select! {
        biased;
        reason = &mut m.close => Some(closed(reason)),
        end = write_loop(sink, &mut m.outbox, state) => end,
        end = read_loop(stream, state, &room, addr) => end,
    }
}

/// Writes what the room queues, and pings; each write must complete within `--write-stall`.
async fn write_loop(
    sink: &mut Sink,
    outbox: &mut OutboxReceiver,
    state: &AppState,
) -> Option<CloseReason> {
    let cfg = &state.config;
    let mut ping = tokio::time::interval_at(Instant::now() + cfg.ping_interval, cfg.ping_interval);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let outcome = tokio::select! {
            frame = outbox.recv() => {
                let Some(frame) = frame else {
                    return Some(CloseReason::new(1011, "document closed"));
                };
                write_frames(sink, outbox, frame, cfg.write_stall).await
            }
            _ = ping.tick() => {
                match tokio::time::timeout(cfg.write_stall, sink.send(WsMessage::Ping(Bytes::new()))).await {
                    Ok(r) => r.map_err(|_| WriteError::Socket),
                    Err(_) => Err(WriteError::Stalled),
                }
            }
        };
        match outcome {
            Ok(()) => {}
            Err(WriteError::Socket) => return None,
            Err(WriteError::Stalled) => {
                state.metrics.reject("write_stall");
                state.metrics.slow_disconnects.fetch_add(1, Relaxed);
                tracing::info!(
                    queued = outbox.queued(),
                    "disconnecting a client whose socket stopped draining"
                );
                return Some(CloseReason::new(1013, "not reading: reconnect to resync"));
            }
        }
    }
}

/// Why a write ended the connection.
enum WriteError {
    /// The socket failed (the peer went away).
    Socket,
    /// The socket did not take a frame within `--write-stall`.
    Stalled,
}

/// Writes `first` and whatever else is already queued, then flushes once; every step must make
/// progress within `stall`. The bytes count against the queue's budget until flushed.
async fn write_frames(
    sink: &mut Sink,
    outbox: &mut OutboxReceiver,
    first: Bytes,
    stall: Duration,
) -> Result<(), WriteError> {
    let mut next = Some(first);
    let mut n = 0;
    let mut bytes = 0;
    while let Some(frame) = next.take() {
        bytes += frame.len();
        let fed = tokio::time::timeout(stall, sink.feed(WsMessage::Binary(frame))).await;
        match fed {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Err(WriteError::Socket),
            Err(_) => return Err(WriteError::Stalled),
        }
        n += 1;
        if n < WRITE_BATCH {
            next = outbox.try_recv();
        }
    }
    let flushed = tokio::time::timeout(stall, sink.flush()).await;
    match flushed {
        Ok(Ok(())) => {
            outbox.written(bytes);
            Ok(())
        }
        Ok(Err(_)) => Err(WriteError::Socket),
        Err(_) => Err(WriteError::Stalled),
    }
}

fn closed(reason: Result<CloseReason, tokio::sync::oneshot::error::RecvError>) -> CloseReason {
    reason.unwrap_or_else(|_| CloseReason::new(1011, "document closed"))
}

/// Sends a close frame, without waiting long for a client that does not read.
pub(super) async fn close(socket: &mut Sink, reason: CloseReason) {
    let mut text = reason.reason;
    // Control frames carry at most 125 bytes: 2 for the code, 123 for the reason.
    while text.len() > 123 {
        text.pop();
    }
    let frame = CloseFrame {
        code: reason.code,
        reason: text.into(),
    };
    let _ = tokio::time::timeout(
        Duration::from_secs(2),
        socket.send(WsMessage::Close(Some(frame))),
    )
    .await;
}
