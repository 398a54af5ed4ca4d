import { describe, expect, it } from "vitest";
import { BranchPatterns } from "../src/delivery/branch-patterns";
import { BuildLaunchError, SecretUnavailableError } from "../src/delivery/errors";
import type { BuildLauncher, BuildRequest, LaunchResult } from "../src/delivery/launcher";
import { receiveGitHubWebhook, type WebhookConfig, type WebhookRequest } from "../src/delivery/webhook";
import { Recorder } from "../src/observability";
import { hmac, payload, PUSHED_COMMIT, REPOSITORY, SECRET } from "../../../test/delivery/github";

/** Records what it was asked to launch; answers started unless told otherwise. */
class FakeLauncher implements BuildLauncher {
  readonly requests: BuildRequest[] = [];
  constructor(private readonly answer: (request: BuildRequest) => Promise<LaunchResult> = async (r) => ({ status: "started", buildId: "p:1", sourceVersion: r.sourceVersion })) {}
  launch(request: BuildRequest): Promise<LaunchResult> {
    this.requests.push(request);
    return this.answer(request);
  }
}

const CONFIG: WebhookConfig = { repository: REPOSITORY, branches: BranchPatterns.parse("main, release/*"), environment: { GITOPS_OVERLAY: "deploy/overlays/dev" } };

function request(body: unknown, event = "push", headers: Record<string, string> = {}): WebhookRequest {
  const bytes = Buffer.from(JSON.stringify(body));
  return { headers: { "content-type": "application/json", "x-github-event": event, "x-github-delivery": "d-1", "x-hub-signature-256": hmac(SECRET, bytes), ...headers }, body: bytes };
}

function push(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...payload("github-push"), ...fields };
}

async function receive(req: WebhookRequest, launcher = new FakeLauncher(), config = CONFIG) {
  const recorder = new Recorder();
  const outcome = await receiveGitHubWebhook({ secret: async () => SECRET, launcher, config, log: recorder, metrics: recorder }, req);
  return { outcome, launcher, recorder };
}

