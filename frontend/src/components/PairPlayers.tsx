import { forwardRef, useCallback, useEffect, useImperativeHandle, useRef, useState } from 'react';
import type { Video } from '../api';
import { frameAt, seekTarget, stepTarget, syncDecision } from '../pairSync';
import { ICONS, Icon, SPEEDS, formatTime, nextSpeed, type VideoPlayerHandle } from './VideoPlayer';

export interface PairPlayersHandle extends VideoPlayerHandle {
  toggleLink: () => void;
}

interface Props {
  left: Video;
  right: Video;
  /** Both videos of the pair likely served next: buffered in the background. */
  prefetchUrls?: string[];
}

type Side = 'left' | 'right';
/** How often the follower is checked against the leader while linked (ms). */
const SYNC_EVERY_MS = 40;

function play(v: HTMLVideoElement | null, onFail: () => void) {
  if (!v) return;
  const p = v.play();
  if (p && typeof p.catch === 'function') p.catch(onFail);
}

/** Two videos side by side, one set of controls for both. Linked (the default), the right video follows the
 *  left one frame for frame (pairSync.ts); unlinked, each side also has its own controls and keeps its time. */
export const PairPlayers = forwardRef<PairPlayersHandle, Props>(function PairPlayers({ left, right, prefetchUrls }, ref) {
  const leftEl = useRef<HTMLVideoElement>(null);
  const rightEl = useRef<HTMLVideoElement>(null);
  const wrap = useRef<HTMLDivElement>(null);
  const started = useRef(false);
  const [playing, setPlaying] = useState<Record<Side, boolean>>({ left: false, right: false });
  const [times, setTimes] = useState<Record<Side, number>>({ left: 0, right: 0 });
  const [durations, setDurations] = useState<Record<Side, number>>({ left: left.duration || 0, right: right.duration || 0 });
  const [rate, setRate] = useState(1);
  const [muted, setMuted] = useState(true);
  const [linked, setLinked] = useState(true);
  const [failed, setFailed] = useState<Record<Side, boolean>>({ left: false, right: false });
  const [fullscreen, setFullscreen] = useState(false);
  const linkedRef = useRef(linked);
  linkedRef.current = linked;
  const rateRef = useRef(rate);
  rateRef.current = rate;

  const fps = Math.max(left.fps > 0 ? left.fps : 24, right.fps > 0 ? right.fps : 24);
  const framesOf = (v: Video, side: Side) =>
    v.frames > 0 ? v.frames : Math.max(1, Math.round(durations[side] * (v.fps > 0 ? v.fps : 24)));
  const totalFrames = framesOf(left, 'left');
  // Linked steps count frames at the finer rate, up to the end of the shorter video.
  const shorter = Math.min(...[durations.left, durations.right].filter((d) => d > 0), Infinity);
  const pairFrames = Number.isFinite(shorter) ? Math.max(1, Math.round(shorter * fps)) : totalFrames;
  const el = (side: Side) => (side === 'left' ? leftEl.current : rightEl.current);
  const both = () => [leftEl.current, rightEl.current].filter((v): v is HTMLVideoElement => !!v);

  useEffect(() => {
    started.current = false;
    setFailed({ left: false, right: false });
    setTimes({ left: 0, right: 0 });
    setDurations({ left: left.duration || 0, right: right.duration || 0 });
  }, [left.url, right.url, left.duration, right.duration]);

  useEffect(() => {
    for (const v of both()) v.playbackRate = rate;
  }, [rate, left.url, right.url]);

  useEffect(() => {
    const onFs = () => setFullscreen(document.fullscreenElement === wrap.current);
    document.addEventListener('fullscreenchange', onFs);
    return () => document.removeEventListener('fullscreenchange', onFs);
  }, []);

  // Linked: the follower is kept on the leader's frame.
  useEffect(() => {
    if (!linked) return;
    const tick = () => {
      const l = leftEl.current;
      const r = rightEl.current;
      if (!l || !r || r.readyState < 1) return;
      const leaderPlaying = !l.paused && !l.ended;
      if (leaderPlaying && r.paused && !r.ended) play(r, () => {});
      else if (!leaderPlaying && !r.paused) r.pause();
      const action = syncDecision({
        leader: l.currentTime,
        follower: r.currentTime,
        fps,
        playing: leaderPlaying && !r.ended,
        rate: rateRef.current,
        followerSeeking: r.seeking,
      });
      if (action.kind === 'seek') r.currentTime = action.to;
      if (Math.abs(r.playbackRate - action.rate) > 1e-3) r.playbackRate = action.rate;
    };
    tick();
    const t = setInterval(tick, SYNC_EVERY_MS);
    return () => {
      clearInterval(t);
      if (rightEl.current) rightEl.current.playbackRate = rateRef.current;
    };
  }, [linked, fps, left.url, right.url]);

  const playBoth = useCallback(() => {
    const [l, r] = [leftEl.current, rightEl.current];
    if (linkedRef.current && l && r) r.currentTime = l.currentTime;
    for (const v of both()) play(v, () => setPlaying((p) => ({ ...p, [v === l ? 'left' : 'right']: false })));
  }, []);

  const pauseBoth = useCallback(() => {
    for (const v of both()) v.pause();
    const [l, r] = [leftEl.current, rightEl.current];
    if (linkedRef.current && l && r) r.currentTime = l.currentTime;
  }, []);

  const togglePlay = useCallback(() => {
    const anyPlaying = both().some((v) => !v.paused && !v.ended);
    if (anyPlaying) pauseBoth();
    else playBoth();
  }, [playBoth, pauseBoth]);

  const stepSide = useCallback(
    (side: Side, frames: number) => {
      const v = el(side);
      if (!v) return;
      v.pause();
      const video = side === 'left' ? left : right;
      const to = stepTarget(v.currentTime, frames, video.fps, framesOf(video, side));
      v.currentTime = to;
      setTimes((t) => ({ ...t, [side]: to }));
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [left, right, durations],
  );

  const step = useCallback(
    (frames: number) => {
      const [l, r] = [leftEl.current, rightEl.current];
      if (!linkedRef.current || !l || !r) {
        stepSide('left', frames);
        stepSide('right', frames);
        return;
      }
      // Linked: both land on the same time, the leader's next frame (at the finer of the two rates).
      l.pause();
      r.pause();
      const to = stepTarget(l.currentTime, frames, fps, pairFrames);
      l.currentTime = to;
      r.currentTime = to;
      setTimes({ left: to, right: to });
    },
    [fps, pairFrames, stepSide],
  );

  const seek = useCallback((t: number) => {
    const to = seekTarget(t, both().map((v) => v.duration));
    for (const v of both()) v.currentTime = to;
    setTimes({ left: to, right: to });
  }, []);

  const toggleLink = useCallback(() => {
    setLinked((was) => {
      const [l, r] = [leftEl.current, rightEl.current];
      if (!was && l && r) {
        // Linking again: the right one joins the left one where it is.
        r.currentTime = l.currentTime;
        if (l.paused) r.pause();
        else play(r, () => {});
      }
      return !was;
    });
  }, []);

  const toggleFullscreen = useCallback(() => {
    const w = wrap.current;
    if (!w) return;
    if (document.fullscreenElement) void document.exitFullscreen?.();
    else void w.requestFullscreen?.().catch(() => {});
  }, []);

  const changeSpeed = useCallback((delta: number) => setRate((r) => nextSpeed(r, delta)), []);

  useImperativeHandle(ref, () => ({ togglePlay, step, changeSpeed, toggleFullscreen, toggleLink }),
    [togglePlay, step, changeSpeed, toggleFullscreen, toggleLink]);

  /** Both start together once both can play (muted autoplay, as the rating view's player). */
  const onCanPlay = () => {
    const [l, r] = [leftEl.current, rightEl.current];
    if (started.current || !l || !r || l.readyState < 3 || r.readyState < 3) return;
    started.current = true;
    playBoth();
  };

  // (The value is read here: a state updater runs later, when the event's currentTarget is gone.)
  const noteTime = (side: Side, t: number) => setTimes((x) => ({ ...x, [side]: t }));

  const onEnded = (side: Side) => {
    const v = el(side);
    if (!v) return;
    if (!linkedRef.current) {
      v.currentTime = 0;
      play(v, () => {});
    } else if (side === 'left') {
      // The leader loops both: they restart together rather than each on its own.
      for (const x of both()) x.currentTime = 0;
      playBoth();
    }
  };

  const anyPlaying = playing.left || playing.right;
  const shownDuration = Number.isFinite(shorter) ? shorter : 0;
  const time = times.left;

  const renderVideo = (side: Side, video: Video) => (
    <figure className="pair-side" data-testid={`pair-side-${side}`}>
      <figcaption className="pair-label">{side === 'left' ? 'Left' : 'Right'}</figcaption>
      <div className="video-box">
        <video
          ref={side === 'left' ? leftEl : rightEl}
          key={video.url}
          src={video.url}
          poster={video.poster_url ?? undefined}
          width={video.width || undefined}
          height={video.height || undefined}
          muted={muted}
          playsInline
          preload="auto"
          data-testid={`pair-video-${side}`}
          aria-label={`${side === 'left' ? 'Left' : 'Right'} video to compare`}
          onClick={() => (linked ? togglePlay() : el(side)?.paused ? play(el(side), () => {}) : el(side)?.pause())}
          onPlay={() => setPlaying((p) => ({ ...p, [side]: true }))}
          onPause={() => setPlaying((p) => ({ ...p, [side]: false }))}
          onTimeUpdate={(e) => noteTime(side, e.currentTarget.currentTime)}
          onSeeked={(e) => noteTime(side, e.currentTarget.currentTime)}
          onCanPlay={onCanPlay}
          onEnded={() => onEnded(side)}
          onLoadedMetadata={(e) => {
            const d = e.currentTarget.duration;
            if (Number.isFinite(d) && d > 0) setDurations((x) => ({ ...x, [side]: d }));
            e.currentTarget.playbackRate = rateRef.current;
          }}
          onError={() => setFailed((f) => ({ ...f, [side]: true }))}
        />
        {failed[side] && (
          <div className="video-error" role="alert" data-testid={`video-error-${side}`}>
            <p>The video could not be loaded.</p>
            <button
              type="button"
              onClick={() => {
                setFailed((f) => ({ ...f, [side]: false }));
                el(side)?.load();
              }}
            >
              Reload video
            </button>
          </div>
        )}
      </div>
      {!linked && (
        <div className="controls pair-own-controls" role="group" aria-label={`${side} video controls`}>
          <button
            type="button"
            onClick={() => {
              const v = el(side);
              if (v?.paused) play(v, () => {});
              else v?.pause();
            }}
            data-testid={`pair-${side}-play`}
            aria-label={`${playing[side] ? 'Pause' : 'Play'} the ${side} video`}
          >
            <Icon d={playing[side] ? ICONS.pause : ICONS.play} />
          </button>
          <button type="button" onClick={() => stepSide(side, -1)} aria-label={`Previous frame of the ${side} video`} data-testid={`pair-${side}-prev`}>
            <Icon d={ICONS.prev} />
          </button>
          <button type="button" onClick={() => stepSide(side, 1)} aria-label={`Next frame of the ${side} video`} data-testid={`pair-${side}-next`}>
            <Icon d={ICONS.next} />
          </button>
          <span className="timecode" aria-hidden="true">
            {formatTime(times[side])} · f{frameAt(times[side], video.fps, framesOf(video, side))}
          </span>
        </div>
      )}
    </figure>
  );

  const frame = frameAt(time, fps, totalFrames);
  const current = new Set([left.url, right.url]);

  return (
    <div className={`player pair-players${fullscreen ? ' is-fullscreen' : ''}`} ref={wrap} data-testid="pair-players" data-linked={linked}>
      <div className="pair-videos">
        {renderVideo('left', left)}
        {renderVideo('right', right)}
      </div>
      <div className="controls" role="group" aria-label="Controls of both videos">
        <button type="button" onClick={togglePlay} data-testid="pair-play" aria-label={anyPlaying ? 'Pause both (Space)' : 'Play both (Space)'}>
          <Icon d={anyPlaying ? ICONS.pause : ICONS.play} />
        </button>
        <button type="button" onClick={() => step(-1)} aria-label="Previous frame, both (,)" title="Previous frame, both (,)" data-testid="pair-prev">
          <Icon d={ICONS.prev} />
        </button>
        <button type="button" onClick={() => step(1)} aria-label="Next frame, both (.)" title="Next frame, both (.)" data-testid="pair-next">
          <Icon d={ICONS.next} />
        </button>
        <input
          type="range"
          className="scrubber"
          min={0}
          max={shownDuration}
          step={1 / fps}
          value={Math.min(time, shownDuration)}
          onChange={(e) => seek(Number(e.target.value))}
          aria-label="Seek both"
          aria-valuetext={`${formatTime(time)} of ${formatTime(shownDuration)}, frame ${frame} of ${totalFrames}`}
          data-testid="pair-scrubber"
        />
        <span className="timecode" aria-hidden="true" data-testid="pair-frame">
          {formatTime(time)} · f{frame}/{totalFrames}
        </span>
        <label className="speed">
          <span className="sr-only">Speed of both</span>
          <select value={rate} onChange={(e) => setRate(Number(e.target.value))} data-testid="pair-speed">
            {SPEEDS.map((s) => (
              <option key={s} value={s}>
                {s}×
              </option>
            ))}
          </select>
        </label>
        <button
          type="button"
          onClick={toggleLink}
          aria-pressed={linked}
          data-testid="pair-link"
          title="Link or unlink the two videos (L)"
          className="pair-link"
        >
          {linked ? 'Linked' : 'Unlinked'} <kbd>L</kbd>
        </button>
        <button type="button" onClick={() => setMuted((m) => !m)} aria-pressed={!muted} aria-label={muted ? 'Unmute' : 'Mute'}>
          <Icon d={muted ? ICONS.muted : ICONS.sound} />
        </button>
        <button type="button" onClick={toggleFullscreen} aria-label="Fullscreen (F)" title="Fullscreen (F)" data-testid="pair-fullscreen">
          <Icon d={fullscreen ? ICONS.exitFullscreen : ICONS.fullscreen} />
        </button>
      </div>
      {(prefetchUrls ?? [])
        .filter((u) => u && !current.has(u))
        .map((u) => (
          // Buffers the next pair's videos into the HTTP cache while this one is compared.
          <video key={u} className="prefetch" src={u} preload="auto" muted aria-hidden="true" tabIndex={-1} data-testid="pair-prefetch" />
        ))}
    </div>
  );
});
