// Small shared pieces of the console: loading with optional polling, error text, progress bars, links.
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { ApiError, describeError, fieldMessages } from '../api';
import { linkClick } from '../router';

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  reload: () => void;
}

/** Loads with `fn` when `key` changes, and again every `pollMs` while `poll` says so (live progress). */
export function useLoad<T>(fn: () => Promise<T>, key: string, opts: { pollMs?: number; poll?: (d: T) => boolean } = {}): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  const fnRef = useRef(fn);
  fnRef.current = fn;
  const pollRef = useRef(opts.poll);
  pollRef.current = opts.poll;

  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = () =>
      fnRef.current().then(
        (d) => {
          if (!live) return;
          setData(d);
          setError(null);
          if (opts.pollMs && (pollRef.current ? pollRef.current(d) : true)) timer = setTimeout(run, opts.pollMs);
        },
        (err) => {
          if (!live || (err instanceof ApiError && err.isAuth)) return;
          setError(describeError(err));
          if (opts.pollMs) timer = setTimeout(run, opts.pollMs * 2);
        },
      );
    void run();
    return () => {
      live = false;
      if (timer) clearTimeout(timer);
    };
  }, [key, tick, opts.pollMs]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, reload };
}

/** A failed request as shown to the admin: the server's `detail`, and its per-field messages. */
export function ErrorText({ error, testId }: { error: unknown; testId?: string }) {
  if (!error) return null;
  const fields = error instanceof ApiError ? fieldMessages(error.fields) : {};
  return (
    <div className="field-error console-error" role="alert" data-testid={testId}>
      <p>{typeof error === 'string' ? error : describeError(error)}</p>
      {Object.keys(fields).length > 0 && (
        <ul>
          {Object.entries(fields).map(([k, v]) => (
            <li key={k}>
              <code>{k}</code>: {v}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function ProgressBar({ fraction, label, testId }: { fraction: number; label: string; testId?: string }) {
  const pct = Math.round(Math.max(0, Math.min(1, fraction)) * 100);
  return (
    <div
      className="progress"
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={pct}
      data-testid={testId}
    >
      <span style={{ width: `${pct}%` }} />
    </div>
  );
}

export function Link({ to, children, testId, className }: { to: string; children: ReactNode; testId?: string; className?: string }) {
  return (
    <a href={to} onClick={linkClick} data-testid={testId} className={className}>
      {children}
    </a>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return (
    <span className={`badge badge-${status}`} data-testid="job-status" data-status={status}>
      {status}
    </span>
  );
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function Loading({ error }: { error: string | null }) {
  return error ? (
    <p className="field-error" role="alert">
      {error}
    </p>
  ) : (
    <p className="muted" role="status">
      Loading…
    </p>
  );
}

export function CampaignName({ campaign: c }: { campaign: { id: number; name: string; is_active: boolean } }) {
  return (
    <>
      <Link to={`/console/campaigns/${c.id}`}>{c.name}</Link> {!c.is_active && <span className="muted">(paused)</span>}
    </>
  );
}
