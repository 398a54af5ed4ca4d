/**
 * EC2 Instance-launch Lifecycle Action: CONTINUE once the node is Ready; checked again every
 * `checkIntervalSeconds` until `readyTimeoutSeconds`, then the policy's result (ABANDON). An
 * instance EC2 never described by then, or an action past Auto Scaling's own limit, is left alone.
 */
import { EVENT_REASONS } from "../constants";
import { SkipError, UnknownInstanceError } from "../errors";
import type { Action } from "../pipeline/action";
import type { ActionReport } from "../pipeline/context";
import type { ActionRunner } from "../pipeline/runner";
import { assertLifecycleActionOpen } from "./lifecycle-window";
import type { SignalPlaybook } from "./playbook";

async function handle(run: ActionRunner, action: Action): Promise<ActionReport> {
  const policy = run.deps.policy.asgLaunch;
  run.enabled(action, policy.enabled);
  const lifecycle = action.event.lifecycle;
  if (!lifecycle) throw new SkipError("malformed-event", "lifecycle action without hook details");
  assertLifecycleActionOpen(run, action);
  // right after launch EC2 may not describe the instance yet: that is "not registered", not unknown
  const target = await run.resolve(action).catch((error: unknown) => {
    if (error instanceof UnknownInstanceError) return undefined;
    throw error;
  });
  const ready = (target?.node?.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
  const timedOut = run.deps.now() >= action.event.time.getTime() + policy.readyTimeoutSeconds * 1000;
  if (!ready && !timedOut) {
    await run.scheduleFollowUp(action, "check-launch-ready", new Date(run.deps.now() + policy.checkIntervalSeconds * 1000), action.attempt + 1);
    return action.finish("scheduled", target?.node ? "node not Ready yet" : "node not registered yet");
  }
  // still unknown to EC2 when the wait is over: nothing shows the instance is this cluster's, so its
  // action is left to the hook's own timeout and default result
  if (!target) throw new UnknownInstanceError(action.event.instanceId);
  const result = ready ? "CONTINUE" : policy.onTimeout;
  action.step(`complete lifecycle action ${result}${ready ? " (node Ready)" : ` (not Ready after ${policy.readyTimeoutSeconds} s)`}`);
  const completion = await run.completeLifecycle(action, result, ready ? "node Ready" : `not Ready after ${policy.readyTimeoutSeconds} s`);
  if (completion === "completed" && target?.node) await run.nodeEvent(action, target.node, EVENT_REASONS.asgLaunch, `Launch lifecycle action of ${lifecycle.asgName} completed: ${result}`);
  return action.finish("done");
}

export const asgLaunch: SignalPlaybook = {
  kind: "asg-launch",
  handle,
  followUps: { "check-launch-ready": (run, action) => handle(run, action) },
};
