/**
 * EC2 Spot Instance Interruption Warning: taint spot-itn (NoSchedule), cordon, and drain before
 * the capacity is reclaimed (event time + 120 s, less a safety margin). A stop or hibernate
 * interruption is watched afterwards: once EC2 runs the instance again, the taint and the cordon
 * come off. A warning that no longer applies (the instance already gone, restarted, or still
 * running long after its deadline) changes nothing.
 */
import { EVENT_REASONS, METRICS } from "../constants";
import type { DrainReport } from "../drain/drain";
import type { Node } from "../kube/types";
import { isRecordOf, recordOf } from "../replacement/record";
import { SkipError } from "../errors";
import type { Target } from "../resolve/resolve-target";
import type { Action } from "../pipeline/action";
import type { ActionReport } from "../pipeline/context";
import { capacityGroupOf, iso, type ActionRunner } from "../pipeline/runner";
import { taintKey } from "../pipeline/taints";
import type { SignalPlaybook } from "./playbook";
import { heldByOthers, releaseNode } from "./release";

const isStop = (action: Action) => action.event.spotAction === "stop" || action.event.spotAction === "hibernate";

/** EC2 started the instance again after the warning (LaunchTime moves on every start). */
function restartedSince(target: Target, action: Action): boolean {
  const launched = target.instance.launchTime?.getTime();
  return target.instance.state === "running" && launched !== undefined && launched > action.event.time.getTime();
}

async function handle(run: ActionRunner, action: Action): Promise<ActionReport> {
  const policy = run.deps.policy.spotInterruption;
  run.enabled(action, policy.enabled);
  const eventDeadline = (action.event.deadline ?? action.event.time).getTime();
  const until = eventDeadline - policy.safetyMarginSeconds * 1000;
  const target = await run.resolve(action, until);
  const state = target.instance.state;
  if (state === "terminated") throw new SkipError("not-applicable", `instance ${action.event.instanceId} is already terminated: nothing is left to protect`);
  if (isStop(action) && restartedSince(target, action)) return restore(run, action, target);
  const now = run.deps.now();
  if (state === "running" && !isStop(action) && now > eventDeadline + policy.staleAfterSeconds * 1000) {
    throw new SkipError("stale-event", `the warning's deadline ${iso(eventDeadline)} passed ${Math.round((now - eventDeadline) / 60_000)} min ago and EC2 still runs ${action.event.instanceId}: it no longer applies`);
  }
  let node = run.requireNode(action, target);
  if (now >= until) return run.applyDeadlinePolicy(action, node, { until, eventDeadline, policy: policy.drainPolicy });
  node = await run.protect(action, node, { purpose: "spotInterruption", taint: policy.taint, effect: policy.taintEffect, cordon: policy.cordon }, until);
  // the replacement is asked for first, beside everything else: it takes the longest to arrive.
  // Pods with nowhere else to go wait for it on the node while the drain moves the others
  const replacing = isStop(action) ? undefined : run.startReplacement(action, target, node, "spot-interruption", until - run.deps.policy.replacement.releaseBeforeDeadlineSeconds * 1000);
  let report: DrainReport | undefined;
  // from here on the replacement request runs beside the rest, and is over before the action is, however it ends
  try {
    if (action.reportsStart) {
      // the capacity manager acts on this count: once per interruption, never for a duplicate, a redelivery or a continuation
      const group = capacityGroupOf(target);
      if (group) run.deps.metrics.add(METRICS.spotInterruptions, "Count", 1, { group });
      await run.nodeEvent(action, node, EVENT_REASONS.spotInterruption, `Spot interruption warning (${action.event.spotAction ?? "terminate"}) for ${action.event.instanceId}; capacity is reclaimed at ${iso(eventDeadline)}`, "Warning");
    }
    await run.notify(action, "start");
    report = policy.drain ? await run.drain(action, node, { until, eventDeadline, policy: policy.drainPolicy, ...(replacing?.hold ? { hold: replacing.hold } : {}) }) : undefined;
  } finally {
    await replacing?.outcome;
  }
  if (isStop(action) && policy.restoreAfterRestart) {
    await run.scheduleFollowUp(action, "check-restarted", new Date(Math.max(eventDeadline, run.deps.now()) + policy.restartCheckSeconds * 1000));
  }
  const replacement = action.report.replacement;
  if (replacement && (replacement.status === "requested" || replacement.status === "already-requested") && replacement.mechanism?.startsWith("detach")) {
    // a detached instance EC2 does not reclaim (a drill's) would stay a node too many: it is looked at after the deadline
    await run.scheduleFollowUp(action, "check-reclaimed", new Date(Math.max(eventDeadline, run.deps.now()) + run.deps.policy.replacement.reclaimCheckSeconds * 1000));
  }
  await run.notify(action, "end", {
    outcome: "done",
    ...run.drainSummary(report),
    deadlineMet: action.report.deadlineMet,
    secondsLeft: action.report.secondsLeft,
    ...(action.report.replacement ? { replacement: action.report.replacement } : {}),
  });
  run.settled(action);
  return action.finish("done");
}

