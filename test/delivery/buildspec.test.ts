/**
 * buildspec.yml, run as CodeBuild runs it (see codebuild.ts): the image is built and pushed with
 * the commit as its tag, the GitOps overlay is bumped with a commit naming the source commit, and
 * a failing step is named and stops the build before anything is pushed.
 */
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createSandbox, PHASES, readBuildspec, runBuild, type Sandbox } from "./codebuild";
import { hasKubectl, parseManifests } from "./manifests";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { imageRepositoryName } from "../../stacks/names";

const run = promisify(execFile);
const REGISTRY = "123456789012.dkr.ecr.us-west-2.amazonaws.com";
const ECR_REPOSITORY_URI = `${REGISTRY}/${imageRepositoryName("dev")}`;
const TOKEN = "ghp_stand-in-token-0123456789abcdef";

let sandbox: Sandbox;
beforeEach(async () => {
  sandbox = await createSandbox();
});
afterEach(async () => {
  await sandbox.cleanup();
});

function project(extra: Record<string, string> = {}) {
  return { ECR_REPOSITORY_URI, GITOPS_REPOSITORY: sandbox.gitopsUrl, ...extra };
}

function pushOverrides() {
  return { SOURCE_COMMIT: sandbox.sourceCommit, SOURCE_BRANCH: "main", SOURCE_REF: "refs/heads/main", SOURCE_REPOSITORY: "example-org/sample-app", TRIGGER: "push" };
}

async function gitopsHead(): Promise<{ subject: string; body: string; sha: string }> {
  const [sha, subject, ...body] = (await sandbox.git(sandbox.dir, "--git-dir", sandbox.gitopsBare, "log", "-1", "--format=%H%n%s%n%b", "main")).split("\n");
  return { sha: sha!, subject: subject!, body: body.join("\n") };
}

async function overlayOnMain(env = "dev"): Promise<string> {
  return sandbox.git(sandbox.dir, "--git-dir", sandbox.gitopsBare, "show", `main:deploy/overlays/${env}/kustomization.yaml`);
}

describe("buildspec.yml: shape", () => {
  it("runs every phase with on-failure ABORT, and never holds the GitOps token itself (the project passes it from Secrets Manager)", async () => {
    const spec = await readBuildspec();
    expect(String(spec.version)).toBe("0.2");
    expect(spec.env.shell).toBe("bash");
    for (const phase of PHASES) expect(spec.phases[phase]["on-failure"], phase).toBe("ABORT");
    // the stage's secret reaches the build as a SECRETS_MANAGER project variable (asserted in the Delivery stack test)
    expect(spec.env["secrets-manager"]).toBeUndefined();
    expect(Object.keys(spec.env.variables).filter((name) => /TOKEN|SECRET|PASSWORD|KEY/i.test(name))).toEqual([]);
    expect(spec.env["exported-variables"]).toEqual(expect.arrayContaining(["IMAGE_URI", "IMAGE_TAG", "SOURCE_COMMIT"]));
  });
});

