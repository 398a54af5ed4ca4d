/**
 * The simulation's scenarios: real EventBridge samples (test/fixtures/events) played against the
 * demo cluster through the real interruption handler, with AWS faked in memory.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { KubeLocal } from "@spot-manager/kube-local";

export const FIXTURES = fileURLToPath(new URL("../../../../test/fixtures/events/", import.meta.url));

export function sample(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(`${FIXTURES}${file}`, "utf8")) as Record<string, unknown>;
}

/** A copy of a sample for another instance (and event id), as AWS would send for it. */
export function sampleFor(file: string, instanceId: string, eventId: string): Record<string, unknown> {
  const event = sample(file);
  event["id"] = eventId;
  const detail = event["detail"] as Record<string, unknown>;
  if ("instance-id" in detail) detail["instance-id"] = instanceId;
  if ("EC2InstanceId" in detail) detail["EC2InstanceId"] = instanceId;
  return event;
}

export interface ScenarioStep {
  /** Simulated ms after the scenario's origin when the batch is delivered. */
  at: number;
  /** Bodies delivered as one SQS batch. */
  batch: Record<string, unknown>[];
  /** Also deliver follow-ups that are due by then. */
  deliverFollowUps?: boolean;
  label: string;
}

export interface Scenario {
  name: string;
  description: string;
  /** The simulated clock starts here (the first sample's time). */
  origin: string;
  steps: ScenarioStep[];
  /** Prepares the cluster (faults, for instance) before the first step. */
  prepare?(kube: KubeLocal): void;
}

const SPOT_NODES = [
  { instanceId: "i-1234567890abcdef0", eventId: "3f4c2e8a-9d1b-4b6e-8f0a-2c7d5e1b9a34" },
  { instanceId: "i-0b2c3d4e5f6a70022", eventId: "5d1a7c3e-2b4f-4e6a-9c8d-0f1e2d3c4b01" },
  { instanceId: "i-0c3d4e5f6a7b80023", eventId: "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c02" },
];

export const SCENARIOS: Scenario[] = [
  {
    name: "spot-interruption",
    description: "one spot interruption warning: taint, cordon, drain before the two minutes run out",
    origin: "2024-05-14T18:21:08Z",
    steps: [{ at: 0, batch: [sample("spot-interruption-warning.json")], label: "EC2 Spot Instance Interruption Warning" }],
  },
  {
    name: "rebalance-then-interruption",
    description: "a rebalance recommendation, then the interruption eleven minutes later; the taint removal is called off",
    origin: "2024-05-14T18:09:43Z",
    steps: [
      { at: 0, batch: [sample("rebalance-recommendation.json")], label: "EC2 Instance Rebalance Recommendation" },
      { at: 685_000, batch: [sample("spot-interruption-warning.json")], label: "EC2 Spot Instance Interruption Warning" },
      { at: 900_000, batch: [], deliverFollowUps: true, label: "follow-up: remove the rebalance taint" },
    ],
  },
  {
    name: "asg-scale-in",
    description: "an Auto Scaling scale-in with a terminate lifecycle hook: drain with heartbeats, then CONTINUE",
    origin: "2024-05-14T18:23:12Z",
    steps: [{ at: 0, batch: [sample("asg-terminate-lifecycle-action.json")], label: "EC2 Instance-terminate Lifecycle Action" }],
  },
  {
    name: "mass-reclaim",
    description: "every spot node reclaimed at once: the spot-only workloads have nowhere to go, PodDisruptionBudgets hold",
    origin: "2024-05-14T18:21:08Z",
    steps: [
      {
        at: 0,
        batch: SPOT_NODES.map((n) => sampleFor("spot-interruption-warning.json", n.instanceId, n.eventId)),
        label: "3 x EC2 Spot Instance Interruption Warning in one batch",
      },
    ],
  },
  {
    name: "api-faults",
    description: "a spot interruption while the Kubernetes API throttles, fails and drops connections",
    origin: "2024-05-14T18:21:08Z",
    prepare(kube) {
      kube.faults.add({ match: { verb: "patch", resource: "nodes" }, effect: { kind: "status", code: 503 }, times: 2 });
      kube.faults.add({ match: { resource: "pods/eviction" }, effect: { kind: "status", code: 429, retryAfterSeconds: 1 }, times: 4 });
      kube.faults.add({ match: { resource: "pods/eviction" }, effect: { kind: "drop" }, times: 2 });
      kube.faults.add({ match: { verb: "list", resource: "pods" }, effect: { kind: "status", code: 500 }, times: 2 });
      // real milliseconds: at the default time scale 2 ms is 40 ms of simulated API latency
      kube.faults.add({ match: { path: "/api/" }, effect: { kind: "latency", ms: 2 } });
    },
    steps: [{ at: 0, batch: [sample("spot-interruption-warning.json")], label: "EC2 Spot Instance Interruption Warning (with API faults)" }],
  },
];

/**
 * Played by ./replacement.ts, not by runScenario: the same reclaim twice (cluster-autoscaler only,
 * then replacement capacity at the warning) on models of the groups, EC2 and cluster-autoscaler.
 */
SCENARIOS.push({
  name: "replacement",
  description: "one spot node of a full group reclaimed, played twice: cluster-autoscaler only, then replacement capacity at the warning; pending pod-seconds compared",
  origin: "2024-05-14T18:21:08Z",
  steps: [{ at: 0, batch: [sample("spot-interruption-warning.json")], label: "EC2 Spot Instance Interruption Warning" }],
});

export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
