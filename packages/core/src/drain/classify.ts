/**
 * Which pods a drain moves, with kubectl drain's filters: DaemonSet-owned and mirror pods stay,
 * finished pods are removed, pods with emptyDir data and pods no controller owns move only when
 * the policy allows (as --delete-emptydir-data and --force do).
 */
import { ANNOTATIONS } from "../constants";
import type { Pod } from "../kube/types";

export type Disposition =
  | { action: "evict" }
  | { action: "wait"; reason: "terminating" }
  | { action: "skip"; reason: "daemonset" | "mirror" | "opted-out" }
  | { action: "refuse"; reason: "local-storage" | "unmanaged" };

export interface ClassifyPolicy {
  deleteEmptyDirData: boolean;
  forceUnmanaged: boolean;
}

export function classifyPod(pod: Pod, policy: ClassifyPolicy): Disposition {
  const annotations = pod.metadata?.annotations ?? {};
  if (annotations[ANNOTATIONS.mirrorPod] !== undefined) return { action: "skip", reason: "mirror" };
  if (annotations[ANNOTATIONS.skipDrain] === "true") return { action: "skip", reason: "opted-out" };
  const phase = pod.status?.phase;
  // finished pods hold nothing; removing them never disrupts anything (DaemonSet ones included, as kubectl does)
  if (phase === "Succeeded" || phase === "Failed") return pod.metadata?.deletionTimestamp ? { action: "wait", reason: "terminating" } : { action: "evict" };
  const controller = pod.metadata?.ownerReferences?.find((o) => o.controller);
  if (controller?.kind === "DaemonSet") return { action: "skip", reason: "daemonset" };
  if (pod.metadata?.deletionTimestamp) return { action: "wait", reason: "terminating" };
  if (!controller && !policy.forceUnmanaged) return { action: "refuse", reason: "unmanaged" };
  if ((pod.spec?.volumes ?? []).some((v) => v.emptyDir !== undefined) && !policy.deleteEmptyDirData) return { action: "refuse", reason: "local-storage" };
  return { action: "evict" };
}
