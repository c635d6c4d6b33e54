// The facilitator's last three tools, as pure logic: who holds an accelerator's problem and who
// it can be handed to, claiming / releasing / handing it in the board doc (two phones and the
// facilitator exchanging updates), and ending writing on a grid that holds notes back.
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import * as M from '../../src/lib/model';
import { handCandidates, problemHolder } from '../../src/facilitator/owner';
import { endsWriting, revealAtEnd, setRevealAtEnd, type ChoiceStore } from '../../src/facilitator/end-writing';

const camille: M.Author = { id: 'devCamille00000000001', name: 'Camille', org: 'Ressourcerie' };
const noe: M.Author = { id: 'devNoe000000000000001', name: 'Noé', org: 'Régie' };
const phone = (a: M.Author, board = 'acc', screen: M.Presence['screen'] = 'participant'): M.Presence => ({ id: a.id, name: a.name, org: a.org, screen, board });

function relay(...docs: Y.Doc[]): void {
  for (const from of docs) for (const to of docs) if (from !== to) Y.applyUpdate(to, Y.encodeStateAsUpdate(from, Y.encodeStateVector(to)));
}

describe('the accelerator problem changes hands', () => {
  it('a claim is first come; the facilitator releases it, keeping the name, or hands it to a phone', () => {
    const fac = new Y.Doc();
    const a = new Y.Doc();
    const b = new Y.Doc();
    expect(M.claimProblem(a, camille)).toBe(true);
    relay(fac, a, b);
    expect(M.claimProblem(b, noe)).toBe(false);
    expect(M.readAccelerator(b)).toMatchObject({ ownerDevice: camille.id, owner: 'Camille', ownerOrg: 'Ressourcerie' });

    M.releaseProblem(fac);
    relay(fac, a, b);
    expect(M.readAccelerator(a)).toMatchObject({ ownerDevice: '', owner: 'Camille' });
    expect(M.claimProblem(b, noe)).toBe(true);
    relay(fac, a, b);
    expect(M.readAccelerator(a)).toMatchObject({ ownerDevice: noe.id, owner: 'Noé', ownerOrg: 'Régie' });

    M.giveProblem(fac, camille);
    relay(fac, a, b);
    expect(M.readAccelerator(b)).toMatchObject({ ownerDevice: camille.id, owner: 'Camille', ownerOrg: 'Ressourcerie' });
  });

  it('handing the problem to its holder writes nothing', () => {
    const doc = new Y.Doc();
    M.giveProblem(doc, camille);
    const before = Y.encodeStateVector(doc);
    M.giveProblem(doc, camille);
    expect(Y.encodeStateVector(doc)).toEqual(before);
  });
});

describe('who holds the problem, as the facilitator sees it', () => {
  it('is nobody, the name its phone announces, or the claimed name while its phone is away', () => {
    expect(problemHolder('', 'Camille', [phone(camille)])).toEqual({ nobody: true, name: '', here: false });
    const renamed = { ...phone(camille), name: 'Camille D.' };
    expect(problemHolder(camille.id, 'Camille', [renamed])).toEqual({ nobody: false, name: 'Camille D.', here: true });
    expect(problemHolder(camille.id, 'Camille', [phone(noe)])).toEqual({ nobody: false, name: 'Camille', here: false });
    // A facilitator or projector tab with that id is not the phone.
    expect(problemHolder(camille.id, 'Camille', [phone(camille, 'acc', 'facilitator')]).here).toBe(false);
  });

  it('offers connected phones other than the holder, this board’s first, then by name', () => {
    const zoe: M.Author = { id: 'devZoe000000000000001', name: 'Zoé', org: '' };
    const elise: M.Author = { id: 'devElise0000000000001', name: 'Élise', org: 'CCAS' };
    const present = [phone(zoe), phone(elise, 'grid'), phone(noe), phone(camille), { ...phone(noe), id: 'nameless', name: ' ' }, phone(elise, 'acc', 'projector')];
    expect(handCandidates(camille.id, present, 'acc').map((p) => p.name)).toEqual(['Noé', 'Zoé', 'Élise']);
    expect(handCandidates('', present, 'acc').map((p) => p.name)).toEqual(['Camille', 'Noé', 'Zoé', 'Élise']);
  });
});

describe('ending writing on a grid that holds notes back', () => {
  it('happens when writing moves to voting or discussion, not back or within', () => {
    expect(endsWriting('writing', 'voting')).toBe(true);
    expect(endsWriting('writing', 'closed')).toBe(true);
    expect(endsWriting('writing', 'writing')).toBe(false);
    expect(endsWriting('voting', 'closed')).toBe(false);
    expect(endsWriting('closed', 'writing')).toBe(false);
  });

  it('reveals all by default; turning it off is remembered per board', () => {
    const kept = new Map<string, string>();
    const store: ChoiceStore = {
      getItem: (k) => kept.get(k) ?? null,
      setItem: (k, v) => void kept.set(k, v),
      removeItem: (k) => void kept.delete(k),
    };
    expect(revealAtEnd('w', 'b1', store)).toBe(true);
    setRevealAtEnd('w', 'b1', false, store);
    expect(revealAtEnd('w', 'b1', store)).toBe(false);
    expect(revealAtEnd('w', 'b2', store)).toBe(true);
    expect(revealAtEnd('other', 'b1', store)).toBe(true);
    setRevealAtEnd('w', 'b1', true, store);
    expect(revealAtEnd('w', 'b1', store)).toBe(true);
    expect(kept.size).toBe(0);
  });

  it('falls back to on when storage is missing or throws', () => {
    const broken: ChoiceStore = {
      getItem: () => {
        throw new Error('denied');
      },
      setItem: () => {
        throw new Error('denied');
      },
      removeItem: () => undefined,
    };
    expect(revealAtEnd('w', 'b', null)).toBe(true);
    expect(revealAtEnd('w', 'b', broken)).toBe(true);
    expect(() => setRevealAtEnd('w', 'b', false, broken)).not.toThrow();
  });
});
