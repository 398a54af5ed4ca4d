/**
 * AWS's API models write `pattern` constraints in java.util.regex syntax, and AWS matches them
 * against the whole value (`Matcher.matches()`: `[\w+=,.@-]*` rejects "a:b"). JavaScript's RegExp
 * differs in ways that matter: Java accepts escapes JS rejects in Unicode mode (`\-`, `\_`, `\:`),
 * has POSIX and Unicode property names JS lacks (`\p{Print}`, `\p{IsLetter}`), ASCII-only `\s`,
 * nested and intersected classes (`[\p{Print}&&[^|:/]]`), inline flags (`(?i)`, `(?s)`),
 * possessive quantifiers, `\A`/`\z`, and quantified anchors. This module reads a Java pattern and
 * writes the JavaScript (Unicode mode) pattern that accepts the same strings, so a fake holds a
 * request to the same rule AWS does. What it cannot translate faithfully it refuses by name.
 */

export class UntranslatablePatternError extends Error {
  override name = "UntranslatablePatternError";
  constructor(
    readonly pattern: string,
    readonly reason: string,
  ) {
    super(`cannot translate the Java pattern ${JSON.stringify(pattern)} to JavaScript: ${reason}`);
  }
}

/** Compiles a Java pattern into a RegExp that, like AWS, must match the whole value. */
export function compileJavaPattern(pattern: string): RegExp {
  const source = translateJavaPattern(pattern);
  try {
    return new RegExp(`^(?:${source})$`, "u");
  } catch (error) {
    throw new UntranslatablePatternError(pattern, `the translation does not compile (${(error as Error).message})`);
  }
}

/** The JavaScript (Unicode-mode) source equivalent to a Java pattern, unanchored as the original. */
export function translateJavaPattern(pattern: string): string {
  return new Translator(pattern).translate();
}

interface Flags {
  /** CASE_INSENSITIVE, ASCII letters only as in Java without UNICODE_CASE. */
  i: boolean;
  /** DOTALL */
  s: boolean;
  /** MULTILINE */
  m: boolean;
  /** UNIX_LINES: only \n ends a line. */
  d: boolean;
}

/** One code point's worth of a character class, before it is written out. */
type ClassItem =
  | { kind: "range"; lo: number; hi: number }
  /** Text valid inside a JS class, e.g. `a-z` or `\p{L}`. */
  | { kind: "fragment"; text: string }
  /** The complement of such text. */
  | { kind: "negated"; text: string }
  /** A complete JS expression matching exactly one code point (a nested class). */
  | { kind: "expression"; text: string };

interface Atom {
  text: string;
  /** JS forbids quantifying assertions and lookarounds; Java allows it, so those get a group. */
  quantifiable: boolean;
}

const JAVA_LINE_TERMINATORS = "\\n\\r\\u{85}\\u{2028}\\u{2029}";
const ASCII_SPACE = " \\t\\n\\u{b}\\f\\r";

/** java.util.regex POSIX classes are US-ASCII only. */
const POSIX_CLASSES: Record<string, string> = {
  Lower: "a-z",
  Upper: "A-Z",
  ASCII: "\\u{0}-\\u{7f}",
  Alpha: "a-zA-Z",
  Digit: "0-9",
  Alnum: "a-zA-Z0-9",
  Punct: "!-\\/:-@\\[-`\\{-~",
  Graph: "!-~",
  Print: " -~",
  Blank: " \\t",
  Cntrl: "\\u{0}-\\u{1f}\\u{7f}",
  XDigit: "0-9a-fA-F",
  Space: ASCII_SPACE,
  all: "\\s\\S",
  L1: "\\u{0}-\\u{ff}",
  LD: "\\p{L}\\p{Nd}",
  javaLowerCase: "\\p{Lowercase}",
  javaUpperCase: "\\p{Uppercase}",
  javaAlphabetic: "\\p{Alphabetic}",
  javaIdeographic: "\\p{Ideographic}",
  javaLetter: "\\p{L}",
  javaDigit: "\\p{Nd}",
  javaLetterOrDigit: "\\p{L}\\p{Nd}",
  javaTitleCase: "\\p{Lt}",
  javaSpaceChar: "\\p{Zs}\\p{Zl}\\p{Zp}",
  javaISOControl: "\\u{0}-\\u{1f}\\u{7f}-\\u{9f}",
  javaMirrored: "\\p{Bidi_Mirrored}",
};

