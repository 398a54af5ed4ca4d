/**
 * The webhook function as GitHub and a Lambda Function URL drive it: real payload shapes, real
 * signatures over the bytes as sent, CodeBuild and Secrets Manager faked with aws-sdk-client-mock.
 */
import { BatchGetBuildsCommand, CodeBuildClient, ListBuildsForProjectCommand, StartBuildCommand } from "@aws-sdk/client-codebuild";
import { DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { Recorder } from "@spot-manager/core";
import { mockClient } from "@spot-manager/aws-fakes";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { readWebhookConfig } from "../../functions/lib/delivery-env";
import { createWebhookRuntime } from "../../functions/lib/delivery-runtime";
import { createWebhookHandler, handler } from "../../functions/delivery/webhook";
import { FakeTable } from "./dynamodb-table";
import { delivery, hmac, payload, PUSHED_COMMIT, REPOSITORY, SECRET } from "./github";

const PROJECT = "spot-manager-dev-sample";
const SECRET_ARN = "arn:aws:secretsmanager:us-west-2:123456789012:secret:spot-manager-dev/github-webhook-AbCdEf";
const TABLE = "spot-manager-dev-webhook-deliveries";
const ENV = {
  AWS_REGION: "us-west-2",
  PROJECT_NAME: PROJECT,
  WEBHOOK_SECRET_ARN: SECRET_ARN,
  REPOSITORY,
  BRANCHES: "main,release/*",
  BUILD_ENVIRONMENT: JSON.stringify({ GITOPS_OVERLAY: "deploy/overlays/dev" }),
  DELIVERY_TABLE_NAME: TABLE,
};
const BUILD_ID = `${PROJECT}:4f1c2d3e-5a6b-4c7d-8e9f-0a1b2c3d4e5f`;

const codebuild = mockClient(CodeBuildClient);
const secrets = mockClient(SecretsManagerClient);
const dynamodb = mockClient(DynamoDBClient);
let table: FakeTable;
let clock = Date.parse("2024-05-14T17:58:27Z");

function freshHandler(recorder = new Recorder()) {
  return createWebhookHandler(() => createWebhookRuntime(readWebhookConfig(ENV), recorder, recorder, {}, () => clock));
}

function json(answer: { body: string }): Record<string, unknown> {
  return JSON.parse(answer.body) as Record<string, unknown>;
}

beforeEach(() => {
  codebuild.reset();
  secrets.reset();
  dynamodb.reset();
  table = new FakeTable(TABLE, "deliveryId");
  table.serve(dynamodb);
  clock = Date.parse("2024-05-14T17:58:27Z");
  secrets.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves({ SecretString: SECRET });
  codebuild.on(ListBuildsForProjectCommand).resolves({ ids: [] });
  codebuild.on(StartBuildCommand).resolves({ build: { id: BUILD_ID, buildNumber: 12, buildStatus: "IN_PROGRESS", sourceVersion: PUSHED_COMMIT } });
});

afterEach(() => vi.unstubAllEnvs());

describe("webhook function: signatures", () => {
  it("a push signed with the shared secret starts the build of the pushed commit (201)", async () => {
    // Prepare
    const webhook = freshHandler();
    // Act
    const answer = await webhook(delivery(payload("github-push")));
    // Assess
    expect(answer.statusCode).toBe(201);
    expect(answer.headers["content-type"]).toBe("application/json");
    expect(json(answer)).toEqual({ status: "started", buildId: BUILD_ID, commit: PUSHED_COMMIT, branch: "main" });
    expect(codebuild).toReceiveCommandWith(StartBuildCommand, {
      projectName: PROJECT,
      sourceVersion: PUSHED_COMMIT,
      environmentVariablesOverride: [
        { name: "GITOPS_OVERLAY", value: "deploy/overlays/dev", type: "PLAINTEXT" },
        { name: "SOURCE_BRANCH", value: "main", type: "PLAINTEXT" },
        { name: "SOURCE_COMMIT", value: PUSHED_COMMIT, type: "PLAINTEXT" },
        { name: "SOURCE_REF", value: "refs/heads/main", type: "PLAINTEXT" },
        { name: "SOURCE_REPOSITORY", value: REPOSITORY, type: "PLAINTEXT" },
        { name: "TRIGGER", value: "push", type: "PLAINTEXT" },
      ],
    });
  });

  it("a base64-encoded body (as Function URLs pass some content types) verifies over the decoded bytes", async () => {
    const answer = await freshHandler()(delivery(payload("github-push"), { base64: true }));
    expect(answer.statusCode).toBe(201);
  });

  it("a form-encoded delivery (payload=...) is verified over the form bytes and read", async () => {
    const body = Buffer.from(`payload=${encodeURIComponent(JSON.stringify(payload("github-push")))}`);
    const answer = await freshHandler()(delivery(undefined, { body, contentType: "application/x-www-form-urlencoded" }));
    expect(answer.statusCode).toBe(201);
  });

  it.each([
    ["missing", null, "missing"],
    ["signed with another secret", hmac("not-the-secret", JSON.stringify(payload("github-push"))), "mismatch"],
    ["not sha256=<hex>", "sha1=2ef7bde608ce5404e97d5f042f95f89f1c232871", "malformed"],
  ])("signature %s: 401 and nothing else happens", async (_, signature, problem) => {
    // Prepare
    const recorder = new Recorder();
    // Act
    const answer = await freshHandler(recorder)(delivery(payload("github-push"), { signature }));
    // Assess
    expect(answer.statusCode).toBe(401);
    expect(json(answer)).toMatchObject({ status: "rejected", problem });
    expect(codebuild).not.toReceiveAnyCommand();
    expect(recorder.total("WebhooksRejected", { reason: problem })).toBe(1);
  });

  it("a captured delivery replayed with its body altered by one byte: 401", async () => {
    // Prepare: a genuine delivery, then the same headers with one byte of the body changed
    const genuine = delivery(payload("github-push"));
    const bytes = Buffer.from(genuine.body!, "utf8");
    const at = bytes.indexOf(Buffer.from(PUSHED_COMMIT));
    bytes[at] = bytes[at] === 0x61 ? 0x62 : 0x61;
    const replayed = { ...genuine, body: bytes.toString("utf8") };
    // Act
    const answer = await freshHandler()(replayed);
    // Assess
    expect(answer.statusCode).toBe(401);
    expect(json(answer)).toMatchObject({ problem: "mismatch" });
    expect(codebuild).not.toReceiveCommand(StartBuildCommand);
  });

  it("another delivery of the same commit does not start a second build while the first is running", async () => {
    // Prepare
    const webhook = freshHandler();
    const genuine = delivery(payload("github-push"));
    expect((await webhook(genuine)).statusCode).toBe(201);
    codebuild.on(ListBuildsForProjectCommand).resolves({ ids: [BUILD_ID] });
    codebuild.on(BatchGetBuildsCommand).resolves({ builds: [{ id: BUILD_ID, buildStatus: "IN_PROGRESS", sourceVersion: PUSHED_COMMIT, resolvedSourceVersion: PUSHED_COMMIT }] });
    // Act: the same commit pushed again (a new delivery)
    const again = await webhook(delivery(payload("github-push")));
    // Assess
    expect(again.statusCode).toBe(200);
    expect(json(again)).toEqual({ status: "already-building", buildId: BUILD_ID, commit: PUSHED_COMMIT, branch: "main" });
    expect(codebuild).toReceiveCommandTimes(StartBuildCommand, 1);
  });
});

describe("webhook function: events and branches", () => {
  it("ping: 200 pong with GitHub's zen, no build", async () => {
    const answer = await freshHandler()(delivery(payload("github-ping"), { event: "ping" }));
    expect(answer.statusCode).toBe(200);
    expect(json(answer)).toEqual({ status: "pong", zen: "Design for failure.", hookId: 481516234 });
    expect(codebuild).not.toReceiveAnyCommand();
  });

  it.each([
    ["an event that is not configured", { ...payload("github-push") }, "issues", "event-not-handled", 'event "issues" is not handled (only push and ping)'],
    ["a branch that is not configured", { ...payload("github-push"), ref: "refs/heads/feature/drain-faster" }, "push", "branch-not-configured", "branch feature/drain-faster is not configured (building: main, release/*)"],
  ])("%s: 202 with the reason, no build", async (_, body, event, reason, message) => {
    const answer = await freshHandler()(delivery(body, { event }));
    expect(answer.statusCode).toBe(202);
    expect(json(answer)).toEqual({ status: "ignored", reason, message });
    expect(codebuild).not.toReceiveAnyCommand();
  });

  it("a signed body that is not a push: 400 naming the field", async () => {
    const answer = await freshHandler()(delivery({ hello: "world" }));
    expect(answer.statusCode).toBe(400);
    expect(json(answer)).toMatchObject({ status: "invalid", message: expect.stringMatching(/^GitHub push payload: ref: /) });
  });

  it("CodeBuild refusing: 503 with the reason (GitHub shows it; redeliver from the hook page)", async () => {
    codebuild.on(StartBuildCommand).rejects(Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" }));
    const answer = await freshHandler()(delivery(payload("github-push")));
    expect(answer.statusCode).toBe(503);
    expect(json(answer)).toEqual({ status: "launch-failed", message: `starting a build of ${PROJECT} for ${PUSHED_COMMIT} failed: Rate exceeded` });
  });
});

describe("webhook function: configuration and the secret", () => {
  it("the deployed handler reads its environment, and the secret once per cold start", async () => {
    // Prepare
    for (const [name, value] of Object.entries(ENV)) vi.stubEnv(name, value);
    // Act
    const first = await handler(delivery(payload("github-push")));
    const second = await handler(delivery(payload("github-ping"), { event: "ping" }));
    // Assess
    expect([first.statusCode, second.statusCode]).toEqual([201, 200]);
    expect(secrets).toReceiveCommandTimes(GetSecretValueCommand, 1);
    expect(secrets).toReceiveCommandWith(GetSecretValueCommand, { SecretId: SECRET_ARN });
  });

  it("a secret that cannot be read answers 503 with the reason logged (not a 401, not a crash), and is read again next time", async () => {
    // Prepare
    secrets
      .on(GetSecretValueCommand)
      .rejectsOnce(Object.assign(new Error("is not authorized to perform: secretsmanager:GetSecretValue"), { name: "AccessDeniedException" }))
      .resolves({ SecretString: SECRET });
    const recorder = new Recorder();
    const webhook = freshHandler(recorder);
    // Act
    const failed = await webhook(delivery(payload("github-push")));
    // Assess
    expect(failed.statusCode).toBe(503);
    expect(json(failed)).toEqual({ status: "unavailable", reason: "secret", message: "the webhook secret could not be read; the reason is in the function's log" });
    expect(JSON.stringify(json(failed))).not.toContain("secretsmanager");
    const logged = recorder.lines.find((l) => l.level === "ERROR");
    expect(logged).toMatchObject({ message: "webhook secret unreadable: delivery answered 503", extra: { secretId: SECRET_ARN, error: expect.stringMatching(/GetSecretValue failed: is not authorized/) } });
    expect(recorder.total("WebhooksUnavailable", { reason: "secret" })).toBe(1);
    expect(codebuild).not.toReceiveAnyCommand();
    expect((await webhook(delivery(payload("github-push")))).statusCode).toBe(201);
    expect(secrets).toReceiveCommandTimes(GetSecretValueCommand, 2);
  });

  it("a bad environment fails with the variable named", () => {
    expect(() => readWebhookConfig({ ...ENV, WEBHOOK_SECRET_ARN: undefined })).toThrowError(/invalid environment: WEBHOOK_SECRET_ARN/);
    expect(() => readWebhookConfig({ ...ENV, REPOSITORY: "sample-app" })).toThrowError(/REPOSITORY: must be owner\/name/);
    expect(() => readWebhookConfig({ ...ENV, BRANCHES: " , " })).toThrowError(/BRANCHES: names no branch/);
    expect(() => readWebhookConfig({ ...ENV, BUILD_ENVIRONMENT: "{" })).toThrowError(/BUILD_ENVIRONMENT is not JSON/);
    expect(() => readWebhookConfig({ ...ENV, BUILD_ENVIRONMENT: JSON.stringify({ "A-B": "x" }) })).toThrowError(/BUILD_ENVIRONMENT\.A-B: Invalid key in record/);
    expect(() => readWebhookConfig({ ...ENV, DELIVERY_TABLE_NAME: undefined })).toThrowError(/invalid environment: DELIVERY_TABLE_NAME/);
    expect(readWebhookConfig({ ...ENV, BRANCHES: undefined }).branches.patterns).toEqual(["main"]);
  });
});

describe("webhook function: each delivery is handled once", () => {
  it("a delivery replayed after its build finished answers 200 already-handled with the original build, and starts nothing", async () => {
    // Prepare: the push was handled and its build has finished since
    const webhook = freshHandler();
    const genuine = delivery(payload("github-push"), { deliveryId: "72d3162e-cc78-11e3-81ab-4c9367dc0958" });
    expect((await webhook(genuine)).statusCode).toBe(201);
    codebuild.on(ListBuildsForProjectCommand).resolves({ ids: [BUILD_ID] });
    codebuild.on(BatchGetBuildsCommand).resolves({ builds: [{ id: BUILD_ID, buildStatus: "SUCCEEDED", sourceVersion: PUSHED_COMMIT, resolvedSourceVersion: PUSHED_COMMIT }] });
    codebuild.on(StartBuildCommand).resolves({ build: { id: `${PROJECT}:0b0b0b0b-0000-4000-8000-000000000002`, buildStatus: "IN_PROGRESS" } });
    clock += 40 * 60_000;
    // Act: GitHub's "Redeliver", 40 minutes later
    const replay = await webhook(genuine);
    // Assess
    expect(replay.statusCode).toBe(200);
    expect(json(replay)).toEqual({
      status: "already-handled",
      deliveryId: "72d3162e-cc78-11e3-81ab-4c9367dc0958",
      outcome: "started",
      buildId: BUILD_ID,
      commit: PUSHED_COMMIT,
      branch: "main",
      handledAt: "2024-05-14T17:58:27.000Z",
    });
    expect(codebuild).toReceiveCommandTimes(StartBuildCommand, 1);
  });

  it("the delivery is kept for as long as GitHub can redeliver it (a TTL past three days)", async () => {
    await freshHandler()(delivery(payload("github-push"), { deliveryId: "72d3162e-cc78-11e3-81ab-4c9367dc0958" }));
    const item = table.items.get("72d3162e-cc78-11e3-81ab-4c9367dc0958");
    expect(item).toMatchObject({ buildId: { S: BUILD_ID }, outcome: { S: "started" }, commit: { S: PUSHED_COMMIT } });
    const expiresAt = Number(item?.["expiresAt"] && "N" in item["expiresAt"] ? item["expiresAt"].N : 0) * 1000;
    expect(expiresAt - clock).toBeGreaterThan(3 * 24 * 3600_000);
    expect(expiresAt - clock).toBeLessThanOrEqual(4 * 24 * 3600_000);
  });

  it("a delivery whose launch failed can be redelivered: the claim is given up", async () => {
    codebuild
      .on(StartBuildCommand)
      .rejectsOnce(Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" }))
      .resolves({ build: { id: BUILD_ID, buildNumber: 12, buildStatus: "IN_PROGRESS", sourceVersion: PUSHED_COMMIT } });
    const webhook = freshHandler();
    const genuine = delivery(payload("github-push"));
    expect((await webhook(genuine)).statusCode).toBe(503);
    expect(table.items.size).toBe(0);
    expect((await webhook(genuine)).statusCode).toBe(201);
  });

  it("the same delivery arriving while the first is still being handled: 202 in-progress, no second build", async () => {
    // Prepare: another invocation claimed it 5 s ago
    const webhook = freshHandler();
    const genuine = delivery(payload("github-push"), { deliveryId: "0a1b2c3d-0000-4000-8000-00000000beef" });
    table.items.set("0a1b2c3d-0000-4000-8000-00000000beef", { deliveryId: { S: "0a1b2c3d-0000-4000-8000-00000000beef" }, claimToken: { S: "other" }, claimedAt: { S: new Date(clock - 5_000).toISOString() }, expiresAt: { N: String(clock / 1000 + 3600) } });
    // Act
    const answer = await webhook(genuine);
    // Assess
    expect(answer.statusCode).toBe(202);
    expect(json(answer)).toEqual({ status: "in-progress", deliveryId: "0a1b2c3d-0000-4000-8000-00000000beef", since: "2024-05-14T17:58:22.000Z" });
    expect(codebuild).not.toReceiveCommand(StartBuildCommand);
    // a claim whose invocation died long ago is taken over
    clock += 5 * 60_000;
    expect((await webhook(genuine)).statusCode).toBe(201);
  });

  it("a delivery store that cannot be written answers 503 and starts nothing", async () => {
    dynamodb.on(PutItemCommand).rejects(Object.assign(new Error("Throughput exceeds the current capacity of your table or index"), { name: "ProvisionedThroughputExceededException" }));
    const recorder = new Recorder();
    const answer = await freshHandler(recorder)(delivery(payload("github-push")));
    expect(answer.statusCode).toBe(503);
    expect(json(answer)).toMatchObject({ status: "unavailable", reason: "ledger" });
    expect(recorder.lines.find((l) => l.level === "ERROR")?.extra["error"]).toMatch(/Throughput exceeds/);
    expect(codebuild).not.toReceiveCommand(StartBuildCommand);
  });

  it("a signed push without X-GitHub-Delivery is refused (400): it could not be told apart from a replay", async () => {
    const event = delivery(payload("github-push"));
    delete event.headers["x-github-delivery"];
    const answer = await freshHandler()(event);
    expect(answer.statusCode).toBe(400);
    expect(json(answer)).toEqual({ status: "invalid", message: "X-GitHub-Delivery header is missing or malformed" });
  });
});
