// The launch form of every job kind: which fields it has, how they are checked before anything is sent,
// and how the form's strings become the job's params. Pure (no React, no fetch) so it is tested alone.
// The server validates again with the same rules as `run_job`; its 4xx `detail`/`fields` are shown too.
// A field's help is the API schema's description of that parameter where it has one (jobParamHelp.ts,
// generated from the <Kind>JobParams schemas), else the form's own words.
import { JOB_PARAM_HELP } from './jobParamHelp';

export type FieldType = 'int' | 'float' | 'intList' | 'text' | 'textList' | 'bool' | 'choice' | 'generator' | 'critic' | 'campaign' | 'snapshot';

export interface FieldSpec {
  name: string;
  label: string;
  type: FieldType;
  required?: boolean;
  min?: number;
  max?: number;
  /** Initial value in the form (a string as typed, or a boolean for checkboxes). */
  initial?: string | boolean;
  choices?: string[];
  help?: string;
  /** Where the value goes in params, dotted (default: the name). */
  path?: string;
  /** Left out while this other field is empty (a draw's seed without a draw). */
  dependsOn?: string;
}

export interface KindSpec {
  kind: string;
  label: string;
  description: string;
  fields: FieldSpec[];
  /** Checks across fields; returns field → message. */
  check?: (values: FormValues) => Record<string, string>;
}

export type FormValues = Record<string, string | boolean>;

/** Who promotes an aligned generator: the loop's `generator_gate` values. */
export const GENERATOR_GATES = ['critic', 'people', 'critic_first'] as const;

/** The retrain loop's stages in their fixed order (alignment/loop/stages.py). review_generator runs by itself
 *  under the people's gates, so the launch form leaves it out of its default list, as the server does. */
export const LOOP_STAGES = [
  'review_generator',
  'snapshot',
  'train_critic',
  'evaluate_critic',
  'promote_critic',
  'generate_candidates',
  'score',
  'warm_up',
  'align',
  'evaluate_generator',
  'promote_generator',
  'generate_next_round',
];

const EXTRA: FieldSpec = {
  name: 'extra',
  label: 'More parameters (JSON object, merged in)',
  type: 'text',
  help: 'Any other parameter the job kind takes, e.g. {"overrides": {"steps": 4}}.',
};