/** Java's `\p{IsXxx}` binary properties that JS spells differently. */
const JAVA_BINARY_PROPERTIES: Record<string, string> = {
  alphabetic: "\\p{Alphabetic}",
  ideographic: "\\p{Ideographic}",
  letter: "\\p{L}",
  lowercase: "\\p{Lowercase}",
  uppercase: "\\p{Uppercase}",
  titlecase: "\\p{Lt}",
  punctuation: "\\p{P}",
  control: "\\p{Cc}",
  white_space: "\\p{White_Space}",
  whitespace: "\\p{White_Space}",
  digit: "\\p{Nd}",
  hex_digit: "\\p{Hex_Digit}",
  hexdigit: "\\p{Hex_Digit}",
  join_control: "\\p{Join_Control}",
  joincontrol: "\\p{Join_Control}",
  noncharacter_code_point: "\\p{Noncharacter_Code_Point}",
  noncharactercodepoint: "\\p{Noncharacter_Code_Point}",
  assigned: "\\P{Cn}",
  emoji: "\\p{Emoji}",
};

class Translator {
  private i = 0;

  constructor(private readonly src: string) {}

  translate(): string {
    const flags: Flags = { i: false, s: false, m: false, d: false };
    const out = this.alternation(flags);
    if (this.i < this.src.length) this.fail(`unbalanced ')' at index ${this.i}`);
    return out;
  }

  private fail(reason: string): never {
    throw new UntranslatablePatternError(this.src, reason);
  }

  private peek(offset = 0): string | undefined {
    return this.src[this.i + offset];
  }

  private startsWith(text: string): boolean {
    return this.src.startsWith(text, this.i);
  }

  /** Alternatives up to a ')' or the end. Inline flags stay in force to the end of the group, across '|'. */
  private alternation(outer: Flags): string {
    const flags = { ...outer };
    const alternatives: string[] = [this.sequence(flags)];
    while (this.peek() === "|") {
      this.i += 1;
      alternatives.push(this.sequence(flags));
    }
    return alternatives.join("|");
  }

  private sequence(flags: Flags): string {
    let out = "";
    while (this.i < this.src.length && this.peek() !== "|" && this.peek() !== ")") {
      const atom = this.atom(flags);
      if (atom === undefined) continue;
      out += this.quantified(atom);
    }
    return out;
  }

  /** Java allows stacked (`\S+{1,256}`) and possessive (`\d{1}+`) quantifiers; JS needs a group or nothing. */
  private quantified(atom: Atom): string {
    let text = atom.text;
    let quantifiable = atom.quantifiable;
    let quantified = false;
    for (;;) {
      const quantifier = this.quantifier();
      if (quantifier === undefined) return text;
      if (text === "") this.fail(`a quantifier with nothing to repeat at index ${this.i}`);
      if (quantified || !quantifiable) text = `(?:${text})`;
      text += quantifier;
      quantified = true;
      quantifiable = true;
    }
  }

