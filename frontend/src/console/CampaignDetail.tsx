// One campaign: settings, guidelines editor with preview, videos (from a generate job or the library),
// members, and the annotator figures (throughput, gold accuracy, agreement, flags).
import { useEffect, useState } from 'react';
import { ApiError, fieldMessages } from '../api';
import { renderMarkdown } from '../markdown';
import { settingsPatch, settingsValues, type SettingsValues } from './campaignForm';
import { consoleApi, type AdminCampaign, type AnnotatorFigures } from './consoleApi';
import { formatValue, percent, positionBiasText } from './shaping';
import { ErrorText, Link, Loading, useLoad } from './ui';

export function CampaignDetail({ id }: { id: number }) {
  const { data: campaign, error, reload } = useLoad(() => consoleApi.campaign(id), `campaign-${id}`);
  if (!campaign) return <Loading error={error} />;
  return (
    <div className="console-columns" data-testid="campaign-detail" data-campaign-id={id}>
      <div className="wide stack-v">
        <p>
          <Link to="/console/campaigns">← Campaigns</Link>
        </p>
        <h2>{campaign.name}</h2>
        <Guidelines campaign={campaign} onSaved={reload} />
        <AddVideos campaign={campaign} />
        <AnnotatorFigures id={id} />
      </div>
      <div className="stack-v">
        <Settings campaign={campaign} onSaved={reload} />
        <Members id={id} />
      </div>
    </div>
  );
}

function Settings({ campaign, onSaved }: { campaign: AdminCampaign; onSaved: () => void }) {
  const [v, setV] = useState<SettingsValues>(() => settingsValues(campaign));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const set = (k: keyof SettingsValues) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) =>
    setV((old) => ({ ...old, [k]: e.target.type === 'checkbox' ? (e.target as HTMLInputElement).checked : e.target.value }));

  async function save(e: React.FormEvent) {
    e.preventDefault();
    const { body, errors: found } = settingsPatch(campaign, v);
    setErrors(found);
    setError(null);
    setSaved(false);
    if (Object.keys(found).length || Object.keys(body).length === 0) return;
    try {
      await consoleApi.updateCampaign(campaign.id, body);
      setSaved(true);
      onSaved();
    } catch (err) {
      setError(err);
      if (err instanceof ApiError) setErrors(fieldMessages(err.fields));
    }
  }

  const field = (k: keyof SettingsValues, label: string, input: React.ReactNode) => (
    <div className="form-field">
      <label htmlFor={`campaign-${k}`}>{label}</label>
      {input}
      {errors[k] && <p className="field-error">{errors[k]}</p>}
    </div>
  );
  return (
    <form className="card" onSubmit={save} noValidate data-testid="campaign-settings">
      <h3>Settings</h3>
      {field('name', 'Name', <input id="campaign-name" value={v.name} onChange={set('name')} />)}
      {field('overlap', 'Overlap (annotations per video)', <input id="campaign-overlap" value={v.overlap} onChange={set('overlap')} />)}
      {field('lease_seconds', 'Lease (seconds)', <input id="campaign-lease_seconds" value={v.lease_seconds} onChange={set('lease_seconds')} />)}
      {field(
        'rationale_policy',
        'Reasons required',
        <select id="campaign-rationale_policy" value={v.rationale_policy} onChange={set('rationale_policy')}>
          <option value="always">for every dimension</option>
          <option value="unless_good">unless the rating is Good</option>
        </select>,
      )}
      {campaign.gold_rate !== undefined &&
        field('gold_rate', 'Gold rate (share of gold tasks)', <input id="campaign-gold_rate" value={v.gold_rate} onChange={set('gold_rate')} />)}
      {campaign.task_order !== undefined &&
        field(
          'task_order',
          'Task order',
          <select id="campaign-task_order" value={v.task_order} onChange={set('task_order')}>
            <option value="priority">priority, then fewest annotations</option>
            <option value="uncertainty">most uncertain for the critic first</option>
          </select>,
        )}
      {campaign.consensus_method !== undefined &&
        field(
          'consensus_method',
          'Consensus label',
          <select id="campaign-consensus_method" value={v.consensus_method} onChange={set('consensus_method')}>
            <option value="majority">majority (worse rating wins ties)</option>
            <option value="dawid_skene">Dawid–Skene</option>
          </select>,
        )}
      <label className="small">
        <input type="checkbox" checked={v.is_active} onChange={set('is_active')} /> active (annotators get tasks)
      </label>
      <ErrorText error={error} />
      <div className="row">
        <button type="submit" className="primary" data-testid="campaign-save">
          Save settings
        </button>
        {saved && (
          <span className="muted small" role="status" data-testid="campaign-saved">
            Saved.
          </span>
        )}
      </div>
    </form>
  );
}

