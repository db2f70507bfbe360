import { describe, expect, it } from 'vitest';
import { compareMetrics, curvePoints, distributionShares, keyFigures, lineageEntries, metricSeries, peopleReviewText, positionBiasText } from './shaping';

describe('curves from job metrics', () => {
  it('reads the three point shapes', () => {
    expect(curvePoints('loss', [3, 2, 1])).toEqual({ name: 'loss', x: [0, 1, 2], y: [3, 2, 1] });
    expect(curvePoints('loss', [[10, 0.5], [20, 0.4]])).toEqual({ name: 'loss', x: [10, 20], y: [0.5, 0.4] });
    expect(curvePoints('reward', [{ step: 5, reward: 0.1 }, { step: 6, value: 0.2 }, { step: 7 }])).toEqual({
      name: 'reward',
      x: [5, 6],
      y: [0.1, 0.2],
    });
    expect(curvePoints('x', [])).toBeNull();
    expect(curvePoints('x', 'nope')).toBeNull();
  });

  it('takes every curve and top-level arrays named like curves, not id lists, scalars or one-point lists', () => {
    const s = metricSeries({
      curves: { loss: [1, 0.5], reward: [[1, 0.2]] },
      accuracy: 0.7,
      loss_curve: [[1, 2], [2, 1]],
      val_curve: [[5, 0.4]],
      candidate_prompt_ids: [3, 4, 5],
    });
    expect(s.map((x) => x.name)).toEqual(['loss', 'reward', 'loss_curve']);
    expect(metricSeries(null)).toEqual([]);
  });
});

describe('versions side by side', () => {
  it('compares the union of flattened scalar metrics with the change', () => {
    const rows = compareMetrics({ mean_accuracy: 0.6, val: { semantic: 0.5 }, curves: { loss: [1] } }, { mean_accuracy: 0.7, split: 'abc' });
    expect(rows).toEqual([
      { key: 'mean_accuracy', a: 0.6, b: 0.7, delta: expect.closeTo(0.1, 10) },
      { key: 'split', a: null, b: 'abc', delta: null },
      { key: 'val.semantic', a: 0.5, b: null, delta: null },
    ]);
  });

  it('lists lineage: weights, parent and job, then snapshot, critic and base version, long lists summarised', () => {
    const entries = lineageEntries({
      base: '/models/aligned-9',
      parent: 3,
      created_by_job: 9,
      lineage: { zeta: 1, critic: 4, snapshot: 2, base: 3, job: 9, candidate_video_ids: Array.from({ length: 40 }, (_, i) => i), reward_model: null },
    });
    expect(entries.map((e) => `${e.key}=${e.value}`)).toEqual([
      'weights=/models/aligned-9',
      'parent version=#3',
      'made by job=#9',
      'snapshot=#2',
      'critic version=#4',
      'base version=#3',
      'candidate_video_ids=40 items',
      'zeta=1',
    ]);
  });

  it('picks the key figures of each kind', () => {
    expect(keyFigures('critic', { mean_accuracy: 0.75123, loss: 1 })).toEqual([{ key: 'mean_accuracy', value: '0.7512' }]);
    expect(keyFigures('generator', { heldout_reward_before: 0.1, heldout_reward_after: 0.25 })).toEqual([
      { key: 'heldout_reward_after', value: '0.25' },
      { key: 'heldout_reward_before', value: '0.1' },
    ]);
  });
});

describe('distributions', () => {
  it('gives shares in the level order, with unseen levels at 0', () => {
    expect(distributionShares({ Good: 3, Bad: 1 }, ['Good', 'Normal', 'Bad'])).toEqual([
      { level: 'Good', count: 3, share: 0.75 },
      { level: 'Normal', count: 0, share: 0 },
      { level: 'Bad', count: 1, share: 0.25 },
    ]);
    expect(distributionShares({})).toEqual([]);
  });
});

describe('pairwise figures', () => {
  it('shows a preference critic by its pairwise accuracy', () => {
    expect(keyFigures('critic', { mean_accuracy_without_ties: 0.8125, test_pairs: 16 })).toEqual([
      { key: 'mean_accuracy_without_ties', value: '0.8125' },
      { key: 'test_pairs', value: '16' },
    ]);
  });

  it('writes an annotator\'s lean to the left, and nothing without sided choices', () => {
    expect(positionBiasText({ left_share: 0.9, p_value: 0.0002, sided_choices: 30, flagged: true })).toEqual({
      text: '90% left of 30 (p < 0.001)',
      flagged: true,
    });
    expect(positionBiasText({ left_share: 0.55, p_value: 0.6891, sided_choices: 20, flagged: false })?.text).toBe('55% left of 20 (p 0.69)');
    expect(positionBiasText({ left_share: null, p_value: null, sided_choices: 0, flagged: false })).toBeNull();
    expect(positionBiasText(undefined)).toBeNull();
  });
});

describe("people's review of a generator", () => {
  it('says who decided and why, and nothing before a review', () => {
    const reason = "people's ratings on 100 prompt-and-seed pairs: lead in mean reward +0.0687 ± 0.0134";
    expect(peopleReviewText({ people_review: { verdict: 'promote', reason } })).toEqual({
      verdict: 'promote',
      text: `promoted by people: ${reason}`,
    });
    expect(peopleReviewText({ people_review: { verdict: 'retire' } })).toEqual({ verdict: 'retire', text: 'retired by people' });
    expect(peopleReviewText({ heldout_reward_after: 0.2 })).toBeNull();
    expect(peopleReviewText({ people_review: 'promote' })).toBeNull();
  });
});
