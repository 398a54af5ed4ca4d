/** EC2 Spot Instance Interruption Warning: drain before the two minutes run out. */
import * as z from "zod";
import { envelopeBase, INSTANCE_ID, parseOrThrow, type Envelope } from "./envelope";
import { SPOT_WARNING_SECONDS, type InterruptionEvent } from "./types";

export const SOURCE = "aws.ec2";
export const DETAIL_TYPE = "EC2 Spot Instance Interruption Warning";

const detailSchema = z.object({
  "instance-id": INSTANCE_ID,
  "instance-action": z.enum(["terminate", "stop", "hibernate"]),
});

export function parseSpotInterruption(envelope: Envelope): InterruptionEvent[] {
  const detail = parseOrThrow(detailSchema, envelope.detail, `${DETAIL_TYPE} ${envelope.id}`, "detail");
  const base = envelopeBase(envelope);
  return [
    {
      ...base,
      kind: "spot-interruption",
      instanceId: detail["instance-id"],
      spotAction: detail["instance-action"],
      deadline: new Date(base.time.getTime() + SPOT_WARNING_SECONDS * 1000),
    },
  ];
}
