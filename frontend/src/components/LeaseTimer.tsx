import { useEffect, useRef, useState } from 'react';
import { serverNow } from '../api';
import { formatRemaining, remainingSeconds } from '../lease';

interface Props {
  expiresAt: number;
  onExpire: () => void;
  /** Clock source (tests). */
  now?: () => number;
}

export function LeaseTimer({ expiresAt, onExpire, now = serverNow }: Props) {
  const [left, setLeft] = useState(() => remainingSeconds(expiresAt, now()));
  const fired = useRef(false);
  const expireRef = useRef(onExpire);
  expireRef.current = onExpire;

  useEffect(() => {
    fired.current = false;
    const tick = () => {
      const s = remainingSeconds(expiresAt, now());
      setLeft(s);
      if (s <= 0 && !fired.current) {
        fired.current = true;
        expireRef.current();
      }
    };
    tick();
    const t = setInterval(tick, 1000);
    return () => clearInterval(t);
  }, [expiresAt, now]);

  const warn = left <= 60;
  return (
    <div className={`lease${warn ? ' is-warning' : ''}`} data-testid="lease-timer" data-seconds-left={left}>
      <span className="lease-label">Lease</span>{' '}
      <span role="timer" aria-label={`Time left on this task: ${formatRemaining(left)}`}>
        {formatRemaining(left)}
      </span>
      {/* Announced once, not every second. */}
      <span className="sr-only" aria-live="polite">
        {left > 0 && left <= 60 ? 'Less than a minute left on this task. Keep working to extend it.' : ''}
      </span>
    </div>
  );
}
