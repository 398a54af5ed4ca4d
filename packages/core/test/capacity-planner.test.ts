import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CAPACITY_TAGS } from "../src/capacity/constants";
import { planCapacity } from "../src/capacity/planner";
import { parseCapacityPolicy, type CapacityPolicyInput } from "../src/capacity/policy";
import { parseSnapshot, type ObservedState } from "../src/capacity/state";
import { applyPlan, observed } from "../../../test/capacity/planner-world";

const at = (iso: string) => new Date(iso);

const POLICY = parseCapacityPolicy({
  timeZone: "Europe/Berlin",
  groups: {
    "base-on-demand": { type: "managed-node-group", capacityType: "on-demand", default: { min: 1, max: 4 } },
    "spot-general": {
      type: "managed-node-group",
      capacityType: "spot",
      default: { min: 0, max: 6 },
      windows: [{ name: "business-hours", start: "0 8 * * MON-FRI", end: "0 19 * * MON-FRI", min: 3, max: 20, desired: 4 }],
    },
    "batch-asg": { type: "auto-scaling-group", capacityType: "spot", default: { min: 0, max: 5 } },
  },
  fallbacks: [{ onDemandGroup: "base-on-demand", spotGroups: ["spot-general"], maxExtra: 4 }],
} satisfies CapacityPolicyInput);

/** Tuesday 2024-05-14 11:30 in Berlin: business hours opened at 06:00Z. */
const TUESDAY = at("2024-05-14T09:30:00Z");
const OPENED = "business-hours@2024-05-14T06:00:00.000Z";

function inPlace(): ObservedState {
  return {
    groups: {
      "base-on-demand": observed({ min: 1, max: 4, desired: 1 }, { arn: "arn:aws:eks:eu-central-1:123456789012:nodegroup/c/base-on-demand/1" }),
      "spot-general": observed({ min: 3, max: 20, desired: 7 }, { tags: { [CAPACITY_TAGS.window]: OPENED } }),
      "batch-asg": observed({ min: 0, max: 5, desired: 2 }),
    },
  };
}