const FORMS: KindSpec[] = [
  {
    kind: 'generate',
    label: 'Generate videos',
    description: 'Prompts × seeds with a generator version; optionally straight into a campaign.',
    fields: [
      { name: 'generator_version', label: 'Generator version', type: 'generator', required: true },
      { name: 'prompt_ids', label: 'Prompt ids', type: 'intList', min: 1, help: 'Comma-separated; or draw from the prompt bank below.' },
      { name: 'combine_count', label: 'Draw this many prompts from the bank', type: 'int', min: 1, max: 100000, path: 'combine.count' },
      { name: 'combine_seed', label: 'Draw seed', type: 'int', min: 0, initial: '0', path: 'combine.seed', dependsOn: 'combine_count' },
      { name: 'seeds', label: 'Seeds', type: 'intList', required: true, min: 0, initial: '0' },
      { name: 'campaign', label: 'Add the videos to campaign', type: 'campaign' },
      EXTRA,
    ],
    check: (v): Record<string, string> =>
      !str(v.prompt_ids) && !str(v.combine_count)
        ? { prompt_ids: 'Give prompt ids, or a number of prompts to draw from the bank.' }
        : {},
  },
  {
    kind: 'snapshot',
    label: 'Snapshot (LiFT-HRA export)',
    description: 'A numbered, immutable export of the selected ratings (parquet, jsonl, zip).',
    fields: [
      { name: 'campaign_ids', label: 'Campaigns (all when empty)', type: 'intList', min: 1, path: 'filters.campaign_ids' },
      {
        name: 'review_states',
        label: 'Review states',
        type: 'textList',
        initial: 'pending, accepted, corrected',
        help: 'Comma-separated: pending, accepted, corrected, rejected.',
        path: 'filters.review_states',
      },
      { name: 'since', label: 'Since (ISO date)', type: 'text', path: 'filters.since' },
      { name: 'until', label: 'Until (ISO date)', type: 'text', path: 'filters.until' },
      { name: 'seed', label: 'Split seed', type: 'int', min: 0, initial: '0' },
      { name: 'include_videos', label: 'Include the video files', type: 'bool', initial: false },
    ],
    check: (v) => {
      const out: Record<string, string> = {};
      const states = list(v.review_states);
      const bad = states.filter((s) => !REVIEW_STATES.includes(s));
      if (bad.length) out.review_states = `Unknown review state: ${bad.join(', ')}.`;
      for (const key of ['since', 'until'])
        if (str(v[key]) && Number.isNaN(Date.parse(str(v[key])))) out[key] = 'Not a date (use 2026-11-21 or an ISO date-time).';
      return out;
    },
  },
  {
    kind: 'train_critic',
    label: 'Train a critic',
    description: 'Fine-tunes the vision-language critic on a snapshot’s splits; evaluated on its test split and registered.',
    fields: [
      { name: 'snapshot', label: 'Snapshot', type: 'snapshot', required: true },
      { name: 'backbone', label: 'Backbone (hub id or path; empty: the tiny default)', type: 'text' },
      { name: 'name', label: 'Version name (empty: automatic)', type: 'text' },
      { name: 'finetune', label: 'Fine-tuning', type: 'choice', choices: ['lora', 'full', 'language'], initial: 'lora' },
      { name: 'steps', label: 'Steps', type: 'int', min: 1, max: 1000000, initial: '200' },
      { name: 'lr', label: 'Learning rate', type: 'float', min: 0, max: 1, initial: '0.0003' },
      { name: 'batch_size', label: 'Batch size', type: 'int', min: 1, max: 4096, initial: '8' },
      { name: 'seed', label: 'Seed', type: 'int', min: 0, initial: '0' },
      { name: 'with_reasons', label: 'Train on the reasons too', type: 'bool', initial: true },
      EXTRA,
    ],
  },
  {
    kind: 'score',
    label: 'Score videos with a critic',
    description: 'Critic ratings, rewards and uncertainty per video and dimension.',
    fields: [
      { name: 'critic', label: 'Critic (empty: the active one)', type: 'critic' },
      { name: 'campaign', label: 'Campaign', type: 'campaign' },
      { name: 'video_ids', label: 'Video ids', type: 'intList', min: 1 },
      { name: 'with_reasons', label: 'Also write the critic’s reasons', type: 'bool', initial: false },
      EXTRA,
    ],
    check: (v): Record<string, string> =>
      !str(v.campaign) && !str(v.video_ids) ? { campaign: 'Choose a campaign or give video ids to score.' } : {},
  },
  {
    kind: 'align',
    label: 'Align the generator',
    description: 'Fine-tunes a generator from critic rewards into a new version, with held-out reward before and after.',
    fields: [
      { name: 'generator_version', label: 'Generator version', type: 'generator', required: true },
      { name: 'critic_version', label: 'Critic (empty: the active one)', type: 'critic' },
      { name: 'snapshot', label: 'Snapshot (human ratings as rewards too)', type: 'snapshot' },
      {
        name: 'objective',
        label: 'Objective',
        type: 'choice',
        choices: ['reward_weighted', 'rejection', 'edit_reward'],
        initial: 'reward_weighted',
      },
      { name: 'candidate_video_ids', label: 'Candidates: scored video ids', type: 'intList', min: 1, path: 'candidates.video_ids' },
      { name: 'candidate_count', label: 'Candidates: or generate this many prompts', type: 'int', min: 1, max: 10000, path: 'candidates.generate.count' },
      { name: 'candidate_seed', label: 'Candidates: draw seed', type: 'int', min: 0, initial: '0', path: 'candidates.generate.seed', dependsOn: 'candidate_count' },
      { name: 'heldout_count', label: 'Held-out prompts to draw', type: 'int', min: 1, max: 10000, required: true, initial: '4', path: 'heldout.count' },
      { name: 'heldout_seed', label: 'Held-out draw seed', type: 'int', min: 0, initial: '0', path: 'heldout.seed' },
      { name: 'heldout_seeds', label: 'Held-out video seeds', type: 'intList', min: 0, initial: '0', path: 'heldout.seeds' },
      { name: 'steps', label: 'Steps', type: 'int', min: 1, max: 1000000, initial: '100', path: 'settings.steps' },
      { name: 'learning_rate', label: 'Learning rate', type: 'float', min: 0, max: 1, initial: '0.00001', path: 'settings.learning_rate' },
      { name: 'real_weight', label: 'Real-corpus weight λ (0: none)', type: 'float', min: 0, max: 100, initial: '0', path: 'settings.real_weight' },
      EXTRA,
    ],
    check: (v): Record<string, string> => {
      const ids = str(v.candidate_video_ids);
      const count = str(v.candidate_count);
      if (!ids && !count) return { candidate_video_ids: 'Give scored candidate videos, or a number of prompts to generate.' };
      if (ids && count) return { candidate_count: 'Either candidate video ids or a number to generate, not both.' };
      return {};
    },
  },
  {
    kind: 'retrain_loop',
    label: 'Retrain loop',
    description: 'Snapshot → critic → scores → aligned generator → next round of videos, each stage its own job.',
    fields: [
      { name: 'stages', label: 'Stages (in this order; leave out what to skip)', type: 'textList', initial: LOOP_STAGES.filter((s) => s !== 'review_generator').join(', ') },
      { name: 'source_campaign_ids', label: 'Ratings from campaigns (all when empty)', type: 'intList', min: 1 },
      { name: 'review_states', label: 'Review states', type: 'textList', initial: 'pending, accepted, corrected' },
      { name: 'next_round_campaign', label: 'Campaign for the next round', type: 'campaign' },
      {
        name: 'generator_gate',
        label: 'Who promotes an aligned generator',
        type: 'choice',
        choices: [...GENERATOR_GATES],
        initial: 'critic',
        help: 'critic: its held-out reward decides at once; people: the next round rates its videos beside the active generator’s, and the next loop decides on those ratings; critic_first: the critic promotes at once, and what it refuses waits for people as under people. Under either of the last two, a loop that makes the next round needs its campaign.',
      },
      { name: 'candidate_prompt_ids', label: 'Candidates: prompt ids', type: 'intList', min: 1, path: 'candidates.prompt_ids' },
      { name: 'candidate_count', label: 'Candidates: or draw this many prompts', type: 'int', min: 1, max: 10000, path: 'candidates.count' },
      { name: 'candidate_seeds', label: 'Candidates: video seeds', type: 'intList', min: 0, initial: '0', path: 'candidates.seeds' },
      { name: 'next_round_prompt_ids', label: 'Next round: prompt ids', type: 'intList', min: 1, path: 'next_round.prompt_ids' },
      { name: 'next_round_count', label: 'Next round: or draw this many prompts', type: 'int', min: 1, max: 10000, path: 'next_round.count' },
      { name: 'next_round_seeds', label: 'Next round: video seeds', type: 'intList', min: 0, initial: '0', path: 'next_round.seeds' },
      { name: 'critic_steps', label: 'Critic training steps', type: 'int', min: 1, max: 1000000, path: 'critic.steps' },
      { name: 'align_steps', label: 'Alignment steps', type: 'int', min: 1, max: 1000000, path: 'align.settings.steps' },
      EXTRA,
    ],
    check: (v): Record<string, string> => {
      const unknown = list(v.stages).filter((s) => !LOOP_STAGES.includes(s));
      return unknown.length ? { stages: `Unknown stage: ${unknown.join(', ')}.` } : {};
    },
  },
];

