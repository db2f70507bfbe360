// Typed client for the LiFT Studio JSON API (same origin, session auth + CSRF). The types are the API's
// own, generated from its OpenAPI schema into apiSchema.ts (`npm run api:types`); only what the schema
// leaves open (JSON fields) is given its shape here.
import type { components } from './apiSchema';

export type Schemas = components['schemas'];

/** A generated type whose JSON fields (`unknown` in the schema) get the shape the app relies on; a field
 *  that is not in the generated type is a type error, so a rename on the server shows up here. */
export type Refine<T, R extends { [K in keyof R]: K extends keyof T ? unknown : never }> = Omit<T, keyof R> & R;

export type Role = 'annotator' | 'reviewer' | 'admin' | string;
export type User = Schemas['UserOutput'];

// A campaign's rating schema: JSON the server checks (annotation/schema.py), shaped like this.
export interface Level {
  value: string;
  criteria: string;
}

export interface Dimension {
  key: string;
  label: string;
  question: string;
  levels: Level[];
}

export interface Schema {
  dimensions: Dimension[];
}

export type RationalePolicy = Schemas['RationalePolicyEnum'];
export type Progress = Schemas['ProgressOutput'];
export type Campaign = Refine<Schemas['CampaignOutput'], { schema: Schema }>;
export type Video = Schemas['VideoOutput'];
export type Assignment = Schemas['AssignmentOutput'];

export interface DimensionRating {
  rating: string;
  rationale: string;
}

/** A side of a pair as the annotator saw it; the server stores it as A or B of the pair (its shown order). */
export type PairSide = 'left' | 'tie' | 'right';

export interface DimensionChoice {
  choice: PairSide;
  rationale: string;
}

// What is rated or compared (kept in the draft and sent again on a retry): `ratings` in a rating campaign,
// `choices` in a pairwise one; `next` is how it is sent, set by submitAndNext.
export type SubmitBody = Omit<
  Refine<
    Schemas['SubmitApiInputRequest'],
    { ratings?: Record<string, DimensionRating>; choices?: Record<string, DimensionChoice> }
  >,
  'next'
>;
export type Annotation = Refine<Schemas['AnnotationOutput'], { ratings: Record<string, DimensionRating> }>;
/** A submit that also leased the next task (?next=1). `unknown`: the server answered a plain annotation
 *  (one that does not know the option), so the caller asks next-task itself. */
export type SubmitWithNext = Omit<Refine<Schemas['SubmitWithNextOutput'], { annotation: Annotation }>, 'next_state'> & {
  next_state: Schemas['NextStateEnum'] | 'unknown';
};

/** An HTTP error answer from the API, carrying the body's detail/code/fields. */
export class ApiError extends Error {
  readonly status: number;
  readonly detail: string;
  readonly code: string;
  readonly fields: Record<string, unknown>;

  constructor(status: number, detail: string, code = '', fields: Record<string, unknown> = {}) {
    super(detail);
    this.name = 'ApiError';
    this.status = status;
    this.detail = detail;
    this.code = code;
    this.fields = fields;
  }

  /** Signed out: 401, or DRF's 403 for session requests without credentials. A 403 with any
   *  other code (permission_denied, csrf_failed) is a refusal for a signed-in user, not a sign-out. */
  get isAuth(): boolean {
    return this.status === 401 || (this.status === 403 && this.code === 'not_authenticated');
  }

  get isServer(): boolean {
    return this.status >= 500;
  }
}

/** The request never got an HTTP answer (offline, DNS, connection reset, aborted). */
export class NetworkError extends Error {
  constructor(message = 'The server could not be reached.') {
    super(message);
    this.name = 'NetworkError';
  }
}

/** True when repeating the same request later may succeed (network failure or 5xx). */
export function isRetryable(err: unknown): boolean {
  return err instanceof NetworkError || (err instanceof ApiError && err.isServer);
}

/** A message for a person, from any error. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) return err.detail;
  if (err instanceof NetworkError) return 'The server could not be reached. Check your connection.';
  return 'Something went wrong.';
}

/** Per-field messages from ApiError.fields, flattened to strings (nested dicts get "a.b" keys). */
export function fieldMessages(fields: Record<string, unknown>, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(fields ?? {})) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'string') out[key] = v;
    else if (Array.isArray(v)) out[key] = v.map(String).join(' ');
    else if (v && typeof v === 'object') Object.assign(out, fieldMessages(v as Record<string, unknown>, key));
  }
  return out;
}

type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

let fetchImpl: FetchLike = (input, init) => fetch(input, init);
let unauthorizedHandler: ((err: ApiError) => void) | null = null;
let clockOffsetMs = 0;

/** Replace fetch (tests). */
export function setFetch(f: FetchLike): void {
  fetchImpl = f;
}

/** Called when signed out (401, or 403 not_authenticated) except from login/me (those are handled by their callers). */
export function setUnauthorizedHandler(fn: ((err: ApiError) => void) | null): void {
  unauthorizedHandler = fn;
}

/** Client time corrected by the server's Date header (lease countdowns use this). */
export function serverNow(): number {
  return Date.now() + clockOffsetMs;
}

export function getCookie(name: string): string | null {
  if (typeof document === 'undefined') return null;
  for (const part of document.cookie.split(';')) {
    const [k, ...rest] = part.trim().split('=');
    if (k === name) return decodeURIComponent(rest.join('='));
  }
  return null;
}

