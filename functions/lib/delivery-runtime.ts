/**
 * What each delivery function needs, built once per cold start from its configuration: AWS clients,
 * the cached webhook secret, the launcher, the notifier. Tests build them with their own clients.
 */
import { CodeBuildClient } from "@aws-sdk/client-codebuild";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SNSClient } from "@aws-sdk/client-sns";
import { BuildNotifier, CachedSecret, CodeBuildLauncher, DynamoDbDeliveryLedger, EventBridgeOutcomes, type Log, type Metrics, type ScheduledBuild, type WebhookDeps } from "@spot-manager/core";
import type { NotifyFunctionConfig, ScheduledFunctionConfig, WebhookFunctionConfig } from "./delivery-env";

export type FlushableMetrics = Metrics & { flush?(): void };

export interface WebhookRuntime {
  deps: WebhookDeps;
  log: Log;
  metrics: FlushableMetrics;
}

export interface ScheduledRuntime {
  launcher: CodeBuildLauncher;
  builds: ScheduledBuild[];
  log: Log;
  metrics: FlushableMetrics;
  now: () => number;
}

export interface NotifyRuntime {
  notifier: BuildNotifier;
  log: Log;
  metrics: FlushableMetrics;
}

export function createWebhookRuntime(
  config: WebhookFunctionConfig,
  log: Log,
  metrics: FlushableMetrics,
  clients: { codebuild?: CodeBuildClient; secretsManager?: SecretsManagerClient; dynamodb?: DynamoDBClient } = {},
  now: () => number = Date.now,
): WebhookRuntime {
  const secret = new CachedSecret(clients.secretsManager ?? new SecretsManagerClient({ region: config.region }), config.secretArn);
  const launcher = new CodeBuildLauncher(clients.codebuild ?? new CodeBuildClient({ region: config.region }), { projectName: config.projectName, log, metrics });
  return {
    deps: {
      secret: () => secret.get(),
      launcher,
      ledger: new DynamoDbDeliveryLedger(clients.dynamodb ?? new DynamoDBClient({ region: config.region }), config.deliveryTable),
      config: { repository: config.repository, branches: config.branches, environment: config.environment },
      log,
      metrics,
      now,
    },
    log,
    metrics,
  };
}

export function createScheduledRuntime(config: ScheduledFunctionConfig, log: Log, metrics: FlushableMetrics, clients: { codebuild?: CodeBuildClient } = {}, now: () => number = Date.now): ScheduledRuntime {
  const launcher = new CodeBuildLauncher(clients.codebuild ?? new CodeBuildClient({ region: config.region }), { projectName: config.projectName, log, metrics });
  return { launcher, builds: config.builds, log, metrics, now };
}

export function createNotifyRuntime(config: NotifyFunctionConfig, log: Log, metrics: FlushableMetrics, clients: { sns?: SNSClient; eventbridge?: EventBridgeClient } = {}): NotifyRuntime {
  const outcomes = config.eventBus ? new EventBridgeOutcomes(clients.eventbridge ?? new EventBridgeClient({ region: config.region }), { eventBus: config.eventBus, log, metrics }) : undefined;
  const notifier = new BuildNotifier(clients.sns ?? new SNSClient({ region: config.region }), config.topicArn, {
    ...(config.projectName ? { projectName: config.projectName } : {}),
    log,
    metrics,
    ...(outcomes ? { outcomes } : {}),
  });
  return { notifier, log, metrics };
}
