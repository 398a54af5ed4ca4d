/**
 * The picture of a simulation (`spot-manager simulate --html FILE`): one self-contained HTML page,
 * inline SVG and CSS only (no script, no font, no request of any kind: its Content-Security-Policy
 * forbids them). Per scenario: a lane per node with the signal, taint and cordon, each eviction and
 * PodDisruptionBudget refusal, the deadline and whether the drain met it; below, the workload pods
 * Pending and Running over time. A scenario played as several runs (a baseline and a variant)
 * draws every run on one time axis, its lanes run by run and its pod counts overlaid.
 */
import { pendingPodSeconds, type DeadlineMark, type LaneMark, type LaneMarkKind, type NodeLane, type Timeline } from "./timeline";

export interface PictureScenario {
  name: string;
  description: string;
  /** One timeline per run, the baseline first. */
  runs: Timeline[];
}

export interface PictureOptions {
  /** The simulation's time scale, told on the page. */
  timeScale?: number;
}

const WIDTH = 1200;
const GUTTER = 330;
const RIGHT = 36;
const X0 = GUTTER;
const X1 = WIDTH - RIGHT;
const LANE_H = 66;
const RUN_HEADER_H = 26;
const AXIS_H = 54;
const GAP_PX = 30;
const CHART_H = 310;
const CHART_TOP = 34;
const CHART_BOTTOM = CHART_H - 60;

const COLORS = {
  signal: "#6a1b9a",
  followUp: "#8e6bb0",
  taint: "#ef6c00",
  cordon: "#37474f",
  eviction: "#2e7d32",
  pdb: "#c62828",
  retry: "#f9a825",
  refused: "#b71c1c",
  forced: "#212121",
  met: "#2e7d32",
  missed: "#c62828",
  neutral: "#757575",
  pending: "#e65100",
  running: "#1565c0",
  ready: "#00838f",
};

/** Escapes text for HTML and SVG, in content and in attribute values alike. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string);
}
const esc = escapeHtml;

const num = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "0");
const px = (n: number) => num(n, 1);
const seconds = (t: number) => `${Number.isInteger(t) ? t : num(t, t < 10 ? 2 : 1)} s`;

interface Gap {
  from: number;
  to: number;
}

/** Simulated seconds to x, with the spans every run skipped drawn as narrow breaks. */
export interface TimeAxis {
  end: number;
  gaps: Gap[];
  x(t: number): number;
  ticks: number[];
}

/** Spans skipped in every run: only there nothing happened in any of them. */
function commonGaps(runs: Timeline[]): Gap[] {
  const [first, ...rest] = runs;
  if (!first) return [];
  let gaps: Gap[] = first.skipped.map((g) => ({ ...g }));
  for (const run of rest) {
    gaps = gaps.flatMap((g) =>
      run.skipped
        .map((h) => ({ from: Math.max(g.from, h.from), to: Math.min(g.to, h.to) }))
        .filter((i) => i.to > i.from),
    );
  }
  // a break narrower than the drawn break would stretch time instead of saving room
  return gaps.filter((g) => g.to - g.from > 5).sort((a, b) => a.from - b.from);
}

const NICE_STEPS = [0.5, 1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1800, 3600];

