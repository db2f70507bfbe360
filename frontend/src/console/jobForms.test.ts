import { describe, expect, it } from 'vitest';
import { buildParams, initialValues, JOB_KINDS, kindSpec, parseField, serverFieldErrors } from './jobForms';
import { JOB_PARAM_HELP } from './jobParamHelp';

const spec = (kind: string) => kindSpec(kind)!;

describe('job launch forms', () => {
  it("shows the API schema's description of a parameter where it has one, else its own help", () => {
    const field = (kind: string, name: string) => spec(kind).fields.find((f) => f.name === name)!;
    expect(field('train_critic', 'steps').help).toBe(JOB_PARAM_HELP.train_critic.steps);
    expect(field('train_critic', 'steps').help).toMatch(/steps/i);
    expect(field('align', 'learning_rate').help).toBe(JOB_PARAM_HELP.align['settings.learning_rate']);
    expect(field('generate', 'prompt_ids').help).toBe('Comma-separated; or draw from the prompt bank below.');
  });

  it('has a form for every job kind', () => {
    expect(JOB_KINDS.map((k) => k.kind).sort()).toEqual(['align', 'generate', 'retrain_loop', 'score', 'snapshot', 'train_critic']);
  });

  it('turns a snapshot form into the filters the server takes', () => {
    const v = { ...initialValues(spec('snapshot')), campaign_ids: '3, 1 3', seed: '7', include_videos: true };
    expect(buildParams(spec('snapshot'), v)).toEqual({
      params: { filters: { campaign_ids: [3, 1], review_states: ['pending', 'accepted', 'corrected'] }, seed: 7, include_videos: true },
      errors: {},
    });
  });

  it('refuses bad numbers, ranges, states and dates before sending', () => {
    const v = { ...initialValues(spec('snapshot')), campaign_ids: '1, x', seed: '-1', review_states: 'accepted, lost', since: 'soon' };
    const { errors } = buildParams(spec('snapshot'), v);
    expect(errors).toEqual({
      campaign_ids: 'Whole numbers separated by commas.',
      seed: 'At least 0.',
      review_states: 'Unknown review state: lost.',
      since: 'Not a date (use 2026-11-21 or an ISO date-time).',
    });
  });

  it('needs prompts or a bank draw for generate, and nests the draw under combine', () => {
    const base = { ...initialValues(spec('generate')), generator_version: '2' };
    expect(buildParams(spec('generate'), base).errors).toEqual({
      prompt_ids: 'Give prompt ids, or a number of prompts to draw from the bank.',
    });
    // The draw seed alone (it has a default) does not make a draw.
    expect(buildParams(spec('generate'), { ...base, prompt_ids: '7' }).params).toEqual({ generator_version: 2, prompt_ids: [7], seeds: [0] });
    const drawn = buildParams(spec('generate'), { ...base, combine_count: '5', combine_seed: '9', seeds: '0,1', campaign: '4' });
    expect(drawn).toEqual({
      params: { generator_version: 2, combine: { count: 5, seed: 9 }, seeds: [0, 1], campaign: 4 },
      errors: {},
    });
    expect(buildParams(spec('generate'), { ...base, generator_version: '' }).errors.generator_version).toBe('Required.');
  });

  it('builds align params with nested candidates, held-out draw and settings, merging the extra JSON', () => {
    const v = { ...initialValues(spec('align')), generator_version: '1', candidate_video_ids: '5,6', extra: '{"settings": {"lora_rank": 8}}' };
    const { params, errors } = buildParams(spec('align'), v);
    expect(errors).toEqual({});
    expect(params).toEqual({
      generator_version: 1,
      objective: 'reward_weighted',
      candidates: { video_ids: [5, 6] },
      heldout: { count: 4, seed: 0, seeds: [0] },
      settings: { steps: 100, learning_rate: 1e-5, real_weight: 0, lora_rank: 8 },
    });
    expect(buildParams(spec('align'), { ...v, candidate_video_ids: '' }).errors.candidate_video_ids).toMatch(/candidate/);
    expect(buildParams(spec('align'), { ...v, candidate_count: '3' }).errors.candidate_count).toMatch(/not both/);
    expect(buildParams(spec('align'), { ...v, extra: '[1]' }).errors.extra).toBe('A JSON object, like {"key": 1}.');
    expect(buildParams(spec('align'), { ...v, extra: '{oops' }).errors.extra).toBe('Not valid JSON.');
  });

  it('checks floats and choices', () => {
    const lr = spec('align').fields.find((f) => f.name === 'learning_rate')!;
    expect(parseField(lr, '1e-5')).toEqual({ value: 1e-5 });
    expect(parseField(lr, 'fast')).toEqual({ error: 'A number.' });
    expect(parseField(lr, '2')).toEqual({ error: 'At most 1.' });
    const objective = spec('align').fields.find((f) => f.name === 'objective')!;
    expect(parseField(objective, 'dpo').error).toBe('One of reward_weighted, rejection, edit_reward.');
  });

  it('puts the server’s field errors under the fields they name', () => {
    expect(
      serverFieldErrors(spec('snapshot'), { campaign_ids: 'unknown', 'filters.review_states': 'unknown state', other: 'x' }),
    ).toEqual({ campaign_ids: 'unknown', review_states: 'unknown state' });
    expect(serverFieldErrors(spec('generate'), { seeds: 'invalid', mystery: 'odd' })).toEqual({ seeds: 'invalid', extra: 'odd' });
  });
});
