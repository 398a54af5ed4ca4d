/** Reads the function's configuration from its environment once, typed, failing with the variable named. */
import * as z from "zod";
import { EVENT_BUS_NAME_OR_ARN, OUTCOME_BUS_ENV, parseCapacityPolicy, parsePolicy, type CapacityPolicy, type Policy } from "@spot-manager/core";
import { jsonVariable, readEnv } from "./runtime";

const envSchema = z.object({
  CLUSTER_NAME: z.string().min(1),
  AWS_REGION: z.string().min(1),
  SPOT_MANAGER_POLICY: z.string().optional(),
  CAPACITY_POLICY: z.string().optional(),
  NOTIFICATION_TOPIC_ARN: z.string().startsWith("arn:").optional(),
  QUEUE_URL: z.url().optional(),
  DEAD_LETTER_QUEUE_URL: z.url().optional(),
  QUEUE_ARN: z.string().startsWith("arn:").optional(),
  SCHEDULER_ROLE_ARN: z.string().startsWith("arn:").optional(),
  SCHEDULER_GROUP_NAME: z.string().min(1).optional(),
  AWS_LAMBDA_FUNCTION_NAME: z.string().default("spot-manager-interruption"),
  [OUTCOME_BUS_ENV]: z.string().regex(EVENT_BUS_NAME_OR_ARN, "must be an event bus name or ARN").optional(),
});

export interface InterruptionConfig {
  clusterName: string;
  region: string;
  policy: Policy;
  /** The capacity policy: its fallback rules tell replacement when a spot group is short and which on-demand group covers it. */
  capacityPolicy?: CapacityPolicy;
  topicArn?: string;
  queueUrl?: string;
  /** Where a record goes at once when a dependency refused it for good. */
  deadLetterQueueUrl?: string;
  scheduler?: { queueArn: string; roleArn: string; groupName: string };
  functionName: string;
  /** Where outcome events go (a bus name or ARN); none are published without it. */
  eventBus?: string;
}

/** Validates the environment; a bad or missing variable throws ConfigError naming it. */
export function readInterruptionConfig(env: Record<string, string | undefined>): InterruptionConfig {
  const e = readEnv(envSchema, env);
  const policyInput = e.SPOT_MANAGER_POLICY ? jsonVariable("SPOT_MANAGER_POLICY", e.SPOT_MANAGER_POLICY) : {};
  const scheduler =
    e.QUEUE_ARN && e.SCHEDULER_ROLE_ARN && e.SCHEDULER_GROUP_NAME ? { queueArn: e.QUEUE_ARN, roleArn: e.SCHEDULER_ROLE_ARN, groupName: e.SCHEDULER_GROUP_NAME } : undefined;
  return {
    clusterName: e.CLUSTER_NAME,
    region: e.AWS_REGION,
    policy: parsePolicy(policyInput, "SPOT_MANAGER_POLICY"),
    ...(e.CAPACITY_POLICY ? { capacityPolicy: parseCapacityPolicy(jsonVariable("CAPACITY_POLICY", e.CAPACITY_POLICY), "CAPACITY_POLICY") } : {}),
    ...(e.NOTIFICATION_TOPIC_ARN ? { topicArn: e.NOTIFICATION_TOPIC_ARN } : {}),
    ...(e.QUEUE_URL ? { queueUrl: e.QUEUE_URL } : {}),
    ...(e.DEAD_LETTER_QUEUE_URL ? { deadLetterQueueUrl: e.DEAD_LETTER_QUEUE_URL } : {}),
    ...(scheduler ? { scheduler } : {}),
    functionName: e.AWS_LAMBDA_FUNCTION_NAME,
    ...(e[OUTCOME_BUS_ENV] ? { eventBus: e[OUTCOME_BUS_ENV] } : {}),
  };
}