async function ensureCsrf(force = false): Promise<string> {
  let token = getCookie('csrftoken');
  if (!token || force) {
    await rawRequest('GET', '/api/auth/csrf/');
    token = getCookie('csrftoken');
  }
  return token ?? '';
}

function noteServerClock(res: Response): void {
  const date = res.headers?.get?.('Date');
  if (!date) return;
  const server = Date.parse(date);
  if (Number.isNaN(server)) return;
  const offset = server - Date.now();
  // The header has 1 s resolution: only correct real skew.
  clockOffsetMs = Math.abs(offset) > 2000 ? offset : 0;
}

async function parseError(res: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const detail =
    typeof b.detail === 'string' && b.detail
      ? b.detail
      : res.status >= 500
        ? `The server had a problem (HTTP ${res.status}).`
        : `The request was refused (HTTP ${res.status}).`;
  const code = typeof b.code === 'string' ? b.code : '';
  const fields = b.fields && typeof b.fields === 'object' ? (b.fields as Record<string, unknown>) : {};
  return new ApiError(res.status, detail, code, fields);
}

async function rawRequest(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  const init: RequestInit = {
    method,
    credentials: 'same-origin',
    headers: { Accept: 'application/json', ...headers },
  };
  if (body !== undefined) {
    (init.headers as Record<string, string>)['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res: Response;
  try {
    res = await fetchImpl(path, init);
  } catch (e) {
    throw new NetworkError(e instanceof Error && e.message ? `Network error: ${e.message}` : undefined);
  }
  noteServerClock(res);
  return res;
}

interface RequestOptions {
  headers?: Record<string, string>;
  /** Do not call the global 401/403 handler (login, me). */
  quietAuth?: boolean;
}

/** Same-origin JSON request with CSRF, typed errors and the signed-out hook (the console's calls use it too). */
export async function request<T>(method: string, path: string, body?: unknown, opts: RequestOptions = {}): Promise<{ status: number; data: T | null }> {
  const headers = { ...(opts.headers ?? {}) };
  const unsafe = method !== 'GET' && method !== 'HEAD';
  if (unsafe) headers['X-CSRFToken'] = await ensureCsrf();
  let res = await rawRequest(method, path, body, headers);
  if (unsafe && res.status === 403) {
    // A stale or missing CSRF cookie: refresh it once and repeat.
    const err = await parseError(res.clone());
    if (/csrf/i.test(err.detail) || /csrf/i.test(err.code)) {
      headers['X-CSRFToken'] = await ensureCsrf(true);
      res = await rawRequest(method, path, body, headers);
    }
  }
  if (!res.ok) {
    const err = await parseError(res);
    if (err.isAuth && !opts.quietAuth) unauthorizedHandler?.(err);
    throw err;
  }
  if (res.status === 204) return { status: 204, data: null };
  const text = await res.text();
  return { status: res.status, data: text ? (JSON.parse(text) as T) : null };
}

export const api = {
  async me(): Promise<User | null> {
    try {
      return (await request<User>('GET', '/api/auth/me/', undefined, { quietAuth: true })).data;
    } catch (e) {
      if (e instanceof ApiError && e.isAuth) return null;
      throw e;
    }
  },
  async login(username: string, password: string): Promise<User> {
    const { data } = await request<User>('POST', '/api/auth/login/', { username, password }, { quietAuth: true });
    return data as User;
  },
  async logout(): Promise<void> {
    await request('POST', '/api/auth/logout/', undefined, { quietAuth: true });
  },
  async campaigns(): Promise<Campaign[]> {
    return (await request<Campaign[]>('GET', '/api/campaigns/')).data ?? [];
  },
  async campaign(id: number | string): Promise<Campaign> {
    return (await request<Campaign>('GET', `/api/campaigns/${id}/`)).data as Campaign;
  },
  /** The caller's current or next assignment; null when nothing is left (204). */
  async nextTask(campaignId: number | string): Promise<Assignment | null> {
    return (await request<Assignment>('POST', `/api/campaigns/${campaignId}/next-task/`)).data;
  },
  async submit(assignmentId: number, body: SubmitBody, idempotencyKey: string): Promise<Annotation> {
    const { data } = await request<Annotation>('POST', `/api/assignments/${assignmentId}/submit/`, body, {
      headers: { 'Idempotency-Key': idempotencyKey },
    });
    return data as Annotation;
  },
  /** Submit and lease the next task in one round trip. A retry with the same key answers the same
   *  annotation and the same next lease. */
  async submitAndNext(assignmentId: number, body: SubmitBody, idempotencyKey: string): Promise<SubmitWithNext> {
    // The option in the body: the URL stays the submit URL (proxies, logs and network rules see one URL).
    const { data } = await request<SubmitWithNext | Annotation>(
      'POST', `/api/assignments/${assignmentId}/submit/`, { ...body, next: true }, { headers: { 'Idempotency-Key': idempotencyKey } },
    );
    if (data && 'annotation' in data) return data;
    return { annotation: data as Annotation, next: null, next_state: 'unknown' };
  },
  async skip(assignmentId: number, reason: string): Promise<void> {
    await request('POST', `/api/assignments/${assignmentId}/skip/`, { reason });
  },
  async extend(assignmentId: number): Promise<Schemas['ExtendApiOutput']> {
    return (await request<Schemas['ExtendApiOutput']>('POST', `/api/assignments/${assignmentId}/extend/`))
      .data as Schemas['ExtendApiOutput'];
  },
};
