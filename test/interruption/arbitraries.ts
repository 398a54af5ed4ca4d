/**
 * fast-check arbitraries for what can reach the interruption function: the EventBridge samples
 * re-targeted at chosen instances, the same mutated at random JSON paths (deletions, type changes,
 * string edits, renamed keys), non-JSON text, JSON of the wrong shape, foreign detail-types and
 * huge strings. Plus the oracle side: which instance ids a body names in the fields that designate
 * the affected instance, so a test can tell the right node from a wrong one without trusting the
 * code under test.
 */
import { followUpEnvelope, parseMessage, type FollowUpAction, type InterruptionEvent } from "@spot-manager/core";
import fc from "fast-check";
import { fixture, type FixtureName } from "../fixtures";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

const isObject = (value: unknown): value is JsonObject => typeof value === "object" && value !== null && !Array.isArray(value);

/** The EventBridge samples of the signals the function handles. */
export const SIGNAL_FIXTURES = [
  "spotInterruption",
  "rebalance",
  "asgTerminate",
  "asgLaunch",
  "stateShuttingDown",
  "stateStopping",
  "stateTerminated",
  "healthScheduledChange",
] as const satisfies readonly FixtureName[];

const ASG_ARN = "arn:aws:autoscaling:us-west-2:123456789012:autoScalingGroup:042cba90-ad2f-431c-9b4d-6d9055bcc9fb:autoScalingGroupName/my-asg";

/** What a lifecycle hook sends straight to SQS, without EventBridge (flat, capitalized keys). */
function directLifecycleMessage(): JsonObject {
  const detail = fixture<{ detail: JsonObject }>("asgTerminate").detail;
  return {
    Origin: "AutoScalingGroup",
    Destination: "EC2",
    Service: "AWS Auto Scaling",
    Time: "2024-05-14T18:23:11.000Z",
    AccountId: "123456789012",
    RequestId: "c7d1e2f3-4a5b-4c6d-8e9f-0a1b2c3d4e5f",
    AutoScalingGroupARN: ASG_ARN,
    ...detail,
  };
}

function testNotification(): JsonObject {
  return {
    AccountId: "123456789012",
    RequestId: "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
    AutoScalingGroupARN: ASG_ARN,
    AutoScalingGroupName: "my-asg",
    Service: "AWS Auto Scaling",
    Event: "autoscaling:TEST_NOTIFICATION",
    Time: "2024-05-14T18:20:00.000Z",
  };
}

function firstEvent(name: FixtureName): InterruptionEvent {
  const parsed = parseMessage(fixture(name));
  if (parsed.type !== "signal" || !parsed.events[0]) throw new Error(`fixture ${name} does not parse to an event`);
  return parsed.events[0];
}

/** A follow-up as the pipeline queues it for itself, due at `due`. */
function followUp(action: FollowUpAction, due: string): JsonObject {
  const source: Record<FollowUpAction, FixtureName> = {
    "remove-rebalance-taint": "rebalance",
    "check-launch-ready": "asgLaunch",
    "drain-for-maintenance": "healthScheduledChange",
    "continue-drain": "spotInterruption",
  "check-restarted": "spotInterruption",
    "check-reclaimed": "spotInterruption",
  };
  return followUpEnvelope({ action, event: firstEvent(source[action]), due: new Date(due), attempt: 0 }, new Date("2024-05-14T18:21:00Z")) as JsonObject;
}

export type BaseName = (typeof SIGNAL_FIXTURES)[number] | "directLifecycle" | "testNotification" | "followUpRemoveTaint" | "followUpLaunchReady" | "followUpMaintenance" | "codebuild";

/** A fresh copy of a base message. */
export function base(name: BaseName): JsonObject {
  switch (name) {
    case "directLifecycle":
      return directLifecycleMessage();
    case "testNotification":
      return testNotification();
    case "followUpRemoveTaint":
      return followUp("remove-rebalance-taint", "2024-05-14T18:20:00Z");
    case "followUpLaunchReady":
      return followUp("check-launch-ready", "2024-05-14T18:20:00Z");
    case "followUpMaintenance":
      return followUp("drain-for-maintenance", "2024-05-14T18:20:00Z");
    case "codebuild":
      return fixture<JsonObject>("codebuildStateChange");
    default:
      return fixture<JsonObject>(name);
  }
}

