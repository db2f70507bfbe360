import type { Assignment, Campaign } from '../api';

export function campaign(overrides: Partial<Campaign> = {}): Campaign {
  const levels = (g: string, n: string, b: string) => [
    { value: 'Good', criteria: g },
    { value: 'Normal', criteria: n },
    { value: 'Bad', criteria: b },
  ];
  return {
    id: 7,
    name: 'Pilot <b>campaign</b>',
    kind: 'rating',
    guidelines: '# Rate carefully\n\n<script>window.__pwned = 1</script>\n\n*Look* at the hands.',
    schema: {
      dimensions: [
        { key: 'semantic', label: 'Semantic consistency', question: 'Does it match the text?', levels: levels('Matches fully', 'Small mismatches', 'Largely inconsistent') },
        { key: 'motion', label: 'Motion smoothness', question: 'Is the motion natural?', levels: levels('Fluid', 'Slight jitter', 'Choppy') },
        { key: 'fidelity', label: 'Video fidelity', question: 'Is the quality high?', levels: levels('Few artifacts', 'Some blur', 'Severe artifacts') },
      ],
    },
    rationale_policy: 'unless_good',
    lease_seconds: 600,
    overlap: 1,
    progress: { done: 1, skipped: 0, remaining: 9 },
    is_active: true,
    created_at: '2026-01-01T00:00:00Z',
    ...overrides,
  };
}

export function assignment(overrides: Partial<Assignment> = {}): Assignment {
  const now = Date.now();
  return {
    id: 42,
    campaign: 7,
    kind: 'rating',
    state: 'leased',
    leased_at: new Date(now).toISOString(),
    expires_at: new Date(now + 600_000).toISOString(),
    lease_seconds: 600,
    video: { id: 3, url: '/media/v3.mp4', poster_url: null, width: 640, height: 360, fps: 8, frames: 48, duration: 6 },
    pair: null,
    prompt: { text: 'A <img src=x onerror=alert(1)> cat in a pot', caption: 'A ginger cat sits in a steel pot.' },
    prefetch_url: '/media/v4.mp4',
    prefetch_urls: ['/media/v4.mp4'],
    ...overrides,
  };
}

export function json(status: number, body?: unknown): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' },
  });
}

/** A pairwise campaign's lease: two videos of one prompt, shown left and right. */
export function pairAssignment(overrides: Partial<Assignment> = {}): Assignment {
  const left = { id: 5, url: '/media/p5.mp4', poster_url: null, width: 256, height: 144, fps: 8, frames: 16, duration: 2 };
  const right = { ...left, id: 6, url: '/media/p6.mp4' };
  return assignment({
    kind: 'pairwise',
    video: left,
    pair: { left, right },
    prefetch_url: '/media/p7.mp4',
    prefetch_urls: ['/media/p7.mp4', '/media/p8.mp4'],
    ...overrides,
  });
}
