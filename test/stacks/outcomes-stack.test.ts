/**
 * Outcome events and drills in the stacks: the bus each stage publishes to (the default bus, or
 * one of its own), the functions that publish given its ARN and PutEvents on it alone, and the
 * interruption rules matching the drill source besides AWS's — and nothing else.
 */
import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { DRILL_SOURCE, HANDLED_SIGNALS, syntheticEvent, type DrillKind } from "@spot-manager/core";
import { beforeAll, describe, expect, it } from "vitest";
import { parseStageConfig, stageDefaults, deepMerge } from "../../stacks/config";
import { outcomeBus } from "../../stacks/outcomes";
import { signalRules, SIGNAL_RULES } from "../../stacks/rules";
import { matchesPattern } from "./event-pattern";
import { rendered, statements } from "./synth";
import { synthVariant, type SynthesizedVariant } from "./variants";

let dev: SynthesizedVariant;
let web: SynthesizedVariant;
beforeAll(async () => {
  [dev, web] = await Promise.all([synthVariant("dev"), synthVariant("delivery")]);
}, 420_000);

type FunctionResource = { Properties: { FunctionName: string; Environment?: { Variables?: Record<string, unknown> }; Role: unknown } };

function functionsOf(variant: SynthesizedVariant, stack: string): FunctionResource[] {
  return Object.values(variant.template(stack).findResources("AWS::Lambda::Function")) as FunctionResource[];
}

function outcomeStatements(variant: SynthesizedVariant, stack: string) {
  return statements(variant.template(stack)).filter((s) => JSON.stringify(s.Action).includes("events:"));
}

const config = (override: unknown) => parseStageConfig("dev", deepMerge(stageDefaults("dev"), override));

describe("the outcome bus", () => {
  it("by default the account's default bus: each publishing function gets its ARN, and PutEvents on it for spot-manager's source only", () => {
    const bus = "arn:aws:events:us-west-2:123456789012:event-bus/default";
    for (const [stack, name] of [
      ["Interruptions", "spot-manager-dev-interruption"],
      ["Capacity", "spot-manager-dev-capacity"],
    ] as const) {
      const fn = functionsOf(dev, stack).find((f) => f.Properties.FunctionName === name);
      expect(rendered(fn?.Properties.Environment?.Variables?.["OUTCOME_EVENT_BUS"]), name).toBe(bus);
      const granted = outcomeStatements(dev, stack);
      expect(granted.map((s) => [s.Sid, s.Action, rendered(s.Resource), s.Condition]), name).toEqual([["OutcomeEvents", "events:PutEvents", bus, { StringEquals: { "events:source": "spot-manager" } }]]);
    }
    expect(dev.template("Observability").findResources("AWS::Events::EventBus")).toEqual({});
  });

  it("a bus of the stage's own, created with it, for the interruption, capacity and build notification functions alike", () => {
    const buses = Object.entries(web.template("Observability").findResources("AWS::Events::EventBus"));
    expect(buses.map(([, b]) => (b as { Properties: { Name: string } }).Properties.Name)).toEqual(["shop-platform-events"]);
    const [busId] = buses[0]!;
    for (const [stack, name] of [
      ["Interruptions", "spot-manager-web-interruption"],
      ["Capacity", "spot-manager-web-capacity"],
      ["Delivery", "spot-manager-web-delivery-notify"],
    ] as const) {
      const fn = functionsOf(web, stack).find((f) => f.Properties.FunctionName === name);
      expect(JSON.stringify(fn?.Properties.Environment?.Variables?.["OUTCOME_EVENT_BUS"]), name).toContain(busId);
      const [granted] = outcomeStatements(web, stack);
      expect(granted?.Action, name).toBe("events:PutEvents");
      expect(JSON.stringify(granted?.Resource), name).toContain(busId);
    }
    // the functions that do not publish get neither
    const webhook = functionsOf(web, "Delivery").find((f) => f.Properties.FunctionName === "spot-manager-web-delivery-webhook");
    expect(webhook?.Properties.Environment?.Variables?.["OUTCOME_EVENT_BUS"]).toBeUndefined();
  });

  it("checked at synth: a bus to create needs a name; a bus ARN must be in the stage's region; off means no grant at all", () => {
    expect(() => config({ outcomes: { createEventBus: true } })).toThrowError(/outcomes\.createEventBus: needs outcomes\.eventBus to name the bus to create \(not "default" or an ARN\), got "default"/);
    expect(() => config({ outcomes: { eventBus: "not a bus!" } })).toThrowError(/outcomes\.eventBus: must be "default", an event bus name or an event bus ARN/);
    const stack = new Stack(new App(), "Probe", { env: { account: "123456789012", region: "us-west-2" } });
    const elsewhere = config({ outcomes: { eventBus: "arn:aws:events:eu-west-1:210987654321:event-bus/central" } });
    expect(() => outcomeBus(stack, elsewhere)).toThrowError(/outcomes\.eventBus: arn:aws:events:eu-west-1:210987654321:event-bus\/central is in eu-west-1, the stage deploys to us-west-2/);
    const central = "arn:aws:events:us-west-2:210987654321:event-bus/central";
    expect(outcomeBus(stack, config({ outcomes: { eventBus: central } }))).toEqual({ arn: central, name: central });
    expect(outcomeBus(stack, config({ outcomes: { enabled: false } }))).toBeUndefined();
    expect(Template.fromStack(stack).findResources("AWS::Events::EventBus")).toEqual({});
  });
});

