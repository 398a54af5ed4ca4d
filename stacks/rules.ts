/**
 * The EventBridge patterns for the six signals, exactly as AWS emits them (source + detail-type,
 * with the detail filters that keep out what the function would only acknowledge). Each also
 * matches the drill source with the same detail-type and filters, and no other source, so a drill
 * put on the bus takes the path a real signal takes (unless the stage turns drills off there).
 */
import {
  ASG_LAUNCH_DETAIL_TYPE,
  ASG_TERMINATE_DETAIL_TYPE,
  DRILL_SOURCE,
  HEALTH_DETAIL_TYPE,
  REBALANCE_DETAIL_TYPE,
  SPOT_INTERRUPTION_DETAIL_TYPE,
  STATE_CHANGE_DETAIL_TYPE,
} from "@spot-manager/core";
import type { SignalRuleId } from "./names";

export interface EventPattern {
  source: string[];
  "detail-type": string[];
  detail?: Record<string, unknown>;
}

export interface SignalRule {
  id: SignalRuleId;
  description: string;
  pattern: EventPattern;
  /** How long EventBridge keeps retrying delivery to the queue before the event goes to the undelivered-events queue. */
  maxEventAgeSeconds: number;
}

/** Instance signals are moot within the hour (a spot warning within two minutes). */
const INSTANCE_SIGNAL_AGE = 3600;

/** Lifecycle hooks spot-manager completes are named with this prefix; other teams' hooks stay theirs. */
export const LIFECYCLE_HOOK_PREFIX = "spot-manager-";

const AWS_SIGNAL_RULES: readonly SignalRule[] = [
  {
    id: "SpotInterruptionWarning",
    description: "EC2 Spot Instance Interruption Warning: drain before the two minutes run out",
    pattern: { source: ["aws.ec2"], "detail-type": [SPOT_INTERRUPTION_DETAIL_TYPE] },
    maxEventAgeSeconds: INSTANCE_SIGNAL_AGE,
  },
  {
    id: "RebalanceRecommendation",
    description: "EC2 Instance Rebalance Recommendation: taint PreferNoSchedule",
    pattern: { source: ["aws.ec2"], "detail-type": [REBALANCE_DETAIL_TYPE] },
    maxEventAgeSeconds: INSTANCE_SIGNAL_AGE,
  },
  {
    id: "AsgTerminateLifecycleAction",
    description: "EC2 Instance-terminate Lifecycle Action of spot-manager's hooks: drain, then CONTINUE",
    pattern: { source: ["aws.autoscaling"], "detail-type": [ASG_TERMINATE_DETAIL_TYPE], detail: { LifecycleHookName: [{ prefix: LIFECYCLE_HOOK_PREFIX }] } },
    maxEventAgeSeconds: INSTANCE_SIGNAL_AGE,
  },
  {
    id: "AsgLaunchLifecycleAction",
    description: "EC2 Instance-launch Lifecycle Action of spot-manager's hooks: CONTINUE once the node is Ready",
    pattern: { source: ["aws.autoscaling"], "detail-type": [ASG_LAUNCH_DETAIL_TYPE], detail: { LifecycleHookName: [{ prefix: LIFECYCLE_HOOK_PREFIX }] } },
    maxEventAgeSeconds: INSTANCE_SIGNAL_AGE,
  },
  {
    id: "InstanceStateChange",
    description: "EC2 Instance State-change Notification (stopping, shutting-down, terminated)",
    pattern: { source: ["aws.ec2"], "detail-type": [STATE_CHANGE_DETAIL_TYPE], detail: { state: ["stopping", "shutting-down", "terminated"] } },
    maxEventAgeSeconds: INSTANCE_SIGNAL_AGE,
  },
  {
    id: "HealthScheduledChange",
    description: "AWS Health scheduled changes for EC2 (maintenance, retirement)",
    pattern: { source: ["aws.health"], "detail-type": [HEALTH_DETAIL_TYPE], detail: { service: ["EC2"], eventTypeCategory: ["scheduledChange"] } },
    // maintenance is announced days ahead: worth a day of retries (EventBridge's own maximum)
    maxEventAgeSeconds: 24 * 3600,
  },
];

/** The rules as deployed: AWS's source first, then the drill source (left out when `drills` is false). */
export function signalRules(options: { drills: boolean }): SignalRule[] {
  return AWS_SIGNAL_RULES.map((rule) => ({ ...rule, pattern: { ...rule.pattern, source: options.drills ? [...rule.pattern.source, DRILL_SOURCE] : [...rule.pattern.source] } }));
}

/** The rules of a stage with the default settings (drills through EventBridge on). */
export const SIGNAL_RULES: readonly SignalRule[] = signalRules({ drills: true });
