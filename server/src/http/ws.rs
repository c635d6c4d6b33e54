//! The WebSocket endpoint: upgrade checks, then one task per connection that turns socket
//! frames into room messages and the room's frames back into socket writes.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::SinkExt;
use tokio::time::Instant;

use super::limits::{self, Bucket, Over, Verdict};
use super::{client_addr, role_in, ApiError, AppState, Session};
use crate::auth::Role;
use crate::conn::{CloseReason, ConnId};
use crate::doc_id::{DocId, DocKind};
use crate::hub::Membership;
use crate::policy::Peer;
use crate::protocol::{self, Message};

/// Frames written to the socket in one go before flushing.
const WRITE_BATCH: usize = 64;
/// Tungstenite's read buffer is preallocated per connection: keep it small, it grows on demand.
const READ_BUFFER: usize = 512;

/// Query string of the WebSocket URL.
#[derive(Debug, serde::Deserialize)]
pub(super) struct WsQuery {
    /// The link's secret; y-websocket sends it through its `params` option.
    token: Option<String>,
}

/// `GET /ws/{doc}`: checks origin, credential and limits, then upgrades.
pub(super) async fn upgrade(
    State(state): State<AppState>,
    Path(doc): Path<String>,
    Query(query): Query<WsQuery>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if state.shutting_down.load(Relaxed) {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "server is restarting, retry shortly",
        )
        .into_response();
    }
    let doc = match DocId::parse(&doc) {
        Ok(doc) => doc,
        Err(e) => {
            state.metrics.reject("invalid_doc_id");
            return ApiError::bad_request(e.to_string()).into_response();
        }
    };
    if !origin_allowed(&state, &headers) {
        state.metrics.reject("bad_origin");
        return ApiError::forbidden("this origin may not open connections to this server")
            .into_response();
    }
    let (kind, role, session) = match authorize(&state, &doc, query.token.as_deref()).await {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let addr = client_addr(&state, peer, &headers);
    let cfg = &state.config;
    let slot = match limits::acquire(
        &state.conn_limits,
        addr,
        doc.as_str(),
        cfg.max_conns_per_addr,
        cfg.max_conns_per_doc,
    ) {
        Ok(slot) => slot,
        Err(over) => {
            let (reason, message) = match over {
                Over::Address => (
                    "too_many_conns_addr",
                    "too many connections from your address",
                ),
                Over::Document => (
                    "too_many_conns_doc",
                    "too many connections on this document",
                ),
            };
            state.metrics.reject(reason);
            return ApiError::new(StatusCode::TOO_MANY_REQUESTS, message).into_response();
        }
    };
    let max = cfg.max_message_bytes;
    ws.read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        // Tungstenite enforces a hard ceiling a bit above ours so that an oversized message is
        // usually seen whole by us and answered with a clean 1009.
        .max_message_size(max.saturating_add(max / 8).max(64 * 1024))
        .max_frame_size(max.saturating_add(max / 8).max(64 * 1024))
        .on_upgrade(move |socket| serve(socket, state, doc, kind, role, session, slot))
}

/// What kind of doc `doc` is and which role `token` grants in its workshop (`None` on an open
/// doc); what that role may do there is the doc's [`crate::policy`]'s to say.
async fn authorize(
    state: &AppState,
    doc: &DocId,
    token: Option<&str>,
) -> Result<(DocKind, Option<Role>, Option<Session>), ApiError> {
    let wid = doc.workshop();
    let is_workshop = state
        .registry
        .get(wid)
        .await
        .map_err(ApiError::internal)?
        .is_some();
    if !is_workshop {
        if state.config.open_docs {
            return Ok((DocKind::Open, None, None));
        }
        return Err(match token {
            None => {
                state.metrics.reject("no_token");
                ApiError::unauthorized("this needs the link's secret (token)")
            }
            Some(_) => {
                state.metrics.reject("bad_token");
                ApiError::forbidden("unknown workshop or wrong link")
            }
        });
    }
    let role = role_in(state, wid, token).await?;
    let kind = doc.kind_in_workshop();
    if kind == DocKind::Board && !state.hub.locks().knows(wid) {
        // A board's policy checks locks published by its workshop doc's policy: make sure that
        // room has been loaded once since start.
        let _ = state.hub.read(&doc.workshop_doc(), |_| ()).await;
    }
    let session = Session {
        workshop: wid.to_string(),
        role,
        doc: doc.clone(),
    };
    Ok((kind, Some(role), Some(session)))
}

/// Browsers always send Origin: it must be this server's own, or one allowed by configuration.
/// Clients that are not browsers send none and are judged by their token alone.
fn origin_allowed(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        return true;
    };
    let origin = origin.trim_end_matches('/');
    if state
        .config
        .allowed_origins
        .iter()
        .any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin.split_once("://").map(|(_, rest)| rest);
    matches!((host, origin_host), (Some(h), Some(o)) if h.eq_ignore_ascii_case(o))
}

