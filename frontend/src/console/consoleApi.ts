// Typed calls of the admin API (jobs, models, snapshots, campaigns, quality, console overview). The types
// are the API's own (apiSchema.ts, generated); JSON fields the schema leaves open get their shape here.
import { ApiError, request, type Campaign, type Refine, type Schema, type Schemas, type User } from '../api';

export type JobStatus = Schemas['JobOutputStatusEnum'];

export type Job = Refine<
  Schemas['JobOutput'],
  {
    params: Record<string, unknown>;
    metrics: Record<string, unknown>;
    result: Record<string, unknown>;
    /** Files the job produced. */
    artifacts: { name: string; path: string; kind: string }[];
  }
>;

export type ModelVersion = Refine<
  Schemas['ModelVersionOutput'],
  { config: Record<string, unknown>; lineage: Record<string, unknown>; metrics: Record<string, unknown> }
>;

export type Snapshot = Refine<
  Schemas['SnapshotOutput'],
  {
    filters: Record<string, unknown>;
    counts: Record<string, number>;
    manifest: {
      distributions?: Record<string, Record<string, number>>;
      agreement?: Record<string, { alpha_ordinal?: number | null }>;
      dimensions?: string[];
    } & Record<string, unknown>;
  }
>;

// The overview's figures (alignment/selectors.py builds them; the schema has them as plain objects).
export interface ActiveModel {
  id: number;
  kind: string;
  name: string;
  base: string;
  metrics: Record<string, unknown>;
  lineage: Record<string, unknown>;
  created_at: string;
}

export type Overview = Refine<
  Schemas['OverviewApiOutput'],
  {
    throughput: { day: string; annotations: number }[];
    campaigns: {
      id: number;
      name: string;
      is_active: boolean;
      items: number;
      overlap: number;
      annotations: number;
      target: number;
      fraction: number;
      members: number;
    }[];
    models: Record<string, { active: ActiveModel | null; versions: number }>;
    workers: {
      worker: string;
      last_heartbeat: string | null;
      running: { id: number; kind: string; queue: string; phase: string; progress: number; started_at: string | null }[];
    }[];
    jobs: { queued: Record<string, number>; running: Record<string, number>; failed_last_day: number };
  }
>;

export type LibraryVideo = Schemas['LibraryVideoOutput'];

export interface QualityReport {
  units: number;
  annotations: number;
  annotators: number;
  dimensions: Record<
    string,
    {
      // Ratings are ordinal (Good > Normal > Bad); a pair's A / tie / B is nominal.
      alpha_ordinal?: number | null;
      alpha_nominal?: number | null;
      alpha_ci: [number | null, number | null];
      pairwise_agreement: number | null;
    }
  >;
}

export interface AnnotatorFigures {
  annotator_id: number;
  username: string;
  annotations: number;
  per_hour: number | null;
  median_seconds: number;
  gold_accuracy: { overall?: number; [k: string]: unknown };
  agreement_with_others: { overall: number | null; [dim: string]: number | null };
  annotation_flags: Record<string, number>;
  flags: Record<string, unknown>;
  // Pairwise campaigns: the share of LEFT among choices that prefer a side, tested against a fair coin.
  position_bias?: { left_share: number | null; p_value: number | null; sided_choices: number; flagged: boolean };
}

export type RetrainPolicy = Refine<
  Schemas['RetrainPolicyOutput'],
  {
    stages: string[];
    source_campaign_ids: number[];
    review_states: string[];
    candidates: Record<string, unknown>;
    next_round: Record<string, unknown>;
    critic: Record<string, unknown>;
    align: Record<string, unknown>;
  }
>;

export type RetrainTrigger = Schemas['RetrainTriggerOutput'];

/** A campaign as admins get it from its own URL: the workspace fields and the admin settings. */
export type AdminCampaign = Refine<Schemas['CampaignAdminOutput'], { schema: Schema; quality_settings: Record<string, unknown> }>;

