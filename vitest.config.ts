import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Crash, concurrency and browser tests spawn processes; give them room on 2 cores.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // expect.poll waits for something to happen (a page to update, a file to appear); on 2 busy cores that can
    // take seconds, never a verdict on speed (speed lives in bench/).
    expect: { poll: { timeout: 20_000 } },
  },
});
