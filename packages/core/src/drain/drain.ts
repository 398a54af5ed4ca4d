/**
 * The drain engine: kubectl drain's semantics through the Eviction API, bounded by a deadline.
 * Pods are evicted in parallel with a bound; a PodDisruptionBudget refusal (429) or a transient
 * failure is retried with backoff and jitter until the deadline, never forced before it; a
 * permanent refusal (RBAC, an admission webhook, a pod several budgets cover) is recorded against
 * that pod with the API's reason and the drain goes on with the others. The engine then waits
 * until the evicted pods are gone. What happens to pods still there at the deadline is the
 * policy's call. The report lists every pod left on the node and why; `complete` means none is.
 */
import { mapWithLimit } from "../concurrency";
import { errorMessage } from "../errors";
import type { EvictionResult, KubeApi } from "../kube/api";
import { podRef, type Pod, type PodRef } from "../kube/types";
import type { Log } from "../observability";
import { BudgetGate, budgetGroupOf } from "./budget-gate";
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

/** What a drain is doing, as it does it (the CLI prints these as kubectl drain does). */
export type DrainProgress =
  | { type: "evicting"; pod: PodRef }
  | { type: "evicted"; pod: PodRef }
  | { type: "gone"; pod: PodRef }
  | { type: "blocked"; pod: PodRef; message: string; retryInMs: number }
  | { type: "retrying"; pod: PodRef; message: string; retryInMs: number }
  | { type: "refused"; pod: PodRef; message: string }
  | { type: "waiting"; pods: number }
  | { type: "held"; pod: PodRef; until: number }
  | { type: "released"; pod: PodRef; by: HoldRelease }
  | { type: "force-deleted"; pod: PodRef };

export interface DrainDeps {
  kube: KubeApi;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
  log: Log;
  onProgress?: (progress: DrainProgress) => void;
  /** Paces evictions budgets refuse; shared by the drains of one container (default: this drain's own). */
  budgets?: BudgetGate;
}

/** Why a held pod was let go: room appeared, its time was up, or no replacement is coming. */
export type HoldRelease = "room" | "time" | "no-replacement";

/**
 * Keeps pods that have nowhere else to run on the node while replacement capacity boots: each
 * such pod is evicted once `admit` finds room for it elsewhere, once `released` says the
 * replacement is not coming, or at `until`, whichever is first. Pods with room elsewhere are
 * evicted at once, as always. The deadline still rules: `until` lies before it.
 */
export interface DrainHold {
  until: number;
  admit(pod: Pod): Promise<boolean>;
  released(): boolean;
  pollMs: number;
}

export interface DrainRequest {
  node: string;
  /** Epoch ms: evictions stop, and the deadline policy applies. */
  deadline: number;
  policy: DrainPolicy;
  dryRun?: boolean;
  /** Pods already listed by the caller, to save a request. */
  pods?: Pod[];
  /** Keep pods with nowhere to go until room appears (replacement capacity on its way). */
  hold?: DrainHold;
}

/** Why a pod that had to leave is still on the node. */
export type LeftReason = "refused-by-policy" | "eviction-refused" | "pdb-blocked" | "eviction-failing" | "terminating" | "held-by-finalizers" | "not-evicted";

export interface LeftPod {
  pod: PodRef;
  reason: LeftReason;
  /** In words, with the API's own message where there is one. */
  why: string;
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
  /** Pods a drain never moves (DaemonSet, mirror, opted out). */
  skipped: { pod: PodRef; reason: string }[];
  /** Pods the policy keeps from being evicted (no controller, emptyDir data). */
  refused: { pod: PodRef; reason: string }[];
  /** Evictions the API refused for good (not a budget, not throttling), with its reason. */
  failed: { pod: PodRef; message: string }[];
  /** 429 answers from PodDisruptionBudgets. */
  blockedByPdb: number;
  /** Pods that met at least one PDB refusal. */
  pdbBlockedPods: PodRef[];
  /** Pods that should have left and are still there. */
  remaining: PodRef[];
  /** The same pods, each with why it is still there. */
  left: LeftPod[];
  /** No pod that had to leave is left: the node is drained. */
  complete: boolean;
  /** Complete before the deadline. */
  deadlineMet: boolean;
  /** Left pods a later attempt may still move (not refused for good, not refused by policy). */
  retryable: PodRef[];
  /** Kubernetes API requests the drain made. */
  apiRequests: number;
  /** Pods kept on the node until room appeared elsewhere, how long, and what let them go. */
  held: { pod: PodRef; seconds: number; releasedBy: HoldRelease }[];
}

const key = (p: PodRef) => `${p.namespace}/${p.name}/${p.uid}`;
const label = (p: PodRef) => `${p.namespace}/${p.name}`;

