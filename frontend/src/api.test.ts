import { afterEach, describe, expect, it, vi } from 'vitest';
import { api, ApiError, fieldMessages, NetworkError, setFetch, setUnauthorizedHandler } from './api';
import { json } from './test/fixtures';

afterEach(() => {
  setFetch((i, init) => fetch(i, init));
  setUnauthorizedHandler(null);
});

describe('api client', () => {
  it('sends CSRF token, credentials and the idempotency key on submit', async () => {
    document.cookie = 'csrftoken=tok123; path=/';
    const f = vi.fn(async (_url: string, _init?: RequestInit) =>
      json(201, { id: 1, assignment: 9, ratings: {}, time_spent_ms: 5, created_at: 'x' }),
    );
    setFetch(f);
    await api.submit(9, { ratings: {}, time_spent_ms: 5 }, 'key-9');
    const [url, init] = f.mock.calls[0];
    expect(url).toBe('/api/assignments/9/submit/');
    expect(init?.credentials).toBe('same-origin');
    const h = init?.headers as Record<string, string>;
    expect(h['X-CSRFToken']).toBe('tok123');
    expect(h['Idempotency-Key']).toBe('key-9');
    expect(JSON.parse(String(init?.body))).toEqual({ ratings: {}, time_spent_ms: 5 });
  });

  it('fetches the CSRF cookie first when it is missing', async () => {
    const f = vi.fn(async (url: string) => {
      if (url === '/api/auth/csrf/') {
        document.cookie = 'csrftoken=fresh; path=/';
        return json(200, {});
      }
      return json(200, { expires_at: '2030-01-01T00:00:00Z' });
    });
    setFetch(f);
    await api.extend(3);
    expect(f.mock.calls.map((c) => c[0])).toEqual(['/api/auth/csrf/', '/api/assignments/3/extend/']);
  });

  it('turns error bodies into ApiError with detail, code and fields', async () => {
    document.cookie = 'csrftoken=t; path=/';
    setFetch(async () => json(400, { detail: 'Fix the ratings.', code: 'invalid', fields: { ratings: { semantic: { rationale: ['Required.'] } } } }));
    const err = (await api.submit(1, { ratings: {}, time_spent_ms: 0 }, 'k').catch((e) => e)) as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(400);
    expect(err.detail).toBe('Fix the ratings.');
    expect(err.code).toBe('invalid');
    expect(fieldMessages(err.fields)).toEqual({ 'ratings.semantic.rationale': 'Required.' });
  });

  it('gives a readable detail when a 5xx has no JSON body', async () => {
    setFetch(async () => new Response('<html>502</html>', { status: 502 }));
    const err = (await api.campaigns().catch((e) => e)) as ApiError;
    expect(err.status).toBe(502);
    expect(err.detail).toMatch(/server had a problem/);
  });

  it('wraps fetch failures in NetworkError', async () => {
    setFetch(async () => {
      throw new TypeError('Failed to fetch');
    });
    await expect(api.campaigns()).rejects.toBeInstanceOf(NetworkError);
  });

  it('returns null for 204 next-task and calls the sign-out handler on 401', async () => {
    document.cookie = 'csrftoken=t; path=/';
    setFetch(async () => new Response(null, { status: 204 }));
    expect(await api.nextTask(1)).toBeNull();
    const onAuth = vi.fn();
    setUnauthorizedHandler(onAuth);
    setFetch(async () => json(401, { detail: 'Sign in first.', code: 'not_authenticated' }));
    await expect(api.campaigns()).rejects.toBeInstanceOf(ApiError);
    expect(onAuth).toHaveBeenCalledTimes(1);
    expect(await api.me()).toBeNull(); // me() is quiet
    expect(onAuth).toHaveBeenCalledTimes(1);
  });

  it('treats only 401 and 403 not_authenticated as signed out, not other 403s', async () => {
    document.cookie = 'csrftoken=t; path=/';
    const onAuth = vi.fn();
    setUnauthorizedHandler(onAuth);
    setFetch(async () => json(403, { detail: 'You do not have permission.', code: 'permission_denied' }));
    const denied = (await api.campaign(7).catch((e) => e)) as ApiError;
    expect(denied.status).toBe(403);
    expect(denied.isAuth).toBe(false);
    expect(onAuth).not.toHaveBeenCalled();

    setFetch(async () => json(403, { detail: 'Authentication credentials were not provided.', code: 'not_authenticated' }));
    const signedOut = (await api.campaigns().catch((e) => e)) as ApiError;
    expect(signedOut.isAuth).toBe(true);
    expect(onAuth).toHaveBeenCalledTimes(1);
    expect(await api.me()).toBeNull();

    setFetch(async () => json(403, { detail: 'Nope.', code: 'permission_denied' }));
    await expect(api.me()).rejects.toBeInstanceOf(ApiError);
  });
});
