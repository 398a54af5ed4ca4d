/**
 * `spot-manager simulate --html`: the page is opened in a real browser (Debian's Chromium,
 * headless) and what it renders is checked — lanes, marks and deadline lines where the report says,
 * in the order they happened, the pod counts drawn, hostile text shown as text, and not a single
 * request beyond the page itself.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { DEMO_INTERRUPTED_NODE, demoCluster } from "@spot-manager/kube-local";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capture } from "./capture";
import { chromiumMissing, launchChromium, locateChromium } from "../../../test/browser/chromium";
import { notice } from "../../../test/quiet";
import { renderSimulationPage } from "../src/simulate/html";
import type { Timeline } from "../src/simulate/timeline";
import { main } from "../src/index";

const chromium = locateChromium();
// without Chromium the run says so once (test/tool-notes.ts); CI installs it (.ci/run), and there a missing browser fails
const runBrowser = chromium.path !== undefined || process.env["CI"] === "true";
if (!runBrowser) notice(chromiumMissing(chromium.searched));

interface ActionJson {
  node: string;
  podsEvicted: string[];
  pdbRefusals: number;
  deadlineMet?: boolean;
  podsLeft: unknown[];
}

async function simulate(dir: string, scenario: string): Promise<{ html: string; actions: ActionJson[] }> {
  const file = join(dir, `${scenario}.html`);
  const { code, out, err } = await capture(() => main(["node", "spot-manager", "simulate", "--scenario", scenario, "--json", "--time-scale", "0.05", "--html", file]));
  if (code !== 0) throw new Error(`simulate ${scenario} exited ${code}: ${err}`);
  expect(err).toContain(`picture of the simulation written to ${file}`);
  const report = JSON.parse(out) as { scenarios: { actions: ActionJson[] }[] };
  return { html: file, actions: report.scenarios[0]?.actions ?? [] };
}

interface Drawn {
  kind: string;
  t: number;
  pod?: string;
  x: number;
}

/** The marks of a lane as the browser laid them out: kind, time, pod, and the x of their centre on screen. */
function marksOf(page: Page, node: string): Promise<Drawn[]> {
  return page.$$eval(`g.lane[data-node="${node}"] g.mark`, (marks) =>
    marks.map((m) => {
      const box = m.getBoundingClientRect();
      return { kind: m.getAttribute("data-kind") ?? "", t: Number(m.getAttribute("data-t")), pod: m.getAttribute("data-pod") ?? undefined, x: box.x + box.width / 2 };
    }),
  );
}

function deadlinesOf(page: Page, node: string): Promise<{ met: string; t: number; x: number; label: string }[]> {
  return page.$$eval(`g.lane[data-node="${node}"] g.deadline`, (lines) =>
    lines.map((g) => {
      const line = g.querySelector("line")?.getBoundingClientRect();
      return { met: g.getAttribute("data-met") ?? "", t: Number(g.getAttribute("data-t")), x: line ? line.x + line.width / 2 : NaN, label: g.querySelector("text")?.textContent ?? "" };
    }),
  );
}

