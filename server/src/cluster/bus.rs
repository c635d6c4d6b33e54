//! Redis pub/sub between nodes, for what may be lost in transit because it is reconciled or
//! renewed anyway:
//! - *credentials changed* (`palabre:credentials`, payload `node:wid`): every other node reads
//!   that workshop's credentials from PostgreSQL again and closes (4001) the connections
//!   opened with a secret that changed. Pub/sub delivers only to connected subscribers, so a
//!   node whose subscription was interrupted re-reads *every* workshop it has cached when it
//!   subscribes again, and a publisher that could not publish retries until it can.
//! - *presence* (`palabre:presence:{doc}`, payload node id + one awareness frame): the changes
//!   and renewals each room relays to its own connections; other nodes hand them to their room
//!   of that doc ([`crate::room`] keeps them apart from its own and never publishes them again).
//!   Lossy by design: renewals come every `awareness_timeout / 6`, and states a dead node
//!   stops renewing expire.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::auth::{Reloaded, Role};
use crate::doc_id::DocId;
use crate::hub::Hub;
use crate::protocol::{self, Message};

use super::Sessions;

/// Channel of credentials events.
const CREDENTIALS: &str = "palabre:credentials";
/// Prefix of each doc's presence channel.
const PRESENCE: &str = "palabre:presence:";
/// Largest presence message taken from another node (a doc's whole presence budget fits).
const MAX_PRESENCE_MESSAGE: usize = 1 << 20;
/// Bound on connecting and on each answer.
const TIMEOUT: Duration = Duration::from_secs(2);
/// Wait before reconnecting or retrying.
const RETRY: Duration = Duration::from_millis(250);
/// Presence messages queued for Redis; past it they are dropped (renewed later).
pub(super) const PRESENCE_QUEUE: usize = 1024;

/// Presence of one doc, encoded as the frame its room relayed locally.
pub(super) type PresenceOut = (DocId, Bytes);

/// Publishes presence and credentials events; retries the latter until Redis takes them.
pub(super) async fn publish(
    client: redis::Client,
    node: String,
    mut presence: mpsc::Receiver<PresenceOut>,
    mut credentials: mpsc::UnboundedReceiver<String>,
) {
    let mut conn = None;
    let mut pending: HashSet<String> = HashSet::new();
    loop {
        let mut pipe = redis::pipe();
        tokio::select! {
            Some((doc, frame)) = presence.recv() => {
                let mut payload = Vec::with_capacity(node.len() + frame.len());
                payload.extend_from_slice(node.as_bytes());
                payload.extend_from_slice(&frame);
                pipe.cmd("PUBLISH").arg(format!("{PRESENCE}{}", doc.as_str())).arg(payload).ignore();
                while let Ok((doc, frame)) = presence.try_recv() {
                    let mut payload = node.as_bytes().to_vec();
                    payload.extend_from_slice(&frame);
                    pipe.cmd("PUBLISH").arg(format!("{PRESENCE}{}", doc.as_str())).arg(payload).ignore();
                }
            }
            Some(wid) = credentials.recv() => {
                pending.insert(wid);
            }
            _ = tokio::time::sleep(RETRY), if !pending.is_empty() => {}
            else => return,
        }
        while let Ok(wid) = credentials.try_recv() {
            pending.insert(wid);
        }
        for wid in &pending {
            pipe.cmd("PUBLISH")
                .arg(CREDENTIALS)
                .arg(format!("{node}:{wid}"))
                .ignore();
        }
        let outcome = match connect(&client, &mut conn).await {
            Ok(c) => pipe.query_async::<()>(c).await,
            Err(e) => Err(e),
        };
        match outcome {
            Ok(()) => pending.clear(),
            Err(error) => {
                if conn.take().is_some() {
                    tracing::warn!(%error, "cannot publish presence or credential changes to Redis; retrying");
                }
            }
        }
    }
}

