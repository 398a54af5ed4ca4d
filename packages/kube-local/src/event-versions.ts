/**
 * events.k8s.io/v1 and core/v1 Events are one stored resource seen in two shapes, as in
 * kube-apiserver: the store keeps the core shape and these functions translate at the edge.
 */
import type { StatusCause } from "./errors";
import { isRecord, type KubeObject } from "./wire";
import * as v from "./validation";

const RENAMES: readonly [core: string, events: string][] = [
  ["involvedObject", "regarding"],
  ["message", "note"],
  ["reportingComponent", "reportingController"],
  ["source", "deprecatedSource"],
  ["firstTimestamp", "deprecatedFirstTimestamp"],
  ["lastTimestamp", "deprecatedLastTimestamp"],
  ["count", "deprecatedCount"],
];

function rename(obj: KubeObject, pairs: readonly [string, string][]): KubeObject {
  const out: KubeObject = { metadata: obj.metadata };
  const map = new Map(pairs);
  for (const [key, value] of Object.entries(obj)) {
    if (key === "metadata" || key === "apiVersion" || key === "kind") continue;
    out[map.get(key) ?? key] = value;
  }
  return out;
}

export function eventToEventsV1(stored: KubeObject): KubeObject {
  return { apiVersion: "events.k8s.io/v1", kind: "Event", ...rename(stored, RENAMES) };
}

export function eventFromEventsV1(external: KubeObject): KubeObject {
  return { apiVersion: "v1", kind: "Event", ...rename(external, RENAMES.map(([a, b]) => [b, a] as [string, string])) };
}

/** events.k8s.io/v1 requires what core/v1 leaves optional (validation.ValidateEventCreate, v1 rules). */
export function validateEventsV1(external: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  for (const field of ["eventTime", "reportingController", "reportingInstance", "action", "reason"]) {
    const value = external[field];
    if (typeof value !== "string" || value === "") causes.push(v.required(field));
  }
  const type = external["type"];
  if (type !== "Normal" && type !== "Warning") causes.push(v.notSupported("type", type, ["Normal", "Warning"]));
  if (!isRecord(external["regarding"])) causes.push(v.required("regarding"));
  const note = external["note"];
  if (typeof note === "string" && note.length > 1024) causes.push(v.invalid("note", "<truncated>", "can have at most 1024 characters"));
  return causes;
}
