import { DescribeClusterCommand, EKSClient, ResourceNotFoundException } from "@aws-sdk/client-eks";
import type { Cluster } from "@aws-sdk/client-eks";
import { mockClient } from "@spot-manager/aws-fakes";
import { beforeEach, describe, expect, it } from "vitest";
import { ConfigError, RetryError } from "../src/errors";
import { ClusterEndpointCache, ClusterNotFoundError, ClusterNotReadyError } from "../src/eks";
import { manualClock } from "./manual-clock";

const eks = mockClient(EKSClient);
const CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIC/jCCAeagAwIBAgIBADANBgkqhkiG9w0BAQsFADAVMRMwEQYDVQQDEwprdWJl\n-----END CERTIFICATE-----\n";
const SERVER = "https://0123456789ABCDEF0123456789ABCDEF.gr7.us-west-2.eks.amazonaws.com";
const ARN = "arn:aws:eks:us-west-2:123456789012:cluster/demo";

function activeCluster(overrides: Partial<Cluster> = {}): Cluster {
  return {
    name: "demo",
    arn: ARN,
    status: "ACTIVE",
    version: "1.33",
    endpoint: SERVER,
    certificateAuthority: { data: Buffer.from(CA_PEM).toString("base64") },
    ...overrides,
  };
}


function notFound(): ResourceNotFoundException {
  return new ResourceNotFoundException({ message: "No cluster found for name: demo.", $metadata: { httpStatusCode: 404 } });
}

