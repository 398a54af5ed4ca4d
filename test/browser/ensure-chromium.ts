/**
 * Makes sure Chromium is on this machine for the browser tests; `npm test` runs it first. As root
 * with apt (CI, a fresh Debian or Ubuntu box) it installs Debian's chromium; otherwise it says the
 * browser tests will be skipped and how to run them. CI (CI=true) without Chromium fails here.
 */
import { spawnSync } from "node:child_process";
import { CHROMIUM_ENV, chromiumMissing, locateChromium } from "./chromium";

const PACKAGE = "chromium";

function aptGet(args: string[]): boolean {
  const run = spawnSync("apt-get", args, { encoding: "utf8", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  if (run.status !== 0) process.stderr.write(`apt-get ${args.join(" ")} failed:\n${run.stderr ?? run.error?.message ?? ""}\n`);
  return run.status === 0;
}

function main(): number {
  const found = locateChromium();
  if (found.path) return 0;
  const ci = process.env["CI"] === "true";
  if (process.env[CHROMIUM_ENV]) {
    process.stderr.write(`${CHROMIUM_ENV}=${process.env[CHROMIUM_ENV]} is not an executable Chromium\n`);
    return ci ? 1 : 0;
  }
  const root = process.getuid?.() === 0;
  const hasApt = spawnSync("apt-get", ["--version"], { stdio: "ignore" }).status === 0;
  if (root && hasApt) {
    process.stderr.write(`Chromium missing: installing Debian's ${PACKAGE} for the browser tests\n`);
    const install = ["install", "-y", "-qq", "--no-install-recommends", PACKAGE];
    if (!aptGet(install)) {
      aptGet(["update", "-qq"]);
      aptGet(install);
    }
    const installed = locateChromium();
    if (installed.path) return 0;
    process.stderr.write(`${chromiumMissing(installed.searched)}\n`);
    return ci ? 1 : 0;
  }
  process.stderr.write(`${chromiumMissing(found.searched)}\n`);
  return ci ? 1 : 0;
}

process.exitCode = main();
