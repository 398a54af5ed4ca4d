/** Pod addresses as a node's network plugin (host-local IPAM) hands them out from the node's pod CIDR. */
import { podPhase, type Pod } from "../objects";

function toInt(ip: string): number {
  return ip.split(".").reduce((n, part) => n * 256 + Number(part), 0);
}

function toIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

/**
 * The lowest free address of an IPv4 CIDR for a new pod on `nodeName`, skipping the network
 * address, the gateway (.1) and the broadcast address; undefined when the range is malformed or full.
 * Addresses of pods that finished or are gone are free again.
 */
export function allocatePodIp(cidr: string, pods: readonly Pod[], nodeName: string): string | undefined {
  const match = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(cidr);
  if (!match) return undefined;
  const bits = Number(match[2]);
  if (bits < 8 || bits > 30) return undefined;
  const size = 2 ** (32 - bits);
  const base = toInt(match[1] ?? "") - (toInt(match[1] ?? "") % size);
  const used = new Set<string>();
  for (const pod of pods) {
    const phase = podPhase(pod);
    if (pod.spec?.nodeName !== nodeName || pod.spec?.hostNetwork || phase === "Succeeded" || phase === "Failed") continue;
    if (pod.status?.podIP) used.add(pod.status.podIP);
  }
  for (let offset = 2; offset < size - 1; offset += 1) {
    const candidate = toIp(base + offset);
    if (!used.has(candidate)) return candidate;
  }
  return undefined;
}
