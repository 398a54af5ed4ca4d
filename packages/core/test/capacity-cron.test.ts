import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cronMatchesWall, parseCron, previousFiring } from "../src/capacity/cron";
import { CronSyntaxError } from "../src/capacity/errors";
import { instantOf, isTimeZone, offsetAt, wallAt } from "../src/capacity/zone";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const t = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
/** A wall-clock reading (local date and time) as the zone module encodes it. */
const wall = (local: string) => Date.parse(`${local}Z`);

describe("cron syntax", () => {
  it("reads lists, ranges, steps and names", () => {
    const cron = parseCron("0,15,40-50/5 8-18/2 1,15 JAN-MAR/2,dec mon-FRI");
    expect(cron.minutes).toEqual([50, 45, 40, 15, 0]);
    expect(cron.hours).toEqual([18, 16, 14, 12, 10, 8]);
    expect([...cron.daysOfMonth].sort((a, b) => a - b)).toEqual([1, 15]);
    expect([...cron.months].sort((a, b) => a - b)).toEqual([1, 3, 12]);
    expect([...cron.daysOfWeek].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5]);
  });

  it("steps from a single value run to the end of the field; */n covers it all", () => {
    expect(parseCron("10/20 * * * *").minutes).toEqual([50, 30, 10]);
    expect(parseCron("*/15 */6 * * *").hours).toEqual([18, 12, 6, 0]);
  });

  it("takes 7 and 0 for Sunday, ? as * in the day fields, and the macros", () => {
    expect([...parseCron("0 0 * * 7").daysOfWeek]).toEqual([0]);
    expect([...parseCron("0 0 * * 5-7").daysOfWeek].sort()).toEqual([0, 5, 6]);
    expect(parseCron("0 12 ? * MON").dayOfMonthRestricted).toBe(false);
    expect(parseCron("@daily")).toMatchObject({ minutes: [0], hours: [0] });
    expect([...parseCron("@weekly").daysOfWeek]).toEqual([0]);
    expect(parseCron("@hourly").hours).toHaveLength(24);
    expect([...parseCron("@yearly").months]).toEqual([1]);
  });

  it("with both day fields restricted a day matches either (Vixie cron), otherwise both", () => {
    const either = parseCron("0 9 1 * MON");
    expect(cronMatchesWall(either, wall("2024-05-01T09:00"))).toBe(true); // Wednesday the 1st
    expect(cronMatchesWall(either, wall("2024-05-06T09:00"))).toBe(true); // Monday the 6th
    expect(cronMatchesWall(either, wall("2024-05-07T09:00"))).toBe(false);
    const both = parseCron("0 9 */2 * MON"); // a day field starting with * is not a restriction
    expect(cronMatchesWall(both, wall("2024-05-13T09:00"))).toBe(true); // Monday the 13th
    expect(cronMatchesWall(both, wall("2024-05-06T09:00"))).toBe(false); // Monday the 6th (even)
    expect(cronMatchesWall(both, wall("2024-05-15T09:00"))).toBe(false); // Wednesday the 15th
  });

  it.each([
    ["0 8 * *", /expected 5 fields .* got 4/],
    ["60 * * * *", /minute: 60 is out of range 0-59/],
    ["0 24 * * *", /hour: 24 is out of range 0-23/],
    ["0 0 0 * *", /day of month: 0 is out of range 1-31/],
    ["0 0 * 13 *", /month: 13 is out of range 1-12/],
    ["0 0 * * 8", /day of week: 8 is out of range 0-7/],
    ["0 0 * * FRI-MON", /range FRI-MON runs backwards/],
    ["*/0 * * * *", /step "0" must be a whole number >= 1/],
    ["0 0 * FOO *", /month: "FOO" is not a number or a name/],
    ["0 MON * * *", /hour: "MON" is not a number$/],
    ["1,,2 * * * *", /empty list item/],
    ["0 0 30 FEB *", /never fires/],
    ["? * * * *", /minute: "\?" is not a number/],
  ])("rejects %s, naming the field", (expression, message) => {
    expect(() => parseCron(expression)).toThrowError(CronSyntaxError);
    expect(() => parseCron(expression)).toThrowError(message);
  });

  it("accepts the 29th of February (it fires in leap years)", () => {
    expect(() => parseCron("0 0 29 2 *")).not.toThrow();
  });
});

