// The bin as the server writes it (board::bin: JSON content, Y.Text as {"~text": …}) is restored
// by the facilitator's writer with its author and its Y.Text fields; "Tout restaurer" brings a
// wiped board back in one transaction; the phone's undo covers only its own changes.
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { LocalUndo, readBin, restoreFromBin } from '../../src/lib/model';

function binned(doc: Y.Doc, id: string, author: string, text: string, at: number): void {
  const entry = new Y.Map<unknown>();
  doc.getMap('bin').set(id, entry);
  entry.set('root', 'notes');
  entry.set('authorId', author);
  entry.set('deletedBy', 'mallory');
  entry.set('deletedAt', at);
  entry.set(
    'data',
    JSON.stringify({ authorId: author, authorName: 'Alice', column: 'creer', order: 'V', text: { '~text': text }, votes: { bob: 1 } }),
  );
}

describe('the bin', () => {
  it('restores a wiped board with its authors, texts and votes', () => {
    const doc = new Y.Doc();
    for (let i = 0; i < 30; i++) binned(doc, `n${i}`, 'alice', `idée ${i}`, 1000 + i);
    const listed = readBin(doc);
    expect(listed).toHaveLength(30);
    expect(listed[0]?.id).toBe('n29');
    expect(listed[0]?.authorName).toBe('Alice');
    let transactions = 0;
    doc.on('afterTransaction', () => transactions++);
    expect(restoreFromBin(doc, listed.map((e) => e.id))).toBe(30);
    expect(transactions).toBe(1);
    const note = doc.getMap('notes').get('n3') as Y.Map<unknown>;
    expect(note.get('text')).toBeInstanceOf(Y.Text);
    expect((note.get('text') as Y.Text).toString()).toBe('idée 3');
    expect(note.get('authorId')).toBe('alice');
    expect((note.get('votes') as Y.Map<number>).get('bob')).toBe(1);
    expect(readBin(doc)).toHaveLength(0);
  });

  it('undoes only local changes', () => {
    const doc = new Y.Doc();
    const undo = new LocalUndo(doc, 'grid');
    const remote = new Y.Doc();
    remote.getMap('notes').set('theirs', new Y.Map());
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(remote), 'provider');
    expect(undo.canUndo()).toBe(false);
    doc.getMap('notes').set('mine', new Y.Map());
    expect(undo.canUndo()).toBe(true);
    undo.undo();
    expect(doc.getMap('notes').has('mine')).toBe(false);
    expect(doc.getMap('notes').has('theirs')).toBe(true);
    undo.destroy();
  });
});