async function get<T>(path: string): Promise<T> {
  return (await request<T>('GET', path)).data as T;
}

async function send<T>(method: string, path: string, body?: unknown): Promise<T> {
  return (await request<T>(method, path, body)).data as T;
}

function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export const consoleApi = {
  overview: () => get<Overview>('/api/console/overview/'),
  jobs: (filters: { kind?: string; status?: string; limit?: number } = {}) =>
    get<Job[]>(`/api/jobs/${query(filters)}`),
  job: (id: number) => get<Job>(`/api/jobs/${id}/`),
  launchJob: (kind: string, params: Record<string, unknown>) => send<Job>('POST', '/api/jobs/', { kind, params }),
  cancelJob: (id: number) => send<Job>('POST', `/api/jobs/${id}/cancel/`),
  /** Retry through the job's own retry endpoint where the server has one (retrain loops resume from the
   *  failed stage); otherwise the same kind and params are launched again. */
  async retryJob(job: Job): Promise<Job> {
    try {
      return await send<Job>('POST', `/api/jobs/${job.id}/retry/`);
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 405))
        return send<Job>('POST', '/api/jobs/', { kind: job.kind, params: job.params });
      throw err;
    }
  },
  models: (kind?: string) => get<ModelVersion[]>(`/api/models/${query({ kind })}`),
  promote: (id: number, body: { force?: boolean; reason?: string } = {}) =>
    send<ModelVersion>('POST', `/api/models/${id}/promote/`, body),
  retrainPolicy: () => get<RetrainPolicy>('/api/retrain/policy/'),
  updateRetrainPolicy: (changes: Partial<RetrainPolicy>) => send<RetrainPolicy>('PUT', '/api/retrain/policy/', changes),
  /** Starts a loop now with the policy's settings; a 409 while one runs (the trigger is recorded as skipped). */
  startLoop: () => send<RetrainTrigger>('POST', '/api/retrain/loops/'),
  retrainTriggers: () => get<RetrainTrigger[]>('/api/retrain/triggers/?limit=20'),
  snapshots: () => get<Snapshot[]>('/api/snapshots/'),
  snapshot: (id: number) => get<Snapshot>(`/api/snapshots/${id}/`),
  requestSnapshot: (body: Record<string, unknown>) => send<Snapshot>('POST', '/api/snapshots/', body),
  campaigns: () => get<Campaign[]>('/api/campaigns/'),
  campaign: (id: number) => get<AdminCampaign>(`/api/campaigns/${id}/`),
  createCampaign: (body: Record<string, unknown>) => send<Campaign>('POST', '/api/campaigns/', body),
  updateCampaign: (id: number, body: Record<string, unknown>) =>
    send<AdminCampaign>('PATCH', `/api/campaigns/${id}/`, body),
  members: (id: number) => get<User[]>(`/api/campaigns/${id}/members/`),
  addMember: (id: number, username: string) => send<User>('POST', `/api/campaigns/${id}/members/`, { username }),
  removeMember: (id: number, username: string) =>
    send<void>('DELETE', `/api/campaigns/${id}/members/${encodeURIComponent(username)}/`),
  addItems: (id: number, videoIds: number[], priority = 0) =>
    send<{ items: number }>('POST', `/api/campaigns/${id}/items/`, { video_ids: videoIds, priority }),
  library: (filters: { job?: number; prompt?: string; not_in_campaign?: number; limit?: number }) =>
    get<Schemas['VideoLibraryApiOutput']>(`/api/console/videos/${query(filters)}`),
  quality: (id: number, samples = 0) => get<QualityReport>(`/api/campaigns/${id}/quality/${query({ samples })}`),
  annotators: (id: number) => get<{ annotators: AnnotatorFigures[] }>(`/api/campaigns/${id}/annotators/`),
};

export function snapshotDownloadUrl(id: number): string {
  return `/api/snapshots/${id}/download/`;
}
