/**
 * The fallback's memory between runs, read from and written to the on-demand group's tags
 * (CAPACITY_TAGS). Unreadable or inconsistent tags fail that group loudly rather than guess:
 * an operator can see and fix them.
 */
import { CAPACITY_TAGS, FALLBACK_TAG_KEYS } from "./constants";
import { GroupStateError } from "./errors";

export interface FallbackMemory {
  /** Set while a fallback is active. */
  since?: Date;
  /** Instances held above the schedule (0 when no fallback is active). */
  extra: number;
  shortfallSince?: Date;
  healthySince?: Date;
  lastStepDown?: Date;
}

/** Memory may be stamped slightly ahead of our clock by another run; beyond this it is wrong. */
const CLOCK_SKEW_MS = 5 * 60_000;

function readTime(group: string, tags: Record<string, string>, key: string, now: number): Date | undefined {
  const text = tags[key];
  if (text === undefined) return undefined;
  const time = /^\d{4}-\d{2}-\d{2}T/.test(text) ? new Date(text) : new Date(Number.NaN);
  if (Number.isNaN(time.getTime())) throw new GroupStateError(group, `tag ${key}="${text}" is not an ISO 8601 time; fix or remove it`);
  if (time.getTime() > now + CLOCK_SKEW_MS) throw new GroupStateError(group, `tag ${key}="${text}" is in the future (now ${new Date(now).toISOString()}); fix or remove it`);
  return time;
}

/** The memory the tags hold; throws GroupStateError naming a bad or inconsistent tag. */
export function readMemory(group: string, tags: Record<string, string>, now: number): FallbackMemory {
  const since = readTime(group, tags, CAPACITY_TAGS.fallbackSince, now);
  const extraText = tags[CAPACITY_TAGS.fallbackExtra];
  if ((since === undefined) !== (extraText === undefined)) {
    throw new GroupStateError(group, `tags ${CAPACITY_TAGS.fallbackSince} and ${CAPACITY_TAGS.fallbackExtra} must be set together; fix or remove them`);
  }
  let extra = 0;
  if (extraText !== undefined) {
    if (!/^\d+$/.test(extraText) || Number(extraText) < 1) throw new GroupStateError(group, `tag ${CAPACITY_TAGS.fallbackExtra}="${extraText}" is not a whole number >= 1; fix or remove it`);
    extra = Number(extraText);
  }
  const shortfallSince = readTime(group, tags, CAPACITY_TAGS.shortfallSince, now);
  const healthySince = readTime(group, tags, CAPACITY_TAGS.healthySince, now);
  const lastStepDown = readTime(group, tags, CAPACITY_TAGS.lastStepDown, now);
  return {
    extra,
    ...(since ? { since } : {}),
    ...(shortfallSince ? { shortfallSince } : {}),
    ...(since && healthySince ? { healthySince } : {}),
    ...(since && lastStepDown ? { lastStepDown } : {}),
  };
}

/**
 * When the fallback whose start was last published started (from `start@<time>` in the
 * announced tag); undefined when no start awaits its end. Throws GroupStateError on a bad value.
 */
export function readAnnounced(group: string, tags: Record<string, string>, now: number): Date | undefined {
  const text = tags[CAPACITY_TAGS.announced];
  if (text === undefined) return undefined;
  if (!text.startsWith("start@")) throw new GroupStateError(group, `tag ${CAPACITY_TAGS.announced}="${text}" is not start@<ISO 8601 time>; fix or remove it`);
  return readTime(group, { [CAPACITY_TAGS.announced]: text.slice("start@".length) }, CAPACITY_TAGS.announced, now);
}

/** The announced tag's value for a fallback that started at `since`. */
export const announcedValue = (since: Date) => `start@${since.toISOString()}`;

/** The tags that hold a memory (absent keys are removed). */
export function memoryTags(memory: FallbackMemory): Record<string, string> {
  const tags: Record<string, string> = {};
  if (memory.since && memory.extra > 0) {
    tags[CAPACITY_TAGS.fallbackSince] = memory.since.toISOString();
    tags[CAPACITY_TAGS.fallbackExtra] = String(memory.extra);
    if (memory.healthySince) tags[CAPACITY_TAGS.healthySince] = memory.healthySince.toISOString();
    if (memory.lastStepDown) tags[CAPACITY_TAGS.lastStepDown] = memory.lastStepDown.toISOString();
  }
  if (memory.shortfallSince) tags[CAPACITY_TAGS.shortfallSince] = memory.shortfallSince.toISOString();
  return tags;
}

/** The fallback tags a group carries now (the announced tag only when asked: it is written on its own). */
export function fallbackTagsOf(tags: Record<string, string>, options: { withAnnounced?: boolean } = {}): Record<string, string> {
  const keys: string[] = [...FALLBACK_TAG_KEYS, ...(options.withAnnounced ? [CAPACITY_TAGS.announced] : [])];
  return Object.fromEntries(keys.filter((key) => tags[key] !== undefined).map((key) => [key, tags[key] as string]));
}

export function sameTags(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((key) => a[key] === b[key]);
}