/** Backoff for PDB refusals: exponential from 1 s to 8 s, half of it random, as long as the deadline allows. */
export function pdbBackoffMs(attempt: number, random: () => number, retryAfterSeconds?: number): number {
  const ceiling = Math.min(8_000, 1_000 * 2 ** Math.min(attempt - 1, 3));
  const delay = ceiling / 2 + (random() * ceiling) / 2;
  return retryAfterSeconds !== undefined && retryAfterSeconds > 0 ? Math.max(delay, retryAfterSeconds * 1000) : delay;
}

const POLICY_WORDS: Record<string, string> = {
  unmanaged: "no controller manages it, and the policy does not force unmanaged pods (kubectl's --force)",
  "local-storage": "it has emptyDir data, and the policy does not delete it (kubectl's --delete-emptydir-data)",
};

/** Drains one node; never throws for a pod it could not move, it reports it. */
export async function drainNode(deps: DrainDeps, request: DrainRequest): Promise<DrainReport> {
  const { kube, now, log } = deps;
  const progress = deps.onProgress ?? (() => undefined);
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
    left: [],
    complete: false,
    deadlineMet: false,
    retryable: [],
    apiRequests: 0,
    held: [],
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
  const refusedLeft = (): LeftPod[] => report.refused.map((r) => ({ pod: r.pod, reason: "refused-by-policy", why: `refused by policy: ${POLICY_WORDS[r.reason] ?? r.reason}` }));
  if (report.dryRun) {
    report.remaining = [...mustLeave.values()];
    report.left = [...report.remaining.map((pod) => ({ pod, reason: "not-evicted" as const, why: "dry run: would be evicted" })), ...refusedLeft()];
    return finish(report, kube, requestsBefore, now);
  }

  const blocked = new Set<string>();
  const markBlocked = (ref: PodRef) => {
    if (blocked.has(key(ref))) return;
    blocked.add(key(ref));
    report.pdbBlockedPods.push(ref);
  };
  /** The last refusal of each pod that was not evicted, for the report. */
  const lastRefusal = new Map<string, { reason: LeftReason; why: string }>();
  const budgets = deps.budgets ?? new BudgetGate();
  await mapWithLimit(toEvict, request.policy.parallelism, async (pod) => {
    const ref = podRef(pod);
    const group = budgetGroupOf(pod);
    if (request.hold) await holdForRoom(deps, request, request.hold, pod, report);
    progress({ type: "evicting", pod: ref });
    for (let attempt = 1; ; attempt += 1) {
      if (request.deadline - now() <= 0) return;
      let groupWaitMs = 0;
      const answer = await budgets.request(group, request.deadline, deps, async () => {
        const grace = graceFor(pod, request.policy, request.deadline - now());
        const sent = await evict(kube, ref, grace, request.deadline);
        // told in the pod's turn, so the next pod of the group sees the gate as this answer left it
        if (sent.result === "evicted" || sent.result === "gone") budgets.passed(group);
        else if (sent.result === "blocked") groupWaitMs = budgets.refused(group, now(), (refusals) => pdbBackoffMs(refusals, deps.random, sent.retryAfterSeconds));
        return sent;
      });
      if (answer === undefined) {
        // the deadline came while pods of its controller waited for their budget: never asked, or not again
        if (!lastRefusal.has(key(ref))) lastRefusal.set(key(ref), { reason: "pdb-blocked", why: "blocked by a PodDisruptionBudget: it refused other pods of the same controller until the deadline" });
        markBlocked(ref);
        return;
      }
      if (answer.result === "evicted" || answer.result === "gone") {
        report.evicted.push(ref);
        lastRefusal.delete(key(ref));
        progress({ type: answer.result === "evicted" ? "evicted" : "gone", pod: ref });
        return;
      }
      if (answer.result === "multiple-budgets" || (answer.result === "failed" && !answer.retryable)) {
        // permanent: asking again changes nothing (RBAC, an admission webhook's denial, an invalid request, two budgets)
        const message = answer.result === "failed" ? `HTTP ${answer.status}: ${answer.message}` : answer.message;
        report.failed.push({ pod: ref, message });
        lastRefusal.set(key(ref), { reason: "eviction-refused", why: `eviction refused: ${message}` });
        progress({ type: "refused", pod: ref, message });
        log.warn("eviction refused", { pod: label(ref), reason: message });
        return;
      }
      if (answer.result === "blocked") {
        // the group's backoff: this pod and the others of its controller ask again in turn, after it
        report.blockedByPdb += 1;
        markBlocked(ref);
        lastRefusal.set(key(ref), { reason: "pdb-blocked", why: `blocked by a PodDisruptionBudget: ${answer.message}` });
        progress({ type: "blocked", pod: ref, message: answer.message, retryInMs: Math.max(0, Math.min(groupWaitMs, request.deadline - now())) });
        continue;
      }
      const retryInMs = Math.max(0, Math.min(pdbBackoffMs(attempt, deps.random), request.deadline - now()));
      lastRefusal.set(key(ref), { reason: "eviction-failing", why: `eviction failing: ${answer.message}` });
      progress({ type: "retrying", pod: ref, message: answer.message, retryInMs });
      // keep trying until the deadline: the last wait is cut short for one more attempt at the end
      await deps.sleep(retryInMs);
    }
  });

  // wait for what was evicted (or was already terminating); pods that could not be evicted are
  // not waited for, unless the deadline policy will delete them
  const evicted = new Set(report.evicted.map(key));
  const notEvicted = toEvict.map(podRef).filter((ref) => !evicted.has(key(ref)));
  const notEvictedKeys = new Set(notEvicted.map(key));
  const waitFor = new Map([...mustLeave].filter(([k]) => !notEvictedKeys.has(k)));
  const deleteAtDeadline = request.policy.atDeadline === "delete" && notEvicted.length + waitFor.size > 0;
  if (waitFor.size > 0 || deleteAtDeadline) progress({ type: "waiting", pods: deleteAtDeadline ? mustLeave.size : waitFor.size });
  let stillThere = await waitUntilGone(deps, request, deleteAtDeadline ? mustLeave : waitFor);
  report.deadlineMet = stillThere.length === 0 && notEvicted.length === 0 && report.refused.length === 0 && now() <= request.deadline;
  if (deleteAtDeadline && stillThere.length > 0) {
    const deleted = new Set<string>();
    for (const { pod: ref } of stillThere) {
      try {
        if ((await kube.deletePod(ref, 0)) === "deleted") {
          report.forceDeleted.push(ref);
          progress({ type: "force-deleted", pod: ref });
        }
        deleted.add(key(ref));
      } catch (error) {
        lastRefusal.set(key(ref), { reason: "eviction-refused", why: `delete at the deadline failed: ${(error as Error).message}` });
      }
    }
    // a pod deleted at the deadline is gone (unless finalizers hold it): look once more
    if (deleted.size > 0) stillThere = await presentOf(deps, request, new Map(stillThere.map((s) => [key(s.pod), s.pod])));
    const forced = new Set(report.forceDeleted.map(key));
    report.failed = report.failed.filter((f) => !forced.has(key(f.pod)) || stillThere.some((s) => key(s.pod) === key(f.pod)));
  } else {
    // pods never evicted are still there, as they were
    stillThere = [...stillThere, ...notEvicted.map((pod) => ({ pod, current: undefined }))];
  }
  const asked = new Set([...report.evicted, ...report.forceDeleted].map(key));
  report.left = [...stillThere.map((s) => leftReason(s, lastRefusal.get(key(s.pod)), asked.has(key(s.pod)), now())), ...refusedLeft()];
  report.remaining = report.left.filter((l) => l.reason !== "refused-by-policy").map((l) => l.pod);
  report.complete = report.left.length === 0;
  report.retryable = report.left.filter((l) => l.reason !== "eviction-refused" && l.reason !== "refused-by-policy").map((l) => l.pod);
  return finish(report, kube, requestsBefore, now);
}

