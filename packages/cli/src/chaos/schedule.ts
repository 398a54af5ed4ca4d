/**
 * A randomized schedule for one chaos run: what happens to each instance (its story: a spot
 * reclaim, a stop that may end in a restart, an Auto Scaling scale-in, a stop event that arrives
 * late, a rebalance recommendation, a maintenance), when each event is emitted and how (late,
 * duplicated), what EC2 reports and when, which API faults hit, and when the queue delivers.
 * The same seed gives the same schedule.
 */
import { syntheticEvent } from "@spot-manager/core";
import { Random } from "./random";

export const REGION = "us-west-2";
export const ACCOUNT = "123456789012";

export type Story = "spot-terminate" | "spot-stop" | "asg-scale-in" | "stopping" | "stale-stopping" | "rebalance" | "maintenance" | "late-warning";

/** One emitted event, with what the harness knows about whether it applies. */
export interface Emission {
  at: number;
  instanceId: string;
  body: Record<string, unknown>;
  eventId: string;
  kind: string;
  copies: number;
  /** While this event may move pods off the node: [from, until] (virtual ms); none when it does not apply. */
  drainWindow?: [number, number];
  /** The event's deadline: after it only the deadline policy may touch the node. */
  deadline?: number;
  /** A stop or hibernate interruption: once the instance runs again, its taint and cordon may come off. */
  restorable?: boolean;
}

export type Step =
  | { type: "emit"; at: number; emission: Emission }
  | { type: "ec2"; at: number; instanceId: string; state: string; launched?: boolean }
  | { type: "fault"; at: number; fault: FaultSpec }
  | { type: "deliver"; at: number; max: number; shortLimit: boolean }
  | { type: "malformed"; at: number };

export type FaultSpec =
  | { kind: "throttle-evictions"; times: number }
  | { kind: "node-patch-5xx"; times: number }
  | { kind: "drop"; times: number }
  | { kind: "slow-api"; ms: number; times: number }
  | { kind: "deny-pod"; pod: string }
  | { kind: "second-budget"; app: string };

export interface Schedule {
  seed: number;
  start: number;
  stories: Record<string, Story>;
  steps: Step[];
}

const SPOT_WARNING_MS = 120_000;

function emission(random: Random, at: number, instanceId: string, kind: Parameters<typeof syntheticEvent>[0], extra: Partial<Emission> = {}, time = at): Emission {
  const eventId = random.uuid();
  const options = { instanceId, now: new Date(time), region: REGION, account: ACCOUNT, id: eventId };
  const body =
    kind === "asg-terminate"
      ? syntheticEvent(kind, { ...options, lifecycle: { asgName: `spot-${instanceId.slice(-4)}`, hookName: "spot-manager-drain", token: random.uuid() } })
      : kind === "scheduled-change"
        ? syntheticEvent(kind, { ...options, maintenanceStart: new Date(at + 30 * 60_000) })
        : syntheticEvent(kind, options);
  const copies = random.chance(0.3) ? random.int(2, 3) : 1;
  return { at, instanceId, body, eventId, kind: String(body["detail-type"]), copies, ...extra };
}

