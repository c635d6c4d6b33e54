//! Interop with the real npm `yjs` + `y-websocket` client, run by Node from tests/node:
//! sync both ways with a Rust peer, awareness and its removal, 40 providers × 25 notes.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;
use yrs::{Array, Transact};

use crate::client::{note_ids, TestClient};
use crate::harness::{within, TestError, TestResult, TestServer, WAIT};

fn node_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("node")
}

/// Checks that the locked npm packages are installed. Installing is not the test's job: an
/// `npm ci` can take minutes, which would eat the integration run's watchdog; `make test` (and
/// `.ci/run`) install them before any test starts.
fn ensure_node_modules(dir: &Path) -> TestResult {
    let missing: Vec<&str> = ["yjs", "y-websocket", "ws"]
        .into_iter()
        .filter(|p| {
            !dir.join("node_modules")
                .join(p)
                .join("package.json")
                .is_file()
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(TestError::Node(format!(
        "{} lacks {missing:?}: run `npm ci --prefix tests/node` (make test does it first); \
         this test needs Node.js 18+ and npm",
        dir.display()
    )))
}

/// Runs interop.mjs against `base` (ws://…/ws) and returns its JSON result.
async fn run_script(dir: &Path, base: &str, prefix: &str) -> TestResult<Value> {
    let output = within(
        "the Node interop script",
        Duration::from_secs(120),
        Command::new("node")
            .arg("interop.mjs")
            .arg(base)
            .arg(prefix)
            .arg("main")
            .current_dir(dir)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await?
    .map_err(|e| {
        TestError::Node(format!(
            "cannot run node ({e}); this test needs Node.js 18+"
        ))
    })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    let result: Value = serde_json::from_str(line).map_err(|e| {
        TestError::Node(format!(
            "no JSON result ({e}); stdout: {stdout}\nstderr: {stderr}"
        ))
    })?;
    if result["ok"] != Value::Bool(true) || !output.status.success() {
        return Err(TestError::Node(format!(
            "the script failed: {}\nstderr: {stderr}",
            result["error"]
        )));
    }
    Ok(result)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn npm_y_websocket_clients_interoperate() -> TestResult {
    let dir = node_dir();
    ensure_node_modules(&dir)?;
    let server = TestServer::start().await?;
    let prefix = "interop";

    let mut rust_sync = TestClient::connect(&server.ws_url(&format!("{prefix}-sync"))).await?;
    rust_sync.add_note("from-rust", "écrit en Rust");
    rust_sync
        .wait_state("the Rust note to be committed", WAIT, |s| {
            s.updates_received >= 1
        })
        .await?;
    let mut rust_presence =
        TestClient::connect(&server.ws_url(&format!("{prefix}-presence"))).await?;
    rust_presence.set_awareness(r##"{"user":{"name":"Rust","color":"#ff8800"}}"##);

    let base = format!("ws://{}/ws", server.addr());
    let result = run_script(&dir, &base, prefix).await?;
    eprintln!("node result: {result}");

    let sync = &result["sync"];
    assert_eq!(
        sync["sawRust"], "écrit en Rust",
        "the JS client received the Rust note on its first sync"
    );
    assert_eq!(sync["bHasA"], "écrit par A");
    assert_eq!(sync["aHasB"], "écrit par B");
    rust_sync
        .wait_until("the JS notes to reach the Rust client", WAIT, |d| {
            let ids = note_ids(d);
            ids.contains("from-node-a") && ids.contains("from-node-b")
        })
        .await?;

    let awareness = &result["awareness"];
    assert_eq!(
        awareness["beaSawAda"], "Ada",
        "a JS provider sees another's presence"
    );
    let ada = awareness["adaId"]
        .as_u64()
        .ok_or_else(|| TestError::Node("no adaId in the result".into()))?;
    let ids = |key: &str| -> Vec<u64> {
        awareness[key]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default()
    };
    let rust_id = rust_presence.client_id();
    let (before, after) = (ids("statesBeforeDestroy"), ids("statesAfterDestroy"));
    assert!(
        before.contains(&ada) && before.contains(&rust_id),
        "before Ada leaves, the JS side sees her and the Rust client ({rust_id}): {before:?}"
    );
    assert!(
        !after.contains(&ada) && after.contains(&rust_id),
        "after Ada leaves, only she is gone: {after:?}"
    );
    rust_presence
        .wait_state(
            "Ada's presence to be removed for the Rust client too",
            WAIT,
            |s| {
                s.awareness
                    .get(&ada)
                    .is_some_and(|p| p.clock >= 1 && p.state.is_none())
            },
        )
        .await?;

    let many = &result["many"];
    assert_eq!(
        many["minNotes"], 1000,
        "every provider holds all 40 × 25 notes"
    );
    assert_eq!(
        many["sameOrder"], true,
        "every provider has the same array order"
    );
    assert_eq!(many["lateJoinerNotes"], 1000);
    assert_eq!(many["lateJoinerSameOrder"], true);
    let rust_many = TestClient::connect(&server.ws_url(&format!("{prefix}-many"))).await?;
    assert_eq!(
        rust_many.note_ids().len(),
        1000,
        "a Rust late joiner sees the JS notes"
    );
    let order = rust_many.doc().get_or_insert_array("order");
    let rust_order: Vec<String> = {
        let txn = rust_many.doc().transact();
        order.iter(&txn).map(|v| v.to_string(&txn)).collect()
    };
    let js_order: Vec<String> = many["order"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(rust_order.len(), 1000);
    assert_eq!(
        rust_order, js_order,
        "the Rust peer integrates the JS writers' array in the same order they agreed on"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn y_websocket_reconnects_across_a_server_restart() -> TestResult {
    let dir = node_dir();
    ensure_node_modules(&dir)?;
    let mut server = TestServer::start().await?;
    let base = format!("ws://{}/ws", server.addr());
    let mut child = Command::new("node")
        .arg("interop.mjs")
        .arg(&base)
        .arg("interop")
        .arg("restart")
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            TestError::Node(format!(
                "cannot run node ({e}); this test needs Node.js 18+"
            ))
        })?;
    let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err(TestError::Node(
            "the script's stdin/stdout were not captured".into(),
        ));
    };
    let mut lines = BufReader::new(stdout).lines();
    let result = within("the restart scenario", Duration::from_secs(90), async {
        loop {
            let line = lines
                .next_line()
                .await
                .map_err(crate::harness::io("reading the script's output"))?
                .ok_or_else(|| TestError::Node("the script ended without a result".into()))?;
            let msg: Value = serde_json::from_str(&line)
                .map_err(|e| TestError::Node(format!("not JSON ({e}): {line}")))?;
            let answer = match msg["phase"].as_str() {
                Some("stop-the-server") => {
                    server.stop().await?;
                    "stopped\n"
                }
                Some("start-the-server") => {
                    server.resume().await?;
                    "started\n"
                }
                _ => return Ok(msg),
            };
            stdin
                .write_all(answer.as_bytes())
                .await
                .map_err(crate::harness::io("answering the script"))?;
        }
    })
    .await??;
    let output = within("the script to exit", WAIT, child.wait_with_output())
        .await?
        .map_err(crate::harness::io("waiting for node"))?;
    if result["ok"] != Value::Bool(true) {
        return Err(TestError::Node(format!(
            "the script failed: {}\nstderr: {}",
            result["error"],
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    eprintln!("node result: {result}");
    assert_eq!(
        result["notes"],
        serde_json::json!([30, 30, 30]),
        "every provider converged"
    );
    let codes: Vec<u64> = result["closeCodes"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    assert_eq!(
        codes.iter().filter(|c| **c == 1001).count(),
        3,
        "each provider saw a 1001 shutdown: {codes:?}"
    );
    let rust = TestClient::connect(&server.ws_url("interop-restart")).await?;
    assert_eq!(rust.note_ids().len(), 30, "the offline edits were stored");
    Ok(())
}