/** One axis for all runs of a scenario: to the latest moment any run reached, deadlines included when near. */
export function timeAxis(runs: Timeline[], x0 = X0, x1 = X1): TimeAxis {
  const activity = Math.max(1, ...runs.map((r) => r.end));
  const deadlines = runs.flatMap((r) => r.lanes.flatMap((l) => l.deadlines.map((d) => d.at)));
  // a deadline far past the action (a 15-minute lifecycle hook) is shown as an arrow, not by squeezing everything
  const near = deadlines.filter((d) => d <= activity * 2.5);
  const latest = Math.max(activity, ...near);
  const gaps = commonGaps(runs).filter((g) => g.to < latest);
  // a little room after the last moment, in proportion to the time drawn (not to the time skipped)
  const end = latest + Math.max(0.5, 0.03 * (latest - gaps.reduce((sum, g) => sum + (g.to - g.from), 0)));
  const segments: Gap[] = [];
  let cursor = 0;
  for (const gap of gaps) {
    segments.push({ from: cursor, to: gap.from });
    cursor = gap.to;
  }
  segments.push({ from: cursor, to: end });
  const live = segments.reduce((sum, s) => sum + (s.to - s.from), 0);
  const perSecond = (x1 - x0 - gaps.length * GAP_PX) / live;
  const x = (t: number): number => {
    let at = x0;
    for (let i = 0; i < segments.length; i += 1) {
      const seg = segments[i] as Gap;
      if (t <= seg.to || i === segments.length - 1) return at + Math.max(0, Math.min(t, end) - seg.from) * perSecond;
      at += (seg.to - seg.from) * perSecond;
      const gap = gaps[i] as Gap;
      if (t < gap.to) return at + ((t - gap.from) / (gap.to - gap.from)) * GAP_PX;
      at += GAP_PX;
    }
    return at;
  };
  const step = NICE_STEPS.find((s) => s * perSecond >= 64) ?? 3600;
  const ticks: number[] = [];
  for (const seg of segments) {
    const candidates = [seg.from, ...Array.from({ length: Math.floor(seg.to / step) - Math.ceil(seg.from / step) + 1 }, (_, i) => (Math.ceil(seg.from / step) + i) * step)];
    for (const t of candidates) {
      if (t > seg.to + 1e-9) continue;
      const last = ticks.at(-1);
      if (last === undefined || x(t) - x(last) >= 46) ticks.push(Number(t.toFixed(3)));
    }
  }
  return { end, gaps, x, ticks };
}

/** Axis ticks, labels in seconds and the breaks for skipped spans; `y` is the axis line. */
function drawAxis(axis: TimeAxis, y: number, label: string): string {
  const parts = [`<g class="axis" aria-hidden="false">`, `<line x1="${X0}" y1="${y}" x2="${X1}" y2="${y}" stroke="#9e9e9e"/>`];
  for (const t of axis.ticks) {
    const x = axis.x(t);
    parts.push(`<line x1="${px(x)}" y1="${y}" x2="${px(x)}" y2="${y + 5}" stroke="#9e9e9e"/><text class="tick" x="${px(x)}" y="${y + 17}" text-anchor="middle">${esc(seconds(t))}</text>`);
  }
  for (const gap of axis.gaps) {
    const a = axis.x(gap.from);
    const b = axis.x(gap.to);
    const mid = (a + b) / 2;
    parts.push(
      `<g class="axis-break"><rect x="${px(a + 2)}" y="${y - 6}" width="${px(b - a - 4)}" height="12" fill="#fff"/><path d="M${px(a + 4)},${y + 6} l6,-12 M${px(b - 10)},${y + 6} l6,-12" stroke="#616161" fill="none"/>` +
        `<title>${esc(`${seconds(Number((gap.to - gap.from).toFixed(1)))} skipped: nothing happened between ${seconds(gap.from)} and ${seconds(gap.to)}`)}</title></g>` +
        `<text class="gap-label" x="${px(mid)}" y="${y + 30}" text-anchor="middle">${esc(`${Math.round(gap.to - gap.from)} s skipped`)}</text>`,
    );
  }
  parts.push(`<text class="axis-label" x="${px((X0 + X1) / 2)}" y="${y + 46}" text-anchor="middle">${esc(label)}</text></g>`);
  return parts.join("");
}

/** Grid lines behind lanes or the chart, one per tick. */
function drawGrid(axis: TimeAxis, top: number, bottom: number): string {
  return axis.ticks.map((t) => `<line class="grid" x1="${px(axis.x(t))}" y1="${top}" x2="${px(axis.x(t))}" y2="${bottom}"/>`).join("");
}

const MARK_ROW: Record<LaneMarkKind, "control" | "pod"> = {
  signal: "control",
  "follow-up": "control",
  taint: "control",
  untaint: "control",
  cordon: "control",
  uncordon: "control",
  "drain-finished": "control",
  "not-ready": "control",
  ready: "control",
  joined: "control",
  gone: "control",
  eviction: "pod",
  "pdb-refusal": "pod",
  "eviction-retry": "pod",
  "eviction-refused": "pod",
  "force-delete": "pod",
};

