/**
 * Five-field cron (minute hour day-of-month month day-of-week) as Vixie cron reads it: lists,
 * ranges, steps (`*\/15`, `1-5/2`, `10/20`), month and weekday names (JAN, mon), 0 or 7 for Sunday,
 * `?` as `*` in the day fields, and the @hourly/@daily/@weekly/@monthly/@yearly macros. When both
 * day fields are restricted a day matches either (`0 9 1 * MON`: the 1st and every Monday).
 * Evaluated on the wall clock of a named time zone (see zone.ts for DST).
 */
import { CronSyntaxError } from "./errors";
import { DAY_MS, HOUR_MS, instantOf, MINUTE_MS, offsetAt } from "./zone";

export interface Cron {
  readonly expression: string;
  /** Allowed values, descending (the search walks back in time). */
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly daysOfMonth: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  /** 0 = Sunday. */
  readonly daysOfWeek: ReadonlySet<number>;
  readonly dayOfMonthRestricted: boolean;
  readonly dayOfWeekRestricted: boolean;
}

interface FieldSpec {
  label: string;
  min: number;
  max: number;
  names?: readonly string[];
  /** The first name's value. */
  nameBase?: number;
  allowQuestionMark?: boolean;
}

const MONTH_NAMES = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"] as const;
const DAY_NAMES = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"] as const;

const FIELDS: readonly FieldSpec[] = [
  { label: "minute", min: 0, max: 59 },
  { label: "hour", min: 0, max: 23 },
  { label: "day of month", min: 1, max: 31, allowQuestionMark: true },
  { label: "month", min: 1, max: 12, names: MONTH_NAMES, nameBase: 1 },
  { label: "day of week", min: 0, max: 7, names: DAY_NAMES, nameBase: 0, allowQuestionMark: true },
];

const MACROS: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

/** Days in each month of a leap year: the most a day-of-month can reach. */
const MAX_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

/** How far back a search looks for the last time a cron fired. */
export const CRON_HORIZON_DAYS = 400;

function parseValue(expression: string, spec: FieldSpec, token: string): number {
  if (/^\d+$/.test(token)) {
    const value = Number(token);
    if (value < spec.min || value > spec.max) throw new CronSyntaxError(expression, `${spec.label}: ${value} is out of range ${spec.min}-${spec.max}`);
    return value;
  }
  const index = spec.names?.indexOf(token.toUpperCase()) ?? -1;
  if (index < 0 || spec.nameBase === undefined) throw new CronSyntaxError(expression, `${spec.label}: "${token}" is not a number${spec.names ? " or a name" : ""}`);
  return index + spec.nameBase;
}

function parseField(expression: string, spec: FieldSpec, text: string): Set<number> {
  const values = new Set<number>();
  for (const item of text.split(",")) {
    if (item === "") throw new CronSyntaxError(expression, `${spec.label}: empty list item in "${text}"`);
    const [range, stepText, extra] = item.split("/");
    if (extra !== undefined || range === undefined || range === "") throw new CronSyntaxError(expression, `${spec.label}: "${item}" is not a value, range or step`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) < 1) throw new CronSyntaxError(expression, `${spec.label}: step "${stepText}" must be a whole number >= 1`);
      step = Number(stepText);
    }
    let lo: number;
    let hi: number;
    if (range === "*" || (range === "?" && spec.allowQuestionMark)) {
      lo = spec.min;
      hi = spec.max;
    } else if (range.includes("-")) {
      const [from, to, more] = range.split("-");
      if (more !== undefined || !from || !to) throw new CronSyntaxError(expression, `${spec.label}: "${range}" is not a range`);
      lo = parseValue(expression, spec, from);
      hi = parseValue(expression, spec, to);
      if (lo > hi) throw new CronSyntaxError(expression, `${spec.label}: range ${range} runs backwards`);
    } else {
      lo = parseValue(expression, spec, range);
      // Vixie cron: "10/20" means from 10 to the end in steps of 20
      hi = stepText === undefined ? lo : spec.max;
    }
    for (let value = lo; value <= hi; value += step) values.add(value);
  }
  return values;
}

