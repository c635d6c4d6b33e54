//! A connection's handles into its room: [`Membership`] (its outbox, its close signal, leaving
//! on drop) and [`RoomSender`] (its messages in, with back-pressure).

use tokio::sync::{mpsc, oneshot};

use crate::protocol::Message;
use crate::room::{CloseReason, ConnId, RoomMsg};

/// A connection's way into its room.
#[derive(Debug)]
pub struct Membership {
    pub(super) conn: ConnId,
    pub(super) tx: mpsc::Sender<RoomMsg>,
    /// Frames the room sends to this connection (bounded in bytes).
    pub outbox: crate::outbox::OutboxReceiver,
    /// Fires when the room wants this connection closed.
    pub close: oneshot::Receiver<CloseReason>,
}

impl Membership {
    /// A handle that sends this connection's messages to the room, so that reading and writing
    /// can run side by side.
    pub fn sender(&self) -> RoomSender {
        RoomSender {
            conn: self.conn,
            tx: self.tx.clone(),
        }
    }

    /// Hands a decoded message to the room; waits if the room is busy (back-pressure).
    /// Returns false when the room is gone.
    pub async fn send(&self, msg: Message) -> bool {
        self.tx
            .send(RoomMsg::Frame {
                conn: self.conn,
                msg,
            })
            .await
            .is_ok()
    }
}

/// Sends one connection's decoded messages to its room (see [`Membership::sender`]).
#[derive(Debug, Clone)]
pub struct RoomSender {
    conn: ConnId,
    tx: mpsc::Sender<RoomMsg>,
}

impl RoomSender {
    /// Hands a decoded message to the room; waits if the room is busy (back-pressure).
    /// Returns false when the room is gone.
    pub async fn send(&self, msg: Message) -> bool {
        self.tx
            .send(RoomMsg::Frame {
                conn: self.conn,
                msg,
            })
            .await
            .is_ok()
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        // Leave must reach the room even when its inbox is full; try first, then queue it.
        if let Err(mpsc::error::TrySendError::Full(msg)) =
            self.tx.try_send(RoomMsg::Leave { conn: self.conn })
        {
            let tx = self.tx.clone();
            tokio::spawn(async move {
                let _ = tx.send(msg).await;
            });
        }
    }
}
