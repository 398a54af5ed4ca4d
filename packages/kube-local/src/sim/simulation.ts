/**
 * Runs the simulated control plane and kubelets against the registry: controllers react to every
 * stored change; kubelets start bound pods after a start-up delay and finish graceful deletions
 * after the pod's grace period, both scaled by `timeScale`.
 */
import { ApiError } from "../errors";
import { EventRecorder } from "../control/event-recorder";
import { asNode, asPod, controllerOf, isTerminating, podPhase, timestamp, type Pod } from "../objects";
import { RESOURCES, type ResourceType } from "../resources";
import type { Registry } from "../registry";
import type { StoredChange } from "../store";
import { clone, type KubeObject } from "../wire";
import { ClusterIndex, objectKey as keyOf, refKey, type ObjectRef } from "./cluster-index";
import {
  collectIfOrphaned,
  ownerExists,
  DAEMONSETS,
  DEPLOYMENTS,
  NODES,
  PODS,
  REPLICASETS,
  schedulePods,
  syncDaemonSet,
  syncDeployment,
  syncReplicaSet,
  type DaemonSet,
  type Deployment,
  type ReplicaSet,
  type SimEvents,
} from "./controllers";
import { allocatePodIp } from "./pod-network";

const LEASES = RESOURCES.find((r) => r.plural === "leases")!;
export const NODE_LEASE_NAMESPACE = "kube-node-lease";
/** The kubelet's node lease: 40 s long, renewed every quarter of that. */
const LEASE_DURATION_SECONDS = 40;
/** However fast the simulated clock runs, leases are renewed at most this often (bounded work). */
const MIN_RENEW_MS = 250;
/** Changes no simulated controller reacts to: the kubelet's own leases and everybody's events (leases are still indexed, for their owner). */
const QUIET_STORAGE = new Set(["leases", "events"]);
/** Where each stored kind is kept, and as which resource the garbage collector deletes it (events own nothing). */
const RESOURCE_OF_STORAGE = new Map<string, ResourceType>(RESOURCES.filter((r) => r.storage !== "events").map((r) => [r.storage, r] as const).reverse());

export interface SimulationOptions {
  /** Multiplies every simulated duration: 0.01 runs a 30 s grace period in 300 ms. */
  timeScale?: number;
  /** Seconds from binding to Running and Ready. */
  podStartupSeconds?: number;
  kubelet?: boolean;
  scheduler?: boolean;
  replicaSets?: boolean;
  deployments?: boolean;
  daemonSets?: boolean;
  garbageCollector?: boolean;
  /** The simulated components' Events (Scheduled, Started, Killing, ...); off only where they are mere load, as in benchmarks. */
  events?: boolean;
}

/** What changes since the last pass left for each controller to look at. */
interface Dirty {
  deployments: Set<string>;
  replicaSets: Set<string>;
  daemonSets: Set<string>;
  /** Whether a pod started waiting for a node or room was freed: the scheduler tries the waiting pods again. */
  schedule: boolean;
  /** Objects whose owners (or, for pods, node) may be gone. */
  orphans: Map<string, ObjectRef>;
}

const cleanSlate = (): Dirty => ({ deployments: new Set(), replicaSets: new Set(), daemonSets: new Set(), schedule: false, orphans: new Map() });

