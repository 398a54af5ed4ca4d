/**
 * Typed Kubernetes operations spot-manager needs, each one request (or a paginated list) through
 * the gateway. Final failures become KubeApiError; transient ones that outlived their retries
 * become RetryError, so the record goes back to the queue.
 */
import { KubeApiError, RetryError } from "../errors";
import type { KubeGateway, KubeRequest, KubeResult } from "./gateway";
import type { KubeEvent, Node, Pod, PodRef } from "./types";

export type PatchType = "merge" | "strategic" | "json";

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  json: "application/json-patch+json",
};

export type EvictionResult =
  | { result: "evicted" }
  | { result: "gone" }
  | { result: "blocked"; message: string; retryAfterSeconds?: number }
  | { result: "multiple-budgets"; message: string }
  | { result: "failed"; status: number; message: string; retryable: boolean };

interface ListBody<T> {
  items?: T[];
  metadata?: { continue?: string; resourceVersion?: string };
}

const PAGE_SIZE = 500;

/** Raises the error a caller should see for a result that is not usable. */
export function failureOf(result: KubeResult<unknown>, what: string): Error {
  const detail = result.error?.message ?? result.failure ?? `HTTP ${result.status}`;
  const message = `${what}: ${detail} (${result.outcome}, after ${result.attempts} attempt${result.attempts === 1 ? "" : "s"})`;
  if (["throttled", "server-error", "unavailable", "network-error", "conflict"].includes(result.outcome)) {
    return new RetryError(message, result.retryAfterSeconds);
  }
  return new KubeApiError(message, result.status, result.error?.reason ?? result.outcome);
}

export class KubeApi {
  constructor(
    readonly gateway: KubeGateway,
    /** Epoch ms no request of this view outlives: per-request timeouts and retries shrink to fit. */
    readonly deadline?: number,
  ) {}

  /** The same API, every request bounded by `deadline` (an earlier bound of this view stays). */
  within(deadline: number): KubeApi {
    return new KubeApi(this.gateway, this.deadline === undefined ? deadline : Math.min(this.deadline, deadline));
  }

  private send<T>(request: KubeRequest): Promise<KubeResult<T>> {
    const deadline = request.deadline ?? this.deadline;
    return this.gateway.send<T>(deadline === undefined ? request : { ...request, deadline });
  }

  private async ok<T>(request: KubeRequest, what: string): Promise<T> {
    const result = await this.send<T>(request);
    if (result.outcome !== "ok") throw failureOf(result, what);
    return result.body as T;
  }

  /** The node, or undefined when there is none of that name. */
  async getNode(name: string, deadline?: number): Promise<Node | undefined> {
    const result = await this.send<Node>({ method: "GET", path: `/api/v1/nodes/${encodeURIComponent(name)}`, priority: true, ...(deadline ? { deadline } : {}) });
    if (result.outcome === "not-found") return undefined;
    if (result.outcome !== "ok") throw failureOf(result, `get node ${name}`);
    return result.body;
  }

  async listNodes(selectors: { labelSelector?: string; fieldSelector?: string } = {}, deadline?: number): Promise<Node[]> {
    return this.listAll<Node>("/api/v1/nodes", selectors, "list nodes", deadline, true);
  }

  /**
   * Patches a node. A conflict (stale resourceVersion in the patch) or a vanished node is answered,
   * not thrown, so callers can re-read and decide.
   */
  async patchNode(name: string, patch: unknown, type: PatchType): Promise<{ result: "ok"; node: Node } | { result: "conflict" } | { result: "not-found" }> {
    const response = await this.send<Node>({
      priority: true,
      method: "PATCH",
      path: `/api/v1/nodes/${encodeURIComponent(name)}`,
      body: patch,
      contentType: PATCH_CONTENT_TYPES[type],
    });
    if (response.outcome === "ok") return { result: "ok", node: response.body as Node };
    if (response.outcome === "conflict") return { result: "conflict" };
    if (response.outcome === "not-found") return { result: "not-found" };
    throw failureOf(response, `patch node ${name}`);
  }

  /** Pods across namespaces (the selectors narrow them). */
  async listPods(selectors: { labelSelector?: string; fieldSelector?: string } = {}, deadline?: number): Promise<Pod[]> {
    return this.listAll<Pod>("/api/v1/pods", selectors, "list pods", deadline);
  }

