//! The floor: a WebSocket relay that forwards each binary frame to the other sockets of its room.
//!
//! No document, no disk, no backpressure policy (queues are unbounded): whatever a CRDT server
//! costs beyond this is the price of keeping and storing the document. The room is the URL path.
//! Buffers are tungstenite's defaults, as a relay written in an afternoon would have them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::Message;

type Room = HashMap<u64, mpsc::UnboundedSender<Message>>;

#[derive(Default)]
struct Rooms {
    rooms: Mutex<HashMap<String, Room>>,
    next_id: AtomicU64,
}

/// Accepts connections on `listener` until the task is dropped or aborted.
pub async fn run(listener: TcpListener) -> std::io::Result<()> {
    let rooms = Arc::new(Rooms::default());
    loop {
        let (stream, _peer) = match listener.accept().await {
            Ok(s) => s,
            // Out of file descriptors or a connection reset before accept: keep serving the others.
            Err(_) => {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let rooms = rooms.clone();
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            serve(stream, rooms).await;
        });
    }
}

// The handshake callback's error type is fixed by tungstenite's `Callback` trait.
#[allow(clippy::result_large_err)]
async fn serve(stream: TcpStream, rooms: Arc<Rooms>) {
    let mut path = String::new();
    let ws = tokio_tungstenite::accept_hdr_async(stream, |req: &Request, resp: Response| {
        path = req.uri().path().to_owned();
        Ok(resp)
    })
    .await;
    let Ok(ws) = ws else {
        return;
    };
    let (mut sink, mut source) = ws.split();
    let id = rooms.next_id.fetch_add(1, Ordering::Relaxed);
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    rooms
        .rooms
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(path.clone())
        .or_default()
        .insert(id, tx);

    let writer = tokio::spawn(async move {
        while let Some(msg) = rx.recv().await {
            if sink.send(msg).await.is_err() {
                break;
            }
        }
    });

    while let Some(Ok(msg)) = source.next().await {
        match msg {
            Message::Binary(_) => {
                let rooms = rooms.rooms.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(room) = rooms.get(&path) {
                    for (other, tx) in room {
                        if *other != id {
                            // A closed peer is removed by its own task; nothing to do here.
                            let _ = tx.send(msg.clone());
                        }
                    }
                }
            }
            Message::Close(_) => break,
            _ => {}
        }
    }

    {
        let mut all = rooms.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(room) = all.get_mut(&path) {
            room.remove(&id);
            if room.is_empty() {
                all.remove(&path);
            }
        }
    }
    writer.abort();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio_tungstenite::connect_async;

    #[tokio::test]
    async fn forwards_to_the_room_only_and_not_back() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(run(listener));
        let url = |room: &str| format!("ws://{addr}/{room}");
        let (mut a1, _) = connect_async(url("a")).await.expect("a1");
        let (mut a2, _) = connect_async(url("a")).await.expect("a2");
        let (mut b1, _) = connect_async(url("b")).await.expect("b1");
        // Registration happens after the handshake; give the server a bounded moment.
        tokio::time::sleep(Duration::from_millis(100)).await;

        a1.send(Message::Binary(vec![1, 2, 3].into()))
            .await
            .expect("send");
        let got = tokio::time::timeout(Duration::from_secs(5), a2.next())
            .await
            .expect("a2 receives in time")
            .expect("a2 open")
            .expect("a2 frame");
        assert_eq!(got, Message::Binary(vec![1, 2, 3].into()));

        // Neither the sender nor the other room gets it.
        let quiet = Duration::from_millis(200);
        assert!(tokio::time::timeout(quiet, a1.next()).await.is_err());
        assert!(tokio::time::timeout(quiet, b1.next()).await.is_err());
        server.abort();
    }
}
