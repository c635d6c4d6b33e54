//! Who holds an accelerator's problem, as the facilitator sees it, and which connected phones
//! it can be handed to (board-schema §4.3 `ownerDevice`; presence: lib/model/sync.ts).
import type { Presence } from '../lib/model';

export interface Holder {
  /** Nobody claimed it: any phone may. */
  nobody: boolean;
  /** The name its phone announces now, else the owner's name written at the claim. */
  name: string;
  /** Its phone is connected now. */
  here: boolean;
}

/** The holder of the problem: `ownerDevice` looked up among the phones present. */
export function problemHolder(ownerDevice: string, ownerName: string, present: readonly Presence[]): Holder {
  if (ownerDevice === '') return { nobody: true, name: '', here: false };
  const phone = present.find((p) => p.id === ownerDevice && p.screen === 'participant');
  if (phone !== undefined) return { nobody: false, name: phone.name || ownerName, here: true };
  return { nobody: false, name: ownerName, here: false };
}

/**
 * Phones the problem can be handed to: connected participants other than its holder, those
 * looking at this board first, then by name.
 */
export function handCandidates(ownerDevice: string, present: readonly Presence[], bid: string): Presence[] {
  return present
    .filter((p) => p.screen === 'participant' && p.id !== ownerDevice && p.name.trim() !== '')
    .sort((a, b) => Number(b.board === bid) - Number(a.board === bid) || a.name.localeCompare(b.name, 'fr') || a.id.localeCompare(b.id));
}
