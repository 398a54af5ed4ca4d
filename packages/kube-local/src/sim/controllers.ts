/**
 * The controllers kube-controller-manager and kube-scheduler run, reduced to what a drain needs to
 * look real: Deployments own ReplicaSets, ReplicaSets keep their pod count, DaemonSets keep a pod
 * per eligible node, the scheduler binds pending pods, and garbage collection removes dependents
 * of deleted owners, pods of vanished nodes and the content of deleted namespaces.
 * Each sync looks at one object (or, for the scheduler, the pods waiting for a node) with what the
 * caller's indexes say it owns, writes only when something differs, and returns how many writes it made.
 */
import type { V1DaemonSet, V1Deployment, V1PodTemplateSpec, V1ReplicaSet } from "@kubernetes/client-node";
import { isDeepStrictEqual } from "node:util";
import { ApiError } from "../errors";
import { asPod, isPodActive, isPodReady, isTerminating, podRequest, timestamp, toleratesTaint, type Node, type Pod } from "../objects";
import type { Registry } from "../registry";
import { resourceForKind, RESOURCES, type ResourceType } from "../resources";
import { matchesLabelSelectorObject } from "../selectors";
import { clone, isRecord, type KubeObject, type OwnerReference, type Wire } from "../wire";
import { matchesNodeSelectorAndAffinity, place, unschedulableMessage, type NodeLoad } from "./placement";
import type { EventRecorder } from "../control/event-recorder";

/** The event recorders of the simulated controllers, one per component as upstream names them. */
export interface SimEvents {
  scheduler: EventRecorder;
  replicaSet: EventRecorder;
  deployment: EventRecorder;
  daemonSet: EventRecorder;
}

export type Deployment = Wire<V1Deployment> & KubeObject;
export type ReplicaSet = Wire<V1ReplicaSet> & KubeObject;
export type DaemonSet = Wire<V1DaemonSet> & KubeObject;

const res = (plural: string, group = ""): ResourceType => RESOURCES.find((r) => r.plural === plural && r.group === group)!;
export const PODS = res("pods");
export const NODES = res("nodes");
export const NAMESPACES = res("namespaces");
export const REPLICASETS = res("replicasets", "apps");
export const DEPLOYMENTS = res("deployments", "apps");
export const DAEMONSETS = res("daemonsets", "apps");

const TEMPLATE_HASH_LABEL = "pod-template-hash";
const SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

/** JSON with sorted keys, so equal templates hash equally whatever their key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (isRecord(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

/** fnv-1a over the template, spelled with apimachinery's safe alphabet, as the Deployment controller names ReplicaSets. */
export function templateHash(template: unknown): string {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(canonicalJson(template))) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return [...String(hash)].map((digit) => SAFE_ALPHABET[digit.charCodeAt(0) % SAFE_ALPHABET.length]).join("");
}

function ownerRef(kind: string, apiVersion: string, owner: KubeObject): OwnerReference {
  return { apiVersion, kind, name: owner.metadata.name ?? "", uid: owner.metadata.uid ?? "", controller: true, blockOwnerDeletion: true };
}

/**
 * Refusals a controller meets in the normal course and retries on a later change: conflicts and
 * not-founds from races, invalid objects, and creates in a namespace being deleted (403), which
 * upstream's controllers ignore as well.
 */
const EXPECTED_REFUSALS: ReadonlySet<number> = new Set([403, 404, 409, 422]);

/** Ignores the refusals races and terminating namespaces produce; they retry next pass. */
function tolerant(write: () => void): number {
  try {
    write();
    return 1;
  } catch (error) {
    if (error instanceof ApiError && EXPECTED_REFUSALS.has(error.code)) return 0;
    throw error;
  }
}

/** Like tolerant, for a write whose result an event names. */
function attempt<T>(write: () => T): T | undefined {
  try {
    return write();
  } catch (error) {
    if (error instanceof ApiError && EXPECTED_REFUSALS.has(error.code)) return undefined;
    throw error;
  }
}

function writeStatus(registry: Registry, resource: ResourceType, obj: KubeObject, status: Record<string, unknown>): number {
  if (isDeepStrictEqual(obj["status"], status)) return 0;
  const body = { ...clone(obj), status };
  return tolerant(() => registry.update(resource, obj.metadata.namespace, obj.metadata.name ?? "", body, { subresource: "status" }));
}

