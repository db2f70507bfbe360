import { describe, expect, it } from 'vitest';
import { SPEEDS, nextSpeed } from './VideoPlayer';

describe('nextSpeed', () => {
  it('steps along the speeds the menu offers and holds at either end', () => {
    expect(nextSpeed(1, 1)).toBe(1.25);
    expect(nextSpeed(1, -1)).toBe(0.75);
    expect(nextSpeed(SPEEDS[SPEEDS.length - 1], 1)).toBe(SPEEDS[SPEEDS.length - 1]);
    expect(nextSpeed(SPEEDS[0], -1)).toBe(SPEEDS[0]);
  });

  it('starts from normal speed when the rate is not on the menu', () => {
    expect(nextSpeed(1.1, 1)).toBe(1.25);
  });
});
