/** EC2 Instance Rebalance Recommendation: elevated risk of interruption, no deadline yet. */
import * as z from "zod";
import { envelopeBase, INSTANCE_ID, parseOrThrow, type Envelope } from "./envelope";
import type { InterruptionEvent } from "./types";

export const SOURCE = "aws.ec2";
export const DETAIL_TYPE = "EC2 Instance Rebalance Recommendation";

const detailSchema = z.object({ "instance-id": INSTANCE_ID });

export function parseRebalanceRecommendation(envelope: Envelope): InterruptionEvent[] {
  const detail = parseOrThrow(detailSchema, envelope.detail, `${DETAIL_TYPE} ${envelope.id}`, "detail");
  return [{ ...envelopeBase(envelope), kind: "rebalance-recommendation", instanceId: detail["instance-id"] }];
}
