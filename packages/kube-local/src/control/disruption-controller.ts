/**
 * The disruption controller of kube-controller-manager: a change to a budget or to a pod in its
 * namespace queues the budget, and after the sync delay its status is recomputed and written
 * through the status subresource (guarded by resourceVersion, requeued on conflict). Between
 * syncs the status is what was last written, so evictions see a lagging observedGeneration and
 * the decrements other evictions made, as on a real cluster.
 */
import { ApiError } from "../errors";
import { syncPdbStatus, DELETION_TIMEOUT_MS, type Pdb } from "../pdb";
import { matchesLabelSelectorObject } from "../selectors";
import type { Registry } from "../registry";
import { RESOURCES } from "../resources";
import type { StoredChange } from "../store";
import { asPod, type Pod } from "../objects";
import { clone, type KubeObject } from "../wire";
import type { EventRecorder } from "./event-recorder";
import { QueuedController } from "./work-queue";

const PDBS = RESOURCES.find((r) => r.plural === "poddisruptionbudgets")!;

export interface DisruptionControllerOptions {
  /** Milliseconds from a change to the sync it causes (informer and work-queue latency); default 20. */
  syncDelayMs?: number;
  /** How long an eviction recorded in status.disruptedPods keeps its pod out of the healthy count; default 2 minutes, as upstream. */
  deletionTimeoutMs?: number;
}

export class DisruptionController extends QueuedController {
  readonly syncDelayMs: number;
  private readonly deletionTimeoutMs: number;
  /** Which budgets selected each pod at its last change, so a pod that leaves a selector still moves that budget. */
  private readonly budgetsOfPod = new Map<string, string[]>();
  /** The pods each budget selects, as last stored: a sync counts these, not every pod of the namespace. */
  private readonly podsOfBudget = new Map<string, Map<string, Pod>>();
  private readonly generations = new Map<string, number>();
  /**
   * The budgets selecting a set of labels, by namespace and labels: a workload's pods share their
   * labels, so a pod change rarely needs the selectors again. Forgotten when a namespace's budgets
   * or their selectors change.
   */
  private readonly selectingByLabels = new Map<string, Map<string, string[]>>();

  constructor(
    private readonly registry: Registry,
    private readonly recorder: EventRecorder,
    options: DisruptionControllerOptions = {},
  ) {
    super();
    this.syncDelayMs = options.syncDelayMs ?? 20;
    this.deletionTimeoutMs = options.deletionTimeoutMs ?? DELETION_TIMEOUT_MS;
  }

  start(): void {
    for (const pdb of this.registry.store.peekAll(PDBS.storage)) {
      this.generations.set(`${pdb.metadata.namespace ?? ""}/${pdb.metadata.name ?? ""}`, pdb.metadata.generation ?? 1);
      this.enqueue(pdb.metadata.namespace, pdb.metadata.name);
    }
    this.indexPods(undefined);
  }

  /** The budgets each pod (of a namespace, or all) is selected by. */
  private indexPods(namespace: string | undefined): void {
    for (const pod of this.registry.store.peekAll("pods", namespace)) this.indexPod(pod, this.budgetsSelecting(pod));
  }

  /** Records which budgets select a pod (and the pod under each); returns the budgets that selected it before. */
  private indexPod(pod: KubeObject, budgets: string[]): string[] {
    const namespace = pod.metadata.namespace ?? "";
    const key = `${namespace}/${pod.metadata.name ?? ""}`;
    const before = this.budgetsOfPod.get(key) ?? [];
    for (const name of before) this.podsOfBudget.get(`${namespace}/${name}`)?.delete(key);
    if (budgets.length > 0) this.budgetsOfPod.set(key, budgets);
    else this.budgetsOfPod.delete(key);
    for (const name of budgets) {
      const pods = this.podsOfBudget.get(`${namespace}/${name}`) ?? new Map<string, Pod>();
      pods.set(key, asPod(pod));
      this.podsOfBudget.set(`${namespace}/${name}`, pods);
    }
    return before;
  }

  private budgetsSelecting(pod: KubeObject): string[] {
    const namespace = pod.metadata.namespace ?? "";
    const labels = pod.metadata.labels ?? {};
    const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    let known = this.selectingByLabels.get(namespace);
    // bounded: pods with labels of their own (a StatefulSet's pod-name) would otherwise grow it without end
    if (!known || known.size >= 10_000) {
      known = new Map<string, string[]>();
      this.selectingByLabels.set(namespace, known);
    }
    let budgets = known.get(key);
    if (!budgets) {
      budgets = this.registry.store
        .peekAll(PDBS.storage, namespace)
        .filter((pdb) => matchesLabelSelectorObject((pdb as Pdb).spec?.selector, labels, { emptyMatchesAll: true }))
        .map((pdb) => pdb.metadata.name ?? "");
      known.set(key, budgets);
    }
    return budgets;
  }

  onChange(change: StoredChange): void {
    if (change.storage === PDBS.storage) {
      if (change.type !== "DELETED") this.enqueue(change.object.metadata.namespace, change.object.metadata.name);
      // a new budget or a new selector: which pods each budget selects is looked at again (status writes keep the generation)
      const key = `${change.object.metadata.namespace ?? ""}/${change.object.metadata.name ?? ""}`;
      const generation = change.type === "DELETED" ? undefined : (change.object.metadata.generation ?? 1);
      if (this.generations.get(key) !== generation) {
        if (generation === undefined) this.generations.delete(key);
        else this.generations.set(key, generation);
        this.selectingByLabels.delete(change.object.metadata.namespace ?? "");
        this.indexPods(change.object.metadata.namespace);
      }
    } else if (change.storage === "pods") {
      // the budgets that select the pod now, and those that selected it before (its labels may have left a selector)
      const pod = change.object;
      const now = change.type === "DELETED" ? [] : this.budgetsSelecting(pod);
      const before = this.indexPod(pod, now);
      for (const name of new Set([...before, ...now])) this.enqueue(pod.metadata.namespace, name);
    }
  }

  private enqueue(namespace: string | undefined, name: string | undefined, delayMs = this.syncDelayMs, background = false): void {
    if (!namespace || !name) return;
    this.queue.add(`${namespace}/${name}`, delayMs, { background });
  }

  protected sync(key: string): void {
    const [namespace = "", name = ""] = key.split("/");
    const stored = this.registry.store.peek(PDBS.storage, namespace, name) as Pdb | undefined;
    if (!stored || stored.metadata.deletionTimestamp) return;
    const now = this.registry.now();
    const result = syncPdbStatus(this.registry.store, stored, now, this.deletionTimeoutMs, [...(this.podsOfBudget.get(key)?.values() ?? [])]);
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
