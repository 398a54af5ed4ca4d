/** The Cron that launches the configured rebuilds (e.g. a nightly base-image refresh) through the webhook's launcher. */
import { launchScheduledBuilds, parseScheduledInvocation, type ScheduledLaunch } from "@spot-manager/core";
import { readScheduledConfig } from "../lib/delivery-env";
import { createScheduledRuntime, type ScheduledRuntime } from "../lib/delivery-runtime";
import { createLogger, EmfMetrics } from "../lib/powertools";

export interface ScheduledResult {
  launched: ScheduledLaunch[];
}

/** The handler around a runtime factory, called once per cold start (and again after it failed). */
export function createScheduledHandler(createRuntime: () => ScheduledRuntime) {
  let runtime: ScheduledRuntime | undefined;
  return async (event: unknown): Promise<ScheduledResult> => {
    runtime ??= createRuntime();
    try {
      const invocation = parseScheduledInvocation(event, runtime.now);
      return { launched: await launchScheduledBuilds({ launcher: runtime.launcher, builds: runtime.builds, log: runtime.log }, invocation) };
    } finally {
      runtime.metrics.flush?.();
    }
  };
}

export const handler = createScheduledHandler(() => {
  const config = readScheduledConfig(process.env);
  return createScheduledRuntime(config, createLogger("spot-manager-delivery-scheduled"), new EmfMetrics("spot-manager-delivery", { project: config.projectName }));
});
