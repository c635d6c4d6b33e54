//! The publisher task: appends this node's durable updates to the docs' streams, in pipelined
//! batches, trimmed (`MAXLEN ~`) and expiring, and tells the peers to catch up from PostgreSQL
//! for whatever could not be appended.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use tokio::sync::mpsc;

use super::{stream_key, ClusterStatus, Dirty, Outgoing, STREAM_MAXLEN, STREAM_TTL};

/// Most updates in one pipeline.
const BATCH: usize = 256;

/// Bound on connecting to Redis and on each pipeline's answer.
const TIMEOUT: Duration = Duration::from_secs(2);

/// How often pending resync markers are retried while nothing else is published.
const MARKER_RETRY: Duration = Duration::from_millis(500);

pub(super) struct Publisher {
    client: redis::Client,
    conn: Option<MultiplexedConnection>,
    dirty: Arc<Dirty>,
    status: Arc<ClusterStatus>,
}

impl Publisher {
    pub(super) fn new(
        client: redis::Client,
        dirty: Arc<Dirty>,
        status: Arc<ClusterStatus>,
    ) -> Self {
        Self {
            client,
            conn: None,
            dirty,
            status,
        }
    }

    pub(super) async fn run(mut self, mut queue: mpsc::Receiver<Outgoing>) {
        loop {
            let first = match tokio::time::timeout(MARKER_RETRY, queue.recv()).await {
                Ok(Some(first)) => Some(first),
                Ok(None) => return,
                Err(_) => None,
            };
            let mut batch: Vec<Outgoing> = first.into_iter().collect();
            while batch.len() < BATCH {
                match queue.try_recv() {
                    Ok(more) => batch.push(more),
                    Err(_) => break,
                }
            }
            let markers = self.dirty.take();
            if batch.is_empty() && markers.is_empty() {
                continue;
            }
            self.send(batch, markers).await;
        }
    }

    async fn send(&mut self, batch: Vec<Outgoing>, markers: Vec<crate::doc_id::DocId>) {
        let node = self.status.node().to_owned();
        let mut pipe = redis::pipe();
        for out in &batch {
            let key = stream_key(&out.doc);
            pipe.cmd("XADD")
                .arg(&key)
                .arg("MAXLEN")
                .arg("~")
                .arg(STREAM_MAXLEN)
                .arg("*")
                .arg("n")
                .arg(&node)
                .arg("u")
                .arg(&out.update[..])
                .ignore();
            pipe.cmd("EXPIRE")
                .arg(&key)
                .arg(STREAM_TTL.as_secs())
                .ignore();
        }
        for doc in &markers {
            // No update: "what I wrote may not be in this stream; read the store".
            pipe.cmd("XADD")
                .arg(stream_key(doc))
                .arg("MAXLEN")
                .arg("~")
                .arg(STREAM_MAXLEN)
                .arg("*")
                .arg("n")
                .arg(&node)
                .arg("r")
                .arg(1)
                .ignore();
        }
        let outcome = match self.connection().await {
            Ok(conn) => pipe.query_async::<()>(conn).await,
            Err(error) => Err(error),
        };
        match outcome {
            Ok(()) => {
                self.status.published.fetch_add(batch.len() as u64, Relaxed);
            }
            Err(error) => {
                if self.conn.take().is_some() {
                    tracing::warn!(%error, "cannot publish to Redis: peers will catch up from PostgreSQL when it is back");
                }
                self.status
                    .publish_failures
                    .fetch_add(batch.len() as u64, Relaxed);
                self.dirty
                    .mark_all(batch.into_iter().map(|o| o.doc).chain(markers));
            }
        }
    }

    async fn connection(&mut self) -> Result<&mut MultiplexedConnection, redis::RedisError> {
        if self.conn.is_none() {
            let config = redis::AsyncConnectionConfig::new()
                .set_connection_timeout(Some(TIMEOUT))
                .set_response_timeout(Some(TIMEOUT));
            let conn = self
                .client
                .get_multiplexed_async_connection_with_config(&config)
                .await?;
            self.conn = Some(conn);
        }
        match self.conn.as_mut() {
            Some(conn) => Ok(conn),
            None => Err(redis::RedisError::from((
                redis::ErrorKind::Io,
                "no Redis connection",
            ))),
        }
    }
}
