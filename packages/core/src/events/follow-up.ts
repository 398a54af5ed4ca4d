/**
 * Follow-ups: work the pipeline hands to its own queue for later (drain before maintenance,
 * rebalance taint removal, launch readiness checks), carried in an EventBridge-shaped envelope.
 */
import * as z from "zod";
import { AUTO_SCALING_GROUP_NAME, LIFECYCLE_ACTION_TOKEN, LIFECYCLE_HOOK_NAME } from "./asg-lifecycle";
import { INSTANCE_ID, ISO_TIME, parseOrThrow } from "./envelope";
import { INTERRUPTION_KINDS, type FollowUp, type InterruptionEvent } from "./types";

export const FOLLOW_UP_SOURCE = "spot-manager";
export const FOLLOW_UP_DETAIL_TYPE = "Spot Manager Follow-up";

const date = ISO_TIME.transform((s) => new Date(s));

const eventSchema = z.object({
  kind: z.enum(INTERRUPTION_KINDS as [InterruptionEvent["kind"], ...InterruptionEvent["kind"][]]),
  eventId: z.string().min(1),
  instanceId: INSTANCE_ID,
  time: date,
  deadline: date.optional(),
  region: z.string(),
  account: z.string(),
  source: z.string(),
  detailType: z.string(),
  spotAction: z.enum(["terminate", "stop", "hibernate"]).optional(),
  lifecycle: z
    .object({
      hookName: LIFECYCLE_HOOK_NAME,
      asgName: AUTO_SCALING_GROUP_NAME,
      token: LIFECYCLE_ACTION_TOKEN,
      transition: z.enum(["autoscaling:EC2_INSTANCE_TERMINATING", "autoscaling:EC2_INSTANCE_LAUNCHING"]),
      metadata: z.string().optional(),
      origin: z.string().optional(),
      destination: z.string().optional(),
    })
    .optional(),
  state: z.enum(["pending", "running", "stopping", "stopped", "shutting-down", "terminated"]).optional(),
  scheduled: z
    .object({ eventArn: z.string(), eventTypeCode: z.string(), startTime: date, endTime: date.optional(), description: z.string().optional() })
    .optional(),
  drill: z.boolean().optional(),
});

const followUpSchema = z.object({
  action: z.enum(["drain-for-maintenance", "remove-rebalance-taint", "check-launch-ready", "continue-drain", "check-restarted", "check-reclaimed"]),
  event: eventSchema,
  due: date,
  attempt: z.number().int().min(0),
});

export function parseFollowUp(detail: unknown, id: string): FollowUp {
  return parseOrThrow(followUpSchema, detail, `${FOLLOW_UP_DETAIL_TYPE} ${id}`, "detail") as FollowUp;
}

/** The envelope a follow-up travels in (JSON dates as ISO strings). */
export function followUpEnvelope(followUp: FollowUp, now: Date): Record<string, unknown> {
  return {
    version: "0",
    id: `${followUp.event.eventId}/${followUp.action}/${followUp.attempt}`,
    "detail-type": FOLLOW_UP_DETAIL_TYPE,
    source: FOLLOW_UP_SOURCE,
    account: followUp.event.account,
    time: now.toISOString(),
    region: followUp.event.region,
    resources: [],
    detail: JSON.parse(JSON.stringify(followUp)) as unknown,
  };
}
