import { useCallback, useRef, useState, type MutableRefObject } from 'react';
import { AbortedError, submitWithRetry, type SubmitState } from '../submitQueue';

/** How one submission ended. `live`: the view is still mounted and no newer submission replaced it. */
export type SubmitOutcome = { kind: 'saved'; live: boolean } | { kind: 'stopped' } | { kind: 'failed'; error: unknown };

/** The submit state machine of the task view: one submission at a time (a new one aborts the old),
 *  retried with back-off by submitWithRetry, its state shown while the view is mounted. */
export function useSubmission(
  mounted: MutableRefObject<boolean>,
  retryDelays?: { baseDelayMs: number; maxDelayMs: number },
) {
  const [submitState, setSubmitState] = useState<SubmitState>({ kind: 'idle' });
  const abortRef = useRef<AbortController | null>(null);
  const delays = useRef(retryDelays);
  delays.current = retryDelays;

  const send = useCallback(
    async (request: () => Promise<unknown>): Promise<SubmitOutcome> => {
      abortRef.current?.abort();
      const ctrl = new AbortController();
      abortRef.current = ctrl;
      try {
        await submitWithRetry({
          send: request,
          onState: (s) => mounted.current && !ctrl.signal.aborted && setSubmitState(s),
          signal: ctrl.signal,
          ...delays.current,
        });
        return { kind: 'saved', live: mounted.current && !ctrl.signal.aborted };
      } catch (error) {
        if (error instanceof AbortedError || ctrl.signal.aborted || !mounted.current) return { kind: 'stopped' };
        return { kind: 'failed', error };
      }
    },
    [mounted],
  );

  const abort = useCallback(() => abortRef.current?.abort(), []);
  return { submitState, setSubmitState, send, abort };
}
