/**
 * buildspec.yml's bump, run as CodeBuild runs it with real git against local GitOps repositories
 * (a bare repository over file://, and over HTTPS with a token): an environment only moves forward
 * (git ancestry from the commit its last bump names, whatever else changed in the overlay), and a
 * push the repository refuses is reported for what it is, at once.
 */
import { chmod, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DEPLOY_REFUSED_MARKER, LIVE_TAG_PREFIX } from "@spot-manager/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildspecWorld, TOKEN } from "./buildspec-world";
import { createSandbox, runBuild, type Sandbox } from "./codebuild";
import { startGitHttpsServer } from "./git-https-server";

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
const handEdit: ReturnType<typeof buildspecWorld>["handEdit"] = (file, line, message) => world.handEdit(file, line, message);
const gitopsHead = () => world.gitopsHead();
const overlayOnMain = (env?: string) => world.overlayOnMain(env);

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
