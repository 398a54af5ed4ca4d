/** What EC2 says about an instance, and whether it belongs to the configured cluster. */
import { DescribeInstancesCommand, TerminateInstancesCommand, type EC2Client, type Instance } from "@aws-sdk/client-ec2";
import { CLUSTER_TAGS } from "../constants";
import { awsFailure } from "./errors";

export interface InstanceInfo {
  instanceId: string;
  privateDnsName: string;
  state: string;
  /** `spot` for spot instances, `on-demand` otherwise (EC2 omits InstanceLifecycle for on-demand). */
  lifecycle: string;
  availabilityZone: string;
  instanceType: string;
  tags: Record<string, string>;
  autoScalingGroup?: string;
  /** When the instance last started (EC2 moves it on every start from stopped). */
  launchTime?: Date;
}

const NOT_FOUND = new Set(["InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed"]);

function toInfo(instance: Instance): InstanceInfo {
  const tags = Object.fromEntries((instance.Tags ?? []).filter((t) => t.Key).map((t) => [t.Key as string, t.Value ?? ""]));
  const asg = tags["aws:autoscaling:groupName"];
  return {
    instanceId: instance.InstanceId ?? "",
    privateDnsName: instance.PrivateDnsName ?? "",
    state: instance.State?.Name ?? "unknown",
    lifecycle: instance.InstanceLifecycle ?? "on-demand",
    availabilityZone: instance.Placement?.AvailabilityZone ?? "",
    instanceType: instance.InstanceType ?? "",
    tags,
    ...(asg ? { autoScalingGroup: asg } : {}),
    ...(instance.LaunchTime ? { launchTime: new Date(instance.LaunchTime) } : {}),
  };
}

export class InstanceDirectory {
  constructor(private readonly ec2: EC2Client) {}

  /** Terminates the instance; "gone" when EC2 no longer knows it. */
  terminate(instanceId: string): Promise<"terminating" | "gone"> {
    return terminateInstance(this.ec2, instanceId);
  }

  /** The instance, or undefined when EC2 does not know it (gone long ago, or never existed). */
  async describe(instanceId: string): Promise<InstanceInfo | undefined> {
    try {
      const answer = await this.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
      const instance = answer.Reservations?.flatMap((r) => r.Instances ?? []).find((i) => i.InstanceId === instanceId);
      return instance ? toInfo(instance) : undefined;
    } catch (error) {
      const name = (error as { name?: string }).name ?? "";
      if (NOT_FOUND.has(name)) return undefined;
      throw awsFailure(`ec2:DescribeInstances ${instanceId}`, error);
    }
  }
}

/** Terminates one instance ("gone" when EC2 no longer knows it). */
export async function terminateInstance(ec2: EC2Client, instanceId: string): Promise<"terminating" | "gone"> {
  try {
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
    return "terminating";
  } catch (error) {
    if (NOT_FOUND.has((error as { name?: string }).name ?? "")) return "gone";
    throw awsFailure(`ec2:TerminateInstances ${instanceId}`, error);
  }
}

/** Membership by the tags EKS and the Kubernetes AWS integration put on cluster instances. */
export function belongsToCluster(instance: InstanceInfo, clusterName: string): boolean {
  const tags = instance.tags;
  if (tags[CLUSTER_TAGS.eksClusterName] === clusterName || tags[CLUSTER_TAGS.awsEksClusterPrefix] === clusterName) return true;
  const value = tags[`${CLUSTER_TAGS.kubernetesClusterPrefix}${clusterName}`];
  return value === "owned" || value === "shared";
}
