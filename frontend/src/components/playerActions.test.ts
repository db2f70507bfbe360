import { describe, expect, it, vi } from 'vitest';
import type { PairPlayersHandle } from './PairPlayers';
import { actOnPlayer } from './playerActions';

const handle = (): PairPlayersHandle => ({
  togglePlay: vi.fn(), step: vi.fn(), changeSpeed: vi.fn(), toggleFullscreen: vi.fn(), toggleLink: vi.fn(),
});

describe('actOnPlayer', () => {
  it('drives the pair when the view shows one, else the single player', () => {
    const single = handle();
    const pair = handle();
    expect(actOnPlayer({ type: 'speed', delta: 1 }, single, pair)).toBe(true);
    expect(pair.changeSpeed).toHaveBeenCalledWith(1);
    expect(single.changeSpeed).not.toHaveBeenCalled();
    expect(actOnPlayer({ type: 'step', frames: -1 }, single, null)).toBe(true);
    expect(single.step).toHaveBeenCalledWith(-1);
  });

  it('links only a pair, and leaves other actions to the view', () => {
    const single = handle();
    expect(actOnPlayer({ type: 'toggleLink' }, single, null)).toBe(false);
    expect(single.toggleLink).not.toHaveBeenCalled();
    expect(actOnPlayer({ type: 'submit' }, single, null)).toBeNull();
  });
});
