import {
  AutoScalingClient,
  CreateOrUpdateTagsCommand,
  DeleteTagsCommand,
  SetDesiredCapacityCommand,
  UpdateAutoScalingGroupCommand,
} from "@aws-sdk/client-auto-scaling";
import { EKSClient, TagResourceCommand, UntagResourceCommand, UpdateNodegroupConfigCommand } from "@aws-sdk/client-eks";
import { mockClient } from "@spot-manager/aws-fakes";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { CapacityApplier } from "../src/capacity/apply";
import { CAPACITY_TAGS } from "../src/capacity/constants";
import { planCapacity } from "../src/capacity/planner";
import { parseCapacityPolicy } from "../src/capacity/policy";
import type { ObservedState } from "../src/capacity/state";
import { observed } from "../../../test/capacity/planner-world";

const eks = mockClient(EKSClient);
const autoscaling = mockClient(AutoScalingClient);
afterAll(() => {
  eks.restore();
  autoscaling.restore();
});
beforeEach(() => {
  eks.reset();
  autoscaling.reset();
});

const CLUSTER = "spot-manager-prod";
const ARN = `arn:aws:eks:eu-central-1:123456789012:nodegroup/${CLUSTER}/base/1`;
const NOW = new Date("2024-05-14T09:30:00Z");

const POLICY = parseCapacityPolicy({
  groups: {
    base: { type: "managed-node-group", capacityType: "on-demand", default: { min: 1, max: 4 } },
    spot: { type: "managed-node-group", capacityType: "spot", default: { min: 0, max: 10 } },
    "spot-asg": { type: "auto-scaling-group", capacityType: "spot", default: { min: 0, max: 5 }, windows: [{ name: "batch", start: "0 9 * * *", end: "0 10 * * *", min: 0, max: 5, desired: 3 }] },
    "base-asg": { type: "auto-scaling-group", capacityType: "on-demand", default: { min: 2, max: 3 } },
  },
  fallbacks: [{ onDemandGroup: "base", spotGroups: ["spot"], maxExtra: 4, shortfallMinutes: 0 }],
});

/** base must fall back (spot short by 2 right now); spot-asg's batch window opened at 09:00; base-asg's bounds moved. */
function state(): ObservedState {
  return {
    groups: {
      base: observed({ min: 1, max: 4, desired: 1 }, { arn: ARN, tags: { [CAPACITY_TAGS.window]: "old" } }),
      spot: observed({ min: 0, max: 10, desired: 6 }, { inService: 4 }),
      "spot-asg": observed({ min: 0, max: 5, desired: 1 }),
      "base-asg": observed({ min: 1, max: 3, desired: 2 }),
    },
  };
}

async function apply(group: string, s = state()) {
  const plan = planCapacity(POLICY, s, NOW);
  const groupPlan = plan.groups.find((g) => g.group === group)!;
  return new CapacityApplier({ eks: new EKSClient({}), autoscaling: new AutoScalingClient({}) }, { clusterName: CLUSTER }).applyGroup(
    groupPlan,
    s.groups[group]!,
    plan.actions.filter((a) => a.group === group),
  );
}

const sent = (mock: typeof eks | typeof autoscaling) => mock.calls().map((c) => [(c.args[0] as object).constructor.name, (c.args[0] as { input: unknown }).input]);

