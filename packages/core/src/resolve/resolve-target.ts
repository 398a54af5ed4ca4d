/**
 * From an EC2 instance to its Kubernetes node: ec2:DescribeInstances (private DNS name, tags),
 * the cluster membership check, then the node by name, by kubernetes.io/hostname, and by
 * spec.providerID (aws:///<az>/<instance-id>), as NTH and Karpenter find nodes.
 */
import { LABELS } from "../constants";
import { ForeignInstanceError, UnknownInstanceError } from "../errors";
import { belongsToCluster, type InstanceDirectory, type InstanceInfo } from "../aws/instances";
import type { KubeApi } from "../kube/api";
import type { Node } from "../kube/types";

export interface Target {
  instance: InstanceInfo;
  /** Undefined when no node of the cluster matches (not registered yet, or already removed). */
  node?: Node;
  /** How the node was found, or every way that was tried. */
  lookup: string;
}

export interface ResolveDeps {
  instances: InstanceDirectory;
  kube: KubeApi;
  clusterName: string;
}

export function instanceIdOfProvider(providerId: string | undefined): string | undefined {
  return /\/(i-[0-9a-f]+)$/.exec(providerId ?? "")?.[1];
}

/** Resolves an instance of this cluster; foreign or unknown instances are a SkipError. */
export async function resolveTarget(deps: ResolveDeps, instanceId: string): Promise<Target> {
  const instance = await deps.instances.describe(instanceId);
  if (!instance) throw new UnknownInstanceError(instanceId);
  if (!belongsToCluster(instance, deps.clusterName)) throw new ForeignInstanceError(instanceId, deps.clusterName);
  const dns = instance.privateDnsName;
  // a node found by name must not name another instance: private IPs, and so names, get reused
  const isOurs = (n: Node) => {
    const owner = instanceIdOfProvider(n.spec?.providerID);
    return owner === undefined || owner === instanceId;
  };
  if (dns) {
    const byName = await deps.kube.getNode(dns);
    if (byName && isOurs(byName)) return { instance, node: byName, lookup: "name" };
    const shortName = dns.split(".")[0] ?? dns;
    const byHostname = (await deps.kube.listNodes({ labelSelector: `${LABELS.hostname} in (${[...new Set([dns, shortName])].join(",")})` })).filter(isOurs);
    if (byHostname.length === 1) return { instance, node: byHostname[0] as Node, lookup: "hostname-label" };
  }
  const all = await deps.kube.listNodes();
  const byProvider = all.find((n) => instanceIdOfProvider(n.spec?.providerID) === instanceId);
  if (byProvider) return { instance, node: byProvider, lookup: "provider-id" };
  return { instance, lookup: `name ${dns || "(no private DNS name)"}, ${LABELS.hostname}, spec.providerID` };
}
