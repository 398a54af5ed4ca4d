/** EC2 Instance State-change Notification: stopping / shutting-down drain what is left; terminated is recorded. */
import * as z from "zod";
import { envelopeBase, INSTANCE_ID, parseOrThrow, type Envelope } from "./envelope";
import type { InterruptionEvent } from "./types";

export const SOURCE = "aws.ec2";
export const DETAIL_TYPE = "EC2 Instance State-change Notification";

const detailSchema = z.object({
  "instance-id": INSTANCE_ID,
  state: z.enum(["pending", "running", "stopping", "stopped", "shutting-down", "terminated"]),
});

export function parseInstanceStateChange(envelope: Envelope): InterruptionEvent[] {
  const detail = parseOrThrow(detailSchema, envelope.detail, `${DETAIL_TYPE} ${envelope.id}`, "detail");
  return [{ ...envelopeBase(envelope), kind: "state-change", instanceId: detail["instance-id"], state: detail.state }];
}
