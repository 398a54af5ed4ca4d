/**
 * How `spot-manager drill --wait` sees the drill's outcome: a queue and a rule of its own on the
 * stage's outcome bus, made for this drill and removed after it. The rule matches the drill's
 * instance (Node Protected, Drain Finished, and a probe of its own); before the drill goes out a
 * probe is put on the bus until one comes through, so the rule is known to deliver — a drain that
 * ends in a second is not missed while EventBridge puts the new rule in place. Everything waits
 * within one deadline; the queue and the rule are removed whatever happened.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { DeleteRuleCommand, PutEventsCommand, PutRuleCommand, PutTargetsCommand, RemoveTargetsCommand, type EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { CreateQueueCommand, DeleteQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { DRILL_SOURCE, errorMessage, OUTCOME_DETAIL_TYPES, OUTCOME_SOURCE } from "@spot-manager/core";

/** The detail-type of the probe the watch puts on the bus to see its rule deliver. */
export const WATCH_PROBE_DETAIL_TYPE = "Drill Watch Probe";

export interface WatchClients {
  eventbridge: EventBridgeClient;
  sqs: SQSClient;
}

export interface WatchOptions {
  /** The bus the stage publishes outcome events to (a name, `default`, or an ARN). */
  eventBus: string;
  instanceId: string;
  /** Tags the queue and the rule with the stage they were made for. */
  stage: string;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** A line for people while the watch waits. */
  progress?: (line: string) => void;
  /** Ends the wait early (Ctrl-C); the watch still removes what it made. */
  signal?: AbortSignal;
  /** How often the probe is put again while none came through. */
  probeEverySeconds?: number;
}

/** The pattern the watch's rule has: this instance's drill outcomes, and the watch's own probe. */
export function watchPattern(instanceId: string) {
  return {
    source: [OUTCOME_SOURCE, DRILL_SOURCE],
    "detail-type": [OUTCOME_DETAIL_TYPES.nodeProtected, OUTCOME_DETAIL_TYPES.drainFinished, WATCH_PROBE_DETAIL_TYPE],
    detail: { instanceId: [instanceId], drill: [true] },
  };
}

type BusEvent = Record<string, unknown> & { id?: string; "detail-type"?: string; detail?: Record<string, unknown> };

export class WatchSetupError extends Error {
  override readonly name = "WatchSetupError";
}

export class DrillOutcomeWatch {
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly seen = new Set<string>();
  private readonly pending: BusEvent[] = [];
  private queueUrl: string | undefined;
  private ruleCreated = false;
  private targetAdded = false;
  readonly name = `spot-manager-drill-watch-${randomBytes(5).toString("hex")}`;

  private constructor(
    private readonly clients: WatchClients,
    private readonly options: WatchOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  }

  /** Makes the queue and the rule, then sees a probe through them; on failure removes what it made and throws. */
  static async open(clients: WatchClients, options: WatchOptions, until: number): Promise<DrillOutcomeWatch> {
    const watch = new DrillOutcomeWatch(clients, options);
    try {
      await watch.create();
      await watch.probe(until);
      return watch;
    } catch (error) {
      const problems = await watch.close();
      const more = problems.length > 0 ? ` (and removing it: ${problems.join("; ")})` : "";
      throw new WatchSetupError(`could not watch the outcome bus ${options.eventBus}: ${errorMessage(error)}${more}`, { cause: error });
    }
  }

