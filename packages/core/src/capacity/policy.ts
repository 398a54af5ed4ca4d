/**
 * The capacity policy of a stage: per group, bounds by schedule window (cron in a named time
 * zone), and spot-fallback rules that link spot groups to an on-demand group. Validated with zod:
 * a bad value fails with the field named.
 */
import * as z from "zod";
import { ConfigError } from "../errors";
import { describeZodIssues } from "../zod-issues";
import { strictObject } from "../strict-object";
import { DEFAULT_CAPACITY_FAILURE_REASONS, DEFAULT_SHORTFALL_MINUTES } from "./constants";
import { parseCron } from "./cron";
import { isTimeZone } from "./zone";

/** EKS node group names (1-63) and Auto Scaling group names (1-255) as this manager accepts them. */
const groupName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/, "must be a node group or Auto Scaling group name (letters, digits, . _ -)");
const windowName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, "must use letters, digits, . _ - (at most 63)");
const timeZone = z.string().refine(isTimeZone, { message: "must be an IANA time zone such as Europe/Berlin or UTC" });
const cron = z.string().superRefine((value, ctx) => {
  try {
    parseCron(value);
  } catch (error) {
    ctx.addIssue({ code: "custom", message: (error as Error).message, input: value });
  }
});
const size = z.number().int().min(0).max(10_000);
const minutes = (min: number, max: number, fallback: number) => z.number().int().min(min).max(max).default(fallback);

const boundsShape = { min: size, max: size };

function checkBounds(bounds: { min: number; max: number; desired?: number | undefined }, ctx: z.RefinementCtx): void {
  if (bounds.min > bounds.max) ctx.addIssue({ code: "custom", path: ["min"], message: `must be <= max (${bounds.max})`, input: bounds.min });
  if (bounds.desired !== undefined && (bounds.desired < bounds.min || bounds.desired > bounds.max)) {
    ctx.addIssue({ code: "custom", path: ["desired"], message: `must be within min..max (${bounds.min}..${bounds.max})`, input: bounds.desired });
  }
}

/** Why a group's `default` takes no desired (kept as a message: older policies had one). */
const DEFAULT_DESIRED_RETIRED =
  "when no window is open desired belongs to the autoscalers and is only moved into min..max; a window's desired is the floor it raises desired to when it opens (remove it)";

/** A group's bounds while no window is open: min and max only. */
export const boundsSchema = strictObject(boundsShape, { desired: DEFAULT_DESIRED_RETIRED }).superRefine(checkBounds);

export const windowSchema = strictObject({
  name: windowName,
  /** Opens the window (5-field cron on the wall clock of the time zone). */
  start: cron,
  /** Closes it. The window is open while its last start is later than its last end. */
  end: cron,
  /** Defaults to the group's, then the policy's time zone. */
  timeZone: timeZone.optional(),
  /** Overlapping windows: the highest priority wins, then the one opened last, then the one listed first. */
  priority: z.number().int().min(-1000).max(1000).default(0),
  ...boundsShape,
  /**
   * A floor for desired when the window opens: desired is raised to at least this, once per
   * opening, never lowered; from there the autoscalers move it within min..max.
   */
  desired: size.optional(),
}).superRefine(checkBounds);

export const groupSchema = strictObject({
  /** An EKS managed node group (eks:UpdateNodegroupConfig) or a self-managed Auto Scaling group. */
  type: z.enum(["managed-node-group", "auto-scaling-group"]),
  capacityType: z.enum(["spot", "on-demand"]),
  timeZone: timeZone.optional(),
  /** Bounds while no window is open. */
  default: boundsSchema,
  windows: z.array(windowSchema).default([]),
}).superRefine((group, ctx) => {
  const seen = new Set<string>();
  group.windows.forEach((window, index) => {
    if (seen.has(window.name)) ctx.addIssue({ code: "custom", path: ["windows", index, "name"], message: "is used by another window of this group", input: window.name });
    seen.add(window.name);
  });
});

