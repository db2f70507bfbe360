// A line chart of one curve (loss, reward, accuracy …) with uPlot, loaded only when a chart is shown.
import { useEffect, useRef } from 'react';
import type uPlot from 'uplot';
import type { Series } from './shaping';

const COLORS = ['#1a4fd6', '#b3261e', '#1e6b24', '#8a4b00', '#6b3aa0'];

export function LineChart({ series, index = 0, height = 180 }: { series: Series; index?: number; height?: number }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    let cancelled = false;
    const el = box.current;
    if (!el) return;
    const data: uPlot.AlignedData = [series.x, series.y];
    if (plot.current) {
      plot.current.setData(data);
      return;
    }
    void Promise.all([import('uplot'), import('uplot/dist/uPlot.min.css')]).then(([{ default: UPlot }]) => {
      if (cancelled || !el) return;
      plot.current = new UPlot(
        {
          width: Math.max(240, el.clientWidth || 480),
          height,
          scales: { x: { time: false } },
          axes: [{ label: 'step' }, { label: series.name }],
          series: [{}, { label: series.name, stroke: COLORS[index % COLORS.length], width: 2 }],
          legend: { show: false },
        },
        data,
        el,
      );
    });
    return () => {
      cancelled = true;
    };
  }, [series, index, height]);

  useEffect(
    () => () => {
      plot.current?.destroy();
      plot.current = null;
    },
    [],
  );

  const last = series.y[series.y.length - 1];
  return (
    <figure className="chart" data-testid={`chart-${series.name}`}>
      <figcaption>
        {series.name} <span className="muted small">({series.y.length} points, last {Number(last.toPrecision(4))})</span>
      </figcaption>
      <div ref={box} className="chart-box" aria-hidden="true" />
    </figure>
  );
}
