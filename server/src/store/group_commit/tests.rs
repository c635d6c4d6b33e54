//! The batching decisions on their own, with an engine that records what it was asked to commit
//! (both real engines run `store::conformance` on top of this loop).

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use super::*;

/// Appends are numbered from 1; an op named "fail" fails its whole batch.
#[derive(Clone, Default)]
struct Recorder {
    batches: Arc<Mutex<Vec<Vec<&'static str>>>>,
    rolled_back: Arc<Mutex<Vec<Vec<&'static str>>>>,
    closed: Arc<AtomicBool>,
    next: u64,
}

impl Engine for Recorder {
    type Op = &'static str;

    async fn apply(&mut self, ops: &[&&'static str]) -> Result<Applied, StoreError> {
        let names: Vec<&'static str> = ops.iter().map(|op| **op).collect();
        self.batches.lock().expect("lock").push(names.clone());
        if names.contains(&"fail") {
            return Err(StoreError::Database("disk full".to_owned()));
        }
        let mut applied = Applied::default();
        for name in names.iter().filter(|n| n.starts_with("append")) {
            self.next += 1;
            applied.seqs.push(self.next);
            applied.rows += 1;
            applied.bytes += name.len() as u64;
        }
        Ok(applied)
    }

    fn rolled_back(&mut self, ops: &[&&'static str]) {
        let names = ops.iter().map(|op| **op).collect();
        self.rolled_back.lock().expect("lock").push(names);
    }

    async fn close(self) -> Result<(), StoreError> {
        self.closed.store(true, Ordering::Release);
        Ok(())
    }
}

impl Weigh for &'static str {
    fn weight(&self) -> u64 {
        self.len() as u64
    }
}

/// A queue with `commands` already in it, served by a writer started only afterwards, so that
/// they all wait in one batch (at most `max_batch`).
async fn serve(
    max_batch: usize,
    commands: impl FnOnce(&Queue<&'static str>) -> Vec<BoxFuture<'static, Result<u64, StoreError>>>,
) -> (Recorder, Vec<Result<u64, StoreError>>, Arc<Counters>) {
    let closed = Arc::new(AtomicBool::new(false));
    let (queue, receiver) = Queue::new(Arc::clone(&closed), Arc::default());
    let waiting = commands(&queue);
    let engine = Recorder::default();
    let counters = Arc::new(Counters::default());
    let writer = tokio::spawn(run(
        engine.clone(),
        receiver,
        max_batch,
        Arc::clone(&counters),
        closed,
    ));
    let mut outcomes = Vec::new();
    for w in waiting {
        outcomes.push(w.await);
    }
    drop(queue);
    writer.await.expect("writer task");
    (engine, outcomes, counters)
}

fn done(
    f: BoxFuture<'static, Result<(), StoreError>>,
) -> BoxFuture<'static, Result<u64, StoreError>> {
    Box::pin(async move { f.await.map(|()| 0) })
}

#[tokio::test]
async fn queued_writes_share_one_batch_and_appends_get_their_seqs_in_order() {
    let (engine, outcomes, counters) = serve(1024, |q| {
        vec![
            q.append("append a"),
            done(q.write("meta")),
            q.append("append b"),
            done(q.flush()),
        ]
    })
    .await;
    let seqs: Vec<u64> = outcomes
        .into_iter()
        .map(|o| o.expect("committed"))
        .collect();
    assert_eq!(seqs, [1, 0, 2, 0]);
    assert_eq!(
        *engine.batches.lock().expect("lock"),
        [vec!["append a", "meta", "append b"]]
    );
    let stats = counters.snapshot();
    assert_eq!((stats.commits, stats.rows_appended), (1, 2), "{stats:?}");
}

#[tokio::test]
async fn batches_are_cut_at_max_batch() {
    let (engine, outcomes, _) = serve(2, |q| {
        vec![
            q.append("append 1"),
            q.append("append 2"),
            q.append("append 3"),
        ]
    })
    .await;
    assert!(outcomes.iter().all(Result::is_ok));
    assert_eq!(
        *engine.batches.lock().expect("lock"),
        [vec!["append 1", "append 2"], vec!["append 3"]]
    );
}

#[tokio::test]
async fn flushes_alone_touch_no_database() {
    let (engine, outcomes, counters) = serve(8, |q| vec![done(q.flush()), done(q.flush())]).await;
    assert!(outcomes.iter().all(Result::is_ok));
    assert!(engine.batches.lock().expect("lock").is_empty());
    assert_eq!(counters.snapshot().commits, 0);
}

#[tokio::test]
async fn a_failed_batch_fails_every_waiter_with_its_reason_and_the_next_batch_commits() {
    let (engine, outcomes, counters) = serve(3, |q| {
        vec![
            q.append("append a"),
            done(q.write("fail")),
            done(q.flush()),
            q.append("append b"),
        ]
    })
    .await;
    for outcome in &outcomes[..3] {
        assert!(
            matches!(outcome, Err(StoreError::Database(reason)) if reason == "disk full"),
            "{outcome:?}"
        );
    }
    assert_eq!(outcomes[3].as_ref().ok(), Some(&1));
    assert_eq!(
        *engine.rolled_back.lock().expect("lock"),
        [vec!["append a", "fail"]]
    );
    let stats = counters.snapshot();
    assert_eq!((stats.failed_batches, stats.commits), (1, 1), "{stats:?}");
}

#[tokio::test]
async fn shutdown_commits_what_came_before_closes_the_engine_and_refuses_the_rest() {
    let closed = Arc::new(AtomicBool::new(false));
    let (queue, receiver) = Queue::new(Arc::clone(&closed), Arc::default());
    let before = queue.append("append a");
    let (reply, shut) = oneshot::channel();
    assert!(queue.sender.send(Command::Shutdown { reply }).is_ok());
    let behind = queue.append("append b");
    let engine = Recorder::default();
    let counters = Arc::new(Counters::default());
    run(engine.clone(), receiver, 8, counters, Arc::clone(&closed)).await;
    assert_eq!(before.await.ok(), Some(1));
    assert!(shut.await.is_ok_and(|outcome| outcome.is_ok()));
    assert!(matches!(behind.await, Err(StoreError::Closed)));
    assert!(engine.closed.load(Ordering::Acquire), "engine closed");
    assert!(closed.load(Ordering::Acquire), "store marked closed");
    assert!(matches!(
        queue.append("late").await,
        Err(StoreError::Closed)
    ));
}

#[tokio::test]
async fn the_backlog_counts_queued_writes_until_they_are_answered_failed_ones_too() {
    let closed = Arc::new(AtomicBool::new(false));
    let backlog = Arc::new(Backlog::new(super::super::Marks { high: 20, low: 5 }));
    let (queue, receiver) = Queue::new(Arc::clone(&closed), Arc::clone(&backlog));
    let ok = queue.append("append a");
    let failed = queue.write("fail");
    let flushed = queue.flush();
    // Flushes hold no bytes and are not writes.
    assert_eq!((backlog.bytes(), backlog.writes()), (12, 2));
    let big = queue.append("append with a long payload");
    assert!(backlog.saturated(), "38 bytes queued, high mark 20");
    let writer = tokio::spawn(run(
        Recorder::default(),
        receiver,
        2,
        Arc::new(Counters::default()),
        closed,
    ));
    assert!(ok.await.is_err(), "shares the failed batch");
    assert!(failed.await.is_err());
    assert!(flushed.await.is_ok());
    assert!(big.await.is_ok());
    assert_eq!((backlog.bytes(), backlog.writes()), (0, 0));
    assert!(!backlog.saturated());
    drop(queue);
    writer.await.expect("writer task");
}
