/**
 * Plays one chaos schedule: kube-local with three spot nodes and two on-demand nodes, AWS in
 * memory, three containers of the real interruption function, and a queue that behaves as SQS
 * does (receive counts, visibility, a dead-letter queue after five receives, follow-ups sent back
 * to it with their delay). The invariants are watched on every change to the cluster and checked
 * after every step.
 */
import { CreateScheduleCommand } from "@aws-sdk/client-scheduler";
import { ChangeMessageVisibilityCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { parsePolicy, Recorder, type PolicyInput } from "@spot-manager/core";
import { deploymentFixture, emptySeed, findResource, nodeFixture, startKubeLocal, type KubeLocal, type ResourceType } from "@spot-manager/kube-local";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { createInterruptionHandler } from "../../../../functions/interruption";
import { createInterruptionRuntime } from "../../../../functions/lib/interruption-runtime";
import { AwsWorld } from "../simulate/aws-world";
import { Invariants, type Violation } from "./invariants";
import { Random } from "./random";
import { ACCOUNT, REGION, schedule, type Emission, type FaultSpec, type Step } from "./schedule";

export const CHAOS_CLUSTER = "chaos";
const QUEUE_URL = `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/spot-manager-chaos`;
const QUEUE_ARN = `arn:aws:sqs:${REGION}:${ACCOUNT}:spot-manager-chaos`;
const DLQ_URL = `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/spot-manager-chaos-dlq`;
const MAX_RECEIVES = 5;
const QUEUE_VISIBILITY_SECONDS = 1800;
const CONTAINERS = 3;

/** The policy the chaos runs use: the defaults, with a small continuation cap so the bound is reached. */
export const CHAOS_POLICY: PolicyInput = { continuation: { maxInvocations: 4 }, podEvents: false };

export const SPOT_INSTANCES = ["i-0c0000000000000a1", "i-0c0000000000000a2", "i-0c0000000000000a3"];
const FOREIGN_INSTANCE = "i-0f0000000000000ff";

export interface QueuedMessage {
  messageId: string;
  body: string;
  /** The event the message carries (a follow-up carries its event's id), or the message id. */
  eventId: string;
  receiveCount: number;
  visibleAt: number;
}

export interface RunFigures {
  steps: number;
  invocations: number;
  recordsDelivered: number;
  acknowledged: number;
  returnedForRetry: number;
  deadLettered: number;
  followUps: number;
  evictions: number;
  apiRequests: number;
  maxInvocationsPerEvent: number;
  wallSeconds: number;
}

export interface RunResult {
  seed: number;
  stories: Record<string, string>;
  violations: Violation[];
  figures: RunFigures;
}

function clusterSeed() {
  const sources = emptySeed();
  sources.namespaces.push("shop");
  SPOT_INSTANCES.forEach((instanceId, n) =>
    sources.nodes.push(
      nodeFixture({ name: nodeName(n), instanceId, zone: "us-west-2a", instanceType: "m6i.large", capacityType: "SPOT", nodegroup: "spot", internalIp: `10.40.0.${n + 1}`, allocatable: { pods: "20" } }),
    ),
  );
  const web = deploymentFixture({ namespace: "shop", name: "web", replicas: 6, terminationGracePeriodSeconds: 2, pdb: { maxUnavailable: "50%" } });
  const api = deploymentFixture({ namespace: "shop", name: "api", replicas: 3, terminationGracePeriodSeconds: 2, pdb: { maxUnavailable: 1 } });
  sources.deployments.push(web.deployment, api.deployment);
  sources.pdbs.push(web.pdb!, api.pdb!);
  const receivers = emptySeed();
  for (let n = 0; n < 2; n += 1) {
    receivers.nodes.push(nodeFixture({ name: `ip-10-41-0-${n + 1}.us-west-2.compute.internal`, instanceId: `i-0d00000000000000${n}`, zone: "us-west-2b", instanceType: "m6i.xlarge", capacityType: "ON_DEMAND", nodegroup: "base", internalIp: `10.41.0.${n + 1}`, allocatable: { pods: "40" } }));
  }
  return { sources, receivers };
}

export function nodeName(n: number): string {
  return `ip-10-40-0-${n + 1}.us-west-2.compute.internal`;
}

/** Plays the schedule of `seed`; never throws for what the product does, it reports violations. */
export async function runChaos(seed: number): Promise<RunResult> {
  const started = Date.now();
  const plan = schedule(seed, SPOT_INSTANCES, FOREIGN_INSTANCE);
  const random = new Random(seed ^ 0x5bd1e995);
  const kube = await startKubeLocal({ tls: false, simulation: { timeScale: 0.002, podStartupSeconds: 1 } });
  const aws = new AwsWorld();
  const recorder = new Recorder();
  let offset = Date.now() - plan.start;
  const now = () => Date.now() - offset;
  const figures: RunFigures = { steps: 0, invocations: 0, recordsDelivered: 0, acknowledged: 0, returnedForRetry: 0, deadLettered: 0, followUps: 0, evictions: 0, apiRequests: 0, maxInvocationsPerEvent: 0, wallSeconds: 0 };
  try {
    const { sources, receivers } = clusterSeed();
    await kube.seed(sources);
    await kube.seed(receivers);
    aws.addNodes(kube.list("nodes"), CHAOS_CLUSTER);
    aws.addInstance({ instanceId: FOREIGN_INSTANCE, privateDnsName: "ip-10-99-0-1.us-west-2.compute.internal", availabilityZone: "us-west-2a", instanceType: "m6i.large", lifecycle: "spot", tags: { "eks:cluster-name": "someone-else" } });
    const policy = parsePolicy(CHAOS_POLICY);
    const containers = Array.from({ length: CONTAINERS }, () =>
      createInterruptionHandler(
        () =>
          createInterruptionRuntime({
            config: {
              clusterName: CHAOS_CLUSTER,
              region: REGION,
              policy,
              topicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:spot-manager-chaos`,
              queueUrl: QUEUE_URL,
              deadLetterQueueUrl: DLQ_URL,
              scheduler: { queueArn: QUEUE_ARN, roleArn: `arn:aws:iam::${ACCOUNT}:role/spot-manager-scheduler`, groupName: "spot-manager-chaos" },
              functionName: "spot-manager-chaos-interruption",
            },
            clients: aws.clients,
            log: recorder,
            metrics: recorder,
            kubeEndpoint: { server: kube.url, token: async () => kube.token },
            now,
          }),
        { sqs: () => aws.clients.sqs, log: recorder },
      ),
    );
    const emissions = plan.steps.filter((s): s is Extract<Step, { type: "emit" }> => s.type === "emit").map((s) => s.emission);
    const invariants = new Invariants(kube, aws, recorder, now, emissions, policy);
    const queue: QueuedMessage[] = [];
    const acked: QueuedMessage[] = [];
    let messageNumber = 0;
    let sendsSeen = 0;
    let schedulesSeen = 0;
    const enqueue = (body: string, eventId: string, visibleAt: number) => {
      messageNumber += 1;
      queue.push({ messageId: `m-${seed}-${messageNumber}`, body, eventId, receiveCount: 0, visibleAt });
    };
    /** Follow-ups the function sent to its queue (or through the scheduler) come back when due; DLQ sends are counted. */
    const collectOutbound = () => {
      const sends = aws.sqs.commandCalls(SendMessageCommand);
      for (const call of sends.slice(sendsSeen)) {
        const input = call.args[0].input;
        if (input.QueueUrl === DLQ_URL) continue;
        const body = input.MessageBody ?? "{}";
        figures.followUps += 1;
        enqueue(body, followUpEventId(body), now() + (input.DelaySeconds ?? 0) * 1000);
      }
      sendsSeen = sends.length;
      const schedules = aws.scheduler.commandCalls(CreateScheduleCommand);
      for (const call of schedules.slice(schedulesSeen)) {
        const input = call.args[0].input;
        const at = /^at\((.+)\)$/.exec(input.ScheduleExpression ?? "")?.[1];
        const body = input.Target?.Input ?? "{}";
        figures.followUps += 1;
        enqueue(body, followUpEventId(body), at ? Date.parse(`${at}Z`) : now());
      }
      schedulesSeen = schedules.length;
    };
    const visibilityOf = (receipt: string): number => {
      const calls = aws.sqs.commandCalls(ChangeMessageVisibilityCommand).filter((c) => c.args[0].input.ReceiptHandle === receipt);
      const last = calls[calls.length - 1];
      return last ? (last.args[0].input.VisibilityTimeout ?? QUEUE_VISIBILITY_SECONDS) : QUEUE_VISIBILITY_SECONDS;
    };

    const deliver = async (max: number, shortLimit: boolean) => {
      const visible = random.shuffle(queue.filter((m) => m.visibleAt <= now())).slice(0, max);
      if (visible.length === 0) return;
      // reordering and duplicates: batches of one to three records, to containers at random, side by side
      const batches: QueuedMessage[][] = [];
      for (const message of visible) {
        const last = batches[batches.length - 1];
        if (last && last.length < 3 && random.chance(0.5)) last.push(message);
        else batches.push([message]);
      }
      const logBefore = recorder.lines.length;
      await Promise.all(
        batches.map(async (batch) => {
          const container = random.pick(containers);
          for (const m of batch) m.receiveCount += 1;
          const event: SQSEvent = {
            Records: batch.map((m) => ({
              messageId: m.messageId,
              receiptHandle: `${m.messageId}#${m.receiveCount}`,
              body: m.body,
              attributes: { ApproximateReceiveCount: String(m.receiveCount), SentTimestamp: String(now()), SenderId: "chaos", ApproximateFirstReceiveTimestamp: String(now()) },
              messageAttributes: {},
              md5OfBody: "",
              eventSource: "aws:sqs",
              eventSourceARN: QUEUE_ARN,
              awsRegion: REGION,
            })),
          };
          // a short limit makes the function stop mid-drain and continue in a follow-up
          const remainingMs = shortLimit ? random.int(21_000, 24_000) : 300_000;
          figures.invocations += 1;
          figures.recordsDelivered += batch.length;
          const answer = (await container(event, { getRemainingTimeInMillis: () => remainingMs, awsRequestId: `chaos-${seed}-${figures.invocations}` })) as SQSBatchResponse;
          const failed = new Set(answer.batchItemFailures.map((f) => f.itemIdentifier));
          for (const m of batch) {
            if (!failed.has(m.messageId)) {
              queue.splice(queue.indexOf(m), 1);
              acked.push(m);
              figures.acknowledged += 1;
              invariants.acknowledged(m, logBefore);
              // SQS delivers at least once: now and then an acknowledged message comes again
              if (random.chance(0.05)) enqueue(m.body, m.eventId, now() + random.int(1, 30) * 1000);
              continue;
            }
            figures.returnedForRetry += 1;
            if (m.receiveCount >= MAX_RECEIVES) {
              queue.splice(queue.indexOf(m), 1);
              figures.deadLettered += 1;
              invariants.deadLettered(m);
            } else {
              m.visibleAt = now() + visibilityOf(`${m.messageId}#${m.receiveCount}`) * 1000;
            }
          }
        }),
      );
      collectOutbound();
      invariants.afterDelivery();
    };

    for (const step of plan.steps) {
      if (step.at > now()) offset -= step.at - now();
      figures.steps += 1;
      switch (step.type) {
        case "emit":
          for (let copy = 0; copy < step.emission.copies; copy += 1) enqueue(JSON.stringify(step.emission.body), step.emission.eventId, now() + copy * random.int(0, 3000));
          break;
        case "malformed":
          enqueue(random.chance(0.5) ? "null" : "{not json", "malformed", now());
          break;
        case "ec2":
          aws.setState(step.instanceId, step.state, step.launched ? new Date(now()) : undefined);
          invariants.ec2Changed(step.instanceId);
          break;
        case "fault":
          addFault(kube, step.fault);
          break;
        case "deliver":
          await deliver(step.max, step.shortLimit);
          break;
      }
      invariants.check(step, figures.steps);
    }
    // what is still in the queue is not lost; what was acknowledged must have a report or a logged reason
    invariants.finish(queue, acked);
    figures.evictions = kube.stats.count("create", "pods/eviction");
    figures.apiRequests = kube.stats.total;
    figures.maxInvocationsPerEvent = invariants.maxInvocationsPerEvent();
    figures.wallSeconds = Number(((Date.now() - started) / 1000).toFixed(2));
    return { seed, stories: plan.stories, violations: invariants.violations.map((v) => ({ ...v, seed })), figures };
  } finally {
    aws.restore();
    await kube.stop();
  }
}

