import { describe, expect, it } from "vitest";
import { checkAutoscalerTiming, rateMinutes } from "../src/capacity/autoscaler";
import { DEFAULT_SHORTFALL_MINUTES } from "../src/capacity/constants";
import { parseCapacityPolicy } from "../src/capacity/policy";

const policy = (shortfallMinutes?: number) =>
  parseCapacityPolicy({
    groups: {
      base: { type: "managed-node-group", capacityType: "on-demand", default: { min: 1, max: 3 } },
      spot: { type: "managed-node-group", capacityType: "spot", default: { min: 0, max: 6 } },
    },
    fallbacks: [{ onDemandGroup: "base", spotGroups: ["spot"], maxExtra: 3, ...(shortfallMinutes === undefined ? {} : { shortfallMinutes }) }],
  });

describe("the fallback's shortfall and cluster-autoscaler's max-node-provision-time", () => {
  it("the defaults cooperate: a 5-minute shortfall, runs every 2 minutes, CA waiting 10 minutes for a node", () => {
    expect(DEFAULT_SHORTFALL_MINUTES).toBe(5);
    expect(checkAutoscalerTiming(policy(), { maxNodeProvisionMinutes: 10, runIntervalMinutes: 2 })).toEqual([]);
  });

  it("a shortfall CA would erase before a run could count it is named", () => {
    // CA's old 5 minutes against the old 10-minute shortfall: the trigger could never fire
    expect(checkAutoscalerTiming(policy(10), { maxNodeProvisionMinutes: 5, runIntervalMinutes: 2 })).toEqual([
      { path: ["fallbacks", 0, "shortfallMinutes"], message: expect.stringMatching(/^must be below cluster-autoscaler's max-node-provision-time \(5 min\) minus the run interval \(2 min\).*\(got 10\)$/) },
    ]);
    expect(checkAutoscalerTiming(policy(8), { maxNodeProvisionMinutes: 10, runIntervalMinutes: 2 })).toHaveLength(1);
    expect(checkAutoscalerTiming(policy(7), { maxNodeProvisionMinutes: 10, runIntervalMinutes: 2 })).toEqual([]);
  });

  it.each([
    ["rate(2 minutes)", 2],
    ["rate(1 minute)", 1],
    ["rate(1 hour)", 60],
    ["cron(0/5 * * * ? *)", 0],
  ])("%s runs every %i minutes", (expression, minutes) => {
    expect(rateMinutes(expression)).toBe(minutes);
  });
});
