import { defineConfig } from 'vitest/config';

/** `npm run test:crash`: the kill -9 test, apart from `npm test` (about a minute of its own). */
export default defineConfig({
  test: {
    include: ['test/crash/**/*.crash.ts'],
    environment: 'node',
    globalSetup: ['test/support/build-cli.ts'],
    testTimeout: 180_000,
    reporters: ['default'],
  },
});