function Guidelines({ campaign, onSaved }: { campaign: AdminCampaign; onSaved: () => void }) {
  const [text, setText] = useState(campaign.guidelines);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => setText(campaign.guidelines), [campaign.guidelines]);
  async function save() {
    setError(null);
    try {
      await consoleApi.updateCampaign(campaign.id, { guidelines: text });
      setSaved(true);
      onSaved();
    } catch (err) {
      setError(err);
    }
  }
  return (
    <section className="card" data-testid="guidelines-editor">
      <h3>Guidelines (Markdown)</h3>
      <div className="editor-pair">
        <textarea
          aria-label="Guidelines source"
          rows={12}
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            setSaved(false);
          }}
          data-testid="guidelines-source"
        />
        {/* renderMarkdown shows raw HTML as text and sanitises the rest (the workspace's renderer). */}
        <div className="markdown preview" data-testid="guidelines-preview" dangerouslySetInnerHTML={{ __html: renderMarkdown(text) }} />
      </div>
      <ErrorText error={error} />
      <div className="row">
        <button type="button" className="primary" disabled={text === campaign.guidelines} onClick={() => void save()} data-testid="guidelines-save">
          Save guidelines
        </button>
        {saved && <span className="muted small">Saved.</span>}
      </div>
    </section>
  );
}

function AddVideos({ campaign }: { campaign: AdminCampaign }) {
  const jobs = useLoad(() => consoleApi.jobs({ kind: 'generate', status: 'succeeded', limit: 50 }), 'gen-jobs');
  const [jobId, setJobId] = useState('');
  const [prompt, setPrompt] = useState('');
  const [search, setSearch] = useState<{ job?: number; prompt?: string }>({});
  const [picked, setPicked] = useState<Set<number>>(new Set());
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const library = useLoad(
    () => consoleApi.library({ ...search, not_in_campaign: campaign.id, limit: 200 }),
    `lib-${campaign.id}-${JSON.stringify(search)}-${message}`,
  );

  async function add(ids: number[]) {
    setError(null);
    try {
      const r = await consoleApi.addItems(campaign.id, ids);
      setMessage(`${ids.length} videos added (${r.items} items in this batch).`);
      setPicked(new Set());
    } catch (err) {
      setError(err);
    }
  }

  const results = library.data?.results ?? [];
  return (
    <section className="card" data-testid="add-videos">
      <h3>Add videos</h3>
      <div className="row">
        <label>
          From generate job{' '}
          <select value={jobId} onChange={(e) => setJobId(e.target.value)} data-testid="add-from-job">
            <option value="">any</option>
            {(jobs.data ?? []).map((j) => (
              <option key={j.id} value={j.id}>
                #{j.id} ({Array.isArray(j.result.video_ids) ? j.result.video_ids.length : 0} videos)
              </option>
            ))}
          </select>
        </label>
        <label>
          Prompt contains <input value={prompt} onChange={(e) => setPrompt(e.target.value)} />
        </label>
        <button type="button" onClick={() => setSearch({ job: jobId ? Number(jobId) : undefined, prompt: prompt.trim() || undefined })}>
          Show
        </button>
      </div>
      <p className="muted small">
        {library.data ? `${library.data.total} videos not yet in this campaign${library.data.total > results.length ? ` (first ${results.length} shown)` : ''}.` : 'Loading…'}
      </p>
      {results.length > 0 && (
        <>
          <ul className="plain library">
            {results.map((v) => (
              <li key={v.id}>
                <label>
                  <input
                    type="checkbox"
                    checked={picked.has(v.id)}
                    onChange={() =>
                      setPicked((p) => {
                        const n = new Set(p);
                        if (n.has(v.id)) n.delete(v.id);
                        else n.add(v.id);
                        return n;
                      })
                    }
                  />{' '}
                  #{v.id} <span className="muted small">{v.generator || v.source}</span> {v.prompt}
                </label>
              </li>
            ))}
          </ul>
          <div className="row">
            <button type="button" disabled={picked.size === 0} onClick={() => void add([...picked])}>
              Add {picked.size} selected
            </button>
            <button type="button" className="primary" onClick={() => void add(results.map((v) => v.id))} data-testid="add-all">
              Add all {results.length} shown
            </button>
          </div>
        </>
      )}
      {message && (
        <p className="muted" role="status">
          {message}
        </p>
      )}
      <ErrorText error={error} />
    </section>
  );
}