/** The glyph of a mark, centred on (x, y). */
function glyph(kind: LaneMarkKind, x: number, y: number, extra: { complete?: boolean } = {}): string {
  const X = px(x);
  switch (kind) {
    case "signal":
      return `<path d="M${px(x - 7)},${px(y - 7)} h14 l-7,12 z" fill="${COLORS.signal}"/>`;
    case "follow-up":
      return `<path d="M${px(x - 6)},${px(y - 6)} h12 l-6,10 z" fill="#fff" stroke="${COLORS.followUp}" stroke-width="2"/>`;
    case "taint":
      return `<path d="M${X},${px(y - 7)} l6,7 l-6,7 l-6,-7 z" fill="${COLORS.taint}"/>`;
    case "untaint":
      return `<path d="M${X},${px(y - 7)} l6,7 l-6,7 l-6,-7 z" fill="#fff" stroke="${COLORS.taint}" stroke-width="2"/>`;
    case "cordon":
      return `<rect x="${px(x - 5.5)}" y="${px(y - 5.5)}" width="11" height="11" fill="${COLORS.cordon}"/>`;
    case "uncordon":
      return `<rect x="${px(x - 5)}" y="${px(y - 5)}" width="10" height="10" fill="#fff" stroke="${COLORS.cordon}" stroke-width="2"/>`;
    case "drain-finished": {
      const color = extra.complete ? COLORS.met : COLORS.missed;
      return `<path d="M${X},${px(y + 8)} V${px(y - 8)} h10 l-3,4 l3,4 h-10" fill="${color}" stroke="${color}" stroke-width="1.5"/>`;
    }
    case "ready":
      return `<circle cx="${X}" cy="${px(y)}" r="5" fill="${COLORS.ready}"/>`;
    case "not-ready":
      return `<circle cx="${X}" cy="${px(y)}" r="5" fill="#fff" stroke="${COLORS.ready}" stroke-width="2"/>`;
    case "joined":
      return `<path d="M${X},${px(y - 8)} v16 M${X},${px(y)} h8" stroke="${COLORS.ready}" stroke-width="2.5"/>`;
    case "gone":
      return `<path d="M${X},${px(y - 8)} v16 M${X},${px(y)} h-8" stroke="${COLORS.neutral}" stroke-width="2.5"/>`;
    case "eviction":
      return `<circle cx="${X}" cy="${px(y)}" r="4.5" fill="${COLORS.eviction}"/>`;
    case "pdb-refusal":
      return `<rect x="${px(x - 1.5)}" y="${px(y - 7)}" width="3" height="14" fill="${COLORS.pdb}"/>`;
    case "eviction-retry":
      return `<circle cx="${X}" cy="${px(y)}" r="3.5" fill="${COLORS.retry}"/>`;
    case "eviction-refused":
      return `<path d="M${px(x - 5)},${px(y - 5)} l10,10 M${px(x + 5)},${px(y - 5)} l-10,10" stroke="${COLORS.refused}" stroke-width="2.5"/>`;
    case "force-delete":
      return `<path d="M${px(x - 5)},${px(y - 5)} l10,10 M${px(x + 5)},${px(y - 5)} l-10,10" stroke="${COLORS.forced}" stroke-width="2.5"/>`;
  }
}

/** Spans [from, to) during which a state held on the lane, from its on and off marks. */
function spans(marks: LaneMark[], on: LaneMarkKind, off: LaneMarkKind, end: number): Gap[] {
  const out: Gap[] = [];
  let since: number | undefined;
  for (const mark of marks) {
    if (mark.kind === on && since === undefined) since = mark.at;
    if (mark.kind === off && since !== undefined) {
      out.push({ from: since, to: mark.at });
      since = undefined;
    }
  }
  if (since !== undefined) out.push({ from: since, to: end });
  return out;
}

/** Taint spans: from the first taint added until the node has none of the added ones left. */
function taintSpans(marks: LaneMark[], end: number): Gap[] {
  const out: Gap[] = [];
  const held = new Set<string>();
  let since: number | undefined;
  for (const mark of marks) {
    if (!mark.taint) continue;
    if (mark.kind === "taint") {
      held.add(mark.taint);
      since ??= mark.at;
    } else if (mark.kind === "untaint" && held.delete(mark.taint) && held.size === 0 && since !== undefined) {
      out.push({ from: since, to: mark.at });
      since = undefined;
    }
  }
  if (since !== undefined) out.push({ from: since, to: end });
  return out;
}

function deadlineWords(d: DeadlineMark): string {
  if (d.met === true) return `deadline met${d.secondsLeft !== undefined ? `, ${num(d.secondsLeft)} s to spare` : ""}`;
  if (d.met === false) return `deadline missed: ${d.podsLeft} pod${d.podsLeft === 1 ? "" : "s"} left`;
  return "deadline";
}

