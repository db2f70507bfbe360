// The retrain policy (the schedule's threshold and the loop's settings), start-now, and the trigger log.
import { useState } from 'react';
import { ApiError, fieldMessages } from '../api';
import { consoleApi, type RetrainPolicy } from './consoleApi';
import { GENERATOR_GATES, LOOP_STAGES } from './jobForms';
import { ErrorText, Link, Loading, useLoad, when } from './ui';

const JSON_KEYS = ['candidates', 'next_round', 'critic', 'align'] as const;

type Draft = Record<string, string | boolean>;

function draftOf(p: RetrainPolicy): Draft {
  const d: Draft = {
    enabled: p.enabled,
    min_new_annotations: String(p.min_new_annotations),
    check_every_minutes: String(p.check_every_minutes),
    stages: p.stages.join(', '),
    source_campaign_ids: p.source_campaign_ids.join(', '),
    next_round_campaign: p.next_round_campaign === null ? '' : String(p.next_round_campaign),
    generator_gate: p.generator_gate ?? 'critic',
  };
  for (const k of JSON_KEYS) d[k] = JSON.stringify(p[k] ?? {}, null, 1);
  return d;
}

/** The PUT body from the form, or per-field messages. Exported for the unit tests. */
export function policyChanges(d: Draft): { body: Record<string, unknown>; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const body: Record<string, unknown> = { enabled: d.enabled === true };
  for (const [k, lo] of [['min_new_annotations', 1], ['check_every_minutes', 1]] as const) {
    const text = String(d[k]).trim();
    if (!/^\d+$/.test(text) || Number(text) < lo) errors[k] = `A whole number, at least ${lo}.`;
    else body[k] = Number(text);
  }
  const stages = String(d.stages).split(/[\s,]+/).filter(Boolean);
  const unknown = stages.filter((s) => !LOOP_STAGES.includes(s));
  if (unknown.length) errors.stages = `Unknown stage: ${unknown.join(', ')}.`;
  else body.stages = stages;
  const ids = String(d.source_campaign_ids).split(/[\s,]+/).filter(Boolean);
  if (!ids.every((x) => /^\d+$/.test(x))) errors.source_campaign_ids = 'Campaign ids separated by commas.';
  else body.source_campaign_ids = ids.map(Number);
  const next = String(d.next_round_campaign).trim();
  if (next && !/^\d+$/.test(next)) errors.next_round_campaign = 'A campaign id.';
  else body.next_round_campaign = next ? Number(next) : null;
  body.generator_gate = (GENERATOR_GATES as readonly unknown[]).includes(d.generator_gate) ? d.generator_gate : 'critic';
  for (const k of JSON_KEYS) {
    try {
      const v = JSON.parse(String(d[k]) || '{}');
      if (!v || typeof v !== 'object' || Array.isArray(v)) errors[k] = 'A JSON object.';
      else body[k] = v;
    } catch {
      errors[k] = 'Not valid JSON.';
    }
  }
  return { body, errors };
}