export const JOB_KINDS: KindSpec[] = FORMS.map((form) => ({
  ...form,
  fields: form.fields.map((f) => ({ ...f, help: JOB_PARAM_HELP[form.kind]?.[f.path ?? f.name] ?? f.help })),
}));

export const REVIEW_STATES = ['pending', 'accepted', 'corrected', 'rejected'];

function str(v: string | boolean | undefined): string {
  return typeof v === 'string' ? v.trim() : '';
}

function list(v: string | boolean | undefined): string[] {
  return str(v)
    .split(/[\s,]+/)
    .filter(Boolean);
}

export function kindSpec(kind: string): KindSpec | undefined {
  return JOB_KINDS.find((k) => k.kind === kind);
}

export function initialValues(spec: KindSpec): FormValues {
  const out: FormValues = {};
  for (const f of spec.fields) out[f.name] = f.initial ?? (f.type === 'bool' ? false : '');
  return out;
}

/** b's keys over a's, objects merged key by key (so extra {"settings": {...}} adds to the form's settings). */
export function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const old = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && old && typeof old === 'object' && !Array.isArray(old)
        ? deepMerge(old as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
  node[keys[keys.length - 1]] = value;
}

function inRange(f: FieldSpec, n: number): string | null {
  if (f.min !== undefined && n < f.min) return `At least ${f.min}.`;
  if (f.max !== undefined && n > f.max) return `At most ${f.max}.`;
  return null;
}