const SHORT_KINDS: Record<string, string> = {
  "spot-interruption": "spot warning",
  "rebalance-recommendation": "rebalance",
  "asg-terminate": "ASG terminate",
  "asg-launch": "ASG launch",
  "state-change": "state change",
  "scheduled-change": "maintenance",
};

/** A signal's kind in a few words for the lane (the full words are in the mark's tooltip). */
function shortKind(kind: string): string {
  if (kind.startsWith("follow-up:")) return `follow-up ${kind.slice("follow-up:".length).replace(/-/g, " ")}`;
  return SHORT_KINDS[kind] ?? kind;
}

const textWidth = (text: string, size = 11) => text.length * size * 0.58;

function drawLane(lane: NodeLane, run: Timeline, axis: TimeAxis, y: number, index: number): string {
  const parts: string[] = [];
  const xEnd = axis.x(axis.end);
  parts.push(
    `<g class="lane" data-node="${esc(lane.node)}" data-run="${esc(run.label)}" transform="translate(0,${y})">`,
    `<rect class="lane-bg" x="0" y="0" width="${WIDTH}" height="${LANE_H}" fill="${index % 2 ? "#fafafa" : "#f3f5f7"}"/>`,
    `<text class="node-name" x="12" y="27">${esc(lane.node)}</text>`,
    `<text class="node-meta" x="12" y="45">${esc([lane.capacityType, lane.nodeGroup, lane.instanceId].filter(Boolean).join(" · "))}</text>`,
  );
  // before it registered and after it was deleted the node was not there
  if (lane.joinedAt !== undefined) parts.push(`<rect class="absent" x="${X0}" y="2" width="${px(axis.x(lane.joinedAt) - X0)}" height="${LANE_H - 4}" fill="url(#absent)"><title>${esc(`not registered until ${seconds(lane.joinedAt)}`)}</title></rect>`);
  if (lane.goneAt !== undefined && lane.goneAt >= (lane.joinedAt ?? 0)) parts.push(`<rect class="absent" x="${px(axis.x(lane.goneAt))}" y="2" width="${px(xEnd - axis.x(lane.goneAt))}" height="${LANE_H - 4}" fill="url(#absent)"><title>${esc(`deleted at ${seconds(lane.goneAt)}`)}</title></rect>`);
  // a node's state ends with the node
  const laneEnd = lane.goneAt !== undefined && lane.goneAt >= (lane.joinedAt ?? 0) ? lane.goneAt : run.end;
  for (const span of taintSpans(lane.marks, laneEnd)) {
    parts.push(`<rect class="state-tainted" x="${px(axis.x(span.from))}" y="36" width="${px(Math.max(1, axis.x(span.to) - axis.x(span.from)))}" height="5" fill="${COLORS.taint}" opacity="0.55"><title>${esc(`tainted from ${seconds(span.from)}`)}</title></rect>`);
  }
  for (const span of spans(lane.marks, "cordon", "uncordon", laneEnd)) {
    parts.push(`<rect class="state-cordoned" x="${px(axis.x(span.from))}" y="42" width="${px(Math.max(1, axis.x(span.to) - axis.x(span.from)))}" height="5" fill="${COLORS.cordon}" opacity="0.6"><title>${esc(`cordoned from ${seconds(span.from)}`)}</title></rect>`);
  }
  const labels: { from: number; to: number }[] = [];
  const place = (x: number, width: number): boolean => {
    if (x + width > X1 + RIGHT - 2 || labels.some((l) => x < l.to + 8 && x + width > l.from - 8)) return false;
    labels.push({ from: x, to: x + width });
    return true;
  };
  for (const d of lane.deadlines) {
    const offScale = d.at > axis.end;
    const x = offScale ? X1 + 6 : axis.x(d.at);
    const color = d.met === true ? COLORS.met : d.met === false ? COLORS.missed : COLORS.neutral;
    const words = offScale ? `${deadlineWords(d)} at ${seconds(d.at)} →` : deadlineWords(d);
    const width = textWidth(words);
    const left = x - 4 - width;
    parts.push(
      `<g class="deadline" data-met="${d.met === undefined ? "unknown" : String(d.met)}" data-t="${d.at}" data-event="${esc(d.eventId)}">`,
      `<line x1="${px(x)}" y1="1" x2="${px(x)}" y2="${LANE_H - 1}" stroke="${color}" stroke-width="2" stroke-dasharray="6 3"/>`,
      place(left, width + 4) ? `<text class="deadline-label" x="${px(x - 4)}" y="12" text-anchor="end" fill="${color}">${esc(words)}</text>` : "",
      `<title>${esc(`${d.kind} ${d.eventId}: the instance goes at ${seconds(d.at)}; ${deadlineWords(d)}${d.drainFinishedAt !== undefined ? `; drain finished at ${seconds(d.drainFinishedAt)}` : ""}`)}</title></g>`,
    );
  }
  for (const mark of lane.marks) {
    const x = axis.x(mark.at);
    const row = MARK_ROW[mark.kind];
    const cy = row === "control" ? 25 : 56;
    parts.push(
      `<g class="mark mark-${mark.kind}" data-kind="${mark.kind}" data-t="${mark.at}"${mark.pod ? ` data-pod="${esc(mark.pod)}"` : ""}>${glyph(mark.kind, x, cy, { complete: mark.complete === true })}<title>${esc(`${seconds(mark.at)}: ${mark.text}`)}</title></g>`,
    );
    if (mark.label) {
      const words = shortKind(mark.label);
      // beside the mark, or a little further right when an earlier label is there
      const at = [0, 1, 2, 3, 4, 5, 6].map((i) => x - 7 + i * 24).find((left) => place(left, textWidth(words)));
      if (at !== undefined) parts.push(`<text class="mark-label" x="${px(at)}" y="12" fill="${mark.kind === "follow-up" ? COLORS.followUp : COLORS.signal}">${esc(words)}</text>`);
    }
  }
  parts.push(`</g>`);
  return parts.join("");
}

