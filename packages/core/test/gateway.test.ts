/**
 * KubeGateway and KubeApi over real HTTPS against kube-local: typed outcomes, what is retried and
 * what never is (PodDisruptionBudget refusals, several budgets), Retry-After, the caller's
 * deadline, one token refresh after a 401, and the typed operations built on top.
 */
import {
  deploymentFixture,
  emptySeed,
  nodeFixture,
  startKubeLocal,
  type KubeLocal,
  type KubeLocalOptions,
  type WorkloadFixture,
} from "@spot-manager/kube-local";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { KubeApiError, RetryError } from "../src/errors";
import { failureOf, KubeApi } from "../src/kube/api";
import { classify, KubeGateway, type GatewayOptions, type KubeEndpoint, type KubeResult, type Outcome, type RequestInfo } from "../src/kube/gateway";
import type { KubeStatus, Node, Pod } from "../src/kube/types";

const NODE_A = "ip-10-0-8-1.us-west-2.compute.internal";
const NODE_B = "ip-10-0-8-2.us-west-2.compute.internal";
const LIMITED_TOKEN = "limited-reader-token";
const RETRYABLE: readonly Outcome[] = ["throttled", "server-error", "unavailable", "network-error"];

const servers: KubeLocal[] = [];
const gateways: KubeGateway[] = [];

afterEach(async () => {
  for (const gateway of gateways.splice(0)) gateway.close();
  await Promise.all(servers.splice(0).map((kube) => kube.stop()));
});

/** Two spot nodes and a Deployment `shop/web` (optionally under a budget, or two). */
function seed(workload: Partial<WorkloadFixture> = {}, extraPdb = false) {
  const s = emptySeed();
  s.namespaces.push("default", "shop");
  [NODE_A, NODE_B].forEach((name, i) =>
    s.nodes.push(nodeFixture({ name, instanceId: `i-08000000000000${i}`, zone: "us-west-2a", instanceType: "m6i.large", capacityType: i === 0 ? "SPOT" : "ON_DEMAND", nodegroup: "ng", internalIp: `10.0.8.${i + 1}` })),
  );
  const { deployment, pdb } = deploymentFixture({ namespace: "shop", name: "web", replicas: 3, ...workload });
  s.deployments.push(deployment);
  if (pdb) s.pdbs.push(pdb);
  if (extraPdb) {
    s.pdbs.push({ apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name: "web-too", namespace: "shop" }, spec: { maxUnavailable: 1, selector: { matchLabels: { app: "web" } } } });
  }
  return s;
}

async function cluster(options: KubeLocalOptions = {}): Promise<KubeLocal> {
  const kube = await startKubeLocal({
    seed: seed(),
    simulation: false,
    identities: { [LIMITED_TOKEN]: { user: "reader", rules: [{ verbs: ["get", "list"], resources: ["nodes", "pods"] }] } },
    ...options,
  });
  servers.push(kube);
  return kube;
}

interface Connected {
  gateway: KubeGateway;
  api: KubeApi;
  /** Every attempt, as onRequest saw it. */
  seen: RequestInfo[];
  /** Every backoff the gateway asked for, in ms (the sleep itself is cut short). */
  sleeps: number[];
}

function connect(kube: KubeLocal, options: GatewayOptions = {}, endpoint: Partial<KubeEndpoint> = {}): Connected {
  const seen: RequestInfo[] = [];
  const sleeps: number[] = [];
  const gateway = new KubeGateway(
    { server: kube.url, caPem: kube.caPem, token: async () => kube.token, ...endpoint },
    {
      baseDelayMs: 5,
      maxDelayMs: 40,
      sleep: async (ms) => {
        sleeps.push(ms);
        await new Promise((resolve) => setTimeout(resolve, Math.min(ms, 5)));
      },
      onRequest: (info) => seen.push(info),
      ...options,
    },
  );
  gateways.push(gateway);
  return { gateway, api: new KubeApi(gateway), seen, sleeps };
}

const statuses = (kube: KubeLocal) => kube.stats.log.map((r) => r.status);
const podsOf = (kube: KubeLocal) => kube.list("pods", "shop").filter((p) => p.metadata.labels?.["app"] === "web") as unknown as Pod[];
const evictionBody = (name: string) => ({ apiVersion: "policy/v1", kind: "Eviction", metadata: { name, namespace: "shop" } });
const pdbCause = (): KubeStatus => ({ code: 429, reason: "TooManyRequests", details: { causes: [{ reason: "DisruptionBudget", message: "The disruption budget web needs 3 healthy pods and has 3 currently" }] } });

