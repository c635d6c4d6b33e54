//! Who may do what: the [`Registry`] of every workshop's credentials ([`credentials`]: the
//! secrets of the three roles and the join code), read through a cache from the store, and the
//! limiter of join-code guessers ([`guess`]). No HTTP here: handlers ask, this module answers.

mod credentials;
mod guess;

use std::sync::Arc;
use std::time::{Duration, Instant};

use credentials::CODE_ALPHABET;
pub use credentials::{code_expiry, normalise_code, Credentials, Role, CODE_LEN};
pub use guess::{pow_zero_bits, Gate, GuessLimiter, GuessLimits, SharedCounts, SharedGuesses};

use dashmap::DashMap;
use subtle::ConstantTimeEq;

use crate::store::{Store, StoreError};

fn creds_key(workshop: &str) -> String {
    format!("workshop-credentials:{workshop}")
}

fn code_key(code: &str) -> String {
    format!("join-code:{code}")
}

/// Cached credentials at most; past it, stale and expired entries go first, then any.
const CACHE_MAX: usize = 10_000;

/// Credentials of every workshop, read through from the store and cached for a while.
pub struct Registry {
    store: Arc<dyn Store>,
    cache: DashMap<String, (Arc<Credentials>, Instant)>,
    /// How long a cached credential is trusted before it is read again from the store; expired
    /// entries are swept ([`Registry::sweep`]), so a workshop deleted elsewhere (another node,
    /// the operator) leaves this process's memory at most about this long after.
    ttl: Duration,
    /// Workshops being or having been deleted: their links stop working at once.
    gone: DashMap<String, ()>,
    /// Told the workshop id after its stored credentials changed (a cluster node tells the
    /// other nodes, `cluster::credentials`); unset on a single node.
    notifier: std::sync::OnceLock<Notifier>,
}

/// What [`Registry::set_notifier`] installs.
pub type Notifier = Box<dyn Fn(&str) + Send + Sync>;

/// The credentials of a workshop before and after [`Registry::reload`].
#[derive(Debug, Clone)]
pub struct Reloaded {
    /// What this node had cached (`None` if nothing).
    pub before: Option<Arc<Credentials>>,
    /// What the store holds now (`None`: the workshop is gone).
    pub now: Option<Arc<Credentials>>,
}

/// Errors of the credential registry.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored record does not parse.
    #[error("stored credentials of {0} are unreadable")]
    Corrupt(String),
}

impl Registry {
    /// A registry over `store`, caching credentials for `ttl`.
    pub fn new(store: Arc<dyn Store>, ttl: Duration) -> Self {
        Registry {
            store,
            cache: DashMap::new(),
            ttl,
            gone: DashMap::new(),
            notifier: std::sync::OnceLock::new(),
        }
    }

    /// Installs what is told of every change of stored credentials (once; later calls are
    /// ignored).
    pub fn set_notifier(&self, notifier: Notifier) {
        let _ = self.notifier.set(notifier);
    }

    /// Tells the notifier that `workshop`'s stored credentials changed (or were deleted).
    pub fn announce(&self, workshop: &str) {
        if let Some(notify) = self.notifier.get() {
            notify(workshop);
        }
    }

    /// Reads `workshop`'s credentials from the store again, bypassing the cache, and caches
    /// them (another node changed them). A workshop no longer stored is revoked here.
    pub async fn reload(&self, workshop: &str) -> Result<Reloaded, AuthError> {
        let before = self.cache.get(workshop).map(|c| c.0.clone());
        let now = match self.store.get_meta(&creds_key(workshop)).await? {
            Some(bytes) => Some(Arc::new(
                serde_json::from_slice::<Credentials>(&bytes)
                    .map_err(|_| AuthError::Corrupt(workshop.to_string()))?,
            )),
            None => None,
        };
        match &now {
            Some(creds) => self.remember(creds.clone()),
            None if before.is_some() => self.revoke(workshop),
            None => {}
        }
        Ok(Reloaded { before, now })
    }

    /// Drops `workshop`'s cached credentials: the next use reads the store.
    pub fn forget(&self, workshop: &str) {
        self.cache.remove(workshop);
    }

