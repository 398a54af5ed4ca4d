/**
 * PodDisruptionBudget status with the disruption controller's arithmetic
 * (pkg/controller/disruption): which pods a budget covers, the expected count from the owning
 * controllers' scale, how many are healthy, and the DisruptionAllowed condition. Pure: the
 * controller that writes it, and when, lives in control/disruption-controller.ts.
 */
import type { V1LabelSelector, V1PodDisruptionBudget, V1PodDisruptionBudgetStatus } from "@kubernetes/client-node";
import type { ObjectStore } from "./store";
import { asPod, controllerOf, isPodReady, isTerminating, timestamp, type Pod } from "./objects";
import { matchesLabelSelectorObject } from "./selectors";
import { isRecord, type KubeObject, type Wire } from "./wire";

export type Pdb = Wire<V1PodDisruptionBudget> & KubeObject;
export type PdbStatus = Wire<V1PodDisruptionBudgetStatus>;
type Condition = NonNullable<PdbStatus["conditions"]>[number];

/** How long an eviction's entry in status.disruptedPods keeps its pod out of the healthy count (upstream DeletionTimeout). */
export const DELETION_TIMEOUT_MS = 2 * 60 * 1000;

/** Pods the disruption controller counts for a budget: its namespace, its selector (empty selects all, none selects none). */
export function podsForPdb(store: ObjectStore, pdb: Pdb): Pod[] {
  return store
    .peekAll("pods", pdb.metadata.namespace)
    .map(asPod)
    .filter((pod) => matchesLabelSelectorObject(pdb.spec?.selector, pod.metadata.labels ?? {}, { emptyMatchesAll: true }));
}

function replicasOf(obj: KubeObject): number {
  const spec = obj["spec"];
  return isRecord(spec) && typeof spec["replicas"] === "number" ? spec["replicas"] : 1;
}

/** The controllers the disruption controller can read a scale from: Deployment (through its ReplicaSet), ReplicaSet, StatefulSet, ReplicationController. */
function controllerScale(store: ObjectStore, pod: Pod): { uid: string; scale: number } | undefined {
  const ref = controllerOf(pod);
  if (!ref) return undefined;
  const namespace = pod.metadata.namespace;
  const found = (storage: string, name: string, uid: string) => {
    const obj = store.peek(storage, namespace, name);
    return obj && obj.metadata.uid === uid ? obj : undefined;
  };
  if (ref.kind === "ReplicaSet") {
    const rs = found("replicasets", ref.name, ref.uid);
    if (!rs) return undefined;
    const rsOwner = controllerOf(rs);
    if (rsOwner?.kind === "Deployment") {
      const deployment = found("deployments", rsOwner.name, rsOwner.uid);
      return deployment ? { uid: deployment.metadata.uid ?? "", scale: replicasOf(deployment) } : undefined;
    }
    return { uid: rs.metadata.uid ?? "", scale: replicasOf(rs) };
  }
  const storage = ref.kind === "StatefulSet" ? "statefulsets" : ref.kind === "ReplicationController" ? "replicationcontrollers" : undefined;
  const owner = storage ? found(storage, ref.name, ref.uid) : undefined;
  return owner ? { uid: owner.metadata.uid ?? "", scale: replicasOf(owner) } : undefined;
}

/** Scales an int-or-percent against a total, rounding up as intstr.GetScaledValueFromIntOrPercent(…, true) does. */
export function scaledValue(value: number | string, total: number): number {
  if (typeof value === "number") return value;
  const percent = Number(value.replace(/%$/, ""));
  return Math.ceil((percent * total) / 100);
}

export interface PdbSync {
  /** The status the controller writes. */
  status: PdbStatus;
  /** Events the sync records on the budget. */
  events: { type: "Normal" | "Warning"; reason: string; message: string }[];
  /** When an entry of status.disruptedPods expires and the budget must be synced again. */
  recheckAt?: number;
}

/** What the disruption controller's sync writes for a budget now (trySync, or failSafe when the count cannot be made). */
export function syncPdbStatus(store: ObjectStore, pdb: Pdb, now: Date, deletionTimeoutMs = DELETION_TIMEOUT_MS, selected?: readonly Pod[]): PdbSync {
  const pods = selected ? [...selected] : podsForPdb(store, pdb);
  const events: PdbSync["events"] = [];
  if (pods.length === 0) events.push({ type: "Normal", reason: "NoPods", message: "No matching pods found" });

  const expected = expectedCount(store, pdb, pods);
  if ("error" in expected) {
    events.push({ type: "Warning", reason: "CalculateExpectedPodCountFailed", message: `Failed to calculate the number of expected pods: ${expected.error}` });
    return { status: failSafe(pdb, expected.error, now), events };
  }
  if (expected.unmanaged.length > 0) {
    events.push({
      type: "Warning",
      reason: "UnmanagedPods",
      message:
        `Pods selected by this PodDisruptionBudget (selector: ${selectorText(pdb.spec?.selector)}) were found to be unmanaged. ` +
        'As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. To account for these pods please set ".spec.minAvailable" field of the PDB to an integer value.',
    });
  }

  const nowMs = now.getTime();
  const previous = pdb.status?.disruptedPods ?? {};
  const disruptedPods: Record<string, string> = {};
  let recheckAt: number | undefined;
  for (const pod of pods) {
    if (isTerminating(pod)) continue;
    const since = previous[pod.metadata.name ?? ""];
    if (since === undefined) continue;
    const expires = Date.parse(since) + deletionTimeoutMs;
    if (expires < nowMs) continue; // the eviction never happened: the pod counts again
    disruptedPods[pod.metadata.name ?? ""] = since;
    recheckAt = recheckAt === undefined ? expires : Math.min(recheckAt, expires);
  }
  const currentHealthy = pods.filter((pod) => !isTerminating(pod) && disruptedPods[pod.metadata.name ?? ""] === undefined && isPodReady(pod)).length;
  let disruptionsAllowed = currentHealthy - expected.desiredHealthy;
  if (expected.count <= 0 || disruptionsAllowed <= 0) disruptionsAllowed = 0;

  const generation = pdb.metadata.generation ?? 1;
  const status: PdbStatus = {
    observedGeneration: generation,
    ...(Object.keys(disruptedPods).length > 0 ? { disruptedPods } : {}),
    disruptionsAllowed,
    currentHealthy,
    desiredHealthy: expected.desiredHealthy,
    expectedPods: expected.count,
  };
  status.conditions = withDisruptionAllowedCondition(pdb.status?.conditions ?? [], disruptionsAllowed, generation, now);
  return { status, events, ...(recheckAt !== undefined ? { recheckAt } : {}) };
}

