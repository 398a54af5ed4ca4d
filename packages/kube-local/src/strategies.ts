/**
 * Per-kind behaviour of the registry, after kube-apiserver's REST strategies: defaults on create,
 * validation, which parts the status subresource owns, generation, and graceful deletion.
 */
import type { V1LabelSelector } from "@kubernetes/client-node";
import type { StatusCause } from "./errors";
import { isRecord, type KubeObject, type Wire } from "./wire";
import { asPod, podPhase, type Pod } from "./objects";
import { matchesLabelSelectorObject } from "./selectors";
import * as v from "./validation";

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  /** As sent; validateDeleteOptions rejects anything but Orphan, Background and Foreground. */
  propagationPolicy?: string;
  orphanDependents?: boolean;
  dryRun?: string[];
}

export interface Strategy {
  /** The status subresource owns `.status`: the main resource cannot change it and vice versa. */
  readonly hasStatus: boolean;
  /** metadata.generation follows spec changes (workloads, PDBs). */
  readonly tracksGeneration: boolean;
  /** Status given on create is kept (nodes) rather than reset. */
  readonly keepsStatusOnCreate: boolean;
  readonly nameValidation: "subdomain" | "label";
  prepareForCreate(obj: KubeObject): void;
  validate(obj: KubeObject): StatusCause[];
  validateUpdate(obj: KubeObject, old: KubeObject): StatusCause[];
  /** Seconds of graceful deletion; 0 deletes at once. */
  gracePeriod(obj: KubeObject, options: DeleteOptions): number;
  /** Whether the delete response is the object (pods, namespaces) or a Status. */
  readonly returnsDeletedObject: boolean;
}

const base: Strategy = {
  hasStatus: false,
  tracksGeneration: false,
  keepsStatusOnCreate: false,
  nameValidation: "subdomain",
  prepareForCreate: () => undefined,
  validate: () => [],
  validateUpdate: () => [],
  gracePeriod: () => 0,
  returnsDeletedObject: false,
};

function record(obj: KubeObject, field: string): Record<string, unknown> {
  const value = obj[field];
  if (isRecord(value)) return value;
  const created: Record<string, unknown> = {};
  obj[field] = created;
  return created;
}

function defaultPodSpec(spec: Record<string, unknown>): void {
  spec["restartPolicy"] ??= "Always";
  spec["dnsPolicy"] ??= "ClusterFirst";
  spec["schedulerName"] ??= "default-scheduler";
  spec["terminationGracePeriodSeconds"] ??= 30;
  spec["securityContext"] ??= {};
  spec["enableServiceLinks"] ??= true;
  spec["preemptionPolicy"] ??= "PreemptLowerPriority";
  spec["priority"] ??= 0;
  for (const list of ["containers", "initContainers"]) {
    const containers = spec[list];
    if (!Array.isArray(containers)) continue;
    for (const c of containers) {
      if (!isRecord(c)) continue;
      c["terminationMessagePath"] ??= "/dev/termination-log";
      c["terminationMessagePolicy"] ??= "File";
      const image = typeof c["image"] === "string" ? c["image"] : "";
      const tag = image.includes("@") ? "digest" : (image.split("/").pop() ?? "").split(":")[1];
      c["imagePullPolicy"] ??= tag === undefined || tag === "latest" ? "Always" : "IfNotPresent";
      c["resources"] ??= {};
      if (Array.isArray(c["ports"])) for (const port of c["ports"]) if (isRecord(port)) port["protocol"] ??= "TCP";
    }
  }
}

/** The tolerations the DefaultTolerationSeconds admission plugin adds to every pod. */
function addDefaultTolerations(spec: Record<string, unknown>): void {
  const tolerations = Array.isArray(spec["tolerations"]) ? (spec["tolerations"] as Record<string, unknown>[]) : [];
  for (const key of ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]) {
    const covered = tolerations.some(
      (t) => (t["key"] === key || (t["key"] === undefined && t["operator"] === "Exists")) && (t["effect"] === undefined || t["effect"] === "NoExecute"),
    );
    if (!covered) tolerations.push({ key, operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 });
  }
  spec["tolerations"] = tolerations;
}

function qosClass(pod: Pod): string {
  const containers = pod.spec?.containers ?? [];
  const hasAny = containers.some((c) => Object.keys(c.resources?.requests ?? {}).length + Object.keys(c.resources?.limits ?? {}).length > 0);
  if (!hasAny) return "BestEffort";
  const guaranteed = containers.every((c) => {
    const limits = c.resources?.limits ?? {};
    const requests = c.resources?.requests ?? {};
    return ["cpu", "memory"].every((r) => limits[r] !== undefined && (requests[r] === undefined || requests[r] === limits[r]));
  });
  return guaranteed ? "Guaranteed" : "Burstable";
}

