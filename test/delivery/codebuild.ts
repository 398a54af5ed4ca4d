/**
 * Runs buildspec.yml the way CodeBuild runs a version 0.2 buildspec: phases in order, every command
 * of every phase in the same bash (exports carry over), a failing command fails its phase, and
 * `on-failure: ABORT` stops the build there. `aws`, `docker` and `kustomize` are stand-ins on the
 * PATH that record their calls; git is real, and the GitOps repository is a local bare repository.
 */
import { execFile } from "node:child_process";
import { chmod, cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { parse } from "yaml";
import { REPO_ROOT } from "./manifests";

const run = promisify(execFile);

export const PHASES = ["install", "pre_build", "build", "post_build"] as const;

export interface Buildspec {
  version: number | string;
  env: { shell?: string; variables: Record<string, string>; "secrets-manager"?: Record<string, string>; "exported-variables"?: string[] };
  phases: Record<(typeof PHASES)[number], { "on-failure"?: string; commands: string[] }>;
}

export async function readBuildspec(): Promise<Buildspec> {
  return parse(await readFile(join(REPO_ROOT, "buildspec.yml"), "utf8")) as Buildspec;
}

const STUBS: Record<string, string> = {
  aws: `#!/usr/bin/env bash
echo "aws $*" >> "$STUB_LOG"
case "$1 $2" in
  "ecr get-login-password") echo stub-ecr-password ;;
  "ecr describe-images")
    if [ "\${STUB_IMAGE_EXISTS:-0}" = 1 ]; then echo '{"imageDetails":[{"imageTags":["x"]}]}'; exit 0; fi
    echo "An error occurred (ImageNotFoundException) when calling the DescribeImages operation: The image does not exist" >&2; exit 254 ;;
  *) echo "aws stand-in: unexpected call: $*" >&2; exit 2 ;;
esac
`,
  docker: `#!/usr/bin/env bash
echo "docker $*" >> "$STUB_LOG"
case "$1" in
  login) password="$(cat)"; [ "$password" = stub-ecr-password ] || { echo "Error response from daemon: login denied" >&2; exit 1; }; echo "Login Succeeded" ;;
  build) if [ "\${STUB_FAIL:-}" = build ]; then echo 'ERROR: failed to solve: process "/bin/sh -c npm ci" did not complete successfully: exit code: 1' >&2; exit 1; fi; echo "built" ;;
  push) if [ "\${STUB_FAIL:-}" = push ]; then echo "denied: User is not authorized to perform: ecr:InitiateLayerUpload" >&2; exit 1; fi; echo "pushed $2" ;;
  *) echo "docker stand-in: unexpected call: $*" >&2; exit 2 ;;
esac
`,
  // stands in for \`kustomize edit set image NAME=URI:TAG\` on an overlay with one image entry
  kustomize: `#!/usr/bin/env bash
echo "kustomize $*" >> "$STUB_LOG"
if [ "$1" = version ]; then echo v5.5.0; exit 0; fi
[ "$1 $2 $3" = "edit set image" ] || { echo "kustomize stand-in: unexpected call: $*" >&2; exit 2; }
ref="\${4#*=}"
if [ -n "\${STUB_RACE_CLONE:-}" ] && [ ! -e "$STUB_RACE_CLONE.done" ]; then
  touch "$STUB_RACE_CLONE.done"
  git -C "$STUB_RACE_CLONE" -c user.name=someone -c user.email=someone@example.com commit --quiet --allow-empty -m "a concurrent change"
  git -C "$STUB_RACE_CLONE" push --quiet origin HEAD:main
fi
sed -i -e "s#^\\( *newName:\\).*#\\1 \${ref%:*}#" -e "s#^\\( *newTag:\\).*#\\1 \${ref##*:}#" kustomization.yaml
`,
};

export interface Sandbox {
  dir: string;
  /** The source checkout (CODEBUILD_SRC_DIR) and its commit. */
  sourceDir: string;
  sourceCommit: string;
  sourceCommitTime: number;
  /** file:// URL of the bare GitOps repository (holding this repository's deploy/). */
  gitopsUrl: string;
  gitopsBare: string;
  git(cwd: string, ...args: string[]): Promise<string>;
  /** A second clone of the GitOps repository, for changes made "by someone else". */
  otherClone(): Promise<string>;
  stubCalls(): Promise<string[]>;
  cleanup(): Promise<void>;
}

const GIT_ENV = {
  GIT_AUTHOR_NAME: "Octo Dev",
  GIT_AUTHOR_EMAIL: "octodev@example.com",
  GIT_COMMITTER_NAME: "Octo Dev",
  GIT_COMMITTER_EMAIL: "octodev@example.com",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
};

export async function createSandbox(): Promise<Sandbox> {
  const dir = await mkdtemp(join(tmpdir(), "spot-manager-buildspec-"));
  const git = async (cwd: string, ...args: string[]) => (await run("git", args, { cwd, env: { ...process.env, ...GIT_ENV, GIT_COMMITTER_DATE: "2024-05-14T17:58:11Z", GIT_AUTHOR_DATE: "2024-05-14T17:58:11Z" } })).stdout.trim();

  await mkdir(join(dir, "bin"));
  for (const [name, script] of Object.entries(STUBS)) {
    await writeFile(join(dir, "bin", name), script);
    await chmod(join(dir, "bin", name), 0o755);
  }

  const sourceDir = join(dir, "src");
  await mkdir(sourceDir);
  await git(sourceDir, "init", "--quiet", "--initial-branch", "main");
  await cp(join(REPO_ROOT, "deploy", "app"), join(sourceDir, "deploy", "app"), { recursive: true });
  await git(sourceDir, "add", ".");
  await git(sourceDir, "commit", "--quiet", "-m", "Answer /healthz before the listener is busy");
  const sourceCommit = await git(sourceDir, "rev-parse", "HEAD");

  const seed = join(dir, "gitops-seed");
  await mkdir(seed);
  await git(seed, "init", "--quiet", "--initial-branch", "main");
  await cp(join(REPO_ROOT, "deploy"), join(seed, "deploy"), { recursive: true, filter: (path) => !path.includes(`${join("deploy", "app")}`) });
  await git(seed, "add", ".");
  await git(seed, "commit", "--quiet", "-m", "sample-app manifests");
  const gitopsBare = join(dir, "gitops.git");
  await git(dir, "clone", "--quiet", "--bare", seed, gitopsBare);

  let clones = 0;
  return {
    dir,
    sourceDir,
    sourceCommit,
    sourceCommitTime: Date.parse("2024-05-14T17:58:11Z") / 1000,
    gitopsUrl: `file://${gitopsBare}`,
    gitopsBare,
    git,
    async otherClone() {
      const clone = join(dir, `other-${++clones}`);
      await git(dir, "clone", "--quiet", gitopsBare, clone);
      return clone;
    },
    async stubCalls() {
      return (await readFile(join(dir, "stub.log"), "utf8").catch(() => "")).split("\n").filter(Boolean);
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface BuildResult {
  /** 0 when every phase succeeded. */
  exitCode: number;
  /** The phase that failed, as CodeBuild would report it. */
  failedPhase?: string;
  /** stdout and stderr, interleaved, as in the build's log. */
  log: string;
}

/**
 * Runs the buildspec in the sandbox. Environment precedence as in CodeBuild: the buildspec's
 * variables, overridden by the project's, overridden by StartBuild's; secrets from `secrets`.
 */
export async function runBuild(sandbox: Sandbox, options: { project: Record<string, string>; overrides?: Record<string, string>; secrets?: Record<string, string>; stubs?: Record<string, string> }): Promise<BuildResult> {
  const spec = await readBuildspec();
  const scripts = join(sandbox.dir, "phases");
  await rm(scripts, { recursive: true, force: true });
  await mkdir(scripts);
  const lines = ["exec 2>&1", `cd "$CODEBUILD_SRC_DIR"`];
  for (const phase of PHASES) {
    const commands = spec.phases[phase]?.commands ?? [];
    for (const [index, command] of commands.entries()) {
      const file = join(scripts, `${phase}-${index}.sh`);
      await writeFile(file, command);
      lines.push(`source "${file}"; status=$?`);
      lines.push(`if [ "$status" -ne 0 ]; then echo "[Container] Command did not exit successfully (exit status $status)"; echo "[Container] Phase complete: ${phase.toUpperCase()} State: FAILED"; exit 1; fi`);
    }
    lines.push(`echo "[Container] Phase complete: ${phase.toUpperCase()} State: SUCCEEDED"`);
  }
  await writeFile(join(scripts, "main.sh"), lines.join("\n") + "\n");

  const env: Record<string, string> = {
    PATH: `${join(sandbox.dir, "bin")}:${process.env["PATH"] ?? "/usr/bin:/bin"}`,
    HOME: sandbox.dir,
    // the build's git identity comes from the buildspec (git config user.*), nothing from here
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    STUB_LOG: join(sandbox.dir, "stub.log"),
    AWS_DEFAULT_REGION: "us-west-2",
    AWS_REGION: "us-west-2",
    CODEBUILD_SRC_DIR: sandbox.sourceDir,
    CODEBUILD_RESOLVED_SOURCE_VERSION: sandbox.sourceCommit,
    CODEBUILD_BUILD_ID: "spot-manager-dev-sample:4f1c2d3e-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
    CODEBUILD_BUILD_NUMBER: "12",
    CODEBUILD_BUILD_SUCCEEDING: "1",
    ...spec.env.variables,
    ...options.project,
    ...options.overrides,
    ...options.secrets,
    ...options.stubs,
  };
  try {
    const { stdout } = await run("bash", [join(scripts, "main.sh")], { env, timeout: 60_000, maxBuffer: 8 * 1024 * 1024 });
    return { exitCode: 0, log: stdout };
  } catch (error) {
    const failure = error as { code?: number; stdout?: string };
    const log = failure.stdout ?? "";
    const failedPhase = /Phase complete: (\w+) State: FAILED/.exec(log)?.[1];
    return { exitCode: failure.code ?? 1, log, ...(failedPhase ? { failedPhase } : {}) };
  }
}
