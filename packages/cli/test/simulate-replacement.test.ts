/**
 * `spot-manager simulate --scenario replacement --json`: the same reclaim played without and with
 * replacement capacity at the warning, on the same models and seed. Checks the document's shape,
 * that each side did what it stands for, that capacity ends where it began, and the target.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { capture } from "./capture";
import { main } from "../src/index";

afterEach(() => {
  vi.restoreAllMocks();
});

interface Side {
  pendingPodSeconds: number;
  p95PendingSeconds: number;
  secondsUntilAllRunning: number | null;
  peakExtraNodes: number;
  extraNodeSeconds: number;
  nodesBefore: number;
  nodesAtEnd: number;
  lastExtraNodeAtSeconds: number | null;
  replacement?: { status: string; mechanism?: string };
  podsHeld: number;
  autoscaler: { what: string; atSeconds: number }[];
  fleet: { what: string; atSeconds: number; detail?: string }[];
  timeline: { atSeconds: number; pending: number; running: number; nodes: number; extraNodes: number }[];
}

describe("spot-manager simulate --scenario replacement", () => {
  it("prints both sides of the comparison; replacement at the warning needs at most half the pending pod-seconds", { timeout: 180_000 }, async () => {
    // Act
    const result = await capture(() => main(["node", "spot-manager", "simulate", "--scenario", "replacement", "--json", "--time-scale", "0.05"]));
    // Assess: the document
    expect(result.code, result.err).toBe(0);
    const report = JSON.parse(result.out) as { scenarios: { scenario: string; comparison: unknown; actions: { kind: string }[] }[]; comparison: Record<string, unknown> };
    const comparison = report.comparison as { seed: number; models: Record<string, number>; caOnly: Side; replacementAtWarning: Side; target: { maxPendingPodSecondsRatio: number; ratio: number; met: boolean } };
    expect(report.scenarios.map((s) => s.scenario)).toEqual(["replacement"]);
    expect(report.scenarios[0]?.comparison).toEqual(comparison);
    expect(report.scenarios[0]?.actions[0]?.kind).toBe("spot-interruption");
    expect(comparison.seed).toBe(1);
    expect(comparison.models).toMatchObject({ bootSeconds: 90, autoscalerScanSeconds: 10, scaleDownUnneededSeconds: 600 });
    for (const side of [comparison.caOnly, comparison.replacementAtWarning]) {
      expect(side).toMatchObject({ pendingPodSeconds: expect.any(Number), p95PendingSeconds: expect.any(Number), secondsUntilAllRunning: expect.any(Number), peakExtraNodes: expect.any(Number) });
      expect(side.timeline[0]).toEqual({ atSeconds: 0, pending: 0, running: 14, nodes: 5, extraNodes: 0 });
      expect(side.timeline.at(-1)).toMatchObject({ pending: 0, running: 14 });
      // capacity ends where it began
      expect(side.nodesAtEnd).toBe(side.nodesBefore);
      expect(side.peakExtraNodes).toBe(1);
    }
    // Assess: each side did what it stands for
    const ca = comparison.caOnly;
    const replaced = comparison.replacementAtWarning;
    expect(ca.replacement).toBeUndefined();
    expect(ca.podsHeld).toBe(0);
    expect(ca.autoscaler.map((e) => e.what)).toEqual(["scale-up", "scale-down"]);
    // the group replaced the reclaimed member as well: one node too many until cluster-autoscaler's scale-down
    expect(ca.fleet.filter((e) => e.what === "launched")).toHaveLength(2);
    expect(ca.lastExtraNodeAtSeconds).toBeGreaterThanOrEqual(600);
    expect(replaced.replacement).toMatchObject({ status: "requested", mechanism: "detach" });
    expect(replaced.podsHeld).toBeGreaterThan(0);
    expect(replaced.autoscaler).toEqual([]);
    expect(replaced.fleet.filter((e) => e.what === "launched")).toHaveLength(1);
    expect(replaced.fleet.find((e) => e.what === "detached")?.detail).toBe("desired kept at 3");
    // the extra node lasts only while the old one is still there
    expect(replaced.lastExtraNodeAtSeconds).toBeLessThan(150);
    // Assess: the target
    expect(replaced.pendingPodSeconds).toBeLessThanOrEqual(0.5 * ca.pendingPodSeconds);
    expect(replaced.p95PendingSeconds).toBeLessThan(ca.p95PendingSeconds);
    expect(comparison.target).toEqual({ maxPendingPodSecondsRatio: 0.5, ratio: expect.any(Number), met: true });
    expect(comparison.target.ratio).toBeCloseTo(replaced.pendingPodSeconds / ca.pendingPodSeconds, 2);
  });
});