function validateContainers(spec: unknown, path: string): StatusCause[] {
  if (!isRecord(spec)) return [v.required(path)];
  const containers = spec["containers"];
  if (!Array.isArray(containers) || containers.length === 0) return [v.required(`${path}.containers`)];
  const causes: StatusCause[] = [];
  const names = new Set<string>();
  containers.forEach((c, i) => {
    const field = `${path}.containers[${i}]`;
    if (!isRecord(c)) {
      causes.push(v.invalid(field, c, "must be an object"));
      return;
    }
    const name = c["name"];
    if (typeof name !== "string" || name === "") causes.push(v.required(`${field}.name`));
    else {
      causes.push(...v.dns1123Label(`${field}.name`, name));
      if (names.has(name)) causes.push(v.duplicate(`${field}.name`, name));
      names.add(name);
    }
    if (typeof c["image"] !== "string" || c["image"].trim() === "") causes.push(v.required(`${field}.image`));
  });
  const restart = spec["restartPolicy"];
  if (restart !== undefined && !["Always", "OnFailure", "Never"].includes(String(restart))) {
    causes.push(v.notSupported(`${path}.restartPolicy`, restart, ["Always", "OnFailure", "Never"]));
  }
  const grace = spec["terminationGracePeriodSeconds"];
  if (grace !== undefined && (typeof grace !== "number" || !Number.isInteger(grace) || grace < 0)) {
    causes.push(v.invalid(`${path}.terminationGracePeriodSeconds`, grace, "must be greater than or equal to 0"));
  }
  return causes;
}

const POD_UPDATE_FORBIDDEN =
  "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/** The spec with the fields a pod update may change blanked out, for comparison. */
function immutablePodSpec(spec: unknown): string {
  if (!isRecord(spec)) return "null";
  const copy = structuredClone(spec);
  for (const list of ["containers", "initContainers"]) {
    const containers = copy[list];
    if (Array.isArray(containers)) for (const c of containers) if (isRecord(c)) delete c["image"];
  }
  delete copy["activeDeadlineSeconds"];
  delete copy["tolerations"];
  return JSON.stringify(copy);
}

const pods: Strategy = {
  ...base,
  hasStatus: true,
  returnsDeletedObject: true,
  prepareForCreate(obj) {
    const spec = record(obj, "spec");
    defaultPodSpec(spec);
    addDefaultTolerations(spec);
    obj["status"] = { phase: "Pending", qosClass: qosClass(asPod(obj)) };
  },
  validate: (obj) => [...validateContainers(obj["spec"], "spec"), ...v.labels("metadata.labels", obj.metadata.labels)],
  validateUpdate(obj, old) {
    const causes = v.labels("metadata.labels", obj.metadata.labels);
    if (immutablePodSpec(obj["spec"]) !== immutablePodSpec(old["spec"])) causes.push(v.forbidden("spec", POD_UPDATE_FORBIDDEN));
    const before = asPod(old).spec?.tolerations ?? [];
    const after = JSON.stringify(asPod(obj).spec?.tolerations ?? []);
    if (!before.every((t) => after.includes(JSON.stringify(t)))) causes.push(v.forbidden("spec.tolerations", POD_UPDATE_FORBIDDEN));
    return causes;
  },
  gracePeriod(obj, options) {
    const pod = asPod(obj);
    // Unscheduled and finished pods have no kubelet to wait for: they go at once.
    const phase = podPhase(pod);
    if (!pod.spec?.nodeName || phase === "Succeeded" || phase === "Failed") return 0;
    const requested = options.gracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    return Math.max(0, requested);
  },
};

const nodes: Strategy = {
  ...base,
  hasStatus: true,
  keepsStatusOnCreate: true,
  validate: (obj) => v.labels("metadata.labels", obj.metadata.labels),
  validateUpdate: (obj) => v.labels("metadata.labels", obj.metadata.labels),
};

const namespaces: Strategy = {
  ...base,
  hasStatus: true,
  nameValidation: "label",
  returnsDeletedObject: true,
  prepareForCreate(obj) {
    obj["status"] = { phase: "Active" };
    const spec = record(obj, "spec");
    spec["finalizers"] ??= ["kubernetes"];
    obj.metadata.labels = { ...obj.metadata.labels, "kubernetes.io/metadata.name": obj.metadata.name ?? "" };
  },
  validate: (obj) => v.labels("metadata.labels", obj.metadata.labels),
};

function validateWorkload(obj: KubeObject, requireSelector: boolean): StatusCause[] {
  const spec = obj["spec"];
  if (!isRecord(spec)) return [v.required("spec")];
  const causes: StatusCause[] = [...v.labels("metadata.labels", obj.metadata.labels)];
  const selector = spec["selector"] as Wire<V1LabelSelector> | undefined;
  const template = spec["template"];
  const templateLabels = isRecord(template) && isRecord(template["metadata"]) ? (template["metadata"]["labels"] as Record<string, string> | undefined) : undefined;
  if (requireSelector && (!isRecord(selector) || (Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0))) {
    causes.push(v.required("spec.selector"));
  } else if (selector && !matchesLabelSelectorObject(selector, templateLabels ?? {}, { emptyMatchesAll: true })) {
    causes.push(v.invalid("spec.template.metadata.labels", templateLabels ?? {}, "`selector` does not match template `labels`"));
  }
  const replicas = spec["replicas"];
  if (replicas !== undefined && (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 0)) {
    causes.push(v.invalid("spec.replicas", replicas, "must be greater than or equal to 0"));
  }
  causes.push(...validateContainers(isRecord(template) ? template["spec"] : undefined, "spec.template.spec"));
  return causes;
}

