/**
 * A GitHub webhook delivery, from raw request to outcome: verify the signature first (nothing else
 * is read before it holds), then the event, then the push, then claim the delivery (by
 * X-GitHub-Delivery) and launch the build. A delivery seen before is answered with the build it
 * led to. The caller maps the outcome to an HTTP answer; nothing here knows about Lambda.
 */
import { MalformedEventError } from "../errors";
import { noMetrics, silentLog, type Log, type Metrics } from "../observability";
import type { BranchPatterns } from "./branch-patterns";
import { BUILD_ENV, DELIVERY_METRICS, GITHUB_HEADERS, SKIP_MARKERS } from "./constants";
import { BuildLaunchError, DeliveryLedgerError, SecretUnavailableError, WebhookSignatureError, type SignatureProblem } from "./errors";
import { decodeWebhookBody, parsePingEvent, parsePushEvent, type PushEvent } from "./github-events";
import type { BuildLauncher, BuildRequest, LaunchResult } from "./launcher";
import type { DeliveryLedger, HandledDelivery } from "./ledger";
import { verifySignature } from "./signature";

export interface WebhookRequest {
  /** Header names in lower case (as a Lambda Function URL passes them). */
  headers: Readonly<Record<string, string | undefined>>;
  /** The body exactly as received: the signature is over these bytes. */
  body: Uint8Array;
}

export interface WebhookConfig {
  /** owner/name of the source repository; pushes to any other are ignored (compared case-insensitively). */
  repository: string;
  branches: BranchPatterns;
  /** Extra plain-text environment for every build the webhook starts. */
  environment?: Record<string, string>;
}

export interface WebhookDeps {
  /** The hook's shared secret (cached by the caller). */
  secret: () => Promise<string>;
  launcher: BuildLauncher;
  /** Deliveries already handled, by X-GitHub-Delivery; without one, replays are only caught while their build runs. */
  ledger?: DeliveryLedger;
  config: WebhookConfig;
  log?: Log;
  metrics?: Metrics;
  now?: () => number;
}

export type IgnoreReason = "event-not-handled" | "repository-not-configured" | "not-a-branch" | "branch-deleted" | "branch-not-configured" | "skip-marker";

export type WebhookOutcome =
  | { kind: "rejected"; problem: SignatureProblem; message: string }
  | { kind: "invalid"; message: string }
  | { kind: "pong"; zen?: string; hookId?: number; warning?: string }
  | { kind: "ignored"; reason: IgnoreReason; message: string }
  | { kind: "started" | "already-building"; buildId: string; commit: string; branch: string }
  | ({ kind: "already-handled" } & HandledDelivery)
  | { kind: "in-progress"; deliveryId: string; since: string }
  | { kind: "launch-failed"; message: string }
  | { kind: "unavailable"; reason: "secret" | "ledger"; message: string };

/**
 * Handles one delivery. What keeps it from being handled on our side (the secret or the delivery
 * store cannot be read) is answered `unavailable` with the reason logged: GitHub may redeliver.
 */
