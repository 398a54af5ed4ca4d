/**
 * What spot-manager does for each kind of signal, per stage. Defaults follow the design table;
 * every step can be switched per kind. Validated with zod: a bad value fails with the field named.
 */
import * as z from "zod";
import type { TaintStyle } from "../constants";
import { ConfigError } from "../errors";
import { describeZodIssues } from "../zod-issues";

const taintEffect = z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]);

export const drainPolicySchema = z.object({
  /** Evictions in flight at once. */
  parallelism: z.number().int().min(1).max(256).default(32),
  /** At the deadline: leave what is left, or delete it with grace 0. */
  atDeadline: z.enum(["leave", "delete"]).default("leave"),
  /** Overrides pods' terminationGracePeriodSeconds. */
  gracePeriodSeconds: z.number().int().min(0).optional(),
  capGraceToDeadline: z.boolean().default(true),
  deleteEmptyDirData: z.boolean().default(true),
  forceUnmanaged: z.boolean().default(true),
});

const steps = (effect: z.infer<typeof taintEffect>, cordon: boolean, drain: boolean) => ({
  enabled: z.boolean().default(true),
  taint: z.boolean().default(true),
  taintEffect: taintEffect.default(effect),
  cordon: z.boolean().default(cordon),
  drain: z.boolean().default(drain),
});

const drainDefaults = (atDeadline: "leave" | "delete") => drainPolicySchema.prefault({ atDeadline });

