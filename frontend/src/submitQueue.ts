// Submit with retry: the same idempotency key and the same body are sent again, with
// exponential back-off, until the server answers. Only failures that may pass on their own
// (network errors, 5xx) are retried; a 4xx is final and goes back to the caller.
// Pure: the request, the clock and the randomness are injected.

import { isRetryable } from './api';

export type SubmitState =
  | { kind: 'idle' }
  | { kind: 'saving'; attempt: number }
  | { kind: 'retrying'; attempt: number; delayMs: number; error: unknown }
  | { kind: 'saved' }
  | { kind: 'failed'; error: unknown };

export interface RetryOptions<T> {
  /** Sends the request; must reuse the same key and body on every call. */
  send: () => Promise<T>;
  onState?: (s: SubmitState) => void;
  /** Waits ms; resolves early when woken (e.g. the browser came back online). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  signal?: AbortSignal;
  isRetryable?: (err: unknown) => boolean;
}

export class AbortedError extends Error {
  constructor() {
    super('aborted');
    this.name = 'AbortedError';
  }
}

/** Delay before retry number `attempt` (1-based): base·2^(n-1), capped, with ±20 % jitter. */
export function backoffDelay(attempt: number, baseMs = 1000, maxMs = 30000, random: () => number = Math.random): number {
  const raw = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  const jitter = 0.8 + 0.4 * random();
  return Math.round(Math.min(maxMs, raw * jitter));
}

export function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      if (typeof window !== 'undefined') window.removeEventListener('online', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done);
    // Coming back online is a good moment to try again at once.
    if (typeof window !== 'undefined') window.addEventListener('online', done);
  });
}

export async function submitWithRetry<T>(opts: RetryOptions<T>): Promise<T> {
  const {
    send,
    onState = () => {},
    sleep = defaultSleep,
    random = Math.random,
    baseDelayMs = 1000,
    maxDelayMs = 30000,
    signal,
    isRetryable: retryable = isRetryable,
  } = opts;
  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) throw new AbortedError();
    onState({ kind: 'saving', attempt });
    try {
      const result = await send();
      onState({ kind: 'saved' });
      return result;
    } catch (err) {
      if (signal?.aborted) throw new AbortedError();
      if (!retryable(err)) {
        onState({ kind: 'failed', error: err });
        throw err;
      }
      const delayMs = backoffDelay(attempt, baseDelayMs, maxDelayMs, random);
      onState({ kind: 'retrying', attempt, delayMs, error: err });
      await sleep(delayMs, signal);
    }
  }
}