describe("drills through EventBridge", () => {
  const KINDS: Record<string, DrillKind[]> = {
    SpotInterruptionWarning: ["spot-itn"],
    RebalanceRecommendation: ["rebalance"],
    AsgTerminateLifecycleAction: ["asg-terminate"],
    AsgLaunchLifecycleAction: ["asg-launch"],
    InstanceStateChange: ["stopping", "shutting-down", "terminated"],
    HealthScheduledChange: ["scheduled-change"],
  };
  const drill = (kind: DrillKind) =>
    syntheticEvent(kind, { instanceId: "i-0123456789abcdef0", drill: true, lifecycle: { asgName: "spot-self-managed", hookName: "spot-manager-drain", token: "bcd2e7a1-8c3f-4f1b-9e2d-0a1b2c3d4e5f" } });

  it("each rule matches the drill source besides AWS's, and only it: a drill of its own signal, never another's", () => {
    for (const rule of SIGNAL_RULES) {
      expect(rule.pattern.source).toEqual([HANDLED_SIGNALS.find((s) => s.detailType === rule.pattern["detail-type"][0])!.source, DRILL_SOURCE]);
      for (const [id, kinds] of Object.entries(KINDS)) {
        for (const kind of kinds) expect(matchesPattern(rule.pattern as never, drill(kind)), `${rule.id} vs drill ${kind}`).toBe(id === rule.id);
      }
    }
    // another source with AWS's detail-type and detail matches nothing
    const impostor = { ...drill("spot-itn"), source: "acme.chaos" };
    expect(SIGNAL_RULES.filter((rule) => matchesPattern(rule.pattern as never, impostor))).toEqual([]);
  });

  it("the template carries them; a stage that turns drills through EventBridge off matches AWS's sources alone", () => {
    const rulesOf = (variant: SynthesizedVariant) =>
      Object.values(variant.template("Interruptions").findResources("AWS::Events::Rule")).map((r) => (r as { Properties: { EventPattern: { source: string[] } } }).Properties.EventPattern.source);
    expect(rulesOf(dev).every((source) => source.length === 2 && source[1] === DRILL_SOURCE)).toBe(true);
    expect(rulesOf(web).every((source) => source.length === 1 && !source.includes(DRILL_SOURCE))).toBe(true);
    expect(signalRules({ drills: false }).flatMap((r) => r.pattern.source).filter((s) => s === DRILL_SOURCE)).toEqual([]);
  });
});
