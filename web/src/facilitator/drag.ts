//! Dragging a note by its handle with any pointer — finger, pen or mouse — for touch screens,
//! where HTML5 drag and drop does not start. A Svelte action on the handle: it captures the
//! pointer, moves the note under the finger, finds the column and position under it
//! (`[data-column]` lists of `[data-mod-note]` rows), scrolls the page near its edges, and
//! calls `drop` with the target when the finger lifts (nothing when cancelled).

export interface DropTarget {
  column: string;
  /** Position among the column's other notes (the dragged one left out). */
  index: number;
}

export interface DragOptions {
  id: string;
  /** The target under the pointer while moving (`null` = none), to show where it will land. */
  hover: (target: DropTarget | null) => void;
  drop: (target: DropTarget) => void;
  /** Called when a drag starts and ends, so the row can stop being an HTML5 draggable. */
  active: (on: boolean) => void;
}

/** How many of the other notes' vertical midpoints lie above `y`: the index to insert at. */
export function dropIndex(midpoints: readonly number[], y: number): number {
  return midpoints.filter((m) => m < y).length;
}

/** Pixels from the viewport's edge where the page scrolls by itself, and the speed there. */
const EDGE = 72;
const SPEED = 14;

/** The drop target under (`x`, `y`), ignoring the dragged row. */
function targetAt(x: number, y: number, id: string): DropTarget | null {
  // The dragged row sits under the finger: look through it.
  const hit = document.elementsFromPoint(x, y).find((el) => el.closest<HTMLElement>('[data-mod-note]')?.dataset.modNote !== id);
  const list = hit?.closest<HTMLElement>('[data-column]') ?? null;
  const column = list?.dataset.column;
  if (list === null || column === undefined) return null;
  const mids = [...list.querySelectorAll<HTMLElement>('[data-mod-note]')]
    .filter((el) => el.dataset.modNote !== id)
    .map((el) => {
      const r = el.getBoundingClientRect();
      return r.top + r.height / 2;
    });
  return { column, index: dropIndex(mids, y) };
}

export function pointerDrag(handle: HTMLElement, initial: DragOptions): { update: (o: DragOptions) => void; destroy: () => void } {
  let options = initial;
  let pointer: number | null = null;
  let row: HTMLElement | null = null;
  let start = { x: 0, y: 0, scroll: 0 };
  let last = { x: 0, y: 0 };
  let target: DropTarget | null = null;
  let frame = 0;

  const place = (): void => {
    if (row === null) return;
    const dy = last.y - start.y + (window.scrollY - start.scroll);
    row.style.transform = `translate(${last.x - start.x}px, ${dy}px)`;
    target = targetAt(last.x, last.y, options.id);
    options.hover(target);
  };
  const scroll = (): void => {
    if (pointer === null) return;
    const { y } = last;
    const step = y < EDGE ? -SPEED : y > window.innerHeight - EDGE ? SPEED : 0;
    if (step !== 0) {
      window.scrollBy(0, step);
      place();
    }
    frame = requestAnimationFrame(scroll);
  };
  const end = (commit: boolean): void => {
    if (pointer === null) return;
    if (handle.hasPointerCapture(pointer)) handle.releasePointerCapture(pointer);
    pointer = null;
    cancelAnimationFrame(frame);
    if (row !== null) {
      row.style.transform = '';
      row.classList.remove('dragged');
    }
    row = null;
    const chosen = target;
    target = null;
    options.hover(null);
    options.active(false);
    if (commit && chosen !== null) options.drop(chosen);
  };

  const down = (e: PointerEvent): void => {
    if (pointer !== null || (e.pointerType === 'mouse' && e.button !== 0)) return;
    e.preventDefault();
    pointer = e.pointerId;
    handle.setPointerCapture(e.pointerId);
    row = handle.closest<HTMLElement>('[data-mod-note]');
    row?.classList.add('dragged');
    start = { x: e.clientX, y: e.clientY, scroll: window.scrollY };
    last = { x: e.clientX, y: e.clientY };
    options.active(true);
    place();
    frame = requestAnimationFrame(scroll);
  };
  const move = (e: PointerEvent): void => {
    if (e.pointerId !== pointer) return;
    e.preventDefault();
    last = { x: e.clientX, y: e.clientY };
    place();
  };
  const up = (e: PointerEvent): void => {
    if (e.pointerId !== pointer) return;
    last = { x: e.clientX, y: e.clientY };
    place();
    end(true);
  };
  const cancel = (e: PointerEvent): void => {
    if (e.pointerId === pointer) end(false);
  };
  const key = (e: KeyboardEvent): void => {
    if (e.key === 'Escape') end(false);
  };

  handle.addEventListener('pointerdown', down);
  handle.addEventListener('pointermove', move);
  handle.addEventListener('pointerup', up);
  handle.addEventListener('pointercancel', cancel);
  window.addEventListener('keydown', key);
  return {
    update(o) {
      options = o;
    },
    destroy() {
      end(false);
      handle.removeEventListener('pointerdown', down);
      handle.removeEventListener('pointermove', move);
      handle.removeEventListener('pointerup', up);
      handle.removeEventListener('pointercancel', cancel);
      window.removeEventListener('keydown', key);
    },
  };
}
