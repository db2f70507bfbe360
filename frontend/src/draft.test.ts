import { describe, expect, it } from 'vitest';
import {
  clearDraft,
  draftKey,
  emptyDraft,
  hasWork,
  listDrafts,
  loadDraft,
  newIdempotencyKey,
  pruneDrafts,
  restoreDraft,
  saveDraft,
} from './draft';

describe('drafts', () => {
  it('round-trips through localStorage keyed by assignment id', () => {
    const d = emptyDraft(5, 1, ['semantic', 'motion']);
    d.ratings.semantic = { rating: 'Bad', rationale: 'wrong <b>count</b>' };
    expect(saveDraft(d)).toBe(true);
    expect(window.localStorage.getItem(draftKey(5))).toContain('wrong <b>count</b>');
    expect(loadDraft(5)?.ratings.semantic).toEqual({ rating: 'Bad', rationale: 'wrong <b>count</b>' });
    expect(loadDraft(6)).toBeNull();
    clearDraft(5);
    expect(loadDraft(5)).toBeNull();
  });

  it('ignores corrupt entries instead of crashing', () => {
    window.localStorage.setItem(draftKey(9), '{not json');
    expect(loadDraft(9)).toBeNull();
    window.localStorage.setItem(draftKey(9), JSON.stringify({ assignmentId: 10, ratings: {} }));
    expect(loadDraft(9)).toBeNull();
  });

  it('restores into the current schema and keeps the pending key', () => {
    const stored = emptyDraft(5, 1, ['semantic', 'old']);
    stored.ratings.semantic = { rating: 'Good', rationale: 'ok' };
    stored.pending = { key: 'k-1', body: { ratings: {}, time_spent_ms: 1 } };
    stored.timeSpentMs = 900;
    const merged = restoreDraft(stored, emptyDraft(5, 1, ['semantic', 'motion']));
    expect(Object.keys(merged.ratings)).toEqual(['semantic', 'motion']);
    expect(merged.ratings.semantic.rating).toBe('Good');
    expect(merged.ratings.motion).toEqual({ rating: null, rationale: '' });
    expect(merged.pending?.key).toBe('k-1');
    expect(merged.timeSpentMs).toBe(900);
  });

  it('knows when there is work to lose', () => {
    const d = emptyDraft(1, 1, ['a']);
    expect(hasWork(d)).toBe(false);
    d.ratings.a.rationale = '  ';
    expect(hasWork(d)).toBe(false);
    d.ratings.a.rating = 'Normal';
    expect(hasWork(d)).toBe(true);
  });

  it('reports a full storage instead of throwing', () => {
    const full = {
      getItem: () => null,
      setItem: () => {
        throw new DOMException('full', 'QuotaExceededError');
      },
      removeItem: () => {},
      key: () => null,
      length: 0,
    };
    expect(saveDraft(emptyDraft(1, 1, ['a']), full)).toBe(false);
  });

  it('prunes old drafts but never one with a pending submit', () => {
    const old = emptyDraft(1, 1, ['a']);
    const oldPending = { ...emptyDraft(2, 1, ['a']), pending: { key: 'k', body: { ratings: {}, time_spent_ms: 0 } } };
    window.localStorage.setItem(draftKey(1), JSON.stringify({ ...old, updatedAt: 0 }));
    window.localStorage.setItem(draftKey(2), JSON.stringify({ ...oldPending, updatedAt: 0 }));
    saveDraft(emptyDraft(3, 1, ['a']));
    pruneDrafts(window.localStorage, Date.now(), 1000);
    expect(listDrafts().map((d) => d.assignmentId).sort()).toEqual([2, 3]);
  });

  it('makes v4 uuids', () => {
    const k = newIdempotencyKey();
    expect(k).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(newIdempotencyKey()).not.toBe(k);
  });
});
