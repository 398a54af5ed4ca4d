/**
 * EC2 Instance Rebalance Recommendation: taint rebalance (PreferNoSchedule) so new pods prefer
 * other nodes; by policy also cordon or drain. The taint (and a cordon this recommendation made)
 * comes off again when no interruption followed — never while another signal holds the node. A
 * recommendation older than the taint's lifetime, or for an instance no longer running, changes nothing.
 */
import { EVENT_REASONS } from "../constants";
import { SkipError } from "../errors";
import type { DrainReport } from "../drain/drain";
import { hasTaint } from "../kube/node-state";
import type { Action } from "../pipeline/action";
import type { ActionReport } from "../pipeline/context";
import { iso, type ActionRunner } from "../pipeline/runner";
import { taintKey, taintValue } from "../pipeline/taints";
import type { SignalPlaybook } from "./playbook";
import { heldByOthers, releaseNode } from "./release";

async function handle(run: ActionRunner, action: Action): Promise<ActionReport> {
  const policy = run.deps.policy.rebalanceRecommendation;
  run.enabled(action, policy.enabled);
  const expires = action.event.time.getTime() + policy.removeTaintAfterSeconds * 1000;
  if (policy.removeTaintAfterSeconds > 0 && run.deps.now() >= expires && !action.continuation) {
    throw new SkipError("stale-event", `recommendation of ${iso(action.event.time.getTime())} is past its taint's lifetime (${policy.removeTaintAfterSeconds} s)`);
  }
  const target = await run.resolve(action);
  const state = target.instance.state;
  if (state !== "running" && state !== "pending") throw new SkipError("not-applicable", `instance ${action.event.instanceId} is ${state}: a rebalance recommendation no longer applies`);
  let node = run.requireNode(action, target);
  node = await run.protect(action, node, { purpose: "rebalance", taint: policy.taint, effect: policy.taintEffect, cordon: policy.cordon });
  if (action.reportsStart) await run.nodeEvent(action, node, EVENT_REASONS.rebalanceRecommendation, `Rebalance recommendation for ${action.event.instanceId}: elevated risk of interruption`);
  await run.notify(action, "start");
  // by policy, the group starts a replacement now (one without capacity rebalancing of its own)
  const replacing = run.startReplacement(action, target, node, "rebalance-recommendation");
  let report: DrainReport | undefined;
  try {
    if (policy.drain) {
      const until = action.invocation.deadline;
      report = await run.drain(action, node, { until, eventDeadline: until, policy: policy.drainPolicy });
    }
  } finally {
    await replacing?.outcome;
  }
  if ((policy.taint || policy.cordon) && policy.removeTaintAfterSeconds > 0 && !action.continuation) {
    await run.scheduleFollowUp(action, "remove-rebalance-taint", new Date(expires));
  }
  await run.notify(action, "end", { outcome: "done", ...run.drainSummary(report), ...(action.report.replacement ? { replacement: action.report.replacement } : {}) });
  run.settled(action);
  return action.finish("done");
}

async function removeRebalanceTaint(run: ActionRunner, action: Action): Promise<ActionReport> {
  const style = run.deps.policy.taintStyle;
  const target = await run.resolve(action);
  const node = run.requireNode(action, target);
  const interruption = taintKey(style, "spotInterruption");
  const result = await releaseNode(run, action, node, {
    purpose: "rebalance",
    // an interruption, termination or maintenance (or a stop) holds the node: leave the taint and the cordon
    keepIf: (current) =>
      interruption !== undefined && hasTaint(current, interruption) ? "an interruption followed the recommendation" : heldByOthers(current, { kind: action.event.kind, eventId: action.event.eventId }),
  });
  if (result.aborted) {
    action.step(`keep the rebalance taint: ${result.aborted}`);
    return action.finish("skipped", result.aborted);
  }
  action.step(`remove taint ${taintKey(style, "rebalance")}=${taintValue(action.event.eventId)}`);
  if (result.uncordoned) action.step("uncordon");
  if (result.changed) {
    await run.nodeEvent(action, result.node, EVENT_REASONS.taintRemoved, `No interruption followed the rebalance recommendation ${action.event.eventId}; taint ${taintKey(style, "rebalance")} removed${result.uncordoned ? ", node uncordoned" : ""}`);
  }
  return action.finish("done");
}

export const rebalanceRecommendation: SignalPlaybook = {
  kind: "rebalance-recommendation",
  handle,
  followUps: { "remove-rebalance-taint": removeRebalanceTaint },
};
