// The campaign's rating rules, shared by the form and its tests.
import type { Campaign, DimensionChoice, PairSide, RationalePolicy, SubmitBody } from './api';
import type { Draft } from './draft';

export const RATIONALE_MAX = 2000;
export const GOOD = 'Good';

/** Whether a rationale must be written for a dimension rated `rating` (null: not rated yet). */
export function rationaleRequired(policy: RationalePolicy, rating: string | null): boolean {
  if (policy === 'always') return true;
  return rating !== GOOD;
}

export interface DimensionErrors {
  rating?: string;
  rationale?: string;
}

export function validateDraft(campaign: Campaign, draft: Draft): Record<string, DimensionErrors> {
  const errors: Record<string, DimensionErrors> = {};
  for (const dim of campaign.schema.dimensions) {
    const r = draft.ratings[dim.key] ?? { rating: null, rationale: '' };
    const e: DimensionErrors = {};
    if (!r.rating || !dim.levels.some((l) => l.value === r.rating)) e.rating = `Choose a rating for ${dim.label}.`;
    const text = r.rationale.trim();
    if (text.length > RATIONALE_MAX) e.rationale = `Keep the reason under ${RATIONALE_MAX} characters (now ${text.length}).`;
    else if (!text && rationaleRequired(campaign.rationale_policy, r.rating))
      e.rationale = `Explain the ${dim.label.toLowerCase()} rating.`;
    if (e.rating || e.rationale) errors[dim.key] = e;
  }
  return errors;
}

export function buildSubmitBody(campaign: Campaign, draft: Draft, timeSpentMs: number): SubmitBody {
  const ratings: NonNullable<SubmitBody['ratings']> = {};
  for (const dim of campaign.schema.dimensions) {
    const r = draft.ratings[dim.key];
    ratings[dim.key] = { rating: r?.rating ?? '', rationale: (r?.rationale ?? '').trim() };
  }
  return { ratings, time_spent_ms: Math.max(0, Math.round(timeSpentMs)) };
}

// ---- pairs: per dimension the left video, a tie or the right one ------------------------------------------
// The draft keeps the chosen side where a rating campaign keeps the level (Draft.ratings[key].rating).

export const PAIR_SIDES: { value: PairSide; label: string }[] = [
  { value: 'left', label: 'Left' },
  { value: 'tie', label: 'Tie' },
  { value: 'right', label: 'Right' },
];

export function isPairSide(x: unknown): x is PairSide {
  return x === 'left' || x === 'tie' || x === 'right';
}

/** As the server has it: `always`, or (unless_good) whenever a side is preferred; not yet chosen counts as a side. */
export function pairRationaleRequired(policy: RationalePolicy, choice: string | null): boolean {
  if (policy === 'always') return true;
  return choice !== 'tie';
}

export function validatePairDraft(campaign: Campaign, draft: Draft): Record<string, DimensionErrors> {
  const errors: Record<string, DimensionErrors> = {};
  for (const dim of campaign.schema.dimensions) {
    const r = draft.ratings[dim.key] ?? { rating: null, rationale: '' };
    const e: DimensionErrors = {};
    if (!isPairSide(r.rating)) e.rating = `Choose left, tie or right for ${dim.label}.`;
    const text = r.rationale.trim();
    if (text.length > RATIONALE_MAX) e.rationale = `Keep the reason under ${RATIONALE_MAX} characters (now ${text.length}).`;
    else if (!text && pairRationaleRequired(campaign.rationale_policy, r.rating))
      e.rationale = `Say why for ${dim.label.toLowerCase()}.`;
    if (e.rating || e.rationale) errors[dim.key] = e;
  }
  return errors;
}

export function buildPairSubmitBody(campaign: Campaign, draft: Draft, timeSpentMs: number): SubmitBody {
  const choices: Record<string, DimensionChoice> = {};
  for (const dim of campaign.schema.dimensions) {
    const r = draft.ratings[dim.key];
    // Not chosen is sent as it is (the server refuses it), never quietly as a tie; validatePairDraft comes first.
    choices[dim.key] = { choice: (r?.rating ?? '') as PairSide, rationale: (r?.rationale ?? '').trim() };
  }
  return { choices, time_spent_ms: Math.max(0, Math.round(timeSpentMs)) };
}
