// Typed calls of the admin API (jobs, models, snapshots, campaigns, quality, console overview).
import { ApiError, request, type Campaign, type User } from '../api';

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface Job {
  id: number;
  kind: string;
  status: JobStatus;
  params: Record<string, unknown>;
  queue: string;
  progress: number;
  phase: string;
  log_tail: string;
  metrics: Record<string, unknown>;
  result: Record<string, unknown>;
  /** Files the job produced; present once the API sends them. */
  artifacts?: { name: string; path: string; kind: string }[];
  error: string;
  cancel_requested: boolean;
  attempts: number;
  worker: string;
  heartbeat_at: string | null;
  parent: number | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export interface ModelVersion {
  id: number;
  kind: 'generator' | 'critic';
  name: string;
  base: string;
  adapter_path: string;
  config: Record<string, unknown>;
  parent: number | null;
  lineage: Record<string, unknown>;
  metrics: Record<string, unknown>;
  is_active: boolean;
  created_by_job: number | null;
  created_at: string;
}

export interface Snapshot {
  id: number;
  number: number;
  filters: Record<string, unknown>;
  status: string;
  counts: Record<string, number>;
  manifest: {
    distributions?: Record<string, Record<string, number>>;
    agreement?: Record<string, { alpha_ordinal?: number | null }>;
    dimensions?: string[];
  } & Record<string, unknown>;
  cut_max_id: number | null;
  job_id: number | null;
  error: string;
  created_at: string;
  finished_at: string | null;
}

export interface ActiveModel {
  id: number;
  kind: string;
  name: string;
  base: string;
  metrics: Record<string, unknown>;
  lineage: Record<string, unknown>;
  created_at: string;
}

export interface Overview {
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

export interface LibraryVideo {
  id: number;
  prompt: string;
  source: string;
  generator: string;
  seed: number | null;
  poster_url: string | null;
  duration: number;
  campaigns: number;
  created_at: string;
}

export interface QualityReport {
  units: number;
  annotations: number;
  annotators: number;
  dimensions: Record<
    string,
    { alpha_ordinal: number | null; alpha_ci: [number | null, number | null]; pairwise_agreement: number | null }
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
}

export interface RetrainPolicy {
  enabled: boolean;
  min_new_annotations: number;
  check_every_minutes: number;
  stages: string[];
  source_campaign_ids: number[];
  review_states: string[];
  next_round_campaign: number | null;
  candidates: Record<string, unknown>;
  next_round: Record<string, unknown>;
  critic: Record<string, unknown>;
  align: Record<string, unknown>;
  updated_at: string | null;
  new_annotations: number;
}

export interface RetrainTrigger {
  id: number;
  source: string;
  outcome: string;
  new_annotations: number;
  loop: number | null;
  reason: string;
  at: string;
}

/** The console's campaign: the workspace fields plus the admin settings (present once the API sends them). */
export interface AdminCampaign extends Campaign {
  is_active: boolean;
  gold_rate?: number;
  task_order?: 'priority' | 'uncertainty';
  consensus_method?: 'majority' | 'dawid_skene';
  quality_settings?: Record<string, unknown>;
  created_at?: string;
}

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
  campaigns: () => get<AdminCampaign[]>('/api/campaigns/'),
  campaign: (id: number) => get<AdminCampaign>(`/api/campaigns/${id}/`),
  createCampaign: (body: Record<string, unknown>) => send<AdminCampaign>('POST', '/api/campaigns/', body),
  updateCampaign: (id: number, body: Record<string, unknown>) =>
    send<AdminCampaign>('PATCH', `/api/campaigns/${id}/`, body),
  members: (id: number) => get<User[]>(`/api/campaigns/${id}/members/`),
  addMember: (id: number, username: string) => send<User>('POST', `/api/campaigns/${id}/members/`, { username }),
  removeMember: (id: number, username: string) =>
    send<void>('DELETE', `/api/campaigns/${id}/members/${encodeURIComponent(username)}/`),
  addItems: (id: number, videoIds: number[], priority = 0) =>
    send<{ items: number }>('POST', `/api/campaigns/${id}/items/`, { video_ids: videoIds, priority }),
  library: (filters: { job?: number; prompt?: string; not_in_campaign?: number; limit?: number }) =>
    get<{ total: number; results: LibraryVideo[] }>(`/api/console/videos/${query(filters)}`),
  quality: (id: number, samples = 0) => get<QualityReport>(`/api/campaigns/${id}/quality/${query({ samples })}`),
  annotators: (id: number) => get<{ annotators: AnnotatorFigures[] }>(`/api/campaigns/${id}/annotators/`),
};

export function snapshotDownloadUrl(id: number): string {
  return `/api/snapshots/${id}/download/`;
}
