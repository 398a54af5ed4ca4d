/**
 * The interruption function: SQS batches of EventBridge events (partial batch responses), or an
 * EventBridge event invoked directly for drills. Parsing and acting live in @spot-manager/core.
 */
import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { ChangeMessageVisibilityCommand } from "@aws-sdk/client-sqs";
import { parseMessage, parseMessageBody, processMessage, RetryError, type ActionReport, type InterruptionPipeline, type MessageDeps } from "@spot-manager/core";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { readInterruptionConfig } from "./lib/env";
import { createAwsClients, createInterruptionRuntime, type InterruptionRuntime } from "./lib/interruption-runtime";
import { createLogger, EmfMetrics } from "./lib/powertools";
import { oncePerColdStart } from "./lib/runtime";

export type InvocationContext = Pick<Context, "getRemainingTimeInMillis" | "awsRequestId">;

/** A drill marks its synthetic event so the function only reports what it would do. */
export interface DrillEnvelope {
  drill?: { dryRun?: boolean };
}

export interface DirectResult {
  reports: ActionReport[];
}

function messageDeps(runtime: InterruptionRuntime, pipeline: InterruptionPipeline): MessageDeps {
  return { pipeline, log: runtime.log, metrics: runtime.metrics, now: runtime.now, ...(runtime.onReport ? { onReport: runtime.onReport } : {}) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isSqsEvent(event: unknown): event is SQSEvent {
  if (!isRecord(event)) return false;
  const records = event["Records"];
  return Array.isArray(records) && records.every((r) => (r as { eventSource?: string }).eventSource === "aws:sqs");
}

/** arn:aws:sqs:<region>:<account>:<name> -> the queue URL. */
export function queueUrlOf(arn: string): string | undefined {
  const match = /^arn:(aws[\w-]*):sqs:([\w-]+):(\d+):(.+)$/.exec(arn);
  if (!match) return undefined;
  const domain = match[1] === "aws-cn" ? "amazonaws.com.cn" : "amazonaws.com";
  return `https://sqs.${match[2]}.${domain}/${match[3]}/${match[4]}`;
}

async function handleBatch(runtime: InterruptionRuntime, event: SQSEvent, context: InvocationContext): Promise<SQSBatchResponse> {
  const deadline = runtime.now() + context.getRemainingTimeInMillis();
  const pipeline = runtime.pipeline(false);
  const recordHandler = async (record: SQSRecord): Promise<void> => {
    try {
      await processMessage(messageDeps(runtime, pipeline), () => parseMessageBody(record.body), { deadline }, record.messageId);
    } catch (error) {
      // a record to retry comes back after a short backoff, not after the queue's long visibility timeout
      await shortenVisibility(runtime, record, retryDelaySeconds(error, record));
      throw error;
    }
  };
  // a batch where every record must be retried is still an answer, not a function error
  return processPartialResponse(event, recordHandler, new BatchProcessor(EventType.SQS), { context: context as Context, processInParallel: true, throwOnFullBatchFailure: false });
}

/** The error's own Retry-After, else 5 s doubling with each receive, at most 2 minutes. */
export function retryDelaySeconds(error: unknown, record: Pick<SQSRecord, "attributes">): number {
  if (error instanceof RetryError && error.retryAfterSeconds !== undefined) return error.retryAfterSeconds;
  const receives = Math.max(1, Number(record.attributes.ApproximateReceiveCount) || 1);
  return Math.min(120, 5 * 2 ** (receives - 1));
}

async function shortenVisibility(runtime: InterruptionRuntime, record: SQSRecord, seconds: number): Promise<void> {
  const queueUrl = queueUrlOf(record.eventSourceARN);
  if (!queueUrl) return;
  try {
    await runtime.clients.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: record.receiptHandle, VisibilityTimeout: Math.max(0, Math.min(43_200, Math.round(seconds))) }));
  } catch (error) {
    runtime.log.warn("visibility not changed; the record returns after the queue's visibility timeout", { messageId: record.messageId, error: (error as Error).message });
  }
}

async function handleDirect(runtime: InterruptionRuntime, event: unknown, context: InvocationContext): Promise<DirectResult> {
  const dryRun = isRecord(event) && (event as DrillEnvelope).drill?.dryRun === true;
  const deadline = runtime.now() + context.getRemainingTimeInMillis();
  const reports = await processMessage(
    messageDeps(runtime, runtime.pipeline(dryRun)),
    () => parseMessage(event),
    { deadline },
    context.awsRequestId,
  );
  return { reports };
}

/** The handler around a runtime factory, called once per cold start (and again after it failed). */
export function createInterruptionHandler(createRuntime: () => Promise<InterruptionRuntime>) {
  const runtime = oncePerColdStart(createRuntime);
  return async (event: unknown, context: InvocationContext): Promise<SQSBatchResponse | DirectResult> => {
    const ready = await runtime();
    try {
      return isSqsEvent(event) ? await handleBatch(ready, event, context) : await handleDirect(ready, event, context);
    } finally {
      ready.metrics.flush?.();
    }
  };
}

export const handler = createInterruptionHandler(async () => {
  const config = readInterruptionConfig(process.env);
  const log = createLogger("spot-manager-interruption");
  const metrics = new EmfMetrics("spot-manager-interruption", { cluster: config.clusterName });
  return createInterruptionRuntime({ config, clients: createAwsClients(config.region), log, metrics });
});
