import { useState } from 'react';

export const SKIP_REASONS = [
  'The video does not load or play',
  'The prompt is unclear or unreadable',
  'The video is unrelated to the prompt (wrong item)',
  'I am not able to judge this one',
];

interface Props {
  open: boolean;
  /** Skips with the reason; resolves to a message to show when it did not work, or null. */
  onSkip: (reason: string) => Promise<string | null>;
  onCancel: () => void;
}

/** The skip form. It stays mounted while closed, so the chosen reason is still there when it reopens. */
export function SkipDialog({ open, onSkip, onCancel }: Props) {
  const [reason, setReason] = useState(SKIP_REASONS[0]);
  const [other, setOther] = useState('');
  const [error, setError] = useState<string | null>(null);
  if (!open) return null;

  async function skip() {
    const text = (reason === 'other' ? other : reason).trim();
    if (!text) {
      setError('Say briefly why you skip this task.');
      return;
    }
    setError(null);
    const problem = await onSkip(text);
    if (problem) setError(problem);
  }

  return (
    <form
      className="skip-form card"
      data-shortcuts="off"
      data-testid="skip-form"
      onSubmit={(e) => {
        e.preventDefault();
        void skip();
      }}
    >
      <label htmlFor="skip-reason">Why skip this task?</label>
      <select id="skip-reason" data-testid="skip-reason" value={reason} onChange={(e) => setReason(e.target.value)} autoFocus>
        {SKIP_REASONS.map((r) => (
          <option key={r}>{r}</option>
        ))}
        <option value="other">Other (write below)</option>
      </select>
      {reason === 'other' && (
        <>
          <label htmlFor="skip-other">Reason</label>
          <textarea
            id="skip-other"
            data-testid="skip-other"
            rows={2}
            maxLength={500}
            value={other}
            onChange={(e) => setOther(e.target.value)}
          />
        </>
      )}
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
      <div className="row">
        <button type="submit" className="danger" data-testid="skip-confirm">
          Skip task
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