    /// Ids of the workshops whose credentials this node has cached.
    pub fn cached_workshops(&self) -> Vec<String> {
        self.cache.iter().map(|e| e.key().clone()).collect()
    }

    /// The credentials of `workshop`, if it exists.
    pub async fn get(&self, workshop: &str) -> Result<Option<Arc<Credentials>>, AuthError> {
        if self.gone.contains_key(workshop) {
            return Ok(None);
        }
        if let Some(c) = self.cache.get(workshop) {
            if c.1.elapsed() < self.ttl {
                return Ok(Some(c.0.clone()));
            }
        }
        let Some(bytes) = self.store.get_meta(&creds_key(workshop)).await? else {
            self.cache.remove(workshop);
            return Ok(None);
        };
        let creds: Credentials =
            serde_json::from_slice(&bytes).map_err(|_| AuthError::Corrupt(workshop.to_string()))?;
        let creds = Arc::new(creds);
        self.remember(creds.clone());
        Ok(Some(creds))
    }

    fn remember(&self, creds: Arc<Credentials>) {
        if self.cache.len() >= CACHE_MAX {
            self.sweep();
        }
        if self.cache.len() >= CACHE_MAX {
            // Still full of fresh entries: drop an arbitrary half; they are read again on demand.
            let mut n = 0;
            self.cache.retain(|_, _| {
                n += 1;
                n % 2 == 0
            });
        }
        self.cache
            .insert(creds.workshop.clone(), (creds, Instant::now()));
    }

    /// Drops every cached credential older than the TTL (the server calls it periodically).
    pub fn sweep(&self) {
        let ttl = self.ttl;
        self.cache.retain(|_, (_, at)| at.elapsed() < ttl);
    }

    /// How long credentials stay cached.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Cached credentials (for tests and `/metrics`).
    pub fn cached(&self) -> usize {
        self.cache.len()
    }

    /// Stores `creds` durably (and its join code's index entry).
    pub async fn put(&self, creds: Credentials) -> Result<(), AuthError> {
        let bytes =
            serde_json::to_vec(&creds).map_err(|_| AuthError::Corrupt(creds.workshop.clone()))?;
        self.store
            .put_meta(
                &code_key(&creds.join_code),
                creds.workshop.clone().into_bytes(),
            )
            .await?;
        self.store
            .put_meta(&creds_key(&creds.workshop), bytes)
            .await?;
        let workshop = creds.workshop.clone();
        self.remember(Arc::new(creds));
        self.announce(&workshop);
        Ok(())
    }

    /// Makes every link and join code of `workshop` stop working now (it is being deleted).
    pub fn revoke(&self, workshop: &str) {
        self.gone.insert(workshop.to_owned(), ());
        self.cache.remove(workshop);
    }

    /// Whether `workshop` was deleted while this process runs (its id must not come back as an
    /// open doc either).
    pub fn is_revoked(&self, workshop: &str) -> bool {
        self.gone.contains_key(workshop)
    }

    /// Ids of every stored workshop.
    pub async fn workshops(&self) -> Result<Vec<String>, AuthError> {
        let prefix = creds_key("");
        Ok(self
            .store
            .meta_keys(&prefix)
            .await?
            .into_iter()
            .filter_map(|k| k.strip_prefix(&prefix).map(str::to_owned))
            .collect())
    }

    /// The workshop a join code opens, if the code exists and has not expired.
    pub async fn resolve_code(
        &self,
        code: &str,
        now_ms: i64,
    ) -> Result<Option<Arc<Credentials>>, AuthError> {
        let code = normalise_code(code);
        if code.len() != CODE_LEN || !code.bytes().all(|b| CODE_ALPHABET.contains(&b)) {
            return Ok(None);
        }
        let Some(wid) = self.store.get_meta(&code_key(&code)).await? else {
            return Ok(None);
        };
        let wid = String::from_utf8_lossy(&wid).into_owned();
        let Some(creds) = self.get(&wid).await? else {
            return Ok(None);
        };
        // A rotated code keeps its index entry but no longer matches the workshop's current one.
        let current = bool::from(creds.join_code.as_bytes().ct_eq(code.as_bytes()));
        Ok((current && now_ms < creds.code_expires_ms).then_some(creds))
    }
}
