//! Device identity: who wrote a note, checked by the server without accounts.
//!
//! On first join a browser draws a random secret (128 bits, base64url, kept in local storage)
//! and sends it with every connection beside its link's token (subprotocol
//! `palabre.device.<secret>` or `?device=`). The server derives the device's id in a workshop
//! as a one-way hash of the workshop id and that secret: stable across reloads and reconnects,
//! different in every workshop (two workshops cannot link a phone), and impossible to forge
//! without the secret (knowing someone's id — every note carries its author's — does not give
//! theirs). Because the derivation needs no server key, rotating any link's secret keeps every
//! phone's rights on its own notes; the browser computes the same id with WebCrypto, so it can
//! write its own `authorId` before its first connection (offline included).
//!
//! Losing the secret (another browser, cleared storage) loses the right to edit one's old
//! notes, never the notes. No IO here.

use sha2::{Digest, Sha256};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// Domain separation for the derivation, so that the hash is used for nothing else.
const DOMAIN: &[u8] = b"palabre device v1\0";
/// Shortest secret accepted: 16 base64url characters is 96 bits.
pub const MIN_SECRET_CHARS: usize = 16;
/// Longest secret accepted (bounded like every client input).
pub const MAX_SECRET_CHARS: usize = 64;
/// Length of a device id: 22 base64url characters of the hash (132 bits).
pub const ID_CHARS: usize = 22;

/// A device's opaque id in one workshop.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceId(String);

impl DeviceId {
    /// The id as written in `authorId` fields and vote keys.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for DeviceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a device secret was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    /// Too short or too long.
    #[error("device secret must be {MIN_SECRET_CHARS}–{MAX_SECRET_CHARS} characters")]
    Length,
    /// Not base64url.
    #[error("device secret must be base64url (A–Z, a–z, 0–9, '-', '_')")]
    Alphabet,
}

/// Checks the shape of a secret a client sent.
pub fn check_secret(secret: &str) -> Result<(), DeviceError> {
    if !(MIN_SECRET_CHARS..=MAX_SECRET_CHARS).contains(&secret.len()) {
        return Err(DeviceError::Length);
    }
    if !secret
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(DeviceError::Alphabet);
    }
    Ok(())
}

/// The id of the device holding `secret` in `workshop`:
/// base64url(SHA-256(DOMAIN ‖ workshop ‖ 0 ‖ secret)) cut to [`ID_CHARS`].
pub fn derive(workshop: &str, secret: &str) -> Result<DeviceId, DeviceError> {
    check_secret(secret)?;
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update(workshop.as_bytes());
    h.update([0u8]);
    h.update(secret.as_bytes());
    let mut id = URL_SAFE_NO_PAD.encode(h.finalize());
    id.truncate(ID_CHARS);
    Ok(DeviceId(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_is_stable_per_workshop_and_differs_across_workshops() {
        let s = "abcdefghijklmnopqrstuv";
        let a = derive("w1", s).expect("valid secret");
        assert_eq!(a, derive("w1", s).expect("valid secret"));
        assert_ne!(a, derive("w2", s).expect("valid secret"));
        assert_ne!(
            a,
            derive("w1", "abcdefghijklmnopqrstuw").expect("valid secret")
        );
        assert_eq!(a.as_str().len(), ID_CHARS);
    }

    #[test]
    fn the_derivation_matches_the_browser_vector() {
        // The same vector is checked by web/src/lib/device.test.ts (WebCrypto).
        let id = derive("atelier-test", "0123456789abcdefABCDEF").expect("valid secret");
        assert_eq!(id.as_str(), known_vector());
    }

    fn known_vector() -> &'static str {
        // Computed once with: printf 'palabre device v1\0atelier-test\0000123456789abcdefABCDEF'
        // | sha256sum | xxd -r -p | base64 | tr '+/' '-_' | cut -c1-22
        "IgyijSdZPXOm9c7DPJAqVW"
    }

    #[test]
    fn malformed_secrets_are_refused() {
        assert_eq!(derive("w", "short"), Err(DeviceError::Length));
        assert_eq!(derive("w", &"a".repeat(65)), Err(DeviceError::Length));
        assert_eq!(
            derive("w", "abcdefghijklmnop qrs"),
            Err(DeviceError::Alphabet)
        );
    }
}
