//! Who may do what: per-workshop secrets for the three roles, join codes, and the limiter
//! of join-code guessers ([`guess`]). No HTTP here: handlers ask, this module answers.

mod guess;

use std::sync::Arc;
use std::time::{Duration, Instant};

pub use guess::{pow_zero_bits, Gate, GuessLimiter, GuessLimits, SharedCounts, SharedGuesses};

use base64::Engine as _;
use dashmap::DashMap;
use rand::{Rng, RngCore};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::store::{Store, StoreError};

/// What a credential lets its holder do in a workshop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum Role {
    /// Reads and writes everything, including the workshop doc (agenda, control state).
    Facilitator,
    /// Reads everything; writes boards that are not locked; never the workshop doc.
    Participant,
    /// The projector: reads everything, writes nothing.
    Viewer,
}

/// Join-code alphabet: no 0/O, 1/I/L, 2/Z, 5/S, 8/B lookalikes; 25 symbols.
const CODE_ALPHABET: &[u8] = b"ACDEFGHJKMNPQRTUVWXY34679";
/// Join-code length: 25^6 ≈ 2.4e8 possible codes (the arithmetic is in ARCHITECTURE.md).
pub const CODE_LEN: usize = 6;

/// The secrets of one workshop, as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Credentials {
    /// The workshop id.
    pub workshop: String,
    /// Facilitator secret (128 random bits, base64url).
    pub facilitator: String,
    /// Participant secret.
    pub participant: String,
    /// Viewer (projector) secret.
    pub viewer: String,
    /// Short code that resolves to the participant link.
    pub join_code: String,
    /// When the join code stops working (ms since the epoch): the end of the workshop's day.
    pub code_expires_ms: i64,
}

fn secret(rng: &mut impl RngCore) -> String {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn join_code(rng: &mut impl Rng) -> String {
    (0..CODE_LEN)
        .map(|_| {
            let i = rng.random_range(0..CODE_ALPHABET.len());
            char::from(CODE_ALPHABET.get(i).copied().unwrap_or(b'A'))
        })
        .collect()
}

/// Normalises what a person typed: case, spaces and dashes do not matter.
pub fn normalise_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// End of the workshop's day: the day after `date` (yyyy-mm-dd) at 12:00 UTC, which covers the
/// whole day in every European time zone — but never less than 24 h from `now_ms` (a workshop
/// recorded after the fact); 36 h from `now_ms` when the date cannot be read.
pub fn code_expiry(date: &str, now_ms: i64) -> i64 {
    day_end(date, now_ms).max(now_ms + 24 * 3_600_000)
}

fn day_end(date: &str, now_ms: i64) -> i64 {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    match time::Date::parse(date.trim(), &format) {
        Ok(d) => {
            let next = d.next_day().unwrap_or(d);
            let at = next
                .with_hms(12, 0, 0)
                .map(|dt| dt.assume_utc().unix_timestamp());
            at.map(|s| s * 1000).unwrap_or(now_ms + 36 * 3_600_000)
        }
        Err(_) => now_ms + 36 * 3_600_000,
    }
}

impl Credentials {
    /// Fresh secrets and join code for `workshop`.
    pub fn generate(workshop: &str, code_expires_ms: i64) -> Self {
        let mut rng = rand::rng();
        Credentials {
            workshop: workshop.to_string(),
            facilitator: secret(&mut rng),
            participant: secret(&mut rng),
            viewer: secret(&mut rng),
            join_code: join_code(&mut rng),
            code_expires_ms,
        }
    }

    /// The secret that grants `role`.
    pub fn secret_of(&self, role: Role) -> &str {
        match role {
            Role::Facilitator => &self.facilitator,
            Role::Participant => &self.participant,
            Role::Viewer => &self.viewer,
        }
    }

    /// The role `token` grants, compared in constant time so timing reveals nothing.
    pub fn role_of(&self, token: &str) -> Option<Role> {
        let t = token.as_bytes();
        let f = t.ct_eq(self.facilitator.as_bytes());
        let p = t.ct_eq(self.participant.as_bytes());
        let v = t.ct_eq(self.viewer.as_bytes());
        if bool::from(f) {
            Some(Role::Facilitator)
        } else if bool::from(p) {
            Some(Role::Participant)
        } else if bool::from(v) {
            Some(Role::Viewer)
        } else {
            None
        }
    }

    /// New facilitator and viewer secrets: the links only the facilitator holds (their pages
    /// and the projector's). The participant secret and the join code stay.
    pub fn rotate_facilitator(&mut self) {
        let mut rng = rand::rng();
        self.facilitator = secret(&mut rng);
        self.viewer = secret(&mut rng);
    }

    /// A new participant secret and join code: what the room sees (QR, code, handed-out link).
    /// The viewer's stays, so a projector keeps its connection and shows the new code by itself.
    pub fn rotate(&mut self) {
        let mut rng = rand::rng();
        self.participant = secret(&mut rng);
        self.join_code = join_code(&mut rng);
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_secret_grants_its_role_and_nothing_else_does() {
        let c = Credentials::generate("w1", 0);
        assert_eq!(c.role_of(&c.facilitator), Some(Role::Facilitator));
        assert_eq!(c.role_of(&c.participant), Some(Role::Participant));
        assert_eq!(c.role_of(&c.viewer), Some(Role::Viewer));
        assert_eq!(c.role_of(""), None);
        assert_eq!(c.role_of("nope"), None);
        assert_eq!(c.facilitator.len(), 22, "128 bits in base64url");
    }

    #[test]
    fn rotation_changes_participant_and_code_only() {
        let mut c = Credentials::generate("w1", 0);
        let old = c.clone();
        c.rotate();
        assert_eq!(c.facilitator, old.facilitator);
        assert_eq!(c.viewer, old.viewer, "the projector keeps its link");
        assert_ne!(c.participant, old.participant);
        assert_ne!(c.join_code, old.join_code);
        assert_eq!(c.role_of(&old.participant), None);
    }

    #[test]
    fn facilitator_rotation_changes_facilitator_and_viewer_only() {
        let mut c = Credentials::generate("w1", 0);
        let old = c.clone();
        c.rotate_facilitator();
        assert_ne!(c.facilitator, old.facilitator);
        assert_ne!(c.viewer, old.viewer);
        assert_eq!(c.participant, old.participant);
        assert_eq!(c.join_code, old.join_code);
        assert_eq!(c.role_of(&old.viewer), None);
    }

    #[test]
    fn codes_use_the_unambiguous_alphabet_and_normalise() {
        let c = Credentials::generate("w1", 0);
        assert_eq!(c.join_code.len(), CODE_LEN);
        assert!(c.join_code.bytes().all(|b| CODE_ALPHABET.contains(&b)));
        assert_eq!(normalise_code(" k7m-2qx "), "K7M2QX");
    }

    #[test]
    fn code_expires_the_day_after_at_noon_utc() {
        // 2023-05-10T12:00:00Z
        assert_eq!(code_expiry("2023-05-09", 0), 1_683_720_000_000);
        let later = 1_700_000_000_000;
        assert_eq!(code_expiry("2023-05-09", later), later + 24 * 3_600_000);
        assert_eq!(code_expiry("demain", 1000), 1000 + 36 * 3_600_000);
    }
}
