//! A full disk: reported, writes refused, readers kept, recovered by itself once space returns.

use super::*;

/// A tmpfs mounted for one test, unmounted on drop.
struct TinyDisk {
    dir: tempfile::TempDir,
}

impl TinyDisk {
    /// Mounts a tmpfs of `size` (e.g. "16m"), or says why not (not root, no mount).
    fn mount(size: &str) -> Result<Self, String> {
        let uid = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Uid:"))
                    .and_then(|v| v.split_whitespace().next().map(str::to_string))
            })
            .unwrap_or_default();
        if uid != "0" {
            return Err(format!("needs root to mount a tmpfs (uid {uid})"));
        }
        let dir = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .map_err(|e| format!("running mount: {e}"))?;
        if !status.success() {
            return Err(format!("mount -t tmpfs failed: {status}"));
        }
        Ok(TinyDisk { dir })
    }

    fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Takes every free byte with a filler file.
    fn fill(&self) -> std::io::Result<u64> {
        use std::io::Write;
        let mut f = std::fs::File::create(self.path().join("filler"))?;
        let chunk = vec![0xa5u8; 64 * 1024];
        let mut written = 0u64;
        loop {
            match f.write(&chunk) {
                Ok(0) => break,
                Ok(n) => written += n as u64,
                Err(e) if e.raw_os_error() == Some(28) => break,
                Err(e) => return Err(e),
            }
        }
        let _ = f.sync_all();
        Ok(written)
    }

    /// Gives the space back.
    fn free(&self) -> std::io::Result<()> {
        std::fs::remove_file(self.path().join("filler"))
    }
}

impl Drop for TinyDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_reported_refuses_writes_keeps_readers_and_recovers_by_itself() -> TestResult
{
    let disk = match TinyDisk::mount("16m") {
        Ok(d) => d,
        Err(why) => {
            eprintln!("SKIPPED a_full_disk_…: {why}");
            return Ok(());
        }
    };
    let data = disk.path().join("data");
    let mut server = TestServer::start_with(|c| c.data_dir = data.clone()).await?;
    let doc = "full-disk";
    let url = server.ws_url(doc);
    let mut writer = TestClient::connect(&url).await?;
    let reader = TestClient::connect(&url).await?;
    writer.add_note("before", "saved");
    reader
        .wait_until("the first note", WAIT, |d| note_ids(d).contains("before"))
        .await?;
    assert_eq!(
        crate::harness::http_get(server.addr(), "/healthz").await?.0,
        200
    );

    let filled = disk.fill().map_err(io("filling the tmpfs"))?;
    eprintln!("filler took {} KiB", filled / 1024);
    // Write until the store fails (the WAL needs new pages for these).
    let body = "d".repeat(16 * 1024);
    let mut written = Vec::new();
    let mut status = (200, String::new());
    for i in 0..200 {
        let id = format!("during-{i}");
        writer.add_note(&id, &body);
        written.push(id);
        tokio::time::sleep(Duration::from_millis(20)).await;
        status = crate::harness::http_get(server.addr(), "/healthz").await?;
        if status.0 != 200 {
            break;
        }
    }
    eprintln!("/healthz after {} notes: {status:?}", written.len());
    assert_eq!(status.0, 503, "a full disk turns /healthz into an error");
    assert!(
        status.1.contains("disk full"),
        "the reason is given: {:?}",
        status.1
    );
    // Writes are refused with a clear message, nobody is disconnected.
    let denied_before = crate::api::denials(&writer).len();
    writer.add_note("refused", "not saved now");
    written.push("refused".to_string());
    let denied = crate::api::wait_denied(&writer, denied_before).await?;
    let last = denied.last().cloned().unwrap_or_default();
    assert!(last.contains("disk full"), "denial says why: {last}");
    assert!(reader.is_connected(), "readers stay connected");
    assert!(writer.is_connected(), "writers are not disconnected either");
    assert!(
        !reader.note_ids().contains("refused"),
        "nothing unsaved is relayed"
    );

    // Space returns: the server notices by itself, and asks clients for what it lacks.
    disk.free().map_err(io("removing the filler"))?;
    eventually("/healthz to be ok again", WAIT, || async {
        crate::harness::http_get(server.addr(), "/healthz")
            .await
            .is_ok_and(|(code, _)| code == 200)
    })
    .await?;
    reader
        .wait_until("every note written during the fault", WAIT, |d| {
            let ids = note_ids(d);
            written.iter().all(|id| ids.contains(id))
        })
        .await?;
    assert!(reader.is_connected() && writer.is_connected());
    // And it is on disk: a restart has everything.
    server.restart().await?;
    let after = TestClient::connect(&server.ws_url(doc)).await?;
    let ids = after.note_ids();
    let missing = written.iter().filter(|id| !ids.contains(*id)).count();
    assert_eq!(missing, 0, "{missing} notes missing after a restart");
    drop(server);
    drop(disk);
    Ok(())
}
