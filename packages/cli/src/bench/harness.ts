/** A kube-local cluster, AWS in memory and the real interruption handler, for benchmarks. */
import { CLUSTER_ROLE_RULES, KUBERNETES_GROUP, parsePolicy, Recorder, syntheticEvent, type ActionReport, type PolicyInput } from "@spot-manager/core";
import { startKubeLocal, type ClusterSeed, type KubeLocal, type KubeLocalOptions } from "@spot-manager/kube-local";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { createInterruptionHandler, type DirectResult } from "../../../../functions/interruption";
import { createInterruptionRuntime } from "../../../../functions/lib/interruption-runtime";
import { AwsWorld } from "../simulate/aws-world";

export const BENCH_CLUSTER = "bench";

/** kube-apiserver's default in-flight limits (--max-requests-inflight, --max-mutating-requests-inflight). */
export const DEFAULT_FLOW_CONTROL = { readOnly: 400, mutating: 200 } as const;

/** The function reaches the cluster as its access entry maps it: the least-privilege group, which the in-flight limit applies to. */
const FUNCTION_TOKEN = "spot-manager-bench-function";

export interface BenchWorld {
  kube: KubeLocal;
  aws: AwsWorld;
  reports: ActionReport[];
  /** What the handler logged and measured. */
  log: Recorder;
  /** Invokes container `containerIndex` (default 0); each container has its own runtime, built on its first invocation. */
  invoke(event: unknown, containerIndex?: number): Promise<SQSBatchResponse | DirectResult>;
  stop(): Promise<void>;
}

export async function benchWorld(seed: ClusterSeed, options: { policy?: PolicyInput; kube?: KubeLocalOptions } = {}): Promise<BenchWorld> {
  const kube = await startKubeLocal({
    // the simulated kubelet's and controllers' own Events are load on this process that a real
    // control plane carries elsewhere: off, so the figures are the product's
    simulation: { timeScale: 1, podStartupSeconds: 0.5, events: false },
    flowControl: DEFAULT_FLOW_CONTROL,
    // room for 4,096 nodes' /24s: the default /16 holds 256, fewer than the mass reclaim's fleet
    controllers: { nodeIpam: { clusterCidr: "10.128.0.0/12" } },
    ...options.kube,
    identities: { [FUNCTION_TOKEN]: { user: "spot-manager", groups: [KUBERNETES_GROUP], rules: CLUSTER_ROLE_RULES }, ...options.kube?.identities },
  });
  await kube.seed(seed);
  const aws = new AwsWorld({ models: "when-available" });
  aws.addNodes(kube.list("nodes"), BENCH_CLUSTER);
  const reports: ActionReport[] = [];
  const sink = new Recorder();
  const policy = parsePolicy(options.policy ?? {});
  // each container builds its own runtime (its own connections to the API server), as Lambda's do
  const containers: ReturnType<typeof createInterruptionHandler>[] = [];
  const container = () =>
    createInterruptionHandler(() =>
      createInterruptionRuntime({
        config: { clusterName: BENCH_CLUSTER, region: "us-west-2", policy, functionName: "spot-manager-interruption" },
        clients: aws.clients,
        log: sink,
        metrics: sink,
        kubeEndpoint: { server: kube.url, ...(kube.caPem ? { caPem: kube.caPem } : {}), token: async () => FUNCTION_TOKEN },
        onReport: (r) => reports.push(r),
      }),
    );
  let n = 0;
  return {
    kube,
    aws,
    reports,
    log: sink,
    invoke: (event, containerIndex = 0) => {
      containers[containerIndex] ??= container();
      return containers[containerIndex](event, { getRemainingTimeInMillis: () => 900_000, awsRequestId: `bench-${(n += 1)}` });
    },
    stop: async () => {
      aws.restore();
      await kube.stop();
    },
  };
}

/** Requests the in-flight limit refused, by kind. */
export function flowRejections(kube: KubeLocal): { readOnly: number; mutating: number } {
  return { ...(kube.flowControl?.rejected ?? { readOnly: 0, mutating: 0 }) };
}

/** A spot interruption warning for an instance, emitted now, in the shape AWS sends. */
export function spotWarning(instanceId: string, at = new Date()): Record<string, unknown> {
  return syntheticEvent("spot-itn", { instanceId, now: at, region: "us-west-2", account: "123456789012" });
}

export function sqsBatch(bodies: Record<string, unknown>[]): SQSEvent {
  return {
    Records: bodies.map((body, i) => ({
      messageId: `bench-${i}-${String(body["id"])}`,
      receiptHandle: `bench-${i}`,
      body: JSON.stringify(body),
      attributes: { ApproximateReceiveCount: "1", SentTimestamp: String(Date.now()), SenderId: "bench", ApproximateFirstReceiveTimestamp: String(Date.now()) },
      messageAttributes: {},
      md5OfBody: "",
      eventSource: "aws:sqs",
      eventSourceARN: "arn:aws:sqs:us-west-2:123456789012:spot-manager-interruptions",
      awsRegion: "us-west-2",
    })),
  };
}
