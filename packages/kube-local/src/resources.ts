/** The API resources this server serves, described once for routing, discovery and RBAC. */
import { isRecord, type KubeObject } from "./wire";

export type Verb = "get" | "list" | "watch" | "create" | "update" | "patch" | "delete" | "deletecollection";

export const ALL_VERBS: readonly Verb[] = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

export interface Subresource {
  name: string;
  kind: string;
  group?: string;
  version?: string;
  verbs: readonly Verb[];
}

export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: readonly string[];
  categories: readonly string[];
  /** Store key: the two Event APIs are two views of one stored resource, as in kube-apiserver. */
  storage: string;
  subresources: readonly Subresource[];
  /** Field selector labels beyond metadata.name and metadata.namespace. */
  fieldLabels: readonly string[];
  verbs: readonly Verb[];
}

export function apiVersionOf(resource: Pick<ResourceType, "group" | "version">): string {
  return resource.group ? `${resource.group}/${resource.version}` : resource.version;
}

const statusOf = (kind: string): Subresource => ({ name: "status", kind, verbs: ["get", "patch", "update"] });
/** The scale subresource answers autoscaling/v1 Scale (kubectl scale, HPAs). */
const SCALE: Subresource = { name: "scale", kind: "Scale", group: "autoscaling", version: "v1", verbs: ["get", "patch", "update"] };

const POD_FIELDS = [
  "spec.nodeName",
  "spec.restartPolicy",
  "spec.schedulerName",
  "spec.serviceAccountName",
  "spec.hostNetwork",
  "status.phase",
  "status.podIP",
  "status.nominatedNodeName",
];
const EVENT_FIELDS = [
  "involvedObject.kind",
  "involvedObject.namespace",
  "involvedObject.name",
  "involvedObject.uid",
  "involvedObject.apiVersion",
  "involvedObject.resourceVersion",
  "involvedObject.fieldPath",
  "reason",
  "reportingComponent",
  "source",
  "type",
];

function resource(partial: Omit<ResourceType, "shortNames" | "categories" | "storage" | "subresources" | "fieldLabels" | "verbs"> &
  Partial<ResourceType>): ResourceType {
  return {
    shortNames: [],
    categories: [],
    storage: partial.plural,
    subresources: [],
    fieldLabels: [],
    verbs: ALL_VERBS,
    ...partial,
  };
}

