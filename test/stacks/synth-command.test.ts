import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { main } from "../../packages/cli/src/index";

afterEach(() => vi.restoreAllMocks());

describe("spot-manager synth", () => {
  it("writes a stage's templates to a folder without AWS access and reports cdk-nag clean", async () => {
    const out = mkdtempSync(join(tmpdir(), "synth-cmd-"));
    let printed = "";
    vi.spyOn(console, "log").mockImplementation((...p: unknown[]) => void (printed += `${p.join(" ")}\n`));
    const code = await main(["node", "spot-manager", "synth", "--stage", "dev", "--out", out, "--json"]);
    expect(code).toBe(0);
    const result = JSON.parse(printed) as { stacks: { name: string; template: string; resources: number }[]; nag: { errors: unknown[] }; notices: { level: string; message: string }[] };
    expect(result.stacks.map((s) => s.name)).toEqual(["Cluster", "Observability", "Interruptions", "Capacity", "Delivery", "Drills"].map((n) => `dev-spot-manager-${n}`));
    for (const s of result.stacks) {
      expect(existsSync(s.template)).toBe(true);
      expect(Object.keys((JSON.parse(readFileSync(s.template, "utf8")) as { Resources: object }).Resources).length).toBe(s.resources);
    }
    expect(result.nag.errors).toEqual([]);
    expect(result.notices).toContainEqual(expect.objectContaining({ level: "warning", message: expect.stringContaining("cluster.admins is empty") }));
  });

  it("fails naming the field when the stage settings are invalid", async () => {
    const dir = mkdtempSync(join(tmpdir(), "synth-bad-"));
    const config = join(dir, "bad.json");
    writeFileSync(config, JSON.stringify({ nodeGroups: { spot: { instanceTypes: ["m6i.large"] } } }));
    let printed = "";
    vi.spyOn(console, "error").mockImplementation((...p: unknown[]) => void (printed += `${p.join(" ")}\n`));
    const code = await main(["node", "spot-manager", "synth", "--stage", "broken", "--out", join(dir, "out"), "--config", config]);
    expect(code).toBe(2);
    expect(printed).toContain('spot-manager: invalid configuration for stage "broken": nodeGroups.spot.instanceTypes: list at least two instance types');
  });
});
