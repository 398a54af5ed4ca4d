/**
 * Publishing outcome events with PutEvents, within EventBridge's limits: an entry of at most 256 KB
 * (computed as EventBridge does: Time 14 bytes, then the UTF-8 bytes of Source, DetailType, Detail
 * and each resource), at most 10 entries and 256 KB per call, and the failed entries a successful
 * call reports. An oversized detail has its longest lists cut (and says so in `truncated`); an
 * entry failed with a retryable code (ThrottlingException, InternalFailure) is sent again a
 * bounded number of times. Publishing never throws: an event that could not be published is
 * logged and counted, and the action it reports on goes on as if nothing happened.
 */
import { PutEventsCommand, type EventBridgeClient, type PutEventsRequestEntry } from "@aws-sdk/client-eventbridge";
import { errorMessage } from "../errors";
import type { Log, Metrics } from "../observability";
import { OUTCOME_METRICS, OUTCOME_SOURCE, type OutcomeEvent } from "./types";

/** The largest entry (and the largest request) PutEvents takes. */
export const MAX_ENTRY_BYTES = 256 * 1024;
/** The most entries one PutEvents call takes. */
export const MAX_ENTRIES_PER_CALL = 10;
/** Entry error codes EventBridge documents as worth another try. */
export const RETRYABLE_ENTRY_ERRORS: readonly string[] = ["ThrottlingException", "InternalFailure"];

export interface PublishFailure {
  detailType: string;
  /** The entry's ErrorCode, the call's error name, or `too-large`. */
  reason: string;
  message: string;
}

export interface PublishSummary {
  /** Events EventBridge accepted, with the id it gave each (in the order given). */
  published: { detailType: string; eventId: string }[];
  failed: PublishFailure[];
}

/** Where outcome events go. */
export interface OutcomePublisher {
  /** Publishes; never throws (a failure is logged, counted and reported in the summary). */
  publish(events: readonly OutcomeEvent[]): Promise<PublishSummary>;
}

/** A stage without outcome events. */
export const noOutcomes: OutcomePublisher = { publish: async () => ({ published: [], failed: [] }) };

export interface EventBridgeOutcomesOptions {
  /** The bus: a name (`default` for the account's default bus) or an ARN. */
  eventBus: string;
  log: Log;
  metrics: Metrics;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Sends of an entry that keeps failing with a retryable code (default 3). */
  maxAttempts?: number;
  source?: string;
}

const utf8 = (text: string) => Buffer.byteLength(text, "utf8");

/** An entry's size as EventBridge counts it. */
export function entrySize(entry: PutEventsRequestEntry): number {
  let size = entry.Time ? 14 : 0;
  size += utf8(entry.Source ?? "") + utf8(entry.DetailType ?? "");
  if (entry.Detail !== undefined) size += utf8(entry.Detail);
  for (const resource of entry.Resources ?? []) size += utf8(resource);
  return size;
}

/**
 * The detail as JSON within `budget` bytes: while too large, the longest top-level list is halved
 * and `truncated[field]` keeps how many items it had. Undefined when no list is left to cut.
 */
export function fitDetail(detail: object, budget: number): { text: string; cut: boolean } | undefined {
  let current: Record<string, unknown> = { ...(detail as Record<string, unknown>) };
  let text = JSON.stringify(current);
  const truncated: Record<string, number> = { ...((current["truncated"] as Record<string, number> | undefined) ?? {}) };
  let cut = false;
  while (utf8(text) > budget) {
    let longest: string | undefined;
    let longestSize = 0;
    for (const [field, value] of Object.entries(current)) {
      if (!Array.isArray(value) || value.length === 0) continue;
      const size = utf8(JSON.stringify(value));
      if (size > longestSize) {
        longest = field;
        longestSize = size;
      }
    }
    if (longest === undefined) return undefined;
    const list = current[longest] as unknown[];
    truncated[longest] ??= list.length;
    current = { ...current, [longest]: list.slice(0, Math.floor(list.length / 2)), truncated };
    text = JSON.stringify(current);
    cut = true;
  }
  return { text, cut };
}

interface Pending {
  event: OutcomeEvent;
  entry: PutEventsRequestEntry;
  size: number;
  index: number;
}

export class EventBridgeOutcomes implements OutcomePublisher {
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly maxAttempts: number;
  private readonly source: string;

