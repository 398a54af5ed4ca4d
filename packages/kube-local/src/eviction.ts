/**
 * The pods/eviction subresource (policy/v1), after kube-apiserver's EvictionREST
 * (pkg/registry/core/pod/storage/eviction.go): the one PodDisruptionBudget covering a pod is read
 * as the disruption controller last wrote it; an eviction it allows is recorded in the budget's
 * status (disruptionsAllowed decremented, the pod in disruptedPods) before the pod gets the
 * DisruptionTarget condition and is deleted.
 */
import { deleteOptionsFromJson } from "./delete-options";
import { apiErrors, successStatus, type Status } from "./errors";
import { asPod, isPodReady, podPhase, timestamp, type Pod } from "./objects";
import { withDisruptionAllowedCondition, type Pdb, type PdbStatus } from "./pdb";
import { checkPreconditions, type Registry } from "./registry";
import { RESOURCES } from "./resources";
import { matchesLabelSelectorObject } from "./selectors";
import type { DeleteOptions } from "./strategies";
import { clone, isRecord } from "./wire";

const PODS = RESOURCES.find((r) => r.plural === "pods" && r.group === "")!;
const PDBS = RESOURCES.find((r) => r.plural === "poddisruptionbudgets")!;

/** More unconfirmed evictions than this in a budget's status refuse further ones (upstream MaxDisruptedPodSize). */
export const MAX_DISRUPTED_POD_SIZE = 2000;

/** Terminal, pending and terminating pods already caused (or never caused) their disruption. */
function canIgnorePdb(pod: Pod): boolean {
  const phase = podPhase(pod);
  return phase === "Succeeded" || phase === "Failed" || phase === "Pending" || Boolean(pod.metadata.deletionTimestamp);
}

function shouldEnforceResourceVersion(pod: Pod): boolean {
  const phase = podPhase(pod);
  return !(phase === "Succeeded" || phase === "Failed" || pod.metadata.deletionTimestamp);
}

const resourceVersionUnset = (options: DeleteOptions) => options.preconditions?.resourceVersion === undefined;

function withResourceVersion(options: DeleteOptions, resourceVersion: string | undefined): DeleteOptions {
  return { ...options, preconditions: { ...options.preconditions, resourceVersion: resourceVersion ?? "" } };
}

/** A request's dryRun and the eviction's deleteOptions.dryRun must agree when both are given. */
function propagateDryRun(body: Record<string, unknown>, queryDryRun: readonly string[]): DeleteOptions {
  const raw = body["deleteOptions"];
  if (raw === undefined || raw === null) return queryDryRun.length > 0 ? { dryRun: [...queryDryRun] } : {};
  if (!isRecord(raw)) throw apiErrors.badRequest("json: cannot unmarshal into Go struct field Eviction.deleteOptions of type v1.DeleteOptions");
  const options = deleteOptionsFromJson(raw);
  const fromBody = options.dryRun ?? [];
  if (fromBody.length === 0) return queryDryRun.length > 0 ? { ...options, dryRun: [...queryDryRun] } : options;
  if (queryDryRun.length === 0) return options;
  if (fromBody.length !== queryDryRun.length || fromBody.some((value, i) => value !== queryDryRun[i])) {
    throw apiErrors.unknown(500, `Non-matching dry-run options in request and content: [${queryDryRun.join(" ")}] and [${fromBody.join(" ")}]`);
  }
  return options;
}

function stillBeingProcessed(pdbName: string): Error {
  return apiErrors.tooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 10, [
    { reason: "DisruptionBudget", message: `The disruption budget ${pdbName} is still being processed by the server.` },
  ]);
}

/** checkAndDecrement: refuses when the budget allows nothing now, else records the disruption in its status. */
function checkAndDecrement(registry: Registry, pod: Pod, pdb: Pdb, dryRun: boolean): void {
  const name = pdb.metadata.name ?? "";
  const status: Partial<PdbStatus> = pdb.status ?? {};
  if ((status.observedGeneration ?? 0) < (pdb.metadata.generation ?? 1)) throw stillBeingProcessed(name);
  const allowed = status.disruptionsAllowed ?? 0;
  if (allowed < 0) throw apiErrors.forbidden(`poddisruptionbudget.policy "${name}" is forbidden: pdb disruptions allowed is negative`, { name, group: "policy", kind: "poddisruptionbudget" });
  if (Object.keys(status.disruptedPods ?? {}).length > MAX_DISRUPTED_POD_SIZE) {
    throw apiErrors.forbidden(`poddisruptionbudget.policy "${name}" is forbidden: DisruptedPods map too big - too many evictions not confirmed by PDB controller`, {
      name,
      group: "policy",
      kind: "poddisruptionbudget",
    });
  }
  if (allowed === 0) {
    throw apiErrors.tooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 0, [
      { reason: "DisruptionBudget", message: `The disruption budget ${name} needs ${status.desiredHealthy ?? 0} healthy pods and has ${status.currentHealthy ?? 0} currently` },
    ]);
  }
  if (dryRun) return;
  const now = registry.now();
  const next = clone(pdb);
  const nextStatus: Partial<PdbStatus> = { ...status, disruptionsAllowed: allowed - 1, disruptedPods: { ...status.disruptedPods, [pod.metadata.name ?? ""]: timestamp(now) } };
  if (nextStatus.disruptionsAllowed === 0) nextStatus.conditions = withDisruptionAllowedCondition(status.conditions ?? [], 0, status.observedGeneration ?? 0, now);
  next.status = nextStatus as PdbStatus;
  registry.update(PDBS, pdb.metadata.namespace, name, next, { subresource: "status" });
}