function podFromTemplate(template: Wire<V1PodTemplateSpec>, owner: OwnerReference, namespace: string, extra: { labels?: Record<string, string>; nodeName?: string; generateName: string }): KubeObject {
  const spec = clone(template.spec ?? { containers: [] }) as Record<string, unknown>;
  if (extra.nodeName) spec["nodeName"] = extra.nodeName;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      generateName: extra.generateName,
      namespace,
      labels: { ...(template.metadata?.labels ?? {}), ...(extra.labels ?? {}) },
      ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
      ownerReferences: [owner],
    },
    spec,
  };
}

/** The ReplicaSets a Deployment controls. */
export function syncDeployment(registry: Registry, deployment: Deployment, owned: readonly ReplicaSet[], events?: SimEvents): number {
  let writes = 0;
  if (isTerminating(deployment)) return 0;
  const namespace = deployment.metadata.namespace ?? "";
  const template = deployment.spec?.template ?? {};
  const hash = templateHash(template);
  const name = `${deployment.metadata.name}-${hash}`;
  const replicas = deployment.spec?.replicas ?? 1;
  const current = owned.find((rs) => rs.metadata.name === name);
  if (!current) {
    const rsTemplate = clone(template);
    rsTemplate.metadata = { ...rsTemplate.metadata, labels: { ...(rsTemplate.metadata?.labels ?? {}), [TEMPLATE_HASH_LABEL]: hash } };
    const selector = clone(deployment.spec?.selector ?? {});
    selector.matchLabels = { ...(selector.matchLabels ?? {}), [TEMPLATE_HASH_LABEL]: hash };
    const createdRs = attempt(() =>
      registry.create(REPLICASETS, namespace, {
        apiVersion: "apps/v1",
        kind: "ReplicaSet",
        metadata: {
          name,
          namespace,
          labels: { ...(template.metadata?.labels ?? {}), [TEMPLATE_HASH_LABEL]: hash },
          annotations: { "deployment.kubernetes.io/desired-replicas": String(replicas), "deployment.kubernetes.io/revision": String(owned.length + 1) },
          ownerReferences: [ownerRef("Deployment", "apps/v1", deployment)],
        },
        spec: { replicas, selector, template: rsTemplate },
      }),
    );
    if (createdRs) {
      writes += 1;
      if (replicas > 0) events?.deployment.record(DEPLOYMENTS, deployment, "Normal", "ScalingReplicaSet", `Scaled up replica set ${name} from 0 to ${replicas}`);
    }
    return writes;
  }
  for (const rs of owned) {
    const want = rs === current ? replicas : 0;
    const had = rs.spec?.replicas ?? 1;
    if (had !== want) {
      const body = clone(rs);
      body.spec = { ...body.spec!, replicas: want };
      if (attempt(() => registry.update(REPLICASETS, namespace, rs.metadata.name ?? "", body))) {
        writes += 1;
        events?.deployment.record(DEPLOYMENTS, deployment, "Normal", "ScalingReplicaSet", `Scaled ${want > had ? "up" : "down"} replica set ${rs.metadata.name ?? ""} from ${had} to ${want}`);
      }
    }
  }
  const sum = (f: (rs: ReplicaSet) => number | undefined) => owned.reduce((n, rs) => n + (f(rs) ?? 0), 0);
  const ready = sum((rs) => rs.status?.readyReplicas);
  const available = sum((rs) => rs.status?.availableReplicas);
  const status: Record<string, unknown> = {
    observedGeneration: deployment.metadata.generation ?? 1,
    replicas: sum((rs) => rs.status?.replicas),
    updatedReplicas: current.status?.replicas ?? 0,
    readyReplicas: ready,
    availableReplicas: available,
    ...(replicas - available > 0 ? { unavailableReplicas: replicas - available } : {}),
    conditions: [
      {
        type: "Available",
        status: available >= replicas ? "True" : "False",
        reason: available >= replicas ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
        message: available >= replicas ? "Deployment has minimum availability." : "Deployment does not have minimum availability.",
        lastUpdateTime: deployment.metadata.creationTimestamp,
        lastTransitionTime: deployment.metadata.creationTimestamp,
      },
    ],
  };
  writes += writeStatus(registry, DEPLOYMENTS, deployment, status);
  return writes;
}

/** Which surplus pods a ReplicaSet removes first: unscheduled, then not ready, then the newest. */
function deletionOrder(a: Pod, b: Pod): number {
  const rank = (p: Pod) => (p.spec?.nodeName ? 0 : 2) + (isPodReady(p) ? 0 : 1);
  return rank(b) - rank(a) || (b.metadata.creationTimestamp ?? "").localeCompare(a.metadata.creationTimestamp ?? "");
}

