//! The running client: its WebSocket, its yrs doc, the frames it answers and the commands it
//! carries out, and the web client's confirmation requests.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use yrs::types::EntryChange;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{
    Any, ClientID, Doc, Map, MapRef, Observable, Out, ReadTxn, StateVector, Transact, Update,
};

use crate::wire::{encode_awareness, AwarenessEntry, Message};

/// Root map holding the notes.
use super::*;

fn as_f64(v: &Any) -> Option<f64> {
    match v {
        Any::Number(n) => n.as_f64(),
        _ => None,
    }
}

fn ws_config() -> WebSocketConfig {
    // Small buffers: 10 000 simulated browsers must fit next to the server on this machine.
    WebSocketConfig::default()
        .read_buffer_size(16 * 1024)
        .write_buffer_size(0)
        .max_message_size(Some(64 << 20))
}

struct Client {
    opts: ClientOptions,
    opened: Duration,
    doc: Doc,
    notes: MapRef,
    seq: u64,
    awareness_clock: u64,
    end: ClientEnd,
    synced: bool,
    probe: Probe,
}

/// The web client's confirmation state (unused by plain clients).
#[derive(Debug, Default)]
struct Probe {
    /// When the next request goes out, if one is scheduled.
    due: Option<tokio::time::Instant>,
    /// The state vector of the unanswered request.
    in_flight: Option<StateVector>,
    /// What the server last confirmed.
    acked: StateVector,
}

