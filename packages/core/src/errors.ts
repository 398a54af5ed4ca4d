/**
 * Named errors, split the way a queue consumer must act on them: a SkipError is acknowledged on
 * purpose (logged with its reason and counted, never retried); a RetryError returns the record to
 * the queue (and after N receives, to the DLQ). Anything else is unexpected and also retried.
 */

export type SkipReason =
  | "malformed-event"
  | "unsupported-event"
  | "foreign-instance"
  | "unknown-instance"
  | "node-not-found"
  | "not-applicable"
  | "disabled-by-policy"
  | "test-notification"
  | "duplicate"
  | "stale-event"
  | "permanent-failure";

/** Acknowledge and move on: retrying can never make this record succeed. */
export class SkipError extends Error {
  override readonly name: string = "SkipError";
  constructor(
    readonly reason: SkipReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class MalformedEventError extends SkipError {
  override readonly name = "MalformedEventError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("malformed-event", message, options);
  }
}

export class UnsupportedEventError extends SkipError {
  override readonly name = "UnsupportedEventError";
  constructor(message: string) {
    super("unsupported-event", message);
  }
}

export class ForeignInstanceError extends SkipError {
  override readonly name = "ForeignInstanceError";
  constructor(instanceId: string, cluster: string) {
    super("foreign-instance", `instance ${instanceId} does not belong to cluster ${cluster}`);
  }
}

export class UnknownInstanceError extends SkipError {
  override readonly name = "UnknownInstanceError";
  constructor(instanceId: string) {
    super("unknown-instance", `instance ${instanceId} is not known to EC2 (already gone or never existed)`);
  }
}

export class NodeNotFoundError extends SkipError {
  override readonly name = "NodeNotFoundError";
  constructor(instanceId: string, tried: string) {
    super("node-not-found", `no Kubernetes node found for instance ${instanceId} (tried ${tried})`);
  }
}

/** Return the record to the queue: the work is unfinished or a dependency failed transiently. */
export class RetryError extends Error {
  override readonly name: string = "RetryError";
  constructor(
    message: string,
    readonly retryAfterSeconds?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A dependency refused for good (access denied, an invalid request): retrying the record cannot
 * succeed, so it goes straight to the dead-letter queue with this reason, not round the queue.
 */
export class PermanentError extends Error {
  override readonly name = "PermanentError";
  constructor(
    message: string,
    /** The service's error code (AccessDenied, UnauthorizedOperation, ...). */
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A Kubernetes API call failed with an answer that retrying at once will not change. */
export class KubeApiError extends Error {
  override readonly name = "KubeApiError";
  constructor(
    message: string,
    readonly status: number,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Configuration that cannot work, named by field. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
