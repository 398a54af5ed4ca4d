/**
 * `spot-manager drill` against a whole offline stage: EventBridge's routing faked over the
 * interruption world (rules -> queues, the stage's interruption rules -> the real handler ->
 * kube-local), so `--via eventbridge --wait` takes the path a real signal takes and sees the
 * drill's Drain Finished come back through a queue and a rule the command makes and removes.
 */
import { PutEventsCommand, PutRuleCommand } from "@aws-sdk/client-eventbridge";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { CreateQueueCommand, DeleteQueueCommand, SetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { mockClient } from "@spot-manager/aws-fakes";
import { DRILL_SOURCE } from "@spot-manager/core";
import { DEMO_INTERRUPTED_INSTANCE, DEMO_INTERRUPTED_NODE } from "@spot-manager/kube-local";
import type { AwsClientStub } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { runDrill, type DrillClients, type DrillFlags } from "../../packages/cli/src/commands/drill";
import { watchPattern } from "../../packages/cli/src/drill/outcome-watch";
import { CommandFailedError, UsageError } from "../../packages/cli/src/options";
import { createWorld, eventsAbout, nodeView, podsOn, type World, type WorldOptions } from "../interruption/world";
import { matchesPattern } from "../stacks/event-pattern";
import { routeBuses, type RoutedBuses } from "./event-bus";
import { schemaErrors } from "./schemas";

let world: World | undefined;
let lambda: AwsClientStub<LambdaClient> | undefined;
afterEach(async () => {
  lambda?.restore();
  lambda = undefined;
  await world?.stop();
  world = undefined;
});

/** A stage whose clock is now (the drill's event is stamped now), with EventBridge routing. */
async function stage(options: WorldOptions = {}): Promise<{ world: World; buses: RoutedBuses; clients: DrillClients; out: { log: string[]; error: string[] } }> {
  world = await createWorld({ startAt: new Date().toISOString(), ...options });
  const buses = routeBuses(world);
  const lambdaClient = new LambdaClient({ region: "us-west-2", credentials: { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" } });
  const w = world;
  lambda = mockClient(lambdaClient);
  lambda.on(InvokeCommand).callsFake(async (input: { Payload: Uint8Array }) => {
    const answer = await w.invoke(JSON.parse(Buffer.from(input.Payload).toString("utf8")));
    return { StatusCode: 200, Payload: Buffer.from(JSON.stringify(answer)) };
  });
  const clients: DrillClients = { lambda: () => lambdaClient, eventbridge: () => w.aws.clients.eventbridge, sqs: () => w.aws.clients.sqs };
  const out = { log: [] as string[], error: [] as string[] };
  return { world, buses, clients, out };
}

const spotDrill = (more: Partial<DrillFlags> = {}): DrillFlags => ({ stage: "dev", instance: DEMO_INTERRUPTED_INSTANCE, kind: "spot-itn", region: "us-west-2", account: "123456789012", ...more });
const sink = (out: { log: string[]; error: string[] }) => ({ log: (l: string) => out.log.push(l), error: (l: string) => out.error.push(l) });

describe("spot-manager drill --via eventbridge", () => {
  it("puts AWS's detail-type and detail on the default bus from the drill source; the stage's rule, queue and function drain the node", async () => {
    // Prepare
    const { world: w, buses, clients, out } = await stage();
    // Act
    await runDrill(spotDrill({ via: "eventbridge" }), clients, sink(out));
    await buses.settled();
    // Assess: what EventBridge was asked
    const [entry] = w.aws.eventbridge.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries ?? [];
    expect(entry).toMatchObject({ Source: DRILL_SOURCE, DetailType: "EC2 Spot Instance Interruption Warning", EventBusName: "default", Resources: [`arn:aws:ec2:us-west-2:123456789012:instance/${DEMO_INTERRUPTED_INSTANCE}`] });
    expect(JSON.parse(entry!.Detail!)).toEqual({ "instance-id": DEMO_INTERRUPTED_INSTANCE, "instance-action": "terminate" });
    const printed = JSON.parse(out.log.join("\n")) as { eventId: string };
    expect(printed).toMatchObject({ via: "eventbridge", source: DRILL_SOURCE, eventBus: "default" });
    // Assess: the cluster, by way of the rule and the queue
    expect(nodeView(w.kube, DEMO_INTERRUPTED_NODE).taints).toContainEqual({ key: "spot-manager/spot-itn", value: printed.eventId, effect: "NoSchedule" });
    expect(podsOn(w.kube, DEMO_INTERRUPTED_NODE)).toHaveLength(2);
    expect(eventsAbout(w.kube, DEMO_INTERRUPTED_NODE)[0]?.message).toMatch(/^Drill: Spot interruption warning/);
    // no watch without --wait
    expect(w.aws.sqs).not.toReceiveCommand(CreateQueueCommand);
  });

  it("--wait: prints the drill's Drain Finished, told Node Protected on the way, and removes the queue and the rule it made", async () => {
    const { world: w, buses, clients, out } = await stage();
    await runDrill(spotDrill({ via: "eventbridge", wait: true, timeout: 60 }), clients, sink(out));
    await buses.settled();
    const finished = JSON.parse(out.log.join("\n")) as Record<string, unknown> & { detail: Record<string, unknown> };
    expect(schemaErrors(finished)).toEqual([]);
    expect(finished).toMatchObject({ source: "spot-manager", "detail-type": "Drain Finished", detail: { complete: true, drill: true, node: DEMO_INTERRUPTED_NODE, podsEvicted: 5, signal: { source: DRILL_SOURCE } } });
    const drill = w.aws.eventsOnBus().find((e) => e["source"] === DRILL_SOURCE && e["detail-type"] === "EC2 Spot Instance Interruption Warning");
    expect(finished.detail["signal"]).toMatchObject({ eventId: drill?.["id"] });
    expect(out.error.some((l) => l.startsWith(`node ${DEMO_INTERRUPTED_NODE} protected (tainted spot-manager/spot-itn=`) && l.endsWith(":NoSchedule, cordoned)"))).toBe(true);
    // the watch: a rule matching this instance's drill outcomes, the queue open to that rule alone; both gone now
    const [rule] = w.aws.eventbridge.commandCalls(PutRuleCommand).map((c) => c.args[0].input);
    expect(JSON.parse(rule!.EventPattern!)).toEqual(watchPattern(DEMO_INTERRUPTED_INSTANCE));
    expect(matchesPattern(JSON.parse(rule!.EventPattern!), finished)).toBe(true);
    expect(matchesPattern(JSON.parse(rule!.EventPattern!), { ...finished, detail: { ...finished.detail, drill: false } })).toBe(false);
    const policy = JSON.parse(w.aws.sqs.commandCalls(SetQueueAttributesCommand)[0]!.args[0].input.Attributes!["Policy"]!) as { Statement: { Principal: unknown; Action: string; Condition: unknown }[] };
    expect(policy.Statement).toEqual([
      expect.objectContaining({ Principal: { Service: "events.amazonaws.com" }, Action: "sqs:SendMessage", Condition: { ArnEquals: { "aws:SourceArn": `arn:aws:events:us-west-2:123456789012:rule/${rule!.Name}` } } }),
    ]);
    expect(buses.rules().filter((r) => r.startsWith("spot-manager-drill-watch-"))).toEqual([]);
    expect(buses.queues()).toEqual([]);
    expect(w.aws.sqs).toReceiveCommandTimes(DeleteQueueCommand, 1);
  });

  it("--wait on a drain that leaves a pod: prints it, then fails (exit 1) saying how many pods were left", async () => {
    const { world: w, buses, clients, out } = await stage();
    w.kube.faults.add({ match: { resource: "pods/eviction", path: "/pods/debug-shell/" }, effect: { kind: "status", code: 400, message: 'admission webhook "no-evict.example.com" denied the request' } });
    const drill = runDrill(spotDrill({ via: "eventbridge", wait: true, timeout: 60 }), clients, sink(out));
    await expect(drill).rejects.toThrowError(new CommandFailedError("the drill's drain finished incomplete: 1 pods left on the node"));
    await buses.settled();
    expect(JSON.parse(out.log.join("\n"))).toMatchObject({ detail: { complete: false, left: [{ pod: "shop/debug-shell", reason: "eviction-refused" }] } });
    expect(buses.queues()).toEqual([]);
  });

  it("--wait times out when no Drain Finished comes, says so, and still removes what it made", async () => {
    const { buses, clients, out } = await stage({ policy: { spotInterruption: { drain: false } } });
    const drill = runDrill(spotDrill({ via: "eventbridge", wait: true, timeout: 3 }), clients, sink(out));
    await expect(drill).rejects.toThrowError(/^no Drain Finished for drill event [0-9a-f-]{36} within \d+ s \(--timeout 3\)/);
    await buses.settled();
    expect(out.log).toEqual([]);
    expect(out.error.some((l) => l.includes("protected"))).toBe(true);
    expect(buses.queues()).toEqual([]);
    expect(buses.rules().filter((r) => r.startsWith("spot-manager-drill-watch-"))).toEqual([]);
  });

  it("a watch that cannot be set up sends no drill, and removes what it had made", async () => {
    const { world: w, buses, clients, out } = await stage();
    w.aws.eventbridge.on(PutRuleCommand).rejects(Object.assign(new Error("User is not authorized to perform: events:PutRule"), { name: "AccessDeniedException" }));
    await expect(runDrill(spotDrill({ via: "eventbridge", wait: true }), clients, sink(out))).rejects.toThrowError(/could not watch the outcome bus default: User is not authorized to perform: events:PutRule/);
    expect(w.aws.eventbridge).not.toReceiveCommand(PutEventsCommand);
    expect(buses.queues()).toEqual([]);
  });
});

describe("spot-manager drill --via invoke", () => {
  it("invokes the function with the drill's event, marked; --wait sees its Drain Finished the same way", async () => {
    const { world: w, buses, clients, out } = await stage();
    await runDrill(spotDrill({ via: "invoke", wait: true, timeout: 60 }), clients, sink(out));
    await buses.settled();
    const payload = JSON.parse(Buffer.from(lambda!.commandCalls(InvokeCommand)[0]!.args[0].input.Payload as Uint8Array).toString("utf8")) as Record<string, unknown>;
    expect(payload).toMatchObject({ source: DRILL_SOURCE, "detail-type": "EC2 Spot Instance Interruption Warning", drill: { dryRun: false } });
    expect(JSON.parse(out.log.join("\n"))).toMatchObject({ "detail-type": "Drain Finished", detail: { complete: true, drill: true, signal: { eventId: payload["id"] } } });
    expect(w.aws.eventbridge.commandCalls(PutEventsCommand).some((c) => c.args[0].input.Entries?.[0]?.Source === DRILL_SOURCE && c.args[0].input.Entries[0].DetailType !== "Drill Watch Probe")).toBe(false);
  });

  it("refuses what cannot work, naming the flag", async () => {
    const { clients, out } = await stage();
    const refused = (flags: Partial<DrillFlags>) => runDrill(spotDrill(flags), clients, sink(out));
    await expect(refused({ via: "eventbridge", dryRun: true })).rejects.toThrowError(new UsageError("--dry-run needs --via invoke: an event on the bus reaches the function as AWS's do, and is acted on"));
    await expect(refused({ via: "bus" })).rejects.toThrowError(/--via must be one of invoke, eventbridge, got "bus"/);
    await expect(refused({ wait: true, dryRun: true })).rejects.toThrowError(/--wait cannot see a dry run/);
    await expect(refused({ wait: true, kind: "terminated" })).rejects.toThrowError(/--kind terminated never drains/);
    await expect(refused({ wait: true, outcomeBus: "not a bus" })).rejects.toThrowError(/--outcome-bus must be an event bus name or ARN/);
    await expect(refused({ outcomeBus: "platform" })).rejects.toThrowError(/--outcome-bus needs --wait/);
    expect(world!.aws.eventbridge).not.toReceiveCommand(PutEventsCommand);
  });
});
