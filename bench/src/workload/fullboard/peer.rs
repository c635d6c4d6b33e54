//! One connection to a Palabre board doc that writes the board's schema (docs/board-schema.md
//! §4.1): grid notes as nested maps with a `Y.Text`, a `votes` map and author fields. The
//! facilitator fills the board with it; participants (each with its own device secret) add notes,
//! edit their own, toggle their vote, or forge a deletion of someone else's note.
//!
//! A forged edit is a deletion only, so it consumes no clock of the peer's yrs client: once the
//! server refuses it, the peer's later updates still follow on from what the server holds.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use yrs::types::EntryChange;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{
    Any, Doc, Map, MapPrelim, MapRef, Observable, Out, ReadTxn, StateVector, Text, TextPrelim,
    Transact, Update,
};

use crate::client::{epoch_ms, LatencySink};
use crate::wire::Message;

/// Root map of a grid's notes (board-schema §4.1).
const NOTES: &str = "notes";
/// Root map of a grid's columns.
const COLUMNS: &str = "columns";

/// How to open one peer.
#[derive(Debug, Clone)]
pub struct PeerSpec {
    /// Board doc URL with the link's token and, for a participant, `&device=<secret>`.
    pub url: String,
    /// yrs client id.
    pub client_id: u64,
    /// The device id its notes carry (`""` for the facilitator).
    pub device: String,
    /// Connect from this source address (the attackers').
    pub from: Option<IpAddr>,
    /// Record the latency of notes others add.
    pub sink: Option<Arc<LatencySink>>,
}

/// What a peer is asked to do.
#[derive(Debug)]
pub enum Op {
    /// Facilitator: add `count` notes in batches of 100, authored round-robin by `authors`.
    Fill {
        /// Notes to add.
        count: usize,
        /// Device ids to author them.
        authors: Vec<String>,
        /// Told when every batch is sent.
        done: oneshot::Sender<()>,
    },
    /// Add one note of one's own, stamped with the wall clock in `createdAt`.
    Note,
    /// Type a character into one of one's own notes.
    OwnEdit,
    /// Put one's dot on someone else's note, or take it back.
    Vote,
    /// Delete someone else's note (refused by the server).
    Forge,
}

/// Counters a peer keeps.
#[derive(Debug, Default)]
pub struct PeerStats {
    /// Updates sent.
    pub sent: AtomicU64,
    /// Refusals (permission-denied) received.
    pub denied: AtomicU64,
    /// Notes in the peer's doc right after its sync step 2 (0 until synced).
    pub synced_notes: AtomicU64,
    /// Set when the connection ended.
    pub ended: AtomicU64,
}

