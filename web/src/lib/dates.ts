/**
 * French date labels as people write them on a timeline ("mai 2021", "fin 2021", "rentrée 2022",
 * "12/10/2022", "2021–2022") turned into a key that sorts as they mean it: `yyyy-mm-dd`, a period
 * at its start; `''` when no year is found (such cards keep their entry order after the dated
 * ones). Twin of server/src/board/dates.rs — keep them in step: both are tested on
 * tests/fixtures/french-dates.json.
 */

const MONTHS: Record<string, number> = {
  janvier: 1, janv: 1, jan: 1, january: 1,
  fevrier: 2, fevr: 2, fev: 2, february: 2, feb: 2,
  mars: 3, march: 3,
  avril: 4, avr: 4, april: 4, apr: 4,
  mai: 5, may: 5,
  juin: 6, june: 6,
  juillet: 7, juil: 7, july: 7,
  aout: 8, august: 8, aug: 8,
  septembre: 9, sept: 9, sep: 9, september: 9,
  octobre: 10, oct: 10, october: 10,
  novembre: 11, nov: 11, november: 11,
  decembre: 12, dec: 12, december: 12,
};

/** Periods of a year by their start [month, day]. */
const PERIODS: Record<string, [number, number]> = {
  printemps: [3, 20], ete: [6, 21], automne: [9, 22], hiver: [12, 21], rentree: [9, 1],
  debut: [1, 1], mi: [7, 1], milieu: [7, 1], fin: [11, 1],
  t1: [1, 1], t2: [4, 1], t3: [7, 1], t4: [10, 1],
};

/** Qualifiers of a month: the day they stand for. */
const IN_MONTH: Record<string, number> = { debut: 1, mi: 15, milieu: 15, fin: 25 };

const QUALIFIERS = new Set(['debut', 'mi', 'milieu', 'fin']);

interface Partial {
  year?: number;
  month?: number;
  day?: number;
  period?: [number, number];
}

function isEmpty(p: Partial): boolean {
  return p.year === undefined && p.month === undefined && p.day === undefined && p.period === undefined;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

function keyOf(p: Partial): string {
  if (p.year === undefined) return '';
  let m = 1;
  let d = 1;
  if (p.month !== undefined) {
    m = p.month;
    d = p.day ?? 1;
  } else if (p.period) {
    [m, d] = p.period;
  }
  return `${pad(p.year, 4)}-${pad(m)}-${pad(d)}`;
}

function fold(label: string): string {
  return label
    .toLowerCase()
    .replace(/[–—→]/g, '~')
    .replace(/\u2019/g, "'")
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '');
}

function yearOf(n: number, digits: number): number | undefined {
  if (digits === 4 && n >= 1900 && n <= 2099) return n;
  if (digits === 2) return 2000 + n;
  return undefined;
}

function num(s: string): [number, number] | undefined {
  if (s.length === 0 || s.length > 4 || !/^\d+$/.test(s)) return undefined;
  return [Number(s), s.length];
}

function numeric(word: string): [number, number, number | undefined] | undefined {
  const parts = word.split(/[/.-]/);
  const nums: [number, number][] = [];
  for (const p of parts) {
    const n = num(p);
    if (!n) return undefined;
    nums.push(n);
  }
  const monthOk = (m: number): boolean => m >= 1 && m <= 12;
  const dayOk = (d: number): boolean => d >= 1 && d <= 31;
  const hyphen = word.includes('-');
  const [a, b, c] = nums;
  if (nums.length === 3 && a && b && c) {
    if (hyphen && a[1] === 4 && b[1] === 2 && c[1] === 2) {
      const y = yearOf(a[0], 4);
      return y !== undefined && monthOk(b[0]) && dayOk(c[0]) ? [y, b[0], c[0]] : undefined;
    }
    if (a[1] <= 2 && b[1] <= 2 && (c[1] === 2 || c[1] === 4)) {
      const y = yearOf(c[0], c[1]);
      return y !== undefined && monthOk(b[0]) && dayOk(a[0]) ? [y, b[0], a[0]] : undefined;
    }
    return undefined;
  }
  if (nums.length === 2 && a && b) {
    if (hyphen && a[1] === 4 && b[1] === 2) {
      const y = yearOf(a[0], 4);
      return y !== undefined && monthOk(b[0]) ? [y, b[0], undefined] : undefined;
    }
    if (a[1] <= 2 && b[1] === 4) {
      const y = yearOf(b[0], 4);
      return y !== undefined && monthOk(a[0]) ? [y, a[0], undefined] : undefined;
    }
  }
  return undefined;
}

