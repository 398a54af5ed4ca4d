/**
 * Synthetic EventBridge events in exactly the shape AWS sends (see test/fixtures/events), for
 * drills and benchmarks. A drill's event keeps AWS's detail-type and detail but comes from the
 * drill source (`spot-manager.drill`), so everything spot-manager reports about it says "drill".
 */
import { randomUUID } from "node:crypto";
import { DRILL_SOURCE } from "./envelope";

export const DRILL_KINDS = ["spot-itn", "rebalance", "asg-terminate", "asg-launch", "stopping", "shutting-down", "terminated", "scheduled-change"] as const;
export type DrillKind = (typeof DRILL_KINDS)[number];

export interface SyntheticOptions {
  instanceId: string;
  now?: Date;
  region?: string;
  account?: string;
  id?: string;
  /** Auto Scaling details for asg-terminate / asg-launch. */
  lifecycle?: { asgName: string; hookName: string; token: string };
  /** When the scheduled maintenance starts (default: in 24 hours). */
  maintenanceStart?: Date;
  /** Comes from the drill source instead of AWS's. */
  drill?: boolean;
}

const isoSeconds = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, "Z");
const rfc1123 = (d: Date) => d.toUTCString();

/** Builds the event a real signal of that kind would be (from the drill source, for a drill). */
export function syntheticEvent(kind: DrillKind, options: SyntheticOptions): Record<string, unknown> {
  const event = awsShapedEvent(kind, options);
  return options.drill ? { ...event, source: DRILL_SOURCE } : event;
}

/** What PutEvents needs to put a synthetic event on a bus: EventBridge adds the id, account and region. */
export function putEventsEntry(event: Record<string, unknown>, eventBus = "default") {
  return {
    Source: String(event["source"]),
    DetailType: String(event["detail-type"]),
    Detail: JSON.stringify(event["detail"] ?? {}),
    Resources: (event["resources"] as string[] | undefined) ?? [],
    Time: new Date(String(event["time"])),
    EventBusName: eventBus,
  };
}

function awsShapedEvent(kind: DrillKind, options: SyntheticOptions): Record<string, unknown> {
  const now = options.now ?? new Date();
  const region = options.region ?? "us-east-1";
  const account = options.account ?? "000000000000";
  const base = { version: "0", id: options.id ?? randomUUID(), account, time: isoSeconds(now), region };
  const instanceArn = `arn:aws:ec2:${region}:${account}:instance/${options.instanceId}`;
  switch (kind) {
    case "spot-itn":
      return { ...base, "detail-type": "EC2 Spot Instance Interruption Warning", source: "aws.ec2", resources: [instanceArn], detail: { "instance-id": options.instanceId, "instance-action": "terminate" } };
    case "rebalance":
      return { ...base, "detail-type": "EC2 Instance Rebalance Recommendation", source: "aws.ec2", resources: [instanceArn], detail: { "instance-id": options.instanceId } };
    case "stopping":
    case "shutting-down":
    case "terminated":
      return { ...base, "detail-type": "EC2 Instance State-change Notification", source: "aws.ec2", resources: [instanceArn], detail: { "instance-id": options.instanceId, state: kind } };
    case "asg-terminate":
    case "asg-launch": {
      const lifecycle = options.lifecycle;
      if (!lifecycle) throw new Error(`${kind} needs the Auto Scaling group, hook name and lifecycle action token`);
      const terminate = kind === "asg-terminate";
      return {
        ...base,
        "detail-type": terminate ? "EC2 Instance-terminate Lifecycle Action" : "EC2 Instance-launch Lifecycle Action",
        source: "aws.autoscaling",
        resources: [`arn:aws:autoscaling:${region}:${account}:autoScalingGroup:00000000-0000-0000-0000-000000000000:autoScalingGroupName/${lifecycle.asgName}`],
        detail: {
          LifecycleActionToken: lifecycle.token,
          AutoScalingGroupName: lifecycle.asgName,
          LifecycleHookName: lifecycle.hookName,
          EC2InstanceId: options.instanceId,
          LifecycleTransition: terminate ? "autoscaling:EC2_INSTANCE_TERMINATING" : "autoscaling:EC2_INSTANCE_LAUNCHING",
          Origin: terminate ? "AutoScalingGroup" : "EC2",
          Destination: terminate ? "EC2" : "AutoScalingGroup",
        },
      };
    }
    case "scheduled-change": {
      const start = options.maintenanceStart ?? new Date(now.getTime() + 24 * 3600 * 1000);
      return {
        ...base,
        "detail-type": "AWS Health Event",
        source: "aws.health",
        resources: [options.instanceId],
        detail: {
          eventArn: `arn:aws:health:${region}::event/EC2/AWS_EC2_INSTANCE_REBOOT_MAINTENANCE_SCHEDULED/AWS_EC2_INSTANCE_REBOOT_MAINTENANCE_SCHEDULED_${base.id}`,
          service: "EC2",
          eventTypeCode: "AWS_EC2_INSTANCE_REBOOT_MAINTENANCE_SCHEDULED",
          eventTypeCategory: "scheduledChange",
          startTime: rfc1123(start),
          endTime: rfc1123(new Date(start.getTime() + 2 * 3600 * 1000)),
          eventDescription: [{ language: "en_US", latestDescription: "Drill: scheduled maintenance" }],
          affectedEntities: [{ entityValue: options.instanceId }],
        },
      };
    }
  }
}
