/**
 * The part of the capacity policy replacement reads: the fallback rules and the groups they name
 * (type and bounds, no windows). The interruption function gets it as CAPACITY_POLICY, small
 * enough for Lambda's 4 KB of environment beside its own policy.
 */
import type { CapacityPolicy, CapacityPolicyInput } from "../capacity/policy";

/** The fallback rules of a capacity policy and the groups they name; undefined when it has none. */
export function fallbackPolicyOf(policy: CapacityPolicy): CapacityPolicyInput | undefined {
  if (policy.fallbacks.length === 0) return undefined;
  const named = new Set(policy.fallbacks.flatMap((rule) => [rule.onDemandGroup, ...rule.spotGroups]));
  const groups = Object.fromEntries(
    Object.entries(policy.groups)
      .filter(([name]) => named.has(name))
      .map(([name, group]) => [name, { type: group.type, capacityType: group.capacityType, default: { min: group.default.min, max: group.default.max } }]),
  );
  return { groups, fallbacks: policy.fallbacks } as CapacityPolicyInput;
}
