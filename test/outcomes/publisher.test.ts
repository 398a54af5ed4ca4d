/**
 * PutEvents within its limits, against the faked EventBridge (every request held to AWS's API
 * model): 10 entries and 256 KB per call, an entry's size counted as EventBridge counts it, an
 * oversized detail cut down to fit (and saying so), retryable entry failures sent again a bounded
 * number of times, the others reported; and every outcome event valid against its JSON Schema.
 */
import { readdirSync } from "node:fs";
import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import {
  buildOutcomeEvent,
  capacityFallbackEvent,
  entrySize,
  EventBridgeOutcomes,
  MAX_ENTRY_BYTES,
  OUTCOME_DETAIL_TYPES,
  parseBuildStateChange,
  parsePolicy,
  Recorder,
  withFallbackOutcomes,
  type InterruptionEvent,
  type OutcomeEvent,
  type PipelineDeps,
} from "@spot-manager/core";
import { afterEach, describe, expect, it } from "vitest";
import { Action } from "../../packages/core/src/pipeline/action";
import { ActionRunner } from "../../packages/core/src/pipeline/runner";
import { AwsWorld } from "../../packages/cli/src/simulate/aws-world";
import { fixture } from "../fixtures";
import { outcomeEvents, SCHEMA_DIR, schemaErrors, schemaFileOf, schemaTitles } from "./schemas";

let aws: AwsWorld | undefined;
afterEach(() => {
  aws?.restore();
  aws = undefined;
});

function publisher(world: AwsWorld, recorder = new Recorder(), eventBus = "default") {
  return new EventBridgeOutcomes(world.clients.eventbridge, { eventBus, log: recorder, metrics: recorder, now: () => Date.parse("2024-05-14T18:22:00Z"), sleep: async () => undefined, random: () => 0.5 });
}

const WARNING: InterruptionEvent = {
  kind: "spot-interruption",
  eventId: "3f4c2e8a-9d1b-4b6e-8f0a-2c7d5e1b9a34",
  instanceId: "i-1234567890abcdef0",
  time: new Date("2024-05-14T18:21:07Z"),
  deadline: new Date("2024-05-14T18:23:07Z"),
  region: "us-west-2",
  account: "123456789012",
  source: "aws.ec2",
  detailType: "EC2 Spot Instance Interruption Warning",
  spotAction: "terminate",
};

/** A Drain Finished of a node that kept `pods` pods, each with a long reason. */
function drainLeaving(pods: number): OutcomeEvent {
  const why = `eviction refused: ${"admission webhook said no. ".repeat(20)}`;
  return {
    detailType: OUTCOME_DETAIL_TYPES.drainFinished,
    detail: {
      cluster: "demo",
      instanceId: WARNING.instanceId,
      node: "ip-10-0-1-23.us-west-2.compute.internal",
      signal: { eventId: WARNING.eventId, kind: "spot-interruption", source: "aws.ec2", detailType: WARNING.detailType, time: "2024-05-14T18:21:07.000Z" },
      drill: false,
      complete: false,
      podsEvicted: 3,
      podsDeleted: 0,
      podsLeft: pods,
      left: Array.from({ length: pods }, (_, i) => ({ pod: `batch/worker-${String(i).padStart(5, "0")}`, reason: "eviction-refused", why })),
      evictionsBlockedByPdb: 0,
      deadline: "2024-05-14T18:23:07.000Z",
      deadlineMet: false,
      secondsLeft: -1.5,
      drainSeconds: 118.5,
      invocations: 1,
      finishedAt: "2024-05-14T18:23:08.500Z",
    },
  };
}

describe("the schemas", () => {
  it("one JSON Schema file per detail-type, and no other", () => {
    const detailTypes = Object.values(OUTCOME_DETAIL_TYPES).sort();
    expect(schemaTitles()).toEqual(detailTypes);
    expect(readdirSync(SCHEMA_DIR).sort()).toEqual(detailTypes.map(schemaFileOf).sort());
  });

  it("refuse what the contract does not allow", () => {
    const event = { version: "0", id: "e-1", "detail-type": "Node Protected", source: "spot-manager", account: "123456789012", time: "2024-05-14T18:21:08Z", region: "us-west-2", resources: [] };
    expect(schemaErrors({ ...event, detail: { cluster: "demo", instanceId: "i-1234567890abcdef0", node: "n", signal: {}, drill: "no", taint: null, cordoned: true } })).toEqual(
      expect.arrayContaining([expect.stringMatching(/\/detail\/drill must be boolean/), expect.stringMatching(/\/detail\/signal must have required property 'eventId'/)]),
    );
    expect(schemaErrors({ ...event, "detail-type": "Node Unprotected", detail: {} })).toEqual(['no schema for detail-type "Node Unprotected"']);
  });
});

