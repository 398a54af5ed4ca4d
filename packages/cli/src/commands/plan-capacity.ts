import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { ConfigError, InvalidSnapshotError, parseCapacityPolicy, parseSnapshot, planCapacity, type CapacityAction, type CapacityPlan, type CapacityPolicy, type Snapshot } from "@spot-manager/core";
import { CommandFailedError, UsageError } from "../options";

interface PlanCapacityFlags {
  config: string;
  state: string;
  at?: string;
  json?: boolean;
}

async function readJson(file: string, flag: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new UsageError(`${flag} ${file}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${flag} ${file} is not JSON: ${(error as Error).message}`);
  }
}

const show = (value: CapacityAction["from"]) => (typeof value === "number" ? String(value) : JSON.stringify(value));

/** The plan as JSON: actions as {group, kind, from, to, reason}, then what could not be planned. */
export function planAsJson(plan: CapacityPlan): Record<string, unknown> {
  return {
    at: plan.at.toISOString(),
    actions: plan.actions.map(({ group, kind, from, to, reason }) => ({ group, kind, from, to, reason })),
    failures: plan.failures,
    // due for publication: the function publishes these once the on-demand group's change went through
    transitions: plan.transitions.map(({ phase, onDemandGroup, spotGroups, extra, since, reason }) => ({ phase, onDemandGroup, spotGroups, extra, since: since.toISOString(), reason })),
    groups: plan.groups.map((g) => ({
      group: g.group,
      type: g.type,
      capacityType: g.capacityType,
      schedule: g.schedule.entry,
      observed: g.observed,
      target: g.target,
      ...(g.fallback ? { fallback: { role: g.fallback.role, onDemandGroup: g.fallback.onDemandGroup, phase: g.fallback.phase, extra: g.fallback.extra } } : {}),
      ...(g.busy ? { busy: g.busy } : {}),
    })),
  };
}

function planAsText(plan: CapacityPlan): string {
  const lines = [`capacity plan at ${plan.at.toISOString()}`];
  for (const group of plan.groups) {
    const { observed: o, target: t } = group;
    const f = group.fallback;
    const fallback = !f ? "" : f.role === "on-demand" ? `, fallback ${f.phase} +${f.extra}` : `, fallback to ${f.onDemandGroup} ${f.phase}`;
    lines.push(`${group.group} (${group.capacityType}, ${group.schedule.entry}${fallback}): min/max/desired ${o.min}/${o.max}/${o.desired} -> ${t.min}/${t.max}/${t.desired}, ${o.inService} in service`);
    if (group.busy) lines.push(`  left alone: ${group.busy}`);
    const actions = plan.actions.filter((a) => a.group === group.group);
    if (actions.length === 0 && !group.busy) lines.push("  no change");
    for (const action of actions) lines.push(`  ${action.kind} ${show(action.from)} -> ${show(action.to)}: ${action.reason}`);
  }
  for (const transition of plan.transitions) {
    lines.push(`fallback ${transition.phase}: ${transition.onDemandGroup} for ${transition.spotGroups.join(", ")} (since ${transition.since.toISOString()}), to be published`);
  }
  for (const failure of plan.failures) lines.push(`FAILED ${failure.group}: ${failure.error}`);
  return lines.join("\n");
}

/** `spot-manager plan-capacity`: the capacity planner, offline, on a JSON snapshot of node-group state. */
export function registerPlanCapacity(program: Command): void {
  program
    .command("plan-capacity")
    .description("Run the capacity planner offline on a node-group state snapshot and print the actions with their reasons")
    .requiredOption("--config <file>", "capacity policy (JSON, as in CAPACITY_POLICY)")
    .requiredOption("--state <file>", "node-group state snapshot (JSON)")
    .option("--at <iso-8601>", "plan as of this time (default: the snapshot's observedAt, else now)")
    .option("--json", "print the plan as JSON")
    .action(async (flags: PlanCapacityFlags) => {
      const at = flags.at === undefined ? undefined : new Date(flags.at);
      if (at && (Number.isNaN(at.getTime()) || !/^\d{4}-\d{2}-\d{2}T/.test(flags.at ?? ""))) throw new UsageError(`--at must be an ISO 8601 time such as 2024-05-14T18:30:00Z, got "${flags.at}"`);
      let policy: CapacityPolicy;
      let snapshot: Snapshot;
      try {
        policy = parseCapacityPolicy(await readJson(flags.config, "--config"), "config");
        snapshot = parseSnapshot(await readJson(flags.state, "--state"));
      } catch (error) {
        if (error instanceof ConfigError || error instanceof InvalidSnapshotError) throw new UsageError(error.message);
        throw error;
      }
      const plan = planCapacity(policy, snapshot.state, at ?? snapshot.observedAt ?? new Date());
      console.log(flags.json ? JSON.stringify(planAsJson(plan), null, 2) : planAsText(plan));
      if (plan.failures.length > 0) throw new CommandFailedError(`${plan.failures.length} group(s) could not be planned: ${plan.failures.map((f) => f.group).join(", ")}`);
    });
}
