/**
 * Field ownership (metadata.managedFields) and server-side apply, after structured-merge-diff:
 * every write through the API records which manager set which fields (operation Update, or Apply
 * for application/apply-patch+yaml); an apply merges the applied configuration into the live
 * object, refuses with 409 when it would change a field another manager owns (unless forced),
 * and removes the fields the applier stopped applying when nobody else owns them. Lists merge as
 * the strategic merge patch schema says (by key, as sets, or atomically).
 */
import { isDeepStrictEqual } from "node:util";
import type { ApiError } from "./errors";
import { apiErrors } from "./errors";
import { timestamp } from "./objects";
import { PATCH_SCHEMAS, type ListStrategy } from "./patch";
import { clone, isRecord, type KubeObject } from "./wire";

export interface Manager {
  name: string;
  /** "status" for writes through the status subresource. */
  subresource?: string;
}

export interface ManagedFieldsEntry {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion: string;
  time: string;
  fieldsType: "FieldsV1";
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}

/** A field path: elements like `f:spec`, `k:{"name":"nginx"}`, `v:"a"`, joined by newlines. */
type Path = string;
const SEP = "\n";
/** Marks an owned list item (the `.` of FieldsV1) rather than a value. */
const ITEM = Symbol("item");
type FieldSet = Map<Path, unknown>;

const SERVER_METADATA = new Set(["name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"]);

function strategyAt(kind: string, schemaPath: string): ListStrategy | undefined {
  return PATCH_SCHEMAS[kind]?.[schemaPath];
}

function keyOf(item: Record<string, unknown>, mergeKey: string): string {
  return `k:${JSON.stringify({ [mergeKey]: item[mergeKey] })}`;
}

/** The fields an object sets, with their values (lists by their schema; empty maps are leaves). */
export function fieldSet(obj: KubeObject, kind: string, subresource?: string): FieldSet {
  const out: FieldSet = new Map();
  const walk = (value: unknown, path: string[], schemaPath: string) => {
    if (isRecord(value)) {
      const keys = Object.keys(value);
      if (keys.length === 0 && path.length > 0) out.set(path.join(SEP), value);
      for (const key of keys) walk(value[key], [...path, `f:${key}`], schemaPath ? `${schemaPath}.${key}` : key);
      return;
    }
    if (Array.isArray(value)) {
      const strategy = strategyAt(kind, schemaPath);
      if (strategy?.kind === "merge" && value.every((item) => isRecord(item) && item[strategy.mergeKey] !== undefined)) {
        for (const item of value as Record<string, unknown>[]) {
          const itemPath = [...path, keyOf(item, strategy.mergeKey)];
          out.set(itemPath.join(SEP), ITEM);
          walk(item, itemPath, `${schemaPath}[]`);
        }
        return;
      }
      if (strategy?.kind === "mergePrimitives") {
        for (const item of value) out.set([...path, `v:${JSON.stringify(item)}`].join(SEP), item);
        return;
      }
    }
    out.set(path.join(SEP), value);
  };
  for (const [key, value] of Object.entries(obj)) {
    if (key === "apiVersion" || key === "kind") continue;
    if (key === "status" && subresource !== "status") continue;
    if (key !== "status" && subresource === "status") continue;
    if (key === "metadata" && isRecord(value)) {
      for (const [field, v] of Object.entries(value)) if (!SERVER_METADATA.has(field)) walk(v, ["f:metadata", `f:${field}`], `metadata.${field}`);
      continue;
    }
    walk(value, [`f:${key}`], key);
  }
  return out;
}

/** FieldsV1 JSON from a set of paths. */
export function toFieldsV1(paths: Iterable<Path>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const path of paths) {
    const elements = path.split(SEP);
    let node = root;
    for (const element of elements) {
      node[element] ??= {};
      node = node[element] as Record<string, unknown>;
    }
    if (elements.at(-1)?.startsWith("k:")) node["."] = {};
  }
  return root;
}

function fromFieldsV1(fields: unknown, prefix: string[] = [], out: Set<Path> = new Set()): Set<Path> {
  if (!isRecord(fields)) return out;
  const keys = Object.keys(fields).filter((k) => k !== ".");
  if ("." in fields || keys.length === 0) if (prefix.length > 0) out.add(prefix.join(SEP));
  for (const key of keys) fromFieldsV1(fields[key], [...prefix, key], out);
  return out;
}

/** `.spec.template.spec.containers[name="nginx"].image`, as conflicts name a field. */
export function describePath(path: Path): string {
  return path
    .split(SEP)
    .map((element) => {
      if (element.startsWith("f:")) return `.${element.slice(2)}`;
      if (element.startsWith("k:")) {
        const key = JSON.parse(element.slice(2)) as Record<string, unknown>;
        return `[${Object.entries(key)
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(",")}]`;
      }
      return `[=${element.slice(2)}]`;
    })
    .join("");
}

