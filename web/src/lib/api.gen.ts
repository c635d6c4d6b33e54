// GENERATED from the serde types of server/src/http/api/ (and the board and auth types
// they use) by ts-rs. Do not edit: change the Rust types, then run
//   UPDATE_GENERATED=1 cargo test -p palabre --lib generated
import type { BoardKind, BoardTemplateId, WorkshopTemplateId } from './model/schema.gen';

/** `POST /api/workshops` body. */
export type WorkshopParams = {
/**
 * Template to start from.
 */
template: WorkshopTemplateId | BoardTemplateId,
/**
 * Title of the day.
 */
title: string,
/**
 * Date, ISO `yyyy-mm-dd` preferably.
 */
date?: string,
/**
 * Place.
 */
place?: string,
/**
 * Objectives; when absent, the template's.
 */
objectives?: Array<string>, };

/** `POST /api/workshops` answer (201). */
export type Created = { id: string, boards: Array<BoardSummary>, secrets: Secrets, links: Secrets, joinCode: string, };

/** A board as the API lists it. */
export type BoardSummary = { id: string, docId: string, kind: BoardKind, title: string, };

/** The three secrets, the page links carrying them, the join code (`GET …/links`, `POST …/rotate`). */
export type Links = { secrets: Secrets, links: Secrets, joinCode: string, };

/** One value per role. */
export type Secrets = { facilitator: string, participant: string, viewer: string, };

/** `GET /api/workshops/{wid}` answer. */
export type Shown = { id: string, role: Role, title: string, date: string, place: string, projected: string | null, boards: Array<BoardSummary>,
/**
 * The join code, for the screens that display it (facilitator and projector).
 */
joinCode?: string, };

/** `POST /api/workshops/{wid}/boards` body. */
export type BoardSpec = {
/**
 * Kind; when absent, the template's kind (and a grid when both are absent).
 */
kind?: BoardKind,
/**
 * Title; when absent or blank, the template's default title.
 */
title?: string,
/**
 * Template; when absent, the empty template of the kind.
 */
template?: BoardTemplateId,
/**
 * Method text; when absent, the template's.
 */
method?: string,
/**
 * `axes` template: number of axes (1–12, default 3).
 */
axes?: number,
/**
 * `next-actions` template: column titles; when absent, the accompanied organisations.
 */
organisations?: Array<string>,
/**
 * `interview` template: names of the answer groups (default "Groupe 1", "Groupe 2").
 */
groups?: Array<string>, };

/** `PUT /api/workshops/{wid}/boards/order` body. */
export type Order = { order: Array<string>, };

/** `GET /api/join/{code}` answer. */
export type Joined = { workshopId: string, link: string, };

/** What a link lets its holder do. */
export type Role = "facilitator" | "participant" | "viewer";

/** How a board holds its participants' new notes back. */
export type Holding = {
/**
 * New notes go to the writer's held doc until the facilitator reveals them.
 */
hidden: boolean,
/**
 * Revealed notes carry no author.
 */
anonymous: boolean, };

/** A note held back in its writer's held doc. */
export type HeldNote = {
/**
 * Its id in the held doc (never reused in the board doc).
 */
id: string,
/**
 * What it says.
 */
text: string,
/**
 * A grid's column; `""` on an icebreaker.
 */
column: string,
/**
 * A grid's palette colour; `""` = the column's.
 */
colour: string,
/**
 * Name the writer gave (kept on reveal only when the board is not anonymous).
 */
authorName: string,
/**
 * Organisation the writer gave (same).
 */
authorOrg: string,
/**
 * Set by the server once a reveal started: the board note id it is copied to.
 */
revealing?: string, };

/** A held note as the facilitator lists it. */
export type HeldEntry = {
/**
 * The writer's device id (which notes share a writer; never who it is).
 */
device: string,
/**
 * Its id in the held doc (never reused in the board doc).
 */
id: string,
/**
 * What it says.
 */
text: string,
/**
 * A grid's column; `""` on an icebreaker.
 */
column: string,
/**
 * A grid's palette colour; `""` = the column's.
 */
colour: string,
/**
 * Name the writer gave (kept on reveal only when the board is not anonymous).
 */
authorName: string,
/**
 * Organisation the writer gave (same).
 */
authorOrg: string,
/**
 * Set by the server once a reveal started: the board note id it is copied to.
 */
revealing?: string, };

/** `GET …/boards/{bid}/held` answer (facilitator). */
export type HeldList = {
/**
 * How the board holds notes back.
 */
holding: Holding,
/**
 * The notes, grouped by device (a device's in its writer's order).
 */
notes: Array<HeldEntry>, };

/** `GET …/boards/{bid}/held/count` answer (every role). */
export type HeldCount = {
/**
 * Notes held back.
 */
held: number, };

/** One held note a request names. */
export type HeldRef = {
/**
 * Its writer's device id.
 */
device: string,
/**
 * Its id in the held doc.
 */
id: string, };

/** `POST …/boards/{bid}/held/reveal` and `…/discard` body. */
export type HeldRequest = {
/**
 * The notes named one by one.
 */
notes?: Array<HeldRef>,
/**
 * Every note held back on the board ("Tout dévoiler").
 */
all?: boolean, };

/** `POST …/held/reveal` and `…/discard` answer. */
export type HeldDone = {
/**
 * Notes revealed or discarded (notes their writer deleted meanwhile are not counted).
 */
done: number, };
