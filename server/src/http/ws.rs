//! The WebSocket endpoint: upgrade checks, then one task per connection that turns socket
//! frames into room messages and the room's frames back into socket writes.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Extension, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::time::Instant;

use super::limits::{self, Bucket, Over, Verdict};
use super::serve::ConnGate;
use super::{client_addr, role_in, ApiError, AppState, Session};
use crate::auth::Role;
use crate::conn::{CloseReason, ConnId};
use crate::doc_id::{DocId, DocKind};
use crate::hub::{Membership, RoomSender};
use crate::outbox::OutboxReceiver;
use crate::policy::{Peer, Standing};
use crate::protocol::{self, Message};

/// Frames written to the socket in one go before flushing.
const WRITE_BATCH: usize = 64;
/// Tungstenite's read buffer is preallocated per connection: keep it small, it grows on demand.
const READ_BUFFER: usize = 512;

/// Query string of the WebSocket URL.
#[derive(Debug, serde::Deserialize)]
pub(super) struct WsQuery {
    /// The link's secret, for standard y-websocket clients (its `params` option). Proxies may
    /// log query strings: clients that can should send the subprotocol instead.
    token: Option<String>,
    /// The device's secret ([`crate::device`]), for clients that cannot send subprotocols.
    device: Option<String>,
}

/// The subprotocol the server speaks (y-protocols over binary frames).
pub const SUBPROTOCOL: &str = "palabre";
/// A client offering `palabre.token.<secret>` among its subprotocols sends its secret in the
/// `Sec-WebSocket-Protocol` header, which no proxy logs; the server answers `palabre`.
pub const TOKEN_SUBPROTOCOL_PREFIX: &str = "palabre.token.";

/// A client offering `palabre.device.<secret>` sends its device secret the same way.
pub const DEVICE_SUBPROTOCOL_PREFIX: &str = "palabre.device.";

/// The value offered as a subprotocol `prefix<value>`, if any.
fn subprotocol_value(headers: &HeaderMap, prefix: &str) -> Option<String> {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|p| p.trim().strip_prefix(prefix))
        .map(str::to_string)
}

/// `GET /ws/{doc}`: checks origin, credential and limits, then upgrades.
#[allow(clippy::too_many_arguments)]
pub(super) async fn upgrade(
    State(state): State<AppState>,
    Path(doc): Path<String>,
    Query(query): Query<WsQuery>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    gate: Option<Extension<std::sync::Arc<ConnGate>>>,
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
    if !state
        .edge
        .origin_allowed(&headers, &state.config.allowed_origins)
    {
        state.metrics.reject("bad_origin");
        return ApiError::forbidden("this origin may not open connections to this server")
            .into_response();
    }
    let addr = client_addr(&state, peer, &headers);
    let cfg = &state.config;
    // Checking a credential may read the store: an address gets a bounded number at once.
    let Some(_checking) = state.edge.upgrade_slot(addr, cfg.max_upgrades_per_addr) else {
        state.metrics.reject("too_many_upgrades_addr");
        return ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too many connections being opened from your address",
        )
        .into_response();
    };
    let token = subprotocol_value(&headers, TOKEN_SUBPROTOCOL_PREFIX).or(query.token);
    let device = match subprotocol_value(&headers, DEVICE_SUBPROTOCOL_PREFIX).or(query.device) {
        None => None,
        Some(secret) => match crate::device::derive(doc.workshop(), &secret) {
            Ok(id) => Some(id),
            Err(e) => {
                state.metrics.reject("bad_device");
                return ApiError::bad_request(e.to_string()).into_response();
            }
        },
    };
    let (kind, role, session) = match authorize(&state, &doc, token.as_deref()).await {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    // A doc not in memory is read from the store and becomes a room: an address opening ever
    // new docs is slowed down, whatever its connections.
    if !state.hub.is_loaded(&doc) {
        if let Err(wait) = state.edge.writes.may_open(addr) {
            state.metrics.reject("too_many_doc_opens");
            return super::api::retry_after(
                ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too many documents opened from your address: retry later",
                ),
                wait,
            );
        }
    }
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
    // The connection is authorised: it leaves the unauthenticated pool, and the WebSocket task
    // holds its place among open connections.
    let permit = gate.map(|Extension(g)| g.authenticated());
    let max = cfg.max_message_bytes;
    ws.protocols([SUBPROTOCOL])
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        // Tungstenite enforces a hard ceiling a bit above ours so that an oversized message is
        // usually seen whole by us and answered with a clean 1009.
        .max_message_size(max.saturating_add(max / 8).max(64 * 1024))
        .max_frame_size(max.saturating_add(max / 8).max(64 * 1024))
        .on_upgrade(move |socket| async move {
            serve(
                socket,
                state,
                doc,
                kind,
                Peer0 { role, device },
                session,
                slot,
            )
            .await;
            drop(permit);
        })
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
        if state.config.open_docs && !state.registry.is_revoked(wid) {
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
    super::refresh_usage(state, wid).await?;
    // Only real boards are served: a stray `{wid}.anything` would be a new doc on disk.
    let standing = state.hub.locks().standing(doc);
    if kind == DocKind::Board && role != Role::Facilitator && standing == Standing::Unknown {
        state.metrics.reject("not_on_agenda");
        return Err(ApiError::not_found(
            "no such board on this workshop's agenda",
        ));
    }
    let session = Session {
        workshop: wid.to_string(),
        role,
        doc: doc.clone(),
    };
    Ok((kind, Some(role), Some(session)))
}

