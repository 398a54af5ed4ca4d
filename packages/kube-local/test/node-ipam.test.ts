/**
 * The node IPAM controller hands each node a /24 of the cluster CIDR, as kube-controller-manager's
 * range allocator does with --node-cidr-mask-size 24: the default 10.244.0.0/16 has room for 256
 * nodes, and a node beyond that gets no pod CIDR (its pods cannot start). A larger cluster CIDR
 * makes room for a larger fleet.
 */
import { describe, expect, it } from "vitest";
import { emptySeed, nodeFixture } from "../src/index";
import { eventually, startHarness } from "./harness";

function fleetOf(count: number) {
  const seed = emptySeed();
  for (let n = 0; n < count; n += 1) {
    seed.nodes.push(nodeFixture({ name: `ip-10-9-${Math.floor(n / 250)}-${(n % 250) + 1}.us-west-2.compute.internal`, instanceId: `i-0${n.toString(16).padStart(16, "0")}`, zone: "us-west-2a", instanceType: "m6i.large", capacityType: "SPOT", nodegroup: "spot", internalIp: "10.9.0.1" }));
  }
  return seed;
}

const cidrs = (kube: Awaited<ReturnType<typeof startHarness>>["kube"]) => kube.list("nodes").map((n) => (n["spec"] as { podCIDR?: string }).podCIDR);

describe("node IPAM", () => {
  it("the default cluster CIDR holds 256 nodes' /24s; the 257th node gets none", async () => {
    const { kube } = await startHarness({ simulation: false });
    await kube.seed(fleetOf(257));
    const assigned = await eventually(
      () => cidrs(kube).filter((c): c is string => c !== undefined),
      (c) => c.length >= 256,
    );
    expect(new Set(assigned).size).toBe(256);
    expect(assigned.every((c) => /^10\.244\.\d{1,3}\.0\/24$/.test(c))).toBe(true);
    expect(cidrs(kube).filter((c) => c === undefined)).toHaveLength(1);
  });

  it("a /12 cluster CIDR gives the 257th node the next /24, across the third octet's end", async () => {
    const { kube } = await startHarness({ simulation: false, controllers: { nodeIpam: { clusterCidr: "10.128.0.0/12" } } });
    await kube.seed(fleetOf(257));
    const assigned = await eventually(
      () => cidrs(kube).filter((c): c is string => c !== undefined),
      (c) => c.length === 257,
    );
    expect(new Set(assigned).size).toBe(257);
    expect(assigned).toContain("10.128.0.0/24");
    expect(assigned).toContain("10.128.255.0/24");
    expect(assigned).toContain("10.129.0.0/24");
  });

  it("a cluster CIDR that is not an IPv4 range from /8 to /24 is refused, naming it", async () => {
    await expect(startHarness({ simulation: false, controllers: { nodeIpam: { clusterCidr: "10.128.0.0/25" } } })).rejects.toThrow(/clusterCidr must be an IPv4 range from \/8 to \/24 .*10\.128\.0\.0\/25/);
  });
});
