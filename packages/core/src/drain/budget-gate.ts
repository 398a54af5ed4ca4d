/**
 * Paces evictions a PodDisruptionBudget refuses. Pods of one controller carry the same labels, so
 * the same budgets cover them: once a budget refuses one of them, the others stop asking on their
 * own timers. They take turns instead, one eviction request at a time, each after the group's
 * backoff; an eviction that goes through lets the next pod ask at once. Every drain of a function container shares one gate, so in a mass reclaim the pods of one
 * Deployment on fifty nodes cost one refused request per backoff, not fifty.
 *
 * Until a budget refuses a pod of a group its evictions run side by side, as they always did. A
 * group nobody was refused for in `quietMs` goes back to that.
 */
import { KeyedMutex } from "../concurrency";
import type { Pod } from "../kube/types";

interface GroupState {
  /** No request for the group before this (epoch ms). */
  until: number;
  /** Refusals since the last eviction that went through (drives the backoff). */
  refusals: number;
  lastRefusalAt: number;
}

export class BudgetGate {
  private readonly turns = new KeyedMutex();
  private readonly groups = new Map<string, GroupState>();

  constructor(private readonly quietMs = 60_000) {}

  /** Whether pods of the group take turns (a budget refused one of them lately). */
  paced(group: string, now: number): boolean {
    const state = this.groups.get(group);
    if (state && now - state.lastRefusalAt > this.quietMs) this.groups.delete(group);
    return this.groups.has(group);
  }

  /**
   * Runs one eviction request for a pod of `group`: at once while the group is not paced; else in
   * its turn, after the group's backoff. Undefined when the deadline came first (nothing was sent).
   */
  async request<T>(group: string, deadline: number, clock: { now: () => number; sleep: (ms: number) => Promise<void> }, send: () => Promise<T>): Promise<T | undefined> {
    if (!this.paced(group, clock.now())) return send();
    return this.turns.run(group, async () => {
      // a backoff that ends past the deadline is waited out to the deadline all the same: the
      // budget may still let the pod go, and a drain never gives up before its time
      const wait = Math.min(this.groups.get(group)?.until ?? 0, deadline) - clock.now();
      if (wait > 0) await clock.sleep(wait);
      if (clock.now() >= deadline) return undefined;
      return send();
    });
  }

  /** A budget refused a pod of the group: no request for it for `backoff(refusals)` ms; returns the wait. */
  refused(group: string, now: number, backoff: (refusals: number) => number): number {
    const state = this.groups.get(group) ?? { until: 0, refusals: 0, lastRefusalAt: now };
    state.lastRefusalAt = now;
    this.groups.set(group, state);
    // refusals of requests sent side by side before the gate closed count as one round
    if (now < state.until) return state.until - now;
    state.refusals += 1;
    const delay = backoff(state.refusals);
    state.until = now + delay;
    return delay;
  }

  /**
   * An eviction of the group went through: the next pod asks at once, and the backoff after the
   * next refusal is one step shorter (not back at its floor: a budget that lets one pod go at a
   * time, as replacements turn Ready, would otherwise be asked again within a second each time).
   */
  passed(group: string): void {
    const state = this.groups.get(group);
    if (!state) return;
    state.refusals = Math.max(0, state.refusals - 1);
    state.until = 0;
  }
}

/** The pods one budget decision covers alike: the pod's controller, or the pod alone. */
export function budgetGroupOf(pod: Pod): string {
  const namespace = pod.metadata?.namespace ?? "";
  const controller = pod.metadata?.ownerReferences?.find((o) => o.controller);
  return controller ? `${namespace}/${controller.kind}/${controller.uid}` : `${namespace}/pod/${pod.metadata?.uid ?? pod.metadata?.name ?? ""}`;
}
