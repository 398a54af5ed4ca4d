/**
 * AWS Health scheduled changes for EC2 (maintenance, retirement): every affected instance gets
 * its own event, with the maintenance start as the deadline.
 */
import * as z from "zod";
import { UnsupportedEventError } from "../errors";
import { envelopeBase, INSTANCE_ID, parseOrThrow, type Envelope } from "./envelope";
import type { InterruptionEvent } from "./types";

export const SOURCE = "aws.health";
export const DETAIL_TYPE = "AWS Health Event";

/** RFC 1123 (`Tue, 28 May 2024 09:00:00 GMT`), as Health writes start and end times; ISO accepted too. */
const HEALTH_TIME = z.string().refine((s) => !Number.isNaN(Date.parse(s)), "must be a date (RFC 1123 or ISO 8601)");

const detailSchema = z.object({
  eventArn: z.string().min(1),
  service: z.string(),
  eventTypeCode: z.string().min(1),
  eventTypeCategory: z.string(),
  startTime: HEALTH_TIME,
  endTime: HEALTH_TIME.optional(),
  eventDescription: z.array(z.object({ language: z.string().optional(), latestDescription: z.string() })).optional(),
  affectedEntities: z.array(z.object({ entityValue: z.string(), tags: z.record(z.string(), z.string()).optional() })).default([]),
});

export function parseScheduledChange(envelope: Envelope): InterruptionEvent[] {
  const detail = parseOrThrow(detailSchema, envelope.detail, `${DETAIL_TYPE} ${envelope.id}`, "detail");
  if (detail.service !== "EC2" || detail.eventTypeCategory !== "scheduledChange") {
    throw new UnsupportedEventError(`AWS Health event ${envelope.id} is ${detail.service}/${detail.eventTypeCategory}, not EC2/scheduledChange`);
  }
  const instances = [...new Set(detail.affectedEntities.map((e) => e.entityValue).filter((v) => INSTANCE_ID.safeParse(v).success))];
  if (instances.length === 0) {
    parseOrThrow(z.array(INSTANCE_ID).min(1), detail.affectedEntities.map((e) => e.entityValue), `${DETAIL_TYPE} ${envelope.id}`, "detail.affectedEntities");
  }
  const startTime = new Date(detail.startTime);
  const description = detail.eventDescription?.find((d) => d.language === undefined || d.language === "en_US")?.latestDescription;
  return instances.map((instanceId) => ({
    ...envelopeBase(envelope),
    kind: "scheduled-change" as const,
    instanceId,
    deadline: startTime,
    scheduled: {
      eventArn: detail.eventArn,
      eventTypeCode: detail.eventTypeCode,
      startTime,
      ...(detail.endTime ? { endTime: new Date(detail.endTime) } : {}),
      ...(description ? { description } : {}),
    },
  }));
}