  private quantifier(): string | undefined {
    const c = this.peek();
    let q: string | undefined;
    if (c === "*" || c === "+" || c === "?") {
      q = c;
      this.i += 1;
    } else if (c === "{") {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.i));
      if (!m) return undefined;
      q = m[0];
      this.i += m[0].length;
    } else {
      return undefined;
    }
    if (this.peek() === "?") {
      this.i += 1;
      return `${q}?`;
    }
    // Possessive: same acceptance for a whole-value match in all but contrived patterns; never stricter.
    if (this.peek() === "+") this.i += 1;
    return q;
  }

  private atom(flags: Flags): Atom | undefined {
    const c = this.peek() as string;
    switch (c) {
      case "(":
        return this.group(flags);
      case "[": {
        this.i += 1;
        return { text: this.characterClass(flags), quantifiable: true };
      }
      case ".":
        this.i += 1;
        return { text: flags.s ? "[\\s\\S]" : `[^${lineTerminators(flags)}]`, quantifiable: true };
      case "^":
        this.i += 1;
        return { text: flags.m ? `(?:^|(?<=[${lineTerminators(flags)}])(?!$))` : "^", quantifiable: false };
      case "$":
        this.i += 1;
        return { text: endOfInput(flags, flags.m), quantifiable: false };
      case "\\":
        return this.escapeOutsideClass(flags);
      case "*":
      case "+":
      case "?":
        return this.fail(`dangling '${c}' at index ${this.i}`);
      default: {
        const cp = this.src.codePointAt(this.i) as number;
        this.i += cp > 0xffff ? 2 : 1;
        return { text: literal(cp, flags), quantifiable: true };
      }
    }
  }

  private group(flags: Flags): Atom | undefined {
    this.i += 1;
    let open = "(";
    let inner = flags;
    let quantifiable = true;
    if (this.peek() === "?") {
      const rest = this.src.slice(this.i);
      const flagGroup = /^\?([a-zA-Z]*)(?:-([a-zA-Z]*))?([:)])/.exec(rest);
      if (rest.startsWith("?:")) {
        open = "(?:";
        this.i += 2;
      } else if (rest.startsWith("?>")) {
        // Atomic group: as possessive quantifiers, accepts at least what Java accepts.
        open = "(?:";
        this.i += 2;
      } else if (rest.startsWith("?=") || rest.startsWith("?!")) {
        open = `(${rest.slice(0, 2)}`;
        this.i += 2;
        quantifiable = false;
      } else if (rest.startsWith("?<=") || rest.startsWith("?<!")) {
        open = `(${rest.slice(0, 3)}`;
        this.i += 3;
        quantifiable = false;
      } else if (/^\?<[a-zA-Z][a-zA-Z0-9]*>/.test(rest)) {
        const name = /^\?<([a-zA-Z][a-zA-Z0-9]*)>/.exec(rest) as RegExpExecArray;
        open = `(?<${name[1]}>`;
        this.i += name[0].length;
      } else if (flagGroup) {
        const changed = applyFlags(flags, flagGroup[1] ?? "", flagGroup[2] ?? "", (reason) => this.fail(reason));
        this.i += flagGroup[0].length;
        if (flagGroup[3] === ")") {
          // (?i) changes the rest of the enclosing group.
          Object.assign(flags, changed);
          return undefined;
        }
        open = "(?:";
        inner = changed;
      } else {
        this.fail(`unsupported group construct at index ${this.i - 1}`);
      }
    }
    const body = this.alternation(inner);
    if (this.peek() !== ")") this.fail("unclosed group");
    this.i += 1;
    return { text: `${open}${body})`, quantifiable };
  }

  private escapeOutsideClass(flags: Flags): Atom {
    const c = this.peek(1);
    if (c === undefined) this.fail("trailing backslash");
    switch (c) {
      case "b":
      case "B":
        this.i += 2;
        return { text: `\\${c}`, quantifiable: false };
      case "A":
        this.i += 2;
        return { text: "^", quantifiable: false };
      case "z":
        this.i += 2;
        return { text: "$", quantifiable: false };
      case "Z":
        this.i += 2;
        return { text: endOfInput(flags, false), quantifiable: false };
      case "R":
        this.i += 2;
        return { text: "(?:\\r\\n|[\\n\\u{b}\\f\\r\\u{85}\\u{2028}\\u{2029}])", quantifiable: true };
      case "Q": {
        const text = this.quoted().map((cp) => literal(cp, flags)).join("");
        return { text: text === "" ? "" : `(?:${text})`, quantifiable: true };
      }
      case "k": {
        const m = /^\\k<([a-zA-Z][a-zA-Z0-9]*)>/.exec(this.src.slice(this.i));
        if (!m) this.fail("malformed \\k<name>");
        this.i += m[0].length;
        return { text: m[0], quantifiable: true };
      }
    }
    if (c !== undefined && /[1-9]/.test(c)) {
      const m = /^\\(\d+)/.exec(this.src.slice(this.i)) as RegExpExecArray;
      this.i += m[0].length;
      return { text: `\\${m[1]}`, quantifiable: true };
    }
    const item = this.escapeItem(flags, false);
    return { text: itemAsExpression(item, flags), quantifiable: true };
  }

  /** `\Q...\E`: everything between is literal. */
  private quoted(): number[] {
    this.i += 2;
    const end = this.src.indexOf("\\E", this.i);
    const text = this.src.slice(this.i, end === -1 ? undefined : end);
    this.i = end === -1 ? this.src.length : end + 2;
    return [...text].map((ch) => ch.codePointAt(0) as number);
  }

  /** An escape that stands for one code point or a set of them (valid inside and outside classes). */
  private escapeItem(flags: Flags, inClass: boolean): ClassItem {
    const c = this.peek(1) as string;
    const at = this.i;
    this.i += 2;
    const single = (cp: number): ClassItem => ({ kind: "range", lo: cp, hi: cp });
    switch (c) {
      case "d":
        return { kind: "fragment", text: "0-9" };
      case "D":
        return { kind: "negated", text: "0-9" };
      case "w":
        return { kind: "fragment", text: "a-zA-Z_0-9" };
      case "W":
        return { kind: "negated", text: "a-zA-Z_0-9" };
      case "s":
        return { kind: "fragment", text: ASCII_SPACE };
      case "S":
        return { kind: "negated", text: ASCII_SPACE };
      case "h":
        return { kind: "fragment", text: HORIZONTAL_SPACE };
      case "H":
        return { kind: "negated", text: HORIZONTAL_SPACE };
      case "v":
        return { kind: "fragment", text: VERTICAL_SPACE };
      case "V":
        return { kind: "negated", text: VERTICAL_SPACE };
      case "p":
      case "P":
        return this.property(c === "P");
      case "t":
        return single(0x09);
      case "n":
        return single(0x0a);
      case "r":
        return single(0x0d);
      case "f":
        return single(0x0c);
      case "a":
        return single(0x07);
      case "e":
        return single(0x1b);
      case "0": {
        const m = /^[0-3]?[0-7]{1,2}|^[0-7]/.exec(this.src.slice(this.i));
        if (!m) this.fail(`malformed octal escape at index ${at}`);
        this.i += m[0].length;
        return single(parseInt(m[0], 8));
      }
      case "x": {
        const braced = /^\{([0-9a-fA-F]+)\}/.exec(this.src.slice(this.i));
        if (braced) {
          this.i += braced[0].length;
          return single(parseInt(braced[1] as string, 16));
        }
        const m = /^[0-9a-fA-F]{2}/.exec(this.src.slice(this.i));
        if (!m) this.fail(`malformed \\x escape at index ${at}`);
        this.i += 2;
        return single(parseInt(m[0], 16));
      }
      case "u": {
        const m = /^[0-9a-fA-F]{4}/.exec(this.src.slice(this.i));
        if (!m) this.fail(`malformed \\u escape at index ${at}`);
        this.i += 4;
        let cp = parseInt(m[0], 16);
        // Java joins an escaped surrogate pair into the one code point it encodes.
        const low = /^\\u([dD][c-fC-F][0-9a-fA-F]{2})/.exec(this.src.slice(this.i));
        if (cp >= 0xd800 && cp <= 0xdbff && low) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (parseInt(low[1] as string, 16) - 0xdc00);
          this.i += 6;
        }
        return single(cp);
      }
      case "c": {
        const next = this.peek();
        if (next === undefined) this.fail("malformed \\c escape");
        this.i += 1;
        return single((next.codePointAt(0) as number) ^ 64);
      }
      case "Q":
        this.i = at;
        if (!inClass) this.fail("\\Q inside an expression");
        return { kind: "fragment", text: this.quoted().map(classChar).join("") };
    }
    if (/[a-zA-Z]/.test(c)) this.fail(`unsupported escape \\${c} at index ${at}`);
    if (/[0-9]/.test(c)) this.fail(`back reference \\${c} inside a character class at index ${at}`);
    // Java lets any other character be escaped to stand for itself.
    const cp = this.src.codePointAt(at + 1) as number;
    this.i = at + 1 + (cp > 0xffff ? 2 : 1);
    return single(cp);
  }

  private property(negated: boolean): ClassItem {
    let name: string;
    if (this.peek() === "{") {
      const end = this.src.indexOf("}", this.i);
      if (end === -1) this.fail("unclosed \\p{");
      name = this.src.slice(this.i + 1, end);
      this.i = end + 1;
    } else {
      name = this.peek() ?? "";
      this.i += 1;
    }
    const text = propertyText(name) ?? this.fail(`unknown or unsupported property \\p{${name}}`);
    return { kind: negated ? "negated" : "fragment", text };
  }

  /**
   * After '['. Java classes may nest (`[a-z[0-9]]` is a union) and intersect (`[a-z&&[^aeiou]]`);
   * the result is a JS expression matching one code point.
   */
  private characterClass(flags: Flags): string {
    let negated = false;
    if (this.peek() === "^") {
      negated = true;
      this.i += 1;
    }
    const operands: ClassItem[][] = [[]];
    let first = true;
    for (;;) {
      const c = this.peek();
      if (c === undefined) this.fail("unclosed character class");
      const items = operands[operands.length - 1] as ClassItem[];
      if (c === "]" && !first) {
        this.i += 1;
        break;
      }
      first = false;
      if (c === "[") {
        this.i += 1;
        items.push({ kind: "expression", text: this.characterClass(flags) });
        continue;
      }
      if (this.startsWith("&&")) {
        this.i += 2;
        operands.push([]);
        continue;
      }
      const start = this.classAtom(flags);
      if (start.kind === "range" && this.peek() === "-" && this.peek(1) !== "]" && this.peek(1) !== "[" && this.peek(1) !== undefined && !this.src.startsWith("&&", this.i + 1)) {
        const save = this.i;
        this.i += 1;
        const end = this.classAtom(flags);
        if (end.kind === "range") {
          if (end.lo < start.lo) this.fail(`illegal character range at index ${save}`);
          items.push({ kind: "range", lo: start.lo, hi: end.lo });
          continue;
        }
        // `[\w-\d]`-like: Java treats the dash literally when a side is not a single character.
        this.i = save;
      }
      items.push(start);
    }
    const unions = operands.filter((items) => items.length > 0).map((items) => unionExpression(items, flags));
    if (unions.length === 0) this.fail("empty character class");
    let expression: string;
    if (unions.length === 1) {
      expression = unions[0] as string;
    } else {
      const [head, ...rest] = unions;
      expression = `(?:${rest.map((u) => `(?=${u})`).join("")}${head})`;
    }
    if (!negated) return expression;
    const simple = /^\[([^\]\\[]|\\.)*\]$/u.test(expression) && !expression.startsWith("[^");
    return simple ? `[^${expression.slice(1)}` : `(?:(?!${expression})[\\s\\S])`;
  }

  /** One element inside a class: a character, or an escape (a character or a set). */
  private classAtom(flags: Flags): ClassItem {
    if (this.peek() === "\\") {
      if (this.peek(1) === "Q") {
        const cps = this.quoted();
        if (cps.length === 0) return { kind: "fragment", text: "" };
        return { kind: "fragment", text: cps.map(classChar).join("") };
      }
      return this.escapeItem(flags, true);
    }
    const cp = this.src.codePointAt(this.i) as number;
    this.i += cp > 0xffff ? 2 : 1;
    return { kind: "range", lo: cp, hi: cp };
  }
}

