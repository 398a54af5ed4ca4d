export * from "./constants";
export * from "./errors";
export { signPayload, verifySignature } from "./signature";
export { decodeWebhookBody, parsePingEvent, parsePushEvent, type PingEvent, type PushEvent } from "./github-events";
export { BranchPatterns } from "./branch-patterns";
export { CodeBuildLauncher, idempotencyTokenFor, type BuildLauncher, type BuildRequest, type CodeBuildLauncherOptions, type LaunchResult } from "./launcher";
export { CachedSecret } from "./secret";
export {
  DynamoDbDeliveryLedger,
  DELIVERY_RETENTION_SECONDS,
  DELIVERY_TABLE,
  GITHUB_REDELIVERY_DAYS,
  STALE_CLAIM_SECONDS,
  type ClaimResult,
  type DeliveryLedger,
  type HandledDelivery,
} from "./ledger";
export { buildRequestFor, receiveGitHubWebhook, type IgnoreReason, type WebhookConfig, type WebhookDeps, type WebhookOutcome, type WebhookRequest } from "./webhook";
export {
  launchScheduledBuilds,
  parseScheduledBuilds,
  parseScheduledInvocation,
  scheduledBuildSchema,
  scheduledBuildsSchema,
  type ScheduledBuild,
  type ScheduledBuildInput,
  type ScheduledDeps,
  type ScheduledInvocation,
  type ScheduledLaunch,
} from "./scheduled";
export { buildConsoleUrl, formatDuration, parseBuildStateChange, parseCodeBuildTime, type BuildStateChange, type FailedPhase } from "./build-state";
export { BuildNotifier, formatBuildNotification, shownStatus, summarize, type BuildNotification, type BuildNotifierOptions, type NotifyResult } from "./build-notifications";