function followUpEventId(body: string): string {
  try {
    const parsed = JSON.parse(body) as { detail?: { event?: { eventId?: string } } };
    return parsed.detail?.event?.eventId ?? "follow-up";
  } catch {
    return "follow-up";
  }
}

function addFault(kube: KubeLocal, fault: FaultSpec): void {
  switch (fault.kind) {
    case "throttle-evictions":
      kube.faults.add({ match: { resource: "pods/eviction" }, effect: { kind: "status", code: 429, retryAfterSeconds: 1 }, times: fault.times });
      break;
    case "node-patch-5xx":
      kube.faults.add({ match: { method: "PATCH", resource: "nodes" }, effect: { kind: "status", code: 503 }, times: fault.times });
      break;
    case "drop":
      kube.faults.add({ match: { resource: "pods/eviction" }, effect: { kind: "drop" }, times: fault.times });
      break;
    case "slow-api":
      kube.faults.add({ match: { verb: "get" }, effect: { kind: "latency", ms: fault.ms }, times: fault.times });
      break;
    case "deny-pod":
      // a permanent refusal: an admission webhook denies every eviction of one pod
      kube.faults.add({ match: { resource: "pods/eviction", path: new RegExp(`/pods/${fault.pod}[a-z0-9]+-[a-z0-9]{5}/`) }, effect: { kind: "status", code: 400, message: 'admission webhook "chaos.example.com" denied the request' }, times: 1_000 });
      break;
    case "second-budget":
      // a second budget over the same pods: every eviction of them is a 500
      kube.registry.create(findResource("policy", "v1", "poddisruptionbudgets") as ResourceType, "shop", {
        apiVersion: "policy/v1",
        kind: "PodDisruptionBudget",
        metadata: { name: `${fault.app}-too` },
        spec: { maxUnavailable: 1, selector: { matchLabels: { app: fault.app } } },
      });
      break;
  }
}

export type { Emission };
