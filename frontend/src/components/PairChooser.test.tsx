import { fireEvent, render, screen } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import type { RationalePolicy } from '../api';
import type { DraftRating } from '../draft';
import { buildPairSubmitBody, pairRationaleRequired, validatePairDraft } from '../rules';
import { campaign } from '../test/fixtures';
import { PairChooser } from './PairChooser';

const dim = campaign().schema.dimensions[0];

function setup(value: DraftRating, policy: RationalePolicy = 'unless_good') {
  const onChoose = vi.fn();
  const onRationale = vi.fn();
  render(
    <PairChooser dimension={dim} index={0} value={value} policy={policy} focused onChoose={onChoose} onRationale={onRationale} onFocusDimension={() => {}} />,
  );
  return { onChoose, onRationale };
}

describe('PairChooser', () => {
  it('is a labelled radio group of left, tie and right with one tab stop', () => {
    setup({ rating: 'right', rationale: '' });
    expect(screen.getByRole('radiogroup', { name: /Semantic consistency/ })).toBeTruthy();
    const radios = screen.getAllByRole('radio');
    expect(radios.map((r) => r.dataset.testid)).toEqual(['choose-semantic-left', 'choose-semantic-tie', 'choose-semantic-right']);
    expect(radios.map((r) => r.getAttribute('aria-checked'))).toEqual(['false', 'false', 'true']);
    expect(radios.map((r) => r.tabIndex)).toEqual([-1, -1, 0]);
    expect(radios.map((r) => r.querySelector('kbd')?.textContent)).toEqual(['1', '2', '3']);
  });

  it('chooses a side on click', () => {
    const { onChoose } = setup({ rating: null, rationale: '' });
    fireEvent.click(screen.getByTestId('choose-semantic-tie'));
    expect(onChoose).toHaveBeenCalledWith('tie');
  });

  it('asks for a reason when a side is chosen, and makes it optional for a tie (unless_good)', () => {
    setup({ rating: 'left', rationale: '' });
    expect(screen.getByTestId('rationale-semantic').hasAttribute('required')).toBe(true);
    expect(screen.getByText('(required)')).toBeTruthy();
  });

  it('hides the optional reason of a tie behind a button, and keeps typed text shown', () => {
    setup({ rating: 'tie', rationale: '' });
    expect(screen.queryByTestId('rationale-semantic')).toBeNull();
    fireEvent.click(screen.getByTestId('rationale-add-semantic'));
    expect(screen.getByTestId('rationale-semantic').hasAttribute('required')).toBe(false);
  });

  it('always asks for a reason under the always policy', () => {
    const { onRationale } = setup({ rating: 'tie', rationale: 'same' }, 'always');
    const box = screen.getByTestId('rationale-semantic');
    expect(box.hasAttribute('required')).toBe(true);
    fireEvent.change(box, { target: { value: 'same to me' } });
    expect(onRationale).toHaveBeenCalledWith('same to me');
  });
});

describe('pair rules', () => {
  const c = campaign({ kind: 'pairwise' });
  const draft = (ratings: Record<string, DraftRating>) => ({ assignmentId: 1, campaignId: 7, ratings, timeSpentMs: 0, pending: null, updatedAt: 0 });

  it('requires a reason for a side, not for a tie (unless_good)', () => {
    expect(pairRationaleRequired('unless_good', 'left')).toBe(true);
    expect(pairRationaleRequired('unless_good', 'tie')).toBe(false);
    expect(pairRationaleRequired('unless_good', null)).toBe(true);
    expect(pairRationaleRequired('always', 'tie')).toBe(true);
  });

  it('names each missing choice and reason', () => {
    const errs = validatePairDraft(
      c,
      draft({ semantic: { rating: 'left', rationale: ' ' }, motion: { rating: 'tie', rationale: '' }, fidelity: { rating: 'Good', rationale: 'x' } }),
    );
    expect(Object.keys(errs)).toEqual(['semantic', 'fidelity']);
    expect(errs.semantic.rationale).toBeTruthy();
    expect(errs.fidelity.rating).toBeTruthy();
  });

  it('sends choices (trimmed), never ratings', () => {
    const body = buildPairSubmitBody(
      c,
      draft({ semantic: { rating: 'left', rationale: ' Sharper ' }, motion: { rating: 'tie', rationale: '' }, fidelity: { rating: 'right', rationale: 'Less blur' } }),
      1234.4,
    );
    expect(body).toEqual({
      choices: {
        semantic: { choice: 'left', rationale: 'Sharper' },
        motion: { choice: 'tie', rationale: '' },
        fidelity: { choice: 'right', rationale: 'Less blur' },
      },
      time_spent_ms: 1234,
    });
  });
});
