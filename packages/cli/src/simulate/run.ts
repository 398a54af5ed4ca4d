/** Plays a scenario: kube-local demo cluster, AWS in memory, the real handler, a scaled clock. */
import { parsePolicy, Recorder, type ActionReport, type Log, type PolicyInput } from "@spot-manager/core";
import { startKubeLocal, type KubeLocal } from "@spot-manager/kube-local";
import type { SQSEvent } from "aws-lambda";
import { createInterruptionHandler } from "../../../../functions/interruption";
import { createInterruptionRuntime } from "../../../../functions/lib/interruption-runtime";
import { AwsWorld } from "./aws-world";
import { ScaledClock } from "./clock";
import type { Scenario } from "./scenarios";
import { TimelineRecorder, type Timeline } from "./timeline";

export const SIM_CLUSTER = "demo";
const QUEUE_ARN = "arn:aws:sqs:us-west-2:123456789012:spot-manager-interruptions";

export interface NodeState {
  node: string;
  unschedulable: boolean;
  taints: string[];
  pods: string[];
}

export interface ScenarioRun {
  scenario: Scenario;
  origin: number;
  reports: ActionReport[];
  /** Nodes an action touched, as they are at the end. */
  nodes: NodeState[];
  notifications: Record<string, unknown>[];
  lifecycleCompletions: Record<string, unknown>[];
  kubeRequests: number;
  kubernetesEvents: number;
  batchFailures: number;
  wallSeconds: number;
  /** What the run looked like over time (lanes per node, pods Pending and Running), for the picture. */
  timeline: Timeline;
}

export interface RunOptions {
  timeScale: number;
  policy?: PolicyInput;
  progress: (line: string) => void;
  /** Names the run in its timeline when a scenario plays several (default "as played"). */
  label?: string;
}

/** Prints the moments worth seeing while it runs, in simulated seconds since the scenario began. */
function progressLog(clock: ScaledClock, origin: number, print: (line: string) => void, sink: Recorder): Log {
  const at = () => `[t+${((clock.now() - origin) / 1000).toFixed(1).padStart(6)}s]`;
  const show = (message: string, extra: Record<string, unknown> = {}) => {
    const who = extra["node"] ?? extra["instanceId"] ?? "";
    switch (message) {
      case "event received":
        print(`${at()} ${String(extra["kind"])} for ${String(extra["instanceId"])} received (event ${String(extra["eventId"]).slice(0, 8)}…)`);
        break;
      case "drain finished":
        print(`${at()} ${String(who)} drain finished: ${String(extra["evicted"])} evicted, ${String(extra["forceDeleted"])} deleted, ${String(extra["blockedByPdb"])} PDB refusals, ${Array.isArray(extra["left"]) ? extra["left"].length : 0} left`);
        break;
      case "lifecycle action completed":
        print(`${at()} ${String(who)} lifecycle action completed: ${String(extra["result"])}`);
        break;
      case "follow-up scheduled":
        print(`${at()} ${String(who)} follow-up ${String(extra["followUp"])} due ${String(extra["due"])}`);
        break;
      case "event acknowledged without action":
        print(`${at()} ${String(extra["instanceId"] || extra["eventId"])} acknowledged without action: ${String(extra["reason"])}`);
        break;
      case "action left for retry":
        print(`${at()} ${String(who)} left for retry: ${String(extra["error"])}`);
        break;
      case "action finished":
        print(`${at()} ${String(who)} ${String(extra["kind"])}: ${String(extra["outcome"])}`);
        break;
    }
  };
  return {
    debug: (m, e) => sink.debug(m, e),
    info: (m, e) => {
      sink.info(m, e);
      show(m, e);
    },
    warn: (m, e) => {
      sink.warn(m, e);
      show(m, e);
    },
    error: (m, e) => {
      sink.error(m, e);
      print(`${at()} ERROR ${m} ${JSON.stringify(e ?? {})}`);
    },
  };
}

function nodeState(kube: KubeLocal, name: string): NodeState {
  const node = kube.get("nodes", undefined, name) as { spec?: { unschedulable?: boolean; taints?: { key: string; value?: string; effect: string }[] } } | undefined;
  const pods = kube
    .list("pods")
    .filter((p) => (p["spec"] as { nodeName?: string }).nodeName === name && !p.metadata.deletionTimestamp)
    .map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
  return {
    node: name,
    unschedulable: Boolean(node?.spec?.unschedulable),
    taints: (node?.spec?.taints ?? []).map((t) => `${t.key}${t.value ? `=${t.value}` : ""}:${t.effect}`),
    pods,
  };
}

