/**
 * The outcome events of the interruption path, built from what an action did: the node protected,
 * the drain finished, the lifecycle action completed, replacement capacity requested. Pure: the
 * runner decides when one is due (once per event, never in a dry run) and publishes it.
 */
import type { DrainReport } from "../drain/drain";
import type { InterruptionEvent } from "../events/types";
import type { Taint } from "../kube/types";
import {
  OUTCOME_DETAIL_TYPES,
  type DrainFinishedDetail,
  type InterruptionOutcomeBase,
  type LifecycleActionCompletedDetail,
  type NodeProtectedDetail,
  type OutcomeEvent,
  type ReplacementRequest,
  type ReplacementRequestedDetail,
  type SignalRef,
} from "./types";

const iso = (ms: number) => new Date(ms).toISOString();

/** The partition of a region: aws-cn for China, aws-us-gov for GovCloud, else aws. */
export function partitionOf(region: string): string {
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  return "aws";
}

export function signalRef(event: InterruptionEvent): SignalRef {
  return { eventId: event.eventId, kind: event.kind, source: event.source, detailType: event.detailType, time: event.time.toISOString() };
}

/** Who the outcome is about: the cluster, the instance (and its node and group), the signal. */
export interface OutcomeSubject {
  cluster: string;
  event: InterruptionEvent;
  node?: string;
  group?: string;
}

function base(subject: OutcomeSubject): InterruptionOutcomeBase {
  return {
    cluster: subject.cluster,
    instanceId: subject.event.instanceId,
    ...(subject.node ? { node: subject.node } : {}),
    ...(subject.group ? { group: subject.group } : {}),
    signal: signalRef(subject.event),
    drill: subject.event.drill === true,
  };
}

/** The instance's ARN, when the signal says its account and region. */
function resources(event: InterruptionEvent): string[] {
  if (!event.region || !/^\d{12}$/.test(event.account)) return [];
  return [`arn:${partitionOf(event.region)}:ec2:${event.region}:${event.account}:instance/${event.instanceId}`];
}

export function nodeProtectedEvent(subject: OutcomeSubject & { node: string }, protection: { taint?: Taint; cordoned: boolean }): OutcomeEvent {
  const detail: NodeProtectedDetail = {
    ...base(subject),
    node: subject.node,
    taint: protection.taint ? { key: protection.taint.key, value: protection.taint.value ?? "", effect: protection.taint.effect } : null,
    cordoned: protection.cordoned,
    ...(subject.event.deadline ? { deadline: subject.event.deadline.toISOString() } : {}),
  };
  return { detailType: OUTCOME_DETAIL_TYPES.nodeProtected, detail, resources: resources(subject.event) };
}

export interface DrainEnd {
  report: DrainReport;
  /** The instant the drain had to be over by (epoch ms). */
  deadline: number;
  invocations: number;
}

/** A drain that is over: complete, or ended with pods left (never one that goes on in a follow-up). */
export function drainFinishedEvent(subject: OutcomeSubject & { node: string }, end: DrainEnd): OutcomeEvent {
  const { report } = end;
  const secondsLeft = (end.deadline - report.finishedAt) / 1000;
  const detail: DrainFinishedDetail = {
    ...base(subject),
    node: subject.node,
    complete: report.complete,
    podsEvicted: report.evicted.length,
    podsDeleted: report.forceDeleted.length,
    podsLeft: report.left.length,
    left: report.left.map((l) => ({ pod: `${l.pod.namespace}/${l.pod.name}`, reason: l.reason, why: l.why })),
    evictionsBlockedByPdb: report.blockedByPdb,
    deadline: iso(end.deadline),
    deadlineMet: report.complete && report.finishedAt <= end.deadline,
    secondsLeft: Math.round(secondsLeft * 1000) / 1000,
    drainSeconds: Math.round(report.finishedAt - report.startedAt) / 1000,
    invocations: end.invocations,
    finishedAt: iso(report.finishedAt),
  };
  return { detailType: OUTCOME_DETAIL_TYPES.drainFinished, detail, resources: resources(subject.event) };
}

export interface LifecycleCompletion {
  result: "CONTINUE" | "ABANDON";
  why: string;
  drainComplete?: boolean;
}

export function lifecycleActionCompletedEvent(subject: OutcomeSubject, completion: LifecycleCompletion): OutcomeEvent | undefined {
  const lifecycle = subject.event.lifecycle;
  if (!lifecycle) return undefined;
  const detail: LifecycleActionCompletedDetail = {
    ...base(subject),
    autoScalingGroup: lifecycle.asgName,
    hookName: lifecycle.hookName,
    transition: lifecycle.transition,
    result: completion.result,
    why: completion.why,
    ...(completion.drainComplete !== undefined ? { drainComplete: completion.drainComplete } : {}),
  };
  return { detailType: OUTCOME_DETAIL_TYPES.lifecycleActionCompleted, detail, resources: resources(subject.event) };
}

/** Replacement capacity asked for because of this signal (see `ActionRunner.replacementRequested`). */
export function replacementRequestedEvent(subject: OutcomeSubject, request: ReplacementRequest): OutcomeEvent {
  const detail: ReplacementRequestedDetail = { ...base(subject), ...request };
  return { detailType: OUTCOME_DETAIL_TYPES.replacementRequested, detail, resources: resources(subject.event) };
}
