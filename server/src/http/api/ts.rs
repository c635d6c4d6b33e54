//! The REST API's request and response types as TypeScript (`web/src/lib/api.gen.ts`), rendered
//! by ts-rs from the serde types themselves, so a renamed or added field cannot drift from the
//! web client. The check fails on drift; regenerate with
//! `UPDATE_GENERATED=1 cargo test -p palabre --lib generated`.

use ts_rs::{Config, TS};

use super::boards::Order;
use super::held::{HeldCount, HeldDone, HeldEntry, HeldList, HeldRef, HeldRequest};
use super::join::Joined;
use super::links::{Links, Secrets};
use super::workshops::{BoardSummary, Created, Shown};
use crate::auth::Role;
use crate::board::held::{HeldNote, Holding};
use crate::board::templates::BoardSpec;
use crate::board::WorkshopParams;

const API_TS: &str = "../web/src/lib/api.gen.ts";

fn api_ts() -> String {
    let cfg = Config::new();
    let decls = [
        ("`POST /api/workshops` body.", WorkshopParams::decl(&cfg)),
        ("`POST /api/workshops` answer (201).", Created::decl(&cfg)),
        ("A board as the API lists it.", BoardSummary::decl(&cfg)),
        ("The three secrets, the page links carrying them, the join code (`GET …/links`, `POST …/rotate`).", Links::decl(&cfg)),
        ("One value per role.", Secrets::decl(&cfg)),
        ("`GET /api/workshops/{wid}` answer.", Shown::decl(&cfg)),
        ("`POST /api/workshops/{wid}/boards` body.", BoardSpec::decl(&cfg)),
        ("`PUT /api/workshops/{wid}/boards/order` body.", Order::decl(&cfg)),
        ("`GET /api/join/{code}` answer.", Joined::decl(&cfg)),
        ("What a link lets its holder do.", Role::decl(&cfg)),
        ("How a board holds its participants' new notes back.", Holding::decl(&cfg)),
        ("A note held back in its writer's held doc.", HeldNote::decl(&cfg)),
        ("A held note as the facilitator lists it.", HeldEntry::decl(&cfg)),
        ("`GET …/boards/{bid}/held` answer (facilitator).", HeldList::decl(&cfg)),
        ("`GET …/boards/{bid}/held/count` answer (every role).", HeldCount::decl(&cfg)),
        ("One held note a request names.", HeldRef::decl(&cfg)),
        ("`POST …/boards/{bid}/held/reveal` and `…/discard` body.", HeldRequest::decl(&cfg)),
        ("`POST …/held/reveal` and `…/discard` answer.", HeldDone::decl(&cfg)),
    ];
    let mut out = String::from(
        "// GENERATED from the serde types of server/src/http/api/ (and the board and auth types\n\
         // they use) by ts-rs. Do not edit: change the Rust types, then run\n\
         //   UPDATE_GENERATED=1 cargo test -p palabre --lib generated\n\
         import type { BoardKind, BoardTemplateId, WorkshopTemplateId } from './model/schema.gen';\n",
    );
    for (doc, decl) in decls {
        out.push_str(&format!("\n/** {doc} */\nexport {decl}\n"));
    }
    // ts-rs leaves a space at the end of some lines; the file is checked in, keep it clean.
    out.lines().map(|l| format!("{}\n", l.trim_end())).collect()
}

#[test]
fn generated_api_ts_matches_the_rust_types() {
    crate::board::gen_ts::check_generated(API_TS, &api_ts());
}
