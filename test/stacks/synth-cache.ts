/**
 * Global setup: one folder per test run where the stack variants are synthesized once and shared
 * between test files (test/stacks/variants.ts); removed when the run ends.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";

export default function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), "spot-manager-synth-"));
  project.provide("synthCacheDir", dir);
  return () => rmSync(dir, { recursive: true, force: true });
}
