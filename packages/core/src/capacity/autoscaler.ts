/**
 * How the capacity manager and cluster-autoscaler share a spot shortfall. CA raises desired when
 * pods are pending; if a node has not registered within its max-node-provision-time, CA gives the
 * node up, lowers desired again and backs off that group. The fallback's shortfall trigger reads
 * desired above in service: it has to see the shortfall before CA erases it, on some run.
 */
import type { CapacityPolicy } from "./policy";

export interface AutoscalerTiming {
  /** cluster-autoscaler's --max-node-provision-time, in minutes. */
  maxNodeProvisionMinutes: number;
  /** How often the capacity function runs, in minutes (0 when unknown, e.g. a cron schedule). */
  runIntervalMinutes: number;
}

export interface TimingProblem {
  /** Path of the field in the policy, e.g. ["fallbacks", 0, "shortfallMinutes"]. */
  path: (string | number)[];
  message: string;
}

/** The fallback rules whose shortfall trigger cluster-autoscaler would erase before it can fire. */
export function checkAutoscalerTiming(policy: CapacityPolicy, timing: AutoscalerTiming): TimingProblem[] {
  return policy.fallbacks.flatMap((rule, index) => {
    const seenBy = rule.shortfallMinutes + timing.runIntervalMinutes;
    if (seenBy < timing.maxNodeProvisionMinutes) return [];
    return [
      {
        path: ["fallbacks", index, "shortfallMinutes"],
        message:
          `must be below cluster-autoscaler's max-node-provision-time (${timing.maxNodeProvisionMinutes} min) minus the run interval (${timing.runIntervalMinutes} min): ` +
          `CA gives up on nodes that did not come within that time and lowers desired, which erases the shortfall before it counts (got ${rule.shortfallMinutes})`,
      },
    ];
  });
}

/** Minutes between runs of an EventBridge `rate(...)` expression; 0 for a cron or anything else. */
export function rateMinutes(expression: string): number {
  const match = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression.trim());
  if (!match) return 0;
  const value = Number(match[1]);
  const unit = match[2] as string;
  return unit.startsWith("minute") ? value : unit.startsWith("hour") ? value * 60 : value * 1440;
}