type Expected = { count: number; desiredHealthy: number; unmanaged: string[] } | { error: string };

/** getExpectedPodCount: an integer minAvailable counts the pods; anything else needs the controllers' scale. */
function expectedCount(store: ObjectStore, pdb: Pdb, pods: Pod[]): Expected {
  const { minAvailable, maxUnavailable } = pdb.spec ?? {};
  if (maxUnavailable === undefined && typeof minAvailable === "number") return { count: pods.length, desiredHealthy: minAvailable, unmanaged: [] };
  if (maxUnavailable === undefined && minAvailable === undefined) return { count: 0, desiredHealthy: 0, unmanaged: [] };
  const scales = new Map<string, number>();
  const unmanaged: string[] = [];
  for (const pod of pods) {
    const ref = controllerOf(pod);
    if (!ref) {
      unmanaged.push(pod.metadata.name ?? "");
      continue;
    }
    if (scales.has(ref.uid)) continue;
    const found = controllerScale(store, pod);
    if (!found) return { error: `found no controllers for pod "${pod.metadata.name}"` };
    scales.set(found.uid, found.scale);
  }
  const count = [...scales.values()].reduce((a, b) => a + b, 0);
  if (maxUnavailable !== undefined) return { count, desiredHealthy: Math.max(0, count - scaledValue(maxUnavailable, count)), unmanaged };
  return { count, desiredHealthy: scaledValue(minAvailable as string, count), unmanaged };
}

/** failSafe: no disruption allowed, the reason in the condition, everything else as it was. */
function failSafe(pdb: Pdb, message: string, now: Date): PdbStatus {
  const previous: Partial<PdbStatus> = pdb.status ?? {};
  const observedGeneration = previous.observedGeneration ?? 0;
  return {
    ...previous,
    disruptionsAllowed: 0,
    currentHealthy: previous.currentHealthy ?? 0,
    desiredHealthy: previous.desiredHealthy ?? 0,
    expectedPods: previous.expectedPods ?? 0,
    conditions: setCondition(previous.conditions ?? [], { type: "DisruptionAllowed", status: "False", reason: "SyncFailed", message, observedGeneration }, now),
  };
}

/** pdbhelper.UpdateDisruptionAllowedCondition. */
export function withDisruptionAllowedCondition(conditions: readonly Condition[], disruptionsAllowed: number, observedGeneration: number, now: Date): Condition[] {
  const allowed = disruptionsAllowed > 0;
  return setCondition(
    conditions,
    { type: "DisruptionAllowed", status: allowed ? "True" : "False", reason: allowed ? "SufficientPods" : "InsufficientPods", message: "", observedGeneration },
    now,
  );
}

/** apimeta.SetStatusCondition: the transition time moves only when the status changes. */
function setCondition(conditions: readonly Condition[], next: Omit<Condition, "lastTransitionTime">, now: Date): Condition[] {
  const existing = conditions.find((c) => c.type === next.type);
  const lastTransitionTime = existing && existing.status === next.status ? existing.lastTransitionTime : timestamp(now);
  const updated = { ...next, lastTransitionTime } as Condition;
  return existing ? conditions.map((c) => (c.type === next.type ? updated : c)) : [...conditions, updated];
}

/** A LabelSelector as Go's generated String() prints it in the controller's events. */
function selectorText(selector: Wire<V1LabelSelector> | undefined): string {
  if (!selector) return "nil";
  const labels = Object.entries(selector.matchLabels ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}: ${v},`)
    .join("");
  const expressions = (selector.matchExpressions ?? [])
    .map((e) => `LabelSelectorRequirement{Key:${e.key},Operator:${e.operator},Values:[]string{${(e.values ?? []).map((v) => JSON.stringify(v)).join(",")}},}`)
    .join(",");
  return `&LabelSelector{MatchLabels:map[string]string{${labels}},MatchExpressions:[]LabelSelectorRequirement{${expressions}},}`;
}