function lanesFigure(scenario: PictureScenario, axis: TimeAxis): string {
  const several = scenario.runs.length > 1;
  let y = 0;
  const body: string[] = [];
  for (const run of scenario.runs) {
    body.push(`<g class="run" data-run="${esc(run.label)}">`);
    if (several) {
      body.push(`<text class="run-label" x="12" y="${y + 18}">${esc(run.label)}</text>`);
      y += RUN_HEADER_H;
    }
    run.lanes.forEach((lane, i) => {
      body.push(drawLane(lane, run, axis, y, i));
      y += LANE_H;
    });
    body.push(`</g>`);
  }
  const height = y + AXIS_H;
  return [
    `<svg class="lanes" role="img" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" xmlns="http://www.w3.org/2000/svg">`,
    `<title>${esc(`${scenario.name}: a lane per node`)}</title>`,
    `<defs><pattern id="absent" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="8" height="8" fill="#eeeeee"/><line x1="0" y1="0" x2="0" y2="8" stroke="#cfcfcf" stroke-width="3"/></pattern></defs>`,
    body.join(""),
    `<g class="grid-lines">${drawGrid(axis, 0, y)}</g>`,
    drawAxis(axis, y + 4, "simulated seconds since the first event"),
    `</svg>`,
  ].join("");
}

const RUN_DASHES = ["", "8 5", "2 4", "12 4 2 4"];
function runDash(runs: number, index: number): string {
  // the baseline dashed, the run it is compared with solid
  if (runs === 1) return "";
  return index === runs - 1 ? "" : (RUN_DASHES[index + 1] ?? "8 5");
}

