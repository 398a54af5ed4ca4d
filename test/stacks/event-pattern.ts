/**
 * EventBridge's matching rules for the operators the stacks use: a pattern field is a list of
 * allowed values (any match), or an object with `prefix`, `anything-but` or `exists`; nested
 * objects match nested fields; every field of the pattern must match.
 */
type Rule = unknown[] | { [key: string]: unknown };

function matchesValue(allowed: unknown, value: unknown): boolean {
  if (allowed !== null && typeof allowed === "object") {
    const op = allowed as Record<string, unknown>;
    if ("prefix" in op) return typeof value === "string" && value.startsWith(String(op["prefix"]));
    if ("anything-but" in op) {
      const excluded = Array.isArray(op["anything-but"]) ? op["anything-but"] : [op["anything-but"]];
      return value !== undefined && !excluded.includes(value);
    }
    if ("exists" in op) return (value !== undefined) === Boolean(op["exists"]);
    throw new Error(`unsupported pattern operator ${JSON.stringify(op)}`);
  }
  return allowed === value;
}

export function matchesPattern(pattern: Record<string, Rule>, event: Record<string, unknown>): boolean {
  return Object.entries(pattern).every(([field, rule]) => {
    const value = event[field];
    if (Array.isArray(rule)) {
      const values = Array.isArray(value) ? value : [value];
      return values.some((v) => rule.some((allowed) => matchesValue(allowed, v)));
    }
    if (rule !== null && typeof rule === "object") {
      return value !== null && typeof value === "object" && !Array.isArray(value) && matchesPattern(rule as Record<string, Rule>, value as Record<string, unknown>);
    }
    throw new Error(`pattern field ${field} must be a list or an object`);
  });
}