export async function receiveGitHubWebhook(deps: WebhookDeps, request: WebhookRequest): Promise<WebhookOutcome> {
  const log = deps.log ?? silentLog;
  const metrics = deps.metrics ?? noMetrics;
  let secret: string;
  try {
    secret = await deps.secret();
  } catch (error) {
    if (!(error instanceof SecretUnavailableError)) throw error;
    log.error("webhook secret unreadable: delivery answered 503", { secretId: error.secretId, error: error.message, deliveryId: request.headers[GITHUB_HEADERS.delivery] });
    metrics.add(DELIVERY_METRICS.webhooksUnavailable, "Count", 1, { reason: "secret" });
    return { kind: "unavailable", reason: "secret", message: "the webhook secret could not be read; the reason is in the function's log" };
  }
  try {
    verifySignature(secret, request.body, request.headers[GITHUB_HEADERS.signature]);
  } catch (error) {
    if (!(error instanceof WebhookSignatureError)) throw error;
    log.warn("webhook rejected", { problem: error.problem });
    metrics.add(DELIVERY_METRICS.webhooksRejected, "Count", 1, { reason: error.problem });
    return { kind: "rejected", problem: error.problem, message: error.message };
  }

  const event = request.headers[GITHUB_HEADERS.event] ?? "";
  const context = { deliveryId: request.headers[GITHUB_HEADERS.delivery], hookId: request.headers[GITHUB_HEADERS.hookId], event };
  metrics.add(DELIVERY_METRICS.webhooksReceived, "Count", 1, { event: event || "none" });
  const ignored = (reason: IgnoreReason, message: string): WebhookOutcome => {
    log.info("webhook ignored", { ...context, reason, message });
    metrics.add(DELIVERY_METRICS.webhooksIgnored, "Count", 1, { reason });
    return { kind: "ignored", reason, message };
  };

  if (event !== "ping" && event !== "push") return ignored("event-not-handled", `event "${event}" is not handled (only push and ping)`);
  let push: PushEvent;
  try {
    const payload = decodeWebhookBody(request.body, request.headers[GITHUB_HEADERS.contentType]);
    if (event === "ping") {
      const ping = parsePingEvent(payload);
      const sendsPush = ping.events.includes("push") || ping.events.includes("*");
      log.info("webhook ping", { ...context, hookId: ping.hookId, events: ping.events });
      return {
        kind: "pong",
        ...(ping.zen !== undefined ? { zen: ping.zen } : {}),
        ...(ping.hookId !== undefined ? { hookId: ping.hookId } : {}),
        ...(sendsPush ? {} : { warning: `this hook does not send push events (it sends: ${ping.events.join(", ") || "none"})` }),
      };
    }
    push = parsePushEvent(payload);
  } catch (error) {
    if (!(error instanceof MalformedEventError)) throw error;
    log.warn("webhook payload not understood", { ...context, error: error.message });
    return { kind: "invalid", message: error.message };
  }

  if (push.repository.toLowerCase() !== deps.config.repository.toLowerCase()) {
    return ignored("repository-not-configured", `repository ${push.repository} is not configured (expected ${deps.config.repository})`);
  }
  if (push.branch === undefined) return ignored("not-a-branch", `${push.ref} is not a branch`);
  if (push.deleted) return ignored("branch-deleted", `branch ${push.branch} was deleted`);
  if (!deps.config.branches.matches(push.branch)) {
    return ignored("branch-not-configured", `branch ${push.branch} is not configured (building: ${deps.config.branches.patterns.join(", ")})`);
  }
  const message = push.headCommit?.message.toLowerCase() ?? "";
  const marker = SKIP_MARKERS.find((m) => message.includes(m));
  if (marker) return ignored("skip-marker", `head commit ${push.commit.slice(0, 12)} says ${marker}`);

  const deliveryId = request.headers[GITHUB_HEADERS.delivery] ?? "";
  const now = deps.now ?? Date.now;
  let token: string | undefined;
  if (deps.ledger) {
    if (!DELIVERY_ID.test(deliveryId)) {
      log.warn("webhook payload not understood", { ...context, error: "X-GitHub-Delivery header is missing or malformed" });
      return { kind: "invalid", message: "X-GitHub-Delivery header is missing or malformed" };
    }
    try {
      const claim = await deps.ledger.claim(deliveryId, now());
      if (claim.kind === "handled") {
        log.info("delivery already handled", { ...context, buildId: claim.delivery.buildId, handledAt: claim.delivery.handledAt });
        metrics.add(DELIVERY_METRICS.webhooksReplayed, "Count", 1, { result: "already-handled" });
        return { kind: "already-handled", ...claim.delivery };
      }
      if (claim.kind === "in-progress") {
        log.info("delivery being handled by another invocation", { ...context, since: claim.since });
        metrics.add(DELIVERY_METRICS.webhooksReplayed, "Count", 1, { result: "in-progress" });
        return { kind: "in-progress", deliveryId, since: claim.since };
      }
      token = claim.token;
    } catch (error) {
      if (!(error instanceof DeliveryLedgerError)) throw error;
      log.error("delivery store unavailable: delivery answered 503", { ...context, error: error.message });
      metrics.add(DELIVERY_METRICS.webhooksUnavailable, "Count", 1, { reason: "ledger" });
      return { kind: "unavailable", reason: "ledger", message: "deliveries cannot be deduplicated right now; redeliver from the hook's page" };
    }
  }

  let result: LaunchResult;
  try {
    result = await deps.launcher.launch(buildRequestFor(push, push.branch, deps.config));
  } catch (error) {
    if (!(error instanceof BuildLaunchError)) throw error;
    log.error("build not started", { ...context, commit: push.commit, error: error.message });
    if (deps.ledger && token) await deps.ledger.release(deliveryId, token).catch((released: unknown) => log.error("delivery claim not released", { ...context, error: (released as Error).message }));
    return { kind: "launch-failed", message: error.message };
  }
  log.info(result.status === "started" ? "build started for push" : "build for push already running", { ...context, commit: push.commit, branch: push.branch, buildId: result.buildId });
  if (deps.ledger && token) {
    const handled: HandledDelivery = { deliveryId, outcome: result.status, buildId: result.buildId, commit: push.commit, branch: push.branch, handledAt: new Date(now()).toISOString() };
    // the build is under way either way; a replay before the mark lands finds the build running (or its idempotency token)
    await deps.ledger.complete(token, handled, now()).catch((error: unknown) => log.error("delivery not marked handled", { ...context, buildId: result.buildId, error: (error as Error).message }));
  }
  return { kind: result.status, buildId: result.buildId, commit: push.commit, branch: push.branch };
}

/** GitHub's delivery ids are GUIDs; anything else is not a delivery of theirs. */
const DELIVERY_ID = /^[A-Za-z0-9-]{8,100}$/;

/** The build a push asks for: the pushed commit, and what the buildspec needs to know about it. */
export function buildRequestFor(push: PushEvent, branch: string, config: WebhookConfig): BuildRequest {
  return {
    sourceVersion: push.commit,
    environment: {
      ...config.environment,
      [BUILD_ENV.sourceCommit]: push.commit,
      [BUILD_ENV.sourceRef]: push.ref,
      [BUILD_ENV.sourceBranch]: branch,
      [BUILD_ENV.sourceRepository]: push.repository,
      [BUILD_ENV.trigger]: "push",
    },
    idempotencyKey: `push|${push.repository.toLowerCase()}|${push.ref}|${push.commit}`,
    trigger: "push",
  };
}
