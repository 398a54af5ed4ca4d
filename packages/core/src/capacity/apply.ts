/**
 * Sends a group's planned actions, in their order: a managed node group only through EKS
 * (UpdateNodegroupConfig, TagResource, UntagResource; never its Auto Scaling group), a
 * self-managed group through Auto Scaling (UpdateAutoScalingGroup, or SetDesiredCapacity when only
 * desired moves; CreateOrUpdateTags, DeleteTags). Consecutive min/max/desired actions become one
 * call carrying the target min and max together (and desired only when it moves). Each action's
 * outcome says which calls went through, so a report never calls a tag write that succeeded failed.
 */
import { CreateOrUpdateTagsCommand, DeleteTagsCommand, SetDesiredCapacityCommand, UpdateAutoScalingGroupCommand, type AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { TagResourceCommand, UntagResourceCommand, UpdateNodegroupConfigCommand, type EKSClient } from "@aws-sdk/client-eks";
import { CapacityWriteError } from "./errors";
import { errorMessage } from "../errors";
import type { CapacityAction, GroupPlan, ScalingAction, ScalingKind, TagsAction } from "./planner";
import type { ObservedGroup } from "./state";

export interface CapacityWriteClients {
  eks: EKSClient;
  autoscaling: AutoScalingClient;
}

/** One API call as it went. */
export interface CallOutcome {
  operation: string;
  ok: boolean;
  error?: string;
}

/**
 * What became of one planned action: applied (every call it needed went through), failed (a call
 * failed; `calls` says which), or not-sent (an earlier action of the group failed, so it was not
 * attempted). Consecutive min/max/desired actions share their one call.
 */
export interface ActionOutcome {
  action: CapacityAction;
  status: "applied" | "failed" | "not-sent";
  calls: CallOutcome[];
  error?: string;
}

/** What applies a group's actions; the function uses CapacityApplier. */
export interface CapacityWriter {
  /** Sends the actions in order and stops at the first failure; never throws for a refused call. */
  applyGroup(plan: GroupPlan, observed: ObservedGroup, actions: readonly CapacityAction[]): Promise<ActionOutcome[]>;
}

export class CapacityApplier implements CapacityWriter {
  constructor(
    private readonly clients: CapacityWriteClients,
    private readonly options: { clusterName: string },
  ) {}

  /** Applies one group's actions in order; at the first failed call the group's remaining actions are not sent. */
  async applyGroup(plan: GroupPlan, observed: ObservedGroup, actions: readonly CapacityAction[]): Promise<ActionOutcome[]> {
    const outcomes: ActionOutcome[] = [];
    let batch: ScalingAction[] = [];
    let failed = false;
    const settle = (group: readonly CapacityAction[], calls: CallOutcome[], error?: unknown) => {
      const message = error === undefined ? undefined : errorMessage(error);
      for (const action of group) outcomes.push({ action, status: message === undefined ? "applied" : "failed", calls, ...(message === undefined ? {} : { error: message }) });
      if (message !== undefined) failed = true;
    };
    const flush = async () => {
      if (batch.length === 0) return;
      const group = batch;
      batch = [];
      const calls: CallOutcome[] = [];
      try {
        await this.scale(plan, new Set(group.map((a) => a.kind)), calls);
        settle(group, calls);
      } catch (error) {
        settle(group, calls, error);
      }
    };
    for (const action of actions) {
      if (failed) {
        outcomes.push({ action, status: "not-sent", calls: [] });
        continue;
      }
      if (action.group !== plan.group) {
        settle([action], [], new CapacityWriteError(plan.group, "apply", { cause: new Error(`action for ${action.group} handed to ${plan.group}`) }));
        continue;
      }
      if (action.kind !== "tags") {
        batch.push(action);
        continue;
      }
      await flush();
      if (failed) {
        outcomes.push({ action, status: "not-sent", calls: [] });
        continue;
      }
      const calls: CallOutcome[] = [];
      try {
        await this.tag(plan, observed, action, calls);
        settle([action], calls);
      } catch (error) {
        settle([action], calls, error);
      }
    }
    if (!failed) await flush();
    else for (const action of batch) outcomes.push({ action, status: "not-sent", calls: [] });
    return outcomes;
  }

  private async scale(plan: GroupPlan, kinds: ReadonlySet<ScalingKind>, calls: CallOutcome[]): Promise<void> {
    if (kinds.size === 0) return;
    const { min, max, desired } = plan.target;
    const bounds = kinds.has("min") || kinds.has("max");
    const withDesired = kinds.has("desired");
    if (plan.type === "managed-node-group") {
      const scalingConfig = { ...(bounds ? { minSize: min, maxSize: max } : {}), ...(withDesired ? { desiredSize: desired } : {}) };
      await this.send(calls, plan.group, "eks:UpdateNodegroupConfig", () =>
        this.clients.eks.send(new UpdateNodegroupConfigCommand({ clusterName: this.options.clusterName, nodegroupName: plan.group, scalingConfig })),
      );
      return;
    }
    if (!bounds) {
      await this.send(calls, plan.group, "autoscaling:SetDesiredCapacity", () =>
        this.clients.autoscaling.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: plan.group, DesiredCapacity: desired, HonorCooldown: false })),
      );
      return;
    }
    await this.send(calls, plan.group, "autoscaling:UpdateAutoScalingGroup", () =>
      this.clients.autoscaling.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: plan.group, MinSize: min, MaxSize: max, ...(withDesired ? { DesiredCapacity: desired } : {}) })),
    );
  }

  private async tag(plan: GroupPlan, observed: ObservedGroup, action: TagsAction, calls: CallOutcome[]): Promise<void> {
    const set = Object.fromEntries(Object.entries(action.to).filter(([key, value]) => action.from[key] !== value));
    const removed = Object.keys(action.from).filter((key) => !(key in action.to));
    if (plan.type === "managed-node-group") {
      const resourceArn = observed.arn;
      if (!resourceArn) {
        calls.push({ operation: "eks:TagResource", ok: false, error: "the node group's ARN is unknown" });
        throw new CapacityWriteError(plan.group, "eks:TagResource", { cause: new Error("the node group's ARN is unknown") });
      }
      if (Object.keys(set).length > 0) await this.send(calls, plan.group, "eks:TagResource", () => this.clients.eks.send(new TagResourceCommand({ resourceArn, tags: set })));
      if (removed.length > 0) await this.send(calls, plan.group, "eks:UntagResource", () => this.clients.eks.send(new UntagResourceCommand({ resourceArn, tagKeys: removed })));
      return;
    }
    const tag = (Key: string, Value?: string) => ({ ResourceId: plan.group, ResourceType: "auto-scaling-group", Key, ...(Value !== undefined ? { Value, PropagateAtLaunch: false } : {}) });
    if (Object.keys(set).length > 0) {
      await this.send(calls, plan.group, "autoscaling:CreateOrUpdateTags", () => this.clients.autoscaling.send(new CreateOrUpdateTagsCommand({ Tags: Object.entries(set).map(([key, value]) => tag(key, value)) })));
    }
    if (removed.length > 0) await this.send(calls, plan.group, "autoscaling:DeleteTags", () => this.clients.autoscaling.send(new DeleteTagsCommand({ Tags: removed.map((key) => tag(key)) })));
  }

  private async send(calls: CallOutcome[], group: string, operation: string, call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
      calls.push({ operation, ok: true });
    } catch (error) {
      calls.push({ operation, ok: false, error: errorMessage(error) });
      throw new CapacityWriteError(group, operation, { cause: error });
    }
  }
}
