/**
 * The function bundles as `sst deploy` builds them (SST's esbuild, from the delivery variant's
 * synthesis), each loaded and invoked once under Node.js 24, the runtime they are deployed on:
 * AWS answered by a local fake endpoint, Kubernetes by kube-local over HTTPS with IAM tokens.
 */
import { execFile } from "node:child_process";
import { createHash, createHmac } from "node:crypto";
import { join } from "node:path";
import { promisify } from "node:util";
import { CLUSTER_ROLE_RULES, KUBERNETES_GROUP } from "@spot-manager/core";
import { DEMO_INTERRUPTED_NODE, startKubeLocal, type Identity, type KubeLocal } from "@spot-manager/kube-local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixture } from "../fixtures";
import { synthVariant, type SynthesizedVariant } from "../stacks/variants";
import { json, startFakeAws, xml, type FakeAws } from "./fake-aws";
import { notice } from "../quiet";
import { node24 } from "./node24";

const run = promisify(execFile);
const RUNNER = join(import.meta.dirname, "run-handler.mjs");
const ACCOUNT = "123456789012";
const WEBHOOK_SECRET = "smoke-webhook-secret";

interface Deployed {
  bundle: string;
  environment: Record<string, string>;
  timeoutMs: number;
}

let binary: Awaited<ReturnType<typeof node24>>;
let variant: SynthesizedVariant;
let kube: KubeLocal;
let aws: FakeAws;

/** Stands in for values CloudFormation fills in at deploy time. */
function deployedValue(name: string, stage: string): string {
  const values: Record<string, string> = {
    NOTIFICATION_TOPIC_ARN: `arn:aws:sns:us-west-2:${ACCOUNT}:spot-manager-${stage}-notifications`,
    // SQS sends to the queue URL's host, not to AWS_ENDPOINT_URL
    QUEUE_URL: `${aws.url}/${ACCOUNT}/spot-manager-${stage}-interruptions`,
    QUEUE_ARN: `arn:aws:sqs:us-west-2:${ACCOUNT}:spot-manager-${stage}-interruptions`,
    DEAD_LETTER_QUEUE_URL: `${aws.url}/${ACCOUNT}/spot-manager-${stage}-interruptions-dlq`,
    DELIVERY_TABLE_NAME: `spot-manager-${stage}-webhook-deliveries`,
    SCHEDULER_ROLE_ARN: `arn:aws:iam::${ACCOUNT}:role/follow-up-scheduler`,
    WEBHOOK_SECRET_ARN: `arn:aws:secretsmanager:us-west-2:${ACCOUNT}:secret:spot-manager-${stage}/github-webhook-secret-AbCdEf`,
    // the delivery variant publishes outcome events to a bus it creates
    OUTCOME_EVENT_BUS: `arn:aws:events:us-west-2:${ACCOUNT}:event-bus/shop-platform-events`,
  };
  const value = values[name];
  if (!value) throw new Error(`no deploy-time stand-in for ${name}`);
  return value;
}

/** The bundle and environment of a function, read from the synthesized template and its asset. */
function deployed(functionName: string): Deployed {
  for (const template of variant.templates().values()) {
    const found = Object.values(template.findResources("AWS::Lambda::Function", { Properties: { FunctionName: functionName } }))[0] as
      | { Properties: { Handler: string; Timeout: number; Code: { S3Key: string }; Environment: { Variables: Record<string, unknown> } } }
      | undefined;
    if (!found) continue;
    const asset = join(variant.outdir, `asset.${found.Properties.Code.S3Key.replace(/\.zip$/, "")}`);
    const file = found.Properties.Handler.replace(/\.[^.]+$/, ".mjs");
    const environment = Object.fromEntries(Object.entries(found.Properties.Environment.Variables).map(([k, v]) => [k, typeof v === "string" ? v : deployedValue(k, variant.stage)]));
    return { bundle: join(asset, file), environment, timeoutMs: found.Properties.Timeout * 1000 };
  }
  throw new Error(`no function ${functionName}`);
}

/** One invocation under Node.js 24 with Lambda's environment; what the handler answered. */
async function invoke(functionName: string, event: unknown): Promise<{ node: string; ok: boolean; result?: unknown; error?: string }> {
  if (!("path" in binary)) throw new Error(binary.missing);
  const fn = deployed(functionName);
  const { stdout } = await run(binary.path, [RUNNER, fn.bundle, JSON.stringify(event), String(fn.timeoutMs)], {
    timeout: 60_000,
    env: {
      PATH: process.env["PATH"] ?? "",
      ...fn.environment,
      AWS_REGION: "us-west-2",
      AWS_DEFAULT_REGION: "us-west-2",
      AWS_LAMBDA_FUNCTION_NAME: functionName,
      AWS_ACCESS_KEY_ID: "ASIASMOKETEST0000000",
      AWS_SECRET_ACCESS_KEY: "smoke-secret-access-key",
      AWS_SESSION_TOKEN: "smoke-session-token",
      AWS_ENDPOINT_URL: aws.url,
      AWS_MAX_ATTEMPTS: "1",
    },
  });
  const last = stdout.trim().split("\n").reverse().find((line) => line.startsWith("RESULT "));
  if (!last) throw new Error(`no result from ${functionName}: ${stdout.slice(-2000)}`);
  return JSON.parse(last.slice("RESULT ".length)) as { node: string; ok: boolean; result?: unknown; error?: string };
}

