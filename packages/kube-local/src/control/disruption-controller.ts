/**
 * The disruption controller of kube-controller-manager: a change to a budget or to a pod in its
 * namespace queues the budget, and after the sync delay its status is recomputed and written
 * through the status subresource (guarded by resourceVersion, requeued on conflict). Between
 * syncs the status is what was last written, so evictions see a lagging observedGeneration and
 * the decrements other evictions made, as on a real cluster.
 */
import { ApiError } from "../errors";
import { syncPdbStatus, DELETION_TIMEOUT_MS, type Pdb } from "../pdb";
import type { Registry } from "../registry";
import { RESOURCES } from "../resources";
import type { StoredChange } from "../store";
import { clone } from "../wire";
import type { EventRecorder } from "./event-recorder";
import { WorkQueue } from "./work-queue";

const PDBS = RESOURCES.find((r) => r.plural === "poddisruptionbudgets")!;

export interface DisruptionControllerOptions {
  /** Milliseconds from a change to the sync it causes (informer and work-queue latency); default 20. */
  syncDelayMs?: number;
  /** How long an eviction recorded in status.disruptedPods keeps its pod out of the healthy count; default 2 minutes, as upstream. */
  deletionTimeoutMs?: number;
}

export class DisruptionController {
  readonly syncDelayMs: number;
  private readonly deletionTimeoutMs: number;
  private readonly queue: WorkQueue;

  constructor(
    private readonly registry: Registry,
    private readonly recorder: EventRecorder,
    options: DisruptionControllerOptions = {},
  ) {
    this.syncDelayMs = options.syncDelayMs ?? 20;
    this.deletionTimeoutMs = options.deletionTimeoutMs ?? DELETION_TIMEOUT_MS;
    this.queue = new WorkQueue((key) => this.sync(key));
  }

  start(): void {
    for (const pdb of this.registry.store.peekAll(PDBS.storage)) this.enqueue(pdb.metadata.namespace, pdb.metadata.name);
  }

  stop(): void {
    this.queue.stop();
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  busy(): boolean {
    return this.queue.busy();
  }

  onChange(change: StoredChange): void {
    if (change.storage === PDBS.storage) {
      if (change.type !== "DELETED") this.enqueue(change.object.metadata.namespace, change.object.metadata.name);
    } else if (change.storage === "pods") {
      // any pod change may move a budget (its labels may have left a selector), so all of its namespace's budgets look again
      for (const pdb of this.registry.store.peekAll(PDBS.storage, change.object.metadata.namespace)) this.enqueue(pdb.metadata.namespace, pdb.metadata.name);
    }
  }

  private enqueue(namespace: string | undefined, name: string | undefined, delayMs = this.syncDelayMs, background = false): void {
    if (!namespace || !name) return;
    this.queue.add(`${namespace}/${name}`, delayMs, { background });
  }

  private sync(key: string): void {
    const [namespace = "", name = ""] = key.split("/");
    const stored = this.registry.store.peek(PDBS.storage, namespace, name) as Pdb | undefined;
    if (!stored || stored.metadata.deletionTimestamp) return;
    const now = this.registry.now();
    const result = syncPdbStatus(this.registry.store, stored, now, this.deletionTimeoutMs);
    for (const event of result.events) this.recorder.record(PDBS, stored, event.type, event.reason, event.message);
    try {
      this.registry.update(PDBS, namespace, name, { ...clone(stored), status: result.status }, { subresource: "status" });
    } catch (error) {
      if (error instanceof ApiError && (error.code === 409 || error.code === 404)) {
        // someone (an eviction) wrote the budget meanwhile: look again, as the controller requeues on conflict
        if (error.code === 409) this.enqueue(namespace, name);
        return;
      }
      throw error;
    }
    if (result.recheckAt !== undefined) this.enqueue(namespace, name, result.recheckAt - now.getTime() + 1, true);
  }
}
