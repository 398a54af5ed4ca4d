/**
 * Properties of the real interruption handler under malformed and mutated input: never a crash of
 * the batch, never an action on the wrong node. Each property runs many generated batches against
 * one world (kube-local with the demo cluster, AWS faked in memory) that also holds traps: a node
 * of another cluster, a node whose instance EC2 does not know, an instance of ours without a node,
 * a stale instance of ours whose private DNS name is now a live node's name, and an instance of
 * ours whose private DNS name is the foreign node's name.
 */
import { CompleteLifecycleActionCommand, RecordLifecycleActionHeartbeatCommand } from "@aws-sdk/client-auto-scaling";
import { CreateScheduleCommand } from "@aws-sdk/client-scheduler";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { parseMessage, parseMessageBody, RetryError, type ActionReport, type ParsedMessage, type PolicyInput } from "@spot-manager/core";
import { barePodFixture, DEMO_INTERRUPTED_NODE, emptySeed, nodeFixture, type KubeObject } from "@spot-manager/kube-local";
import type { SQSBatchResponse } from "aws-lambda";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findResource, type ResourceType } from "../../packages/kube-local/src/resources";
import { base, batchArb, designatedInstanceIds, messageArb, mutate, mutationArb, retarget, SIGNAL_FIXTURES, type BaseName, type IdPool, type Json } from "./arbitraries";
import { CLUSTER, createWorld, type World } from "./world";

const NODES = findResource("", "v1", "nodes") as ResourceType;

/** A node of another cluster: EC2 knows its instance, tagged for cluster "other". */
const FOREIGN = { instanceId: "i-0f0f0f0f0f0f0f031", node: "ip-10-0-9-31.us-west-2.compute.internal" };
/** A node whose instance EC2 does not know (another account, or long gone). */
const ORPHAN = { instanceId: "i-0b0b0b0b0b0b0b032", node: "ip-10-0-9-32.us-west-2.compute.internal" };
/** An instance of ours that has no node (not registered yet, or already removed). */
const GHOST = { instanceId: "i-0aaaa0000000a0b0c", dns: "ip-10-0-8-88.us-west-2.compute.internal" };
/** A terminated instance of ours whose private DNS name (and so node name) now belongs to another instance's node. */
const STALE = { instanceId: "i-0dead00000000beef", dns: DEMO_INTERRUPTED_NODE };
/** An instance of ours whose private DNS name is the foreign node's name (addresses reused across clusters in a shared VPC). */
const REUSED = { instanceId: "i-0eeee0000000e0e0e", dns: FOREIGN.node };

const WRITE_VERBS = new Set(["create", "update", "patch", "delete", "deletecollection"]);

/** Drains off where the property does not need them: they would make runs slow and order-dependent. */
const NO_DRAINS: PolicyInput = {
  spotInterruption: { drain: false },
  rebalanceRecommendation: { drain: false },
  asgTerminate: { drain: false },
  stateChange: { drain: false },
  scheduledChange: { drain: false },
};

interface RunMark {
  autoscaling: number;
  sns: number;
  sqs: number;
  scheduler: number;
  lines: number;
}

/** A world with its traps, and the bookkeeping a wrong-node oracle needs. */
class PropertyWorld {
  /** Instance ids the generators draw from. */
  readonly pool: IdPool;
  /** Instances EC2 knows and tags for our cluster. */
  readonly ours = new Set<string>();
  /** Node name by the instance in its spec.providerID. */
  readonly nodeOfInstance = new Map<string, string>();
  /** The node each pod was (last) bound to, "namespace/name" -> node, kept from the store's changes. */
  readonly podNode = new Map<string, string>();
  private readonly pristine = new Map<string, KubeObject>();
  private readonly seenEvents = new Set<string>();
  private readonly unsubscribe: () => void;