describe("buildspec.yml: a push build", () => {
  it("logs in to ECR, builds and pushes <repository>:<short sha>, and bumps the overlay with a commit naming the source commit", async () => {
    // Prepare
    const tag = sandbox.sourceCommit.slice(0, 12);
    const before = await gitopsHead();
    // Act
    const build = await runBuild(sandbox, { project: project(), overrides: pushOverrides(), secrets: { GITOPS_TOKEN: TOKEN } });
    // Assess: the build
    expect(build.exitCode, build.log).toBe(0);
    const calls = await sandbox.stubCalls();
    expect(calls).toContain("aws ecr get-login-password --region us-west-2");
    expect(calls).toContain(`docker login --username AWS --password-stdin ${REGISTRY}`);
    const dockerBuild = calls.find((c) => c.startsWith("docker build"));
    expect(dockerBuild).toBe(
      `docker build --file deploy/app/Dockerfile --tag ${ECR_REPOSITORY_URI}:${tag} --build-arg APP_VERSION=${tag} --label org.opencontainers.image.revision=${sandbox.sourceCommit} --label org.opencontainers.image.source=https://github.com/example-org/sample-app deploy/app`,
    );
    expect(calls).toContain(`docker push ${ECR_REPOSITORY_URI}:${tag}`);
    expect(calls.indexOf(`docker push ${ECR_REPOSITORY_URI}:${tag}`)).toBeLessThan(calls.indexOf(`kustomize edit set image sample-app=${ECR_REPOSITORY_URI}:${tag}`));
    // Assess: the GitOps repository
    const head = await gitopsHead();
    expect(head.sha).not.toBe(before.sha);
    expect(head.subject).toBe(`deploy(dev): sample-app ${tag}`);
    expect(head.body).toContain(`Source: example-org/sample-app@${sandbox.sourceCommit}`);
    expect(head.body).toContain("[skip ci]");
    expect(head.body).toContain(`Source-Commit-Time: ${sandbox.sourceCommitTime}`);
    expect(await overlayOnMain("dev")).toMatch(new RegExp(`newName: ${ECR_REPOSITORY_URI}\\n\\s+newTag: ${tag}`));
    expect(await overlayOnMain("prod")).toContain("newTag: bootstrap");
    // the token is never printed, nor written into the repository's config
    expect(build.log).not.toContain(TOKEN);
    expect(build.log).toMatch(/==> step: bump the GitOps repository/);
  });

  it.skipIf(!hasKubectl)("the bumped overlay renders with the new image", async () => {
    await runBuild(sandbox, { project: project(), overrides: pushOverrides(), secrets: { GITOPS_TOKEN: TOKEN } });
    const clone = await sandbox.otherClone();
    const { stdout } = await run("kubectl", ["kustomize", join(clone, "deploy", "overlays", "dev")]);
    const rollout = parseManifests(stdout).find((m) => m.kind === "Rollout") as unknown as { spec: { template: { spec: { containers: { image: string }[] } } } };
    expect(rollout.spec.template.spec.containers[0]?.image).toBe(`${ECR_REPOSITORY_URI}:${sandbox.sourceCommit.slice(0, 12)}`);
  });

  it("a GitOps push rejected because someone else pushed first is retried on top of their change", async () => {
    // Prepare: a concurrent commit lands between the clone and the push
    const other = await sandbox.otherClone();
    // Act
    const build = await runBuild(sandbox, { project: project(), overrides: pushOverrides(), secrets: { GITOPS_TOKEN: TOKEN }, stubs: { STUB_RACE_CLONE: other } });
    // Assess
    expect(build.exitCode, build.log).toBe(0);
    expect(build.log).toContain("push to main rejected (attempt 1 of 5)");
    const subjects = (await sandbox.git(sandbox.dir, "--git-dir", sandbox.gitopsBare, "log", "--format=%s", "main")).split("\n");
    expect(subjects.slice(0, 2)).toEqual([`deploy(dev): sample-app ${sandbox.sourceCommit.slice(0, 12)}`, "a concurrent change"]);
  });

  it("an older commit finishing after a newer one was deployed does not roll the overlay back", async () => {
    // Prepare: the overlay's last bump came from a commit made an hour later
    const other = await sandbox.otherClone();
    await sandbox.git(other, "commit", "--quiet", "--allow-empty", "-m", `deploy(dev): sample-app 0123456789ab\n\n[skip ci]\n\nSource-Commit: ${"f".repeat(40)}\nSource-Commit-Time: ${sandbox.sourceCommitTime + 3600}`);
    await run("sh", ["-c", `echo "# touched" >> deploy/overlays/dev/hpa.yaml && git -c user.name=x -c user.email=x@x commit --quiet --amend --no-edit -a && git push --quiet origin HEAD:main`], { cwd: other });
    const before = await gitopsHead();
    // Act
    const build = await runBuild(sandbox, { project: project(), overrides: pushOverrides(), secrets: { GITOPS_TOKEN: TOKEN } });
    // Assess
    expect(build.exitCode, build.log).toBe(0);
    expect(build.log).toContain("already deploys a newer commit");
    expect((await gitopsHead()).sha).toBe(before.sha);
  });

  it("a scheduled rebuild: fresh base image, no cache, a tag of its own (ECR tags are immutable)", async () => {
    const build = await runBuild(sandbox, { project: project(), overrides: { TRIGGER: "schedule", SCHEDULE_NAME: "nightly-base-refresh", REBUILD: "true" }, secrets: { GITOPS_TOKEN: TOKEN } });
    expect(build.exitCode, build.log).toBe(0);
    const tag = `${sandbox.sourceCommit.slice(0, 12)}-r12`;
    const dockerBuild = (await sandbox.stubCalls()).find((c) => c.startsWith("docker build"));
    expect(dockerBuild).toContain(`--tag ${ECR_REPOSITORY_URI}:${tag}`);
    expect(dockerBuild).toContain("--pull --no-cache");
    expect((await gitopsHead()).body).toContain("(schedule nightly-base-refresh)");
  });

  it("an image already in ECR (a rerun after a failed bump) is not built or pushed again; the bump still happens", async () => {
    const build = await runBuild(sandbox, { project: project(), overrides: pushOverrides(), secrets: { GITOPS_TOKEN: TOKEN }, stubs: { STUB_IMAGE_EXISTS: "1" } });
    expect(build.exitCode, build.log).toBe(0);
    const calls = await sandbox.stubCalls();
    expect(calls.filter((c) => c.startsWith("docker build") || c.startsWith("docker push"))).toEqual([]);
    expect((await gitopsHead()).subject).toBe(`deploy(dev): sample-app ${sandbox.sourceCommit.slice(0, 12)}`);
  });
});