/// Who the upgrade established, before the connection has an id.
struct Peer0 {
    role: Option<Role>,
    device: Option<crate::device::DeviceId>,
}

async fn serve(
    socket: WebSocket,
    state: AppState,
    doc: DocId,
    kind: DocKind,
    who: Peer0,
    session: Option<Session>,
    slot: limits::ConnSlot,
) {
    let Peer0 { role, device } = who;
    let conn: ConnId = state.next_conn.fetch_add(1, Relaxed);
    let metrics = state.metrics.clone();
    metrics.connections.fetch_add(1, Relaxed);
    metrics.connections_total.fetch_add(1, Relaxed);
    if let Some(s) = session {
        state.sessions.insert(conn, s);
    }
    let (mut sink, mut stream) = socket.split();
    match state
        .hub
        .join(
            &doc,
            kind,
            Peer { conn, role, device },
            state.config.send_queue_bytes,
        )
        .await
    {
        Ok(mut membership) => {
            let addr = slot.addr();
            if let Some(reason) = pump(&mut sink, &mut stream, &state, &mut membership, addr).await
            {
                close(&mut sink, reason).await;
            }
            // Leaving the room drops whatever was still queued towards this connection.
            drop(membership);
        }
        Err(e) => {
            tracing::warn!(%doc, error = %e, "join failed");
            close(
                &mut sink,
                CloseReason::new(1011, "document unavailable, retry later"),
            )
            .await;
        }
    }
    state.sessions.remove(&conn);
    metrics.connections.fetch_sub(1, Relaxed);
    drop(slot);
}

type Sink = SplitSink<WebSocket, WsMessage>;
type Stream = SplitStream<WebSocket>;

/// Moves frames both ways until either side ends; returns the close to send, if any.
///
/// Reading and writing run side by side: a writer waiting on a socket that does not drain never
/// stops the idle check, and a write that makes no progress for `--write-stall` ends the
/// connection by itself.
async fn pump(
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

/// Reads frames, checks and throttles them, hands them to the room.
async fn read_loop(
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
        }
        if !room.send(msg).await {
            return Some(CloseReason::new(1011, "document closed"));
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
async fn close(socket: &mut Sink, reason: CloseReason) {
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