/// A running peer.
#[derive(Debug)]
pub struct Peer {
    /// Its operations.
    pub ops: mpsc::Sender<Op>,
    /// Its counters.
    pub stats: Arc<PeerStats>,
    /// The task.
    pub task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Starts a peer.
pub fn spawn(spec: PeerSpec) -> Peer {
    let (ops, rx) = mpsc::channel(64);
    let stats = Arc::new(PeerStats::default());
    let task = tokio::spawn(run(spec, rx, stats.clone()));
    Peer { ops, stats, task }
}

struct State {
    spec: PeerSpec,
    doc: Doc,
    notes: MapRef,
    seq: u64,
    mine: Vec<String>,
    others: Vec<String>,
    indexed: bool,
    turn: usize,
}

async fn run(
    spec: PeerSpec,
    mut ops: mpsc::Receiver<Op>,
    stats: Arc<PeerStats>,
) -> anyhow::Result<()> {
    let config = WebSocketConfig::default().max_message_size(Some(64 << 20));
    let (host, _) = super::super::attack::split_url(&spec.url)
        .ok_or_else(|| anyhow::anyhow!("not a ws:// URL: {}", spec.url))?;
    let tcp = match spec.from {
        Some(_) => super::super::attack::attacker_tcp(host, false).await?,
        None => tokio::net::TcpStream::connect(host).await?,
    };
    let (ws, _) =
        tokio_tungstenite::client_async_with_config(spec.url.as_str(), tcp, Some(config)).await?;
    let (mut sink, mut stream) = ws.split();
    let mut s = State::new(spec);
    let hello = Message::SyncStep1(&s.doc.transact().state_vector().encode_v1()).encode();
    sink.send(WsMessage::Binary(hello.into())).await?;
    let outcome: anyhow::Result<()> = loop {
        tokio::select! {
            frame = stream.next() => match frame {
                Some(Ok(WsMessage::Binary(bytes))) => {
                    if let Some(reply) = s.on_frame(&bytes, &stats) {
                        if let Err(e) = sink.send(WsMessage::Binary(reply.into())).await {
                            break Err(e.into());
                        }
                    }
                }
                Some(Ok(WsMessage::Close(_))) | None => break Ok(()),
                Some(Ok(_)) => {}
                Some(Err(e)) => break Err(e.into()),
            },
            op = ops.recv() => {
                let Some(op) = op else { break Ok(()) };
                let mut frames = Vec::new();
                let done = s.carry_out(op, &mut frames);
                for f in frames {
                    if let Err(e) = sink.send(WsMessage::Binary(f.into())).await {
                        return Err(e.into());
                    }
                    stats.sent.fetch_add(1, Ordering::Relaxed);
                }
                if let Some(done) = done {
                    let _ = done.send(());
                }
            }
        }
    };
    stats.ended.store(1, Ordering::Relaxed);
    let _ = sink.close().await;
    outcome
}

fn note_prelim(device: &str, column: &str, order: &str, text: &str, at: f64) -> MapPrelim {
    MapPrelim::from([
        ("column".to_owned(), yrs::In::from(column)),
        ("order".to_owned(), yrs::In::from(order)),
        ("text".to_owned(), yrs::In::from(TextPrelim::new(text))),
        ("colour".to_owned(), yrs::In::from("")),
        ("group".to_owned(), yrs::In::from("")),
        ("votes".to_owned(), yrs::In::from(MapPrelim::default())),
        ("authorId".to_owned(), yrs::In::from(device)),
        ("authorName".to_owned(), yrs::In::from("Poste")),
        ("authorOrg".to_owned(), yrs::In::from("Bench")),
        ("createdAt".to_owned(), yrs::In::from(at)),
    ])
}

impl State {
    fn new(spec: PeerSpec) -> Self {
        let doc = Doc::with_client_id(spec.client_id);
        let notes = doc.get_or_insert_map(NOTES);
        if let Some(sink) = spec.sink.clone() {
            notes.observe(
                "latency",
                move |txn: &yrs::TransactionMut, event: &yrs::types::map::MapEvent| {
                    if txn.origin().is_some() {
                        return;
                    }
                    for change in event.keys(txn).values() {
                        if let EntryChange::Inserted(Out::YMap(note)) = change {
                            if let Some(Out::Any(Any::Number(at))) = note.get(txn, "createdAt") {
                                if let Some(at) = at.as_f64() {
                                    sink.record(at);
                                }
                            }
                        }
                    }
                },
            );
        }
        Self {
            spec,
            doc,
            notes,
            seq: 0,
            mine: Vec::new(),
            others: Vec::new(),
            indexed: false,
            turn: 0,
        }
    }

    fn on_frame(&mut self, frame: &[u8], stats: &PeerStats) -> Option<Vec<u8>> {
        match Message::decode(frame).ok()? {
            Message::SyncStep1(sv) => {
                let sv = StateVector::decode_v1(sv).ok()?;
                let diff = self.doc.transact().encode_diff_v1(&sv);
                Some(Message::SyncStep2(&diff).encode())
            }
            Message::SyncStep2(update) => {
                self.apply(update);
                let n = self.notes.len(&self.doc.transact());
                stats
                    .synced_notes
                    .store(u64::from(n).max(1), Ordering::Relaxed);
                None
            }
            Message::Update(update) => {
                self.apply(update);
                None
            }
            Message::AuthDenied(_) => {
                stats.denied.fetch_add(1, Ordering::Relaxed);
                None
            }
            _ => None,
        }
    }

