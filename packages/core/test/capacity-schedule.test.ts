import { describe, expect, it } from "vitest";
import { parseCapacityPolicy, type CapacityPolicyInput, type GroupPolicy } from "../src/capacity/policy";
import { resolveSchedule, windowState } from "../src/capacity/schedule";

const t = (iso: string) => Date.parse(iso);

function group(input: Omit<CapacityPolicyInput["groups"][string], "type" | "capacityType" | "default"> & { default?: { min: number; max: number; desired?: number } }, timeZone = "Europe/Berlin"): { spec: GroupPolicy; timeZone: string } {
  const policy = parseCapacityPolicy({ timeZone, groups: { g: { type: "managed-node-group", capacityType: "spot", default: { min: 0, max: 2 }, ...input } } });
  return { spec: policy.groups["g"] as GroupPolicy, timeZone: policy.timeZone };
}

const entryAt = (g: { spec: GroupPolicy; timeZone: string }, iso: string) => resolveSchedule(g.spec, g.timeZone, t(iso));

describe("schedule windows", () => {
  const business = group({ windows: [{ name: "business-hours", start: "0 8 * * MON-FRI", end: "0 19 * * MON-FRI", min: 3, max: 20 }] });

  it("a weekday window is open from its start to its end on the zone's wall clock, summer and winter", () => {
    // Berlin is UTC+2 in May, UTC+1 in January
    expect(entryAt(business, "2024-05-14T05:59:00Z").entry).toBe("default");
    expect(entryAt(business, "2024-05-14T06:00:00Z")).toMatchObject({ entry: "business-hours", bounds: { min: 3, max: 20 }, openedAt: new Date("2024-05-14T06:00:00Z") });
    expect(entryAt(business, "2024-05-14T16:59:00Z").entry).toBe("business-hours");
    expect(entryAt(business, "2024-05-14T17:00:00Z")).toMatchObject({ entry: "default", bounds: { min: 0, max: 2 } });
    expect(entryAt(business, "2024-01-16T06:30:00Z").entry).toBe("default");
    expect(entryAt(business, "2024-01-16T07:00:00Z").entry).toBe("business-hours");
    expect(entryAt(business, "2024-05-18T10:00:00Z").entry).toBe("default"); // Saturday
  });

  it("a window across midnight stays open until its end the next morning", () => {
    const nights = group({ windows: [{ name: "nights", start: "0 22 * * *", end: "0 6 * * *", min: 0, max: 1 }] }, "UTC");
    expect(entryAt(nights, "2024-05-14T21:59:00Z").entry).toBe("default");
    expect(entryAt(nights, "2024-05-14T22:00:00Z").entry).toBe("nights");
    expect(entryAt(nights, "2024-05-14T23:59:00Z").entry).toBe("nights");
    expect(entryAt(nights, "2024-05-15T00:00:00Z").entry).toBe("nights");
    expect(entryAt(nights, "2024-05-15T05:59:59Z")).toMatchObject({ entry: "nights", openedAt: new Date("2024-05-14T22:00:00Z") });
    expect(entryAt(nights, "2024-05-15T06:00:00Z").entry).toBe("default");
  });

  it("weeknights and the whole weekend in one window: open from Friday evening to Monday morning", () => {
    const offHours = group({ windows: [{ name: "off-hours", start: "0 19 * * MON-FRI", end: "0 8 * * MON-FRI", min: 0, max: 2 }] });
    expect(entryAt(offHours, "2024-05-17T17:00:00Z").entry).toBe("off-hours"); // Fri 19:00 Berlin
    expect(entryAt(offHours, "2024-05-19T12:00:00Z")).toMatchObject({ entry: "off-hours", openedAt: new Date("2024-05-17T17:00:00Z") });
    expect(entryAt(offHours, "2024-05-20T05:59:00Z").entry).toBe("off-hours");
    expect(entryAt(offHours, "2024-05-20T06:00:00Z").entry).toBe("default"); // Mon 08:00 Berlin
  });

  it("through DST changes a window keeps its wall-clock hours; one starting in the skipped hour opens at the jump", () => {
    const early = group({ windows: [{ name: "early", start: "30 2 * * *", end: "0 5 * * *", min: 1, max: 1 }] }, "America/New_York");
    // 2024-03-10: 02:00 EST jumps to 03:00 EDT at 07:00Z, so 02:30 never happens: the window opens at the jump
    expect(entryAt(early, "2024-03-10T06:59:00Z").entry).toBe("default");
    expect(entryAt(early, "2024-03-10T07:00:00Z")).toMatchObject({ entry: "early", openedAt: new Date("2024-03-10T07:00:00Z") });
    expect(entryAt(early, "2024-03-10T08:59:00Z").entry).toBe("early"); // 04:59 EDT
    expect(entryAt(early, "2024-03-10T09:00:00Z").entry).toBe("default"); // 05:00 EDT
    // the day before, the same window is 07:30Z-10:00Z (EST)
    expect(entryAt(early, "2024-03-09T07:30:00Z").entry).toBe("early");
    expect(entryAt(early, "2024-03-09T09:30:00Z").entry).toBe("early");

    // 2024-11-03: 02:00 EDT falls back to 01:00 EST at 06:00Z; a window 00:30-02:30 lasts three real hours
    const night = group({ windows: [{ name: "night", start: "30 0 * * *", end: "30 2 * * *", min: 1, max: 1 }] }, "America/New_York");
    expect(entryAt(night, "2024-11-03T04:29:00Z").entry).toBe("default");
    expect(entryAt(night, "2024-11-03T04:30:00Z").entry).toBe("night"); // 00:30 EDT
    expect(entryAt(night, "2024-11-03T06:45:00Z").entry).toBe("night"); // 01:45 EST, the repeated hour
    expect(entryAt(night, "2024-11-03T07:29:00Z").entry).toBe("night"); // 02:29 EST
    expect(entryAt(night, "2024-11-03T07:30:00Z").entry).toBe("default"); // 02:30 EST
  });

  it("a window whose start never fired within the horizon is closed", () => {
    expect(windowState({ start: "0 0 29 2 *", end: "0 0 1 3 *" }, "UTC", t("2025-06-01T00:00:00Z"))).toEqual({ open: false, closedAt: t("2025-03-01T00:00:00Z") });
  });
});

