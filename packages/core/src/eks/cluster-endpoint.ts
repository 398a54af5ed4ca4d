import { DescribeClusterCommand } from "@aws-sdk/client-eks";
import type { Cluster, EKSClient } from "@aws-sdk/client-eks";
import { ConfigError, RetryError } from "../errors";

/** Where and how to reach a cluster's Kubernetes API server. */
export interface ClusterEndpoint {
  name: string;
  /** https URL of the API server. */
  server: string;
  /** PEM bundle of the cluster CA, decoded from certificateAuthority.data. */
  caPem: string;
  version?: string;
  arn?: string;
}

export interface ClusterEndpointCacheOptions {
  /** How long a resolved endpoint is reused before DescribeCluster is called again (default 3600). */
  ttlSeconds?: number;
  now?: () => Date;
}

/** The cluster exists but cannot serve API calls yet (or any more): retry later. */
export class ClusterNotReadyError extends RetryError {
  override readonly name = "ClusterNotReadyError";
  constructor(
    readonly clusterName: string,
    readonly status: string | undefined,
    detail: string,
  ) {
    super(`EKS cluster ${clusterName} is not ready (status ${status ?? "unknown"}): ${detail}`);
  }
}

/** No EKS cluster of that name in this account and region: a configuration problem, not a transient one. */
export class ClusterNotFoundError extends Error {
  override readonly name = "ClusterNotFoundError";
  constructor(
    readonly clusterName: string,
    options?: { cause?: unknown },
  ) {
    super(`EKS cluster ${clusterName} not found in this account and region`, options);
  }
}

// UPDATING clusters keep serving the API (version upgrades, config changes); drains must not stall then.
const SERVING_STATUSES: ReadonlySet<string> = new Set(["ACTIVE", "UPDATING"]);
const DEFAULT_TTL_SECONDS = 3600;

interface Entry {
  endpoint: ClusterEndpoint;
  fetchedAt: number;
}

/** Resolves and caches cluster endpoints per warm container, one DescribeCluster per cluster at a time. */
export class ClusterEndpointCache {
  private readonly ttlMs: number;
  private readonly now: () => Date;
  private readonly entries = new Map<string, Entry>();
  private readonly pending = new Map<string, Promise<ClusterEndpoint>>();

  constructor(
    private readonly eks: EKSClient,
    opts: ClusterEndpointCacheOptions = {},
  ) {
    const ttlSeconds = opts.ttlSeconds ?? DEFAULT_TTL_SECONDS;
    if (!Number.isFinite(ttlSeconds) || ttlSeconds < 0) {
      throw new ConfigError(`ttlSeconds must be a non-negative number, got ${ttlSeconds}`);
    }
    this.ttlMs = ttlSeconds * 1000;
    this.now = opts.now ?? (() => new Date());
  }

  /** Returns the cluster's endpoint, from cache while fresh, otherwise via DescribeCluster. */
  get(clusterName: string): Promise<ClusterEndpoint> {
    const entry = this.entries.get(clusterName);
    if (entry && this.now().getTime() - entry.fetchedAt < this.ttlMs) return Promise.resolve(entry.endpoint);
    return this.pending.get(clusterName) ?? this.fetch(clusterName);
  }

  /** Forgets one cluster, or all of them, e.g. after the API server rejected the cached CA. */
  invalidate(clusterName?: string): void {
    if (clusterName === undefined) {
      this.entries.clear();
      this.pending.clear();
      return;
    }
    this.entries.delete(clusterName);
    this.pending.delete(clusterName);
  }

  private fetch(clusterName: string): Promise<ClusterEndpoint> {
    const pending = describeEndpoint(this.eks, clusterName);
    this.pending.set(clusterName, pending);
    // Registered before any caller awaits, so the cache is filled before they resume.
    pending.then(
      (endpoint) => this.settle(clusterName, pending, endpoint),
      () => this.settle(clusterName, pending, undefined),
    );
    return pending;
  }

  private settle(clusterName: string, pending: Promise<ClusterEndpoint>, endpoint: ClusterEndpoint | undefined): void {
    // An invalidate() during the call means its answer may already be stale: hand it out, do not keep it.
    if (this.pending.get(clusterName) !== pending) return;
    this.pending.delete(clusterName);
    if (endpoint) this.entries.set(clusterName, { endpoint, fetchedAt: this.now().getTime() });
  }
}

async function describeEndpoint(eks: EKSClient, clusterName: string): Promise<ClusterEndpoint> {
  let cluster: Cluster | undefined;
  try {
    ({ cluster } = await eks.send(new DescribeClusterCommand({ name: clusterName })));
  } catch (error) {
    if (isNamed(error, "ResourceNotFoundException")) throw new ClusterNotFoundError(clusterName, { cause: error });
    throw error;
  }
  if (!cluster) throw new ClusterNotFoundError(clusterName);
  return toEndpoint(clusterName, cluster);
}

function toEndpoint(clusterName: string, cluster: Cluster): ClusterEndpoint {
  if (!cluster.status || !SERVING_STATUSES.has(cluster.status)) {
    throw new ClusterNotReadyError(clusterName, cluster.status, "API server is not serving");
  }
  const caPem = decodeCa(cluster.certificateAuthority?.data);
  if (!cluster.endpoint) throw new ClusterNotReadyError(clusterName, cluster.status, "no endpoint yet");
  if (!caPem) throw new ClusterNotReadyError(clusterName, cluster.status, "no certificate authority yet");
  return {
    name: cluster.name ?? clusterName,
    server: cluster.endpoint,
    caPem,
    ...(cluster.version !== undefined && { version: cluster.version }),
    ...(cluster.arn !== undefined && { arn: cluster.arn }),
  };
}

function decodeCa(data: string | undefined): string | undefined {
  if (!data) return undefined;
  return Buffer.from(data, "base64").toString("utf8") || undefined;
}

function isNamed(error: unknown, name: string): boolean {
  // Compare by name, not instanceof: bundling can load two copies of the SDK's exception classes.
  return error instanceof Error && error.name === name;
}
