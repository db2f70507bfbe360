import { useCallback, useEffect, useRef, type MutableRefObject } from 'react';
import { api, ApiError, serverNow, type Assignment } from '../api';
import { shouldExtend } from '../lease';

interface Options {
  /** A task is on screen (the heartbeat and the time-spent clock run only then). */
  active: boolean;
  assignment: Assignment | null;
  expiresAt: number;
  expired: boolean;
  mounted: MutableRefObject<boolean>;
  onExtended: (expiresAt: number) => void;
  /** The lease went to someone else (409 on /extend/). */
  onLost: (message: string) => void;
}

/** Time spent on the task, recent activity, and the lease heartbeat: `/extend/` while the person is active
 *  (the rule is in lease.ts). Network errors and 5xx are tried again at the next beat. */
export function useLeaseHeartbeat({ active, assignment, expiresAt, expired, mounted, onExtended, onLost }: Options) {
  const timeSpent = useRef(0);
  const lastActivity = useRef(Date.now());
  const lastExtend = useRef(Date.now());
  const callbacks = useRef({ onExtended, onLost });
  callbacks.current = { onExtended, onLost };

  useEffect(() => {
    const mark = () => {
      lastActivity.current = Date.now();
    };
    const events = ['keydown', 'pointerdown', 'mousemove', 'wheel', 'input', 'touchstart'] as const;
    events.forEach((e) => window.addEventListener(e, mark, { passive: true, capture: true }));
    return () => events.forEach((e) => window.removeEventListener(e, mark, { capture: true }));
  }, []);

  useEffect(() => {
    if (!active || !assignment) return;
    let inFlight = false;
    const t = setInterval(() => {
      if (typeof document === 'undefined' || document.visibilityState === 'visible') timeSpent.current += 1000;
      if (inFlight || expired) return;
      const now = Date.now();
      const clock = {
        now: serverNow(),
        expiresAt,
        lastActivityAt: lastActivity.current + (serverNow() - now),
        lastExtendAt: lastExtend.current + (serverNow() - now),
        leaseSeconds: assignment.lease_seconds,
      };
      if (!shouldExtend(clock)) return;
      inFlight = true;
      lastExtend.current = now;
      api.extend(assignment.id).then(
        (r) => {
          inFlight = false;
          if (mounted.current && r?.expires_at) callbacks.current.onExtended(Date.parse(r.expires_at));
        },
        (err) => {
          inFlight = false;
          if (!mounted.current) return;
          if (err instanceof ApiError && err.status === 409) callbacks.current.onLost(err.detail);
          // network/5xx: try again at the next heartbeat
        },
      );
    }, 1000);
    return () => clearInterval(t);
  }, [active, assignment, expiresAt, expired, mounted]);

  /** A new task: its clock starts from what its draft had spent, and the heartbeat from now. */
  const restart = useCallback((timeSpentMs: number) => {
    timeSpent.current = timeSpentMs;
    lastExtend.current = Date.now();
    lastActivity.current = Date.now();
  }, []);

  return { timeSpent, restart };
}
