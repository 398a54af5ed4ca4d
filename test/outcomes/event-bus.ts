/**
 * EventBridge's routing and the SQS queues a rule delivers to, faked over an interruption world's
 * AWS: rules made with PutRule/PutTargets match each event a bus accepts (EventBridge's pattern
 * rules, test/stacks/event-pattern.ts) and deliver it to their queues; the stage's interruption
 * rules (stacks/rules.ts) deliver to the interruption queue, whose records the world's handler
 * receives as Lambda's event source mapping hands them over.
 */
import { DeleteRuleCommand, PutRuleCommand, PutTargetsCommand, RemoveTargetsCommand } from "@aws-sdk/client-eventbridge";
import { CreateQueueCommand, DeleteQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SetQueueAttributesCommand, type Message } from "@aws-sdk/client-sqs";
import { randomUUID } from "node:crypto";
import { SIGNAL_RULES } from "../../stacks/rules";
import type { World } from "../interruption/world";
import { matchesPattern } from "../stacks/event-pattern";

const REGION = "us-west-2";
const ACCOUNT = "123456789012";
const INTERRUPTION_QUEUE = "interruption-queue";

interface Rule {
  bus: string;
  name: string;
  pattern: Record<string, never>;
  targets: Map<string, string>;
}

interface Queue {
  url: string;
  arn: string;
  attributes: Record<string, string>;
  messages: Message[];
  waiting: (() => void)[];
}

