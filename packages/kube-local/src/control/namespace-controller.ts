/**
 * The namespace controller (pkg/controller/namespace): a namespace being deleted has its content
 * deleted (pods with their grace period), its status conditions say what remains, and once it is
 * empty the controller removes its "kubernetes" finalizer through the finalize subresource, after
 * which the namespace is gone.
 */
import { isDeepStrictEqual } from "node:util";
import { ApiError } from "../errors";
import { timestamp } from "../objects";
import type { Registry } from "../registry";
import { RESOURCES, type ResourceType } from "../resources";
import type { StoredChange } from "../store";
import { clone, isRecord, type KubeObject } from "../wire";
import { QueuedController } from "./work-queue";

const NAMESPACES = RESOURCES.find((r) => r.plural === "namespaces" && r.group === "")!;
const FINALIZER = "kubernetes";
/** The namespaced resources whose objects a namespace holds (each stored resource once). */
const CONTENT: readonly ResourceType[] = RESOURCES.filter((r) => r.namespaced && r.group !== "events.k8s.io");

export interface NamespaceControllerOptions {
  /** Milliseconds from a change to the sync it causes; default 0. */
  syncDelayMs?: number;
}

export class NamespaceController extends QueuedController {
  private readonly syncDelayMs: number;

  constructor(
    private readonly registry: Registry,
    options: NamespaceControllerOptions = {},
  ) {
    super();
    this.syncDelayMs = options.syncDelayMs ?? 0;
  }

  start(): void {
    for (const ns of this.registry.store.peekAll(NAMESPACES.storage)) if (ns.metadata.deletionTimestamp) this.queue.add(ns.metadata.name ?? "", this.syncDelayMs);
  }

  onChange(change: StoredChange): void {
    const namespace = change.storage === NAMESPACES.storage ? change.object.metadata.name : change.object.metadata.namespace;
    if (!namespace || (change.storage === NAMESPACES.storage && change.type === "DELETED")) return;
    const ns = this.registry.store.peek(NAMESPACES.storage, undefined, namespace);
    if (ns?.metadata.deletionTimestamp) this.queue.add(namespace, this.syncDelayMs);
  }

  protected sync(name: string): void {
    const ns = this.registry.store.peek(NAMESPACES.storage, undefined, name);
    if (!ns?.metadata.deletionTimestamp) return;
    const remaining = new Map<string, number>();
    const finalizersLeft = new Map<string, number>();
    for (const resource of CONTENT) {
      for (const obj of this.registry.store.peekAll(resource.storage, name)) {
        const key = resource.group ? `${resource.plural}.${resource.group}` : resource.plural;
        remaining.set(key, (remaining.get(key) ?? 0) + 1);
        for (const f of obj.metadata.finalizers ?? []) finalizersLeft.set(f, (finalizersLeft.get(f) ?? 0) + 1);
        if (!obj.metadata.deletionTimestamp) this.tolerant(() => this.registry.delete(resource, name, obj.metadata.name ?? "", { propagationPolicy: "Background" }));
      }
    }
    // count again: what had no grace period is gone already
    let left = 0;
    for (const resource of CONTENT) left += this.registry.store.peekAll(resource.storage, name).length;
    if (left === 0) {
      const spec = isRecord(ns["spec"]) ? ns["spec"] : {};
      const finalizers = (Array.isArray(spec["finalizers"]) ? (spec["finalizers"] as string[]) : []).filter((f) => f !== FINALIZER);
      this.tolerant(() => this.registry.finalizeNamespace(name, { metadata: { name }, spec: { finalizers } }));
      return;
    }
    this.writeConditions(ns, remaining, finalizersLeft);
  }

  /** The conditions the namespace controller reports while content remains. */
  private writeConditions(ns: KubeObject, remaining: Map<string, number>, finalizers: Map<string, number>): void {
    const now = timestamp(this.registry.now());
    const status = isRecord(ns["status"]) ? ns["status"] : {};
    const previous = Array.isArray(status["conditions"]) ? (status["conditions"] as Record<string, unknown>[]) : [];
    const condition = (type: string, value: boolean, reason: string, message: string) => {
      const before = previous.find((c) => c["type"] === type);
      const same = before?.["status"] === (value ? "True" : "False") && before?.["reason"] === reason && before?.["message"] === message;
      return { type, status: value ? "True" : "False", lastTransitionTime: same ? before?.["lastTransitionTime"] : now, reason, message };
    };
    const resources = [...remaining].sort(([a], [b]) => a.localeCompare(b));
    const held = [...finalizers].sort(([a], [b]) => a.localeCompare(b));
    const conditions = [
      condition("NamespaceDeletionDiscoveryFailure", false, "ResourcesDiscovered", "All resources successfully discovered"),
      condition("NamespaceDeletionGroupVersionParsingFailure", false, "ParsedGroupVersions", "All legacy kube types successfully parsed"),
      condition("NamespaceDeletionContentFailure", false, "ContentDeleted", "All content successfully deleted, may be waiting on finalization"),
      resources.length > 0
        ? condition("NamespaceContentRemaining", true, "SomeResourcesRemain", `Some resources are remaining: ${resources.map(([r, n]) => `${r} has ${n} resource instances`).join(", ")}`)
        : condition("NamespaceContentRemaining", false, "ContentRemoved", "All content successfully removed"),
      held.length > 0
        ? condition("NamespaceFinalizersRemaining", true, "SomeFinalizersRemain", `Some content in the namespace has finalizers remaining: ${held.map(([f, n]) => `${f} in ${n} resource instances`).join(", ")}`)
        : condition("NamespaceFinalizersRemaining", false, "ContentHasNoFinalizers", "All content-preserving finalizers finished"),
    ];
    const comparable = (list: Record<string, unknown>[]) => list.map(({ lastTransitionTime: _t, ...rest }) => rest);
    if (isDeepStrictEqual(comparable(previous), comparable(conditions))) return;
    const body = clone(ns);
    body["status"] = { ...status, conditions };
    this.tolerant(() => this.registry.update(NAMESPACES, undefined, ns.metadata.name ?? "", body, { subresource: "status" }));
  }

  private tolerant(write: () => unknown): void {
    try {
      write();
    } catch (error) {
      // a write raced ours; the change it made queues the namespace again
      if (!(error instanceof ApiError)) throw error;
    }
  }
}
