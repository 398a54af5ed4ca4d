/**
 * Holds one request to its operation's input shape as AWS's model states it: required members,
 * string lengths (in code points), patterns (matched against the whole value, as AWS does),
 * numeric ranges, enums, list and map sizes, unions, and the JSON type each member must have,
 * recursively through structures, lists and maps. Each broken rule comes back with the member's
 * path and a sentence in AWS's own words ("Value '...' at 'Name' failed to satisfy constraint:
 * Member must have length less than or equal to 64").
 *
 * What the model does not know is not held against the request: the models may be older than the
 * SDK the code is built with, so a member the model lacks is passed on unchecked (the SDK's types
 * already vouch for its name), and an enum value the model lacks is accepted when the SDK's own,
 * newer enum lists it.
 */
import { compileJavaPattern, UntranslatablePatternError } from "./java-pattern";
import type { MemberRef, ServiceModel, Shape } from "./models";

export type RuleKind = "required" | "length" | "pattern" | "range" | "enum" | "size" | "type" | "union";

export interface Violation {
  /** The member's path in the request, e.g. `Target.RetryPolicy.MaximumRetryAttempts` or `Filters[0].Values[1]`. */
  path: string;
  rule: RuleKind;
  /** The rule in AWS's words, e.g. "Member must have length less than or equal to 64". */
  constraint: string;
  value: unknown;
  sensitive: boolean;
  /** The whole sentence, as AWS writes it in a ValidationException. */
  message: string;
}

export interface ValidateOptions {
  /** Values the SDK knows for an enum shape (newer than the model); undefined when it has none. */
  newerEnumValues?: (shapeName: string) => readonly string[] | undefined;
}

const untranslatable = new Map<string, string>();
const compiled = new Map<string, RegExp | null>();

/** Patterns met so far that JavaScript cannot hold a value to, with the reason; they are not checked. */
export function untranslatablePatterns(): ReadonlyMap<string, string> {
  return untranslatable;
}

function patternFor(pattern: string): RegExp | null {
  let regex = compiled.get(pattern);
  if (regex !== undefined) return regex;
  try {
    regex = compileJavaPattern(pattern);
  } catch (error) {
    if (!(error instanceof UntranslatablePatternError)) throw error;
    untranslatable.set(pattern, error.reason);
    process.emitWarning(`${error.message}; values are not checked against it`, { code: "SPOT_MANAGER_AWS_PATTERN" });
    regex = null;
  }
  compiled.set(pattern, regex);
  return regex;
}

/** Every rule of `operation`'s input shape that `input` breaks; empty when AWS would accept it. */
export function validateInput(model: ServiceModel, operation: string, input: unknown, options: ValidateOptions = {}): Violation[] {
  const op = model.operations[operation];
  if (!op) throw new Error(`${model.metadata.serviceId} has no operation ${operation} in its model`);
  const violations: Violation[] = [];
  if (!op.input) return violations;
  new Checker(model, options, violations).value({ shape: op.input.shape }, input ?? {}, "");
  return violations;
}

class Checker {
  constructor(
    private readonly model: ServiceModel,
    private readonly options: ValidateOptions,
    private readonly violations: Violation[],
  ) {}

  value(ref: MemberRef, value: unknown, path: string, sensitive = false): void {
    const shape = this.model.shapes[ref.shape];
    if (!shape) throw new Error(`${this.model.metadata.serviceId} model has no shape ${ref.shape}`);
    const secret = sensitive || shape.sensitive === true;
    switch (shape.type) {
      case "structure":
        return this.structure(shape, value, path, secret);
      case "list":
        return this.list(shape, value, path, secret);
      case "map":
        return this.map(shape, value, path, secret);
      case "string":
        return this.string(ref, shape, value, path, secret);
      case "integer":
      case "long":
      case "float":
      case "double":
        return this.number(shape, value, path, secret);
      case "boolean":
        if (typeof value !== "boolean") this.report(path, "type", "Member must be a boolean", value, secret);
        return;
      case "timestamp":
        return this.timestamp(value, path, secret);
      case "blob":
        return this.blob(ref, shape, value, path, secret);
    }
  }

  private structure(shape: Shape, value: unknown, path: string, sensitive: boolean): void {
    if (shape.document) return;
    if (!isPlainObject(value)) {
      this.report(path, "type", "Member must be a structure", value, sensitive);
      return;
    }
    const members = shape.members ?? {};
    const required = new Set(shape.required ?? []);
    let set = 0;
    for (const [name, ref] of Object.entries(members)) {
      const memberValue = value[name];
      const memberPath = path === "" ? name : `${path}.${name}`;
      if (memberValue == null) {
        // The SDK fills an idempotency token itself when the caller leaves it out.
        if (required.has(name) && !ref.idempotencyToken) this.report(memberPath, "required", "Member must not be null", null, false);
        continue;
      }
      set += 1;
      this.value(ref, memberValue, memberPath, sensitive);
    }
    if (shape.union && set !== 1) {
      this.report(path, "union", `Member must have exactly one of [${Object.keys(members).join(", ")}] set, found ${set}`, value, sensitive);
    }
  }

  private list(shape: Shape, value: unknown, path: string, sensitive: boolean): void {
    if (!Array.isArray(value)) {
      this.report(path, "type", "Member must be a list", value, sensitive);
      return;
    }
    // The SDK leaves null entries out of what it sends.
    const present = value.filter((item) => item != null).length;
    this.size(shape, present, value, path, sensitive);
    if (!shape.member) return;
    value.forEach((item, index) => {
      if (item != null) this.value(shape.member as MemberRef, item, `${path}[${index}]`, sensitive);
    });
  }

