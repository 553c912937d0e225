import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/motoGlobalSetup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: keep the moto-backed and end-to-end files from starving each other.
    maxWorkers: 2,
  },
});
