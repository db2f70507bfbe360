// Campaign settings: the form's strings checked and turned into a PATCH body of what changed. Pure.
import type { AdminCampaign } from './consoleApi';

export interface SettingsValues {
  name: string;
  overlap: string;
  lease_seconds: string;
  rationale_policy: string;
  gold_rate: string;
  task_order: string;
  consensus_method: string;
  is_active: boolean;
}

export function settingsValues(c: AdminCampaign): SettingsValues {
  return {
    name: c.name,
    overlap: String(c.overlap),
    lease_seconds: String(c.lease_seconds),
    rationale_policy: c.rationale_policy,
    gold_rate: c.gold_rate === undefined ? '' : String(c.gold_rate),
    task_order: c.task_order ?? '',
    consensus_method: c.consensus_method ?? '',
    is_active: c.is_active,
  };
}

function wholeIn(text: string, lo: number, hi: number): number | null {
  if (!/^\d+$/.test(text.trim())) return null;
  const n = Number(text);
  return n >= lo && n <= hi ? n : null;
}

/** The changed settings as a PATCH body, or per-field messages. Fields the server does not send
 *  (gold_rate, task_order, consensus_method: admins only) are never sent back. */
export function settingsPatch(
  campaign: AdminCampaign,
  v: SettingsValues,
): { body: Record<string, unknown>; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const next: Record<string, unknown> = {};
  if (!v.name.trim()) errors.name = 'Required.';
  else next.name = v.name.trim();
  const overlap = wholeIn(v.overlap, 1, 50);
  if (overlap === null) errors.overlap = 'A whole number from 1 to 50.';
  else next.overlap = overlap;
  const lease = wholeIn(v.lease_seconds, 30, 24 * 3600);
  if (lease === null) errors.lease_seconds = 'Seconds, from 30 to 86400.';
  else next.lease_seconds = lease;
  if (!['always', 'unless_good'].includes(v.rationale_policy)) errors.rationale_policy = 'always or unless_good.';
  else next.rationale_policy = v.rationale_policy;
  next.is_active = v.is_active;
  if (campaign.gold_rate !== undefined) {
    const rate = Number(v.gold_rate);
    if (v.gold_rate.trim() === '' || !Number.isFinite(rate) || rate < 0 || rate >= 1)
      errors.gold_rate = 'A share from 0 up to (not including) 1: 0.1 = one task in ten is gold.';
    else next.gold_rate = rate;
  }
  if (campaign.task_order !== undefined) {
    if (!['priority', 'uncertainty'].includes(v.task_order)) errors.task_order = 'priority or uncertainty.';
    else next.task_order = v.task_order;
  }
  if (campaign.consensus_method !== undefined) {
    if (!['majority', 'dawid_skene'].includes(v.consensus_method)) errors.consensus_method = 'majority or dawid_skene.';
    else next.consensus_method = v.consensus_method;
  }
  const body: Record<string, unknown> = {};
  for (const [k, value] of Object.entries(next))
    if ((campaign as unknown as Record<string, unknown>)[k] !== value) body[k] = value;
  return { body, errors };
}
