/**
 * Runs buildspec.yml the way CodeBuild runs a version 0.2 buildspec: phases in order, every command
 * of every phase in the same bash (exports carry over), a failing command fails its phase, and
 * `on-failure: ABORT` stops the build there. `aws`, `docker` and `kustomize` are stand-ins on the
 * PATH that record their calls; git is real, and the GitOps repository is a local bare repository.
 */
import { execFile } from "node:child_process";
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
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

/**
 * Stand-ins for the AWS CLI, docker and kustomize. The registry is a folder with one file per tag
 * holding the image's manifest; `docker push` writes one, `aws ecr put-image` adds a tag to a
 * manifest (ImageAlreadyExistsException when the tag already names it), `batch-get-image` reads it.
 * STUB_SCAN lists the answers of describe-image-scan-findings, one per call, separated by `;`:
 * `NOTFOUND`, `PENDING`, `IN_PROGRESS`, `FAILED <description>`, `COMPLETE CRITICAL=1 HIGH=2 ...`
 * (the last answer repeats; by default COMPLETE without findings).
 */
const STUBS: Record<string, string> = {
  aws: `#!/usr/bin/env bash
echo "aws $*" >> "$STUB_LOG"
flag() { local want="$1"; shift; while [ $# -gt 0 ]; do if [ "$1" = "$want" ]; then echo "$2"; return; fi; shift; done; }
tag="$(flag --image-ids "$@")"; [ -n "$tag" ] || tag="$(flag --image-id "$@")"; tag="\${tag#imageTag=}"
case "$1 $2" in
  "ecr get-login-password") echo stub-ecr-password ;;
  "ecr describe-images")
    if [ "\${STUB_IMAGE_EXISTS:-0}" = 1 ] && [ ! -f "$STUB_REGISTRY/$tag" ]; then echo "manifest-of-$tag" > "$STUB_REGISTRY/$tag"; fi
    if [ -f "$STUB_REGISTRY/$tag" ]; then echo '{"imageDetails":[{"imageTags":["'"$tag"'"]}]}'; exit 0; fi
    echo "An error occurred (ImageNotFoundException) when calling the DescribeImages operation: The image with imageId {imageTag:'$tag'} does not exist within the repository" >&2; exit 254 ;;
  "ecr describe-image-scan-findings")
    calls="$(cat "$STUB_REGISTRY/.scan-calls" 2>/dev/null || echo 0)"; echo $((calls + 1)) > "$STUB_REGISTRY/.scan-calls"
    IFS=';' read -r -a answers <<<"\${STUB_SCAN:-COMPLETE}"
    index=$(( calls < \${#answers[@]} ? calls : \${#answers[@]} - 1 ))
    read -r status rest <<<"\${answers[$index]}"
    if [ "$status" = NOTFOUND ]; then echo "An error occurred (ScanNotFoundException) when calling the DescribeImageScanFindings operation: Image scan does not exist for the image with '{imageDigest:'sha256:0f', imageTag:'$tag'}'" >&2; exit 254; fi
    if [ "$status" = FAILED ]; then printf 'FAILED\\tNone\\tNone\\tNone\\tNone\\tNone\\tNone\\t%s\\n' "$rest"; exit 0; fi
    line="$status"
    for severity in CRITICAL HIGH MEDIUM LOW INFORMATIONAL UNDEFINED; do
      count="$(tr ' ' '\\n' <<<"$rest" | sed -n "s/^$severity=//p")"; line="$line"$'\\t'"\${count:-None}"
    done
    printf '%s\\t%s\\n' "$line" "The scan was completed successfully."
    ;;
  "ecr batch-get-image")
    if [ ! -f "$STUB_REGISTRY/$tag" ]; then echo None; exit 0; fi
    case "$(flag --query "$@")" in *MediaType*) echo application/vnd.oci.image.manifest.v1+json ;; *) cat "$STUB_REGISTRY/$tag" ;; esac ;;
  "ecr put-image")
    to="$(flag --image-tag "$@")"; manifest="$(flag --image-manifest "$@")"
    if [ -z "$manifest" ] || [ "$manifest" = None ]; then echo "An error occurred (InvalidParameterException) when calling the PutImage operation: imageManifest is empty" >&2; exit 254; fi
    if [ -f "$STUB_REGISTRY/$to" ] && [ "$(cat "$STUB_REGISTRY/$to")" = "$manifest" ]; then echo "An error occurred (ImageAlreadyExistsException) when calling the PutImage operation: Image with digest 'sha256:0f' and tag '$to' already exists" >&2; exit 254; fi
    if [ "\${STUB_FAIL:-}" = put-image ]; then echo "An error occurred (AccessDeniedException) when calling the PutImage operation: not authorized to perform ecr:PutImage" >&2; exit 254; fi
    printf '%s\\n' "$manifest" > "$STUB_REGISTRY/$to"; echo '{"image":{"imageId":{"imageTag":"'"$to"'"}}}' ;;
  *) echo "aws stand-in: unexpected call: $*" >&2; exit 2 ;;
esac
`,
  docker: `#!/usr/bin/env bash
echo "docker $*" >> "$STUB_LOG"
case "$1 \${2:-}" in
  "login "*) password="$(cat)"; [ "$password" = stub-ecr-password ] || { echo "Error response from daemon: login denied" >&2; exit 1; }; echo "Login Succeeded" ;;
  "buildx create") echo spot-manager ;;
  "buildx use") ;;
  "buildx build") if [ "\${STUB_FAIL:-}" = build ]; then echo 'ERROR: failed to solve: process "/bin/sh -c npm ci" did not complete successfully: exit code: 1' >&2; exit 1; fi; echo "built" ;;
  "push "*)
    if [ "\${STUB_FAIL:-}" = push ]; then echo "denied: User is not authorized to perform: ecr:InitiateLayerUpload" >&2; exit 1; fi
    echo "manifest-of-\${2##*:}" > "$STUB_REGISTRY/\${2##*:}"; echo "pushed $2" ;;
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
  /** The registry stand-in: the tags it holds, each with its manifest. */
  registry(): Promise<Record<string, string>>;
  /** Adds a commit to the source repository (its parent: the checked-out commit) and returns its id. */
  commitSource(message: string, options?: { from?: string; file?: string }): Promise<string>;
  /** Checks a commit of the source repository out, as CodeBuild does for the build of that commit. */
  checkoutSource(commit: string): Promise<void>;
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
  await mkdir(join(dir, "registry"));
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
    async registry() {
      const tags = (await readdir(join(dir, "registry"))).filter((name) => !name.startsWith("."));
      return Object.fromEntries(await Promise.all(tags.map(async (tag) => [tag, (await readFile(join(dir, "registry", tag), "utf8")).trim()] as const)));
    },
    async commitSource(message, options = {}) {
      if (options.from) await git(sourceDir, "checkout", "--quiet", "--detach", options.from);
      await writeFile(join(sourceDir, "deploy", "app", options.file ?? "CHANGES"), `${message}\n`, { flag: "a" });
      await git(sourceDir, "add", ".");
      await git(sourceDir, "commit", "--quiet", "-m", message);
      return git(sourceDir, "rev-parse", "HEAD");
    },
    async checkoutSource(commit) {
      await git(sourceDir, "checkout", "--quiet", "--detach", commit);
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
    STUB_REGISTRY: join(sandbox.dir, "registry"),
    AWS_DEFAULT_REGION: "us-west-2",
    AWS_REGION: "us-west-2",
    CODEBUILD_SRC_DIR: sandbox.sourceDir,
    CODEBUILD_RESOLVED_SOURCE_VERSION: sandbox.sourceCommit,
    CODEBUILD_BUILD_ID: "spot-manager-dev-sample:4f1c2d3e-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
    CODEBUILD_BUILD_NUMBER: "12",
    CODEBUILD_BUILD_SUCCEEDING: "1",
    ...spec.env.variables,
    // the scan stand-in answers at once: no need to wait between polls
    SCAN_POLL_SECONDS: "0",
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
