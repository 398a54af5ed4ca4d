/**
 * The API semantics between HTTP and the store: create, read, list, update, patch and delete with
 * kube-apiserver's rules for names, namespaces, resourceVersion conflicts, the status subresource,
 * generation, graceful deletion, finalizers and preconditions. Controllers use it too, so every
 * write follows the same rules whoever makes it.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import { apiErrors, ApiError, type StatusCause } from "./errors";
import { eventFromEventsV1, eventToEventsV1, validateEventsV1 } from "./event-versions";
import { afterUpdate, apply, type ManagedFieldsEntry, type Manager } from "./managed-fields";
import { timestamp } from "./objects";
import { parse as parseYaml } from "yaml";
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, PATCH_SCHEMAS, PatchError, type Json } from "./patch";
import { apiVersionOf, fieldValue, type ResourceType, RESOURCES } from "./resources";
import {
  matchesFieldRequirements,
  matchesLabelRequirements,
  parseFieldSelector,
  parseLabelSelector,
  SelectorParseError,
  type FieldRequirement,
  type LabelRequirement,
} from "./selectors";
import type { ObjectStore } from "./store";
import { strategyFor, type DeleteOptions } from "./strategies";
import * as v from "./validation";
import { clone, isRecord, type KubeObject, type ObjectMeta } from "./wire";

export type PatchType = "json" | "merge" | "strategic";

export interface WriteOptions {
  dryRun?: boolean;
  subresource?: "status";
  /** Looks at a patch's result (in its external shape) before it is written; throws to refuse it. */
  check?: (candidate: KubeObject) => void;
  /** Who writes: the write is recorded in metadata.managedFields (operation Update). */
  manager?: Manager;
  /** managedFields already worked out (server-side apply). */
  managedFields?: ManagedFieldsEntry[];
}

export interface ApplyOptions {
  dryRun?: boolean;
  subresource?: "status";
  manager: Manager;
  force: boolean;
  check?: (candidate: KubeObject) => void;
}

export interface ListOptions {
  labelSelector?: string | undefined;
  fieldSelector?: string | undefined;
  limit?: number | undefined;
  continueToken?: string | undefined;
}

export interface ListResult {
  items: KubeObject[];
  resourceVersion: string;
  continueToken?: string;
  remainingItemCount?: number;
}

export interface ObjectFilter {
  labels: LabelRequirement[];
  fields: FieldRequirement[];
}

export interface DeleteResult {
  /** The object as it was removed, or as it now is while deletion is in progress. */
  object: KubeObject;
  /** True once the object is gone from storage. */
  removed: boolean;
}

const IMMORTAL_NAMESPACES = new Set(["default", "kube-system", "kube-public"]);
const NAMESPACE = RESOURCES.find((r) => r.plural === "namespaces" && r.group === "")!;

export class Registry {
  constructor(
    readonly store: ObjectStore,
    readonly now: () => Date = () => new Date(),
  ) {}

  /** The stored shape of an object as the given API version presents it. */
  toExternal(resource: ResourceType, stored: KubeObject): KubeObject {
    const out: KubeObject =
      resource.group === "events.k8s.io" ? eventToEventsV1(stored) : { apiVersion: apiVersionOf(resource), kind: resource.kind, ...stored };
    out.apiVersion = apiVersionOf(resource);
    out.kind = resource.kind;
    return out;
  }

  private toInternal(resource: ResourceType, external: KubeObject): KubeObject {
    if (resource.group === "events.k8s.io") return eventFromEventsV1(external);
    const internal = { ...external };
    delete internal.apiVersion;
    delete internal.kind;
    return internal;
  }

  get(resource: ResourceType, namespace: string | undefined, name: string): KubeObject {
    return this.toExternal(resource, this.getStored(resource, namespace, name));
  }

  getStored(resource: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const found = this.store.get(resource.storage, scope(resource, namespace), name);
    if (!found) throw apiErrors.notFound(resource.plural, resource.group, name);
    return found;
  }

