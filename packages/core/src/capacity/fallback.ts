/**
 * The spot fallback, one rule at a time: how healthy the spot groups are, and what the on-demand
 * group's extra floor becomes. Pure: (rule, memory, health, now) -> next memory and extra.
 *
 * - Spot is unhealthy (a trigger) when it has been short (desired above in service) for
 *   `shortfallMinutes`, when a launch failed for lack of capacity within the failure window, or
 *   when interruptions within their window exceed the threshold.
 * - A trigger starts a fallback, or raises an active one: extra = max(shortfall, minExtra),
 *   never above maxExtra. An active fallback never goes down while spot is not healthy.
 * - Spot is healthy when nothing is short, nothing failed and interruptions are within the
 *   threshold. After `healthyMinutes` of that, the extra comes down `stepDown` at a time every
 *   `stepDownEveryMinutes`; at 0 the fallback ends. Any unhealthy observation restarts the wait.
 */
import type { FallbackMemory } from "./memory";
import type { FallbackRule } from "./policy";
import type { ObservedGroup } from "./state";
import { MINUTE_MS } from "./zone";

export interface SpotHealth {
  /** Instances the spot groups lack (desired above in service), summed. */
  missing: number;
  /** Failed scaling activities that name a capacity reason, within the window. */
  capacityFailures: number;
  /** The reasons those failures named. */
  failureReasons: string[];
  interruptions: number;
  /** Per group, for reasons: `spot-general 4/6 in service`. */
  detail: string;
}

export type FallbackPhase = "idle" | "pending" | "started" | "active" | "waiting" | "stepping-down" | "ended" | "held";

export interface FallbackDecision {
  memory: FallbackMemory;
  /** Instances the on-demand group holds above its schedule. */
  extra: number;
  phase: FallbackPhase;
  transition?: "start" | "end";
  reason: string;
}

/** Spot health of a rule's groups; every group must have its signals read. */
export function spotHealth(rule: FallbackRule, groups: readonly [string, ObservedGroup][], now: number): SpotHealth {
  const since = now - rule.capacityFailures.windowMinutes * MINUTE_MS;
  let missing = 0;
  let capacityFailures = 0;
  let interruptions = 0;
  const failureReasons = new Set<string>();
  for (const [, group] of groups) {
    missing += Math.max(0, group.desired - group.inService);
    interruptions += group.interruptions ?? 0;
    for (const activity of group.activities ?? []) {
      if (activity.status !== "Failed" || activity.start.getTime() < since || activity.start.getTime() > now) continue;
      const message = (activity.message ?? "").toLowerCase();
      const reason = rule.capacityFailures.reasons.find((r) => message.includes(r.toLowerCase()));
      if (reason === undefined) continue;
      capacityFailures += 1;
      failureReasons.add(reason);
    }
  }
  const detail = groups.map(([name, g]) => `${name} ${g.inService}/${g.desired} in service`).join(", ");
  return { missing, capacityFailures, failureReasons: [...failureReasons], interruptions, detail };
}

const minutesBetween = (from: Date, now: number) => Math.floor((now - from.getTime()) / MINUTE_MS);

