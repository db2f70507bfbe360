// Drafts of the task being rated, kept in localStorage per assignment so that a reload,
// a crash or a sign-out loses nothing. A submit in flight is stored with its idempotency
// key and frozen body, so that a retry after a reload repeats exactly the same request.

import type { SubmitBody } from './api';

export interface DraftRating {
  /** The chosen level; in a pairwise campaign the chosen side (left, tie or right). */
  rating: string | null;
  rationale: string;
}

export interface PendingSubmit {
  key: string;
  body: SubmitBody;
}

export interface Draft {
  assignmentId: number;
  campaignId: number;
  ratings: Record<string, DraftRating>;
  timeSpentMs: number;
  pending: PendingSubmit | null;
  updatedAt: number;
}

const PREFIX = 'lift.draft.';
const MAX_AGE_MS = 14 * 24 * 3600 * 1000;

type StorageLike = Pick<Storage, 'getItem' | 'setItem' | 'removeItem' | 'key' | 'length'>;

function defaultStorage(): StorageLike | null {
  try {
    return typeof window !== 'undefined' ? window.localStorage : null;
  } catch {
    return null; // storage disabled (privacy mode)
  }
}

export function draftKey(assignmentId: number): string {
  return `${PREFIX}${assignmentId}`;
}

export function emptyDraft(assignmentId: number, campaignId: number, dimensionKeys: string[]): Draft {
  const ratings: Record<string, DraftRating> = {};
  for (const k of dimensionKeys) ratings[k] = { rating: null, rationale: '' };
  return { assignmentId, campaignId, ratings, timeSpentMs: 0, pending: null, updatedAt: Date.now() };
}

function isDraft(x: unknown): x is Draft {
  if (!x || typeof x !== 'object') return false;
  const d = x as Draft;
  return typeof d.assignmentId === 'number' && !!d.ratings && typeof d.ratings === 'object';
}

export function loadDraft(assignmentId: number, storage: StorageLike | null = defaultStorage()): Draft | null {
  if (!storage) return null;
  let raw: string | null;
  try {
    raw = storage.getItem(draftKey(assignmentId));
  } catch {
    return null;
  }
  if (!raw) return null;
  try {
    const parsed: unknown = JSON.parse(raw);
    if (!isDraft(parsed) || parsed.assignmentId !== assignmentId) return null;
    return {
      ...parsed,
      timeSpentMs: Number(parsed.timeSpentMs) || 0,
      pending: parsed.pending && typeof parsed.pending.key === 'string' ? parsed.pending : null,
    };
  } catch {
    return null; // corrupt entry: start afresh rather than crash
  }
}

/** Merge a stored draft into a fresh one for the current schema (dimensions may have changed). */
export function restoreDraft(stored: Draft | null, fresh: Draft): Draft {
  if (!stored) return fresh;
  const ratings: Record<string, DraftRating> = {};
  for (const k of Object.keys(fresh.ratings)) {
    const s = stored.ratings[k];
    ratings[k] = {
      rating: s && typeof s.rating === 'string' ? s.rating : null,
      rationale: s && typeof s.rationale === 'string' ? s.rationale : '',
    };
  }
  return { ...fresh, ratings, timeSpentMs: stored.timeSpentMs, pending: stored.pending };
}

/** Save; returns false when storage is full or unavailable (the caller may warn). */
export function saveDraft(draft: Draft, storage: StorageLike | null = defaultStorage()): boolean {
  if (!storage) return false;
  try {
    storage.setItem(draftKey(draft.assignmentId), JSON.stringify({ ...draft, updatedAt: Date.now() }));
    return true;
  } catch {
    return false;
  }
}

export function clearDraft(assignmentId: number, storage: StorageLike | null = defaultStorage()): void {
  try {
    storage?.removeItem(draftKey(assignmentId));
  } catch {
    /* ignore */
  }
}

/** True when the draft holds anything the person typed or chose. */
export function hasWork(draft: Draft | null): boolean {
  if (!draft) return false;
  if (draft.pending) return true;
  return Object.values(draft.ratings).some((r) => r.rating !== null || r.rationale.trim() !== '');
}

/** Remove drafts older than maxAgeMs (never the ones with a submit still pending). */
export function pruneDrafts(storage: StorageLike | null = defaultStorage(), now = Date.now(), maxAgeMs = MAX_AGE_MS): void {
  if (!storage) return;
  const stale: string[] = [];
  try {
    for (let i = 0; i < storage.length; i++) {
      const k = storage.key(i);
      if (!k || !k.startsWith(PREFIX)) continue;
      try {
        const d = JSON.parse(storage.getItem(k) ?? 'null') as Draft | null;
        if (!d || (!d.pending && now - (d.updatedAt ?? 0) > maxAgeMs)) stale.push(k);
      } catch {
        stale.push(k);
      }
    }
    for (const k of stale) storage.removeItem(k);
  } catch {
    /* ignore */
  }
}

export function newIdempotencyKey(): string {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  // Fallback for non-secure contexts (plain http on a LAN host): RFC 4122 v4 from getRandomValues.
  const b = new Uint8Array(16);
  if (c && typeof c.getRandomValues === 'function') c.getRandomValues(b);
  else for (let i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** All stored drafts (for flushing submits left pending by an earlier session). */
export function listDrafts(storage: StorageLike | null = defaultStorage()): Draft[] {
  if (!storage) return [];
  const out: Draft[] = [];
  try {
    for (let i = 0; i < storage.length; i++) {
      const k = storage.key(i);
      if (!k || !k.startsWith(PREFIX)) continue;
      const d = loadDraft(Number(k.slice(PREFIX.length)), storage);
      if (d) out.push(d);
    }
  } catch {
    /* ignore */
  }
  return out;
}
