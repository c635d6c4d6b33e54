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
