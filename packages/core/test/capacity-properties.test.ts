/**
 * Properties of the planner over generated policies (groups of both kinds, overlapping windows in
 * several time zones, a fallback rule) and generated observations (any sizes, memory, failed
 * launches, interruptions), at any time of 2024.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_CAPACITY_FAILURE_REASONS } from "../src/capacity/constants";
import { memoryTags } from "../src/capacity/memory";
import { planCapacity } from "../src/capacity/planner";
import { parseCapacityPolicy, type CapacityPolicy, type CapacityPolicyInput } from "../src/capacity/policy";
import { resolveSchedule } from "../src/capacity/schedule";
import type { ObservedGroup, ObservedState } from "../src/capacity/state";
import { applyPlan, minutes } from "../../../test/capacity/planner-world";

const YEAR_START = Date.parse("2024-01-01T00:00:00Z");
const YEAR_MS = 366 * 24 * 3600_000;

const boundsArb = fc.tuple(fc.nat(6), fc.nat(6), fc.option(fc.nat(6), { nil: undefined })).map(([a, b, d]) => {
  const min = Math.min(a, b);
  const max = Math.max(a, b);
  return { min, max, ...(d === undefined ? {} : { desired: Math.min(max, Math.max(min, d)) }) };
});
const cronArb = fc
  .tuple(fc.constantFrom("0", "30", "*/20"), fc.integer({ min: 0, max: 23 }), fc.constantFrom("*", "MON-FRI", "SAT,SUN", "1-5/2"))
  .map(([minute, hour, days]) => `${minute} ${hour} * * ${days}`);
const windowsArb = fc.array(
  fc.record({
    start: cronArb,
    end: cronArb,
    priority: fc.integer({ min: -1, max: 1 }),
    bounds: boundsArb,
    timeZone: fc.constantFrom(undefined, "UTC", "America/New_York", "Australia/Lord_Howe"),
  }),
  { maxLength: 3 },
);
const groupArb = (capacityType: "spot" | "on-demand") =>
  fc.record({ type: fc.constantFrom("managed-node-group" as const, "auto-scaling-group" as const), default: boundsArb, windows: windowsArb }).map((g) => ({
    type: g.type,
    capacityType,
    // the default bounds take no desired: closing a window only clamps
    default: { min: g.default.min, max: g.default.max },
    windows: g.windows.map((w, i) => ({ name: `w${i}`, start: w.start, end: w.end, priority: w.priority, ...w.bounds, ...(w.timeZone ? { timeZone: w.timeZone } : {}) })),
  }));
const ruleArb = fc
  .record({
    maxExtra: fc.integer({ min: 1, max: 6 }),
    minExtra: fc.integer({ min: 1, max: 6 }),
    shortfallMinutes: fc.integer({ min: 0, max: 30 }),
    healthyMinutes: fc.integer({ min: 0, max: 60 }),
    stepDown: fc.integer({ min: 1, max: 3 }),
    stepDownEveryMinutes: fc.integer({ min: 1, max: 30 }),
    threshold: fc.integer({ min: 0, max: 5 }),
  })
  .map((r) => ({ ...r, minExtra: Math.min(r.minExtra, r.maxExtra) }));

const policyArb = fc
  .record({ onDemand: groupArb("on-demand"), spotA: groupArb("spot"), spotB: groupArb("spot"), unrelated: groupArb("on-demand"), rule: ruleArb, twoSpotGroups: fc.boolean(), timeZone: fc.constantFrom("UTC", "Europe/Berlin") })
  .map((p) =>
    parseCapacityPolicy({
      timeZone: p.timeZone,
      groups: { "on-demand": p.onDemand, "spot-a": p.spotA, "spot-b": p.spotB, unrelated: p.unrelated },
      fallbacks: [
        {
          onDemandGroup: "on-demand",
          spotGroups: p.twoSpotGroups ? ["spot-a", "spot-b"] : ["spot-a"],
          maxExtra: p.rule.maxExtra,
          minExtra: p.rule.minExtra,
          shortfallMinutes: p.rule.shortfallMinutes,
          healthyMinutes: p.rule.healthyMinutes,
          stepDown: p.rule.stepDown,
          stepDownEveryMinutes: p.rule.stepDownEveryMinutes,
          interruptions: { threshold: p.rule.threshold },
        },
      ],
    } satisfies CapacityPolicyInput),
  );

const ago = (now: number, m: number) => new Date(now - minutes(m));

