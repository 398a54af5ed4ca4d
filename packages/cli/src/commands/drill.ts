import type { Command } from "commander";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { DRILL_KINDS, type DrillKind } from "@spot-manager/core";
import { syntheticEvent } from "@spot-manager/core";
import { CommandFailedError, UsageError } from "../options";

interface DrillFlags {
  stage: string;
  instance: string;
  kind: string;
  dryRun?: boolean;
  function?: string;
  region?: string;
  account?: string;
  asg?: string;
  hook?: string;
  token?: string;
  maintenanceStart?: string;
}

/** The interruption function's name for a stage, as the Interruptions stack names it. */
export function interruptionFunctionName(stage: string): string {
  return `spot-manager-${stage}-interruption`;
}

/** Builds the drill payload: a real-shaped event, marked as a drill. */
export function drillPayload(flags: DrillFlags, now = new Date()): Record<string, unknown> {
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
  const event = syntheticEvent(kind, {
    instanceId: flags.instance,
    now,
    ...(flags.region ? { region: flags.region } : {}),
    ...(flags.account ? { account: flags.account } : {}),
    ...(needsHook ? { lifecycle: { asgName: flags.asg as string, hookName: flags.hook as string, token: flags.token as string } } : {}),
    ...(start ? { maintenanceStart: start } : {}),
  });
  return { ...event, drill: { dryRun: Boolean(flags.dryRun) } };
}

/** `spot-manager drill`: invokes the deployed interruption function with a synthetic event. */
export function registerDrill(program: Command, lambdaFactory: (region?: string) => LambdaClient = (region) => new LambdaClient(region ? { region } : {})): void {
  program
    .command("drill")
    .description("Invoke the deployed interruption Lambda of a stage with a synthetic event (needs AWS credentials)")
    .requiredOption("--stage <name>", "stage the stack was deployed as")
    .requiredOption("--instance <id>", "EC2 instance the signal is about")
    .requiredOption("--kind <kind>", DRILL_KINDS.join("|"))
    .option("--dry-run", "the function only reports what it would do")
    .option("--function <name>", "function name (default: spot-manager-<stage>-interruption)")
    .option("--region <region>", "AWS region (default: from the environment)")
    .option("--account <id>", "account id written into the event")
    .option("--asg <name>", "Auto Scaling group (asg-terminate, asg-launch)")
    .option("--hook <name>", "lifecycle hook name (asg-terminate, asg-launch)")
    .option("--token <token>", "lifecycle action token (asg-terminate, asg-launch)")
    .option("--maintenance-start <iso>", "scheduled-change: when the maintenance starts")
    .action(async (flags: DrillFlags) => {
      const payload = drillPayload(flags);
      const functionName = flags.function ?? interruptionFunctionName(flags.stage);
      const lambda = lambdaFactory(flags.region);
      const answer = await lambda.send(new InvokeCommand({ FunctionName: functionName, InvocationType: "RequestResponse", Payload: Buffer.from(JSON.stringify(payload)) }));
      const text = answer.Payload ? Buffer.from(answer.Payload).toString("utf8") : "";
      if (answer.FunctionError) throw new CommandFailedError(`${functionName} failed (${answer.FunctionError}): ${text}`);
      console.log(text ? JSON.stringify(JSON.parse(text), null, 2) : "(no payload)");
    });
}
