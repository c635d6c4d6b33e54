//! Timeline boards (board-schema §4.2): dated highlight cards.
import * as Y from 'yjs';
import { entries, setIfChanged, setText, str, text } from './fields';
import { cardKey, sortKeyOf } from '../dates';
import { BOARD_ROOT, FIELD } from './schema.gen';
import { addEntry, edit, readAuthored, root, writeAuthor, type Author, type Authored } from './board-base';

// ---------------------------------------------------------------- timeline (§4.2)

export interface Card extends Authored {
  id: string;
  when: string;
  sortKey: string;
  title: string;
  person: string;
  organisation: string;
  quote: string;
}

/** Cards in display order: sortKey ascending, undated last, then createdAt, then id. */
export function readTimeline(doc: Y.Doc): Card[] {
  const cards = entries(root(doc, BOARD_ROOT.CARDS)).map(
    ([id, m]): Card => ({
      id,
      when: str(m, FIELD.WHEN),
      // Cards written by other clients or older boards may carry no key: derive it from `when`.
      sortKey: cardKey(str(m, FIELD.SORT_KEY), str(m, FIELD.WHEN)),
      title: text(m, FIELD.TITLE),
      person: str(m, FIELD.PERSON),
      organisation: str(m, FIELD.ORGANISATION),
      quote: text(m, FIELD.QUOTE),
      ...readAuthored(m),
    }),
  );
  return cards.sort((a, b) => {
    if (a.sortKey !== b.sortKey) {
      if (a.sortKey === '') return 1;
      if (b.sortKey === '') return -1;
      return a.sortKey < b.sortKey ? -1 : 1;
    }
    if (a.createdAt !== b.createdAt) return a.createdAt - b.createdAt;
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });
}

/**
 * A sortable key from a free "when" label ("mai 2021" → "2021-05-01", "fin 2021" → "2021-11-01");
 * "" when no year is found. See ../dates.ts.
 */
export function sortKeyFromWhen(label: string): string {
  return sortKeyOf(label);
}

export interface CardFields {
  when: string;
  title: string;
  person: string;
  organisation: string;
  quote: string;
  /** Defaults to `sortKeyFromWhen(when)`. */
  sortKey?: string;
}

export function addCard(doc: Y.Doc, f: CardFields, author: Author, now = Date.now()): string {
  return addEntry(doc, root(doc, BOARD_ROOT.CARDS), (m) => {
    m.set(FIELD.WHEN, f.when);
    m.set(FIELD.SORT_KEY, f.sortKey ?? sortKeyFromWhen(f.when));
    m.set(FIELD.TITLE, new Y.Text(f.title));
    m.set(FIELD.PERSON, f.person);
    m.set(FIELD.ORGANISATION, f.organisation);
    m.set(FIELD.QUOTE, new Y.Text(f.quote));
    writeAuthor(m, author, now);
  });
}

export function editCard(doc: Y.Doc, id: string, f: CardFields): void {
  edit(doc, root(doc, BOARD_ROOT.CARDS), id, (m) => {
    setIfChanged(m, FIELD.WHEN, f.when);
    setIfChanged(m, FIELD.SORT_KEY, f.sortKey ?? sortKeyFromWhen(f.when));
    setText(m, FIELD.TITLE, f.title);
    setIfChanged(m, FIELD.PERSON, f.person);
    setIfChanged(m, FIELD.ORGANISATION, f.organisation);
    setText(m, FIELD.QUOTE, f.quote);
  });
}

export function deleteCard(doc: Y.Doc, id: string): void {
  root(doc, BOARD_ROOT.CARDS).delete(id);
}

