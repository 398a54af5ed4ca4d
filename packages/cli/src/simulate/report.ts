/** The simulation report: per node what was done, when, pods moved, PDB blocks, deadline met or missed. */
import type { ActionReport } from "@spot-manager/core";
import type { ReplacementComparison, ReplacementRunReport } from "./replacement";
import type { NodeState, ScenarioRun } from "./run";

export interface NodeReport {
  node: string | null;
  instanceId: string;
  kind: string;
  eventId: string;
  outcome: string;
  reason?: string;
  steps: string[];
  /** Simulated seconds since the scenario began. */
  startedAtSeconds: number;
  finishedAtSeconds: number;
  cordonedAtSeconds?: number;
  requestsToCordon?: number;
  deadline?: string;
  deadlineMet?: boolean;
  secondsLeft?: number;
  drainSeconds?: number;
  podsEvicted: string[];
  podsForceDeleted: string[];
  /** Pods that had to leave and are still on the node, each with why. */
  podsLeft: { pod: string; reason: string; why: string }[];
  /** The drain left no pod that had to leave. */
  drained?: boolean;
  /** Invocations the event's work took so far. */
  invocations: number;
  /** Pods a drain never moves (DaemonSet, mirror, opted out). */
  podsNotMoved: { pod: string; reason: string }[];
  pdbRefusals: number;
  pdbBlockedPods: string[];
  kubeRequests: number;
  /** Replacement capacity asked for at the signal (or why none was), when the policy asks for it. */
  replacement?: ActionReport["replacement"];
  /** Pods kept on the node until room appeared elsewhere, how long, and what let them go. */
  podsHeld?: { pod: string; seconds: number; releasedBy: string }[];
}

export interface ScenarioReport {
  scenario: string;
  description: string;
  actions: NodeReport[];
  nodesAtEnd: NodeState[];
  notifications: number;
  lifecycleCalls: Record<string, unknown>[];
  kubernetesEvents: number;
  kubeRequests: number;
  recordsReturnedToQueue: number;
  wallSeconds: number;
  /** The replacement scenario: the same reclaim without and with replacement capacity at the warning. */
  comparison?: ReplacementComparison;
}

const name = (p: { namespace: string; name: string }) => `${p.namespace}/${p.name}`;

function actionReport(run: ScenarioRun, r: ActionReport): NodeReport {
  const rel = (ms: number) => Number(((ms - run.origin) / 1000).toFixed(2));
  const drain = r.drain;
  return {
    node: r.node ?? null,
    instanceId: r.instanceId,
    kind: r.kind,
    eventId: r.eventId,
    outcome: r.outcome,
    ...(r.reason ? { reason: r.reason } : {}),
    steps: r.steps,
    startedAtSeconds: rel(r.startedAt),
    finishedAtSeconds: rel(r.finishedAt),
    ...(r.cordonedAt !== undefined ? { cordonedAtSeconds: rel(r.cordonedAt) } : {}),
    ...(r.requestsToCordon !== undefined ? { requestsToCordon: r.requestsToCordon } : {}),
    ...(r.deadline !== undefined ? { deadline: new Date(r.deadline).toISOString() } : {}),
    ...(r.deadlineMet !== undefined ? { deadlineMet: r.deadlineMet } : {}),
    ...(r.secondsLeft !== undefined ? { secondsLeft: Number(r.secondsLeft.toFixed(1)) } : {}),
    ...(drain ? { drainSeconds: Number(((drain.finishedAt - drain.startedAt) / 1000).toFixed(2)) } : {}),
    podsEvicted: drain?.evicted.map(name) ?? [],
    podsForceDeleted: drain?.forceDeleted.map(name) ?? [],
    podsLeft: drain?.left.map((l) => ({ pod: name(l.pod), reason: l.reason, why: l.why })) ?? [],
    ...(drain ? { drained: drain.complete } : {}),
    invocations: r.invocations,
    podsNotMoved: (drain?.skipped ?? []).map((s) => ({ pod: name(s.pod), reason: s.reason })),
    pdbRefusals: drain?.blockedByPdb ?? 0,
    pdbBlockedPods: drain?.pdbBlockedPods.map(name) ?? [],
    kubeRequests: r.kubeRequests,
    ...(r.replacement ? { replacement: r.replacement } : {}),
    ...(drain?.held.length ? { podsHeld: drain.held.map((h) => ({ pod: name(h.pod), seconds: h.seconds, releasedBy: h.releasedBy })) } : {}),
  };
}

export function scenarioReport(run: ScenarioRun): ScenarioReport {
  return {
    scenario: run.scenario.name,
    description: run.scenario.description,
    actions: run.reports.map((r) => actionReport(run, r)),
    nodesAtEnd: run.nodes,
    notifications: run.notifications.length,
    lifecycleCalls: run.lifecycleCompletions,
    kubernetesEvents: run.kubernetesEvents,
    kubeRequests: run.kubeRequests,
    recordsReturnedToQueue: run.batchFailures,
    wallSeconds: run.wallSeconds,
  };
}