function entriesOf(obj: KubeObject): ManagedFieldsEntry[] {
  const list = obj.metadata.managedFields;
  return Array.isArray(list) ? (list.filter(isRecord) as unknown as ManagedFieldsEntry[]) : [];
}

const sameEntry = (entry: ManagedFieldsEntry, manager: Manager, operation: "Apply" | "Update") =>
  entry.manager === manager.name && entry.operation === operation && (entry.subresource ?? "") === (manager.subresource ?? "");

/**
 * managedFields after a non-apply write: the manager owns what it added or changed, the others
 * lose those fields, and fields that are gone leave every set.
 */
export function afterUpdate(old: KubeObject | undefined, next: KubeObject, kind: string, apiVersion: string, manager: Manager, now: Date): ManagedFieldsEntry[] {
  const before = old ? fieldSet(old, kind, manager.subresource) : new Map<Path, unknown>();
  const after = fieldSet(next, kind, manager.subresource);
  const changed = new Set<Path>();
  for (const [path, value] of after) if (!before.has(path) || !isDeepStrictEqual(before.get(path), value)) changed.add(path);
  const allAfter = new Set([...fieldSet(next, kind), ...fieldSet(next, kind, "status")].map(([p]) => p));
  const entries: ManagedFieldsEntry[] = [];
  let mine: Set<Path> | undefined;
  for (const entry of old ? entriesOf(old) : []) {
    const paths = [...fromFieldsV1(entry.fieldsV1)].filter((p) => allAfter.has(p) && !changed.has(p));
    if (sameEntry(entry, manager, "Update")) {
      mine = new Set(paths);
      continue;
    }
    if (paths.length > 0) entries.push({ ...entry, fieldsV1: toFieldsV1(paths) });
  }
  const owned = new Set([...(mine ?? []), ...changed]);
  if (owned.size > 0) entries.push(entry(manager, "Update", apiVersion, now, owned));
  return entries;
}

function entry(manager: Manager, operation: "Apply" | "Update", apiVersion: string, now: Date, paths: Iterable<Path>): ManagedFieldsEntry {
  return {
    manager: manager.name,
    operation,
    apiVersion,
    time: timestamp(now),
    fieldsType: "FieldsV1",
    fieldsV1: toFieldsV1(paths),
    ...(manager.subresource ? { subresource: manager.subresource } : {}),
  };
}

/** How apply names a manager in a conflict: `"kubectl"` or `"kubectl" using apps/v1` (Update), with its subresource. */
function printManager(e: ManagedFieldsEntry): string {
  let text = JSON.stringify(e.manager);
  if (e.subresource) text += ` with subresource ${JSON.stringify(e.subresource)}`;
  return e.operation === "Update" ? `${text} using ${e.apiVersion}` : text;
}

function merge(live: unknown, applied: unknown, kind: string, schemaPath: string): unknown {
  if (isRecord(live) && isRecord(applied)) {
    const out: Record<string, unknown> = { ...live };
    for (const [key, value] of Object.entries(applied)) out[key] = key in live ? merge(live[key], value, kind, schemaPath ? `${schemaPath}.${key}` : key) : clone(value);
    return out;
  }
  if (Array.isArray(live) && Array.isArray(applied)) {
    const strategy = strategyAt(kind, schemaPath);
    if (strategy?.kind === "merge") {
      const out = [...live];
      for (const item of applied) {
        const at = isRecord(item) ? out.findIndex((l) => isRecord(l) && isDeepStrictEqual(l[strategy.mergeKey], item[strategy.mergeKey])) : -1;
        if (at >= 0) out[at] = merge(out[at], item, kind, `${schemaPath}[]`);
        else out.push(clone(item));
      }
      return out;
    }
    if (strategy?.kind === "mergePrimitives") return [...live, ...applied.filter((item) => !live.some((l) => isDeepStrictEqual(l, item)))];
  }
  return clone(applied);
}

/** Removes one field path from an object (a keyed item, a set member, a map field). */
function removePath(obj: Record<string, unknown>, path: Path): void {
  const elements = path.split(SEP);
  let node: unknown = obj;
  for (const [i, element] of elements.entries()) {
    const last = i === elements.length - 1;
    if (element.startsWith("f:")) {
      if (!isRecord(node)) return;
      const key = element.slice(2);
      if (last) delete node[key];
      else node = node[key];
    } else if (element.startsWith("k:") || element.startsWith("v:")) {
      if (!Array.isArray(node)) return;
      const list = node;
      const match = element.startsWith("k:")
        ? (item: unknown) => isRecord(item) && Object.entries(JSON.parse(element.slice(2)) as Record<string, unknown>).every(([k, v]) => isDeepStrictEqual(item[k], v))
        : (item: unknown) => isDeepStrictEqual(item, JSON.parse(element.slice(2)));
      const at = list.findIndex(match);
      if (at < 0) return;
      if (last) list.splice(at, 1);
      else node = list[at];
    }
  }
}

