//! The fan-out seam through a real hub, room and SQLite store: a local durable update is
//! published once; an update another node published is relayed here but neither stored nor
//! published again.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use yrs::{Doc, GetString, Text, Transact};

use super::*;
use crate::config::Durability;
use crate::policy::Limits;
use crate::protocol;
use crate::room::FanOut;
use crate::store::{SqliteConfig, SqliteStore};

#[derive(Default)]
struct Recorder {
    published: Mutex<Vec<(DocId, Bytes)>>,
    opened: Mutex<Vec<DocId>>,
}

impl FanOut for Recorder {
    fn opened(&self, doc: &DocId) {
        if let Ok(mut v) = self.opened.lock() {
            v.push(doc.clone());
        }
    }
    fn publish(&self, doc: &DocId, update: &Bytes) {
        if let Ok(mut v) = self.published.lock() {
            v.push((doc.clone(), update.clone()));
        }
    }
}

fn text_update(client: u64, text: &str) -> Bytes {
    let doc = Doc::with_client_id(client);
    let t = doc.get_or_insert_text("t");
    let mut txn = doc.transact_mut();
    t.push(&mut txn, text);
    Bytes::from(txn.encode_update_v1())
}

/// Frames until one is an update (sync step 2 or update) whose text contains `want`.
async fn receive_text(m: &mut Membership, doc: &Doc, want: &str) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while let Ok(Some(frame)) = tokio::time::timeout_at(deadline, m.outbox.recv()).await {
        if let Ok(protocol::Message::Update(u) | protocol::Message::SyncStep2(u)) =
            protocol::decode_message(&frame)
        {
            if let Ok(u) = protocol::decode_update(&u) {
                let _ = doc.transact_mut().apply_update(u);
            }
        }
        let t = doc.get_or_insert_text("t");
        if t.get_string(&doc.transact()).contains(want) {
            return true;
        }
    }
    false
}

#[tokio::test]
async fn durable_updates_are_published_and_remote_ones_relayed_without_storing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(SqliteConfig::new(dir.path().join("palabre.db"))).expect("open store"),
    );
    let fanout = Arc::new(Recorder::default());
    let hub = Hub::new(
        store.clone(),
        RoomConfig {
            durability: Durability::Strict,
            coalesce: Duration::from_millis(1),
            coalesce_max: Duration::from_millis(1),
            compact_bytes: u64::MAX,
            compact_updates: u64::MAX,
            idle: Duration::from_secs(60),
            awareness_timeout: Duration::from_secs(30),
            presence_state_bytes: 4096,
            presence_doc_bytes: 256 * 1024,
        },
        Arc::new(Metrics::default()),
        Policies::new(Limits {
            workshop_quota_bytes: u64::MAX,
            max_doc_bytes: u64::MAX,
            max_items: usize::MAX,
        }),
        fanout.clone(),
    );
    let id = DocId::parse("fanout-doc").expect("valid id");
    assert!(
        !hub.apply_remote(&id, text_update(9, "early")).await,
        "a doc not loaded here takes nothing"
    );
    let peer = |conn| Peer {
        conn,
        role: None,
        device: None,
    };
    let writer = hub
        .join(&id, DocKind::Open, peer(1), 1 << 20)
        .await
        .expect("join");
    let mut reader = hub
        .join(&id, DocKind::Open, peer(2), 1 << 20)
        .await
        .expect("join");
    assert_eq!(fanout.opened.lock().map(|v| v.len()).unwrap_or(0), 1);
    let seen = Doc::new();

    let local = text_update(1, "local ");
    assert!(writer.send(protocol::Message::Update(local.clone())).await);
    assert!(
        receive_text(&mut reader, &seen, "local").await,
        "local update relayed"
    );
    let published = fanout
        .published
        .lock()
        .map(|v| v.clone())
        .unwrap_or_default();
    assert_eq!(published.len(), 1, "published once, when durable");
    assert_eq!(published[0].0, id);

    let remote = text_update(2, "remote");
    assert!(hub.apply_remote(&id, remote).await);
    assert!(
        receive_text(&mut reader, &seen, "remote").await,
        "remote update relayed"
    );
    assert_eq!(
        fanout.published.lock().map(|v| v.len()).unwrap_or(0),
        1,
        "a remote update is not published back"
    );
    let stored = store.load(id.as_str()).await.expect("load");
    assert_eq!(
        stored.updates.len(),
        1,
        "a remote update is not stored again"
    );

    drop((writer, reader));
    hub.shutdown().await;
    store.shutdown().await.expect("shutdown");
}
