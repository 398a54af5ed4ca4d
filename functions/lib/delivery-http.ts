/** The webhook's HTTP edge: a Lambda Function URL request in, a WebhookOutcome out as an HTTP answer. */
import type { WebhookOutcome, WebhookRequest } from "@spot-manager/core";
import type { LambdaFunctionURLEvent } from "aws-lambda";

export interface HttpAnswer {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** Lower-cased headers and the body's bytes as sent (Function URLs base64-encode non-text bodies). */
export function webhookRequestOf(event: Pick<LambdaFunctionURLEvent, "headers" | "body" | "isBase64Encoded">): WebhookRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = value;
  }
  const body = event.body === undefined ? Buffer.alloc(0) : Buffer.from(event.body, event.isBase64Encoded ? "base64" : "utf8");
  return { headers, body };
}

export const STATUS_OF: Record<WebhookOutcome["kind"], number> = {
  rejected: 401,
  invalid: 400,
  pong: 200,
  ignored: 202,
  started: 201,
  "already-building": 200,
  "already-handled": 200,
  "in-progress": 202,
  "launch-failed": 503,
  unavailable: 503,
};

/** A JSON answer GitHub shows in the hook's delivery log. */
export function answerOf(outcome: WebhookOutcome): HttpAnswer {
  const { kind, ...rest } = outcome;
  return { statusCode: STATUS_OF[kind], headers: { "content-type": "application/json" }, body: JSON.stringify({ status: kind, ...rest }) };
}
