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

mod accepted;
mod bombs;
mod fuzz_corpus;
mod peers;
mod walkers;
mod yjs_frames;

use peers::awareness_update;

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