/** The instance runs again after its stop: take the interruption's taint and cordon back. */
async function restore(run: ActionRunner, action: Action, target: Target): Promise<ActionReport> {
  const node = target.node;
  if (!node) return action.finish("skipped", `instance ${action.event.instanceId} runs again; no node of it is registered`);
  const own = { kind: action.event.kind, eventId: action.event.eventId, taintKey: taintKey(run.deps.policy.taintStyle, "spotInterruption") };
  action.step("remove the interruption's taint and cordon: the instance runs again");
  const result = await releaseNode(run, action, node, { purpose: "spotInterruption", keepIf: (current) => heldByOthers(current, own) });
  if (result.aborted) return action.finish("skipped", `instance runs again, node left as it is: ${result.aborted}`);
  if (result.changed) {
    await run.nodeEvent(
      action,
      result.node,
      EVENT_REASONS.instanceRestarted,
      `Instance ${action.event.instanceId} runs again after its spot ${action.event.spotAction ?? "stop"} (event ${action.event.eventId}): interruption taint removed${result.uncordoned ? ", node uncordoned" : ""}`,
    );
  }
  return action.finish("done", "instance runs again");
}

/** Looks at a stopped instance again until it runs (restore), goes away, or the watch ends. */
async function checkRestarted(run: ActionRunner, action: Action): Promise<ActionReport> {
  const policy = run.deps.policy.spotInterruption;
  const target = await run.resolve(action).catch((error: unknown) => {
    if (error instanceof SkipError && error.reason === "unknown-instance") return undefined;
    throw error;
  });
  if (!target || target.instance.state === "terminated") return action.finish("done", "instance is gone");
  if (restartedSince(target, action)) return restore(run, action, target);
  const watchEnds = action.event.time.getTime() + policy.restartWatchHours * 3600 * 1000;
  const next = run.deps.now() + policy.restartCheckSeconds * 1000;
  if (next > watchEnds) {
    action.step(`stop watching: ${action.event.instanceId} is still ${target.instance.state}`);
    return action.finish("done", `instance still ${target.instance.state} after ${policy.restartWatchHours} h; node left tainted and cordoned`);
  }
  await run.scheduleFollowUp(action, "check-restarted", new Date(next));
  return action.finish("scheduled", `instance is ${target.instance.state}`);
}

/**
 * After the deadline: a detached instance EC2 still runs (the warning was a drill, say) is outside
 * its group while its replacement runs in its place, a node too many. Its node was drained, so it
 * is terminated (or, by policy, only reported). Anything else about it is left as it is.
 */
async function checkReclaimed(run: ActionRunner, action: Action): Promise<ActionReport> {
  const target = await run.resolve(action).catch((error: unknown) => {
    if (error instanceof SkipError && error.reason === "unknown-instance") return undefined;
    throw error;
  });
  const state = target?.instance.state;
  if (!target || state === "terminated" || state === "shutting-down") return action.finish("done", "EC2 reclaimed the instance");
  const membership = await run.deps.groups?.membership(action.event.instanceId);
  if (membership) return action.finish("skipped", `${action.event.instanceId} is a member of ${membership.autoScalingGroup} again: left to its group`);
  const record = target.node ? recordOf(target.node) : undefined;
  if (!record || !isRecordOf(record, action.event.eventId) || !record.mechanism.startsWith("detach") || record.state === "failed") {
    return action.finish("skipped", `no detach for event ${action.event.eventId} is recorded on the instance's node: left as it is`);
  }
  const node = target.node as Node;
  const late = Math.round((run.deps.now() - (action.event.deadline ?? action.event.time).getTime()) / 1000);
  const why = `${action.event.instanceId} was detached from its group at the warning ${action.event.eventId} and EC2 still runs it ${late} s after the deadline; its replacement runs in its place`;
  if (!run.deps.policy.replacement.terminateUnreclaimed) {
    await run.nodeEvent(action, node, EVENT_REASONS.detachedInstanceTerminated, `Not terminated (replacement.terminateUnreclaimed is false): ${why}`, "Warning");
    action.log.warn("detached instance not reclaimed; left running by policy", { state });
    return action.finish("skipped", `left running by policy: ${why}`);
  }
  action.step(`terminate ${action.event.instanceId}: ${why}`);
  if (run.dryRun) return action.finish("done", why);
  const result = await run.deps.instances.terminate(action.event.instanceId);
  if (result === "terminating") {
    run.deps.metrics.add(METRICS.detachedInstancesTerminated, "Count", 1);
    await run.nodeEvent(action, node, EVENT_REASONS.detachedInstanceTerminated, `Terminated: ${why}`, "Warning");
    action.log.warn("detached instance terminated: EC2 had not reclaimed it", { late });
  }
  return action.finish("done", result === "terminating" ? why : "EC2 no longer knows the instance");
}

export const spotInterruption: SignalPlaybook = {
  kind: "spot-interruption",
  handle,
  followUps: { "check-restarted": checkRestarted, "check-reclaimed": checkReclaimed },
};
