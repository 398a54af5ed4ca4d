/**
 * GitHub push webhooks on a Lambda Function URL: signature first, then the push, then a CodeBuild
 * build of the pushed commit, once per delivery (X-GitHub-Delivery, kept in DynamoDB). The logic
 * lives in @spot-manager/core; this maps HTTP in and out.
 */
import { receiveGitHubWebhook } from "@spot-manager/core";
import type { LambdaFunctionURLEvent } from "aws-lambda";
import { readWebhookConfig } from "../lib/delivery-env";
import { answerOf, webhookRequestOf, type HttpAnswer } from "../lib/delivery-http";
import { createWebhookRuntime, type WebhookRuntime } from "../lib/delivery-runtime";
import { createLogger, EmfMetrics } from "../lib/powertools";
import { oncePerColdStart } from "../lib/runtime";

export type WebhookEvent = Pick<LambdaFunctionURLEvent, "headers" | "body" | "isBase64Encoded">;

/** The handler around a runtime factory, called once per cold start (and again after it failed). */
export function createWebhookHandler(createRuntime: () => WebhookRuntime) {
  const runtime = oncePerColdStart(createRuntime);
  return async (event: WebhookEvent): Promise<HttpAnswer> => {
    const ready = await runtime();
    try {
      return answerOf(await receiveGitHubWebhook(ready.deps, webhookRequestOf(event)));
    } finally {
      ready.metrics.flush?.();
    }
  };
}

export const handler = createWebhookHandler(() => {
  const config = readWebhookConfig(process.env);
  return createWebhookRuntime(config, createLogger("spot-manager-delivery-webhook"), new EmfMetrics("spot-manager-delivery", { project: config.projectName }));
});
