/** Upstream Kubernetes types (@kubernetes/client-node) in their JSON wire shape. */
import type { CoreV1Event, V1Node, V1Pod } from "@kubernetes/client-node";

/** client-node models timestamps as Date; JSON carries RFC 3339 strings. */
export type Wire<T> = T extends Date
  ? string
  : T extends (infer U)[]
    ? Wire<U>[]
    : T extends object
      ? { [K in keyof T]: Wire<T[K]> }
      : T;

export type Node = Wire<V1Node>;
export type Pod = Wire<V1Pod>;
export type KubeEvent = Wire<CoreV1Event>;

export interface Taint {
  key: string;
  value?: string;
  effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
  timeAdded?: string;
}

/** A Kubernetes `Status` body, as the API server answers failures. */
export interface KubeStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    kind?: string;
    causes?: { reason?: string; message?: string; field?: string }[];
    retryAfterSeconds?: number;
  };
}

export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
}

export function podRef(pod: Pod): PodRef {
  return { namespace: pod.metadata?.namespace ?? "", name: pod.metadata?.name ?? "", uid: pod.metadata?.uid ?? "" };
}
