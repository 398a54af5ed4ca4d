/**
 * The README's rule for a team's queue of incomplete drains, held to what the interruption
 * function publishes: it matches a Drain Finished that left a pod, and not one that left none.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { fixture } from "../fixtures";
import { createWorld, type World } from "../interruption/world";
import { matchesPattern } from "../stacks/event-pattern";
import { outcomeEvents } from "./schemas";

/** The JSON block after the README's `<!-- outcome-rule: incomplete drains -->` marker. */
function readmeRule(): Record<string, never> {
  const readme = readFileSync(join(import.meta.dirname, "../../README.md"), "utf8");
  const marker = readme.indexOf("<!-- outcome-rule: incomplete drains -->");
  expect(marker).toBeGreaterThan(0);
  const block = /```json\n([\s\S]*?)\n```/.exec(readme.slice(marker));
  return JSON.parse(block?.[1] ?? "null") as Record<string, never>;
}

let worlds: World[] = [];
afterEach(async () => {
  await Promise.all(worlds.map((w) => w.stop()));
  worlds = [];
});

/** The Drain Finished the function publishes for the sample warning, with or without a pod no eviction moves. */
async function drainFinished(podLeft: boolean): Promise<Record<string, unknown>> {
  const world = await createWorld();
  worlds.push(world);
  if (podLeft) {
    world.kube.faults.add({ match: { resource: "pods/eviction", path: "/pods/debug-shell/" }, effect: { kind: "status", code: 400, message: 'admission webhook "no-evict.example.com" denied the request' } });
  }
  await world.invoke(world.sqs(fixture("spotInterruption")), 60_000);
  const events = outcomeEvents(world.aws).filter((e) => e["detail-type"] === "Drain Finished");
  expect(events).toHaveLength(1);
  return events[0]!;
}

describe("the README's rule for incomplete drains", () => {
  it("matches the Drain Finished of a drain that left a pod, and not of one that left none; nor any other outcome event", async () => {
    const rule = readmeRule();
    const incomplete = await drainFinished(true);
    const complete = await drainFinished(false);
    expect(incomplete["detail"]).toMatchObject({ complete: false });
    expect(complete["detail"]).toMatchObject({ complete: true });
    expect(matchesPattern(rule, incomplete)).toBe(true);
    expect(matchesPattern(rule, complete)).toBe(false);
    const others = worlds.flatMap((w) => outcomeEvents(w.aws)).filter((e) => e["detail-type"] !== "Drain Finished");
    expect(others.length).toBeGreaterThan(0);
    expect(others.filter((e) => matchesPattern(rule, e))).toEqual([]);
  });
});
