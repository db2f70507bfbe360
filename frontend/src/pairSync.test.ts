import { describe, expect, it } from 'vitest';
import { MAX_NUDGE, frameAt, frameDuration, seekTarget, stepTarget, syncDecision } from './pairSync';

const base = { fps: 8, rate: 1 };

describe('syncDecision', () => {
  it('leaves a follower on the leader alone, at the common speed', () => {
    expect(syncDecision({ ...base, leader: 1.0, follower: 1.0, playing: true })).toEqual({ kind: 'rate', rate: 1 });
    expect(syncDecision({ ...base, leader: 1.0, follower: 1.0, playing: false })).toEqual({ kind: 'none', rate: 1 });
    expect(syncDecision({ ...base, rate: 1.5, leader: 1.0, follower: 1.005, playing: true })).toEqual({ kind: 'rate', rate: 1.5 });
  });

  it('nudges the speed of a playing follower a little ahead or behind', () => {
    const ahead = syncDecision({ ...base, leader: 1.0, follower: 1.05, playing: true });
    expect(ahead.kind).toBe('rate');
    expect(ahead.rate).toBeLessThan(1);
    expect(ahead.rate).toBeGreaterThanOrEqual(1 - MAX_NUDGE);
    const behind = syncDecision({ ...base, rate: 2, leader: 1.0, follower: 0.95, playing: true });
    expect(behind.kind).toBe('rate');
    expect(behind.rate).toBeGreaterThan(2);
    expect(behind.rate).toBeLessThanOrEqual(2 * (1 + MAX_NUDGE));
  });

  it('seeks a playing follower more than a frame away, a little ahead to make up for the seek', () => {
    const d = syncDecision({ ...base, leader: 1.0, follower: 1.3, playing: true });
    expect(d.kind).toBe('seek');
    if (d.kind === 'seek') {
      expect(d.to).toBeGreaterThanOrEqual(1.0);
      expect(d.to - 1.0).toBeLessThan(frameDuration(8));
    }
    expect(syncDecision({ ...base, leader: 2.0, follower: 0.1, playing: true }).kind).toBe('seek');
  });

  it('puts a paused follower exactly on the leader', () => {
    expect(syncDecision({ ...base, leader: 0.6875, follower: 0.5, playing: false })).toEqual({ kind: 'seek', to: 0.6875, rate: 1 });
    expect(syncDecision({ ...base, leader: 0.6875, follower: 0.6876, playing: false }).kind).toBe('none');
  });

  it('waits for a follower still seeking', () => {
    expect(syncDecision({ ...base, leader: 1, follower: 0, playing: true, followerSeeking: true }).kind).toBe('none');
  });

  it('scales its thresholds with the frame rate', () => {
    // 60 ms apart: more than a frame at 30 fps, less than one at 8 fps.
    expect(syncDecision({ ...base, fps: 30, leader: 1.0, follower: 1.07, playing: true }).kind).toBe('seek');
    expect(syncDecision({ ...base, fps: 8, leader: 1.0, follower: 1.06, playing: true }).kind).toBe('rate');
  });
});

describe('stepTarget and seekTarget', () => {
  it('steps to the middle of the next or previous frame, within the video', () => {
    expect(stepTarget(0, 1, 8, 16)).toBeCloseTo(1.5 / 8);
    expect(stepTarget(1.5 / 8, 1, 8, 16)).toBeCloseTo(2.5 / 8);
    expect(stepTarget(2.5 / 8, -1, 8, 16)).toBeCloseTo(1.5 / 8);
    expect(stepTarget(0.01, -1, 8, 16)).toBeCloseTo(0.5 / 8);
    expect(stepTarget(15.5 / 8, 1, 8, 16)).toBeCloseTo(15.5 / 8);
    // A time exactly on a frame boundary counts as that frame.
    expect(stepTarget(3 / 8, 1, 8, 16)).toBeCloseTo(4.5 / 8);
  });

  it('clamps a seek into the shorter video', () => {
    expect(seekTarget(1.2, [2, 3])).toBe(1.2);
    expect(seekTarget(2.5, [2, 3])).toBe(2);
    expect(seekTarget(-1, [2, 3])).toBe(0);
    expect(seekTarget(1, [NaN, 0])).toBe(1);
  });

  it('numbers frames from 1', () => {
    expect(frameAt(0, 8, 16)).toBe(1);
    expect(frameAt(1.5 / 8, 8, 16)).toBe(2);
    expect(frameAt(99, 8, 16)).toBe(16);
  });
});
