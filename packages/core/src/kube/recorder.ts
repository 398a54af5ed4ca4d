/** Kubernetes Events on nodes and pods, written best-effort and briefly: a lost event never fails or holds up an action. */
import { randomBytes } from "node:crypto";
import { PRODUCT } from "../constants";
import type { Log } from "../observability";
import type { KubeApi } from "./api";
import type { Node, PodRef } from "./types";

export type EventType = "Normal" | "Warning";

/** How long one Event may take, retries included: an Event is worth less than the time of the action it reports. */
export const EVENT_WRITE_MS = 5_000;

export interface RecorderOptions {
  /** reportingInstance: which function (and container) wrote it. */
  instance: string;
  now: () => Date;
  log: Log;
  /** How long one Event may take, retries included; default EVENT_WRITE_MS. */
  writeMs?: number;
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
  constructor(
    private readonly kube: KubeApi,
    private readonly options: RecorderOptions,
  ) {}

  async onNode(node: Node, reason: string, message: string, type: EventType = "Normal", action = reason): Promise<void> {
    const name = node.metadata?.name ?? "";
    await this.write("default", { kind: "Node", apiVersion: "v1", name, uid: node.metadata?.uid ?? "" }, name, reason, message, type, action);
  }

  async onPod(pod: PodRef, reason: string, message: string, type: EventType = "Normal", action = reason): Promise<void> {
    await this.write(pod.namespace, { kind: "Pod", apiVersion: "v1", name: pod.name, namespace: pod.namespace, uid: pod.uid }, pod.name, reason, message, type, action);
  }

  private async write(namespace: string, involvedObject: Record<string, string>, objectName: string, reason: string, message: string, type: EventType, action: string): Promise<void> {
    const now = this.options.now();
    const event = {
      metadata: { name: eventName(objectName, now), namespace },
      involvedObject,
      reason,
      message: message.slice(0, 1024),
      type,
      action,
      source: { component: PRODUCT },
      reportingComponent: PRODUCT,
      reportingInstance: this.options.instance,
      firstTimestamp: timestamp(now),
      lastTimestamp: timestamp(now),
      count: 1,
    };
    try {
      await this.kube.createEvent(event, now.getTime() + (this.options.writeMs ?? EVENT_WRITE_MS));
      this.written += 1;
    } catch (error) {
      this.options.log.warn("kubernetes event not recorded", { reason, object: objectName, error: (error as Error).message });
    }
  }
}