/** Builds a schedule for the given spot instances (and one instance of another cluster). */
export function schedule(seed: number, instances: readonly string[], foreignInstance: string): Schedule {
  const random = new Random(seed);
  const start = Date.parse("2025-03-01T10:00:00Z") + random.int(0, 1_000_000) * 1000;
  const steps: Step[] = [];
  const stories: Record<string, Story> = {};
  const stories_: Story[] = ["spot-terminate", "spot-stop", "asg-scale-in", "stopping", "stale-stopping", "rebalance", "maintenance", "late-warning"];
  for (const instanceId of instances) {
    const story = random.pick(stories_);
    stories[instanceId] = story;
    const t0 = start + random.int(0, 40) * 1000;
    switch (story) {
      case "spot-terminate":
      case "spot-stop": {
        const e = emission(random, t0, instanceId, "spot-itn", { drainWindow: [t0, t0 + SPOT_WARNING_MS], deadline: t0 + SPOT_WARNING_MS, restorable: story === "spot-stop" });
        if (story === "spot-stop") (e.body["detail"] as Record<string, string>)["instance-action"] = random.chance(0.5) ? "stop" : "hibernate";
        steps.push({ type: "emit", at: t0, emission: e });
        if (story === "spot-terminate") {
          steps.push({ type: "ec2", at: t0 + SPOT_WARNING_MS, instanceId, state: "shutting-down" }, { type: "ec2", at: t0 + SPOT_WARNING_MS + 30_000, instanceId, state: "terminated" });
        } else {
          steps.push({ type: "ec2", at: t0 + SPOT_WARNING_MS, instanceId, state: "stopping" }, { type: "ec2", at: t0 + SPOT_WARNING_MS + 20_000, instanceId, state: "stopped" });
          if (random.chance(0.7)) steps.push({ type: "ec2", at: t0 + SPOT_WARNING_MS + random.int(60, 400) * 1000, instanceId, state: "running", launched: true });
        }
        break;
      }
      case "late-warning": {
        // a spot warning delivered long after its deadline, for an instance EC2 still runs: it no longer applies
        const emitted = t0 + random.int(6, 20) * 60_000;
        steps.push({ type: "emit", at: emitted, emission: emission(random, emitted, instanceId, "spot-itn", {}, t0) });
        break;
      }
      case "asg-scale-in": {
        const e = emission(random, t0, instanceId, "asg-terminate", { drainWindow: [t0, t0 + 900_000], deadline: t0 + 900_000 });
        steps.push({ type: "emit", at: t0, emission: e }, { type: "ec2", at: t0 + random.int(300, 900) * 1000, instanceId, state: "terminated" });
        break;
      }
      case "stopping": {
        steps.push({ type: "ec2", at: t0 - 500, instanceId, state: "stopping" });
        steps.push({ type: "emit", at: t0, emission: emission(random, t0, instanceId, "stopping", { drainWindow: [t0, t0 + 90_000], deadline: t0 + 90_000 }) });
        steps.push({ type: "ec2", at: t0 + 60_000, instanceId, state: "stopped" });
        break;
      }
      case "stale-stopping": {
        // the stop happened and the instance runs again; the event arrives eleven minutes late
        const emitted = t0 + 11 * 60_000;
        steps.push({ type: "emit", at: emitted, emission: emission(random, emitted, instanceId, "stopping", {}, t0) });
        break;
      }
      case "rebalance":
        steps.push({ type: "emit", at: t0, emission: emission(random, t0, instanceId, "rebalance") });
        if (random.chance(0.4)) {
          const t1 = t0 + random.int(30, 200) * 1000;
          steps.push({ type: "emit", at: t1, emission: emission(random, t1, instanceId, "spot-itn", { drainWindow: [t1, t1 + SPOT_WARNING_MS], deadline: t1 + SPOT_WARNING_MS }) });
        }
        break;
      case "maintenance": {
        const e = emission(random, t0, instanceId, "scheduled-change");
        const maintenanceStart = t0 + 30 * 60_000;
        // with the default lead of an hour the drain starts at once and must be over by the start
        steps.push({ type: "emit", at: t0, emission: { ...e, drainWindow: [t0, maintenanceStart + 60_000], deadline: maintenanceStart + 60_000 } });
        break;
      }
    }
  }
  // an instance of another cluster: acknowledged, never acted on
  const foreignAt = start + random.int(0, 60) * 1000;
  steps.push({ type: "emit", at: foreignAt, emission: emission(random, foreignAt, foreignInstance, "spot-itn") });
  if (random.chance(0.5)) steps.push({ type: "malformed", at: start + random.int(0, 60) * 1000 });
  // faults of the control plane
  const faultKinds: FaultSpec[] = [
    { kind: "throttle-evictions", times: random.int(2, 8) },
    { kind: "node-patch-5xx", times: random.int(1, 2) },
    { kind: "drop", times: random.int(1, 3) },
    { kind: "slow-api", ms: random.int(100, 600), times: random.int(1, 4) },
    { kind: "deny-pod", pod: "web-" },
    { kind: "second-budget", app: "api" },
  ];
  for (const fault of faultKinds) if (random.chance(0.35)) steps.push({ type: "fault", at: start + random.int(0, 120) * 1000, fault });
  // the queue delivers every few seconds for twenty minutes, then every minute for three hours (late follow-ups)
  for (let t = start; t < start + 20 * 60_000; t += random.int(3, 25) * 1000) steps.push({ type: "deliver", at: t, max: random.int(1, 8), shortLimit: random.chance(0.25) });
  for (let t = start + 20 * 60_000; t < start + 3 * 3600_000; t += 5 * 60_000) steps.push({ type: "deliver", at: t, max: 20, shortLimit: false });
  steps.sort((a, b) => a.at - b.at);
  return { seed, start, stories, steps };
}
