import { ConfigError } from "@spot-manager/core";
import { describe, expect, it } from "vitest";
import { deepMerge, parseStageConfig, stageDefaults } from "../../stacks/config";

const configFor = (stage: string, override: unknown) => parseStageConfig(stage, deepMerge(stageDefaults(stage), override));

describe("stage configuration", () => {
  it("fills defaults for dev and prod", () => {
    const dev = configFor("dev", {});
    const prod = configFor("prod", {});
    expect(dev).toMatchObject({ cluster: { name: "spot-manager-dev", mode: "create", version: "1.33" }, observability: { alarms: false }, retainOnDelete: false });
    expect(prod).toMatchObject({ observability: { alarms: true }, retainOnDelete: true, nodeGroups: { onDemand: { scaling: { min: 2 } } } });
    expect(dev.interruptions.policy.spotInterruption.drain).toBe(true);
  });

  it.each([
    [{ nodeGroups: { spot: { instanceTypes: ["m6i.large"] } } }, /nodeGroups\.spot\.instanceTypes: list at least two instance types/],
    [{ nodeGroups: { onDemand: { scaling: { min: 3, max: 2, desired: 2 } } } }, /nodeGroups\.onDemand\.scaling: must satisfy min <= desired <= max/],
    [{ interruptions: { lambda: { timeoutSeconds: 60 } } }, /interruptions\.lambda\.timeoutSeconds: must be at least 180/],
    [{ cluster: { mode: "import" } }, /cluster\.import: is required when cluster\.mode is "import"/],
    [{ cluster: { version: "1.20" } }, /cluster\.version: Invalid option/],
    [{ interruptions: { policy: { spotInterruption: { drainPolicy: { atDeadline: "panic" } } } } }, /interruptions\.policy\.spotInterruption\.drainPolicy\.atDeadline: Invalid option.*\(got "panic"\)/],
    [{ nodeGroups: { selfManagedSpot: { lifecycleHook: { name: "drain" } } } }, /lifecycleHook\.name: must start with spot-manager-/],
    [{ notifications: { emails: ["not-an-email"] } }, /notifications\.emails\.0/],
    [
      { nodeGroups: { selfManagedSpot: { enabled: true, lifecycleHook: { heartbeatTimeoutSeconds: 100 } } }, interruptions: { policy: { asgTerminate: { heartbeatIntervalSeconds: 60 } } } },
      /interruptions\.policy\.asgTerminate\.heartbeatIntervalSeconds: must be at most half the lifecycle hook's heartbeat timeout \(100 s\).*\(got 60\)/,
    ],
    [{ interruptions: { lambda: { reservedConcurrency: 1 } } }, /interruptions\.lambda\.reservedConcurrency: Too small/],
  ])("rejects %j naming the field", (override, message) => {
    expect(() => configFor("dev", override)).toThrowError(ConfigError);
    expect(() => configFor("dev", override)).toThrowError(message);
  });
});