const descending = (values: Set<number>) => [...values].sort((a, b) => b - a);

/** Parses a 5-field cron expression (or macro); throws CronSyntaxError naming the field. */
export function parseCron(expression: string): Cron {
  const source = expression.trim();
  const expanded = MACROS[source.toLowerCase()] ?? source;
  const fields = expanded.split(/\s+/);
  if (fields.length !== 5) throw new CronSyntaxError(expression, `expected 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}`);
  const [minutes, hours, daysOfMonth, months, daysOfWeek] = FIELDS.map((spec, i) => parseField(expression, spec, fields[i] as string)) as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  if (daysOfWeek.delete(7)) daysOfWeek.add(0);
  const restricted = (text: string) => !text.startsWith("*") && !text.startsWith("?");
  const cron: Cron = {
    expression: source,
    minutes: descending(minutes),
    hours: descending(hours),
    daysOfMonth,
    months,
    daysOfWeek,
    dayOfMonthRestricted: restricted(fields[2] as string),
    dayOfWeekRestricted: restricted(fields[4] as string),
  };
  const reachable = [...months].some((month) => [...daysOfMonth].some((day) => day <= (MAX_DAYS[month - 1] ?? 31)));
  if (cron.dayOfMonthRestricted && !cron.dayOfWeekRestricted && !reachable) throw new CronSyntaxError(expression, "never fires: no chosen month has the chosen day of month");
  return cron;
}

/** Whether the cron fires on this calendar day (month 1-12, day of week 0 = Sunday). */
export function cronMatchesDay(cron: Cron, month: number, day: number, dayOfWeek: number): boolean {
  if (!cron.months.has(month)) return false;
  const byMonthDay = cron.daysOfMonth.has(day);
  const byWeekDay = cron.daysOfWeek.has(dayOfWeek);
  if (cron.dayOfMonthRestricted && cron.dayOfWeekRestricted) return byMonthDay || byWeekDay;
  return byMonthDay && byWeekDay;
}

/** Whether the cron fires at this wall-clock minute (UTC-encoded wall value, see zone.ts). */
export function cronMatchesWall(cron: Cron, wall: number): boolean {
  const date = new Date(wall);
  return (
    cronMatchesDay(cron, date.getUTCMonth() + 1, date.getUTCDate(), date.getUTCDay()) &&
    cron.hours.includes(date.getUTCHours()) &&
    cron.minutes.includes(date.getUTCMinutes())
  );
}

/**
 * The last instant at or before `now` at which the cron fired in the zone, or undefined when it
 * did not fire within the horizon. Walks matching wall-clock minutes backwards; wall -> instant is
 * monotonic (zone.ts), so the first one at or before `now` is the latest.
 */
export function previousFiring(cron: Cron, timeZone: string, now: number, horizonDays = CRON_HORIZON_DAYS): number | undefined {
  // in a repeated hour, a later wall reading may already have happened (on the first pass)
  const maxOffset = Math.max(offsetAt(now - DAY_MS, timeZone), offsetAt(now, timeZone), offsetAt(now + DAY_MS, timeZone));
  const startWall = Math.floor((now + maxOffset) / MINUTE_MS) * MINUTE_MS;
  let day = Math.floor(startWall / DAY_MS) * DAY_MS;
  for (let i = 0; i <= horizonDays; i += 1, day -= DAY_MS) {
    const date = new Date(day);
    if (!cronMatchesDay(cron, date.getUTCMonth() + 1, date.getUTCDate(), date.getUTCDay())) continue;
    for (const hour of cron.hours) {
      const hourStart = day + hour * HOUR_MS;
      if (hourStart > startWall) continue;
      for (const minute of cron.minutes) {
        const wall = hourStart + minute * MINUTE_MS;
        if (wall > startWall) continue;
        const instant = instantOf(wall, timeZone);
        if (instant <= now) return instant;
      }
    }
  }
  return undefined;
}
