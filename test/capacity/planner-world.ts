/**
 * Helpers for capacity planner tests: observed groups with sensible defaults, and a plan applied
 * to a state the way AWS would take it (tags set and removed, min/max/desired set), so tests can
 * run the planner tick after tick.
 */
import type { CapacityPlan, ObservedGroup, ObservedState } from "@spot-manager/core";

/** A group in service at its desired size, with no memory and no spot trouble. */
export function observed(sizes: { min: number; max: number; desired: number }, extra: Partial<ObservedGroup> = {}): ObservedGroup {
  return { ...sizes, inService: sizes.desired, tags: {}, activities: [], interruptions: 0, ...extra };
}

export function cloneState(state: ObservedState): ObservedState {
  return structuredClone(state);
}

/**
 * The state after every action of the plan went through and its fallback transitions were
 * published and recorded, as a run that met no failure leaves it (and, if asked, instances
 * launched or went to match desired).
 */
export function applyPlan(state: ObservedState, plan: CapacityPlan, options: { instancesFollow?: boolean } = {}): ObservedState {
  const next = cloneState(state);
  for (const action of [...plan.actions, ...plan.transitions.map((t) => t.record)]) {
    const group = next.groups[action.group];
    if (!group) throw new Error(`plan touches ${action.group}, which is not in the state`);
    if (action.kind === "tags") {
      for (const key of Object.keys(action.from)) if (!(key in action.to)) delete group.tags[key];
      Object.assign(group.tags, action.to);
    } else {
      group[action.kind] = action.to;
      if (action.kind === "desired" && options.instancesFollow) group.inService = action.to;
    }
  }
  return next;
}

export const minutes = (n: number) => n * 60_000;
