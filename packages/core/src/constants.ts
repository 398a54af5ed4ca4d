/** Every taint, label, annotation, event reason and metric name the product uses, named once. */

export const PRODUCT = "spot-manager";

export type TaintEffect = "NoSchedule" | "PreferNoSchedule" | "NoExecute";

/** Taint keys per style: our own, or aws-node-termination-handler's so existing tolerations keep working. */
export const TAINT_KEYS = {
  "spot-manager": {
    spotInterruption: "spot-manager/spot-itn",
    rebalance: "spot-manager/rebalance",
    asgTermination: "spot-manager/asg-termination",
    scheduledMaintenance: "spot-manager/scheduled-maintenance",
    instanceStopping: "spot-manager/instance-stopping",
  },
  nth: {
    spotInterruption: "aws-node-termination-handler/spot-itn",
    rebalance: "aws-node-termination-handler/rebalance-recommendation",
    asgTermination: "aws-node-termination-handler/asg-lifecycle-termination",
    scheduledMaintenance: "aws-node-termination-handler/scheduled-maintenance",
    // NTH sets no taint for instance state changes (ec2-state-change-event.go has no pre-drain
    // task): it cordons and drains. Ours keeps that: a stop never counts as a spot interruption
    instanceStopping: undefined,
  },
} as const;

export type TaintStyle = keyof typeof TAINT_KEYS;
export type TaintPurpose = keyof (typeof TAINT_KEYS)["spot-manager"];

/** Every taint key spot-manager may set that means the node is going away or down. */
export const PROTECTIVE_TAINT_KEYS: readonly string[] = Object.values(TAINT_KEYS).flatMap((keys) => {
  const candidates: (string | undefined)[] = [keys.spotInterruption, keys.asgTermination, keys.scheduledMaintenance, keys.instanceStopping];
  return candidates.filter((k): k is string => k !== undefined);
});

/** Set by the node lifecycle controller's out-of-service flow; lets stateful pods move after shutdown. */
export const OUT_OF_SERVICE_TAINT = { key: "node.kubernetes.io/out-of-service", value: "nodeshutdown", effect: "NoExecute" as const };

/** The taint spot nodes carry from launch (PreferNoSchedule): workloads must opt in to spot. */
export const SPOT_NODE_TAINT = { key: "spot-manager/lifecycle", value: "spot", effect: "PreferNoSchedule" as const };

export const LABELS = {
  hostname: "kubernetes.io/hostname",
  lifecycle: "spot-manager/lifecycle",
  capacityType: "eks.amazonaws.com/capacityType",
  nodegroup: "eks.amazonaws.com/nodegroup",
  zone: "topology.kubernetes.io/zone",
  instanceType: "node.kubernetes.io/instance-type",
} as const;

export const ANNOTATIONS = {
  mirrorPod: "kubernetes.io/config.mirror",
  /** Pods carrying this annotation "true" are left alone by a drain. */
  skipDrain: "spot-manager/skip-drain",
  /** Records on the node what is under way, for operators and for resumed runs. */
  action: "spot-manager/action",
  /** The node's ledger of events acted on it (`<kind>/<event id>#<attempt>`): a duplicate delivery finds itself there. */
  ledger: "spot-manager/events",
  /**
   * The replacement requested for the node's instance (`<event id> <mechanism> <group> <ISO time> <status>`):
   * written before the request is sent, so a redelivery never asks twice, and counted against the group's maximum.
   */
  replacement: "spot-manager/replacement",
} as const;

/** EC2 tags that tie an instance to a cluster (EKS managed node groups and self-managed nodes). */
export const CLUSTER_TAGS = {
  eksClusterName: "eks:cluster-name",
  kubernetesClusterPrefix: "kubernetes.io/cluster/",
  awsEksClusterPrefix: "aws:eks:cluster-name",
} as const;

/** Reasons of the Kubernetes Events written on nodes and pods. */
export const EVENT_REASONS = {
  spotInterruption: "SpotInterruption",
  rebalanceRecommendation: "RebalanceRecommendation",
  asgTermination: "ASGLifecycleTermination",
  asgLaunch: "ASGLifecycleLaunch",
  instanceStopping: "InstanceStopping",
  instanceTerminated: "InstanceTerminated",
  scheduledMaintenance: "ScheduledMaintenance",
  cordoned: "Cordoned",
  taintRemoved: "TaintRemoved",
  drainStarted: "DrainStarted",
  drainSucceeded: "DrainSucceeded",
  drainIncomplete: "DrainIncomplete",
  deadlineMissed: "DeadlineMissed",
  evicted: "Evicted",
  forceDeleted: "ForceDeleted",
  evictionBlocked: "EvictionBlocked",
  outOfService: "OutOfService",
  instanceRestarted: "InstanceRestarted",
  replacementRequested: "ReplacementRequested",
  replacementFailed: "ReplacementFailed",
  detachedInstanceTerminated: "DetachedInstanceTerminated",
} as const;

export const METRICS = {
  eventsReceived: "EventsReceived",
  eventsIgnored: "EventsIgnored",
  nodesCordoned: "NodesCordoned",
  podsEvicted: "PodsEvicted",
  podsForceDeleted: "PodsForceDeleted",
  evictionsBlockedByPdb: "EvictionsBlockedByPdb",
  drainSeconds: "DrainSeconds",
  secondsLeftAtFinish: "SecondsLeftAtFinish",
  deadlineMisses: "DeadlineMisses",
  lifecycleActionsCompleted: "LifecycleActionsCompleted",
  recordsRetried: "RecordsRetried",
  /** Spot interruption warnings per capacity group (node group or ASG), read by the capacity manager. */
  spotInterruptions: "SpotInterruptions",
  /** In-service instances per capacity group and capacity type, reported by the capacity manager. */
  groupInService: "GroupInServiceInstances",
  /** Invocations an event took, counted when its work is over (a long drain continues in follow-ups). */
  invocationsPerEvent: "InvocationsPerEvent",
  /** Records sent straight to the dead-letter queue: a dependency refused for good. */
  recordsDeadLettered: "RecordsDeadLettered",
  /** Pods a drain left on the node (refused, blocked, stuck), by kind. */
  podsLeft: "PodsLeft",
  /** Replacement capacity requested at a warning, by group and mechanism. */
  replacementsRequested: "ReplacementsRequested",
  /** Replacement requests AWS refused or that could not be sent, by group. */
  replacementsFailed: "ReplacementsFailed",
  /** Pods kept on a doomed node until room appeared elsewhere (the replacement), and for how long. */
  podsHeldForRoom: "PodsHeldForRoom",
  /** Detached instances EC2 had not reclaimed long after their warning, terminated so the count ends right. */
  detachedInstancesTerminated: "DetachedInstancesTerminated",
} as const;

export const METRICS_NAMESPACE = "SpotManager";