describe.skipIf(!runBrowser)("the simulation's picture in a browser", () => {
  let browser: Browser;
  let dir: string;
  const requests: string[] = [];
  const problems: string[] = [];

  beforeAll(async () => {
    if (!chromium.path) throw new Error(chromiumMissing(chromium.searched));
    dir = await mkdtemp(join(tmpdir(), "spot-manager-picture-"));
    browser = await launchChromium(chromium.path);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Opens a page, noting every request it makes and every console error (a refused load shows there). */
  async function open(file: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on("request", (r) => requests.push(r.url()));
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(m.text());
    });
    page.on("pageerror", (e) => problems.push(e.message));
    await page.goto(pathToFileURL(file).href);
    return page;
  }

  it("draws a lane per node; on the warned node the signal, cordon, each eviction, the drain's end and a met deadline, in that order", async () => {
    // Prepare
    const { html, actions } = await simulate(dir, "spot-interruption");
    const action = actions.find((a) => a.node === DEMO_INTERRUPTED_NODE) as ActionJson;
    requests.length = 0;
    problems.length = 0;
    // Act
    const page = await open(html);
    const lanes = await page.$$eval("g.lane", (gs) => gs.map((g) => g.getAttribute("data-node")));
    const marks = await marksOf(page, DEMO_INTERRUPTED_NODE);
    const [deadline] = await deadlinesOf(page, DEMO_INTERRUPTED_NODE);
    const ticks = await page.$$eval("svg.lanes g.axis text.tick", (ts) => ts.map((t) => ({ text: t.textContent ?? "", x: t.getBoundingClientRect().x })));
    const series = await page.$$eval("svg.pods-chart path.series", (ps) => ps.map((p) => ({ series: p.getAttribute("data-series"), right: p.getBoundingClientRect().right })));
    const visible = await page.locator("body").innerText();
    // Assess: every node of the cluster has its lane, in name order
    expect(lanes).toEqual(demoCluster().nodes.map((n) => n.metadata.name).sort());
    const at = (kind: string) => marks.filter((m) => m.kind === kind);
    const [signal] = at("signal");
    const [cordon] = at("cordon");
    const [finished] = at("drain-finished");
    const evictions = at("eviction");
    // the page shows what the report says: the same pods evicted, nothing left, the deadline met
    expect(evictions.map((m) => m.pod).sort()).toEqual([...action.podsEvicted].sort());
    expect(at("taint")).toHaveLength(1);
    expect(at("pdb-refusal")).toHaveLength(action.pdbRefusals);
    expect(action.deadlineMet).toBe(true);
    expect(deadline?.met).toBe("true");
    // (drawn at the right edge with an arrow when it lies far past the drain)
    expect(deadline?.label).toMatch(/^deadline met, \d+\.\d s to spare( at 119 s →)?$/);
    // and in the order it happened, left to right
    expect(signal && cordon && finished && deadline).toBeTruthy();
    expect(signal!.x).toBeLessThanOrEqual(cordon!.x);
    for (const eviction of evictions) {
      expect(eviction.x).toBeGreaterThanOrEqual(cordon!.x);
      expect(eviction.x).toBeLessThanOrEqual(finished!.x);
    }
    expect(finished!.x).toBeLessThan(deadline!.x);
    // every mark later in time sits further right (within a glyph's half width)
    const byTime = [...marks].sort((a, b) => a.t - b.t);
    byTime.slice(1).forEach((mark, i) => expect(mark.x, `${mark.kind} at ${mark.t} s`).toBeGreaterThanOrEqual((byTime[i] as Drawn).x - 6));
    // the other nodes were left alone
    for (const node of lanes.filter((n) => n !== DEMO_INTERRUPTED_NODE)) expect(await marksOf(page, node!)).toEqual([]);
    // axis in seconds, increasing; both pod series drawn; titles and legend readable
    expect(ticks.length).toBeGreaterThan(3);
    expect(ticks.every((t) => /^\d+(\.\d+)? s$/.test(t.text))).toBe(true);
    expect(ticks.map((t) => parseFloat(t.text))).toEqual([...ticks.map((t) => parseFloat(t.text))].sort((a, b) => a - b));
    expect(series.map((s) => s.series).sort()).toEqual(["pending", "running"]);
    // the counts are drawn until the run's end, after the drain finished
    expect(series.filter((s) => s.right < finished!.x - 6), JSON.stringify(series)).toEqual([]);
    expect(visible).toContain("spot-interruption");
    expect(visible).toContain("simulated seconds since the first event");
    expect(visible).toContain("eviction refused by a PodDisruptionBudget");
    expect(visible).toContain("Workload pods Pending and Running");
    // nothing but the page itself was loaded, and nothing was refused
    expect(requests).toEqual([pathToFileURL(html).href]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("mass reclaim: every PDB refusal the drains met is drawn before the deadline, each deadline missed, pods left Pending", async () => {
    // Prepare
    const { html, actions } = await simulate(dir, "mass-reclaim");
    requests.length = 0;
    problems.length = 0;
    // Act
    const page = await open(html);
    const drawn = await Promise.all(actions.map(async (a) => ({ action: a, marks: await marksOf(page, a.node), deadlines: await deadlinesOf(page, a.node) })));
    const figures = await page.$$eval("table.figures tbody tr td", (tds) => tds.map((td) => td.textContent ?? ""));
    // Assess: three spot nodes, each with as many refusal marks as its drain counted 429s from budgets
    expect(actions).toHaveLength(3);
    for (const { action, marks, deadlines } of drawn) {
      const refusals = marks.filter((m) => m.kind === "pdb-refusal");
      expect(action.pdbRefusals).toBeGreaterThan(0);
      expect(refusals, action.node).toHaveLength(action.pdbRefusals);
      expect(marks.filter((m) => m.kind === "eviction").map((m) => m.pod).sort()).toEqual([...action.podsEvicted].sort());
      expect(deadlines).toHaveLength(1);
      expect(deadlines[0]?.met).toBe("false");
      expect(deadlines[0]?.label).toBe(`deadline missed: ${action.podsLeft.length} pod${action.podsLeft.length === 1 ? "" : "s"} left`);
      expect(refusals.every((r) => r.x < (deadlines[0]?.x ?? 0))).toBe(true);
    }
    // the spot-only pods evicted had nowhere to go: still Pending when the run ended
    expect(figures[3]).toMatch(/^\d+ still Pending at \d+(\.\d+)? s$/);
    expect(requests).toEqual([pathToFileURL(html).href]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("shows hostile text as text: no element, script or request comes out of a node name or a reason", async () => {
    // Prepare: names and reasons as an attacker (or a careless label) could make them
    const hostile = `<img src="http://127.0.0.1:9/x.png" onerror="document.title='pwned'"><script>document.title='pwned'</script>`;
    const timeline: Timeline = {
      label: `run "1" <b>`,
      origin: "2024-05-14T18:21:08.000Z",
      end: 20,
      skipped: [],
      lanes: [
        {
          node: `node-${hostile}`,
          marks: [
            { at: 1, kind: "signal", text: `spot-interruption: skipped (${hostile})`, label: hostile },
            { at: 2, kind: "pdb-refusal", text: "refused", pod: `shop/${hostile}` },
          ],
          deadlines: [{ at: 15, eventId: hostile, kind: "spot-interruption", met: false, podsLeft: 1 }],
        },
      ],
      pods: [{ at: 0, pending: 0, running: 1, terminating: 0 }],
      unplaced: [{ at: 3, kind: "spot-interruption", instanceId: hostile, outcome: "skipped", reason: hostile }],
    };
    const file = join(dir, "hostile.html");
    await writeFile(file, renderSimulationPage([{ name: `evil-${hostile}`, description: hostile, runs: [timeline] }]));
    requests.length = 0;
    problems.length = 0;
    // Act
    const page = await open(file);
    const counts = { scripts: await page.locator("script").count(), images: await page.locator("img").count(), title: await page.title() };
    const visible = await page.locator("body").innerText();
    const lane = await page.$$eval("g.lane", (gs) => gs.map((g) => g.getAttribute("data-node")));
    // Assess
    expect(counts).toEqual({ scripts: 0, images: 0, title: `spot-manager simulation: evil-${hostile}` });
    expect(visible).toContain(`evil-${hostile}`);
    expect(lane).toEqual([`node-${hostile}`]);
    expect(requests).toEqual([pathToFileURL(file).href]);
    await page.close();
  });

  it("a scenario played twice (baseline and a variant) draws both runs on one axis and overlays their pod counts", async () => {
    // Prepare: the baseline has 4 pods Pending for 50 s, the variant for 10 s
    const run = (label: string, pendingUntil: number): Timeline => ({
      label,
      origin: "2024-05-14T18:21:08.000Z",
      end: 120,
      skipped: [],
      lanes: [{ node: "ip-10-0-1-21.us-west-2.compute.internal", marks: [{ at: 0.5, kind: "signal", text: "spot-interruption: done", label: "spot-interruption" }], deadlines: [{ at: 120, eventId: "e", kind: "spot-interruption", met: true, podsLeft: 0, secondsLeft: 10 }] }],
      pods: [
        { at: 0, pending: 0, running: 10, terminating: 0 },
        { at: 30, pending: 4, running: 6, terminating: 4 },
        { at: pendingUntil, pending: 0, running: 10, terminating: 0 },
      ],
      unplaced: [],
    });
    const file = join(dir, "compare.html");
    const html = renderSimulationPage([{ name: "replacement", description: "the same reclaim, without and with replacement at the warning", runs: [run("without replacement", 80), run("replacement at the warning", 40)] }]);
    await writeFile(file, html);
    // Act
    const page = await open(file);
    const runs = await page.$$eval("svg.lanes g.run", (gs) => gs.map((g) => ({ run: g.getAttribute("data-run"), top: g.getBoundingClientRect().y })));
    const series = await page.$$eval("svg.pods-chart path.series", (ps) => ps.map((p) => ({ run: p.getAttribute("data-run"), series: p.getAttribute("data-series"), dash: p.getAttribute("stroke-dasharray") ?? "" })));
    const rows = await page.$$eval("table.figures tbody tr", (trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => (td.textContent ?? "").trim())));
    const visible = await page.locator("body").innerText();
    // Assess: lanes run by run, top to bottom; four lines, the baseline dashed; the figures per run
    expect(runs.map((r) => r.run)).toEqual(["without replacement", "replacement at the warning"]);
    expect(runs[0]!.top).toBeLessThan(runs[1]!.top);
    expect(series).toEqual([
      { run: "without replacement", series: "pending", dash: "8 5" },
      { run: "without replacement", series: "running", dash: "8 5" },
      { run: "replacement at the warning", series: "pending", dash: "" },
      { run: "replacement at the warning", series: "running", dash: "" },
    ]);
    expect(rows).toEqual([
      ["without replacement", "200.0", "4", "at 80 s"],
      ["replacement at the warning", "40.0", "4", "at 40 s"],
    ]);
    expect(visible).toContain("baseline run (dashed)");
    await page.close();
  });
});

// the page is written even when no browser is here to look at it
describe("simulate --html", () => {
  it("writes one self-contained page: inline SVG and CSS, a policy that forbids loading anything", async () => {
    const dir = await mkdtemp(join(tmpdir(), "spot-manager-picture-"));
    try {
      const { html } = await simulate(dir, "spot-interruption");
      const page = await readFile(html, "utf8");
      expect(page).toMatch(/^<!doctype html>/);
      expect(page).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`);
      expect(page).not.toMatch(/<script|<link|@import|@font-face|url\((?!#)|(?:src|href)="(?!#)/i);
      expect(page).toContain(`data-node="${DEMO_INTERRUPTED_NODE}"`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
