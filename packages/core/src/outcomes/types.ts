/**
 * What spot-manager tells the world it did, as EventBridge events (source `spot-manager`): one
 * detail-type per outcome, each with a JSON Schema under schemas/outcomes in the repository. The
 * interfaces here are the detail each event carries; the schemas are the published contract.
 */
import type { InterruptionKind } from "../events/types";

/** The source of every outcome event. */
export const OUTCOME_SOURCE = "spot-manager";

/** The detail-type of each outcome event. */
export const OUTCOME_DETAIL_TYPES = {
  nodeProtected: "Node Protected",
  drainFinished: "Drain Finished",
  lifecycleActionCompleted: "Lifecycle Action Completed",
  replacementRequested: "Replacement Requested",
  capacityFallbackStarted: "Capacity Fallback Started",
  capacityFallbackEnded: "Capacity Fallback Ended",
  buildStarted: "Build Started",
  buildFinished: "Build Finished",
} as const;

export type OutcomeDetailType = (typeof OUTCOME_DETAIL_TYPES)[keyof typeof OUTCOME_DETAIL_TYPES];

/** What PutEvents takes as EventBusName: a bus name, or a bus ARN (another account's bus too). */
export const EVENT_BUS_NAME_OR_ARN = /^(arn:aws[\w-]*:events:[a-z]{2}-[a-z]+-[\w-]+:[0-9]{12}:event-bus\/)?[.\-_A-Za-z0-9]{1,256}$/;

/** The environment variable the functions read their outcome bus from (a name or an ARN). */
export const OUTCOME_BUS_ENV = "OUTCOME_EVENT_BUS";

/** Metrics about publishing outcome events. */
export const OUTCOME_METRICS = {
  /** Outcome events EventBridge accepted, by detail-type. */
  published: "OutcomeEventsPublished",
  /** Outcome events not published (after the retries a throttled or failed entry gets), by reason. */
  failed: "OutcomeEventsFailed",
} as const;

/** The signal an interruption outcome answers: which event, of which kind, from where. */
export interface SignalRef {
  /** The EventBridge id of the signal (the key of spot-manager's idempotency). */
  eventId: string;
  kind: InterruptionKind;
  /** `aws.ec2`, `aws.autoscaling`, `aws.health`, or `spot-manager.drill` for a drill. */
  source: string;
  detailType: string;
  /** When the signal was emitted (ISO 8601). */
  time: string;
}

/** Fields every interruption outcome carries. */
export interface InterruptionOutcomeBase {
  cluster: string;
  instanceId: string;
  node?: string;
  /** The node group (EKS managed) or Auto Scaling group of the instance, when known. */
  group?: string;
  signal: SignalRef;
  /** True for a drill (`spot-manager drill`): the signal was synthetic. */
  drill: boolean;
}

export interface NodeProtectedDetail extends InterruptionOutcomeBase {
  node: string;
  /** The taint now on the node for this signal, if the policy sets one. */
  taint: { key: string; value: string; effect: string } | null;
  /** Whether the node is cordoned (unschedulable) for this signal. */
  cordoned: boolean;
  /** When the instance goes away or the maintenance starts (ISO 8601), if the signal says. */
  deadline?: string;
}

export interface LeftPodDetail {
  /** namespace/name */
  pod: string;
  reason: string;
  why: string;
}

