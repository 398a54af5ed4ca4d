/** Reads the capacity function's configuration from its environment once, typed, failing with the variable named. */
import * as z from "zod";
import { EVENT_BUS_NAME_OR_ARN, OUTCOME_BUS_ENV, parseCapacityPolicy, type CapacityPolicy } from "@spot-manager/core";
import { jsonVariable, readEnv } from "./runtime";

/** The variables the Capacity stack sets on the function. */
export const CAPACITY_ENV = {
  /** The capacity policy as JSON (groups, windows, fallback rules). */
  policy: "CAPACITY_POLICY",
  clusterName: "CLUSTER_NAME",
  /** SNS topic for fallback start and end; optional. */
  topicArn: "NOTIFICATION_TOPIC_ARN",
  /** "true" or "1": plan and report, change nothing. */
  dryRun: "DRY_RUN",
  /** The bus for Capacity Fallback Started / Ended (a name or an ARN); optional. */
  eventBus: OUTCOME_BUS_ENV,
} as const;

const flag = z
  .enum(["true", "false", "1", "0", ""])
  .optional()
  .transform((value) => value === "true" || value === "1");

const envSchema = z.object({
  [CAPACITY_ENV.clusterName]: z.string().min(1),
  AWS_REGION: z.string().min(1),
  [CAPACITY_ENV.policy]: z.string().min(1),
  [CAPACITY_ENV.topicArn]: z.string().startsWith("arn:").optional(),
  [CAPACITY_ENV.dryRun]: flag,
  [CAPACITY_ENV.eventBus]: z.string().regex(EVENT_BUS_NAME_OR_ARN, "must be an event bus name or ARN").optional(),
  AWS_LAMBDA_FUNCTION_NAME: z.string().default("spot-manager-capacity"),
});

export interface CapacityConfig {
  clusterName: string;
  region: string;
  policy: CapacityPolicy;
  topicArn?: string;
  dryRun: boolean;
  functionName: string;
  /** Where outcome events go; none are published without it. */
  eventBus?: string;
}

/** Validates the environment; a bad or missing variable throws ConfigError naming it. */
export function readCapacityConfig(env: Record<string, string | undefined>): CapacityConfig {
  const e = readEnv(envSchema, env);
  const policyInput = jsonVariable(CAPACITY_ENV.policy, e[CAPACITY_ENV.policy]);
  const topicArn = e[CAPACITY_ENV.topicArn];
  return {
    clusterName: e[CAPACITY_ENV.clusterName],
    region: e.AWS_REGION,
    policy: parseCapacityPolicy(policyInput, CAPACITY_ENV.policy),
    ...(topicArn ? { topicArn } : {}),
    dryRun: e[CAPACITY_ENV.dryRun],
    functionName: e.AWS_LAMBDA_FUNCTION_NAME,
    ...(e[CAPACITY_ENV.eventBus] ? { eventBus: e[CAPACITY_ENV.eventBus] } : {}),
  };
}
