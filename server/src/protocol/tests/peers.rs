//! Real yrs output to test against: random values and multi-peer editing sessions whose every
//! incremental update is captured, and awareness updates.

use super::*;

pub(super) fn awareness_update(entries: &[(u64, u32, &str)]) -> AwarenessUpdate {
    AwarenessUpdate {
        clients: entries
            .iter()
            .map(|&(client, clock, json)| {
                (
                    yrs::block::ClientID::new(client),
                    AwarenessUpdateEntry {
                        clock,
                        json: json.into(),
                    },
                )
            })
            .collect(),
    }
}

/// Characters for values; the astral one takes two UTF-16 units.
pub(super) const ALPHABET: &[char] = &['a', 'b', ' ', 'é', '€', '漢', '😀', '\n', '"', '\\'];
/// Characters for text edited at random UTF-16 offsets: splitting a surrogate pair is a local
/// API misuse that yrs does not guard against, so no astral characters here.
pub(super) const BMP_ALPHABET: &[char] = &['a', 'b', ' ', 'é', '€', '漢', '\n', '"'];

pub(super) fn random_from(rng: &mut StdRng, alphabet: &[char], max: usize) -> String {
    let len = rng.random_range(0..=max);
    (0..len)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())])
        .collect()
}

pub(super) fn random_string(rng: &mut StdRng, max: usize) -> String {
    random_from(rng, ALPHABET, max)
}

pub(super) fn random_text(rng: &mut StdRng, max: usize) -> String {
    random_from(rng, BMP_ALPHABET, max)
}

pub(super) fn random_any(rng: &mut StdRng, depth: usize) -> Any {
    let kinds = if depth >= 4 { 9 } else { 11 };
    match rng.random_range(0..kinds) {
        0 => Any::Null,
        1 => Any::Undefined,
        2 => Any::Bool(rng.random()),
        3 => Any::Number(Number::Int(rng.random_range(-100_000..100_000))),
        4 => {
            let extremes = [i64::MAX, i64::MIN, 1 << 40, -(1 << 31) - 7, (1 << 53) + 1];
            Any::Number(Number::Int(extremes[rng.random_range(0..extremes.len())]))
        }
        5 => Any::Number(Number::Float(rng.random::<f64>() * 1e9 - 5e8)),
        6 => Any::Number(Number::Float(f64::from(rng.random_range(-8..8)) * 0.5)),
        7 => Any::String(random_string(rng, 12).into()),
        8 => {
            let mut bytes = vec![0; rng.random_range(0..16)];
            rng.fill_bytes(&mut bytes);
            Any::Buffer(bytes.into())
        }
        9 => Any::Array(
            (0..rng.random_range(0..4))
                .map(|_| random_any(rng, depth + 1))
                .collect::<Vec<_>>()
                .into(),
        ),
        _ => Any::Map(Arc::new(
            (0..rng.random_range(0..4))
                .map(|_| (random_string(rng, 6), random_any(rng, depth + 1)))
                .collect::<HashMap<_, _>>(),
        )),
    }
}

pub(super) fn random_attrs(rng: &mut StdRng) -> Attrs {
    let mut attrs = Attrs::new();
    match rng.random_range(0..3) {
        0 => {
            attrs.insert("bold".into(), Any::Bool(true));
        }
        1 => {
            attrs.insert("bold".into(), Any::Null);
            attrs.insert("color".into(), Any::String("#f80".into()));
        }
        _ => {
            attrs.insert("meta".into(), random_any(rng, 2));
        }
    }
    attrs
}

/// Shared types a peer has created and can keep editing.
pub(super) enum Shared {
    Map(MapRef),
    Array(ArrayRef),
    Text(TextRef),
    XmlElement(XmlElementRef),
    XmlText(XmlTextRef),
    /// Text only ever prepended to, so astral characters never get split.
    PrependedText(TextRef),
}