export function RetrainPage() {
  const policy = useLoad(() => consoleApi.retrainPolicy(), 'policy');
  const triggers = useLoad(() => consoleApi.retrainTriggers(), 'triggers', { pollMs: 5000 });
  const [started, setStarted] = useState<unknown>(null);
  const [startInfo, setStartInfo] = useState<string | null>(null);

  async function startNow() {
    setStarted(null);
    setStartInfo(null);
    try {
      const t = await consoleApi.startLoop();
      setStartInfo(t.loop ? `Loop started: job #${t.loop}.` : t.reason);
      triggers.reload();
    } catch (err) {
      setStarted(err);
      triggers.reload();
    }
  }

  return (
    <div className="console-columns" data-testid="retrain-page">
      <div className="wide stack-v">
        {policy.data ? (
          <PolicyForm key={policy.data.updated_at ?? 'new'} policy={policy.data} onSaved={policy.reload} />
        ) : (
          <Loading error={policy.error} />
        )}
      </div>
      <div className="stack-v">
        <section className="card">
          <h3>Run the loop now</h3>
          <p className="muted small">With the policy’s settings, whatever the threshold. Only one loop runs at a time.</p>
          <button type="button" className="primary" onClick={() => void startNow()} data-testid="loop-start">
            Start a loop
          </button>
          {startInfo && (
            <p role="status" data-testid="loop-started">
              {startInfo}
            </p>
          )}
          <ErrorText error={started} testId="loop-start-error" />
        </section>
        <section className="card">
          <h3>Triggers</h3>
          {!triggers.data ? (
            <Loading error={triggers.error} />
          ) : triggers.data.length === 0 ? (
            <p className="muted">None yet.</p>
          ) : (
            <ul className="plain small" data-testid="triggers">
              {triggers.data.map((t) => (
                <li key={t.id}>
                  {when(t.at)} · {t.source} · <strong>{t.outcome}</strong> · {t.new_annotations} new ratings
                  {t.loop && (
                    <>
                      {' '}
                      · <Link to={`/console/jobs/${t.loop}`}>loop #{t.loop}</Link>
                    </>
                  )}
                  {t.reason && <div className="muted">{t.reason}</div>}
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
    </div>
  );
}

function PolicyForm({ policy, onSaved }: { policy: RetrainPolicy; onSaved: () => void }) {
  const [d, setD] = useState<Draft>(() => draftOf(policy));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const set = (k: string) => (e: React.ChangeEvent<HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>) =>
    setD((old) => ({ ...old, [k]: e.target.type === 'checkbox' ? (e.target as HTMLInputElement).checked : e.target.value }));

  async function save(e: React.FormEvent) {
    e.preventDefault();
    const { body, errors: found } = policyChanges(d);
    setErrors(found);
    setError(null);
    if (Object.keys(found).length) return;
    try {
      await consoleApi.updateRetrainPolicy(body);
      onSaved();
    } catch (err) {
      setError(err);
      if (err instanceof ApiError) setErrors(fieldMessages(err.fields));
    }
  }

  const text = (k: string, label: string, rows = 0) => (
    <div className="form-field">
      <label htmlFor={`policy-${k}`}>{label}</label>
      {rows ? (
        <textarea id={`policy-${k}`} rows={rows} value={String(d[k])} onChange={set(k)} />
      ) : (
        <input id={`policy-${k}`} value={String(d[k])} onChange={set(k)} />
      )}
      {errors[k] && <p className="field-error">{errors[k]}</p>}
    </div>
  );
  return (
    <form className="card" onSubmit={save} noValidate data-testid="policy-form">
      <h2>Retrain policy</h2>
      <p className="muted small">
        {policy.new_annotations} new ratings count towards the threshold now · last changed {when(policy.updated_at)}
      </p>
      <label className="small">
        <input type="checkbox" checked={d.enabled === true} onChange={set('enabled')} /> run by itself when the threshold is reached
      </label>
      {text('min_new_annotations', 'Threshold: new accepted ratings since the last critic')}
      {text('check_every_minutes', 'Check every (minutes)')}
      {text('stages', 'Stages (all when empty)')}
      {text('source_campaign_ids', 'Ratings from campaigns (all when empty)')}
      {text('next_round_campaign', 'Campaign for the next round (id)')}
      <div className="form-field">
        <label htmlFor="policy-generator_gate">Who promotes an aligned generator</label>
        <select id="policy-generator_gate" value={String(d.generator_gate)} onChange={set('generator_gate')}>
          <option value="critic">the critic, at once (its held-out reward)</option>
          <option value="people">people, next round (their ratings beside the active generator's)</option>
          <option value="critic_first">the critic at once; what it refuses, people next round</option>
        </select>
      </div>
      {text('candidates', 'Candidates to generate (JSON: {"count", "seed", "seeds"} or {"prompt_ids", "seeds"})', 3)}
      {text('next_round', 'Next round to generate (JSON, same shape)', 3)}
      {text('critic', 'Critic training params (JSON)', 3)}
      {text('align', 'Alignment params (JSON)', 4)}
      <ErrorText error={error} />
      <div className="row">
        <button type="submit" className="primary">
          Save policy
        </button>
      </div>
    </form>
  );
}