  /** Parses selectors once; 400 with the parser's message when they are malformed. */
  parseFilter(resource: ResourceType, labelSelector?: string, fieldSelector?: string): ObjectFilter {
    try {
      const supported = new Set(["metadata.name", "metadata.namespace", ...resource.fieldLabels]);
      return {
        labels: parseLabelSelector(labelSelector ?? ""),
        fields: parseFieldSelector(fieldSelector ?? "", supported, resource.plural),
      };
    } catch (error) {
      if (error instanceof SelectorParseError) throw apiErrors.badRequest(error.message);
      throw error;
    }
  }

  matches(filter: ObjectFilter, stored: KubeObject): boolean {
    return (
      matchesLabelRequirements(filter.labels, stored.metadata.labels) &&
      matchesFieldRequirements(filter.fields, (field) => fieldValue(stored, field))
    );
  }

  list(resource: ResourceType, namespace: string | undefined, options: ListOptions = {}): ListResult {
    const filter = this.parseFilter(resource, options.labelSelector, options.fieldSelector);
    const resourceVersion = String(this.store.currentRevision());
    const start = options.continueToken ? decodeContinue(options.continueToken) : undefined;
    // an exact match on an indexed field (pods' spec.nodeName) narrows the scan, as the watch cache's index does
    const indexed = filter.fields.find((f) => f.operator === "=" && this.store.hasIndex(resource.storage, f.field));
    const all = this.store.list(resource.storage, {
      namespace: scope(resource, namespace),
      indexed,
      filter: (obj) => this.matches(filter, obj) && (start === undefined || keyOf(obj) > start.key),
    });
    const limit = options.limit && options.limit > 0 ? options.limit : undefined;
    const page = limit !== undefined ? all.slice(0, limit) : all;
    const result: ListResult = { items: page.map((o) => this.toExternal(resource, o)), resourceVersion: start?.rv ?? resourceVersion };
    if (limit !== undefined && all.length > limit) {
      const last = page[page.length - 1];
      if (last) result.continueToken = encodeContinue({ rv: result.resourceVersion, key: keyOf(last) });
      if (filter.labels.length === 0 && filter.fields.length === 0) result.remainingItemCount = all.length - limit;
    }
    return result;
  }

  create(resource: ResourceType, namespace: string | undefined, body: unknown, options: WriteOptions = {}): KubeObject {
    const external = this.decodeBody(resource, body);
    const strategy = strategyFor(resource.storage);
    if (resource.group === "events.k8s.io") this.rejectInvalid(resource, external, validateEventsV1(external));
    const obj = this.toInternal(resource, external);
    obj.metadata = isRecord(obj.metadata) ? obj.metadata : {};
    this.checkNamespace(resource, namespace, obj);
    const meta = obj.metadata;
    if (!meta.name) {
      if (!meta.generateName) {
        throw apiErrors.invalid(resource.kind, resource.group, "", [
          { reason: "FieldValueRequired", message: "Required value: name or generateName is required", field: "metadata.name" },
        ]);
      }
      meta.name = `${meta.generateName}${randomSuffix()}`;
    }
    const name = meta.name;
    this.rejectInvalid(resource, obj, strategy.nameValidation === "label" ? v.dns1123Label("metadata.name", name) : v.dns1123Subdomain("metadata.name", name));
    if (meta.resourceVersion) throw apiErrors.internal("resourceVersion should not be set on objects to be created");
    if (resource.namespaced) this.requireActiveNamespace(meta.namespace ?? "");
    if (this.store.peek(resource.storage, meta.namespace, name)) throw apiErrors.alreadyExists(resource.plural, resource.group, name);

    strategy.prepareForCreate(obj);
    this.rejectInvalid(resource, obj, [...strategy.validate(obj), ...v.annotationsSize("metadata.annotations", meta.annotations)]);
    meta.uid = randomUUID();
    meta.creationTimestamp = timestamp(this.now());
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    if (strategy.tracksGeneration) meta.generation = 1;
    else delete meta.generation;
    delete meta.managedFields;
    if (options.managedFields) meta.managedFields = options.managedFields;
    else if (options.manager) meta.managedFields = afterUpdate(undefined, obj, resource.kind, apiVersionOf(resource), options.manager, this.now());
    if ((meta.managedFields ?? []).length === 0) delete meta.managedFields;
    if (options.dryRun) return this.toExternal(resource, obj);
    checkStorable(obj);
    return this.toExternal(resource, this.store.put(resource.storage, obj));
  }

