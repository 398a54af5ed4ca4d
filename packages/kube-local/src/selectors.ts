/**
 * Label and field selectors as kube-apiserver parses and matches them: the label grammar and
 * validation of k8s.io/apimachinery/pkg/labels (Parse, NewRequirement, Matches), the LabelSelector
 * conversion of metav1.LabelSelectorAsSelector, and the field grammar of
 * k8s.io/apimachinery/pkg/fields (ParseSelector with backslash escapes). Error texts follow
 * apimachinery's, since kube-apiserver returns them verbatim in its 400 Status.
 */
import type { V1LabelSelector } from "@kubernetes/client-node";

/** A selector kube-apiserver would reject with 400 BadRequest; the message is apimachinery's. */
export class SelectorParseError extends Error {
  override readonly name = "SelectorParseError";
}

/** `exists` is a bare key, `!` is `!key`, `gt`/`lt` are `>`/`<`. */
export type LabelOperator = "=" | "==" | "!=" | "in" | "notin" | "exists" | "!" | "gt" | "lt";

export type LabelRequirement = { key: string; operator: LabelOperator; values: string[] };

export type FieldRequirement = { field: string; operator: "=" | "!="; value: string };

// ---------------------------------------------------------------------------------------------
// Go-flavoured texts

const GO_ESCAPES: Readonly<Record<number, string>> = { 7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r", 34: '\\"', 92: "\\\\" };

/** Go's %q of a string. */
function goQuote(text: string): string {
  let out = '"';
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    const escape = GO_ESCAPES[cp];
    if (escape !== undefined) out += escape;
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, "0")}`;
    else if ((cp >= 0x80 && cp <= 0xa0) || cp === 0xad) out += `\\u${cp.toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}

/** Go's %#v of a []string, as field.Invalid prints a list of values. */
function goStringSlice(values: readonly string[] | undefined): string {
  return values === undefined ? "[]string(nil)" : `[]string{${values.map(goQuote).join(", ")}}`;
}

/** field.Invalid(...).Error(): `<path>: Invalid value: <value>: <detail>`. */
function invalid(path: string, value: string, detail: string): string {
  return `${path}: Invalid value: ${value}: ${detail}`;
}

