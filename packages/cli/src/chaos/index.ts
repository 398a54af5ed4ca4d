/** Many chaos runs, one after another or a few side by side, and what they add up to. */
import { mapWithLimit } from "@spot-manager/core";
import { runChaos, type RunResult } from "./run";
import type { Violation } from "./invariants";

export interface ChaosSummary {
  runs: number;
  firstSeed: number;
  violations: Violation[];
  figures: {
    wallSeconds: number;
    /** Mean length of one run. */
    meanRunSeconds: number;
    invocations: number;
    recordsDelivered: number;
    returnedForRetry: number;
    deadLettered: number;
    followUps: number;
    evictions: number;
    maxInvocationsPerEvent: number;
    stories: Record<string, number>;
  };
}

/**
 * Plays `runs` schedules from `seed` on (seed, seed + 1, ...), `parallel` at a time (each run has
 * its own cluster, AWS and containers; a run spends most of its time waiting on its scaled clock);
 * `onRun` sees each result as it comes. Violations are listed in seed order.
 */
export async function chaos(runs: number, seed: number, onRun?: (result: RunResult) => void, options: { parallel?: number } = {}): Promise<ChaosSummary> {
  const started = Date.now();
  const summary: ChaosSummary = {
    runs,
    firstSeed: seed,
    violations: [],
    figures: { wallSeconds: 0, meanRunSeconds: 0, invocations: 0, recordsDelivered: 0, returnedForRetry: 0, deadLettered: 0, followUps: 0, evictions: 0, maxInvocationsPerEvent: 0, stories: {} },
  };
  const seeds = Array.from({ length: runs }, (_, n) => seed + n);
  const results = await mapWithLimit(seeds, Math.max(1, options.parallel ?? 1), async (s) => {
    const result = await runChaos(s);
    onRun?.(result);
    return result;
  });
  for (const result of results) {
    summary.violations.push(...result.violations);
    const f = summary.figures;
    f.invocations += result.figures.invocations;
    f.recordsDelivered += result.figures.recordsDelivered;
    f.returnedForRetry += result.figures.returnedForRetry;
    f.deadLettered += result.figures.deadLettered;
    f.followUps += result.figures.followUps;
    f.evictions += result.figures.evictions;
    f.maxInvocationsPerEvent = Math.max(f.maxInvocationsPerEvent, result.figures.maxInvocationsPerEvent);
    for (const story of Object.values(result.stories)) f.stories[story] = (f.stories[story] ?? 0) + 1;
  }
  summary.figures.wallSeconds = Number(((Date.now() - started) / 1000).toFixed(1));
  // a run's own length, whether runs were played one after another or side by side
  summary.figures.meanRunSeconds = Number((results.reduce((n, r) => n + r.figures.wallSeconds, 0) / Math.max(1, runs)).toFixed(2));
  return summary;
}

export { runChaos, type RunResult } from "./run";
export type { Violation } from "./invariants";
