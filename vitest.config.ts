import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "packages/*/src/**/*.test.ts", "packages/*/test/**/*.test.ts"],
    setupFiles: ["test/setup.ts"],
    // the stack variants, synthesized once per run and shared between files
    globalSetup: ["test/stacks/synth-cache.ts"],
    // the stacks' operator warnings go to stderr for `sst deploy`; the stack tests assert them from the assembly
    onConsoleLog: (log) => !log.startsWith("spot-manager: warning:"),
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
  },
});
