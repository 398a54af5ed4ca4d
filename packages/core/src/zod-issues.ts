import type * as z from "zod";

/** One line naming every bad field, the rule it broke and the value it had. */
export function describeZodIssues(error: z.ZodError, prefix = ""): string {
  return error.issues
    .map((issue) => {
      const path = [...(prefix ? [prefix] : []), ...issue.path.map(String)].join(".") || "(root)";
      // an unknown key's message names the key; the whole object it sat in would only be noise
      const got = issue.code !== "unrecognized_keys" && "input" in issue && issue.input !== undefined ? ` (got ${JSON.stringify(issue.input)?.slice(0, 80)})` : "";
      return `${path}: ${issue.message}${got}`;
    })
    .join("; ");
}