export class Simulation {
  readonly timeScale: number;
  private readonly podStartupSeconds: number;
  private readonly enabled: { deployments: boolean; replicaSets: boolean; daemonSets: boolean; scheduler: boolean; garbageCollector: boolean };
  private readonly index = new ClusterIndex();
  private dirty = cleanSlate();
  private readonly kubelet: boolean;
  private readonly startTimers = new Map<string, NodeJS.Timeout>();
  private readonly deleteTimers = new Map<string, { timer: NodeJS.Timeout; due: number }>();
  private unsubscribe: (() => void) | undefined;
  private scheduled: NodeJS.Immediate | undefined;
  private idleWaiters: (() => void)[] = [];
  private stopped = false;
  private readonly events: SimEvents;
  private readonly kubeletEvents: EventRecorder;
  /** Pods bound to a node that has no pod CIDR yet, by node: they start once it has one. */
  private readonly waitingForNetwork = new Map<string, Set<string>>();
  /** When the last controller pass ended, and how long it took: passes are spaced by their own cost. */
  private lastPass = { endedAt: 0, tookMs: 0 };
  private readonly killed = new Set<string>();
  private readonly schedulable = new Map<string, boolean>();
  private leaseTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly registry: Registry,
    options: SimulationOptions = {},
  ) {
    this.timeScale = options.timeScale ?? 1;
    this.podStartupSeconds = options.podStartupSeconds ?? 2;
    this.kubelet = options.kubelet ?? true;
    const events = options.events ?? true;
    this.events = {
      scheduler: new EventRecorder(registry, "default-scheduler", events),
      replicaSet: new EventRecorder(registry, "replicaset-controller", events),
      deployment: new EventRecorder(registry, "deployment-controller", events),
      daemonSet: new EventRecorder(registry, "daemonset-controller", events),
    };
    this.kubeletEvents = new EventRecorder(registry, "kubelet", events);
    this.enabled = {
      deployments: options.deployments ?? true,
      replicaSets: options.replicaSets ?? true,
      daemonSets: options.daemonSets ?? true,
      scheduler: options.scheduler ?? true,
      garbageCollector: options.garbageCollector ?? true,
    };
  }

  start(): void {
    this.unsubscribe = this.registry.store.subscribe((change) => this.onChange(change));
    // what is stored already is looked at once, as an informer's initial list is
    const revision = this.registry.store.currentRevision();
    for (const storage of RESOURCE_OF_STORAGE.keys()) {
      for (const object of this.registry.store.peekAll(storage)) this.markDirty({ type: "ADDED", storage, revision, object });
    }
    for (const pod of this.registry.store.peekAll(PODS.storage)) this.watchPod(asPod(pod));
    if (this.kubelet) {
      for (const node of this.registry.store.peekAll(NODES.storage)) this.watchNode(node.metadata.name ?? "");
      this.renewLeases();
      this.leaseTimer = setInterval(() => this.renewLeases(), Math.max(MIN_RENEW_MS, (LEASE_DURATION_SECONDS / 4) * 1000 * this.timeScale));
      this.leaseTimer.unref();
    }
    this.kick();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.scheduled) {
      clearImmediate(this.scheduled);
      clearTimeout(this.scheduled as unknown as NodeJS.Timeout);
    }
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    for (const timer of this.startTimers.values()) clearTimeout(timer);
    for (const { timer } of this.deleteTimers.values()) clearTimeout(timer);
    this.startTimers.clear();
    this.deleteTimers.clear();
    this.releaseIdle();
  }

  /** Resolves once the controllers have nothing left to do and no pod is waiting to start. */
  idle(): Promise<void> {
    if (!this.scheduled && this.startTimers.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private onChange(change: StoredChange): void {
    if (change.storage === "events") return;
    const needsPass = this.markDirty(change);
    if (QUIET_STORAGE.has(change.storage)) {
      if (needsPass) this.kick();
      return;
    }
    if (change.storage === PODS.storage) this.watchPod(asPod(change.object), change.type === "DELETED");
    if (change.storage === NODES.storage && this.kubelet) {
      const name = change.object.metadata.name ?? "";
      if (change.type === "DELETED") this.schedulable.delete(name);
      else {
        if (change.type === "ADDED") this.renewLease(name);
        this.watchNode(name);
      }
    }
    this.kick();
  }

  /** What the kubelet notices about its own node: its schedulability, and a pod CIDR to start waiting pods with. */
  private watchNode(name: string): void {
    const node = this.registry.store.peek(NODES.storage, undefined, name);
    if (!node) return;
    const schedulable = !asNode(node).spec?.unschedulable;
    const before = this.schedulable.get(name);
    this.schedulable.set(name, schedulable);
    if (before !== undefined && before !== schedulable) {
      const status = schedulable ? "NodeSchedulable" : "NodeNotSchedulable";
      this.kubeletEvents.record(NODES, node, "Normal", status, `Node ${name} status is now: ${status}`, { host: name });
    }
    const waiting = this.waitingForNetwork.get(name);
    if (waiting && asNode(node).spec?.podCIDR) {
      this.waitingForNetwork.delete(name);
      for (const key of waiting) {
        const [namespace = "", podName = "", uid = ""] = key.split("/");
        this.startPod(namespace, podName, uid);
      }
    }
  }

  private renewLeases(): void {
    for (const node of this.registry.store.peekAll(NODES.storage)) this.renewLease(node.metadata.name ?? "");
  }

  /** The kubelet's heartbeat: the node's Lease in kube-node-lease, created on first sight and renewed since. */
  private renewLease(nodeName: string): void {
    const node = this.registry.store.peek(NODES.storage, undefined, nodeName);
    if (!node || node.metadata.deletionTimestamp) return;
    const now = this.registry.now().toISOString().replace(/Z$/, "000Z");
    const existing = this.registry.store.peek(LEASES.storage, NODE_LEASE_NAMESPACE, nodeName);
    try {
      if (!existing) {
        this.registry.create(LEASES, NODE_LEASE_NAMESPACE, {
          metadata: {
            name: nodeName,
            namespace: NODE_LEASE_NAMESPACE,
            ownerReferences: [{ apiVersion: "v1", kind: "Node", name: nodeName, uid: node.metadata.uid ?? "" }],
          },
          spec: { holderIdentity: nodeName, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime: now },
        });
        return;
      }
      const body = clone(existing);
      body["spec"] = { ...(body["spec"] as Record<string, unknown>), holderIdentity: nodeName, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime: now };
      this.registry.update(LEASES, NODE_LEASE_NAMESPACE, nodeName, body);
    } catch (error) {
      // the lease namespace may be missing or a write raced ours: the next renewal tries again
      if (!(error instanceof ApiError)) throw error;
    }
  }

  private kick(): void {
    if (this.stopped || this.scheduled) return;
    // a pass over a large cluster is spaced from the last by as long as that one took, so the
    // controllers never hold the process (and the API server it serves) more than half the time
    const wait = Math.max(0, this.lastPass.endedAt + this.lastPass.tookMs - performance.now());
    const run = () => {
      this.scheduled = undefined;
      this.reconcile();
    };
    this.scheduled = wait > 1 ? (setTimeout(run, wait) as unknown as NodeJS.Immediate) : setImmediate(run);
  }

  /**
   * Indexes a change and notes which controllers have something to look at because of it; true
   * when a pass is needed for it (a quiet kind's change needs one only when its owners are gone).
   */
  private markDirty(change: StoredChange): boolean {
    const { object, storage, type } = change;
    const { previousController, freedRoom, awaitsScheduling } = this.index.apply(change);
    const refs = object.metadata.ownerReferences ?? [];
    if (QUIET_STORAGE.has(storage)) {
      // a lease (say) is looked at when it names owners none of which exists any more
      if (type === "DELETED" || refs.length === 0 || refs.some((ref) => ownerExists(this.registry, object.metadata.namespace, ref))) return false;
      this.noteOrphan({ storage, namespace: object.metadata.namespace, name: object.metadata.name ?? "" });
      return true;
    }
    const dirty = this.dirty;
    // the controller named now and the one named before: a pod that leaves its ReplicaSet is missed by it
    const controllers = [controllerOf(object), previousController].filter((c): c is { kind: string; name: string } => c !== undefined);
    const controlledBy = (kind: string) => controllers.filter((c) => c.kind === kind).map((c) => `${object.metadata.namespace ?? ""}/${c.name}`);
    if (storage === DEPLOYMENTS.storage) dirty.deployments.add(keyOf(object));
    if (storage === REPLICASETS.storage) {
      dirty.replicaSets.add(keyOf(object));
      for (const key of controlledBy("Deployment")) dirty.deployments.add(key);
    }
    if (storage === DAEMONSETS.storage) dirty.daemonSets.add(keyOf(object));
    if (storage === PODS.storage) {
      for (const key of controlledBy("ReplicaSet")) dirty.replicaSets.add(key);
      for (const key of controlledBy("DaemonSet")) dirty.daemonSets.add(key);
      if (freedRoom || awaitsScheduling) dirty.schedule = true;
    }
    if (storage === NODES.storage) {
      dirty.schedule = true;
      for (const ds of this.registry.store.peekAll(DAEMONSETS.storage)) dirty.daemonSets.add(keyOf(ds));
      if (type === "DELETED") for (const pod of this.index.podsOn(object.metadata.name ?? "")) this.noteOrphan({ storage: PODS.storage, namespace: pod.metadata.namespace, name: pod.metadata.name ?? "" });
    }
    if (type === "DELETED") for (const dependent of this.index.dependents(object.metadata.uid)) this.noteOrphan(dependent);
    else if (refs.length > 0 || (storage === PODS.storage && asPod(object).spec?.nodeName)) {
      this.noteOrphan({ storage, namespace: object.metadata.namespace, name: object.metadata.name ?? "" });
    }
    return true;
  }

  private noteOrphan(ref: ObjectRef): void {
    this.dirty.orphans.set(refKey(ref), ref);
  }

  private reconcile(): void {
    // writes trigger onChange, which marks what they touched and schedules the next pass; one pass per turn keeps the loop fair
    const started = performance.now();
    const dirty = this.dirty;
    this.dirty = cleanSlate();
    this.runControllers(dirty);
    const ended = performance.now();
    this.lastPass = { endedAt: ended, tookMs: ended - started };
    if (!this.scheduled) this.maybeIdle();
  }

  /** One pass: the controllers, in kube-controller-manager's order of dependence, each over what changed for it. */
  private runControllers(dirty: Dirty): void {
    const store = this.registry.store;
    const controlled = <T>(storage: string, owner: { metadata: { uid?: string | undefined } }): T[] =>
      this.index
        .dependents(owner.metadata.uid)
        .filter((ref) => ref.storage === storage)
        .map((ref) => store.peek(storage, ref.namespace, ref.name))
        .filter((obj): obj is KubeObject => obj !== undefined && controllerOf(obj)?.uid === owner.metadata.uid) as T[];
    const peekKey = (storage: string, key: string) => {
      const [namespace = "", name = ""] = key.split("/");
      return store.peek(storage, namespace, name);
    };
    if (this.enabled.deployments) {
      for (const key of dirty.deployments) {
        const deployment = peekKey(DEPLOYMENTS.storage, key) as Deployment | undefined;
        if (deployment) syncDeployment(this.registry, deployment, controlled<ReplicaSet>(REPLICASETS.storage, deployment), this.events);
      }
    }
    if (this.enabled.replicaSets) {
      for (const key of dirty.replicaSets) {
        const rs = peekKey(REPLICASETS.storage, key) as ReplicaSet | undefined;
        if (rs) syncReplicaSet(this.registry, rs, controlled<Pod>(PODS.storage, rs), this.events);
      }
    }
    if (this.enabled.daemonSets && dirty.daemonSets.size > 0) {
      const nodes = store.peekAll(NODES.storage).map(asNode);
      for (const key of dirty.daemonSets) {
        const ds = peekKey(DAEMONSETS.storage, key) as DaemonSet | undefined;
        if (ds) syncDaemonSet(this.registry, ds, nodes, controlled<Pod>(PODS.storage, ds), this.events);
      }
    }
    if (this.enabled.scheduler && dirty.schedule) {
      const pending = this.index.pendingPods();
      if (pending.length > 0) {
        const nodes = store.peekAll(NODES.storage).map(asNode);
        const loads = new Map(nodes.map((n) => [n.metadata.name ?? "", { ...this.index.loadOf(n.metadata.name ?? "") }] as const));
        schedulePods(this.registry, pending, nodes, loads, this.events);
      }
    }
    if (this.enabled.garbageCollector) {
      for (const ref of dirty.orphans.values()) {
        const resource = RESOURCE_OF_STORAGE.get(ref.storage);
        const obj = store.peek(ref.storage, ref.namespace, ref.name);
        if (resource && obj) collectIfOrphaned(this.registry, resource, obj);
      }
    }
  }

  private maybeIdle(): void {
    if (!this.scheduled && this.startTimers.size === 0) this.releaseIdle();
  }

  private releaseIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private scaled(seconds: number): number {
    return Math.max(0, seconds * 1000 * this.timeScale);
  }

  private watchPod(pod: Pod, deleted = false): void {
    if (!this.kubelet) return;
    const uid = pod.metadata.uid ?? "";
    if (deleted) {
      this.clearTimers(uid);
      this.killed.delete(uid);
      return;
    }
    if (isTerminating(pod)) {
      this.recordKilling(pod);
      const start = this.startTimers.get(uid);
      if (start) {
        clearTimeout(start);
        this.startTimers.delete(uid);
      }
      this.scheduleDeletion(pod);
      return;
    }
    if (pod.spec?.nodeName && podPhase(pod) === "Pending" && !this.startTimers.has(uid)) {
      this.startTimers.set(
        uid,
        setTimeout(() => {
          this.startTimers.delete(uid);
          this.startPod(pod.metadata.namespace ?? "", pod.metadata.name ?? "", uid);
          this.maybeIdle();
        }, this.scaled(this.podStartupSeconds)),
      );
    }
  }

  /** Killing, once per running container, when the kubelet starts a pod's graceful stop. */
  private recordKilling(pod: Pod): void {
    const uid = pod.metadata.uid ?? "";
    if (this.killed.has(uid)) return;
    this.killed.add(uid);
    for (const status of pod.status?.containerStatuses ?? []) {
      if (!status.state?.running) continue;
      this.kubeletEvents.record(PODS, pod, "Normal", "Killing", `Stopping container ${status.name}`, { fieldPath: `spec.containers{${status.name}}`, host: pod.spec?.nodeName ?? "" });
    }
  }

  private scheduleDeletion(pod: Pod): void {
    const uid = pod.metadata.uid ?? "";
    const grace = pod.metadata.deletionGracePeriodSeconds ?? 0;
    const due = Date.now() + this.scaled(grace);
    const existing = this.deleteTimers.get(uid);
    if (existing && existing.due <= due) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.deleteTimers.delete(uid);
      this.registry.finishDeletion(PODS, pod.metadata.namespace, pod.metadata.name ?? "", uid);
    }, due - Date.now());
    this.deleteTimers.set(uid, { timer, due });
  }

  private clearTimers(uid: string): void {
    const start = this.startTimers.get(uid);
    if (start) clearTimeout(start);
    this.startTimers.delete(uid);
    const del = this.deleteTimers.get(uid);
    if (del) clearTimeout(del.timer);
    this.deleteTimers.delete(uid);
  }

  /** What a kubelet reports once the containers run: Running, Ready, addresses and start time. */
  private startPod(namespace: string, name: string, uid: string): void {
    const stored = this.registry.store.peek(PODS.storage, namespace, name);
    if (!stored || stored.metadata.uid !== uid || isTerminating(stored) || podPhase(asPod(stored)) !== "Pending") return;
    const pod = asPod(clone(stored));
    const now = timestamp(this.registry.now());
    const nodeName = pod.spec?.nodeName ?? "";
    const storedNode = this.registry.store.peek(NODES.storage, undefined, nodeName);
    if (!storedNode) return;
    const node = asNode(storedNode);
    const hostIP = node.status?.addresses?.find((a) => a.type === "InternalIP")?.address ?? "10.0.0.1";
    let podIP = hostIP;
    if (!pod.spec?.hostNetwork) {
      // the network plugin hands out addresses from the node's pod CIDR; without one the pod waits
      const cidr = node.spec?.podCIDR;
      const allocated = cidr ? allocatePodIp(cidr, this.index.podsOn(nodeName), nodeName) : undefined;
      if (!allocated) {
        const waiting = this.waitingForNetwork.get(nodeName) ?? new Set<string>();
        waiting.add(`${namespace}/${name}/${uid}`);
        this.waitingForNetwork.set(nodeName, waiting);
        return;
      }
      podIP = allocated;
    }
    const condition = (type: string) => ({ type, status: "True", lastProbeTime: null, lastTransitionTime: now });
    const status = {
      ...(pod.status ?? {}),
      phase: "Running",
      hostIP,
      podIP,
      podIPs: [{ ip: podIP }],
      hostIPs: [{ ip: hostIP }],
      startTime: now,
      conditions: ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"].map(condition),
      containerStatuses: (pod.spec?.containers ?? []).map((c) => ({
        name: c.name,
        image: c.image,
        imageID: "",
        ready: true,
        started: true,
        restartCount: 0,
        state: { running: { startedAt: now } },
      })),
    };
    try {
      this.registry.update(PODS, namespace, name, { ...pod, status }, { subresource: "status" });
      for (const c of pod.spec?.containers ?? []) {
        const where = { fieldPath: `spec.containers{${c.name}}`, host: nodeName };
        this.kubeletEvents.record(PODS, pod, "Normal", "Pulled", `Container image ${JSON.stringify(c.image ?? "")} already present on machine`, where);
        this.kubeletEvents.record(PODS, pod, "Normal", "Created", `Created container: ${c.name}`, where);
        this.kubeletEvents.record(PODS, pod, "Normal", "Started", `Started container ${c.name}`, where);
      }
    } catch {
      // the pod changed or went away meanwhile; the next change brings it back here
    }
  }
}
