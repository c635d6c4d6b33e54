// The web writer of held docs (board-schema §6) writes exactly the fields the Rust reader
// (`palabre::board::held::read_held`) and the server's reveal read.
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { addHeld, deleteHeld, editHeld, heldDocId, readHeld, readHolding, setHolding } from '../../src/lib/model';
import { BOARD_ROOT, FIELD } from '../../src/lib/model/schema.gen';

describe('held docs', () => {
  it('writes anonymous papers with no author, signed notes with name and organisation', () => {
    const doc = new Y.Doc();
    const a = addHeld(doc, 'un papier', {}, 5);
    const b = addHeld(doc, 'une idée', { column: 'c1', author: { id: 'x', name: 'Lina', org: 'CS' } }, 6);
    const notes = doc.getMap(BOARD_ROOT.NOTES);
    const m = notes.get(b) as Y.Map<unknown>;
    expect([...m.keys()].sort()).toEqual(
      [FIELD.AUTHOR_NAME, FIELD.AUTHOR_ORG, FIELD.COLOUR, FIELD.COLUMN, FIELD.CREATED_AT, FIELD.ORDER, FIELD.TEXT].sort(),
    );
    expect(m.get(FIELD.AUTHOR_NAME)).toBe('Lina');
    expect((notes.get(a) as Y.Map<unknown>).get(FIELD.AUTHOR_NAME)).toBe('');
    editHeld(doc, a, 'un papier revu');
    expect(readHeld(doc).map((n) => n.text)).toEqual(['un papier revu', 'une idée']);
    deleteHeld(doc, a);
    expect(readHeld(doc).map((n) => n.id)).toEqual([b]);
    expect(heldDocId('w.b', 'DEV')).toBe('w.b~DEV');
  });

  it('reads the board toggles: an icebreaker always holds back, a grid when asked', () => {
    const grid = new Y.Doc();
    grid.getMap(BOARD_ROOT.META).set(FIELD.KIND, 'grid');
    expect(readHolding(grid)).toEqual({ hidden: false, anonymous: false });
    setHolding(grid, { hidden: true, anonymous: false });
    expect(readHolding(grid)).toEqual({ hidden: true, anonymous: false });
    const ice = new Y.Doc();
    ice.getMap(BOARD_ROOT.META).set(FIELD.KIND, 'icebreaker');
    expect(readHolding(ice)).toEqual({ hidden: true, anonymous: true });
  });
});
