//! Interop with the real npm `yjs` + `y-websocket` client, run by Node from tests/node:
//! sync both ways with a Rust peer, awareness and its removal, 40 providers × 25 notes.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::process::Command;
use yrs::{Array, Transact};

use crate::client::{note_ids, TestClient};
use crate::harness::{within, TestError, TestResult, TestServer, WAIT};

fn node_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("node")
}

/// Installs the locked npm packages when they are missing (`make test` does it beforehand).
async fn ensure_node_modules(dir: &Path) -> TestResult {
    let installed = ["yjs", "y-websocket", "ws"].iter().all(|p| {
        dir.join("node_modules")
            .join(p)
            .join("package.json")
            .is_file()
    });
    if installed {
        return Ok(());
    }
    let output = within(
        "npm ci",
        Duration::from_secs(240),
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(dir)
            .kill_on_drop(true)
            .output(),
    )
    .await?
    .map_err(|e| {
        TestError::Node(format!(
            "cannot run npm ({e}). This test needs Node.js 18+ and npm: install them, then run \
             `npm ci --prefix tests/node`"
        ))
    })?;
    if !output.status.success() {
        return Err(TestError::Node(format!(
            "`npm ci` in {} failed: {}",
            dir.display(),
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(())
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
    ensure_node_modules(&dir).await?;
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
    assert_eq!(awareness["removedAfterDestroy"], true);
    let ada = awareness["adaId"]
        .as_u64()
        .ok_or_else(|| TestError::Node("no adaId in the result".into()))?;
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
    assert_eq!(many["providers"], 40);
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
    assert_eq!(order.len(&rust_many.doc().transact()), 1000);
    Ok(())
}
