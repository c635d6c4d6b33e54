//! Join-code failures counted in Redis, so that the per-address and global limits of
//! `auth::guess` hold for the whole cluster: a guesser spread over every node behind the
//! proxy meets the same counts. `INCR` + `EXPIRE` per address (alive `lockout` after the last
//! failure) and per hour for everyone; the address's proof-of-work challenge is stored beside
//! its count (`SET NX`), so a proof made for one node is good on every node.

use std::net::IpAddr;
use std::time::Duration;

use futures_util::future::BoxFuture;
use rand::RngCore;
use redis::aio::ConnectionManager;
use tokio::sync::OnceCell;

use crate::auth::{SharedCounts, SharedGuesses};

/// Bound on connecting and on each answer: a lookup must not hang on Redis.
const TIMEOUT: Duration = Duration::from_secs(1);

/// The Redis-backed counts.
pub(super) struct RedisGuesses {
    client: redis::Client,
    conn: OnceCell<ConnectionManager>,
}

fn address_key(key: IpAddr) -> String {
    format!("palabre:guess:a:{key}")
}

fn challenge_key(key: IpAddr) -> String {
    format!("palabre:guess:c:{key}")
}

/// The global count's key for the current hour, and how long that hour has left.
fn hour_key() -> (String, Duration) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    (
        format!("palabre:guess:g:{}", secs / 3600),
        Duration::from_secs(3600 - secs % 3600),
    )
}

impl RedisGuesses {
    pub(super) fn new(client: redis::Client) -> Self {
        RedisGuesses {
            client,
            conn: OnceCell::new(),
        }
    }

    async fn conn(&self) -> Result<ConnectionManager, String> {
        super::lazy_conn(&self.client, &self.conn, TIMEOUT)
            .await
            .map_err(|e| e.to_string())
    }
}

impl SharedGuesses for RedisGuesses {
    fn counts(&self, key: IpAddr) -> BoxFuture<'_, Result<SharedCounts, String>> {
        Box::pin(async move {
            let mut conn = self.conn().await?;
            let (hour, reset) = hour_key();
            let (address, challenge, global): (Option<u32>, Option<String>, Option<u32>) =
                redis::cmd("MGET")
                    .arg(address_key(key))
                    .arg(challenge_key(key))
                    .arg(hour)
                    .query_async(&mut conn)
                    .await
                    .map_err(|e| e.to_string())?;
            Ok(SharedCounts {
                address: address.unwrap_or(0),
                global: global.unwrap_or(0),
                global_reset: reset,
                challenge,
            })
        })
    }

    fn fail(&self, key: IpAddr, lockout: Duration) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let mut conn = self.conn().await?;
            let (hour, _) = hour_key();
            let lockout = lockout.as_secs().max(1);
            let mut challenge = [0u8; 12];
            rand::rng().fill_bytes(&mut challenge);
            let challenge: String = challenge.iter().map(|b| format!("{b:02x}")).collect();
            redis::pipe()
                .atomic()
                .cmd("INCR")
                .arg(address_key(key))
                .ignore()
                .cmd("EXPIRE")
                .arg(address_key(key))
                .arg(lockout)
                .ignore()
                .cmd("SET")
                .arg(challenge_key(key))
                .arg(challenge)
                .arg("NX")
                .ignore()
                .cmd("EXPIRE")
                .arg(challenge_key(key))
                .arg(lockout)
                .ignore()
                .cmd("INCR")
                .arg(&hour)
                .ignore()
                .cmd("EXPIRE")
                .arg(&hour)
                .arg(3600)
                .ignore()
                .query_async::<()>(&mut conn)
                .await
                .map_err(|e| e.to_string())
        })
    }
}
