import { defineConfig } from 'vitest/config';

// Django serves dist/index.html for the SPA routes and dist/* under /static/app/.
// JSX goes through esbuild (no Babel plugin needed; we do not use fast refresh).
const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
const backend = env.LIFT_BACKEND ?? 'http://127.0.0.1:8000';

export default defineConfig({
  base: '/static/app/',
  esbuild: { jsx: 'automatic' },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false },
  server: {
    proxy: { '/api': backend, '/media': backend },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}', 'scripts/**/*.test.mjs'],
    restoreMocks: true,
    setupFiles: ['src/test/setup.ts'],
  },
});