  update(resource: ResourceType, namespace: string | undefined, name: string, body: unknown, options: WriteOptions = {}): KubeObject {
    const external = this.decodeBody(resource, body);
    const old = this.getStored(resource, namespace, name);
    const candidate = this.toInternal(resource, external);
    candidate.metadata = isRecord(candidate.metadata) ? candidate.metadata : {};
    if (candidate.metadata.name !== undefined && candidate.metadata.name !== name) {
      throw apiErrors.badRequest(`the name of the object (${candidate.metadata.name}) does not match the name on the URL (${name})`);
    }
    this.checkNamespace(resource, namespace, candidate);
    return this.toExternal(resource, this.commitUpdate(resource, old, candidate, options));
  }

  patch(resource: ResourceType, namespace: string | undefined, name: string, type: PatchType, patchText: string, options: WriteOptions = {}): KubeObject {
    const old = this.getStored(resource, namespace, name);
    const current = this.toExternal(resource, old) as unknown as Json;
    let patched: Json;
    try {
      if (type === "json") patched = applyJsonPatch(current, patchText);
      else if (type === "merge") patched = applyMergePatch(current, patchText);
      else {
        const schema = PATCH_SCHEMAS[resource.kind];
        if (!schema) throw apiErrors.unsupportedMediaType(`strategic merge patch is not supported for ${resource.kind}`);
        patched = applyStrategicMergePatch(current, patchText, schema);
      }
    } catch (error) {
      if (error instanceof PatchError) {
        if (error.code === 400) throw apiErrors.badRequest(error.message);
        if (error.code === 413) throw apiErrors.tooLarge(error.message);
        if (error.code === 500) throw apiErrors.internal(error.message);
        throw apiErrors.unprocessable(error.message);
      }
      throw error;
    }
    if (!isRecord(patched)) throw apiErrors.badRequest("the patch result is not a JSON object");
    options.check?.(patched as unknown as KubeObject);
    const candidate = this.toInternal(resource, patched as unknown as KubeObject);
    candidate.metadata = isRecord(candidate.metadata) ? candidate.metadata : {};
    if (candidate.metadata.name !== name) {
      throw apiErrors.badRequest(`the name of the object (${String(candidate.metadata.name)}) does not match the name on the URL (${name})`);
    }
    this.checkNamespace(resource, namespace, candidate);
    // a resourceVersion the patch did not set must not turn into a precondition
    const patchedVersion = candidate.metadata.resourceVersion;
    if (patchedVersion === old.metadata.resourceVersion) delete candidate.metadata.resourceVersion;
    return this.toExternal(resource, this.commitUpdate(resource, old, candidate, options));
  }

