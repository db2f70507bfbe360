// Snapshots: the list with counts, label distributions and agreement per dimension, and the download.
import { consoleApi, snapshotDownloadUrl, type Snapshot } from './consoleApi';
import { distributionShares, formatValue, percent } from './shaping';
import { Link, Loading, StatusBadge, useLoad, when } from './ui';

export function SnapshotsPage() {
  const { data, error } = useLoad(() => consoleApi.snapshots(), 'snapshots', {
    pollMs: 3000,
    poll: (list) => list.some((s) => s.status === 'pending' || s.status === 'running'),
  });
  return (
    <div data-testid="snapshots-page">
      <p className="row">
        <Link to="/console/jobs?launch=snapshot" className="button primary">
          New snapshot…
        </Link>
      </p>
      {!data ? (
        <Loading error={error} />
      ) : data.length === 0 ? (
        <p className="muted card">No snapshots yet.</p>
      ) : (
        data.map((s) => <SnapshotCard key={s.id} snapshot={s} />)
      )}
    </div>
  );
}

function SnapshotCard({ snapshot: s }: { snapshot: Snapshot }) {
  const distributions = s.manifest?.distributions ?? {};
  const agreement = s.manifest?.agreement ?? {};
  return (
    <section className="card snapshot" data-testid="snapshot" data-snapshot-id={s.id} data-status={s.status}>
      <div className="version-head">
        <h2>Snapshot #{s.number}</h2>
        <StatusBadge status={s.status} />
        <span className="muted small">
          {when(s.created_at)}
          {s.job_id && (
            <>
              {' '}
              · <Link to={`/console/jobs/${s.job_id}`}>job #{s.job_id}</Link>
            </>
          )}
        </span>
        <span className="spacer" />
        {s.status === 'ready' && (
          <a className="button" href={snapshotDownloadUrl(s.id)} download data-testid="snapshot-download">
            Download (zip)
          </a>
        )}
      </div>
      {s.error && <p className="field-error">{s.error}</p>}
      <dl className="figures" data-testid="snapshot-counts">
        {Object.entries(s.counts ?? {}).map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
      </dl>
      <p className="muted small">filters: {JSON.stringify(s.filters)}</p>
      {Object.keys(distributions).length > 0 && (
        <table className="table distributions" data-testid="snapshot-distributions">
          <thead>
            <tr>
              <th>dimension</th>
              <th>labels</th>
              <th>α ordinal</th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(distributions).map(([dim, counts]) => (
              <tr key={dim}>
                <td>{dim}</td>
                <td>
                  <div className="stack" aria-label={`${dim} labels`}>
                    {distributionShares(counts).map((d) => (
                      <span key={d.level} className={`stack-part level-${d.level.toLowerCase()}`} style={{ flexGrow: d.count || 0.0001 }} title={`${d.level}: ${d.count}`}>
                        {d.level} {d.count} ({percent(d.share)})
                      </span>
                    ))}
                  </div>
                </td>
                <td>{formatValue(agreement[dim]?.alpha_ordinal)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
