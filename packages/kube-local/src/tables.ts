/**
 * Server-side printing (meta.k8s.io/v1 Table), which kubectl asks for on `get`: the columns
 * kube-apiserver's printers produce for the kinds served here, and its default for the rest.
 */
import { asNode, asPod, humanDuration, isNodeReady, isPodReady, podPhase } from "./objects";
import type { Pdb } from "./pdb";
import type { ResourceType } from "./resources";
import { isRecord, type KubeObject } from "./wire";

interface Column {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

type Cell = string | number | boolean;

interface Printer {
  columns: Column[];
  cells(obj: KubeObject, now: Date): Cell[];
}

const col = (name: string, type: string, description: string, priority = 0, format = ""): Column => ({ name, type, format, description, priority });
const NAME = col("Name", "string", "Name must be unique within a namespace.", 0, "name");
const AGE = col("Age", "string", "CreationTimestamp is a timestamp representing the server time when this object was created.");

const age = (obj: KubeObject, now: Date) =>
  obj.metadata.creationTimestamp ? humanDuration(now.getTime() - Date.parse(obj.metadata.creationTimestamp)) : "<unknown>";

function num(obj: KubeObject, path: string): number {
  let current: unknown = obj;
  for (const part of path.split(".")) current = isRecord(current) ? current[part] : undefined;
  return typeof current === "number" ? current : 0;
}

const nodePrinter: Printer = {
  columns: [
    NAME,
    col("Status", "string", "The status of the node"),
    col("Roles", "string", "The roles of the node"),
    AGE,
    col("Version", "string", "Kubelet Version reported by the node."),
    col("Internal-IP", "string", "List of addresses reachable to the node.", 1),
    col("External-IP", "string", "List of addresses reachable to the node.", 1),
    col("OS-Image", "string", "OS Image reported by the node from /etc/os-release.", 1),
    col("Kernel-Version", "string", "Kernel Version reported by the node.", 1),
    col("Container-Runtime", "string", "Container Runtime Version reported by the node.", 1),
  ],
  cells(obj, now) {
    const node = asNode(obj);
    const status = [isNodeReady(node) ? "Ready" : "NotReady"];
    if (node.spec?.unschedulable) status.push("SchedulingDisabled");
    const roles = Object.keys(node.metadata.labels ?? {})
      .filter((l) => l.startsWith("node-role.kubernetes.io/"))
      .map((l) => l.slice("node-role.kubernetes.io/".length))
      .sort();
    const address = (type: string) => node.status?.addresses?.find((a) => a.type === type)?.address ?? "<none>";
    const info = node.status?.nodeInfo;
    return [
      node.metadata.name ?? "",
      status.join(","),
      roles.length ? roles.join(",") : "<none>",
      age(obj, now),
      info?.kubeletVersion ?? "",
      address("InternalIP"),
      address("ExternalIP"),
      info?.osImage ?? "<unknown>",
      info?.kernelVersion ?? "<unknown>",
      info?.containerRuntimeVersion ?? "<unknown>",
    ];
  },
};

const podPrinter: Printer = {
  columns: [
    NAME,
    col("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
    col("Status", "string", "The aggregate status of the containers in this pod."),
    col("Restarts", "string", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
    AGE,
    col("IP", "string", "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.", 1),
    col("Node", "string", "NodeName is a request to schedule this pod onto a specific node.", 1),
    col("Nominated Node", "string", "nominatedNodeName is set only when this pod preempts other pods on the node.", 1),
    col("Readiness Gates", "string", "If specified, all readiness gates will be evaluated for pod readiness.", 1),
  ],
  cells(obj, now) {
    const pod = asPod(obj);
    const containers = pod.spec?.containers?.length ?? 0;
    const ready = (pod.status?.containerStatuses ?? []).filter((c) => c.ready).length;
    const restarts = (pod.status?.containerStatuses ?? []).reduce((sum, c) => sum + (c.restartCount ?? 0), 0);
    let reason = pod.status?.reason ?? podPhase(pod);
    const waiting = pod.status?.containerStatuses?.find((c) => c.state?.waiting?.reason)?.state?.waiting?.reason;
    if (waiting) reason = waiting;
    if (pod.metadata.deletionTimestamp) reason = "Terminating";
    const gates = pod.spec?.readinessGates ?? [];
    return [
      pod.metadata.name ?? "",
      `${ready}/${containers}`,
      reason,
      String(restarts),
      age(obj, now),
      pod.status?.podIP ?? "<none>",
      pod.spec?.nodeName ?? "<none>",
      pod.status?.nominatedNodeName ?? "<none>",
      gates.length ? `${isPodReady(pod) ? gates.length : 0}/${gates.length}` : "<none>",
    ];
  },
};

const namespacePrinter: Printer = {
  columns: [NAME, col("Status", "string", "The status of the namespace"), AGE],
  cells: (obj, now) => [obj.metadata.name ?? "", isRecord(obj["status"]) ? String(obj["status"]["phase"] ?? "") : "", age(obj, now)],
};

const deploymentPrinter: Printer = {
  columns: [
    NAME,
    col("Ready", "string", "Number of the pod with ready state"),
    col("Up-to-date", "integer", "Total number of non-terminated pods targeted by this deployment that have the desired template spec."),
    col("Available", "integer", "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment."),
    AGE,
  ],
  cells: (obj, now) => [
    obj.metadata.name ?? "",
    `${num(obj, "status.readyReplicas")}/${num(obj, "spec.replicas")}`,
    num(obj, "status.updatedReplicas"),
    num(obj, "status.availableReplicas"),
    age(obj, now),
  ],
};

const replicaSetPrinter: Printer = {
  columns: [
    NAME,
    col("Desired", "integer", "Replicas is the number of desired replicas."),
    col("Current", "integer", "Replicas is the most recently observed number of replicas."),
    col("Ready", "integer", "The number of ready replicas for this replica set."),
    AGE,
  ],
  cells: (obj, now) => [obj.metadata.name ?? "", num(obj, "spec.replicas"), num(obj, "status.replicas"), num(obj, "status.readyReplicas"), age(obj, now)],
};

const daemonSetPrinter: Printer = {
  columns: [
    NAME,
    col("Desired", "integer", "The total number of nodes that should be running the daemon pod."),
    col("Current", "integer", "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod."),
    col("Ready", "integer", "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready."),
    col("Up-to-date", "integer", "The total number of nodes that are running updated daemon pod"),
    col("Available", "integer", "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available."),
    col("Node Selector", "string", "NodeSelector is a selector which must be true for the pod to fit on a node."),
    AGE,
  ],
  cells(obj, now) {
    const spec = isRecord(obj["spec"]) ? obj["spec"] : {};
    const template = isRecord(spec["template"]) ? spec["template"] : {};
    const podSpec = isRecord(template["spec"]) ? template["spec"] : {};
    const selector = isRecord(podSpec["nodeSelector"]) ? Object.entries(podSpec["nodeSelector"]).map(([k, v]) => `${k}=${String(v)}`).join(",") : "";
    return [
      obj.metadata.name ?? "",
      num(obj, "status.desiredNumberScheduled"),
      num(obj, "status.currentNumberScheduled"),
      num(obj, "status.numberReady"),
      num(obj, "status.updatedNumberScheduled"),
      num(obj, "status.numberAvailable"),
      selector || "<none>",
      age(obj, now),
    ];
  },
};

const pdbPrinter: Printer = {
  columns: [
    NAME,
    col("Min Available", "string", "Minimum number of pods that must be available after the eviction"),
    col("Max Unavailable", "string", "Maximum number of pods that may be unavailable after the eviction"),
    col("Allowed Disruptions", "integer", "Number of pod disruptions that are currently allowed"),
    AGE,
  ],
  cells(obj, now) {
    const pdb = obj as Pdb;
    return [
      pdb.metadata.name ?? "",
      pdb.spec?.minAvailable !== undefined ? String(pdb.spec.minAvailable) : "N/A",
      pdb.spec?.maxUnavailable !== undefined ? String(pdb.spec.maxUnavailable) : "N/A",
      pdb.status?.disruptionsAllowed ?? 0,
      age(obj, now),
    ];
  },
};

const eventPrinter: Printer = {
  columns: [
    col("Last Seen", "string", "Time when last this event was observed"),
    col("Type", "string", "Type of this event (Normal, Warning), new types could be added in the future."),
    col("Reason", "string", "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
    col("Object", "string", "The object that this event is about."),
    col("Message", "string", "A human-readable description of the status of this operation."),
  ],
  cells(obj, now) {
    const involved = isRecord(obj["involvedObject"]) ? obj["involvedObject"] : isRecord(obj["regarding"]) ? obj["regarding"] : {};
    const seen = [obj["lastTimestamp"], obj["deprecatedLastTimestamp"], obj["eventTime"], obj.metadata.creationTimestamp].find((t) => typeof t === "string") as string | undefined;
    return [
      seen ? humanDuration(now.getTime() - Date.parse(seen)) : "<unknown>",
      String(obj["type"] ?? ""),
      String(obj["reason"] ?? ""),
      `${String(involved["kind"] ?? "").toLowerCase()}/${String(involved["name"] ?? "")}`,
      String(obj["message"] ?? obj["note"] ?? ""),
    ];
  },
};

const defaultPrinter: Printer = {
  columns: [NAME, col("Created At", "date", "CreationTimestamp is a timestamp representing the server time when this object was created.")],
  cells: (obj) => [obj.metadata.name ?? "", obj.metadata.creationTimestamp ?? ""],
};

const PRINTERS: Record<string, Printer> = {
  nodes: nodePrinter,
  pods: podPrinter,
  namespaces: namespacePrinter,
  deployments: deploymentPrinter,
  replicasets: replicaSetPrinter,
  daemonsets: daemonSetPrinter,
  poddisruptionbudgets: pdbPrinter,
  events: eventPrinter,
};

export type IncludeObject = "None" | "Metadata" | "Object";

function partialMetadata(obj: KubeObject): KubeObject {
  return { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: obj.metadata };
}

/** Builds the Table for objects already in their external shape. */
export function toTable(
  resource: ResourceType,
  objects: KubeObject[],
  listMeta: { resourceVersion?: string; continue?: string; remainingItemCount?: number },
  include: IncludeObject,
  now: Date,
  omitHeaders = false,
): KubeObject {
  const printer = PRINTERS[resource.plural] ?? defaultPrinter;
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: listMeta,
    ...(omitHeaders ? {} : { columnDefinitions: printer.columns }),
    rows: objects.map((obj) => ({
      cells: printer.cells(obj, now),
      ...(include === "None" ? {} : { object: include === "Object" ? obj : partialMetadata(obj) }),
    })),
  };
}

