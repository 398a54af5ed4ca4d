/** The EventBridge samples (copied from the shared fixture set; see fixtures/events/README.md), cloned per use. */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const FIXTURE_DIR = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "events");

export const FIXTURES = {
  spotInterruption: "spot-interruption-warning.json",
  rebalance: "rebalance-recommendation.json",
  asgTerminate: "asg-terminate-lifecycle-action.json",
  asgLaunch: "asg-launch-lifecycle-action.json",
  stateShuttingDown: "instance-state-change-shutting-down.json",
  stateStopping: "instance-state-change-stopping.json",
  stateTerminated: "instance-state-change-terminated.json",
  healthScheduledChange: "health-scheduled-change.json",
  codebuildStateChange: "codebuild-build-state-change.json",
  sqsRecord: "sqs-record-wrapping-spot-warning.json",
} as const;

export type FixtureName = keyof typeof FIXTURES;

const cache = new Map<string, string>();

/** A fresh copy of a fixture: tests may mutate what they get. */
export function fixture<T = Record<string, unknown>>(name: FixtureName): T {
  const file = FIXTURES[name];
  let text = cache.get(file);
  if (text === undefined) {
    text = readFileSync(join(FIXTURE_DIR, file), "utf8");
    cache.set(file, text);
  }
  return JSON.parse(text) as T;
}