const HORIZONTAL_SPACE = " \\t\\u{a0}\\u{1680}\\u{180e}\\u{2000}-\\u{200a}\\u{202f}\\u{205f}\\u{3000}";
const VERTICAL_SPACE = "\\n\\u{b}\\f\\r\\u{85}\\u{2028}\\u{2029}";

function lineTerminators(flags: Flags): string {
  return flags.d ? "\\n" : JAVA_LINE_TERMINATORS;
}

/** Java's `$` (and `\Z`) also match just before a final line terminator. */
function endOfInput(flags: Flags, multiline: boolean): string {
  if (multiline) return `(?=[${lineTerminators(flags)}]|$)`;
  return flags.d ? "(?=\\n?$)" : `(?=(?:\\r\\n|[${JAVA_LINE_TERMINATORS}])?$)`;
}

function applyFlags(flags: Flags, on: string, off: string, fail: (reason: string) => never): Flags {
  const next = { ...flags };
  for (const [letters, value] of [
    [on, true],
    [off, false],
  ] as const) {
    for (const f of letters) {
      if (f === "i" || f === "s" || f === "m" || f === "d") next[f] = value;
      else if (f === "u" && value && next.i) fail("Unicode case folding (?iu)");
      else if (f !== "u") fail(`unsupported inline flag '${f}'`);
    }
  }
  return next;
}

