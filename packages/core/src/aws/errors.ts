/**
 * Telling AWS errors apart the way a queue consumer must: throttling, server faults, timeouts and
 * dropped connections pass (retry the record later); a client fault that is not throttling (access
 * denied, an invalid request) stays until someone changes something (send the record to the DLQ).
 */
import { PermanentError, RetryError } from "../errors";

interface AwsErrorShape {
  name?: string;
  message?: string;
  $fault?: "client" | "server";
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
}

const THROTTLING = new Set([
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "RequestThrottledException",
  "TooManyRequestsException",
  "ProvisionedThroughputExceededException",
  "TransactionInProgressException",
  "RequestLimitExceeded",
  "BandwidthLimitExceeded",
  "LimitExceededException",
  "RequestThrottled",
  "SlowDown",
  "PriorRequestNotComplete",
  "EC2ThrottledException",
]);

/** Credentials and clocks that fix themselves (a fresh session, a refreshed token). */
const SELF_HEALING = new Set(["ExpiredToken", "ExpiredTokenException", "RequestExpired", "RequestTimeTooSkewed", "IDPCommunicationError"]);

const TRANSIENT_NAMES = new Set(["TimeoutError", "RequestTimeout", "RequestTimeoutException", "AbortError", "NetworkingError", "ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT"]);

/** Whether retrying later cannot help: a client fault that is neither throttling nor credentials refreshing. */
export function isPermanentAwsError(error: unknown): boolean {
  const e = (error ?? {}) as AwsErrorShape;
  const name = e.name ?? "";
  const status = e.$metadata?.httpStatusCode;
  if (THROTTLING.has(name) || SELF_HEALING.has(name) || TRANSIENT_NAMES.has(name) || e.$retryable) return false;
  if (e.$fault === "server" || (status !== undefined && (status >= 500 || status === 429 || status === 408))) return false;
  return e.$fault === "client" || (status !== undefined && status >= 400 && status < 500);
}

/** The error to throw for a failed AWS call: PermanentError (to the DLQ) or RetryError (back to the queue). */
export function awsFailure(what: string, error: unknown): PermanentError | RetryError {
  const e = (error ?? {}) as AwsErrorShape;
  const message = `${what} failed: ${e.name ? `${e.name}: ` : ""}${e.message ?? String(error)}`;
  return isPermanentAwsError(error) ? new PermanentError(message, e.name ?? "ClientError", { cause: error }) : new RetryError(message, undefined, { cause: error });
}