/** What the rule does now, given what it remembered and what spot looks like. */
export function decideFallback(rule: FallbackRule, memory: FallbackMemory, health: SpotHealth, now: number): FallbackDecision {
  const at = new Date(now);
  const shortfallSince = health.missing > 0 ? (memory.shortfallSince ?? at) : undefined;
  const triggers: string[] = [];
  if (shortfallSince && now - shortfallSince.getTime() >= rule.shortfallMinutes * MINUTE_MS) {
    triggers.push(`spot short by ${health.missing} for ${minutesBetween(shortfallSince, now)} min (${health.detail})`);
  }
  if (health.capacityFailures > 0) {
    triggers.push(`${health.capacityFailures} ${health.capacityFailures === 1 ? "launch" : "launches"} failed for capacity in the last ${rule.capacityFailures.windowMinutes} min (${health.failureReasons.join(", ")})`);
  }
  if (rule.interruptions.enabled && health.interruptions > rule.interruptions.threshold) {
    triggers.push(`${health.interruptions} spot interruptions in the last ${rule.interruptions.windowMinutes} min (threshold ${rule.interruptions.threshold})`);
  }
  const healthy = health.missing === 0 && health.capacityFailures === 0 && !(rule.interruptions.enabled && health.interruptions > rule.interruptions.threshold);
  const need = Math.min(rule.maxExtra, Math.max(health.missing, rule.minExtra));
  const shortfall = shortfallSince ? { shortfallSince } : {};

  if (!memory.since) {
    if (triggers.length > 0) {
      return {
        memory: { since: at, extra: need, ...shortfall },
        extra: need,
        phase: "started",
        transition: "start",
        reason: `spot fallback started: ${triggers.join("; ")}; on-demand floor +${need} (at most +${rule.maxExtra})`,
      };
    }
    if (shortfallSince) {
      return {
        memory: { extra: 0, ...shortfall },
        extra: 0,
        phase: "pending",
        reason: `spot short by ${health.missing} for ${minutesBetween(shortfallSince, now)} min (${health.detail}); fallback after ${rule.shortfallMinutes} min`,
      };
    }
    return { memory: { extra: 0 }, extra: 0, phase: "idle", reason: `spot healthy (${health.detail})` };
  }

  const since = memory.since;
  const current = Math.min(memory.extra, rule.maxExtra);
  const kept = { since, ...shortfall, ...(memory.lastStepDown ? { lastStepDown: memory.lastStepDown } : {}) };
  if (!healthy) {
    const extra = triggers.length > 0 ? Math.max(current, need) : current;
    const why = triggers.length > 0 ? triggers.join("; ") : `spot not healthy yet (${health.detail})`;
    return {
      memory: { ...kept, extra },
      extra,
      phase: "active",
      reason: extra > current ? `spot fallback raised: ${why}; on-demand floor +${current} -> +${extra}` : `spot fallback holds +${extra}: ${why}`,
    };
  }

  const healthySince = memory.healthySince ?? at;
  const healthyMs = now - healthySince.getTime();
  const waited = healthyMs >= rule.healthyMinutes * MINUTE_MS;
  const lastStep = memory.lastStepDown;
  const stepDue = !lastStep || lastStep.getTime() < healthySince.getTime() || now - lastStep.getTime() >= rule.stepDownEveryMinutes * MINUTE_MS;
  if (!waited || !stepDue) {
    const reason = !waited
      ? `spot healthy for ${minutesBetween(healthySince, now)} of ${rule.healthyMinutes} min; on-demand floor stays +${current}`
      : `spot healthy; on-demand floor +${current}, next step down ${rule.stepDownEveryMinutes} min after the last`;
    return { memory: { ...kept, extra: current, healthySince }, extra: current, phase: "waiting", reason };
  }
  const extra = Math.max(0, current - rule.stepDown);
  if (extra === 0) {
    return {
      memory: { extra: 0 },
      extra: 0,
      phase: "ended",
      transition: "end",
      reason: `spot healthy for ${minutesBetween(healthySince, now)} min: fallback over, on-demand back to its schedule`,
    };
  }
  return {
    memory: { ...kept, extra, healthySince, lastStepDown: at },
    extra,
    phase: "stepping-down",
    reason: `spot healthy for ${minutesBetween(healthySince, now)} min: on-demand floor +${current} -> +${extra} (${rule.stepDown} every ${rule.stepDownEveryMinutes} min)`,
  };
}

/** Keeps the remembered extra while the rule cannot be evaluated (a spot group could not be read). */
export function holdFallback(rule: FallbackRule, memory: FallbackMemory, why: string): FallbackDecision {
  const extra = memory.since ? Math.min(memory.extra, rule.maxExtra) : 0;
  return { memory, extra, phase: "held", reason: `spot fallback held at +${extra}: ${why}` };
}
