/**
 * The scale subresource of Deployments and ReplicaSets (autoscaling/v1 Scale), after
 * kube-apiserver's ScaleREST: reads show spec.replicas, status.replicas and the selector as a
 * string; writes change only the parent's spec.replicas, guarded by the Scale's resourceVersion.
 */
import type { V1LabelSelector } from "@kubernetes/client-node";
import { apiErrors } from "./errors";
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, PatchError, type Json } from "./patch";
import type { PatchType, Registry, WriteOptions } from "./registry";
import type { ResourceType } from "./resources";
import * as v from "./validation";
import { clone, isRecord, type KubeObject, type Wire } from "./wire";

/** A label selector as labels.Selector prints it: requirements sorted by key. */
export function selectorString(selector: Wire<V1LabelSelector> | undefined): string {
  const parts: [string, string][] = [];
  for (const [key, value] of Object.entries(selector?.matchLabels ?? {})) parts.push([key, `${key}=${value}`]);
  for (const req of selector?.matchExpressions ?? []) {
    const values = [...(req.values ?? [])].sort().join(",");
    if (req.operator === "In") parts.push([req.key, `${req.key} in (${values})`]);
    else if (req.operator === "NotIn") parts.push([req.key, `${req.key} notin (${values})`]);
    else if (req.operator === "Exists") parts.push([req.key, req.key]);
    else if (req.operator === "DoesNotExist") parts.push([req.key, `!${req.key}`]);
  }
  return parts
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, text]) => text)
    .join(",");
}

function scaleOf(parent: KubeObject): KubeObject {
  const spec = isRecord(parent["spec"]) ? parent["spec"] : {};
  const status = isRecord(parent["status"]) ? parent["status"] : {};
  const meta = parent.metadata;
  return {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: {
      name: meta.name ?? "",
      namespace: meta.namespace ?? "",
      uid: meta.uid ?? "",
      resourceVersion: meta.resourceVersion ?? "",
      creationTimestamp: meta.creationTimestamp ?? "",
    },
    spec: { replicas: typeof spec["replicas"] === "number" ? spec["replicas"] : 1 },
    status: { replicas: typeof status["replicas"] === "number" ? status["replicas"] : 0, selector: selectorString(spec["selector"] as Wire<V1LabelSelector> | undefined) },
  };
}

export function getScale(registry: Registry, resource: ResourceType, namespace: string | undefined, name: string): KubeObject {
  return scaleOf(registry.getStored(resource, namespace, name));
}

/** PUT .../scale: validates the Scale and sets the parent's replicas. */
export function updateScale(registry: Registry, resource: ResourceType, namespace: string | undefined, name: string, body: unknown, options: WriteOptions = {}): KubeObject {
  if (!isRecord(body)) throw apiErrors.badRequest(`Object 'Scale' is missing in '${JSON.stringify(body)}'`);
  const kind = body["kind"];
  if (kind !== undefined && kind !== "Scale") throw apiErrors.badRequest(`${String(kind)} in version "v1" cannot be handled as a Scale: no kind "${String(kind)}" is registered for version "autoscaling/v1"`);
  const meta = isRecord(body["metadata"]) ? body["metadata"] : {};
  if (meta["name"] !== undefined && meta["name"] !== name) throw apiErrors.badRequest(`the name of the object (${String(meta["name"])}) does not match the name on the URL (${name})`);
  const spec = isRecord(body["spec"]) ? body["spec"] : {};
  const replicas = spec["replicas"] ?? 0;
  if (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 0) {
    throw apiErrors.invalid("Scale", "autoscaling", name, [v.invalid("spec.replicas", replicas, "must be greater than or equal to 0")]);
  }
  const parent = clone(registry.getStored(resource, namespace, name));
  const expected = meta["resourceVersion"];
  parent.metadata.resourceVersion = typeof expected === "string" && expected !== "" ? expected : parent.metadata.resourceVersion;
  parent["spec"] = { ...(isRecord(parent["spec"]) ? parent["spec"] : {}), replicas };
  const written = registry.update(resource, namespace, name, parent, options);
  return scaleOf(written);
}

/** PATCH .../scale: the patch applies to the Scale, whose replicas then go to the parent. */
export function patchScale(registry: Registry, resource: ResourceType, namespace: string | undefined, name: string, type: PatchType, patchText: string, options: WriteOptions = {}): KubeObject {
  const current = getScale(registry, resource, namespace, name) as unknown as Json;
  let patched: Json;
  try {
    if (type === "json") patched = applyJsonPatch(current, patchText);
    else if (type === "merge") patched = applyMergePatch(current, patchText);
    else patched = applyStrategicMergePatch(current, patchText, {});
  } catch (error) {
    if (error instanceof PatchError) throw error.code === 422 ? apiErrors.unprocessable(error.message) : apiErrors.badRequest(error.message);
    throw error;
  }
  const result = patched as unknown as KubeObject;
  // a resourceVersion the patch did not change is no precondition
  if (isRecord(result.metadata) && result.metadata.resourceVersion === (current as { metadata: { resourceVersion: string } }).metadata.resourceVersion) delete result.metadata.resourceVersion;
  return updateScale(registry, resource, namespace, name, result, options);
}
