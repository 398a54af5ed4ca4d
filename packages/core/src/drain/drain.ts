/**
 * The drain engine: kubectl drain's semantics through the Eviction API, bounded by a deadline.
 * Pods are evicted in parallel with a bound; a PodDisruptionBudget refusal (429) is retried with
 * backoff and jitter until the deadline, never forced before it; the engine then waits until the
 * pods are gone. What happens to pods still there at the deadline is the policy's call.
 */
import { mapWithLimit } from "../concurrency";
import type { KubeApi } from "../kube/api";
import { podRef, type Pod, type PodRef } from "../kube/types";
import type { Log } from "../observability";
import { classifyPod, type ClassifyPolicy } from "./classify";

export interface DrainPolicy extends ClassifyPolicy {
  /** Evictions in flight at once. */
  parallelism: number;
  /** At the deadline: leave the rest, or delete it with grace 0. */
  atDeadline: "leave" | "delete";
  /** Overrides each pod's terminationGracePeriodSeconds when set. */
  gracePeriodSeconds?: number | undefined;
  /** Never ask for more grace than the time left before the deadline. */
  capGraceToDeadline: boolean;
}

export const DEFAULT_DRAIN_POLICY: DrainPolicy = {
  parallelism: 32,
  atDeadline: "leave",
  capGraceToDeadline: true,
  deleteEmptyDirData: true,
  forceUnmanaged: true,
};

export interface DrainDeps {
  kube: KubeApi;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
  log: Log;
}

export interface DrainRequest {
  node: string;
  /** Epoch ms: evictions stop, and the deadline policy applies. */
  deadline: number;
  policy: DrainPolicy;
  dryRun?: boolean;
  /** Pods already listed by the caller, to save a request. */
  pods?: Pod[];
}

export interface DrainReport {
  node: string;
  dryRun: boolean;
  startedAt: number;
  finishedAt: number;
  deadline: number;
  /** Evictions the API accepted (or found already gone). */
  evicted: PodRef[];
  /** Removed with grace 0 at the deadline. */
  forceDeleted: PodRef[];
  skipped: { pod: PodRef; reason: string }[];
  refused: { pod: PodRef; reason: string }[];
  failed: { pod: PodRef; message: string }[];
  /** 429 answers from PodDisruptionBudgets. */
  blockedByPdb: number;
  /** Pods that met at least one PDB refusal. */
  pdbBlockedPods: PodRef[];
  /** Pods that should have left and are still there. */
  remaining: PodRef[];
  /** Every pod that had to go is gone. */
  complete: boolean;
  /** Complete before the deadline. */
  deadlineMet: boolean;
  /** Kubernetes API requests the drain made. */
  apiRequests: number;
}

const key = (p: PodRef) => `${p.namespace}/${p.name}/${p.uid}`;

/** Backoff for PDB refusals: exponential from 1 s to 8 s, half of it random, as long as the deadline allows. */
export function pdbBackoffMs(attempt: number, random: () => number, retryAfterSeconds?: number): number {
  const ceiling = Math.min(8_000, 1_000 * 2 ** Math.min(attempt - 1, 3));
  const delay = ceiling / 2 + (random() * ceiling) / 2;
  return retryAfterSeconds !== undefined && retryAfterSeconds > 0 ? Math.max(delay, retryAfterSeconds * 1000) : delay;
}

