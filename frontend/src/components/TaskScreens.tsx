// The task view's full-page states: an error, nothing left to rate, a lease lost to someone else.
import { hasWork, type Draft } from '../draft';
import { linkClick } from '../router';

function BackLink() {
  return (
    <a href="/" onClick={linkClick} className="button">
      Back to campaigns
    </a>
  );
}

export function TaskErrorScreen({ message, onRetry }: { message: string; onRetry: () => void }) {
  return (
    <div className="page-message card" role="alert" data-testid="task-error">
      <h1>Something went wrong</h1>
      <p>{message}</p>
      <p>Your ratings so far are kept on this device.</p>
      <div className="row">
        <button type="button" className="primary" onClick={onRetry}>
          Try again
        </button>
        <BackLink />
      </div>
    </div>
  );
}

export function EmptyScreen({ campaignName, notice, onCheckAgain }: { campaignName: string; notice: string | null; onCheckAgain: () => void }) {
  return (
    <div className="page-message card" role="status" data-testid="empty-state">
      <h1>All done here</h1>
      <p>
        There is nothing left for you to rate in <strong>{campaignName}</strong> right now. Thank you!
      </p>
      {notice && <p className="muted">{notice.startsWith('Saved') ? 'Your last rating was saved.' : notice}</p>}
      <div className="row">
        <BackLink />
        <button type="button" onClick={onCheckAgain} data-testid="empty-check-again">
          Check again
        </button>
      </div>
    </div>
  );
}

export function LeaseLostScreen({ message, notes, onNext }: { message: string; notes: Draft | null; onNext: () => void }) {
  return (
    <div className="page-message card" role="alert" data-testid="lease-lost">
      <h1>This task is no longer yours</h1>
      <p>{message}</p>
      <p>The lease ran out or the task went to someone else, so these ratings cannot be submitted.</p>
      {notes && hasWork(notes) && (
        <details>
          <summary>Your notes for that task (to copy)</summary>
          <ul className="notes">
            {Object.entries(notes.ratings).map(([k, r]) => (
              <li key={k}>
                <strong>{k}</strong>: {r.rating ?? '—'} {r.rationale && <q>{r.rationale}</q>}
              </li>
            ))}
          </ul>
        </details>
      )}
      <div className="row">
        <button type="button" className="primary" data-testid="lease-lost-next" onClick={onNext}>
          Get the next task
        </button>
        <BackLink />
      </div>
    </div>
  );
}
