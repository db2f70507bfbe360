import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { setFetch, type Assignment, type Campaign } from '../api';
import { draftKey, loadDraft } from '../draft';
import { assignment, campaign, json } from '../test/fixtures';
import { TaskView } from './TaskView';

type Handler = (url: string, init: RequestInit) => Response | Promise<Response>;

interface Server {
  calls: { url: string; init: RequestInit }[];
  submit: Handler;
  next: () => Assignment | null;
}

function mockServer(c: Campaign = campaign(), a: Assignment | null = assignment()): Server {
  const server: Server = {
    calls: [],
    next: () => a,
    submit: () => json(201, { id: 1, assignment: a?.id, ratings: {}, time_spent_ms: 1, created_at: 'now' }),
  };
  setFetch(async (url, init = {}) => {
    server.calls.push({ url, init });
    if (url === '/api/auth/csrf/') return json(200, {});
    if (url === `/api/campaigns/${c.id}/`) return json(200, c);
    if (url === `/api/campaigns/${c.id}/next-task/`) {
      const n = server.next();
      return n ? json(200, n) : new Response(null, { status: 204 });
    }
    if (url.endsWith('/submit/')) return server.submit(url, init);
    if (url.endsWith('/extend/')) return json(200, { expires_at: new Date(Date.now() + 600_000).toISOString() });
    if (url.endsWith('/skip/')) return json(200, {});
    return json(404, { detail: 'nope' });
  });
  return server;
}

const key = (k: string, opts: Partial<KeyboardEventInit> = {}, target: Element | Window = window) =>
  act(() => {
    fireEvent.keyDown(target, { key: k, ...opts });
  });

const checked = (dimKey: string) =>
  screen
    .getByTestId(`dimension-${dimKey}`)
    .querySelector('[role="radio"][aria-checked="true"]')
    ?.getAttribute('data-testid') ?? null;

// The view listens for keys from an effect that runs after it first shows the task: let React run it before
// pressing any (on a loaded machine the first key could otherwise land before the listener).
async function ready() {
  await screen.findByTestId('task-view');
  await act(async () => {});
}

beforeEach(() => {
  document.cookie = 'csrftoken=tok; path=/';
});
afterEach(() => {
  setFetch((i, init) => fetch(i, init));
});

