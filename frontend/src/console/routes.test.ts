import { describe, expect, it } from 'vitest';
import { matchRoute } from '../router';
import { matchConsoleRoute } from './ConsoleApp';

describe('console routes', () => {
  it('hands /console paths to the console', () => {
    expect(matchRoute('/console')).toEqual({ name: 'console', path: '/' });
    expect(matchRoute('/console/jobs/4/')).toEqual({ name: 'console', path: '/jobs/4' });
    expect(matchRoute('/consoles')).toEqual({ name: 'notFound' });
  });

  it('matches the console pages and the job filters', () => {
    expect(matchConsoleRoute('/')).toEqual({ page: 'overview' });
    expect(matchConsoleRoute('/jobs', '?kind=align&status=failed')).toEqual({ page: 'jobs', kind: 'align', status: 'failed', launch: null });
    expect(matchConsoleRoute('/jobs/12')).toEqual({ page: 'job', id: 12 });
    expect(matchConsoleRoute('/campaigns/3')).toEqual({ page: 'campaign', id: 3 });
    expect(matchConsoleRoute('/nope')).toEqual({ page: 'notFound' });
  });
});
