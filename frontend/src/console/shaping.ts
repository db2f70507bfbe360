// Data shaping for the console's tables and charts. Pure functions, tested alone.

export interface Series {
  name: string;
  x: number[];
  y: number[];
}

function isNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** One curve from the shapes jobs write: [v, …] (x = index), [[step, v], …], or [{step, <name>|value}, …]. */
export function curvePoints(name: string, points: unknown): Series | null {
  if (!Array.isArray(points) || points.length === 0) return null;
  const x: number[] = [];
  const y: number[] = [];
  points.forEach((p, i) => {
    if (isNum(p)) {
      x.push(i);
      y.push(p);
    } else if (Array.isArray(p) && isNum(p[0]) && isNum(p[1])) {
      x.push(p[0]);
      y.push(p[1]);
    } else if (p && typeof p === 'object') {
      const o = p as Record<string, unknown>;
      const v = isNum(o[name]) ? o[name] : isNum(o.value) ? o.value : undefined;
      if (isNum(v)) {
        x.push(isNum(o.step) ? o.step : i);
        y.push(v as number);
      }
    }
  });
  return y.length ? { name, x, y } : null;
}

/** Loss/reward curves of a job's metrics: everything under `curves`, plus top-level arrays named like
 *  curves (`loss_curve`, `val_history`); other lists (prompt ids, seeds) are not curves. */
export function metricSeries(metrics: Record<string, unknown> | null | undefined): Series[] {
  if (!metrics) return [];
  const out: Series[] = [];
  const curves = metrics.curves;
  if (curves && typeof curves === 'object' && !Array.isArray(curves))
    for (const [name, points] of Object.entries(curves as Record<string, unknown>)) {
      const s = curvePoints(name, points);
      if (s) out.push(s);
    }
  for (const [name, value] of Object.entries(metrics)) {
    if (name === 'curves' || !Array.isArray(value) || !/(curve|history)$/.test(name)) continue;
    const s = curvePoints(name, value);
    if (s && s.y.length > 1) out.push(s);
  }
  return out;
}

/** Scalars of a metrics object flattened to dotted keys ({val: {accuracy: 0.7}} → "val.accuracy"). */
export function flatScalars(obj: Record<string, unknown> | null | undefined, prefix = ''): Record<string, number | string | boolean> {
  const out: Record<string, number | string | boolean> = {};
  for (const [k, v] of Object.entries(obj ?? {})) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (isNum(v) || typeof v === 'string' || typeof v === 'boolean') out[key] = v;
    else if (v && typeof v === 'object' && !Array.isArray(v) && k !== 'curves')
      Object.assign(out, flatScalars(v as Record<string, unknown>, key));
  }
  return out;
}

export interface ComparisonRow {
  key: string;
  a: number | string | boolean | null;
  b: number | string | boolean | null;
  /** b − a where both are numbers. */
  delta: number | null;
}

/** Metrics of two versions side by side over the union of their keys, sorted by key. */
export function compareMetrics(a: Record<string, unknown>, b: Record<string, unknown>): ComparisonRow[] {
  const fa = flatScalars(a);
  const fb = flatScalars(b);
  const keys = [...new Set([...Object.keys(fa), ...Object.keys(fb)])].sort();
  return keys.map((key) => {
    const va = key in fa ? fa[key] : null;
    const vb = key in fb ? fb[key] : null;
    return { key, a: va, b: vb, delta: isNum(va) && isNum(vb) ? vb - va : null };
  });
}

// Lineage keys that name another row, shown as "#id" under a plain label.
const LINEAGE_REFS: Record<string, string> = {
  snapshot: 'snapshot',
  critic: 'critic version',
  base: 'base version',
  job: 'job',
};
const LINEAGE_FIRST = ['snapshot', 'snapshot_number', 'critic', 'critic_dimensions', 'base', 'base_name', 'backbone', 'objective', 'reward_model'];

/** What a version came from, as label/value pairs: its weights, parent and job, then snapshot, critic, base
 *  version and the rest of its lineage (long lists summarised). */