/** Waits until the pod has room elsewhere, the hold is released, or its time is up; records a wait in the report. */
async function holdForRoom(deps: DrainDeps, request: DrainRequest, hold: DrainHold, pod: Pod, report: DrainReport): Promise<void> {
  const ref = podRef(pod);
  const started = deps.now();
  const until = Math.min(hold.until, request.deadline);
  let waited = false;
  for (;;) {
    let by: HoldRelease | undefined;
    if (hold.released()) by = "no-replacement";
    else if (deps.now() >= until) by = "time";
    else {
      try {
        if (await hold.admit(pod)) by = "room";
      } catch (error) {
        // room cannot be judged (the API failed): holding blind would risk the deadline, so let it go
        deps.log.warn("room for a held pod could not be judged; evicting it now", { pod: label(ref), error: (error as Error).message });
        by = "time";
      }
    }
    if (by) {
      if (waited) {
        report.held.push({ pod: ref, seconds: Number(((deps.now() - started) / 1000).toFixed(1)), releasedBy: by });
        deps.onProgress?.({ type: "released", pod: ref, by });
      }
      return;
    }
    if (!waited) deps.onProgress?.({ type: "held", pod: ref, until });
    waited = true;
    await deps.sleep(Math.max(1, Math.min(hold.pollMs, until - deps.now())));
  }
}