function partial(side: string): Partial {
  const p: Partial = {};
  let qualifier: string | undefined;
  let pendingDay: number | undefined;
  for (const raw of side.split(/\s+/)) {
    const word = raw.replace(/^[,;:().]+|[,;:().]+$/g, '');
    if (word === '') continue;
    const n = numeric(word);
    if (n) {
      [p.year, p.month, p.day] = n;
      continue;
    }
    for (const piece of word.split(/[^\p{L}\p{N}]/u)) {
      if (piece === '') continue;
      const number = num(piece);
      if (number) {
        const y = number[1] === 4 ? yearOf(number[0], 4) : undefined;
        if (y !== undefined) p.year = y;
        else if (number[0] >= 1 && number[0] <= 31) pendingDay = number[0];
      } else if (piece === '1er' || piece === '1ere' || piece === 'premier') {
        pendingDay = 1;
      } else if (MONTHS[piece] !== undefined) {
        p.month = MONTHS[piece];
        p.day = pendingDay ?? (qualifier !== undefined ? IN_MONTH[qualifier] : undefined);
        pendingDay = undefined;
      } else if (PERIODS[piece] !== undefined) {
        if (QUALIFIERS.has(piece)) {
          qualifier = piece;
          if (p.period === undefined) p.period = PERIODS[piece];
        } else {
          p.period = PERIODS[piece];
        }
      } else if (piece === 'semestre') {
        p.period = pendingDay === 2 ? [7, 1] : [1, 1];
      } else if (['second', 'seconde', '2e', '2eme', 'deuxieme'].includes(piece)) {
        pendingDay = 2;
      }
    }
  }
  if (p.month === undefined && p.period === undefined && pendingDay !== undefined) p.day = pendingDay;
  return p;
}

function splitRange(folded: string): [string, string | undefined] {
  let s = folded.trim();
  for (const lead of ['de ', 'du ', 'depuis ', 'entre ']) {
    if (s.startsWith(lead)) s = s.slice(lead.length);
  }
  const chars = [...s];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    const digits = (from: number, to: number): boolean =>
      from >= 0 && to <= chars.length && chars.slice(from, to).every((x) => /\d/.test(x));
    const sep =
      c === '~' ||
      (c === '-' && i >= 4 && digits(i - 4, i) && digits(i + 1, i + 5) && !/\d/.test(chars[i + 5] ?? ''));
    if (sep) return [chars.slice(0, i).join(''), chars.slice(i + 1).join('')];
  }
  for (const sep of [' - ', ' au ', ' a ', ' et ', " jusqu'", ' / ']) {
    const at = s.indexOf(sep);
    if (at >= 0) return [s.slice(0, at), s.slice(at + sep.length)];
  }
  return [s, undefined];
}

/** The sort key of a free date label: `yyyy-mm-dd` (a period at its start), or `''`. */
export function sortKeyOf(label: string): string {
  const [first, rest] = splitRange(fold(label));
  const start = partial(first);
  if (rest !== undefined) {
    if (isEmpty(start)) return '';
    const end = partial(rest);
    if (start.year === undefined) {
      start.year = end.year;
      if (start.month === undefined && start.period === undefined) start.month = end.month;
    }
  }
  return keyOf(start);
}

/** The key a reader sorts a card by: the stored one when there is one, else derived from `when`. */
export function cardKey(stored: string, when: string): string {
  return stored.trim() === '' ? sortKeyOf(when) : stored.trim();
}