export const policySchema = z.object({
  /** Our taint keys, or aws-node-termination-handler's so existing tolerations keep working. */
  taintStyle: z.enum(["spot-manager", "nth"]).default("spot-manager"),
  /** Decide and report, change nothing. */
  dryRun: z.boolean().default(false),
  /** Kubernetes Events on evicted pods (node events are always written). */
  podEvents: z.boolean().default(true),
  /** Time kept back from the Lambda's limit to report and hand unfinished work back. */
  lambdaReserveSeconds: z.number().int().min(1).max(120).default(20),
  /** A drain that outlives the function goes on in follow-up messages: how many invocations an event may take, and how far apart. */
  continuation: z
    .object({
      maxInvocations: z.number().int().min(1).max(200).default(20),
      firstDelaySeconds: z.number().int().min(1).max(900).default(5),
      maxDelaySeconds: z.number().int().min(1).max(900).default(60),
    })
    .prefault({}),
  spotInterruption: z
    .object({
      ...steps("NoSchedule", true, true),
      safetyMarginSeconds: z.number().int().min(0).max(110).default(10),
      drainPolicy: drainDefaults("leave"),
      /** A warning this long past its deadline, for an instance EC2 still runs, no longer applies. */
      staleAfterSeconds: z.number().int().min(60).max(24 * 3600).default(300),
      /** After a stop or hibernate interruption: once EC2 runs the instance again, remove the taint and uncordon. */
      restoreAfterRestart: z.boolean().default(true),
      /** How often a stopped instance is looked at again, and for how long. */
      restartCheckSeconds: z.number().int().min(60).max(24 * 3600).default(300),
      restartWatchHours: z.number().int().min(1).max(24 * 30).default(72),
    })
    .prefault({}),
  rebalanceRecommendation: z
    .object({
      ...steps("PreferNoSchedule", false, false),
      /** Remove the taint again when no interruption followed within this time; 0 keeps it. */
      removeTaintAfterSeconds: z.number().int().min(0).max(7 * 24 * 3600).default(900),
      drainPolicy: drainDefaults("leave"),
    })
    .prefault({}),
  asgTerminate: z
    .object({
      ...steps("NoSchedule", true, true),
      /** Keep it well below the hook's heartbeat timeout (at most half of it). */
      heartbeatIntervalSeconds: z.number().int().min(10).max(3600).default(60),
      /** How long the drain may take before the lifecycle action is completed anyway. */
      maxDrainSeconds: z.number().int().min(10).max(48 * 3600).default(900),
      result: z.enum(["CONTINUE", "ABANDON"]).default("CONTINUE"),
      drainPolicy: drainDefaults("leave"),
    })
    .prefault({}),
  asgLaunch: z
    .object({
      enabled: z.boolean().default(true),
      readyTimeoutSeconds: z.number().int().min(30).max(7200).default(600),
      checkIntervalSeconds: z.number().int().min(5).max(900).default(15),
      onTimeout: z.enum(["CONTINUE", "ABANDON"]).default("ABANDON"),
    })
    .prefault({}),
  stateChange: z
    .object({
      ...steps("NoSchedule", true, true),
      /** States that start a drain; `terminated` is always recorded only. */
      drainOn: z.array(z.enum(["stopping", "shutting-down"])).default(["stopping", "shutting-down"]),
      /** The instance is already going: the drain gets this long from the event time. */
      drainSeconds: z.number().int().min(5).max(3600).default(90),
      /** Taint terminated nodes node.kubernetes.io/out-of-service so stateful pods can move. */
      outOfServiceTaint: z.boolean().default(false),
      drainPolicy: drainDefaults("delete"),
    })
    .prefault({}),
  /**
   * Replacement capacity at the warning: the doomed instance's group starts its replacement at
   * once (detached without decrementing desired), bounded per group, with the on-demand fallback
   * of the capacity policy when the spot group is short.
   */
  replacement: z
    .object({
      enabled: z.boolean().default(true),
      /** Also at a rebalance recommendation, for groups without capacity rebalancing (which launch their own). */
      onRebalanceRecommendation: z.boolean().default(false),
      /** Replacements one group may have in flight (requested within `cooldownSeconds`). */
      maxExtraPerGroup: z.number().int().min(1).max(100).default(2),
      /** How long a request counts against its group's maximum: the old instance is gone and the new one booted by then. */
      cooldownSeconds: z.number().int().min(30).max(3600).default(300),
      /** When the spot group is short (per the capacity policy's fallback rule), ask the on-demand group instead. */
      fallbackToOnDemand: z.boolean().default(true),
      /** Keep pods that fit no other node on the doomed node while the replacement boots, instead of leaving them Pending. */
      holdUnplaceablePods: z.boolean().default(true),
      /** Held pods are evicted at the latest this long before the drain's deadline, whatever happened. */
      releaseBeforeDeadlineSeconds: z.number().int().min(5).max(110).default(15),
      /** How often room for held pods is looked for. */
      roomCheckSeconds: z.number().int().min(1).max(30).default(2),
      /**
       * A detached instance EC2 still runs this long after the warning's deadline (a drill's, say)
       * is terminated, drained as it is: its replacement took its place, so it is a node too many.
       */
      reclaimCheckSeconds: z.number().int().min(60).max(3600).default(300),
      /** false: such an instance is only reported (a Warning Event and a metric), never terminated. */
      terminateUnreclaimed: z.boolean().default(true),
    })
    .prefault({}),
  scheduledChange: z
    .object({
      ...steps("NoSchedule", true, true),
      /** Drain this long before the maintenance starts. */
      leadSeconds: z.number().int().min(0).max(14 * 24 * 3600).default(3600),
      drainPolicy: drainDefaults("leave"),
    })
    .prefault({}),
});

export type Policy = z.output<typeof policySchema>;
export type PolicyInput = z.input<typeof policySchema>;
export type DrainPolicyConfig = z.output<typeof drainPolicySchema>;
export type { TaintStyle };

/** Validates a policy, filling defaults; throws ConfigError naming each bad field and its value. */
export function parsePolicy(input: unknown, prefix = "policy"): Policy {
  const result = policySchema.safeParse(input ?? {}, { reportInput: true });
  if (!result.success) throw new ConfigError(`invalid ${prefix}: ${describeZodIssues(result.error, prefix)}`);
  return result.data;
}

export const DEFAULT_POLICY: Policy = parsePolicy({});
