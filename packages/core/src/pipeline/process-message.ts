/**
 * One queued message, end to end: parse, run every event it carries through the pipeline, and
 * sort failures into "acknowledge with a logged reason" (SkipError) and "return to the queue".
 */
import { METRICS } from "../constants";
import { errorMessage, PermanentError, SkipError } from "../errors";
import type { ParsedMessage } from "../events/types";
import type { Log, Metrics } from "../observability";
import type { ActionReport, Invocation } from "./context";
import { DRILL_DIMENSION, type InterruptionPipeline } from "./pipeline";

export interface MessageDeps {
  pipeline: InterruptionPipeline;
  log: Log;
  metrics: Metrics;
  now: () => number;
  /** Sees every report (the local simulation builds its report from them). */
  onReport?: (report: ActionReport) => void;
}

function skipped(error: SkipError, deps: MessageDeps, identity: { eventId: string; kind: string; instanceId: string }, drill = false): ActionReport {
  deps.metrics.add(METRICS.eventsIgnored, "Count", 1, { reason: error.reason, ...(drill ? DRILL_DIMENSION : {}) });
  deps.log.info("event acknowledged without action", { ...identity, reason: error.reason, detail: error.message });
  const now = deps.now();
  return { ...identity, outcome: "skipped", reason: `${error.reason}: ${error.message}`, steps: [], startedAt: now, finishedAt: now, kubeRequests: 0, dryRun: false, invocations: 1 };
}

/**
 * Runs a message; returns a report per event. Throws when any event must be retried (RetryError or
 * anything unexpected), after every event of the message had its turn (the ones that succeeded are
 * idempotent on redelivery); else throws the PermanentError of an event that can never succeed.
 */
export async function processMessage(deps: MessageDeps, parse: () => ParsedMessage, invocation: Invocation, messageId: string): Promise<ActionReport[]> {
  let parsed: ParsedMessage;
  try {
    parsed = parse();
  } catch (error) {
    invocation.cordonFirst?.arrive();
    if (error instanceof SkipError) return [skipped(error, deps, { eventId: messageId, kind: "unknown", instanceId: "" })];
    throw error;
  }
  const jobs =
    parsed.type === "follow-up"
      ? [{ identity: parsed.followUp.event, kind: `follow-up:${parsed.followUp.action}`, run: () => deps.pipeline.handleFollowUp(parsed.followUp, invocation) }]
      : parsed.events.map((event) => ({ identity: event, kind: event.kind, run: () => deps.pipeline.handleEvent(event, invocation) }));
  const reports: ActionReport[] = [];
  let retry: unknown;
  let permanent: PermanentError | undefined;
  for (const job of jobs) {
    const identity = { eventId: job.identity.eventId, kind: job.kind, instanceId: job.identity.instanceId };
    try {
      const report = await job.run();
      deps.log.info("action finished", { ...identity, node: report.node, outcome: report.outcome, steps: report.steps, kubeRequests: report.kubeRequests });
      reports.push(report);
      deps.onReport?.(report);
    } catch (error) {
      if (error instanceof SkipError) {
        const report = skipped(error, deps, identity, job.identity.drill === true);
        reports.push(report);
        deps.onReport?.(report);
        continue;
      }
      if (error instanceof PermanentError) {
        deps.log.error("action failed for good: a dependency refused it", { ...identity, error: error.message, code: error.code });
        permanent ??= error;
        continue;
      }
      deps.metrics.add(METRICS.recordsRetried, "Count", 1, { kind: job.kind, ...(job.identity.drill ? DRILL_DIMENSION : {}) });
      deps.log.warn("action left for retry", { ...identity, error: errorMessage(error), errorName: (error as Error).name });
      retry ??= error;
    }
  }
  // done with this record: it no longer holds the batch's drains back
  invocation.cordonFirst?.arrive();
  if (retry !== undefined) throw retry;
  if (permanent) throw permanent;
  return reports;
}
