import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvokeCommand, LambdaClient, type InvokeCommandOutput } from "@aws-sdk/client-lambda";
import { parseMessage } from "@spot-manager/core";
import { DEMO_INTERRUPTED_NODE, startKubeLocal, type KubeLocal } from "@spot-manager/kube-local";
import { mockClient } from "@spot-manager/aws-fakes";
import { Command } from "commander";
import { afterEach, describe, expect, it, vi } from "vitest";
import { capture } from "./capture";
import { AWS_DRILL_CLIENTS, drillPayload, registerDrill } from "../src/commands/drill";
import { main } from "../src/index";

/** Lambda's response payload (the SDK wraps bytes in a blob adapter; the handler only reads bytes). */
const lambdaPayload = (value: unknown) => Buffer.from(JSON.stringify(value)) as unknown as InvokeCommandOutput["Payload"];

let kube: KubeLocal | undefined;
let dir: string | undefined;
afterEach(async () => {
  await kube?.stop();
  kube = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
  vi.restoreAllMocks();
});

describe("spot-manager simulate", () => {
  it("plays the single spot interruption and reports per node, as JSON", async () => {
    const result = await capture(() => main(["node", "spot-manager", "simulate", "--scenario", "spot-interruption", "--json", "--time-scale", "0.05"]));
    expect(result.code, result.err).toBe(0);
    const report = JSON.parse(result.out) as { scenarios: { scenario: string; actions: Record<string, unknown>[]; notifications: number }[] };
    const [scenario] = report.scenarios;
    expect(scenario?.scenario).toBe("spot-interruption");
    expect(scenario?.notifications).toBe(2);
    expect(scenario?.actions[0]).toMatchObject({ node: DEMO_INTERRUPTED_NODE, kind: "spot-interruption", outcome: "done", deadlineMet: true, podsLeft: [], requestsToCordon: 1 });
    expect(scenario?.actions[0]?.["podsEvicted"]).toHaveLength(5);
    expect(result.err).toContain("spot-interruption for i-1234567890abcdef0 received");
  });

  it("mass reclaim: PodDisruptionBudgets hold, the report shows the blocks and the missed deadlines", async () => {
    const result = await capture(() => main(["node", "spot-manager", "simulate", "--scenario", "mass-reclaim", "--time-scale", "0.02"]));
    expect(result.code, result.err).toBe(0);
    expect(result.out).toContain("== mass-reclaim");
    expect(result.out.match(/MISSED: \d pod\(s\) still on the node/g)).toHaveLength(3);
    expect(result.out).toMatch(/PDB refusals: [1-9]\d*/);
  });

  it("names the scenarios when given an unknown one", async () => {
    const result = await capture(() => main(["node", "spot-manager", "simulate", "--scenario", "nope"]));
    expect(result.code).toBe(2);
    expect(result.err).toContain('unknown scenario "nope"; choose one of: all, spot-interruption, rebalance-then-interruption, asg-scale-in, mass-reclaim, api-faults');
  });
});