export interface ApplyResult {
  object: KubeObject;
  managedFields: ManagedFieldsEntry[];
}

/**
 * Server-side apply of `applied` onto `live` (undefined: the object does not exist yet).
 * Throws the upstream 409 on conflicts unless forced.
 */
export function apply(live: KubeObject | undefined, applied: KubeObject, kind: string, apiVersion: string, manager: Manager, force: boolean, now: Date): ApplyResult {
  const appliedSet = fieldSet(applied, kind, manager.subresource);
  if (!live) return { object: clone(applied), managedFields: [entry(manager, "Apply", apiVersion, now, appliedSet.keys())] };
  const liveSet = new Map([...fieldSet(live, kind), ...fieldSet(live, kind, "status")]);
  const conflicts: { path: Path; entry: ManagedFieldsEntry }[] = [];
  const others: { entry: ManagedFieldsEntry; paths: Set<Path> }[] = [];
  let previous = new Set<Path>();
  for (const e of entriesOf(live)) {
    const paths = fromFieldsV1(e.fieldsV1);
    if (sameEntry(e, manager, "Apply")) {
      previous = paths;
      continue;
    }
    others.push({ entry: e, paths });
    for (const path of paths) {
      if (!appliedSet.has(path)) continue;
      const value = appliedSet.get(path);
      if (value === ITEM || isDeepStrictEqual(liveSet.get(path), value)) continue;
      conflicts.push({ path, entry: e });
    }
  }
  if (conflicts.length > 0 && !force) throw conflictError(conflicts);
  const taken = new Set(conflicts.map((c) => c.path));

  const object = merge(live, applied, kind, "") as KubeObject;
  // what this manager applied before and applies no more goes, unless someone else owns it
  const ownedByOthers = new Set(others.flatMap((o) => [...o.paths].filter((p) => !taken.has(p))));
  for (const path of [...previous].sort((a, b) => b.length - a.length)) {
    if (!appliedSet.has(path) && !ownedByOthers.has(path)) removePath(object, path);
  }
  const managedFields: ManagedFieldsEntry[] = [];
  for (const o of others) {
    const kept = [...o.paths].filter((p) => !taken.has(p));
    if (kept.length > 0) managedFields.push({ ...o.entry, fieldsV1: toFieldsV1(kept) });
  }
  managedFields.push(entry(manager, "Apply", apiVersion, now, appliedSet.keys()));
  return { object, managedFields };
}

/** The 409 structured-merge-diff answers, in its words. */
function conflictError(conflicts: { path: Path; entry: ManagedFieldsEntry }[]): ApiError {
  const causes = conflicts.map((c) => ({ reason: "FieldManagerConflict", message: `conflict with ${printManager(c.entry)}`, field: describePath(c.path) }));
  let message: string;
  if (conflicts.length === 1) {
    const only = conflicts[0]!;
    message = `Apply failed with 1 conflict: conflict with ${printManager(only.entry)}: ${describePath(only.path)}`;
  } else {
    const byManager = new Map<string, string[]>();
    for (const c of conflicts) byManager.set(printManager(c.entry), [...(byManager.get(printManager(c.entry)) ?? []), describePath(c.path)]);
    const lines: string[] = [];
    for (const [name, paths] of [...byManager].sort(([a], [b]) => a.localeCompare(b))) {
      lines.push(`conflicts with ${name}:`);
      for (const p of paths) lines.push(`- ${p}`);
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join("\n")}`;
  }
  const error = apiErrors.conflict("", "", "", "");
  error.status.message = message;
  error.status.details = { causes };
  return error;
}

/** The manager of a non-apply request: fieldManager, else the client's User-Agent up to its first "/". */
export function managerOf(fieldManager: string | null, userAgent: string | undefined): string {
  if (fieldManager) return fieldManager;
  const agent = (userAgent ?? "").split("/")[0]?.trim() ?? "";
  return agent === "" ? "unknown" : agent.slice(0, 128);
}

/** metav1 validation of fieldManager: at most 128 printable characters. */
export function validateFieldManager(name: string | null, optionsKind: string): void {
  if (name === null) return;
  if (name.length > 128 || [...name].some((c) => c < " " || c === "\u007f")) {
    throw apiErrors.invalid(optionsKind, "meta.k8s.io", "", [{ reason: "FieldValueInvalid", message: `Invalid value: ${JSON.stringify(name)}: must be less than or equal to 128 characters and consist of printable characters`, field: "fieldManager" }]);
  }
}