  private constructor(readonly world: World) {
    for (const [id, instance] of world.aws.instances) if (instance.tags["eks:cluster-name"] === CLUSTER) this.ours.add(id);
    for (const node of world.kube.list("nodes")) {
      const name = node.metadata.name ?? "";
      const providerID = (node["spec"] as { providerID?: string } | undefined)?.providerID ?? "";
      const instanceId = /\/(i-[0-9a-f]+)$/.exec(providerID)?.[1];
      if (instanceId) this.nodeOfInstance.set(instanceId, name);
      this.pristine.set(name, node);
    }
    for (const pod of world.kube.list("pods")) this.notePod(pod);
    this.unsubscribe = world.kube.store.subscribe((change) => {
      if (change.storage === "pods") this.notePod(change.object);
    });
    for (const event of world.kube.list("events")) this.seenEvents.add(event.metadata.uid ?? "");
    const demo = [...this.nodeOfInstance.keys()].filter((id) => this.ours.has(id));
    this.pool = { known: [...demo, ...demo, GHOST.instanceId, STALE.instanceId, REUSED.instanceId, FOREIGN.instanceId, ORPHAN.instanceId] };
  }

  static async create(policy: PolicyInput): Promise<PropertyWorld> {
    const world = await createWorld({ policy });
    world.aws.addInstance({ instanceId: FOREIGN.instanceId, privateDnsName: FOREIGN.node, availabilityZone: "us-west-2c", instanceType: "m5.large", lifecycle: "spot", tags: { "eks:cluster-name": "other", "kubernetes.io/cluster/other": "owned" } });
    world.aws.addInstance({ instanceId: GHOST.instanceId, privateDnsName: GHOST.dns, availabilityZone: "us-west-2b", instanceType: "m5.large", lifecycle: "spot", tags: { "eks:cluster-name": CLUSTER } });
    world.aws.addInstance({ instanceId: REUSED.instanceId, privateDnsName: REUSED.dns, availabilityZone: "us-west-2c", instanceType: "m5.large", lifecycle: "spot", tags: { "eks:cluster-name": CLUSTER } });
    world.aws.addInstance({ instanceId: STALE.instanceId, privateDnsName: STALE.dns, availabilityZone: "us-west-2a", instanceType: "m5.large", lifecycle: "spot", state: "terminated", tags: { "eks:cluster-name": CLUSTER } });
    const keepOut = [{ key: "example.com/other-cluster", value: "true", effect: "NoSchedule" as const }];
    await world.kube.seed({
      ...emptySeed(),
      namespaces: ["default"],
      nodes: [
        nodeFixture({ name: FOREIGN.node, instanceId: FOREIGN.instanceId, zone: "us-west-2c", instanceType: "m5.large", capacityType: "SPOT", nodegroup: "other-spot", internalIp: "10.0.9.31", taints: keepOut }),
        nodeFixture({ name: ORPHAN.node, instanceId: ORPHAN.instanceId, zone: "us-west-2c", instanceType: "m5.large", capacityType: "SPOT", nodegroup: "other-spot", internalIp: "10.0.9.32", taints: keepOut }),
      ],
      pods: [
        barePodFixture({ namespace: "default", name: "foreign-app", nodeName: FOREIGN.node }),
        barePodFixture({ namespace: "default", name: "orphan-app", nodeName: ORPHAN.node }),
      ],
    });
    return new PropertyWorld(world);
  }

  private notePod(pod: KubeObject): void {
    const nodeName = (pod["spec"] as { nodeName?: string } | undefined)?.nodeName;
    if (nodeName) this.podNode.set(`${pod.metadata.namespace}/${pod.metadata.name}`, nodeName);
  }