/** EKS's authenticator: a well-formed `k8s-aws-v1.` token is the function's role, in spot-manager's group. */
function eksAuthenticator(token: string): Identity | undefined {
  if (!token.startsWith("k8s-aws-v1.")) return undefined;
  const url = new URL(Buffer.from(token.slice("k8s-aws-v1.".length), "base64url").toString("utf8"));
  if (url.searchParams.get("Action") !== "GetCallerIdentity" || !(url.searchParams.get("X-Amz-SignedHeaders") ?? "").split(";").includes("x-k8s-aws-id")) return undefined;
  return { user: `arn:aws:sts::${ACCOUNT}:assumed-role/spot-manager-interruption/smoke`, groups: [KUBERNETES_GROUP], rules: CLUSTER_ROLE_RULES };
}

beforeAll(async () => {
  binary = await node24();
  variant = await synthVariant("delivery");
  kube = await startKubeLocal({ seed: "demo", simulation: { timeScale: 0.01 }, tokenReviewer: eksAuthenticator });
  const clusterName = `spot-manager-${variant.stage}`;
  aws = await startFakeAws({
    "eks:GET /clusters/spot-manager-web": () =>
      json({ cluster: { name: clusterName, status: "ACTIVE", endpoint: kube.url, certificateAuthority: { data: Buffer.from(kube.caPem ?? "").toString("base64") } } }, "application/json"),
    "ec2:DescribeInstances": (call) =>
      xml(
        "DescribeInstances",
        "http://ec2.amazonaws.com/doc/2016-11-15/",
        `<reservationSet><item><reservationId>r-1</reservationId><instancesSet><item><instanceId>${call.params.get("InstanceId.1")}</instanceId><instanceType>m6i.large</instanceType><instanceLifecycle>spot</instanceLifecycle><privateDnsName>${DEMO_INTERRUPTED_NODE}</privateDnsName><instanceState><code>16</code><name>running</name></instanceState><placement><availabilityZone>us-west-2a</availabilityZone></placement><tagSet><item><key>eks:cluster-name</key><value>${clusterName}</value></item></tagSet></item></instancesSet></item></reservationSet>`,
      ),
    "sqs:SendMessage": (call) => {
      const body = (JSON.parse(call.body) as { MessageBody: string }).MessageBody;
      return json({ MessageId: "m-1", MD5OfMessageBody: createHash("md5").update(body).digest("hex") }, "application/x-amz-json-1.0");
    },
    "sns:Publish": () => xml("Publish", "http://sns.amazonaws.com/doc/2010-03-31/", "<PublishResult><MessageId>n-1</MessageId></PublishResult>"),
    "events:PutEvents": (call) => {
      const entries = (JSON.parse(call.body) as { Entries: unknown[] }).Entries;
      return json({ FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `e-${i}` })) });
    },
    "secretsmanager:GetSecretValue": () => json({ ARN: deployedValue("WEBHOOK_SECRET_ARN", variant.stage), Name: "webhook", SecretString: WEBHOOK_SECRET, VersionId: "v1" }),
    "codebuild:ListBuildsForProject": () => json({ ids: [] }),
    "codebuild:StartBuild": () => json({ build: { id: "spot-manager-web-delivery:b-1", buildNumber: 1, buildStatus: "IN_PROGRESS", sourceVersion: "main" } }),
  });
}, 420_000);

afterAll(async () => {
  await kube?.stop();
  await aws?.stop();
});

