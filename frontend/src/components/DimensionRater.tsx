import { useLayoutEffect, useRef, useState } from 'react';
import type { Dimension, RationalePolicy } from '../api';
import type { DraftRating } from '../draft';
import { GOOD, RATIONALE_MAX, rationaleRequired, type DimensionErrors } from '../rules';

interface Props {
  dimension: Dimension;
  index: number;
  value: DraftRating;
  policy: RationalePolicy;
  focused: boolean;
  disabled?: boolean;
  errors?: DimensionErrors;
  onRate: (level: string) => void;
  onRationale: (text: string) => void;
  onFocusDimension: () => void;
}

function levelClass(value: string): string {
  return `level level-${value.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
}

export function DimensionRater({
  dimension: dim,
  index,
  value,
  policy,
  focused,
  disabled,
  errors,
  onRate,
  onRationale,
  onFocusDimension,
}: Props) {
  const [hover, setHover] = useState<number | null>(null);
  const [optionalOpen, setOptionalOpen] = useState(false);
  const required = rationaleRequired(policy, value.rating);
  const showBox = required || optionalOpen || value.rationale !== '' || value.rating !== GOOD;
  const base = `dim-${dim.key}`;
  const checkedIndex = dim.levels.findIndex((l) => l.value === value.rating);
  const tabStop = checkedIndex >= 0 ? checkedIndex : 0;
  const shown = hover ?? (checkedIndex >= 0 ? checkedIndex : null);
  const count = value.rationale.length;
  const group = useRef<HTMLDivElement>(null);

  // Roving tab stop: when the rating changes (a digit or an arrow key) while focus is in this group,
  // focus follows the checked radio, so Tab goes on to the reason box rather than to the new tab stop.
  useLayoutEffect(() => {
    const g = group.current;
    const active = typeof document === 'undefined' ? null : document.activeElement;
    if (!g || checkedIndex < 0 || !active || !g.contains(active)) return;
    if (active.getAttribute('data-level-index') !== String(checkedIndex))
      g.querySelector<HTMLElement>(`[data-level-index="${checkedIndex}"]`)?.focus();
  }, [checkedIndex]);

  return (
    <section
      className={`dimension${focused ? ' is-focused' : ''}`}
      onMouseLeave={() => setHover(null)}
      data-testid={`dimension-${dim.key}`}
      aria-labelledby={`${base}-label`}
    >
      <div className="dimension-head">
        <h3 id={`${base}-label`}>
          <span className="dim-index" aria-hidden="true">
            {index + 1}
          </span>
          {dim.label}
        </h3>
        <p id={`${base}-question`} className="question">
          {dim.question}
        </p>
      </div>
      <div
        ref={group}
        role="radiogroup"
        className="levels"
        aria-labelledby={`${base}-label`}
        aria-describedby={`${base}-question${errors?.rating ? ` ${base}-rating-error` : ''}`}
        aria-required="true"
        aria-invalid={errors?.rating ? true : undefined}
        data-dimension={dim.key}
      >
        {dim.levels.map((level, i) => {
          const checked = i === checkedIndex;
          return (
            <div
              key={level.value}
              role="radio"
              aria-checked={checked}
              aria-disabled={disabled || undefined}
              aria-describedby={`${base}-crit-${i}`}
              tabIndex={i === tabStop ? 0 : -1}
              className={`${levelClass(level.value)}${checked ? ' is-checked' : ''}`}
              data-testid={`rate-${dim.key}-${level.value}`}
              data-level-index={i}
              title={level.criteria}
              onClick={() => !disabled && onRate(level.value)}
              onFocus={() => {
                setHover(i);
                onFocusDimension();
              }}
              onBlur={() => setHover(null)}
              onMouseEnter={() => setHover(i)}
            >
              <kbd aria-hidden="true">{i + 1}</kbd> {level.value}
            </div>
          );
        })}
      </div>
      <div hidden>
        {dim.levels.map((level, i) => (
          <span key={level.value} id={`${base}-crit-${i}`}>
            {level.criteria}
          </span>
        ))}
      </div>
      {shown !== null && (
        // Criteria of the hovered/focused level, floating over the reason box (no layout shift).
        <p className="criteria" aria-hidden="true" data-testid={`criteria-${dim.key}`}>
          <strong>{dim.levels[shown].value}:</strong> {dim.levels[shown].criteria}
        </p>
      )}
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
            <span
              id={`${base}-count`}
              className={`counter${count > RATIONALE_MAX * 0.9 ? ' is-near' : ''}`}
              data-testid={`rationale-count-${dim.key}`}
            >
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
            placeholder={`What makes the ${dim.label.toLowerCase()} ${value.rating ?? '…'}?`}
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
          + Add a reason (optional for {GOOD})
        </button>
      )}
    </section>
  );
}