/** Drains one node; never throws for a pod it could not move, it reports it. */
export async function drainNode(deps: DrainDeps, request: DrainRequest): Promise<DrainReport> {
  const { kube, now, log } = deps;
  const requestsBefore = kube.gateway.requests;
  const report: DrainReport = {
    node: request.node,
    dryRun: request.dryRun ?? false,
    startedAt: now(),
    finishedAt: 0,
    deadline: request.deadline,
    evicted: [],
    forceDeleted: [],
    skipped: [],
    refused: [],
    failed: [],
    blockedByPdb: 0,
    pdbBlockedPods: [],
    remaining: [],
    complete: false,
    deadlineMet: false,
    apiRequests: 0,
  };
  const pods = request.pods ?? (await kube.podsOnNode(request.node, request.deadline));
  const toEvict: Pod[] = [];
  const mustLeave = new Map<string, PodRef>();
  for (const pod of pods) {
    const ref = podRef(pod);
    const disposition = classifyPod(pod, request.policy);
    if (disposition.action === "skip") report.skipped.push({ pod: ref, reason: disposition.reason });
    else if (disposition.action === "refuse") report.refused.push({ pod: ref, reason: disposition.reason });
    else {
      mustLeave.set(key(ref), ref);
      if (disposition.action === "evict") toEvict.push(pod);
    }
  }
  if (report.dryRun) {
    report.remaining = [...mustLeave.values()];
    return finish(report, kube, requestsBefore, now);
  }

  const blocked = new Set<string>();
  await mapWithLimit(toEvict, request.policy.parallelism, async (pod) => {
    const ref = podRef(pod);
    for (let attempt = 1; ; attempt += 1) {
      const left = request.deadline - now();
      if (left <= 0) return;
      const grace = graceFor(pod, request.policy, left);
      const answer = await kube.evictPod(ref, { ...(grace !== undefined ? { gracePeriodSeconds: grace } : {}), deadline: request.deadline });
      if (answer.result === "evicted" || answer.result === "gone") {
        report.evicted.push(ref);
        return;
      }
      if (answer.result === "multiple-budgets" || (answer.result === "failed" && !answer.retryable)) {
        report.failed.push({ pod: ref, message: answer.message });
        log.warn("eviction failed", { pod: `${ref.namespace}/${ref.name}`, reason: answer.message });
        return;
      }
      if (answer.result === "blocked") {
        report.blockedByPdb += 1;
        if (!blocked.has(key(ref))) {
          blocked.add(key(ref));
          report.pdbBlockedPods.push(ref);
        }
      }
      // keep trying until the deadline: the last wait is cut short for one more attempt at the end
      const wait = pdbBackoffMs(attempt, deps.random, answer.result === "blocked" ? answer.retryAfterSeconds : undefined);
      await deps.sleep(Math.min(wait, request.deadline - now()));
    }
  });

  // wait for what was evicted (or was already terminating); pods that could not be evicted are
  // not waited for, unless the deadline policy will delete them
  const evicted = new Set(report.evicted.map(key));
  const notEvicted = toEvict.map(podRef).filter((ref) => !evicted.has(key(ref)));
  const notEvictedKeys = new Set(notEvicted.map(key));
  const waitFor = new Map([...mustLeave].filter(([k]) => !notEvictedKeys.has(k)));
  const deleteAtDeadline = request.policy.atDeadline === "delete" && notEvicted.length + waitFor.size > 0;
  let remaining = await waitUntilGone(deps, request, deleteAtDeadline ? mustLeave : waitFor);
  report.deadlineMet = remaining.length === 0 && notEvicted.length === 0 && now() <= request.deadline;
  if (!deleteAtDeadline) remaining = [...remaining, ...notEvicted];
  else if (remaining.length > 0) {
    for (const ref of remaining) {
      try {
        if ((await kube.deletePod(ref, 0)) === "deleted") report.forceDeleted.push(ref);
      } catch (error) {
        report.failed.push({ pod: ref, message: `delete at the deadline failed: ${(error as Error).message}` });
      }
    }
    // a pod the API would not evict but that went at the deadline is no longer a failure
    const forced = new Set(report.forceDeleted.map(key));
    report.failed = report.failed.filter((f) => !forced.has(key(f.pod)));
    const settled = new Set([...report.forceDeleted, ...report.failed.map((f) => f.pod)].map(key));
    remaining = remaining.filter((ref) => !settled.has(key(ref)));
  }
  report.remaining = remaining;
  report.complete = report.remaining.length === 0 && report.failed.length === 0;
  return finish(report, kube, requestsBefore, now);
}

/** The grace period to ask for: the pod's own (or the override), cut to the time left when capped. */
function graceFor(pod: Pod, policy: DrainPolicy, msLeft: number): number | undefined {
  const wanted = policy.gracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
  const cap = Math.max(0, Math.floor(msLeft / 1000) - 1);
  return policy.capGraceToDeadline && wanted > cap ? cap : policy.gracePeriodSeconds;
}

/**
 * Polls the node's pod list (one request per round) until the given pods are gone or the
 * deadline passes.
 */
async function waitUntilGone(deps: DrainDeps, request: DrainRequest, pods: Map<string, PodRef>): Promise<PodRef[]> {
  let interval = 100;
  for (;;) {
    if (pods.size === 0) return [];
    const present = new Set((await deps.kube.podsOnNode(request.node, request.deadline)).map((p) => key(podRef(p))));
    const remaining = [...pods.values()].filter((ref) => present.has(key(ref)));
    if (remaining.length === 0) return [];
    const left = request.deadline - deps.now();
    if (left <= 0) return remaining;
    await deps.sleep(Math.min(interval, left));
    interval = Math.min(1_000, interval * 2);
  }
}

function finish(report: DrainReport, kube: KubeApi, requestsBefore: number, now: () => number): DrainReport {
  report.finishedAt = now();
  report.apiRequests = kube.gateway.requests - requestsBefore;
  return report;
}
