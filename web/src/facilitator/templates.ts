//! Board templates the facilitator can add (ids from board-schema §5), grouped by kind.
import type { BoardKind } from '../lib/model';
import type { MessageKey } from '../lib/messages';

export interface TemplateChoice {
  id: string;
  kind: BoardKind;
  label: MessageKey;
}

export const TEMPLATES: TemplateChoice[] = [
  { id: 'five-columns', kind: 'grid', label: 'tpl.five-columns' },
  { id: 'next-actions', kind: 'grid', label: 'tpl.next-actions' },
  { id: 'axes', kind: 'grid', label: 'tpl.axes' },
  { id: 'feedback', kind: 'grid', label: 'tpl.feedback' },
  { id: 'empty-grid', kind: 'grid', label: 'tpl.empty-grid' },
  { id: 'timeline', kind: 'timeline', label: 'tpl.timeline' },
  { id: 'accelerator', kind: 'accelerator', label: 'tpl.accelerator' },
  { id: 'interview', kind: 'interview', label: 'tpl.interview' },
  { id: 'icebreaker', kind: 'icebreaker', label: 'tpl.icebreaker' },
];