/** Step lines of pods Pending and Running, each run overlaid on the same axes. */
function podsFigure(scenario: PictureScenario, axis: TimeAxis): string {
  const max = Math.max(1, ...scenario.runs.flatMap((r) => r.pods.map((p) => Math.max(p.pending, p.running))));
  const yStep = [1, 2, 5, 10, 20, 25, 50, 100, 200, 500, 1000].find((s) => max / s <= 6) ?? Math.ceil(max / 6);
  const yMax = Math.ceil(max / yStep) * yStep;
  const y = (count: number) => CHART_BOTTOM - (count / yMax) * (CHART_BOTTOM - CHART_TOP);
  const parts: string[] = [
    `<svg class="pods-chart" role="img" viewBox="0 0 ${WIDTH} ${CHART_H}" width="${WIDTH}" height="${CHART_H}" xmlns="http://www.w3.org/2000/svg">`,
    `<title>${esc(`${scenario.name}: workload pods Pending and Running over time`)}</title>`,
    `<text class="chart-title" x="${X0}" y="18">Workload pods Pending and Running (DaemonSet and static pods aside)</text>`,
    drawGrid(axis, CHART_TOP, CHART_BOTTOM),
  ];
  for (let v = 0; v <= yMax; v += yStep) {
    parts.push(`<line class="grid" x1="${X0}" y1="${px(y(v))}" x2="${X1}" y2="${px(y(v))}"/><text class="tick" x="${X0 - 8}" y="${px(y(v) + 4)}" text-anchor="end">${v}</text>`);
  }
  parts.push(`<text class="axis-label" transform="translate(${X0 - 44},${(CHART_TOP + CHART_BOTTOM) / 2}) rotate(-90)" text-anchor="middle">pods</text>`);
  scenario.runs.forEach((run, index) => {
    for (const series of ["pending", "running"] as const) {
      const d: string[] = [];
      run.pods.forEach((sample, i) => {
        const next = run.pods[i + 1]?.at ?? run.end;
        const x = axis.x(sample.at);
        const yy = px(y(sample[series]));
        d.push(i === 0 ? `M${px(x)},${yy}` : `V${yy}`);
        d.push(`H${px(axis.x(next))}`);
      });
      const color = series === "pending" ? COLORS.pending : COLORS.running;
      parts.push(
        `<path class="series" data-series="${series}" data-run="${esc(run.label)}" d="${d.join(" ")}" fill="none" stroke="${color}" stroke-width="${series === "pending" ? 2.5 : 2}" stroke-dasharray="${runDash(scenario.runs.length, index)}" stroke-linejoin="round"><title>${esc(`${run.label}: pods ${series === "pending" ? "Pending" : "Running"}`)}</title></path>`,
      );
    }
  });
  parts.push(drawAxis(axis, CHART_BOTTOM, "simulated seconds since the first event"), `</svg>`);
  return parts.join("");
}

/** What the pod counts say, per run: pending pod-seconds, the peak, and when all were Running again. */
export function podFigures(run: Timeline): { pendingPodSeconds: number; peakPending: number; allRunningAt?: number; pendingAtEnd: number } {
  const last = run.pods.at(-1);
  const lastPendingIndex = run.pods.findLastIndex((p) => p.pending > 0);
  const settled = lastPendingIndex >= 0 ? run.pods[lastPendingIndex + 1]?.at : undefined;
  return {
    pendingPodSeconds: pendingPodSeconds(run),
    peakPending: Math.max(0, ...run.pods.map((p) => p.pending)),
    ...(settled !== undefined ? { allRunningAt: settled } : {}),
    pendingAtEnd: last?.pending ?? 0,
  };
}

