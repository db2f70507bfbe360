// Lease bookkeeping: when to call /extend/ (heartbeat while the person is active) and how
// much time is left. Pure functions; the component owns the timers.

/** The person counts as active when a key or the mouse moved within this window. */
export const ACTIVITY_WINDOW_MS = 60_000;

/** Seconds between heartbeats: a third of the lease, between 15 s and 60 s. */
export function heartbeatIntervalMs(leaseSeconds: number): number {
  return Math.min(60_000, Math.max(15_000, (leaseSeconds * 1000) / 3));
}

export interface LeaseClock {
  now: number;
  expiresAt: number;
  lastActivityAt: number;
  lastExtendAt: number;
  leaseSeconds: number;
}

export function shouldExtend(c: LeaseClock): boolean {
  if (c.now >= c.expiresAt) return false; // too late: the server answers 409
  if (c.now - c.lastActivityAt > ACTIVITY_WINDOW_MS) return false;
  return c.now - c.lastExtendAt >= heartbeatIntervalMs(c.leaseSeconds);
}

export function remainingSeconds(expiresAt: number, now: number): number {
  return Math.max(0, Math.ceil((expiresAt - now) / 1000));
}

export function formatRemaining(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const m = Math.floor(s / 60);
  const h = Math.floor(m / 60);
  const mm = h ? String(m % 60).padStart(2, '0') : String(m);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}
