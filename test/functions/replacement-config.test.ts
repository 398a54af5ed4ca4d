/** The interruption function's replacement settings, read once at its edge: bad values stop it with the field named. */
import { ConfigError } from "@spot-manager/core";
import { describe, expect, it } from "vitest";
import { readInterruptionConfig } from "../../functions/lib/env";

const base = { CLUSTER_NAME: "demo", AWS_REGION: "us-west-2" };

describe("replacement settings of the interruption function", () => {
  it("replacement is on by default for spot warnings, bounded, off for recommendations; no capacity policy unless given", () => {
    const config = readInterruptionConfig(base);
    expect(config.policy.replacement).toEqual({
      enabled: true,
      onRebalanceRecommendation: false,
      maxExtraPerGroup: 2,
      cooldownSeconds: 300,
      fallbackToOnDemand: true,
      holdUnplaceablePods: true,
      releaseBeforeDeadlineSeconds: 15,
      roomCheckSeconds: 2,
      reclaimCheckSeconds: 300,
      terminateUnreclaimed: true,
    });
    expect(config.capacityPolicy).toBeUndefined();
  });

  it("reads CAPACITY_POLICY's fallback rules", () => {
    const capacityPolicy = {
      groups: {
        "base-on-demand": { type: "managed-node-group", capacityType: "on-demand", default: { min: 2, max: 6 } },
        "spot-general": { type: "managed-node-group", capacityType: "spot", default: { min: 0, max: 6 } },
      },
      fallbacks: [{ onDemandGroup: "base-on-demand", spotGroups: ["spot-general"], maxExtra: 3 }],
    };
    const config = readInterruptionConfig({ ...base, CAPACITY_POLICY: JSON.stringify(capacityPolicy) });
    expect(config.capacityPolicy?.fallbacks[0]).toMatchObject({ onDemandGroup: "base-on-demand", spotGroups: ["spot-general"], maxExtra: 3, shortfallMinutes: 5 });
  });

  it("a bad value names the variable and the field", () => {
    expect(() => readInterruptionConfig({ ...base, CAPACITY_POLICY: "{" })).toThrow(ConfigError);
    expect(() => readInterruptionConfig({ ...base, CAPACITY_POLICY: "{" })).toThrow(/CAPACITY_POLICY is not JSON/);
    expect(() => readInterruptionConfig({ ...base, CAPACITY_POLICY: JSON.stringify({ groups: {}, fallbacks: [{ onDemandGroup: "od", spotGroups: ["spot"], maxExtra: 1 }] }) })).toThrow(
      /CAPACITY_POLICY\.fallbacks\.0\.onDemandGroup: is not one of the groups/,
    );
    expect(() => readInterruptionConfig({ ...base, SPOT_MANAGER_POLICY: JSON.stringify({ replacement: { maxExtraPerGroup: 0 } }) })).toThrow(/SPOT_MANAGER_POLICY\.replacement\.maxExtraPerGroup: Too small/);
  });
});
