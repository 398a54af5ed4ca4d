import { describe, expect, it } from "vitest";
import { CAPACITY_TAGS } from "../src/capacity/constants";
import { planCapacity, type CapacityPlan } from "../src/capacity/planner";
import { parseCapacityPolicy, type CapacityPolicyInput } from "../src/capacity/policy";
import type { ObservedState, ScalingActivity } from "../src/capacity/state";
import { applyPlan, minutes, observed } from "../../../test/capacity/planner-world";

const RULE = {
  onDemandGroup: "on-demand",
  spotGroups: ["spot"],
  maxExtra: 4,
  shortfallMinutes: 10,
  healthyMinutes: 30,
  stepDown: 1,
  stepDownEveryMinutes: 10,
  interruptions: { enabled: true, threshold: 3, windowMinutes: 30 },
  capacityFailures: { windowMinutes: 15 },
};

function policyWith(rule: Partial<typeof RULE> = {}) {
  return parseCapacityPolicy({
    groups: {
      "on-demand": { type: "managed-node-group", capacityType: "on-demand", default: { min: 1, max: 4 } },
      spot: { type: "managed-node-group", capacityType: "spot", default: { min: 0, max: 10 } },
    },
    fallbacks: [{ ...RULE, ...rule }],
  } satisfies CapacityPolicyInput);
}

/** What spot looks like at a tick. */
interface SpotWeather {
  desired: number;
  inService: number;
  activities?: ScalingActivity[];
  interruptions?: number;
}

const START = Date.parse("2024-05-14T09:00:00Z");

/** Runs the planner every `step` minutes, applying each plan, with spot as `weather` says; returns the plan of each tick. */
function run(policy: ReturnType<typeof policyWith>, weather: (minute: number) => SpotWeather, ticks: number, step = 5) {
  let state: ObservedState = {
    groups: {
      "on-demand": observed({ min: 1, max: 4, desired: 1 }),
      spot: observed({ min: 0, max: 10, desired: 4 }),
    },
  };
  const timeline: { minute: number; plan: CapacityPlan; min: number; extra: number; phase: string | undefined }[] = [];
  for (let i = 0; i < ticks; i += 1) {
    const minute = i * step;
    const spot = weather(minute);
    state.groups["spot"] = { ...state.groups["spot"]!, desired: spot.desired, inService: spot.inService, activities: spot.activities ?? [], interruptions: spot.interruptions ?? 0 };
    const plan = planCapacity(policy, state, new Date(START + minutes(minute)));
    state = applyPlan(state, plan);
    const onDemand = plan.groups.find((g) => g.group === "on-demand");
    timeline.push({ minute, plan, min: state.groups["on-demand"]!.min, extra: onDemand?.fallback?.extra ?? 0, phase: onDemand?.fallback?.phase });
  }
  return { timeline, state: () => state };
}

const failedLaunch = (minute: number, message = "Could not launch Spot Instances. InsufficientInstanceCapacity - There is no Spot capacity available that matches your request."): ScalingActivity => ({
  start: new Date(START + minutes(minute)),
  status: "Failed",
  message,
});

