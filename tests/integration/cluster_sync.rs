//! Three `palabre` processes sharing one PostgreSQL and one Redis of the test's own: clients
//! spread over the nodes converge whatever node they write through, move between nodes, and
//! lose nothing when a node is killed.

use std::collections::BTreeSet;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tempfile::TempDir;

use crate::client::{note_ids, TestClient};
use crate::cluster::postgres;
use crate::harness::{io, seed, ChildServer, TestResult};
use crate::testdb::{TestPostgres, TestRedis};

/// How long the cluster may take to converge on this shared machine.
const CONVERGE: Duration = Duration::from_secs(30);

/// A cluster of nodes on one database and one Redis.
pub(crate) struct Cluster {
    pub(crate) nodes: Vec<ChildServer>,
    pub(crate) pg_url: String,
    pub(crate) redis: TestRedis,
    pub(crate) dir: TempDir,
    /// Options every node gets.
    extra: Vec<String>,
}

impl Cluster {
    /// `n` nodes, or `None` (skip) without PostgreSQL or Redis on this machine.
    pub(crate) async fn start(name: &str, n: usize, extra: &[&str]) -> TestResult<Option<Self>> {
        let Some(pg) = postgres() else {
            return Ok(None);
        };
        Self::start_with(pg, name, n, extra).await
    }

    /// `n` nodes on database `name` of the given PostgreSQL server.
    pub(crate) async fn start_on(
        pg: &TestPostgres,
        name: &str,
        n: usize,
    ) -> TestResult<Option<Self>> {
        Self::start_with(pg, name, n, &[]).await
    }

    async fn start_with(
        pg: &TestPostgres,
        name: &str,
        n: usize,
        extra: &[&str],
    ) -> TestResult<Option<Self>> {
        let redis = match TestRedis::start() {
            Ok(redis) => redis,
            Err(why) => {
                eprintln!("skipping: {}", why.0);
                return Ok(None);
            }
        };
        let pg_url = tokio::task::block_in_place(|| pg.create_database(name));
        let dir = tempfile::tempdir().map_err(io("temp dir"))?;
        let mut cluster = Cluster {
            nodes: Vec::new(),
            pg_url,
            redis,
            dir,
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
        };
        for i in 0..n {
            let node = cluster.node(i, &[]).await?;
            cluster.nodes.push(node);
        }
        Ok(Some(cluster))
    }

    /// Starts node `i` (its own data and log dir).
    pub(crate) async fn node(&self, i: usize, extra: &[&str]) -> TestResult<ChildServer> {
        let dir = self.dir.path().join(format!("node{i}"));
        std::fs::create_dir_all(&dir).map_err(io("node dir"))?;
        let redis_url = self.redis.url();
        let mut args = vec!["--postgres", &self.pg_url, "--redis", &redis_url];
        args.extend(self.extra.iter().map(String::as_str));
        args.extend_from_slice(extra);
        ChildServer::start(&dir, &dir, &args).await
    }

    pub(crate) fn url(&self, node: usize, doc: &str) -> String {
        self.nodes[node % self.nodes.len()].ws_url(doc)
    }

    pub(crate) fn logs(&self) -> String {
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, n)| format!("--- node {i}\n{}", tail(&n.log())))
            .collect()
    }
}

fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_clients_over_three_nodes_converge() -> TestResult {
    const CLIENTS: usize = 60;
    const EDITS: usize = 6;
    let Some(cluster) = Cluster::start("converge", 3, &[]).await? else {
        return Ok(());
    };
    let mut rng = StdRng::seed_from_u64(seed(14));
    let doc = "cluster.converge";
    let mut clients = Vec::new();
    for i in 0..CLIENTS {
        clients.push(TestClient::connect(&cluster.url(i, doc)).await?);
    }
    let mut written = BTreeSet::new();
    for round in 0..EDITS {
        for (i, client) in clients.iter_mut().enumerate() {
            let id = format!("r{round}-c{i}");
            client.add_note(&id, "idée");
            written.insert(id);
        }
        // A few clients drop and come back through another node, as behind a proxy.
        for _ in 0..6 {
            let i = rng.random_range(0..CLIENTS);
            let node = rng.random_range(0..3);
            let client = &mut clients[i];
            client.disconnect_abruptly();
            client.reconnect_to(&cluster.url(node, doc)).await?;
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..50))).await;
    }
    for (i, client) in clients.iter().enumerate() {
        let want = written.clone();
        client
            .wait_until(&format!("client {i} to converge"), CONVERGE, move |d| {
                note_ids(d) == want
            })
            .await
            .inspect_err(|_| eprintln!("{}", cluster.logs()))?;
    }
    // A fresh client on each node sees the same.
    for node in 0..3 {
        let fresh = TestClient::connect(&cluster.url(node, doc)).await?;
        assert_eq!(fresh.note_ids(), written, "node {node}");
    }
    for node in &cluster.nodes {
        let metrics = crate::harness::metrics_of(node.addr()).await?;
        assert!(metrics.value("palabre_cluster_applied_total") > 0.0);
        assert!(metrics.value("palabre_cluster_published_total") > 0.0);
        let (status, body) = crate::harness::http_get(node.addr(), "/healthz").await?;
        assert_eq!((status, body.trim()), (200, "ok"), "relaying through Redis");
    }
    Ok(())
}

/// Nodes only relay what is durable: a remote update seen by a client is in PostgreSQL, so a
/// cluster restarted from nothing but PostgreSQL shows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_remote_node_relayed_survives_a_full_restart() -> TestResult {
    let Some(mut cluster) = Cluster::start("relay_durable", 2, &[]).await? else {
        return Ok(());
    };
    let doc = "cluster.durable";
    let mut writer = TestClient::connect(&cluster.url(0, doc)).await?;
    let reader = TestClient::connect(&cluster.url(1, doc)).await?;
    for i in 0..20 {
        writer.add_note(&format!("n{i}"), "x");
    }
    reader
        .wait_until("20 notes through the other node", CONVERGE, |d| {
            note_ids(d).len() == 20
        })
        .await?;
    let seen = reader.note_ids();
    for node in cluster.nodes.drain(..) {
        node.kill().await?;
    }
    cluster.redis.stop();
    cluster.redis.restart();
    let node = cluster.node(7, &[]).await?;
    let fresh = TestClient::connect(&node.ws_url(doc)).await?;
    assert_eq!(fresh.note_ids(), seen);
    Ok(())
}
