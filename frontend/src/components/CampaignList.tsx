import { useEffect, useState } from 'react';
import { api, describeError, type Campaign } from '../api';
import { linkClick } from '../router';

type State = { kind: 'loading' } | { kind: 'ready'; campaigns: Campaign[] } | { kind: 'error'; message: string };

export function CampaignList() {
  const [state, setState] = useState<State>({ kind: 'loading' });
  const [reload, setReload] = useState(0);

  useEffect(() => {
    let live = true;
    setState({ kind: 'loading' });
    api.campaigns().then(
      (campaigns) => live && setState({ kind: 'ready', campaigns }),
      (err) => live && setState({ kind: 'error', message: describeError(err) }),
    );
    return () => {
      live = false;
    };
  }, [reload]);

  if (state.kind === 'loading') return <p className="page-message" role="status">Loading campaigns…</p>;
  if (state.kind === 'error')
    return (
      <div className="page-message card" role="alert" data-testid="campaigns-error">
        <h1>Campaigns could not be loaded</h1>
        <p>{state.message}</p>
        <button type="button" className="primary" onClick={() => setReload((r) => r + 1)}>
          Try again
        </button>
      </div>
    );

  return (
    <main className="campaigns-page">
      <h1>Your campaigns</h1>
      {state.campaigns.length === 0 ? (
        <p className="page-message" data-testid="campaigns-empty">
          You are not part of any campaign yet. Ask a campaign admin to add you.
        </p>
      ) : (
        <ul className="campaign-grid" data-testid="campaign-list">
          {state.campaigns.map((c) => (
            <CampaignCard key={c.id} campaign={c} />
          ))}
        </ul>
      )}
    </main>
  );
}

function CampaignCard({ campaign: c }: { campaign: Campaign }) {
  const { done, skipped, remaining } = c.progress;
  const total = done + skipped + remaining;
  const pct = total ? Math.round(((done + skipped) / total) * 100) : 100;
  const headingId = `campaign-${c.id}-name`;
  return (
    <li className="card campaign-card" data-testid="campaign-card" data-campaign-id={c.id} aria-labelledby={headingId}>
      <h2 id={headingId}>{c.name}</h2>
      <p className="muted">
        {c.schema.dimensions.map((d) => d.label).join(' · ')}
      </p>
      <div
        className="progress"
        role="progressbar"
        aria-label={`Progress in ${c.name}`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pct}
      >
        <span style={{ width: `${pct}%` }} />
      </div>
      <p data-testid="campaign-progress">
        <strong>{done}</strong> done · <strong>{skipped}</strong> skipped · <strong>{remaining}</strong> remaining
      </p>
      <a
        className={`button${remaining > 0 ? ' primary' : ''}`}
        href={`/campaigns/${c.id}/work`}
        onClick={linkClick}
        data-testid="campaign-start"
        aria-label={`${remaining === 0 ? 'Open' : done + skipped > 0 ? 'Continue' : 'Start'} rating in ${c.name}`}
      >
        {remaining === 0 ? 'Open' : done + skipped > 0 ? 'Continue' : 'Start'}
      </a>
      {remaining === 0 && (
        <p className="muted" data-testid="campaign-finished">
          Nothing left for you here. Thank you!
        </p>
      )}
    </li>
  );
}
