/**
 * The Node.js 24 binary Lambda's nodejs24.x runs, from npm's node-linux-<arch> package pinned in
 * test/node24 (its own lock file, so the repository's `node` stays the one the suite runs on).
 * Installed with `npm ci` the first time a test needs it; no install scripts are involved.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const PREFIX = join(dirname(fileURLToPath(import.meta.url)), "..", "node24");

export function node24Path(): string {
  return join(PREFIX, "node_modules", `node-linux-${process.arch}`, "bin", "node");
}

/** The binary and its version, or why there is none (not Linux, or the registry out of reach). */
export async function node24(): Promise<{ path: string; version: string } | { missing: string }> {
  if (process.platform !== "linux" || !["x64", "arm64"].includes(process.arch)) return { missing: `no node-linux package for ${process.platform}/${process.arch}` };
  if (!existsSync(node24Path())) {
    try {
      await run("npm", ["ci", "--prefix", PREFIX, "--ignore-scripts", "--no-audit", "--no-fund"], { timeout: 240_000 });
    } catch (error) {
      return { missing: `npm ci in test/node24 failed: ${(error as Error).message.split("\n")[0]}` };
    }
  }
  const { stdout } = await run(node24Path(), ["--version"]);
  return { path: node24Path(), version: stdout.trim() };
}
