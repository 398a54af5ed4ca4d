/**
 * Events from the simulated control plane, written the way client-go's event recorder writes them:
 * core/v1 Events named `<object>.<hex time>`, and a repeat of the same event (same object, type,
 * reason, message and source) counted on the first one instead of written again.
 */
import { ApiError } from "../errors";
import { timestamp } from "../objects";
import type { Registry } from "../registry";
import { RESOURCES, apiVersionOf, type ResourceType } from "../resources";
import { clone, type KubeObject } from "../wire";

const EVENTS = RESOURCES.find((r) => r.plural === "events" && r.group === "")!;

/** One counter for every recorder, so events written in the same millisecond never share a name. */
let sequence = 0;

export type EventType = "Normal" | "Warning";

export interface EventDetails {
  /** The part of the object the event is about (`spec.containers{nginx}`). */
  fieldPath?: string;
  /** The node a kubelet reports from (source.host, reportingInstance). */
  host?: string;
}

export class EventRecorder {
  /** Aggregation key -> the name of the Event that counts it. */
  private readonly written = new Map<string, string>();

  constructor(
    private readonly registry: Registry,
    private readonly component: string,
    /** `false` records nothing: a simulation whose own Events would only be load (benchmarks). */
    private readonly enabled = true,
  ) {}

  /** Records an event about `object` (of `resource`); never throws, as a recorder must not fail its controller. */
  record(resource: ResourceType, object: KubeObject, type: EventType, reason: string, message: string, details: EventDetails = {}): void {
    if (!this.enabled) return;
    const namespace = object.metadata.namespace ?? "default";
    // the kubelet and the node controller refer to a node by its name, also as its uid
    const uid = resource.kind === "Node" ? object.metadata.name : object.metadata.uid;
    const key = [namespace, uid, details.fieldPath ?? "", type, reason, message].join("\u0000");
    const now = timestamp(this.registry.now());
    try {
      const existingName = this.written.get(key);
      const existing = existingName ? this.registry.store.peek(EVENTS.storage, namespace, existingName) : undefined;
      if (existing) {
        const next = clone(existing);
        next["count"] = (typeof existing["count"] === "number" ? existing["count"] : 1) + 1;
        next["lastTimestamp"] = now;
        this.registry.update(EVENTS, namespace, existingName ?? "", next);
        return;
      }
      sequence += 1;
      const name = `${object.metadata.name ?? "unknown"}.${(BigInt(this.registry.now().getTime()) * 1_000_000n + BigInt(sequence % 1_000_000)).toString(16)}`;
      this.registry.create(EVENTS, namespace, {
        metadata: { name, namespace },
        involvedObject: {
          kind: resource.kind,
          ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}),
          name: object.metadata.name,
          uid,
          apiVersion: apiVersionOf(resource),
          ...(resource.kind === "Node" ? {} : { resourceVersion: object.metadata.resourceVersion }),
          ...(details.fieldPath ? { fieldPath: details.fieldPath } : {}),
        },
        reason,
        message,
        source: { component: this.component, ...(details.host ? { host: details.host } : {}) },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
        type,
        eventTime: null,
        reportingComponent: this.component,
        reportingInstance: details.host ?? "",
      });
      this.written.set(key, name);
    } catch (error) {
      // the namespace may be going away, or the event was deleted meanwhile: events are best effort
      if (!(error instanceof ApiError)) throw error;
      this.written.delete(key);
    }
  }
}
