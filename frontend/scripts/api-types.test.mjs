// The committed API types are what the schema generates: a schema change without `npm run api:types`
// fails here, so the browser and the server cannot drift apart silently.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { FRONTEND, generate } from './api-types.mjs';

describe('generated API types', () => {
  it('match openapi.json', async () => {
    for (const [path, text] of Object.entries(await generate())) {
      const committed = readFileSync(join(FRONTEND, path), 'utf8');
      expect(committed, `${path} differs from what openapi.json generates: run npm run api:types`).toBe(text);
    }
  });
});