describe("receiving a GitHub delivery", () => {
  it("a push to a configured branch launches the pushed commit with what the buildspec needs", async () => {
    // Act
    const { outcome, launcher } = await receive(request(push()));
    // Assess
    expect(outcome).toEqual({ kind: "started", buildId: "p:1", commit: PUSHED_COMMIT, branch: "main" });
    expect(launcher.requests).toEqual([
      {
        sourceVersion: PUSHED_COMMIT,
        environment: {
          GITOPS_OVERLAY: "deploy/overlays/dev",
          SOURCE_COMMIT: PUSHED_COMMIT,
          SOURCE_REF: "refs/heads/main",
          SOURCE_BRANCH: "main",
          SOURCE_REPOSITORY: REPOSITORY,
          TRIGGER: "push",
        },
        idempotencyKey: `push|example-org/sample-app|refs/heads/main|${PUSHED_COMMIT}`,
        trigger: "push",
      },
    ]);
  });

  it("branch globs: release/* builds release/1.4, not release/1.4/hotfix", async () => {
    expect((await receive(request(push({ ref: "refs/heads/release/1.4" })))).outcome).toMatchObject({ kind: "started", branch: "release/1.4" });
    expect((await receive(request(push({ ref: "refs/heads/release/1.4/hotfix" })))).outcome).toMatchObject({ kind: "ignored", reason: "branch-not-configured" });
  });

  it("configuration cannot overwrite the source variables", async () => {
    const { launcher } = await receive(request(push()), new FakeLauncher(), { ...CONFIG, environment: { SOURCE_COMMIT: "spoofed", TRIGGER: "spoofed" } });
    expect(launcher.requests[0]?.environment).toMatchObject({ SOURCE_COMMIT: PUSHED_COMMIT, TRIGGER: "push" });
  });

  it.each([
    ["another event", request(push(), "pull_request"), "event-not-handled", /event "pull_request" is not handled/],
    ["another repository", request(push({ repository: { ...(payload("github-push")["repository"] as object), full_name: "someone/else" } })), "repository-not-configured", /repository someone\/else is not configured/],
    ["a tag", request(push({ ref: "refs/tags/v1.0.0" })), "not-a-branch", /refs\/tags\/v1\.0\.0 is not a branch/],
    ["a deleted branch", request(push({ after: "0".repeat(40), deleted: true, head_commit: null, commits: [] })), "branch-deleted", /branch main was deleted/],
    ["another branch", request(push({ ref: "refs/heads/feature/spot" })), "branch-not-configured", /branch feature\/spot is not configured \(building: main, release\/\*\)/],
    ["the GitOps bump's own commit", request(push({ head_commit: { ...(payload("github-push")["head_commit"] as object), message: "deploy(dev): sample-app a1b2c3d4e5f6\n\n[skip ci]" } })), "skip-marker", /says \[skip ci\]/],
  ])("%s: acknowledged with the reason, nothing launched", async (_, req, reason, message) => {
    const { outcome, launcher, recorder } = await receive(req);
    expect(outcome).toMatchObject({ kind: "ignored", reason, message: expect.stringMatching(message) });
    expect(launcher.requests).toEqual([]);
    expect(recorder.total("WebhooksIgnored", { reason })).toBe(1);
  });

  it("matches the repository name case-insensitively, as GitHub does", async () => {
    const { outcome } = await receive(request(push()), new FakeLauncher(), { ...CONFIG, repository: "Example-Org/Sample-App" });
    expect(outcome.kind).toBe("started");
  });

  it("a signed body that is not a push payload: invalid, naming the field", async () => {
    const { outcome, launcher } = await receive(request({ zen: "not a push" }));
    expect(outcome).toMatchObject({ kind: "invalid", message: expect.stringMatching(/GitHub push payload: ref: /) });
    expect(launcher.requests).toEqual([]);
  });

  it("a ping answers pong, and warns when the hook does not send pushes", async () => {
    expect((await receive(request(payload("github-ping"), "ping"))).outcome).toEqual({ kind: "pong", zen: "Design for failure.", hookId: 481516234 });
    const issuesOnly = { ...payload("github-ping"), hook: { ...(payload("github-ping")["hook"] as object), events: ["issues"] } };
    expect((await receive(request(issuesOnly, "ping"))).outcome).toMatchObject({ kind: "pong", warning: "this hook does not send push events (it sends: issues)" });
  });

  it("a bad signature is answered before the event or the body is looked at", async () => {
    // Prepare: a body that would fail to parse, and an event that would be ignored
    const req: WebhookRequest = { headers: { "x-github-event": "push", "x-hub-signature-256": hmac("wrong secret", "{") }, body: Buffer.from("{") };
    // Act
    const { outcome, recorder } = await receive(req);
    // Assess
    expect(outcome).toEqual({ kind: "rejected", problem: "mismatch", message: "X-Hub-Signature-256 does not match the body" });
    expect(recorder.total("WebhooksRejected", { reason: "mismatch" })).toBe(1);
    expect(recorder.total("WebhooksReceived")).toBe(0);
  });

  it("CodeBuild failing: launch-failed with the reason; the secret failing: unavailable, with the reason logged", async () => {
    const failing = new FakeLauncher(async () => {
      throw new BuildLaunchError("starting a build of p failed: Rate exceeded", "p");
    });
    expect((await receive(request(push()), failing)).outcome).toEqual({ kind: "launch-failed", message: "starting a build of p failed: Rate exceeded" });

    const log = new Recorder();
    const launcher = new FakeLauncher();
    const unreadable = await receiveGitHubWebhook(
      {
        secret: async () => {
          throw new SecretUnavailableError("arn:aws:secretsmanager:us-west-2:123456789012:secret:hook", "GetSecretValue failed: AccessDenied");
        },
        launcher,
        config: CONFIG,
        log,
      },
      request(push()),
    );
    expect(unreadable).toMatchObject({ kind: "unavailable", reason: "secret" });
    expect(log.lines).toEqual([expect.objectContaining({ level: "ERROR", extra: expect.objectContaining({ error: expect.stringContaining("GetSecretValue failed: AccessDenied") }) })]);
    expect(launcher.requests).toEqual([]);
    // anything else is a bug and is thrown
    await expect(receiveGitHubWebhook({ secret: async () => Promise.reject(new TypeError("boom")), launcher, config: CONFIG }, request(push()))).rejects.toThrowError(TypeError);
  });
});
