/**
 * What the planner sees of each group: its bounds, what is in service, the manager's memory
 * (tags), and for spot groups the signals of spot health. The function reads it from AWS; the
 * `plan-capacity` command reads the same shape from a JSON snapshot.
 */
import * as z from "zod";
import { strictObject } from "../strict-object";
import { describeZodIssues } from "../zod-issues";
import { InvalidSnapshotError } from "./errors";

/** One Auto Scaling scaling activity, as far as spot health needs it. */
export interface ScalingActivity {
  start: Date;
  /** StatusCode: Successful, Failed, Cancelled, InProgress, WaitingForSpotInstanceId, ... */
  status: string;
  /** StatusMessage (or Description): names the EC2 error, e.g. InsufficientInstanceCapacity. */
  message?: string;
}

export interface ObservedGroup {
  min: number;
  max: number;
  desired: number;
  /** Instances in the InService lifecycle state. */
  inService: number;
  /** The manager's own tags (spot-manager/...): its memory between runs. */
  tags: Record<string, string>;
  /** EKS managed node group status (ACTIVE, UPDATING, DEGRADED, ...); absent for Auto Scaling groups. */
  status?: string;
  /** The managed node group's ARN, for tagging. */
  arn?: string;
  /** The Auto Scaling group (for a managed node group, the one EKS runs it on; read only). */
  autoScalingGroupName?: string;
  /** Recent scaling activities; undefined when they could not be read. */
  activities?: ScalingActivity[];
  /** SpotInterruptions within the fallback rule's window; undefined when they could not be read. */
  interruptions?: number;
}

export interface ObservedState {
  groups: Record<string, ObservedGroup>;
  /** Why a group, or part of what is known about it, could not be read; by group. */
  errors?: Record<string, string>;
}

const count = z.number().int().min(0);
const instant = z.iso.datetime({ offset: true }).transform((text) => new Date(text));

const activitySchema = strictObject({ start: instant, status: z.string().min(1), message: z.string().optional() });

export const observedGroupSchema = strictObject({
  min: count,
  max: count,
  desired: count,
  inService: count,
  tags: z.record(z.string(), z.string()).default({}),
  status: z.string().optional(),
  arn: z.string().startsWith("arn:").optional(),
  autoScalingGroupName: z.string().min(1).optional(),
  /** Omitted: no recent activities. */
  activities: z.array(activitySchema).default([]),
  /** Omitted: no interruptions. */
  interruptions: count.default(0),
}).superRefine((group, ctx) => {
  if (group.min > group.max) ctx.addIssue({ code: "custom", path: ["min"], message: `must be <= max (${group.max})`, input: group.min });
  if (group.desired < group.min || group.desired > group.max) ctx.addIssue({ code: "custom", path: ["desired"], message: `must be within min..max (${group.min}..${group.max})`, input: group.desired });
});

const snapshotSchema = strictObject({
  /** When the snapshot was taken; the default time to plan at. */
  observedAt: instant.optional(),
  groups: z.record(z.string(), z.unknown()),
  errors: z.record(z.string(), z.string()).optional(),
});

export interface Snapshot {
  observedAt?: Date;
  state: ObservedState;
}

/**
 * Reads a state snapshot. A group whose entry is malformed is not dropped silently: it is left
 * out of `groups` with its problem in `errors`, so the planner reports it and plans the others.
 * An unknown key anywhere is a mistake in the file, not in one group: the whole snapshot is
 * refused, naming the key and the closest known one, and nothing is planned.
 */
export function parseSnapshot(input: unknown): Snapshot {
  const top = snapshotSchema.safeParse(input, { reportInput: true });
  if (!top.success) throw new InvalidSnapshotError(`invalid state snapshot: ${describeZodIssues(top.error)}`);
  const groups: Record<string, ObservedGroup> = {};
  const errors: Record<string, string> = { ...top.data.errors };
  const unknownKeys: z.ZodIssue[] = [];
  for (const [name, raw] of Object.entries(top.data.groups)) {
    const group = observedGroupSchema.safeParse(raw, { reportInput: true });
    if (group.success) groups[name] = stripUndefined(group.data);
    else {
      unknownKeys.push(...group.error.issues.filter((issue) => issue.code === "unrecognized_keys").map((issue) => ({ ...issue, path: ["groups", name, ...issue.path] })));
      errors[name] = `bad state: ${describeZodIssues(group.error, `groups.${name}`)}`;
    }
  }
  if (unknownKeys.length > 0) throw new InvalidSnapshotError(`invalid state snapshot: ${describeZodIssues(new z.ZodError(unknownKeys))}`);
  return {
    ...(top.data.observedAt ? { observedAt: top.data.observedAt } : {}),
    state: { groups, ...(Object.keys(errors).length > 0 ? { errors } : {}) },
  };
}

/** The snapshot of a state, as plan-capacity reads it back (dates as ISO 8601). */
export function toSnapshot(state: ObservedState, observedAt: Date): Record<string, unknown> {
  return JSON.parse(JSON.stringify({ observedAt, groups: state.groups, ...(state.errors ? { errors: state.errors } : {}) })) as Record<string, unknown>;
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