  constructor(
    private readonly client: EventBridgeClient,
    private readonly options: EventBridgeOutcomesOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 3);
    this.source = options.source ?? OUTCOME_SOURCE;
  }

  get eventBus(): string {
    return this.options.eventBus;
  }

  async publish(events: readonly OutcomeEvent[]): Promise<PublishSummary> {
    const summary: PublishSummary = { published: [], failed: [] };
    const accepted: { index: number; detailType: string; eventId: string }[] = [];
    let pending: Pending[] = [];
    events.forEach((event, index) => {
      const prepared = this.prepare(event, index);
      if ("failure" in prepared) this.fail(summary, prepared.failure);
      else pending.push(prepared);
    });
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      const retry: Pending[] = [];
      for (const batch of batches(pending)) {
        const results = await this.send(batch);
        batch.forEach((item, i) => {
          const result = results[i] as EntryResult;
          if ("eventId" in result) {
            accepted.push({ index: item.index, detailType: item.event.detailType, eventId: result.eventId });
            this.options.metrics.add(OUTCOME_METRICS.published, "Count", 1, { detailType: item.event.detailType });
          } else if (result.retryable && attempt < this.maxAttempts) {
            retry.push(item);
          } else {
            this.fail(summary, { detailType: item.event.detailType, reason: result.reason, message: result.message });
          }
        });
      }
      pending = retry;
      // a throttled bus is given a moment (doubling, with jitter) before the next try
      if (pending.length > 0) await this.sleep(Math.round(100 * 2 ** (attempt - 1) * (0.5 + this.random() / 2)));
    }
    summary.published = accepted.sort((a, b) => a.index - b.index).map(({ detailType, eventId }) => ({ detailType, eventId }));
    return summary;
  }

  private prepare(event: OutcomeEvent, index: number): Pending | { failure: PublishFailure } {
    const entry: PutEventsRequestEntry = {
      Time: new Date(this.now()),
      Source: this.source,
      DetailType: event.detailType,
      EventBusName: this.options.eventBus,
      ...(event.resources && event.resources.length > 0 ? { Resources: event.resources } : {}),
    };
    const budget = MAX_ENTRY_BYTES - entrySize(entry);
    const detail = fitDetail(event.detail, budget);
    if (detail === undefined) {
      return { failure: { detailType: event.detailType, reason: "too-large", message: `the detail is over ${budget} bytes with every list emptied` } };
    }
    entry.Detail = detail.text;
    if (detail.cut) this.options.log.warn("outcome event cut to fit EventBridge's 256 KB", { detailType: event.detailType, truncated: JSON.parse(detail.text).truncated as unknown });
    return { event, entry, size: entrySize(entry), index };
  }

  private async send(batch: Pending[]): Promise<EntryResult[]> {
    try {
      const answer = await this.client.send(new PutEventsCommand({ Entries: batch.map((item) => item.entry) }));
      const entries = answer.Entries ?? [];
      return batch.map((_, i) => {
        const result = entries[i];
        if (result?.EventId && !result.ErrorCode) return { eventId: result.EventId };
        const code = result?.ErrorCode ?? "NoResult";
        return { reason: code, message: result?.ErrorMessage ?? "PutEvents gave no result for the entry", retryable: RETRYABLE_ENTRY_ERRORS.includes(code) };
      });
    } catch (error) {
      // the SDK has already retried what it could: the call's entries are not tried again here
      const reason = (error as Error).name || "Error";
      return batch.map(() => ({ reason, message: errorMessage(error), retryable: false }));
    }
  }

  private fail(summary: PublishSummary, failure: PublishFailure): void {
    summary.failed.push(failure);
    this.options.metrics.add(OUTCOME_METRICS.failed, "Count", 1, { reason: failure.reason });
    this.options.log.warn("outcome event not published", { ...failure, eventBus: this.options.eventBus });
  }
}

type EntryResult = { eventId: string } | { reason: string; message: string; retryable: boolean };

/** Groups entries into calls of at most 10 entries and 256 KB, in order. */
export function batches<T extends { size: number }>(items: readonly T[]): T[][] {
  const calls: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    if (current.length > 0 && (current.length === MAX_ENTRIES_PER_CALL || bytes + item.size > MAX_ENTRY_BYTES)) {
      calls.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += item.size;
  }
  if (current.length > 0) calls.push(current);
  return calls;
}
