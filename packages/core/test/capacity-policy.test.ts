import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../src/errors";
import { parseCapacityPolicy, type CapacityPolicyInput } from "../src/capacity/policy";

const SAMPLE = JSON.parse(readFileSync(join(import.meta.dirname, "../../../test/capacity/policy.sample.json"), "utf8")) as CapacityPolicyInput;

const minimal = (): CapacityPolicyInput => ({
  groups: {
    "base-on-demand": { type: "managed-node-group", capacityType: "on-demand", default: { min: 1, max: 3 } },
    "spot-general": { type: "managed-node-group", capacityType: "spot", default: { min: 0, max: 6 } },
  },
  fallbacks: [{ onDemandGroup: "base-on-demand", spotGroups: ["spot-general"], maxExtra: 4 }],
});

describe("capacity policy", () => {
  it("reads the README sample, filling the defaults", () => {
    const policy = parseCapacityPolicy(SAMPLE);
    expect(policy.timeZone).toBe("Europe/Berlin");
    expect(policy.groups["spot-general"]?.windows[1]).toMatchObject({ name: "black-friday", priority: 10, desired: 12 });
    expect(policy.groups["spot-general"]?.windows[0]?.priority).toBe(0);
    expect(policy.fallbacks[0]).toMatchObject({
      onDemandGroup: "base-on-demand",
      minExtra: 1,
      capacityFailures: { windowMinutes: 15, reasons: ["InsufficientInstanceCapacity", "UnfulfillableCapacity", "MaxSpotInstanceCountExceeded"] },
      interruptions: { enabled: true, threshold: 5, windowMinutes: 30 },
    });
  });

  it("defaults: UTC, no windows, and a fallback that waits 5 min for a shortfall and 30 healthy min to return, 1 every 10 min", () => {
    const policy = parseCapacityPolicy(minimal());
    expect(policy.timeZone).toBe("UTC");
    expect(policy.groups["spot-general"]?.windows).toEqual([]);
    expect(policy.fallbacks[0]).toMatchObject({ shortfallMinutes: 5, healthyMinutes: 30, stepDown: 1, stepDownEveryMinutes: 10 });
  });

  it.each<[string, (p: CapacityPolicyInput) => void, RegExp]>([
    ["a bad cron", (p) => void (p.groups["spot-general"]!.windows = [{ name: "w", start: "0 25 * * *", end: "0 1 * * *", min: 0, max: 1 }]), /capacityPolicy\.groups\.spot-general\.windows\.0\.start: cron "0 25 \* \* \*": hour: 25 is out of range 0-23/],
    ["an unknown time zone", (p) => void (p.timeZone = "Europe/Atlantis"), /capacityPolicy\.timeZone: must be an IANA time zone .* \(got "Europe\/Atlantis"\)/],
    ["min above max", (p) => void (p.groups["base-on-demand"]!.default = { min: 4, max: 3 }), /groups\.base-on-demand\.default\.min: must be <= max \(3\) \(got 4\)/],
    ["a window's desired outside its bounds", (p) => void (p.groups["spot-general"]!.windows = [{ name: "w", start: "0 8 * * *", end: "0 9 * * *", min: 1, max: 3, desired: 5 }]), /windows\.0\.desired: must be within min\.\.max \(1\.\.3\) \(got 5\)/],
    ["two windows of the same name", (p) => void (p.groups["spot-general"]!.windows = [0, 1].map(() => ({ name: "w", start: "0 8 * * *", end: "0 9 * * *", min: 0, max: 1 }))), /windows\.1\.name: is used by another window/],
    ["a fallback to an unknown group", (p) => void (p.fallbacks![0]!.onDemandGroup = "nope"), /fallbacks\.0\.onDemandGroup: is not one of the groups \(got "nope"\)/],
    ["a spot group used as the on-demand side", (p) => void (p.fallbacks![0]!.onDemandGroup = "spot-general"), /fallbacks\.0\.onDemandGroup: must be an on-demand group/],
    ["a group in two rules", (p) => void p.fallbacks!.push({ onDemandGroup: "base-on-demand", spotGroups: ["spot-general"], maxExtra: 1 }), /fallbacks\.1\.onDemandGroup: is already in fallbacks\[0\]/],
    ["minExtra above maxExtra", (p) => void (p.fallbacks![0]!.minExtra = 5), /fallbacks\.0\.minExtra: must be <= maxExtra \(4\) \(got 5\)/],
    ["a non-positive step", (p) => void (p.fallbacks![0]!.stepDown = 0), /fallbacks\.0\.stepDown: Too small/],
  ])("rejects %s with the field named", (_, mutate, message) => {
    const input = minimal();
    mutate(input);
    expect(() => parseCapacityPolicy(input)).toThrowError(ConfigError);
    expect(() => parseCapacityPolicy(input)).toThrowError(message);
  });
});

/** A policy as a file holds it: any key may be there. */
type Loose = { groups: Record<string, Record<string, unknown>>; fallbacks: Record<string, unknown>[]; [key: string]: unknown };

describe("capacity policy: strict keys", () => {
  it.each<[string, (p: Loose) => void, string]>([
    [
      "a misspelt window priority",
      (p) => void (p.groups["spot-general"]!["windows"] = [{ name: "w", start: "0 8 * * *", end: "0 9 * * *", min: 0, max: 1, priorty: 10 }]),
      'capacityPolicy.groups.spot-general.windows.0: unknown key "priorty" (did you mean "priority"?)',
    ],
    ["a misspelt shortfall", (p) => void (p.fallbacks[0]!["shortfallMinute"] = 3), 'capacityPolicy.fallbacks.0: unknown key "shortfallMinute" (did you mean "shortfallMinutes"?)'],
    ["a misspelt nested key", (p) => void (p.fallbacks[0]!["interruptions"] = { treshold: 2 }), 'capacityPolicy.fallbacks.0.interruptions: unknown key "treshold" (did you mean "threshold"?)'],
    ["a misspelt top-level key", (p) => void (p["timezone"] = "UTC"), 'capacityPolicy: unknown key "timezone" (did you mean "timeZone"?)'],
    ["a key on a group", (p) => void (p.groups["base-on-demand"]!["capacitytype"] = "spot"), 'capacityPolicy.groups.base-on-demand: unknown key "capacitytype" (did you mean "capacityType"?)'],
  ])("rejects %s, naming it and the closest known key", (_, mutate, message) => {
    const input = structuredClone(minimal()) as unknown as Loose;
    mutate(input);
    expect(() => parseCapacityPolicy(input)).toThrowError(ConfigError);
    expect(() => parseCapacityPolicy(input)).toThrowError(message);
  });

  it("a default with a desired is refused with the reason: closing a window only clamps desired into the default bounds", () => {
    const input = minimal();
    input.groups["spot-general"]!.default = { min: 0, max: 6, desired: 2 } as never;
    expect(() => parseCapacityPolicy(input)).toThrowError(
      'capacityPolicy.groups.spot-general.default: key "desired" is not supported here: when no window is open desired belongs to the autoscalers and is only moved into min..max',
    );
  });
});