  private async create(): Promise<void> {
    const { sqs, eventbridge } = this.clients;
    const tags = { "spot-manager:drill-watch": this.options.stage };
    const created = await sqs.send(new CreateQueueCommand({ QueueName: this.name, Attributes: { SqsManagedSseEnabled: "true", MessageRetentionPeriod: "3600" }, tags }));
    this.queueUrl = created.QueueUrl;
    if (!this.queueUrl) throw new Error("CreateQueue answered without a queue URL");
    const queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: this.queueUrl, AttributeNames: ["QueueArn"] }))).Attributes?.["QueueArn"];
    if (!queueArn) throw new Error(`GetQueueAttributes gave no QueueArn for ${this.queueUrl}`);
    const rule = await eventbridge.send(
      new PutRuleCommand({
        Name: this.name,
        EventBusName: this.options.eventBus,
        EventPattern: JSON.stringify(watchPattern(this.options.instanceId)),
        State: "ENABLED",
        Description: `spot-manager drill --wait for ${this.options.instanceId} (removed when the drill ends)`,
        Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
    this.ruleCreated = true;
    if (!rule.RuleArn) throw new Error("PutRule answered without a rule ARN");
    const policy = {
      Version: "2012-10-17",
      Statement: [{ Sid: "FromTheDrillWatchRule", Effect: "Allow", Principal: { Service: "events.amazonaws.com" }, Action: "sqs:SendMessage", Resource: queueArn, Condition: { ArnEquals: { "aws:SourceArn": rule.RuleArn } } }],
    };
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: this.queueUrl, Attributes: { Policy: JSON.stringify(policy) } }));
    const targets = await eventbridge.send(new PutTargetsCommand({ Rule: this.name, EventBusName: this.options.eventBus, Targets: [{ Id: "queue", Arn: queueArn }] }));
    this.targetAdded = true;
    if ((targets.FailedEntryCount ?? 0) > 0) throw new Error(`PutTargets refused the queue: ${targets.FailedEntries?.map((f) => `${f.ErrorCode}: ${f.ErrorMessage}`).join("; ")}`);
  }

  /** Puts a probe on the bus (again every few seconds) until one comes through the rule. */
  private async probe(until: number): Promise<void> {
    const probe = randomUUID();
    const every = (this.options.probeEverySeconds ?? 5) * 1000;
    let nextPut = 0;
    while (this.now() < until) {
      this.checkAborted();
      if (this.now() >= nextPut) {
        const answer = await this.clients.eventbridge.send(
          new PutEventsCommand({
            Entries: [{ Source: DRILL_SOURCE, DetailType: WATCH_PROBE_DETAIL_TYPE, EventBusName: this.options.eventBus, Detail: JSON.stringify({ instanceId: this.options.instanceId, drill: true, probe }) }],
          }),
        );
        if ((answer.FailedEntryCount ?? 0) > 0) throw new Error(`the probe was refused: ${answer.Entries?.[0]?.ErrorCode ?? ""} ${answer.Entries?.[0]?.ErrorMessage ?? ""}`.trim());
        nextPut = this.now() + every;
      }
      for (const event of await this.receive(Math.min(until, nextPut))) {
        if (event["detail-type"] === WATCH_PROBE_DETAIL_TYPE && event.detail?.["probe"] === probe) return;
        this.pending.push(event);
      }
    }
    throw new Error(`no probe came through the rule within the time allowed`);
  }

  /**
   * Waits for the drill's Drain Finished (by its event id) until `until`; tells Node Protected on
   * the way. Undefined when none came in time.
   */
  async drainFinished(eventId: string, until: number): Promise<BusEvent | undefined> {
    for (;;) {
      for (const event of this.pending.splice(0)) {
        const signal = event.detail?.["signal"] as { eventId?: string } | undefined;
        if (signal?.eventId !== eventId) continue;
        if (event["detail-type"] === OUTCOME_DETAIL_TYPES.drainFinished) return event;
        if (event["detail-type"] === OUTCOME_DETAIL_TYPES.nodeProtected) this.tellProtected(event);
      }
      if (this.now() >= until) return undefined;
      this.checkAborted();
      this.pending.push(...(await this.receive(until)));
    }
  }

  private tellProtected(event: BusEvent): void {
    const detail = event.detail ?? {};
    const taint = detail["taint"] as { key: string; value: string; effect: string } | null | undefined;
    const what = [taint ? `tainted ${taint.key}=${taint.value}:${taint.effect}` : "", detail["cordoned"] === true ? "cordoned" : ""].filter(Boolean).join(", ");
    this.options.progress?.(`node ${String(detail["node"])} protected (${what})`);
  }

  /** One long poll of the queue, at most until `until` (SQS waits up to 20 s). */
  private async receive(until: number): Promise<BusEvent[]> {
    const seconds = Math.max(0, Math.min(20, Math.ceil((until - this.now()) / 1000)));
    const answer = await this.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: this.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: seconds }), this.options.signal ? { abortSignal: this.options.signal } : {});
    const events: BusEvent[] = [];
    for (const message of answer.Messages ?? []) {
      // a message not deleted comes back after the visibility timeout: each is read once
      if (!message.MessageId || this.seen.has(message.MessageId)) continue;
      this.seen.add(message.MessageId);
      try {
        events.push(JSON.parse(message.Body ?? "{}") as BusEvent);
      } catch {
        this.options.progress?.(`ignored a message that is not an event: ${(message.Body ?? "").slice(0, 80)}`);
      }
    }
    return events;
  }

  private checkAborted(): void {
    if (this.options.signal?.aborted) throw new Error("interrupted");
  }

  /** Removes the target, the rule and the queue (what was made); says what could not be removed. */
  async close(): Promise<string[]> {
    const problems: string[] = [];
    const attempt = async (what: string, call: () => Promise<unknown>) => {
      try {
        await call();
      } catch (error) {
        problems.push(`${what}: ${errorMessage(error)}`);
      }
    };
    const { eventbridge, sqs } = this.clients;
    const bus = this.options.eventBus;
    if (this.targetAdded) await attempt(`target of rule ${this.name}`, () => eventbridge.send(new RemoveTargetsCommand({ Rule: this.name, EventBusName: bus, Ids: ["queue"] })));
    if (this.ruleCreated) await attempt(`rule ${this.name}`, () => eventbridge.send(new DeleteRuleCommand({ Name: this.name, EventBusName: bus })));
    const queueUrl = this.queueUrl;
    if (queueUrl) await attempt(`queue ${queueUrl}`, () => sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl })));
    this.targetAdded = false;
    this.ruleCreated = false;
    this.queueUrl = undefined;
    return problems;
  }
}
