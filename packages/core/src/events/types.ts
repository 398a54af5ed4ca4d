/** The one normalized shape every signal is turned into. */

export type InterruptionKind =
  | "spot-interruption"
  | "rebalance-recommendation"
  | "asg-terminate"
  | "asg-launch"
  | "state-change"
  | "scheduled-change";

export const INTERRUPTION_KINDS: readonly InterruptionKind[] = [
  "spot-interruption",
  "rebalance-recommendation",
  "asg-terminate",
  "asg-launch",
  "state-change",
  "scheduled-change",
];

export interface LifecycleDetails {
  hookName: string;
  asgName: string;
  token: string;
  transition: "autoscaling:EC2_INSTANCE_TERMINATING" | "autoscaling:EC2_INSTANCE_LAUNCHING";
  metadata?: string;
  origin?: string;
  destination?: string;
}

export interface ScheduledChangeDetails {
  eventArn: string;
  eventTypeCode: string;
  startTime: Date;
  endTime?: Date;
  description?: string;
}

export type InstanceState = "pending" | "running" | "stopping" | "stopped" | "shutting-down" | "terminated";

export interface InterruptionEvent {
  kind: InterruptionKind;
  /** EventBridge event id: unique per event, the key for idempotency (it goes into the taint). */
  eventId: string;
  instanceId: string;
  /** When the signal was emitted (envelope `time`). */
  time: Date;
  /** When the instance goes away or the maintenance starts, if the signal says. */
  deadline?: Date;
  region: string;
  account: string;
  source: string;
  detailType: string;
  spotAction?: "terminate" | "stop" | "hibernate";
  lifecycle?: LifecycleDetails;
  state?: InstanceState;
  scheduled?: ScheduledChangeDetails;
  /** A drill's synthetic signal (source `spot-manager.drill`, or a direct invoke marked as a drill): metrics, notifications and outcome events say so. */
  drill?: boolean;
}

/** Work the pipeline schedules for later: it arrives through the same queue. */
export type FollowUpAction = "drain-for-maintenance" | "remove-rebalance-taint" | "check-launch-ready" | "continue-drain" | "check-restarted" | "check-reclaimed";

export interface FollowUp {
  action: FollowUpAction;
  event: InterruptionEvent;
  /** When the follow-up is due; earlier deliveries are put back until then. */
  due: Date;
  attempt: number;
}

export type ParsedMessage = { type: "signal"; events: InterruptionEvent[] } | { type: "follow-up"; followUp: FollowUp };

/** Spot capacity is reclaimed two minutes after the warning. */
export const SPOT_WARNING_SECONDS = 120;