    fn apply(&mut self, bytes: &[u8]) {
        if let Ok(update) = Update::decode_v1(bytes) {
            let _ = self.doc.transact_mut().apply_update(update);
        }
    }

    /// Splits the board into this device's notes and the others' (once, after the fill).
    fn index(&mut self) {
        if self.indexed {
            return;
        }
        self.indexed = true;
        let txn = self.doc.transact();
        for (id, value) in self.notes.iter(&txn) {
            if let Out::YMap(note) = value {
                let author = note.get(&txn, "authorId").map(|a| a.to_string(&txn));
                if author.as_deref() == Some(self.spec.device.as_str()) {
                    self.mine.push(id.to_owned());
                } else {
                    self.others.push(id.to_owned());
                }
            }
        }
        // The first other note takes this device's votes; forged deletions take the rest.
        self.others.sort_unstable();
        self.others.reverse();
    }

    fn first_column(&self) -> String {
        let txn = self.doc.transact();
        txn.get_map(COLUMNS)
            .and_then(|c| c.keys(&txn).next().map(str::to_owned))
            .unwrap_or_default()
    }

    fn carry_out(&mut self, op: Op, frames: &mut Vec<Vec<u8>>) -> Option<oneshot::Sender<()>> {
        match op {
            Op::Fill {
                count,
                authors,
                done,
            } => {
                let column = self.first_column();
                for batch in (0..count).collect::<Vec<_>>().chunks(100) {
                    let mut txn = self.doc.transact_mut_with("local");
                    for &i in batch {
                        let author = authors.get(i % authors.len().max(1)).map_or("", |a| a);
                        let id = format!("f{:x}n{i}", self.spec.client_id);
                        let text = format!("Idée n°{i} de la salle");
                        let prelim = note_prelim(author, &column, "V", &text, epoch_ms());
                        self.notes.insert(&mut txn, id, prelim);
                    }
                    frames.push(Message::Update(&txn.encode_update_v1()).encode());
                }
                return Some(done);
            }
            Op::Note => {
                let column = self.first_column();
                self.seq += 1;
                let id = format!("p{:x}n{}", self.spec.client_id, self.seq);
                let mut txn = self.doc.transact_mut_with("local");
                let prelim = note_prelim(&self.spec.device, &column, "W", "Ma note", epoch_ms());
                self.notes.insert(&mut txn, id, prelim);
                frames.push(Message::Update(&txn.encode_update_v1()).encode());
            }
            Op::OwnEdit => {
                self.index();
                self.turn += 1;
                let id = self.mine.get(self.turn % self.mine.len().max(1)).cloned()?;
                let mut txn = self.doc.transact_mut_with("local");
                if let Some(Out::YMap(note)) = self.notes.get(&txn, &id) {
                    if let Some(Out::YText(text)) = note.get(&txn, "text") {
                        text.insert(&mut txn, 0, "x");
                    }
                }
                frames.push(Message::Update(&txn.encode_update_v1()).encode());
            }
            Op::Vote => {
                self.index();
                let id = self.others.last().cloned()?;
                let me = self.spec.device.clone();
                let mut txn = self.doc.transact_mut_with("local");
                if let Some(Out::YMap(note)) = self.notes.get(&txn, &id) {
                    if let Some(Out::YMap(votes)) = note.get(&txn, "votes") {
                        if votes.contains_key(&txn, &me) {
                            votes.remove(&mut txn, &me);
                        } else {
                            votes.insert(&mut txn, me, 1);
                        }
                    }
                }
                frames.push(Message::Update(&txn.encode_update_v1()).encode());
            }
            Op::Forge => {
                self.index();
                // Keep the voted note; every other note of someone else is deleted once.
                if self.others.len() < 2 {
                    return None;
                }
                let id = self.others.remove(0);
                let mut txn = self.doc.transact_mut_with("local");
                self.notes.remove(&mut txn, &id);
                frames.push(Message::Update(&txn.encode_update_v1()).encode());
            }
        }
        None
    }
}
