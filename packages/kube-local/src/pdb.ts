/**
 * PodDisruptionBudget status computed live from the pods it selects, with the disruption
 * controller's arithmetic (pkg/controller/disruption), so evictions always see current numbers.
 */
import type { V1PodDisruptionBudget, V1PodDisruptionBudgetStatus } from "@kubernetes/client-node";
import type { ObjectStore } from "./store";
import { asPod, controllerOf, isPodReady, isTerminating, podPhase, timestamp, type Pod } from "./objects";
import { matchesLabelSelectorObject } from "./selectors";
import { isRecord, type KubeObject, type Wire } from "./wire";

export type Pdb = Wire<V1PodDisruptionBudget> & KubeObject;
export type PdbStatus = Wire<V1PodDisruptionBudgetStatus>;

/** Pods a PDB covers: same namespace, selector matches, not finished. */
export function podsForPdb(store: ObjectStore, pdb: Pdb, opts: { emptyMatchesAll: boolean }): Pod[] {
  const selector = pdb.spec?.selector;
  return store
    .peekAll("pods", pdb.metadata.namespace)
    .map(asPod)
    .filter((pod) => matchesLabelSelectorObject(selector, pod.metadata.labels ?? {}, opts));
}

function scaleOfController(store: ObjectStore, pod: Pod): number | undefined {
  const owner = controllerOf(pod);
  if (!owner || owner.kind !== "ReplicaSet") return undefined;
  const rs = store.peek("replicasets", pod.metadata.namespace, owner.name);
  if (!rs || rs.metadata.uid !== owner.uid) return undefined;
  const rsOwner = controllerOf(rs);
  if (rsOwner?.kind === "Deployment") {
    const deployment = store.peek("deployments", pod.metadata.namespace, rsOwner.name);
    if (deployment && deployment.metadata.uid === rsOwner.uid) return replicasOf(deployment);
  }
  return replicasOf(rs);
}

function replicasOf(obj: KubeObject): number {
  const spec = obj["spec"];
  return isRecord(spec) && typeof spec["replicas"] === "number" ? spec["replicas"] : 1;
}

/** Scales an int-or-percent against a total, rounding up as the controller does. */
export function scaledValue(value: number | string, total: number): number {
  if (typeof value === "number") return value;
  const percent = Number(value.replace(/%$/, ""));
  return Math.ceil((percent * total) / 100);
}

/** The status the disruption controller would write now. */
export function computePdbStatus(store: ObjectStore, pdb: Pdb, now: Date): PdbStatus {
  const pods = podsForPdb(store, pdb, { emptyMatchesAll: true }).filter((p) => {
    const phase = podPhase(p);
    return phase !== "Succeeded" && phase !== "Failed";
  });
  const currentHealthy = pods.filter((p) => isPodReady(p) && !isTerminating(p)).length;
  const generation = pdb.metadata.generation ?? 1;
  const minAvailable = pdb.spec?.minAvailable;
  const maxUnavailable = pdb.spec?.maxUnavailable;

  let expectedPods: number;
  let desiredHealthy: number;
  if (typeof minAvailable === "number") {
    expectedPods = pods.length;
    desiredHealthy = minAvailable;
  } else {
    // percentages and maxUnavailable need the owning controllers' scale
    const seen = new Map<string, number>();
    for (const pod of pods) {
      const scale = scaleOfController(store, pod);
      const owner = controllerOf(pod);
      if (scale === undefined || !owner) return syncFailed(currentHealthy, generation, pdb.metadata.creationTimestamp ?? timestamp(now), `found no controllers for pod "${pod.metadata.name}"`);
      seen.set(owner.uid, scale);
    }
    expectedPods = [...seen.values()].reduce((a, b) => a + b, 0);
    if (minAvailable !== undefined) {
      desiredHealthy = scaledValue(minAvailable, expectedPods);
    } else {
      desiredHealthy = Math.max(0, expectedPods - scaledValue(maxUnavailable ?? 0, expectedPods));
    }
  }
  const disruptionsAllowed = expectedPods <= 0 ? 0 : Math.max(0, currentHealthy - desiredHealthy);
  return {
    observedGeneration: generation,
    disruptionsAllowed,
    currentHealthy,
    desiredHealthy,
    expectedPods,
    conditions: [
      {
        type: "DisruptionAllowed",
        status: disruptionsAllowed > 0 ? "True" : "False",
        reason: disruptionsAllowed > 0 ? "SufficientPods" : "InsufficientPods",
        message: "",
        observedGeneration: generation,
        lastTransitionTime: pdb.metadata.creationTimestamp ?? timestamp(now),
      },
    ],
  };
}

function syncFailed(currentHealthy: number, generation: number, since: string, message: string): PdbStatus {
  return {
    observedGeneration: generation,
    disruptionsAllowed: 0,
    currentHealthy,
    desiredHealthy: 0,
    expectedPods: 0,
    conditions: [
      { type: "DisruptionAllowed", status: "False", reason: "SyncFailed", message, observedGeneration: generation, lastTransitionTime: since },
    ],
  };
}
