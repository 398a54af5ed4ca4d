/**
 * The object store: one revision counter for everything (as etcd has), immutable snapshots, and a
 * bounded change history so watches can resume from a resourceVersion.
 */
import type { KubeObject } from "./wire";
import { clone } from "./wire";

export type ChangeType = "ADDED" | "MODIFIED" | "DELETED";

export interface StoredChange {
  type: ChangeType;
  storage: string;
  revision: number;
  /** The stored snapshot; never mutated after it is written. */
  object: KubeObject;
}

export interface ListScope {
  namespace?: string | undefined;
  filter?: (obj: KubeObject) => boolean;
  /** Only objects whose indexed field has this value (a hint: the filter still decides). */
  indexed?: { field: string; value: string } | undefined;
}

/** An index over one field of one kind, as kube-apiserver's watch cache keeps one on pods' spec.nodeName. */
export interface FieldIndex {
  storage: string;
  field: string;
  valueOf: (obj: KubeObject) => string;
}

interface Index {
  valueOf: (obj: KubeObject) => string;
  keysByValue: Map<string, Set<string>>;
}

const keyOf = (namespace: string | undefined, name: string) => `${namespace ?? ""}/${name}`;

export class ObjectStore {
  private revision = 1;
  private readonly buckets = new Map<string, Map<string, KubeObject>>();
  private readonly history: StoredChange[] = [];
  private readonly listeners = new Set<(change: StoredChange) => void>();
  /** Field indexes by storage, then field. */
  private readonly indexes = new Map<string, Map<string, Index>>();

  constructor(
    private readonly historyLimit = 50_000,
    indexes: readonly FieldIndex[] = [],
  ) {
    for (const { storage, field, valueOf } of indexes) {
      const byField = this.indexes.get(storage) ?? new Map<string, Index>();
      byField.set(field, { valueOf, keysByValue: new Map() });
      this.indexes.set(storage, byField);
    }
  }

  /** Whether lists of `storage` can be narrowed by `field`. */
  hasIndex(storage: string, field: string): boolean {
    return this.indexes.get(storage)?.has(field) ?? false;
  }

  currentRevision(): number {
    return this.revision;
  }

  /** The oldest revision a watch may resume from without missing a change. */
  oldestResumableRevision(): number {
    const first = this.history[0];
    return first ? first.revision - 1 : this.revision;
  }

  get(storage: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const found = this.bucket(storage).get(keyOf(namespace, name));
    return found ? clone(found) : undefined;
  }

  /** Objects in key order (namespace, then name); the filter runs before anything is copied. */
  list(storage: string, scope: ListScope = {}): KubeObject[] {
    const bucket = this.bucket(storage);
    const prefix = scope.namespace !== undefined ? `${scope.namespace}/` : undefined;
    const index = scope.indexed ? this.indexes.get(storage)?.get(scope.indexed.field) : undefined;
    const candidates = index && scope.indexed ? (index.keysByValue.get(scope.indexed.value) ?? []) : bucket.keys();
    const keys = [...candidates].filter((k) => prefix === undefined || k.startsWith(prefix)).sort();
    const out: KubeObject[] = [];
    for (const key of keys) {
      const obj = bucket.get(key);
      if (obj && (!scope.filter || scope.filter(obj))) out.push(clone(obj));
    }
    return out;
  }

  /** Read-only view for hot paths that only inspect (controllers, PDB status); callers must not mutate. */
  peekAll(storage: string, namespace?: string): readonly KubeObject[] {
    const all = [...this.bucket(storage).values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata.namespace === namespace);
  }

  peek(storage: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.bucket(storage).get(keyOf(namespace, name));
  }

  count(storage: string): number {
    return this.bucket(storage).size;
  }

  /** Writes a new or changed object, stamping the next resourceVersion; returns the stored copy. */
  put(storage: string, object: KubeObject): KubeObject {
    const name = object.metadata.name;
    if (!name) throw new Error("store: object without metadata.name");
    const key = keyOf(object.metadata.namespace, name);
    const bucket = this.bucket(storage);
    const type: ChangeType = bucket.has(key) ? "MODIFIED" : "ADDED";
    const stored = clone(object);
    this.revision += 1;
    stored.metadata.resourceVersion = String(this.revision);
    this.reindex(storage, key, bucket.get(key), stored);
    bucket.set(key, stored);
    this.record({ type, storage, revision: this.revision, object: stored });
    return clone(stored);
  }

  /** Removes an object; like etcd, the deletion itself gets a new revision. */
  remove(storage: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const bucket = this.bucket(storage);
    const key = keyOf(namespace, name);
    const existing = bucket.get(key);
    if (!existing) return undefined;
    this.reindex(storage, key, existing, undefined);
    bucket.delete(key);
    this.revision += 1;
    const tombstone = clone(existing);
    tombstone.metadata.resourceVersion = String(this.revision);
    this.record({ type: "DELETED", storage, revision: this.revision, object: tombstone });
    return clone(tombstone);
  }

  /** Changes after `revision`, or undefined when the history no longer reaches back that far. */
  changesSince(revision: number): StoredChange[] | undefined {
    if (revision < this.oldestResumableRevision()) return undefined;
    const out: StoredChange[] = [];
    for (let i = this.history.length - 1; i >= 0; i -= 1) {
      const change = this.history[i];
      if (!change || change.revision <= revision) break;
      out.push(change);
    }
    return out.reverse();
  }

  subscribe(listener: (change: StoredChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private record(change: StoredChange): void {
    this.history.push(change);
    // trimmed a quarter at a time: dropping one entry per change would move the whole history each time
    if (this.history.length > this.historyLimit * 1.25) this.history.splice(0, this.history.length - this.historyLimit);
    for (const listener of [...this.listeners]) listener(change);
  }

  private reindex(storage: string, key: string, before: KubeObject | undefined, after: KubeObject | undefined): void {
    for (const index of this.indexes.get(storage)?.values() ?? []) {
      const was = before ? index.valueOf(before) : undefined;
      const is = after ? index.valueOf(after) : undefined;
      if (was === is) continue;
      if (was !== undefined) {
        const keys = index.keysByValue.get(was);
        keys?.delete(key);
        if (keys?.size === 0) index.keysByValue.delete(was);
      }
      if (is !== undefined) {
        const keys = index.keysByValue.get(is) ?? new Set<string>();
        keys.add(key);
        index.keysByValue.set(is, keys);
      }
    }
  }

  private bucket(storage: string): Map<string, KubeObject> {
    let bucket = this.buckets.get(storage);
    if (!bucket) {
      bucket = new Map();
      this.buckets.set(storage, bucket);
    }
    return bucket;
  }
}