export const fallbackSchema = strictObject({
  /** The group that covers for spot; its floor (min) is raised while spot is short. */
  onDemandGroup: groupName,
  /** The spot groups it covers for; their shortfalls add up. */
  spotGroups: z.array(groupName).min(1),
  /** The most instances the fallback adds above the on-demand group's schedule. */
  maxExtra: z.number().int().min(1).max(1000),
  /** What a fallback adds at least (when spot fails without a countable shortfall). */
  minExtra: z.number().int().min(1).max(1000).default(1),
  /**
   * Desired above in service for this long counts as a shortfall. Keep it, plus the run interval,
   * below cluster-autoscaler's max-node-provision-time: CA gives up on a node that did not come
   * in that time and lowers desired again, which erases the shortfall.
   */
  shortfallMinutes: minutes(0, 1440, DEFAULT_SHORTFALL_MINUTES),
  /** Failed scaling activities whose message names one of these reasons start a fallback at once. */
  capacityFailures: strictObject({
    windowMinutes: minutes(1, 1440, 15),
    reasons: z.array(z.string().min(1)).min(1).default([...DEFAULT_CAPACITY_FAILURE_REASONS]),
  }).prefault({}),
  /** More spot interruptions than `threshold` within the window start a fallback at once. */
  interruptions: strictObject({
    enabled: z.boolean().default(true),
    threshold: z.number().int().min(0).max(100_000).default(5),
    windowMinutes: minutes(1, 1440, 30),
  }).prefault({}),
  /** Spot must be healthy this long before the on-demand floor comes down. */
  healthyMinutes: minutes(0, 1440, 30),
  /** The floor comes down this many instances at a time ... */
  stepDown: z.number().int().min(1).max(1000).default(1),
  /** ... this often. */
  stepDownEveryMinutes: minutes(1, 1440, 10),
}).superRefine((rule, ctx) => {
  if (rule.minExtra > rule.maxExtra) ctx.addIssue({ code: "custom", path: ["minExtra"], message: `must be <= maxExtra (${rule.maxExtra})`, input: rule.minExtra });
  const seen = new Set<string>();
  rule.spotGroups.forEach((name, index) => {
    if (seen.has(name)) ctx.addIssue({ code: "custom", path: ["spotGroups", index], message: "is listed twice", input: name });
    seen.add(name);
  });
});

export const capacityPolicySchema = strictObject({
  /** The time zone windows use unless they or their group name one. */
  timeZone: timeZone.default("UTC"),
  /** By node group name (managed) or Auto Scaling group name (self-managed). */
  groups: z.record(groupName, groupSchema),
  fallbacks: z.array(fallbackSchema).default([]),
}).superRefine((policy, ctx) => {
  const roles = new Map<string, string>();
  policy.fallbacks.forEach((rule, index) => {
    const check = (name: string, path: (string | number)[], wanted: "spot" | "on-demand") => {
      const group = policy.groups[name];
      if (!group) ctx.addIssue({ code: "custom", path: ["fallbacks", index, ...path], message: "is not one of the groups", input: name });
      else if (group.capacityType !== wanted) ctx.addIssue({ code: "custom", path: ["fallbacks", index, ...path], message: `must be ${wanted === "spot" ? "a spot" : "an on-demand"} group`, input: name });
      const role = roles.get(name);
      if (role) ctx.addIssue({ code: "custom", path: ["fallbacks", index, ...path], message: `is already ${role}`, input: name });
      roles.set(name, `in fallbacks[${index}]`);
    };
    check(rule.onDemandGroup, ["onDemandGroup"], "on-demand");
    rule.spotGroups.forEach((name, i) => check(name, ["spotGroups", i], "spot"));
  });
});

export type CapacityPolicy = z.output<typeof capacityPolicySchema>;
export type CapacityPolicyInput = z.input<typeof capacityPolicySchema>;
export type GroupPolicy = z.output<typeof groupSchema>;
export type WindowPolicy = z.output<typeof windowSchema>;
export type FallbackRule = z.output<typeof fallbackSchema>;
/** Bounds of a schedule entry: a window may carry a desired floor, the default never does. */
export type Bounds = z.output<typeof boundsSchema> & { desired?: number };
export type GroupType = GroupPolicy["type"];

/** Validates a capacity policy, filling defaults; throws ConfigError naming each bad field and its value. */
export function parseCapacityPolicy(input: unknown, prefix = "capacityPolicy"): CapacityPolicy {
  const result = capacityPolicySchema.safeParse(input, { reportInput: true });
  if (!result.success) throw new ConfigError(`invalid ${prefix}: ${describeZodIssues(result.error, prefix)}`);
  return result.data;
}
