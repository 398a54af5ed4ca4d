/**
 * The outcome events' JSON Schemas (schemas/outcomes, one file per detail-type), compiled once
 * with Ajv, and the events spot-manager put on a faked bus, each held to its schema.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { OUTCOME_SOURCE, type OutcomeDetailType } from "@spot-manager/core";
import { Ajv, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import type { AwsWorld } from "../../packages/cli/src/simulate/aws-world";

export const SCHEMA_DIR = join(import.meta.dirname, "../../schemas/outcomes");

/** The schema file of a detail-type: `Drain Finished` -> drain-finished.json. */
export const schemaFileOf = (detailType: string) => `${detailType.toLowerCase().replace(/ /g, "-")}.json`;

let compiled: Map<string, ValidateFunction> | undefined;

function validators(): Map<string, ValidateFunction> {
  if (compiled) return compiled;
  const ajv = new Ajv({ allErrors: true, strict: true });
  addFormats(ajv);
  compiled = new Map();
  for (const file of readdirSync(SCHEMA_DIR)) {
    const schema = JSON.parse(readFileSync(join(SCHEMA_DIR, file), "utf8")) as { title: string };
    compiled.set(schema.title, ajv.compile(schema));
  }
  return compiled;
}

/** Every detail-type with a schema. */
export function schemaTitles(): string[] {
  return [...validators().keys()].sort();
}

/** What is wrong with an event against its detail-type's schema (empty when it is valid). */
export function schemaErrors(event: Record<string, unknown>): string[] {
  const detailType = String(event["detail-type"]);
  const validate = validators().get(detailType);
  if (!validate) return [`no schema for detail-type "${detailType}"`];
  if (validate(event)) return [];
  return (validate.errors ?? []).map((e) => `${detailType}${e.instancePath} ${e.message ?? ""}${e.params ? ` ${JSON.stringify(e.params)}` : ""}`);
}

/**
 * The outcome events spot-manager put on the bus, in order, after holding every one to its
 * schema: an event that does not match fails the test that produced it.
 */
export function outcomeEvents(aws: AwsWorld, bus = "default"): Record<string, unknown>[] {
  const events = aws.eventsOnBus(bus).filter((e) => e["source"] === OUTCOME_SOURCE);
  const errors = events.flatMap(schemaErrors);
  if (errors.length > 0) throw new Error(`outcome events that do not match their schemas:\n${errors.join("\n")}`);
  return events;
}

/** The details of one detail-type's outcome events. */
export function outcomeDetails(aws: AwsWorld, detailType: OutcomeDetailType, bus = "default"): Record<string, unknown>[] {
  return outcomeEvents(aws, bus)
    .filter((e) => e["detail-type"] === detailType)
    .map((e) => e["detail"] as Record<string, unknown>);
}