describe("PutEvents within its limits", () => {
  it("counts an entry's size as EventBridge does", () => {
    expect(entrySize({ Time: new Date(), Source: "spot-manager", DetailType: "Drain Finished", Detail: '{"a":"é"}', Resources: ["arn:x"] })).toBe(14 + 12 + 14 + 10 + 5);
  });

  it("sends 23 events in calls of at most 10 entries, in order, and gives each its event id", async () => {
    aws = new AwsWorld();
    const events = Array.from({ length: 23 }, (_, i) => capacityFallbackEvent({ phase: "start", cluster: "demo", onDemandGroup: "base", spotGroups: ["spot"], extra: i, reason: "spot short", since: "2024-05-14T18:00:00.000Z", id: `demo/base/start/${i}`, at: "2024-05-14T18:00:00.000Z" }));
    const summary = await publisher(aws).publish(events);
    expect(aws.eventbridge.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries?.length)).toEqual([10, 10, 3]);
    expect(summary.failed).toEqual([]);
    expect(summary.published.map((p) => p.eventId)).toEqual(aws.eventsOnBus().map((e) => e["id"]));
    expect(outcomeEvents(aws).map((e) => (e["detail"] as { extra: number }).extra)).toEqual(events.map((_, i) => i));
  });

  it("keeps every call within 256 KB: large entries go in calls of their own", async () => {
    aws = new AwsWorld();
    await publisher(aws).publish([drainLeaving(250), drainLeaving(250), drainLeaving(1)]);
    const calls = aws.eventbridge.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries ?? []);
    expect(calls.map((entries) => entries.length)).toEqual([1, 2]);
    for (const entries of calls) expect(entries.reduce((sum, e) => sum + entrySize(e), 0)).toBeLessThanOrEqual(MAX_ENTRY_BYTES);
  });

  it("cuts the longest list of a detail over 256 KB until it fits, and says how long it was", async () => {
    aws = new AwsWorld();
    const recorder = new Recorder();
    const summary = await publisher(aws, recorder).publish([drainLeaving(1000)]);
    const [entry] = aws.eventbridge.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries ?? [];
    expect(entrySize(entry!)).toBeLessThanOrEqual(MAX_ENTRY_BYTES);
    expect(summary.published).toHaveLength(1);
    const [event] = outcomeEvents(aws);
    const detail = event!["detail"] as { podsLeft: number; left: unknown[]; truncated: Record<string, number> };
    expect(detail.podsLeft).toBe(1000);
    expect(detail.truncated).toEqual({ left: 1000 });
    expect(detail.left.length).toBeGreaterThan(100);
    expect(detail.left.length).toBeLessThan(1000);
    expect(recorder.lines.some((l) => l.message === "outcome event cut to fit EventBridge's 256 KB")).toBe(true);
  });

  it("an event that cannot fit is not sent; it is logged and counted as too large", async () => {
    aws = new AwsWorld();
    const recorder = new Recorder();
    const summary = await publisher(aws, recorder).publish([{ detailType: OUTCOME_DETAIL_TYPES.buildFinished, detail: { project: "p".repeat(300_000) } }]);
    expect(aws.eventbridge).not.toReceiveCommand(PutEventsCommand);
    expect(summary.failed).toEqual([{ detailType: "Build Finished", reason: "too-large", message: expect.stringMatching(/over \d+ bytes/) }]);
    expect(recorder.total("OutcomeEventsFailed", { reason: "too-large" })).toBe(1);
  });

  it("sends again only the entries that failed with a retryable code, at most three times in all", async () => {
    aws = new AwsWorld();
    const recorder = new Recorder();
    const events = ["a", "b", "c"].map((id) => capacityFallbackEvent({ phase: "end", cluster: "demo", onDemandGroup: `od-${id}`, spotGroups: ["spot"], extra: 0, reason: "healthy", since: "2024-05-14T18:00:00.000Z", id, at: "2024-05-14T19:00:00.000Z" }));
    const group = (entry: { Detail?: string }) => (JSON.parse(entry.Detail ?? "{}") as { onDemandGroup: string }).onDemandGroup;
    // a: accepted at once; b: throttled, then accepted; c: fails internally every time
    const first: Record<string, string | undefined> = { "od-a": undefined, "od-b": "ThrottlingException", "od-c": "InternalFailure" };
    aws.failPutEvents((e) => first[group(e)]);
    aws.failPutEvents((e) => (group(e) === "od-c" ? "InternalFailure" : undefined));
    aws.failPutEvents(() => "InternalFailure");
    const summary = await publisher(aws, recorder).publish(events);
    expect(aws.eventbridge.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries?.length)).toEqual([3, 2, 1]);
    expect(outcomeEvents(aws).map((e) => (e["detail"] as { onDemandGroup: string }).onDemandGroup)).toEqual(["od-a", "od-b"]);
    expect(summary.failed).toEqual([{ detailType: "Capacity Fallback Ended", reason: "InternalFailure", message: "InternalFailure (faked)" }]);
    expect(recorder.total("OutcomeEventsPublished")).toBe(2);
    expect(recorder.total("OutcomeEventsFailed", { reason: "InternalFailure" })).toBe(1);
  });

  it("does not send again an entry refused for good", async () => {
    aws = new AwsWorld();
    aws.failPutEvents(() => "NotAuthorizedForSourceException");
    const summary = await publisher(aws).publish([capacityFallbackEvent({ phase: "end", cluster: "demo", onDemandGroup: "od", spotGroups: ["spot"], extra: 0, reason: "healthy", since: "2024-05-14T18:00:00.000Z", id: "x", at: "2024-05-14T19:00:00.000Z" })]);
    expect(aws.eventbridge).toReceiveCommandTimes(PutEventsCommand, 1);
    expect(summary.failed.map((f) => f.reason)).toEqual(["NotAuthorizedForSourceException"]);
  });
});