function short(list: string[], max = 4): string {
  if (list.length === 0) return "none";
  const shown = list.slice(0, max).join(", ");
  return list.length > max ? `${shown}, … (${list.length} in all)` : shown;
}

/** The report as text for a terminal. */
export function formatScenario(report: ScenarioReport): string {
  const lines = [`\n== ${report.scenario}: ${report.description}`];
  for (const a of report.actions) {
    lines.push(`  ${a.node ?? "(no node)"}  ${a.instanceId}  ${a.kind}  event ${a.eventId.slice(0, 8)}…  -> ${a.outcome}${a.reason ? ` (${a.reason})` : ""}`);
    if (a.steps.length) lines.push(`    done: ${a.steps.join("; ")}`);
    if (a.replacement) lines.push(`    replacement: ${a.replacement.status}${a.replacement.mechanism ? ` (${a.replacement.mechanism})` : ""}: ${a.replacement.reason}`);
    if (a.cordonedAtSeconds !== undefined) lines.push(`    cordoned at t+${a.cordonedAtSeconds.toFixed(2)}s (${a.requestsToCordon} API request(s) after resolution)`);
    if (a.drainSeconds !== undefined) {
      lines.push(`    pods moved: ${a.podsEvicted.length} evicted (${short(a.podsEvicted)}), ${a.podsForceDeleted.length} deleted at the deadline`);
      lines.push(`    PDB refusals: ${a.pdbRefusals}${a.pdbBlockedPods.length ? ` (${short(a.pdbBlockedPods)})` : ""}; left behind: ${short(a.podsLeft.map((p) => `${p.pod} (${p.why})`))}`);
      lines.push(
        `    drain took ${a.drainSeconds.toFixed(1)} s; deadline ${a.deadline ?? "-"} ${
          a.deadlineMet ? `met with ${a.secondsLeft?.toFixed(1)} s to spare` : `MISSED: ${a.podsLeft.length} pod(s) still on the node when the drain stopped${a.secondsLeft !== undefined ? `, ${a.secondsLeft.toFixed(1)} s before the deadline` : ""}`
        }`,
      );
      if (a.podsNotMoved.length) lines.push(`    stayed by design: ${short(a.podsNotMoved.map((p) => `${p.pod} (${p.reason})`))}`);
      if (a.podsHeld?.length) lines.push(`    held until room appeared: ${short(a.podsHeld.map((p) => `${p.pod} ${p.seconds} s (${p.releasedBy})`))}`);
    }
  }
  for (const n of report.nodesAtEnd) {
    lines.push(`  at the end ${n.node}: ${n.unschedulable ? "cordoned" : "schedulable"}; taints ${short(n.taints)}; pods ${n.pods.length}`);
  }
  if (report.comparison) lines.push(...formatComparison(report.comparison));
  lines.push(
    `  notifications: ${report.notifications}; lifecycle calls: ${report.lifecycleCalls.length}; Kubernetes events: ${report.kubernetesEvents}; API requests: ${report.kubeRequests}; records back to the queue: ${report.recordsReturnedToQueue}; ${report.wallSeconds.toFixed(1)} s wall time`,
  );
  return lines.join("\n");
}

function formatRun(name: string, run: ReplacementRunReport): string {
  const until = run.secondsUntilAllRunning === null ? `${run.pendingAtEnd} pod(s) still Pending at the end` : `all running again at t+${run.secondsUntilAllRunning}s`;
  return `    ${name.padEnd(28)} ${String(run.pendingPodSeconds).padStart(7)} pending pod-s (${run.podsPending} pods, p95 ${run.p95PendingSeconds} s); ${until}; peak +${run.peakExtraNodes} node(s), ${run.extraNodeSeconds} extra node-s; ${run.nodesBefore} -> ${run.nodesAtEnd} nodes`;
}

function formatComparison(c: ReplacementComparison): string[] {
  const replacement = c.replacementAtWarning.replacement;
  return [
    `  reclaim of ${c.reclaim.node} (${c.reclaim.instanceId}) at t+${c.reclaim.reclaimedAtSeconds}s; boot ${c.models.bootSeconds} s, cluster-autoscaler scan ${c.models.autoscalerScanSeconds} s, seed ${c.seed}`,
    formatRun("cluster-autoscaler only:", c.caOnly),
    formatRun("replacement at the warning:", c.replacementAtWarning),
    ...(replacement ? [`    replacement: ${replacement.status}${replacement.mechanism ? ` (${replacement.mechanism})` : ""}: ${replacement.reason}`] : []),
    `    target: at most ${c.target.maxPendingPodSecondsRatio} of the baseline's pending pod-seconds; measured ${c.target.ratio ?? "n/a"}: ${c.target.met ? "met" : "NOT MET"}`,
  ];
}
