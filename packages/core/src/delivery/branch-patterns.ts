/** Which branches build: exact names or globs (`*` within one path segment, `**` across segments). */

export class BranchPatterns {
  private readonly matchers: RegExp[];

  constructor(readonly patterns: readonly string[]) {
    this.matchers = patterns.map(toRegExp);
  }

  /** Parses a comma-separated list, e.g. `main,release/*`. */
  static parse(list: string): BranchPatterns {
    return new BranchPatterns(
      list
        .split(",")
        .map((p) => p.trim())
        .filter((p) => p !== ""),
    );
  }

  /** True when any pattern matches the whole branch name. */
  matches(branch: string): boolean {
    return this.matchers.some((m) => m.test(branch));
  }
}

function toRegExp(pattern: string): RegExp {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i]!;
    if (char === "*" && pattern[i + 1] === "*") {
      source += ".*";
      i++;
    } else if (char === "*") {
      source += "[^/]*";
    } else {
      source += char.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
    }
  }
  return new RegExp(`^${source}$`);
}
