// Jobs: the list with kind/status filters (kept in the URL), live while any is unfinished, and the launch form.
import { navigate } from '../router';
import { consoleApi } from './consoleApi';
import { JOB_KINDS } from './jobForms';
import { LaunchForm } from './LaunchForm';
import { isFinished, percent } from './shaping';
import { Link, Loading, ProgressBar, StatusBadge, useLoad, when } from './ui';

const STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];

function filterUrl(kind: string | null, status: string | null): string {
  const q = new URLSearchParams();
  if (kind) q.set('kind', kind);
  if (status) q.set('status', status);
  const s = q.toString();
  return `/console/jobs${s ? `?${s}` : ''}`;
}

export function JobsPage({ kind, status, launch }: { kind: string | null; status: string | null; launch: string | null }) {
  const { data, error } = useLoad(
    () => consoleApi.jobs({ kind: kind ?? undefined, status: status ?? undefined, limit: 200 }),
    `jobs-${kind}-${status}`,
    { pollMs: 3000, poll: (jobs) => jobs.some((j) => !isFinished(j.status)) },
  );
  return (
    <div className="console-columns">
      <section className="card wide">
        <h2>Jobs</h2>
        <div className="row filters">
          <label>
            Kind{' '}
            <select data-testid="filter-kind" value={kind ?? ''} onChange={(e) => navigate(filterUrl(e.target.value || null, status))}>
              <option value="">all</option>
              {JOB_KINDS.map((k) => (
                <option key={k.kind}>{k.kind}</option>
              ))}
            </select>
          </label>
          <label>
            Status{' '}
            <select data-testid="filter-status" value={status ?? ''} onChange={(e) => navigate(filterUrl(kind, e.target.value || null))}>
              <option value="">all</option>
              {STATUSES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
        </div>
        {!data ? (
          <Loading error={error} />
        ) : data.length === 0 ? (
          <p className="muted" data-testid="jobs-empty">
            No jobs match.
          </p>
        ) : (
          <table className="table" data-testid="job-list">
            <thead>
              <tr>
                <th>Job</th>
                <th>Status</th>
                <th>Progress</th>
                <th>Worker</th>
                <th>Created</th>
              </tr>
            </thead>
            <tbody>
              {data.map((j) => (
                <tr key={j.id} data-testid="job-row" data-job-id={j.id}>
                  <td>
                    <Link to={`/console/jobs/${j.id}`}>
                      #{j.id} {j.kind}
                    </Link>
                    {j.parent && <span className="muted small"> (stage of #{j.parent})</span>}
                  </td>
                  <td>
                    <StatusBadge status={j.status} />
                  </td>
                  <td className="progress-cell">
                    <ProgressBar fraction={j.progress} label={`job ${j.id} progress`} />
                    <span className="small">
                      {percent(j.progress)} {j.phase}
                    </span>
                  </td>
                  <td className="small">{j.worker || '—'}</td>
                  <td className="small">{when(j.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <LaunchForm initialKind={launch ?? kind} />
    </div>
  );
}
