import { forwardRef, useCallback, useEffect, useImperativeHandle, useRef, useState } from 'react';
import type { Video } from '../api';

export interface VideoPlayerHandle {
  togglePlay: () => void;
  step: (frames: number) => void;
  /** One step along SPEEDS: -1 slower, +1 faster (held at the ends). */
  changeSpeed: (delta: number) => void;
  toggleFullscreen: () => void;
}

interface Props {
  video: Video;
  /** The video the person will probably get next: buffered in the background. */
  prefetchUrl?: string | null;
}

// Inline SVG paths (24×24): no icon font, no glyphs missing from the system fonts.
export const ICONS = {
  play: 'M7 4v16l13-8z',
  pause: 'M6 4h4v16H6zM14 4h4v16h-4z',
  prev: 'M6 5h2v14H6zM20 5v14L9 12z',
  next: 'M16 5h2v14h-2zM4 5v14l11-7z',
  muted: 'M4 9v6h4l5 4V5L8 9zM16 9l5 6M21 9l-5 6',
  sound: 'M4 9v6h4l5 4V5L8 9zM16 8a5 5 0 0 1 0 8M18.5 5.5a8.5 8.5 0 0 1 0 13',
  fullscreen: 'M4 9V4h5M15 4h5v5M20 15v5h-5M9 20H4v-5',
  exitFullscreen: 'M9 4v5H4M20 9h-5V4M15 20v-5h5M4 15h5v5',
};

const FILLED = new Set([ICONS.play, ICONS.pause, ICONS.prev, ICONS.next]);

export function Icon({ d }: { d: string }) {
  const filled = FILLED.has(d);
  return (
    <svg width="16" height="16" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
      <path
        d={d}
        fill={filled ? 'currentColor' : 'none'}
        stroke={filled ? 'none' : 'currentColor'}
        strokeWidth={2}
        strokeLinecap="round"
        strokeLinejoin="round"
      />
    </svg>
  );
}

export const SPEEDS = [0.25, 0.5, 0.75, 1, 1.25, 1.5, 2];

/** The speed `delta` steps along SPEEDS from `rate` (a rate off the list starts from normal speed). */
export function nextSpeed(rate: number, delta: number): number {
  const at = SPEEDS.indexOf(rate);
  const from = at >= 0 ? at : SPEEDS.indexOf(1);
  return SPEEDS[Math.min(SPEEDS.length - 1, Math.max(0, from + delta))];
}

export function formatTime(t: number): string {
  if (!Number.isFinite(t)) return '0:00.0';
  const m = Math.floor(t / 60);
  const s = t - m * 60;
  return `${m}:${s.toFixed(1).padStart(4, '0')}`;
}