/** Any observation of a group at `now`: sizes, in service, memory, activities, interruptions. */
const observedArb = (now: number): fc.Arbitrary<ObservedGroup> =>
  fc
    .record({
      a: fc.nat(12),
      b: fc.nat(12),
      c: fc.nat(12),
      inService: fc.nat(14),
      memory: fc.option(
        fc.record({
          since: fc.nat(300),
          extra: fc.integer({ min: 1, max: 9 }),
          shortfallSince: fc.option(fc.nat(300), { nil: undefined }),
          healthySince: fc.option(fc.nat(300), { nil: undefined }),
          lastStepDown: fc.option(fc.nat(300), { nil: undefined }),
        }),
        { nil: undefined },
      ),
      window: fc.constantFrom(undefined, "default", "w0@2024-01-01T00:00:00.000Z"),
      activities: fc.array(fc.record({ minutesAgo: fc.nat(40), status: fc.constantFrom("Failed", "Successful"), reason: fc.constantFrom(...DEFAULT_CAPACITY_FAILURE_REASONS, "VcpuLimitExceeded") }), { maxLength: 3 }),
      interruptions: fc.nat(8),
    })
    .map((o) => {
      const [min, desired, max] = [o.a, o.b, o.c].sort((x, y) => x - y) as [number, number, number];
      const m = o.memory;
      const tags = {
        ...(m
          ? memoryTags({
              since: ago(now, m.since),
              extra: m.extra,
              ...(m.shortfallSince === undefined ? {} : { shortfallSince: ago(now, m.shortfallSince) }),
              ...(m.healthySince === undefined ? {} : { healthySince: ago(now, m.healthySince) }),
              ...(m.lastStepDown === undefined ? {} : { lastStepDown: ago(now, m.lastStepDown) }),
            })
          : {}),
        ...(o.window ? { "spot-manager/window": o.window } : {}),
      };
      return {
        min,
        max,
        desired,
        inService: o.inService,
        tags,
        activities: o.activities.map((a) => ({ start: ago(now, a.minutesAgo), status: a.status, message: `Could not launch Spot Instances. ${a.reason} - no.` })),
        interruptions: o.interruptions,
      };
    });

const worldArb = fc.tuple(policyArb, fc.integer({ min: 0, max: YEAR_MS })).chain(([policy, offset]) => {
  const now = YEAR_START + offset;
  const names = Object.keys(policy.groups);
  return fc.tuple(fc.constant(policy), fc.constant(now), fc.tuple(...names.map(() => observedArb(now))).map((groups) => ({ groups: Object.fromEntries(names.map((n, i) => [n, groups[i] as ObservedGroup])) }) as ObservedState));
});