describe("ClusterEndpointCache", () => {
  let client: EKSClient;

  beforeEach(() => {
    eks.reset();
    client = new EKSClient({ region: "us-west-2" });
  });

  it("resolves server, decoded CA, version and ARN from DescribeCluster", async () => {
    // Prepare
    eks.on(DescribeClusterCommand).resolves({ cluster: activeCluster() });
    const cache = new ClusterEndpointCache(client);

    // Act
    const endpoint = await cache.get("demo");

    // Assess
    expect(endpoint).toEqual({ name: "demo", server: SERVER, caPem: CA_PEM, version: "1.33", arn: ARN });
    expect(eks).toReceiveCommandWith(DescribeClusterCommand, { name: "demo" });
  });

  it("omits version and ARN when EKS does not report them", async () => {
    // Prepare
    eks.on(DescribeClusterCommand).resolves({ cluster: activeCluster({ version: undefined, arn: undefined }) });
    const cache = new ClusterEndpointCache(client);

    // Act
    const endpoint = await cache.get("demo");

    // Assess
    expect(endpoint).not.toHaveProperty("version");
    expect(endpoint).not.toHaveProperty("arn");
  });

  it("calls DescribeCluster once for two gets of the same cluster", async () => {
    // Prepare
    eks.on(DescribeClusterCommand).resolves({ cluster: activeCluster() });
    const cache = new ClusterEndpointCache(client);

    // Act
    const first = await cache.get("demo");
    const second = await cache.get("demo");

    // Assess
    expect(second).toBe(first);
    expect(eks).toReceiveCommandTimes(DescribeClusterCommand, 1);
  });

  it("caches each cluster separately", async () => {
    // Prepare
    eks.on(DescribeClusterCommand, { name: "demo" }).resolves({ cluster: activeCluster() });
    eks.on(DescribeClusterCommand, { name: "other" }).resolves({ cluster: activeCluster({ name: "other" }) });
    const cache = new ClusterEndpointCache(client);

    // Act
    const demo = await cache.get("demo");
    const other = await cache.get("other");

    // Assess
    expect(demo.name).toBe("demo");
    expect(other.name).toBe("other");
    expect(eks).toReceiveCommandWith(DescribeClusterCommand, { name: "other" });
    expect(eks).toReceiveCommandTimes(DescribeClusterCommand, 2);
  });

  it("describes the cluster again once the default one-hour TTL has passed", async () => {
    // Prepare
    eks.on(DescribeClusterCommand).resolves({ cluster: activeCluster() });
    const clock = manualClock(new Date("2026-11-25T12:00:00Z"));
    const cache = new ClusterEndpointCache(client, { now: clock.now });
    await cache.get("demo");

    // Act
    clock.advance(3599);
    await cache.get("demo");
    const callsWithinTtl = eks.commandCalls(DescribeClusterCommand).length;
    clock.advance(1);
    await cache.get("demo");

    // Assess
    expect(callsWithinTtl).toBe(1);
    expect(eks).toReceiveCommandTimes(DescribeClusterCommand, 2);
  });

  it("honours a custom TTL", async () => {
    // Prepare
    eks.on(DescribeClusterCommand).resolves({ cluster: activeCluster() });
    const clock = manualClock(new Date("2026-11-25T12:00:00Z"));
    const cache = new ClusterEndpointCache(client, { ttlSeconds: 60, now: clock.now });
    await cache.get("demo");

    // Act
    clock.advance(60);
    await cache.get("demo");

    // Assess
    expect(eks).toReceiveCommandTimes(DescribeClusterCommand, 2);
  });

  it("describes the cluster again after invalidate(name), leaving other clusters cached", async () => {
    // Prepare
    eks.on(DescribeClusterCommand).resolves({ cluster: activeCluster() });
    const cache = new ClusterEndpointCache(client);
    await cache.get("demo");
    await cache.get("other");

    // Act
    cache.invalidate("demo");
    await cache.get("demo");
    await cache.get("other");

    // Assess
    expect(eks).toReceiveCommandTimes(DescribeClusterCommand, 3);
  });

  it("forgets every cluster after invalidate()", async () => {
    // Prepare
    eks.on(DescribeClusterCommand).resolves({ cluster: activeCluster() });
    const cache = new ClusterEndpointCache(client);
    await cache.get("demo");
    await cache.get("other");

    // Act
    cache.invalidate();
    await cache.get("demo");
    await cache.get("other");

    // Assess
    expect(eks).toReceiveCommandTimes(DescribeClusterCommand, 4);
  });

  it("shares one DescribeCluster between concurrent gets", async () => {
    // Prepare
    eks.on(DescribeClusterCommand).callsFake(async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return { cluster: activeCluster() };
    });
    const cache = new ClusterEndpointCache(client);

    // Act
    const [first, second, third] = await Promise.all([cache.get("demo"), cache.get("demo"), cache.get("demo")]);

    // Assess
    expect(second).toBe(first);
    expect(third).toBe(first);
    expect(eks).toReceiveCommandTimes(DescribeClusterCommand, 1);
  });

  it("does not keep an answer that arrived after invalidate()", async () => {
    // Prepare
    eks.on(DescribeClusterCommand).resolves({ cluster: activeCluster() });
    const cache = new ClusterEndpointCache(client);

    // Act
    const inFlight = cache.get("demo");
    cache.invalidate("demo");
    await inFlight;
    await cache.get("demo");

    // Assess
    expect(eks).toReceiveCommandTimes(DescribeClusterCommand, 2);
  });

  it.each(["CREATING", "DELETING", "FAILED", "PENDING"] as const)("throws a retryable ClusterNotReadyError for a %s cluster", async (status) => {
    // Prepare
    eks.on(DescribeClusterCommand).resolves({ cluster: activeCluster({ status }) });
    const cache = new ClusterEndpointCache(client);

    // Act
    const error: unknown = await cache.get("demo").catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ClusterNotReadyError);
    expect(error).toBeInstanceOf(RetryError);
    expect(error).toMatchObject({ name: "ClusterNotReadyError", clusterName: "demo", status });
  });

  it("serves an UPDATING cluster, whose API server keeps answering during the update", async () => {
    // Prepare
    eks.on(DescribeClusterCommand).resolves({ cluster: activeCluster({ status: "UPDATING" }) });
    const cache = new ClusterEndpointCache(client);

    // Act
    const endpoint = await cache.get("demo");

    // Assess
    expect(endpoint.server).toBe(SERVER);
  });

  it.each([
    ["an endpoint", { endpoint: undefined }],
    ["a certificate authority", { certificateAuthority: undefined }],
    ["certificate authority data", { certificateAuthority: { data: "" } }],
  ])("throws ClusterNotReadyError for an ACTIVE cluster without %s", async (_missing, overrides: Partial<Cluster>) => {
    // Prepare
    eks.on(DescribeClusterCommand).resolves({ cluster: activeCluster(overrides) });
    const cache = new ClusterEndpointCache(client);

    // Act
    const result = cache.get("demo");

    // Assess
    await expect(result).rejects.toThrow(ClusterNotReadyError);
  });

  it("turns ResourceNotFoundException into a non-retryable ClusterNotFoundError that keeps the cause", async () => {
    // Prepare
    const cause = notFound();
    eks.on(DescribeClusterCommand).rejects(cause);
    const cache = new ClusterEndpointCache(client);

    // Act
    const error: unknown = await cache.get("demo").catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ClusterNotFoundError);
    expect(error).not.toBeInstanceOf(RetryError);
    expect(error).toMatchObject({ name: "ClusterNotFoundError", clusterName: "demo", cause });
  });

  it("passes other EKS errors through unchanged", async () => {
    // Prepare
    const throttled = new Error("Rate exceeded");
    throttled.name = "ThrottlingException";
    eks.on(DescribeClusterCommand).rejects(throttled);
    const cache = new ClusterEndpointCache(client);

    // Act
    const result = cache.get("demo");

    // Assess
    await expect(result).rejects.toBe(throttled);
  });

  it("does not cache a failure: the next get describes the cluster again", async () => {
    // Prepare
    eks.on(DescribeClusterCommand).rejectsOnce(notFound()).resolvesOnce({ cluster: activeCluster({ status: "CREATING" }) }).resolves({ cluster: activeCluster() });
    const cache = new ClusterEndpointCache(client);

    // Act
    await expect(cache.get("demo")).rejects.toThrow(ClusterNotFoundError);
    await expect(cache.get("demo")).rejects.toThrow(ClusterNotReadyError);
    const endpoint = await cache.get("demo");

    // Assess
    expect(endpoint.server).toBe(SERVER);
    expect(eks).toReceiveCommandTimes(DescribeClusterCommand, 3);
  });

  it("rejects a negative TTL as configuration that cannot work", () => {
    // Prepare
    const opts = { ttlSeconds: -1 };

    // Act
    const create = () => new ClusterEndpointCache(client, opts);

    // Assess
    expect(create).toThrow(ConfigError);
  });
});
