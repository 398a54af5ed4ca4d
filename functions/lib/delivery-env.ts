/**
 * The delivery functions' configuration, read once from the environment the Delivery stack sets,
 * typed, failing with the variable named.
 */
import * as z from "zod";
import { jsonVariable, readEnv } from "./runtime";
import { BranchPatterns, ConfigError, describeZodIssues, EVENT_BUS_NAME_OR_ARN, OUTCOME_BUS_ENV, parseScheduledBuilds, type ScheduledBuild } from "@spot-manager/core";

type Env = Record<string, string | undefined>;

const REGION = z.string().min(1);
const PROJECT_NAME = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{1,254}$/, "must be a CodeBuild project name");
const ARN = z.string().startsWith("arn:", "must be an ARN");

const webhookSchema = z.object({
  AWS_REGION: REGION,
  PROJECT_NAME,
  WEBHOOK_SECRET_ARN: ARN,
  REPOSITORY: z.string().regex(/^[\w.-]+\/[\w.-]+$/, "must be owner/name"),
  BRANCHES: z.string().default("main"),
  BUILD_ENVIRONMENT: z.string().optional(),
  DELIVERY_TABLE_NAME: z.string().regex(/^[A-Za-z0-9_.-]{3,255}$/, "must be a DynamoDB table name"),
});

const scheduledSchema = z.object({
  AWS_REGION: REGION,
  PROJECT_NAME,
  SCHEDULED_BUILDS: z.string().min(1),
});

const notifySchema = z.object({
  AWS_REGION: REGION,
  NOTIFICATION_TOPIC_ARN: ARN,
  PROJECT_NAME: PROJECT_NAME.optional(),
  [OUTCOME_BUS_ENV]: z.string().regex(EVENT_BUS_NAME_OR_ARN, "must be an event bus name or ARN").optional(),
});

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const buildEnvironmentSchema = z.record(z.string().regex(ENV_NAME, "must be an environment variable name"), z.string());

export interface WebhookFunctionConfig {
  region: string;
  projectName: string;
  secretArn: string;
  repository: string;
  branches: BranchPatterns;
  /** Extra plain-text environment for every build the webhook starts. */
  environment: Record<string, string>;
  /** The DynamoDB table of handled deliveries (X-GitHub-Delivery, with TTL). */
  deliveryTable: string;
}

export interface ScheduledFunctionConfig {
  region: string;
  projectName: string;
  builds: ScheduledBuild[];
}

export interface NotifyFunctionConfig {
  region: string;
  topicArn: string;
  projectName?: string;
  /** Where Build Started / Build Finished go; none are published without it. */
  eventBus?: string;
}

/** PROJECT_NAME, WEBHOOK_SECRET_ARN, REPOSITORY, BRANCHES (comma-separated, globs; default main), BUILD_ENVIRONMENT (JSON object), DELIVERY_TABLE_NAME. */
export function readWebhookConfig(env: Env): WebhookFunctionConfig {
  const e = readEnv(webhookSchema, env);
  const branches = BranchPatterns.parse(e.BRANCHES);
  if (branches.patterns.length === 0) throw new ConfigError("invalid environment: BRANCHES: names no branch");
  let environment: Record<string, string> = {};
  if (e.BUILD_ENVIRONMENT) {
    const parsed = buildEnvironmentSchema.safeParse(jsonVariable("BUILD_ENVIRONMENT", e.BUILD_ENVIRONMENT), { reportInput: true });
    if (!parsed.success) throw new ConfigError(`invalid environment: ${describeZodIssues(parsed.error, "BUILD_ENVIRONMENT")}`);
    environment = parsed.data;
  }
  return { region: e.AWS_REGION, projectName: e.PROJECT_NAME, secretArn: e.WEBHOOK_SECRET_ARN, repository: e.REPOSITORY, branches, environment, deliveryTable: e.DELIVERY_TABLE_NAME };
}

/** PROJECT_NAME, SCHEDULED_BUILDS (JSON array of { name, sourceVersion?, rebuild?, environment? }). */
export function readScheduledConfig(env: Env): ScheduledFunctionConfig {
  const e = readEnv(scheduledSchema, env);
  return { region: e.AWS_REGION, projectName: e.PROJECT_NAME, builds: parseScheduledBuilds(jsonVariable("SCHEDULED_BUILDS", e.SCHEDULED_BUILDS), "SCHEDULED_BUILDS") };
}

/** NOTIFICATION_TOPIC_ARN, PROJECT_NAME (optional: events of other projects are not published), OUTCOME_EVENT_BUS (optional). */
export function readNotifyConfig(env: Env): NotifyFunctionConfig {
  const e = readEnv(notifySchema, env);
  const eventBus = e[OUTCOME_BUS_ENV];
  return { region: e.AWS_REGION, topicArn: e.NOTIFICATION_TOPIC_ARN, ...(e.PROJECT_NAME ? { projectName: e.PROJECT_NAME } : {}), ...(eventBus ? { eventBus } : {}) };
}
