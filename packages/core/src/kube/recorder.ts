/**
 * Kubernetes Events on nodes and pods, written in the background as client-go's event broadcaster
 * writes them: an action never waits for its Events, and a lost Event never fails it. What is in
 * flight is waited for with `settled()` before an invocation answers (each write is bounded by the
 * time its invocation has), so no write outlives the invocation that started it.
 */
import { randomBytes } from "node:crypto";
import { PRODUCT } from "../constants";
import type { Log } from "../observability";
import type { KubeApi } from "./api";
import type { Node, PodRef } from "./types";

export type EventType = "Normal" | "Warning";

/** How long one Event may take at most, retries included. */
export const EVENT_WRITE_MS = 60_000;
/** An Event with less time than this before its bound is not started. */
const MIN_WRITE_MS = 1_000;

export interface RecorderOptions {
  /** reportingInstance: which function (and container) wrote it. */
  instance: string;
  now: () => Date;
  log: Log;
  /** How long one Event may take, retries included; default EVENT_WRITE_MS. */
  writeMs?: number;
}

export interface EventOptions {
  /** The Event's action field; the reason by default. */
  action?: string;
  /** The latest the write may still be under way (epoch ms): the end of the invocation's own time. */
  until?: number;
}

function eventName(object: string, now: Date): string {
  // the API server's recorders name events <object>.<hex time>; a random tail keeps bursts apart
  return `${object}.${now.getTime().toString(16)}${randomBytes(3).toString("hex")}`;
}

function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export class EventRecorder {
  /** Events written, for reports. */
  written = 0;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly kube: KubeApi,
    private readonly options: RecorderOptions,
  ) {}

  /** Starts writing an Event on a node; resolves at once. */
  onNode(node: Node, reason: string, message: string, type: EventType = "Normal", options: EventOptions = {}): Promise<void> {
    const name = node.metadata?.name ?? "";
    return this.start("default", { kind: "Node", apiVersion: "v1", name, uid: node.metadata?.uid ?? "" }, name, reason, message, type, options);
  }

  /** Starts writing an Event on a pod; resolves at once. */
  onPod(pod: PodRef, reason: string, message: string, type: EventType = "Normal", options: EventOptions = {}): Promise<void> {
    return this.start(pod.namespace, { kind: "Pod", apiVersion: "v1", name: pod.name, namespace: pod.namespace, uid: pod.uid }, pod.name, reason, message, type, options);
  }

  /** Resolves once every Event started so far has been written or given up. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private start(namespace: string, involvedObject: Record<string, string>, objectName: string, reason: string, message: string, type: EventType, options: EventOptions): Promise<void> {
    const now = this.options.now();
    const deadline = Math.min(now.getTime() + (this.options.writeMs ?? EVENT_WRITE_MS), options.until ?? Number.POSITIVE_INFINITY);
    if (deadline - now.getTime() < MIN_WRITE_MS) {
      this.options.log.warn("kubernetes event not recorded", { reason, object: objectName, error: "no time left in this invocation" });
      return Promise.resolve();
    }
    const event = {
      metadata: { name: eventName(objectName, now), namespace },
      involvedObject,
      reason,
      message: message.slice(0, 1024),
      type,
      action: options.action ?? reason,
      source: { component: PRODUCT },
      reportingComponent: PRODUCT,
      reportingInstance: this.options.instance,
      firstTimestamp: timestamp(now),
      lastTimestamp: timestamp(now),
      count: 1,
    };
    const write = this.write(event, objectName, deadline).finally(() => this.inFlight.delete(write));
    this.inFlight.add(write);
    return Promise.resolve();
  }

  private async write(event: Parameters<KubeApi["createEvent"]>[0] & { reason: string }, objectName: string, deadline: number): Promise<void> {
    try {
      await this.kube.createEvent(event, deadline);
      this.written += 1;
    } catch (error) {
      this.options.log.warn("kubernetes event not recorded", { reason: event.reason, object: objectName, error: (error as Error).message });
    }
  }
}
