import { defineConfig } from 'vitest/config';

// Tests import the workspace packages' TypeScript sources (the "michi-src" export condition),
// so `make test` needs no build step before it.
export default defineConfig({
  resolve: { conditions: ['michi-src'] },
  ssr: { resolve: { conditions: ['michi-src'] } },
  test: {
    include: ['{proto,edge,cloud,simulators,seeds,scripts,dashboard}/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration tests start real InfluxDB, brokers and Chromium: two cores cannot run many at once.
    maxWorkers: 2,
    pool: 'forks',
  },
});