  /** Pods bound to a node, across namespaces. */
  async podsOnNode(nodeName: string, deadline?: number): Promise<Pod[]> {
    return this.listAll<Pod>("/api/v1/pods", { fieldSelector: `spec.nodeName=${nodeName}` }, `list pods on ${nodeName}`, deadline);
  }

  /** POST pods/{name}/eviction (policy/v1); a PDB refusal is a result, not an error. */
  async evictPod(pod: PodRef, options: { gracePeriodSeconds?: number; deadline?: number } = {}): Promise<EvictionResult> {
    const response = await this.send<unknown>({
      method: "POST",
      path: `/api/v1/namespaces/${encodeURIComponent(pod.namespace)}/pods/${encodeURIComponent(pod.name)}/eviction`,
      body: {
        apiVersion: "policy/v1",
        kind: "Eviction",
        metadata: { name: pod.name, namespace: pod.namespace },
        deleteOptions: {
          ...(options.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: options.gracePeriodSeconds } : {}),
          preconditions: { uid: pod.uid },
        },
      },
      ...(options.deadline ? { deadline: options.deadline } : {}),
    });
    switch (response.outcome) {
      case "ok":
        return { result: "evicted" };
      case "not-found":
        return { result: "gone" };
      case "conflict":
        // a failed uid precondition means the pod of that name is a new one: ours is gone;
        // any other conflict (the pod changed under the check) is worth another try. kube-apiserver
        // words it "the UID in the precondition (…) does not match the UID in record (…)" (rest.BeforeDelete,
        // the eviction's own check) or "Precondition failed: UID in precondition: …" (storage)
        if (/UID in (the )?precondition/.test(response.error?.message ?? "")) return { result: "gone" };
        return { result: "failed", status: 409, message: response.error?.message ?? "conflict", retryable: true };
      case "disruption-budget":
        return {
          result: "blocked",
          message: response.error?.details?.causes?.[0]?.message ?? response.error?.message ?? "blocked by a PodDisruptionBudget",
          ...(response.retryAfterSeconds !== undefined ? { retryAfterSeconds: response.retryAfterSeconds } : {}),
        };
      case "multiple-budgets":
        return { result: "multiple-budgets", message: response.error?.message ?? "more than one PodDisruptionBudget" };
      default: {
        const retryable = ["throttled", "server-error", "unavailable", "network-error"].includes(response.outcome);
        return { result: "failed", status: response.status, message: response.error?.message ?? response.failure ?? `HTTP ${response.status}`, retryable };
      }
    }
  }

  /** DELETE a pod, guarded by its uid so a recreated namesake is never hit. */
  async deletePod(pod: PodRef, gracePeriodSeconds: number): Promise<"deleted" | "gone"> {
    const response = await this.send<unknown>({
      method: "DELETE",
      path: `/api/v1/namespaces/${encodeURIComponent(pod.namespace)}/pods/${encodeURIComponent(pod.name)}`,
      body: { apiVersion: "v1", kind: "DeleteOptions", gracePeriodSeconds, preconditions: { uid: pod.uid } },
    });
    if (response.outcome === "ok") return "deleted";
    if (response.outcome === "not-found" || response.outcome === "conflict") return "gone";
    throw failureOf(response, `delete pod ${pod.namespace}/${pod.name}`);
  }

  /** Creates a core/v1 Event. */
  async createEvent(event: KubeEvent, deadline?: number): Promise<void> {
    const namespace = event.metadata?.namespace ?? "default";
    await this.ok(
      { method: "POST", path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`, body: { apiVersion: "v1", kind: "Event", ...event }, report: true, ...(deadline ? { deadline } : {}) },
      `create event ${event.reason ?? ""}`,
    );
  }

  private async listAll<T>(path: string, selectors: { labelSelector?: string; fieldSelector?: string }, what: string, deadline?: number, priority = false): Promise<T[]> {
    const items: T[] = [];
    let token: string | undefined;
    do {
      const body: ListBody<T> = await this.ok<ListBody<T>>(
        { method: "GET", path, query: { ...selectors, limit: PAGE_SIZE, continue: token }, ...(priority ? { priority } : {}), ...(deadline ? { deadline } : {}) },
        what,
      );
      items.push(...(body.items ?? []));
      token = body.metadata?.continue || undefined;
    } while (token);
    return items;
  }
}
