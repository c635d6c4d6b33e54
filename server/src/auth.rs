//! Who may do what: per-workshop secrets for the three roles, join codes, and the limiter
//! that locks out join-code guessers. No HTTP here: handlers ask, this module answers.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

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

    /// New participant and viewer secrets and a new join code; the facilitator's stays.
    pub fn rotate(&mut self) {
        let mut rng = rand::rng();
        self.participant = secret(&mut rng);
        self.viewer = secret(&mut rng);
        self.join_code = join_code(&mut rng);
    }
}

fn creds_key(workshop: &str) -> String {
    format!("workshop-credentials:{workshop}")
}

fn code_key(code: &str) -> String {
    format!("join-code:{code}")
}

/// Credentials of every workshop, read through from the store and cached.
pub struct Registry {
    store: Arc<dyn Store>,
    cache: DashMap<String, Arc<Credentials>>,
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
    /// A registry over `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Registry {
            store,
            cache: DashMap::new(),
        }
    }

    /// The credentials of `workshop`, if it exists.
    pub async fn get(&self, workshop: &str) -> Result<Option<Arc<Credentials>>, AuthError> {
        if let Some(c) = self.cache.get(workshop) {
            return Ok(Some(c.clone()));
        }
        let Some(bytes) = self.store.get_meta(&creds_key(workshop)).await? else {
            return Ok(None);
        };
        let creds: Credentials =
            serde_json::from_slice(&bytes).map_err(|_| AuthError::Corrupt(workshop.to_string()))?;
        let creds = Arc::new(creds);
        self.cache.insert(workshop.to_string(), creds.clone());
        Ok(Some(creds))
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
        self.cache.insert(creds.workshop.clone(), Arc::new(creds));
        Ok(())
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

/// Limits on join-code guessing.
#[derive(Debug, Clone, Copy)]
pub struct GuessLimits {
    /// Failed attempts allowed from one address within `window`.
    pub per_address: u32,
    /// The window over which failures are counted.
    pub window: Duration,
    /// How long an address that went over the limit is refused.
    pub lockout: Duration,
    /// Failed attempts allowed from all addresses together per hour; past it, every code
    /// lookup is refused until the hour is over (links and QR codes keep working). This is what
    /// bounds an attacker with many addresses.
    pub global_per_hour: u32,
}

/// Counts failed join-code attempts per address and locks out guessers.
pub struct GuessLimiter {
    limits: GuessLimits,
    addrs: DashMap<IpAddr, Attempts>,
    /// (failures this hour, start of the hour); a std Mutex: held for a few instructions, never
    /// across an await.
    global: std::sync::Mutex<(u32, Instant)>,
}

struct Attempts {
    failures: u32,
    window_start: Instant,
    locked_until: Option<Instant>,
}

impl GuessLimiter {
    /// A limiter with `limits`.
    pub fn new(limits: GuessLimits) -> Self {
        GuessLimiter {
            limits,
            addrs: DashMap::new(),
            global: std::sync::Mutex::new((0, Instant::now())),
        }
    }

    /// Whether `addr` may try a code now; `Err` carries how long it must wait.
    pub fn check(&self, addr: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        if let Ok(g) = self.global.lock() {
            let hour = Duration::from_secs(3600);
            let elapsed = now.duration_since(g.1);
            if elapsed < hour && g.0 >= self.limits.global_per_hour {
                return Err(hour - elapsed);
            }
        }
        match self.addrs.get(&addr).and_then(|a| a.locked_until) {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    /// Records a failed attempt; returns true if the address is now locked out.
    pub fn fail(&self, addr: IpAddr) -> bool {
        if self.addrs.len() > 100_000 {
            self.prune();
        }
        let now = Instant::now();
        if let Ok(mut g) = self.global.lock() {
            if now.duration_since(g.1) >= Duration::from_secs(3600) {
                *g = (0, now);
            }
            g.0 += 1;
        }
        let mut a = self.addrs.entry(addr).or_insert(Attempts {
            failures: 0,
            window_start: now,
            locked_until: None,
        });
        if now.duration_since(a.window_start) > self.limits.window {
            a.failures = 0;
            a.window_start = now;
        }
        a.failures += 1;
        if a.failures >= self.limits.per_address {
            a.locked_until = Some(now + self.limits.lockout);
            a.failures = 0;
            a.window_start = now;
            return true;
        }
        false
    }

    /// Forgets entries that no longer matter, so the table cannot grow without bound.
    pub fn prune(&self) {
        let now = Instant::now();
        let window = self.limits.window;
        self.addrs.retain(|_, a| {
            a.locked_until.is_some_and(|u| u > now) || now.duration_since(a.window_start) <= window
        });
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
    fn rotation_changes_participant_viewer_and_code_only() {
        let mut c = Credentials::generate("w1", 0);
        let old = c.clone();
        c.rotate();
        assert_eq!(c.facilitator, old.facilitator);
        assert_ne!(c.participant, old.participant);
        assert_ne!(c.viewer, old.viewer);
        assert_eq!(c.role_of(&old.participant), None);
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

    #[test]
    fn guesser_is_locked_out_after_the_limit_and_others_are_not() {
        let l = GuessLimiter::new(GuessLimits {
            per_address: 3,
            window: Duration::from_secs(60),
            lockout: Duration::from_secs(600),
            global_per_hour: 1000,
        });
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        assert!(!l.fail(a));
        assert!(!l.fail(a));
        assert!(l.fail(a));
        assert!(l.check(a).is_err());
        assert!(l.check(b).is_ok());
    }

    #[test]
    fn many_addresses_together_hit_the_global_cap() {
        let l = GuessLimiter::new(GuessLimits {
            per_address: 100,
            window: Duration::from_secs(60),
            lockout: Duration::from_secs(600),
            global_per_hour: 5,
        });
        for i in 0..5u8 {
            assert!(l.check([10, 0, 1, i].into()).is_ok());
            l.fail([10, 0, 1, i].into());
        }
        assert!(
            l.check([10, 0, 2, 1].into()).is_err(),
            "a fresh address is refused too"
        );
    }
}