function propertyText(name: string): string | undefined {
  const posix = POSIX_CLASSES[name];
  if (posix !== undefined) return posix;
  let js: string | undefined;
  const eq = /^(script|sc|general_category|gc|block|blk)=(.+)$/i.exec(name);
  if (eq) {
    const kind = (eq[1] as string).toLowerCase();
    if (kind === "block" || kind === "blk") return undefined;
    js = kind === "script" || kind === "sc" ? `\\p{Script=${eq[2]}}` : `\\p{General_Category=${eq[2]}}`;
  } else if (/^In/.test(name)) {
    return undefined;
  } else if (/^Is/.test(name)) {
    const rest = name.slice(2);
    js = JAVA_BINARY_PROPERTIES[rest.toLowerCase()] ?? (validProperty(`\\p{${rest}}`) ? `\\p{${rest}}` : `\\p{Script=${rest}}`);
  } else {
    js = `\\p{${name}}`;
  }
  return validProperty(js) ? js : undefined;
}

function validProperty(text: string): boolean {
  try {
    new RegExp(`[${text}]`, "u");
    return true;
  } catch {
    return false;
  }
}

/** A code point written so that it is literal inside a JS class in Unicode mode. */
function classChar(cp: number): string {
  if (/[0-9A-Za-z]/.test(String.fromCodePoint(cp))) return String.fromCodePoint(cp);
  return `\\u{${cp.toString(16)}}`;
}

