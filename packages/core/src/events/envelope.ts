/** The EventBridge envelope, and how zod's complaints become one clear message naming the fields. */
import * as z from "zod";
import { MalformedEventError } from "../errors";
import { describeZodIssues } from "../zod-issues";

export const INSTANCE_ID = z.string().regex(/^i-[0-9a-f]{8,17}$/, "must be an EC2 instance id (i- followed by 8 or 17 hex digits)");

/** ISO 8601 UTC with or without milliseconds, as EventBridge writes `time`. */
export const ISO_TIME = z.iso.datetime({ offset: true });

export const envelopeSchema = z.object({
  version: z.string().optional(),
  id: z.string().min(1),
  "detail-type": z.string().min(1),
  source: z.string().min(1),
  account: z.string().default(""),
  time: ISO_TIME,
  region: z.string().default(""),
  resources: z.array(z.string()).default([]),
  detail: z.unknown(),
});

export type Envelope = z.infer<typeof envelopeSchema>;

/** Parses with a schema or throws MalformedEventError naming the field, the rule and the value. */
export function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown, what: string, prefix = ""): z.output<T> {
  const result = schema.safeParse(value, { reportInput: true });
  if (!result.success) throw new MalformedEventError(`${what}: ${describeZodIssues(result.error, prefix)}`, { cause: result.error });
  return result.data;
}

/** The source drills put their synthetic signals on the bus with (`spot-manager drill --via eventbridge`). */
export const DRILL_SOURCE = "spot-manager.drill";

export function envelopeBase(envelope: Envelope) {
  return {
    eventId: envelope.id,
    time: new Date(envelope.time),
    region: envelope.region,
    account: envelope.account,
    source: envelope.source,
    detailType: envelope["detail-type"],
    ...(envelope.source === DRILL_SOURCE ? { drill: true } : {}),
  };
}
