import { describe, expect, it } from 'vitest';
import { settingsPatch, settingsValues } from './campaignForm';
import type { AdminCampaign } from './consoleApi';

const campaign = {
  id: 1, name: 'C', kind: 'rating', guidelines: '', schema: { dimensions: [] }, rationale_policy: 'always', lease_seconds: 600,
  overlap: 3, progress: { done: 0, skipped: 0, remaining: 0 }, is_active: true, gold_rate: 0, task_order: 'priority',
  consensus_method: 'majority', quality_settings: {}, created_at: '2026-01-01T00:00:00Z',
} as AdminCampaign;

describe('campaign settings', () => {
  it('sends only what changed', () => {
    const v = { ...settingsValues(campaign), overlap: '5', gold_rate: '0.1', task_order: 'uncertainty', consensus_method: 'dawid_skene' };
    expect(settingsPatch(campaign, v)).toEqual({
      body: { overlap: 5, gold_rate: 0.1, task_order: 'uncertainty', consensus_method: 'dawid_skene' },
      errors: {},
    });
    expect(settingsPatch(campaign, settingsValues(campaign)).body).toEqual({});
  });

  it('refuses out-of-range values', () => {
    const v = { ...settingsValues(campaign), name: ' ', overlap: '0', lease_seconds: '10', gold_rate: '1', task_order: 'random' };
    expect(Object.keys(settingsPatch(campaign, v).errors).sort()).toEqual(['gold_rate', 'lease_seconds', 'name', 'overlap', 'task_order']);
  });

  it('never sends gold rate or task order to a server that does not show them', () => {
    const older = { ...campaign } as Partial<AdminCampaign>;
    delete older.gold_rate;
    delete older.task_order;
    delete older.consensus_method;
    const v = { ...settingsValues(older as AdminCampaign), overlap: '4' };
    expect(settingsPatch(older as AdminCampaign, v)).toEqual({ body: { overlap: 4 }, errors: {} });
  });
});
