/**
 * EC2 Auto Scaling lifecycle actions, through EventBridge (`EC2 Instance-terminate/launch Lifecycle
 * Action`) or sent by the hook straight to SQS (flat JSON, with a TEST_NOTIFICATION on creation).
 */
import * as z from "zod";
import { SkipError } from "../errors";
import { envelopeBase, INSTANCE_ID, parseOrThrow, type Envelope } from "./envelope";
import type { InterruptionEvent, LifecycleDetails } from "./types";

export const SOURCE = "aws.autoscaling";
export const TERMINATE_DETAIL_TYPE = "EC2 Instance-terminate Lifecycle Action";
export const LAUNCH_DETAIL_TYPE = "EC2 Instance-launch Lifecycle Action";

const TERMINATING = "autoscaling:EC2_INSTANCE_TERMINATING";
const LAUNCHING = "autoscaling:EC2_INSTANCE_LAUNCHING";

/*
 * Auto Scaling's own limits on the names and token CompleteLifecycleAction takes (its API model).
 * Auto Scaling never sends values beyond them, and completing with one is refused every time
 * (ValidationError), so such a message is malformed: acknowledged with the reason, never retried.
 */
export const LIFECYCLE_HOOK_NAME = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9\-_/]+$/, "must be a lifecycle hook name (letters, digits, '-', '_' and '/')");
export const AUTO_SCALING_GROUP_NAME = z
  .string()
  .min(1)
  .max(1600)
  .regex(/^[\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}\r\n\t]*$/u, "must be an Auto Scaling group name (no control characters)");
export const LIFECYCLE_ACTION_TOKEN = z.string().length(36, "must be a lifecycle action token (36 characters)");

const detailSchema = z.object({
  LifecycleActionToken: LIFECYCLE_ACTION_TOKEN,
  AutoScalingGroupName: AUTO_SCALING_GROUP_NAME,
  LifecycleHookName: LIFECYCLE_HOOK_NAME,
  EC2InstanceId: INSTANCE_ID,
  LifecycleTransition: z.enum([TERMINATING, LAUNCHING]),
  NotificationMetadata: z.string().optional(),
  Origin: z.string().optional(),
  Destination: z.string().optional(),
});

type Detail = z.infer<typeof detailSchema>;

function lifecycleOf(detail: Detail): LifecycleDetails {
  return {
    hookName: detail.LifecycleHookName,
    asgName: detail.AutoScalingGroupName,
    token: detail.LifecycleActionToken,
    transition: detail.LifecycleTransition,
    ...(detail.NotificationMetadata !== undefined ? { metadata: detail.NotificationMetadata } : {}),
    ...(detail.Origin !== undefined ? { origin: detail.Origin } : {}),
    ...(detail.Destination !== undefined ? { destination: detail.Destination } : {}),
  };
}

export function parseAsgLifecycle(envelope: Envelope): InterruptionEvent[] {
  const detail = parseOrThrow(detailSchema, envelope.detail, `${envelope["detail-type"]} ${envelope.id}`, "detail");
  const expected = envelope["detail-type"] === TERMINATE_DETAIL_TYPE ? TERMINATING : LAUNCHING;
  if (detail.LifecycleTransition !== expected) {
    parseOrThrow(z.literal(expected), detail.LifecycleTransition, `${envelope["detail-type"]} ${envelope.id}`, "detail.LifecycleTransition");
  }
  return [
    {
      ...envelopeBase(envelope),
      kind: detail.LifecycleTransition === TERMINATING ? "asg-terminate" : "asg-launch",
      instanceId: detail.EC2InstanceId,
      lifecycle: lifecycleOf(detail),
    },
  ];
}

const directSchema = detailSchema.extend({
  Service: z.string().optional(),
  Time: z.iso.datetime({ offset: true }),
  RequestId: z.string().optional(),
  AccountId: z.string().default(""),
  AutoScalingGroupARN: z.string().optional(),
});

/** True for the flat message a lifecycle hook sends to an SQS target without EventBridge. */
export function isDirectLifecycleMessage(value: Record<string, unknown>): boolean {
  return "LifecycleTransition" in value || value["Event"] === "autoscaling:TEST_NOTIFICATION";
}

export function parseDirectLifecycleMessage(value: Record<string, unknown>): InterruptionEvent[] {
  if (value["Event"] === "autoscaling:TEST_NOTIFICATION") {
    throw new SkipError("test-notification", `Auto Scaling test notification for ${String(value["AutoScalingGroupName"] ?? "an Auto Scaling group")}`);
  }
  const message = parseOrThrow(directSchema, value, "Auto Scaling lifecycle notification");
  const region = /^arn:aws[\w-]*:autoscaling:([\w-]+):/.exec(message.AutoScalingGroupARN ?? "")?.[1] ?? "";
  return [
    {
      kind: message.LifecycleTransition === TERMINATING ? "asg-terminate" : "asg-launch",
      eventId: message.RequestId ?? message.LifecycleActionToken,
      instanceId: message.EC2InstanceId,
      time: new Date(message.Time),
      region,
      account: message.AccountId,
      source: SOURCE,
      detailType: message.LifecycleTransition === TERMINATING ? TERMINATE_DETAIL_TYPE : LAUNCH_DETAIL_TYPE,
      lifecycle: lifecycleOf(message),
    },
  ];
}
