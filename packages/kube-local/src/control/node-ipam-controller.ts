/**
 * The node IPAM controller's range allocator (kube-controller-manager --allocate-node-cidrs): each
 * node without a pod CIDR gets the next free /24 of the cluster CIDR (10.244.0.0/16), written to
 * spec.podCIDR and spec.podCIDRs, which the kubelet then hands out pod IPs from.
 */
import { ApiError } from "../errors";
import type { Registry } from "../registry";
import { RESOURCES } from "../resources";
import type { StoredChange } from "../store";
import { clone, isRecord } from "../wire";
import { QueuedController } from "./work-queue";

const NODES = RESOURCES.find((r) => r.plural === "nodes" && r.group === "")!;

export interface NodeIpamOptions {
  /** The cluster CIDR as `a.b.0.0/16`; nodes get its /24s in order. Default 10.244.0.0/16. */
  clusterCidr?: string;
}

export class NodeIpamController extends QueuedController {
  private readonly prefix: string;

  constructor(
    private readonly registry: Registry,
    options: NodeIpamOptions = {},
  ) {
    super();
    const cidr = options.clusterCidr ?? "10.244.0.0/16";
    const match = /^(\d+)\.(\d+)\.0\.0\/16$/.exec(cidr);
    if (!match) throw new Error(`clusterCidr must be a /16 like 10.244.0.0/16, got "${cidr}"`);
    this.prefix = `${match[1]}.${match[2]}`;
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
    for (let i = 0; i < 256 && !cidr; i += 1) if (!used.has(`${this.prefix}.${i}.0/24`)) cidr = `${this.prefix}.${i}.0/24`;
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
