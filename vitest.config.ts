import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "packages/*/src/**/*.test.ts", "packages/*/test/**/*.test.ts"],
    // test/quiet.ts: what the code under test prints goes through console, kept per test
    setupFiles: ["test/quiet.ts", "test/setup.ts"],
    // a passing test shows nothing beyond the runner's report; a failing one shows all it printed
    silent: "passed-only",
    // process warnings (the AWS SDK's NodeVersionSupportWarning) reach console through test/quiet.ts instead
    execArgv: ["--no-warnings"],
    // the stack variants, synthesized once per run and shared between files
    globalSetup: ["test/stacks/synth-cache.ts"],
    // the stacks' operator warnings go to stderr for `sst deploy`; the stack tests assert them from the assembly
    onConsoleLog: (log) => !log.startsWith("spot-manager: warning:"),
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    // most tests wait on scaled clocks and real HTTP, not the CPU: two workers even on two cores
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
