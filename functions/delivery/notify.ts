/** "CodeBuild Build State Change" events -> a concise notification on the project's SNS topic. */
import type { NotifyResult } from "@spot-manager/core";
import { readNotifyConfig } from "../lib/delivery-env";
import { createNotifyRuntime, type NotifyRuntime } from "../lib/delivery-runtime";
import { createLogger, EmfMetrics } from "../lib/powertools";
import { oncePerColdStart } from "../lib/runtime";

/** The handler around a runtime factory, called once per cold start (and again after it failed). */
export function createNotifyHandler(createRuntime: () => NotifyRuntime) {
  const runtime = oncePerColdStart(createRuntime);
  return async (event: unknown): Promise<NotifyResult> => {
    const ready = await runtime();
    try {
      return await ready.notifier.notify(event);
    } finally {
      ready.metrics.flush?.();
    }
  };
}

export const handler = createNotifyHandler(() => {
  const config = readNotifyConfig(process.env);
  return createNotifyRuntime(config, createLogger("spot-manager-delivery-notify"), new EmfMetrics("spot-manager-delivery", config.projectName ? { project: config.projectName } : {}));
});