describe("classify", () => {
  it.each<[number, KubeStatus | undefined, Outcome]>([
    [200, undefined, "ok"],
    [201, undefined, "ok"],
    [400, undefined, "bad-request"],
    [401, undefined, "unauthorized"],
    [403, undefined, "forbidden"],
    [404, undefined, "not-found"],
    [409, undefined, "conflict"],
    [415, undefined, "bad-request"],
    [422, undefined, "invalid"],
    [429, undefined, "throttled"],
    [429, { reason: "TooManyRequests", details: { retryAfterSeconds: 1 } }, "throttled"],
    [429, pdbCause(), "disruption-budget"],
    [500, { message: "Internal error occurred: etcdserver: request timed out" }, "server-error"],
    [500, { message: "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support." }, "multiple-budgets"],
    [502, undefined, "unavailable"],
    [503, undefined, "unavailable"],
    [504, undefined, "unavailable"],
  ])("maps %i %j to %s", (status, error, outcome) => {
    expect(classify(status, error)).toBe(outcome);
  });

  it("retries exactly throttling and server trouble, never a budget's answer or a client error", () => {
    const bodies = fc.record(
      {
        message: fc.oneof(fc.string(), fc.constant("This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.")),
        details: fc.record({ causes: fc.array(fc.record({ reason: fc.constantFrom("DisruptionBudget", "FieldValueInvalid", "") }), { maxLength: 3 }) }, { requiredKeys: [] }),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 599 }), fc.option(bodies, { nil: undefined }), (status, error) => {
        const outcome = classify(status, error);
        const pdbRefusal = status === 429 && (error?.details?.causes ?? []).some((c) => c.reason === "DisruptionBudget");
        const severalBudgets = status === 500 && /more than one PodDisruptionBudget/.test(error?.message ?? "");
        expect(outcome === "ok").toBe(status >= 200 && status < 300);
        expect(outcome === "disruption-budget").toBe(pdbRefusal);
        expect(outcome === "multiple-budgets").toBe(severalBudgets);
        expect(RETRYABLE.includes(outcome)).toBe((status === 429 && !pdbRefusal) || (status >= 500 && !severalBudgets));
        // a gateway never invents a transport failure out of an HTTP answer
        expect(outcome).not.toBe("network-error");
      }),
    );
  });
});

describe("KubeGateway.backoff", () => {
  it("stays within [0, min(maxDelay, base * 2^(attempt-1))] and uses the whole range (full jitter)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 1_000 }),
        fc.integer({ min: 1, max: 30_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, baseDelayMs, maxDelayMs, r) => {
          const gateway = new KubeGateway({ server: "https://127.0.0.1:1", token: async () => "t" }, { baseDelayMs, maxDelayMs, random: () => r });
          const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
          const delay = gateway.backoff(attempt);
          gateway.close();
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(ceiling);
          expect(delay).toBeCloseTo(r * ceiling, 6);
        },
      ),
    );
  });

  it("never waits less than the server's Retry-After, and adds at most a quarter of the ceiling", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 120 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, retryAfterSeconds, r) => {
          const gateway = new KubeGateway({ server: "https://127.0.0.1:1", token: async () => "t" }, { baseDelayMs: 100, maxDelayMs: 5_000, random: () => r });
          const ceiling = Math.min(5_000, 100 * 2 ** (attempt - 1));
          const delay = gateway.backoff(attempt, retryAfterSeconds);
          gateway.close();
          expect(delay).toBeGreaterThanOrEqual(retryAfterSeconds * 1000);
          expect(delay).toBeLessThanOrEqual(retryAfterSeconds * 1000 + ceiling / 4);
        },
      ),
    );
  });
});