export const VideoPlayer = forwardRef<VideoPlayerHandle, Props>(function VideoPlayer({ video, prefetchUrl }, ref) {
  const el = useRef<HTMLVideoElement>(null);
  const wrap = useRef<HTMLDivElement>(null);
  const [playing, setPlaying] = useState(false);
  const [time, setTime] = useState(0);
  const [duration, setDuration] = useState(video.duration || 0);
  const [rate, setRate] = useState(1);
  const [muted, setMuted] = useState(true);
  const [failed, setFailed] = useState(false);
  const [fullscreen, setFullscreen] = useState(false);
  const fps = video.fps > 0 ? video.fps : 24;
  const totalFrames = video.frames > 0 ? video.frames : Math.max(1, Math.round(duration * fps));

  useEffect(() => {
    setFailed(false);
    setTime(0);
    setDuration(video.duration || 0);
  }, [video.url, video.duration]);

  useEffect(() => {
    if (el.current) el.current.playbackRate = rate;
  }, [rate, video.url]);

  useEffect(() => {
    const onFs = () => setFullscreen(document.fullscreenElement === wrap.current);
    document.addEventListener('fullscreenchange', onFs);
    return () => document.removeEventListener('fullscreenchange', onFs);
  }, []);

  const togglePlay = useCallback(() => {
    const v = el.current;
    if (!v) return;
    if (v.paused) {
      const p = v.play();
      if (p && typeof p.catch === 'function') p.catch(() => setPlaying(false));
    } else v.pause();
  }, []);

  const step = useCallback(
    (frames: number) => {
      const v = el.current;
      if (!v) return;
      v.pause();
      const current = Math.floor(v.currentTime * fps + 1e-3);
      const target = Math.min(totalFrames - 1, Math.max(0, current + frames));
      // Aim at the middle of the frame so rounding never lands on its neighbour.
      v.currentTime = (target + 0.5) / fps;
      setTime(v.currentTime);
    },
    [fps, totalFrames],
  );

  const toggleFullscreen = useCallback(() => {
    const w = wrap.current;
    if (!w) return;
    if (document.fullscreenElement) void document.exitFullscreen?.();
    else void w.requestFullscreen?.().catch(() => {});
  }, []);

  const changeSpeed = useCallback((delta: number) => setRate((r) => nextSpeed(r, delta)), []);

  useImperativeHandle(ref, () => ({ togglePlay, step, changeSpeed, toggleFullscreen }), [togglePlay, step, changeSpeed, toggleFullscreen]);

  const frame = Math.min(totalFrames, Math.floor(time * fps + 1e-3) + 1);

  return (
    <div className={`player${fullscreen ? ' is-fullscreen' : ''}`} ref={wrap}>
      <div className="video-box">
        <video
          ref={el}
          key={video.url}
          src={video.url}
          poster={video.poster_url ?? undefined}
          width={video.width || undefined}
          height={video.height || undefined}
          loop
          muted={muted}
          autoPlay
          playsInline
          preload="auto"
          data-testid="task-video"
          aria-label="Generated video to rate"
          onClick={togglePlay}
          onPlay={() => setPlaying(true)}
          onPause={() => setPlaying(false)}
          onTimeUpdate={(e) => setTime(e.currentTarget.currentTime)}
          onSeeked={(e) => setTime(e.currentTarget.currentTime)}
          onLoadedMetadata={(e) => {
            const d = e.currentTarget.duration;
            if (Number.isFinite(d) && d > 0) setDuration(d);
            e.currentTarget.playbackRate = rate;
          }}
          onError={() => setFailed(true)}
        />
        {failed && (
          <div className="video-error" role="alert" data-testid="video-error">
            <p>The video could not be loaded.</p>
            <button
              type="button"
              onClick={() => {
                setFailed(false);
                el.current?.load();
              }}
            >
              Reload video
            </button>
          </div>
        )}
      </div>
      <div className="controls" role="group" aria-label="Video controls">
        <button type="button" onClick={togglePlay} data-testid="video-play" aria-label={playing ? 'Pause (Space)' : 'Play (Space)'}>
          <Icon d={playing ? ICONS.pause : ICONS.play} />
        </button>
        <button type="button" onClick={() => step(-1)} aria-label="Previous frame (,)" title="Previous frame (,)">
          <Icon d={ICONS.prev} />
        </button>
        <button type="button" onClick={() => step(1)} aria-label="Next frame (.)" title="Next frame (.)">
          <Icon d={ICONS.next} />
        </button>
        <input
          type="range"
          className="scrubber"
          min={0}
          max={duration || 0}
          step={1 / fps}
          value={Math.min(time, duration || 0)}
          onChange={(e) => {
            const v = el.current;
            const t = Number(e.target.value);
            if (v) v.currentTime = t;
            setTime(t);
          }}
          aria-label="Seek"
          aria-valuetext={`${formatTime(time)} of ${formatTime(duration)}, frame ${frame} of ${totalFrames}`}
          data-testid="video-scrubber"
        />
        <span className="timecode" aria-hidden="true" data-testid="video-frame">
          {formatTime(time)} · f{frame}/{totalFrames}
        </span>
        <label className="speed">
          <span className="sr-only">Speed</span>
          <select value={rate} onChange={(e) => setRate(Number(e.target.value))} data-testid="video-speed">
            {SPEEDS.map((s) => (
              <option key={s} value={s}>
                {s}×
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={() => setMuted((m) => !m)} aria-pressed={!muted} aria-label={muted ? 'Unmute' : 'Mute'}>
          <Icon d={muted ? ICONS.muted : ICONS.sound} />
        </button>
        <button type="button" onClick={toggleFullscreen} aria-label="Fullscreen (F)" title="Fullscreen (F)" data-testid="video-fullscreen">
          <Icon d={fullscreen ? ICONS.exitFullscreen : ICONS.fullscreen} />
        </button>
      </div>
      {prefetchUrl && prefetchUrl !== video.url && (
        // Buffers the next task's video into the HTTP cache while this one is rated.
        <video className="prefetch" src={prefetchUrl} preload="auto" muted aria-hidden="true" tabIndex={-1} data-testid="video-prefetch" />
      )}
    </div>
  );
});