/** utilerrors.NewAggregate(...).Error(): one message alone, several in brackets. */
function aggregate(messages: readonly string[]): string {
  const unique = [...new Set(messages)];
  return unique.length === 1 ? (unique[0] ?? "") : `[${unique.join(", ")}]`;
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

// ---------------------------------------------------------------------------------------------
// Name and value validation (k8s.io/apimachinery/pkg/util/validation)

const QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME = new RegExp(`^${QUALIFIED_NAME_FMT}$`);
const LABEL_VALUE_FMT = `(${QUALIFIED_NAME_FMT})?`;
const LABEL_VALUE = new RegExp(`^${LABEL_VALUE_FMT}$`);
const DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
const DNS1123_SUBDOMAIN = new RegExp(`^${DNS1123_SUBDOMAIN_FMT}$`);
const NAME_MAX = 63;
const SUBDOMAIN_MAX = 253;

const QUALIFIED_NAME_MSG = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";

/** validation.RegexError, with its double spaces between examples. */
function regexError(message: string, format: string, ...examples: string[]): string {
  const shown = examples.map((example) => `'${example}', `).join(" or ");
  return `${message} (e.g. ${shown}regex used for validation is '${format}')`;
}

const byteLength = (text: string): number => Buffer.byteLength(text, "utf8");
const maxLenError = (max: number): string => `must be no more than ${max} characters`;

function dns1123SubdomainErrors(value: string): string[] {
  const errors: string[] = [];
  if (byteLength(value) > SUBDOMAIN_MAX) errors.push(maxLenError(SUBDOMAIN_MAX));
  if (!DNS1123_SUBDOMAIN.test(value)) errors.push(regexError(SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, "example.com"));
  return errors;
}

/** validation.IsQualifiedName: `[prefix/]name`, the prefix a DNS subdomain, the name ≤ 63 characters. */
function qualifiedNameErrors(value: string): string[] {
  const parts = value.split("/");
  if (parts.length > 2) {
    return [
      `a qualified name ${regexError(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  const errors: string[] = [];
  const name = parts[parts.length - 1] ?? "";
  if (parts.length === 2) {
    const prefix = parts[0] ?? "";
    if (prefix === "") errors.push("prefix part must be non-empty");
    else errors.push(...dns1123SubdomainErrors(prefix).map((error) => `prefix part ${error}`));
  }
  if (name === "") errors.push("name part must be non-empty");
  else if (byteLength(name) > NAME_MAX) errors.push(`name part ${maxLenError(NAME_MAX)}`);
  if (!QUALIFIED_NAME.test(name)) errors.push(`name part ${regexError(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")}`);
  return errors;
}

/** validation.IsValidLabelValue: empty, or ≤ 63 characters of the qualified-name alphabet. */
function labelValueErrors(value: string): string[] {
  const errors: string[] = [];
  if (byteLength(value) > NAME_MAX) errors.push(maxLenError(NAME_MAX));
  if (!LABEL_VALUE.test(value)) errors.push(regexError(LABEL_VALUE_MSG, LABEL_VALUE_FMT, "MyValue", "my_value", "12345"));
  return errors;
}

function keyError(key: string, path: string): string | undefined {
  const errors = qualifiedNameErrors(key);
  return errors.length === 0 ? undefined : invalid(path, goQuote(key), errors.join("; "));
}

// ---------------------------------------------------------------------------------------------
// Requirements (labels.NewRequirement and Requirement.Matches)

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/** strconv.ParseInt(text, 10, 64), or undefined. */
function parseInt64(text: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(text)) return undefined;
  const value = BigInt(text);
  return value > INT64_MAX || value < INT64_MIN ? undefined : value;
}

const BINARY_OPERATORS = ["in", "notin", "=", "==", "!=", "gt", "lt"] as const;

function operatorErrors(operator: LabelOperator, values: readonly string[] | undefined): string[] {
  const list = values ?? [];
  const shown = goStringSlice(values);
  switch (operator) {
    case "in":
    case "notin":
      return list.length === 0 ? [invalid("values", shown, "for 'in', 'notin' operators, values set can't be empty")] : [];
    case "=":
    case "==":
    case "!=":
      return list.length === 1 ? [] : [invalid("values", shown, "exact-match compatibility requires one single value")];
    case "exists":
    case "!":
      return list.length === 0 ? [] : [invalid("values", shown, "values set must be empty for exists and does not exist")];
    case "gt":
    case "lt": {
      const errors = list.length === 1 ? [] : [invalid("values", shown, "for 'Gt', 'Lt' operators, exactly one value is required")];
      list.forEach((value, i) => {
        if (parseInt64(value) === undefined) errors.push(invalid(`values[${i}]`, goQuote(value), "for 'Gt', 'Lt' operators, the value must be an integer"));
      });
      return errors;
    }
  }
}

/** labels.NewRequirement: validates key, operator arity and values; throws apimachinery's aggregate. */
function newRequirement(key: string, operator: LabelOperator, values: string[] | undefined): LabelRequirement {
  const errors: string[] = [];
  const bad = keyError(key, "key");
  if (bad !== undefined) errors.push(bad);
  errors.push(...operatorErrors(operator, values));
  (values ?? []).forEach((value, i) => {
    const valueErrors = labelValueErrors(value);
    if (valueErrors.length > 0) errors.push(invalid(`values[${i}][${key}]`, goQuote(value), valueErrors.join("; ")));
  });
  if (errors.length > 0) throw new SelectorParseError(aggregate(errors));
  return { key, operator, values: values ?? [] };
}

function matchesOrdering(requirement: LabelRequirement, actual: string): boolean {
  const value = parseInt64(actual);
  const [bound] = requirement.values;
  const limit = requirement.values.length === 1 && bound !== undefined ? parseInt64(bound) : undefined;
  if (value === undefined || limit === undefined) return false;
  return requirement.operator === "gt" ? value > limit : value < limit;
}

/** Requirement.Matches: `!=` and `notin` also match when the label is absent. */
function matchesRequirement(requirement: LabelRequirement, labels: Readonly<Record<string, string>>): boolean {
  const present = Object.hasOwn(labels, requirement.key);
  const actual = present ? labels[requirement.key] : undefined;
  switch (requirement.operator) {
    case "=":
    case "==":
    case "in":
      return actual !== undefined && requirement.values.includes(actual);
    case "!=":
    case "notin":
      return actual === undefined || !requirement.values.includes(actual);
    case "exists":
      return present;
    case "!":
      return !present;
    case "gt":
    case "lt":
      return actual !== undefined && matchesOrdering(requirement, actual);
  }
}

/** True when every requirement matches the labels (an empty list matches everything). */
export function matchesLabelRequirements(reqs: readonly LabelRequirement[], labels: Readonly<Record<string, string>> | undefined): boolean {
  const set = labels ?? {};
  return reqs.every((requirement) => matchesRequirement(requirement, set));
}

// ---------------------------------------------------------------------------------------------
// The label selector lexer and parser (labels.Parse)

type Token =
  | "error"
  | "end"
  | "closedPar"
  | "comma"
  | "doesNotExist"
  | "doubleEquals"
  | "equals"
  | "greaterThan"
  | "identifier"
  | "in"
  | "lessThan"
  | "notEquals"
  | "notIn"
  | "openPar";

const LITERAL_TOKENS: Readonly<Record<string, Token>> = {
  ")": "closedPar",
  ",": "comma",
  "!": "doesNotExist",
  "==": "doubleEquals",
  "=": "equals",
  ">": "greaterThan",
  in: "in",
  "<": "lessThan",
  "!=": "notEquals",
  notin: "notIn",
  "(": "openPar",
};

type Scanned = { token: Token; literal: string };

const isWhitespace = (ch: string): boolean => ch === " " || ch === "\t" || ch === "\r" || ch === "\n";
const isSpecialSymbol = (ch: string): boolean => "=!(),><".includes(ch) && ch !== "";

function literalToken(text: string): Token | undefined {
  return Object.hasOwn(LITERAL_TOKENS, text) ? LITERAL_TOKENS[text] : undefined;
}

/** The selector lexer; like Go's, it stops at the end of the text or at a NUL character. */
class Lexer {
  private pos = 0;
  constructor(private readonly text: string) {}

  private read(): string {
    const ch = this.text[this.pos] ?? "\0";
    this.pos++;
    return ch;
  }

  private unread(): void {
    this.pos--;
  }

  lex(): Scanned {
    let ch = this.read();
    while (isWhitespace(ch)) ch = this.read();
    if (ch === "\0") return { token: "end", literal: "" };
    this.unread();
    return isSpecialSymbol(ch) ? this.scanSpecialSymbol() : this.scanIdentifierOrKeyword();
  }

  private scanIdentifierOrKeyword(): Scanned {
    let buffer = "";
    for (;;) {
      const ch = this.read();
      if (ch === "\0") break;
      if (isSpecialSymbol(ch) || isWhitespace(ch)) {
        this.unread();
        break;
      }
      buffer += ch;
    }
    return { token: literalToken(buffer) ?? "identifier", literal: buffer };
  }

  /** Takes the longest run of special symbols that still forms an operator. */
  private scanSpecialSymbol(): Scanned {
    let buffer = "";
    let last: Scanned | undefined;
    for (;;) {
      const ch = this.read();
      if (ch === "\0") break;
      if (!isSpecialSymbol(ch)) {
        this.unread();
        break;
      }
      buffer += ch;
      const token = literalToken(buffer);
      if (token !== undefined) {
        last = { token, literal: buffer };
      } else if (last !== undefined) {
        this.unread();
        break;
      }
    }
    return last ?? { token: "error", literal: `error expected: keyword found '${buffer}'` };
  }
}

type Context = "keyAndOperator" | "values";

class Parser {
  private readonly items: Scanned[] = [];
  private position = 0;

  constructor(text: string) {
    const lexer = new Lexer(text);
    for (;;) {
      const item = lexer.lex();
      this.items.push(item);
      if (item.token === "end") break;
    }
  }

  /** In a values context the keywords `in` and `notin` are plain identifiers. */
  private view(item: Scanned | undefined, context: Context): Scanned {
    const scanned = item ?? { token: "end", literal: "" };
    if (context === "values" && (scanned.token === "in" || scanned.token === "notIn")) return { token: "identifier", literal: scanned.literal };
    return scanned;
  }

  private lookahead(context: Context): Scanned {
    return this.view(this.items[this.position], context);
  }

  private consume(context: Context): Scanned {
    const item = this.items[this.position];
    this.position++;
    return this.view(item, context);
  }

  parse(): LabelRequirement[] {
    const requirements: LabelRequirement[] = [];
    for (;;) {
      const { token, literal } = this.lookahead("values");
      if (token === "end") return requirements;
      if (token !== "identifier" && token !== "doesNotExist") {
        throw new SelectorParseError(`found '${literal}', expected: !, identifier, or 'end of string'`);
      }
      requirements.push(this.requirement());
      const next = this.consume("values");
      if (next.token === "end") return requirements;
      if (next.token !== "comma") throw new SelectorParseError(`found '${next.literal}', expected: ',' or 'end of string'`);
      const after = this.lookahead("values");
      if (after.token !== "identifier" && after.token !== "doesNotExist") {
        throw new SelectorParseError(`found '${after.literal}', expected: identifier after ','`);
      }
    }
  }

  private requirement(): LabelRequirement {
    try {
      return this.parseRequirement();
    } catch (error) {
      if (error instanceof SelectorParseError) throw new SelectorParseError(`unable to parse requirement: ${error.message}`);
      throw error;
    }
  }

  private parseRequirement(): LabelRequirement {
    const { key, operator } = this.keyAndInferredOperator();
    if (operator !== undefined) return newRequirement(key, operator, []);
    const binary = this.operator();
    const values = binary === "in" || binary === "notin" ? this.setValues() : this.exactValue();
    // the parser collects values in a set: sorted and without duplicates
    return newRequirement(key, binary, [...new Set(values)].sort(compareBytes));
  }

  /** `!key` is DoesNotExist; a key followed by `,` or the end is Exists. */
  private keyAndInferredOperator(): { key: string; operator: LabelOperator | undefined } {
    let { token, literal } = this.consume("values");
    let operator: LabelOperator | undefined;
    if (token === "doesNotExist") {
      operator = "!";
      ({ token, literal } = this.consume("values"));
    }
    if (token !== "identifier") throw new SelectorParseError(`found '${literal}', expected: identifier`);
    const bad = keyError(literal, "<nil>");
    if (bad !== undefined) throw new SelectorParseError(bad);
    const next = this.lookahead("values").token;
    if (operator === undefined && (next === "end" || next === "comma")) operator = "exists";
    return { key: literal, operator };
  }

  private operator(): LabelOperator {
    const { token, literal } = this.consume("keyAndOperator");
    const operators: Partial<Record<Token, LabelOperator>> = {
      in: "in",
      equals: "=",
      doubleEquals: "==",
      greaterThan: "gt",
      lessThan: "lt",
      notIn: "notin",
      notEquals: "!=",
    };
    const operator = operators[token];
    if (operator === undefined) throw new SelectorParseError(`found '${literal}', expected: ${BINARY_OPERATORS.join(", ")}`);
    return operator;
  }

  /** `(a,b)`; `()` is the set holding only the empty value. */
  private setValues(): string[] {
    const open = this.consume("values");
    if (open.token !== "openPar") throw new SelectorParseError(`found '${open.literal}' expected: '('`);
    const { token, literal } = this.lookahead("values");
    if (token === "closedPar") {
      this.consume("values");
      return [""];
    }
    if (token !== "identifier" && token !== "comma") throw new SelectorParseError(`found '${literal}', expected: ',', ')' or identifier`);
    const values = this.identifiersList();
    if (this.consume("values").token !== "closedPar") throw new SelectorParseError(`found '${literal}', expected: ')'`);
    return values;
  }

  /** Comma separated, possibly empty identifiers, up to (not including) the closing parenthesis. */
  private identifiersList(): string[] {
    const values: string[] = [];
    for (;;) {
      const { token, literal } = this.consume("values");
      if (token === "identifier") {
        values.push(literal);
        const next = this.lookahead("values");
        if (next.token === "comma") continue;
        if (next.token === "closedPar") return values;
        throw new SelectorParseError(`found '${next.literal}', expected: ',' or ')'`);
      }
      if (token !== "comma") throw new SelectorParseError(`found '${literal}', expected: ',', or identifier`);
      if (values.length === 0) values.push("");
      const next = this.lookahead("values").token;
      if (next === "closedPar") {
        values.push("");
        return values;
      }
      if (next === "comma") {
        this.consume("values");
        values.push("");
      }
    }
  }

  /** The single value after `=`, `==`, `!=`, `>` or `<`; nothing before `,` or the end is the empty value. */
  private exactValue(): string[] {
    const next = this.lookahead("values").token;
    if (next === "end" || next === "comma") return [""];
    const { token, literal } = this.consume("values");
    if (token === "identifier") return [literal];
    throw new SelectorParseError(`found '${literal}', expected: identifier`);
  }
}

/** Parses a `labelSelector` query parameter as labels.Parse does; "" selects everything. */
export function parseLabelSelector(text: string): LabelRequirement[] {
  const requirements = new Parser(text).parse();
  return requirements.sort((a, b) => compareBytes(a.key, b.key));
}

/** Requirement.String: the canonical text of one requirement. */
function formatRequirement(requirement: LabelRequirement): string {
  const { key, operator, values } = requirement;
  if (operator === "exists") return key;
  if (operator === "!") return `!${key}`;
  const joined = [...values].sort(compareBytes).join(",");
  const symbols: Record<Exclude<LabelOperator, "exists" | "!">, string> = {
    "=": "=",
    "==": "==",
    "!=": "!=",
    in: " in ",
    notin: " notin ",
    gt: ">",
    lt: "<",
  };
  const shown = operator === "in" || operator === "notin" ? `(${joined})` : joined;
  return `${key}${symbols[operator]}${shown}`;
}

/** Prints requirements back as a selector string, as Selector.String does. */
export function formatLabelSelector(reqs: readonly LabelRequirement[]): string {
  return reqs.map(formatRequirement).join(",");
}

// ---------------------------------------------------------------------------------------------
// metav1.LabelSelector

const EXPRESSION_OPERATORS: Readonly<Record<string, LabelOperator>> = { In: "in", NotIn: "notin", Exists: "exists", DoesNotExist: "!" };

/** metav1.LabelSelectorAsSelector: matchLabels as `=`, matchExpressions with In, NotIn, Exists, DoesNotExist. */
export function labelSelectorObjectToRequirements(sel: V1LabelSelector): LabelRequirement[] {
  const requirements: LabelRequirement[] = [];
  for (const [key, value] of Object.entries(sel.matchLabels ?? {})) requirements.push(newRequirement(key, "=", [value]));
  for (const expression of sel.matchExpressions ?? []) {
    const operator = Object.hasOwn(EXPRESSION_OPERATORS, expression.operator) ? EXPRESSION_OPERATORS[expression.operator] : undefined;
    if (operator === undefined) throw new SelectorParseError(`${goQuote(expression.operator)} is not a valid label selector operator`);
    const values = expression.values === undefined || expression.values.length === 0 ? undefined : [...expression.values];
    requirements.push(newRequirement(expression.key, operator, values));
  }
  return requirements.sort((a, b) => compareBytes(a.key, b.key));
}

function isEmptySelector(sel: V1LabelSelector): boolean {
  return Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0;
}

/**
 * Whether a LabelSelector object selects the labels: a missing selector selects nothing, an
 * empty one selects everything only with `emptyMatchesAll`, and an invalid one selects nothing.
 */
export function matchesLabelSelectorObject(
  sel: V1LabelSelector | undefined | null,
  labels: Readonly<Record<string, string>> | undefined,
  opts: { emptyMatchesAll: boolean },
): boolean {
  if (sel === undefined || sel === null) return false;
  if (isEmptySelector(sel)) return opts.emptyMatchesAll;
  const requirements = parsedSelector(sel);
  return requirements !== undefined && matchesLabelRequirements(requirements, labels);
}

/**
 * Parsed selectors, by the selector object: stored objects are never mutated, so one stored
 * budget's or workload's selector is parsed once however often it is matched; undefined when invalid.
 */
const PARSED_SELECTORS = new WeakMap<object, LabelRequirement[] | undefined>();

function parsedSelector(sel: V1LabelSelector): LabelRequirement[] | undefined {
  if (PARSED_SELECTORS.has(sel)) return PARSED_SELECTORS.get(sel);
  let requirements: LabelRequirement[] | undefined;
  try {
    requirements = labelSelectorObjectToRequirements(sel);
  } catch (error) {
    if (!(error instanceof SelectorParseError)) throw error;
    requirements = undefined;
  }
  PARSED_SELECTORS.set(sel, requirements);
  return requirements;
}

// ---------------------------------------------------------------------------------------------
// Field selectors (fields.ParseSelector)

/** Splits on commas that are not escaped by a backslash; escapes stay in the terms. */
function splitTerms(text: string): string[] {
  if (text === "") return [];
  const terms: string[] = [];
  let start = 0;
  let inSlash = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inSlash) inSlash = false;
    else if (ch === "\\") inSlash = true;
    else if (ch === ",") {
      terms.push(text.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(text.slice(start));
  return terms;
}

// `==` is looked for before `=` so it does not leave a leading "=" on the value
const TERM_OPERATORS = ["!=", "==", "="] as const;

/** Splits a term at the first operator; the field part knows no escapes. */
function splitTerm(term: string): { field: string; operator: (typeof TERM_OPERATORS)[number]; value: string } | undefined {
  for (let i = 0; i < term.length; i++) {
    for (const operator of TERM_OPERATORS) {
      if (term.startsWith(operator, i)) return { field: term.slice(0, i), operator, value: term.slice(i + operator.length) };
    }
  }
  return undefined;
}

/** fields.UnescapeValue: `\\`, `\,` and `\=` are the only escapes; bare `,` and `=` are refused. */
function unescapeValue(value: string): string {
  let out = "";
  let inSlash = false;
  for (const ch of value) {
    if (inSlash) {
      if (ch !== "\\" && ch !== "," && ch !== "=") throw new SelectorParseError(`invalid field selector: invalid escape sequence: \\${ch}`);
      out += ch;
      inSlash = false;
    } else if (ch === "\\") {
      inSlash = true;
    } else if (ch === "," || ch === "=") {
      // Go prints the rune with %v, which shows its code point
      throw new SelectorParseError(`invalid field selector: unescaped character in value: ${ch.codePointAt(0)}`);
    } else {
      out += ch;
    }
  }
  if (inSlash) throw new SelectorParseError("invalid field selector: invalid escape sequence: \\");
  return out;
}

/** fields.EscapeValue: the inverse of the unescaping parseFieldSelector does. */
export function escapeFieldSelectorValue(value: string): string {
  return value.replace(/[\\,=]/g, (ch) => `\\${ch}`);
}

/**
 * Parses a `fieldSelector` query parameter as kube-apiserver does: terms sorted, each split at its
 * first operator, values unescaped, then every field checked against what the resource supports.
 * The resource plural is accepted for the caller's convenience; kube's messages do not name it.
 */
export function parseFieldSelector(text: string, supported: ReadonlySet<string>, _resource: string): FieldRequirement[] {
  const requirements: FieldRequirement[] = [];
  for (const term of splitTerms(text).sort(compareBytes)) {
    if (term === "") continue;
    const parts = splitTerm(term);
    if (!parts) throw new SelectorParseError(`invalid selector: '${text}'; can't understand '${term}'`);
    requirements.push({ field: parts.field, operator: parts.operator === "!=" ? "!=" : "=", value: unescapeValue(parts.value) });
  }
  const unsupported = requirements.find((requirement) => !supported.has(requirement.field));
  if (unsupported) throw new SelectorParseError(`field label not supported: ${unsupported.field}`);
  return requirements;
}

/** True when every field requirement holds for the object `getField` reads. */
export function matchesFieldRequirements(reqs: readonly FieldRequirement[], getField: (field: string) => string): boolean {
  return reqs.every((requirement) => (getField(requirement.field) === requirement.value) === (requirement.operator === "="));
}
