/**
 * Runs the simulated control plane and kubelets against the registry: controllers react to every
 * stored change; kubelets start bound pods after a start-up delay and finish graceful deletions
 * after the pod's grace period, both scaled by `timeScale`.
 */
import { asPod, isTerminating, podPhase, timestamp, type Pod } from "../objects";
import type { Registry } from "../registry";
import type { StoredChange } from "../store";
import { clone } from "../wire";
import { collectGarbage, finalizeNamespaces, PODS, reconcileDaemonSets, reconcileDeployments, reconcileReplicaSets, schedulePods } from "./controllers";

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
}

type Controller = (registry: Registry) => number;

export class Simulation {
  readonly timeScale: number;
  private readonly podStartupSeconds: number;
  private readonly controllers: Controller[];
  private readonly kubelet: boolean;
  private readonly startTimers = new Map<string, NodeJS.Timeout>();
  private readonly deleteTimers = new Map<string, { timer: NodeJS.Timeout; due: number }>();
  private unsubscribe: (() => void) | undefined;
  private scheduled: NodeJS.Immediate | undefined;
  private idleWaiters: (() => void)[] = [];
  private stopped = false;
  private podIpCounter = 10;

  constructor(
    private readonly registry: Registry,
    options: SimulationOptions = {},
  ) {
    this.timeScale = options.timeScale ?? 1;
    this.podStartupSeconds = options.podStartupSeconds ?? 2;
    this.kubelet = options.kubelet ?? true;
    const enabled = (flag: boolean | undefined) => flag ?? true;
    this.controllers = [
      ...(enabled(options.deployments) ? [reconcileDeployments] : []),
      ...(enabled(options.replicaSets) ? [reconcileReplicaSets] : []),
      ...(enabled(options.daemonSets) ? [reconcileDaemonSets] : []),
      ...(enabled(options.scheduler) ? [schedulePods] : []),
      ...(enabled(options.garbageCollector) ? [collectGarbage, finalizeNamespaces] : []),
    ];
  }

  start(): void {
    this.unsubscribe = this.registry.store.subscribe((change) => this.onChange(change));
    for (const pod of this.registry.store.peekAll(PODS.storage)) this.watchPod(asPod(pod));
    this.kick();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.scheduled) clearImmediate(this.scheduled);
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
    if (change.storage === PODS.storage) this.watchPod(asPod(change.object), change.type === "DELETED");
    this.kick();
  }

  private kick(): void {
    if (this.stopped || this.scheduled) return;
    this.scheduled = setImmediate(() => {
      this.scheduled = undefined;
      this.reconcile();
    });
  }

  private reconcile(): void {
    // writes trigger onChange, which schedules the next pass; one pass per turn keeps the loop fair
    for (const controller of this.controllers) controller(this.registry);
    if (!this.scheduled) this.maybeIdle();
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
      return;
    }
    if (isTerminating(pod)) {
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
    const node = this.registry.store.peek("nodes", undefined, pod.spec?.nodeName ?? "");
    const hostIP = (node as { status?: { addresses?: { type: string; address: string }[] } } | undefined)?.status?.addresses?.find((a) => a.type === "InternalIP")?.address ?? "10.0.0.1";
    this.podIpCounter += 1;
    const condition = (type: string) => ({ type, status: "True", lastProbeTime: null, lastTransitionTime: now });
    const status = {
      ...(pod.status ?? {}),
      phase: "Running",
      hostIP,
      podIP: pod.spec?.hostNetwork ? hostIP : `10.1.${Math.floor(this.podIpCounter / 250) % 250}.${(this.podIpCounter % 250) + 1}`,
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
    } catch {
      // the pod changed or went away meanwhile; the next change brings it back here
    }
  }
}
