/**
 * Makes sure the AWS API models the fakes hold requests to are on this machine; `npm test` runs it
 * first. As root with apt (CI, a fresh Debian or Ubuntu box) it installs python3-botocore;
 * otherwise it says what to install and fails, rather than letting every test fail one by one.
 */
import { spawnSync } from "node:child_process";
import { AwsModelsMissingError, locateModels, MODELS_ENV } from "./models";

const PACKAGE = "python3-botocore";

function aptGet(args: string[]): boolean {
  const run = spawnSync("apt-get", args, { encoding: "utf8", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  if (run.status !== 0) process.stderr.write(`apt-get ${args.join(" ")} failed:\n${run.stderr ?? run.error?.message ?? ""}\n`);
  return run.status === 0;
}

function main(): number {
  const found = locateModels();
  if (found.dir) return 0;
  if (process.env[MODELS_ENV]) {
    process.stderr.write(`${MODELS_ENV}=${process.env[MODELS_ENV]} holds no botocore models. ${new AwsModelsMissingError(found.searched).message}\n`);
    return 1;
  }
  const root = process.getuid?.() === 0;
  const hasApt = spawnSync("apt-get", ["--version"], { stdio: "ignore" }).status === 0;
  if (root && hasApt) {
    process.stderr.write(`AWS API models missing: installing ${PACKAGE} for the request contract checks\n`);
    const install = ["install", "-y", "-qq", "--no-install-recommends", PACKAGE];
    if (!aptGet(install)) {
      aptGet(["update", "-qq"]);
      aptGet(install);
    }
    const installed = locateModels();
    if (installed.dir) return 0;
    process.stderr.write(`${new AwsModelsMissingError(installed.searched).message}\n`);
    return 1;
  }
  process.stderr.write(`${new AwsModelsMissingError(found.searched).message}\n`);
  return 1;
}

process.exitCode = main();
