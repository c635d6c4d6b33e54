//! Held-note counts (board-schema §6) are right on every node of a cluster: phones write their
//! papers through node A and a new device through node C, while the projector and the exports
//! read the counts through node B — whose own rooms of those held docs were evicted long ago.

use std::time::{Duration, Instant};

use palabre::board::held::{self, HeldNote};

use crate::api::{edit_doc, get, join_device, model, send_json, wait_server_has, Workshop};
use crate::cluster_sync::Cluster;
use crate::harness::{eventually, metrics_of, TestError, TestResult, WAIT};
use crate::held::{act, held_path};

/// How soon a change through one node must show in another node's count.
const COUNT_REACHES: Duration = Duration::from_millis(1500);

const ALICE: &str = "alice-secret-0000000000";
const BOB: &str = "bob-secret-000000000000";

fn paper(id: &str, text: &str) -> HeldNote {
    HeldNote {
        id: id.into(),
        text: text.into(),
        ..HeldNote::default()
    }
}

/// The workshop `w` as seen through `node` (same secrets, that node's address).
fn on(cluster: &Cluster, w: &Workshop, node: usize) -> Workshop {
    Workshop {
        addr: cluster.nodes[node].addr(),
        ..w.clone()
    }
}

async fn count(w: &Workshop, bid: &str) -> TestResult<u64> {
    let r = get(w.addr, &held_path(w, bid, "/count"), Some(&w.viewer)).await?;
    if r.status != 200 {
        return Err(TestError::Server(format!("count: {} {}", r.status, r.body)));
    }
    Ok(r.json()?["held"].as_u64().unwrap_or(u64::MAX))
}

