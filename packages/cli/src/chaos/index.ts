/** Many chaos runs, one after another, and what they add up to. */
import { runChaos, type RunResult } from "./run";
import type { Violation } from "./invariants";

export interface ChaosSummary {
  runs: number;
  firstSeed: number;
  violations: Violation[];
  figures: {
    wallSeconds: number;
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

/** Plays `runs` schedules from `seed` on (seed, seed + 1, ...); `onRun` sees each result as it comes. */
export async function chaos(runs: number, seed: number, onRun?: (result: RunResult) => void): Promise<ChaosSummary> {
  const started = Date.now();
  const summary: ChaosSummary = {
    runs,
    firstSeed: seed,
    violations: [],
    figures: { wallSeconds: 0, meanRunSeconds: 0, invocations: 0, recordsDelivered: 0, returnedForRetry: 0, deadLettered: 0, followUps: 0, evictions: 0, maxInvocationsPerEvent: 0, stories: {} },
  };
  for (let n = 0; n < runs; n += 1) {
    const result = await runChaos(seed + n);
    onRun?.(result);
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
  summary.figures.meanRunSeconds = Number((summary.figures.wallSeconds / Math.max(1, runs)).toFixed(2));
  return summary;
}

export { runChaos, type RunResult } from "./run";
export type { Violation } from "./invariants";