let recordNumber = 0;
function sqsBatch(bodies: Record<string, unknown>[]): SQSEvent {
  return {
    Records: bodies.map((body) => {
      recordNumber += 1;
      return {
        messageId: `sim-${recordNumber}`,
        receiptHandle: `sim-handle-${recordNumber}`,
        body: JSON.stringify(body),
        attributes: { ApproximateReceiveCount: "1", SentTimestamp: String(Date.now()), SenderId: "simulation", ApproximateFirstReceiveTimestamp: String(Date.now()) },
        messageAttributes: {},
        md5OfBody: "",
        eventSource: "aws:sqs",
        eventSourceARN: QUEUE_ARN,
        awsRegion: "us-west-2",
      };
    }),
  };
}

export async function runScenario(scenario: Scenario, options: RunOptions): Promise<ScenarioRun> {
  const started = Date.now();
  const origin = Date.parse(scenario.origin);
  const clock = new ScaledClock(origin, options.timeScale);
  const kube = await startKubeLocal({ seed: "demo", simulation: { timeScale: options.timeScale, podStartupSeconds: 3 } });
  // On a machine without AWS's API models the simulation still runs, its AWS requests unchecked.
  const aws = new AwsWorld({ models: "when-available" });
  aws.addNodes(kube.list("nodes"), SIM_CLUSTER);
  const sink = new Recorder();
  const reports: ActionReport[] = [];
  let batchFailures = 0;
  try {
    scenario.prepare?.(kube);
    const runtime = await createInterruptionRuntime({
      config: {
        clusterName: SIM_CLUSTER,
        region: "us-west-2",
        policy: parsePolicy(options.policy ?? {}),
        topicArn: "arn:aws:sns:us-west-2:123456789012:spot-manager-notifications",
        queueUrl: "https://sqs.us-west-2.amazonaws.com/123456789012/spot-manager-interruptions",
        scheduler: { queueArn: QUEUE_ARN, roleArn: "arn:aws:iam::123456789012:role/spot-manager-scheduler", groupName: "spot-manager" },
        functionName: "spot-manager-interruption",
      },
      clients: aws.clients,
      log: progressLog(clock, origin, options.progress, sink),
      metrics: sink,
      kubeEndpoint: { server: kube.url, ...(kube.caPem ? { caPem: kube.caPem } : {}), token: async () => kube.token },
      now: clock.now,
      sleep: clock.sleep,
      onReport: (report) => reports.push(report),
    });
    const handler = createInterruptionHandler(async () => runtime);
    let delivered = 0;
    clock.start();
    const timeline = new TimelineRecorder(kube, clock.now, origin);
    timeline.start();
    for (const step of scenario.steps) {
      const wait = origin + step.at - clock.now();
      if (wait > 0) {
        const from = clock.now();
        clock.advance(wait);
        timeline.skip(from, clock.now());
      }
      const followUps = step.deliverFollowUps ? aws.queuedFollowUps().slice(delivered) : [];
      delivered += followUps.length;
      const batch = [...step.batch, ...followUps.map((f) => f.body)];
      if (batch.length === 0) continue;
      options.progress(`[t+${((clock.now() - origin) / 1000).toFixed(1).padStart(6)}s] ${step.label}`);
      const response = await handler(sqsBatch(batch), { getRemainingTimeInMillis: () => 900_000, awsRequestId: `sim-${step.at}` });
      batchFailures += "batchItemFailures" in response ? response.batchItemFailures.length : 0;
    }
    await kube.idle();
    const touched = [...new Set(reports.map((r) => r.node).filter((n): n is string => Boolean(n)))];
    return {
      scenario,
      origin,
      reports,
      nodes: touched.map((n) => nodeState(kube, n)),
      notifications: aws.notifications(),
      lifecycleCompletions: aws.autoscaling.calls().map((c) => ({ command: c.args[0].constructor.name, ...(c.args[0].input as Record<string, unknown>) })),
      kubeRequests: kube.stats.total,
      kubernetesEvents: kube.list("events").length,
      batchFailures,
      wallSeconds: (Date.now() - started) / 1000,
      timeline: timeline.finish(options.label ?? "as played", reports),
    };
  } finally {
    aws.restore();
    await kube.stop();
  }
}
