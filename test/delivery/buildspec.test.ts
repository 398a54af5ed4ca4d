/**
 * buildspec.yml, run as CodeBuild runs it (see codebuild.ts): the image is built with a registry
 * layer cache and pushed with the commit as its tag, its scan is awaited and gates the bump, the
 * GitOps overlay is bumped with a commit naming the source commit, only ever forward (git ancestry,
 * real git against local repositories), the deployed image is protected from expiry, and a failing
 * step is named and stops the build before anything is pushed.
 */
import { execFile } from "node:child_process";
import { chmod, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { DEPLOY_REFUSED_MARKER, LIVE_TAG_PREFIX } from "@spot-manager/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createSandbox, PHASES, readBuildspec, runBuild, type Sandbox } from "./codebuild";
import { startGitHttpsServer } from "./git-https-server";
import { hasKubectl, parseManifests } from "./manifests";

const run = promisify(execFile);
const REGISTRY = "123456789012.dkr.ecr.us-west-2.amazonaws.com";
const ECR_REPOSITORY_URI = `${REGISTRY}/spot-manager-dev-sample-app`;
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

function pushOverrides(commit = sandbox.sourceCommit) {
  return { SOURCE_COMMIT: commit, CODEBUILD_RESOLVED_SOURCE_VERSION: commit, SOURCE_BRANCH: "main", SOURCE_REF: "refs/heads/main", SOURCE_REPOSITORY: "example-org/sample-app", TRIGGER: "push" };
}

/** The build of one commit, checked out as CodeBuild checks it out. */
async function buildOf(commit: string, extra: { project?: Record<string, string>; stubs?: Record<string, string> } = {}) {
  await sandbox.checkoutSource(commit);
  return runBuild(sandbox, { project: project(extra.project), overrides: pushOverrides(commit), secrets: { GITOPS_TOKEN: TOKEN }, ...(extra.stubs ? { stubs: extra.stubs } : {}) });
}

/** A change someone makes by hand in the GitOps repository and pushes to main. */
async function handEdit(file: string, line: string, message: string): Promise<void> {
  const clone = await sandbox.otherClone();
  await run("sh", ["-c", `echo "${line}" >> ${file} && git -c user.name=ops -c user.email=ops@example.com commit --quiet -am "${message}" && git push --quiet origin HEAD:main`], { cwd: clone });
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
    expect(spec.env["exported-variables"]).toEqual(expect.arrayContaining(["IMAGE_URI", "IMAGE_TAG", "SOURCE_COMMIT", "DEPLOY_OUTCOME"]));
    // the defaults the stack and the notifier rely on
    expect(spec.env.variables).toMatchObject({ SCAN_FAIL_ON: "CRITICAL", LIVE_TAG_PREFIX, CACHE_TAG: "buildcache" });
    // the command that fails a refused build carries the marker the build notification looks for
    expect(spec.phases.post_build.commands.at(-1)).toContain(`# ${DEPLOY_REFUSED_MARKER}:`);
  });
});

