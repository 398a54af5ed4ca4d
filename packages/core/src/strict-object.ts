/**
 * Objects that refuse keys they do not know. A misspelt key in a configuration file (`priorty`,
 * `shortfallMinute`) would otherwise be dropped silently and its default used instead; here it is
 * an error naming the key and the known key closest to it.
 */
import * as z from "zod";

/**
 * Edit distance between two keys, case-insensitive: insertions, deletions, substitutions and
 * swaps of two neighbouring letters count one each (optimal string alignment).
 */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  const rows = s.length + 1;
  const cols = t.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i += 1) {
    for (let j = 1; j < cols; j += 1) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      const row = d[i] as number[];
      const above = d[i - 1] as number[];
      row[j] = Math.min((above[j] as number) + 1, (row[j - 1] as number) + 1, (above[j - 1] as number) + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
    }
  }
  return (d[s.length] as number[])[t.length] as number;
}

/** The known key closest to `key` (the first listed among equals); undefined when none is known. */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const distance = editDistance(key, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** `unknown key "priorty" (did you mean "priority"?)`, one clause per key. */
export function describeUnknownKeys(keys: readonly string[], known: readonly string[], retired: Readonly<Record<string, string>> = {}): string {
  const clauses = keys.map((key) => {
    const why = retired[key];
    if (why !== undefined) return `key "${key}" is not supported here: ${why}`;
    const closest = closestKey(key, known);
    return `unknown key "${key}"${closest === undefined ? "" : ` (did you mean "${closest}"?)`}`;
  });
  return clauses.join(", ");
}

/**
 * A zod object that fails on keys outside its shape, naming each one and the closest known key.
 * `retired` names keys that are refused with a specific explanation instead.
 */
export function strictObject<S extends z.ZodRawShape>(shape: S, retired: Readonly<Record<string, string>> = {}) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => (issue.code === "unrecognized_keys" ? describeUnknownKeys(issue.keys, known, retired) : undefined),
  });
}
