import { fireEvent, render, screen } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import type { RationalePolicy } from '../api';
import type { DraftRating } from '../draft';
import { campaign } from '../test/fixtures';
import { DimensionRater } from './DimensionRater';

const dim = campaign().schema.dimensions[0];

function setup(value: DraftRating, policy: RationalePolicy = 'unless_good') {
  const onRate = vi.fn();
  const onRationale = vi.fn();
  render(
    <DimensionRater
      dimension={dim}
      index={0}
      value={value}
      policy={policy}
      focused
      onRate={onRate}
      onRationale={onRationale}
      onFocusDimension={() => {}}
    />,
  );
  return { onRate, onRationale };
}

describe('DimensionRater', () => {
  it('is a labelled radio group with one tab stop and criteria as description', () => {
    setup({ rating: 'Normal', rationale: '' });
    const group = screen.getByRole('radiogroup', { name: /Semantic consistency/ });
    const radios = screen.getAllByRole('radio');
    expect(group).toBeTruthy();
    expect(radios.map((r) => r.getAttribute('aria-checked'))).toEqual(['false', 'true', 'false']);
    expect(radios.map((r) => r.tabIndex)).toEqual([-1, 0, -1]);
    expect(screen.getByRole('radio', { name: 'Good', description: 'Matches fully' })).toBeTruthy();
    expect(screen.getByRole('radio', { name: 'Bad', description: 'Largely inconsistent' })).toBeTruthy();
  });

  it('shows the hovered or focused level criteria', () => {
    setup({ rating: null, rationale: '' });
    expect(screen.queryByTestId('criteria-semantic')).toBeNull();
    fireEvent.mouseEnter(screen.getByTestId('rate-semantic-Bad'));
    expect(screen.getByTestId('criteria-semantic').textContent).toContain('Largely inconsistent');
    fireEvent.focus(screen.getByTestId('rate-semantic-Good'));
    expect(screen.getByTestId('criteria-semantic').textContent).toContain('Matches fully');
  });

  it('rates on click', () => {
    const { onRate } = setup({ rating: null, rationale: '' });
    fireEvent.click(screen.getByTestId('rate-semantic-Bad'));
    expect(onRate).toHaveBeenCalledWith('Bad');
  });

  it('counts characters against the 2000 limit', () => {
    const { onRationale } = setup({ rating: 'Bad', rationale: 'Wrong colour' });
    const box = screen.getByTestId('rationale-semantic') as HTMLTextAreaElement;
    expect(box.maxLength).toBe(2000);
    expect(screen.getByRole('textbox', { name: 'Reason for Semantic consistency (required)' })).toBe(box);
    expect(screen.getByTestId('rationale-count-semantic').textContent).toContain('12/2000');
    fireEvent.change(box, { target: { value: 'abc' } });
    expect(onRationale).toHaveBeenCalledWith('abc');
    expect(box.getAttribute('aria-describedby')).toContain('dim-semantic-count');
  });

  it('marks the counter near the limit', () => {
    setup({ rating: 'Bad', rationale: 'x'.repeat(1990) });
    const c = screen.getByTestId('rationale-count-semantic');
    expect(c.textContent).toContain('1990/2000');
    expect(c.className).toContain('is-near');
  });

  describe('rationale policy', () => {
    it('"always": a required box for every rating, Good included', () => {
      setup({ rating: 'Good', rationale: '' }, 'always');
      expect((screen.getByTestId('rationale-semantic') as HTMLTextAreaElement).required).toBe(true);
      expect(screen.getByText('(required)')).toBeTruthy();
    });

    it('"unless_good": required for Normal/Bad', () => {
      setup({ rating: 'Bad', rationale: '' });
      expect((screen.getByTestId('rationale-semantic') as HTMLTextAreaElement).required).toBe(true);
    });

    it('"unless_good": optional and folded for Good, opens on request', () => {
      setup({ rating: 'Good', rationale: '' });
      expect(screen.queryByTestId('rationale-semantic')).toBeNull();
      fireEvent.click(screen.getByTestId('rationale-add-semantic'));
      const box = screen.getByTestId('rationale-semantic') as HTMLTextAreaElement;
      expect(box.required).toBe(false);
      expect(screen.getByText('(optional)')).toBeTruthy();
    });

    it('"unless_good": a Good rating with text keeps its box', () => {
      setup({ rating: 'Good', rationale: 'Crisp' });
      expect(screen.getByTestId('rationale-semantic')).toBeTruthy();
    });
  });

  it('moves focus to the newly checked radio when the rating changes under the keyboard', () => {
    const props = {
      dimension: dim,
      index: 0,
      policy: 'always' as RationalePolicy,
      focused: true,
      onRate: () => {},
      onRationale: () => {},
      onFocusDimension: () => {},
    };
    const { rerender } = render(<DimensionRater {...props} value={{ rating: null, rationale: '' }} />);
    screen.getByTestId('rate-semantic-Good').focus();
    rerender(<DimensionRater {...props} value={{ rating: 'Normal', rationale: '' }} />);
    expect(document.activeElement).toBe(screen.getByTestId('rate-semantic-Normal'));
    // Focus elsewhere (the reason box) stays where it is.
    screen.getByTestId('rationale-semantic').focus();
    rerender(<DimensionRater {...props} value={{ rating: 'Bad', rationale: '' }} />);
    expect(document.activeElement).toBe(screen.getByTestId('rationale-semantic'));
  });
});
