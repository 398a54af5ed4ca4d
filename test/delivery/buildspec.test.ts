/**
 * buildspec.yml, run as CodeBuild runs it (see codebuild.ts): the image is built with a registry
 * layer cache and pushed with the commit as its tag, its scan is awaited and gates the bump, the
 * GitOps overlay is bumped with a commit naming the source commit, the deployed image is protected
 * from expiry, and a failing step is named and stops the build before anything is pushed. How the
 * bump refuses is in buildspec-bump.test.ts.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { DEPLOY_REFUSED_MARKER, LIVE_TAG_PREFIX } from "@spot-manager/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createSandbox, PHASES, readBuildspec, runBuild, type Sandbox } from "./codebuild";
import { buildspecWorld, ECR_REPOSITORY_URI, REGISTRY, TOKEN } from "./buildspec-world";
import { hasKubectl, parseManifests } from "./manifests";

const run = promisify(execFile);

let sandbox: Sandbox;
let world: ReturnType<typeof buildspecWorld>;
beforeEach(async () => {
  sandbox = await createSandbox();
  world = buildspecWorld(sandbox);
});
afterEach(async () => {
  await sandbox.cleanup();
});
const project = (extra?: Record<string, string>) => world.project(extra);
const pushOverrides = (commit?: string) => world.pushOverrides(commit);
const buildOf: ReturnType<typeof buildspecWorld>["buildOf"] = (commit, extra) => world.buildOf(commit, extra);
const gitopsHead = () => world.gitopsHead();
const overlayOnMain = (env?: string) => world.overlayOnMain(env);

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
