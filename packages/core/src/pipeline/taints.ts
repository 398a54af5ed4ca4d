/** The taints spot-manager sets, per purpose and style, carrying the event id as their state. */
import { TAINT_KEYS, type TaintEffect, type TaintPurpose, type TaintStyle } from "../constants";
import type { Taint } from "../kube/types";

/** Event ids become taint values, which must be valid label values (63 characters, alphanumeric ends). */
export function taintValue(eventId: string): string {
  const cleaned = eventId.replace(/[^A-Za-z0-9._-]/g, "-").slice(0, 63);
  return cleaned.replace(/^[^A-Za-z0-9]+/, "").replace(/[^A-Za-z0-9]+$/, "");
}

/** The taint key of a purpose in a style; undefined where that style sets no taint. */
export function taintKey(style: TaintStyle, purpose: TaintPurpose): string | undefined {
  return TAINT_KEYS[style][purpose];
}

export function taintFor(style: TaintStyle, purpose: TaintPurpose, eventId: string, effect: TaintEffect): Taint | undefined {
  const key = taintKey(style, purpose);
  return key === undefined ? undefined : { key, value: taintValue(eventId), effect };
}

export function describeTaint(t: Taint): string {
  return `${t.key}${t.value ? `=${t.value}` : ""}:${t.effect}`;
}
