import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterEach, describe, expect, it, vi } from "vitest";
import { registerPlanCapacity } from "../src/commands/plan-capacity";
import { CommandFailedError, UsageError } from "../src/options";

const SAMPLES = join(import.meta.dirname, "../../../test/capacity");
const CONFIG = join(SAMPLES, "policy.sample.json");
const STATE = join(SAMPLES, "state.sample.json");

let dir: string | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

/** Runs `spot-manager plan-capacity ...` in-process through a program that has only this command. */
async function planCapacity(...args: string[]): Promise<{ out: string; error?: unknown }> {
  const program = new Command("spot-manager").exitOverride();
  registerPlanCapacity(program);
  let out = "";
  vi.spyOn(console, "log").mockImplementation((...parts: unknown[]) => void (out += `${parts.join(" ")}\n`));
  try {
    await program.parseAsync(["node", "spot-manager", "plan-capacity", ...args]);
    return { out };
  } catch (error) {
    return { out, error };
  }
}

async function file(name: string, content: unknown): Promise<string> {
  dir ??= await mkdtemp(join(tmpdir(), "plan-capacity-"));
  const path = join(dir, name);
  await writeFile(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

describe("spot-manager plan-capacity", () => {
  it("--json lists the actions as {group, kind, from, to, reason}, at the snapshot's time", async () => {
    const result = await planCapacity("--config", CONFIG, "--state", STATE, "--json");
    expect(result.error).toBeUndefined();
    const plan = JSON.parse(result.out) as { at: string; actions: Record<string, unknown>[]; failures: unknown[]; transitions: unknown[] };
    expect(plan.at).toBe("2024-05-14T09:30:00.000Z");
    expect(plan.actions.map((a) => Object.keys(a))).toEqual(Array.from({ length: 5 }, () => ["group", "kind", "from", "to", "reason"]));
    expect(plan.actions.slice(1)).toEqual([
      { group: "base-on-demand", kind: "min", from: 2, to: 5, reason: "default bounds (no window open): min 2 + 3 for the spot fallback" },
      { group: "base-on-demand", kind: "desired", from: 2, to: 5, reason: "desired 2 raised to the new min 5" },
      { group: "spot-manager-prod-spot-self-managed", kind: "min", from: 2, to: 0, reason: "default bounds (no window open): min 0" },
      { group: "spot-manager-prod-spot-self-managed", kind: "max", from: 10, to: 4, reason: "default bounds (no window open): max 4" },
    ]);
    expect(plan.actions[0]).toMatchObject({ group: "base-on-demand", kind: "tags", to: { "spot-manager/fallback-since": "2024-05-14T09:30:00.000Z", "spot-manager/fallback-extra": "3" } });
    expect(plan.failures).toEqual([]);
    expect(plan.transitions).toEqual([expect.objectContaining({ phase: "start", onDemandGroup: "base-on-demand", extra: 3 })]);
  });

  it("--at plans at another time: at night the batch window opens and business hours are over", async () => {
    const result = await planCapacity("--config", CONFIG, "--state", STATE, "--at", "2024-05-14T22:45:00Z", "--json");
    const plan = JSON.parse(result.out) as { actions: { group: string; kind: string; from: unknown; to: unknown }[] };
    const scaling = plan.actions.filter((a) => a.kind !== "tags").map(({ group, kind, from, to }) => [group, kind, from, to]);
    expect(scaling).toEqual(
      expect.arrayContaining([
        ["spot-general", "min", 3, 0],
        ["spot-general", "max", 20, 6],
        ["spot-general", "desired", 8, 6],
        ["spot-manager-prod-spot-self-managed", "desired", 2, 4],
      ]),
    );
    expect(plan.actions).toContainEqual(expect.objectContaining({ group: "spot-manager-prod-spot-self-managed", kind: "tags", to: { "spot-manager/window": "nightly-batch@2024-05-14T22:30:00.000Z" } }));
  });

  it("prints a readable plan by default", async () => {
    const result = await planCapacity("--config", CONFIG, "--state", STATE);
    expect(result.out).toContain("capacity plan at 2024-05-14T09:30:00.000Z");
    expect(result.out).toContain("base-on-demand (on-demand, default, fallback started +3): min/max/desired 2/6/2 -> 5/6/5, 2 in service");
    expect(result.out).toContain("  min 2 -> 5: default bounds (no window open): min 2 + 3 for the spot fallback");
    expect(result.out).toMatch(/spot-general \(spot, business-hours, fallback to base-on-demand started\): min\/max\/desired 3\/20\/8 -> 3\/20\/8, 5 in service\n {2}no change/);
    expect(result.out).toContain("fallback start: base-on-demand for spot-general, spot-manager-prod-spot-self-managed (since 2024-05-14T09:30:00.000Z), to be published");
  });

  it("a group with bad or missing state is listed as failed after the plan of the others, and the command fails", async () => {
    const state = await file("state.json", {
      observedAt: "2024-05-14T09:30:00Z",
      groups: {
        "base-on-demand": { min: 2, max: 6, desired: 9, inService: 2 },
        "spot-general": { min: 3, max: 20, desired: 5, inService: 5, tags: { "spot-manager/window": "business-hours@2024-05-14T06:00:00.000Z" } },
      },
    });
    const result = await planCapacity("--config", CONFIG, "--state", state, "--json");
    expect(result.error).toBeInstanceOf(CommandFailedError);
    expect((result.error as Error).message).toBe("2 group(s) could not be planned: base-on-demand, spot-manager-prod-spot-self-managed");
    const plan = JSON.parse(result.out) as { failures: { group: string; error: string }[]; groups: { group: string }[] };
    expect(plan.failures).toEqual([
      { group: "base-on-demand", error: "bad state: groups.base-on-demand.desired: must be within min..max (2..6) (got 9)" },
      { group: "spot-manager-prod-spot-self-managed", error: "no state observed for this group" },
    ]);
    expect(plan.groups.map((g) => g.group)).toEqual(["spot-general"]);
  });

  it.each([
    [["--at", "yesterday"], /--at must be an ISO 8601 time/],
    [["--at", "1715679000"], /--at must be an ISO 8601 time/],
  ])("refuses %j", async (extra, message) => {
    const result = await planCapacity("--config", CONFIG, "--state", STATE, ...extra);
    expect(result.error).toBeInstanceOf(UsageError);
    expect((result.error as Error).message).toMatch(message);
  });

  it("names the bad field of a config or snapshot, and unreadable files", async () => {
    const badConfig = await file("config.json", { groups: { g: { type: "managed-node-group", capacityType: "spot", default: { min: 0, max: 1 }, windows: [{ name: "w", start: "0 8 * * MON-FRY", end: "0 9 * * *", min: 0, max: 1 }] } } });
    const config = await planCapacity("--config", badConfig, "--state", STATE);
    expect(config.error).toBeInstanceOf(UsageError);
    expect((config.error as Error).message).toMatch(/invalid config: config\.groups\.g\.windows\.0\.start: cron "0 8 \* \* MON-FRY": day of week: "FRY" is not a number or a name/);

    const badState = await file("state.json", { observedAt: "noon", groups: {} });
    const state = await planCapacity("--config", CONFIG, "--state", badState);
    expect((state.error as Error).message).toMatch(/invalid state snapshot: observedAt: Invalid ISO datetime/);

    const notJson = await file("broken.json", "{ groups");
    expect(((await planCapacity("--config", notJson, "--state", STATE)).error as Error).message).toMatch(/--config .*broken\.json is not JSON/);
    expect(((await planCapacity("--config", CONFIG, "--state", "/nonexistent/state.json")).error as Error).message).toMatch(/--state \/nonexistent\/state\.json: ENOENT/);
  });

  it.each([
    ["config", { windows: [{ name: "business-hours", start: "0 8 * * MON-FRI", end: "0 19 * * MON-FRI", min: 3, max: 20, priorty: 5 }] }, 'invalid config: config.groups.spot-general.windows.0: unknown key "priorty" (did you mean "priority"?)'],
    ["state", { inservice: 4 }, 'invalid state snapshot: groups.spot-general: unknown key "inservice" (did you mean "inService"?)'],
  ])("an unknown key in the %s file stops it with exit code 2, naming the key and the closest known one; nothing is planned", async (which, change, message) => {
    // Prepare
    const config = JSON.parse(await readFile(CONFIG, "utf8")) as { groups: Record<string, Record<string, unknown>> };
    const state = JSON.parse(await readFile(STATE, "utf8")) as { groups: Record<string, Record<string, unknown>> };
    Object.assign((which === "config" ? config : state).groups["spot-general"]!, change);
    // Act
    const result = await planCapacity("--config", await file("config.json", config), "--state", await file("state.json", state), "--json");
    // Assess
    expect(result.error).toBeInstanceOf(UsageError);
    expect((result.error as Error).message).toBe(message);
    expect(result.out).toBe("");
  });

  it("a misspelt fallback key no longer changes the plan silently", async () => {
    const config = JSON.parse(await readFile(CONFIG, "utf8")) as { fallbacks: Record<string, unknown>[] };
    delete config.fallbacks[0]!["shortfallMinutes"];
    config.fallbacks[0]!["shortfallMinute"] = 30;
    const result = await planCapacity("--config", await file("config.json", config), "--state", STATE);
    expect((result.error as Error).message).toBe('invalid config: config.fallbacks.0: unknown key "shortfallMinute" (did you mean "shortfallMinutes"?)');
  });
});