/** Keeps a ReplicaSet's count of the pods it controls, and its status. */
export function syncReplicaSet(registry: Registry, rs: ReplicaSet, pods: readonly Pod[], events?: SimEvents): number {
  let writes = 0;
  if (isTerminating(rs)) return 0;
  const namespace = rs.metadata.namespace ?? "";
  const active = pods.filter(isPodActive);
  const want = rs.spec?.replicas ?? 1;
  if (active.length < want) {
    const owner = ownerRef("ReplicaSet", "apps/v1", rs);
    for (let i = active.length; i < want; i += 1) {
      const pod = attempt(() => registry.create(PODS, namespace, podFromTemplate(rs.spec?.template ?? {}, owner, namespace, { generateName: `${rs.metadata.name}-` })));
      if (pod) {
        writes += 1;
        events?.replicaSet.record(REPLICASETS, rs, "Normal", "SuccessfulCreate", `Created pod: ${pod.metadata.name ?? ""}`);
      }
    }
  } else if (active.length > want) {
    for (const pod of [...active].sort(deletionOrder).slice(0, active.length - want)) {
      if (attempt(() => registry.delete(PODS, namespace, pod.metadata.name ?? "", {}))) {
        writes += 1;
        events?.replicaSet.record(REPLICASETS, rs, "Normal", "SuccessfulDelete", `Deleted pod: ${pod.metadata.name ?? ""}`);
      }
    }
  }
  const ready = active.filter(isPodReady).length;
  const selector = rs.spec?.selector;
  const status: Record<string, unknown> = {
    replicas: active.length,
    fullyLabeledReplicas: active.filter((p) => matchesLabelSelectorObject(selector, p.metadata.labels ?? {}, { emptyMatchesAll: true })).length,
    readyReplicas: ready,
    availableReplicas: ready,
    observedGeneration: rs.metadata.generation ?? 1,
  };
  writes += writeStatus(registry, REPLICASETS, rs, status);
  return writes;
}

