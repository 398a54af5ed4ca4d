/** GitHub webhook deliveries as a Lambda Function URL hands them to the handler. */
import { createHmac, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { LambdaFunctionURLEvent } from "aws-lambda";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures");

export const SECRET = "9b1d6f3a-webhook-secret-for-tests";
export const REPOSITORY = "example-org/sample-app";
export const PUSHED_COMMIT = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";

/** A fresh copy of a payload fixture. */
export function payload(name: "github-push" | "github-ping"): Record<string, unknown> {
  return JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), "utf8")) as Record<string, unknown>;
}

export function hmac(secret: string, body: Buffer | string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

export interface DeliveryOptions {
  event?: string;
  /** The exact body bytes (default: compact JSON of the payload). */
  body?: Buffer;
  /** The signature header value; `null` leaves the header out. Default: the body signed with SECRET. */
  signature?: string | null;
  contentType?: string;
  base64?: boolean;
  deliveryId?: string;
}

/** A Function URL event (payload format 2.0) carrying a GitHub delivery. */
export function delivery(body: unknown, options: DeliveryOptions = {}): LambdaFunctionURLEvent {
  const bytes = options.body ?? Buffer.from(JSON.stringify(body), "utf8");
  const signature = options.signature === undefined ? hmac(SECRET, bytes) : options.signature;
  const deliveryId = options.deliveryId ?? randomUUID();
  const headers: Record<string, string> = {
    accept: "*/*",
    "content-type": options.contentType ?? "application/json",
    "content-length": String(bytes.length),
    host: "abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-west-2.on.aws",
    "user-agent": "GitHub-Hookshot/5a6e3f1",
    "x-amzn-trace-id": "Root=1-66439f23-0c1d2e3f4a5b6c7d8e9f0a1b",
    "x-forwarded-for": "140.82.115.54",
    "x-forwarded-port": "443",
    "x-forwarded-proto": "https",
    "x-github-delivery": deliveryId,
    "x-github-event": options.event ?? "push",
    "x-github-hook-id": "481516234",
    "x-github-hook-installation-target-id": "812345678",
    "x-github-hook-installation-target-type": "repository",
  };
  if (signature !== null) headers["x-hub-signature-256"] = signature;
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: "/",
    rawQueryString: "",
    headers,
    requestContext: {
      accountId: "anonymous",
      apiId: "abcdefghijklmnopqrstuvwxyz012345",
      domainName: "abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-west-2.on.aws",
      domainPrefix: "abcdefghijklmnopqrstuvwxyz012345",
      http: { method: "POST", path: "/", protocol: "HTTP/1.1", sourceIp: "140.82.115.54", userAgent: "GitHub-Hookshot/5a6e3f1" },
      requestId: randomUUID(),
      routeKey: "$default",
      stage: "$default",
      time: "14/May/2024:17:58:27 +0000",
      timeEpoch: 1715709507000,
    },
    body: options.base64 ? bytes.toString("base64") : bytes.toString("utf8"),
    isBase64Encoded: options.base64 ?? false,
  };
}