/**
 * The instance ids a message names in the fields that designate the affected instance (never
 * `resources`, never free text): detail.instance-id, detail.EC2InstanceId, the Health event's
 * affected entities, a follow-up's event, and a direct lifecycle message's EC2InstanceId.
 */
export function designatedInstanceIds(message: unknown): string[] {
  if (!isObject(message)) return [];
  const ids: unknown[] = [message["EC2InstanceId"]];
  const detail = message["detail"];
  if (isObject(detail)) {
    ids.push(detail["instance-id"], detail["EC2InstanceId"]);
    const entities = detail["affectedEntities"];
    if (Array.isArray(entities)) ids.push(...entities.map((e) => (isObject(e) ? e["entityValue"] : undefined)));
    const event = detail["event"];
    if (isObject(event)) ids.push(event["instanceId"]);
  }
  return ids.filter((id): id is string => typeof id === "string");
}

/** Points every designated instance field of a message at `instanceId` (and, optionally, `resources` elsewhere). */
export function retarget(message: JsonObject, instanceId: string, resourcesId?: string): JsonObject {
  const detail = message["detail"];
  if ("EC2InstanceId" in message) message["EC2InstanceId"] = instanceId;
  if (isObject(detail)) {
    if ("instance-id" in detail) detail["instance-id"] = instanceId;
    if ("EC2InstanceId" in detail) detail["EC2InstanceId"] = instanceId;
    const entities = detail["affectedEntities"];
    if (Array.isArray(entities)) for (const e of entities) if (isObject(e)) e["entityValue"] = instanceId;
    const event = detail["event"];
    if (isObject(event) && "instanceId" in event) event["instanceId"] = instanceId;
  }
  if (resourcesId !== undefined && Array.isArray(message["resources"])) {
    message["resources"] = [`arn:aws:ec2:us-west-2:123456789012:instance/${resourcesId}`];
  }
  return message;
}

// ---------------------------------------------------------------------------------------------
// Mutations at random JSON paths

type Path = (string | number)[];

function pathsOf(value: Json, prefix: Path = [], out: Path[] = []): Path[] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((v, i) => pathsOf(v, [...prefix, i], out));
  else if (isObject(value)) for (const [k, v] of Object.entries(value)) pathsOf(v, [...prefix, k], out);
  return out;
}

function getAt(root: Json, path: Path): Json {
  let current: Json = root;
  for (const key of path) current = (current as Record<string | number, Json>)[key] as Json;
  return current;
}

export type StringEdit =
  | { kind: "truncate"; at: number }
  | { kind: "append"; text: string }
  | { kind: "prepend"; text: string }
  | { kind: "upper" }
  | { kind: "replace-char"; at: number; char: string }
  | { kind: "repeat"; times: number }
  | { kind: "swap"; text: string };

export type Mutation =
  | { op: "delete"; pick: number }
  | { op: "replace"; pick: number; value: Json }
  | { op: "edit-string"; pick: number; edit: StringEdit }
  | { op: "change-type"; pick: number }
  | { op: "rename-key"; pick: number; name: string }
  | { op: "add-key"; pick: number; name: string; value: Json };

function editString(s: string, edit: StringEdit): string {
  switch (edit.kind) {
    case "truncate":
      return s.slice(0, s.length === 0 ? 0 : edit.at % s.length);
    case "append":
      return s + edit.text;
    case "prepend":
      return edit.text + s;
    case "upper":
      return s.toUpperCase();
    case "replace-char": {
      if (s.length === 0) return edit.char;
      const at = edit.at % s.length;
      return s.slice(0, at) + edit.char + s.slice(at + 1);
    }
    case "repeat":
      return s.repeat(edit.times);
    case "swap":
      return edit.text;
  }
}

