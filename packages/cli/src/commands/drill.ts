/**
 * `spot-manager drill`: a synthetic signal (AWS's detail-type and detail, the drill source) for an
 * instance of a deployed stage. `--via eventbridge` puts it on the default bus, where AWS's own
 * signals arrive, so it takes the real path: rule -> queue -> function -> cluster. `--via invoke`
 * hands it to the interruption function directly (and may ask for a dry run). `--wait` waits for
 * the drill's Drain Finished on the stage's outcome bus (see drill/outcome-watch.ts).
 */
import type { Command } from "commander";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DRILL_KINDS, EVENT_BUS_NAME_OR_ARN, putEventsEntry, syntheticEvent, type DrillKind } from "@spot-manager/core";
import { DrillOutcomeWatch, WatchSetupError } from "../drill/outcome-watch";
import { CommandFailedError, positiveNumber, UsageError } from "../options";

export const DRILL_VIAS = ["invoke", "eventbridge"] as const;
export type DrillVia = (typeof DRILL_VIAS)[number];

/** Kinds whose handling never drains: there is no Drain Finished to wait for. */
const NEVER_DRAIN: readonly DrillKind[] = ["asg-launch", "terminated"];

export interface DrillFlags {
  stage: string;
  instance: string;
  kind: string;
  via?: string;
  dryRun?: boolean;
  function?: string;
  region?: string;
  account?: string;
  asg?: string;
  hook?: string;
  token?: string;
  maintenanceStart?: string;
  wait?: boolean;
  timeout?: number;
  outcomeBus?: string;
}

/** The AWS clients the drill uses, made for the region asked (tests hand in faked ones). */
export interface DrillClients {
  lambda(region?: string): LambdaClient;
  eventbridge(region?: string): EventBridgeClient;
  sqs(region?: string): SQSClient;
}

const withRegion = (region?: string) => (region ? { region } : {});

export const AWS_DRILL_CLIENTS: DrillClients = {
  lambda: (region) => new LambdaClient(withRegion(region)),
  eventbridge: (region) => new EventBridgeClient(withRegion(region)),
  sqs: (region) => new SQSClient(withRegion(region)),
};

/** The interruption function's name for a stage, as the Interruptions stack names it. */
export function interruptionFunctionName(stage: string): string {
  return `spot-manager-${stage}-interruption`;
}

/** Builds the drill's event: real-shaped, from the drill source. */
export function drillEvent(flags: DrillFlags, now = new Date()): Record<string, unknown> {
  if (!(DRILL_KINDS as readonly string[]).includes(flags.kind)) throw new UsageError(`--kind must be one of ${DRILL_KINDS.join(", ")}, got "${flags.kind}"`);
  if (!/^i-[0-9a-f]{8,17}$/.test(flags.instance)) throw new UsageError(`--instance must be an EC2 instance id (i-...), got "${flags.instance}"`);
  const kind = flags.kind as DrillKind;
  const needsHook = kind === "asg-terminate" || kind === "asg-launch";
  if (needsHook && !(flags.asg && flags.hook && flags.token)) throw new UsageError(`--kind ${kind} needs --asg, --hook and --token (the lifecycle action token)`);
  // Auto Scaling refuses to complete a lifecycle action with a token or hook name beyond its limits.
  if (needsHook && (flags.token as string).length !== 36) throw new UsageError(`--token must be the lifecycle action token (36 characters, as in the hook's notification), got "${flags.token}"`);
  if (needsHook && !/^[A-Za-z0-9\-_/]{1,255}$/.test(flags.hook as string)) throw new UsageError(`--hook must be a lifecycle hook name (letters, digits, '-', '_' and '/'), got "${flags.hook}"`);
  const start = flags.maintenanceStart ? new Date(flags.maintenanceStart) : undefined;
  if (start && Number.isNaN(start.getTime())) throw new UsageError(`--maintenance-start must be an ISO 8601 time, got "${flags.maintenanceStart}"`);
  return syntheticEvent(kind, {
    instanceId: flags.instance,
    now,
    drill: true,
    ...(flags.region ? { region: flags.region } : {}),
    ...(flags.account ? { account: flags.account } : {}),
    ...(needsHook ? { lifecycle: { asgName: flags.asg as string, hookName: flags.hook as string, token: flags.token as string } } : {}),
    ...(start ? { maintenanceStart: start } : {}),
  });
}

