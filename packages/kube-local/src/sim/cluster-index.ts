/**
 * What the simulated controllers know of the cluster between passes, kept from the store's changes
 * as informers keep their caches and indexes: the dependents of each owner uid, the pods bound to
 * each node with the node's load, and the pods the scheduler has yet to bind. A controller then
 * looks at what a change touched, not at the whole cluster.
 */
import { asPod, controllerOf, type Pod } from "../objects";
import type { KubeObject } from "../wire";
import type { StoredChange } from "../store";
import { awaitsScheduling } from "./controllers";
import { holdsNode, nodeLoads, type NodeLoad } from "./placement";

export interface ObjectRef {
  storage: string;
  namespace: string | undefined;
  name: string;
}

const PODS = "pods";
const NODES = "nodes";

export function refKey(ref: ObjectRef): string {
  return `${ref.storage}|${ref.namespace ?? ""}|${ref.name}`;
}

/** `namespace/name`, the key the simulation files namespaced objects under. */
export function objectKey(obj: Pick<KubeObject, "metadata">): string {
  return `${obj.metadata.namespace ?? ""}/${obj.metadata.name ?? ""}`;
}

export class ClusterIndex {
  private readonly dependentsByOwner = new Map<string, Map<string, ObjectRef>>();
  private readonly ownersOf = new Map<string, string[]>();
  /** The controller each object named at its last change, so a change of controller reaches the one it left. */
  private readonly controllerOf = new Map<string, { kind: string; name: string }>();
  private readonly podsByNode = new Map<string, Map<string, Pod>>();
  private readonly nodeOfPod = new Map<string, string>();
  /** Each node's load, computed when asked and forgotten when a pod there changes. */
  private readonly loads = new Map<string, NodeLoad>();
  private readonly pending = new Map<string, Pod>();

  /**
   * Takes in one stored change; says which controller the object had before it, whether a node's
   * load went down, and whether a pod waits for the scheduler.
   */
  apply(change: StoredChange): { previousController: { kind: string; name: string } | undefined; freedRoom: boolean; awaitsScheduling: boolean } {
    const previousController = this.indexOwners(change);
    if (change.storage === NODES && change.type === "DELETED") this.loads.delete(change.object.metadata.name ?? "");
    if (change.storage !== PODS) return { previousController, freedRoom: false, awaitsScheduling: false };
    const pod = asPod(change.object);
    const key = objectKey(pod);
    const deleted = change.type === "DELETED";
    const waiting = !deleted && awaitsScheduling(pod);
    if (waiting) this.pending.set(key, pod);
    else this.pending.delete(key);
    const before = this.nodeOfPod.get(key);
    const previous = before !== undefined ? this.podsByNode.get(before)?.get(key) : undefined;
    const freedRoom = previous !== undefined && holdsNode(previous) && (deleted || !holdsNode(pod) || before !== pod.spec?.nodeName);
    const nodeName = deleted ? undefined : pod.spec?.nodeName;
    if (before !== undefined && before !== nodeName) {
      const pods = this.podsByNode.get(before);
      pods?.delete(key);
      if (pods?.size === 0) this.podsByNode.delete(before);
      this.loads.delete(before);
    }
    if (nodeName === undefined) this.nodeOfPod.delete(key);
    else {
      this.nodeOfPod.set(key, nodeName);
      const pods = this.podsByNode.get(nodeName) ?? new Map<string, Pod>();
      pods.set(key, pod);
      this.podsByNode.set(nodeName, pods);
      this.loads.delete(nodeName);
    }
    return { previousController, freedRoom, awaitsScheduling: waiting };
  }

  /** Objects that name `uid` among their owner references. */
  dependents(uid: string | undefined): ObjectRef[] {
    return uid ? [...(this.dependentsByOwner.get(uid)?.values() ?? [])] : [];
  }

  podsOn(nodeName: string): Pod[] {
    return [...(this.podsByNode.get(nodeName)?.values() ?? [])];
  }

  loadOf(nodeName: string): NodeLoad {
    let load = this.loads.get(nodeName);
    if (!load) {
      load = nodeLoads(this.podsByNode.get(nodeName)?.values() ?? []).get(nodeName) ?? { pods: 0, cpu: 0, memory: 0 };
      this.loads.set(nodeName, load);
    }
    return load;
  }

  pendingPods(): Pod[] {
    return [...this.pending.values()];
  }

  /** Indexes the object's owners; returns the controller it had before this change. */
  private indexOwners(change: StoredChange): { kind: string; name: string } | undefined {
    const { metadata } = change.object;
    const ref: ObjectRef = { storage: change.storage, namespace: metadata.namespace, name: metadata.name ?? "" };
    const key = refKey(ref);
    const previousController = this.controllerOf.get(key);
    const controller = change.type === "DELETED" ? undefined : controllerOf(change.object);
    if (controller) this.controllerOf.set(key, { kind: controller.kind, name: controller.name });
    else this.controllerOf.delete(key);
    for (const uid of this.ownersOf.get(key) ?? []) {
      const dependents = this.dependentsByOwner.get(uid);
      dependents?.delete(key);
      if (dependents?.size === 0) this.dependentsByOwner.delete(uid);
    }
    const owners = change.type === "DELETED" ? [] : (metadata.ownerReferences ?? []).map((r) => r.uid).filter((uid) => uid);
    if (owners.length === 0) this.ownersOf.delete(key);
    else this.ownersOf.set(key, owners);
    for (const uid of owners) {
      const dependents = this.dependentsByOwner.get(uid) ?? new Map<string, ObjectRef>();
      dependents.set(key, ref);
      this.dependentsByOwner.set(uid, dependents);
    }
    return previousController;
  }
}