describe("buildspec.yml: failing clearly", () => {
  it("a failed docker build names the step, fails BUILD, and pushes and bumps nothing", async () => {
    // Prepare
    const before = await gitopsHead();
    // Act
    const build = await runBuild(sandbox, { project: project(), overrides: pushOverrides(), secrets: { GITOPS_TOKEN: TOKEN }, stubs: { STUB_FAIL: "build" } });
    // Assess
    expect(build.exitCode).not.toBe(0);
    expect(build.failedPhase).toBe("BUILD");
    expect(build.log).toContain("FAILED at step: build image (exit status 1)");
    expect((await sandbox.stubCalls()).some((c) => c.startsWith("docker push") || c.startsWith("kustomize edit"))).toBe(false);
    expect((await gitopsHead()).sha).toBe(before.sha);
  });

  it("a refused image push names the step and bumps nothing", async () => {
    const before = await gitopsHead();
    const build = await runBuild(sandbox, { project: project(), overrides: pushOverrides(), secrets: { GITOPS_TOKEN: TOKEN }, stubs: { STUB_FAIL: "push" } });
    expect(build.failedPhase).toBe("POST_BUILD");
    expect(build.log).toContain("FAILED at step: push image (exit status 1)");
    expect((await gitopsHead()).sha).toBe(before.sha);
  });

  it("missing configuration is named before anything runs", async () => {
    const build = await runBuild(sandbox, { project: { GITOPS_REPOSITORY: sandbox.gitopsUrl }, overrides: pushOverrides(), secrets: { GITOPS_TOKEN: TOKEN } });
    expect(build.failedPhase).toBe("INSTALL");
    expect(build.log).toContain("FAILED at step: check configuration: ECR_REPOSITORY_URI is not set");
    expect(await sandbox.stubCalls()).toEqual([]);
  });

  it("a GitOps repository without the overlay is named", async () => {
    const build = await runBuild(sandbox, { project: project({ GITOPS_OVERLAY: "deploy/overlays/staging" }), overrides: pushOverrides(), secrets: { GITOPS_TOKEN: TOKEN } });
    expect(build.failedPhase).toBe("POST_BUILD");
    expect(build.log).toContain("FAILED at step: bump the GitOps repository: no deploy/overlays/staging/kustomization.yaml on main");
  });

  it("a build without a commit id says so", async () => {
    const build = await runBuild(sandbox, { project: project(), overrides: { CODEBUILD_RESOLVED_SOURCE_VERSION: "", SOURCE_COMMIT: "main" }, secrets: { GITOPS_TOKEN: TOKEN } });
    expect(build.failedPhase).toBe("PRE_BUILD");
    expect(build.log).toContain("FAILED at step: resolve the commit: no commit id in CODEBUILD_RESOLVED_SOURCE_VERSION or SOURCE_COMMIT (got 'main')");
  });
});
