// Synchronised playback of the two videos of a pair, as pure decisions: the left video leads, the right one
// follows. The component (PairPlayers) reads both elements, asks what to do and applies the answer.
//
// While both play, a small drift is absorbed by nudging the follower's speed (a seek stalls a playing video
// and makes the drift worse); a large one is corrected by a seek. While paused the follower is simply put on
// the leader's time. Commands (play, pause, seek, step, speed) go to both at once, so they start aligned.

export interface SyncState {
  /** The leader's currentTime (s). */
  leader: number;
  /** The follower's currentTime (s). */
  follower: number;
  /** Frames per second of the pair (the finer of the two). */
  fps: number;
  /** True while the leader plays. */
  playing: boolean;
  /** The speed both are meant to play at. */
  rate: number;
  /** The follower is still busy with a seek: leave it alone. */
  followerSeeking?: boolean;
}

export type SyncAction = { kind: 'none'; rate: number } | { kind: 'seek'; to: number; rate: number } | { kind: 'rate'; rate: number };

/** Drift (in frames, and at least MIN_SEEK_S) beyond which a playing follower is seeked rather than sped up
 *  or slowed down. */
export const SEEK_FRAMES = 1;
export const MIN_SEEK_S = 0.06;
/** Drift (in frames) under which nothing is corrected. */
export const DEAD_FRAMES = 0.1;
/** Largest relative change of the follower's speed when nudged. */
export const MAX_NUDGE = 0.25;
/** A seek while playing aims this far ahead (s), as the follower needs a moment to resume. */
export const SEEK_LEAD_S = 0.02;

export function frameDuration(fps: number): number {
  return 1 / (fps > 0 ? fps : 24);
}

/** What to do with the follower so that it shows the leader's frame. */
export function syncDecision(s: SyncState): SyncAction {
  const frame = frameDuration(s.fps);
  const drift = s.follower - s.leader; // > 0: the follower is ahead
  if (s.followerSeeking) return { kind: 'none', rate: s.rate };
  if (!s.playing) {
    return Math.abs(drift) > 1e-3 ? { kind: 'seek', to: s.leader, rate: s.rate } : { kind: 'none', rate: s.rate };
  }
  if (Math.abs(drift) > Math.max(SEEK_FRAMES * frame, MIN_SEEK_S)) return { kind: 'seek', to: s.leader + SEEK_LEAD_S * s.rate, rate: s.rate };
  if (Math.abs(drift) <= DEAD_FRAMES * frame) return { kind: 'rate', rate: s.rate };
  // Catch up within about a third of a second: ahead by d seconds → slower by d/0.3 (capped).
  const nudge = Math.max(-MAX_NUDGE, Math.min(MAX_NUDGE, -drift / 0.3));
  return { kind: 'rate', rate: s.rate * (1 + nudge) };
}

/** The time a frame step lands on: the middle of the target frame, so rounding never shows its neighbour. */
export function stepTarget(current: number, frames: number, fps: number, totalFrames: number): number {
  const f = fps > 0 ? fps : 24;
  const currentFrame = Math.floor(current * f + 1e-3);
  const target = Math.min(Math.max(1, totalFrames) - 1, Math.max(0, currentFrame + frames));
  return (target + 0.5) / f;
}

/** A seek on the shared scrubber, clamped into both videos. */
export function seekTarget(t: number, durations: number[]): number {
  const known = durations.filter((d) => Number.isFinite(d) && d > 0);
  const end = known.length ? Math.min(...known) : Infinity;
  return Math.max(0, Math.min(Number.isFinite(t) ? t : 0, end));
}

/** The frame shown at time t (1-based, as the timecode shows it). */
export function frameAt(t: number, fps: number, totalFrames: number): number {
  const f = fps > 0 ? fps : 24;
  return Math.min(Math.max(1, totalFrames), Math.floor(t * f + 1e-3) + 1);
}