/** One field's value, or an error message; undefined when the field is empty and not required. */
export function parseField(f: FieldSpec, raw: string | boolean | undefined): { value?: unknown; error?: string } {
  if (f.type === 'bool') return { value: raw === true };
  const text = str(raw);
  if (!text) return f.required ? { error: 'Required.' } : {};
  switch (f.type) {
    case 'int':
    case 'generator':
    case 'critic':
    case 'campaign':
    case 'snapshot': {
      if (!/^-?\d+$/.test(text)) return { error: 'A whole number.' };
      const n = Number(text);
      return inRange(f, n) ? { error: inRange(f, n)! } : { value: n };
    }
    case 'float': {
      const n = Number(text);
      if (!Number.isFinite(n)) return { error: 'A number.' };
      return inRange(f, n) ? { error: inRange(f, n)! } : { value: n };
    }
    case 'intList': {
      const parts = list(text);
      if (!parts.every((p) => /^-?\d+$/.test(p))) return { error: 'Whole numbers separated by commas.' };
      const nums = parts.map(Number);
      const bad = nums.find((n) => inRange(f, n));
      if (bad !== undefined) return { error: `${bad}: ${inRange(f, bad)}` };
      return { value: [...new Set(nums)] };
    }
    case 'choice':
      return f.choices && !f.choices.includes(text) ? { error: `One of ${f.choices.join(', ')}.` } : { value: text };
    case 'text':
      return { value: text };
    case 'textList':
      return { value: list(text) };
  }
}

/** The form checked field by field and across fields: params to send, or the messages to show. */
export function buildParams(spec: KindSpec, values: FormValues): { params: Record<string, unknown>; errors: Record<string, string> } {
  const params: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  let extra: Record<string, unknown> = {};
  for (const f of spec.fields) {
    const { value, error } = parseField(f, values[f.name]);
    if (error) {
      errors[f.name] = error;
      continue;
    }
    if (value === undefined || (f.dependsOn && !str(values[f.dependsOn]))) continue;
    if (f.name === 'extra') {
      try {
        const parsed = JSON.parse(value as string);
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) errors.extra = 'A JSON object, like {"key": 1}.';
        else extra = parsed as Record<string, unknown>;
      } catch {
        errors.extra = 'Not valid JSON.';
      }
      continue;
    }
    setPath(params, f.path ?? f.name, value);
  }
  Object.assign(errors, spec.check?.(values) ?? {}, errors);
  return { params: deepMerge(params, extra), errors };
}

/** Server field errors (`fields` of a 4xx, flattened to dotted paths such as "params.seeds" or
 *  "filters.campaign_ids") mapped onto the form's fields; what matches none goes under "extra" where the
 *  form has it (the error box above the button lists every field message anyway). */
export function serverFieldErrors(spec: KindSpec, fields: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [path, msg] of Object.entries(fields)) {
    const parts = path.split('.');
    const field = spec.fields.find(
      (f) => f.path === path || parts.includes(f.name) || (!!f.path && path.endsWith(f.path.split('.').pop()!)),
    );
    const name = field ? field.name : spec.fields.some((f) => f.name === 'extra') ? 'extra' : null;
    if (!name) continue;
    out[name] = out[name] ? `${out[name]} ${msg}` : msg;
  }
  return out;
}
