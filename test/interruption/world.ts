/**
 * A whole world for the interruption handler: kube-local with the demo cluster, AWS faked in
 * memory, the real runtime and handler, and a clock set just after the sample event's time.
 */
import { parseCapacityPolicy, parsePolicy, Recorder, type CapacityPolicyInput, type PolicyInput, type ReplacementRequested } from "@spot-manager/core";
import { startKubeLocal, type KubeLocal, type KubeLocalOptions } from "@spot-manager/kube-local";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { AwsWorld } from "../../packages/cli/src/simulate/aws-world";
import { createInterruptionHandler, type DirectResult } from "../../functions/interruption";
import { createInterruptionRuntime } from "../../functions/lib/interruption-runtime";

export const CLUSTER = "demo";
export const TOPIC_ARN = "arn:aws:sns:us-west-2:123456789012:spot-manager-notifications";
export const QUEUE_URL = "https://sqs.us-west-2.amazonaws.com/123456789012/spot-manager-interruptions";
export const QUEUE_ARN = "arn:aws:sqs:us-west-2:123456789012:spot-manager-interruptions";

export interface World {
  kube: KubeLocal;
  aws: AwsWorld;
  recorder: Recorder;
  /** Invokes the handler as Lambda would, with `remainingMs` left. */
  invoke(event: unknown, remainingMs?: number): Promise<SQSBatchResponse | DirectResult>;
  /** Another Lambda container of the same function: its own runtime (and cold start), the same cluster, AWS and recorder. */
  container(): (event: unknown, remainingMs?: number) => Promise<SQSBatchResponse | DirectResult>;
  /** Wraps EventBridge events as SQS records (compact JSON bodies, as EventBridge writes them). */
  sqs(...bodies: unknown[]): SQSEvent;
  /** The same, delivered for the n-th time (ApproximateReceiveCount). */
  redelivered(receiveCount: number, ...bodies: unknown[]): SQSEvent;
  /** Moves the handler's clock (not kube-local's) by this many ms. */
  advance(ms: number): void;
  now(): number;
  stop(): Promise<void>;
}

export interface WorldOptions {
  policy?: PolicyInput;
  /** The instant the handler's clock starts at (default: one second after the spot warning sample). */
  startAt?: string;
  kube?: KubeLocalOptions;
  scheduler?: boolean;
  /** Reach the cluster as in AWS: DescribeCluster for the endpoint, an IAM token from STS presigning. */
  viaEks?: boolean;
  /** The bearer token the handler presents (default: kube-local's admin token), or where it gets one for each request. */
  kubeToken?: string | ((admin: string) => Promise<string>);
  /** Errors DescribeCluster answers first (with viaEks), as a throttled cold start sees. */
  clusterFailures?: unknown[];
  /** DEAD_LETTER_QUEUE_URL of the function (default: the DLQ below). */
  deadLetterQueueUrl?: string | null;
  /** CAPACITY_POLICY of the function (its fallback rules). */
  capacityPolicy?: CapacityPolicyInput;
  /** Where replacement outcomes are told. */
  onReplacementRequested?: (requested: ReplacementRequested) => void;
  /** OUTCOME_EVENT_BUS of the function (default: the account's default bus; null: no outcome events). */
  eventBus?: string | null;
}

async function bearer(configured: WorldOptions["kubeToken"], admin: string): Promise<string> {
  return typeof configured === "function" ? configured(admin) : (configured ?? admin);
}

export const DLQ_URL = "https://sqs.us-west-2.amazonaws.com/123456789012/spot-manager-interruptions-dlq";

let messageNumber = 0;

