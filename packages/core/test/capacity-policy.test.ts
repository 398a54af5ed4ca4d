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

  it("defaults: UTC, no windows, and a fallback that waits 10 min for a shortfall and 30 healthy min to return, 1 every 10 min", () => {
    const policy = parseCapacityPolicy(minimal());
    expect(policy.timeZone).toBe("UTC");
    expect(policy.groups["spot-general"]?.windows).toEqual([]);
    expect(policy.fallbacks[0]).toMatchObject({ shortfallMinutes: 10, healthyMinutes: 30, stepDown: 1, stepDownEveryMinutes: 10 });
  });

  it.each<[string, (p: CapacityPolicyInput) => void, RegExp]>([
    ["a bad cron", (p) => void (p.groups["spot-general"]!.windows = [{ name: "w", start: "0 25 * * *", end: "0 1 * * *", min: 0, max: 1 }]), /capacityPolicy\.groups\.spot-general\.windows\.0\.start: cron "0 25 \* \* \*": hour: 25 is out of range 0-23/],
    ["an unknown time zone", (p) => void (p.timeZone = "Europe/Atlantis"), /capacityPolicy\.timeZone: must be an IANA time zone .* \(got "Europe\/Atlantis"\)/],
    ["min above max", (p) => void (p.groups["base-on-demand"]!.default = { min: 4, max: 3 }), /groups\.base-on-demand\.default\.min: must be <= max \(3\) \(got 4\)/],
    ["desired outside the bounds", (p) => void (p.groups["base-on-demand"]!.default = { min: 1, max: 3, desired: 5 }), /default\.desired: must be within min\.\.max \(1\.\.3\) \(got 5\)/],
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
