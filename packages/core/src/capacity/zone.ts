/**
 * Wall-clock time in named IANA time zones with the platform's Intl (Node ships full ICU), no
 * dependency. A "wall" value is a local date and time encoded as if it were UTC milliseconds, so
 * calendar arithmetic stays plain Date.UTC math; only the conversions touch the zone.
 *
 * Local times that do not exist or exist twice around a DST change are resolved so that
 * schedules behave as people expect: a time skipped when clocks spring forward happens at the
 * moment of the jump (02:30 on that day -> 03:00 new time); a time repeated when clocks fall back
 * happens once, at its first occurrence. Both keep wall -> instant monotonic.
 */

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let found = formatters.get(timeZone);
  if (!found) {
    found = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timeZone, found);
  }
  return found;
}

/** Whether the platform knows the zone (an IANA name such as Europe/Berlin, or UTC). */
export function isTimeZone(name: string): boolean {
  try {
    formatter(name);
    return true;
  } catch {
    return false;
  }
}

/** The wall-clock reading at an instant, encoded as UTC milliseconds. */
export function wallAt(instant: number, timeZone: string): number {
  const fields = { year: 0, month: 1, day: 1, hour: 0, minute: 0, second: 0 };
  for (const part of formatter(timeZone).formatToParts(instant)) {
    if (part.type in fields) fields[part.type as keyof typeof fields] = Number(part.value);
  }
  const millis = ((instant % 1000) + 1000) % 1000;
  return Date.UTC(fields.year, fields.month - 1, fields.day, fields.hour % 24, fields.minute, fields.second) + millis;
}

/** The zone's offset from UTC at an instant, in ms (wall = instant + offset). */
export function offsetAt(instant: number, timeZone: string): number {
  return wallAt(instant, timeZone) - instant;
}

/**
 * The instant a wall-clock time happens in the zone: the first of two in a repeated hour, the
 * moment of the jump for a skipped one.
 */
export function instantOf(wall: number, timeZone: string): number {
  // offsets a day either side: every real zone changes at most once within that span
  const before = offsetAt(wall - DAY_MS, timeZone);
  const after = offsetAt(wall + DAY_MS, timeZone);
  const valid = [...new Set([before, after])].map((offset) => wall - offset).filter((instant) => offsetAt(instant, timeZone) === wall - instant);
  if (valid.length > 0) return Math.min(...valid);
  // skipped by a forward jump: the transition lies between the two readings; find it to the second
  let lo = wall - Math.max(before, after);
  let hi = wall - Math.min(before, after);
  const late = Math.max(before, after);
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
    if (offsetAt(mid, timeZone) === late) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** `2024-03-10 03:00` style, for reasons and reports. */
export function formatWall(instant: number, timeZone: string): string {
  return new Date(wallAt(instant, timeZone)).toISOString().slice(0, 16).replace("T", " ");
}
