//! The board model: the only module that knows Yjs. Screens read plain views and call these writers.
//! Mirrors docs/board-schema.md (see the Rust `palabre::board` for anything it leaves unclear).
export * from './workshop';
export * from './board';
export * from './held';
export { readBin, restoreFromBin, LocalUndo, type BinEntry } from './bin';
export { between, keyAt, isValidKey } from './order';
export { newId, isValidId, useIdGenerator } from './ids';
export { DocHandle, type ModelDoc, type SyncState, type Connection, type Presence, type OpenOptions } from './sync';
export * from './schema.gen';
export { ResetBound, refusalKind, refusalTopic, RESET_WINDOW_MS, type RefusalAction, type RefusalKind, type RefusalTopic } from './refusal';
// The workshop's own groups: a group id is any string, not only the historical kinds.
export { type ParticipantGroup } from './workshop';