/** A code point written so that it is literal outside a class; ASCII letters fold under (?i). */
function literal(cp: number, flags: Flags): string {
  const ch = String.fromCodePoint(cp);
  if (flags.i && /[A-Za-z]/.test(ch)) return `[${ch.toLowerCase()}${ch.toUpperCase()}]`;
  return classChar(cp);
}

function itemAsExpression(item: ClassItem, flags: Flags): string {
  return unionExpression([item], flags);
}

/** The union of class items as one JS expression matching a single code point. */
function unionExpression(items: ClassItem[], flags: Flags): string {
  let positive = "";
  const alternatives: string[] = [];
  for (const item of items) {
    switch (item.kind) {
      case "range":
        positive += rangeText(item.lo, item.hi);
        if (flags.i) positive += caseFolded(item.lo, item.hi);
        break;
      case "fragment":
        positive += item.text;
        break;
      case "negated":
        alternatives.push(`[^${item.text}]`);
        break;
      case "expression":
        alternatives.push(item.text);
        break;
    }
  }
  if (positive !== "") alternatives.unshift(`[${positive}]`);
  if (alternatives.length === 1) return alternatives[0] as string;
  if (alternatives.length === 0) return "[]";
  return `(?:${alternatives.join("|")})`;
}

function rangeText(lo: number, hi: number): string {
  return lo === hi ? classChar(lo) : `${classChar(lo)}-${classChar(hi)}`;
}

/** The other-case ASCII letters of a range, for Java's ASCII-only CASE_INSENSITIVE. */
function caseFolded(lo: number, hi: number): string {
  let out = "";
  const overlap = (a: number, b: number, shift: number) => {
    const from = Math.max(lo, a);
    const to = Math.min(hi, b);
    if (from <= to) out += rangeText(from + shift, to + shift);
  };
  overlap(0x61, 0x7a, -0x20);
  overlap(0x41, 0x5a, 0x20);
  return out;
}