/** number <-> string, object <-> array, boolean -> string, null -> object, string -> number. */
function changeType(value: Json): Json {
  if (typeof value === "number") return String(value);
  if (typeof value === "boolean") return String(value);
  if (typeof value === "string") return value.trim() !== "" && !Number.isNaN(Number(value)) ? Number(value) : [value];
  if (value === null) return {};
  if (Array.isArray(value)) return Object.fromEntries(value.map((v, i) => [String(i), v]));
  return Object.values(value);
}

/** Sets an own property, also for "__proto__" (as JSON.parse does, unlike assignment). */
function defineOwn(target: JsonObject, key: string, value: Json): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function replaceAt(root: Json, path: Path, value: Json): Json {
  if (path.length === 0) return value;
  const parent = getAt(root, path.slice(0, -1));
  const key = path[path.length - 1] as string | number;
  if (Array.isArray(parent)) parent[key as number] = value;
  else defineOwn(parent as JsonObject, String(key), value);
  return root;
}

/** Applies one mutation to a copy of `root` (the root itself may be replaced). */
export function mutate(root: Json, mutation: Mutation): Json {
  const copy = JSON.parse(JSON.stringify(root)) as Json;
  const paths = pathsOf(copy);
  const path = paths[mutation.pick % paths.length] ?? [];
  const target = getAt(copy, path);
  switch (mutation.op) {
    case "delete": {
      if (path.length === 0) return {};
      const parent = getAt(copy, path.slice(0, -1));
      const key = path[path.length - 1] as string | number;
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete (parent as JsonObject)[key as string];
      return copy;
    }
    case "replace":
      return replaceAt(copy, path, mutation.value);
    case "edit-string":
      return replaceAt(copy, path, editString(typeof target === "string" ? target : JSON.stringify(target), mutation.edit));
    case "change-type":
      return replaceAt(copy, path, changeType(target));
    case "rename-key": {
      const parentPath = path.slice(0, -1);
      const parent = path.length === 0 ? undefined : getAt(copy, parentPath);
      const key = path[path.length - 1];
      if (!isObject(parent) || typeof key !== "string") return copy;
      const renamed: JsonObject = {};
      for (const [k, v] of Object.entries(parent)) defineOwn(renamed, k === key ? mutation.name : k, v);
      return replaceAt(copy, parentPath, renamed);
    }
    case "add-key":
      if (isObject(target)) defineOwn(target, mutation.name, mutation.value);
      return copy;
  }
}

// ---------------------------------------------------------------------------------------------
// Arbitraries

export interface IdPool {
  /** Instance ids the world knows (ours with and without nodes, foreign, unknown to EC2). */
  known: readonly string[];
}

const hexId = (digits: number) => fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: digits, maxLength: digits }).map((h) => `i-${h}`);

/** Valid-looking ids EC2 does not know, ids that are not quite ids, and the world's own. */
export function instanceIdArb(pool: IdPool): fc.Arbitrary<string> {
  const known = fc.constantFrom(...pool.known);
  return fc.oneof(
    { weight: 8, arbitrary: known },
    { weight: 2, arbitrary: fc.oneof(hexId(17), hexId(8)) },
    {
      weight: 2,
      arbitrary: fc.tuple(known, fc.constantFrom("upper", "newline", "space", "arn", "long", "path", "short")).map(([id, how]) => {
        switch (how) {
          case "upper":
            return id.toUpperCase();
          case "newline":
            return `${id}\n`;
          case "space":
            return ` ${id}`;
          case "arn":
            return `arn:aws:ec2:us-west-2:123456789012:instance/${id}`;
          case "long":
            return `${id}0`;
          case "path":
            return `${id}/../${pool.known[0] ?? id}`;
          default:
            return id.slice(0, 9);
        }
      }),
    },
  );
}

