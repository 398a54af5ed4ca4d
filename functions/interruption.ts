/**
 * The interruption function: SQS batches of EventBridge events (partial batch responses), or an
 * EventBridge event invoked directly for drills. Parsing and acting live in @spot-manager/core.
 */
import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { CordonFirst, CordonFirstTicket, errorMessage, METRICS, parseMessage, parseMessageBody, PermanentError, processMessage, RetryError, type ActionReport, type InterruptionPipeline, type Log, type MessageDeps } from "@spot-manager/core";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { readInterruptionConfig } from "./lib/env";
import { AWS_CLIENT_SETTINGS, createAwsClients, createInterruptionRuntime, type InterruptionRuntime } from "./lib/interruption-runtime";
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
  // every record of the batch protects its node before any of them starts draining
  const round = new CordonFirst(event.Records.length);
  const recordHandler = async (record: SQSRecord): Promise<void> => {
    const receiveCount = Math.max(1, Number(record.attributes?.ApproximateReceiveCount) || 1);
    const cordonFirst = new CordonFirstTicket(round);
    try {
      await processMessage(messageDeps(runtime, pipeline), () => parseMessageBody(record.body), { deadline, receiveCount, cordonFirst }, record.messageId);
    } catch (error) {
      cordonFirst.arrive();
      // a dependency refused for good: retrying cannot help, so the record goes to the DLQ now
      if (error instanceof PermanentError && (await deadLetter(runtime, record, error))) return;
      // a record to retry comes back after a short backoff, not after the queue's long visibility timeout
      await shortenVisibility(runtime.clients.sqs, runtime.log, record, error instanceof PermanentError ? 0 : retryDelaySeconds(error, record));
      throw error;
    }
  };
  // a batch where every record must be retried is still an answer, not a function error
  return processPartialResponse(event, recordHandler, new BatchProcessor(EventType.SQS), { context: context as Context, processInParallel: true, throwOnFullBatchFailure: false });
}

/** Sends a record to the dead-letter queue with why, so it is acknowledged here; false when that is not possible. */
async function deadLetter(runtime: InterruptionRuntime, record: SQSRecord, error: PermanentError): Promise<boolean> {
  const queueUrl = runtime.config.deadLetterQueueUrl;
  if (!queueUrl) {
    runtime.log.error("permanent failure, and no DEAD_LETTER_QUEUE_URL: the record goes round the queue until its receive count sends it there", { messageId: record.messageId, error: error.message });
    return false;
  }
  try {
    await runtime.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: record.body || "{}",
        MessageAttributes: {
          error: { DataType: "String", StringValue: error.message.slice(0, 1024) || "permanent failure" },
          errorCode: { DataType: "String", StringValue: error.code || "PermanentError" },
          sourceMessageId: { DataType: "String", StringValue: record.messageId || "unknown" },
        },
      }),
    );
    runtime.metrics.add(METRICS.recordsDeadLettered, "Count", 1, { code: error.code || "PermanentError" });
    runtime.log.error("record sent to the dead-letter queue: a dependency refused it for good", { messageId: record.messageId, code: error.code, error: error.message });
    return true;
  } catch (sendError) {
    runtime.log.error("record not sent to the dead-letter queue; it returns to the queue", { messageId: record.messageId, error: errorMessage(sendError) });
    return false;
  }
}

/** The error's own Retry-After, else 5 s doubling with each receive, at most 2 minutes. */
export function retryDelaySeconds(error: unknown, record: Pick<SQSRecord, "attributes">): number {
  if (error instanceof RetryError && error.retryAfterSeconds !== undefined) return error.retryAfterSeconds;
  const receives = Math.max(1, Number(record.attributes?.ApproximateReceiveCount) || 1);
  return Math.min(120, 5 * 2 ** (receives - 1));
}

async function shortenVisibility(sqs: SQSClient, log: Log, record: SQSRecord, seconds: number): Promise<void> {
  const queueUrl = queueUrlOf(record.eventSourceARN ?? "");
  if (!queueUrl || !record.receiptHandle) return;
  try {
    await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: record.receiptHandle, VisibilityTimeout: Math.max(0, Math.min(43_200, Math.round(seconds))) }));
  } catch (error) {
    log.warn("visibility not changed; the record returns after the queue's visibility timeout", { messageId: record.messageId, error: (error as Error).message });
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

/** What the handler falls back on when the runtime cannot be built (a cold start that failed). */
export interface ColdStartFallback {
  sqs: () => SQSClient;
  log: Log;
}

/**
 * The handler around a runtime factory, called once per cold start (and again after it failed).
 * A cold start that fails (DescribeCluster throttled, say) hands every record of the batch back
 * with a short visibility, never after the queue's full visibility timeout.
 */
export function createInterruptionHandler(createRuntime: () => Promise<InterruptionRuntime>, fallback?: ColdStartFallback) {
  const runtime = oncePerColdStart(createRuntime);
  return async (event: unknown, context: InvocationContext): Promise<SQSBatchResponse | DirectResult> => {
    let ready: InterruptionRuntime;
    try {
      ready = await runtime();
    } catch (error) {
      if (!isSqsEvent(event) || !fallback) throw error;
      return coldStartFailed(fallback, event, error);
    }
    try {
      return isSqsEvent(event) ? await handleBatch(ready, event, context) : await handleDirect(ready, event, context);
    } finally {
      // the Events the invocation started are written (or given up, each within the invocation's time) before it answers
      await ready.events.settled();
      ready.metrics.flush?.();
    }
  };
}

async function coldStartFailed(fallback: ColdStartFallback, event: SQSEvent, error: unknown): Promise<SQSBatchResponse> {
  fallback.log.error("the function could not start; every record of the batch returns to the queue shortly", { error: errorMessage(error), errorName: (error as Error).name, records: event.Records.length });
  const sqs = fallback.sqs();
  await Promise.all(event.Records.map((record) => shortenVisibility(sqs, fallback.log, record, retryDelaySeconds(error, record))));
  return { batchItemFailures: event.Records.filter((r) => r.messageId).map((r) => ({ itemIdentifier: r.messageId })) };
}

const processLog = createLogger("spot-manager-interruption");

export const handler = createInterruptionHandler(
  async () => {
    const config = readInterruptionConfig(process.env);
    const metrics = new EmfMetrics("spot-manager-interruption", { cluster: config.clusterName });
    return createInterruptionRuntime({ config, clients: createAwsClients(config.region), log: processLog, metrics });
  },
  { sqs: () => new SQSClient({ ...(process.env["AWS_REGION"] ? { region: process.env["AWS_REGION"] } : {}), ...AWS_CLIENT_SETTINGS }), log: processLog },
);
