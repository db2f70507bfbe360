import { lazy, Suspense, useCallback, useEffect, useState } from 'react';
import { api, setUnauthorizedHandler, type User } from './api';
import { CampaignList } from './components/CampaignList';
import { Login } from './components/Login';
import { TaskView } from './components/TaskView';
import { pruneDrafts } from './draft';
import { currentPath, linkClick, matchRoute, navigate, useLocation } from './router';

// The admin console is its own chunk, fetched only when an admin opens it: annotators never download it.
const ConsoleApp = lazy(() => import('./console/ConsoleApp'));

type Auth = { kind: 'unknown' } | { kind: 'signedIn'; user: User } | { kind: 'signedOut'; expired: boolean };

export function App() {
  const location = useLocation();
  const route = matchRoute(location.pathname, location.search);
  const [auth, setAuth] = useState<Auth>({ kind: 'unknown' });
  const [bootError, setBootError] = useState<string | null>(null);

  const goToLogin = useCallback((expired: boolean) => {
    setAuth({ kind: 'signedOut', expired });
    const here = currentPath();
    if (!here.startsWith('/login')) navigate(`/login?next=${encodeURIComponent(here)}`, { replace: true });
  }, []);

  useEffect(() => {
    pruneDrafts();
    // A 401 (or 403 not_authenticated) from the API: the session ended. Drafts stay in localStorage.
    setUnauthorizedHandler(() => goToLogin(true));
    api.me().then(
      (user) => (user ? setAuth({ kind: 'signedIn', user }) : goToLogin(false)),
      () => setBootError('The server could not be reached. Check your connection and reload the page.'),
    );
    return () => setUnauthorizedHandler(null);
  }, [goToLogin]);

  useEffect(() => {
    if (auth.kind === 'signedOut' && route.name !== 'login') goToLogin(auth.expired);
    if (auth.kind === 'signedIn' && route.name === 'login') navigate(route.next ?? '/', { replace: true });
  }, [auth, route, goToLogin]);

  if (bootError)
    return (
      <div className="page-message card" role="alert" data-testid="boot-error">
        <h1>LiFT Studio is not reachable</h1>
        <p>{bootError}</p>
        <button type="button" className="primary" onClick={() => window.location.reload()}>
          Reload
        </button>
      </div>
    );
  if (auth.kind === 'unknown')
    return (
      <p className="page-message" role="status">
        Loading…
      </p>
    );

  if (auth.kind === 'signedOut' || route.name === 'login')
    return (
      <Login
        notice={
          auth.kind === 'signedOut' && auth.expired
            ? 'Your session ended. Sign in again to continue — your unsaved ratings are kept on this device.'
            : null
        }
        onSignedIn={(user) => {
          setAuth({ kind: 'signedIn', user });
          navigate(route.name === 'login' && route.next ? route.next : '/', { replace: true });
        }}
      />
    );

  const user = auth.user;
  const isAdmin = user.roles.includes('admin');
  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="app-header">
        <a href="/" onClick={linkClick} className="brand">
          LiFT Studio
        </a>
        {isAdmin && (
          <a href="/console" onClick={linkClick} data-testid="console-link">
            Console
          </a>
        )}
        <span className="spacer" />
        <span className="muted" data-testid="current-user">
          {user.username}
        </span>
        <button
          type="button"
          data-testid="logout"
          onClick={async () => {
            try {
              await api.logout();
            } finally {
              setAuth({ kind: 'signedOut', expired: false });
              navigate('/login', { replace: true });
            }
          }}
        >
          Sign out
        </button>
      </header>
      <div id="main" className="app-main">
        {route.name === 'campaigns' && <CampaignList />}
        {route.name === 'work' && <TaskView key={route.campaignId} campaignId={route.campaignId} />}
        {route.name === 'console' &&
          (isAdmin ? (
            <Suspense
              fallback={
                <p className="page-message" role="status">
                  Loading the console…
                </p>
              }
            >
              <ConsoleApp path={route.path} />
            </Suspense>
          ) : (
            <div className="page-message card" role="alert" data-testid="console-forbidden">
              <h1>Admins only</h1>
              <p>The console is for admins. Ask an admin if you need access.</p>
              <a href="/" onClick={linkClick} className="button primary">
                Go to your campaigns
              </a>
            </div>
          ))}
        {route.name === 'notFound' && (
          <div className="page-message card" data-testid="not-found">
            <h1>Page not found</h1>
            <a href="/" onClick={linkClick} className="button primary">
              Go to your campaigns
            </a>
          </div>
        )}
      </div>
    </div>
  );
}