export interface DrainFinishedDetail extends InterruptionOutcomeBase {
  node: string;
  /** Nothing that must leave the node is left on it. */
  complete: boolean;
  /** Pods evicted through the Eviction API. */
  podsEvicted: number;
  /** Pods deleted at the deadline by the deadline policy (grace 0). */
  podsDeleted: number;
  /** Pods still on the node that should have left. */
  podsLeft: number;
  /** Each pod left, with why (the first ones, when very many are left: see `truncated`). */
  left: LeftPodDetail[];
  /** Evictions a PodDisruptionBudget refused along the way (429). */
  evictionsBlockedByPdb: number;
  /** The instant the drain had to be over by (ISO 8601). */
  deadline: string;
  /** Complete, before the deadline. */
  deadlineMet: boolean;
  /** Seconds between the drain's end and the deadline (negative: after it). */
  secondsLeft: number;
  /** Seconds the last invocation's drain took. */
  drainSeconds: number;
  /** Invocations the drain took (a long drain continues in follow-ups). */
  invocations: number;
  finishedAt: string;
  /** Lists cut short to keep the event within EventBridge's 256 KB: field -> how many items it had. */
  truncated?: Record<string, number>;
}

export interface LifecycleActionCompletedDetail extends InterruptionOutcomeBase {
  autoScalingGroup: string;
  hookName: string;
  transition: "autoscaling:EC2_INSTANCE_TERMINATING" | "autoscaling:EC2_INSTANCE_LAUNCHING";
  result: "CONTINUE" | "ABANDON";
  /** Why this result, e.g. `drained`, `node Ready`, `not Ready after 600 s`, `nothing to drain (instance terminated)`. */
  why: string;
  /** For a terminate hook that drained: whether the drain was complete. */
  drainComplete?: boolean;
}

/** Replacement capacity asked for at a warning (see `ActionRunner.replacementRequested`). */
export interface ReplacementRequest {
  /** The node group or Auto Scaling group asked (`group` is the instance's own; they differ on an on-demand fallback). */
  replacementGroup: string;
  /** The Auto Scaling group the request went to (for a managed node group, the one EKS runs it on). */
  autoScalingGroup: string;
  /**
   * `detach`: the instance left its group, desired kept, so the group launches its replacement now;
   * `detach-after-raise`: detached with desired lowered, after a rebalance recommendation raised it;
   * `raise-desired`: desired raised by one (rebalance recommendation, group without capacity rebalancing);
   * `on-demand-fallback`: the on-demand group's desired raised by one because spot was short.
   */
  mechanism: "detach" | "detach-after-raise" | "raise-desired" | "on-demand-fallback";
  /** The replacement comes from the fallback (on-demand) group because the instance's own group was short. */
  fallback: boolean;
  /** The group's desired capacity before and after, when the mechanism changed it. */
  desiredBefore?: number;
  desiredAfter?: number;
  reason: string;
  /** When the request was sent. */
  requestedAt: string;
}

export interface ReplacementRequestedDetail extends InterruptionOutcomeBase, ReplacementRequest {}

export interface CapacityFallbackDetail {
  cluster: string;
  /** The same for every publication of one transition: `<cluster>/<group>/<phase>/<since>`. */
  id: string;
  onDemandGroup: string;
  spotGroups: string[];
  /** Instances the on-demand group holds above its schedule after the change. */
  extra: number;
  reason: string;
  /** When the fallback started (ISO 8601). */
  since: string;
}

export interface BuildDetail {
  project: string;
  /** The build's ARN. */
  buildId: string;
  buildNumber?: number;
  /** CodeBuild's status: IN_PROGRESS, SUCCEEDED, FAILED or STOPPED. */
  status: string;
  commit?: string;
  sourceVersion?: string;
  trigger?: string;
  branch?: string;
  initiator?: string;
  logUrl?: string;
  buildUrl?: string;
  /** The id of CodeBuild's Build State Change event this answers (consumers may drop repeats by it). */
  codeBuildEventId: string;
}

export interface BuildFinishedDetail extends BuildDetail {
  succeeded: boolean;
  /** The build failed on purpose: its commit does not descend from the one its environment runs. */
  refused: boolean;
  durationSeconds?: number;
  failedPhase?: { phase: string; status: string; context: string[] };
}

/** One outcome to publish: a detail-type and its detail. */
export interface OutcomeEvent {
  detailType: OutcomeDetailType;
  detail: object;
  /** ARNs the event is about (the instance, the group). */
  resources?: string[];
}