async fn serve(
    mut socket: WebSocket,
    state: AppState,
    doc: DocId,
    kind: DocKind,
    role: Option<Role>,
    session: Option<Session>,
    slot: limits::ConnSlot,
) {
    let conn: ConnId = state.next_conn.fetch_add(1, Relaxed);
    let metrics = state.metrics.clone();
    metrics.connections.fetch_add(1, Relaxed);
    metrics.connections_total.fetch_add(1, Relaxed);
    if let Some(s) = session {
        state.sessions.insert(conn, s);
    }
    match state
        .hub
        .join(&doc, kind, Peer { conn, role }, state.config.send_queue)
        .await
    {
        Ok(membership) => {
            if let Some(reason) = pump(&mut socket, &state, membership).await {
                close(&mut socket, reason).await;
            }
        }
        Err(e) => {
            tracing::warn!(%doc, error = %e, "join failed");
            close(
                &mut socket,
                CloseReason::new(1011, "document unavailable, retry later"),
            )
            .await;
        }
    }
    state.sessions.remove(&conn);
    metrics.connections.fetch_sub(1, Relaxed);
    drop(slot);
}

/// Moves frames both ways until either side ends; returns the close to send, if any.
async fn pump(socket: &mut WebSocket, state: &AppState, mut m: Membership) -> Option<CloseReason> {
    let cfg = &state.config;
    let metrics = &state.metrics;
    let mut ping = tokio::time::interval_at(Instant::now() + cfg.ping_interval, cfg.ping_interval);
    let mut last_heard = Instant::now();
    let mut updates = Bucket::new(cfg.updates_per_sec, cfg.update_burst);
    let mut presence = Bucket::new(cfg.awareness_per_sec, cfg.awareness_burst);
    loop {
        tokio::select! {
            biased;
            reason = &mut m.close => return Some(closed(reason)),
            frame = m.outbox.recv() => {
                let Some(frame) = frame else {
                    return Some(CloseReason::new(1011, "document closed"));
                };
                // A client that stopped reading must not keep this task stuck in a write: the
                // room notices its full queue and asks us to close.
                tokio::select! {
                    r = write_frames(socket, &mut m.outbox, frame) => if r.is_err() { return None },
                    reason = &mut m.close => return Some(closed(reason)),
                }
            }
            incoming = socket.recv() => {
                let msg = match incoming {
                    None => return None,
                    Some(Ok(msg)) => msg,
                    Some(Err(e)) => return read_error(e, metrics),
                };
                last_heard = Instant::now();
                match msg {
                    WsMessage::Binary(data) => {
                        metrics.bytes_in.fetch_add(data.len() as u64, Relaxed);
                        if data.len() > cfg.max_message_bytes {
                            metrics.reject("message_too_big");
                            return Some(CloseReason::new(1009, format!("message larger than {} bytes", cfg.max_message_bytes)));
                        }
                        match protocol::decode_message(&data) {
                                Ok(msg) => {
                                let bucket = match &msg {
                                    Message::Awareness { .. } if data.len() > cfg.max_awareness_bytes => {
                                        metrics.reject("awareness_too_big");
                                        continue;
                                    }
                                    Message::Awareness { .. } => Some(&mut presence),
                                    Message::Update(_) | Message::SyncStep2(_) => Some(&mut updates),
                                    _ => None,
                                };
                                if let Some(bucket) = bucket {
                                    match bucket.take(Instant::now(), cfg.flood_grace) {
                                        Verdict::Pass => {}
                                        Verdict::Wait(d) => {
                                            metrics.reject("throttled");
                                            // Not reading is the throttle: the client's socket fills up.
                                            tokio::select! {
                                                _ = tokio::time::sleep(d) => {}
                                                reason = &mut m.close => return Some(closed(reason)),
                                            }
                                        }
                                        Verdict::Flood => {
                                            metrics.reject("flood");
                                            return Some(CloseReason::new(1008, "too many messages, slow down"));
                                        }
                                    }
                                }
                                if !m.send(msg).await {
                                    return Some(CloseReason::new(1011, "document closed"));
                                }
                            }
                            Err(e) => {
                                metrics.reject(e.reason());
                                tracing::debug!(error = %e, "malformed message");
                                return Some(CloseReason::new(1007, format!("malformed message: {e}")));
                            }
                        }
                    }
                    WsMessage::Text(_) => {
                        metrics.reject("text_frame");
                        return Some(CloseReason::new(1003, "binary y-protocols messages only"));
                    }
                    WsMessage::Close(_) => return None,
                    WsMessage::Ping(_) | WsMessage::Pong(_) => {}
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() >= cfg.idle_timeout {
                    metrics.reject("idle_timeout");
                    return Some(CloseReason::new(1001, "no sign of life"));
                }
                tokio::select! {
                    r = socket.send(WsMessage::Ping(Bytes::new())) => if r.is_err() { return None },
                    reason = &mut m.close => return Some(closed(reason)),
                }
            }
        }
    }
}

/// Writes `first` and whatever else is already queued, then flushes once.
async fn write_frames(
    socket: &mut WebSocket,
    outbox: &mut tokio::sync::mpsc::Receiver<Bytes>,
    first: Bytes,
) -> Result<(), axum::Error> {
    let mut next = Some(first);
    let mut n = 0;
    while let Some(frame) = next.take() {
        socket.feed(WsMessage::Binary(frame)).await?;
        n += 1;
        if n < WRITE_BATCH {
            next = outbox.try_recv().ok();
        }
    }
    socket.flush().await
}

fn closed(reason: Result<CloseReason, tokio::sync::oneshot::error::RecvError>) -> CloseReason {
    reason.unwrap_or_else(|_| CloseReason::new(1011, "document closed"))
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

/// Sends a close frame, without waiting long for a client that does not read.
async fn close(socket: &mut WebSocket, reason: CloseReason) {
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
