import { describe, expect, it, vi } from 'vitest';
import { ApiError, NetworkError } from './api';
import { AbortedError, backoffDelay, submitWithRetry, type SubmitState } from './submitQueue';

const noSleep = vi.fn(async () => {});

describe('backoffDelay', () => {
  it('doubles and caps, with bounded jitter', () => {
    const mid = () => 0.5; // jitter factor 1.0
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n, 1000, 30000, mid))).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000,
    ]);
    expect(backoffDelay(2, 1000, 30000, () => 0)).toBe(1600);
    expect(backoffDelay(2, 1000, 30000, () => 1)).toBe(2400);
    expect(backoffDelay(10, 1000, 30000, () => 1)).toBe(30000);
  });
});

describe('submitWithRetry', () => {
  it('retries network errors and 5xx with the same request until it succeeds', async () => {
    const keys: string[] = [];
    const results = [
      () => Promise.reject(new NetworkError()),
      () => Promise.reject(new ApiError(502, 'Bad gateway')),
      () => Promise.reject(new ApiError(503, 'Unavailable')),
      () => Promise.resolve({ id: 1 }),
    ];
    const send = vi.fn(() => {
      keys.push('key-1'); // the caller's closure always carries the same key and body
      return results.shift()!();
    });
    const states: SubmitState['kind'][] = [];
    const sleep = vi.fn(async () => {});
    const out = await submitWithRetry({ send, sleep, random: () => 0.5, onState: (s) => states.push(s.kind) });
    expect(out).toEqual({ id: 1 });
    expect(send).toHaveBeenCalledTimes(4);
    expect(sleep.mock.calls.map((c) => (c as unknown[])[0])).toEqual([1000, 2000, 4000]);
    expect(states).toEqual(['saving', 'retrying', 'saving', 'retrying', 'saving', 'retrying', 'saving', 'saved']);
  });

  it('does not retry a 4xx and reports it', async () => {
    const err = new ApiError(400, 'Explain the rating.', 'invalid', { semantic: ['required'] });
    const send = vi.fn(() => Promise.reject(err));
    const states: SubmitState[] = [];
    await expect(submitWithRetry({ send, sleep: noSleep, onState: (s) => states.push(s) })).rejects.toBe(err);
    expect(send).toHaveBeenCalledTimes(1);
    expect(states.at(-1)).toEqual({ kind: 'failed', error: err });
  });

  it('does not retry 409 (lease lost) or 401', async () => {
    for (const status of [409, 401, 403]) {
      const send = vi.fn(() => Promise.reject(new ApiError(status, 'x')));
      await expect(submitWithRetry({ send, sleep: noSleep })).rejects.toBeInstanceOf(ApiError);
      expect(send).toHaveBeenCalledTimes(1);
    }
  });

  it('stops when aborted (page left, signed out)', async () => {
    const ctrl = new AbortController();
    const send = vi.fn(() => Promise.reject(new NetworkError()));
    const sleep = vi.fn(async () => ctrl.abort());
    await expect(submitWithRetry({ send, sleep, signal: ctrl.signal })).rejects.toBeInstanceOf(AbortedError);
    expect(send).toHaveBeenCalledTimes(1);
  });

  it('works with real timers through the default sleep', async () => {
    let n = 0;
    const send = () => (++n < 3 ? Promise.reject(new NetworkError()) : Promise.resolve('ok'));
    await expect(submitWithRetry({ send, baseDelayMs: 1, maxDelayMs: 2 })).resolves.toBe('ok');
    expect(n).toBe(3);
  });
});