function workload(defaults: (spec: Record<string, unknown>) => void): Strategy {
  return {
    ...base,
    hasStatus: true,
    tracksGeneration: true,
    prepareForCreate(obj) {
      const spec = record(obj, "spec");
      defaults(spec);
      const template = spec["template"];
      if (isRecord(template)) {
        template["metadata"] ??= {};
        if (isRecord(template["spec"])) defaultPodSpec(template["spec"]);
      }
      obj["status"] = {};
    },
    validate: (obj) => validateWorkload(obj, true),
    validateUpdate(obj, old) {
      const causes = validateWorkload(obj, true);
      const before = isRecord(old["spec"]) ? JSON.stringify(old["spec"]["selector"]) : undefined;
      const after = isRecord(obj["spec"]) ? JSON.stringify(obj["spec"]["selector"]) : undefined;
      if (before !== after) causes.push(v.invalid("spec.selector", isRecord(obj["spec"]) ? obj["spec"]["selector"] : undefined, "field is immutable"));
      return causes;
    },
  };
}

const deployments = workload((spec) => {
  spec["replicas"] ??= 1;
  spec["revisionHistoryLimit"] ??= 10;
  spec["progressDeadlineSeconds"] ??= 600;
  // SetDefaults_Deployment: an empty strategy is a rolling update of 25% / 25%
  const strategy = isRecord(spec["strategy"]) ? spec["strategy"] : {};
  strategy["type"] ??= "RollingUpdate";
  if (strategy["type"] === "RollingUpdate") {
    const rolling = isRecord(strategy["rollingUpdate"]) ? strategy["rollingUpdate"] : {};
    rolling["maxUnavailable"] ??= "25%";
    rolling["maxSurge"] ??= "25%";
    strategy["rollingUpdate"] = rolling;
  }
  spec["strategy"] = strategy;
});
const replicasets = workload((spec) => {
  spec["replicas"] ??= 1;
});
const daemonsets = workload((spec) => {
  spec["revisionHistoryLimit"] ??= 10;
  spec["updateStrategy"] ??= { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } };
});

function validatePdb(obj: KubeObject): StatusCause[] {
  const spec = isRecord(obj["spec"]) ? obj["spec"] : {};
  const causes = [...v.intOrPercent("spec.minAvailable", spec["minAvailable"]), ...v.intOrPercent("spec.maxUnavailable", spec["maxUnavailable"])];
  if (spec["minAvailable"] !== undefined && spec["maxUnavailable"] !== undefined) {
    causes.push(v.invalid("spec", spec, "minAvailable and maxUnavailable cannot be both set"));
  }
  const policy = spec["unhealthyPodEvictionPolicy"];
  if (policy !== undefined && policy !== "IfHealthyBudget" && policy !== "AlwaysAllow") {
    causes.push(v.notSupported("spec.unhealthyPodEvictionPolicy", policy, ["AlwaysAllow", "IfHealthyBudget"]));
  }
  return [...causes, ...v.labels("metadata.labels", obj.metadata.labels)];
}

const poddisruptionbudgets: Strategy = {
  ...base,
  hasStatus: true,
  tracksGeneration: true,
  prepareForCreate(obj) {
    const spec = record(obj, "spec");
    if (spec["minAvailable"] === undefined && spec["maxUnavailable"] === undefined) spec["minAvailable"] = 1;
    // a new budget allows nothing until the disruption controller has synced it (observedGeneration 0)
    obj["status"] = { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 };
  },
  validate: validatePdb,
  validateUpdate: validatePdb,
};

function validateEvent(obj: KubeObject): StatusCause[] {
  const involved = obj["involvedObject"];
  const causes: StatusCause[] = [];
  if (!isRecord(involved)) return [v.required("involvedObject")];
  const involvedNamespace = typeof involved["namespace"] === "string" ? involved["namespace"] : "";
  // cluster-scoped objects (nodes) have their events in "default"
  if (involvedNamespace && involvedNamespace !== obj.metadata.namespace) {
    causes.push(v.invalid("involvedObject.namespace", involvedNamespace, "does not match event.namespace"));
  }
  const type = obj["type"];
  if (type !== undefined && type !== "Normal" && type !== "Warning") causes.push(v.notSupported("type", type, ["Normal", "Warning"]));
  return causes;
}

const events: Strategy = { ...base, validate: validateEvent, validateUpdate: validateEvent };

const STRATEGIES: Record<string, Strategy> = {
  pods,
  nodes,
  namespaces,
  deployments,
  replicasets,
  daemonsets,
  poddisruptionbudgets,
  events,
};

export function strategyFor(storage: string): Strategy {
  return STRATEGIES[storage] ?? base;
}
