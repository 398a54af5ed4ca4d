/**
 * Sends a group's planned actions, in their order: a managed node group only through EKS
 * (UpdateNodegroupConfig, TagResource, UntagResource; never its Auto Scaling group), a
 * self-managed group through Auto Scaling (UpdateAutoScalingGroup, or SetDesiredCapacity when only
 * desired moves; CreateOrUpdateTags, DeleteTags). Consecutive min/max/desired actions become one
 * call carrying the target min and max together (and desired only when it moves).
 */
import { CreateOrUpdateTagsCommand, DeleteTagsCommand, SetDesiredCapacityCommand, UpdateAutoScalingGroupCommand, type AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { TagResourceCommand, UntagResourceCommand, UpdateNodegroupConfigCommand, type EKSClient } from "@aws-sdk/client-eks";
import { CapacityWriteError } from "./errors";
import type { CapacityAction, GroupPlan, ScalingKind, TagsAction } from "./planner";
import type { ObservedGroup } from "./state";

export interface CapacityWriteClients {
  eks: EKSClient;
  autoscaling: AutoScalingClient;
}

/** What applies a group's actions; the function uses CapacityApplier. */
export interface CapacityWriter {
  applyGroup(plan: GroupPlan, observed: ObservedGroup, actions: readonly CapacityAction[]): Promise<void>;
}

export class CapacityApplier implements CapacityWriter {
  constructor(
    private readonly clients: CapacityWriteClients,
    private readonly options: { clusterName: string },
  ) {}

  /** Applies one group's actions in order; throws CapacityWriteError at the first that fails (the rest are not sent). */
  async applyGroup(plan: GroupPlan, observed: ObservedGroup, actions: readonly CapacityAction[]): Promise<void> {
    let scaling = new Set<ScalingKind>();
    for (const action of actions) {
      if (action.group !== plan.group) throw new CapacityWriteError(plan.group, "apply", { cause: new Error(`action for ${action.group} handed to ${plan.group}`) });
      if (action.kind === "tags") {
        await this.scale(plan, scaling);
        scaling = new Set();
        await this.tag(plan, observed, action);
      } else {
        scaling.add(action.kind);
      }
    }
    await this.scale(plan, scaling);
  }

  private async scale(plan: GroupPlan, kinds: ReadonlySet<ScalingKind>): Promise<void> {
    if (kinds.size === 0) return;
    const { min, max, desired } = plan.target;
    const bounds = kinds.has("min") || kinds.has("max");
    const withDesired = kinds.has("desired");
    if (plan.type === "managed-node-group") {
      const scalingConfig = { ...(bounds ? { minSize: min, maxSize: max } : {}), ...(withDesired ? { desiredSize: desired } : {}) };
      await this.send(plan.group, "eks:UpdateNodegroupConfig", () =>
        this.clients.eks.send(new UpdateNodegroupConfigCommand({ clusterName: this.options.clusterName, nodegroupName: plan.group, scalingConfig })),
      );
      return;
    }
    if (!bounds) {
      await this.send(plan.group, "autoscaling:SetDesiredCapacity", () =>
        this.clients.autoscaling.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: plan.group, DesiredCapacity: desired, HonorCooldown: false })),
      );
      return;
    }
    await this.send(plan.group, "autoscaling:UpdateAutoScalingGroup", () =>
      this.clients.autoscaling.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: plan.group, MinSize: min, MaxSize: max, ...(withDesired ? { DesiredCapacity: desired } : {}) })),
    );
  }

  private async tag(plan: GroupPlan, observed: ObservedGroup, action: TagsAction): Promise<void> {
    const set = Object.fromEntries(Object.entries(action.to).filter(([key, value]) => action.from[key] !== value));
    const removed = Object.keys(action.from).filter((key) => !(key in action.to));
    if (plan.type === "managed-node-group") {
      const resourceArn = observed.arn;
      if (!resourceArn) throw new CapacityWriteError(plan.group, "eks:TagResource", { cause: new Error("the node group's ARN is unknown") });
      if (Object.keys(set).length > 0) await this.send(plan.group, "eks:TagResource", () => this.clients.eks.send(new TagResourceCommand({ resourceArn, tags: set })));
      if (removed.length > 0) await this.send(plan.group, "eks:UntagResource", () => this.clients.eks.send(new UntagResourceCommand({ resourceArn, tagKeys: removed })));
      return;
    }
    const tag = (Key: string, Value?: string) => ({ ResourceId: plan.group, ResourceType: "auto-scaling-group", Key, ...(Value !== undefined ? { Value, PropagateAtLaunch: false } : {}) });
    if (Object.keys(set).length > 0) {
      await this.send(plan.group, "autoscaling:CreateOrUpdateTags", () => this.clients.autoscaling.send(new CreateOrUpdateTagsCommand({ Tags: Object.entries(set).map(([key, value]) => tag(key, value)) })));
    }
    if (removed.length > 0) await this.send(plan.group, "autoscaling:DeleteTags", () => this.clients.autoscaling.send(new DeleteTagsCommand({ Tags: removed.map((key) => tag(key)) })));
  }

  private async send(group: string, operation: string, call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
    } catch (error) {
      throw new CapacityWriteError(group, operation, { cause: error });
    }
  }
}
