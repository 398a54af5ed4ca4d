/**
 * EC2 Instance-terminate Lifecycle Action: taint asg-termination, cordon, drain with lifecycle
 * heartbeats (up to `maxDrainSeconds`), then CompleteLifecycleAction. An instance already gone,
 * or an action past its drain time, is only completed: nothing is started on the node.
 */
import { EVENT_REASONS } from "../constants";
import { SkipError } from "../errors";
import type { DrainReport } from "../drain/drain";
import type { Action } from "../pipeline/action";
import type { ActionReport } from "../pipeline/context";
import type { ActionRunner } from "../pipeline/runner";
import { assertLifecycleActionOpen } from "./lifecycle-window";
import type { SignalPlaybook } from "./playbook";

async function handle(run: ActionRunner, action: Action): Promise<ActionReport> {
  const policy = run.deps.policy.asgTerminate;
  run.enabled(action, policy.enabled);
  const lifecycle = action.event.lifecycle;
  if (!lifecycle) throw new SkipError("malformed-event", "lifecycle action without hook details");
  assertLifecycleActionOpen(run, action);
  const until = action.event.time.getTime() + policy.maxDrainSeconds * 1000;
  const target = await run.resolve(action, until);
  let report: DrainReport | undefined;
  let why: string;
  const gone = target.instance.state === "terminated" || target.instance.state === "shutting-down";
  if (target.node && !gone && run.deps.now() < until) {
    let node = await run.protect(action, target.node, { purpose: "asgTermination", taint: policy.taint, effect: policy.taintEffect, cordon: policy.cordon }, until);
    if (action.reportsStart) {
      await run.nodeEvent(action, node, EVENT_REASONS.asgTermination, `Auto Scaling group ${lifecycle.asgName} is terminating ${action.event.instanceId} (hook ${lifecycle.hookName})`, "Warning");
    }
    await run.notify(action, "start");
    if (policy.drain) {
      report = await run.withHeartbeats(action, () => run.drain(action, node, { until, eventDeadline: until, policy: policy.drainPolicy }));
      node = (await action.kube.getNode(node.metadata?.name ?? "")) ?? node;
    }
    why = !report ? "not drained (drain disabled by policy)" : report.complete ? "drained" : `drain incomplete: ${report.left.length} pods left`;
  } else if (target.node && !gone) {
    action.log.info("lifecycle action past its drain time: completing it without draining", { until: new Date(until).toISOString() });
    action.step("past the drain time: nothing started on the node");
    why = "past the drain time: nothing started on the node";
  } else {
    action.log.info(gone ? "instance already terminating: nothing to drain" : "no node for the instance: nothing to drain", { lookup: target.lookup, state: target.instance.state });
    why = gone ? `nothing to drain (instance ${target.instance.state})` : "nothing to drain (no node)";
    action.step(why);
  }
  action.step(`complete lifecycle action ${policy.result}`);
  // a duplicate or a late delivery finds the action over: that completion is not counted again
  const completion = await run.completeLifecycle(action, policy.result, why, report);
  // without a node there is no ledger: the delivery that completed the action is the one that tells
  if (action.firstDelivery !== undefined || completion === "completed") {
    await run.notify(action, "end", { outcome: "done", lifecycleResult: policy.result, lifecycleCompletion: completion, ...run.drainSummary(report) });
    run.settled(action);
  }
  return action.finish("done");
}

export const asgTerminate: SignalPlaybook = { kind: "asg-terminate", handle };
