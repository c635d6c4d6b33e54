//! One connection's reading side: frames from the socket checked (size, text, idle, decoding),
//! throttled (per-connection buckets, the address's write budget) and handed to the room.

use std::sync::atomic::Ordering::Relaxed;

use axum::extract::ws::{Message as WsMessage, WebSocket};
use futures_util::stream::SplitStream;
use futures_util::StreamExt;
use tokio::time::Instant;

use super::super::limits::{self, Bucket, Verdict};
use super::super::AppState;
use crate::conn::CloseReason;
use crate::hub::RoomSender;
use crate::protocol::{self, Message};

/// The socket's reading half.
pub(super) type Stream = SplitStream<WebSocket>;

/// Reads frames, checks and throttles them, hands them to the room.
pub(super) async fn read_loop(
    stream: &mut Stream,
    state: &AppState,
    room: &RoomSender,
    addr: std::net::IpAddr,
) -> Option<CloseReason> {
    let cfg = &state.config;
    let metrics = &state.metrics;
    // Since when this connection has waited for its address's write budget without pause.
    let mut write_wait = None;
    let mut updates = Bucket::new(cfg.updates_per_sec, cfg.update_burst);
    let mut presence = Bucket::new(cfg.awareness_per_sec, cfg.awareness_burst);
    // Each of these makes the room encode and queue a reply: a viewer link must not turn them
    // into a stream of copies of the whole doc.
    let mut queries = Bucket::new(cfg.sync_per_sec, cfg.sync_burst);
    let mut last_heard = Instant::now();
    loop {
        let incoming =
            match tokio::time::timeout_at(last_heard + cfg.idle_timeout, stream.next()).await {
                Ok(incoming) => incoming,
                Err(_) => {
                    metrics.reject("idle_timeout");
                    return Some(CloseReason::new(1001, "no sign of life"));
                }
            };
        let msg = match incoming {
            None => return None,
            Some(Ok(msg)) => msg,
            Some(Err(e)) => return read_error(e, metrics),
        };
        last_heard = Instant::now();
        let data = match msg {
            WsMessage::Binary(data) => data,
            WsMessage::Text(_) => {
                metrics.reject("text_frame");
                return Some(CloseReason::new(1003, "binary y-protocols messages only"));
            }
            WsMessage::Close(_) => return None,
            WsMessage::Ping(_) | WsMessage::Pong(_) => continue,
        };
        metrics.bytes_in.fetch_add(data.len() as u64, Relaxed);
        if data.len() > cfg.max_message_bytes {
            metrics.reject("message_too_big");
            return Some(CloseReason::new(
                1009,
                format!("message larger than {} bytes", cfg.max_message_bytes),
            ));
        }
        let msg = match protocol::decode_message(&data) {
            Ok(msg) => msg,
            Err(e) => {
                metrics.reject(e.reason());
                tracing::debug!(error = %e, "malformed message");
                return Some(CloseReason::new(1007, format!("malformed message: {e}")));
            }
        };
        let bucket = match &msg {
            Message::Awareness { .. } if data.len() > cfg.max_awareness_bytes => {
                metrics.reject("awareness_too_big");
                continue;
            }
            Message::Awareness { .. } => Some(&mut presence),
            Message::Update(_) | Message::SyncStep2(_) => Some(&mut updates),
            Message::SyncStep1(_) | Message::QueryAwareness => Some(&mut queries),
            Message::Auth { .. } => None,
        };
        if let Some(bucket) = bucket {
            match bucket.take(Instant::now(), cfg.flood_grace) {
                Verdict::Pass => {}
                Verdict::Wait(d) => {
                    metrics.reject("throttled");
                    // Not reading is the throttle: the client's socket fills up.
                    tokio::time::sleep(d).await;
                }
                Verdict::Flood => {
                    metrics.reject("flood");
                    return Some(CloseReason::new(1008, "too many messages, slow down"));
                }
            }
        }
        if let Message::Update(_) | Message::SyncStep2(_) = &msg {
            let budget = &state.edge.writes;
            let grace = cfg.flood_grace;
            let paid =
                limits::throttle_write(budget, addr, data.len(), grace, &mut write_wait, metrics);
            if let Err(reason) = paid.await {
                return Some(reason);
            }
            // The wait was ours (not reading), not the peer's silence.
            last_heard = Instant::now();
        }
        if !room.send(msg).await {
            return Some(CloseReason::new(1011, "document closed"));
        }
    }
}

fn read_error(e: axum::Error, metrics: &crate::metrics::Metrics) -> Option<CloseReason> {
    use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError};
    let inner = e.into_inner();
    match inner.downcast_ref::<WsError>() {
        Some(WsError::Capacity(CapacityError::MessageTooLong { .. })) => {
            metrics.reject("message_too_big");
            Some(CloseReason::new(1009, "message too big"))
        }
        Some(WsError::Capacity(_)) => {
            metrics.reject("frame_too_big");
            Some(CloseReason::new(1009, "frame too big"))
        }
        Some(WsError::Protocol(p)) => {
            metrics.reject("websocket_protocol");
            Some(CloseReason::new(
                1002,
                format!("websocket protocol error: {p}"),
            ))
        }
        _ => None,
    }
}
