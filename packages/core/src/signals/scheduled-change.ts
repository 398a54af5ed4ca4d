/**
 * AWS Health scheduled change (EC2): taint scheduled-maintenance, cordon now, drain `leadSeconds`
 * before the maintenance starts (a follow-up when that is later). A maintenance whose window is
 * already over changes nothing.
 */
import { EVENT_REASONS } from "../constants";
import { SkipError } from "../errors";
import type { Action } from "../pipeline/action";
import type { ActionReport } from "../pipeline/context";
import { iso, type ActionRunner, type DrainPlan } from "../pipeline/runner";
import type { SignalPlaybook } from "./playbook";

function plan(run: ActionRunner, start: Date): DrainPlan {
  // a start already past still gets a short, bounded drain
  const until = Math.max(start.getTime(), run.deps.now() + 60_000);
  return { until, eventDeadline: until, policy: run.deps.policy.scheduledChange.drainPolicy };
}

function checkWindow(run: ActionRunner, action: Action): void {
  const end = action.event.scheduled?.endTime?.getTime();
  if (end !== undefined && run.deps.now() > end) throw new SkipError("stale-event", `the maintenance window ended at ${iso(end)}: the event no longer applies`);
}

async function handle(run: ActionRunner, action: Action): Promise<ActionReport> {
  if (action.continuation) return drainForMaintenance(run, action);
  const policy = run.deps.policy.scheduledChange;
  run.enabled(action, policy.enabled);
  checkWindow(run, action);
  const target = await run.resolve(action);
  let node = run.requireNode(action, target);
  node = await run.protect(action, node, { purpose: "scheduledMaintenance", taint: policy.taint, effect: policy.taintEffect, cordon: policy.cordon });
  const start = action.event.scheduled?.startTime ?? action.event.deadline ?? action.event.time;
  if (action.reportsStart) {
    await run.nodeEvent(action, node, EVENT_REASONS.scheduledMaintenance, `${action.event.scheduled?.eventTypeCode ?? "Scheduled maintenance"} for ${action.event.instanceId} starts ${start.toISOString()}`, "Warning");
  }
  await run.notify(action, "start", { maintenanceStart: start.toISOString() });
  if (!policy.drain) {
    run.settled(action);
    return action.finish("done");
  }
  const due = new Date(start.getTime() - policy.leadSeconds * 1000);
  if (due.getTime() > run.deps.now() + 1_000) {
    await run.scheduleFollowUp(action, "drain-for-maintenance", due);
    return action.finish("scheduled", `drain scheduled for ${due.toISOString()}`);
  }
  const report = await run.drain(action, node, plan(run, start));
  await run.notify(action, "end", { outcome: "done", ...run.drainSummary(report) });
  run.settled(action);
  return action.finish("done");
}

async function drainForMaintenance(run: ActionRunner, action: Action): Promise<ActionReport> {
  const policy = run.deps.policy.scheduledChange;
  run.enabled(action, policy.enabled);
  if (!policy.drain) throw new SkipError("disabled-by-policy", "draining for scheduled maintenance is disabled by policy");
  checkWindow(run, action);
  const target = await run.resolve(action);
  let node = run.requireNode(action, target);
  node = await run.protect(action, node, { purpose: "scheduledMaintenance", taint: policy.taint, effect: policy.taintEffect, cordon: policy.cordon });
  const start = action.event.scheduled?.startTime ?? action.event.deadline ?? new Date(run.deps.now());
  const report = await run.drain(action, node, plan(run, start));
  await run.notify(action, "end", { outcome: "done", ...run.drainSummary(report) });
  run.settled(action);
  return action.finish("done");
}

export const scheduledChange: SignalPlaybook = {
  kind: "scheduled-change",
  handle,
  followUps: { "drain-for-maintenance": drainForMaintenance },
};
