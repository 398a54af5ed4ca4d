/**
 * The chaos harness: a fixed set of seeds plays through the real handler with no violation, and
 * the invariants do catch what they guard against when it happens.
 */
import { PROTECTIVE_TAINT_KEYS, parsePolicy, Recorder } from "@spot-manager/core";
import { emptySeed, findResource, nodeFixture, startKubeLocal, type KubeLocal, type ResourceType } from "@spot-manager/kube-local";
import { afterEach, describe, expect, it } from "vitest";
import { chaos } from "../src/chaos";
import { Invariants } from "../src/chaos/invariants";
import type { Emission } from "../src/chaos/schedule";
import { AwsWorld } from "../src/simulate/aws-world";
import { main } from "../src/main";

let kube: KubeLocal | undefined;
let aws: AwsWorld | undefined;
afterEach(async () => {
  aws?.restore();
  await kube?.stop();
  kube = undefined;
  aws = undefined;
});

const CI_SEEDS = { first: 101, runs: 5 };

describe("spot-manager chaos", () => {
  it("plays the CI seeds with no violation, exercising duplicates, faults and continuations", { timeout: 240_000 }, async () => {
    const seen: number[] = [];
    const summary = await chaos(CI_SEEDS.runs, CI_SEEDS.first, (run) => seen.push(run.seed), { parallel: 3 });
    expect(summary.violations).toEqual([]);
    expect(summary.runs).toBe(CI_SEEDS.runs);
    expect(seen.sort((a, b) => a - b)).toEqual([101, 102, 103, 104, 105]);
    expect(summary.figures.invocations).toBeGreaterThan(CI_SEEDS.runs * 3);
    expect(summary.figures.evictions).toBeGreaterThan(0);
    expect(summary.figures.maxInvocationsPerEvent).toBeLessThanOrEqual(4);
  });

  it("--json prints the runs and the violations", { timeout: 120_000 }, async () => {
    const lines: string[] = [];
    const log = console.log;
    console.log = (line: unknown) => void lines.push(String(line));
    try {
      expect(await main(["node", "spot-manager", "chaos", "--runs", "1", "--seed", "7", "--json"])).toBe(0);
    } finally {
      console.log = log;
    }
    expect(JSON.parse(lines.join("\n"))).toMatchObject({ runs: 1, violations: [] });
  });
});

describe("the invariants catch what they guard against", () => {
  const NODE = "ip-10-40-0-1.us-west-2.compute.internal";
  const INSTANCE = "i-0c0000000000000a1";
  const EVENT = "0b9c1a5e-2f3d-4c6b-8a7e-1d2c3b4a5f60";

  async function watched(emissions: Emission[]) {
    const seed = emptySeed();
    seed.nodes.push(nodeFixture({ name: NODE, instanceId: INSTANCE, zone: "us-west-2a", instanceType: "m6i.large", capacityType: "SPOT", nodegroup: "spot", internalIp: "10.40.0.1" }));
    seed.namespaces.push("shop");
    kube = await startKubeLocal({ tls: false, simulation: false, seed });
    aws = new AwsWorld();
    aws.addNodes(kube.list("nodes"), "chaos");
    const invariants = new Invariants(kube, aws, new Recorder(), Date.now, emissions, parsePolicy({}));
    return invariants;
  }
  /** Another writer changes the node, as a faulty drainer would. */
  const setNode = (mutate: (spec: Record<string, unknown>) => void) => {
    const nodes = findResource("", "v1", "nodes") as ResourceType;
    const node = kube!.registry.getStored(nodes, undefined, NODE);
    const spec = { ...(node["spec"] as Record<string, unknown>) };
    mutate(spec);
    kube!.registry.update(nodes, undefined, NODE, { ...node, spec });
  };

  it("an uncordon of a node carrying an interruption taint, and a taint for an event that does not apply", async () => {
    const spotKey = PROTECTIVE_TAINT_KEYS[0]!;
    const now = Date.now();
    const invariants = await watched([
      { at: now - 1000, instanceId: INSTANCE, body: {}, eventId: EVENT, kind: "EC2 Spot Instance Interruption Warning", copies: 1, drainWindow: [now - 1000, now + 120_000], deadline: now + 120_000 },
    ]);
    setNode((spec) => {
      spec["unschedulable"] = true;
      spec["taints"] = [{ key: spotKey, value: EVENT, effect: "NoSchedule" }];
    });
    expect(invariants.violations).toEqual([]);
    setNode((spec) => {
      delete spec["unschedulable"];
    });
    setNode((spec) => {
      spec["taints"] = [{ key: spotKey, value: "an-event-nobody-sent", effect: "NoSchedule" }];
    });
    expect(invariants.violations.map((v) => v.invariant)).toEqual(["never uncordon a node going away", "never untaint a node going away", "no action on an event that does not apply"]);
  });
});
