/**
 * Which bounds a group's schedule sets at an instant. A window is open while the last time its
 * `start` cron fired is later than the last time its `end` cron fired, so windows run across
 * midnight and weekends (`start 0 19 * * 1-5`, `end 0 8 * * 1-5`: weeknights and the whole
 * weekend) and follow the wall clock of their time zone through DST changes.
 *
 * Overlapping windows: the highest `priority` wins; among equals the one opened most recently;
 * among those the one listed first. The winner's min, max (and desired) apply as a whole; nothing
 * is merged across windows. With no window open, the group's `default` applies.
 */
import { parseCron, previousFiring } from "./cron";
import type { Bounds, GroupPolicy, WindowPolicy } from "./policy";

export interface WindowState {
  open: boolean;
  /** When it last opened (its start fired). */
  openedAt?: number;
  /** When it last closed (its end fired). */
  closedAt?: number;
}

export interface ScheduleEntry {
  /** The window's name, or "default". */
  entry: string;
  bounds: Bounds;
  timeZone: string;
  openedAt?: Date;
  priority?: number;
  /** Identifies this opening of the window: its desired is applied once per id. */
  id: string;
}

/** Whether a window is open at `now`, in its time zone. */
export function windowState(window: Pick<WindowPolicy, "start" | "end">, timeZone: string, now: number): WindowState {
  const openedAt = previousFiring(parseCron(window.start), timeZone, now);
  const closedAt = previousFiring(parseCron(window.end), timeZone, now);
  return {
    open: openedAt !== undefined && (closedAt === undefined || openedAt > closedAt),
    ...(openedAt !== undefined ? { openedAt } : {}),
    ...(closedAt !== undefined ? { closedAt } : {}),
  };
}

/** The schedule entry in force for a group at `now` (see the precedence rule above). */
export function resolveSchedule(group: GroupPolicy, policyTimeZone: string, now: number): ScheduleEntry {
  const groupZone = group.timeZone ?? policyTimeZone;
  const open = group.windows
    .map((window, index) => {
      const timeZone = window.timeZone ?? groupZone;
      return { window, index, timeZone, state: windowState(window, timeZone, now) };
    })
    .filter((candidate) => candidate.state.open)
    .sort((a, b) => b.window.priority - a.window.priority || (b.state.openedAt ?? 0) - (a.state.openedAt ?? 0) || a.index - b.index);
  const winner = open[0];
  if (!winner) return { entry: "default", bounds: group.default, timeZone: groupZone, id: "default" };
  const { window } = winner;
  const openedAt = new Date(winner.state.openedAt ?? now);
  return {
    entry: window.name,
    bounds: { min: window.min, max: window.max, ...(window.desired !== undefined ? { desired: window.desired } : {}) },
    timeZone: winner.timeZone,
    openedAt,
    priority: window.priority,
    id: `${window.name}@${openedAt.toISOString()}`,
  };
}