/** The direct invoke's payload: the drill's event, marked as a drill (with its dry run). */
export function drillPayload(flags: DrillFlags, now = new Date()): Record<string, unknown> {
  return { ...drillEvent(flags, now), drill: { dryRun: Boolean(flags.dryRun) } };
}

function checkFlags(flags: DrillFlags): DrillVia {
  const via = (flags.via ?? "invoke") as DrillVia;
  if (!DRILL_VIAS.includes(via)) throw new UsageError(`--via must be one of ${DRILL_VIAS.join(", ")}, got "${flags.via}"`);
  if (via === "eventbridge" && flags.dryRun) throw new UsageError("--dry-run needs --via invoke: an event on the bus reaches the function as AWS's do, and is acted on");
  if (via === "eventbridge" && flags.function) throw new UsageError("--function needs --via invoke: through EventBridge the stage's rules choose the function");
  if (flags.wait && flags.dryRun) throw new UsageError("--wait cannot see a dry run: it publishes no outcome events");
  if (flags.wait && NEVER_DRAIN.includes(flags.kind as DrillKind)) throw new UsageError(`--wait waits for Drain Finished, and --kind ${flags.kind} never drains`);
  if (flags.outcomeBus !== undefined && !EVENT_BUS_NAME_OR_ARN.test(flags.outcomeBus)) throw new UsageError(`--outcome-bus must be an event bus name or ARN, got "${flags.outcomeBus}"`);
  if (flags.outcomeBus !== undefined && !flags.wait) throw new UsageError("--outcome-bus needs --wait");
  return via;
}

/** Puts the drill's event on the default bus (where the stage's interruption rules are); the id EventBridge gave it. */
async function putOnBus(eventbridge: EventBridgeClient, event: Record<string, unknown>): Promise<string> {
  const answer = await eventbridge.send(new PutEventsCommand({ Entries: [putEventsEntry(event, "default")] }));
  const [entry] = answer.Entries ?? [];
  if ((answer.FailedEntryCount ?? 0) > 0 || !entry?.EventId) throw new CommandFailedError(`EventBridge refused the drill: ${entry?.ErrorCode ?? "no result"}${entry?.ErrorMessage ? `: ${entry.ErrorMessage}` : ""}`);
  return entry.EventId;
}

async function invoke(lambda: LambdaClient, functionName: string, payload: Record<string, unknown>): Promise<unknown> {
  const answer = await lambda.send(new InvokeCommand({ FunctionName: functionName, InvocationType: "RequestResponse", Payload: Buffer.from(JSON.stringify(payload)) }));
  const text = answer.Payload ? Buffer.from(answer.Payload).toString("utf8") : "";
  if (answer.FunctionError) throw new CommandFailedError(`${functionName} failed (${answer.FunctionError}): ${text}`);
  return text ? (JSON.parse(text) as unknown) : undefined;
}

