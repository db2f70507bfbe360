import { useLayoutEffect, useRef, useState } from 'react';
import type { Dimension, RationalePolicy } from '../api';
import type { DraftRating } from '../draft';
import { PAIR_SIDES, RATIONALE_MAX, pairRationaleRequired, type DimensionErrors } from '../rules';

interface Props {
  dimension: Dimension;
  index: number;
  /** `rating` holds the chosen side (left, tie or right). */
  value: DraftRating;
  policy: RationalePolicy;
  focused: boolean;
  disabled?: boolean;
  errors?: DimensionErrors;
  onChoose: (side: string) => void;
  onRationale: (text: string) => void;
  onFocusDimension: () => void;
}

/** One dimension of a pair: left, tie or right (keys 1 2 3, or ← → on the group), and the reason. The pair
 *  counterpart of DimensionRater, with the same roving tab stop and ids, so the task view drives both alike. */
export function PairChooser({ dimension: dim, index, value, policy, focused, disabled, errors, onChoose, onRationale, onFocusDimension }: Props) {
  const [optionalOpen, setOptionalOpen] = useState(false);
  const required = pairRationaleRequired(policy, value.rating);
  const showBox = required || optionalOpen || value.rationale !== '';
  const base = `dim-${dim.key}`;
  const checkedIndex = PAIR_SIDES.findIndex((s) => s.value === value.rating);
  const tabStop = checkedIndex >= 0 ? checkedIndex : 0;
  const count = value.rationale.length;
  const group = useRef<HTMLDivElement>(null);

  // As in DimensionRater: focus follows the checked side while it is in this group.
  useLayoutEffect(() => {
    const g = group.current;
    const active = typeof document === 'undefined' ? null : document.activeElement;
    if (!g || checkedIndex < 0 || !active || !g.contains(active)) return;
    if (active.getAttribute('data-level-index') !== String(checkedIndex))
      g.querySelector<HTMLElement>(`[data-level-index="${checkedIndex}"]`)?.focus();
  }, [checkedIndex]);

  const chosen = checkedIndex >= 0 ? PAIR_SIDES[checkedIndex].label.toLowerCase() : null;

  return (
    <section className={`dimension${focused ? ' is-focused' : ''}`} data-testid={`dimension-${dim.key}`} aria-labelledby={`${base}-label`}>
      <div className="dimension-head">
        <h3 id={`${base}-label`}>
          <span className="dim-index" aria-hidden="true">
            {index + 1}
          </span>
          {dim.label}
        </h3>
        <p id={`${base}-question`} className="question">
          {dim.question} Which video is better?
        </p>
      </div>
      <div
        ref={group}
        role="radiogroup"
        className="levels pair-sides"
        aria-labelledby={`${base}-label`}
        aria-describedby={`${base}-question${errors?.rating ? ` ${base}-rating-error` : ''}`}
        aria-required="true"
        aria-invalid={errors?.rating ? true : undefined}
        data-dimension={dim.key}
      >
        {PAIR_SIDES.map((side, i) => {
          const checked = i === checkedIndex;
          return (
            <div
              key={side.value}
              role="radio"
              aria-checked={checked}
              aria-disabled={disabled || undefined}
              tabIndex={i === tabStop ? 0 : -1}
              className={`level side-${side.value}${checked ? ' is-checked' : ''}`}
              data-testid={`choose-${dim.key}-${side.value}`}
              data-level-index={i}
              title={side.value === 'tie' ? 'Neither is better' : `The ${side.value} video is better`}
              onClick={() => !disabled && onChoose(side.value)}
              onFocus={onFocusDimension}
            >
              <kbd aria-hidden="true">{i + 1}</kbd> {side.value === 'left' ? '◀ ' : ''}
              {side.label}
              {side.value === 'right' ? ' ▶' : ''}
            </div>
          );
        })}
      </div>
      {errors?.rating && (
        <p id={`${base}-rating-error`} className="field-error" data-testid={`rating-error-${dim.key}`}>
          {errors.rating}
        </p>
      )}
      {showBox ? (
        <div className="rationale">
          <div className="rationale-head">
            <label htmlFor={`rationale-${dim.key}`}>
              Reason <span className="sr-only">for {dim.label}</span>{' '}
              {required ? <span className="req">(required)</span> : <span className="muted">(optional)</span>}
            </label>
            <span id={`${base}-count`} className={`counter${count > RATIONALE_MAX * 0.9 ? ' is-near' : ''}`} data-testid={`rationale-count-${dim.key}`}>
              {count}/{RATIONALE_MAX}
              <span className="sr-only"> characters</span>
            </span>
          </div>
          <textarea
            id={`rationale-${dim.key}`}
            data-testid={`rationale-${dim.key}`}
            rows={2}
            maxLength={RATIONALE_MAX}
            value={value.rationale}
            disabled={disabled}
            required={required}
            aria-invalid={errors?.rationale ? true : undefined}
            aria-describedby={`${base}-count${errors?.rationale ? ` ${base}-rationale-error` : ''}`}
            onChange={(e) => onRationale(e.target.value)}
            onFocus={onFocusDimension}
            placeholder={
              chosen === 'tie' ? 'Why are they equal?' : chosen ? `What makes the ${chosen} one better?` : 'Which is better, and why?'
            }
          />
          {errors?.rationale && (
            <p id={`${base}-rationale-error`} className="field-error" data-testid={`rationale-error-${dim.key}`}>
              {errors.rationale}
            </p>
          )}
        </div>
      ) : (
        <button
          type="button"
          className="link-button"
          data-testid={`rationale-add-${dim.key}`}
          disabled={disabled}
          onClick={() => {
            setOptionalOpen(true);
            requestAnimationFrame(() => document.getElementById(`rationale-${dim.key}`)?.focus());
          }}
        >
          + Add a reason (optional for a tie)
        </button>
      )}
    </section>
  );
}