/// Waits (at most [`COUNT_REACHES`]) until `w`'s node counts `want` held papers; how long it took.
async fn count_reaches(
    w: &Workshop,
    bid: &str,
    want: u64,
    cluster: &Cluster,
) -> TestResult<Duration> {
    let started = Instant::now();
    let mut last = u64::MAX;
    while started.elapsed() < COUNT_REACHES {
        last = count(w, bid).await?;
        if last == want {
            return Ok(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Err(TestError::Server(format!(
        "{} still counts {last} held papers instead of {want} after {COUNT_REACHES:?}\n{}",
        w.addr,
        cluster.logs()
    )))
}

/// Waits until `node` has no room loaded (its held rooms evicted).
async fn idle(cluster: &Cluster, node: usize) -> TestResult {
    eventually("the node to evict its rooms", WAIT, || async {
        metrics_of(cluster.nodes[node].addr())
            .await
            .is_ok_and(|m| m.value("palabre_rooms_loaded") == 0.0)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_counts_read_through_node_b_follow_papers_written_through_a_and_c() -> TestResult {
    // A short idle time: node B counts the held docs once, then forgets their rooms.
    let Some(cluster) = Cluster::start("held_counts", 3, &["--room-idle", "1s"]).await? else {
        return Ok(());
    };
    let w = Workshop::create(
        cluster.nodes[0].addr(),
        "icebreaker",
        "Atelier",
        "2026-12-02",
    )
    .await?;
    let (a, b, c) = (
        on(&cluster, &w, 0),
        on(&cluster, &w, 1),
        on(&cluster, &w, 2),
    );
    let bid = w.board("icebreaker", 0)?.id.clone();
    let held_of = |secret: &str| format!("{}.{bid}~{}", w.id, w.device_id(secret));

    // Alice's phone writes two papers through A; B counts them.
    let alice = join_device(&a, &held_of(ALICE), &a.participant, ALICE).await?;
    edit_doc(&alice, |d| {
        held::add_held(d, &paper("a1", "premier"), 1)?;
        held::add_held(d, &paper("a2", "second"), 2)
    })?
    .map_err(model)?;
    wait_server_has(&a.ws_url(&held_of(ALICE), &a.facilitator), &alice).await?;
    count_reaches(&b, &bid, 2, &cluster).await?;
    idle(&cluster, 1).await?;

    // A third paper through A, once B's room of Alice's held doc is gone.
    edit_doc(&alice, |d| held::add_held(d, &paper("a3", "troisième"), 3))?.map_err(model)?;
    let took = count_reaches(&b, &bid, 3, &cluster).await?;
    eprintln!("a paper through A reached B's count after {took:?}");

    // A device B has never seen writes through C.
    let bob = join_device(&c, &held_of(BOB), &c.participant, BOB).await?;
    edit_doc(&bob, |d| held::add_held(d, &paper("b1", "de bob"), 4))?.map_err(model)?;
    let took = count_reaches(&b, &bid, 4, &cluster).await?;
    eprintln!("a new device's paper through C reached B's count after {took:?}");
    let md = b.export_ok("md").await?;
    assert!(md.contains("4 papiers non révélés"), "{md}");

    // The facilitator discards one and reveals another through A.
    idle(&cluster, 1).await?;
    assert_eq!(act(&a, &bid, "discard", Some(&["second"])).await?, 1);
    count_reaches(&b, &bid, 3, &cluster).await?;
    assert_eq!(act(&a, &bid, "reveal", Some(&["de bob"])).await?, 1);
    count_reaches(&b, &bid, 2, &cluster).await?;
    let md = b.export_ok("md").await?;
    assert!(md.contains("2 papiers non révélés"), "{md}");
    // And every node agrees.
    for node in [&a, &c] {
        count_reaches(node, &bid, 2, &cluster).await?;
    }
    Ok(())
}

/// The board hashes Redis holds for workshop `wid` (read with `redis-cli`, as an operator would).
async fn redis_keys(cluster: &Cluster, wid: &str) -> TestResult<Vec<String>> {
    let url = cluster.redis.url();
    let port = url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap_or_default();
    let pattern = format!("palabre:held:{wid}.*");
    let out = tokio::process::Command::new("redis-cli")
        .args(["-p", port, "--scan", "--pattern", &pattern])
        .output()
        .await
        .map_err(crate::harness::io("running redis-cli"))?;
    if !out.status.success() {
        return Err(TestError::Server(format!("redis-cli: {out:?}")));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_each_node_answers_its_own_count_and_they_agree_again_once_it_is_back(
) -> TestResult {
    let Some(mut cluster) = Cluster::start("held_redis_down", 2, &[]).await? else {
        return Ok(());
    };
    let w = Workshop::create(
        cluster.nodes[0].addr(),
        "icebreaker",
        "Atelier",
        "2026-12-02",
    )
    .await?;
    let (a, b) = (on(&cluster, &w, 0), on(&cluster, &w, 1));
    let bid = w.board("icebreaker", 0)?.id.clone();
    let held_of = |secret: &str| format!("{}.{bid}~{}", w.id, w.device_id(secret));
    let alice = join_device(&a, &held_of(ALICE), &a.participant, ALICE).await?;
    edit_doc(&alice, |d| held::add_held(d, &paper("a1", "premier"), 1))?.map_err(model)?;
    count_reaches(&b, &bid, 1, &cluster).await?;
    assert_eq!(redis_keys(&cluster, &w.id).await?.len(), 1);

    // Redis goes away: a paper through A; both nodes still answer, each with what it knows.
    cluster.redis.stop();
    edit_doc(&alice, |d| held::add_held(d, &paper("a2", "second"), 2))?.map_err(model)?;
    wait_server_has(&a.ws_url(&held_of(ALICE), &a.facilitator), &alice).await?;
    let answered = Instant::now();
    count_reaches(&a, &bid, 2, &cluster).await?;
    // B answers what the cluster last told it (it cannot learn A's paper meanwhile).
    assert_eq!(count(&b, &bid).await?, 1);
    assert!(
        answered.elapsed() < Duration::from_secs(3),
        "counts hung on Redis"
    );

    // Back, empty (it keeps nothing): every node agrees again.
    cluster.redis.restart();
    eventually(
        "B to count the paper written while Redis was down",
        WAIT,
        || async { count(&b, &bid).await.is_ok_and(|n| n == 2) },
    )
    .await?;
    edit_doc(&alice, |d| held::add_held(d, &paper("a3", "troisième"), 3))?.map_err(model)?;
    count_reaches(&b, &bid, 3, &cluster).await?;

    // Deleting the workshop removes its hashes.
    let r = send_json(
        a.addr,
        "DELETE",
        &format!("/api/workshops/{}", w.id),
        Some(&w.facilitator),
        None,
    )
    .await?;
    assert_eq!(r.status, 204, "{}", r.body);
    eventually(
        "the workshop's held counts to leave Redis",
        WAIT,
        || async {
            redis_keys(&cluster, &w.id)
                .await
                .is_ok_and(|k| k.is_empty())
        },
    )
    .await
    .map_err(|e| TestError::Server(format!("{e}\n{}", cluster.logs())))?;
    Ok(())
}
