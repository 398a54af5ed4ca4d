/**
 * The capacity function, run on a schedule: keeps spot and on-demand groups within their
 * scheduled bounds and covers for spot with on-demand when spot runs short. Observing, planning
 * and applying live in @spot-manager/core; this is the wiring.
 */
import { runCapacity, type CapacityRunReport } from "@spot-manager/core";
import { readCapacityConfig } from "./lib/capacity-env";
import { createCapacityClients, createCapacityRuntime, type CapacityRuntime } from "./lib/capacity-runtime";
import { createLogger, EmfMetrics } from "./lib/powertools";
import { oncePerColdStart } from "./lib/runtime";

/** A manual invoke may ask for a dry run: `{ "dryRun": true }`. Scheduled events carry no such field. */
export interface CapacityInvocation {
  dryRun?: boolean;
}

function askedForDryRun(event: unknown): boolean {
  return typeof event === "object" && event !== null && (event as CapacityInvocation).dryRun === true;
}

/** The handler around a runtime factory, called once per cold start (and again after it failed). */
export function createCapacityHandler(createRuntime: () => Promise<CapacityRuntime>) {
  const runtime = oncePerColdStart(createRuntime);
  return async (event: unknown): Promise<CapacityRunReport> => {
    const ready = await runtime();
    try {
      return await runCapacity(ready.deps, ready.config.policy, { clusterName: ready.config.clusterName, dryRun: ready.config.dryRun || askedForDryRun(event) });
    } finally {
      ready.metrics.flush?.();
    }
  };
}

export const handler = createCapacityHandler(async () => {
  const config = readCapacityConfig(process.env);
  const log = createLogger("spot-manager-capacity");
  const metrics = new EmfMetrics("spot-manager-capacity", { cluster: config.clusterName });
  return createCapacityRuntime({ config, clients: createCapacityClients(config.region), log, metrics });
});
