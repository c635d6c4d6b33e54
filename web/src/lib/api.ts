//! REST client for the server's JSON API (see docs/http-api contract): typed requests and errors.

import { solve } from './pow';
import type { BoardKind, BoardTemplateId } from './model/schema.gen';
import type {
  BoardSpec,
  BoardSummary,
  Created,
  HeldCount,
  HeldDone,
  HeldEntry,
  HeldList,
  HeldRef,
  HeldRequest,
  Joined,
  Links as LinksAnswer,
  Order,
  Role,
  Secrets,
  Shown,
  WorkshopParams,
} from './api.gen';

// The request and answer shapes are generated from the server's serde types (api.gen.ts);
// these names are the ones the screens use.
export type { BoardKind, Created, HeldEntry, HeldList, HeldRef, Role };
export type BoardRef = BoardSummary;
/** One page link (or secret) per role. */
export type Links = Secrets;
/** `GET …/links` and `POST …/rotate`: the secrets, the links carrying them, the join code. */
export type Rotated = LinksAnswer;
/**
 * `GET /api/workshops/{wid}`. The server never sends links here (the facilitator asks for them
 * with `links()`); `never` keeps a screen from relying on them.
 */
export type WorkshopInfo = Shown & { links?: never };

export type ExportFormat = 'md' | 'html' | 'csv' | 'json';

/** A failed call: the HTTP status (0 when the network failed) and the server's message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** What the server needs to say yes: `createToken` for a server that gates creation. */
    readonly need: string | null = null,
    /** The proof of work a join-code lookup must carry (see pow.ts). */
    readonly pow: { challenge: string; bits: number } | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The error a failed response carries. */
async function errorOf(response: Response): Promise<ApiError> {
  let message = response.statusText;
  let need: string | null = null;
  let pow: { challenge: string; bits: number } | null = null;
  try {
    const parsed = (await response.json()) as { error?: unknown; need?: unknown; pow?: unknown };
    if (typeof parsed === 'object' && parsed !== null) {
      if ('error' in parsed) message = String(parsed.error);
      if (typeof parsed.need === 'string') need = parsed.need;
      const p = parsed.pow as { challenge?: unknown; bits?: unknown } | undefined;
      if (p && typeof p.challenge === 'string' && typeof p.bits === 'number') pow = { challenge: p.challenge, bits: p.bits };
    }
  } catch {
    // Not JSON: keep the status text.
  }
  return new ApiError(response.status, message, need, pow);
}

async function call<T>(method: string, path: string, token: string | null, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch (err) {
    throw new ApiError(0, err instanceof Error ? err.message : String(err));
  }
  if (!response.ok) throw await errorOf(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

const enc = encodeURIComponent;

export const api = {
  /** `createToken`: for servers started with `--create-token` (the error's `need` says so). */
  createWorkshop(template: WorkshopParams['template'], title: string, date: string, createToken: string | null = null): Promise<Created> {
    const body: WorkshopParams = { template, title, date };
    return call('POST', '/api/workshops', createToken, body);
  },
  workshop(wid: string, token: string): Promise<WorkshopInfo> {
    return call('GET', `/api/workshops/${enc(wid)}`, token);
  },
  addBoard(wid: string, token: string, kind: BoardKind, title: string, template: BoardTemplateId): Promise<BoardRef> {
    const body: BoardSpec = { kind, title, template };
    return call('POST', `/api/workshops/${enc(wid)}/boards`, token, body);
  },
  reorderBoards(wid: string, token: string, order: string[]): Promise<void> {
    const body: Order = { order };
    return call('PUT', `/api/workshops/${enc(wid)}/boards/order`, token, body);
  },
  deleteBoard(wid: string, token: string, bid: string): Promise<void> {
    return call('DELETE', `/api/workshops/${enc(wid)}/boards/${enc(bid)}`, token);
  },
  /** The facilitator's view of the links to hand out (`GET /api/workshops/{wid}/links`). */
  links(wid: string, token: string): Promise<Rotated> {
    return call('GET', `/api/workshops/${enc(wid)}/links`, token);
  },
  rotate(wid: string, token: string): Promise<Rotated> {
    return call('POST', `/api/workshops/${enc(wid)}/rotate`, token);
  },
  /** A new facilitator secret; every screen opened with the old one is closed. */
  rotateFacilitator(wid: string, token: string): Promise<Rotated> {
    return call('POST', `/api/workshops/${enc(wid)}/rotate-facilitator`, token);
  },
  /** The notes held back on a board (facilitator): texts, never shown to anyone else. */
  held(wid: string, token: string, bid: string): Promise<HeldList> {
    return call('GET', `/api/workshops/${enc(wid)}/boards/${enc(bid)}/held`, token);
  },
  /** How many notes are held back on a board (every role: a count, no text). */
  heldCount(wid: string, token: string, bid: string): Promise<HeldCount> {
    return call('GET', `/api/workshops/${enc(wid)}/boards/${enc(bid)}/held/count`, token);
  },
  /** Reveals the named held notes, or all of them, as new notes written by the server. */
  reveal(wid: string, token: string, bid: string, notes: HeldRef[] | 'all'): Promise<HeldDone> {
    const body: HeldRequest = notes === 'all' ? { all: true } : { notes };
    return call('POST', `/api/workshops/${enc(wid)}/boards/${enc(bid)}/held/reveal`, token, body);
  },
  /** Discards held notes: they leave their writer's phone and never reach anyone else. */
  discard(wid: string, token: string, bid: string, notes: HeldRef[]): Promise<HeldDone> {
    const body: HeldRequest = { notes };
    return call('POST', `/api/workshops/${enc(wid)}/boards/${enc(bid)}/held/discard`, token, body);
  },
  /** Resolves a join code; when its network made too many wrong guesses, proves work first. */
  async join(typed: string): Promise<Joined> {
    const code = typed.replace(/[\s-]/g, '').toUpperCase();
    let pow = '';
    for (let attempt = 0; ; attempt++) {
      try {
        return await call('GET', `/api/join/${enc(code)}${pow ? `?pow=${enc(pow)}` : ''}`, null);
      } catch (err) {
        if (!(err instanceof ApiError) || err.pow === null || attempt >= 3) throw err;
        pow = await solve(err.pow.challenge, code, err.pow.bits);
      }
    }
  },
  /**
   * Fetches an export with the secret in the Authorization header (never in a URL a proxy
   * logs), then opens the printable page in a new tab or saves the other formats.
   */
  async downloadExport(wid: string, token: string, format: ExportFormat): Promise<void> {
    // Opened now, inside the click, so that pop-up blockers allow it; filled once fetched.
    const tab = format === 'html' ? window.open('', '_blank') : null;
    let response: Response;
    try {
      response = await fetch(`/api/workshops/${enc(wid)}/export.${format}`, {
        headers: { Authorization: `Bearer ${token}` },
        cache: 'no-store',
      });
    } catch (err) {
      tab?.close();
      throw new ApiError(0, err instanceof Error ? err.message : String(err));
    }
    if (!response.ok) {
      tab?.close();
      throw await errorOf(response);
    }
    const url = URL.createObjectURL(await response.blob());
    if (tab) {
      tab.location.href = url;
    } else {
      const a = document.createElement('a');
      a.href = url;
      a.download = `palabre-${wid}.${format}`;
      document.body.append(a);
      a.click();
      a.remove();
    }
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  },
};