  /** Puts every node's taints, schedulability and annotations back as seeded (straight to the store, not counted). */
  resetNodes(): void {
    for (const [name, pristine] of this.pristine) {
      const current = this.world.kube.get("nodes", undefined, name);
      if (!current) continue;
      const spec = { ...(current["spec"] as Record<string, unknown>) };
      const original = pristine["spec"] as { taints?: unknown; unschedulable?: unknown };
      if (original.taints === undefined) delete spec["taints"];
      else spec["taints"] = original.taints;
      if (original.unschedulable === undefined) delete spec["unschedulable"];
      else spec["unschedulable"] = original.unschedulable;
      if (JSON.stringify(spec) === JSON.stringify(current["spec"]) && JSON.stringify(current.metadata.annotations) === JSON.stringify(pristine.metadata.annotations)) continue;
      this.world.kube.registry.update(NODES, undefined, name, { ...current, metadata: { ...current.metadata, annotations: pristine.metadata.annotations ?? {} }, spec });
    }
  }

  /** Starts a run: clean nodes, empty request log, and marks in every recorded history. */
  startRun(): RunMark {
    this.resetNodes();
    this.world.kube.stats.reset();
    for (const event of this.world.kube.list("events")) this.seenEvents.add(event.metadata.uid ?? "");
    const { aws, recorder } = this.world;
    return {
      autoscaling: aws.autoscaling.calls().length,
      sns: aws.notifications().length,
      sqs: aws.sqs.commandCalls(SendMessageCommand).length,
      scheduler: aws.scheduler.commandCalls(CreateScheduleCommand).length,
      lines: recorder.lines.length,
    };
  }

  /**
   * Instance ids named by a message that parses as valid, in a field that designates the affected
   * instance. The parser's answer must agree with the message itself: an id the parser took from
   * anywhere else (resources, free text) names nothing.
   */
  named(messages: { decoded: unknown; parse: () => ParsedMessage }[]): Set<string> {
    const ids = new Set<string>();
    for (const message of messages) {
      let parsed: ParsedMessage;
      try {
        parsed = message.parse();
      } catch {
        continue;
      }
      const designated = new Set(designatedInstanceIds(message.decoded));
      const parsedIds = parsed.type === "follow-up" ? [parsed.followUp.event.instanceId] : parsed.events.map((e) => e.instanceId);
      for (const id of parsedIds) if (designated.has(id)) ids.add(id);
    }
    return ids;
  }

  /** Named and ours: the only instances whose nodes may be touched. */
  allowed(named: Set<string>): { ids: Set<string>; nodes: Set<string> } {
    const ids = new Set([...named].filter((id) => this.ours.has(id)));
    const nodes = new Set([...ids].flatMap((id) => {
      const node = this.nodeOfInstance.get(id);
      return node ? [node] : [];
    }));
    return { ids, nodes };
  }