/// One simulated replica with its own client id and the incremental updates it emitted.
pub(super) struct Peer {
    pub(super) doc: Doc,
    shared: Vec<Shared>,
    emitted: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Peer {
    pub(super) fn new(client_id: u64) -> Self {
        let mut options = yrs::Options::with_client_id(yrs::block::ClientID::new(client_id));
        // Yjs counts text in UTF-16 units; yrs defaults to bytes.
        options.offset_kind = yrs::OffsetKind::Utf16;
        // `shared` keeps refs to nested types that later edits may delete; garbage collection
        // would free them under those refs (yrs refs are raw pointers into the store).
        options.skip_gc = true;
        let doc = Doc::with_options(options);
        let emitted = Arc::new(Mutex::new(Vec::new()));
        let sink = emitted.clone();
        doc.observe_update_v1("capture", move |_, event| {
            if let Ok(mut updates) = sink.lock() {
                updates.push(event.update.clone());
            }
        })
        .expect("fresh doc has no open transaction");
        let shared = vec![
            Shared::Map(doc.get_or_insert_map("map")),
            Shared::Array(doc.get_or_insert_array("array")),
            Shared::Text(doc.get_or_insert_text("text")),
            Shared::PrependedText(doc.get_or_insert_text("emoji")),
        ];
        let fragment = doc.get_or_insert_xml_fragment("xml");
        let root_element =
            fragment.push_back(&mut doc.transact_mut(), XmlElementPrelim::empty("section"));
        let mut peer = Peer {
            doc,
            shared,
            emitted,
        };
        peer.shared.push(Shared::XmlElement(root_element));
        peer
    }

    pub(super) fn take_emitted(&self) -> Vec<Vec<u8>> {
        self.emitted
            .lock()
            .map(|mut updates| std::mem::take(&mut *updates))
            .unwrap_or_default()
    }

    pub(super) fn random_edit(&mut self, rng: &mut StdRng) {
        let index = rng.random_range(0..self.shared.len());
        let mut txn = self.doc.transact_mut();
        let created = match &self.shared[index] {
            Shared::Map(map) => {
                let key = format!("k{}", rng.random_range(0..6));
                match rng.random_range(0..7) {
                    0 => {
                        map.remove(&mut txn, &key);
                        None
                    }
                    1 => Some(Shared::Map(map.insert(
                        &mut txn,
                        key,
                        MapPrelim::from([("seed", random_any(rng, 1))]),
                    ))),
                    2 => Some(Shared::Array(map.insert(
                        &mut txn,
                        key,
                        ArrayPrelim::from([random_any(rng, 1)]),
                    ))),
                    3 => Some(Shared::Text(map.insert(
                        &mut txn,
                        key,
                        TextPrelim::new(random_text(rng, 8)),
                    ))),
                    4 => {
                        map.insert(&mut txn, key, Doc::new());
                        None
                    }
                    _ => {
                        map.insert(&mut txn, key, random_any(rng, 0));
                        None
                    }
                }
            }
            Shared::Array(array) => {
                let len = array.len(&txn);
                let at = rng.random_range(0..=len);
                match rng.random_range(0..6) {
                    0 if len > 0 => {
                        let start = rng.random_range(0..len);
                        let count = rng.random_range(1..=len - start);
                        array.remove_range(&mut txn, start, count);
                        None
                    }
                    1 => Some(Shared::Map(array.insert(
                        &mut txn,
                        at,
                        MapPrelim::default(),
                    ))),
                    2 => Some(Shared::Text(array.insert(
                        &mut txn,
                        at,
                        TextPrelim::new(random_text(rng, 5)),
                    ))),
                    _ => {
                        array.insert(&mut txn, at, random_any(rng, 0));
                        None
                    }
                }
            }
            Shared::Text(text) => {
                edit_text(text, &mut txn, rng);
                None
            }
            Shared::XmlText(text) => {
                edit_text(text, &mut txn, rng);
                None
            }
            Shared::PrependedText(text) => {
                text.insert(&mut txn, 0, &random_string(rng, 4));
                None
            }
            Shared::XmlElement(element) => {
                let len = element.len(&txn);
                let at = rng.random_range(0..=len);
                match rng.random_range(0..5) {
                    0 => {
                        element.insert_attribute(&mut txn, "class", random_string(rng, 5));
                        None
                    }
                    1 if len > 0 => {
                        element.remove_range(&mut txn, rng.random_range(0..len), 1);
                        None
                    }
                    2 => Some(Shared::XmlText(element.insert(
                        &mut txn,
                        at,
                        XmlTextPrelim::new(random_text(rng, 6)),
                    ))),
                    _ => Some(Shared::XmlElement(element.insert(
                        &mut txn,
                        at,
                        XmlElementPrelim::empty("p"),
                    ))),
                }
            }
        };
        drop(txn);
        if let Some(shared) = created {
            self.shared.push(shared);
        }
    }
}

pub(super) fn edit_text<T: Text>(text: &T, txn: &mut yrs::TransactionMut, rng: &mut StdRng) {
    let len = text.len(txn);
    let at = rng.random_range(0..=len);
    match rng.random_range(0..6) {
        0 if len > 0 => {
            let start = rng.random_range(0..len);
            text.remove_range(txn, start, rng.random_range(1..=len - start));
        }
        1 if len > 0 => {
            let start = rng.random_range(0..len);
            let attrs = random_attrs(rng);
            text.format(txn, start, rng.random_range(1..=len - start), attrs);
        }
        2 => {
            let attrs = random_attrs(rng);
            text.insert_with_attributes(txn, at, &random_text(rng, 6), attrs);
        }
        3 => {
            text.insert_embed(txn, at, random_any(rng, 1));
        }
        _ => text.insert(txn, at, &random_text(rng, 10)),
    }
}

pub(super) fn utf16_doc() -> Doc {
    Doc::with_options(yrs::Options {
        offset_kind: yrs::OffsetKind::Utf16,
        ..yrs::Options::default()
    })
}
