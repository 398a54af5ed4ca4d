/**
 * The node's own record of the events acted on it: an annotation listing `<kind>/<event id>#<attempt>`
 * entries, written in the same resourceVersion-guarded patch as the protection. Of all deliveries
 * of one event (duplicates in one batch, in parallel invocations, or an hour later), exactly one
 * write adds the entry: that delivery is the first, and only it counts, notifies and records.
 */
import { ANNOTATIONS } from "../constants";
import type { Node } from "../kube/types";
import { taintValue } from "./taints";

/** Entries kept: enough for every signal a node sees in its life, bounded all the same. */
export const MAX_LEDGER_ENTRIES = 16;

/** Kinds whose entries mean the node is going away (or going down for maintenance). */
const GOING_AWAY = ["spot-interruption", "asg-terminate", "state-change", "scheduled-change"];

export function ledgerEntry(kind: string, eventId: string, attempt: number): string {
  return `${kind}/${taintValue(eventId)}#${attempt}`;
}

export function ledgerOf(node: Node): string[] {
  return (node.metadata?.annotations?.[ANNOTATIONS.ledger] ?? "").split(/\s+/).filter(Boolean);
}

export function ledgerHas(node: Node, entry: string): boolean {
  return ledgerOf(node).includes(entry);
}

/** The annotation value with `entry` added (the oldest dropped beyond the bound). */
export function ledgerWith(node: Node, entry: string): string {
  const entries = ledgerOf(node).filter((e) => e !== entry);
  entries.push(entry);
  return entries.slice(-MAX_LEDGER_ENTRIES).join(" ");
}

/** Whether a signal that takes the node away was acted on it (whatever taints are left), other than the one named. */
export function goingAway(node: Node, except?: { kind: string; eventId: string }): boolean {
  const own = except ? `${except.kind}/${taintValue(except.eventId)}#` : undefined;
  return ledgerOf(node).some((entry) => (own === undefined || !entry.startsWith(own)) && GOING_AWAY.some((kind) => entry.startsWith(`${kind}/`)));
}
