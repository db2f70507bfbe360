import { describeError } from '../api';
import type { SubmitState } from '../submitQueue';

/** The line beside the submit button: saving, retrying (with why and when), saved, or the error. */
export function SubmitStatus({ state, message, dirty }: { state: SubmitState; message: string | null; dirty: boolean }) {
  let text = '';
  let cls = 'status';
  if (state.kind === 'saving') text = state.attempt > 1 ? `Saving… (attempt ${state.attempt})` : 'Saving…';
  else if (state.kind === 'retrying') {
    cls += ' is-warning';
    text = `Could not reach the server (${describeError(state.error)}). Retrying in ${Math.ceil(
      state.delayMs / 1000,
    )} s — your ratings are kept on this device.`;
  } else if (state.kind === 'saved') {
    cls += ' is-ok';
    text = 'Saved ✓';
  } else if (message) {
    cls += ' is-error';
    text = message;
  } else if (dirty) text = 'Draft kept on this device.';
  const kind = state.kind === 'idle' && message ? 'failed' : state.kind;
  return (
    <p className={cls} role="status" aria-live="polite" data-testid="submit-status" data-state={kind}>
      {text}
    </p>
  );
}