describe("overlapping windows: priority, then the one opened last, then the one listed first", () => {
  const overlapping = group({
    default: { min: 0, max: 2 },
    windows: [
      { name: "business-hours", start: "0 8 * * MON-FRI", end: "0 19 * * MON-FRI", min: 3, max: 20, desired: 4 },
      { name: "lunch-peak", start: "30 11 * * MON-FRI", end: "30 13 * * MON-FRI", min: 6, max: 20 },
      { name: "black-friday", start: "0 0 29 NOV *", end: "0 0 2 DEC *", priority: 10, min: 8, max: 40 },
      { name: "also-at-lunch", start: "30 11 * * MON-FRI", end: "0 14 * * MON-FRI", min: 1, max: 30 },
    ],
  });

  it("among equal priorities the window opened last wins, and it wins as a whole", () => {
    expect(entryAt(overlapping, "2024-05-14T08:00:00Z")).toMatchObject({ entry: "business-hours", bounds: { min: 3, max: 20, desired: 4 } });
    expect(entryAt(overlapping, "2024-05-14T10:00:00Z")).toMatchObject({ entry: "lunch-peak", bounds: { min: 6, max: 20 } });
    expect(entryAt(overlapping, "2024-05-14T10:00:00Z").bounds.desired).toBeUndefined();
  });

  it("windows opened at the same instant: the one listed first wins; when it closes the other takes over", () => {
    expect(entryAt(overlapping, "2024-05-14T09:30:00Z").entry).toBe("lunch-peak");
    expect(entryAt(overlapping, "2024-05-14T11:45:00Z").entry).toBe("also-at-lunch");
    expect(entryAt(overlapping, "2024-05-14T12:15:00Z").entry).toBe("business-hours");
  });

  it("a higher priority beats a window opened later", () => {
    // Friday 2024-11-29: black friday opened at midnight, business hours at 08:00, lunch peak at 11:30
    expect(entryAt(overlapping, "2024-11-29T10:45:00Z")).toMatchObject({ entry: "black-friday", bounds: { min: 8, max: 40 }, priority: 10 });
    expect(entryAt(overlapping, "2024-12-01T23:30:00Z").entry).toBe("default");
  });

  it("identifies each opening, so a window's desired is applied once per opening", () => {
    expect(entryAt(overlapping, "2024-05-14T08:00:00Z").id).toBe("business-hours@2024-05-14T06:00:00.000Z");
    expect(entryAt(overlapping, "2024-05-15T08:00:00Z").id).toBe("business-hours@2024-05-15T06:00:00.000Z");
    expect(entryAt(overlapping, "2024-05-18T08:00:00Z").id).toBe("default");
  });
});
