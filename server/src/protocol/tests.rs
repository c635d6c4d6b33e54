//! Tests of the frame codec and the bounds walkers against real yrs output and hostile bytes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use yrs::sync::awareness::{Awareness, AwarenessUpdate, AwarenessUpdateEntry};
use yrs::types::Attrs;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{
    Any, Array, ArrayPrelim, ArrayRef, Doc, GetString, Map, MapPrelim, MapRef, Number, ReadTxn,
    StateVector, Text, TextPrelim, TextRef, Transact, Xml, XmlElementPrelim, XmlElementRef,
    XmlFragment, XmlTextPrelim, XmlTextRef,
};

use super::bounds::{self, BoundsError, MAX_ANY_DEPTH};
use super::lib0::write_varuint;
use super::*;

/// 2^27 as a 4-byte LEB128 varuint: the count that makes yrs reserve hundreds of megabytes.
const BOMB_COUNT: [u8; 4] = [0x80, 0x80, 0x80, 0x40];

fn varuint(value: u64) -> Vec<u8> {
    let mut out = Vec::new();
    write_varuint(&mut out, value);
    out
}

fn frame(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn sync_payload_frame(subtype: u8, payload: &[u8]) -> Vec<u8> {
    frame(&[&[0, subtype], &varuint(payload.len() as u64), payload])
}

fn awareness_frame(payload: &[u8]) -> Vec<u8> {
    frame(&[&[1], &varuint(payload.len() as u64), payload])
}

fn malformed_reason(result: Result<Message, ProtocolError>) -> &'static str {
    match result {
        Ok(message) => panic!("expected an error, got {message:?}"),
        Err(error) => error.reason(),
    }
}

// ---------------------------------------------------------------------------------------------
// Frame codec
// ---------------------------------------------------------------------------------------------