const nastyStrings = [
  "",
  " ",
  "null",
  "undefined",
  "__proto__",
  "constructor",
  "toString",
  "\u0000",
  "\ud800",
  "💥",
  "Ω≈ç√",
  "../../etc/passwd",
  "%2e%2e%2f",
  "a,b",
  "key=value",
  "in (x)",
  "1e400",
  "-0",
  "2024-05-14T18:21:07Z",
  "Tue, 28 May 2024 09:00:00 GMT",
  "9999-12-31T23:59:59Z",
  "0000-01-01T00:00:00Z",
  "+275760-09-13T00:00:00.000Z",
  "-271821-04-20T00:00:00.000Z",
  "EC2 Spot Instance Interruption Warning",
  "aws.ec2",
  "spot-manager",
  "Spot Manager Follow-up",
  "autoscaling:EC2_INSTANCE_LAUNCHING",
  "autoscaling:EC2_INSTANCE_TERMINATING",
  "autoscaling:TEST_NOTIFICATION",
];

/** Huge strings, as a field value or a whole body (SQS allows 256 KiB). */
export const hugeStringArb: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom("x", "é", "💥", "i-1234567890abcdef0,", "\\", '"'), fc.integer({ min: 10_000, max: 200_000 }))
  .map(([unit, bytes]) => unit.repeat(Math.ceil(bytes / unit.length)));

/** Strings, biased towards the ones parsers and API servers trip over. */
export function stringArb(pool: IdPool): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...nastyStrings) },
    { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
    { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 20 }) },
    { weight: 3, arbitrary: instanceIdArb(pool) },
    { weight: 1, arbitrary: hugeStringArb },
  );
}

/** JSON values of every type, some of them containing instance ids. */
export function jsonValueArb(pool: IdPool): fc.Arbitrary<Json> {
  return fc.oneof(
    { weight: 3, arbitrary: stringArb(pool) },
    { weight: 2, arbitrary: fc.constantFrom<Json>(null, true, false, 0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 1, [], {}, [[]], [null], { "": null }) },
    { weight: 1, arbitrary: fc.integer() },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json> },
    { weight: 2, arbitrary: instanceIdArb(pool).map((id): Json => ({ "instance-id": id, EC2InstanceId: id, instanceId: id, entityValue: id })) },
    { weight: 1, arbitrary: instanceIdArb(pool).map((id): Json => [{ entityValue: id }, { entityValue: id }]) },
  );
}

const stringEditArb = (pool: IdPool): fc.Arbitrary<StringEdit> =>
  fc.oneof(
    fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
    fc.record({ kind: fc.constant("append" as const), text: stringArb(pool) }),
    fc.record({ kind: fc.constant("prepend" as const), text: stringArb(pool) }),
    fc.record({ kind: fc.constant("upper" as const) }),
    fc.record({ kind: fc.constant("replace-char" as const), at: fc.nat(), char: fc.string({ minLength: 1, maxLength: 2, unit: "binary" }) }),
    fc.record({ kind: fc.constant("repeat" as const), times: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ kind: fc.constant("swap" as const), text: stringArb(pool) }),
  );

export function mutationArb(pool: IdPool): fc.Arbitrary<Mutation> {
  const pick = fc.nat();
  return fc.oneof(
    fc.record({ op: fc.constant("delete" as const), pick }),
    fc.record({ op: fc.constant("replace" as const), pick, value: jsonValueArb(pool) }),
    fc.record({ op: fc.constant("edit-string" as const), pick, edit: stringEditArb(pool) }),
    fc.record({ op: fc.constant("change-type" as const), pick }),
    fc.record({ op: fc.constant("rename-key" as const), pick, name: fc.oneof(fc.constantFrom("__proto__", "Detail", "detail ", "detail-Type", "instanceId", "id", ""), fc.string({ maxLength: 10 })) }),
    fc.record({ op: fc.constant("add-key" as const), pick, name: fc.constantFrom("__proto__", "detail-type", "LifecycleTransition", "Event", "drill", "Records", "instance-id", "EC2InstanceId"), value: jsonValueArb(pool) }),
  );
}

