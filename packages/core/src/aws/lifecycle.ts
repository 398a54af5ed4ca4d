/** Auto Scaling lifecycle actions: heartbeats while draining, and completion. */
import { CompleteLifecycleActionCommand, RecordLifecycleActionHeartbeatCommand, type AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { awsFailure } from "./errors";
import type { LifecycleDetails } from "../events/types";

export type LifecycleResult = "CONTINUE" | "ABANDON";

/** Auto Scaling answers ValidationError once the action is over (completed, timed out, or gone). */
function isOver(error: unknown): boolean {
  const e = error as { name?: string; message?: string };
  return e.name === "ValidationError" && /No active Lifecycle Action found/i.test(e.message ?? "");
}

export class LifecycleActions {
  constructor(private readonly autoscaling: AutoScalingClient) {}

  /** Completes the action; "already-over" when someone (or a timeout) completed it before. */
  async complete(lifecycle: LifecycleDetails, instanceId: string, result: LifecycleResult): Promise<"completed" | "already-over"> {
    try {
      await this.autoscaling.send(
        new CompleteLifecycleActionCommand({
          AutoScalingGroupName: lifecycle.asgName,
          LifecycleHookName: lifecycle.hookName,
          LifecycleActionToken: lifecycle.token,
          InstanceId: instanceId,
          LifecycleActionResult: result,
        }),
      );
      return "completed";
    } catch (error) {
      if (isOver(error)) return "already-over";
      throw awsFailure(`autoscaling:CompleteLifecycleAction for ${instanceId}`, error);
    }
  }

  /** Extends the hook's timeout while a drain is under way. */
  async heartbeat(lifecycle: LifecycleDetails, instanceId: string): Promise<"recorded" | "already-over"> {
    try {
      await this.autoscaling.send(
        new RecordLifecycleActionHeartbeatCommand({
          AutoScalingGroupName: lifecycle.asgName,
          LifecycleHookName: lifecycle.hookName,
          LifecycleActionToken: lifecycle.token,
          InstanceId: instanceId,
        }),
      );
      return "recorded";
    } catch (error) {
      if (isOver(error)) return "already-over";
      throw awsFailure(`autoscaling:RecordLifecycleActionHeartbeat for ${instanceId}`, error);
    }
  }
}