export const RESOURCES: readonly ResourceType[] = [
  resource({
    group: "",
    version: "v1",
    kind: "Namespace",
    plural: "namespaces",
    singular: "namespace",
    namespaced: false,
    shortNames: ["ns"],
    subresources: [statusOf("Namespace"), { name: "finalize", kind: "Namespace", verbs: ["update"] }],
    fieldLabels: ["status.phase"],
    verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
  }),
  resource({
    group: "",
    version: "v1",
    kind: "Node",
    plural: "nodes",
    singular: "node",
    namespaced: false,
    shortNames: ["no"],
    subresources: [statusOf("Node")],
    fieldLabels: ["spec.unschedulable"],
  }),
  resource({
    group: "",
    version: "v1",
    kind: "Pod",
    plural: "pods",
    singular: "pod",
    namespaced: true,
    shortNames: ["po"],
    categories: ["all"],
    subresources: [
      statusOf("Pod"),
      { name: "eviction", kind: "Eviction", group: "policy", version: "v1", verbs: ["create"] },
    ],
    fieldLabels: POD_FIELDS,
  }),
  resource({
    group: "",
    version: "v1",
    kind: "Event",
    plural: "events",
    singular: "event",
    namespaced: true,
    shortNames: ["ev"],
    fieldLabels: EVENT_FIELDS,
  }),
  resource({
    group: "apps",
    version: "v1",
    kind: "DaemonSet",
    plural: "daemonsets",
    singular: "daemonset",
    namespaced: true,
    shortNames: ["ds"],
    categories: ["all"],
    subresources: [statusOf("DaemonSet")],
  }),
  resource({
    group: "apps",
    version: "v1",
    kind: "Deployment",
    plural: "deployments",
    singular: "deployment",
    namespaced: true,
    shortNames: ["deploy"],
    categories: ["all"],
    subresources: [statusOf("Deployment"), SCALE],
  }),
  resource({
    group: "apps",
    version: "v1",
    kind: "ReplicaSet",
    plural: "replicasets",
    singular: "replicaset",
    namespaced: true,
    shortNames: ["rs"],
    categories: ["all"],
    subresources: [statusOf("ReplicaSet"), SCALE],
    fieldLabels: ["status.replicas"],
  }),
  resource({
    group: "policy",
    version: "v1",
    kind: "PodDisruptionBudget",
    plural: "poddisruptionbudgets",
    singular: "poddisruptionbudget",
    namespaced: true,
    shortNames: ["pdb"],
    subresources: [statusOf("PodDisruptionBudget")],
  }),
  resource({
    group: "events.k8s.io",
    version: "v1",
    kind: "Event",
    plural: "events",
    singular: "event",
    namespaced: true,
    shortNames: ["ev"],
    fieldLabels: [...EVENT_FIELDS, "regarding.kind", "regarding.namespace", "regarding.name", "regarding.uid", "reportingController"],
  }),
  resource({
    group: "coordination.k8s.io",
    version: "v1",
    kind: "Lease",
    plural: "leases",
    singular: "lease",
    namespaced: true,
  }),
  resource({
    group: "authentication.k8s.io",
    version: "v1",
    kind: "SelfSubjectReview",
    plural: "selfsubjectreviews",
    singular: "selfsubjectreview",
    namespaced: false,
    verbs: ["create"],
  }),
  resource({
    group: "authorization.k8s.io",
    version: "v1",
    kind: "SelfSubjectAccessReview",
    plural: "selfsubjectaccessreviews",
    singular: "selfsubjectaccessreview",
    namespaced: false,
    verbs: ["create"],
  }),
  resource({
    group: "authorization.k8s.io",
    version: "v1",
    kind: "SelfSubjectRulesReview",
    plural: "selfsubjectrulesreviews",
    singular: "selfsubjectrulesreview",
    namespaced: false,
    verbs: ["create"],
  }),
];

/** Kinds answered on the spot and never stored (the self-subject reviews). */
export function isReview(resource: ResourceType): boolean {
  return resource.verbs.length === 1 && resource.verbs[0] === "create" && resource.kind.startsWith("SelfSubject");
}

/** The @kubernetes/client-node model of a kind, whose metadata the OpenAPI documents are built from. */
export function modelOf(group: string, kind: string): string {
  if (kind === "Event") return group === "events.k8s.io" ? "EventsV1Event" : "CoreV1Event";
  return `V1${kind}`;
}

/** The group versions served, in the order discovery lists them. */
export function groupVersions(): { group: string; version: string }[] {
  const seen = new Map<string, { group: string; version: string }>();
  for (const r of RESOURCES) seen.set(apiVersionOf(r), { group: r.group, version: r.version });
  return [...seen.values()];
}

export function findResource(group: string, version: string, plural: string): ResourceType | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.plural === plural);
}

export function resourceForKind(kind: string, apiVersion?: string): ResourceType | undefined {
  return RESOURCES.find((r) => r.kind === kind && (apiVersion === undefined || apiVersionOf(r) === apiVersion));
}

export function servesGroupVersion(group: string, version: string): boolean {
  return RESOURCES.some((r) => r.group === group && r.version === version);
}

/** Reads a dotted field path (`spec.nodeName`) as the string a field selector compares against. */
export function fieldValue(obj: KubeObject, field: string): string {
  // events.k8s.io exposes `regarding`, stored as core `involvedObject`
  const path = field.replace(/^regarding\./, "involvedObject.").replace(/^reportingController$/, "reportingComponent");
  if (path === "source") {
    const source = obj["source"];
    return isRecord(source) && typeof source["component"] === "string" ? source["component"] : "";
  }
  let current: unknown = obj;
  for (const part of path.split(".")) {
    if (!isRecord(current)) return "";
    current = current[part];
  }
  if (current === undefined || current === null) {
    // unset booleans select as "false", as the API server's field label conversion does
    return path === "spec.unschedulable" || path === "spec.hostNetwork" ? "false" : "";
  }
  return String(current);
}
