/**
 * Capacity Fallback Started and Ended: run after run of the capacity manager (its real run, a
 * state held in memory, AWS's EventBridge faked), each transition is published when its
 * notification is — once, or again with the same id only when the announcement could not be
 * recorded — and a bus that refuses changes nothing about the run.
 */
import { EKSClient } from "@aws-sdk/client-eks";
import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { SNSClient } from "@aws-sdk/client-sns";
import {
  CAPACITY_TAGS,
  EventBridgeOutcomes,
  parseCapacityPolicy,
  Recorder,
  runCapacity,
  withFallbackOutcomes,
  type CapacityNotifier,
  type CapacityWriter,
  type FallbackNotification,
  type ObservedState,
} from "@spot-manager/core";
import { afterEach, describe, expect, it } from "vitest";
import { readCapacityConfig } from "../../functions/lib/capacity-env";
import { createCapacityRuntime } from "../../functions/lib/capacity-runtime";
import { AwsWorld } from "../../packages/cli/src/simulate/aws-world";
import { observed } from "../capacity/planner-world";
import { outcomeEvents } from "./schemas";

let aws: AwsWorld | undefined;
afterEach(() => {
  aws?.restore();
  aws = undefined;
});

const POLICY = parseCapacityPolicy({
  groups: {
    "base-on-demand": { type: "managed-node-group", capacityType: "on-demand", default: { min: 1, max: 6 } },
    "spot-general": { type: "managed-node-group", capacityType: "spot", default: { min: 0, max: 10 } },
  },
  fallbacks: [{ onDemandGroup: "base-on-demand", spotGroups: ["spot-general"], maxExtra: 4, healthyMinutes: 30, stepDown: 4, stepDownEveryMinutes: 10 }],
});
const START = Date.parse("2024-05-14T09:30:00Z");
const minutes = (n: number) => START + n * 60_000;

type ActionOutcome = Awaited<ReturnType<CapacityWriter["applyGroup"]>>[number];

/** The groups as AWS holds them; the writer changes them as AWS would, except for calls told to fail. */
function capacityWorld(spotShort: () => boolean) {
  let state: ObservedState = {
    groups: {
      "base-on-demand": observed({ min: 1, max: 6, desired: 1 }),
      "spot-general": observed({ min: 0, max: 10, desired: 4 }),
    },
  };
  const failTags = new Set<string>();
  const writer: CapacityWriter = {
    applyGroup: async (_plan, _observed, actions) => {
      const outcomes: ActionOutcome[] = [];
      for (const action of actions) {
        const announcing = action.kind === "tags" && CAPACITY_TAGS.announced in action.to;
        if (announcing && failTags.delete("announced")) {
          outcomes.push({ action, status: "failed", calls: [], error: "TooManyRequestsException" });
          continue;
        }
        const group = state.groups[action.group]!;
        if (action.kind === "tags") {
          for (const key of Object.keys(action.from)) if (!(key in action.to)) delete group.tags[key];
          Object.assign(group.tags, action.to);
        } else group[action.kind] = action.to;
        outcomes.push({ action, status: "applied", calls: [] });
      }
      return outcomes;
    },
  };
  const source = {
    observe: async (_policy: unknown, now: number): Promise<ObservedState> => {
      const spot = state.groups["spot-general"]!;
      spot.inService = spotShort() ? 1 : spot.desired;
      spot.activities = spotShort() ? [{ start: new Date(now - 60_000), status: "Failed", message: "Could not launch Spot Instances. InsufficientInstanceCapacity" }] : [];
      state = structuredClone(state);
      return structuredClone(state);
    },
  };
  return { source, writer, failAnnouncement: () => failTags.add("announced") };
}

