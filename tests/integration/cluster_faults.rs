//! Faults of a three-node cluster: a node killed with SIGKILL while 30 writers write through
//! all three; Redis restarted mid-write; PostgreSQL stopped and restarted mid-write. Every note
//! an observer on any node had received must survive; the nodes must converge afterwards.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::client::{note_ids, TestClient};
use crate::cluster_sync::Cluster;
use crate::harness::{seed, TestResult};

const CONVERGE: Duration = Duration::from_secs(30);
const WRITERS: usize = 30;

/// Writes notes `{prefix}-{n}` every few tens of milliseconds until `stop` or disconnection.
async fn write(mut client: TestClient, prefix: String, stop: Arc<AtomicBool>, mut rng: StdRng) {
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) && client.is_connected() {
        client.add_note(&format!("{prefix}-{n}"), "note");
        n += 1;
        tokio::time::sleep(Duration::from_millis(rng.random_range(20..80))).await;
    }
}

/// Connects a fresh client to `url` and waits until it shows every note of `want`.
async fn shows_all(url: &str, want: &BTreeSet<String>, what: &str) -> TestResult {
    let check = TestClient::connect(url).await?;
    let want = want.clone();
    check
        .wait_until(what, CONVERGE, move |d| note_ids(d).is_superset(&want))
        .await
}

/// Starts 30 writers spread over `nodes` and one observer per node; returns the stop flag,
/// the writer tasks and the observers.
async fn start_writing(
    cluster: &Cluster,
    doc: &str,
    round: usize,
    rng: &mut StdRng,
) -> TestResult<(
    Arc<AtomicBool>,
    Vec<tokio::task::JoinHandle<()>>,
    Vec<TestClient>,
)> {
    let stop = Arc::new(AtomicBool::new(false));
    let mut observers = Vec::new();
    for node in 0..cluster.nodes.len() {
        observers.push(TestClient::connect(&cluster.url(node, doc)).await?);
    }
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let client = TestClient::connect(&cluster.url(w, doc)).await?;
        writers.push(tokio::spawn(write(
            client,
            format!("r{round}-w{w}"),
            stop.clone(),
            StdRng::seed_from_u64(rng.random()),
        )));
    }
    Ok((stop, writers, observers))
}