/** Runs a drill as the flags say; prints the result (and, with --wait, the Drain Finished). */
export async function runDrill(flags: DrillFlags, clients: DrillClients = AWS_DRILL_CLIENTS, out: { log: (line: string) => void; error: (line: string) => void } = console): Promise<void> {
  const via = checkFlags(flags);
  const started = Date.now();
  const until = started + (flags.timeout ?? 300) * 1000;
  const event = via === "invoke" ? drillPayload(flags) : drillEvent(flags);
  const describe = `${flags.kind} drill for ${flags.instance}`;
  let watch: DrillOutcomeWatch | undefined;
  const abort = new AbortController();
  const interrupt = () => abort.abort();
  if (flags.wait) {
    process.once("SIGINT", interrupt);
    const eventBus = flags.outcomeBus ?? "default";
    out.error(`watching the outcome bus ${eventBus} for the drill's Drain Finished (a queue and a rule of this drill's own, removed when it ends)`);
    try {
      watch = await DrillOutcomeWatch.open({ eventbridge: clients.eventbridge(flags.region), sqs: clients.sqs(flags.region) }, { eventBus, instanceId: flags.instance, stage: flags.stage, progress: out.error, signal: abort.signal }, until);
    } catch (error) {
      process.removeListener("SIGINT", interrupt);
      if (error instanceof WatchSetupError) throw new CommandFailedError(error.message);
      throw error;
    }
  }
  try {
    let eventId: string;
    if (via === "eventbridge") {
      eventId = await putOnBus(clients.eventbridge(flags.region), event);
      const put = { via, eventId, source: event["source"], detailType: event["detail-type"], eventBus: "default", instanceId: flags.instance };
      if (!flags.wait) {
        out.log(JSON.stringify(put, null, 2));
        return;
      }
      out.error(`${describe} put on the default bus as event ${eventId}`);
    } else {
      eventId = String(event["id"]);
      const functionName = flags.function ?? interruptionFunctionName(flags.stage);
      const answer = await invoke(clients.lambda(flags.region), functionName, event);
      if (!flags.wait) {
        out.log(answer === undefined ? "(no payload)" : JSON.stringify(answer, null, 2));
        return;
      }
      out.error(`${describe} handled by ${functionName} (event ${eventId}): ${JSON.stringify(answer)}`);
    }
    const finished = await (watch as DrillOutcomeWatch).drainFinished(eventId, until);
    if (!finished) {
      const seconds = Math.round((Date.now() - started) / 1000);
      throw new CommandFailedError(`no Drain Finished for drill event ${eventId} within ${seconds} s (--timeout ${flags.timeout ?? 300}); the drill may still be under way: see the stage's notifications and the node's Events`);
    }
    out.log(JSON.stringify(finished, null, 2));
    const detail = (finished["detail"] ?? {}) as { complete?: boolean; podsLeft?: number; deadlineMet?: boolean };
    if (detail.complete !== true) throw new CommandFailedError(`the drill's drain finished incomplete: ${detail.podsLeft ?? "some"} pods left on the node`);
    if (detail.deadlineMet !== true) out.error("the drill's drain finished after its deadline");
  } catch (error) {
    if (abort.signal.aborted) throw new CommandFailedError("interrupted: stopped waiting (the drill itself goes on in the stage)");
    throw error;
  } finally {
    process.removeListener("SIGINT", interrupt);
    if (watch) for (const problem of await watch.close()) out.error(`could not remove what the drill's watch made: ${problem}`);
  }
}

/** `spot-manager drill`: puts a synthetic signal on the default bus, or invokes the interruption function with it. */
export function registerDrill(program: Command, clients: DrillClients = AWS_DRILL_CLIENTS): void {
  program
    .command("drill")
    .description("Drill a deployed stage with a synthetic signal: through EventBridge (the real path) or by invoking the interruption function (needs AWS credentials)")
    .requiredOption("--stage <name>", "stage the stack was deployed as")
    .requiredOption("--instance <id>", "EC2 instance the signal is about")
    .requiredOption("--kind <kind>", DRILL_KINDS.join("|"))
    .option("--via <path>", "eventbridge: put it on the default bus (rule -> queue -> function); invoke: call the function directly", "invoke")
    .option("--dry-run", "the function only reports what it would do (--via invoke)")
    .option("--wait", "wait for the drill's Drain Finished on the outcome bus and print it (exit 1 when the drain was incomplete or none came)")
    .option("--timeout <seconds>", "how long --wait waits", positiveNumber("--timeout", { integer: true }), 300)
    .option("--outcome-bus <bus>", "the stage's outcome bus (its outcomes.eventBus), for --wait", undefined)
    .option("--function <name>", "function name (default: spot-manager-<stage>-interruption; --via invoke)")
    .option("--region <region>", "AWS region (default: from the environment)")
    .option("--account <id>", "account id written into the event")
    .option("--asg <name>", "Auto Scaling group (asg-terminate, asg-launch)")
    .option("--hook <name>", "lifecycle hook name (asg-terminate, asg-launch)")
    .option("--token <token>", "lifecycle action token (asg-terminate, asg-launch)")
    .option("--maintenance-start <iso>", "scheduled-change: when the maintenance starts")
    .action((flags: DrillFlags) => runDrill(flags, clients));
}