  /** Every action since `mark` that concerns something other than the allowed instances, their nodes and their pods. */
  wrongTargets(mark: RunMark, named: Set<string>): string[] {
    const { ids, nodes } = this.allowed(named);
    const problems: string[] = [];
    const podAllowed = (key: string) => {
      const node = this.podNode.get(key);
      return node !== undefined && nodes.has(node);
    };
    // Kubernetes: every write request, whatever its answer
    for (const request of this.world.kube.stats.log) {
      if (!WRITE_VERBS.has(request.verb ?? "")) continue;
      const segments = new URL(request.path, "http://kube-local").pathname.split("/").map(decodeURIComponent);
      const what = `${request.verb} ${request.path} -> ${request.status}`;
      if (request.resource === "nodes" || request.resource?.startsWith("nodes/")) {
        if (request.verb !== "patch" && request.verb !== "update") problems.push(`unexpected node write: ${what}`);
        else if (!nodes.has(segments[4] ?? "")) problems.push(`node write outside ${[...nodes].join(", ") || "(none)"}: ${what}`);
      } else if ((request.resource === "pods/eviction" && request.verb === "create") || (request.resource === "pods" && request.verb === "delete")) {
        const key = `${segments[4]}/${segments[6]}`;
        if (!podAllowed(key)) problems.push(`pod write on node ${this.podNode.get(key) ?? "(unknown)"}: ${what}`);
      } else if (request.resource === "events" && request.verb === "create") {
        // checked below, by what each event is about
      } else {
        problems.push(`unexpected write: ${what}`);
      }
    }
    // Kubernetes Events written by spot-manager
    for (const event of this.world.kube.list("events")) {
      const uid = event.metadata.uid ?? "";
      if (this.seenEvents.has(uid)) continue;
      this.seenEvents.add(uid);
      if ((event["source"] as { component?: string } | undefined)?.component !== "spot-manager") continue;
      const about = event["involvedObject"] as { kind?: string; name?: string; namespace?: string };
      const ok = about.kind === "Node" ? nodes.has(about.name ?? "") : about.kind === "Pod" && podAllowed(`${about.namespace}/${about.name}`);
      if (!ok) problems.push(`event ${String(event["reason"])} about ${about.kind} ${about.namespace ?? ""}/${about.name}`);
    }
    // AWS: lifecycle actions, notifications, follow-ups
    const { aws } = this.world;
    for (const call of aws.autoscaling.calls().slice(mark.autoscaling)) {
      const command = call.args[0];
      if (command instanceof CompleteLifecycleActionCommand || command instanceof RecordLifecycleActionHeartbeatCommand) {
        const instanceId = command.input.InstanceId ?? "";
        if (!ids.has(instanceId)) problems.push(`${command.constructor.name} for ${instanceId}`);
      }
    }
    for (const notification of aws.notifications().slice(mark.sns)) {
      const instanceId = String(notification["instanceId"]);
      const node = notification["node"];
      if (!ids.has(instanceId) || (node !== undefined && !nodes.has(String(node)))) problems.push(`notification about ${instanceId} (node ${String(node)})`);
    }
    const followUps = [
      ...aws.sqs.commandCalls(SendMessageCommand).slice(mark.sqs).map((c) => c.args[0].input.MessageBody),
      ...aws.scheduler.commandCalls(CreateScheduleCommand).slice(mark.scheduler).map((c) => c.args[0].input.Target?.Input),
    ];
    for (const body of followUps) {
      // re-queueing a follow-up touches no node; it must still be about an instance the batch named
      const instanceId = (JSON.parse(body ?? "{}") as { detail?: { event?: { instanceId?: string } } }).detail?.event?.instanceId ?? "";
      if (!named.has(instanceId)) problems.push(`follow-up queued for ${instanceId}`);
    }
    return problems;
  }

  /** Why records were left for retry since `mark`, for failure messages. */
  retryLines(mark: RunMark): string[] {
    return this.world.recorder.lines
      .slice(mark.lines)
      .filter((l) => l.message === "action left for retry")
      .map((l) => `${String(l.extra["instanceId"])} ${String(l.extra["kind"])}: ${String(l.extra["errorName"])}: ${String(l.extra["error"])}`);
  }

  async stop(): Promise<void> {
    this.unsubscribe();
    await this.world.stop();
  }
}

/**
 * Checks a property for `numRuns` runs or `seconds`, whichever ends first: on a slow machine a
 * property passes with fewer runs; a failure found in time is shrunk until the time is spent.
 * fast-check abandons the run in flight when the time is up, so this waits for it: a run must
 * never keep acting on the world while the next property runs.
 */
async function check<T>(arbitrary: fc.Arbitrary<T>, predicate: (value: T) => Promise<void>, options: { numRuns: number; seconds: number; examples?: [T][] }): Promise<void> {
  let inFlight: Promise<unknown> = Promise.resolve();
  const tracked = (value: T) => {
    const run = predicate(value);
    inFlight = run.catch(() => undefined);
    return run;
  };
  try {
    await fc.assert(fc.asyncProperty(arbitrary, tracked), {
      numRuns: options.numRuns,
      interruptAfterTimeLimit: options.seconds * 1000,
      ...(options.examples ? { examples: options.examples } : {}),
    });
  } finally {
    await inFlight;
  }
}

