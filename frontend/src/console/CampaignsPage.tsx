// Campaigns: the list and the create form.
import { useState } from 'react';
import { navigate } from '../router';
import { consoleApi } from './consoleApi';
import { CampaignName, ErrorText, Loading, useLoad } from './ui';

export function CampaignsPage() {
  const { data, error } = useLoad(() => consoleApi.overview(), 'campaigns');
  return (
    <div className="console-columns">
      <section className="card wide">
        <h2>Campaigns</h2>
        {!data ? (
          <Loading error={error} />
        ) : (
          <table className="table" data-testid="campaign-table">
            <thead>
              <tr>
                <th>Campaign</th>
                <th>Items</th>
                <th>Overlap</th>
                <th>Annotations / target</th>
                <th>Members</th>
              </tr>
            </thead>
            <tbody>
              {data.campaigns.map((c) => (
                <tr key={c.id}>
                  <td>
                    <CampaignName campaign={c} />
                  </td>
                  <td>{c.items}</td>
                  <td>{c.overlap}</td>
                  <td>
                    {c.annotations} / {c.target}
                  </td>
                  <td>{c.members}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <CreateCampaign />
    </div>
  );
}

function CreateCampaign() {
  const [name, setName] = useState('');
  const [overlap, setOverlap] = useState('3');
  const [error, setError] = useState<unknown>(null);
  const [sending, setSending] = useState(false);

  async function create(e: React.FormEvent) {
    e.preventDefault();
    const k = Number(overlap);
    if (!name.trim()) return setError('Give the campaign a name.');
    if (!Number.isInteger(k) || k < 1 || k > 50) return setError('Overlap is a whole number from 1 to 50.');
    setSending(true);
    setError(null);
    try {
      const c = await consoleApi.createCampaign({ name: name.trim(), overlap: k });
      navigate(`/console/campaigns/${c.id}`);
    } catch (err) {
      setError(err);
    } finally {
      setSending(false);
    }
  }

  return (
    <form className="card" onSubmit={create} noValidate data-testid="campaign-create">
      <h2>New campaign</h2>
      <label htmlFor="new-campaign-name">Name</label>
      <input id="new-campaign-name" value={name} onChange={(e) => setName(e.target.value)} maxLength={200} />
      <label htmlFor="new-campaign-overlap">Overlap (annotations per video)</label>
      <input id="new-campaign-overlap" value={overlap} onChange={(e) => setOverlap(e.target.value)} inputMode="numeric" />
      <ErrorText error={error} />
      <div className="row">
        <button type="submit" className="primary" disabled={sending}>
          Create
        </button>
      </div>
      <p className="muted small">Guidelines, members, videos and quality settings come next, on the campaign’s page.</p>
    </form>
  );
}
