/** The Cron that launches the configured rebuilds (e.g. a nightly base-image refresh) through the webhook's launcher. */
import { launchScheduledBuilds, parseScheduledInvocation, type ScheduledLaunch } from "@spot-manager/core";
import { readScheduledConfig } from "../lib/delivery-env";
import { createScheduledRuntime, type ScheduledRuntime } from "../lib/delivery-runtime";
import { createLogger, EmfMetrics } from "../lib/powertools";
import { oncePerColdStart } from "../lib/runtime";

export interface ScheduledResult {
  launched: ScheduledLaunch[];
}

/** The handler around a runtime factory, called once per cold start (and again after it failed). */
export function createScheduledHandler(createRuntime: () => ScheduledRuntime) {
  const runtime = oncePerColdStart(createRuntime);
  return async (event: unknown): Promise<ScheduledResult> => {
    const ready = await runtime();
    try {
      const invocation = parseScheduledInvocation(event, ready.now);
      return { launched: await launchScheduledBuilds({ launcher: ready.launcher, builds: ready.builds, log: ready.log }, invocation) };
    } finally {
      ready.metrics.flush?.();
    }
  };
}

export const handler = createScheduledHandler(() => {
  const config = readScheduledConfig(process.env);
  return createScheduledRuntime(config, createLogger("spot-manager-delivery-scheduled"), new EmfMetrics("spot-manager-delivery", { project: config.projectName }));
});
