//! Whether the server can keep its promise of durability right now, for `/healthz` and for the
//! rooms: a failed commit raises a storage fault (rooms stop accepting writes but keep serving
//! reads); a periodic probe write clears it once the disk takes writes again. No IO here: the
//! probe itself is a `Store` call made by the server's supervisor (`lib.rs`).

use tokio::sync::watch;

/// The storage fault, if any, shared by every room and the HTTP layer.
#[derive(Debug)]
pub struct Health {
    fault: watch::Sender<Option<String>>,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            fault: watch::Sender::new(None),
        }
    }
}

impl Health {
    /// Storage failed with `reason`: writes are refused until a probe succeeds.
    pub fn storage_failed(&self, reason: &str) {
        let reason = plain_reason(reason);
        self.fault.send_if_modified(|f| {
            if f.as_deref() == Some(reason.as_str()) {
                return false;
            }
            if f.is_none() {
                tracing::error!(%reason, "storage fault: writes are refused until it recovers");
            }
            *f = Some(reason);
            true
        });
    }

    /// A probe write succeeded: writes are accepted again.
    pub fn storage_recovered(&self) {
        self.fault.send_if_modified(|f| {
            let was = f.take();
            if was.is_some() {
                tracing::warn!("storage recovered: writes are accepted again");
            }
            was.is_some()
        });
    }

    /// The current fault, if any.
    pub fn fault(&self) -> Option<String> {
        self.fault.borrow().clone()
    }

    /// Follows the fault as it comes and goes.
    pub fn subscribe(&self) -> watch::Receiver<Option<String>> {
        self.fault.subscribe()
    }
}

/// What to tell people: "disk full" rather than SQLite's wording when that is what it is.
fn plain_reason(reason: &str) -> String {
    let lower = reason.to_ascii_lowercase();
    if lower.contains("full") || lower.contains("no space") {
        "disk full: the server cannot save changes".to_string()
    } else {
        format!("storage failing: {reason}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_comes_and_goes_and_watchers_see_both() {
        let h = Health::default();
        let mut rx = h.subscribe();
        assert_eq!(h.fault(), None);
        h.storage_failed("database error: database or disk is full");
        assert!(rx.has_changed().unwrap_or(false));
        assert_eq!(
            rx.borrow_and_update().as_deref(),
            Some("disk full: the server cannot save changes")
        );
        h.storage_failed("database error: database or disk is full");
        assert!(
            !rx.has_changed().unwrap_or(true),
            "the same fault is not news"
        );
        h.storage_recovered();
        assert!(rx.has_changed().unwrap_or(false));
        assert_eq!(h.fault(), None);
    }
}
