//! Running on PostgreSQL and being run by an orchestrator: real `palabre` processes on a
//! PostgreSQL server of the test's own (`testdb`), the `healthcheck` subcommand against a live
//! and a dead node.
//!
//! Without PostgreSQL installed these tests say so and pass; under `CI=true` they fail instead.

use std::sync::OnceLock;

use crate::client::TestClient;
use crate::harness::{io, palabre_binary, ChildServer, TestResult, WAIT};
use crate::testdb::TestPostgres;

static POSTGRES: OnceLock<Option<TestPostgres>> = OnceLock::new();

/// The binary's shared PostgreSQL server, or `None` (the test skips) without one.
pub(crate) fn postgres() -> Option<&'static TestPostgres> {
    POSTGRES
        .get_or_init(|| match TestPostgres::start() {
            Ok(pg) => Some(pg),
            Err(why) => {
                eprintln!("skipping the PostgreSQL tests: {}", why.0);
                None
            }
        })
        .as_ref()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_on_postgres_loses_nothing_it_relayed_when_killed() -> TestResult {
    let Some(pg) = postgres() else {
        return Ok(());
    };
    let url = tokio::task::block_in_place(|| pg.create_database("node_killed"));
    let dir = tempfile::tempdir().map_err(io("temp dir"))?;
    let node = ChildServer::start(dir.path(), dir.path(), &["--postgres", &url]).await?;
    let mut writer = TestClient::connect(&node.ws_url("pg.board")).await?;
    let reader = TestClient::connect(&node.ws_url("pg.board")).await?;
    for i in 0..30 {
        writer.add_note(&format!("n{i}"), "note posée avant le kill");
    }
    reader
        .wait_until("the 30 notes relayed", WAIT, |d| {
            crate::client::note_ids(d).len() == 30
        })
        .await?;
    let seen = reader.note_ids();
    node.kill().await?;

    // Another node, another (empty) data dir: everything comes from PostgreSQL.
    let other = tempfile::tempdir().map_err(io("temp dir"))?;
    let node = ChildServer::start(other.path(), other.path(), &["--postgres", &url]).await?;
    let fresh = TestClient::connect(&node.ws_url("pg.board")).await?;
    assert_eq!(fresh.note_ids(), seen, "{}", node.log());
    assert!(
        std::fs::read_dir(other.path())
            .map_err(io("listing the data dir"))?
            .flatten()
            .all(|e| !e.file_name().to_string_lossy().starts_with("palabre.db")),
        "no SQLite file is written in PostgreSQL mode"
    );
    node.terminate().await?;
    Ok(())
}

#[tokio::test]
async fn the_healthcheck_subcommand_tells_a_live_node_from_a_dead_one() -> TestResult {
    let dir = tempfile::tempdir().map_err(io("temp dir"))?;
    let node = ChildServer::start(dir.path(), dir.path(), &[]).await?;
    let bin = palabre_binary()?;
    let addr = node.addr().to_string();
    let live = tokio::process::Command::new(&bin)
        .args(["healthcheck", "--addr", &addr])
        .output()
        .await
        .map_err(io("running palabre healthcheck"))?;
    assert!(live.status.success(), "{live:?}");
    assert_eq!(String::from_utf8_lossy(&live.stdout).trim(), "healthy: ok");

    // The address comes from PALABRE_BIND when not given, as in the container image, and an
    // unspecified bind address means this machine.
    let from_env = tokio::process::Command::new(&bin)
        .arg("healthcheck")
        .env("PALABRE_BIND", format!("0.0.0.0:{}", node.addr().port()))
        .output()
        .await
        .map_err(io("running palabre healthcheck"))?;
    assert!(from_env.status.success(), "{from_env:?}");

    node.kill().await?;
    let dead = tokio::process::Command::new(&bin)
        .args(["healthcheck", "--addr", &addr, "--timeout", "2s"])
        .output()
        .await
        .map_err(io("running palabre healthcheck"))?;
    assert!(!dead.status.success());
    assert!(
        String::from_utf8_lossy(&dead.stderr).contains("unhealthy"),
        "{dead:?}"
    );
    Ok(())
}

#[tokio::test]
async fn redis_without_postgres_is_refused_at_start() -> TestResult {
    let dir = tempfile::tempdir().map_err(io("temp dir"))?;
    let started =
        ChildServer::start(dir.path(), dir.path(), &["--redis", "redis://127.0.0.1:1/"]).await;
    assert!(started.is_err(), "a node must not half-join a cluster");
    let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();
    assert!(log.contains("--redis needs --postgres"), "{log}");
    Ok(())
}