describe("buildspec.yml: a push build", () => {
  it("logs in to ECR, builds with the registry cache, pushes <repository>:<short sha>, waits for its scan, and bumps the overlay with a commit naming the source commit", async () => {
    // Prepare
    const tag = sandbox.sourceCommit.slice(0, 12);
    const before = await gitopsHead();
    // Act
    const build = await runBuild(sandbox, { project: project(), overrides: pushOverrides(), secrets: { GITOPS_TOKEN: TOKEN }, stubs: { STUB_SCAN: "NOTFOUND;PENDING;COMPLETE HIGH=2 LOW=4" } });
    // Assess: the build
    expect(build.exitCode, build.log).toBe(0);
    const calls = await sandbox.stubCalls();
    expect(calls).toContain("aws ecr get-login-password --region us-west-2");
    expect(calls).toContain(`docker login --username AWS --password-stdin ${REGISTRY}`);
    const dockerBuild = calls.find((c) => c.startsWith("docker buildx build"));
    expect(dockerBuild).toBe(
      `docker buildx build --file deploy/app/Dockerfile --tag ${ECR_REPOSITORY_URI}:${tag} --build-arg APP_VERSION=${tag} --label org.opencontainers.image.revision=${sandbox.sourceCommit} --load` +
        ` --cache-to type=registry,ref=${ECR_REPOSITORY_URI}:buildcache,mode=max,image-manifest=true,oci-mediatypes=true,ignore-error=true` +
        ` --label org.opencontainers.image.source=https://github.com/example-org/sample-app --cache-from type=registry,ref=${ECR_REPOSITORY_URI}:buildcache deploy/app`,
    );
    expect(calls.indexOf("docker buildx create --name spot-manager --driver docker-container --use")).toBeLessThan(calls.indexOf(dockerBuild!));
    expect(calls).toContain(`docker push ${ECR_REPOSITORY_URI}:${tag}`);
    // the scan is awaited before anything is bumped
    const scans = calls.filter((c) => c.startsWith("aws ecr describe-image-scan-findings"));
    expect(scans).toHaveLength(3);
    expect(scans[0]).toContain(`--repository-name spot-manager-dev-sample-app --image-id imageTag=${tag}`);
    expect(build.log).toContain(`scan of ${ECR_REPOSITORY_URI}:${tag}: COMPLETE; CRITICAL 0, HIGH 2, MEDIUM 0, LOW 4, INFORMATIONAL 0, UNDEFINED 0`);
    expect(calls.indexOf(scans[2]!)).toBeLessThan(calls.indexOf(`kustomize edit set image sample-app=${ECR_REPOSITORY_URI}:${tag}`));
    // Assess: the GitOps repository
    const head = await gitopsHead();
    expect(head.sha).not.toBe(before.sha);
    expect(head.subject).toBe(`deploy(dev): sample-app ${tag}`);
    expect(head.body).toContain(`Source: example-org/sample-app@${sandbox.sourceCommit}`);
    expect(head.body).toContain("[skip ci]");
    expect(head.body).toContain(`Source-Commit: ${sandbox.sourceCommit}\nDeploy-Overlay: deploy/overlays/dev`);
    expect(await overlayOnMain("dev")).toMatch(new RegExp(`newName: ${ECR_REPOSITORY_URI}\\n\\s+newTag: ${tag}`));
    expect(await overlayOnMain("prod")).toContain("newTag: bootstrap");
    // Assess: the deployed image carries the tag the lifecycle never expires
    expect((await sandbox.registry())[`${LIVE_TAG_PREFIX}dev`]).toBe(`manifest-of-${tag}`);
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

  it("a scheduled rebuild of the deployed commit: fresh base image, no cache read, a tag of its own (ECR tags are immutable), and it deploys", async () => {
    const first = await buildOf(sandbox.sourceCommit);
    expect(first.exitCode, first.log).toBe(0);
    const build = await runBuild(sandbox, { project: project(), overrides: { TRIGGER: "schedule", SCHEDULE_NAME: "nightly-base-refresh", REBUILD: "true" }, secrets: { GITOPS_TOKEN: TOKEN } });
    expect(build.exitCode, build.log).toBe(0);
    const tag = `${sandbox.sourceCommit.slice(0, 12)}-r12`;
    const dockerBuild = (await sandbox.stubCalls()).filter((c) => c.startsWith("docker buildx build")).at(-1);
    expect(dockerBuild).toContain(`--tag ${ECR_REPOSITORY_URI}:${tag}`);
    expect(dockerBuild).toContain("--pull --no-cache");
    expect(dockerBuild).not.toContain("--cache-from");
    expect(dockerBuild).toContain(`--cache-to type=registry,ref=${ECR_REPOSITORY_URI}:buildcache`);
    expect((await gitopsHead()).body).toContain("(schedule nightly-base-refresh)");
    expect(await overlayOnMain("dev")).toContain(`newTag: ${tag}`);
  });

  it("an image already in ECR (a rerun after a failed bump) is not built or pushed again; the bump still happens", async () => {
    const build = await runBuild(sandbox, { project: project(), overrides: pushOverrides(), secrets: { GITOPS_TOKEN: TOKEN }, stubs: { STUB_IMAGE_EXISTS: "1" } });
    expect(build.exitCode, build.log).toBe(0);
    const calls = await sandbox.stubCalls();
    expect(calls.filter((c) => c.startsWith("docker buildx build") || c.startsWith("docker push"))).toEqual([]);
    expect((await gitopsHead()).subject).toBe(`deploy(dev): sample-app ${sandbox.sourceCommit.slice(0, 12)}`);
  });
});

describe("buildspec.yml: the bump only moves an environment forward", () => {
  it("a hand edit to the overlay, then a late build of an older commit: refused with DEPLOY_REFUSED, nothing bumped", async () => {
    // Prepare: A, then B on top of it; B is deployed; someone edits the overlay by hand
    const older = sandbox.sourceCommit;
    const newer = await sandbox.commitSource("Serve /readyz");
    expect((await buildOf(newer)).exitCode).toBe(0);
    await handEdit("deploy/overlays/dev/hpa.yaml", "# more headroom for the demo", "dev: more headroom");
    const before = await gitopsHead();
    // Act: the build of A finishes late
    const late = await buildOf(older);
    // Assess: a distinct, failed status; the overlay still runs B
    expect(late.exitCode).not.toBe(0);
    expect(late.failedPhase).toBe("POST_BUILD");
    expect(late.log).toContain(`REFUSED at step: bump the GitOps repository: commit ${older.slice(0, 12)} does not descend from ${newer.slice(0, 12)}, which deploy/overlays/dev runs`);
    expect(late.log).toContain(`${DEPLOY_REFUSED_MARKER}: commit ${older.slice(0, 12)} does not descend from ${newer.slice(0, 12)}`);
    expect(late.log).not.toContain("FAILED at step");
    expect((await gitopsHead()).sha).toBe(before.sha);
    expect(await overlayOnMain("dev")).toContain(`newTag: ${newer.slice(0, 12)}`);
    // and the live tag still names B's image
    expect((await sandbox.registry())[`${LIVE_TAG_PREFIX}dev`]).toBe(`manifest-of-${newer.slice(0, 12)}`);
  });

  it("after the hand edit, a newer commit deploys", async () => {
    const second = await sandbox.commitSource("Serve /readyz");
    expect((await buildOf(second)).exitCode).toBe(0);
    await handEdit("deploy/overlays/dev/kustomization.yaml", "# pinned by hand for the incident", "dev: note");
    const third = await sandbox.commitSource("Log the request id");
    const build = await buildOf(third);
    expect(build.exitCode, build.log).toBe(0);
    expect(await overlayOnMain("dev")).toContain(`newTag: ${third.slice(0, 12)}`);
  });

  it("a commit that does not descend from the deployed one (another branch) is refused; each overlay is judged by its own bumps", async () => {
    // Prepare: B deployed to dev; C branches off A
    const base = sandbox.sourceCommit;
    const deployed = await sandbox.commitSource("Serve /readyz");
    expect((await buildOf(deployed)).exitCode).toBe(0);
    const sideways = await sandbox.commitSource("Hotfix on the release branch", { from: base, file: "HOTFIX" });
    // Act
    const dev = await buildOf(sideways);
    const prod = await buildOf(sideways, { project: { GITOPS_OVERLAY: "deploy/overlays/prod" } });
    // Assess
    expect(dev.log).toContain(`does not descend from ${deployed.slice(0, 12)}, which deploy/overlays/dev runs`);
    expect(dev.exitCode).not.toBe(0);
    expect(prod.exitCode, prod.log).toBe(0);
    expect(await overlayOnMain("prod")).toContain(`newTag: ${sideways.slice(0, 12)}`);
  });

  it("a deployed commit missing from the source history is refused; ALLOW_NON_DESCENDANT on one build lets an operator through", async () => {
    // Prepare: the overlay's last bump names a commit this repository does not have (history rewritten)
    await handEdit("deploy/overlays/dev/hpa.yaml", "# bumped", `deploy(dev): sample-app 0123456789ab\n\nSource-Commit: ${"f".repeat(40)}\nDeploy-Overlay: deploy/overlays/dev`);
    // Act
    const refused = await buildOf(sandbox.sourceCommit);
    const forced = await buildOf(sandbox.sourceCommit, { project: { ALLOW_NON_DESCENDANT: "true" } });
    // Assess
    expect(refused.log).toContain(`cannot tell whether commit ${sandbox.sourceCommit.slice(0, 12)} descends from ffffffffffff, which deploy/overlays/dev runs (not in the source history)`);
    expect(refused.exitCode).not.toBe(0);
    expect(forced.exitCode, forced.log).toBe(0);
    expect(forced.log).toContain("bumping anyway: ALLOW_NON_DESCENDANT is true");
  });
});

describe("buildspec.yml: the image scan gates the bump", () => {
  it.each([
    ["a CRITICAL finding with the default gate", {}, "COMPLETE CRITICAL=1 HIGH=3", "1 CRITICAL finding(s) at or above CRITICAL"],
    ["HIGH findings when the gate is HIGH", { SCAN_FAIL_ON: "HIGH" }, "COMPLETE HIGH=3 MEDIUM=1", "3 HIGH finding(s) at or above HIGH"],
    ["a scan that failed", {}, "PENDING;FAILED UnsupportedImageError: The operating system and/or package manager are not supported.", "the scan of"],
    ["no result in time", { SCAN_WAIT_SECONDS: "0" }, "IN_PROGRESS", "no scan result for"],
  ])("%s: the step fails, nothing is bumped", async (_, settings, scan, message) => {
    const before = await gitopsHead();
    const build = await runBuild(sandbox, { project: project(settings), overrides: pushOverrides(), secrets: { GITOPS_TOKEN: TOKEN }, stubs: { STUB_SCAN: scan } });
    expect(build.exitCode).not.toBe(0);
    expect(build.failedPhase).toBe("POST_BUILD");
    expect(build.log).toContain(`FAILED at step: check the image scan: ${message}`);
    expect((await gitopsHead()).sha).toBe(before.sha);
    expect(Object.keys(await sandbox.registry())).toEqual([sandbox.sourceCommit.slice(0, 12)]);
  });

  it("SCAN_FAIL_ON NONE does not wait for the scan", async () => {
    const build = await runBuild(sandbox, { project: project({ SCAN_FAIL_ON: "NONE" }), overrides: pushOverrides(), secrets: { GITOPS_TOKEN: TOKEN }, stubs: { STUB_SCAN: "COMPLETE CRITICAL=9" } });
    expect(build.exitCode, build.log).toBe(0);
    expect((await sandbox.stubCalls()).filter((c) => c.includes("describe-image-scan-findings"))).toEqual([]);
  });
});

describe("buildspec.yml: the deployed image never expires", () => {
  it("each deploy moves live-<overlay> to its image and live-<overlay>-previous to the one before", async () => {
    const first = sandbox.sourceCommit;
    expect((await buildOf(first)).exitCode).toBe(0);
    const second = await sandbox.commitSource("Serve /readyz");
    expect((await buildOf(second)).exitCode).toBe(0);
    const registry = await sandbox.registry();
    expect(registry["live-dev"]).toBe(`manifest-of-${second.slice(0, 12)}`);
    expect(registry["live-dev-previous"]).toBe(`manifest-of-${first.slice(0, 12)}`);
    // a rerun that bumps nothing moves nothing
    expect((await buildOf(second)).log).toContain("already deploys");
    expect((await sandbox.registry())["live-dev-previous"]).toBe(`manifest-of-${first.slice(0, 12)}`);
  });

  it("a live tag that cannot be written fails the build, saying the overlay was bumped", async () => {
    const build = await runBuild(sandbox, { project: project(), overrides: pushOverrides(), secrets: { GITOPS_TOKEN: TOKEN }, stubs: { STUB_FAIL: "put-image" } });
    expect(build.exitCode).not.toBe(0);
    expect(build.log).toContain(`FAILED at step: protect the deployed image: the overlay deploys ${ECR_REPOSITORY_URI}:${sandbox.sourceCommit.slice(0, 12)}, but tagging it live-dev failed`);
    expect(await overlayOnMain("dev")).toContain(`newTag: ${sandbox.sourceCommit.slice(0, 12)}`);
  });
});

describe("buildspec.yml: a push the GitOps repository refuses is reported as such, at once", () => {
  it("branch protection (a pre-receive hook declines): one attempt, named", async () => {
    // Prepare: the repository refuses pushes to main as GitHub does for a protected branch
    const hook = join(sandbox.gitopsBare, "hooks", "pre-receive");
    await writeFile(hook, "#!/bin/sh\necho 'error: GH006: Protected branch update failed for refs/heads/main.' >&2\necho 'error: Changes must be made through a pull request.' >&2\nexit 1\n");
    await chmod(hook, 0o755);
    const before = await gitopsHead();
    // Act
    const build = await runBuild(sandbox, { project: project(), overrides: pushOverrides(), secrets: { GITOPS_TOKEN: TOKEN } });
    // Assess
    expect(build.exitCode).not.toBe(0);
    expect(build.log).toContain("FAILED at step: bump the GitOps repository: the push to main was refused by the repository (branch protection or a hook");
    expect(build.log).toContain("GH006: Protected branch update failed");
    expect(build.log).not.toContain("attempt 1 of 5");
    expect(build.log).not.toContain("someone else pushed");
    expect((await gitopsHead()).sha).toBe(before.sha);
  });

  it("over HTTPS: a token that cannot push is an authentication failure, at once; the right token pushes, through askpass only", async () => {
    // Prepare: the GitOps repository behind an HTTPS server that wants the token to push
    const server = await startGitHttpsServer(sandbox.dir, TOKEN);
    try {
      const https = { GITOPS_REPOSITORY: server.url("gitops.git") };
      const tls = { GIT_SSL_CAINFO: server.caFile };
      // Act
      const denied = await runBuild(sandbox, { project: project(https), overrides: pushOverrides(), secrets: { GITOPS_TOKEN: "ghp_revoked-token" }, stubs: tls });
      const accepted = await runBuild(sandbox, { project: project(https), overrides: pushOverrides(), secrets: { GITOPS_TOKEN: TOKEN }, stubs: tls });
      // Assess
      expect(denied.exitCode).not.toBe(0);
      expect(denied.log).toContain("FAILED at step: bump the GitOps repository: the push to main was refused: authentication failed (is GITOPS_TOKEN valid, and may it push to");
      expect(denied.log).not.toContain("attempt 1 of 5");
      expect(server.pushes.filter((p) => !p.authorized).length).toBeGreaterThan(0);
      expect(accepted.exitCode, accepted.log).toBe(0);
      expect(server.pushes.some((p) => p.authorized)).toBe(true);
      expect(await overlayOnMain("dev")).toContain(`newTag: ${sandbox.sourceCommit.slice(0, 12)}`);
      expect(denied.log + accepted.log).not.toContain("ghp_");
    } finally {
      await server.stop();
    }
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

  it("a scan gate that is not a severity is named before anything runs", async () => {
    const build = await runBuild(sandbox, { project: project({ SCAN_FAIL_ON: "SEVERE" }), overrides: pushOverrides(), secrets: { GITOPS_TOKEN: TOKEN } });
    expect(build.failedPhase).toBe("INSTALL");
    expect(build.log).toContain("FAILED at step: check configuration: SCAN_FAIL_ON must be CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL, UNDEFINED or NONE (got SEVERE)");
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