describe("the outcome events the pipeline, the capacity manager and the delivery pipeline build", () => {
  it("Replacement Requested: published by the runner for the event, once it went through; nothing in a dry run", async () => {
    aws = new AwsWorld();
    const recorder = new Recorder();
    const kube = { gateway: { requests: 0 }, within: () => kube } as unknown as PipelineDeps["kube"];
    const deps = (dryRun: boolean) =>
      ({ clusterName: "demo", policy: { ...parsePolicy({}), dryRun }, kube, log: recorder, metrics: recorder, now: () => Date.parse("2024-05-14T18:21:08Z"), outcomes: publisher(aws!, recorder) }) as unknown as PipelineDeps;
    const request = { replacementGroup: "spot-general", autoScalingGroup: "eks-spot-general-4ec7c7f6", mechanism: "raise-desired", fallback: false, desiredBefore: 3, desiredAfter: 4, reason: "raise spot-general desired 3 -> 4 at the rebalance recommendation", requestedAt: "2024-05-14T18:21:08.000Z" } as const;
    for (const dryRun of [true, false]) {
      const runner = new ActionRunner(deps(dryRun));
      const action = new Action(runner.deps, WARNING, { deadline: Date.parse("2024-05-14T18:36:08Z") }, WARNING.kind);
      action.group = "spot-general";
      await runner.replacementRequested(action, request);
    }
    const [event] = outcomeEvents(aws);
    expect(outcomeEvents(aws)).toHaveLength(1);
    expect(event).toMatchObject({ "detail-type": "Replacement Requested", resources: ["arn:aws:ec2:us-west-2:123456789012:instance/i-1234567890abcdef0"] });
    expect(event!["detail"]).toEqual({ cluster: "demo", instanceId: WARNING.instanceId, group: "spot-general", signal: expect.objectContaining({ eventId: WARNING.eventId, kind: "spot-interruption" }), drill: false, ...request });
  });

  it("Capacity Fallback Started and Ended: published after the notification was accepted, never when it was refused", async () => {
    aws = new AwsWorld();
    const accepted: string[] = [];
    const notifier = withFallbackOutcomes(
      {
        publish: async (n) => {
          if (n.id === "refused") throw new Error("SNS said no");
          accepted.push(n.id);
        },
      },
      publisher(aws),
    );
    const base = { cluster: "demo", onDemandGroup: "base-on-demand", spotGroups: ["spot-general"], since: "2024-05-14T18:00:00.000Z", at: "2024-05-14T18:10:00.000Z" };
    await notifier.publish({ ...base, phase: "start", extra: 2, reason: "spot short by 2 for 10 min", id: "demo/base-on-demand/start/2024-05-14T18:00:00.000Z" });
    await expect(notifier.publish({ ...base, phase: "end", extra: 0, reason: "healthy", id: "refused" })).rejects.toThrowError(/SNS said no/);
    await notifier.publish({ ...base, phase: "end", extra: 0, reason: "spot healthy for 30 min", id: "demo/base-on-demand/end/2024-05-14T18:00:00.000Z" });
    expect(outcomeEvents(aws).map((e) => [e["detail-type"], (e["detail"] as { id: string }).id])).toEqual([
      ["Capacity Fallback Started", "demo/base-on-demand/start/2024-05-14T18:00:00.000Z"],
      ["Capacity Fallback Ended", "demo/base-on-demand/end/2024-05-14T18:00:00.000Z"],
    ]);
  });

  it("Build Started and Build Finished from CodeBuild's state changes", async () => {
    aws = new AwsWorld();
    const finished = parseBuildStateChange(fixture("codebuildStateChange"));
    const inProgress = fixture("codebuildStateChange");
    inProgress["detail"] = { ...(inProgress["detail"] as Record<string, unknown>), "build-status": "IN_PROGRESS", "additional-information": { "build-complete": false, phases: [] } };
    const started = parseBuildStateChange(inProgress);
    await publisher(aws).publish([buildOutcomeEvent(started), buildOutcomeEvent(finished)]);
    const events = outcomeEvents(aws);
    expect(events.map((e) => e["detail-type"])).toEqual(["Build Started", "Build Finished"]);
    expect(events[1]!["detail"]).toMatchObject({ project: finished.project, buildId: finished.buildId, status: finished.status, succeeded: finished.status === "SUCCEEDED", refused: false });
    expect(events[1]!["resources"]).toEqual([finished.buildId]);
  });
});