export async function createWorld(options: WorldOptions = {}): Promise<World> {
  const kube = await startKubeLocal({ seed: "demo", simulation: { timeScale: 0.01, podStartupSeconds: 0.5 }, ...options.kube });
  const aws = new AwsWorld();
  aws.addNodes(kube.list("nodes"), CLUSTER);
  if (options.viaEks) aws.serveCluster(CLUSTER, kube.url, kube.caPem ?? "", options.clusterFailures);
  const recorder = new Recorder();
  let offset = Date.now() - Date.parse(options.startAt ?? "2024-05-14T18:21:08Z");
  const now = () => Date.now() - offset;
  const policy = parsePolicy(options.policy ?? {});
  const deadLetterQueueUrl = options.deadLetterQueueUrl === null ? undefined : (options.deadLetterQueueUrl ?? DLQ_URL);
  const eventBus = options.eventBus === null ? undefined : (options.eventBus ?? "default");
  // each container builds its runtime on its first invocation, as a Lambda cold start does
  const container = () =>
    createInterruptionHandler(
      () =>
        createInterruptionRuntime({
          config: {
            clusterName: CLUSTER,
            region: "us-west-2",
            policy,
            ...(options.capacityPolicy ? { capacityPolicy: parseCapacityPolicy(options.capacityPolicy) } : {}),
            topicArn: TOPIC_ARN,
            queueUrl: QUEUE_URL,
            ...(deadLetterQueueUrl ? { deadLetterQueueUrl } : {}),
            ...(options.scheduler === false ? {} : { scheduler: { queueArn: QUEUE_ARN, roleArn: "arn:aws:iam::123456789012:role/spot-manager-scheduler", groupName: "spot-manager" } }),
            functionName: "spot-manager-interruption",
            ...(eventBus ? { eventBus } : {}),
          },
          clients: aws.clients,
          log: recorder,
          metrics: recorder,
          ...(options.viaEks ? {} : { kubeEndpoint: { server: kube.url, ...(kube.caPem ? { caPem: kube.caPem } : {}), token: () => bearer(options.kubeToken, kube.token) } }),
          now,
          ...(options.onReplacementRequested ? { onReplacementRequested: options.onReplacementRequested } : {}),
        }),
      { sqs: () => aws.clients.sqs, log: recorder },
    );
  const invoker = (handler: ReturnType<typeof container>) => (event: unknown, remainingMs = 900_000) =>
    handler(event, { getRemainingTimeInMillis: () => remainingMs, awsRequestId: `req-${(messageNumber += 1)}` });
  const records = (receiveCount: number, bodies: unknown[]): SQSEvent => ({
    Records: bodies.map((body) => {
      messageNumber += 1;
      return {
        messageId: `msg-${messageNumber}`,
        receiptHandle: `handle-${messageNumber}`,
        body: typeof body === "string" ? body : JSON.stringify(body),
        attributes: { ApproximateReceiveCount: String(receiveCount), SentTimestamp: String(Date.now()), SenderId: "AIDAEXAMPLE", ApproximateFirstReceiveTimestamp: String(Date.now()) },
        messageAttributes: {},
        md5OfBody: "",
        eventSource: "aws:sqs",
        eventSourceARN: QUEUE_ARN,
        awsRegion: "us-west-2",
      };
    }),
  });
  return {
    kube,
    aws,
    recorder,
    invoke: invoker(container()),
    container: () => invoker(container()),
    sqs: (...bodies) => records(1, bodies),
    redelivered: (receiveCount, ...bodies) => records(receiveCount, bodies),
    advance: (ms) => {
      offset -= ms;
    },
    now,
    stop: async () => {
      aws.restore();
      await kube.stop();
    },
  };
}

export interface NodeView {
  unschedulable: boolean;
  taints: { key: string; value?: string; effect: string }[];
  annotations: Record<string, string>;
}

export function nodeView(kube: KubeLocal, name: string): NodeView {
  const node = kube.get("nodes", undefined, name) as { spec?: { unschedulable?: boolean; taints?: NodeView["taints"] }; metadata: { annotations?: Record<string, string> } } | undefined;
  if (!node) throw new Error(`node ${name} not found`);
  return { unschedulable: Boolean(node.spec?.unschedulable), taints: node.spec?.taints ?? [], annotations: node.metadata.annotations ?? {} };
}

/** Names of the pods bound to a node that are not being deleted. */
export function podsOn(kube: KubeLocal, node: string): string[] {
  return kube
    .list("pods")
    .filter((p) => (p["spec"] as { nodeName?: string }).nodeName === node && !p.metadata.deletionTimestamp)
    .map((p) => `${p.metadata.namespace}/${p.metadata.name}`)
    .sort();
}

/** The Events about an object that spot-manager recorded (the simulated kubelet reports cordons too, as a real one does). */
export function eventsAbout(kube: KubeLocal, name: string): { reason: string; type: string; message: string }[] {
  return kube
    .list("events")
    .filter((e) => (e["involvedObject"] as { name?: string }).name === name && (e["source"] as { component?: string } | undefined)?.component !== "kubelet")
    .map((e) => ({ reason: String(e["reason"]), type: String(e["type"]), message: String(e["message"]) }));
}
