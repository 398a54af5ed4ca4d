/**
 * The EventBridge patterns for the six signals, exactly as AWS emits them (source + detail-type,
 * with the detail filters that keep out what the function would only acknowledge).
 */
import {
  ASG_LAUNCH_DETAIL_TYPE,
  ASG_TERMINATE_DETAIL_TYPE,
  HEALTH_DETAIL_TYPE,
  REBALANCE_DETAIL_TYPE,
  SPOT_INTERRUPTION_DETAIL_TYPE,
  STATE_CHANGE_DETAIL_TYPE,
} from "@spot-manager/core";

export interface EventPattern {
  source: string[];
  "detail-type": string[];
  detail?: Record<string, unknown>;
}

export interface SignalRule {
  id: string;
  description: string;
  pattern: EventPattern;
}

/** Lifecycle hooks spot-manager completes are named with this prefix; other teams' hooks stay theirs. */
export const LIFECYCLE_HOOK_PREFIX = "spot-manager-";

export const SIGNAL_RULES: readonly SignalRule[] = [
  {
    id: "SpotInterruptionWarning",
    description: "EC2 Spot Instance Interruption Warning: drain before the two minutes run out",
    pattern: { source: ["aws.ec2"], "detail-type": [SPOT_INTERRUPTION_DETAIL_TYPE] },
  },
  {
    id: "RebalanceRecommendation",
    description: "EC2 Instance Rebalance Recommendation: taint PreferNoSchedule",
    pattern: { source: ["aws.ec2"], "detail-type": [REBALANCE_DETAIL_TYPE] },
  },
  {
    id: "AsgTerminateLifecycleAction",
    description: "EC2 Instance-terminate Lifecycle Action of spot-manager's hooks: drain, then CONTINUE",
    pattern: { source: ["aws.autoscaling"], "detail-type": [ASG_TERMINATE_DETAIL_TYPE], detail: { LifecycleHookName: [{ prefix: LIFECYCLE_HOOK_PREFIX }] } },
  },
  {
    id: "AsgLaunchLifecycleAction",
    description: "EC2 Instance-launch Lifecycle Action of spot-manager's hooks: CONTINUE once the node is Ready",
    pattern: { source: ["aws.autoscaling"], "detail-type": [ASG_LAUNCH_DETAIL_TYPE], detail: { LifecycleHookName: [{ prefix: LIFECYCLE_HOOK_PREFIX }] } },
  },
  {
    id: "InstanceStateChange",
    description: "EC2 Instance State-change Notification (stopping, shutting-down, terminated)",
    pattern: { source: ["aws.ec2"], "detail-type": [STATE_CHANGE_DETAIL_TYPE], detail: { state: ["stopping", "shutting-down", "terminated"] } },
  },
  {
    id: "HealthScheduledChange",
    description: "AWS Health scheduled changes for EC2 (maintenance, retirement)",
    pattern: { source: ["aws.health"], "detail-type": [HEALTH_DETAIL_TYPE], detail: { service: ["EC2"], eventTypeCategory: ["scheduledChange"] } },
  },
];