describe("capacity fallback outcome events", () => {
  it("a start and its end, each published once, beside the notifications; a transition whose mark could not be written is published again with the same id", async () => {
    // Prepare
    aws = new AwsWorld();
    let short = true;
    const world = capacityWorld(() => short);
    const recorder = new Recorder();
    const notifications: FallbackNotification[] = [];
    const sns: CapacityNotifier = { publish: async (n) => void notifications.push(n) };
    let now = minutes(0);
    const outcomes = new EventBridgeOutcomes(aws.clients.eventbridge, { eventBus: "default", log: recorder, metrics: recorder, now: () => now });
    const deps = { source: world.source, writer: world.writer, notifier: withFallbackOutcomes(sns, outcomes), log: recorder, metrics: recorder, now: () => now };
    const run = () => runCapacity(deps, POLICY, { clusterName: "demo", dryRun: false });
    // Act: spot fails to launch (start; the mark is refused once), stays short, then is healthy long enough (end)
    world.failAnnouncement();
    const first = await run();
    now = minutes(2);
    const second = await run();
    now = minutes(4);
    const third = await run();
    short = false;
    for (const at of [10, 40, 42]) {
      now = minutes(at);
      await run();
    }
    // Assess
    expect(first.transitions.map((t) => t.status)).toEqual(["record-failed"]);
    expect(second.transitions.map((t) => t.status)).toEqual(["published"]);
    expect(third.transitions).toEqual([]);
    const events = outcomeEvents(aws);
    expect(events.map((e) => [e["detail-type"], (e["detail"] as { id: string }).id])).toEqual([
      ["Capacity Fallback Started", "demo/base-on-demand/start/2024-05-14T09:30:00.000Z"],
      ["Capacity Fallback Started", "demo/base-on-demand/start/2024-05-14T09:30:00.000Z"],
      ["Capacity Fallback Ended", "demo/base-on-demand/end/2024-05-14T09:30:00.000Z"],
    ]);
    expect(events.map((e) => e["detail"])).toEqual(notifications.map(({ phase: _phase, at: _at, ...detail }) => detail));
    expect(events[0]!["detail"]).toMatchObject({ onDemandGroup: "base-on-demand", spotGroups: ["spot-general"], extra: expect.any(Number), reason: expect.stringContaining("InsufficientInstanceCapacity") });
  });

  it("a dry run publishes nothing; a bus that refuses leaves the run and its announcement as they were", async () => {
    aws = new AwsWorld();
    const world = capacityWorld(() => true);
    const recorder = new Recorder();
    const outcomes = new EventBridgeOutcomes(aws.clients.eventbridge, { eventBus: "default", log: recorder, metrics: recorder, sleep: async () => undefined });
    const deps = { source: world.source, writer: world.writer, notifier: withFallbackOutcomes({ publish: async () => undefined }, outcomes), log: recorder, metrics: recorder, now: () => START };
    const dry = await runCapacity(deps, POLICY, { clusterName: "demo", dryRun: true });
    expect(dry.transitions.map((t) => t.status)).toEqual(["dry-run"]);
    expect(aws.eventsOnBus()).toEqual([]);
    aws.failPutEvents(() => "AccessDeniedException");
    const real = await runCapacity(deps, POLICY, { clusterName: "demo", dryRun: false });
    expect(real.transitions.map((t) => t.status)).toEqual(["published"]);
    expect(real.failures).toEqual([]);
    expect(recorder.total("OutcomeEventsFailed", { reason: "AccessDeniedException" })).toBe(1);
  });

  it("the capacity function publishes them to the bus OUTCOME_EVENT_BUS names", async () => {
    aws = new AwsWorld();
    const env = { CLUSTER_NAME: "demo", AWS_REGION: "us-west-2", CAPACITY_POLICY: JSON.stringify({ groups: {} }), OUTCOME_EVENT_BUS: "platform-events" };
    expect(() => readCapacityConfig({ ...env, OUTCOME_EVENT_BUS: "arn:aws:sns:us-west-2:123456789012:topic" })).toThrowError(/OUTCOME_EVENT_BUS: must be an event bus name or ARN/);
    const config = readCapacityConfig(env);
    const recorder = new Recorder();
    const clients = { eks: new EKSClient({}), autoscaling: new AutoScalingClient({}), cloudwatch: new CloudWatchClient({}), sns: new SNSClient({}), eventbridge: aws.clients.eventbridge };
    const runtime = createCapacityRuntime({ config, clients, log: recorder, metrics: recorder, now: () => START });
    await runtime.deps.notifier.publish({ phase: "start", cluster: "demo", onDemandGroup: "od", spotGroups: ["spot"], extra: 1, reason: "spot short", since: "2024-05-14T09:30:00.000Z", id: "demo/od/start/2024-05-14T09:30:00.000Z", at: "2024-05-14T09:30:00.000Z" });
    expect(outcomeEvents(aws, "platform-events").map((e) => e["detail-type"])).toEqual(["Capacity Fallback Started"]);
  });
});
