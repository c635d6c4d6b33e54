//! Board templates the facilitator can add, in menu order; ids and kinds come from the Rust
//! schema (`BOARD_TEMPLATES` in schema.gen.ts), so a removed or renamed template fails the build.
import { BOARD_TEMPLATES, type BoardKind, type BoardTemplateId } from '../lib/model';
import type { MessageKey } from '../lib/messages';

export interface TemplateChoice {
  id: BoardTemplateId;
  kind: BoardKind;
  label: MessageKey;
}

const OFFERED = [
  'five-columns',
  'next-actions',
  'axes',
  'feedback',
  'empty-grid',
  'timeline',
  'accelerator',
  'interview',
  'icebreaker',
] as const satisfies readonly BoardTemplateId[];

export const TEMPLATES: TemplateChoice[] = OFFERED.map((id) => ({
  id,
  kind: BOARD_TEMPLATES[id],
  label: `tpl.${id}` satisfies MessageKey,
}));