async fn connect<'a>(
    client: &redis::Client,
    conn: &'a mut Option<redis::aio::MultiplexedConnection>,
) -> Result<&'a mut redis::aio::MultiplexedConnection, redis::RedisError> {
    if conn.is_none() {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT));
        *conn = Some(
            client
                .get_multiplexed_async_connection_with_config(&config)
                .await?,
        );
    }
    conn.as_mut()
        .ok_or_else(|| redis::RedisError::from((redis::ErrorKind::Io, "no Redis connection")))
}

/// Subscribes to both channels for as long as the process runs; after every (re)subscription
/// reconciles every cached workshop's credentials (events may have been missed meanwhile).
pub(super) async fn listen(
    client: redis::Client,
    node: String,
    hub: Hub,
    sessions: Arc<dyn Sessions>,
) {
    let mut announced_loss = false;
    loop {
        let subscribed = async {
            let mut pubsub = tokio::time::timeout(TIMEOUT, client.get_async_pubsub())
                .await
                .map_err(|_| {
                    redis::RedisError::from((redis::ErrorKind::Io, "connect timeout"))
                })??;
            pubsub.subscribe(CREDENTIALS).await?;
            pubsub.psubscribe(format!("{PRESENCE}*")).await?;
            Ok::<_, redis::RedisError>(pubsub)
        }
        .await;
        let pubsub = match subscribed {
            Ok(pubsub) => pubsub,
            Err(error) => {
                if !announced_loss {
                    tracing::warn!(%error, "cannot subscribe to Redis: credential changes of other nodes are read again once it is back");
                    announced_loss = true;
                }
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        announced_loss = false;
        let catch_up = Arc::clone(&sessions);
        tokio::spawn(async move {
            for wid in catch_up.registry().cached_workshops() {
                reconcile(&*catch_up, &wid).await;
            }
        });
        let mut messages = pubsub.into_on_message();
        while let Some(msg) = messages.next().await {
            let channel = msg.get_channel_name();
            if channel == CREDENTIALS {
                let payload = String::from_utf8_lossy(msg.get_payload_bytes());
                if let Some((from, wid)) = payload.split_once(':') {
                    if from != node {
                        reconcile(&*sessions, wid).await;
                    }
                }
            } else if let Some(doc) = channel.strip_prefix(PRESENCE) {
                on_presence(&hub, &node, doc, msg.get_payload_bytes());
            }
        }
        tracing::warn!("lost the Redis subscription: resubscribing");
        tokio::time::sleep(RETRY).await;
    }
}

fn on_presence(hub: &Hub, node: &str, doc: &str, payload: &[u8]) {
    if payload.len() > MAX_PRESENCE_MESSAGE || payload.starts_with(node.as_bytes()) {
        return;
    }
    let (Ok(doc), Some(frame)) = (DocId::parse(doc), payload.get(node.len()..)) else {
        return;
    };
    if let Ok(Message::Awareness { update, .. }) = protocol::decode_message(frame) {
        hub.apply_remote_presence(&doc, update);
    }
}

/// Reads workshop `wid`'s credentials again and closes the connections whose secret changed
/// (all of them if the workshop is gone).
async fn reconcile(sessions: &dyn Sessions, wid: &str) {
    match sessions.registry().reload(wid).await {
        Ok(Reloaded {
            before: Some(before),
            now,
        }) => {
            // Each role's connections close only when that role's secret changed (renewing
            // the participant link keeps the projector's viewer link, for instance).
            let changed = |role: Role| match &now {
                Some(now) => before.secret_of(role) != now.secret_of(role),
                None => true,
            };
            let closing = [Role::Facilitator, Role::Participant, Role::Viewer].map(changed);
            if closing.iter().any(|c| *c) {
                tracing::info!(workshop = %wid, "credentials changed on another node: closing the old links' connections");
                let which = |role: Role| match role {
                    Role::Facilitator => closing[0],
                    Role::Participant => closing[1],
                    Role::Viewer => closing[2],
                };
                sessions.close_sessions(wid, &which).await;
            }
        }
        Ok(_) => {}
        Err(error) => {
            // Not trusted any longer: the next use reads the store (or fails while it is down).
            sessions.registry().forget(wid);
            tracing::warn!(workshop = %wid, %error, "cannot re-read credentials changed on another node")
        }
    }
}
