/**
 * Parity with kube-apiserver, proved by a client nobody here wrote: kubectl runs its own discovery,
 * Table printing, strategic merge patches and drain logic against kube-local.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_INTERRUPTED_NODE, type KubeLocal, type KubeLocalOptions } from "../src/index";
import { startHarness } from "./harness";

const run = promisify(execFile);
const hasKubectl = await run("kubectl", ["version", "--client", "-o", "json"]).then(
  () => true,
  () => false,
);
if (!hasKubectl) console.warn("kubectl not found on PATH: the kubectl parity tests are skipped");

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kube-local-kubectl-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function cluster(
  timeScale = 0.02,
  options: KubeLocalOptions = {},
): Promise<{ kube: KubeLocal; kubectl: (...args: string[]) => Promise<{ stdout: string; stderr: string; code: number }> }> {
  const { kube } = await startHarness({ seed: "demo", simulation: { timeScale, podStartupSeconds: 1 }, ...options });
  const config = join(dir, `config-${kube.url.split(":").pop()}`);
  await kube.writeKubeconfig(config);
  const kubectl = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await run("kubectl", ["--kubeconfig", config, ...args], { timeout: 120_000 });
      return { stdout, stderr, code: 0 };
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string; code?: number };
      return { stdout: e.stdout ?? "", stderr: e.stderr ?? "", code: typeof e.code === "number" ? e.code : 1 };
    }
  };
  return { kube, kubectl };
}

describe.skipIf(!hasKubectl)("kubectl against kube-local", () => {
  it("kubectl get nodes prints the server-side table", async () => {
    const { kubectl } = await cluster();
    const { stdout, code } = await kubectl("get", "nodes");
    const lines = stdout.trim().split("\n");
    expect(code).toBe(0);
    expect(lines[0]).toMatch(/^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION$/);
    expect(lines).toHaveLength(6);
    expect(lines.find((l) => l.startsWith(DEMO_INTERRUPTED_NODE))).toMatch(/\sReady\s+<none>\s+\S+\s+v1\.32\.3-eks-473151a$/);
  });

  it("kubectl get pods -A -o wide and -o json", async () => {
    const { kubectl } = await cluster();
    const wide = await kubectl("get", "pods", "-A", "-o", "wide", "--field-selector", `spec.nodeName=${DEMO_INTERRUPTED_NODE}`);
    const json = await kubectl("get", "pods", "-n", "shop", "-l", "app in (storefront, checkout)", "-o", "json");
    expect(wide.code).toBe(0);
    expect(wide.stdout.split("\n")[0]).toMatch(/^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$/);
    expect(wide.stdout).toContain("debug-shell");
    expect((JSON.parse(json.stdout) as { items: unknown[] }).items).toHaveLength(9);
  });

  it("kubectl cordon and uncordon", async () => {
    const { kubectl, kube } = await cluster();
    const cordon = await kubectl("cordon", DEMO_INTERRUPTED_NODE);
    const shown = await kubectl("get", "node", DEMO_INTERRUPTED_NODE, "--no-headers");
    expect(cordon.stdout.trim()).toBe(`node/${DEMO_INTERRUPTED_NODE} cordoned`);
    expect(shown.stdout).toContain("Ready,SchedulingDisabled");
    expect((kube.get("nodes", undefined, DEMO_INTERRUPTED_NODE)?.["spec"] as { unschedulable?: boolean }).unschedulable).toBe(true);
    const again = await kubectl("cordon", DEMO_INTERRUPTED_NODE);
    expect(again.stdout.trim()).toBe(`node/${DEMO_INTERRUPTED_NODE} already cordoned`);
    const uncordon = await kubectl("uncordon", DEMO_INTERRUPTED_NODE);
    expect(uncordon.stdout.trim()).toBe(`node/${DEMO_INTERRUPTED_NODE} uncordoned`);
  });

  it("kubectl taint adds, overwrites and removes taints", async () => {
    const { kubectl, kube } = await cluster();
    const taints = () => (kube.get("nodes", undefined, DEMO_INTERRUPTED_NODE)?.["spec"] as { taints?: { key: string; value?: string; effect: string }[] }).taints ?? [];
    const added = await kubectl("taint", "nodes", DEMO_INTERRUPTED_NODE, "spot-manager/spot-itn=evt-1:NoSchedule");
    expect(added.stdout.trim()).toBe(`node/${DEMO_INTERRUPTED_NODE} tainted`);
    expect(taints()).toEqual(
      expect.arrayContaining([
        { key: "spot-manager/lifecycle", value: "spot", effect: "PreferNoSchedule" },
        expect.objectContaining({ key: "spot-manager/spot-itn", value: "evt-1", effect: "NoSchedule" }),
      ]),
    );
    const conflict = await kubectl("taint", "nodes", DEMO_INTERRUPTED_NODE, "spot-manager/spot-itn=evt-2:NoSchedule");
    expect(conflict.code).not.toBe(0);
    await kubectl("taint", "nodes", DEMO_INTERRUPTED_NODE, "spot-manager/spot-itn=evt-2:NoSchedule", "--overwrite");
    expect(taints().find((t) => t.key === "spot-manager/spot-itn")?.value).toBe("evt-2");
    const removed = await kubectl("taint", "nodes", DEMO_INTERRUPTED_NODE, "spot-manager/spot-itn-");
    expect(removed.stdout.trim()).toBe(`node/${DEMO_INTERRUPTED_NODE} untainted`);
    expect(taints().map((t) => t.key)).toEqual(["spot-manager/lifecycle"]);
  });

  it("kubectl drain refuses a bare pod without --force and evicts nothing", async () => {
    const { kubectl, kube } = await cluster();
    const result = await kubectl("drain", DEMO_INTERRUPTED_NODE, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=60s");
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("cannot delete Pods that declare no controller (use --force to override): shop/debug-shell");
    expect(kube.stats.count("create", "pods/eviction")).toBe(0);
  });

  it("kubectl drain --force drains the demo node as on a real cluster", async () => {
    // Prepare
    const { kubectl, kube } = await cluster();
    // Act
    const result = await kubectl("drain", DEMO_INTERRUPTED_NODE, "--ignore-daemonsets", "--delete-emptydir-data", "--force", "--timeout=90s");
    // Assess
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`node/${DEMO_INTERRUPTED_NODE} drained`);
    const left = kube
      .list("pods")
      .filter((p) => (p["spec"] as { nodeName?: string }).nodeName === DEMO_INTERRUPTED_NODE)
      .map((p) => p.metadata.name ?? "");
    expect(left).toHaveLength(2);
    expect(left.some((n) => n.startsWith("aws-node-"))).toBe(true);
    expect(left).toContain(`static-log-agent-${DEMO_INTERRUPTED_NODE}`);
    // storefront's budget (minAvailable 80% of 6) allows one eviction at a time: the second waited
    const evictions = kube.stats.log.filter((r) => r.resource === "pods/eviction");
    expect(evictions.some((r) => r.status === 429)).toBe(true);
    expect(result.stderr).toContain("Cannot evict pod as it would violate the pod's disruption budget");
    // every replica is back and ready elsewhere
    const storefront = kube.list("pods", "shop").filter((p) => p.metadata.name?.startsWith("storefront-") && !p.metadata.deletionTimestamp);
    expect(storefront).toHaveLength(6);
    expect((kube.get("nodes", undefined, DEMO_INTERRUPTED_NODE)?.["spec"] as { unschedulable?: boolean }).unschedulable).toBe(true);
  });

  it("kubectl drain retries through a budget whose status lags its spec, and finishes once the controller catches up", async () => {
    // Prepare: the disruption controller syncs 3 s after a change; storefront's budget was just edited
    const { kubectl, kube } = await cluster(0.02, { controllers: { disruption: { syncDelayMs: 3_000 } } });
    const edited = await kubectl("patch", "pdb", "storefront", "-n", "shop", "--type=merge", "-p", '{"spec":{"minAvailable":"50%"}}');
    const pdb = () => kube.get("poddisruptionbudgets", "shop", "storefront") as { metadata: { generation?: number }; status?: { observedGeneration?: number } };
    const lagging = pdb();
    // Act
    const result = await kubectl("drain", DEMO_INTERRUPTED_NODE, "--ignore-daemonsets", "--delete-emptydir-data", "--force", "--timeout=90s");
    // Assess: the first storefront evictions met 429 (still being processed), were retried, and the drain finished
    expect(edited.code, edited.stderr).toBe(0);
    expect(lagging.metadata.generation).toBe(2);
    expect(lagging.status?.observedGeneration).toBe(1);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`node/${DEMO_INTERRUPTED_NODE} drained`);
    // the 429 carries Retry-After: 10, which client-go honours by itself: kubectl waited and asked again
    const storefrontEvictions = kube.stats.log.filter((r) => r.resource === "pods/eviction" && r.path.includes("/storefront-"));
    expect(storefrontEvictions.map((r) => r.status)).toContain(429);
    expect(storefrontEvictions.at(-1)?.status).toBe(201);
    expect(pdb().status?.observedGeneration).toBe(2);
  });
});
