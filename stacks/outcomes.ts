/**
 * The bus outcome events go to (stage setting `outcomes`): the account's default bus, a bus of
 * this account and region by name (created with the stage when asked), or another account's bus
 * by ARN. The functions that publish get its ARN in OUTCOME_EVENT_BUS, and events:PutEvents on
 * that bus alone, for spot-manager's source alone.
 */
import { Stack, Token } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as iam from "aws-cdk-lib/aws-iam";
import type { Function } from "sst/constructs";
import type { Construct } from "constructs";
import { ConfigError, OUTCOME_BUS_ENV, OUTCOME_SOURCE } from "@spot-manager/core";
import type { StageConfig } from "./config";

export interface OutcomeBus {
  /** The bus's ARN (what the functions are given and granted). */
  arn: string;
  /** Its name, or its ARN for another account's bus. */
  name: string;
}

/** The stage's outcome bus (created here when the stage asks), or undefined when outcome events are off. */
export function outcomeBus(scope: Construct, config: StageConfig): OutcomeBus | undefined {
  const settings = config.outcomes;
  if (!settings.enabled) return undefined;
  const { partition, region, account } = Stack.of(scope);
  if (settings.eventBus.startsWith("arn:")) {
    const busRegion = settings.eventBus.split(":")[3];
    // PutEvents reaches the buses of its own region; other regions are reached through a rule's bus target
    if (!Token.isUnresolved(region) && busRegion !== region) {
      throw new ConfigError(`invalid outcomes.eventBus: ${settings.eventBus} is in ${busRegion}, the stage deploys to ${region}; use a bus here (a rule on it can forward to ${busRegion})`);
    }
    return { arn: settings.eventBus, name: settings.eventBus };
  }
  if (settings.createEventBus) {
    const bus = new events.EventBus(scope, "OutcomeBus", { eventBusName: settings.eventBus, description: "spot-manager outcome events" });
    return { arn: bus.eventBusArn, name: bus.eventBusName };
  }
  return { arn: `arn:${partition}:events:${region}:${account}:event-bus/${settings.eventBus}`, name: settings.eventBus };
}

/** Lets a function publish outcome events: the bus in its environment, PutEvents on that bus for spot-manager's source. */
export function grantOutcomeEvents(fn: Function, bus: OutcomeBus | undefined): void {
  if (!bus) return;
  fn.addEnvironment(OUTCOME_BUS_ENV, bus.arn);
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      sid: "OutcomeEvents",
      actions: ["events:PutEvents"],
      resources: [bus.arn],
      conditions: { StringEquals: { "events:source": OUTCOME_SOURCE } },
    }),
  );
}