describe("the function bundles under Node.js 24", () => {
  it("finds a Node.js 24 binary (npm's node-linux package), or says why the smoke runs are skipped", (ctx) => {
    if (!("path" in binary)) {
      notice(`Node.js 24 smoke runs skipped: ${binary.missing}`);
      return ctx.skip();
    }
    expect(binary.version).toMatch(/^v24\./);
  });

  it("interruption: a rebalance recommendation taints the node through the EKS endpoint, schedules the taint's removal and notifies", async (ctx) => {
    if (!("path" in binary)) return ctx.skip();
    // Prepare
    const event = fixture("rebalance");
    event["time"] = new Date().toISOString();
    const record = fixture<{ Records: Record<string, unknown>[] }>("sqsRecord");
    record.Records[0]!["body"] = JSON.stringify(event);
    // Act
    const answer = await invoke(`spot-manager-${variant.stage}-interruption`, record);
    // Assess
    expect(answer).toMatchObject({ node: expect.stringMatching(/^v24\./), ok: true, result: { batchItemFailures: [] } });
    const node = kube.get("nodes", undefined, DEMO_INTERRUPTED_NODE) as { spec?: { taints?: { key: string; effect: string }[] } };
    expect(node.spec?.taints).toContainEqual(expect.objectContaining({ key: "spot-manager/rebalance", effect: "PreferNoSchedule" }));
    const operations = aws.calls.map((c) => `${c.service}:${c.operation}`);
    expect(operations).toEqual(expect.arrayContaining(["eks:GET /clusters/spot-manager-web", "ec2:DescribeInstances", "sqs:SendMessage", "sns:Publish", "events:PutEvents"]));
    const [outcome] = (JSON.parse(aws.calls.find((c) => c.operation === "PutEvents")!.body) as { Entries: { Source: string; DetailType: string; EventBusName: string }[] }).Entries;
    expect(outcome).toMatchObject({ Source: "spot-manager", DetailType: "Node Protected", EventBusName: `arn:aws:events:us-west-2:${ACCOUNT}:event-bus/shop-platform-events` });
    const followUp = JSON.parse(aws.calls.find((c) => c.operation === "SendMessage")!.body) as { DelaySeconds: number; MessageBody: string };
    expect(followUp.DelaySeconds).toBeGreaterThan(890);
    expect(JSON.parse(followUp.MessageBody)).toMatchObject({ detail: { action: "remove-rebalance-taint" } });
    expect(kube.stats.log.filter((r) => r.status === 401 || r.status === 403)).toEqual([]);
  });

  it("webhook: a signed ping is answered pong, after the secret is read", async (ctx) => {
    if (!("path" in binary)) return ctx.skip();
    const body = JSON.stringify({ zen: "Keep it logically awesome.", hook_id: 1, hook: { events: ["push"] }, repository: { full_name: "acme/shop" } });
    const signature = `sha256=${createHmac("sha256", WEBHOOK_SECRET).update(body).digest("hex")}`;
    const answer = await invoke(`spot-manager-${variant.stage}-delivery-webhook`, {
      headers: { "x-github-event": "ping", "x-github-delivery": "d-1", "x-hub-signature-256": signature, "content-type": "application/json" },
      body,
      isBase64Encoded: false,
    });
    expect(answer).toMatchObject({ node: expect.stringMatching(/^v24\./), ok: true, result: { statusCode: 200 } });
    expect(JSON.parse((answer.result as { body: string }).body)).toMatchObject({ status: "pong" });
  });

  it("scheduled builds: the nightly refresh starts a CodeBuild build", async (ctx) => {
    if (!("path" in binary)) return ctx.skip();
    const answer = await invoke(`spot-manager-${variant.stage}-delivery-scheduled`, { builds: ["nightly-base-refresh"] });
    expect(answer).toMatchObject({ ok: true, result: { launched: [expect.objectContaining({ name: "nightly-base-refresh" })] } });
    expect(aws.calls.some((c) => c.operation === "StartBuild")).toBe(true);
  });

  it("build notifications: a state change of this project is published to the topic", async (ctx) => {
    if (!("path" in binary)) return ctx.skip();
    const event = fixture("codebuildStateChange");
    (event["detail"] as Record<string, unknown>)["project-name"] = `spot-manager-${variant.stage}-delivery`;
    const published = aws.calls.filter((c) => c.operation === "Publish").length;
    const answer = await invoke(`spot-manager-${variant.stage}-delivery-notify`, event);
    expect(answer).toMatchObject({ ok: true });
    expect(aws.calls.filter((c) => c.operation === "Publish").length).toBe(published + 1);
    const outcome = JSON.parse(aws.calls.filter((c) => c.operation === "PutEvents").at(-1)!.body) as { Entries: { DetailType: string }[] };
    expect(outcome.Entries.map((e) => e.DetailType)).toEqual(["Build Finished"]);
  });

  it("capacity: a dry run reports every group it could not read, and changes nothing", async (ctx) => {
    if (!("path" in binary)) return ctx.skip();
    const answer = await invoke(`spot-manager-${variant.stage}-capacity`, { dryRun: true });
    expect(answer).toMatchObject({ node: expect.stringMatching(/^v24\./), ok: true });
    const report = answer.result as { dryRun?: boolean; failures: { group: string }[] };
    expect(report.failures.map((f) => f.group).sort()).toEqual(["base-on-demand", "spot-general"]);
    expect(aws.calls.filter((c) => c.service === "eks" && c.operation.startsWith("POST")).length).toBe(0);
  });
});
