/** What the pipeline works with: injected clients and ports, and the invocation's time limit. */
import type { FollowUpScheduler } from "../aws/follow-ups";
import type { CapacityPolicy } from "../capacity/policy";
import type { InstanceDirectory } from "../aws/instances";
import type { LifecycleActions } from "../aws/lifecycle";
import type { Notifier } from "../aws/notifier";
import type { DrainReport } from "../drain/drain";
import type { KubeApi } from "../kube/api";
import type { EventRecorder } from "../kube/recorder";
import type { Log, Metrics } from "../observability";
import type { OutcomePublisher } from "../outcomes/publisher";
import type { Policy } from "../policy/policy";
import type { CordonFirstTicket } from "./cordon-first";
import type { AutoScalingGroups } from "../replacement/groups";
import type { ReplacementReport, ReplacementRequested } from "../replacement/replacement";

export interface PipelineDeps {
  clusterName: string;
  policy: Policy;
  kube: KubeApi;
  instances: InstanceDirectory;
  lifecycle: LifecycleActions;
  notifier: Notifier;
  /** Outcome events (Node Protected, Drain Finished, ...) on the stage's event bus. */
  outcomes: OutcomePublisher;
  followUps: FollowUpScheduler;
  recorder: EventRecorder;
  log: Log;
  metrics: Metrics;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
  /** Auto Scaling and EKS node groups, for replacement capacity; without it no replacement is requested. */
  groups?: AutoScalingGroups;
  /** The capacity policy, whose fallback rules say when a spot group is short and which on-demand group covers it. */
  capacityPolicy?: CapacityPolicy;
  /** Told once per replacement actually requested (the outcome event's port); a failure is logged, never fatal. */
  onReplacementRequested?: (requested: ReplacementRequested) => Promise<void> | void;
}

export interface Invocation {
  /** Epoch ms at which the function is stopped (Lambda: now + remaining time). */
  deadline: number;
  /**
   * How often the queue has delivered this message (SQS ApproximateReceiveCount; 1 for a direct
   * invoke). Above 1 the earlier receive did not finish, so its work is resumed, not taken for a duplicate.
   */
  receiveCount?: number;
  /** This record's place in its batch's cordon-first round (every node of a batch protected before any drain starts). */
  cordonFirst?: CordonFirstTicket;
}

/** `continuing`: the drain outlived this invocation and goes on in a follow-up message. */
export type ActionOutcome = "done" | "skipped" | "scheduled" | "continuing" | "dry-run";

/** What was done for one instance of one event, for logs, notifications and the simulation report. */
export interface ActionReport {
  eventId: string;
  kind: string;
  instanceId: string;
  node?: string;
  outcome: ActionOutcome;
  reason?: string;
  /** What was done (or, in a dry run, would be done), in order. */
  steps: string[];
  startedAt: number;
  finishedAt: number;
  /** When the instance goes (or the maintenance starts). */
  deadline?: number;
  secondsLeft?: number;
  deadlineMet?: boolean;
  /** When the node was cordoned, and after how many API requests past resolution. */
  cordonedAt?: number;
  requestsToCordon?: number;
  drain?: DrainReport;
  /** Replacement capacity asked for (or why none was), when the policy asks for it on this signal. */
  replacement?: ReplacementReport;
  kubeRequests: number;
  dryRun: boolean;
  /** Invocations that have worked on this event so far, this one included (a drain continued in follow-ups takes several). */
  invocations: number;
}

/** A Log that adds the action's identity (event id, instance, node) to every line. */
export function contextualLog(log: Log, context: Record<string, unknown>): Log {
  return {
    debug: (m, e) => log.debug(m, { ...context, ...e }),
    info: (m, e) => log.info(m, { ...context, ...e }),
    warn: (m, e) => log.warn(m, { ...context, ...e }),
    error: (m, e) => log.error(m, { ...context, ...e }),
  };
}
