// Models: generator and critic versions with lineage, two versions' metrics side by side, promote and
// rollback (promoting an earlier version) with the server's refusal reason shown and a forced path.
import { useState } from 'react';
import { ApiError } from '../api';
import { consoleApi, type ModelVersion } from './consoleApi';
import { compareMetrics, formatValue, keyFigures, lineageEntries, peopleReviewText } from './shaping';
import { ErrorText, Loading, useLoad, when } from './ui';

export function ModelsPage() {
  const { data, error, reload } = useLoad(() => consoleApi.models(), 'models');
  const [compare, setCompare] = useState<number[]>([]);
  if (!data) return <Loading error={error} />;

  const toggle = (id: number) =>
    setCompare((c) => (c.includes(id) ? c.filter((x) => x !== id) : [...c, id].slice(-2)));
  const chosen = compare.map((id) => data.find((v) => v.id === id)).filter(Boolean) as ModelVersion[];

  return (
    <div data-testid="models-page">
      {chosen.length === 2 && <Comparison a={chosen[0]} b={chosen[1]} />}
      {(['generator', 'critic'] as const).map((kind) => {
        const versions = data.filter((v) => v.kind === kind);
        const active = versions.find((v) => v.is_active);
        return (
          <section key={kind} className="card" data-testid={`models-${kind}`}>
            <h2>{kind === 'generator' ? 'Generators' : 'Critics'}</h2>
            {versions.length === 0 && <p className="muted">No {kind} versions yet.</p>}
            <ul className="plain versions">
              {versions.map((v) => (
                <VersionRow
                  key={v.id}
                  version={v}
                  active={active ?? null}
                  checked={compare.includes(v.id)}
                  onToggle={() => toggle(v.id)}
                  onChanged={reload}
                />
              ))}
            </ul>
          </section>
        );
      })}
      {chosen.length < 2 && <p className="muted small">Tick two versions to compare their metrics side by side.</p>}
    </div>
  );
}

function VersionRow({
  version: v,
  active,
  checked,
  onToggle,
  onChanged,
}: {
  version: ModelVersion;
  active: ModelVersion | null;
  checked: boolean;
  onToggle: () => void;
  onChanged: () => void;
}) {
  const [refusal, setRefusal] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [reason, setReason] = useState('');
  const older = active !== null && v.created_at < active.created_at;
  const review = peopleReviewText(v.metrics);

  async function promote(force: boolean) {
    setError(null);
    try {
      await consoleApi.promote(v.id, force ? { force: true, reason } : {});
      setRefusal(null);
      onChanged();
    } catch (err) {
      if (err instanceof ApiError && err.code === 'promotion_refused')
        setRefusal(typeof err.fields.refusal === 'string' ? err.fields.refusal : err.detail);
      else setError(err);
    }
  }

  return (
    <li className={`version${v.is_active ? ' is-active' : ''}`} data-testid="version" data-version-id={v.id}>
      <div className="version-head">
        <label className="small">
          <input type="checkbox" checked={checked} onChange={onToggle} data-testid="version-compare" /> compare
        </label>
        <strong>
          #{v.id} {v.name}
        </strong>
        {v.is_active && <span className="badge badge-succeeded">active</span>}
        {v.awaiting_review && (
          <span
            className="badge badge-queued"
            data-testid="awaiting-review"
            title="Its videos are rated beside the active generator's; the next loop decides."
          >
            awaiting people's ratings
          </span>
        )}
        <span className="muted small">{when(v.created_at)}</span>
        <span className="spacer" />
        {!v.is_active && (
          <button type="button" onClick={() => void promote(false)} data-testid="version-promote">
            {older ? 'Roll back to this' : 'Promote'}
          </button>
        )}
      </div>
      <dl className="figures">
        {keyFigures(v.kind, v.metrics).map((f) => (
          <div key={f.key}>
            <dt>{f.key}</dt>
            <dd>{f.value}</dd>
          </div>
        ))}
      </dl>
      {review && (
        <p className="small" data-testid="people-review" data-verdict={review.verdict}>
          {review.text}
        </p>
      )}
      <p className="small lineage" data-testid="version-lineage">
        {lineageEntries(v).map((e) => (
          <span key={e.key} className="chip">
            {e.key}: {e.value}
          </span>
        ))}
      </p>
      {refusal && (
        <div className="banner banner-error" role="alert" data-testid="promote-refusal">
          <p>
            <strong>Promotion refused:</strong> {refusal}
          </p>
          <label htmlFor={`force-${v.id}`}>Force it anyway — say why (recorded):</label>
          <textarea id={`force-${v.id}`} rows={2} value={reason} onChange={(e) => setReason(e.target.value)} data-testid="force-reason" />
          <div className="row">
            <button type="button" className="danger" disabled={!reason.trim()} onClick={() => void promote(true)} data-testid="force-promote">
              Force {older ? 'rollback' : 'promotion'}
            </button>
            <button type="button" onClick={() => setRefusal(null)}>
              Keep the active version
            </button>
          </div>
        </div>
      )}
      <ErrorText error={error} testId="promote-error" />
    </li>
  );
}

function Comparison({ a, b }: { a: ModelVersion; b: ModelVersion }) {
  const rows = compareMetrics(a.metrics, b.metrics);
  return (
    <section className="card" data-testid="comparison">
      <h2>
        #{a.id} {a.name} vs #{b.id} {b.name}
      </h2>
      <table className="table">
        <thead>
          <tr>
            <th>metric</th>
            <th>#{a.id}</th>
            <th>#{b.id}</th>
            <th>change</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.key}>
              <td>
                <code>{r.key}</code>
              </td>
              <td>{formatValue(r.a)}</td>
              <td>{formatValue(r.b)}</td>
              <td className={r.delta === null ? '' : r.delta > 0 ? 'up' : r.delta < 0 ? 'down' : ''}>
                {r.delta === null ? '' : `${r.delta > 0 ? '+' : ''}${formatValue(r.delta)}`}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Lineage</h3>
      <div className="lineage-pair">
        {[a, b].map((v) => (
          <ul key={v.id} className="plain small">
            {lineageEntries(v).map((e) => (
              <li key={e.key}>
                {e.key}: {e.value}
              </li>
            ))}
          </ul>
        ))}
      </div>
    </section>
  );
}