  private map(shape: Shape, value: unknown, path: string, sensitive: boolean): void {
    if (!isPlainObject(value)) {
      this.report(path, "type", "Member must be a map", value, sensitive);
      return;
    }
    const entries = Object.entries(value).filter(([, v]) => v != null);
    this.size(shape, entries.length, value, path, sensitive);
    for (const [key, item] of entries) {
      const entryPath = `${path}[${JSON.stringify(key)}]`;
      if (shape.key) this.value(shape.key, key, `${entryPath} (key)`, sensitive);
      if (shape.value) this.value(shape.value, item, entryPath, sensitive);
    }
  }

  private size(shape: Shape, size: number, value: unknown, path: string, sensitive: boolean): void {
    if (shape.min !== undefined && size < shape.min) this.report(path, "size", `Member must have length greater than or equal to ${shape.min}`, value, sensitive);
    if (shape.max !== undefined && size > shape.max) this.report(path, "size", `Member must have length less than or equal to ${shape.max}`, value, sensitive);
  }

  private string(ref: MemberRef, shape: Shape, value: unknown, path: string, sensitive: boolean): void {
    // A JSON-valued header member takes any JSON-serializable value; the SDK encodes it.
    if (ref.jsonvalue) return;
    if (typeof value !== "string") {
      this.report(path, "type", "Member must be a string", value, sensitive);
      return;
    }
    const length = codePoints(value);
    if (shape.min !== undefined && length < shape.min) this.report(path, "length", `Member must have length greater than or equal to ${shape.min}`, value, sensitive);
    if (shape.max !== undefined && length > shape.max) this.report(path, "length", `Member must have length less than or equal to ${shape.max}`, value, sensitive);
    if (shape.pattern !== undefined) {
      const regex = patternFor(shape.pattern);
      if (regex && !regex.test(value)) this.report(path, "pattern", `Member must satisfy regular expression pattern: ${shape.pattern}`, value, sensitive);
    }
    if (shape.enum && !shape.enum.includes(value) && !this.options.newerEnumValues?.(ref.shape)?.includes(value)) {
      this.report(path, "enum", `Member must satisfy enum value set: [${shape.enum.join(", ")}]`, value, sensitive);
    }
  }

  private number(shape: Shape, value: unknown, path: string, sensitive: boolean): void {
    const integral = shape.type === "integer" || shape.type === "long";
    const numeric = typeof value === "number" ? value : typeof value === "bigint" && shape.type === "long" ? Number(value) : undefined;
    if (numeric === undefined || Number.isNaN(numeric) || (integral && !Number.isInteger(numeric))) {
      this.report(path, "type", integral ? "Member must be an integer" : "Member must be a number", value, sensitive);
      return;
    }
    if (shape.min !== undefined && numeric < shape.min) this.report(path, "range", `Member must have value greater than or equal to ${shape.min}`, value, sensitive);
    if (shape.max !== undefined && numeric > shape.max) this.report(path, "range", `Member must have value less than or equal to ${shape.max}`, value, sensitive);
  }

  private timestamp(value: unknown, path: string, sensitive: boolean): void {
    const time = value instanceof Date ? value.getTime() : typeof value === "number" ? value : typeof value === "string" ? Date.parse(value) : Number.NaN;
    if (!Number.isFinite(time)) this.report(path, "type", "Member must be a valid timestamp", value, sensitive);
  }

  private blob(ref: MemberRef, shape: Shape, value: unknown, path: string, sensitive: boolean): void {
    if (ref.streaming || shape.streaming) return;
    let bytes: number;
    if (typeof value === "string") bytes = Buffer.byteLength(value, "utf8");
    else if (value instanceof Uint8Array) bytes = value.byteLength;
    else {
      this.report(path, "type", "Member must be binary data (Uint8Array or string)", value, sensitive);
      return;
    }
    if (shape.min !== undefined && bytes < shape.min) this.report(path, "length", `Member must have length greater than or equal to ${shape.min}`, value, sensitive);
    if (shape.max !== undefined && bytes > shape.max) this.report(path, "length", `Member must have length less than or equal to ${shape.max}`, value, sensitive);
  }

  private report(path: string, rule: RuleKind, constraint: string, value: unknown, sensitive: boolean): void {
    const where = path === "" ? "the request" : `'${path}'`;
    const shown = value === null ? "null" : sensitive ? "(sensitive, not shown)" : `'${describeValue(value)}'`;
    this.violations.push({ path, rule, constraint, value, sensitive, message: `Value ${shown} at ${where} failed to satisfy constraint: ${constraint}` });
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date) && !(value instanceof Uint8Array);
}

function codePoints(value: string): number {
  let count = 0;
  for (const _ of value) count += 1;
  return count;
}

const SHOWN = 160;

/** The value as a message shows it: long values cut, with their full length said. */
export function describeValue(value: unknown): string {
  let text: string;
  if (typeof value === "string") text = value;
  else if (value instanceof Date) text = Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString();
  else if (value instanceof Uint8Array) text = `<${value.byteLength} bytes>`;
  else if (typeof value === "bigint") text = value.toString();
  else text = JSON.stringify(value) ?? String(value);
  if (text.length <= SHOWN) return text;
  return `${text.slice(0, SHOWN)}... (${codePoints(text)} characters)`;
}
