// The admin console (lazily loaded chunk): overview, jobs, models, snapshots, campaigns.
import './console.css';
import { CampaignDetail } from './CampaignDetail';
import { CampaignsPage } from './CampaignsPage';
import { JobDetail } from './JobDetail';
import { JobsPage } from './JobsPage';
import { ModelsPage } from './ModelsPage';
import { RetrainPage } from './RetrainPage';
import { Overview } from './Overview';
import { SnapshotsPage } from './SnapshotsPage';
import { Link } from './ui';

export type ConsoleRoute =
  | { page: 'overview' }
  | { page: 'jobs'; kind: string | null; status: string | null; launch: string | null }
  | { page: 'job'; id: number }
  | { page: 'models' }
  | { page: 'retrain' }
  | { page: 'snapshots' }
  | { page: 'campaigns' }
  | { page: 'campaign'; id: number }
  | { page: 'notFound' };

/** `path` is what follows /console; `search` its query string. */
export function matchConsoleRoute(path: string, search = ''): ConsoleRoute {
  const p = path.replace(/\/+$/, '') || '/';
  const q = new URLSearchParams(search);
  if (p === '/') return { page: 'overview' };
  if (p === '/jobs') return { page: 'jobs', kind: q.get('kind'), status: q.get('status'), launch: q.get('launch') };
  let m = /^\/jobs\/(\d+)$/.exec(p);
  if (m) return { page: 'job', id: Number(m[1]) };
  if (p === '/models') return { page: 'models' };
  if (p === '/retrain') return { page: 'retrain' };
  if (p === '/snapshots') return { page: 'snapshots' };
  if (p === '/campaigns') return { page: 'campaigns' };
  m = /^\/campaigns\/(\d+)$/.exec(p);
  if (m) return { page: 'campaign', id: Number(m[1]) };
  return { page: 'notFound' };
}

const TABS: { page: ConsoleRoute['page']; to: string; label: string }[] = [
  { page: 'overview', to: '/console', label: 'Overview' },
  { page: 'jobs', to: '/console/jobs', label: 'Jobs' },
  { page: 'retrain', to: '/console/retrain', label: 'Retrain loop' },
  { page: 'models', to: '/console/models', label: 'Models' },
  { page: 'snapshots', to: '/console/snapshots', label: 'Snapshots' },
  { page: 'campaigns', to: '/console/campaigns', label: 'Campaigns' },
];

const PARENT: Partial<Record<ConsoleRoute['page'], ConsoleRoute['page']>> = { job: 'jobs', campaign: 'campaigns' };

export default function ConsoleApp({ path }: { path: string }) {
  const route = matchConsoleRoute(path, window.location.search);
  const current = PARENT[route.page] ?? route.page;
  return (
    <div className="console" data-testid="console">
      <nav className="console-nav" aria-label="Console">
        {TABS.map((t) => (
          <Link key={t.page} to={t.to} testId={`console-tab-${t.page}`} className={t.page === current ? 'is-current' : ''}>
            {t.label}
          </Link>
        ))}
      </nav>
      <div className="console-page">
        {route.page === 'overview' && <Overview />}
        {route.page === 'jobs' && <JobsPage kind={route.kind} status={route.status} launch={route.launch} />}
        {route.page === 'job' && <JobDetail key={route.id} id={route.id} />}
        {route.page === 'models' && <ModelsPage />}
        {route.page === 'retrain' && <RetrainPage />}
        {route.page === 'snapshots' && <SnapshotsPage />}
        {route.page === 'campaigns' && <CampaignsPage />}
        {route.page === 'campaign' && <CampaignDetail key={route.id} id={route.id} />}
        {route.page === 'notFound' && (
          <p className="card" data-testid="console-not-found">
            No such console page. <Link to="/console">Back to the overview</Link>
          </p>
        )}
      </div>
    </div>
  );
}