async fn stop_writing(stop: Arc<AtomicBool>, writers: Vec<tokio::task::JoinHandle<()>>) {
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        let _ = writer.await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_write_loses_nothing_any_observer_saw() -> TestResult {
    const ROUNDS: usize = 5;
    let Some(mut cluster) = Cluster::start("kill9", 3, &["--compact-updates", "200"]).await? else {
        return Ok(());
    };
    let mut rng = StdRng::seed_from_u64(seed(9));
    let doc = "cluster.kill";
    let mut seen = BTreeSet::new();
    for round in 0..ROUNDS {
        let (stop, writers, observers) = start_writing(&cluster, doc, round, &mut rng).await?;
        tokio::time::sleep(Duration::from_millis(rng.random_range(400..1200))).await;
        let victim = rng.random_range(0..cluster.nodes.len());
        let killed = cluster.nodes.remove(victim);
        killed.kill().await?;
        // What every observer had received when the node died, the dead node's included.
        let before = seen.len();
        for observer in &observers {
            seen.extend(observer.note_ids());
        }
        stop_writing(stop, writers).await;
        assert!(
            seen.len() > before,
            "round {round}: observers saw new notes"
        );
        for (i, node) in cluster.nodes.iter().enumerate() {
            shows_all(
                &node.ws_url(doc),
                &seen,
                &format!("round {round}: survivor {i} to show every note seen"),
            )
            .await
            .inspect_err(|_| eprintln!("{}", cluster.logs()))?;
        }
        // The dead node comes back (as a restarted container would) and shows it all too.
        let node = cluster.node(victim + 10 * (round + 1), &[]).await?;
        shows_all(
            &node.ws_url(doc),
            &seen,
            &format!("round {round}: the restarted node to show every note seen"),
        )
        .await?;
        cluster.nodes.insert(victim, node);
    }
    // Full restart: every node killed, Redis emptied; PostgreSQL alone holds the truth.
    for node in cluster.nodes.drain(..) {
        node.kill().await?;
    }
    cluster.redis.stop();
    cluster.redis.restart();
    let node = cluster.node(99, &[]).await?;
    let fresh = TestClient::connect(&node.ws_url(doc)).await?;
    let have = fresh.note_ids();
    let lost: Vec<&String> = seen.difference(&have).collect();
    assert!(
        lost.is_empty(),
        "after a full restart {} of {} notes seen are gone, e.g. {:?}",
        lost.len(),
        seen.len(),
        lost.iter().take(5).collect::<Vec<_>>()
    );
    eprintln!(
        "{ROUNDS} rounds, {} notes seen by observers, none lost",
        seen.len()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_mid_write_then_every_node_converges() -> TestResult {
    let Some(mut cluster) = Cluster::start("redis_restart", 3, &[]).await? else {
        return Ok(());
    };
    let mut rng = StdRng::seed_from_u64(seed(6379));
    let doc = "cluster.redis";
    let (stop, writers, observers) = start_writing(&cluster, doc, 0, &mut rng).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    cluster.redis.stop();
    // Writes go on through every node, durably, while nothing is relayed between nodes.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (status, body) = crate::harness::http_get(cluster.nodes[0].addr(), "/healthz").await?;
    assert_eq!(
        status, 200,
        "a node without Redis still serves its own connections"
    );
    assert!(body.contains("not relaying"), "{body}");
    cluster.redis.restart();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop_writing(stop, writers).await;
    let mut seen = BTreeSet::new();
    for observer in &observers {
        seen.extend(observer.note_ids());
    }
    assert!(!seen.is_empty());
    // Every observer (they stayed connected throughout) ends up with every note any saw.
    for (i, observer) in observers.iter().enumerate() {
        let want = seen.clone();
        observer
            .wait_until(&format!("observer {i} to converge"), CONVERGE, move |d| {
                note_ids(d).is_superset(&want)
            })
            .await
            .inspect_err(|_| eprintln!("{}", cluster.logs()))?;
    }
    for node in &cluster.nodes {
        let m = crate::harness::metrics_of(node.addr()).await?;
        assert!(m.value("palabre_cluster_catchups_total") >= 1.0);
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_mid_write_shows_nothing_unacknowledged_and_resumes() -> TestResult {
    // A PostgreSQL of its own: this test stops it.
    let pg = match crate::testdb::TestPostgres::start() {
        Ok(pg) => pg,
        Err(why) => {
            eprintln!("skipping: {}", why.0);
            return Ok(());
        }
    };
    let Some(cluster) = Cluster::start_on(&pg, "pg_outage", 3).await? else {
        return Ok(());
    };
    let doc = "cluster.pg";
    let mut writer = TestClient::connect(&cluster.url(0, doc)).await?;
    let observer = TestClient::connect(&cluster.url(1, doc)).await?;
    writer.add_note("before", "x");
    observer
        .wait_until("the first note", CONVERGE, |d| {
            note_ids(d).contains("before")
        })
        .await?;
    tokio::task::block_in_place(|| pg.stop());
    writer.add_note("during", "x");
    // Never relayed while it cannot be durable: the observer must not see it. Counted, not
    // timed: give the cluster ample time to (wrongly) relay it, then look.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        !observer.note_ids().contains("during"),
        "a note was shown before it was durable"
    );
    tokio::task::block_in_place(|| pg.restart());
    // The writer's client keeps its edit and sends it again on reconnect (y-websocket does).
    if !writer.is_connected() {
        writer.reconnect_to(&cluster.url(2, doc)).await?;
    }
    let mut observer = observer;
    if !observer.is_connected() {
        observer.reconnect_to(&cluster.url(1, doc)).await?;
    }
    let mut resumed = false;
    for _ in 0..30 {
        writer.add_note(&format!("after-{}", rand::random::<u32>()), "x");
        if observer
            .wait_until("writes to resume", Duration::from_secs(1), |d| {
                note_ids(d).contains("during")
            })
            .await
            .is_ok()
        {
            resumed = true;
            break;
        }
        if !writer.is_connected() {
            writer.reconnect_to(&cluster.url(2, doc)).await?;
        }
        if !observer.is_connected() {
            observer.reconnect_to(&cluster.url(1, doc)).await?;
        }
    }
    assert!(
        resumed,
        "writes resume without a restart\n{}",
        cluster.logs()
    );
    let want = observer.note_ids();
    for node in 0..3 {
        shows_all(
            &cluster.url(node, doc),
            &want,
            &format!("node {node} to converge"),
        )
        .await?;
    }
    Ok(())
}