describe("planning by schedule", () => {
  it("plans nothing when every group is where it should be, and leaves desired to the autoscalers", () => {
    const plan = planCapacity(POLICY, inPlace(), TUESDAY);
    expect(plan.actions).toEqual([]);
    expect(plan.failures).toEqual([]);
    expect(plan.groups.map((g) => [g.group, g.schedule.entry, g.target])).toEqual([
      ["base-on-demand", "default", { min: 1, max: 4, desired: 1 }],
      ["spot-general", "business-hours", { min: 3, max: 20, desired: 7 }],
      ["batch-asg", "default", { min: 0, max: 5, desired: 2 }],
    ]);
  });

  it("when a window opens it sets min and max, raises desired to its floor once and marks the window as applied", () => {
    const state = inPlace();
    state.groups["spot-general"] = observed({ min: 0, max: 6, desired: 2 }, { tags: { [CAPACITY_TAGS.window]: "business-hours@2024-05-13T06:00:00.000Z" } });
    const plan = planCapacity(POLICY, state, TUESDAY);
    expect(plan.actions).toEqual([
      { group: "spot-general", kind: "min", from: 0, to: 3, reason: "window business-hours (opened 2024-05-14 08:00 Europe/Berlin): min 3" },
      { group: "spot-general", kind: "max", from: 6, to: 20, reason: "window business-hours (opened 2024-05-14 08:00 Europe/Berlin): max 20" },
      { group: "spot-general", kind: "desired", from: 2, to: 4, reason: "window business-hours (opened 2024-05-14 08:00 Europe/Berlin) opened: desired 2 raised to its floor 4" },
      {
        group: "spot-general",
        kind: "tags",
        from: { [CAPACITY_TAGS.window]: "business-hours@2024-05-13T06:00:00.000Z" },
        to: { [CAPACITY_TAGS.window]: OPENED },
        reason: "window business-hours (opened 2024-05-14 08:00 Europe/Berlin): its desired floor 4 applies once per opening (desired 4); from here the autoscalers move it",
      },
    ]);
  });

  it("a window opening never shrinks a busy group: Cluster Autoscaler's 6 stays when the window's floor is 4", () => {
    // Prepare: Tuesday 07:59 in Berlin, CA has scaled spot to the default max of 6
    const policy = parseCapacityPolicy(JSON.parse(readFileSync(join(import.meta.dirname, "../../../test/capacity/policy.sample.json"), "utf8")));
    const state: ObservedState = {
      groups: {
        "base-on-demand": observed({ min: 2, max: 6, desired: 2 }),
        "spot-general": observed({ min: 0, max: 6, desired: 6 }, { tags: { [CAPACITY_TAGS.window]: "business-hours@2024-05-13T06:00:00.000Z" } }),
        "spot-manager-prod-spot-self-managed": observed({ min: 0, max: 4, desired: 0 }),
      },
    };
    // Act: the first run after 08:00
    const plan = planCapacity(policy, state, at("2024-05-14T06:01:00Z"));
    // Assess: bounds move, desired does not, and the opening is marked so it is not applied again
    const spot = plan.actions.filter((a) => a.group === "spot-general");
    expect(spot.map(({ kind, from, to }) => [kind, from, to])).toEqual([
      ["min", 0, 3],
      ["max", 6, 20],
      ["tags", { [CAPACITY_TAGS.window]: "business-hours@2024-05-13T06:00:00.000Z" }, { [CAPACITY_TAGS.window]: OPENED }],
    ]);
    expect(plan.groups.find((g) => g.group === "spot-general")?.target).toEqual({ min: 3, max: 20, desired: 6 });
  });

  it("the first run after a deploy, inside an open window, raises desired to the floor at most and never lowers it", () => {
    const state = inPlace();
    state.groups["spot-general"] = observed({ min: 3, max: 20, desired: 9 });
    const busy = planCapacity(POLICY, state, TUESDAY);
    expect(busy.actions).toEqual([expect.objectContaining({ group: "spot-general", kind: "tags", to: { [CAPACITY_TAGS.window]: OPENED } })]);
    state.groups["spot-general"] = observed({ min: 3, max: 20, desired: 3 });
    expect(planCapacity(POLICY, state, TUESDAY).actions.filter((a) => a.kind === "desired")).toEqual([
      { group: "spot-general", kind: "desired", from: 3, to: 4, reason: "window business-hours (opened 2024-05-14 08:00 Europe/Berlin) opened: desired 3 raised to its floor 4" },
    ]);
  });

  it("does not set a window's desired again: Cluster Autoscaler's later moves stand", () => {
    const state = inPlace();
    state.groups["spot-general"] = observed({ min: 0, max: 6, desired: 2 });
    const opened = applyPlan(state, planCapacity(POLICY, state, TUESDAY), { instancesFollow: true });
    expect(opened.groups["spot-general"]).toMatchObject({ min: 3, max: 20, desired: 4, tags: { [CAPACITY_TAGS.window]: OPENED } });
    opened.groups["spot-general"]!.desired = 11;
    opened.groups["spot-general"]!.inService = 11;
    expect(planCapacity(POLICY, opened, at("2024-05-14T12:00:00Z")).actions).toEqual([]);
  });

  it("when the window closes, min and max come back and desired is moved into them", () => {
    const plan = planCapacity(POLICY, inPlace(), at("2024-05-14T17:00:00Z"));
    expect(plan.actions).toEqual([
      { group: "spot-general", kind: "min", from: 3, to: 0, reason: "default bounds (no window open): min 0" },
      { group: "spot-general", kind: "max", from: 20, to: 6, reason: "default bounds (no window open): max 6" },
      { group: "spot-general", kind: "desired", from: 7, to: 6, reason: "desired 7 lowered to the new max 6" },
    ]);
  });

  it("closing only clamps: a desired already within the default bounds is left to the autoscalers", () => {
    const state = inPlace();
    state.groups["spot-general"]!.desired = 5;
    const plan = planCapacity(POLICY, state, at("2024-05-14T17:00:00Z"));
    expect(plan.actions.map((a) => a.kind)).toEqual(["min", "max"]);
    expect(plan.groups.find((g) => g.group === "spot-general")?.target).toEqual({ min: 0, max: 6, desired: 5 });
  });

  it("applying the plan and planning again at once plans nothing", () => {
    const state = inPlace();
    state.groups["spot-general"] = observed({ min: 0, max: 6, desired: 0 });
    const once = planCapacity(POLICY, state, TUESDAY);
    expect(once.actions.length).toBeGreaterThan(0);
    expect(planCapacity(POLICY, applyPlan(state, once, { instancesFollow: true }), TUESDAY).actions).toEqual([]);
  });
});

