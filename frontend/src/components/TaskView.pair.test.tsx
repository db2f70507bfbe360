// The task view with a pair of videos: the same drafts, keys, submit and lease as the rating view.
import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { setFetch, type Assignment } from '../api';
import { draftKey, loadDraft } from '../draft';
import { campaign, json, pairAssignment } from '../test/fixtures';
import { TaskView } from './TaskView';

interface Call {
  url: string;
  init: RequestInit;
}

function mockServer(next: () => Assignment | null) {
  const calls: Call[] = [];
  const c = campaign({ kind: 'pairwise' });
  setFetch(async (url, init = {}) => {
    calls.push({ url, init });
    if (url === '/api/auth/csrf/') return json(200, {});
    if (url === `/api/campaigns/${c.id}/`) return json(200, c);
    if (url === `/api/campaigns/${c.id}/next-task/`) {
      const n = next();
      return n ? json(200, n) : new Response(null, { status: 204 });
    }
    if (url.endsWith('/submit/')) return json(201, { id: 1, assignment: 42, ratings: {}, time_spent_ms: 1, created_at: 'now' });
    if (url.endsWith('/extend/')) return json(200, { expires_at: new Date(Date.now() + 600_000).toISOString() });
    return json(404, { detail: 'nope' });
  });
  return calls;
}

const key = (k: string, opts: Partial<KeyboardEventInit> = {}, target: Element | Window = window) =>
  act(() => {
    fireEvent.keyDown(target, { key: k, ...opts });
  });

// The view listens for keys from an effect that runs after it first shows the task: let React run it before
// pressing any (on a loaded machine the first key could otherwise land before the listener).
async function ready() {
  await screen.findByTestId('task-view');
  await act(async () => {});
}

const checked = (dimKey: string) =>
  screen.getByTestId(`dimension-${dimKey}`).querySelector('[role="radio"][aria-checked="true"]')?.getAttribute('data-testid') ?? null;

beforeEach(() => {
  document.cookie = 'csrftoken=tok; path=/';
});
afterEach(() => {
  setFetch((i, init) => fetch(i, init));
});

describe('TaskView with a pair', () => {
  it('shows both videos, prefetches the next pair and lists the pair keys', async () => {
    mockServer(() => pairAssignment());
    render(<TaskView campaignId={7} />);
    await ready();
    expect(screen.queryByTestId('task-video')).toBeNull();
    expect(screen.getByTestId('pair-video-left').getAttribute('src')).toBe('/media/p5.mp4');
    expect(screen.getByTestId('pair-video-right').getAttribute('src')).toBe('/media/p6.mp4');
    expect(screen.getAllByTestId('pair-prefetch').map((v) => v.getAttribute('src'))).toEqual(['/media/p7.mp4', '/media/p8.mp4']);
    expect(screen.getByTestId('guidelines-drawer').textContent).toContain('Link / unlink the two videos');
    expect(screen.queryAllByTestId(/^rate-/)).toHaveLength(0);
  });

  it('chooses with 1/2/3 and the arrows, L unlinks and links, and sends choices', async () => {
    const calls = mockServer(() => pairAssignment());
    render(<TaskView campaignId={7} />);
    await ready();
    await key('1');
    expect(checked('semantic')).toBe('choose-semantic-left');
    fireEvent.change(screen.getByTestId('rationale-semantic'), { target: { value: ' Left one has the cat ' } });
    await key('ArrowDown');
    await key('2');
    expect(checked('motion')).toBe('choose-motion-tie');
    expect(screen.queryByTestId('rationale-motion')).toBeNull(); // a tie needs no reason under unless_good
    await key('ArrowDown');
    await key('3');
    const focused = document.activeElement as HTMLElement;
    expect(focused.dataset.testid).toBe('choose-fidelity-right');
    await key('ArrowLeft', {}, focused);
    expect(checked('fidelity')).toBe('choose-fidelity-tie');
    await key('ArrowRight', {}, document.activeElement!);
    expect(checked('fidelity')).toBe('choose-fidelity-right');
    fireEvent.change(screen.getByTestId('rationale-fidelity'), { target: { value: 'Less blur' } });

    expect(screen.getByTestId('pair-players').dataset.linked).toBe('true');
    await key('l');
    expect(screen.getByTestId('pair-players').dataset.linked).toBe('false');
    expect(screen.getByTestId('pair-left-play')).toBeTruthy();
    await key('L');
    expect(screen.getByTestId('pair-players').dataset.linked).toBe('true');

    await key('Enter', { ctrlKey: true });
    await waitFor(() => expect(calls.some((c) => c.url === '/api/assignments/42/submit/')).toBe(true));
    const submit = calls.find((c) => c.url === '/api/assignments/42/submit/')!;
    const body = JSON.parse(String(submit.init.body));
    expect(body.ratings).toBeUndefined();
    expect(body.choices).toEqual({
      semantic: { choice: 'left', rationale: 'Left one has the cat' },
      motion: { choice: 'tie', rationale: '' },
      fidelity: { choice: 'right', rationale: 'Less blur' },
    });
    expect((submit.init.headers as Record<string, string>)['Idempotency-Key']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses a side without its reason, and a missing choice', async () => {
    const calls = mockServer(() => pairAssignment());
    render(<TaskView campaignId={7} />);
    await ready();
    await key('3');
    await key('Enter', { ctrlKey: true });
    expect(calls.some((c) => c.url.endsWith('/submit/'))).toBe(false);
    expect(screen.getByTestId('rationale-error-semantic')).toBeTruthy();
    expect(screen.getByTestId('rating-error-motion').textContent).toContain('left, tie or right');
  });

  it('keeps the draft as typed and restores it after a reload', async () => {
    mockServer(() => pairAssignment());
    const first = render(<TaskView campaignId={7} />);
    await ready();
    await key('3');
    fireEvent.change(screen.getByTestId('rationale-semantic'), { target: { value: 'The right one has two ca' } });
    expect(loadDraft(42)?.ratings.semantic).toEqual({ rating: 'right', rationale: 'The right one has two ca' });
    first.unmount();
    expect(window.localStorage.getItem(draftKey(42))).not.toBeNull();

    render(<TaskView campaignId={7} />);
    await ready();
    expect(checked('semantic')).toBe('choose-semantic-right');
    expect((screen.getByTestId('rationale-semantic') as HTMLTextAreaElement).value).toBe('The right one has two ca');
  });
});
