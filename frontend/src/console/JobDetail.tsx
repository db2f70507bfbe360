// One job, live: progress bar, phase, log tail, curves, result, stages; cancel and retry.
import { useState } from 'react';
import { navigate } from '../router';
import { LineChart } from './Chart';
import { consoleApi, snapshotDownloadUrl, type Job } from './consoleApi';
import { flatScalars, formatValue, isFinished, loopStages, metricSeries, percent } from './shaping';
import { ErrorText, Link, Loading, ProgressBar, StatusBadge, useLoad, when } from './ui';

export function JobDetail({ id }: { id: number }) {
  const { data: job, error, reload } = useLoad(() => consoleApi.job(id), `job-${id}`, {
    pollMs: 1500,
    poll: (j) => !isFinished(j.status),
  });
  const [actionError, setActionError] = useState<unknown>(null);
  if (!job) return <Loading error={error} />;

  const series = metricSeries(job.metrics);
  const scalars = flatScalars(job.metrics);

  async function cancel() {
    setActionError(null);
    try {
      await consoleApi.cancelJob(job!.id);
      reload();
    } catch (err) {
      setActionError(err);
    }
  }

  async function retry() {
    setActionError(null);
    try {
      const next = await consoleApi.retryJob(job!);
      if (next.id === job!.id) reload();
      else navigate(`/console/jobs/${next.id}`);
    } catch (err) {
      setActionError(err);
    }
  }

  return (
    <div className="console-columns" data-testid="job-detail" data-job-id={job.id} data-status={job.status}>
      <section className="card wide">
        <p>
          <Link to="/console/jobs">← Jobs</Link>
          {job.parent && (
            <>
              {' '}
              · stage of <Link to={`/console/jobs/${job.parent}`}>#{job.parent}</Link>
            </>
          )}
        </p>
        <h2>
          Job #{job.id} · {job.kind} <StatusBadge status={job.status} />
        </h2>
        <ProgressBar fraction={job.progress} label="Job progress" testId="job-progress" />
        <p data-testid="job-phase">
          {percent(job.progress)} · phase: <strong>{job.phase || '—'}</strong>
          {job.cancel_requested && !isFinished(job.status) && <span className="muted"> · cancel requested</span>}
        </p>
        <p className="muted small">
          {job.queue} queue · worker {job.worker || '—'} · attempts {job.attempts} · created {when(job.created_at)} · started{' '}
          {when(job.started_at)} · finished {when(job.finished_at)} · last heartbeat {when(job.heartbeat_at)}
        </p>
        {job.error && (
          <p className="field-error" role="alert" data-testid="job-error">
            {job.error}
          </p>
        )}
        <div className="row">
          {!isFinished(job.status) && (
            <button type="button" className="danger" onClick={cancel} disabled={job.cancel_requested} data-testid="job-cancel">
              Cancel
            </button>
          )}
          {(job.status === 'failed' || job.status === 'cancelled') && (
            <button type="button" className="primary" onClick={retry} data-testid="job-retry">
              Retry
            </button>
          )}
          <JobOutputLinks job={job} />
        </div>
        <ErrorText error={actionError} testId="job-action-error" />
        {series.length > 0 && (
          <div className="charts">
            {series.map((s, i) => (
              <LineChart key={s.name} series={s} index={i} />
            ))}
          </div>
        )}
        <h3>Log tail</h3>
        <pre className="log" data-testid="job-log">
          {job.log_tail || '(nothing logged yet)'}
        </pre>
      </section>
      <aside className="card">
        <h3>Parameters</h3>
        <pre className="json">{JSON.stringify(job.params, null, 1)}</pre>
        {Object.keys(scalars).length > 0 && (
          <>
            <h3>Metrics</h3>
            <dl className="figures" data-testid="job-metrics">
              {Object.entries(scalars).map(([k, v]) => (
                <div key={k}>
                  <dt>{k}</dt>
                  <dd>{formatValue(v)}</dd>
                </div>
              ))}
            </dl>
          </>
        )}
        {Object.keys(job.result ?? {}).length > 0 && (
          <>
            <h3>Result</h3>
            <pre className="json" data-testid="job-result">
              {JSON.stringify(job.result, null, 1)}
            </pre>
          </>
        )}
        <Stages job={job} />
        <Artifacts job={job} />
      </aside>
    </div>
  );
}

/** Where a finished job's outputs are: its snapshot, its videos, its new version. */
function JobOutputLinks({ job }: { job: Job }) {
  if (job.status !== 'succeeded') return null;
  const r = job.result as Record<string, unknown>;
  return (
    <>
      {typeof r.snapshot_id === 'number' && (
        <a className="button" href={snapshotDownloadUrl(r.snapshot_id)} download data-testid="job-download">
          Download snapshot #{String(r.number ?? r.snapshot_id)}
        </a>
      )}
      {Array.isArray(r.video_ids) && (
        <Link to="/console/campaigns" className="button">
          {r.video_ids.length} videos — add them to a campaign
        </Link>
      )}
      {('version_id' in r || 'critic_version' in r || 'generator_version' in r) && (
        <Link to="/console/models" className="button">
          See the new version in Models
        </Link>
      )}
    </>
  );
}

/** A loop's stages as it records them (inline stages included), each linked to its own job. */
function Stages({ job }: { job: Job }) {
  const recorded = loopStages(job.metrics);
  if (!recorded) return null;
  return (
    <>
      <h3>Stages</h3>
      <ol className="stages" data-testid="job-stages">
        {recorded.map((s) => (
          <li key={s.name} data-testid="job-stage" data-name={s.name} data-status={s.status}>
            {s.job ? <Link to={`/console/jobs/${s.job}`}>{s.name}</Link> : s.name} <StatusBadge status={s.status} />
            {s.outcome && <span className="muted small"> {s.outcome}</span>}
          </li>
        ))}
      </ol>
    </>
  );
}

function Artifacts({ job }: { job: Job }) {
  if (!job.artifacts?.length) return null;
  return (
    <>
      <h3>Artifacts</h3>
      <ul className="plain small" data-testid="job-artifacts">
        {job.artifacts.map((a) => (
          <li key={a.path}>
            {a.name} <span className="muted">({a.kind})</span> <code>{a.path}</code>
          </li>
        ))}
      </ul>
    </>
  );
}
