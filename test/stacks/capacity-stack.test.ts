import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Match } from "aws-cdk-lib/assertions";
import { ConfigError, parseCapacityPolicy } from "@spot-manager/core";
import { beforeAll, describe, expect, it } from "vitest";
import { synthesizeStage } from "../../stacks/synthesize";
import { rendered, statements } from "./synth";
import { synthVariant, type SynthesizedVariant } from "./variants";

let stage: SynthesizedVariant;
beforeAll(async () => {
  stage = await synthVariant("selfManaged");
}, 420_000);

describe("Capacity stack", () => {
  it("runs the capacity function on its schedule, with the stage's node groups as its policy; a late or failed run is dropped, never stacked on the next", () => {
    const template = stage.template("Capacity");
    template.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "rate(2 minutes)",
      Targets: [Match.objectLike({ Arn: Match.anyValue(), DeadLetterConfig: { Arn: Match.anyValue() }, RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 60 } })],
    });
    const [fn] = Object.values(template.findResources("AWS::Lambda::Function", { Properties: { FunctionName: "spot-manager-staging-capacity" } })) as {
      Properties: { ReservedConcurrentExecutions?: number; Runtime: string; Environment: { Variables: Record<string, string> } };
    }[];
    expect(fn?.Properties).toMatchObject({ Runtime: "nodejs24.x" });
    expect(fn?.Properties.ReservedConcurrentExecutions).toBeUndefined();
    template.hasResourceProperties("AWS::Lambda::EventInvokeConfig", { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 });
    const policy = parseCapacityPolicy(JSON.parse(fn!.Properties.Environment.Variables["CAPACITY_POLICY"]!));
    expect(Object.keys(policy.groups).sort()).toEqual(["base-on-demand", "spot-general", "spot-manager-staging-spot-self-managed"]);
    expect(policy.fallbacks[0]).toMatchObject({ onDemandGroup: "base-on-demand", spotGroups: ["spot-general", "spot-manager-staging-spot-self-managed"] });
    expect(fn!.Properties.Environment.Variables["DRY_RUN"]).toBe("false");
    template.hasResourceProperties("AWS::CloudWatch::Alarm", { AlarmName: "spot-manager-staging-capacity-group-failures", MetricName: "CapacityGroupFailures" });
  });

  it("reserves one execution when the stage asks (runs then strictly one at a time)", async () => {
    const privateStage = await synthVariant("private");
    privateStage.template("Capacity").hasResourceProperties("AWS::Lambda::Function", { FunctionName: "spot-manager-private-capacity", ReservedConcurrentExecutions: 1 });
  }, 420_000);

  it("may write only to the node groups and Auto Scaling groups its policy names; never a managed group's ASG", () => {
    const template = stage.template("Capacity");
    const bySid = Object.fromEntries(statements(template).filter((s) => s.Sid).map((s) => [s.Sid, s]));
    expect(rendered(bySid["NodeGroups"]?.Resource)).toEqual([
      "arn:aws:eks:us-west-2:123456789012:nodegroup/spot-manager-staging/base-on-demand/*",
      "arn:aws:eks:us-west-2:123456789012:nodegroup/spot-manager-staging/spot-general/*",
    ]);
    expect([bySid["NodeGroups"]?.Action].flat().sort()).toEqual(["eks:DescribeNodegroup", "eks:TagResource", "eks:UntagResource", "eks:UpdateNodegroupConfig"]);
    expect(rendered(bySid["AutoScalingGroups"]?.Resource)).toBe("arn:aws:autoscaling:us-west-2:123456789012:autoScalingGroup:*:autoScalingGroupName/spot-manager-staging-spot-self-managed");
    expect(bySid["ReadCapacity"]?.Resource).toBe("*");
    for (const s of statements(template)) for (const action of [s.Action].flat()) expect(action).not.toMatch(/^\*$|:\*$/);
    expect(stage.errors).toEqual([]);
  });

  it("a bad capacity policy fails the synth naming the field", async () => {
    const outdir = mkdtempSync(join(tmpdir(), "synth-cap-"));
    const bad = { capacity: { policy: { groups: { x: { type: "managed-node-group", capacityType: "spot", default: { min: 5, max: 2 } } }, fallbacks: [] } } };
    await expect(synthesizeStage({ stage: "badcap", outdir, config: bad })).rejects.toThrowError(ConfigError);
    await expect(synthesizeStage({ stage: "badcap", outdir, config: bad })).rejects.toThrowError(/capacity\.policy\.groups\.x/);
  });
});
