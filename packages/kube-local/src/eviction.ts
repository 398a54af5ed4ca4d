/**
 * The pods/eviction subresource (policy/v1), after kube-apiserver's EvictionREST: a pod is deleted
 * only if the one PodDisruptionBudget covering it allows a disruption now.
 */
import { apiErrors, successStatus, type Status } from "./errors";
import { asPod, isPodReady, isTerminating, podPhase, type Pod } from "./objects";
import { computePdbStatus, type Pdb } from "./pdb";
import { matchesLabelSelectorObject } from "./selectors";
import type { Registry } from "./registry";
import { RESOURCES } from "./resources";
import type { DeleteOptions } from "./strategies";
import { isRecord } from "./wire";

const PODS = RESOURCES.find((r) => r.plural === "pods" && r.group === "")!;

/** Pods that already caused their disruption, or never counted, skip the budget. */
function canIgnorePdb(pod: Pod): boolean {
  const phase = podPhase(pod);
  return phase === "Succeeded" || phase === "Failed" || phase === "Pending" || isTerminating(pod);
}

function deleteOptionsOf(eviction: Record<string, unknown>): DeleteOptions {
  const raw = eviction["deleteOptions"];
  if (!isRecord(raw)) return {};
  const options: DeleteOptions = {};
  if (typeof raw["gracePeriodSeconds"] === "number") options.gracePeriodSeconds = raw["gracePeriodSeconds"];
  if (isRecord(raw["preconditions"])) {
    const pre = raw["preconditions"];
    options.preconditions = {
      ...(typeof pre["uid"] === "string" ? { uid: pre["uid"] } : {}),
      ...(typeof pre["resourceVersion"] === "string" ? { resourceVersion: pre["resourceVersion"] } : {}),
    };
  }
  if (Array.isArray(raw["dryRun"])) options.dryRun = raw["dryRun"].map(String);
  return options;
}

function violation(pdb: Pdb, desired: number, current: number): Error {
  return apiErrors.tooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 0, [
    {
      reason: "DisruptionBudget",
      message: `The disruption budget ${pdb.metadata.name} needs ${desired} healthy pods and has ${current} currently`,
    },
  ]);
}

/** POST .../pods/{name}/eviction: deletes the pod (201 Success) or answers 429/500 as the budget demands. */
export function evictPod(registry: Registry, namespace: string, name: string, body: unknown, requestDryRun: boolean): Status {
  if (!isRecord(body)) throw apiErrors.badRequest("not a Eviction object");
  const kind = body["kind"];
  const apiVersion = body["apiVersion"];
  if (kind !== undefined && kind !== "Eviction") throw apiErrors.badRequest(`not a Eviction object: ${String(kind)}`);
  if (apiVersion !== undefined && apiVersion !== "policy/v1" && apiVersion !== "policy/v1beta1") {
    throw apiErrors.badRequest(`the API version in the data (${String(apiVersion)}) does not match the expected API version (policy/v1)`);
  }
  const metadata = isRecord(body["metadata"]) ? body["metadata"] : {};
  if (metadata["name"] !== name) throw apiErrors.badRequest("name in URL does not match name in Eviction object");

  const options = deleteOptionsOf(body);
  if (requestDryRun) options.dryRun = ["All"];
  const pod = asPod(registry.getStored(PODS, namespace, name));
  if (canIgnorePdb(pod)) {
    registry.delete(PODS, namespace, name, options);
    return successStatus(undefined, 201);
  }

  const pdbs = registry.store
    .peekAll("poddisruptionbudgets", namespace)
    .map((o) => o as Pdb)
    // inside the eviction subresource an empty selector matches nothing
    .filter((pdb) => matchesLabelSelectorObject(pdb.spec?.selector, pod.metadata.labels ?? {}, { emptyMatchesAll: false }));
  if (pdbs.length > 1) {
    return {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
      code: 500,
    };
  }
  const pdb = pdbs[0];
  if (pdb) {
    const status = computePdbStatus(registry.store, pdb, registry.now());
    const desired = status.desiredHealthy ?? 0;
    const current = status.currentHealthy ?? 0;
    const unhealthyMayGo =
      !isPodReady(pod) &&
      (pdb.spec?.unhealthyPodEvictionPolicy === "AlwaysAllow" || (current >= desired && desired > 0));
    if (!unhealthyMayGo) {
      if ((status.disruptionsAllowed ?? 0) <= 0) throw violation(pdb, desired, current);
    }
    // the pod must still be the one the budget was checked against
    options.preconditions = { ...options.preconditions, resourceVersion: options.preconditions?.resourceVersion ?? pod.metadata.resourceVersion ?? "" };
  }
  registry.delete(PODS, namespace, name, options);
  return successStatus(undefined, 201);
}