/** The test timeout for a property checked for `seconds`: the run in flight may still finish. */
const timeoutFor = (seconds: number) => ({ timeout: (seconds + 20) * 1000 });

const sqsMessages = (bodies: string[]) =>
  bodies.map((body) => ({
    decoded: (() => {
      try {
        return JSON.parse(body) as unknown;
      } catch {
        return undefined;
      }
    })(),
    parse: () => parseMessageBody(body),
  }));

const failuresOf = (response: unknown): string[] => {
  expect(response).toEqual({ batchItemFailures: expect.any(Array) });
  return (response as SQSBatchResponse).batchItemFailures.map((f) => f.itemIdentifier);
};

/** For a counterexample that is readable: bodies cut to their first characters. */
const preview = (bodies: string[]) => bodies.map((b) => (b.length > 400 ? `${b.slice(0, 400)}... (${b.length} chars)` : b));

describe("interruption handler properties: SQS batches", () => {
  let w: PropertyWorld;
  beforeAll(async () => {
    w = await PropertyWorld.create(NO_DRAINS);
  });
  afterAll(async () => {
    await w.stop();
  });

  it("never crashes the batch: malformed, foreign and unknown records are acknowledged, none is returned to the queue", timeoutFor(8), async () => {
    const property = async (bodies: string[]) => {
      // Prepare
      const mark = w.startRun();
      const event = w.world.sqs(...bodies);
      const messageIds = event.Records.map((r) => r.messageId);
      // Act
      const response = await w.world.invoke(event);
      // Assess
      const failures = failuresOf(response);
      expect(failures.filter((id) => !messageIds.includes(id)), "failure ids that are not in the batch").toEqual([]);
      expect(failures, `records returned to the queue; retry reasons: ${JSON.stringify(w.retryLines(mark))}; bodies: ${JSON.stringify(preview(bodies))}`).toEqual([]);
    };
    await check(batchArb(w.pool, { garbage: 4 }), property, { numRuns: 150, seconds: 8 });
  });

  it("valid signals only, several about one instance (as a spot warning, its rebalance recommendation and state changes arrive): every record is acknowledged", timeoutFor(10), async () => {
    const recordArb = fc.record({
      base: fc.constantFrom<BaseName>(...SIGNAL_FIXTURES, "directLifecycle", "followUpRemoveTaint", "followUpLaunchReady"),
      target: fc.nat(),
      eventId: fc.option(fc.uuid(), { nil: undefined }),
    });
    // one or two instances per batch, so records about the same node meet in one batch
    const batch = fc.tuple(fc.subarray([...new Set(w.pool.known)], { minLength: 1, maxLength: 2 }), fc.array(recordArb, { minLength: 1, maxLength: 10 })).map(([targets, records]) =>
      records.map(({ base: name, target, eventId }) => {
        const message = retarget(base(name), targets[target % targets.length] as string);
        if (eventId !== undefined && "id" in message) message["id"] = eventId;
        return JSON.stringify(message);
      }),
    );
    const property = async (bodies: string[]) => {
      // Prepare
      const mark = w.startRun();
      // Act
      const response = await w.world.invoke(w.world.sqs(...bodies));
      // Assess
      expect(failuresOf(response), `records returned to the queue; retry reasons: ${JSON.stringify(w.retryLines(mark))}; bodies: ${JSON.stringify(preview(bodies))}`).toEqual([]);
    };
    await check(batch, property, { numRuns: 100, seconds: 10 });
  });

  it("never acts on the wrong node: writes concern only nodes (and their pods) of instances a valid record names and the cluster owns", timeoutFor(8), async () => {
    const property = async (bodies: string[]) => {
      // Prepare
      const mark = w.startRun();
      const event = w.world.sqs(...bodies);
      const messageIds = event.Records.map((r) => r.messageId);
      // Act
      const response = await w.world.invoke(event);
      // Assess
      expect(failuresOf(response).filter((id) => !messageIds.includes(id))).toEqual([]);
      const named = w.named(sqsMessages(bodies));
      expect(w.wrongTargets(mark, named), `named: ${[...named].join(", ")}; bodies: ${JSON.stringify(preview(bodies))}`).toEqual([]);
    };
    // found earlier: a launch action for an instance EC2 never knew, its wait long over; a
    // continuation whose hook name Auto Scaling would refuse
    const launchLongAgo = { ...retarget(base("asgLaunch"), "i-0b0b0b0b0b0b0b032"), time: "0000-01-01T00:00:00Z" };
    const ours = [...w.nodeOfInstance.keys()].find((id) => w.ours.has(id)) as string;
    const continuation = retarget(base("followUpLaunchReady"), ours);
    const badHook = JSON.parse(JSON.stringify(continuation).replace(/"hookName":"[^"]*"/, '"hookName":"Tue, 28 May 2024 09:00:00 GMT"')) as Json;
    expect(JSON.stringify(badHook)).toContain('"hookName":"Tue, 28 May 2024 09:00:00 GMT"');
    await check(batchArb(w.pool, { garbage: 1, maxMutations: 2 }), property, { numRuns: 150, seconds: 8, examples: [[[JSON.stringify(launchLongAgo)]], [[JSON.stringify(badHook)]]] });
  });

  it("acts at all: the oracle is not vacuous (valid samples for the demo instances do write to their nodes)", async () => {
    const mark = w.startRun();
    const demo = [...w.nodeOfInstance.keys()].filter((id) => w.ours.has(id));
    const signals = ["spotInterruption", "rebalance", "asgTerminate", "stateStopping", "healthScheduledChange"] as const;
    const bodies = signals.map((name, i) => JSON.stringify(retarget(base(name), demo[i % demo.length] as string)));
    const response = await w.world.invoke(w.world.sqs(...bodies));
    expect(response).toEqual({ batchItemFailures: [] });
    const nodeWrites = w.world.kube.stats.log.filter((r) => r.verb === "patch" && r.resource === "nodes");
    expect(nodeWrites.length).toBeGreaterThan(0);
    expect(w.wrongTargets(mark, w.named(sqsMessages(bodies)))).toEqual([]);
    // and the oracle does see a wrong node: the same writes, with nothing named
    expect(w.wrongTargets(mark, new Set())).not.toEqual([]);
  });
});

describe("interruption handler properties: direct (EventBridge) invocation", () => {
  let w: PropertyWorld;
  beforeAll(async () => {
    w = await PropertyWorld.create(NO_DRAINS);
  });
  afterAll(async () => {
    await w.stop();
  });

  const isObject = (value: Json): value is { [key: string]: Json } => typeof value === "object" && value !== null && !Array.isArray(value);

  /** Invokes directly; checks the outcome and that nothing but named nodes of the cluster was touched. */
  const invokeDirect = async (event: Json) => {
    // Prepare
    const mark = w.startRun();
    // Act
    let result: unknown;
    let thrown: unknown;
    try {
      result = await w.world.invoke(event);
    } catch (error) {
      thrown = error;
    }
    // Assess
    const shown = JSON.stringify(event)?.slice(0, 400);
    const named = w.named([{ decoded: event, parse: () => parseMessage(event) }]);
    if (thrown !== undefined) {
      expect(thrown, `thrown for ${shown}: ${String(thrown)}`).toBeInstanceOf(RetryError);
    } else if (Array.isArray((result as { batchItemFailures?: unknown }).batchItemFailures)) {
      // `Records: [...]` of SQS records makes any object a (here empty) batch
      expect(result).toEqual({ batchItemFailures: [] });
    } else {
      expect(result).toEqual({ reports: expect.any(Array) });
      const { nodes } = w.allowed(named);
      for (const report of (result as { reports: ActionReport[] }).reports) {
        expect(report.instanceId === "" || named.has(report.instanceId), `report about ${report.instanceId} for ${shown}`).toBe(true);
        if (report.node !== undefined) expect(nodes.has(report.node), `report on node ${report.node} for ${shown}`).toBe(true);
      }
    }
    expect(w.wrongTargets(mark, named), `named: ${[...named].join(", ")}; event: ${shown}`).toEqual([]);
  };

  it("mutated events: returns reports or throws only a retryable error, and never acts on the wrong node", timeoutFor(6), async () => {
    const eventArb = fc.oneof(
      { weight: 4, arbitrary: messageArb(w.pool, { pristine: 2, maxMutations: 3 }) },
      { weight: 1, arbitrary: fc.tuple(messageArb(w.pool, { maxMutations: 1 }), fc.boolean()).map(([m, dryRun]): Json => (isObject(m) ? { ...m, drill: { dryRun } } : m)) },
    );
    // payloads that are not objects at all are the next property's business
    await check(eventArb.filter(isObject), invokeDirect, { numRuns: 150, seconds: 6 });
  });

  it("payloads that are not an object (null, numbers, strings, arrays): acknowledged as malformed, never a TypeError", timeoutFor(3), async () => {
    const payloadArb = fc.oneof(
      fc.constantFrom<Json>(null, 0, -1, true, false, "", "{}", "null", [], [{}], [null]),
      fc.jsonValue({ maxDepth: 2 }).filter((v) => !isObject(v as Json)) as fc.Arbitrary<Json>,
      fc.tuple(messageArb(w.pool, { maxMutations: 0 }), mutationArb(w.pool)).map(([m, mutation]) => mutate(m, { ...mutation, pick: 0 })).filter((v) => !isObject(v)),
    );
    // these payloads are always tried first; `null` (a drill invoked with an empty payload) last, so the others count too
    await check(payloadArb, invokeDirect, { numRuns: 40, seconds: 3, examples: [[[]], [0], [""], ["{}"], [null]] });
  });
});

describe("interruption handler properties: with drains", () => {
  let w: PropertyWorld;
  beforeAll(async () => {
    // the default policy drains; 12 s left for the Lambda bound every drain to about two seconds
    w = await PropertyWorld.create({});
  });
  afterAll(async () => {
    await w.stop();
  });

  it("evicts only pods of named nodes of the cluster, and returns only records of such instances to the queue", timeoutFor(15), async () => {
    const bodies = batchArb(w.pool, {
      garbage: 1,
      maxMutations: 1,
      maxRecords: 4,
      bases: ["spotInterruption", "asgTerminate", "stateStopping", "stateShuttingDown", "healthScheduledChange", "followUpMaintenance", "rebalance", "directLifecycle"],
    });
    const property = async (batch: string[]) => {
      // Prepare
      const mark = w.startRun();
      const event = w.world.sqs(...batch);
      // Act
      const response = await w.world.invoke(event, 12_000);
      // Assess
      const failures = failuresOf(response);
      expect(failures.filter((id) => !event.Records.some((r) => r.messageId === id))).toEqual([]);
      const messages = sqsMessages(batch);
      event.Records.forEach((record, i) => {
        if (!failures.includes(record.messageId)) return;
        // unfinished drains come back; a record that names no instance of ours never does
        const own = w.allowed(w.named(messages.slice(i, i + 1))).ids;
        expect(own.size, `record ${i} returned to the queue: ${preview(batch)[i]}; reasons: ${JSON.stringify(w.retryLines(mark))}`).toBeGreaterThan(0);
      });
      const named = w.named(messages);
      expect(w.wrongTargets(mark, named), `named: ${[...named].join(", ")}; bodies: ${JSON.stringify(preview(batch))}`).toEqual([]);
    };
    await check(bodies, property, { numRuns: 15, seconds: 15 });
  });
});
