/**
 * The node's record of the replacement requested for its instance, in the annotation
 * `spot-manager/replacement`: `<event id> <mechanism> <group> <ISO time> <state>`. It is written
 * (state `sending`) before the request goes to AWS and settled afterwards (`requested` or
 * `failed`), so a redelivered event never raises a group twice, and every container counts the
 * replacements a group has in flight from the nodes themselves.
 */
import { ANNOTATIONS } from "../constants";
import type { Node } from "../kube/types";
import { taintValue } from "../pipeline/taints";

export type ReplacementMechanism = "detach" | "detach-after-raise" | "raise-desired" | "on-demand-fallback";
export type RecordState = "sending" | "requested" | "failed";

export interface ReplacementRecord {
  eventId: string;
  mechanism: ReplacementMechanism;
  /** The group that launches the replacement (the on-demand group for a fallback). */
  group: string;
  at: number;
  state: RecordState;
}

const MECHANISMS = new Set<string>(["detach", "detach-after-raise", "raise-desired", "on-demand-fallback"]);
const STATES = new Set<string>(["sending", "requested", "failed"]);

export function recordValue(record: ReplacementRecord): string {
  return [taintValue(record.eventId), record.mechanism, record.group, new Date(record.at).toISOString(), record.state].join(" ");
}

/** The node's record, or undefined when it has none (or one nobody could have written: ignored, never trusted). */
export function recordOf(node: Node): ReplacementRecord | undefined {
  const text = node.metadata?.annotations?.[ANNOTATIONS.replacement];
  if (!text) return undefined;
  const [eventId, mechanism, group, iso, state] = text.trim().split(/\s+/);
  const at = Date.parse(iso ?? "");
  if (!eventId || !group || !MECHANISMS.has(mechanism ?? "") || !STATES.has(state ?? "") || Number.isNaN(at)) return undefined;
  return { eventId, mechanism: mechanism as ReplacementMechanism, group, at, state: state as RecordState };
}

/** Whether the record is this event's. */
export function isRecordOf(record: ReplacementRecord | undefined, eventId: string): boolean {
  return record !== undefined && record.eventId === taintValue(eventId);
}

/** Replacements of a group in flight: recorded on its nodes (not failed) within the last `windowMs`. */
export function inFlight(nodes: readonly Node[], group: string, now: number, windowMs: number, except?: string): number {
  return nodes.filter((node) => {
    if (node.metadata?.name === except) return false;
    const record = recordOf(node);
    return record !== undefined && record.group === group && record.state !== "failed" && now - record.at < windowMs;
  }).length;
}
