// A tiny History API router: the SPA lives at / (Django serves index.html for these paths).
import { useEffect, useState } from 'react';

export type Route =
  | { name: 'login'; next: string | null }
  | { name: 'campaigns' }
  | { name: 'work'; campaignId: number }
  // The admin console routes inside its own (lazily loaded) chunk: `path` is what follows /console.
  | { name: 'console'; path: string }
  | { name: 'notFound' };

export function matchRoute(pathname: string, search = ''): Route {
  const path = pathname.replace(/\/+$/, '') || '/';
  if (path === '/') return { name: 'campaigns' };
  if (path === '/login') {
    const next = new URLSearchParams(search).get('next');
    // Only same-site paths: never redirect to another origin after sign-in.
    return { name: 'login', next: next && next.startsWith('/') && !next.startsWith('//') ? next : null };
  }
  if (path === '/console' || path.startsWith('/console/')) return { name: 'console', path: path.slice(8) || '/' };
  const m = /^\/campaigns\/(\d+)\/work$/.exec(path);
  if (m) return { name: 'work', campaignId: Number(m[1]) };
  return { name: 'notFound' };
}

const listeners = new Set<() => void>();

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (to === window.location.pathname + window.location.search) return;
  if (opts.replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  listeners.forEach((l) => l());
}

export function currentPath(): string {
  return window.location.pathname + window.location.search;
}

export function useLocation(): { pathname: string; search: string } {
  const [, setTick] = useState(0);
  useEffect(() => {
    const update = () => setTick((t) => t + 1);
    listeners.add(update);
    window.addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      window.removeEventListener('popstate', update);
    };
  }, []);
  return { pathname: window.location.pathname, search: window.location.search };
}

/** onClick for <a href> that keeps navigation inside the SPA (modifier clicks open new tabs). */
export function linkClick(e: React.MouseEvent<HTMLAnchorElement>): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(e.currentTarget.getAttribute('href') ?? '/');
}
