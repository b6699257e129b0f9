import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    globalSetup: ['test/support/build-cli.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Whole-system tests open real sockets; a few files at a time keeps a 2-core machine responsive.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