describe('TaskView', () => {
  it('shows the prompt, the video and the prefetch, with markup as text', async () => {
    mockServer();
    render(<TaskView campaignId={7} />);
    await ready();
    expect(screen.getByTestId('prompt-text').textContent).toBe('A <img src=x onerror=alert(1)> cat in a pot');
    expect(screen.getByTestId('prompt').querySelector('img')).toBeNull();
    expect(screen.getByTestId('task-video').getAttribute('src')).toBe('/media/v3.mp4');
    expect(screen.getByTestId('video-prefetch').getAttribute('src')).toBe('/media/v4.mp4');
    expect(screen.getByTestId('lease-timer').textContent).toMatch(/10:00|9:5\d/);
  });

  it('rates with 1/2/3 on the focused dimension and moves with arrows', async () => {
    mockServer();
    render(<TaskView campaignId={7} />);
    await ready();
    await key('3');
    expect(checked('semantic')).toBe('rate-semantic-Bad');
    await key('ArrowDown');
    await key('1');
    expect(checked('motion')).toBe('rate-motion-Good');
    expect(document.activeElement?.getAttribute('data-testid')).toBe('rate-motion-Good');
    await key('ArrowDown');
    await key('2');
    expect(checked('fidelity')).toBe('rate-fidelity-Normal');
    await key('ArrowUp');
    await key('ArrowUp');
    await key('1');
    expect(checked('semantic')).toBe('rate-semantic-Good');
  });

  it('does not fire shortcuts while typing; Escape returns to the dimension', async () => {
    mockServer();
    render(<TaskView campaignId={7} />);
    await ready();
    const box = screen.getByTestId('rationale-motion');
    box.focus();
    await key('1', {}, box);
    await key('ArrowDown', {}, box);
    expect(checked('motion')).toBeNull();
    expect(checked('semantic')).toBeNull();
    await key('Escape', {}, box);
    expect(document.activeElement?.getAttribute('data-testid')).toBe('rate-motion-Good');
    await key('3');
    expect(checked('motion')).toBe('rate-motion-Bad');
  });

  it('saves the draft as it is typed and restores it after a reload', async () => {
    mockServer();
    const first = render(<TaskView campaignId={7} />);
    await ready();
    await key('3');
    fireEvent.change(screen.getByTestId('rationale-semantic'), { target: { value: 'Two cats, not one' } });
    expect(loadDraft(42)?.ratings.semantic).toEqual({ rating: 'Bad', rationale: 'Two cats, not one' });
    first.unmount();

    render(<TaskView campaignId={7} />); // same lease comes back after reload
    await ready();
    expect(checked('semantic')).toBe('rate-semantic-Bad');
    expect((screen.getByTestId('rationale-semantic') as HTMLTextAreaElement).value).toBe('Two cats, not one');
  });

  it('validates before sending: missing ratings and required reasons', async () => {
    const server = mockServer();
    render(<TaskView campaignId={7} />);
    await ready();
    await key('3'); // semantic Bad, no reason
    await key('Enter', { ctrlKey: true });
    expect(server.calls.some((c) => c.url.endsWith('/submit/'))).toBe(false);
    expect(screen.getByTestId('rationale-error-semantic')).toBeTruthy();
    expect(screen.getByTestId('rating-error-motion')).toBeTruthy();
    expect(screen.getByTestId('submit-status').dataset.state).toBe('failed');
  });

  async function fillAll() {
    await key('3');
    fireEvent.change(screen.getByTestId('rationale-semantic'), { target: { value: '  Wrong subject  ' } });
    await key('ArrowDown');
    await key('1'); // Good: no reason needed under unless_good
    await key('ArrowDown');
    await key('2');
    fireEvent.change(screen.getByTestId('rationale-fidelity'), { target: { value: 'Some blur' } });
  }

  it('retries a failed submit with the same idempotency key, then clears the draft', async () => {
    const server = mockServer();
    let attempts = 0;
    server.submit = () => {
      attempts++;
      if (attempts === 1) throw new TypeError('Failed to fetch');
      if (attempts === 2) return json(503, { detail: 'Down for maintenance', code: 'unavailable' });
      return json(201, { id: 9, assignment: 42, ratings: {}, time_spent_ms: 1, created_at: 'now' });
    };
    let n = 0;
    server.next = () => (n++ === 0 ? assignment() : assignment({ id: 43 }));
    render(<TaskView campaignId={7} retryDelays={{ baseDelayMs: 5, maxDelayMs: 10 }} />);
    await ready();
    await fillAll();
    await key('Enter', { metaKey: true });
    await waitFor(() => expect(screen.getByTestId('task-view').dataset.assignmentId).toBe('43'));
    const submits = server.calls.filter((c) => c.url === '/api/assignments/42/submit/');
    expect(submits).toHaveLength(3);
    const keys = submits.map((c) => (c.init.headers as Record<string, string>)['Idempotency-Key']);
    expect(new Set(keys).size).toBe(1);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    const bodies = submits.map((c) => c.init.body);
    expect(new Set(bodies).size).toBe(1);
    expect(JSON.parse(String(bodies[0])).ratings).toEqual({
      semantic: { rating: 'Bad', rationale: 'Wrong subject' },
      motion: { rating: 'Good', rationale: '' },
      fidelity: { rating: 'Normal', rationale: 'Some blur' },
    });
    expect(window.localStorage.getItem(draftKey(42))).toBeNull();
    expect(screen.getByTestId('task-notice').textContent).toContain('Saved');
  });

  it('shows the retrying state and keeps the key in the draft while offline', async () => {
    const server = mockServer();
    server.submit = () => {
      throw new TypeError('Failed to fetch');
    };
    const view = render(<TaskView campaignId={7} retryDelays={{ baseDelayMs: 60_000, maxDelayMs: 60_000 }} />);
    await ready();
    await fillAll();
    await key('Enter', { ctrlKey: true });
    await waitFor(() => expect(screen.getByTestId('submit-status').dataset.state).toBe('retrying'));
    expect(screen.getByTestId('submit-status').textContent).toMatch(/Retrying in \d+ s/);
    const stored = loadDraft(42)!;
    expect(stored.pending?.key).toMatch(/^[0-9a-f-]{36}$/);
    const sentKey = (server.calls.find((c) => c.url.endsWith('/submit/'))!.init.headers as Record<string, string>)[
      'Idempotency-Key'
    ];
    expect(stored.pending?.key).toBe(sentKey);
    view.unmount();

    // After a reload the pending submit resumes on its own with the same key.
    server.submit = () => json(200, { id: 9, assignment: 42, ratings: {}, time_spent_ms: 1, created_at: 'now' });
    server.next = () => null;
    const before = server.calls.length;
    let first = true;
    server.next = () => (first ? ((first = false), assignment()) : null);
    render(<TaskView campaignId={7} />);
    await screen.findByTestId('empty-state');
    const resumed = server.calls.slice(before).find((c) => c.url.endsWith('/submit/'))!;
    expect((resumed.init.headers as Record<string, string>)['Idempotency-Key']).toBe(sentKey);
    expect(loadDraft(42)).toBeNull();
  });

  it('shows a 4xx in words without retrying, and keeps the work', async () => {
    const server = mockServer();
    server.submit = () =>
      json(400, { detail: 'Some reasons are missing.', code: 'invalid', fields: { ratings: { fidelity: { rationale: ['Too short.'] } } } });
    render(<TaskView campaignId={7} retryDelays={{ baseDelayMs: 5, maxDelayMs: 10 }} />);
    await ready();
    await fillAll();
    await key('Enter', { ctrlKey: true });
    await waitFor(() => expect(screen.getByTestId('submit-status').textContent).toBe('Some reasons are missing.'));
    expect(screen.getByTestId('rationale-error-fidelity').textContent).toBe('Too short.');
    expect(server.calls.filter((c) => c.url.endsWith('/submit/'))).toHaveLength(1);
    const d = loadDraft(42)!;
    expect(d.pending).toBeNull();
    expect(d.ratings.fidelity.rationale).toBe('Some blur');
  });

  it('explains a lost lease (409)', async () => {
    const server = mockServer();
    server.submit = () => json(409, { detail: 'Your lease on this task has expired.', code: 'lease_expired' });
    render(<TaskView campaignId={7} />);
    await ready();
    await fillAll();
    await key('Enter', { ctrlKey: true });
    const lost = await screen.findByTestId('lease-lost');
    expect(lost.textContent).toContain('Your lease on this task has expired.');
    expect(screen.getByTestId('lease-lost-next')).toBeTruthy();
  });

  it('shows the expired message when the countdown runs out', async () => {
    mockServer(campaign(), assignment({ expires_at: new Date(Date.now() - 1000).toISOString() }));
    render(<TaskView campaignId={7} />);
    expect(await screen.findByTestId('lease-expired')).toBeTruthy();
    expect((screen.getByTestId('submit') as HTMLButtonElement).disabled).toBe(true);
  });

  it('shows the empty state when nothing is left (204)', async () => {
    mockServer(campaign(), null);
    render(<TaskView campaignId={7} />);
    const empty = await screen.findByTestId('empty-state');
    expect(empty.textContent).toContain('Pilot <b>campaign</b>');
  });

  it('skips with a reason', async () => {
    const server = mockServer();
    render(<TaskView campaignId={7} />);
    await ready();
    fireEvent.click(screen.getByTestId('skip-open'));
    fireEvent.click(screen.getByTestId('skip-confirm'));
    await waitFor(() => expect(server.calls.some((c) => c.url === '/api/assignments/42/skip/')).toBe(true));
    const call = server.calls.find((c) => c.url.endsWith('/skip/'))!;
    expect(JSON.parse(String(call.init.body)).reason).toBe('The video does not load or play');
  });

  it('renders the guidelines safely in the drawer', async () => {
    mockServer();
    render(<TaskView campaignId={7} />);
    await ready();
    await key('g');
    const drawer = screen.getByTestId('guidelines-drawer');
    expect(drawer.hidden).toBe(false);
    const content = screen.getByTestId('guidelines-content');
    expect(content.querySelector('h1')?.textContent).toBe('Rate carefully');
    expect(content.querySelector('script')).toBeNull();
    expect(content.textContent).toContain('<script>window.__pwned = 1</script>');
    await key('Escape');
    expect(drawer.hidden).toBe(true);
  });

  describe('submit with the next task in one round trip', () => {
    const saved = { id: 9, assignment: 42, ratings: {}, time_spent_ms: 1, created_at: 'now' };
    const nextTaskCalls = (server: Server) => server.calls.filter((c) => c.url.endsWith('/next-task/')).length;

    it('moves to the lease the submit answered with, without a next-task call', async () => {
      const server = mockServer();
      server.submit = () =>
        json(201, { annotation: saved, next: assignment({ id: 43, video: { ...assignment().video, id: 5 } }), next_state: 'leased' });
      render(<TaskView campaignId={7} />);
      await ready();
      const asked = nextTaskCalls(server);
      await fillAll();
      await key('Enter', { ctrlKey: true });
      await waitFor(() => expect(screen.getByTestId('task-view').dataset.assignmentId).toBe('43'));
      const submits = server.calls.filter((c) => c.url === '/api/assignments/42/submit/');
      expect(submits.map((c) => JSON.parse(String(c.init.body)).next)).toEqual([true]);
      expect(nextTaskCalls(server)).toBe(asked);
      expect(window.localStorage.getItem(draftKey(42))).toBeNull();
      expect(screen.getByTestId('task-notice').textContent).toContain('Saved');
    });

    it('shows the empty state when nothing is left', async () => {
      const server = mockServer();
      server.submit = () => json(201, { annotation: saved, next: null, next_state: 'nothing_left' });
      render(<TaskView campaignId={7} />);
      await ready();
      const asked = nextTaskCalls(server);
      await fillAll();
      await key('Enter', { ctrlKey: true });
      await screen.findByTestId('empty-state');
      expect(nextTaskCalls(server)).toBe(asked);
    });

    it('asks next-task when the answer has no live lease (paused campaign, or a replay whose lease closed)', async () => {
      for (const answer of [
        { annotation: saved, next: null, next_state: 'campaign_paused' },
        { annotation: saved, next: assignment({ id: 43, state: 'submitted' }), next_state: 'leased' },
      ]) {
        const server = mockServer();
        server.submit = () => json(200, answer);
        let n = 0;
        server.next = () => (n++ === 0 ? assignment() : assignment({ id: 44 }));
        const view = render(<TaskView campaignId={7} />);
        await ready();
        await fillAll();
        await key('Enter', { ctrlKey: true });
        await waitFor(() => expect(screen.getByTestId('task-view').dataset.assignmentId).toBe('44'));
        expect(nextTaskCalls(server)).toBe(2);
        view.unmount();
        window.localStorage.clear();
      }
    });
  });
});