function Members({ id }: { id: number }) {
  const { data, error, reload } = useLoad(() => consoleApi.members(id), `members-${id}`);
  const [username, setUsername] = useState('');
  const [actionError, setActionError] = useState<unknown>(null);
  async function act(fn: () => Promise<unknown>) {
    setActionError(null);
    try {
      await fn();
      reload();
    } catch (err) {
      setActionError(err);
    }
  }
  return (
    <section className="card" data-testid="members">
      <h3>Members</h3>
      {!data ? (
        <Loading error={error} />
      ) : (
        <ul className="plain">
          {data.map((u) => (
            <li key={u.id}>
              {u.username} <span className="muted small">{u.roles.join(', ')}</span>{' '}
              <button type="button" className="link-button" onClick={() => void act(() => consoleApi.removeMember(id, u.username))}>
                remove
              </button>
            </li>
          ))}
        </ul>
      )}
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          if (username.trim()) void act(() => consoleApi.addMember(id, username.trim())).then(() => setUsername(''));
        }}
      >
        <input aria-label="Username to add" placeholder="username" value={username} onChange={(e) => setUsername(e.target.value)} />
        <button type="submit">Add member</button>
      </form>
      <ErrorText error={actionError} />
    </section>
  );
}

function AnnotatorFigures({ id }: { id: number }) {
  const { data, error } = useLoad(() => consoleApi.annotators(id), `annotators-${id}`);
  const pairs = !!data?.annotators.some((a) => a.position_bias);
  return (
    <section className="card" data-testid="annotator-figures">
      <h3>Annotators</h3>
      {!data ? (
        <Loading error={error} />
      ) : data.annotators.length === 0 ? (
        <p className="muted">No annotations yet.</p>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>annotator</th>
              <th>annotations</th>
              <th>per hour</th>
              <th>median s</th>
              <th>gold accuracy</th>
              <th>agreement with others</th>
              {pairs && <th>position (left video)</th>}
              <th>flags</th>
            </tr>
          </thead>
          <tbody>
            {data.annotators.map((a) => (
              <tr key={a.annotator_id}>
                <td>{a.username}</td>
                <td>{a.annotations}</td>
                <td>{formatValue(a.per_hour)}</td>
                <td>{formatValue(a.median_seconds)}</td>
                <td>{typeof a.gold_accuracy.overall === 'number' ? percent(a.gold_accuracy.overall) : '—'}</td>
                <td>{percent(a.agreement_with_others.overall)}</td>
                {pairs && <PositionBias bias={a.position_bias} />}
                <td className="small">
                  {[...Object.keys(a.flags), ...Object.entries(a.annotation_flags).map(([f, n]) => `${f} ×${n}`)].join(', ') || '—'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function PositionBias({ bias }: { bias: AnnotatorFigures['position_bias'] }) {
  const shown = positionBiasText(bias);
  return (
    <td className={shown?.flagged ? 'small field-error' : 'small'} data-testid="position-bias">
      {shown ? `${shown.text}${shown.flagged ? ' — flagged' : ''}` : '—'}
    </td>
  );
}
