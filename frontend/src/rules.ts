// The campaign's rating rules, shared by the form and its tests.
import type { Campaign, RationalePolicy, SubmitBody } from './api';
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
  const ratings: SubmitBody['ratings'] = {};
  for (const dim of campaign.schema.dimensions) {
    const r = draft.ratings[dim.key];
    ratings[dim.key] = { rating: r?.rating ?? '', rationale: (r?.rationale ?? '').trim() };
  }
  return { ratings, time_spent_ms: Math.max(0, Math.round(timeSpentMs)) };
}