describe("KubeGateway over HTTPS", () => {
  it("answers ok with the parsed body after one attempt", async () => {
    // Prepare
    const kube = await cluster();
    const { gateway, seen } = connect(kube);
    // Act
    const result = await gateway.send<Node>({ method: "GET", path: `/api/v1/nodes/${NODE_A}` });
    // Assess
    expect(result).toMatchObject({ outcome: "ok", status: 200, attempts: 1 });
    expect(result.body?.metadata?.name).toBe(NODE_A);
    expect(result.error).toBeUndefined();
    expect(seen).toEqual([expect.objectContaining({ method: "GET", path: `/api/v1/nodes/${NODE_A}`, status: 200, attempt: 1 })]);
    expect(kube.stats.count("get", "nodes")).toBe(1);
  });

  it("sends the bearer token, the query without undefined values, and the body with its content type", async () => {
    const kube = await cluster();
    const { gateway } = connect(kube);
    const listed = await gateway.send<{ items: Node[] }>({ method: "GET", path: "/api/v1/nodes", query: { labelSelector: "eks.amazonaws.com/capacityType=SPOT", limit: 10, continue: undefined } });
    const patched = await gateway.send<Node>({ method: "PATCH", path: `/api/v1/nodes/${NODE_A}`, body: { metadata: { labels: { team: "a" } } }, contentType: "application/merge-patch+json" });
    expect(listed.outcome).toBe("ok");
    expect(listed.body?.items.map((n) => n.metadata?.name)).toEqual([NODE_A]);
    expect(kube.stats.log[0]?.path).toBe("/api/v1/nodes?labelSelector=eks.amazonaws.com%2FcapacityType%3DSPOT&limit=10");
    expect(patched.outcome).toBe("ok");
    expect(kube.get("nodes", undefined, NODE_A)?.metadata.labels?.["team"]).toBe("a");
  });

  it("maps a missing object to not-found with the Status body, without retrying", async () => {
    const kube = await cluster();
    const { gateway, sleeps } = connect(kube);
    const result = await gateway.send<Node>({ method: "GET", path: "/api/v1/nodes/ghost" });
    expect(result).toMatchObject({ outcome: "not-found", status: 404, attempts: 1, error: { reason: "NotFound", message: 'nodes "ghost" not found' } });
    expect(result.body).toBeUndefined();
    expect(sleeps).toEqual([]);
    expect(kube.stats.count("get", "nodes")).toBe(1);
  });

  it("retries throttling (429) and waits at least the server's Retry-After", async () => {
    // Prepare: API priority and fairness throttles twice with Retry-After: 2
    const kube = await cluster();
    const { gateway, sleeps } = connect(kube);
    kube.faults.add({ match: { verb: "get", resource: "nodes" }, effect: { kind: "status", code: 429, retryAfterSeconds: 2 }, times: 2 });
    // Act
    const result = await gateway.send<Node>({ method: "GET", path: `/api/v1/nodes/${NODE_A}` });
    // Assess
    expect(result).toMatchObject({ outcome: "ok", status: 200, attempts: 3 });
    expect(statuses(kube)).toEqual([429, 429, 200]);
    expect(sleeps).toHaveLength(2);
    for (const [i, ms] of sleeps.entries()) {
      expect(ms).toBeGreaterThanOrEqual(2_000);
      expect(ms).toBeLessThanOrEqual(2_000 + Math.min(40, 5 * 2 ** i) / 4);
    }
  });

  it("reads Retry-After from the Status details when the header is absent", async () => {
    const kube = await cluster();
    const { gateway, sleeps } = connect(kube, { maxAttempts: 1 });
    kube.faults.add({ match: { verb: "get", resource: "nodes" }, effect: { kind: "status", code: 429, retryAfterSeconds: 7 }, times: 1 });
    const first = await gateway.send<Node>({ method: "GET", path: `/api/v1/nodes/${NODE_A}` });
    expect(first).toMatchObject({ outcome: "throttled", status: 429, retryAfterSeconds: 7, attempts: 1 });
    expect(sleeps).toEqual([]);
  });

  it.each([500, 502, 503, 504] as const)("retries a %i until the server recovers", async (code) => {
    const kube = await cluster();
    const { gateway, sleeps } = connect(kube);
    kube.faults.add({ match: { verb: "list", resource: "nodes" }, effect: { kind: "status", code }, times: 2 });
    const result = await gateway.send({ method: "GET", path: "/api/v1/nodes" });
    expect(result).toMatchObject({ outcome: "ok", attempts: 3 });
    expect(statuses(kube)).toEqual([code, code, 200]);
    // exponential ceilings 5 and 10 ms with full jitter
    expect(sleeps[0]).toBeLessThanOrEqual(5);
    expect(sleeps[1]).toBeLessThanOrEqual(10);
  });

  it("gives up after maxAttempts and hands back the last answer", async () => {
    const kube = await cluster();
    const { gateway, sleeps, seen } = connect(kube, { maxAttempts: 4 });
    kube.faults.add({ match: { verb: "get", resource: "nodes" }, effect: { kind: "status", code: 503, message: "etcd is unhappy" } });
    const result = await gateway.send({ method: "GET", path: `/api/v1/nodes/${NODE_A}` });
    expect(result).toMatchObject({ outcome: "unavailable", status: 503, attempts: 4, error: { message: "etcd is unhappy" } });
    expect(kube.stats.count("get", "nodes")).toBe(4);
    expect(sleeps).toHaveLength(3);
    expect(seen.map((s) => s.attempt)).toEqual([1, 2, 3, 4]);
    expect(gateway.requests).toBe(4);
  });

  it("retries dropped connections as network errors", async () => {
    const kube = await cluster();
    const { gateway, seen } = connect(kube);
    kube.faults.add({ match: { verb: "get", resource: "nodes" }, effect: { kind: "drop" }, times: 2 });
    const result = await gateway.send<Node>({ method: "GET", path: `/api/v1/nodes/${NODE_A}` });
    expect(result).toMatchObject({ outcome: "ok", attempts: 3 });
    expect(seen.map((s) => s.status)).toEqual([0, 0, 200]);
    // the server answered only once: dropped requests never reached a handler
    expect(kube.stats.count("get", "nodes")).toBe(1);
  });

  it("reports a connection that keeps dropping as network-error with the transport failure", async () => {
    const kube = await cluster();
    const { gateway } = connect(kube, { maxAttempts: 3 });
    kube.faults.add({ match: { verb: "get", resource: "nodes" }, effect: { kind: "drop" } });
    const result = await gateway.send({ method: "GET", path: `/api/v1/nodes/${NODE_A}` });
    expect(result).toMatchObject({ outcome: "network-error", status: 0, attempts: 3 });
    expect(result.failure).toEqual(expect.any(String));
    expect(result.failure).not.toBe("");
  });

  it("times out a request that hangs and retries it", async () => {
    const kube = await cluster();
    const { gateway } = connect(kube, { maxAttempts: 2, requestTimeoutMs: 100 });
    kube.faults.add({ match: { verb: "get", resource: "nodes" }, effect: { kind: "latency", ms: 3_000 } });
    const result = await gateway.send({ method: "GET", path: `/api/v1/nodes/${NODE_A}` });
    expect(result).toMatchObject({ outcome: "network-error", status: 0, attempts: 2 });
    expect(result.failure).toMatch(/timed out after 100 ms/);
  });

  it("answers client errors at once: 400, 403, 404, 409, 415, 422", async () => {
    // Prepare
    const kube = await cluster();
    const admin = connect(kube);
    const reader = connect(kube, {}, { token: async () => LIMITED_TOKEN });
    const pod = podsOf(kube)[0]!;
    const name = pod.metadata?.name ?? "";
    // Act
    const results: [Outcome, KubeResult<unknown>][] = [
      ["bad-request", await admin.gateway.send({ method: "POST", path: `/api/v1/namespaces/shop/pods/${name}/eviction`, body: evictionBody("other") })],
      ["forbidden", await reader.gateway.send({ method: "POST", path: `/api/v1/namespaces/shop/pods/${name}/eviction`, body: evictionBody(name) })],
      ["not-found", await admin.gateway.send({ method: "DELETE", path: "/api/v1/namespaces/shop/pods/ghost" })],
      ["conflict", await admin.gateway.send({ method: "POST", path: "/api/v1/nodes", body: { apiVersion: "v1", kind: "Node", metadata: { name: NODE_A } } })],
      ["bad-request", await admin.gateway.send({ method: "PATCH", path: `/api/v1/nodes/${NODE_A}`, body: {}, contentType: "text/plain" })],
      ["invalid", await admin.gateway.send({ method: "PATCH", path: `/api/v1/nodes/${NODE_A}`, body: { metadata: { labels: { "not a valid key!": "x" } } }, contentType: "application/merge-patch+json" })],
    ];
    // Assess
    for (const [outcome, result] of results) {
      expect(result.outcome).toBe(outcome);
      expect(result.attempts).toBe(1);
      expect(result.error?.kind).toBe("Status");
    }
    expect(statuses(kube)).toEqual([400, 403, 404, 409, 415, 422]);
    expect(admin.sleeps).toEqual([]);
    expect(podsOf(kube).find((p) => p.metadata?.name === name)?.metadata?.deletionTimestamp).toBeUndefined();
  });

  it("hands a PodDisruptionBudget refusal back at once, never retrying it", async () => {
    // Prepare: 3 replicas, all of them required
    const kube = await cluster({ seed: seed({ pdb: { minAvailable: 3 } }) });
    const { gateway, sleeps } = connect(kube);
    const name = podsOf(kube)[0]?.metadata?.name ?? "";
    // Act
    const result = await gateway.send({ method: "POST", path: `/api/v1/namespaces/shop/pods/${name}/eviction`, body: evictionBody(name) });
    // Assess
    expect(result).toMatchObject({ outcome: "disruption-budget", status: 429, attempts: 1 });
    expect(result.error?.details?.causes?.[0]).toMatchObject({ reason: "DisruptionBudget" });
    expect(kube.stats.count("create", "pods/eviction")).toBe(1);
    expect(sleeps).toEqual([]);
    expect(podsOf(kube).every((p) => p.metadata?.deletionTimestamp === undefined)).toBe(true);
  });

  it("hands the 500 for a pod under two budgets back at once, never retrying it", async () => {
    const kube = await cluster({ seed: seed({ pdb: { maxUnavailable: 1 } }, true) });
    const { gateway } = connect(kube);
    const name = podsOf(kube)[0]?.metadata?.name ?? "";
    const result = await gateway.send({ method: "POST", path: `/api/v1/namespaces/shop/pods/${name}/eviction`, body: evictionBody(name) });
    expect(result).toMatchObject({ outcome: "multiple-budgets", status: 500, attempts: 1 });
    expect(kube.stats.count("create", "pods/eviction")).toBe(1);
    expect(podsOf(kube)).toHaveLength(3);
  });

  it("treats a 429 without a budget cause on the eviction route as throttling, and retries it", async () => {
    const kube = await cluster();
    const { gateway } = connect(kube);
    const name = podsOf(kube)[0]?.metadata?.name ?? "";
    kube.faults.add({ match: { resource: "pods/eviction" }, effect: { kind: "status", code: 429, retryAfterSeconds: 1 }, times: 1 });
    const result = await gateway.send({ method: "POST", path: `/api/v1/namespaces/shop/pods/${name}/eviction`, body: { ...evictionBody(name), deleteOptions: { gracePeriodSeconds: 0 } } });
    expect(result).toMatchObject({ outcome: "ok", status: 201, attempts: 2 });
    expect(podsOf(kube).map((p) => p.metadata?.name)).not.toContain(name);
  });

  it("with retry: false hands back the first answer as it is", async () => {
    const kube = await cluster();
    const { gateway, sleeps } = connect(kube);
    kube.faults.add({ match: { verb: "get", resource: "nodes" }, effect: { kind: "status", code: 503 }, times: 1 });
    const result = await gateway.send({ method: "GET", path: `/api/v1/nodes/${NODE_A}`, retry: false });
    expect(result).toMatchObject({ outcome: "unavailable", attempts: 1 });
    expect(sleeps).toEqual([]);
    expect(kube.stats.count("get", "nodes")).toBe(1);
  });

  describe("deadline", () => {
    it("starts no attempt whose backoff would end at or after the deadline", async () => {
      // Prepare: a clock that only the gateway's sleeps move, so the arithmetic is exact
      const kube = await cluster();
      kube.faults.add({ match: { verb: "get", resource: "nodes" }, effect: { kind: "status", code: 503 } });
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 3_000 }), fc.integer({ min: 10, max: 400 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), async (budget, baseDelayMs, r) => {
          let clock = 1_000_000;
          const slept: number[] = [];
          const { gateway } = connect(kube, {
            baseDelayMs,
            maxDelayMs: 5_000,
            maxAttempts: 8,
            random: () => r,
            now: () => clock,
            sleep: async (ms) => {
              slept.push(ms);
              clock += ms;
            },
          });
          const deadline = clock + budget;
          // Act
          const result = await gateway.send({ method: "GET", path: `/api/v1/nodes/${NODE_A}`, deadline });
          // Assess: every attempt started before the deadline; the next one would not have
          expect(result.outcome).toBe("unavailable");
          expect(result.attempts).toBe(slept.length + 1);
          if (slept.length > 0) expect(clock).toBeLessThan(deadline);
          if (result.attempts < 8) expect(clock + gateway.backoff(result.attempts)).toBeGreaterThanOrEqual(deadline);
        }),
        { numRuns: 25 },
      );
    });

    it("does not wait out a Retry-After that ends past the deadline", async () => {
      const kube = await cluster();
      const { gateway, sleeps } = connect(kube);
      kube.faults.add({ match: { verb: "get", resource: "nodes" }, effect: { kind: "status", code: 429, retryAfterSeconds: 5 } });
      const result = await gateway.send({ method: "GET", path: `/api/v1/nodes/${NODE_A}`, deadline: Date.now() + 2_000 });
      expect(result).toMatchObject({ outcome: "throttled", attempts: 1, retryAfterSeconds: 5 });
      expect(sleeps).toEqual([]);
      expect(kube.stats.count("get", "nodes")).toBe(1);
    });
  });

  describe("authentication", () => {
    it("after a 401 drops the cached token and retries once with a fresh one", async () => {
      // Prepare: the cached token expired; a refresh yields the valid one
      const kube = await cluster();
      let cached = "expired-token";
      let invalidations = 0;
      let fetched = 0;
      const { gateway } = connect(kube, {}, {
        token: async () => {
          fetched += 1;
          return cached;
        },
        invalidateToken: () => {
          invalidations += 1;
          cached = kube.token;
        },
      });
      // Act
      const result = await gateway.send<Node>({ method: "GET", path: `/api/v1/nodes/${NODE_A}` });
      // Assess
      expect(result).toMatchObject({ outcome: "ok", attempts: 2 });
      expect(invalidations).toBe(1);
      expect(fetched).toBe(2);
      expect(statuses(kube)).toEqual([401, 200]);
    });

    it("takes a second 401 as final", async () => {
      const kube = await cluster();
      let invalidations = 0;
      const { gateway, sleeps } = connect(kube, {}, { token: async () => "revoked-token", invalidateToken: () => (invalidations += 1) });
      const result = await gateway.send({ method: "GET", path: `/api/v1/nodes/${NODE_A}` });
      expect(result).toMatchObject({ outcome: "unauthorized", status: 401, attempts: 2, error: { reason: "Unauthorized" } });
      expect(invalidations).toBe(1);
      expect(sleeps).toEqual([]);
      expect(statuses(kube)).toEqual([401, 401]);
    }, 5_000);

    it("without a way to refresh, a 401 is final at once", async () => {
      const kube = await cluster();
      const { gateway } = connect(kube, {}, { token: async () => "revoked-token" });
      const result = await gateway.send({ method: "GET", path: `/api/v1/nodes/${NODE_A}` });
      expect(result).toMatchObject({ outcome: "unauthorized", attempts: 1 });
      expect(statuses(kube)).toEqual([401]);
    });

    it("refuses a server whose certificate its CA bundle does not vouch for", async () => {
      const kube = await cluster();
      const untrusted = connect(kube, { maxAttempts: 2 }, { caPem: undefined });
      const skipping = connect(kube, {}, { caPem: undefined, insecureSkipTlsVerify: true });
      const refused = await untrusted.gateway.send({ method: "GET", path: `/api/v1/nodes/${NODE_A}` });
      expect(refused).toMatchObject({ outcome: "network-error", status: 0, attempts: 2 });
      expect(refused.failure).toMatch(/certificate/i);
      expect(kube.stats.total).toBe(0);
      expect((await skipping.gateway.send({ method: "GET", path: `/api/v1/nodes/${NODE_A}` })).outcome).toBe("ok");
    });
  });
});