describe("spot fallback over time", () => {
  it("starts after the shortfall lasted N minutes, holds, raises with the shortfall up to the maximum, returns gradually after M healthy minutes", () => {
    // short by 3 from 09:00, by 6 from 09:30, healthy from 10:00
    const weather = (m: number): SpotWeather => (m < 30 ? { desired: 6, inService: 3 } : m < 60 ? { desired: 9, inService: 3 } : { desired: 4, inService: 4 });
    const { timeline, state } = run(policyWith(), weather, 30);
    const at = (minute: number) => timeline.find((t) => t.minute === minute)!;

    expect(at(0).plan.actions).toEqual([{ group: "on-demand", kind: "tags", from: {}, to: { [CAPACITY_TAGS.shortfallSince]: "2024-05-14T09:00:00.000Z" }, reason: expect.stringMatching(/spot short by 3 for 0 min .*fallback after 10 min/) }]);
    expect(at(5)).toMatchObject({ phase: "pending", min: 1 });
    expect(at(5).plan.actions).toEqual([]);
    expect(at(10)).toMatchObject({ phase: "started", extra: 3, min: 4 });
    expect(at(10).plan.transitions).toEqual([
      {
        phase: "start",
        onDemandGroup: "on-demand",
        spotGroups: ["spot"],
        extra: 3,
        since: new Date(START + minutes(10)),
        reason: expect.stringContaining("spot short by 3 for 10 min"),
        record: { group: "on-demand", kind: "tags", from: {}, to: { [CAPACITY_TAGS.announced]: "start@2024-05-14T09:10:00.000Z" }, reason: "the start of the spot fallback was published" },
      },
    ]);
    expect(at(10).plan.actions.map((a) => a.kind)).toEqual(["tags", "min", "desired"]);
    expect(at(15).plan.actions).toEqual([]);
    // the shortfall grows to 6: the floor follows, but never past maxExtra (4); max makes room for it
    expect(at(30)).toMatchObject({ phase: "active", extra: 4, min: 5 });
    expect(at(30).plan.actions.filter((a) => a.kind !== "tags").map(({ kind, from, to }) => ({ kind, from, to }))).toEqual([
      { kind: "min", from: 4, to: 5 },
      { kind: "max", from: 4, to: 5 },
      { kind: "desired", from: 4, to: 5 },
    ]);
    // healthy from 10:00: 30 minutes of waiting, then one instance every 10 minutes
    expect(timeline.filter((t) => t.minute >= 60 && t.minute < 90).every((t) => t.extra === 4 && t.phase === "waiting")).toBe(true);
    expect(timeline.filter((t) => t.minute >= 85).map((t) => [t.minute, t.extra])).toEqual([
      [85, 4],
      [90, 3],
      [95, 3],
      [100, 2],
      [105, 2],
      [110, 1],
      [115, 1],
      [120, 0],
      [125, 0],
      [130, 0],
      [135, 0],
      [140, 0],
      [145, 0],
    ]);
    expect(at(120).plan.transitions).toEqual([expect.objectContaining({ phase: "end", extra: 0 })]);
    expect(timeline.flatMap((t) => t.plan.transitions.map((x) => x.phase))).toEqual(["start", "end"]);
    // back to its schedule, and its memory gone
    expect(state().groups["on-demand"]).toMatchObject({ min: 1, max: 4, desired: 4, tags: {} });
  });

  it("a launch that failed for capacity starts the fallback at once, covering at least minExtra", () => {
    const { timeline } = run(policyWith(), (m) => ({ desired: 4, inService: 4, activities: m === 5 ? [failedLaunch(3)] : [] }), 3);
    expect(timeline.map((t) => t.phase)).toEqual(["idle", "started", "waiting"]);
    expect(timeline[1]).toMatchObject({ extra: 1, min: 2 });
    expect(timeline[1]?.plan.transitions[0]?.reason).toContain("1 launch failed for capacity in the last 15 min (InsufficientInstanceCapacity)");
  });

  it("only capacity failures count, only within their window, in any letter case", () => {
    const quota = failedLaunch(4, "You have requested more vCPU capacity than your current vCPU limit of 32 allows");
    const succeeded = { ...failedLaunch(4), status: "Successful" };
    const old = failedLaunch(-20);
    const shouting = failedLaunch(4, "UNFULFILLABLECAPACITY: unable to fulfill capacity due to your request configuration");
    const phases = [quota, succeeded, old, shouting].map((activity) => run(policyWith(), () => ({ desired: 4, inService: 4, activities: [activity] }), 2).timeline[1]?.phase);
    expect(phases).toEqual(["idle", "idle", "idle", "started"]);
  });

  it("interruptions above the threshold start it; at the threshold they do not", () => {
    const above = run(policyWith(), () => ({ desired: 4, inService: 4, interruptions: 4 }), 1).timeline[0];
    const at = run(policyWith(), () => ({ desired: 4, inService: 4, interruptions: 3 }), 1).timeline[0];
    const disabled = run(policyWith({ interruptions: { ...RULE.interruptions, enabled: false } }), () => ({ desired: 4, inService: 4, interruptions: 40 }), 1).timeline[0];
    expect(above).toMatchObject({ phase: "started", extra: 1 });
    expect(above?.plan.transitions[0]?.reason).toContain("4 spot interruptions in the last 30 min (threshold 3)");
    expect(at?.phase).toBe("idle");
    expect(disabled?.phase).toBe("idle");
  });

  it("a shortfall that clears before N minutes starts nothing and leaves no memory", () => {
    const { timeline, state } = run(policyWith(), (m) => (m < 10 ? { desired: 6, inService: 4 } : { desired: 6, inService: 6 }), 4);
    expect(timeline.map((t) => t.phase)).toEqual(["pending", "pending", "idle", "idle"]);
    expect(timeline[2]?.plan.actions).toEqual([expect.objectContaining({ kind: "tags", from: { [CAPACITY_TAGS.shortfallSince]: "2024-05-14T09:00:00.000Z" }, to: {} })]);
    expect(state().groups["on-demand"]?.tags).toEqual({});
  });

  it("no flapping: any sign of trouble during the return restarts the healthy wait, and the floor never drops meanwhile", () => {
    // short by 4 from 09:00 to 09:30; healthy; one tick short again at 10:25 (for less than N, so no raise)
    const weather = (m: number): SpotWeather => (m < 30 ? { desired: 8, inService: 4 } : m === 85 ? { desired: 6, inService: 4 } : { desired: 4, inService: 4 });
    const { timeline } = run(policyWith(), weather, 40);
    const extras = timeline.map((t) => [t.minute, t.extra]);
    // started at 09:10 with +4; healthy from 09:30, first step at 10:00, then every 10 minutes
    expect(extras.filter(([m]) => m! >= 55 && m! <= 80)).toEqual([
      [55, 4],
      [60, 3],
      [65, 3],
      [70, 2],
      [75, 2],
      [80, 1],
    ]);
    // the blip at 10:25 holds +1; healthy again from 10:30, so the next step waits until 11:00
    expect(timeline.find((t) => t.minute === 85)?.phase).toBe("active");
    expect(extras.filter(([m]) => m! >= 85 && m! < 120).every(([, extra]) => extra === 1)).toBe(true);
    expect(timeline.find((t) => t.minute === 120)).toMatchObject({ extra: 0, phase: "ended" });
  });

  it("a spot group that cannot be read holds the fallback where it is and reports the group", () => {
    const policy = policyWith();
    const { state } = run(policy, () => ({ desired: 6, inService: 3 }), 3);
    const blind = state();
    blind.groups["spot"]!.interruptions = undefined;
    blind.errors = { spot: "cloudwatch:GetMetricData failed: throttled" };
    blind.groups["spot"]!.inService = 6;
    const plan = planCapacity(policy, blind, new Date(START + minutes(200)));
    expect(plan.failures).toEqual([{ group: "spot", error: "interruptions unknown (cloudwatch:GetMetricData failed: throttled); the fallback to on-demand is held" }]);
    expect(plan.actions).toEqual([]);
    expect(plan.groups.find((g) => g.group === "on-demand")?.fallback).toMatchObject({ phase: "held", extra: 3 });
  });

  it("a lower maxExtra in a new policy brings an active fallback down to it at once", () => {
    const { state } = run(policyWith(), () => ({ desired: 8, inService: 4 }), 3);
    expect(state().groups["on-demand"]).toMatchObject({ min: 5, tags: { [CAPACITY_TAGS.fallbackExtra]: "4" } });
    const plan = planCapacity(policyWith({ maxExtra: 2 }), state(), new Date(START + minutes(15)));
    expect(plan.actions.map(({ kind, from, to }) => ({ kind, from, to }))).toEqual([
      { kind: "tags", from: expect.objectContaining({ [CAPACITY_TAGS.fallbackExtra]: "4" }), to: expect.objectContaining({ [CAPACITY_TAGS.fallbackExtra]: "2" }) },
      { kind: "min", from: 5, to: 3 },
      { kind: "max", from: 5, to: 4 },
      { kind: "desired", from: 5, to: 4 },
    ]);
  });
});