describe("time zones through Intl", () => {
  it("knows IANA names and refuses others", () => {
    expect(isTimeZone("Europe/Berlin")).toBe(true);
    expect(isTimeZone("UTC")).toBe(true);
    expect(isTimeZone("Mars/Olympus_Mons")).toBe(false);
  });

  it("reads the wall clock and the offset, with DST", () => {
    expect(iso(wallAt(t("2024-01-15T12:00:00Z"), "Europe/Berlin"))).toBe("2024-01-15T13:00:00.000Z");
    expect(offsetAt(t("2024-07-15T12:00:00Z"), "Europe/Berlin")).toBe(2 * HOUR);
    expect(offsetAt(t("2024-07-15T12:00:00Z"), "Asia/Kolkata")).toBe(5.5 * HOUR);
    expect(offsetAt(t("2024-07-15T12:00:00Z"), "America/St_Johns")).toBe(-2.5 * HOUR);
  });

  it("a skipped local time happens when the clocks jump; a repeated one at its first pass", () => {
    // New York springs forward 2024-03-10 02:00 EST -> 03:00 EDT (07:00Z), falls back 2024-11-03 02:00 EDT -> 01:00 EST (06:00Z)
    expect(iso(instantOf(wall("2024-03-10T02:30"), "America/New_York"))).toBe("2024-03-10T07:00:00.000Z");
    expect(iso(instantOf(wall("2024-03-10T03:00"), "America/New_York"))).toBe("2024-03-10T07:00:00.000Z");
    expect(iso(instantOf(wall("2024-11-03T01:30"), "America/New_York"))).toBe("2024-11-03T05:30:00.000Z");
    expect(iso(instantOf(wall("2024-11-03T02:00"), "America/New_York"))).toBe("2024-11-03T07:00:00.000Z");
    // Lord Howe Island moves by half an hour: 2024-10-06 02:00 (+10:30) -> 02:30 (+11:00), at 15:30Z the day before
    expect(iso(instantOf(wall("2024-10-06T02:15"), "Australia/Lord_Howe"))).toBe("2024-10-05T15:30:00.000Z");
    expect(iso(instantOf(wall("2024-10-06T02:30"), "Australia/Lord_Howe"))).toBe("2024-10-05T15:30:00.000Z");
  });
});

describe("the last time a cron fired", () => {
  it("at or before now, on the zone's wall clock", () => {
    const business = parseCron("0 8 * * MON-FRI");
    // Saturday 2024-05-18 12:00 in Berlin (CEST): Friday 08:00 local
    expect(iso(previousFiring(business, "Europe/Berlin", t("2024-05-18T10:00:00Z")))).toBe("2024-05-17T06:00:00.000Z");
    // in winter the same wall time is an hour later in UTC
    expect(iso(previousFiring(business, "Europe/Berlin", t("2024-01-19T10:00:00Z")))).toBe("2024-01-19T07:00:00.000Z");
    // exactly at the firing minute counts as fired
    expect(iso(previousFiring(business, "Europe/Berlin", t("2024-05-17T06:00:00Z")))).toBe("2024-05-17T06:00:00.000Z");
    expect(iso(previousFiring(business, "Europe/Berlin", t("2024-05-17T05:59:59Z")))).toBe("2024-05-16T06:00:00.000Z");
  });

  it("a boundary in the skipped hour fires at the jump, in the repeated hour once", () => {
    const skipped = parseCron("30 2 * * *");
    expect(iso(previousFiring(skipped, "America/New_York", t("2024-03-10T07:00:00Z")))).toBe("2024-03-10T07:00:00.000Z");
    expect(iso(previousFiring(skipped, "America/New_York", t("2024-03-10T06:59:00Z")))).toBe("2024-03-09T07:30:00.000Z");
    const repeated = parseCron("30 1 * * *");
    // during the second 01:xx (EST) the last firing is still the first 01:30 (EDT)
    expect(iso(previousFiring(repeated, "America/New_York", t("2024-11-03T06:45:00Z")))).toBe("2024-11-03T05:30:00.000Z");
  });

  it("is undefined when the cron did not fire within the horizon", () => {
    expect(previousFiring(parseCron("0 0 29 2 *"), "UTC", t("2025-06-01T00:00:00Z"))).toBeUndefined();
    expect(iso(previousFiring(parseCron("0 0 29 2 *"), "UTC", t("2025-01-01T00:00:00Z")))).toBe("2024-02-29T00:00:00.000Z");
  });
});

