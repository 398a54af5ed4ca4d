/** Tag keys, metric names and defaults of the capacity manager, named once. */

/**
 * The manager's memory between invocations, kept as tags on the groups it changes: written
 * together with each change (before it, so a failed change is retried from the recorded intent),
 * visible to operators, and needing no store of its own.
 */
export const CAPACITY_TAGS = {
  /** On the on-demand group: when the spot fallback started (ISO 8601); absent when none is active. */
  fallbackSince: "spot-manager/fallback-since",
  /** On the on-demand group: instances held above its schedule for the fallback. */
  fallbackExtra: "spot-manager/fallback-extra",
  /** On the on-demand group: since when its spot groups have been short (desired above in service). */
  shortfallSince: "spot-manager/shortfall-since",
  /** On the on-demand group, during a fallback: since when spot has been healthy again. */
  healthySince: "spot-manager/healthy-since",
  /** On the on-demand group, during the return: when the fallback floor was last lowered. */
  lastStepDown: "spot-manager/fallback-step-down-at",
  /**
   * On the on-demand group: the last fallback transition published, `start@<fallback-since>`;
   * removed once that fallback's end is published. Written only after the publish went through,
   * so a transition whose change failed is published once the change is made, and only once.
   */
  announced: "spot-manager/fallback-announced",
  /** On any group: the window opening whose desired floor was last applied (`<window>@<opened at>`). */
  window: "spot-manager/window",
} as const;

export const FALLBACK_TAG_KEYS = [CAPACITY_TAGS.fallbackSince, CAPACITY_TAGS.fallbackExtra, CAPACITY_TAGS.shortfallSince, CAPACITY_TAGS.healthySince, CAPACITY_TAGS.lastStepDown] as const;

/** Tags the observer keeps from a group: only the manager's own. */
export const CAPACITY_TAG_PREFIX = "spot-manager/";

/** Metric names the capacity function emits (namespace SpotManager). */
export const CAPACITY_METRICS = {
  /** Changes sent, by group and kind (min, max, desired, tags). */
  actionsApplied: "CapacityActionsApplied",
  /** Groups that could not be read, planned or changed this run, by group. */
  groupFailures: "CapacityGroupFailures",
  /** Instances the on-demand group holds above its schedule for the spot fallback, by group. */
  fallbackExtra: "FallbackExtraInstances",
  /** Fallback starts and ends, by group and phase. */
  fallbackTransitions: "FallbackTransitions",
} as const;

/** The interruption function's service dimension on the SpotInterruptions metric. */
export const INTERRUPTION_SERVICE = "spot-manager-interruption";

/**
 * Minutes desired must stay above in service before spot counts as short. Shorter than
 * cluster-autoscaler's max-node-provision-time (10 minutes in the Cluster stack) minus a run
 * interval, so the shortfall is seen before CA gives the missing nodes up.
 */
export const DEFAULT_SHORTFALL_MINUTES = 5;

/** Scaling-activity status messages that mean spot ran out (EC2 error codes). */
export const DEFAULT_CAPACITY_FAILURE_REASONS = ["InsufficientInstanceCapacity", "UnfulfillableCapacity", "MaxSpotInstanceCountExceeded"] as const;

/** EKS managed node group states in which an update is refused for now; the group is left for the next run. */
export const BUSY_NODEGROUP_STATES = ["CREATING", "UPDATING"] as const;

/** EKS managed node group states in which the group cannot be managed at all. */
export const BROKEN_NODEGROUP_STATES = ["DELETING", "CREATE_FAILED", "DELETE_FAILED"] as const;

/**
 * What the capacity function is allowed to do, for the stack to grant: reads without
 * resource-level scoping, writes only on the configured node groups and self-managed Auto Scaling
 * groups (never on the Auto Scaling groups EKS runs managed node groups on).
 */
export const CAPACITY_IAM_ACTIONS = {
  /** Resource "*": these actions have no resource-level permissions (DescribeNodegroup: the node group ARN). */
  read: ["eks:DescribeNodegroup", "autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeScalingActivities", "cloudwatch:GetMetricData"],
  /** On the managed node groups' ARNs. */
  nodegroupWrite: ["eks:UpdateNodegroupConfig", "eks:TagResource", "eks:UntagResource"],
  /** On the self-managed Auto Scaling groups' ARNs. */
  autoScalingGroupWrite: ["autoscaling:UpdateAutoScalingGroup", "autoscaling:SetDesiredCapacity", "autoscaling:CreateOrUpdateTags", "autoscaling:DeleteTags"],
  /** On the notification topic. */
  notify: ["sns:Publish"],
} as const;
