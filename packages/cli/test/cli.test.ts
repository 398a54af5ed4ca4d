import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { afterEach, describe, expect, it, vi } from "vitest";
import { capture } from "./capture";
import { buildProgram, main } from "../src/index";

const BIN = fileURLToPath(new URL("../bin/spot-manager.js", import.meta.url));

function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return capture(() => main(["node", "spot-manager", ...args]));
}

afterEach(() => vi.restoreAllMocks());

describe("spot-manager command", () => {
  it("prints help for the program and for every command", async () => {
    const names = buildProgram().commands.map((c) => c.name());
    const top = await run(["--help"]);
    expect(top.code).toBe(0);
    for (const name of names) {
      expect(top.out).toContain(name);
      const help = await run([name, "--help"]);
      expect(help.code, name).toBe(0);
      expect(help.out, name).toContain(`Usage: spot-manager ${name}`);
    }
    expect(names).toEqual(expect.arrayContaining(["kube-local", "simulate", "bench", "drain", "drill", "plan-capacity", "synth"]));
  });

  it("rejects an unknown command and a bad option value with exit code 2 and a message naming it", async () => {
    const unknown = await run(["frobnicate"]);
    const badPort = await run(["kube-local", "--port", "abc"]);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain("unknown command 'frobnicate'");
    expect(badPort.code).toBe(2);
    expect(badPort.err).toContain('--port must be a number >= 0, got "abc"');
  });

  it("kube-local serves the demo cluster in the foreground and writes a kubeconfig", async () => {
    const dir = await mkdtemp(join(tmpdir(), "spot-manager-cli-"));
    const kubeconfig = join(dir, "kubeconfig");
    const child = spawn(process.execPath, [BIN, "kube-local", "--seed", "demo", "--kubeconfig-out", kubeconfig], { stdio: ["ignore", "pipe", "pipe"] });
    try {
      let output = "";
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`kube-local did not start: ${output}`)), 20_000);
        child.stdout.on("data", (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes("kubeconfig:")) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.on("exit", (code) => reject(new Error(`kube-local exited with ${code}: ${output}`)));
      });
      const kc = new KubeConfig();
      kc.loadFromString(await readFile(kubeconfig, "utf8"));
      const nodes = await kc.makeApiClient(CoreV1Api).listNode();
      expect(output).toMatch(/kube-local serving at https:\/\/127\.0\.0\.1:\d+/);
      expect(nodes.items).toHaveLength(5);
      const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    } finally {
      child.kill("SIGKILL");
      await rm(dir, { recursive: true, force: true });
    }
  });
});
