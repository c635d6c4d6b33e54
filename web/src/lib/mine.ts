//! The workshops created or led in this browser (kept locally, never sent): title, date and the
//! facilitator link, so a returning facilitator finds them on the home page.
export interface MyWorkshop {
  id: string;
  title: string;
  date: string;
  /** The facilitator page's address, secret in the fragment. */
  link: string;
}

const KEY = 'palabre:mine';

export function myWorkshops(): MyWorkshop[] {
  try {
    const raw = localStorage.getItem(KEY);
    const list = raw === null ? [] : (JSON.parse(raw) as MyWorkshop[]);
    return Array.isArray(list) ? list.filter((w) => typeof w.id === 'string' && typeof w.link === 'string') : [];
  } catch {
    return [];
  }
}

function save(list: MyWorkshop[]): void {
  try {
    localStorage.setItem(KEY, JSON.stringify(list.slice(0, 100)));
  } catch {
    // Not remembered: the facilitator keeps the link themselves.
  }
}

/** Remembers (or refreshes) a workshop, most recent first. */
export function rememberWorkshop(w: MyWorkshop): void {
  save([w, ...myWorkshops().filter((x) => x.id !== w.id)]);
}

export function forgetWorkshop(id: string): void {
  save(myWorkshops().filter((x) => x.id !== id));
}
