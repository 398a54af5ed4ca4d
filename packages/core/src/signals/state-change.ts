/**
 * EC2 Instance State-change Notification. `stopping` and `shutting-down`: cordon (and taint, in
 * spot-manager's style; NTH's style sets none, as NTH does) and drain what is left within
 * `drainSeconds`, deleting leftovers then — but only while EC2 still reports the instance stopping
 * or shutting down (or later): an event for an instance that runs again changes nothing.
 * `terminated`: recorded, optionally with the out-of-service taint.
 */
import { EVENT_REASONS, OUT_OF_SERVICE_TAINT } from "../constants";
import { SkipError } from "../errors";
import type { Action } from "../pipeline/action";
import type { ActionReport } from "../pipeline/context";
import type { ActionRunner } from "../pipeline/runner";
import { describeTaint } from "../pipeline/taints";
import type { SignalPlaybook } from "./playbook";

/** EC2 states at or past a stop or a shutdown: the event still applies. */
const STILL_GOING = new Set(["stopping", "stopped", "shutting-down", "terminated"]);

async function handle(run: ActionRunner, action: Action): Promise<ActionReport> {
  const policy = run.deps.policy.stateChange;
  run.enabled(action, policy.enabled);
  const state = action.event.state;
  if (state === "terminated") return terminated(run, action);
  if (!state || !(policy.drainOn as string[]).includes(state)) {
    throw new SkipError("not-applicable", `instance state ${state ?? "unknown"} needs no action`);
  }
  const until = action.event.time.getTime() + policy.drainSeconds * 1000;
  action.report.deadline = until;
  const target = await run.resolve(action, until);
  const now = target.instance.state;
  if (!STILL_GOING.has(now)) {
    throw new SkipError("stale-event", `EC2 reports ${action.event.instanceId} ${now} now: the ${state} event of ${action.event.time.toISOString()} no longer applies`);
  }
  let node = run.requireNode(action, target);
  if (run.deps.now() >= until) return run.applyDeadlinePolicy(action, node, { until, eventDeadline: until, policy: policy.drainPolicy });
  node = await run.protect(action, node, { purpose: "instanceStopping", taint: policy.taint, effect: policy.taintEffect, cordon: policy.cordon }, until);
  if (action.reportsStart) await run.nodeEvent(action, node, EVENT_REASONS.instanceStopping, `Instance ${action.event.instanceId} is ${state}`, "Warning");
  await run.notify(action, "start");
  const report = policy.drain ? await run.drain(action, node, { until, eventDeadline: until, policy: policy.drainPolicy }) : undefined;
  await run.notify(action, "end", { outcome: "done", ...run.drainSummary(report) });
  run.settled(action);
  return action.finish("done");
}

async function terminated(run: ActionRunner, action: Action): Promise<ActionReport> {
  const target = await run.resolve(action).catch((error: unknown) => {
    // a terminated instance may already be unknown to EC2: there is nothing left to act on
    if (error instanceof SkipError && error.reason === "unknown-instance") return undefined;
    throw error;
  });
  const node = target?.node;
  if (!node) {
    action.step("record (no node left)");
    return action.finish("done", "instance terminated; no node left");
  }
  action.step("record");
  await run.nodeEvent(action, node, EVENT_REASONS.instanceTerminated, `Instance ${action.event.instanceId} is terminated`);
  if (run.deps.policy.stateChange.outOfServiceTaint) {
    action.step(`taint ${describeTaint(OUT_OF_SERVICE_TAINT)}`);
    if (!run.dryRun) {
      const result = await run.changeNode(action, node, { addTaints: [OUT_OF_SERVICE_TAINT] });
      if (result.changed) await run.nodeEvent(action, result.node, EVENT_REASONS.outOfService, `Instance ${action.event.instanceId} is gone: node marked out of service so its pods can move`, "Warning");
    }
  }
  return action.finish("done");
}

export const stateChange: SignalPlaybook = { kind: "state-change", handle };