describe("spot-manager drain", () => {
  async function cluster(simulation: Parameters<typeof startKubeLocal>[0] = {}) {
    kube = await startKubeLocal({ seed: "demo", simulation: { timeScale: 0.01, podStartupSeconds: 1 }, ...simulation });
    dir = await mkdtemp(join(tmpdir(), "drain-"));
    const config = join(dir, "kubeconfig");
    await kube.writeKubeconfig(config);
    return config;
  }
  const drain = (config: string, ...flags: string[]) => capture(() => main(["node", "spot-manager", "drain", "--kubeconfig", config, "--node", DEMO_INTERRUPTED_NODE, ...flags]));

  it("drains a node of a cluster reached through a kubeconfig, showing each eviction as kubectl does", async () => {
    const config = await cluster();
    const result = await drain(config, "--timeout", "60", "--force", "--delete-emptydir-data", "--ignore-daemonsets");
    expect(result.code, result.err + result.out).toBe(0);
    expect(result.out).toContain(`node/${DEMO_INTERRUPTED_NODE} cordoned`);
    expect(result.out).toContain("evicting pod shop/debug-shell");
    expect(result.out).toContain("pod/debug-shell evicted");
    // storefront's budget lets one go at a time: the refusal and the retry are shown
    expect(result.out).toMatch(/error when evicting pods\/"storefront-[a-z0-9-]+" -n "shop" \(will retry after \d+\.\ds\): The disruption budget storefront needs 5 healthy pods/);
    expect(result.out).toContain("evicted: 5");
    expect(result.out.trim().split("\n").at(-1)).toBe(`node/${DEMO_INTERRUPTED_NODE} drained`);
    const left = kube!.list("pods").filter((p) => (p["spec"] as { nodeName?: string }).nodeName === DEMO_INTERRUPTED_NODE && !p.metadata.deletionTimestamp);
    expect(left).toHaveLength(2);
  });

  it("refuses, as kubectl does, a node with a bare pod without --force: cordoned, nothing evicted, exit 1", async () => {
    const config = await cluster({ simulation: false });
    const result = await drain(config, "--delete-emptydir-data");
    expect(result.code).toBe(1);
    expect(result.out).toContain("error: cannot delete Pods that declare no controller (use --force to override): shop/debug-shell");
    expect(kube!.stats.count("create", "pods/eviction")).toBe(0);
    expect((kube!.get("nodes", undefined, DEMO_INTERRUPTED_NODE)?.["spec"] as { unschedulable?: boolean }).unschedulable).toBe(true);
    const emptyDir = await drain(config, "--force");
    expect(emptyDir.code).toBe(1);
    expect(emptyDir.out).toMatch(/cannot delete Pods with local storage \(use --delete-emptydir-data to override\): shop\/cart-cache-/);
  });

  it("--dry-run lists the pods, names those it would refuse, and changes nothing", async () => {
    const config = await cluster({ simulation: false });
    const result = await drain(config, "--dry-run");
    expect(result.code).toBe(0);
    expect(result.out).toContain("would refuse: cannot delete Pods that declare no controller (use --force to override): shop/debug-shell");
    expect(result.out).toContain("would evict:");
    expect(kube!.stats.log.filter((r) => r.verb !== "get" && r.verb !== "list")).toEqual([]);
  });

  it("--json prints the report on stdout and each step as a JSON line on stderr", async () => {
    const config = await cluster();
    const result = await drain(config, "--timeout", "60", "--force", "--delete-emptydir-data", "--json");
    expect(result.code, result.err).toBe(0);
    const report = JSON.parse(result.out) as { complete: boolean; evicted: unknown[]; left: unknown[] };
    expect(report).toMatchObject({ complete: true, left: [] });
    expect(report.evicted).toHaveLength(5);
    const steps = result.err.trim().split("\n").map((line) => JSON.parse(line) as { type: string });
    expect(steps[0]).toMatchObject({ type: "cordoned", changed: true });
    expect(steps.filter((s) => s.type === "evicted")).toHaveLength(5);
    expect(steps.at(-1)).toMatchObject({ type: "drained" });
  });

  it("fails with exit code 1 and says why when pods are left at the timeout, and 2 for a missing node", async () => {
    const config = await cluster({ simulation: false });
    const stuck = await drain(config, "--timeout", "3", "--force", "--delete-emptydir-data");
    const missing = await capture(() => main(["node", "spot-manager", "drain", "--kubeconfig", config, "--node", "nope"]));
    expect(stuck.code).toBe(1);
    expect(stuck.err).toContain("not fully drained");
    // no kubelet here: the evicted pods never finish terminating
    expect(stuck.out).toContain("still on the node:\n");
    expect(stuck.out).toMatch(/^ {2}shop\/\S+: terminating, grace period until /m);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('node "nope" not found');
  });
});

