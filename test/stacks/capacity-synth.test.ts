/** The capacity policy at synth: strict keys, and cluster-autoscaler's max-node-provision-time against the fallback's shortfall. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "@spot-manager/core";
import { beforeAll, describe, expect, it } from "vitest";
import { synthesizeStage } from "../../stacks/synthesize";
import { rendered } from "./synth";
import { synthVariant, type SynthesizedVariant } from "./variants";

let stage: SynthesizedVariant;
beforeAll(async () => {
  stage = await synthVariant("dev");
}, 420_000);

describe("cluster-autoscaler and the spot fallback", () => {
  it("CA waits 10 minutes for a node, longer than the fallback's 5-minute shortfall plus a 2-minute run", () => {
    const charts = Object.values(stage.template("Cluster").findResources("Custom::AWSCDK-EKS-HelmChart")).map((c) => (c as { Properties: { Chart: string; Values?: unknown } }).Properties);
    const values = JSON.parse(String(rendered(charts.find((c) => c.Chart === "cluster-autoscaler")?.Values))) as { extraArgs: Record<string, unknown> };
    expect(values.extraArgs["max-node-provision-time"]).toBe("10m");
    const [fn] = Object.values(stage.template("Capacity").findResources("AWS::Lambda::Function", { Properties: { FunctionName: "spot-manager-dev-capacity" } })) as {
      Properties: { Environment: { Variables: Record<string, string> } };
    }[];
    const policy = JSON.parse(fn!.Properties.Environment.Variables["CAPACITY_POLICY"]!) as { fallbacks: { shortfallMinutes: number }[] };
    expect(policy.fallbacks[0]?.shortfallMinutes).toBe(5);
  });

  it("a shortfall CA would erase before it counts stops the synth, naming the field", async () => {
    const outdir = mkdtempSync(join(tmpdir(), "synth-timing-"));
    const config = { addons: { clusterAutoscaler: { maxNodeProvisionMinutes: 5 } } };
    const failure = synthesizeStage({ stage: "timingbad", outdir, config, nag: false });
    await expect(failure).rejects.toThrowError(ConfigError);
    await expect(synthesizeStage({ stage: "timingbad", outdir, config, nag: false })).rejects.toThrowError(
      /capacity\.policy\.fallbacks\.0\.shortfallMinutes: must be below cluster-autoscaler's max-node-provision-time \(5 min\) minus the run interval \(2 min\)/,
    );
  }, 120_000);
});

describe("the stage's capacity policy at synth", () => {
  it("a misspelt key stops the synth, naming it and the closest known key", async () => {
    const outdir = mkdtempSync(join(tmpdir(), "synth-typo-"));
    const config = {
      capacity: {
        policy: {
          groups: {
            "base-on-demand": { type: "managed-node-group", capacityType: "on-demand", default: { min: 1, max: 3 } },
            "spot-general": { type: "managed-node-group", capacityType: "spot", default: { min: 0, max: 6 } },
          },
          fallbacks: [{ onDemandGroup: "base-on-demand", spotGroups: ["spot-general"], maxExtra: 3, shortfallMinute: 3 }],
        },
      },
    };
    await expect(synthesizeStage({ stage: "typo", outdir, config, nag: false })).rejects.toThrowError(
      'invalid capacity.policy: capacity.policy.fallbacks.0: unknown key "shortfallMinute" (did you mean "shortfallMinutes"?)',
    );
  }, 120_000);
});