/** `default` for the default bus by name or ARN, else the bus's name. */
const busName = (bus: string | undefined) => (bus ?? "default").replace(/^arn:aws[\w-]*:events:[^:]+:\d{12}:event-bus\//, "");

export interface RoutedBuses {
  /** Rules that exist now, by name. */
  rules(): string[];
  /** Queues that exist now, by name. */
  queues(): string[];
  /** The queue's attributes (as SetQueueAttributes left them). */
  queueAttributes(name: string): Record<string, string> | undefined;
  /** Resolves once every record handed to the interruption function was handled. */
  settled(): Promise<void>;
}

export function routeBuses(world: World): RoutedBuses {
  const { aws } = world;
  const rules = new Map<string, Rule>();
  const queues = new Map<string, Queue>();
  const handling: Promise<unknown>[] = [];
  const ruleKey = (bus: string | undefined, name: string) => `${busName(bus)}/${name}`;
  for (const rule of SIGNAL_RULES) {
    rules.set(ruleKey("default", rule.id), { bus: "default", name: rule.id, pattern: rule.pattern as never, targets: new Map([["queue", INTERRUPTION_QUEUE]]) });
  }

  aws.eventbridge.on(PutRuleCommand).callsFake((input: { Name: string; EventBusName?: string; EventPattern?: string }) => {
    const bus = busName(input.EventBusName);
    rules.set(ruleKey(bus, input.Name), { bus, name: input.Name, pattern: JSON.parse(input.EventPattern ?? "{}") as never, targets: new Map() });
    return { RuleArn: `arn:aws:events:${REGION}:${ACCOUNT}:rule/${bus === "default" ? "" : `${bus}/`}${input.Name}` };
  });
  aws.eventbridge.on(PutTargetsCommand).callsFake((input: { Rule: string; EventBusName?: string; Targets: { Id: string; Arn: string }[] }) => {
    const rule = rules.get(ruleKey(input.EventBusName, input.Rule));
    if (!rule) throw Object.assign(new Error(`Rule ${input.Rule} does not exist on EventBus ${busName(input.EventBusName)}.`), { name: "ResourceNotFoundException" });
    for (const target of input.Targets) rule.targets.set(target.Id, target.Arn);
    return { FailedEntryCount: 0, FailedEntries: [] };
  });
  aws.eventbridge.on(RemoveTargetsCommand).callsFake((input: { Rule: string; EventBusName?: string; Ids: string[] }) => {
    const rule = rules.get(ruleKey(input.EventBusName, input.Rule));
    for (const id of input.Ids) rule?.targets.delete(id);
    return { FailedEntryCount: 0, FailedEntries: [] };
  });
  aws.eventbridge.on(DeleteRuleCommand).callsFake((input: { Name: string; EventBusName?: string }) => {
    const rule = rules.get(ruleKey(input.EventBusName, input.Name));
    // EventBridge refuses to delete a rule that still has targets
    if (rule && rule.targets.size > 0) throw Object.assign(new Error("Rule can't be deleted since it has targets."), { name: "ValidationException" });
    rules.delete(ruleKey(input.EventBusName, input.Name));
    return {};
  });

  const queueByUrl = (url: string | undefined) => [...queues.values()].find((q) => q.url === url);
  aws.sqs.on(CreateQueueCommand).callsFake((input: { QueueName: string; Attributes?: Record<string, string> }) => {
    const url = `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${input.QueueName}`;
    queues.set(input.QueueName, { url, arn: `arn:aws:sqs:${REGION}:${ACCOUNT}:${input.QueueName}`, attributes: { ...input.Attributes }, messages: [], waiting: [] });
    return { QueueUrl: url };
  });
  aws.sqs.on(GetQueueAttributesCommand).callsFake((input: { QueueUrl: string }) => {
    const queue = queueByUrl(input.QueueUrl);
    if (!queue) throw Object.assign(new Error("The specified queue does not exist."), { name: "QueueDoesNotExist" });
    return { Attributes: { ...queue.attributes, QueueArn: queue.arn } };
  });
  aws.sqs.on(SetQueueAttributesCommand).callsFake((input: { QueueUrl: string; Attributes: Record<string, string> }) => {
    Object.assign(queueByUrl(input.QueueUrl)?.attributes ?? {}, input.Attributes);
    return {};
  });
  aws.sqs.on(DeleteQueueCommand).callsFake((input: { QueueUrl: string }) => {
    const queue = queueByUrl(input.QueueUrl);
    if (queue) queues.delete(queue.url.split("/").pop() as string);
    return {};
  });
  // a long poll: what is there now, else the first message to arrive within WaitTimeSeconds
  aws.sqs.on(ReceiveMessageCommand).callsFake(async (input: { QueueUrl: string; MaxNumberOfMessages?: number; WaitTimeSeconds?: number }) => {
    const queue = queueByUrl(input.QueueUrl);
    if (!queue) throw Object.assign(new Error("The specified queue does not exist."), { name: "QueueDoesNotExist" });
    if (queue.messages.length === 0 && (input.WaitTimeSeconds ?? 0) > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, (input.WaitTimeSeconds ?? 0) * 1000);
        queue.waiting.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return { Messages: queue.messages.splice(0, input.MaxNumberOfMessages ?? 1) };
  });

  aws.onBusEvent((bus, event) => {
    for (const rule of rules.values()) {
      if (rule.bus !== busName(bus) || !matchesPattern(rule.pattern, event)) continue;
      for (const arn of rule.targets.values()) {
        if (arn === INTERRUPTION_QUEUE) {
          // the event source mapping hands the record over a moment later, as its own invocation
          handling.push(new Promise((resolve) => setImmediate(resolve)).then(() => world.invoke(world.sqs(event))));
          continue;
        }
        const queue = [...queues.values()].find((q) => q.arn === arn);
        if (!queue) continue;
        queue.messages.push({ MessageId: randomUUID(), Body: JSON.stringify(event) });
        for (const wake of queue.waiting.splice(0)) wake();
      }
    }
  });

  return {
    rules: () => [...rules.values()].map((r) => r.name),
    queues: () => [...queues.keys()],
    queueAttributes: (name) => queues.get(name)?.attributes,
    settled: async () => {
      while (handling.length > 0) await Promise.all(handling.splice(0));
    },
  };
}