describe("bad or missing state fails that group only", () => {
  it("a group missing from the state is reported with the reader's reason; the others are planned", () => {
    const state = inPlace();
    delete state.groups["batch-asg"];
    state.errors = { "batch-asg": "Auto Scaling group batch-asg not found" };
    state.groups["spot-general"]!.min = 0;
    const plan = planCapacity(POLICY, state, TUESDAY);
    expect(plan.failures).toEqual([{ group: "batch-asg", error: "Auto Scaling group batch-asg not found" }]);
    expect(plan.actions).toEqual([expect.objectContaining({ group: "spot-general", kind: "min", to: 3 })]);
  });

  it("sizes that cannot be right are reported", () => {
    const state = inPlace();
    state.groups["batch-asg"] = observed({ min: 3, max: 2, desired: 2 });
    state.groups["spot-general"]!.inService = -1;
    expect(planCapacity(POLICY, state, TUESDAY).failures).toEqual([
      { group: "spot-general", error: "inService is -1, not a whole number >= 0" },
      { group: "batch-asg", error: "desired 2 is not within min..max 3..2" },
    ]);
  });

  it("unreadable fallback tags fail the on-demand group (not the spot groups), naming the tag", () => {
    const state = inPlace();
    state.groups["base-on-demand"]!.tags = { [CAPACITY_TAGS.fallbackSince]: "yesterday", [CAPACITY_TAGS.fallbackExtra]: "2" };
    state.groups["batch-asg"]!.max = 9;
    const plan = planCapacity(POLICY, state, TUESDAY);
    expect(plan.failures).toEqual([{ group: "base-on-demand", error: 'tag spot-manager/fallback-since="yesterday" is not an ISO 8601 time; fix or remove it' }]);
    expect(plan.groups.map((g) => g.group)).toEqual(["spot-general", "batch-asg"]);
    expect(plan.actions).toEqual([expect.objectContaining({ group: "batch-asg", kind: "max", to: 5 })]);
  });

  it.each([
    [{ [CAPACITY_TAGS.fallbackSince]: "2024-05-14T09:00:00.000Z" }, /must be set together/],
    [{ [CAPACITY_TAGS.fallbackSince]: "2024-05-14T09:00:00.000Z", [CAPACITY_TAGS.fallbackExtra]: "-1" }, /fallback-extra="-1" is not a whole number >= 1/],
    [{ [CAPACITY_TAGS.shortfallSince]: "2024-05-15T09:00:00.000Z" }, /is in the future/],
  ])("inconsistent memory %j is refused", (tags, message) => {
    const state = inPlace();
    state.groups["base-on-demand"]!.tags = tags;
    expect(planCapacity(POLICY, state, TUESDAY).failures[0]?.error).toMatch(message);
  });

  it("a node group being updated is left for the next run; a deleted one is a failure", () => {
    const state = inPlace();
    state.groups["spot-general"] = observed({ min: 0, max: 6, desired: 0 }, { status: "UPDATING" });
    state.groups["base-on-demand"]!.status = "DELETING";
    const plan = planCapacity(POLICY, state, TUESDAY);
    expect(plan.actions).toEqual([]);
    expect(plan.groups.find((g) => g.group === "spot-general")?.busy).toBe("node group is UPDATING: left for the next run");
    expect(plan.failures).toEqual([{ group: "base-on-demand", error: "node group is DELETING" }]);
  });

  it("fallback tags on a group no rule covers any more are removed", () => {
    const state = inPlace();
    state.groups["batch-asg"]!.tags = { [CAPACITY_TAGS.fallbackSince]: "2024-05-14T09:00:00.000Z", [CAPACITY_TAGS.fallbackExtra]: "2", "spot-manager/other": "kept" };
    expect(planCapacity(POLICY, state, TUESDAY).actions).toEqual([
      {
        group: "batch-asg",
        kind: "tags",
        from: { [CAPACITY_TAGS.fallbackSince]: "2024-05-14T09:00:00.000Z", [CAPACITY_TAGS.fallbackExtra]: "2" },
        to: {},
        reason: "no fallback rule covers this group any more: its fallback tags are removed",
      },
    ]);
  });
});

describe("the README sample", () => {
  it("starts the fallback, brings the batch group back to its default and leaves business hours alone", () => {
    const policy = parseCapacityPolicy(JSON.parse(readFileSync(join(import.meta.dirname, "../../../test/capacity/policy.sample.json"), "utf8")));
    const snapshot = parseSnapshot(JSON.parse(readFileSync(join(import.meta.dirname, "../../../test/capacity/state.sample.json"), "utf8")));
    const plan = planCapacity(policy, snapshot.state, snapshot.observedAt ?? new Date());
    expect(plan.actions.map(({ group, kind, from, to }) => ({ group, kind, from, to }))).toEqual([
      {
        group: "base-on-demand",
        kind: "tags",
        from: { [CAPACITY_TAGS.shortfallSince]: "2024-05-14T09:12:00.000Z" },
        to: { [CAPACITY_TAGS.fallbackSince]: "2024-05-14T09:30:00.000Z", [CAPACITY_TAGS.fallbackExtra]: "3", [CAPACITY_TAGS.shortfallSince]: "2024-05-14T09:12:00.000Z" },
      },
      { group: "base-on-demand", kind: "min", from: 2, to: 5 },
      { group: "base-on-demand", kind: "desired", from: 2, to: 5 },
      { group: "spot-manager-prod-spot-self-managed", kind: "min", from: 2, to: 0 },
      { group: "spot-manager-prod-spot-self-managed", kind: "max", from: 10, to: 4 },
    ]);
    expect(plan.transitions).toEqual([expect.objectContaining({ phase: "start", onDemandGroup: "base-on-demand", extra: 3 })]);
    expect(plan.actions[0]?.reason).toContain("1 launch failed for capacity in the last 15 min (InsufficientInstanceCapacity)");
  });
});