export interface MessageOptions {
  /** Base messages to start from (default: all but the maintenance follow-up, which drains regardless of policy). */
  bases?: readonly BaseName[];
  /** Mutations per mutated message (default 1 to 4; 0: never mutated). */
  maxMutations?: number;
  /** Weight of an unmutated message against 2 for a mutated one (default 1). */
  pristine?: number;
}

const DEFAULT_BASES: readonly BaseName[] = [...SIGNAL_FIXTURES, "directLifecycle", "testNotification", "followUpRemoveTaint", "followUpLaunchReady", "codebuild"];

/** A message (the decoded body): a sample re-targeted at an instance, maybe a new event id, then mutated. */
export function messageArb(pool: IdPool, options: MessageOptions = {}): fc.Arbitrary<Json> {
  const bases = options.bases ?? DEFAULT_BASES;
  return fc
    .record({
      base: fc.constantFrom(...bases),
      instanceId: instanceIdArb(pool),
      resourcesId: fc.option(instanceIdArb(pool), { nil: undefined }),
      eventId: fc.option(fc.oneof(fc.uuid(), stringArb(pool)), { nil: undefined, freq: 3 }),
      mutations:
        options.maxMutations === 0
          ? fc.constant<Mutation[]>([])
          : fc.oneof(
              { weight: options.pristine ?? 1, arbitrary: fc.constant<Mutation[]>([]) },
              { weight: 2, arbitrary: fc.array(mutationArb(pool), { minLength: 1, maxLength: options.maxMutations ?? 4 }) },
            ),
    })
    .map(({ base: name, instanceId, resourcesId, eventId, mutations }) => {
      const message = retarget(base(name), instanceId, resourcesId);
      if (eventId !== undefined) {
        if ("id" in message) message["id"] = eventId;
        if ("RequestId" in message) message["RequestId"] = eventId;
      }
      return mutations.reduce<Json>((m, mutation) => mutate(m, mutation), message);
    });
}

/** An SQS record body: mostly JSON of a (mutated) message, sometimes anything but. */
export function bodyArb(pool: IdPool, options: MessageOptions & { garbage?: number } = {}): fc.Arbitrary<string> {
  /** Weight of each kind of garbage, against 16 for a JSON message. */
  const garbage = options.garbage ?? 2;
  const message = messageArb(pool, options);
  return fc.oneof(
    { weight: 16, arbitrary: message.map((m) => JSON.stringify(m)) },
    // not JSON: random text, truncated JSON, JSON with trailing garbage
    { weight: garbage, arbitrary: fc.string({ maxLength: 60 }) },
    { weight: garbage, arbitrary: fc.tuple(message, fc.nat()).map(([m, at]) => JSON.stringify(m).slice(0, Math.max(1, at % Math.max(1, JSON.stringify(m).length)))) },
    { weight: garbage, arbitrary: message.map((m) => `${JSON.stringify(m)}}`) },
    // JSON of the wrong shape
    { weight: garbage, arbitrary: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(null, 0, [], "x", [{}])).map((v) => JSON.stringify(v)) },
    { weight: garbage, arbitrary: fc.array(message, { minLength: 1, maxLength: 2 }).map((ms) => JSON.stringify(ms)) },
    // a message wrapped once more (an SNS envelope, a double-encoded body)
    { weight: garbage, arbitrary: message.map((m) => JSON.stringify(JSON.stringify(m))) },
    { weight: garbage, arbitrary: message.map((m) => JSON.stringify({ Type: "Notification", Message: JSON.stringify(m) })) },
    // huge
    { weight: garbage, arbitrary: hugeStringArb },
  );
}

/** 1 to 10 records, as SQS hands them to Lambda. */
export function batchArb(pool: IdPool, options: MessageOptions & { garbage?: number; maxRecords?: number } = {}): fc.Arbitrary<string[]> {
  return fc.array(bodyArb(pool, options), { minLength: 1, maxLength: options.maxRecords ?? 10 });
}
