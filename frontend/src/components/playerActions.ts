// The task view's player keys, carried out on whichever player it shows (one video, or the pair).
import type { Action } from '../keyboard';
import type { PairPlayersHandle } from './PairPlayers';
import type { VideoPlayerHandle } from './VideoPlayer';

/** Carries out a player action: true when done, false when it does not apply here (linking without a pair),
 *  null when `action` is not a player action at all. */
export function actOnPlayer(action: Action, player: VideoPlayerHandle | null, pair: PairPlayersHandle | null): boolean | null {
  const active = pair ?? player;
  switch (action.type) {
    case 'togglePlay':
      active?.togglePlay();
      return true;
    case 'step':
      active?.step(action.frames);
      return true;
    case 'speed':
      active?.changeSpeed(action.delta);
      return true;
    case 'fullscreen':
      active?.toggleFullscreen();
      return true;
    case 'toggleLink':
      if (!pair) return false;
      pair.toggleLink();
      return true;
    default:
      return null;
  }
}
