/**
 * Turns whatever reaches the interruption function (an SQS record body, or an EventBridge event
 * invoked directly) into normalized events, dispatching on source + detail-type.
 */
import { MalformedEventError, UnsupportedEventError } from "../errors";
import * as asg from "./asg-lifecycle";
import { DRILL_SOURCE, envelopeSchema, parseOrThrow, type Envelope } from "./envelope";
import { FOLLOW_UP_DETAIL_TYPE, FOLLOW_UP_SOURCE, parseFollowUp } from "./follow-up";
import * as stateChange from "./instance-state-change";
import * as rebalance from "./rebalance-recommendation";
import * as health from "./scheduled-change";
import * as spot from "./spot-interruption";
import type { InterruptionEvent, ParsedMessage } from "./types";

type Parser = (envelope: Envelope) => InterruptionEvent[];

const PARSERS: Record<string, Parser> = {
  [`${spot.SOURCE}|${spot.DETAIL_TYPE}`]: spot.parseSpotInterruption,
  [`${rebalance.SOURCE}|${rebalance.DETAIL_TYPE}`]: rebalance.parseRebalanceRecommendation,
  [`${asg.SOURCE}|${asg.TERMINATE_DETAIL_TYPE}`]: asg.parseAsgLifecycle,
  [`${asg.SOURCE}|${asg.LAUNCH_DETAIL_TYPE}`]: asg.parseAsgLifecycle,
  [`${stateChange.SOURCE}|${stateChange.DETAIL_TYPE}`]: stateChange.parseInstanceStateChange,
  [`${health.SOURCE}|${health.DETAIL_TYPE}`]: health.parseScheduledChange,
};

/** The source / detail-type pairs this product handles (EventBridge rules are built from them). */
export const HANDLED_SIGNALS: readonly { source: string; detailType: string }[] = Object.keys(PARSERS).map((key) => {
  const [source, detailType] = key.split("|") as [string, string];
  return { source, detailType };
});

/** A drill's signal: AWS's detail-type and detail, put on the bus under the drill source. */
const DRILL_PARSERS: Record<string, Parser> = Object.fromEntries(HANDLED_SIGNALS.map(({ source, detailType }) => [detailType, PARSERS[`${source}|${detailType}`] as Parser]));

function parserFor(envelope: Envelope): Parser | undefined {
  if (envelope.source === DRILL_SOURCE) return DRILL_PARSERS[envelope["detail-type"]];
  return PARSERS[`${envelope.source}|${envelope["detail-type"]}`];
}

/** A direct invoke of a drill (`spot-manager drill --via invoke`) carries `drill: {...}` beside the event. */
function markedAsDrill(record: Record<string, unknown>): boolean {
  const drill = record["drill"];
  return typeof drill === "object" && drill !== null && !Array.isArray(drill);
}

/** Parses a decoded message: an EventBridge event, a follow-up, or a direct Auto Scaling notification. */
export function parseMessage(value: unknown): ParsedMessage {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new MalformedEventError(`message must be a JSON object, got ${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value}`);
  }
  const record = value as Record<string, unknown>;
  if (!("detail-type" in record) && asg.isDirectLifecycleMessage(record)) {
    return { type: "signal", events: asg.parseDirectLifecycleMessage(record) };
  }
  const envelope = parseOrThrow(envelopeSchema, record, "EventBridge event");
  if (envelope.source === FOLLOW_UP_SOURCE && envelope["detail-type"] === FOLLOW_UP_DETAIL_TYPE) {
    return { type: "follow-up", followUp: parseFollowUp(envelope.detail, envelope.id) };
  }
  const parser = parserFor(envelope);
  if (!parser) throw new UnsupportedEventError(`no handler for source "${envelope.source}" detail-type "${envelope["detail-type"]}" (event ${envelope.id})`);
  const events = parser(envelope);
  return { type: "signal", events: markedAsDrill(record) ? events.map((event) => ({ ...event, drill: true })) : events };
}

/** Parses an SQS record body (the EventBridge event serialized as JSON). */
export function parseMessageBody(body: string | undefined | null): ParsedMessage {
  if (typeof body !== "string" || body.trim() === "") throw new MalformedEventError("record has no body");
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    throw new MalformedEventError(`record body is not JSON (${error instanceof Error ? error.message : String(error)}): ${body.slice(0, 120)}`, { cause: error });
  }
  return parseMessage(value);
}
