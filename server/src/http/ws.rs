//! The WebSocket endpoint's door: the upgrade's checks (origin, credential, caps, rate limits;
//! a held doc only for its device or the facilitator), then one task per connection that joins
//! the room and hands the socket to [`pump`].

use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;

use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Extension, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;

use super::limits::{self, Over};
use super::serve::ConnGate;
use super::{client_addr, role_in, ApiError, AppState, Session};
use crate::auth::Role;
use crate::conn::{CloseReason, ConnId};
use crate::doc_id::{DocId, DocKind};
use crate::policy::{Peer, Standing};

mod pump;
mod read;

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
    let (kind, role, session) =
        match authorize(&state, &doc, token.as_deref(), device.as_ref()).await {
            Ok(v) => v,
            Err(e) => return e.into_response(),
        };
    // A doc not in memory is read from the store and becomes a room: an address opening ever
    // new docs is slowed down, whatever its connections.
    if !state.hub.is_loaded(&doc) {
        if let Err(wait) = state.edge.writes.may_open(addr, doc.as_str()) {
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
    device: Option<&crate::device::DeviceId>,
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
    if kind == DocKind::Held {
        // A device's held notes are read by that device and the facilitator only.
        let mine = device.is_some_and(|d| Some(d.as_str()) == doc.device());
        if role != Role::Facilitator && !(role == Role::Participant && mine) {
            state.metrics.reject("held_denied");
            return Err(ApiError::forbidden(crate::policy::NOT_YOURS));
        }
    }
    if matches!(kind, DocKind::Board | DocKind::Held) && !state.hub.locks().knows(wid) {
        // A board's policy checks locks published by its workshop doc's policy: make sure that
        // room has been loaded once since start.
        let _ = state.hub.read(&doc.workshop_doc(), |_| ()).await;
    }
    super::refresh_usage(state, wid).await?;
    // Only real boards are served: a stray `{wid}.anything` would be a new doc on disk.
    let board = doc.board_doc().unwrap_or_else(|| doc.clone());
    let standing = state.hub.locks().standing(&board);
    if matches!(kind, DocKind::Board | DocKind::Held)
        && role != Role::Facilitator
        && standing == Standing::Unknown
    {
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
            if let Some(reason) =
                pump::pump(&mut sink, &mut stream, &state, &mut membership, addr).await
            {
                pump::close(&mut sink, reason).await;
            }
            // Leaving the room drops whatever was still queued towards this connection.
            drop(membership);
        }
        Err(e) => {
            tracing::warn!(%doc, error = %e, "join failed");
            pump::close(
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