async fn sleep_until_or_never(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

pub(super) async fn run(
    opts: ClientOptions,
    mut commands: mpsc::Receiver<Command>,
    state: watch::Sender<SyncState>,
) -> ClientEnd {
    let started = Instant::now();
    let connected =
        tokio_tungstenite::connect_async_with_config(opts.url.as_str(), Some(ws_config()), true)
            .await;
    let ws = match connected {
        Ok((ws, _response)) => ws,
        Err(e) => {
            let msg = format!("connect: {e}");
            state.send_replace(SyncState::Failed(msg.clone()));
            return ClientEnd {
                error: Some(msg),
                ..ClientEnd::default()
            };
        }
    };
    let opened = started.elapsed();
    let (mut sink, mut stream) = ws.split();
    let mut c = Client::new(opts, opened);

    let mut hello = Vec::with_capacity(2);
    if c.opts.mode == Mode::Crdt {
        let sv = c.doc.transact().state_vector().encode_v1();
        hello.push(Message::SyncStep1(&sv).encode());
    } else {
        state.send_replace(SyncState::Synced {
            after: opened,
            opened,
            received: opened,
            notes: 0,
        });
    }
    hello.push(c.awareness_frame());
    for frame in hello {
        if let Err(e) = sink.send(WsMessage::Binary(frame.into())).await {
            return c.fail(&state, format!("send hello: {e}"));
        }
    }

    let first_renewal = match c.opts.renewal {
        Renewal::AfterJoin => AWARENESS_RENEW,
        Renewal::Spread => AWARENESS_RENEW.mul_f64(rand::random::<f64>()),
    };
    let mut renew =
        tokio::time::interval_at(tokio::time::Instant::now() + first_renewal, AWARENESS_RENEW);
    loop {
        tokio::select! {
            frame = stream.next() => match frame {
                Some(Ok(WsMessage::Binary(bytes))) => {
                    c.end.frames_in += 1;
                    c.end.bytes_in += bytes.len() as u64;
                    let replies = c.on_frame(&bytes, started, &state);
                    for r in replies {
                        if let Err(e) = sink.send(WsMessage::Binary(r.into())).await {
                            return c.fail(&state, format!("send: {e}"));
                        }
                    }
                }
                Some(Ok(WsMessage::Close(frame))) => {
                    let why = frame.map(|f| format!("{} {}", f.code, f.reason)).unwrap_or_default();
                    return c.fail(&state, format!("closed by server: {why}"));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return c.fail(&state, format!("read: {e}")),
                None => return c.fail(&state, "connection ended".into()),
            },
            cmd = commands.recv() => match cmd {
                Some(Command::Write { notes, reply }) => {
                    let (frame, clock_end) = c.write_notes(notes);
                    if let Err(e) = sink.send(WsMessage::Binary(frame.into())).await {
                        return c.fail(&state, format!("send update: {e}"));
                    }
                    c.schedule_probe();
                    if let Some(reply) = reply {
                        let _ = reply.send(Written { clock_end, sent_at: Instant::now() });
                    }
                }
                Some(Command::EncodedSize(reply)) => {
                    let size = c
                        .doc
                        .transact()
                        .encode_state_as_update_v1(&StateVector::default())
                        .len();
                    let _ = reply.send(size);
                }
                Some(Command::Close) | None => {
                    let _ = sink.send(WsMessage::Close(None)).await;
                    let _ = sink.close().await;
                    return c.end;
                }
            },
            _ = sleep_until_or_never(c.probe.due) => {
                c.probe.due = None;
                if let Some(frame) = c.probe_frame() {
                    if let Err(e) = sink.send(WsMessage::Binary(frame.into())).await {
                        return c.fail(&state, format!("send probe: {e}"));
                    }
                }
            }
            _ = renew.tick() => {
                let frame = c.awareness_frame();
                if let Err(e) = sink.send(WsMessage::Binary(frame.into())).await {
                    return c.fail(&state, format!("send awareness: {e}"));
                }
            }
        }
    }
}

impl Client {
    fn new(opts: ClientOptions, opened: Duration) -> Self {
        let doc = Doc::with_client_id(opts.client_id);
        let notes = doc.get_or_insert_map(NOTES);
        if let Some(sink) = opts.latency.clone() {
            notes.observe(
                "latency",
                move |txn: &yrs::TransactionMut, event: &yrs::types::map::MapEvent| {
                    // Local writes carry an origin; only notes that came over the wire count.
                    if txn.origin().is_some() {
                        return;
                    }
                    for change in event.keys(txn).values() {
                        if let EntryChange::Inserted(Out::Any(Any::Map(note))) = change {
                            if let Some(at) = note.get("at").and_then(as_f64) {
                                sink.record(at);
                            }
                        }
                    }
                },
            );
        }
        Self {
            opts,
            opened,
            doc,
            notes,
            seq: 0,
            awareness_clock: 0,
            end: ClientEnd::default(),
            synced: false,
            probe: Probe::default(),
        }
    }

    /// Whether the doc holds something the server has not confirmed that this client must ask
    /// about: its own edits (web), or anything at all (web-eager).
    fn unconfirmed(&self) -> bool {
        let sv = self.doc.transact().state_vector();
        match self.opts.behaviour {
            Behaviour::Plain => false,
            Behaviour::Web => {
                let own = ClientID::new(self.opts.client_id);
                sv.get(&own) > self.probe.acked.get(&own)
            }
            Behaviour::WebEager => sv != self.probe.acked,
        }
    }

    /// Schedules a confirmation request `ACK_DELAY` from now, unless one is due or out already.
    fn schedule_probe(&mut self) {
        if self.probe.due.is_some() || self.probe.in_flight.is_some() || !self.unconfirmed() {
            return;
        }
        self.probe.due = Some(tokio::time::Instant::now() + ACK_DELAY);
    }

    /// The request to send now, if one is still needed.
    fn probe_frame(&mut self) -> Option<Vec<u8>> {
        if !self.synced || self.probe.in_flight.is_some() || !self.unconfirmed() {
            return None;
        }
        let sv = self.doc.transact().state_vector();
        let frame = Message::SyncStep1(&sv.encode_v1()).encode();
        self.probe.in_flight = Some(sv);
        self.end.probes_sent += 1;
        Some(frame)
    }

    fn fail(mut self, state: &watch::Sender<SyncState>, why: String) -> ClientEnd {
        state.send_if_modified(|s| {
            if matches!(s, SyncState::Pending) {
                *s = SyncState::Failed(why.clone());
                true
            } else {
                false
            }
        });
        self.end.error = Some(why);
        self.end
    }

    fn awareness_frame(&mut self) -> Vec<u8> {
        self.awareness_clock += 1;
        let id = self.opts.client_id;
        let entry = AwarenessEntry {
            client_id: id,
            clock: self.awareness_clock,
            state_json: format!(
                "{{\"user\":{{\"name\":\"Poste {id}\",\"color\":\"#{:06x}\"}}}}",
                id & 0xff_ffff
            ),
        };
        Message::Awareness(&encode_awareness(&[entry])).encode()
    }

    /// Handles one frame; returns the frames to send back.
    fn on_frame(
        &mut self,
        frame: &[u8],
        started: Instant,
        state: &watch::Sender<SyncState>,
    ) -> Vec<Vec<u8>> {
        let msg = match Message::decode(frame) {
            Ok(m) => m,
            Err(_) => {
                self.end.bad_frames += 1;
                return Vec::new();
            }
        };
        match msg {
            Message::SyncStep1(sv) if self.opts.mode == Mode::Crdt => {
                match StateVector::decode_v1(sv) {
                    Ok(sv) => {
                        let diff = self.doc.transact().encode_diff_v1(&sv);
                        vec![Message::SyncStep2(&diff).encode()]
                    }
                    Err(_) => {
                        self.end.bad_frames += 1;
                        Vec::new()
                    }
                }
            }
            Message::SyncStep1(_) => Vec::new(),
            Message::SyncStep2(update) => {
                let received = started.elapsed();
                self.apply(update);
                self.synced = true;
                if let Some(sv) = self.probe.in_flight.take() {
                    // The server answers a step 1 only once all before it is durable.
                    self.probe.acked = sv;
                    self.schedule_probe();
                }
                let notes = self.notes.len(&self.doc.transact());
                let opened = self.opened;
                state.send_if_modified(|s| {
                    if matches!(s, SyncState::Pending) {
                        *s = SyncState::Synced {
                            after: started.elapsed(),
                            opened,
                            received,
                            notes,
                        };
                        true
                    } else {
                        false
                    }
                });
                Vec::new()
            }
            Message::Update(update) => {
                self.apply(update);
                if self.opts.behaviour == Behaviour::WebEager {
                    self.schedule_probe();
                }
                Vec::new()
            }
            Message::QueryAwareness => vec![self.awareness_frame()],
            Message::Awareness(_) => Vec::new(),
            Message::AuthDenied(_) => {
                self.end.bad_frames += 1;
                Vec::new()
            }
        }
    }

    fn apply(&mut self, bytes: &[u8]) {
        let update = match Update::decode_v1(bytes) {
            Ok(u) => u,
            Err(_) => {
                self.end.bad_frames += 1;
                return;
            }
        };
        if let Some(acks) = &self.opts.acks {
            acks.observe(&update);
        }
        if self.doc.transact_mut().apply_update(update).is_err() {
            self.end.bad_frames += 1;
        }
    }

    /// Adds notes in one local transaction; returns the update frame and the new clock.
    fn write_notes(&mut self, count: usize) -> (Vec<u8>, u32) {
        let id = self.opts.client_id;
        let mut txn = self.doc.transact_mut_with("local");
        for _ in 0..count {
            self.seq += 1;
            let key = format!("{id:x}-{}", self.seq);
            let note: HashMap<String, Any> = HashMap::from([
                (
                    "text".to_owned(),
                    Any::from(format!("Idée n°{} du poste {id}", self.seq)),
                ),
                ("col".to_owned(), Any::from("amplifier")),
                ("at".to_owned(), Any::from(epoch_ms())),
            ]);
            self.notes.insert(&mut txn, key, Any::from(note));
        }
        let update = txn.encode_update_v1();
        let clock_end = txn.state_vector().get(&ClientID::new(id));
        drop(txn);
        (Message::Update(&update).encode(), clock_end)
    }
}