#[test]
fn encoders_round_trip_through_decode_message() {
    let doc = Doc::with_client_id(7);
    let text = doc.get_or_insert_text("t");
    text.insert(&mut doc.transact_mut(), 0, "bonjour");
    let sv = doc.transact().state_vector();
    let update = doc
        .transact()
        .encode_state_as_update_v1(&StateVector::default());

    match decode_message(&encode_sync_step1(&sv)) {
        Ok(Message::SyncStep1(decoded)) => assert_eq!(decoded, sv),
        other => panic!("unexpected {other:?}"),
    }
    match decode_message(&encode_sync_step2(&update)) {
        Ok(Message::SyncStep2(bytes)) => assert_eq!(bytes.as_ref(), update.as_slice()),
        other => panic!("unexpected {other:?}"),
    }
    match decode_message(&encode_update(&update)) {
        Ok(Message::Update(bytes)) => assert_eq!(bytes.as_ref(), update.as_slice()),
        other => panic!("unexpected {other:?}"),
    }
    assert!(matches!(
        decode_message(&encode_query_awareness()),
        Ok(Message::QueryAwareness)
    ));
    match decode_message(&encode_permission_denied("tableau verrouillé")) {
        Ok(Message::Auth { denied_reason }) => assert_eq!(denied_reason, "tableau verrouillé"),
        other => panic!("unexpected {other:?}"),
    }

    let awareness = awareness_update(&[(42, 3, r##"{"user":{"name":"Ana","color":"#f80"}}"##)]);
    let encoded = encode_awareness(&awareness);
    match decode_message(&encoded) {
        Ok(Message::Awareness { update, raw }) => {
            assert_eq!(update, awareness);
            assert_eq!(raw, encoded);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn encoders_match_yrs_own_encoding_byte_for_byte() {
    use yrs::sync::{Message as YMessage, SyncMessage};

    let doc = Doc::with_client_id(99);
    doc.get_or_insert_map("m")
        .insert(&mut doc.transact_mut(), "k", "v");
    let sv = doc.transact().state_vector();
    let update = doc
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    let awareness = awareness_update(&[(1, 1, "null"), (2, 5, r#"{"a":1}"#)]);

    let cases: [(Bytes, YMessage); 6] = [
        (
            encode_sync_step1(&sv),
            YMessage::Sync(SyncMessage::SyncStep1(sv.clone())),
        ),
        (
            encode_sync_step2(&update),
            YMessage::Sync(SyncMessage::SyncStep2(update.clone())),
        ),
        (
            encode_update(&update),
            YMessage::Sync(SyncMessage::Update(update.clone())),
        ),
        (encode_awareness(&awareness), YMessage::Awareness(awareness)),
        (encode_query_awareness(), YMessage::AwarenessQuery),
        (
            encode_permission_denied("nope"),
            YMessage::Auth(Some("nope".to_owned())),
        ),
    ];
    for (ours, theirs) in cases {
        assert_eq!(ours.as_ref(), theirs.encode_v1().as_slice(), "{theirs:?}");
    }
}

/// Frames exactly as the npm y-websocket client writes them (lib0 encoding by hand).
#[test]
fn decodes_frames_as_y_websocket_writes_them() {
    // A fresh Y.Doc's sync step 1: empty state vector.
    assert!(matches!(
        decode_message(&[0, 0, 1, 0]),
        Ok(Message::SyncStep1(sv)) if sv.is_empty()
    ));
    // A fresh Y.Doc's reply to our step 1: an empty update (no structs, empty delete set).
    assert!(matches!(
        decode_message(&[0, 1, 2, 0, 0]),
        Ok(Message::SyncStep2(update)) if update.as_ref() == [0, 0]
    ));
    // awarenessProtocol.encodeAwarenessUpdate for client 1234567 clock 0 and a local state.
    let json = br#"{"user":{"name":"x"}}"#;
    let mut payload = vec![1];
    payload.extend(varuint(1_234_567));
    payload.push(0);
    payload.extend(varuint(json.len() as u64));
    payload.extend_from_slice(json);
    match decode_message(&awareness_frame(&payload)) {
        Ok(Message::Awareness { update, .. }) => {
            let entry = &update.clients[&yrs::block::ClientID::new(1_234_567)];
            assert_eq!(entry.json.as_bytes(), json);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn rejects_malformed_frames_with_stable_reasons() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (vec![], "empty_frame"),
        (vec![4], "unknown_message_type"),
        (vec![0x80, 0x01], "unknown_message_type"),
        (vec![0, 3, 0], "unknown_sync_type"),
        (vec![2, 1], "unknown_auth_type"),
        (vec![0x80], "truncated"),
        (vec![0], "truncated"),
        (vec![0, 0], "truncated"),
        (vec![0, 0, 2, 0], "length_exceeds_input"),
        (vec![0, 0, 1, 0, 0], "trailing_bytes"),
        (vec![3, 0], "trailing_bytes"),
        (vec![0, 2, 3, 0, 0, 0], "trailing_bytes"),
        (vec![0x80; 9], "overlong_varint"),
        // 2^53: one past what JavaScript can represent.
        (
            vec![0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10],
            "overlong_varint",
        ),
        (vec![2, 0, 2, 0xff, 0xfe], "invalid_utf8"),
        (
            awareness_frame(&[1, 5, 0, 3, b'{', b'x', b'}']),
            "invalid_awareness_json",
        ),
        (awareness_frame(&[1, 5, 0, 2, 0xc3, 0x28]), "invalid_utf8"),
        (
            sync_payload_frame(2, &[1, 1, 5, 0, 0x14, 1, 1, b'a', 1, b'x', 0]),
            "unknown_content_ref",
        ),
        (sync_payload_frame(2, &[0, 0, 9]), "trailing_bytes"),
    ];
    for (bytes, reason) in cases {
        assert_eq!(
            malformed_reason(decode_message(&bytes)),
            reason,
            "{bytes:?}"
        );
    }
}

#[test]
fn a_53_bit_varuint_is_the_largest_accepted() {
    // 2^53-1 as a client id in a state vector.
    let mut sv = vec![1];
    sv.extend(varuint((1 << 53) - 1));
    sv.push(5);
    let decoded = decode_state_vector(&sv).expect("largest safe client id");
    assert_eq!(decoded.get(&yrs::block::ClientID::new((1 << 53) - 1)), 5);
}

// ---------------------------------------------------------------------------------------------
// Allocation bombs: a few bytes declaring 2^27 elements
// ---------------------------------------------------------------------------------------------

fn update_bombs() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("update client count", BOMB_COUNT.to_vec()),
        ("block count", frame(&[&[1], &BOMB_COUNT, &[1, 0]])),
        ("delete set client count", frame(&[&[0], &BOMB_COUNT])),
        ("delete set range count", frame(&[&[0, 1, 1], &BOMB_COUNT])),
        // One item under root "a" holding ContentAny with 2^27 values.
        (
            "Any content count",
            frame(&[&[1, 1, 1, 0, 8, 1, 1, b'a'], &BOMB_COUNT]),
        ),
        // ContentAny with one Any::Array of 2^27 items, then one Any::Map of 2^27 entries.
        (
            "Any array count",
            frame(&[&[1, 1, 1, 0, 8, 1, 1, b'a', 1, 117], &BOMB_COUNT]),
        ),
        (
            "Any map count",
            frame(&[&[1, 1, 1, 0, 8, 1, 1, b'a', 1, 118], &BOMB_COUNT]),
        ),
        // ContentJSON with 2^27 strings.
        (
            "JSON content count",
            frame(&[&[1, 1, 1, 0, 2, 1, 1, b'a'], &BOMB_COUNT]),
        ),
    ]
}

#[test]
fn update_bombs_are_rejected_before_yrs() {
    for (what, bomb) in update_bombs() {
        let error = bounds::check_update_v1(&bomb).expect_err(what);
        assert!(
            matches!(error, BoundsError::CountExceedsInput { .. }),
            "{what}: {error:?}"
        );
        assert_eq!(
            decode_update(&bomb).map(drop).map_err(|e| e.reason()),
            Err("count_exceeds_input"),
            "{what}"
        );
        for subtype in [1, 2] {
            assert_eq!(
                malformed_reason(decode_message(&sync_payload_frame(subtype, &bomb))),
                "count_exceeds_input",
                "{what}"
            );
        }
    }
}

#[test]
fn state_vector_and_awareness_bombs_are_rejected_before_yrs() {
    assert!(matches!(
        bounds::check_state_vector_v1(&BOMB_COUNT),
        Err(BoundsError::CountExceedsInput { .. })
    ));
    assert!(matches!(
        bounds::check_awareness_update_v1(&BOMB_COUNT),
        Err(BoundsError::CountExceedsInput { .. })
    ));
    assert_eq!(
        malformed_reason(decode_message(&sync_payload_frame(0, &BOMB_COUNT))),
        "count_exceeds_input"
    );
    assert_eq!(
        malformed_reason(decode_message(&awareness_frame(&BOMB_COUNT))),
        "count_exceeds_input"
    );
}

#[test]
fn counts_are_checked_against_the_smallest_possible_element() {
    // Three state vector entries need at least six bytes; five are not enough even though
    // a naive "count <= remaining" check would pass.
    let short = [3, 1, 1, 2, 2, 3];
    assert!(matches!(
        bounds::check_state_vector_v1(&short),
        Err(BoundsError::CountExceedsInput { count: 3, .. })
    ));
    assert!(bounds::check_state_vector_v1(&[3, 1, 1, 2, 2, 3, 3]).is_ok());
}

#[test]
fn deep_any_nesting_is_rejected() {
    // ContentAny holding arrays nested MAX_ANY_DEPTH + 1 deep: [[[ ... ]]].
    let build = |depth: usize| {
        let mut update = vec![1, 1, 1, 0, 8, 1, 1, b'a', 1];
        for _ in 0..depth - 1 {
            update.extend([117, 1]);
        }
        update.extend([117, 0, 0]);
        update
    };
    let accepted = build(MAX_ANY_DEPTH);
    assert_eq!(bounds::check_update_v1(&accepted), Ok(()));
    assert!(decode_update(&accepted).is_ok());
    assert_eq!(
        bounds::check_update_v1(&build(MAX_ANY_DEPTH + 1)),
        Err(BoundsError::AnyTooDeep)
    );
    // 100k levels in 200 KB would overflow the stack of yrs's recursive decoder.
    assert_eq!(
        bounds::check_update_v1(&build(100_000)),
        Err(BoundsError::AnyTooDeep)
    );
}

#[test]
fn values_yrs_would_wrap_or_assert_on_are_rejected() {
    // A block clock run that passes u32::MAX.
    let mut update = vec![1, 2];
    update.extend(varuint(1));
    update.extend(varuint(u64::from(u32::MAX) - 1));
    update.extend([0, 1, 0, 5, 0]);
    assert_eq!(
        bounds::check_update_v1(&update),
        Err(BoundsError::ClockOverflow)
    );
    // A delete range whose end passes u32::MAX.
    let mut ds = vec![0, 1, 1, 1];
    ds.extend(varuint(u64::from(u32::MAX)));
    ds.push(1);
    assert_eq!(
        bounds::check_update_v1(&ds),
        Err(BoundsError::ClockOverflow)
    );
    // A state vector clock above u32.
    let mut sv = vec![1, 1];
    sv.extend(varuint(1 << 32));
    assert!(matches!(
        bounds::check_state_vector_v1(&sv),
        Err(BoundsError::OutOfRange { .. })
    ));
    // Signed varint longer than 8 bytes inside an Any integer (yrs shifts past 64 bits).
    let mut long_int = vec![1, 1, 1, 0, 8, 1, 1, b'a', 1, 125];
    long_int.extend([0x80; 10]);
    long_int.extend([0, 0]);
    assert_eq!(
        bounds::check_update_v1(&long_int),
        Err(BoundsError::OverlongVarint)
    );
    // Empty GC block.
    assert_eq!(
        bounds::check_update_v1(&[1, 1, 1, 0, 0, 0, 0]),
        Err(BoundsError::EmptyBlock)
    );
    // Weak link type ref (needs yrs's `weak` feature).
    assert_eq!(
        bounds::check_update_v1(&[1, 1, 1, 0, 7, 1, 1, b'a', 7, 0]),
        Err(BoundsError::UnknownTypeRef(7))
    );
}

// ---------------------------------------------------------------------------------------------
// Everything real yrs produces passes the checks and decodes
// ---------------------------------------------------------------------------------------------

fn awareness_update(entries: &[(u64, u32, &str)]) -> AwarenessUpdate {
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
const ALPHABET: &[char] = &['a', 'b', ' ', 'é', '€', '漢', '😀', '\n', '"', '\\'];
/// Characters for text edited at random UTF-16 offsets: splitting a surrogate pair is a local
/// API misuse that yrs does not guard against, so no astral characters here.
const BMP_ALPHABET: &[char] = &['a', 'b', ' ', 'é', '€', '漢', '\n', '"'];

fn random_from(rng: &mut StdRng, alphabet: &[char], max: usize) -> String {
    let len = rng.random_range(0..=max);
    (0..len)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())])
        .collect()
}

fn random_string(rng: &mut StdRng, max: usize) -> String {
    random_from(rng, ALPHABET, max)
}

fn random_text(rng: &mut StdRng, max: usize) -> String {
    random_from(rng, BMP_ALPHABET, max)
}

fn random_any(rng: &mut StdRng, depth: usize) -> Any {
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

fn random_attrs(rng: &mut StdRng) -> Attrs {
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
enum Shared {
    Map(MapRef),
    Array(ArrayRef),
    Text(TextRef),
    XmlElement(XmlElementRef),
    XmlText(XmlTextRef),
    /// Text only ever prepended to, so astral characters never get split.
    PrependedText(TextRef),
}

/// One simulated replica with its own client id and the incremental updates it emitted.
struct Peer {
    doc: Doc,
    shared: Vec<Shared>,
    emitted: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Peer {
    fn new(client_id: u64) -> Self {
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

    fn take_emitted(&self) -> Vec<Vec<u8>> {
        self.emitted
            .lock()
            .map(|mut updates| std::mem::take(&mut *updates))
            .unwrap_or_default()
    }

    fn random_edit(&mut self, rng: &mut StdRng) {
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

fn edit_text<T: Text>(text: &T, txn: &mut yrs::TransactionMut, rng: &mut StdRng) {
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

fn utf16_doc() -> Doc {
    Doc::with_options(yrs::Options {
        offset_kind: yrs::OffsetKind::Utf16,
        ..yrs::Options::default()
    })
}

fn assert_update_accepted(update: &[u8], what: &str) {
    assert_eq!(
        bounds::check_update_v1(update),
        Ok(()),
        "{what}: {update:?}"
    );
    assert!(decode_update(update).is_ok(), "{what}");
    match decode_message(&encode_update(update)) {
        Ok(Message::Update(bytes)) => assert_eq!(bytes.as_ref(), update),
        other => panic!("{what}: {other:?}"),
    }
}

fn assert_state_vector_accepted(sv: &StateVector, what: &str) {
    let bytes = sv.encode_v1();
    assert_eq!(bounds::check_state_vector_v1(&bytes), Ok(()), "{what}");
    match decode_message(&encode_sync_step1(sv)) {
        Ok(Message::SyncStep1(decoded)) => assert_eq!(&decoded, sv, "{what}"),
        other => panic!("{what}: {other:?}"),
    }
}

/// Random multi-peer editing sessions; every byte string yrs emits along the way is accepted.
#[test]
fn everything_yrs_emits_passes_the_checks_and_decodes() {
    let mut checked_updates = 0;
    for seed in 0..24u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut peers: Vec<Peer> = (0..3)
            .map(|_| {
                // Mostly 32-bit ids like Yjs, sometimes the full 53 bits yrs may pick.
                let id = if rng.random_bool(0.3) {
                    rng.random_range(0..=(1u64 << 53) - 1)
                } else {
                    u64::from(rng.random::<u32>())
                };
                Peer::new(id)
            })
            .collect();
        let mut all_updates: Vec<Vec<u8>> = Vec::new();

        for _ in 0..60 {
            let author = rng.random_range(0..peers.len());
            for _ in 0..rng.random_range(1..4) {
                peers[author].random_edit(&mut rng);
            }
            // Occasionally sync two peers through diffs computed from state vectors.
            if rng.random_bool(0.3) {
                let from = rng.random_range(0..peers.len());
                let to = rng.random_range(0..peers.len());
                let sv = peers[to].doc.transact().state_vector();
                assert_state_vector_accepted(&sv, "state vector");
                let diff = peers[from].doc.transact().encode_state_as_update_v1(&sv);
                assert_update_accepted(&diff, "diff");
                let update = decode_update(&diff).expect("checked above");
                peers[to]
                    .doc
                    .transact_mut()
                    .apply_update(update)
                    .expect("yrs applies its own diff");
                checked_updates += 1;
            }
            for peer in &peers {
                for update in peer.take_emitted() {
                    assert_update_accepted(&update, "incremental update");
                    checked_updates += 1;
                    all_updates.push(update);
                }
            }
        }

        for peer in &peers {
            let txn = peer.doc.transact();
            assert_update_accepted(
                &txn.encode_state_as_update_v1(&StateVector::default()),
                "full state",
            );
            assert_state_vector_accepted(&txn.state_vector(), "final state vector");
        }
        for _ in 0..4 {
            let picked: Vec<&Vec<u8>> = all_updates
                .iter()
                .filter(|_| rng.random_bool(0.5))
                .collect();
            let merged = yrs::merge_updates_v1(&picked).expect("yrs merges its own updates");
            assert_update_accepted(&merged, "merged update");
            checked_updates += 1;
        }

        // Convergence: replaying every incremental update into a fresh doc gives peer state.
        let replica = utf16_doc();
        for update in &all_updates {
            let update = decode_update(update).expect("checked above");
            replica
                .transact_mut()
                .apply_update(update)
                .expect("applies");
        }
        // A garbage-collecting replica's state carries GC blocks, which peers never emit.
        assert_update_accepted(
            &replica
                .transact()
                .encode_state_as_update_v1(&StateVector::default()),
            "garbage-collected state",
        );
        let text = replica.get_or_insert_text("text");
        let full = yrs::merge_updates_v1(&all_updates).expect("merges");
        let merged_doc = utf16_doc();
        merged_doc
            .transact_mut()
            .apply_update(decode_update(&full).expect("checked"))
            .expect("applies");
        assert_eq!(
            text.get_string(&replica.transact()),
            merged_doc
                .get_or_insert_text("text")
                .get_string(&merged_doc.transact())
        );
    }
    assert!(
        checked_updates > 2_000,
        "only {checked_updates} updates checked"
    );
}

#[test]
fn awareness_from_yrs_passes_the_checks() {
    let doc = Doc::with_client_id(5);
    let mut awareness = Awareness::new(doc);
    awareness
        .set_local_state(serde_json::json!({"user": {"name": "Ana", "color": "#f80"}}))
        .expect("serialisable");
    let update = awareness.update().expect("local state exists");
    let payload = update.encode_v1();
    assert_eq!(bounds::check_awareness_update_v1(&payload), Ok(()));
    assert!(matches!(
        decode_message(&encode_awareness(&update)),
        Ok(Message::Awareness { .. })
    ));
    awareness.clean_local_state();
    let removal = awareness.update().expect("removal is an update");
    assert!(matches!(
        decode_message(&encode_awareness(&removal)),
        Ok(Message::Awareness { update, .. }) if update.clients.values().all(|e| &*e.json == "null")
    ));
}

// ---------------------------------------------------------------------------------------------
// The walkers agree with yrs on structure
// ---------------------------------------------------------------------------------------------

/// Mutated real updates: whenever the walker accepts one, yrs must decode it too. A layout
/// disagreement between the two would show up here as yrs running out of input or meeting
/// an unknown tag where the walker saw a valid structure.
#[test]
fn whatever_the_walker_accepts_yrs_decodes() {
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let mut corpus: Vec<Vec<u8>> = Vec::new();
    for seed in 0..4 {
        let mut peer_rng = StdRng::seed_from_u64(1000 + seed);
        let mut peer = Peer::new(u64::from(peer_rng.random::<u32>()));
        for _ in 0..40 {
            peer.random_edit(&mut peer_rng);
        }
        corpus.extend(peer.take_emitted());
        corpus.push(
            peer.doc
                .transact()
                .encode_state_as_update_v1(&StateVector::default()),
        );
    }
    let mut accepted = 0;
    for _ in 0..40_000 {
        let mut bytes = corpus[rng.random_range(0..corpus.len())].clone();
        for _ in 0..rng.random_range(1..4) {
            mutate(&mut bytes, &mut rng);
        }
        if bounds::check_update_v1(&bytes).is_ok() {
            accepted += 1;
            match yrs::Update::decode_v1(&bytes) {
                Ok(_) | Err(yrs::encoding::read::Error::InvalidJSON(_)) => {}
                Err(error) => panic!("walker accepted what yrs refuses ({error}): {bytes:?}"),
            }
        }
    }
    assert!(accepted > 1_000, "only {accepted} mutants were accepted");
}

fn mutate(bytes: &mut Vec<u8>, rng: &mut StdRng) {
    if bytes.is_empty() {
        bytes.push(rng.random());
        return;
    }
    let at = rng.random_range(0..bytes.len());
    match rng.random_range(0..5) {
        0 => bytes[at] = rng.random(),
        1 => bytes[at] ^= 1 << rng.random_range(0..8),
        2 => {
            bytes.remove(at);
        }
        3 => bytes.insert(at, rng.random()),
        _ => bytes[at] = bytes[at].wrapping_add(1),
    }
}

/// Arbitrary short frames never panic the decoder.
#[test]
fn random_short_frames_never_panic() {
    let mut rng = StdRng::seed_from_u64(42);
    let mut decoded = 0;
    for _ in 0..200_000 {
        let len = rng.random_range(1..=16);
        let mut frame = [0u8; 16];
        rng.fill_bytes(&mut frame[..len]);
        // Bias the first bytes toward valid message and sync types to reach deeper code.
        if rng.random_bool(0.75) {
            frame[0] = rng.random_range(0..4);
            if len > 1 && frame[0] == 0 {
                frame[1] = rng.random_range(0..3);
            }
        }
        if decode_message(&frame[..len]).is_ok() {
            decoded += 1;
        }
    }
    assert!(decoded > 100, "only {decoded} frames decoded");
}

// ---------------------------------------------------------------------------------------------
// Frames written by the real Yjs / y-protocols (generated by fuzz/yjs-seeds.mjs)
// ---------------------------------------------------------------------------------------------

fn corpus_files(dir: &str) -> Vec<(String, Vec<u8>)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fuzz-corpus")
        .join(dir);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .map(|entry| entry.expect("readable corpus dir").path())
        .filter(|path| path.extension().is_none_or(|ext| ext == "bin"))
        .map(|path| {
            let bytes = std::fs::read(&path).expect("readable corpus file");
            (path.display().to_string(), bytes)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_frame_yjs_writes_is_accepted_and_applies() {
    let files = corpus_files("yjs-frames");
    assert!(files.len() >= 80, "only {} Yjs frames", files.len());
    let doc = utf16_doc();
    let mut awareness = Awareness::new(Doc::new());
    for (name, frame) in files {
        match decode_message(&frame) {
            Ok(Message::SyncStep2(update) | Message::Update(update)) => {
                let update = decode_update(&update).unwrap_or_else(|e| panic!("{name}: {e}"));
                doc.transact_mut()
                    .apply_update(update)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            Ok(Message::Awareness { update, raw }) => {
                assert_eq!(raw.as_ref(), frame.as_slice());
                awareness
                    .apply_update(update)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            Ok(Message::SyncStep1(_) | Message::QueryAwareness) => {}
            other => panic!("{name}: {other:?}"),
        }
    }
    // Everything the Yjs peers wrote arrived intact: same text as theirs once in sync.
    let expected = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fuzz-corpus/yjs-frames/expected-text.txt");
    let expected = std::fs::read_to_string(expected).expect("generated with the frames");
    let text = doc.get_or_insert_text("text").get_string(&doc.transact());
    assert_eq!(text, expected);
}

// ---------------------------------------------------------------------------------------------
// Fuzz corpus replay: every seed and every crash, timeout or OOM input the fuzzers found
// ---------------------------------------------------------------------------------------------

/// The state a board doc might be in when a hostile update arrives.
fn doc_with_content() -> Doc {
    let doc = Doc::with_client_id(1);
    let notes = doc.get_or_insert_map("notes");
    let title = doc.get_or_insert_text("title");
    let order = doc.get_or_insert_array("order");
    let mut txn = doc.transact_mut();
    notes.insert(&mut txn, "n1", "Confidences et petits papiers");
    notes.insert(&mut txn, "n2", MapPrelim::from([("x", 3), ("y", 4)]));
    order.insert(&mut txn, 0, "n1");
    title.insert(&mut txn, 0, "Journée bilan 😀");
    drop(txn);
    doc
}

/// Mirrors fuzz/fuzz_targets/update_apply.rs: decode, apply, re-encode for the next joiner.
fn replay_update(bytes: &[u8]) {
    for doc in [Doc::new(), doc_with_content()] {
        let Ok(update) = decode_update(bytes) else {
            return;
        };
        let applied = doc.transact_mut().apply_update(update);
        if applied.is_ok() {
            let txn = doc.transact();
            txn.encode_state_as_update_v1(&StateVector::default());
            txn.state_vector();
        }
    }
}

/// Mirrors fuzz/fuzz_targets/awareness.rs.
fn replay_awareness(payload: &[u8]) {
    if let Ok(update) = decode_awareness_update(payload) {
        let mut awareness = Awareness::new(Doc::with_client_id(1));
        awareness.set_local_state_raw(r#"{"user":{"name":"server"}}"#);
        let applied = awareness.apply_update(update);
        if applied.is_ok() {
            awareness.update().expect("the local state is set");
        }
    }
}

#[test]
fn fuzz_corpus_replays_without_panicking() {
    let mut replayed = 0;
    for (dir, replay) in [
        ("frame", (|b: &[u8]| drop(decode_message(b))) as fn(&[u8])),
        ("update_apply", replay_update),
        ("awareness", replay_awareness),
    ] {
        for (_, bytes) in corpus_files(dir) {
            replay(&bytes);
            replayed += 1;
        }
    }
    // Real Yjs frames through every path, payloads unwrapped.
    for (_, frame) in corpus_files("yjs-frames") {
        match decode_message(&frame) {
            Ok(Message::SyncStep2(update) | Message::Update(update)) => replay_update(&update),
            Ok(Message::Awareness { raw, .. }) => {
                let mut r = Reader::new(&raw[1..]);
                replay_awareness(r.read_var_bytes().expect("decoded once already"));
            }
            _ => {}
        }
        replayed += 1;
    }
    assert!(replayed >= 100, "only {replayed} corpus files");
}
