//! REST client for the server's JSON API (see docs/http-api contract): typed requests and errors.

import type { BoardKind, BoardTemplateId } from './model/schema.gen';
import type {
  BoardSpec,
  BoardSummary,
  Created,
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
export type { BoardKind, Created, Role };
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
  ) {
    super(message);
    this.name = 'ApiError';
  }
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
  if (!response.ok) {
    let message = response.statusText;
    try {
      const parsed: unknown = await response.json();
      if (typeof parsed === 'object' && parsed !== null && 'error' in parsed) {
        message = String((parsed as { error: unknown }).error);
      }
    } catch {
      // Not JSON: keep the status text.
    }
    throw new ApiError(response.status, message);
  }
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

const enc = encodeURIComponent;

export const api = {
  createWorkshop(template: WorkshopParams['template'], title: string, date: string): Promise<Created> {
    const body: WorkshopParams = { template, title, date };
    return call('POST', '/api/workshops', null, body);
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
  join(code: string): Promise<Joined> {
    return call('GET', `/api/join/${enc(code)}`, null);
  },
  /** A plain link (token in the query, as the contract allows for downloads). */
  exportUrl(wid: string, token: string, format: ExportFormat): string {
    return `/api/workshops/${enc(wid)}/export.${format}?token=${enc(token)}`;
  },
};
