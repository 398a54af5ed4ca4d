/**
 * The node IPAM controller's range allocator (kube-controller-manager --allocate-node-cidrs, with
 * --node-cidr-mask-size 24): each node without a pod CIDR gets the next free /24 of the cluster CIDR
 * (default 10.244.0.0/16, room for 256 nodes), written to spec.podCIDR and spec.podCIDRs, which the
 * kubelet then hands out pod IPs from. A node beyond the cluster CIDR's room gets none, as upstream.
 */
import { ApiError } from "../errors";
import type { Registry } from "../registry";
import { RESOURCES } from "../resources";
import type { StoredChange } from "../store";
import { clone, isRecord } from "../wire";
import { QueuedController } from "./work-queue";

const NODES = RESOURCES.find((r) => r.plural === "nodes" && r.group === "")!;

export interface NodeIpamOptions {
  /** The cluster CIDR, an IPv4 range from /8 to /24; nodes get its /24s in order. Default 10.244.0.0/16. */
  clusterCidr?: string;
}

export class NodeIpamController extends QueuedController {
  /** The cluster CIDR's first /24, as a number of /24s from 0.0.0.0, and how many it holds. */
  private readonly first: number;
  private readonly count: number;

  constructor(
    private readonly registry: Registry,
    options: NodeIpamOptions = {},
  ) {
    super();
    const cidr = options.clusterCidr ?? "10.244.0.0/16";
    const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
    const octets = match ? match.slice(1, 5).map(Number) : [];
    const bits = Number(match?.[5]);
    if (!match || octets.some((o) => o > 255) || bits < 8 || bits > 24) throw new Error(`clusterCidr must be an IPv4 range from /8 to /24 like 10.244.0.0/16, got "${cidr}"`);
    const [a = 0, b = 0, c = 0] = octets;
    this.count = 2 ** (24 - bits);
    this.first = Math.floor((a * 65536 + b * 256 + c) / this.count) * this.count;
  }

  private subnet(i: number): string {
    const n = this.first + i;
    return `${Math.floor(n / 65536)}.${Math.floor(n / 256) % 256}.${n % 256}.0/24`;
  }

  start(): void {
    for (const node of this.registry.store.peekAll(NODES.storage)) this.queue.add(node.metadata.name ?? "", 0);
  }

  onChange(change: StoredChange): void {
    if (change.storage === NODES.storage && change.type === "ADDED") this.queue.add(change.object.metadata.name ?? "", 0);
  }

  protected sync(name: string): void {
    const node = this.registry.store.peek(NODES.storage, undefined, name);
    const spec = isRecord(node?.["spec"]) ? (node["spec"] as Record<string, unknown>) : {};
    if (!node || spec["podCIDR"]) return;
    const used = new Set(this.registry.store.peekAll(NODES.storage).map((n) => (isRecord(n["spec"]) ? n["spec"]["podCIDR"] : undefined)));
    let cidr: string | undefined;
    for (let i = 0; i < this.count && !cidr; i += 1) if (!used.has(this.subnet(i))) cidr = this.subnet(i);
    if (!cidr) return; // the cluster CIDR is full: upstream reports CIDRNotAvailable and leaves the node without one
    const body = clone(node);
    body["spec"] = { ...spec, podCIDR: cidr, podCIDRs: [cidr] };
    try {
      this.registry.update(NODES, undefined, name, body);
    } catch (error) {
      if (error instanceof ApiError && (error.code === 409 || error.code === 404)) {
        if (error.code === 409) this.queue.add(name, 0);
        return;
      }
      throw error;
    }
  }
}