describe("spot-manager drill", () => {
  it("invokes the stage's interruption function with a real-shaped event marked as a drill", async () => {
    const lambda = mockClient(LambdaClient);
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: lambdaPayload({ reports: [{ outcome: "dry-run" }] }) });
    const program = new Command("spot-manager").exitOverride();
    registerDrill(program, { ...AWS_DRILL_CLIENTS, lambda: () => new LambdaClient({ region: "us-west-2" }) });
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    await program.parseAsync(["node", "spot-manager", "drill", "--stage", "prod", "--instance", "i-1234567890abcdef0", "--kind", "spot-itn", "--dry-run"]);
    expect(lambda).toReceiveCommandWith(InvokeCommand, { FunctionName: "spot-manager-prod-interruption", InvocationType: "RequestResponse" });
    const payload = JSON.parse(Buffer.from(lambda.commandCalls(InvokeCommand)[0]!.args[0].input.Payload as Uint8Array).toString("utf8")) as Record<string, unknown>;
    expect(payload["drill"]).toEqual({ dryRun: true });
    const parsed = parseMessage(payload);
    expect(parsed.type === "signal" && parsed.events[0]).toMatchObject({ kind: "spot-interruption", instanceId: "i-1234567890abcdef0" });
    expect(log).toHaveBeenCalledWith(expect.stringContaining('"outcome": "dry-run"'));
    lambda.restore();
  });

  it.each(["spot-itn", "rebalance", "stopping", "shutting-down", "terminated", "scheduled-change"])("builds a %s event the handler parses", (kind) => {
    const parsed = parseMessage(drillPayload({ stage: "dev", instance: "i-0123456789abcdef0", kind }));
    expect(parsed.type).toBe("signal");
  });

  it("asks for the lifecycle details of ASG drills and rejects bad ids", () => {
    expect(() => drillPayload({ stage: "dev", instance: "i-0123456789abcdef0", kind: "asg-terminate" })).toThrowError(/needs --asg, --hook and --token/);
    expect(() => drillPayload({ stage: "dev", instance: "web-1", kind: "spot-itn" })).toThrowError(/--instance must be an EC2 instance id/);
    expect(() => drillPayload({ stage: "dev", instance: "i-0123456789abcdef0", kind: "asg-terminate", asg: "my-asg", hook: "drain", token: "t-1" })).toThrowError(/--token must be the lifecycle action token \(36 characters/);
    expect(() => drillPayload({ stage: "dev", instance: "i-0123456789abcdef0", kind: "asg-launch", asg: "my-asg", hook: "drain:now", token: "bcd2e7a1-8c3f-4f1b-9e2d-0a1b2c3d4e5f" })).toThrowError(/--hook must be a lifecycle hook name/);
    const asg = parseMessage(drillPayload({ stage: "dev", instance: "i-0123456789abcdef0", kind: "asg-terminate", asg: "my-asg", hook: "drain", token: "bcd2e7a1-8c3f-4f1b-9e2d-0a1b2c3d4e5f" }));
    expect(asg.type === "signal" && asg.events[0]?.lifecycle).toMatchObject({ asgName: "my-asg", hookName: "drain", token: "bcd2e7a1-8c3f-4f1b-9e2d-0a1b2c3d4e5f" });
  });

  it("fails with exit code 1 when the function fails", async () => {
    const lambda = mockClient(LambdaClient);
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, FunctionError: "Unhandled", Payload: lambdaPayload({ errorMessage: "boom" }) });
    const result = await capture(() => main(["node", "spot-manager", "drill", "--stage", "dev", "--instance", "i-0123456789abcdef0", "--kind", "rebalance", "--region", "us-west-2"]));
    expect(result.code).toBe(1);
    expect(result.err).toContain("spot-manager-dev-interruption failed (Unhandled)");
    lambda.restore();
  });
});
