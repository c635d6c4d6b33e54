//! Renders the schema's names (roots, fields, kinds, groups, stages, colours, templates, id and
//! order-key alphabets) as TypeScript: `web/src/lib/model/schema.gen.ts` is this module's output,
//! checked in. The test below fails when the checked-in file differs; regenerate with
//! `UPDATE_GENERATED=1 cargo test -p palabre --lib generated`.

use std::fmt::Write as _;

use super::order;
use super::schema::{self, board_root, field, workshop_root, BoardKind, ParticipantGroup, Stage};
use super::templates::{BoardTemplate, WorkshopTemplate};

/// Where the generated file lives, relative to the `server/` crate.
pub(crate) const SCHEMA_TS: &str = "../web/src/lib/model/schema.gen.ts";

/// A TypeScript string literal (the names are plain ASCII; quotes and backslashes escaped anyway).
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn names_object(out: &mut String, doc: &str, name: &str, names: &[(&str, &str)]) {
    let _ = writeln!(out, "/** {doc} */\nexport const {name} = {{");
    for (key, value) in names {
        let _ = writeln!(out, "  {key}: {},", lit(value));
    }
    let _ = writeln!(out, "}} as const;");
}

fn list(out: &mut String, doc: &str, name: &str, ty: &str, values: &[&str]) {
    let items: Vec<String> = values.iter().map(|v| lit(v)).collect();
    let _ = writeln!(
        out,
        "/** {doc} */\nexport const {name} = [{}] as const;\nexport type {ty} = (typeof {name})[number];",
        items.join(", ")
    );
}

/// The whole generated file.
pub(crate) fn schema_ts() -> String {
    let mut out = String::from(
        "// GENERATED from server/src/board/schema.rs, order.rs and templates.rs by board::gen_ts.\n\
         // Do not edit: change the Rust source, then run\n\
         //   UPDATE_GENERATED=1 cargo test -p palabre --lib generated\n\n",
    );
    let _ = writeln!(
        out,
        "/** Schema version written in every doc's meta map. */\nexport const SCHEMA_VERSION = {};\n",
        schema::VERSION
    );
    names_object(
        &mut out,
        "Roots of a workshop doc.",
        "WORKSHOP_ROOT",
        workshop_root::ALL,
    );
    out.push('\n');
    names_object(
        &mut out,
        "Roots of a board doc.",
        "BOARD_ROOT",
        board_root::ALL,
    );
    let _ = writeln!(
        out,
        "export type BoardRoot = (typeof BOARD_ROOT)[keyof typeof BOARD_ROOT];\n"
    );
    names_object(
        &mut out,
        "Field names of the maps in every doc.",
        "FIELD",
        field::ALL,
    );
    out.push('\n');
    let kinds: Vec<&str> = BoardKind::ALL.iter().map(|k| k.as_str()).collect();
    list(
        &mut out,
        "Board kinds, in the order the UI lists them.",
        "BOARD_KINDS",
        "BoardKind",
        &kinds,
    );
    out.push('\n');
    let groups: Vec<&str> = ParticipantGroup::ALL.iter().map(|g| g.as_str()).collect();
    list(
        &mut out,
        "Which side of the day a participant is on (anything else reads as `guests`).",
        "PARTICIPANT_GROUPS",
        "ParticipantGroup",
        &groups,
    );
    out.push('\n');
    let stages: Vec<&str> = Stage::ALL.iter().map(|s| s.as_str()).collect();
    list(
        &mut out,
        "Accelerator stages that hold items.",
        "ITEM_STAGES",
        "ItemStage",
        &stages,
    );
    out.push('\n');
    let phases: Vec<&str> = super::phase::Phase::ALL
        .iter()
        .map(|p| p.as_str())
        .collect();
    list(
        &mut out,
        "A board's phases (`control.phase`; anything else reads as `writing`).",
        "PHASES",
        "Phase",
        &phases,
    );
    out.push('\n');
    let acc: Vec<&str> = super::phase::AccStage::ALL
        .iter()
        .map(|s| s.as_str())
        .collect();
    list(
        &mut out,
        "An accelerator's stages, opened one by one (`control.stage`; anything else reads as `problem`).",
        "STAGES",
        "Stage",
        &acc,
    );
    out.push('\n');
    list(
        &mut out,
        "How the projector shows a board (`control.display`; anything else reads as `board`).",
        "DISPLAYS",
        "Display",
        &super::phase::DISPLAYS,
    );
    out.push('\n');
    list(
        &mut out,
        "The palette: the only colours stored or rendered.",
        "COLOURS",
        "Colour",
        &schema::PALETTE,
    );
    out.push('\n');
    let _ = writeln!(out, "/** Board template ids and the kind of board each makes. */\nexport const BOARD_TEMPLATES = {{");
    for t in BoardTemplate::ALL {
        let _ = writeln!(out, "  {}: {},", lit(t.as_str()), lit(t.kind().as_str()));
    }
    let _ = writeln!(
        out,
        "}} as const;\nexport type BoardTemplateId = keyof typeof BOARD_TEMPLATES;\n"
    );
    let days: Vec<&str> = WorkshopTemplate::DAYS.iter().map(|t| t.as_str()).collect();
    list(
        &mut out,
        "Whole-day workshop templates (a board template id also makes a one-board workshop).",
        "WORKSHOP_TEMPLATES",
        "WorkshopTemplateId",
        &days,
    );
    out.push('\n');
    let _ = writeln!(
        out,
        "/** Digits of fractional order keys, ascending. */\nexport const ORDER_ALPHABET = {};\n",
        lit(order::ALPHABET)
    );
    let _ = writeln!(
        out,
        "/** Characters of generated ids. */\nexport const ID_ALPHABET = {};\n\
         export const WORKSHOP_ID_LEN = {};\nexport const ITEM_ID_LEN = {};\n\
         export const MAX_ID_LEN = {};\n/** Longest note, card, answer or item text accepted. */\n\
         export const MAX_TEXT = {};",
        lit(schema::ID_ALPHABET),
        schema::WORKSHOP_ID_LEN,
        schema::ITEM_ID_LEN,
        schema::MAX_ID_LEN,
        schema::MAX_TEXT,
    );
    out
}

/// Compares `generated` with the checked-in file at `relative` (to the `server/` crate), or
/// rewrites it when `UPDATE_GENERATED` is set. Shared with the REST types' check.
pub(crate) fn check_generated(relative: &str, generated: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    if std::env::var_os("UPDATE_GENERATED").is_some() {
        std::fs::write(&path, generated).expect("write the generated file");
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == generated,
        "{} is out of date with the Rust source: run \
         `UPDATE_GENERATED=1 cargo test -p palabre --lib generated` and commit the result",
        path.display()
    );
}

mod tests {
    use super::*;

    #[test]
    fn generated_schema_ts_matches_the_rust_source() {
        check_generated(SCHEMA_TS, &schema_ts());
    }

    #[test]
    fn generated_names_cover_every_constant() {
        let ts = schema_ts();
        for (name, value) in field::ALL
            .iter()
            .chain(board_root::ALL)
            .chain(workshop_root::ALL)
        {
            assert!(
                ts.contains(&format!("  {name}: '{value}',")),
                "{name} missing"
            );
        }
        assert!(ts.contains("'empty-icebreaker': 'icebreaker',"));
        assert!(ts.contains(order::ALPHABET));
    }
}
