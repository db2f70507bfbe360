// Overview: throughput per day, campaign progress and agreement, active models, workers and their jobs.
import { consoleApi, type Overview as OverviewData } from './consoleApi';
import { formatValue, keyFigures, percent } from './shaping';
import { CampaignName, Link, Loading, ProgressBar, useLoad, when } from './ui';

export function Overview() {
  const { data, error } = useLoad(() => consoleApi.overview(), 'overview', { pollMs: 5000 });
  if (!data) return <Loading error={error} />;
  return (
    <div className="console-grid" data-testid="overview">
      <Throughput rows={data.throughput} />
      <section className="card">
        <h2>Models</h2>
        {(['generator', 'critic'] as const).map((kind) => {
          const m = data.models[kind];
          return (
            <div key={kind} className="model-card" data-testid={`active-${kind}`}>
              <h3>
                Active {kind}: {m?.active ? m.active.name : <span className="muted">none</span>}
              </h3>
              {m?.active && (
                <dl className="figures">
                  {keyFigures(kind, m.active.metrics).map((f) => (
                    <div key={f.key}>
                      <dt>{f.key}</dt>
                      <dd>{f.value}</dd>
                    </div>
                  ))}
                  <div>
                    <dt>base</dt>
                    <dd>{m.active.base}</dd>
                  </div>
                </dl>
              )}
              <p className="muted small">{m?.versions ?? 0} versions</p>
            </div>
          );
        })}
        <Link to="/console/models">All versions →</Link>
      </section>
      <Workers data={data} />
      <section className="card wide">
        <h2>Campaigns</h2>
        <table className="table" data-testid="overview-campaigns">
          <thead>
            <tr>
              <th>Campaign</th>
              <th>Items</th>
              <th>Annotations / target</th>
              <th>Progress</th>
              <th>Agreement (α ordinal) per dimension</th>
            </tr>
          </thead>
          <tbody>
            {data.campaigns.map((c) => (
              <tr key={c.id}>
                <td>
                  <CampaignName campaign={c} />
                </td>
                <td>{c.items}</td>
                <td>
                  {c.annotations} / {c.target}
                </td>
                <td className="progress-cell">
                  <ProgressBar fraction={c.fraction} label={`${c.name} progress`} /> {percent(c.fraction)}
                </td>
                <td>{c.is_active && c.annotations > 0 ? <Agreement campaignId={c.id} /> : <span className="muted">—</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </div>
  );
}

function Throughput({ rows }: { rows: OverviewData['throughput'] }) {
  const max = Math.max(1, ...rows.map((r) => r.annotations));
  const total = rows.reduce((s, r) => s + r.annotations, 0);
  return (
    <section className="card" data-testid="throughput">
      <h2>Annotations per day</h2>
      <p className="muted small">{total} in the last {rows.length} days</p>
      <div className="bars" role="img" aria-label={`Annotations per day: ${rows.map((r) => `${r.day} ${r.annotations}`).join(', ')}`}>
        {rows.map((r) => (
          <div key={r.day} className="bar" title={`${r.day}: ${r.annotations}`}>
            <span style={{ height: `${(r.annotations / max) * 100}%` }} />
            <small>{r.day.slice(8)}</small>
          </div>
        ))}
      </div>
    </section>
  );
}

function Workers({ data }: { data: OverviewData }) {
  const queued = Object.entries(data.jobs.queued);
  return (
    <section className="card" data-testid="workers">
      <h2>Workers</h2>
      <p className="muted small">
        Queued: {queued.length ? queued.map(([q, n]) => `${n} on ${q}`).join(', ') : 'none'} · failed in the last day:{' '}
        {data.jobs.failed_last_day}
      </p>
      {data.workers.length === 0 && <p className="muted">No worker has reported in the last hour.</p>}
      <ul className="plain">
        {data.workers.map((w) => (
          <li key={w.worker} data-testid="worker">
            <strong>{w.worker}</strong> <span className="muted small">last heard {when(w.last_heartbeat)}</span>
            {w.running.length === 0 ? (
              <p className="muted small">idle</p>
            ) : (
              w.running.map((j) => (
                <div key={j.id} className="worker-job">
                  <Link to={`/console/jobs/${j.id}`}>
                    #{j.id} {j.kind}
                  </Link>{' '}
                  <span className="muted small">
                    {j.queue} · {j.phase || 'starting'} · {percent(j.progress)}
                  </span>
                  <ProgressBar fraction={j.progress} label={`job ${j.id} progress`} />
                </div>
              ))
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

function Agreement({ campaignId }: { campaignId: number }) {
  const { data, error } = useLoad(() => consoleApi.quality(campaignId), `q${campaignId}`);
  if (error) return <span className="muted small">{error}</span>;
  if (!data) return <span className="muted small">…</span>;
  return (
    <span className="small">
      {Object.entries(data.dimensions).map(([dim, f]) => (
        <span key={dim} className="chip">
          {dim} {formatValue(f.alpha_ordinal ?? f.alpha_nominal)}
        </span>
      ))}
    </span>
  );
}