export function lineageEntries(version: {
  base: string;
  parent: number | null;
  created_by_job: number | null;
  lineage: Record<string, unknown>;
}): { key: string; value: string }[] {
  const lineage = version.lineage ?? {};
  const keys = [
    ...LINEAGE_FIRST.filter((k) => k in lineage),
    ...Object.keys(lineage).filter((k) => !LINEAGE_FIRST.includes(k)).sort(),
  ];
  const out = [{ key: 'weights', value: version.base }];
  if (version.parent !== null) out.push({ key: 'parent version', value: `#${version.parent}` });
  if (version.created_by_job !== null) out.push({ key: 'made by job', value: `#${version.created_by_job}` });
  for (const k of keys) {
    const v = lineage[k];
    if (v === null || v === undefined || (k === 'job' && v === version.created_by_job)) continue;
    if (k in LINEAGE_REFS && isNum(v)) out.push({ key: LINEAGE_REFS[k], value: `#${v}` });
    else out.push({ key: k, value: formatValue(v) });
  }
  return out;
}

export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (isNum(v)) return Number.isInteger(v) ? String(v) : v.toFixed(Math.abs(v) < 1 ? 4 : 2).replace(/\.?0+$/, '');
  if (typeof v === 'string' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v) && v.length > 8) return `${v.length} items`;
  const text = JSON.stringify(v);
  return text.length > 120 ? `${text.slice(0, 117)}…` : text;
}

/** Label counts of one dimension as shares, in the given level order (levels not seen get 0). */
export function distributionShares(counts: Record<string, number>, levels?: string[]): { level: string; count: number; share: number }[] {
  const order = levels ?? Object.keys(counts);
  const total = order.reduce((s, l) => s + (counts[l] ?? 0), 0);
  return order.map((level) => ({ level, count: counts[level] ?? 0, share: total ? (counts[level] ?? 0) / total : 0 }));
}

export function percent(fraction: number | null | undefined, digits = 0): string {
  return isNum(fraction) ? `${(fraction * 100).toFixed(digits)}%` : '—';
}

/** The `key` figures to show for a version on cards: the first of these that exist. */
export function keyFigures(kind: string, metrics: Record<string, unknown>): { key: string; value: string }[] {
  const wanted =
    kind === 'critic'
      ? ['mean_accuracy', 'accuracy', 'val_accuracy', 'split', 'mean_accuracy_without_ties', 'test_pairs']
      : ['heldout_reward_after', 'heldout_reward_before', 'reward_gain', 'critic'];
  const flat = flatScalars(metrics);
  return wanted.filter((k) => k in flat).map((k) => ({ key: k, value: formatValue(flat[k]) }));
}

/** People's verdict on an aligned generator (services/people_review.py), as one line; null before any review. */
export function peopleReviewText(metrics: Record<string, unknown>): { verdict: string; text: string } | null {
  const review = metrics.people_review as { verdict?: unknown; reason?: unknown } | undefined;
  if (!review || typeof review.verdict !== 'string') return null;
  const said: Record<string, string> = { promote: 'promoted by people', retire: 'retired by people' };
  const reason = typeof review.reason === 'string' ? `: ${review.reason}` : '';
  return { verdict: review.verdict, text: `${said[review.verdict] ?? review.verdict}${reason}` };
}

/** An annotator's lean toward the left video of pairs: "62% left (p 0.003)", flagged or not; null without one. */
export function positionBiasText(
  bias: { left_share: number | null; p_value: number | null; sided_choices: number; flagged: boolean } | undefined,
): { text: string; flagged: boolean } | null {
  if (!bias || !bias.sided_choices || bias.left_share === null) return null;
  const p = bias.p_value === null ? '' : ` (p ${bias.p_value < 0.001 ? '< 0.001' : formatValue(Number(bias.p_value.toPrecision(2)))})`;
  return { text: `${percent(bias.left_share)} left of ${bias.sided_choices}${p}`, flagged: bias.flagged };
}

export function isFinished(status: string): boolean {
  return status === 'succeeded' || status === 'failed' || status === 'cancelled';
}

export interface LoopStage {
  name: string;
  status: string;
  job: number | null;
  outcome: string;
}

/** The stages a retrain loop records in its metrics, or null for other jobs. */
export function loopStages(metrics: Record<string, unknown> | null | undefined): LoopStage[] | null {
  const stages = metrics?.stages;
  if (!Array.isArray(stages) || stages.length === 0) return null;
  return stages
    .filter((s): s is Record<string, unknown> => !!s && typeof s === 'object' && typeof (s as { name?: unknown }).name === 'string')
    .map((s) => ({
      name: s.name as string,
      status: typeof s.status === 'string' ? s.status : 'pending',
      job: typeof s.job === 'number' ? s.job : null,
      outcome: typeof s.outcome === 'string' ? s.outcome : '',
    }));
}