describe("fallback transitions are due until they are recorded as published", () => {
  /** The on-demand group's memory after the plan's actions went through, but not its transition records (a run whose publish did not happen). */
  function actionsOnly(state: ObservedState, plan: CapacityPlan): ObservedState {
    return applyPlan(state, { ...plan, transitions: [] });
  }

  it("a start whose change went through but was never published is due again, with the same time, until its record is written", () => {
    // Prepare: spot short for 10 minutes at 09:10
    const policy = policyWith();
    const { state } = run(policy, (m) => (m < 10 ? { desired: 6, inService: 3 } : { desired: 6, inService: 3 }), 2);
    const first = planCapacity(policy, state(), new Date(START + minutes(10)));
    expect(first.transitions.map((t) => [t.phase, t.since.toISOString()])).toEqual([["start", "2024-05-14T09:10:00.000Z"]]);
    // Act: the memory and the floor are written, the publication is not; two more runs
    const unannounced = actionsOnly(state(), first);
    const second = planCapacity(policy, unannounced, new Date(START + minutes(12)));
    const recorded = applyPlan(unannounced, second);
    const third = planCapacity(policy, recorded, new Date(START + minutes(14)));
    // Assess
    expect(second.actions).toEqual([]);
    expect(second.transitions).toEqual([expect.objectContaining({ phase: "start", since: new Date(START + minutes(10)), extra: 3, reason: expect.stringMatching(/^spot fallback active since 2024-05-14T09:10:00.000Z: /) })]);
    expect(recorded.groups["on-demand"]?.tags[CAPACITY_TAGS.announced]).toBe("start@2024-05-14T09:10:00.000Z");
    expect(third.transitions).toEqual([]);
  });

  it("an end is due while the start was announced, and comes before the start of a fallback that followed it", () => {
    const policy = policyWith();
    const state: ObservedState = {
      groups: {
        "on-demand": observed({ min: 3, max: 4, desired: 3 }, { tags: { [CAPACITY_TAGS.announced]: "start@2024-05-14T08:00:00.000Z", [CAPACITY_TAGS.fallbackSince]: "2024-05-14T09:00:00.000Z", [CAPACITY_TAGS.fallbackExtra]: "2" } }),
        spot: observed({ min: 0, max: 10, desired: 6 }, { inService: 4 }),
      },
    };
    const plan = planCapacity(policy, state, new Date(START + minutes(5)));
    expect(plan.transitions.map((t) => [t.phase, t.since.toISOString(), t.record.from, t.record.to])).toEqual([
      ["end", "2024-05-14T08:00:00.000Z", { [CAPACITY_TAGS.announced]: "start@2024-05-14T08:00:00.000Z" }, {}],
      ["start", "2024-05-14T09:00:00.000Z", {}, { [CAPACITY_TAGS.announced]: "start@2024-05-14T09:00:00.000Z" }],
    ]);
    expect(planCapacity(policy, applyPlan(state, plan), new Date(START + minutes(6))).transitions).toEqual([]);
  });

  it("an unreadable announced tag fails the on-demand group, naming the tag", () => {
    const state: ObservedState = {
      groups: { "on-demand": observed({ min: 1, max: 4, desired: 1 }, { tags: { [CAPACITY_TAGS.announced]: "yes" } }), spot: observed({ min: 0, max: 10, desired: 4 }) },
    };
    expect(planCapacity(policyWith(), state, new Date(START)).failures).toEqual([
      { group: "on-demand", error: 'tag spot-manager/fallback-announced="yes" is not start@<ISO 8601 time>; fix or remove it' },
    ]);
  });
});