/**
 * An oracle that knows nothing of the search: walk forward minute by minute and ask which
 * wall-clock minutes happen at each instant: those later than any reading seen so far (so all the
 * skipped ones at a forward jump, and a repeated one only on its first pass).
 */
function naivePreviousFiring(expression: string, timeZone: string, now: number, lookBackMinutes: number): number | undefined {
  const cron = parseCron(expression);
  const last = Math.floor(now / MINUTE) * MINUTE;
  let latestSeen = wallAt(last - lookBackMinutes * MINUTE, timeZone);
  let fired: number | undefined;
  for (let instant = last - (lookBackMinutes - 1) * MINUTE; instant <= last; instant += MINUTE) {
    const here = wallAt(instant, timeZone);
    for (let w = latestSeen + MINUTE; w <= here; w += MINUTE) if (cronMatchesWall(cron, w)) fired = instant;
    latestSeen = Math.max(latestSeen, here);
  }
  return fired;
}

/** Instants where the zone's offset changes in 2024 (to the minute). */
function transitions(timeZone: string): number[] {
  const found: number[] = [];
  for (let hour = t("2024-01-01T00:00:00Z"); hour < t("2025-01-01T00:00:00Z"); hour += HOUR) {
    if (offsetAt(hour, timeZone) !== offsetAt(hour + HOUR, timeZone)) {
      let instant = hour;
      while (offsetAt(instant, timeZone) === offsetAt(hour, timeZone)) instant += MINUTE;
      found.push(instant);
    }
  }
  return found;
}

const ZONES = ["America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Pacific/Chatham", "America/Santiago", "Asia/Kolkata"];

describe("property: the search agrees with a minute-by-minute walk", () => {
  const values = (max: number, biasTo: number) =>
    fc.oneof(
      fc.constant("*"),
      fc.integer({ min: 1, max: Math.max(1, Math.floor(max / 2)) }).map((step) => `*/${step}`),
      fc.integer({ min: 0, max: biasTo }).map(String),
      fc.tuple(fc.integer({ min: 0, max: max }), fc.integer({ min: 0, max: max })).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
      fc.uniqueArray(fc.integer({ min: 0, max: max }), { minLength: 1, maxLength: 4 }).map((list) => list.join(",")),
      fc.tuple(fc.integer({ min: 0, max: biasTo }), fc.integer({ min: 1, max: 7 })).map(([from, step]) => `${from}/${step}`),
    );
  const daily = fc.tuple(values(59, 59), values(23, 4)).map(([minute, hour]) => `${minute} ${hour} * * *`);
  const changes = new Map(ZONES.map((zone) => [zone, transitions(zone)]));
  const instants = fc.constantFrom(...ZONES).chain((zone) => {
    const near = changes.get(zone) ?? [];
    const around = near.length > 0 ? fc.constantFrom(...near) : fc.constant(t("2024-06-01T00:00:00Z"));
    return fc.tuple(fc.constant(zone), around, fc.integer({ min: -36 * 60, max: 36 * 60 }), fc.integer({ min: 0, max: 59 }));
  });

  it("for daily crons near every DST change of 2024 in zones with odd offsets and half-hour shifts", () => {
    fc.assert(
      fc.property(daily, instants, (expression, [zone, transition, minute, second]) => {
        const now = transition + minute * MINUTE + second * 1000;
        expect(iso(previousFiring(parseCron(expression), zone, now))).toBe(iso(naivePreviousFiring(expression, zone, now, 2 * 24 * 60 + 120)));
      }),
      { numRuns: 150 },
    );
  });
});