describe("planner properties", () => {
  it("bounds are never exceeded: schedule bounds for every group, plus at most maxExtra on the on-demand floor", () => {
    fc.assert(
      fc.property(worldArb, ([policy, now, state]) => {
        const plan = planCapacity(policy, state, new Date(now));
        const rule = policy.fallbacks[0]!;
        expect(plan.failures).toEqual([]);
        for (const group of plan.groups) {
          const { min, max, desired } = group.target;
          expect(0 <= min && min <= desired && desired <= max).toBe(true);
          const schedule = resolveSchedule(policy.groups[group.group]!, policy.timeZone, now).bounds;
          if (group.group === rule.onDemandGroup) {
            expect(min).toBeGreaterThanOrEqual(schedule.min);
            expect(min).toBeLessThanOrEqual(schedule.min + rule.maxExtra);
            expect(max).toBe(Math.max(schedule.max, min));
          } else {
            expect({ min, max }).toEqual({ min: schedule.min, max: schedule.max });
          }
        }
        for (const action of plan.actions) {
          if (action.kind === "tags") continue;
          const group = plan.groups.find((g) => g.group === action.group)!;
          expect(action.from).toBe(group.observed[action.kind]);
          expect(action.to).toBe(group.target[action.kind]);
          expect(action.to).not.toBe(action.from);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("desired belongs to the autoscalers: only moved into new bounds, or raised to a window's floor once when it opens; never lowered inside the bounds", () => {
    fc.assert(
      fc.property(worldArb, ([policy, now, state]) => {
        const plan = planCapacity(policy, state, new Date(now));
        for (const group of plan.groups) {
          const { observed, target } = group;
          const schedule = resolveSchedule(policy.groups[group.group]!, policy.timeZone, now);
          const opening = schedule.bounds.desired !== undefined && state.groups[group.group]!.tags["spot-manager/window"] !== schedule.id;
          if (observed.desired >= target.min && observed.desired <= target.max && !opening) expect(target.desired).toBe(observed.desired);
          if (target.desired < observed.desired) expect(target.desired).toBe(target.max);
          if (target.desired > observed.desired) {
            const floor = opening ? (schedule.bounds.desired ?? 0) : 0;
            expect(target.desired).toBe(Math.min(target.max, Math.max(target.min, floor)));
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it("idempotent: once the plan is applied, planning again on the same observations plans nothing", () => {
    fc.assert(
      fc.property(worldArb, ([policy, now, state]) => {
        const plan = planCapacity(policy, state, new Date(now));
        const after = applyPlan(state, plan);
        // instances follow desired, so what spot lacks stays what it was
        for (const [name, group] of Object.entries(after.groups)) {
          const before = state.groups[name]!;
          group.inService = before.inService + (group.desired - before.desired);
          fc.pre(group.inService >= 0);
        }
        const again = planCapacity(policy, after, new Date(now));
        expect(again.actions).toEqual([]);
        expect(again.transitions).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});

/** One observation of spot in a trace. */
interface Tick {
  afterMinutes: number;
  missing: number;
  failedLaunch: boolean;
  interruptions: number;
}

const traceArb = fc.array(
  fc.record({
    afterMinutes: fc.integer({ min: 1, max: 20 }),
    missing: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.integer({ min: 1, max: 6 }) }),
    failedLaunch: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    interruptions: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 8 }) }),
  }),
  { minLength: 5, maxLength: 80 },
);

function simulate(policy: CapacityPolicy, trace: Tick[]) {
  let now = Date.parse("2024-03-30T22:00:00Z");
  let state: ObservedState = {
    groups: {
      "on-demand": { min: 2, max: 3, desired: 2, inService: 2, tags: {} },
      spot: { min: 0, max: 20, desired: 8, inService: 8, tags: {}, activities: [], interruptions: 0 },
    },
  };
  const rule = policy.fallbacks[0]!;
  return trace.map((tick) => {
    now += minutes(tick.afterMinutes);
    state.groups["spot"] = {
      ...state.groups["spot"]!,
      inService: 8 - tick.missing,
      activities: tick.failedLaunch ? [{ start: new Date(now - minutes(1)), status: "Failed", message: "InsufficientInstanceCapacity" }] : [],
      interruptions: tick.interruptions,
    };
    const plan = planCapacity(policy, state, new Date(now));
    state = applyPlan(state, plan);
    const healthy = tick.missing === 0 && !tick.failedLaunch && tick.interruptions <= rule.interruptions.threshold;
    const extra = plan.groups.find((g) => g.group === "on-demand")?.fallback?.extra ?? Number.NaN;
    return { now, healthy, extra, min: state.groups["on-demand"]!.min, transitions: plan.transitions.map((t) => t.phase) };
  });
}

const withoutThreshold = <T extends { threshold: number }>({ threshold: _threshold, ...rest }: T) => rest;

describe("no flapping", () => {
  it("the floor rises only on trouble, comes down only after M healthy minutes, one step at a time, and starts and ends alternate", () => {
    const policyOf = (r: fc.Arbitrary<typeof ruleArb extends fc.Arbitrary<infer R> ? R : never>) =>
      r.map((rule) =>
        parseCapacityPolicy({
          groups: {
            "on-demand": { type: "managed-node-group", capacityType: "on-demand", default: { min: 2, max: 3 } },
            spot: { type: "auto-scaling-group", capacityType: "spot", default: { min: 0, max: 20 } },
          },
          fallbacks: [{ onDemandGroup: "on-demand", spotGroups: ["spot"], ...withoutThreshold(rule), interruptions: { threshold: rule.threshold } }],
        }),
      );
    fc.assert(
      fc.property(policyOf(ruleArb), traceArb, (policy, trace) => {
        const rule = policy.fallbacks[0]!;
        const timeline = simulate(policy, trace);
        let previous = 0;
        let lastTrouble = -1;
        let lastStep = -1;
        let active = false;
        timeline.forEach((tick, i) => {
          if (!tick.healthy) lastTrouble = i;
          expect(tick.extra).toBeGreaterThanOrEqual(0);
          expect(tick.extra).toBeLessThanOrEqual(rule.maxExtra);
          expect(tick.min).toBe(2 + tick.extra);
          if (tick.extra > previous) expect(tick.healthy).toBe(false);
          if (tick.extra < previous) {
            const healthySince = timeline[lastTrouble + 1]!.now;
            expect(tick.healthy).toBe(true);
            expect(tick.now - healthySince).toBeGreaterThanOrEqual(minutes(rule.healthyMinutes));
            expect(previous - tick.extra).toBe(Math.min(rule.stepDown, previous));
            if (lastStep > lastTrouble) expect(tick.now - timeline[lastStep]!.now).toBeGreaterThanOrEqual(minutes(rule.stepDownEveryMinutes));
            lastStep = i;
          }
          for (const phase of tick.transitions) {
            expect(phase).toBe(active ? "end" : "start");
            active = !active;
          }
          expect(active).toBe(tick.extra > 0);
          previous = tick.extra;
        });
      }),
      { numRuns: 300 },
    );
  });
});