  /**
   * Server-side apply (application/apply-patch+yaml): creates the object when it does not exist,
   * else merges the applied configuration in, with conflicts and field ownership as upstream.
   */
  applyPatch(resource: ResourceType, namespace: string | undefined, name: string, patchText: string, options: ApplyOptions): { object: KubeObject; created: boolean } {
    let body: unknown;
    try {
      body = parseYaml(patchText, { version: "1.2" });
    } catch (error) {
      throw apiErrors.badRequest(`error decoding YAML: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (!isRecord(body)) throw apiErrors.badRequest("couldn't get version/kind; json parse error: the applied configuration is not an object");
    const expected = apiVersionOf(resource);
    const kindOf = options.subresource === "status" ? resource.kind : resource.kind;
    if (body["apiVersion"] !== expected || body["kind"] !== kindOf) {
      throw apiErrors.badRequest(`${String(body["kind"])} in version "${String(body["apiVersion"])}" cannot be handled as a ${resource.kind}: the applied configuration must set apiVersion ${expected} and kind ${resource.kind}`);
    }
    const applied = body as KubeObject;
    applied.metadata = isRecord(applied.metadata) ? applied.metadata : {};
    if (applied.metadata.name !== undefined && applied.metadata.name !== name) {
      throw apiErrors.badRequest(`the name of the object (${String(applied.metadata.name)}) does not match the name on the URL (${name})`);
    }
    applied.metadata.name = name;
    if (applied.metadata.managedFields !== undefined) {
      throw apiErrors.badRequest("metadata.managedFields must be nil");
    }
    const stored = this.store.peek(resource.storage, scope(resource, namespace), name);
    if (!stored) {
      if (options.subresource) throw apiErrors.notFound(resource.plural, resource.group, name);
      const result = apply(undefined, applied, resource.kind, expected, options.manager, options.force, this.now());
      options.check?.(result.object);
      return { object: this.create(resource, namespace, result.object, { dryRun: options.dryRun ?? false, managedFields: result.managedFields }), created: true };
    }
    const live = this.toExternal(resource, stored);
    const result = apply(live, applied, resource.kind, expected, options.manager, options.force, this.now());
    options.check?.(result.object);
    const candidate = this.toInternal(resource, result.object);
    // apply never carries a resourceVersion precondition it did not set itself
    if (applied.metadata.resourceVersion === undefined) delete candidate.metadata.resourceVersion;
    this.checkNamespace(resource, namespace, candidate);
    const written = this.commitUpdate(resource, stored, candidate, { dryRun: options.dryRun ?? false, managedFields: result.managedFields, ...(options.subresource ? { subresource: options.subresource } : {}) });
    return { object: this.toExternal(resource, written), created: false };
  }

  private commitUpdate(resource: ResourceType, old: KubeObject, candidate: KubeObject, options: WriteOptions): KubeObject {
    const strategy = strategyFor(resource.storage);
    const name = old.metadata.name ?? "";
    const expected = candidate.metadata.resourceVersion;
    if (expected !== undefined && expected !== "" && expected !== old.metadata.resourceVersion) {
      throw apiErrors.conflict(resource.plural, resource.group, name, "the object has been modified; please apply your changes to the latest version and try again");
    }
    if (candidate.metadata.uid !== undefined && candidate.metadata.uid !== "" && candidate.metadata.uid !== old.metadata.uid) {
      throw apiErrors.conflict(resource.plural, resource.group, name, `Precondition failed: UID in precondition: ${candidate.metadata.uid}, UID in object meta: ${old.metadata.uid}`);
    }

    let next: KubeObject;
    if (options.subresource === "status") {
      next = clone(old);
      next["status"] = candidate["status"];
    } else {
      next = candidate;
      if (strategy.hasStatus) {
        if (old["status"] === undefined) delete next["status"];
        else next["status"] = clone(old["status"]);
      }
    }
    // server-owned metadata survives whatever the client sent
    const meta = next.metadata;
    meta.name = old.metadata.name;
    meta.namespace = old.metadata.namespace;
    if (meta.namespace === undefined) delete meta.namespace;
    meta.uid = old.metadata.uid;
    meta.creationTimestamp = old.metadata.creationTimestamp;
    meta.resourceVersion = old.metadata.resourceVersion;
    copyOrDelete(meta, old.metadata, "deletionTimestamp");
    copyOrDelete(meta, old.metadata, "deletionGracePeriodSeconds");
    copyOrDelete(meta, old.metadata, "generation");
    if (old.metadata.deletionTimestamp) {
      const added = (meta.finalizers ?? []).filter((f) => !(old.metadata.finalizers ?? []).includes(f));
      if (added.length > 0) this.rejectInvalid(resource, next, [v.forbidden("metadata.finalizers", `no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`)]);
    }
    if (options.subresource !== "status") this.rejectInvalid(resource, next, [...strategy.validateUpdate(next, old), ...v.annotationsSize("metadata.annotations", meta.annotations)]);
    if (strategy.tracksGeneration && !isDeepStrictEqual(specOf(next), specOf(old))) meta.generation = (old.metadata.generation ?? 1) + 1;

    // managedFields a client leaves out stay as they were; a manager's write is recorded in them
    if (meta.managedFields === undefined || options.manager || options.managedFields) meta.managedFields = old.metadata.managedFields;
    if (meta.managedFields === undefined) delete meta.managedFields;
    if (isDeepStrictEqual(next, old) && !options.managedFields) return old;
    if (options.managedFields) meta.managedFields = options.managedFields;
    else if (options.manager) meta.managedFields = afterUpdate(old, next, resource.kind, apiVersionOf(resource), options.manager, this.now());
    if ((meta.managedFields ?? []).length === 0) delete meta.managedFields;
    if (options.dryRun) return next;
    const held = (meta.finalizers ?? []).length > 0 || (resource.plural === "namespaces" && specFinalizers(next).length > 0);
    if (old.metadata.deletionTimestamp && !held && (meta.deletionGracePeriodSeconds ?? 0) === 0) {
      return this.store.remove(resource.storage, meta.namespace, name) ?? next;
    }
    checkStorable(next);
    return this.store.put(resource.storage, next);
  }

  /**
   * DELETE as the generic registry's Delete and rest.BeforeDelete do it: options validated,
   * preconditions checked, graceful deletion started, and an ongoing one only ever shortened when
   * a shorter grace period is asked for (never restarted, never lengthened). A dry run checks
   * everything and changes nothing.
   */
  delete(resource: ResourceType, namespace: string | undefined, name: string, options: DeleteOptions = {}): DeleteResult {
    const causes = validateDeleteOptions(options);
    if (causes.length > 0) throw apiErrors.invalid("DeleteOptions", "meta.k8s.io", "", causes);
    const stored = this.getStored(resource, namespace, name);
    if (resource.plural === "namespaces" && IMMORTAL_NAMESPACES.has(name)) {
      // the NamespaceLifecycle admission plugin
      throw apiErrors.forbidden(`namespaces "${name}" is forbidden: this namespace may not be deleted`, { name, kind: "namespaces" });
    }
    checkPreconditions(resource, stored, options.preconditions);
    if (options.gracePeriodSeconds !== undefined && options.gracePeriodSeconds < 0) {
      // kube-apiserver treats a negative grace period as 1 second
      options = { ...options, gracePeriodSeconds: 1 };
    }
    const dryRun = (options.dryRun ?? []).length > 0;
    const meta = stored.metadata;
    const finalizers = [...(meta.finalizers ?? [])];
    // a namespace stays while spec.finalizers (the namespace controller's "kubernetes") has entries
    if (resource.plural === "namespaces") finalizers.push(...specFinalizers(stored));
    const next = clone(stored);

    if (meta.deletionTimestamp && (meta.deletionGracePeriodSeconds ?? 0) > 0) {
      const current = meta.deletionGracePeriodSeconds ?? 0;
      const asked = options.gracePeriodSeconds;
      // graceful deletion is pending: only a shorter grace period changes it, counted from when it began
      if (asked === undefined || asked >= current) return { object: this.toExternal(resource, stored), removed: false };
      const began = Date.parse(meta.deletionTimestamp) - current * 1000;
      next.metadata.deletionTimestamp = timestamp(new Date(began + asked * 1000));
      next.metadata.deletionGracePeriodSeconds = asked;
    } else if (!meta.deletionTimestamp) {
      const grace = strategyFor(resource.storage).gracePeriod(stored, options);
      if (grace > 0 || finalizers.length > 0) {
        next.metadata.deletionTimestamp = timestamp(new Date(this.now().getTime() + grace * 1000));
        next.metadata.deletionGracePeriodSeconds = grace;
      }
    }
    const immediate = (next.metadata.deletionGracePeriodSeconds ?? 0) === 0 && finalizers.length === 0;
    if (dryRun) return { object: this.toExternal(resource, immediate ? stored : next), removed: false };
    if (options.propagationPolicy === "Orphan") this.orphanDependents(stored);
    if (immediate) {
      const removed = this.store.remove(resource.storage, meta.namespace, name) ?? stored;
      return { object: this.toExternal(resource, removed), removed: true };
    }
    if (resource.plural === "namespaces") next["status"] = { ...(isRecord(next["status"]) ? next["status"] : {}), phase: "Terminating" };
    if (isDeepStrictEqual(next, stored)) return { object: this.toExternal(resource, stored), removed: false };
    return { object: this.toExternal(resource, this.store.put(resource.storage, next)), removed: false };
  }

  /**
   * PUT namespaces/{name}/finalize: only spec.finalizers changes. A terminating namespace whose
   * finalizers are all gone is removed, as the namespace registry does.
   */
  finalizeNamespace(name: string, body: unknown, options: WriteOptions = {}): KubeObject {
    const external = this.decodeBody(NAMESPACE, body);
    const stored = this.getStored(NAMESPACE, undefined, name);
    const spec = isRecord(external["spec"]) ? external["spec"] : {};
    const finalizers = Array.isArray(spec["finalizers"]) ? spec["finalizers"].filter((f): f is string => typeof f === "string") : [];
    const expected = external.metadata?.resourceVersion;
    if (expected && expected !== stored.metadata.resourceVersion) {
      throw apiErrors.conflict("namespaces", "", name, "the object has been modified; please apply your changes to the latest version and try again");
    }
    const next = clone(stored);
    next["spec"] = { ...(isRecord(stored["spec"]) ? stored["spec"] : {}), finalizers };
    if (finalizers.length === 0) delete (next["spec"] as Record<string, unknown>)["finalizers"];
    if (options.dryRun) return this.toExternal(NAMESPACE, next);
    if (stored.metadata.deletionTimestamp && finalizers.length === 0 && (stored.metadata.finalizers ?? []).length === 0) {
      return this.toExternal(NAMESPACE, this.store.remove(NAMESPACE.storage, undefined, name) ?? next);
    }
    return this.toExternal(NAMESPACE, this.store.put(NAMESPACE.storage, next));
  }

  /** Removes an object whose graceful deletion has run its course (the kubelet's final delete). */
  finishDeletion(resource: ResourceType, namespace: string | undefined, name: string, uid: string): boolean {
    const stored = this.store.peek(resource.storage, scope(resource, namespace), name);
    if (!stored || stored.metadata.uid !== uid || !stored.metadata.deletionTimestamp) return false;
    if ((stored.metadata.finalizers ?? []).length > 0) {
      const next = clone(stored);
      next.metadata.deletionGracePeriodSeconds = 0;
      this.store.put(resource.storage, next);
      return false;
    }
    this.store.remove(resource.storage, stored.metadata.namespace, name);
    return true;
  }

  deleteCollection(resource: ResourceType, namespace: string | undefined, listOptions: ListOptions, options: DeleteOptions): KubeObject[] {
    const { items } = this.list(resource, namespace, { labelSelector: listOptions.labelSelector, fieldSelector: listOptions.fieldSelector });
    return items.map((item) => this.delete(resource, item.metadata.namespace, item.metadata.name ?? "", options).object);
  }

  /** Assigns a pod to a node, as the binding subresource does for the scheduler. */
  bind(namespace: string, podName: string, nodeName: string): KubeObject {
    const pods = RESOURCES.find((r) => r.plural === "pods")!;
    const stored = this.getStored(pods, namespace, podName);
    const spec = isRecord(stored["spec"]) ? stored["spec"] : {};
    if (spec["nodeName"]) throw apiErrors.conflict("pods", "", podName, `pod ${podName} is already assigned to node "${String(spec["nodeName"])}"`);
    if (stored.metadata.deletionTimestamp) throw apiErrors.conflict("pods", "", podName, "pod is being deleted, cannot be assigned to a host");
    const next = clone(stored);
    next["spec"] = { ...spec, nodeName };
    const status = isRecord(next["status"]) ? next["status"] : {};
    const conditions = (Array.isArray(status["conditions"]) ? status["conditions"] : []).filter((c) => !(isRecord(c) && c["type"] === "PodScheduled"));
    conditions.push({ type: "PodScheduled", status: "True", lastProbeTime: null, lastTransitionTime: timestamp(this.now()) });
    next["status"] = { ...status, conditions };
    return this.store.put(pods.storage, next);
  }

  private orphanDependents(owner: KubeObject): void {
    const uid = owner.metadata.uid;
    for (const resource of RESOURCES) {
      if (resource.group === "events.k8s.io") continue;
      for (const dependent of this.store.peekAll(resource.storage)) {
        const refs = dependent.metadata.ownerReferences ?? [];
        if (!refs.some((r) => r.uid === uid)) continue;
        const next = clone(dependent);
        next.metadata.ownerReferences = refs.filter((r) => r.uid !== uid);
        if (next.metadata.ownerReferences.length === 0) delete next.metadata.ownerReferences;
        this.store.put(resource.storage, next);
      }
    }
  }

  private decodeBody(resource: ResourceType, body: unknown): KubeObject {
    if (!isRecord(body)) throw apiErrors.badRequest(`Object '${resource.kind}' is missing in '${JSON.stringify(body)}'`);
    const apiVersion = body["apiVersion"];
    const kind = body["kind"];
    const expected = apiVersionOf(resource);
    if (kind !== undefined && kind !== resource.kind) {
      throw apiErrors.badRequest(`${String(kind)} in version "${String(apiVersion ?? expected)}" cannot be handled as a ${resource.kind}: no kind "${String(kind)}" is registered for version "${expected}"`);
    }
    if (apiVersion !== undefined && apiVersion !== expected) {
      throw apiErrors.badRequest(`the API version in the data (${String(apiVersion)}) does not match the expected API version (${expected})`);
    }
    return clone(body) as KubeObject;
  }

  private checkNamespace(resource: ResourceType, namespace: string | undefined, obj: KubeObject): void {
    if (!resource.namespaced) {
      delete obj.metadata.namespace;
      return;
    }
    const given = obj.metadata.namespace;
    if (given && namespace && given !== namespace) {
      throw apiErrors.badRequest("the namespace of the provided object does not match the namespace sent on the request");
    }
    obj.metadata.namespace = given || namespace;
    if (!obj.metadata.namespace) throw apiErrors.badRequest("the server could not find the requested resource: a namespace is required");
  }

  private requireActiveNamespace(namespace: string): void {
    const ns = this.store.peek(NAMESPACE.storage, undefined, namespace);
    if (!ns) throw apiErrors.notFound("namespaces", "", namespace);
    if (ns.metadata.deletionTimestamp) {
      throw apiErrors.forbidden(`unable to create new content in namespace ${namespace} because it is being terminated`, {
        name: namespace,
        kind: "namespaces",
        causes: [{ reason: "NamespaceTerminating", message: `namespace ${namespace} is being terminated`, field: "metadata.namespace" }],
      });
    }
  }

  private rejectInvalid(resource: ResourceType, obj: KubeObject, causes: StatusCause[]): void {
    if (causes.length > 0) throw apiErrors.invalid(resource.kind, resource.group, obj.metadata?.name ?? "", causes);
  }
}

/** etcd's default request limit (--max-request-bytes, 1.5 MiB); kube-apiserver passes etcd's refusal on as a 500. */
export const MAX_STORED_OBJECT_BYTES = 1.5 * 1024 * 1024;

function checkStorable(obj: KubeObject): void {
  if (Buffer.byteLength(JSON.stringify(obj)) > MAX_STORED_OBJECT_BYTES) throw apiErrors.unknown(500, "etcdserver: request is too large");
}

/** metav1 validation.ValidateDeleteOptions. */
export function validateDeleteOptions(options: DeleteOptions): StatusCause[] {
  const causes: StatusCause[] = [];
  if (options.orphanDependents !== undefined && options.propagationPolicy !== undefined) {
    causes.push(v.invalid("propagationPolicy", options.propagationPolicy, "orphanDependents and deletionPropagation cannot be both set"));
  }
  const policy = options.propagationPolicy;
  if (policy !== undefined && policy !== "Foreground" && policy !== "Background" && policy !== "Orphan") {
    causes.push(v.notSupported("propagationPolicy", policy, ["Foreground", "Background", "Orphan", "nil"]));
  }
  causes.push(...v.dryRun("dryRun", options.dryRun));
  return causes;
}

/** The preconditions check of rest.BeforeDelete, in its words (the conflict names the kind). */
export function checkPreconditions(resource: ResourceType, stored: KubeObject, pre: DeleteOptions["preconditions"]): void {
  const meta = stored.metadata;
  const name = meta.name ?? "";
  if (pre?.uid !== undefined && pre.uid !== meta.uid) {
    throw apiErrors.conflict(resource.kind, resource.group, name, `the UID in the precondition (${pre.uid}) does not match the UID in record (${meta.uid}). The object might have been deleted and then recreated`);
  }
  if (pre?.resourceVersion !== undefined && pre.resourceVersion !== meta.resourceVersion) {
    throw apiErrors.conflict(
      resource.kind,
      resource.group,
      name,
      `the ResourceVersion in the precondition (${pre.resourceVersion}) does not match the ResourceVersion in record (${meta.resourceVersion}). The object might have been modified`,
    );
  }
}

function specFinalizers(obj: KubeObject): string[] {
  const spec = obj["spec"];
  return isRecord(spec) && Array.isArray(spec["finalizers"]) ? spec["finalizers"].filter((f): f is string => typeof f === "string") : [];
}

function scope(resource: ResourceType, namespace: string | undefined): string | undefined {
  return resource.namespaced ? namespace : undefined;
}

function keyOf(obj: KubeObject): string {
  return `${obj.metadata.namespace ?? ""}/${obj.metadata.name ?? ""}`;
}

function specOf(obj: KubeObject): unknown {
  const { metadata: _m, status: _s, ...rest } = obj;
  return rest;
}

function copyOrDelete(target: ObjectMeta, source: ObjectMeta, key: "deletionTimestamp" | "deletionGracePeriodSeconds" | "generation"): void {
  const value = source[key];
  if (value === undefined) delete target[key];
  else (target as Record<string, unknown>)[key] = value;
}

const SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

/** Five characters from the alphabet apiserver's name generator uses (no vowels, no look-alikes). */
export function randomSuffix(length = 5): string {
  const bytes = randomBytes(length);
  let out = "";
  for (const byte of bytes) out += SUFFIX_ALPHABET[byte % SUFFIX_ALPHABET.length];
  return out;
}

function encodeContinue(token: { rv: string; key: string }): string {
  return Buffer.from(JSON.stringify({ v: "meta.k8s.io/v1", rv: token.rv, start: token.key })).toString("base64url");
}

function decodeContinue(token: string): { rv: string; key: string } {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (isRecord(parsed) && typeof parsed["rv"] === "string" && typeof parsed["start"] === "string") return { rv: parsed["rv"], key: parsed["start"] };
  } catch {
    // fall through to the error kube-apiserver gives for an undecodable token
  }
  throw new ApiError(apiErrors.badRequest("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)").status);
}
