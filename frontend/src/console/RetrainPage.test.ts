import { describe, expect, it } from 'vitest';
import { buildParams, initialValues, kindSpec } from './jobForms';
import { policyChanges } from './RetrainPage';
import { loopStages } from './shaping';

const form = {
  enabled: true,
  min_new_annotations: '300',
  check_every_minutes: '15',
  stages: 'snapshot, train_critic',
  source_campaign_ids: '2 3',
  next_round_campaign: '',
  generator_gate: 'people',
  candidates: '{"count": 8}',
  next_round: '{}',
  critic: '{"steps": 5}',
  align: '{}',
};

describe('retrain policy form', () => {
  it('builds the PUT body', () => {
    expect(policyChanges(form)).toEqual({
      body: {
        enabled: true,
        min_new_annotations: 300,
        check_every_minutes: 15,
        stages: ['snapshot', 'train_critic'],
        source_campaign_ids: [2, 3],
        next_round_campaign: null,
        generator_gate: 'people',
        candidates: { count: 8 },
        next_round: {},
        critic: { steps: 5 },
        align: {},
      },
      errors: {},
    });
  });

  it('sends each gate as chosen, and the critic for anything else', () => {
    for (const gate of ['critic', 'people', 'critic_first']) {
      expect(policyChanges({ ...form, generator_gate: gate }).body.generator_gate).toBe(gate);
    }
    expect(policyChanges({ ...form, generator_gate: 'vote' }).body.generator_gate).toBe('critic');
  });

  it('names every bad field', () => {
    const bad = { ...form, min_new_annotations: '0', stages: 'snapshot, dance', next_round_campaign: 'x', align: '[1]', critic: '{' };
    expect(Object.keys(policyChanges(bad).errors).sort()).toEqual(['align', 'critic', 'min_new_annotations', 'next_round_campaign', 'stages']);
  });
});

describe('retrain loop launch', () => {
  it('sends stages, rounds and nested stage settings', () => {
    const spec = kindSpec('retrain_loop')!;
    const v = {
      ...initialValues(spec),
      stages: 'snapshot, generate_candidates, generate_next_round',
      candidate_prompt_ids: '1, 2',
      candidate_seeds: '0, 1',
      next_round_count: '4',
      next_round_campaign: '9',
      align_steps: '2',
      generator_gate: 'people',
    };
    expect(buildParams(spec, v)).toEqual({
      params: {
        stages: ['snapshot', 'generate_candidates', 'generate_next_round'],
        review_states: ['pending', 'accepted', 'corrected'],
        next_round_campaign: 9,
        generator_gate: 'people',
        candidates: { prompt_ids: [1, 2], seeds: [0, 1] },
        next_round: { count: 4, seeds: [0] },
        align: { settings: { steps: 2 } },
      },
      errors: {},
    });
    expect(buildParams(spec, { ...v, stages: 'snapshot, nap' }).errors).toEqual({ stages: 'Unknown stage: nap.' });
  });

  it('reads the stages a loop records', () => {
    expect(loopStages({ stages: [{ name: 'snapshot', status: 'succeeded', job: 4, outcome: 'snapshot 2' }, { name: 'score' }, 7] })).toEqual([
      { name: 'snapshot', status: 'succeeded', job: 4, outcome: 'snapshot 2' },
      { name: 'score', status: 'pending', job: null, outcome: '' },
    ]);
    expect(loopStages({ loss: 1 })).toBeNull();
  });
});
