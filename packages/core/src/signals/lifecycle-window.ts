/**
 * How long an Auto Scaling lifecycle action can still be open: Auto Scaling keeps an instance in a
 * lifecycle wait state for at most 48 hours (or 100 heartbeat timeouts, when that is less) and then
 * ends the action with the hook's default result on its own.
 */
import { SkipError } from "../errors";
import type { Action } from "../pipeline/action";
import { iso, type ActionRunner } from "../pipeline/runner";

export const LIFECYCLE_ACTION_MAX_SECONDS = 48 * 3600;

/** Acknowledges, touching nothing, a lifecycle action Auto Scaling has certainly ended already. */
export function assertLifecycleActionOpen(run: ActionRunner, action: Action): void {
  const started = action.event.time.getTime();
  const ageSeconds = (run.deps.now() - started) / 1000;
  if (ageSeconds > LIFECYCLE_ACTION_MAX_SECONDS) {
    throw new SkipError(
      "stale-event",
      `the lifecycle action of ${iso(started)} is ${Math.floor(ageSeconds / 3600)} h old, past Auto Scaling's ${LIFECYCLE_ACTION_MAX_SECONDS / 3600}-hour limit: Auto Scaling has ended it already`,
    );
  }
}