/** The tolerations the DaemonSet controller adds to its pods. */
const DAEMON_TOLERATIONS = [
  { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute" },
  { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute" },
  { key: "node.kubernetes.io/disk-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/memory-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/pid-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" },
];

function daemonEligible(ds: DaemonSet, node: Node): boolean {
  const tolerations = [...(ds.spec?.template?.spec?.tolerations ?? []), ...DAEMON_TOLERATIONS];
  const pod = { metadata: {}, spec: { ...ds.spec?.template?.spec, tolerations } } as Pod;
  const hard = (node.spec?.taints ?? []).filter((t) => (t.effect === "NoSchedule" || t.effect === "NoExecute") && !toleratesTaint(tolerations, t));
  return hard.length === 0 && matchesNodeSelectorAndAffinity(pod, node);
}

/** One pod of a DaemonSet on every node it is eligible for, none elsewhere, and its status. */
export function syncDaemonSet(registry: Registry, ds: DaemonSet, nodes: readonly Node[], pods: readonly Pod[], events?: SimEvents): number {
  let writes = 0;
  if (isTerminating(ds)) return 0;
  const namespace = ds.metadata.namespace ?? "";
  const active = pods.filter(isPodActive);
  const byNode = new Map<string, Pod[]>();
  for (const pod of active) {
    const nodeName = pod.spec?.nodeName ?? "";
    const list = byNode.get(nodeName);
    if (list) list.push(pod);
    else byNode.set(nodeName, [pod]);
  }
  const owner = ownerRef("DaemonSet", "apps/v1", ds);
  let desired = 0;
  for (const node of nodes) {
    const nodeName = node.metadata.name ?? "";
    const onNode = byNode.get(nodeName) ?? [];
    if (daemonEligible(ds, node)) {
      desired += 1;
      if (onNode.length === 0) {
        const template = clone(ds.spec?.template ?? {});
        template.spec = { ...template.spec!, tolerations: [...(template.spec?.tolerations ?? []), ...DAEMON_TOLERATIONS] };
        const pod = attempt(() => registry.create(PODS, namespace, podFromTemplate(template, owner, namespace, { nodeName, generateName: `${ds.metadata.name}-` })));
        if (pod) {
          writes += 1;
          events?.daemonSet.record(DAEMONSETS, ds, "Normal", "SuccessfulCreate", `Created pod: ${pod.metadata.name ?? ""}`);
        }
      }
    } else {
      for (const pod of onNode) {
        if (attempt(() => registry.delete(PODS, namespace, pod.metadata.name ?? "", {}))) {
          writes += 1;
          events?.daemonSet.record(DAEMONSETS, ds, "Normal", "SuccessfulDelete", `Deleted pod: ${pod.metadata.name ?? ""}`);
        }
      }
    }
  }
  const scheduled = new Set(active.map((p) => p.spec?.nodeName));
  const readyNodes = new Set(active.filter(isPodReady).map((p) => p.spec?.nodeName));
  const status: Record<string, unknown> = {
    currentNumberScheduled: scheduled.size,
    numberMisscheduled: 0,
    desiredNumberScheduled: desired,
    numberReady: readyNodes.size,
    observedGeneration: ds.metadata.generation ?? 1,
    updatedNumberScheduled: scheduled.size,
    numberAvailable: readyNodes.size,
    ...(desired - readyNodes.size > 0 ? { numberUnavailable: desired - readyNodes.size } : {}),
  };
  writes += writeStatus(registry, DAEMONSETS, ds, status);
  return writes;
}

/** Whether the default scheduler has yet to bind this pod. */
export function awaitsScheduling(pod: Pod): boolean {
  return !pod.spec?.nodeName && !isTerminating(pod) && (pod.spec?.schedulerName ?? "default-scheduler") === "default-scheduler";
}

/**
 * Binds the pods waiting for the scheduler (`awaitsScheduling`), oldest first, counting each
 * binding in `loads`; leaves the reason on PodScheduled when none fits.
 */
export function schedulePods(registry: Registry, pending: readonly Pod[], nodes: readonly Node[], loads: Map<string, NodeLoad>, events?: SimEvents): number {
  let writes = 0;
  const queue = [...pending];
  const candidates = nodes.filter((n) => !isTerminating(n)).sort((a, b) => (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""));
  queue.sort((a, b) => (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? "") || (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""));
  for (const pod of queue) {
    const placement = place(pod, candidates, loads);
    const namespace = pod.metadata.namespace ?? "";
    if (placement.node) {
      const nodeName = placement.node.metadata.name ?? "";
      const bound = attempt(() => registry.bind(namespace, pod.metadata.name ?? "", nodeName));
      if (bound) {
        writes += 1;
        events?.scheduler.record(PODS, bound, "Normal", "Scheduled", `Successfully assigned ${namespace}/${pod.metadata.name ?? ""} to ${nodeName}`);
        const load = loads.get(nodeName) ?? { pods: 0, cpu: 0, memory: 0 };
        loads.set(nodeName, { pods: load.pods + 1, cpu: load.cpu + podRequest(pod, "cpu"), memory: load.memory + podRequest(pod, "memory") });
      }
      continue;
    }
    const message = unschedulableMessage(candidates.length, placement.reasons);
    const current = pod.status?.conditions?.find((c) => c.type === "PodScheduled");
    if (current?.status === "False" && current.message === message) continue;
    const conditions = (pod.status?.conditions ?? []).filter((c) => c.type !== "PodScheduled");
    conditions.push({ type: "PodScheduled", status: "False", reason: "Unschedulable", message, lastProbeTime: null as unknown as string, lastTransitionTime: timestamp(registry.now()) });
    const wrote = writeStatus(registry, PODS, pod, { ...(pod.status ?? {}), phase: "Pending", conditions });
    if (wrote > 0) events?.scheduler.record(PODS, pod, "Warning", "FailedScheduling", message);
    writes += wrote;
  }
  return writes;
}

/** Whether the object a reference names exists, by name and uid (a reference to a kind not served counts as existing). */
export function ownerExists(registry: Registry, namespace: string | undefined, ref: OwnerReference): boolean {
  const resource = resourceForKind(ref.kind, ref.apiVersion);
  if (!resource) return true; // unknown kinds are not ours to judge
  const owner = registry.store.peek(resource.storage, resource.namespaced ? namespace : undefined, ref.name);
  return owner !== undefined && owner.metadata.uid === ref.uid;
}

/**
 * The garbage collector's look at one object: deleted (in the background) once none of its owners
 * exists; a pod bound to a node that no longer exists is force-deleted, as the pod GC does.
 */
export function collectIfOrphaned(registry: Registry, resource: ResourceType, obj: KubeObject): number {
  const refs = obj.metadata.ownerReferences ?? [];
  if (refs.length > 0 && !isTerminating(obj) && refs.every((ref) => !ownerExists(registry, obj.metadata.namespace, ref))) {
    return tolerant(() => registry.delete(resource, obj.metadata.namespace, obj.metadata.name ?? "", { propagationPolicy: "Background" }));
  }
  if (resource === PODS) {
    const nodeName = asPod(obj).spec?.nodeName;
    if (nodeName && !registry.store.peek(NODES.storage, undefined, nodeName)) {
      return tolerant(() => registry.delete(PODS, obj.metadata.namespace, obj.metadata.name ?? "", { gracePeriodSeconds: 0 }));
    }
  }
  return 0;
}
