//! Project accelerators (board-schema §4.3): the problem, then items stage by stage.
import * as Y from 'yjs';
import { entries, setIfChanged, setText, str, text } from './fields';
import { byOrder } from './order';
import { BOARD_ROOT, FIELD, ITEM_STAGES, type ItemStage } from './schema.gen';
import { addEntry, appendKey, edit, header, readAuthored, root, writeAuthor, type Author, type Authored } from './board-base';

// ---------------------------------------------------------------- accelerator (§4.3)

export interface AcceleratorItem extends Authored {
  id: string;
  stage: ItemStage;
  order: string;
  text: string;
  who: string;
  next: string;
}

export interface AcceleratorView {
  /** The device that brings the problem (board-schema §4.3); `''` = nobody claimed it. */
  ownerDevice: string;
  owner: string;
  ownerOrg: string;
  question: string;
  context: string;
  statement: string;
  reformulation: string;
  questions: AcceleratorItem[];
  ideas: AcceleratorItem[];
  actions: AcceleratorItem[];
}

export function readAccelerator(doc: Y.Doc): AcceleratorView {
  const h = header(doc);
  const byStage: Record<ItemStage, AcceleratorItem[]> = { questions: [], ideas: [], actions: [] };
  for (const [id, m] of entries(root(doc, BOARD_ROOT.ITEMS))) {
    const stage = str(m, FIELD.STAGE);
    if (!(ITEM_STAGES as readonly string[]).includes(stage)) continue;
    byStage[stage as ItemStage].push({
      id,
      stage: stage as ItemStage,
      order: str(m, FIELD.ORDER),
      text: text(m, FIELD.TEXT),
      who: str(m, FIELD.WHO),
      next: str(m, FIELD.NEXT),
      ...readAuthored(m),
    });
  }
  for (const list of Object.values(byStage)) list.sort(byOrder);
  return {
    ownerDevice: str(h, FIELD.OWNER_DEVICE),
    owner: str(h, FIELD.OWNER),
    ownerOrg: str(h, FIELD.OWNER_ORG),
    question: str(h, FIELD.QUESTION),
    context: text(h, FIELD.CONTEXT),
    statement: text(h, FIELD.STATEMENT),
    reformulation: text(h, FIELD.REFORMULATION),
    ...byStage,
  };
}

const HEADER_PLAIN = [FIELD.OWNER, FIELD.OWNER_ORG, FIELD.QUESTION] as const;
const HEADER_TEXT_FIELDS = [FIELD.CONTEXT, FIELD.STATEMENT, FIELD.REFORMULATION] as const;
export type AcceleratorHeaderField = (typeof HEADER_PLAIN)[number] | (typeof HEADER_TEXT_FIELDS)[number];
const HEADER_TEXTS: ReadonlySet<string> = new Set(HEADER_TEXT_FIELDS);

export function setAcceleratorField(doc: Y.Doc, field: AcceleratorHeaderField, value: string): void {
  const h = header(doc);
  doc.transact(() => {
    if (HEADER_TEXTS.has(field)) setText(h, field, value);
    else setIfChanged(h, field, value);
  });
}

/**
 * A phone claims the problem: its device becomes the one that writes it (first come; the server
 * refuses a claim once someone holds it). Its name and organisation become the owner's.
 */
export function claimProblem(doc: Y.Doc, me: Author): boolean {
  const h = header(doc);
  if (str(h, FIELD.OWNER_DEVICE) !== '') return false;
  doc.transact(() => {
    h.set(FIELD.OWNER_DEVICE, me.id);
    setIfChanged(h, FIELD.OWNER, me.name);
    setIfChanged(h, FIELD.OWNER_ORG, me.org);
  });
  return true;
}

/**
 * The facilitator frees the problem for another phone to claim. The owner's name stays: the
 * same person may claim it again from another phone, and a claim writes its own name anyway.
 */
export function releaseProblem(doc: Y.Doc): void {
  header(doc).set(FIELD.OWNER_DEVICE, '');
}

/** The facilitator hands the problem to a connected phone: its device writes it from now on. */
export function giveProblem(doc: Y.Doc, to: Author): void {
  const h = header(doc);
  doc.transact(() => {
    setIfChanged(h, FIELD.OWNER_DEVICE, to.id);
    setIfChanged(h, FIELD.OWNER, to.name);
    setIfChanged(h, FIELD.OWNER_ORG, to.org);
  });
}

export function addItem(
  doc: Y.Doc,
  stage: ItemStage,
  f: { text: string; who?: string; next?: string },
  author: Author,
  now = Date.now(),
): string {
  const items = root(doc, BOARD_ROOT.ITEMS);
  const order = appendKey(items, (m) => str(m, FIELD.STAGE) === stage);
  return addEntry(doc, items, (m) => {
    m.set(FIELD.STAGE, stage);
    m.set(FIELD.ORDER, order);
    m.set(FIELD.TEXT, new Y.Text(f.text));
    m.set(FIELD.WHO, f.who ?? '');
    m.set(FIELD.NEXT, f.next ?? '');
    writeAuthor(m, author, now);
  });
}

export function editItem(doc: Y.Doc, id: string, f: { text: string; who?: string; next?: string }): void {
  edit(doc, root(doc, BOARD_ROOT.ITEMS), id, (m) => {
    setText(m, FIELD.TEXT, f.text);
    if (f.who !== undefined) setIfChanged(m, FIELD.WHO, f.who);
    if (f.next !== undefined) setIfChanged(m, FIELD.NEXT, f.next);
  });
}

export function deleteItem(doc: Y.Doc, id: string): void {
  root(doc, BOARD_ROOT.ITEMS).delete(id);
}