describe("KubeApi", () => {
  it("reads a node, and answers undefined for a missing one", async () => {
    const kube = await cluster();
    const { api } = connect(kube);
    expect((await api.getNode(NODE_A))?.metadata?.name).toBe(NODE_A);
    expect(await api.getNode("ghost")).toBeUndefined();
    expect(statuses(kube)).toEqual([200, 404]);
  });

  it("throws KubeApiError for a final failure and RetryError for a transient one that outlived its retries", async () => {
    const kube = await cluster();
    const reader = connect(kube, {}, { token: async () => "revoked-token" });
    const flaky = connect(kube, { maxAttempts: 2 });
    kube.faults.add({ match: { verb: "list", resource: "nodes" }, effect: { kind: "status", code: 503, retryAfterSeconds: 3 } });
    const final = await reader.api.getNode(NODE_A).catch((e: unknown) => e);
    const transient = await flaky.api.listNodes().catch((e: unknown) => e);
    expect(final).toBeInstanceOf(KubeApiError);
    expect(final).toMatchObject({ status: 401, reason: "Unauthorized" });
    expect(transient).toBeInstanceOf(RetryError);
    expect(transient).toMatchObject({ retryAfterSeconds: 3, message: expect.stringMatching(/^list nodes: .*\(unavailable, after 2 attempts\)$/) });
  });

  it("lists nodes by label selector", async () => {
    const kube = await cluster();
    const { api } = connect(kube);
    const spot = await api.listNodes({ labelSelector: "eks.amazonaws.com/capacityType=SPOT" });
    const all = await api.listNodes();
    expect(spot.map((n) => n.metadata?.name)).toEqual([NODE_A]);
    expect(all.map((n) => n.metadata?.name).sort()).toEqual([NODE_A, NODE_B]);
  });

  it("lists the pods on a node across namespaces, page by page", async () => {
    // Prepare: more pods on one node than fit in one page of 500
    const s = seed({ replicas: 0 });
    s.namespaces.push("batch");
    for (let i = 0; i < 520; i += 1) {
      s.pods.push({ apiVersion: "v1", kind: "Pod", metadata: { name: `job-${i}`, namespace: i % 2 ? "batch" : "shop" }, spec: { nodeName: NODE_A, containers: [{ name: "c", image: "busybox:1.36" }] } });
    }
    s.pods.push({ apiVersion: "v1", kind: "Pod", metadata: { name: "elsewhere", namespace: "shop" }, spec: { nodeName: NODE_B, containers: [{ name: "c", image: "busybox:1.36" }] } });
    const kube = await cluster({ seed: s });
    const { api } = connect(kube);
    // Act
    const pods = await api.podsOnNode(NODE_A);
    // Assess
    expect(pods).toHaveLength(520);
    expect(new Set(pods.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`)).size).toBe(520);
    expect(pods.every((p) => p.spec?.nodeName === NODE_A)).toBe(true);
    const lists = kube.stats.log.filter((r) => r.verb === "list" && r.resource === "pods");
    expect(lists).toHaveLength(2);
    expect(lists[0]?.path).toContain("limit=500");
    expect(lists[1]?.path).toMatch(/continue=[^&]+/);
  });

  describe("patchNode", () => {
    it.each([
      ["merge", { metadata: { labels: { team: "a" } } }],
      ["strategic", { metadata: { labels: { team: "a" } } }],
      ["json", [{ op: "add", path: "/metadata/labels/team", value: "a" }]],
    ] as const)("applies a %s patch", async (type, patch) => {
      const kube = await cluster();
      const { api } = connect(kube);
      const answer = await api.patchNode(NODE_A, patch, type);
      expect(answer.result).toBe("ok");
      expect(answer.result === "ok" && answer.node.metadata?.labels?.["team"]).toBe("a");
      // the other labels stay
      expect(kube.get("nodes", undefined, NODE_A)?.metadata.labels).toMatchObject({ team: "a", "kubernetes.io/hostname": NODE_A });
    });

    it("answers conflict for a stale resourceVersion and not-found for a missing node, without retrying", async () => {
      const kube = await cluster();
      const { api } = connect(kube);
      const node = await api.getNode(NODE_A);
      await api.patchNode(NODE_A, { metadata: { labels: { touched: "yes" } } }, "merge");
      const stale = await api.patchNode(NODE_A, { metadata: { resourceVersion: node?.metadata?.resourceVersion }, spec: { unschedulable: true } }, "merge");
      const missing = await api.patchNode("ghost", { spec: { unschedulable: true } }, "merge");
      expect(stale).toEqual({ result: "conflict" });
      expect(missing).toEqual({ result: "not-found" });
      expect(kube.get("nodes", undefined, NODE_A)?.["spec"]).not.toHaveProperty("unschedulable");
      expect(kube.stats.count("patch", "nodes")).toBe(3);
    });

    it("throws for a patch it may not make", async () => {
      const kube = await cluster();
      const { api } = connect(kube, {}, { token: async () => LIMITED_TOKEN });
      await expect(api.patchNode(NODE_A, { spec: { unschedulable: true } }, "merge")).rejects.toMatchObject({ name: "KubeApiError", status: 403, reason: "Forbidden" });
    });
  });

  describe("evictPod", () => {
    it("evicts with the grace period asked for, guarded by the pod's uid", async () => {
      const kube = await cluster();
      const { api } = connect(kube);
      const pod = podsOf(kube)[0]!;
      const ref = { namespace: "shop", name: pod.metadata?.name ?? "", uid: pod.metadata?.uid ?? "" };
      expect(await api.evictPod(ref, { gracePeriodSeconds: 7 })).toEqual({ result: "evicted" });
      const after = kube.get("pods", "shop", ref.name);
      expect(after?.metadata).toMatchObject({ uid: ref.uid, deletionGracePeriodSeconds: 7 });
      expect(after?.metadata.deletionTimestamp).toEqual(expect.any(String));
    });

    it("takes a missing pod, or a namesake with another uid, as gone and leaves the namesake alone", async () => {
      const kube = await cluster();
      const { api } = connect(kube);
      const pod = podsOf(kube)[0]!;
      const name = pod.metadata?.name ?? "";
      expect(await api.evictPod({ namespace: "shop", name: "ghost", uid: "0000" })).toEqual({ result: "gone" });
      expect(await api.evictPod({ namespace: "shop", name, uid: "uid-of-an-earlier-pod" })).toEqual({ result: "gone" });
      expect(statuses(kube)).toEqual([404, 409]);
      expect(kube.get("pods", "shop", name)?.metadata.deletionTimestamp).toBeUndefined();
    });

    it("reports a budget's refusal with its message, and several budgets as such", async () => {
      const blocking = await cluster({ seed: seed({ pdb: { minAvailable: 3 } }) });
      const doubled = await cluster({ seed: seed({ pdb: { maxUnavailable: 1 } }, true) });
      const refOf = (kube: KubeLocal) => {
        const pod = podsOf(kube)[0]!;
        return { namespace: "shop", name: pod.metadata?.name ?? "", uid: pod.metadata?.uid ?? "" };
      };
      const blocked = await connect(blocking).api.evictPod(refOf(blocking));
      const several = await connect(doubled).api.evictPod(refOf(doubled));
      expect(blocked).toEqual({ result: "blocked", message: "The disruption budget web needs 3 healthy pods and has 3 currently" });
      expect(several).toEqual({ result: "multiple-budgets", message: "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support." });
      expect(blocking.stats.count("create", "pods/eviction")).toBe(1);
      expect(doubled.stats.count("create", "pods/eviction")).toBe(1);
    });

    it("reports other failures, retryable or not", async () => {
      const kube = await cluster();
      const reader = connect(kube, {}, { token: async () => LIMITED_TOKEN });
      const flaky = connect(kube, { maxAttempts: 2 });
      const pod = podsOf(kube)[0]!;
      const ref = { namespace: "shop", name: pod.metadata?.name ?? "", uid: pod.metadata?.uid ?? "" };
      const forbidden = await reader.api.evictPod(ref);
      kube.faults.add({ match: { resource: "pods/eviction" }, effect: { kind: "status", code: 503 } });
      const unavailable = await flaky.api.evictPod(ref);
      expect(forbidden).toMatchObject({ result: "failed", status: 403, retryable: false, message: expect.stringContaining("cannot create resource \"pods/eviction\"") });
      expect(unavailable).toMatchObject({ result: "failed", status: 503, retryable: true });
      expect(kube.get("pods", "shop", ref.name)?.metadata.deletionTimestamp).toBeUndefined();
    });
  });

  describe("deletePod", () => {
    it("deletes with the grace asked for, and takes a missing pod or another uid as gone", async () => {
      const kube = await cluster();
      const { api } = connect(kube);
      const [first, second] = podsOf(kube);
      const ref = (p: Pod | undefined) => ({ namespace: "shop", name: p?.metadata?.name ?? "", uid: p?.metadata?.uid ?? "" });
      expect(await api.deletePod(ref(first), 0)).toBe("deleted");
      expect(await api.deletePod(ref(first), 0)).toBe("gone");
      expect(await api.deletePod({ ...ref(second), uid: "uid-of-an-earlier-pod" }, 0)).toBe("gone");
      expect(kube.get("pods", "shop", ref(first).name)).toBeUndefined();
      expect(kube.get("pods", "shop", ref(second).name)?.metadata.deletionTimestamp).toBeUndefined();
      expect(statuses(kube)).toEqual([200, 404, 409]);
    });

    it("throws for a deletion it may not make", async () => {
      const kube = await cluster();
      const { api } = connect(kube, {}, { token: async () => LIMITED_TOKEN });
      const pod = podsOf(kube)[0]!;
      await expect(api.deletePod({ namespace: "shop", name: pod.metadata?.name ?? "", uid: pod.metadata?.uid ?? "" }, 0)).rejects.toBeInstanceOf(KubeApiError);
      expect(podsOf(kube)).toHaveLength(3);
    });
  });

  it("creates an Event in its namespace, default when none is named", async () => {
    const kube = await cluster();
    const { api } = connect(kube);
    const event = {
      involvedObject: { kind: "Node", name: NODE_A, apiVersion: "v1" },
      reason: "Cordoned",
      message: "cordoned by spot-manager",
      type: "Normal",
      source: { component: "spot-manager" },
    };
    await api.createEvent({ ...event, metadata: { name: "cordoned.1", namespace: "shop" } });
    await api.createEvent({ ...event, metadata: { name: "cordoned.2" } });
    expect(kube.get("events", "shop", "cordoned.1")).toMatchObject({ reason: "Cordoned", involvedObject: { name: NODE_A } });
    expect(kube.get("events", "default", "cordoned.2")).toMatchObject({ reason: "Cordoned" });
    const reader = connect(kube, {}, { token: async () => LIMITED_TOKEN });
    await expect(reader.api.createEvent({ ...event, metadata: { name: "cordoned.3" } })).rejects.toMatchObject({ status: 403 });
  });

  it("failureOf returns RetryError for what may pass and KubeApiError for what will not", () => {
    const all: Outcome[] = ["not-found", "conflict", "invalid", "bad-request", "forbidden", "unauthorized", "throttled", "disruption-budget", "multiple-budgets", "server-error", "unavailable", "network-error"];
    for (const outcome of all) {
      const error = failureOf({ outcome, status: 418, attempts: 3, retryAfterSeconds: 2 }, "do thing");
      const retry = [...RETRYABLE, "conflict"].includes(outcome);
      expect(error).toBeInstanceOf(retry ? RetryError : KubeApiError);
      expect(error.message).toBe(`do thing: HTTP 418 (${outcome}, after 3 attempts)`);
      if (error instanceof RetryError) expect(error.retryAfterSeconds).toBe(2);
      if (error instanceof KubeApiError) expect(error).toMatchObject({ status: 418, reason: outcome });
    }
  });
});

describe("priority connections", () => {
  it("a request queued behind busy connections is dropped at its deadline, never sent after it", async () => {
    // Prepare: one connection, held by a pod list for 2.5 s
    const kube = await cluster();
    kube.faults.add({ match: { verb: "list", resource: "pods" }, effect: { kind: "latency", ms: 2_500 } });
    const { gateway } = connect(kube, { maxSockets: 1 });
    const holding = gateway.send({ method: "GET", path: "/api/v1/pods" });
    await new Promise((r) => setTimeout(r, 50));
    // Act: a request with a second left waits for that connection
    const started = Date.now();
    const queued = await gateway.send({ method: "GET", path: "/api/v1/namespaces/shop/pods", deadline: started + 1_000 });
    const waited = Date.now() - started;
    await holding;
    await new Promise((r) => setTimeout(r, 100));
    // Assess: given up at its time, and the API server never saw it
    expect(queued).toMatchObject({ outcome: "network-error", attempts: 1 });
    expect(queued.failure).toMatch(/timed out after 1000 ms/);
    expect(waited).toBeLessThan(1_800);
    expect(kube.stats.log.map((r) => r.path)).toEqual(["/api/v1/pods"]);
  });

  it("a node read is not queued behind bulk requests that fill the connection pool", async () => {
    // Prepare: two connections for bulk work, each pod list held for a second
    const kube = await cluster();
    kube.faults.add({ match: { resource: "pods" }, effect: { kind: "latency", ms: 1_000 } });
    const { gateway } = connect(kube, { maxSockets: 2 });
    const api = new KubeApi(gateway);
    // Act: six slow lists take both bulk connections (and queue), then a node is read
    const lists = Array.from({ length: 6 }, () => api.podsOnNode(NODE_A));
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    const node = await api.getNode(NODE_A);
    const nodeMs = Date.now() - started;
    await Promise.all(lists);
    // Assess: answered at once, not after the three seconds the queue would take
    expect(node?.metadata?.name).toBe(NODE_A);
    expect(nodeMs).toBeLessThan(800);
  });

  it("an Event is not queued behind bulk requests, nor takes a connection node requests need", async () => {
    // Prepare: two connections for bulk work, each pod list held for a second; Events slow too
    const kube = await cluster();
    kube.faults.add({ match: { resource: "pods" }, effect: { kind: "latency", ms: 1_000 } });
    kube.faults.add({ match: { resource: "events" }, effect: { kind: "latency", ms: 1_000 } });
    const { gateway } = connect(kube, { maxSockets: 2 });
    const api = new KubeApi(gateway);
    const event = (n: number) => ({ metadata: { name: `node-a.${n}`, namespace: "default" }, involvedObject: { kind: "Node", name: NODE_A }, reason: "DrainStarted", message: "Draining", type: "Normal" });
    // Act: six slow lists take both bulk connections (and queue); then an Event is written, and eight more take the report connections while a node is read
    const lists = Array.from({ length: 6 }, () => api.podsOnNode(NODE_A));
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await api.createEvent(event(0));
    const eventMs = Date.now() - started;
    const more = Array.from({ length: 8 }, (_, n) => api.createEvent(event(n + 1)));
    const nodeStarted = Date.now();
    await api.getNode(NODE_A);
    const nodeMs = Date.now() - nodeStarted;
    await Promise.all([...lists, ...more]);
    // Assess: the Event took its own second, not the three of the bulk queue; the node read waited for neither
    expect(eventMs).toBeLessThan(1_800);
    expect(nodeMs).toBeLessThan(800);
  });
});