describe("applying a managed node group's actions, only through EKS", () => {
  it("records the fallback first, then sets min, max and desired in one UpdateNodegroupConfig", async () => {
    await apply("base");
    expect(sent(eks)).toEqual([
      ["TagResourceCommand", { resourceArn: ARN, tags: { [CAPACITY_TAGS.fallbackSince]: NOW.toISOString(), [CAPACITY_TAGS.fallbackExtra]: "2", [CAPACITY_TAGS.shortfallSince]: NOW.toISOString() } }],
      ["UpdateNodegroupConfigCommand", { clusterName: CLUSTER, nodegroupName: "base", scalingConfig: { minSize: 3, maxSize: 4, desiredSize: 3 } }],
    ]);
    expect(autoscaling.calls()).toHaveLength(0);
  });

  it("only desired: scalingConfig carries desiredSize alone", async () => {
    const s = state();
    s.groups["spot"] = observed({ min: 0, max: 10, desired: 2 }, { arn: ARN, tags: { [CAPACITY_TAGS.window]: "x" } });
    const policy = parseCapacityPolicy({
      groups: { spot: { type: "managed-node-group", capacityType: "spot", default: { min: 0, max: 10 }, windows: [{ name: "morning", start: "0 9 * * *", end: "0 12 * * *", min: 0, max: 10, desired: 4 }] } },
    });
    const plan = planCapacity(policy, s, NOW);
    const outcomes = await new CapacityApplier({ eks: new EKSClient({}), autoscaling: new AutoScalingClient({}) }, { clusterName: CLUSTER }).applyGroup(plan.groups[0]!, s.groups["spot"]!, plan.actions);
    expect(eks).toReceiveCommandWith(UpdateNodegroupConfigCommand, { clusterName: CLUSTER, nodegroupName: "spot", scalingConfig: { desiredSize: 4 } });
    expect(eks.commandCalls(UpdateNodegroupConfigCommand)[0]?.args[0].input.scalingConfig).toEqual({ desiredSize: 4 });
    expect(eks).toReceiveCommandWith(TagResourceCommand, { resourceArn: ARN, tags: { [CAPACITY_TAGS.window]: "morning@2024-05-14T09:00:00.000Z" } });
    expect(outcomes.map((o) => [o.action.kind, o.status, o.calls.map((c) => c.operation)])).toEqual([
      ["desired", "applied", ["eks:UpdateNodegroupConfig"]],
      ["tags", "applied", ["eks:TagResource"]],
    ]);
  });

  it("removes tags with UntagResource", async () => {
    const s = state();
    s.groups["base"]!.tags = { [CAPACITY_TAGS.shortfallSince]: "2024-05-14T09:00:00.000Z" };
    s.groups["spot"]!.inService = 6;
    await apply("base", s);
    expect(sent(eks)).toEqual([["UntagResourceCommand", { resourceArn: ARN, tagKeys: [CAPACITY_TAGS.shortfallSince] }]]);
    expect(eks).toReceiveCommandTimes(UntagResourceCommand, 1);
  });

  it("stops at the first failure with the operation named; nothing after it is sent, and the report says so", async () => {
    eks.on(TagResourceCommand).rejects(new Error("AccessDeniedException: not authorized to perform eks:TagResource"));
    const outcomes = await apply("base");
    expect(outcomes.map((o) => [o.action.kind, o.status])).toEqual([
      ["tags", "failed"],
      ["min", "not-sent"],
      ["desired", "not-sent"],
    ]);
    expect(outcomes[0]).toMatchObject({
      error: "eks:TagResource failed: AccessDeniedException: not authorized to perform eks:TagResource",
      calls: [{ operation: "eks:TagResource", ok: false, error: "AccessDeniedException: not authorized to perform eks:TagResource" }],
    });
    expect(eks).not.toReceiveCommand(UpdateNodegroupConfigCommand);
  });

  it("a tag write that went through stays applied when the update after it is refused", async () => {
    eks.on(UpdateNodegroupConfigCommand).rejects(Object.assign(new Error("Nodegroup cannot be updated as it is currently not in Active State"), { name: "ResourceInUseException" }));
    const outcomes = await apply("base");
    expect(outcomes.map((o) => [o.action.kind, o.status, o.calls])).toEqual([
      ["tags", "applied", [{ operation: "eks:TagResource", ok: true }]],
      ["min", "failed", [{ operation: "eks:UpdateNodegroupConfig", ok: false, error: "Nodegroup cannot be updated as it is currently not in Active State" }]],
      ["desired", "failed", [{ operation: "eks:UpdateNodegroupConfig", ok: false, error: "Nodegroup cannot be updated as it is currently not in Active State" }]],
    ]);
  });

  it("refuses to tag a node group whose ARN it does not know", async () => {
    const s = state();
    delete s.groups["base"]!.arn;
    const [tags] = await apply("base", s);
    expect(tags).toMatchObject({ status: "failed", error: "eks:TagResource failed: the node group's ARN is unknown" });
    expect(eks.calls()).toHaveLength(0);
  });
});

describe("applying a self-managed Auto Scaling group's actions", () => {
  it("min and max: UpdateAutoScalingGroup without DesiredCapacity when desired stays", async () => {
    await apply("base-asg");
    expect(sent(autoscaling)).toEqual([["UpdateAutoScalingGroupCommand", { AutoScalingGroupName: "base-asg", MinSize: 2, MaxSize: 3 }]]);
    expect(eks.calls()).toHaveLength(0);
  });

  it("only desired: SetDesiredCapacity, then the window mark with CreateOrUpdateTags", async () => {
    await apply("spot-asg");
    expect(sent(autoscaling)).toEqual([
      ["SetDesiredCapacityCommand", { AutoScalingGroupName: "spot-asg", DesiredCapacity: 3, HonorCooldown: false }],
      ["CreateOrUpdateTagsCommand", { Tags: [{ ResourceId: "spot-asg", ResourceType: "auto-scaling-group", Key: CAPACITY_TAGS.window, Value: "batch@2024-05-14T09:00:00.000Z", PropagateAtLaunch: false }] }],
    ]);
  });

  it("min, max and desired together; tags removed with DeleteTags", async () => {
    const s = state();
    s.groups["base-asg"] = observed({ min: 0, max: 1, desired: 0 }, { tags: { [CAPACITY_TAGS.fallbackSince]: "2024-05-14T09:00:00.000Z", [CAPACITY_TAGS.fallbackExtra]: "1" } });
    await apply("base-asg", s);
    expect(sent(autoscaling)).toEqual([
      [
        "DeleteTagsCommand",
        {
          Tags: [
            { ResourceId: "base-asg", ResourceType: "auto-scaling-group", Key: CAPACITY_TAGS.fallbackSince },
            { ResourceId: "base-asg", ResourceType: "auto-scaling-group", Key: CAPACITY_TAGS.fallbackExtra },
          ],
        },
      ],
      ["UpdateAutoScalingGroupCommand", { AutoScalingGroupName: "base-asg", MinSize: 2, MaxSize: 3, DesiredCapacity: 2 }],
    ]);
    expect(autoscaling).not.toReceiveCommand(SetDesiredCapacityCommand);
    expect(autoscaling).not.toReceiveCommand(CreateOrUpdateTagsCommand);
    expect(autoscaling).toReceiveCommandTimes(DeleteTagsCommand, 1);
    expect(autoscaling).toReceiveCommandTimes(UpdateAutoScalingGroupCommand, 1);
  });
});
