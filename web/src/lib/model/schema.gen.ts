// GENERATED from server/src/board/schema.rs, order.rs and templates.rs by board::gen_ts.
// Do not edit: change the Rust source, then run
//   UPDATE_GENERATED=1 cargo test -p palabre --lib generated

/** Schema version written in every doc's meta map. */
export const SCHEMA_VERSION = 1;

/** Roots of a workshop doc. */
export const WORKSHOP_ROOT = {
  META: 'workshop',
  PARTICIPANTS: 'participants',
  AGENDA: 'agenda',
  CONTROL: 'control',
  GROUPS: 'groups',
  REQUESTS: 'requests',
} as const;

/** Roots of a board doc. */
export const BOARD_ROOT = {
  META: 'board',
  COLUMNS: 'columns',
  NOTES: 'notes',
  GROUPS: 'groups',
  CARDS: 'cards',
  ITEMS: 'items',
  QUESTIONS: 'questions',
  ANSWERS: 'answers',
  BIN: 'bin',
} as const;
export type BoardRoot = (typeof BOARD_ROOT)[keyof typeof BOARD_ROOT];

/** Field names of the maps in every doc. */
export const FIELD = {
  VERSION: 'version',
  ID: 'id',
  KIND: 'kind',
  WORKSHOP: 'workshop',
  TITLE: 'title',
  DATE: 'date',
  PLACE: 'place',
  OBJECTIVES: 'objectives',
  TEMPLATE: 'template',
  CREATED_AT: 'createdAt',
  PROJECTED: 'projected',
  NAME: 'name',
  ROLE: 'role',
  ORGANISATION: 'organisation',
  GROUP: 'group',
  ORDER: 'order',
  METHOD: 'method',
  LOCKED: 'locked',
  REVEAL_ALL: 'revealAll',
  REVEALED: 'revealed',
  TIMER_END: 'timerEnd',
  VOTES_PER_PERSON: 'votesPerPerson',
  AUTHOR_ID: 'authorId',
  AUTHOR_NAME: 'authorName',
  AUTHOR_ORG: 'authorOrg',
  COLOUR: 'colour',
  COLUMN: 'column',
  TEXT: 'text',
  VOTES: 'votes',
  WHEN: 'when',
  SORT_KEY: 'sortKey',
  PERSON: 'person',
  QUOTE: 'quote',
  OWNER: 'owner',
  OWNER_ORG: 'ownerOrg',
  QUESTION: 'question',
  CONTEXT: 'context',
  STATEMENT: 'statement',
  REFORMULATION: 'reformulation',
  STAGE: 'stage',
  WHO: 'who',
  NEXT: 'next',
  PROMPT: 'prompt',
  NOTES_URL: 'notesUrl',
  REPORT_EMPTY: 'reportEmpty',
  SYNTHESIS: 'synthesis',
  REMARKS: 'remarks',
  PARENT: 'parent',
  LEAD: 'lead',
  PHONE: 'phone',
  PHASE: 'phase',
  FOCUS: 'focus',
  DISPLAY: 'display',
  JOIN_PANEL: 'joinPanel',
  LINKS_RENEWED: 'linksRenewed',
  PAGE: 'page',
  PAGE_AT: 'pageAt',
  PAGE_PAUSED: 'pagePaused',
  HIDDEN: 'hidden',
  ANONYMOUS: 'anonymous',
  REVEALING: 'revealing',
  OWNER_DEVICE: 'ownerDevice',
  DATA: 'data',
  DELETED_AT: 'deletedAt',
  DELETED_BY: 'deletedBy',
  ROOT: 'root',
} as const;

/** Board kinds, in the order the UI lists them. */
export const BOARD_KINDS = ['grid', 'timeline', 'accelerator', 'interview', 'icebreaker'] as const;
export type BoardKind = (typeof BOARD_KINDS)[number];

/** Which side of the day a participant is on (anything else reads as `guests`). */
export const PARTICIPANT_GROUPS = ['facilitation', 'accompanied', 'guests'] as const;
export type ParticipantGroup = (typeof PARTICIPANT_GROUPS)[number];

/** Accelerator stages that hold items. */
export const ITEM_STAGES = ['questions', 'ideas', 'actions'] as const;
export type ItemStage = (typeof ITEM_STAGES)[number];

/** A board's phases (`control.phase`; anything else reads as `writing`). */
export const PHASES = ['writing', 'voting', 'closed'] as const;
export type Phase = (typeof PHASES)[number];

/** An accelerator's stages, opened one by one (`control.stage`; anything else reads as `problem`). */
export const STAGES = ['problem', 'questions', 'reformulation', 'ideas', 'actions'] as const;
export type Stage = (typeof STAGES)[number];

/** How the projector shows a board (`control.display`; anything else reads as `board`). */
export const DISPLAYS = ['board', 'votes', 'results'] as const;
export type Display = (typeof DISPLAYS)[number];

/** The palette: the only colours stored or rendered. */
export const COLOURS = ['yellow', 'orange', 'pink', 'purple', 'blue', 'green', 'grey'] as const;
export type Colour = (typeof COLOURS)[number];

/** Board template ids and the kind of board each makes. */
export const BOARD_TEMPLATES = {
  'five-columns': 'grid',
  'next-actions': 'grid',
  'feedback': 'grid',
  'axes': 'grid',
  'timeline': 'timeline',
  'accelerator': 'accelerator',
  'interview': 'interview',
  'icebreaker': 'icebreaker',
  'empty-grid': 'grid',
  'empty-timeline': 'timeline',
  'empty-accelerator': 'accelerator',
  'empty-interview': 'interview',
  'empty-icebreaker': 'icebreaker',
} as const;
export type BoardTemplateId = keyof typeof BOARD_TEMPLATES;

/** Whole-day workshop templates (a board template id also makes a one-board workshop). */
export const WORKSHOP_TEMPLATES = ['journee-bilan', 'empty'] as const;
export type WorkshopTemplateId = (typeof WORKSHOP_TEMPLATES)[number];

/** Digits of fractional order keys, ascending. */
export const ORDER_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Characters of generated ids. */
export const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
export const WORKSHOP_ID_LEN = 16;
export const ITEM_ID_LEN = 12;
export const MAX_ID_LEN = 64;
/** Longest note, card, answer or item text accepted. */
export const MAX_TEXT = 20000;
