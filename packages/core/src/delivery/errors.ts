/** The delivery pipeline's named errors: what a caller answers or retries depends on which one it got. */

export type SignatureProblem = "missing" | "malformed" | "mismatch";

/** The webhook's X-Hub-Signature-256 is absent, unreadable or wrong: answer 401, read nothing else. */
export class WebhookSignatureError extends Error {
  override readonly name = "WebhookSignatureError";
  constructor(readonly problem: SignatureProblem) {
    super(
      problem === "missing"
        ? "X-Hub-Signature-256 header is missing"
        : problem === "malformed"
          ? "X-Hub-Signature-256 header is not sha256=<64 hex digits>"
          : "X-Hub-Signature-256 does not match the body",
    );
  }
}

/** CodeBuild refused or failed to start (or to list) builds: the caller may try again later. */
export class BuildLaunchError extends Error {
  override readonly name = "BuildLaunchError";
  constructor(
    message: string,
    readonly projectName: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Some scheduled builds did not start; the rest did (and are not started twice on a retry). */
export class ScheduledBuildsError extends Error {
  override readonly name = "ScheduledBuildsError";
  constructor(
    readonly failures: { name: string; error: Error }[],
    options?: { cause?: unknown },
  ) {
    super(`scheduled builds not started: ${failures.map((f) => `${f.name} (${f.error.message})`).join("; ")}`, options);
  }
}

/** A secret could not be read or holds nothing usable. */
export class SecretUnavailableError extends Error {
  override readonly name = "SecretUnavailableError";
  constructor(
    readonly secretId: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`secret ${secretId}: ${message}`, options);
  }
}

/** The store of handled deliveries could not be read or written: the delivery is answered 503 and GitHub may redeliver it. */
export class DeliveryLedgerError extends Error {
  override readonly name = "DeliveryLedgerError";
}