function podsSummary(scenario: PictureScenario): string {
  const rows = scenario.runs.map((run, index) => {
    const f = podFigures(run);
    const settled = f.pendingAtEnd > 0 ? `${f.pendingAtEnd} still Pending at ${seconds(run.end)}` : f.allRunningAt !== undefined ? `at ${seconds(f.allRunningAt)}` : "none was Pending";
    const dash = runDash(scenario.runs.length, index);
    return `<tr data-run="${esc(run.label)}"><td><svg width="36" height="10" aria-hidden="true"><line x1="0" y1="5" x2="36" y2="5" stroke="#424242" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ""}/></svg> ${esc(run.label)}</td><td class="n">${esc(num(f.pendingPodSeconds))}</td><td class="n">${f.peakPending}</td><td>${esc(settled)}</td></tr>`;
  });
  return `<table class="figures"><caption>Pods Pending, per run</caption><thead><tr><th>run</th><th>pending pod-seconds</th><th>most Pending at once</th><th>all Running again</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function nodeSummary(scenario: PictureScenario): string {
  const rows: string[] = [];
  for (const run of scenario.runs) {
    for (const lane of run.lanes) {
      // a node that only came or went was not acted on
      if (lane.deadlines.length === 0 && lane.marks.every((m) => ["joined", "gone", "ready", "not-ready"].includes(m.kind))) continue;
      const count = (kind: LaneMarkKind) => lane.marks.filter((m) => m.kind === kind).length;
      const signals = lane.marks.filter((m) => m.kind === "signal" || m.kind === "follow-up").map((m) => `${seconds(m.at)} ${m.text.split(" — ")[0] ?? ""}`);
      const cordon = lane.marks.find((m) => m.kind === "cordon");
      const verdicts = lane.deadlines.map((d) => `${seconds(d.at)}: ${deadlineWords(d)}`);
      const verdictClass = lane.deadlines.some((d) => d.met === false) ? "missed" : lane.deadlines.some((d) => d.met === true) ? "met" : "";
      rows.push(
        `<tr data-node="${esc(lane.node)}" data-run="${esc(run.label)}">${scenario.runs.length > 1 ? `<td>${esc(run.label)}</td>` : ""}<td class="mono">${esc(lane.node)}</td><td>${signals.map(esc).join("<br>") || "–"}</td><td class="n">${cordon ? esc(seconds(cordon.at)) : "–"}</td><td class="n">${count("eviction")}</td><td class="n">${count("pdb-refusal")}</td><td class="n">${count("force-delete")}</td><td class="${verdictClass}">${verdicts.map(esc).join("<br>") || "–"}</td></tr>`,
      );
    }
  }
  if (rows.length === 0) return `<p class="quiet">No node was acted on.</p>`;
  return `<table class="nodes"><caption>What happened to each node acted on</caption><thead><tr>${scenario.runs.length > 1 ? "<th>run</th>" : ""}<th>node</th><th>events handled</th><th>cordoned at</th><th>evictions</th><th>PDB refusals</th><th>deleted</th><th>deadline</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function unplaced(scenario: PictureScenario): string {
  const items = scenario.runs.flatMap((run) => run.unplaced.map((u) => `<li>${esc(`${scenario.runs.length > 1 ? `${run.label}: ` : ""}${seconds(u.at)} ${u.kind} for ${u.instanceId || "(no instance)"}: ${u.outcome}${u.reason ? ` (${u.reason})` : ""}`)}</li>`));
  return items.length ? `<p>Events with no node in the cluster:</p><ul class="unplaced">${items.join("")}</ul>` : "";
}

function legendItem(svg: string, words: string): string {
  return `<li><svg width="22" height="18" viewBox="0 0 22 18" aria-hidden="true">${svg}</svg>${esc(words)}</li>`;
}

function legend(scenarios: PictureScenario[]): string {
  const g = (kind: LaneMarkKind, extra: { complete?: boolean } = {}) => glyph(kind, 11, 9, extra);
  const line = (color: string, dash = "") => `<line x1="2" y1="9" x2="20" y2="9" stroke="${color}" stroke-width="2.5"${dash ? ` stroke-dasharray="${dash}"` : ""}/>`;
  const vline = (color: string) => `<line x1="11" y1="0" x2="11" y2="18" stroke="${color}" stroke-width="2" stroke-dasharray="5 3"/>`;
  const strip = (color: string) => `<rect x="1" y="6" width="20" height="5" fill="${color}" opacity="0.6"/>`;
  const items = [
    legendItem(g("signal"), "event received (signal)"),
    legendItem(g("follow-up"), "follow-up taken up"),
    legendItem(g("taint"), "taint added"),
    legendItem(g("untaint"), "taint removed"),
    legendItem(g("cordon"), "cordoned"),
    legendItem(g("uncordon"), "uncordoned"),
    legendItem(strip(COLORS.taint), "tainted"),
    legendItem(strip(COLORS.cordon), "cordoned (unschedulable)"),
    legendItem(g("eviction"), "pod evicted"),
    legendItem(g("pdb-refusal"), "eviction refused by a PodDisruptionBudget"),
    legendItem(g("eviction-retry"), "eviction failed, tried again"),
    legendItem(g("eviction-refused"), "eviction refused for good"),
    legendItem(g("force-delete"), "pod deleted (deadline policy)"),
    legendItem(g("drain-finished", { complete: true }), "drain finished, node empty"),
    legendItem(g("drain-finished", { complete: false }), "drain stopped, pods left"),
    legendItem(vline(COLORS.met), "deadline met"),
    legendItem(vline(COLORS.missed), "deadline missed"),
    legendItem(g("ready") + "", "node Ready / not Ready (hollow)"),
    legendItem(`<rect width="22" height="18" fill="url(#absent-legend)"/>`, "node not registered"),
    legendItem(line(COLORS.running), "pods Running"),
    legendItem(line(COLORS.pending), "pods Pending"),
  ];
  const compared = scenarios.some((s) => s.runs.length > 1);
  if (compared) items.push(legendItem(line("#424242", "8 5"), "baseline run (dashed)"), legendItem(line("#424242"), "compared run (solid)"));
  return `<section class="legend" aria-label="legend"><h2>Legend</h2><svg width="0" height="0" aria-hidden="true" style="position:absolute"><defs><pattern id="absent-legend" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="8" height="8" fill="#eeeeee"/><line x1="0" y1="0" x2="0" y2="8" stroke="#cfcfcf" stroke-width="3"/></pattern></defs></svg><ul>${items.join("")}</ul><p class="quiet">Hover a mark for what happened, to which pod, and when.</p></section>`;
}

function scenarioSection(scenario: PictureScenario): string {
  const axis = timeAxis(scenario.runs);
  const runs = scenario.runs.map((r) => r.label);
  return [
    `<section class="scenario" id="${esc(`scenario-${scenario.name}`)}" data-scenario="${esc(scenario.name)}">`,
    `<h2>${esc(scenario.name)}</h2>`,
    `<p class="description">${esc(scenario.description)}</p>`,
    scenario.runs.length > 1 ? `<p class="runs">${esc(`${runs.length} runs of the same events: ${runs.join(" and ")}`)}</p>` : "",
    `<p class="origin">${esc(`Second 0 is ${scenario.runs[0]?.origin ?? ""}, the time of the first event.`)}</p>`,
    `<figure><figcaption>Nodes</figcaption>${lanesFigure(scenario, axis)}</figure>`,
    `<figure><figcaption>Pods</figcaption>${podsFigure(scenario, axis)}</figure>`,
    podsSummary(scenario),
    nodeSummary(scenario),
    unplaced(scenario),
    `</section>`,
  ].join("\n");
}

const STYLE = `
:root { color-scheme: light; }
body { font-family: "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px auto; max-width: ${WIDTH + 40}px; color: #212121; background: #fff; padding: 0 20px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 4px; }
p { margin: 4px 0; }
.quiet, .origin, .intro { color: #616161; font-size: 13px; }
figure { margin: 12px 0; }
figcaption { font-weight: bold; font-size: 14px; margin-bottom: 4px; }
svg text { font-family: "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; }
svg { max-width: 100%; height: auto; display: block; }
.node-name { font-size: 12px; font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; fill: #212121; }
.node-meta { font-size: 11px; fill: #616161; }
.run-label { font-size: 13px; font-weight: bold; fill: #212121; }
.mark-label, .deadline-label { font-size: 11px; font-weight: bold; }
.tick { font-size: 11px; fill: #616161; }
.gap-label { font-size: 10.5px; fill: #757575; font-style: italic; }
.axis-label { font-size: 12px; fill: #424242; }
.chart-title { font-size: 13px; font-weight: bold; fill: #212121; }
.grid { stroke: #e0e0e0; stroke-width: 1; }
.grid-lines { pointer-events: none; }
table { border-collapse: collapse; margin: 10px 0; font-size: 13px; }
caption { text-align: left; font-weight: bold; padding-bottom: 4px; }
th, td { border: 1px solid #e0e0e0; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f5f5f5; }
td.n { text-align: right; }
td.mono { white-space: nowrap; font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12px; }
td.met { color: ${COLORS.met}; }
td.missed { color: ${COLORS.missed}; font-weight: bold; }
.legend ul { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 6px 18px; font-size: 13px; }
.legend li { display: flex; align-items: center; gap: 6px; }
nav ul { padding-left: 18px; margin: 6px 0; }
`;

/** The whole page: every scenario's figures, the legend, nothing fetched. */
export function renderSimulationPage(scenarios: PictureScenario[], options: PictureOptions = {}): string {
  const names = scenarios.map((s) => s.name);
  const title = `spot-manager simulation: ${names.join(", ")}`;
  const scale = options.timeScale;
  return [
    "<!doctype html>",
    `<html lang="en"><head><meta charset="utf-8">`,
    // nothing on this page may load anything: no script, font, image or connection
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    `<meta name="viewport" content="width=device-width, initial-scale=1">`,
    `<title>${esc(title)}</title><style>${STYLE}</style></head><body>`,
    `<header><h1>spot-manager simulation</h1>`,
    `<p class="intro">${esc(
      `Real EventBridge samples played through the real interruption handler against the embedded demo cluster, AWS faked in memory. Times are simulated seconds since each scenario's first event${
        scale !== undefined ? `; the simulated clock ran ${num(1 / scale, 0)} times faster than the wall clock (--time-scale ${scale})` : ""
      }.`,
    )}</p>`,
    scenarios.length > 1 ? `<nav><ul>${scenarios.map((s) => `<li><a href="#${esc(`scenario-${s.name}`)}">${esc(s.name)}</a>: ${esc(s.description)}</li>`).join("")}</ul></nav>` : "",
    `</header>`,
    legend(scenarios),
    `<main>`,
    ...scenarios.map(scenarioSection),
    `</main></body></html>`,
    "",
  ].join("\n");
}
