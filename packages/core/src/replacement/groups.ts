/**
 * What replacement needs from Auto Scaling and EKS: an instance's membership, a group's size and
 * members, its recent failed launches, and the two changes it makes — DetachInstances (the group
 * launches a replacement at once when desired is not decremented) and SetDesiredCapacity. A
 * managed node group is reached through the Auto Scaling group EKS runs it on, found with
 * eks:DescribeNodegroup. Every failure is an awsFailure (PermanentError or RetryError).
 */
import {
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  DescribeScalingActivitiesCommand,
  DetachInstancesCommand,
  SetDesiredCapacityCommand,
  type AutoScalingClient,
} from "@aws-sdk/client-auto-scaling";
import { DescribeNodegroupCommand, type EKSClient } from "@aws-sdk/client-eks";
import { awsFailure } from "../aws/errors";

/** What the interruption function may call for replacement, for the stack to grant. */
export const REPLACEMENT_IAM_ACTIONS = {
  /** Resource "*": these have no resource-level permissions. */
  read: ["autoscaling:DescribeAutoScalingInstances", "autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeScalingActivities"],
  /** On this cluster's Auto Scaling groups only (their auto-discovery tag). */
  write: ["autoscaling:DetachInstances", "autoscaling:SetDesiredCapacity"],
  /** On this cluster's node groups. */
  nodegroupRead: ["eks:DescribeNodegroup"],
  /** On this cluster's instances: a detached instance EC2 never reclaimed. */
  terminate: ["ec2:TerminateInstances"],
} as const;

/** An instance's place in its Auto Scaling group (LifecycleState: InService, Pending, Terminating:Wait, Detaching, Standby, ...). */
export interface Membership {
  autoScalingGroup: string;
  lifecycleState: string;
}

export interface GroupState {
  name: string;
  min: number;
  max: number;
  desired: number;
  capacityRebalance: boolean;
  instances: { instanceId: string; lifecycleState: string }[];
  tags: Record<string, string>;
}

export interface NodegroupState {
  autoScalingGroups: string[];
  tags: Record<string, string>;
}

/** Lifecycle states of an instance that counts toward the group's desired capacity. */
export function countsTowardDesired(lifecycleState: string): boolean {
  return lifecycleState === "InService" || lifecycleState.startsWith("Pending");
}

/** "The instance i-... is not part of Auto Scaling group ..." / "... is not in InService or Standby". */
function notDetachable(error: unknown): "not-member" | "not-in-service" | undefined {
  const e = error as { name?: string; message?: string };
  if (e.name !== "ValidationError") return undefined;
  if (/not part of Auto Scaling group/i.test(e.message ?? "")) return "not-member";
  if (/not in InService or Standby/i.test(e.message ?? "")) return "not-in-service";
  return undefined;
}

export class AutoScalingGroups {
  constructor(
    private readonly autoscaling: AutoScalingClient,
    private readonly eks: EKSClient,
  ) {}

  /** The group the instance is a member of, or undefined when it is in none (never was, detached, or gone). */
  async membership(instanceId: string): Promise<Membership | undefined> {
    try {
      const answer = await this.autoscaling.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [instanceId] }));
      const found = (answer.AutoScalingInstances ?? []).find((i) => i.InstanceId === instanceId);
      return found?.AutoScalingGroupName ? { autoScalingGroup: found.AutoScalingGroupName, lifecycleState: found.LifecycleState ?? "Unknown" } : undefined;
    } catch (error) {
      throw awsFailure(`autoscaling:DescribeAutoScalingInstances ${instanceId}`, error);
    }
  }

  /** The group, or undefined when Auto Scaling does not know it. */
  async group(name: string): Promise<GroupState | undefined> {
    try {
      const answer = await this.autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }));
      const group = (answer.AutoScalingGroups ?? []).find((g) => g.AutoScalingGroupName === name);
      if (!group) return undefined;
      return {
        name,
        min: group.MinSize ?? 0,
        max: group.MaxSize ?? 0,
        desired: group.DesiredCapacity ?? 0,
        capacityRebalance: group.CapacityRebalance === true,
        instances: (group.Instances ?? []).map((i) => ({ instanceId: i.InstanceId ?? "", lifecycleState: i.LifecycleState ?? "Unknown" })),
        tags: Object.fromEntries((group.Tags ?? []).map((t) => [t.Key ?? "", t.Value ?? ""])),
      };
    } catch (error) {
      throw awsFailure(`autoscaling:DescribeAutoScalingGroups ${name}`, error);
    }
  }

  /** A managed node group's Auto Scaling groups and tags, or undefined when EKS does not know it. */
  async nodegroup(clusterName: string, nodegroupName: string): Promise<NodegroupState | undefined> {
    try {
      const answer = await this.eks.send(new DescribeNodegroupCommand({ clusterName, nodegroupName }));
      const group = answer.nodegroup;
      if (!group) return undefined;
      return { autoScalingGroups: (group.resources?.autoScalingGroups ?? []).map((g) => g.name ?? "").filter(Boolean), tags: group.tags ?? {} };
    } catch (error) {
      if ((error as { name?: string }).name === "ResourceNotFoundException") return undefined;
      throw awsFailure(`eks:DescribeNodegroup ${nodegroupName}`, error);
    }
  }

  /** Failed launches within the window whose message names one of the reasons (newest first, one page). */
  async capacityFailures(autoScalingGroup: string, since: number, reasons: readonly string[]): Promise<string[]> {
    try {
      const answer = await this.autoscaling.send(new DescribeScalingActivitiesCommand({ AutoScalingGroupName: autoScalingGroup, MaxRecords: 50 }));
      const found: string[] = [];
      for (const activity of answer.Activities ?? []) {
        if (activity.StatusCode !== "Failed" || !activity.StartTime || activity.StartTime.getTime() < since) continue;
        const message = (activity.StatusMessage ?? activity.Description ?? "").toLowerCase();
        const reason = reasons.find((r) => message.includes(r.toLowerCase()));
        if (reason) found.push(reason);
      }
      return found;
    } catch (error) {
      throw awsFailure(`autoscaling:DescribeScalingActivities ${autoScalingGroup}`, error);
    }
  }

  /**
   * Takes the instance out of its group. Without decrementing desired the group launches a
   * replacement at once; the instance itself keeps running until EC2 reclaims it. An instance no
   * longer a member (an earlier request detached it) is `not-member`; one that is launching,
   * terminating or detaching already is `not-in-service`.
   */
  async detach(autoScalingGroup: string, instanceId: string, decrementDesired: boolean): Promise<"detached" | "not-member" | "not-in-service"> {
    try {
      await this.autoscaling.send(new DetachInstancesCommand({ AutoScalingGroupName: autoScalingGroup, InstanceIds: [instanceId], ShouldDecrementDesiredCapacity: decrementDesired }));
      return "detached";
    } catch (error) {
      const why = notDetachable(error);
      if (why) return why;
      throw awsFailure(`autoscaling:DetachInstances ${instanceId} from ${autoScalingGroup}`, error);
    }
  }

  /** Sets the group's desired capacity (the group launches or terminates to match, as for cluster-autoscaler's own calls). */
  async setDesired(autoScalingGroup: string, desired: number): Promise<void> {
    try {
      await this.autoscaling.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: autoScalingGroup, DesiredCapacity: desired, HonorCooldown: false }));
    } catch (error) {
      throw awsFailure(`autoscaling:SetDesiredCapacity ${autoScalingGroup} to ${desired}`, error);
    }
  }
}
