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
import { DEMO_INTERRUPTED_NODE, startKubeLocal, type KubeLocal, type KubeLocalOptions } from "../src/index";
import { startHarness } from "./harness";
import { notice } from "../../../test/quiet";

const run = promisify(execFile);
const hasKubectl = await run("kubectl", ["version", "--client", "-o", "json"]).then(
  () => true,
  () => false,
);
if (!hasKubectl) notice("kubectl not found on PATH: the kubectl parity tests are skipped");

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

// each test runs kubectl several times, each a process doing its own discovery: room for a slow machine
describe.skipIf(!hasKubectl)("kubectl against kube-local", { timeout: 120_000 }, () => {
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

const MANIFEST = (replicas: number, extra = "") => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: team-a
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
${extra}`;

describe.skipIf(!hasKubectl)("kubectl's everyday commands against one kube-local", { timeout: 120_000 }, () => {
  let kube: KubeLocal;
  let kubectl: (...args: string[]) => Promise<{ stdout: string; stderr: string; code: number }>;
  let stdin: (input: string, ...args: string[]) => Promise<{ stdout: string; stderr: string; code: number }>;
  beforeAll(async () => {
    kube = await startKubeLocal({ seed: "demo", simulation: { timeScale: 0.02, podStartupSeconds: 1 }, identities: { viewer: { user: "viewer", rules: [{ verbs: ["get", "list", "watch"], resources: ["pods"] }] } } });
    const config = join(dir, `shared-${kube.url.split(":").pop()}`);
    await kube.writeKubeconfig(config);
    await kube.writeKubeconfig(`${config}-viewer`, { token: "viewer" });
    const exec = (input: string | undefined, args: string[]) =>
      new Promise<{ stdout: string; stderr: string; code: number }>((resolve) => {
        const child = execFile("kubectl", args, { timeout: 120_000 }, (error, stdout, stderr) => resolve({ stdout, stderr, code: error ? (typeof error.code === "number" ? error.code : 1) : 0 }));
        child.stdin?.end(input ?? "");
      });
    kubectl = (...args) => exec(undefined, args[0] === "--as-viewer" ? ["--kubeconfig", `${config}-viewer`, ...args.slice(1)] : ["--kubeconfig", config, ...args]);
    stdin = (input, ...args) => exec(input, ["--kubeconfig", config, ...args]);
  }, 120_000);
  afterAll(async () => {
    await kube?.stop();
  });

  it("create namespace (protobuf), api-resources and explain", async () => {
    const created = await kubectl("create", "namespace", "team-a");
    const resources = await kubectl("api-resources");
    const explained = await kubectl("explain", "deployment.spec.replicas");
    expect(created.stdout.trim(), created.stderr).toBe("namespace/team-a created");
    expect(resources.code, resources.stderr).toBe(0);
    expect(resources.stdout).toMatch(/^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m);
    expect(resources.stdout).toMatch(/^leases\s+coordination\.k8s\.io\/v1\s+true\s+Lease$/m);
    expect(resources.stdout).toMatch(/^selfsubjectaccessreviews\s+authorization\.k8s\.io\/v1\s+false\s+SelfSubjectAccessReview$/m);
    expect(explained.stdout).toContain("FIELD: replicas <integer>");
    expect(explained.stdout).toContain("Number of desired pods.");
  });

  it("apply twice (validated), scale, rollout status, then apply --server-side", async () => {
    const first = await stdin(MANIFEST(2), "apply", "-f", "-");
    const again = await stdin(MANIFEST(3), "apply", "-f", "-");
    const invalid = await stdin(MANIFEST(3).replace("replicas: 3", "replicass: 3"), "apply", "-f", "-");
    const scaled = await kubectl("scale", "deployment/web", "-n", "team-a", "--replicas=4");
    const rollout = await kubectl("rollout", "status", "deployment/web", "-n", "team-a", "--timeout=60s");
    const ssa = await stdin(MANIFEST(4, "        ports:\n        - containerPort: 80\n"), "apply", "--server-side", "--force-conflicts", "-f", "-");
    const conflict = await stdin(MANIFEST(5), "apply", "--server-side", "--field-manager=other", "-f", "-");
    expect(first.stdout.trim(), first.stderr).toBe("deployment.apps/web created");
    expect(again.stdout.trim(), again.stderr).toBe("deployment.apps/web configured");
    expect(invalid.code).not.toBe(0);
    expect(invalid.stderr).toContain('strict decoding error: unknown field "spec.replicass"');
    expect(scaled.stdout.trim(), scaled.stderr).toBe("deployment.apps/web scaled");
    expect(rollout.stdout, rollout.stderr).toContain('deployment "web" successfully rolled out');
    expect(ssa.stdout.trim(), ssa.stderr).toBe("deployment.apps/web serverside-applied");
    expect(conflict.code).not.toBe(0);
    // the scale shares replicas (same value when --force-conflicts applied): both owners conflict now
    expect(conflict.stderr).toContain('Apply failed with 2 conflicts: conflicts with "kubectl":\n- .spec.replicas\nconflicts with "kubectl" with subresource "scale" using apps/v1:\n- .spec.replicas');
    const applied = kube.get("deployments", "team-a", "web") as unknown as { spec: { replicas: number; template: { spec: { containers: { ports?: unknown[] }[] } } } };
    expect(applied.spec.replicas).toBe(4);
    expect(applied.spec.template.spec.containers[0]?.ports).toMatchObject([{ containerPort: 80 }]);
  });

  it("auth can-i (one verb and --list) and whoami", async () => {
    const adminYes = await kubectl("auth", "can-i", "delete", "nodes");
    const viewerYes = await kubectl("--as-viewer", "auth", "can-i", "list", "pods", "-n", "shop");
    const viewerNo = await kubectl("--as-viewer", "auth", "can-i", "create", "pods/eviction", "-n", "shop");
    const list = await kubectl("--as-viewer", "auth", "can-i", "--list", "-n", "shop");
    const whoami = await kubectl("--as-viewer", "auth", "whoami");
    expect(adminYes.stdout.trim()).toBe("yes");
    expect(viewerYes.stdout.trim()).toBe("yes");
    expect(viewerNo.stdout.trim()).toBe("no");
    expect(viewerNo.code).toBe(1);
    expect(list.stdout).toMatch(/^pods\s+\[\]\s+\[\]\s+\[get list watch\]$/m);
    expect(list.stdout).toMatch(/^selfsubjectaccessreviews\.authorization\.k8s\.io\s+\[\]\s+\[\]\s+\[create\]$/m);
    expect(whoami.stdout).toMatch(/^Username\s+viewer$/m);
    expect(whoami.stdout).toMatch(/^Groups\s+\[system:authenticated\]$/m);
  });

  it("cordon, describe node (with its lease) and get events", async () => {
    const node = "ip-10-0-3-23.us-west-2.compute.internal";
    const cordoned = await kubectl("cordon", node);
    const described = await kubectl("describe", "node", node);
    const events = await kubectl("get", "events", "-n", "shop");
    expect(cordoned.stdout.trim()).toBe(`node/${node} cordoned`);
    expect(described.code, described.stderr).toBe(0);
    expect(described.stdout).not.toContain("Failed to get lease");
    expect(described.stdout).toMatch(/^Lease:\s*\n\s+HolderIdentity:\s+ip-10-0-3-23\.us-west-2\.compute\.internal$/m);
    expect(described.stdout).toMatch(/^PodCIDR:\s+10\.244\.\d+\.0\/24$/m);
    expect(described.stdout).toMatch(/Taints:\s+node\.kubernetes\.io\/unschedulable:NoSchedule/);
    expect(described.stdout).toMatch(/NodeNotSchedulable\s+.*Node ip-10-0-3-23\.us-west-2\.compute\.internal status is now: NodeNotSchedulable/);
    expect(events.stdout.split("\n")[0]).toMatch(/^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE$/);
    expect(events.stdout).toMatch(/Normal\s+Scheduled\s+pod\/storefront-\S+\s+Successfully assigned shop\/storefront-\S+ to ip-/);
    expect(events.stdout).toMatch(/Normal\s+ScalingReplicaSet\s+deployment\/storefront\s+Scaled up replica set storefront-\S+ from 0 to 6/);
  });

  it("drain --disable-eviction deletes the pods instead of evicting them", async () => {
    const node = "ip-10-0-2-22.us-west-2.compute.internal";
    const before = kube.stats.count("create", "pods/eviction");
    const drained = await kubectl("drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--force", "--disable-eviction", "--timeout=60s");
    expect(drained.code, drained.stderr).toBe(0);
    expect(drained.stdout).toContain(`node/${node} drained`);
    expect(kube.stats.count("create", "pods/eviction")).toBe(before);
    const left = kube.list("pods").filter((p) => (p["spec"] as { nodeName?: string }).nodeName === node && !p.metadata.name?.startsWith("aws-node-"));
    expect(left).toEqual([]);
  });

  it("delete namespace waits until its content and the namespace are gone", async () => {
    const deleted = await kubectl("delete", "namespace", "team-a", "--timeout=60s");
    expect(deleted.stdout.trim(), deleted.stderr).toBe('namespace "team-a" deleted');
    expect(kube.get("namespaces", undefined, "team-a")).toBeUndefined();
    expect(kube.list("pods", "team-a")).toEqual([]);
  });
});