/** Why a pod is still on the node: the last refusal, else what the pod itself shows. */
function leftReason(still: StillThere, refusal: { reason: LeftReason; why: string } | undefined, evictedOrDeleted: boolean, nowMs: number): LeftPod {
  const { pod: ref, current } = still;
  if (still.unseen && evictedOrDeleted && !current?.metadata?.deletionTimestamp) {
    // asked to go, but never seen going: the list that would tell failed
    return { pod: ref, reason: "terminating", why: `evicted, not confirmed gone: the node's pods could not be listed (${still.unseen})` };
  }
  const finalizers = current?.metadata?.finalizers ?? [];
  const deletion = current?.metadata?.deletionTimestamp;
  if (deletion && finalizers.length > 0 && Date.parse(deletion) <= nowMs) {
    return { pod: ref, reason: "held-by-finalizers", why: `terminating, held by finalizers ${finalizers.join(", ")}` };
  }
  if (deletion) return { pod: ref, reason: "terminating", why: `terminating, grace period until ${deletion}` };
  if (refusal) return { pod: ref, ...refusal };
  return { pod: ref, reason: "not-evicted", why: "not evicted before the deadline" };
}

/** The given pods still on the node, with their current state; all of them, unconfirmed, when the list fails. */
async function presentOf(deps: DrainDeps, request: DrainRequest, pods: Map<string, PodRef>): Promise<StillThere[]> {
  try {
    const onNode = new Map((await deps.kube.podsOnNode(request.node, Math.max(request.deadline, deps.now() + 5_000))).map((p) => [key(podRef(p)), p]));
    return [...pods].filter(([k]) => onNode.has(k)).map(([k, pod]) => ({ pod, current: onNode.get(k) }));
  } catch (error) {
    const why = (error as Error).message;
    deps.log.warn("pods on the node could not be listed after deleting them", { node: request.node, error: why });
    return [...pods.values()].map((pod) => ({ pod, current: undefined, unseen: why }));
  }
}

/** A pod still on the node as last seen; `unseen` says why its going could not be confirmed. */
interface StillThere {
  pod: PodRef;
  current: Pod | undefined;
  unseen?: string;
}

/**
 * Polls the node's pod list (one request per round) until the given pods are gone or the
 * deadline passes. A list that fails (after the gateway's own retries) is asked again while time
 * is left; at the deadline the wait ends with the pods as last seen, marked unconfirmed, so the
 * report says what is known instead of the record going back to the queue without one.
 */
async function waitUntilGone(deps: DrainDeps, request: DrainRequest, pods: Map<string, PodRef>): Promise<StillThere[]> {
  let interval = 100;
  let lastSeen: StillThere[] = [...pods.values()].map((pod) => ({ pod, current: undefined }));
  for (;;) {
    if (pods.size === 0) return [];
    let listed: Pod[];
    try {
      listed = await deps.kube.podsOnNode(request.node, request.deadline);
    } catch (error) {
      const why = (error as Error).message;
      const left = request.deadline - deps.now();
      deps.log.warn("pods on the node could not be listed while waiting for them to go", { node: request.node, error: why, msLeft: left });
      if (left <= 0) return lastSeen.map((s) => ({ ...s, unseen: why }));
      await deps.sleep(Math.min(interval, left));
      interval = Math.min(1_000, interval * 2);
      continue;
    }
    const onNode = new Map(listed.map((p) => [key(podRef(p)), p]));
    const remaining = [...pods].filter(([k]) => onNode.has(k)).map(([k, pod]) => ({ pod, current: onNode.get(k) }));
    if (remaining.length === 0) return [];
    lastSeen = remaining;
    const left = request.deadline - deps.now();
    if (left <= 0) return remaining;
    await deps.sleep(Math.min(interval, left));
    interval = Math.min(1_000, interval * 2);
  }
}

/**
 * One eviction request. One that could not even be made (no token for it, say) is a failure of
 * this pod's eviction, asked again as the deadline allows: a drain never throws for one pod, as it
 * would leave the node's other evictions running with nobody waiting for them.
 */
async function evict(kube: KubeApi, ref: PodRef, grace: number | undefined, deadline: number): Promise<EvictionResult> {
  try {
    return await kube.evictPod(ref, { ...(grace !== undefined ? { gracePeriodSeconds: grace } : {}), deadline });
  } catch (error) {
    return { result: "failed", status: 0, message: `eviction request not made: ${errorMessage(error)}`, retryable: true };
  }
}

/** The grace period to ask for: the pod's own (or the override), cut to the time left when capped. */
function graceFor(pod: Pod, policy: DrainPolicy, msLeft: number): number | undefined {
  const wanted = policy.gracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
  const cap = Math.max(0, Math.floor(msLeft / 1000) - 1);
  return policy.capGraceToDeadline && wanted > cap ? cap : policy.gracePeriodSeconds;
}

function finish(report: DrainReport, kube: KubeApi, requestsBefore: number, now: () => number): DrainReport {
  report.finishedAt = now();
  report.apiRequests = kube.gateway.requests - requestsBefore;
  return report;
}