/** addConditionAndDeletePod: the DisruptionTarget condition (unless dry run), then the delete. */
function addConditionAndDeletePod(registry: Registry, namespace: string, name: string, options: DeleteOptions): void {
  if ((options.dryRun ?? []).length === 0) {
    const latest = registry.getStored(PODS, namespace, name);
    checkPreconditions(PODS, latest, options.preconditions);
    const pod = asPod(clone(latest));
    const now = timestamp(registry.now());
    const conditions = [...(pod.status?.conditions ?? [])];
    const existing = conditions.findIndex((c) => c.type === "DisruptionTarget");
    const condition = {
      type: "DisruptionTarget",
      status: "True",
      reason: "EvictionByEvictionAPI",
      message: "Eviction API: evicting",
      lastProbeTime: null as unknown as string,
      lastTransitionTime: existing >= 0 && conditions[existing]?.status === "True" ? (conditions[existing]?.lastTransitionTime ?? now) : now,
    };
    if (existing >= 0) conditions[existing] = condition;
    else conditions.push(condition);
    const updated = registry.update(PODS, namespace, name, { ...pod, status: { ...pod.status, conditions } }, { subresource: "status" });
    // the condition is our own change: a resourceVersion precondition follows it
    if (!resourceVersionUnset(options)) options = withResourceVersion(options, updated.metadata.resourceVersion);
  }
  registry.delete(PODS, namespace, name, options);
}

/** POST .../pods/{name}/eviction: 201 Success, or the budget's 429, or 500 when several budgets cover the pod. */
export function evictPod(registry: Registry, namespace: string, name: string, body: unknown, queryDryRun: readonly string[]): Status {
  if (!isRecord(body)) throw apiErrors.badRequest("not a Eviction object");
  const kind = body["kind"];
  const apiVersion = body["apiVersion"];
  if (kind !== undefined && kind !== "Eviction") throw apiErrors.badRequest(`not a Eviction object: ${String(kind)}`);
  if (apiVersion !== undefined && apiVersion !== "policy/v1" && apiVersion !== "policy/v1beta1") {
    throw apiErrors.badRequest(`the API version in the data (${String(apiVersion)}) does not match the expected API version (policy/v1)`);
  }
  const metadata = isRecord(body["metadata"]) ? body["metadata"] : {};
  if (metadata["name"] !== name) throw apiErrors.badRequest("name in URL does not match name in Eviction object");

  const options = propagateDryRun(body, queryDryRun);
  const dryRun = (options.dryRun ?? []).length > 0;
  const pod = asPod(registry.getStored(PODS, namespace, name));
  if (canIgnorePdb(pod)) {
    const pinned = shouldEnforceResourceVersion(pod) && resourceVersionUnset(options) ? withResourceVersion(options, pod.metadata.resourceVersion) : options;
    addConditionAndDeletePod(registry, namespace, name, pinned);
    return successStatus(undefined, 201);
  }

  const pdbs = registry.store
    .peekAll(PDBS.storage, namespace)
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
  let pinToReadyState = false;
  if (pdb) {
    const status: Partial<PdbStatus> = pdb.status ?? {};
    if (!isPodReady(pod)) {
      // an unready pod does not count as healthy: it may go when the policy says so, or while the budget is met
      const desired = status.desiredHealthy ?? 0;
      pinToReadyState = pdb.spec?.unhealthyPodEvictionPolicy === "AlwaysAllow" || ((status.currentHealthy ?? 0) >= desired && desired > 0);
    }
    if (!pinToReadyState) checkAndDecrement(registry, pod, pdb, dryRun);
  }
  try {
    // an unready pod is evicted only as it was read: had it become ready meanwhile, the budget would count it
    addConditionAndDeletePod(registry, namespace, name, pinToReadyState ? withResourceVersion(options, pod.metadata.resourceVersion) : options);
  } catch (error) {
    if (pdb && pinToReadyState && resourceVersionUnset(options) && error instanceof Error && "code" in error && error.code === 409) throw stillBeingProcessed(pdb.metadata.name ?? "");
    throw error;
  }
  return successStatus(undefined, 201);
}
