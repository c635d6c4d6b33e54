//! The secrets of one workshop: the three roles' secrets and the join code, generated,
//! compared in constant time, rotated; join codes' alphabet, normalising and day-end expiry.

use base64::Engine as _;
use rand::{Rng, RngCore};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

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
pub(super) const CODE_ALPHABET: &[u8] = b"ACDEFGHJKMNPQRTUVWXY34679";
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
