/**
 * The three PATCH bodies kube-apiserver accepts, with the results and the error texts it gives:
 * JSON patch (RFC 6902) as gopkg.in/evanphx/json-patch.v4 applies it, JSON merge patch (RFC 7386)
 * as that library's MergePatch does, and strategic merge patch as
 * k8s.io/apimachinery/pkg/util/strategicpatch does. Decoding errors are worded as Go's
 * encoding/json words them, because that is what kube-apiserver puts in its Status message.
 * Every function is pure: inputs are never mutated.
 */

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

/** 400 undecodable patch, 413 too many JSON patch operations, 422 inapplicable patch, 500 kube's own internal error. */
export type PatchErrorCode = 400 | 413 | 422 | 500;

/** A patch kube-apiserver refuses; `code` is the HTTP status it answers with. */
export class PatchError extends Error {
  override readonly name = "PatchError";
  constructor(
    readonly code: PatchErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** kube-apiserver's cap on the operations in one JSON patch. */
export const MAX_JSON_PATCH_OPERATIONS = 10000;

// ---------------------------------------------------------------------------------------------
// JSON values

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function own(obj: JsonObject, key: string): Json | undefined {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

function put(obj: JsonObject, key: string, value: Json): void {
  // a plain assignment to "__proto__" would swap the prototype instead of adding a key
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function cloneJson(value: Json): Json {
  if (Array.isArray(value)) return value.map(cloneJson);
  if (!isObject(value)) return value;
  const copy: JsonObject = {};
  for (const [key, child] of Object.entries(value)) put(copy, key, cloneJson(child));
  return copy;
}

function jsonEqual(a: Json, b: Json): boolean {
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((item, i) => jsonEqual(item, b[i] as Json));
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && jsonEqual(a[key] as Json, b[key] as Json));
  }
  return a === b;
}

// ---------------------------------------------------------------------------------------------
// Go-flavoured texts: kube-apiserver's messages are Go's fmt and encoding/json output

const GO_ESCAPES: Readonly<Record<number, string>> = { 7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r", 34: '\\"', 92: "\\\\" };

function goQuoteRune(cp: number): string {
  const escape = GO_ESCAPES[cp];
  if (escape !== undefined) return escape;
  if (cp < 0x20 || cp === 0x7f) return `\\x${cp.toString(16).padStart(2, "0")}`;
  if ((cp >= 0x80 && cp <= 0xa0) || cp === 0xad) return `\\u${cp.toString(16).padStart(4, "0")}`;
  return String.fromCodePoint(cp);
}

/** Go's %q of a string. */
function goQuote(text: string): string {
  let out = '"';
  for (const ch of text) out += goQuoteRune(ch.codePointAt(0) ?? 0);
  return `${out}"`;
}

/** encoding/json's quoteChar: one input byte, read as a Latin-1 rune. */
function goQuoteByte(byte: number): string {
  if (byte === 0x27) return "'\\''";
  if (byte === 0x22) return "'\"'";
  return `'${goQuoteRune(byte)}'`;
}

function goFloat(value: number): string {
  if (Number.isInteger(value) && Math.abs(value) < 1e21) return String(value);
  const [mantissa = "0", exponentText = "0"] = value.toExponential().split("e");
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 21) {
    const sign = exponent < 0 ? "-" : "+";
    return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  return String(value);
}

/** Go's %v of a decoded JSON value (maps print with sorted keys). */
function goFormat(value: Json | undefined): string {
  if (value === null || value === undefined) return "<nil>";
  if (Array.isArray(value)) return `[${value.map(goFormat).join(" ")}]`;
  if (isObject(value)) {
    const entries = Object.keys(value)
      .sort(compareBytes)
      .map((key) => `${key}:${goFormat(value[key])}`);
    return `map[${entries.join(" ")}]`;
  }
  if (typeof value === "number") return goFloat(value);
  return String(value);
}

/** Go's reflect type name of a decoded JSON value, as fmt's %s prints it. */
function goTypeName(value: Json | undefined): string {
  if (value === null || value === undefined) return "%!s(<nil>)";
  if (Array.isArray(value)) return "[]interface {}";
  if (isObject(value)) return "map[string]interface {}";
  if (typeof value === "number") return Number.isInteger(value) ? "int64" : "float64";
  return typeof value === "boolean" ? "bool" : "string";
}

/** Go's %s of a decoded JSON value. */
function goString(value: Json | undefined): string {
  if (typeof value === "string") return value;
  if (value === null || value === undefined) return "%!s(<nil>)";
  return `%!s(${goTypeName(value)}=${goFormat(value)})`;
}

/** The word encoding/json uses for a JSON value it cannot store. */
function goValueKind(value: Json): string {
  if (Array.isArray(value)) return "array";
  if (isObject(value)) return "object";
  if (typeof value === "boolean") return "bool";
  return typeof value;
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

// ---------------------------------------------------------------------------------------------
// Decoding with encoding/json's syntax errors

class GoSyntaxError extends Error {
  override readonly name = "GoSyntaxError";
}

const isJsonSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isHex = (c: number): boolean => isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
const SIMPLE_ESCAPES = new Set([...'"\\/bfnrt'].map((c) => c.charCodeAt(0)));

/** Walks the input as encoding/json's scanner does, to name the first syntax error the way Go names it. */
class GoJsonChecker {
  private pos = 0;
  constructor(private readonly bytes: Uint8Array) {}

  check(): void {
    this.value();
    this.skipSpace();
    if (this.pos < this.bytes.length) this.fail("after top-level value");
  }

  private peek(): number {
    const byte = this.bytes[this.pos];
    if (byte === undefined) throw new GoSyntaxError("unexpected end of JSON input");
    return byte;
  }

  private fail(context: string): never {
    throw new GoSyntaxError(`invalid character ${goQuoteByte(this.peek())} ${context}`);
  }

  private skipSpace(): void {
    while (this.pos < this.bytes.length && isJsonSpace(this.bytes[this.pos] ?? 0)) this.pos++;
  }

  private skipDigits(): void {
    while (this.pos < this.bytes.length && isDigit(this.bytes[this.pos] ?? 0)) this.pos++;
  }

  private value(): void {
    this.skipSpace();
    const c = this.peek();
    if (c === 0x7b) return this.object();
    if (c === 0x5b) return this.array();
    if (c === 0x22) return this.string();
    if (c === 0x2d || isDigit(c)) return this.number();
    if (c === 0x74) return this.literal("true");
    if (c === 0x66) return this.literal("false");
    if (c === 0x6e) return this.literal("null");
    this.fail("looking for beginning of value");
  }

  private object(): void {
    this.pos++;
    this.skipSpace();
    if (this.peek() === 0x7d) {
      this.pos++;
      return;
    }
    for (;;) {
      if (this.peek() !== 0x22) this.fail("looking for beginning of object key string");
      this.string();
      this.skipSpace();
      if (this.peek() !== 0x3a) this.fail("after object key");
      this.pos++;
      this.value();
      this.skipSpace();
      const c = this.peek();
      this.pos++;
      if (c === 0x7d) return;
      if (c !== 0x2c) {
        this.pos--;
        this.fail("after object key:value pair");
      }
      this.skipSpace();
    }
  }

  private array(): void {
    this.pos++;
    this.skipSpace();
    if (this.peek() === 0x5d) {
      this.pos++;
      return;
    }
    for (;;) {
      this.value();
      this.skipSpace();
      const c = this.peek();
      this.pos++;
      if (c === 0x5d) return;
      if (c !== 0x2c) {
        this.pos--;
        this.fail("after array element");
      }
    }
  }

  private string(): void {
    this.pos++;
    for (;;) {
      const c = this.peek();
      if (c === 0x22) {
        this.pos++;
        return;
      }
      if (c < 0x20) this.fail("in string literal");
      this.pos++;
      if (c === 0x5c) this.escape();
    }
  }

  private escape(): void {
    const c = this.peek();
    if (SIMPLE_ESCAPES.has(c)) {
      this.pos++;
      return;
    }
    if (c !== 0x75) this.fail("in string escape code");
    this.pos++;
    for (let i = 0; i < 4; i++) {
      if (!isHex(this.peek())) this.fail("in \\u hexadecimal character escape");
      this.pos++;
    }
  }

  private number(): void {
    if (this.peek() === 0x2d) {
      this.pos++;
      if (!isDigit(this.peek())) this.fail("in numeric literal");
    }
    if (this.peek() === 0x30) this.pos++;
    else this.skipDigits();
    if (this.bytes[this.pos] === 0x2e) {
      this.pos++;
      if (!isDigit(this.peek())) this.fail("after decimal point in numeric literal");
      this.skipDigits();
    }
    if (this.bytes[this.pos] === 0x65 || this.bytes[this.pos] === 0x45) {
      this.pos++;
      if (this.peek() === 0x2b || this.peek() === 0x2d) this.pos++;
      if (!isDigit(this.peek())) this.fail("in exponent of numeric literal");
      this.skipDigits();
    }
  }

  private literal(word: string): void {
    this.pos++;
    for (let i = 1; i < word.length; i++) {
      const expected = word.charCodeAt(i);
      if (this.peek() !== expected) this.fail(`in literal ${word} (expecting ${goQuoteByte(expected)})`);
      this.pos++;
    }
  }
}

type Decoded = { ok: true; value: Json } | { ok: false; message: string };

/** Parses JSON, or names the syntax error as encoding/json would. */
function decodeGoJson(text: string): Decoded {
  try {
    new GoJsonChecker(new TextEncoder().encode(text)).check();
  } catch (error) {
    if (error instanceof GoSyntaxError) return { ok: false, message: error.message };
    throw error;
  }
  return { ok: true, value: JSON.parse(text) as Json };
}

// ---------------------------------------------------------------------------------------------
// JSON patch (RFC 6902, with evanphx/json-patch v4's behaviour and texts)

const MISSING = "missing value";
const INVALID_INDEX = "invalid index referenced";

/** A container refusing a key; the message is json-patch's own. */
class ContainerError extends Error {
  override readonly name = "ContainerError";
}

interface Container {
  get(key: string): Json | undefined;
  set(key: string, value: Json): void;
  add(key: string, value: Json): void;
  remove(key: string): void;
}

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/** strconv.Atoi: optional sign, decimal digits, 64-bit range; leading zeros are fine. */
function goAtoi(text: string): bigint {
  if (!/^[+-]?[0-9]+$/.test(text)) throw new ContainerError(`strconv.Atoi: parsing ${goQuote(text)}: invalid syntax`);
  const value = BigInt(text);
  if (value > INT64_MAX || value < INT64_MIN) throw new ContainerError(`strconv.Atoi: parsing ${goQuote(text)}: value out of range`);
  return value;
}

function invalidIndex(index: bigint): ContainerError {
  return new ContainerError(`Unable to access invalid index: ${index}: ${INVALID_INDEX}`);
}

/** json-patch v4 counts negative indices from the end (SupportNegativeIndices defaults to true). */
function fromEnd(index: bigint, length: number): number {
  const size = BigInt(length);
  if (index < -size) throw invalidIndex(index);
  return Number(index < 0n ? index + size : index);
}

class ObjectContainer implements Container {
  constructor(private readonly obj: JsonObject) {}
  get(key: string): Json | undefined {
    return own(this.obj, key);
  }
  set(key: string, value: Json): void {
    put(this.obj, key, value);
  }
  add(key: string, value: Json): void {
    put(this.obj, key, value);
  }
  remove(key: string): void {
    if (!Object.hasOwn(this.obj, key)) throw new ContainerError(`Unable to remove nonexistent key: ${key}: ${MISSING}`);
    delete this.obj[key];
  }
}

class ArrayContainer implements Container {
  constructor(private readonly items: Json[]) {}
  get(key: string): Json | undefined {
    const index = goAtoi(key);
    const at = fromEnd(index, this.items.length);
    if (at >= this.items.length) throw invalidIndex(index);
    return this.items[at];
  }
  set(key: string, value: Json): void {
    this.items[fromEnd(goAtoi(key), this.items.length)] = value;
  }
  add(key: string, value: Json): void {
    if (key === "-") {
      this.items.push(value);
      return;
    }
    let index: bigint;
    try {
      index = goAtoi(key);
    } catch (error) {
      throw new ContainerError(`value was not a proper array index: '${key}': ${messageOf(error)}`);
    }
    const size = this.items.length + 1;
    if (index >= BigInt(size)) throw invalidIndex(index);
    this.items.splice(fromEnd(index, size), 0, value);
  }
  remove(key: string): void {
    const index = goAtoi(key);
    if (index >= BigInt(this.items.length)) throw invalidIndex(index);
    this.items.splice(fromEnd(index, this.items.length), 1);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function containerOf(value: Json | undefined): Container | undefined {
  if (Array.isArray(value)) return new ArrayContainer(value);
  return isObject(value) ? new ObjectContainer(value) : undefined;
}

/** RFC 6901 reference token: "~1" is "/", "~0" is "~", decoded in one left-to-right pass. */
function decodePointerToken(token: string): string {
  return token.replace(/~[01]/g, (m) => (m === "~1" ? "/" : "~"));
}

type Location = { container: Container; key: string };

/** json-patch's findObject: the parent container of a pointer, or nothing when any step is missing. */
function findObject(root: Json, path: string): Location | undefined {
  const parts = path.split("/");
  if (parts.length < 2) return undefined;
  let current = containerOf(root);
  for (const part of parts.slice(1, -1)) {
    if (!current) return undefined;
    let next: Json | undefined;
    try {
      next = current.get(decodePointerToken(part));
    } catch {
      return undefined;
    }
    current = containerOf(next);
  }
  return current ? { container: current, key: decodePointerToken(parts[parts.length - 1] ?? "") } : undefined;
}

type Operation = JsonObject;
type Document = { root: Json };

function unprocessable(message: string): PatchError {
  return new PatchError(422, message);
}

function badJsonPatch(detail: string): PatchError {
  return new PatchError(400, `error decoding patch: ${detail}`);
}

const OPERATION_STRING_FIELDS = new Set(["op", "path", "from"]);

/** The strict decode into []jsonPatchOp kube-apiserver does before applying anything. */
function decodeOperation(element: Json): Operation {
  if (element === null) return {};
  if (!isObject(element)) throw badJsonPatch(`json: cannot unmarshal ${goValueKind(element)} into Go value of type handlers.jsonPatchOp`);
  for (const [key, value] of Object.entries(element)) {
    if (OPERATION_STRING_FIELDS.has(key) && value !== null && typeof value !== "string") {
      throw badJsonPatch(`json: cannot unmarshal ${goValueKind(value)} into Go struct field jsonPatchOp.${key} of type string`);
    }
  }
  return element;
}

function decodeJsonPatch(patchText: string): Operation[] {
  const decoded = decodeGoJson(patchText);
  if (!decoded.ok) throw badJsonPatch(decoded.message);
  if (decoded.value === null) return [];
  if (!Array.isArray(decoded.value)) {
    throw badJsonPatch(`json: cannot unmarshal ${goValueKind(decoded.value)} into Go value of type []handlers.jsonPatchOp`);
  }
  return decoded.value.map(decodeOperation);
}

function operationKind(op: Operation): string {
  const kind = own(op, "op");
  return typeof kind === "string" ? kind : "unknown";
}

function operationPath(op: Operation): string | undefined {
  const path = own(op, "path");
  return typeof path === "string" ? path : undefined;
}

function operationFrom(op: Operation): string | undefined {
  const from = own(op, "from");
  return typeof from === "string" ? from : undefined;
}

/** The operation's value; an absent value is stored as null, as json-patch does. */
function operationValue(op: Operation): Json {
  return own(op, "value") ?? null;
}

const MISSING_PATH = `operation missing path field: ${MISSING}`;
const MISSING_FROM = `operation, missing from field: ${MISSING}`;

function addOperation(doc: Document, op: Operation): void {
  const path = operationPath(op);
  if (path === undefined) throw unprocessable(`add operation failed to decode path: ${MISSING}`);
  const at = findObject(doc.root, path);
  if (!at) throw unprocessable(`add operation does not apply: doc is missing path: "${path}": ${MISSING}`);
  try {
    at.container.add(at.key, cloneJson(operationValue(op)));
  } catch (error) {
    throw unprocessable(`error in add for path: '${path}': ${messageOf(error)}`);
  }
}

function removeOperation(doc: Document, op: Operation): void {
  const path = operationPath(op);
  if (path === undefined) throw unprocessable(`remove operation failed to decode path: ${MISSING}`);
  const at = findObject(doc.root, path);
  if (!at) throw unprocessable(`remove operation does not apply: doc is missing path: "${path}": ${MISSING}`);
  try {
    at.container.remove(at.key);
  } catch (error) {
    throw unprocessable(`error in remove for path: '${path}': ${messageOf(error)}`);
  }
}

function replaceDocument(doc: Document, op: Operation): void {
  const value = own(op, "value");
  // json-patch formats a nil error with %w here, hence the odd tail
  if (!Array.isArray(value) && !isObject(value)) throw unprocessable("replace operation value must be object or array: %!w(<nil>)");
  doc.root = cloneJson(value);
}

function replaceOperation(doc: Document, op: Operation): void {
  const path = operationPath(op);
  if (path === undefined) throw unprocessable(`replace operation failed to decode path: ${MISSING_PATH}`);
  if (path === "") return replaceDocument(doc, op);
  const at = findObject(doc.root, path);
  if (!at) throw unprocessable(`replace operation does not apply: doc is missing path: ${path}: ${MISSING}`);
  try {
    // json-patch v4 does not check that an object key exists: replacing a missing key adds it
    at.container.get(at.key);
  } catch {
    throw unprocessable(`replace operation does not apply: doc is missing key: ${path}: ${MISSING}`);
  }
  try {
    at.container.set(at.key, cloneJson(operationValue(op)));
  } catch (error) {
    throw unprocessable(`error in remove for path: '${path}': ${messageOf(error)}`);
  }
}

function moveOperation(doc: Document, op: Operation): void {
  const from = operationFrom(op);
  if (from === undefined) throw unprocessable(`move operation failed to decode from: ${MISSING_FROM}`);
  const source = findObject(doc.root, from);
  if (!source) throw unprocessable(`move operation does not apply: doc is missing from path: ${from}: ${MISSING}`);
  let value: Json | undefined;
  try {
    value = source.container.get(source.key);
    source.container.remove(source.key);
  } catch (error) {
    throw unprocessable(`error in move for path: '${source.key}': ${messageOf(error)}`);
  }
  const path = operationPath(op);
  if (path === undefined) throw unprocessable(`move operation failed to decode path: ${MISSING_PATH}`);
  const target = findObject(doc.root, path);
  if (!target) throw unprocessable(`move operation does not apply: doc is missing destination path: ${path}: ${MISSING}`);
  try {
    target.container.add(target.key, value ?? null);
  } catch (error) {
    throw unprocessable(`error in move for path: '${path}': ${messageOf(error)}`);
  }
}

function testFailed(path: string): PatchError {
  return unprocessable(`testing value ${path} failed: test failed`);
}

function testOperation(doc: Document, op: Operation): void {
  const path = operationPath(op);
  if (path === undefined) throw unprocessable(`test operation failed to decode path: ${MISSING_PATH}`);
  const expected = own(op, "value");
  if (path === "") {
    if (expected === undefined || !jsonEqual(doc.root, expected)) throw testFailed(path);
    return;
  }
  const at = findObject(doc.root, path);
  if (!at) throw unprocessable(`test operation does not apply: is missing path: ${path}: ${MISSING}`);
  let actual: Json | undefined;
  try {
    actual = at.container.get(at.key);
  } catch (error) {
    throw unprocessable(`error in test for path: '${path}': ${messageOf(error)}`);
  }
  // json-patch treats a missing key and a null value alike, and either equals an absent or null value
  if (actual === undefined || actual === null) {
    if (expected !== undefined && expected !== null) throw testFailed(path);
    return;
  }
  if (expected === undefined || !jsonEqual(actual, expected)) throw testFailed(path);
}

function copyOperation(doc: Document, op: Operation): void {
  const from = operationFrom(op);
  if (from === undefined) throw unprocessable(`copy operation failed to decode from: ${MISSING_FROM}`);
  const source = findObject(doc.root, from);
  if (!source) throw unprocessable(`copy operation does not apply: doc is missing from path: ${from}: ${MISSING}`);
  let value: Json | undefined;
  try {
    value = source.container.get(source.key);
  } catch (error) {
    throw unprocessable(`error in copy for from: '${from}': ${messageOf(error)}`);
  }
  const path = operationPath(op);
  if (path === undefined) throw unprocessable(`copy operation failed to decode path: ${MISSING}`);
  const target = findObject(doc.root, path);
  if (!target) throw unprocessable(`copy operation does not apply: doc is missing destination path: ${path}: ${MISSING}`);
  try {
    target.container.add(target.key, cloneJson(value ?? null));
  } catch (error) {
    throw unprocessable(`error while adding value during copy: ${messageOf(error)}`);
  }
}

const OPERATIONS: Readonly<Record<string, (doc: Document, op: Operation) => void>> = {
  add: addOperation,
  remove: removeOperation,
  replace: replaceOperation,
  move: moveOperation,
  test: testOperation,
  copy: copyOperation,
};

/** Applies an application/json-patch+json body (RFC 6902) the way kube-apiserver does; returns a new document. */
export function applyJsonPatch(doc: Json, patchText: string): Json {
  const operations = decodeJsonPatch(patchText);
  if (operations.length > MAX_JSON_PATCH_OPERATIONS) {
    throw new PatchError(413, `The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${operations.length}`);
  }
  const document: Document = { root: cloneJson(doc) };
  for (const op of operations) {
    const kind = operationKind(op);
    const apply = Object.hasOwn(OPERATIONS, kind) ? OPERATIONS[kind] : undefined;
    if (!apply) throw unprocessable(`Unexpected kind: ${kind}`);
    apply(document, op);
  }
  return document.root;
}

// ---------------------------------------------------------------------------------------------
// JSON merge patch (RFC 7386, with evanphx/json-patch's MergePatch behaviour)

/** Drops null members of objects at any depth; nulls inside arrays stay, as MergePatch keeps them. */
function pruneNulls(value: Json): Json {
  if (Array.isArray(value)) return value.map(pruneNulls);
  if (!isObject(value)) return value;
  const pruned: JsonObject = {};
  for (const [key, child] of Object.entries(value)) if (child !== null) put(pruned, key, pruneNulls(child));
  return pruned;
}

function mergeValue(current: Json, patch: Json): Json {
  if (!isObject(current)) return pruneNulls(patch);
  if (!isObject(patch)) return cloneJson(patch);
  mergeDocs(current, patch);
  return current;
}

function mergeDocs(doc: JsonObject, patch: JsonObject): void {
  for (const [key, value] of Object.entries(patch)) {
    const current = own(doc, key);
    if (value === null) delete doc[key];
    else if (current === undefined || current === null) put(doc, key, pruneNulls(value));
    else put(doc, key, mergeValue(current, value));
  }
}

/** Applies an application/merge-patch+json body (RFC 7386) the way kube-apiserver does; returns a new document. */
export function applyMergePatch(doc: Json, patchText: string): Json {
  const decoded = decodeGoJson(patchText);
  if (!decoded.ok) throw new PatchError(400, `error decoding patch: ${decoded.message}`);
  const patch = decoded.value;
  if (patch === null) throw new PatchError(400, "Invalid JSON Patch");
  if (!isObject(patch)) {
    throw new PatchError(400, `error decoding patch: json: cannot unmarshal ${goValueKind(patch)} into Go value of type map[string]interface {}`);
  }
  if (!isObject(doc)) return pruneNulls(patch);
  const result = cloneJson(doc) as JsonObject;
  mergeDocs(result, patch);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Strategic merge patch (k8s.io/apimachinery/pkg/util/strategicpatch, server side)

/**
 * How a field merges: lists with a merge key merge element-wise, lists of primitives with
 * `mergePrimitives` become a union, and `replace` makes a map (or list) atomic. Lists with no
 * entry are replaced whole, which is what kube does for fields without a patchStrategy tag.
 */
export type ListStrategy = { kind: "merge"; mergeKey: string } | { kind: "mergePrimitives" } | { kind: "replace" };

/** Field strategies keyed by dotted path from the object root, `[]` stepping into list elements: `spec.containers[].env`. */
export type PatchSchema = Readonly<Record<string, ListStrategy>>;

const DIRECTIVE = "$patch";
const RETAIN_KEYS = "$retainKeys";
const DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList";
const SET_ELEMENT_ORDER = "$setElementOrder";

const ERR_BAD_PRIMITIVE_LIST = "invalid patch format of primitive list";
const ERR_BAD_RETAIN_KEYS = "invalid patch format of retainKeys";
const ERR_BAD_SET_ELEMENT_ORDER = "invalid patch format of setElementOrder list";
const GO_MAP = "map[string]interface {}";
const GO_SLICE = "[]interface {}";

// apimachinery answers its sentinel format errors with 400, lists of lists with 422, and passes
// every other strategic merge error through unclassified, which kube-apiserver serves as 500
function badRequest(message: string): PatchError {
  return new PatchError(400, message);
}

function internalError(message: string): PatchError {
  return new PatchError(500, message);
}

function errBadArgType(expected: string, actual: Json | undefined): PatchError {
  return internalError(`expected a ${expected}, but received a ${goTypeName(actual)}`);
}

function errNoMergeKey(map: JsonObject, mergeKey: string): PatchError {
  return internalError(`map: ${goFormat(map)} does not contain declared merge key: ${mergeKey}`);
}

function errBadPatchType(directive: Json | undefined, map: JsonObject): PatchError {
  return internalError(`unknown patch type: ${goString(directive)} in map: ${goFormat(map)}`);
}

function childPath(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

function strategyAt(schema: PatchSchema, path: string): ListStrategy | undefined {
  return Object.hasOwn(schema, path) ? schema[path] : undefined;
}

function mergeKeyAt(schema: PatchSchema, path: string): string {
  const strategy = strategyAt(schema, path);
  return strategy?.kind === "merge" ? strategy.mergeKey : "";
}

function mergesList(schema: PatchSchema, path: string): boolean {
  const kind = strategyAt(schema, path)?.kind;
  return kind === "merge" || kind === "mergePrimitives";
}

/** `$deleteFromPrimitiveList/finalizers` -> `finalizers`; a key without the slash is malformed. */
function extractKey(key: string, prefix: string, malformed: string): string {
  const slash = key.indexOf("/");
  if (slash < 0 || key.slice(0, slash) !== prefix) throw badRequest(malformed);
  return key.slice(slash + 1);
}

function isDirectiveKey(key: string): boolean {
  return key === DIRECTIVE || key === RETAIN_KEYS || key.startsWith(`${SET_ELEMENT_ORDER}/`) || key.startsWith(`${DELETE_FROM_PRIMITIVE_LIST}/`);
}

/**
 * Cleans patch content that lands in the result unmerged. kube decodes the merged map into a
 * typed object, which drops directive keys and turns nulls into absent fields; `dropMarked` also
 * drops maps that carry `$patch`, as apimachinery's removeDirectives does for values it adds.
 */
function sanitize(value: Json, dropMarked: boolean): Json | undefined {
  if (Array.isArray(value)) {
    const items: Json[] = [];
    for (const item of value) {
      const clean = sanitize(item, dropMarked);
      if (clean !== undefined) items.push(clean);
    }
    return items;
  }
  if (!isObject(value)) return value;
  if (dropMarked && Object.hasOwn(value, DIRECTIVE)) return undefined;
  const clean: JsonObject = {};
  for (const [key, child] of Object.entries(value)) {
    if (child === null || isDirectiveKey(key)) continue;
    const cleanChild = sanitize(child, dropMarked);
    if (cleanChild !== undefined) put(clean, key, cleanChild);
  }
  return clean;
}

/** A value the original lacks (or holds with another type): nulls and `$patch` maps are discarded. */
function sanitizeNew(value: Json): Json | undefined {
  return sanitize(value, true);
}

/** Patch content kept as is (replace strategy or directive): typed decoding would drop directive keys and nulls. */
function sanitizeKept(value: Json): Json {
  return sanitize(value, false) ?? null;
}

type TypeTag = "map" | "slice" | "string" | "number" | "bool" | "nil";

function typeTag(value: Json): TypeTag {
  if (value === null) return "nil";
  if (Array.isArray(value)) return "slice";
  if (isObject(value)) return "map";
  if (typeof value === "boolean") return "bool";
  return typeof value === "number" ? "number" : "string";
}

/** The common element type of some lists; lists of lists and mixed lists are refused. */
function sliceElementType(...lists: Json[][]): TypeTag {
  let found: TypeTag | undefined;
  for (const item of lists.flat()) {
    const tag = typeTag(item);
    if (found === undefined) {
      if (tag === "slice") throw new PatchError(422, "lists of lists are not supported");
      found = tag;
    } else if (tag !== found) {
      throw internalError(`list element types are not identical: ${goFormat(lists)}`);
    }
  }
  if (found === undefined) throw internalError("no elements in any of the given slices");
  return found;
}

function mergeKeyValue(item: Json, mergeKey: string): Json | undefined {
  return isObject(item) ? own(item, mergeKey) : undefined;
}

/** findMapInSliceBasedOnKeyValue: the first map whose merge key equals `value`. */
function findByMergeKey(list: readonly Json[], mergeKey: string, value: Json | undefined): number {
  for (const [i, item] of list.entries()) {
    if (!isObject(item)) throw internalError(`value for key ${i} is not a map`);
    if (Object.hasOwn(item, mergeKey) && item[mergeKey] === value) return i;
  }
  return -1;
}

function requireMergeKey(item: Json, mergeKey: string): JsonObject {
  if (!isObject(item)) throw errBadArgType(GO_MAP, item);
  if (!Object.hasOwn(item, mergeKey)) throw errNoMergeKey(item, mergeKey);
  return item;
}

/** Position of `item` in `list`, by merge key for maps and by value for primitives. */
function indexIn(list: readonly Json[], item: Json, mergeKey: string, kind: TypeTag): number {
  if (kind !== "map") return list.indexOf(item);
  const wanted = mergeKeyValue(item, mergeKey) ?? null;
  return list.findIndex((candidate) => (mergeKeyValue(candidate, mergeKey) ?? null) === wanted);
}

/** normalizeSliceOrder: sorts `items` by their position in `order`, `$patch: delete` maps last. */
function sortByOrder(items: readonly Json[], order: readonly Json[], mergeKey: string, kind: TypeTag): Json[] {
  let kept = [...items];
  let deletions: Json[] = [];
  if (kind === "map") {
    for (const item of [...items, ...order]) requireMergeKey(item, mergeKey);
    deletions = kept.filter((item) => isObject(item) && own(item, DIRECTIVE) === "delete");
    kept = kept.filter((item) => !deletions.includes(item));
  }
  const position = new Map(kept.map((item) => [item, indexIn(order, item, mergeKey, kind)] as const));
  kept.sort((a, b) => (position.get(a) ?? -1) - (position.get(b) ?? -1));
  return [...kept, ...deletions];
}

/**
 * mergeSortedSlice: interleaves server-only items into the patch items by their positions in the
 * live list. An item the live list lacks goes before the server-only item it is compared with,
 * so elements a patch adds without `$setElementOrder` land ahead of untouched live elements.
 */
function mergeSorted(serverOnly: readonly Json[], patchItems: readonly Json[], serverOrder: readonly Json[], mergeKey: string, kind: TypeTag): Json[] {
  const out: Json[] = [];
  let i = 0;
  let j = 0;
  while (i < serverOnly.length || j < patchItems.length) {
    const left = serverOnly[i];
    const right = patchItems[j];
    if (right === undefined) {
      out.push(left as Json);
      i++;
    } else if (left === undefined) {
      out.push(right);
      j++;
    } else {
      const li = indexIn(serverOrder, left, mergeKey, kind);
      const ri = indexIn(serverOrder, right, mergeKey, kind);
      if (li >= 0 && ri >= 0 && li < ri) {
        out.push(left);
        i++;
      } else {
        out.push(right);
        j++;
      }
    }
  }
  return out;
}

/** Splits `merged` into items named in `by` and the rest, keeping `merged` order. */
function partition(merged: readonly Json[], by: readonly Json[], mergeKey: string): [Json[], Json[]] {
  const named: Json[] = [];
  const rest: Json[] = [];
  for (const item of merged) {
    const present = mergeKey === "" ? by.includes(item) : findByMergeKey(by, mergeKey, requireMergeKey(item, mergeKey)[mergeKey]) >= 0;
    (present ? named : rest).push(item);
  }
  return [named, rest];
}

/** normalizeElementOrder: patch items in `patchOrder`, server-only items in `serverOrder`, interleaved. */
function normalizeElementOrder(merged: readonly Json[], patchOrder: readonly Json[], serverOrder: readonly Json[], mergeKey: string, kind: TypeTag): Json[] {
  const [patchItems, serverOnly] = partition(merged, patchOrder, mergeKey);
  const sortedPatch = sortByOrder(patchItems, patchOrder, mergeKey, kind);
  const sortedServer = sortByOrder(serverOnly, serverOrder, mergeKey, kind);
  return mergeSorted(sortedServer, sortedPatch, serverOrder, mergeKey, kind);
}

function dedupe(items: readonly Json[]): Json[] {
  return items.filter((item, i) => items.indexOf(item) === i);
}

type SpecialElements = { survivors: Json[]; patch: Json[]; replaced: boolean };

/**
 * deleteMatchingEntries, as Go runs it: `append(s[:i], s[i+1:]...)` shifts the live list left in
 * its own backing array, so the caller's view of the live list changes too. Returns the new length.
 */
function deleteInPlace(live: Json[], length: number, mergeKey: string, value: Json | undefined): number {
  let remaining = length;
  for (;;) {
    const at = findByMergeKey(live.slice(0, remaining), mergeKey, value);
    if (at < 0) return remaining;
    live.copyWithin(at, at + 1, remaining);
    remaining--;
  }
}

/** mergeSliceWithSpecialElements: `$patch: delete` removes by merge key, `$patch: replace` drops the live list. */
function applySpecialElements(live: Json[], patch: readonly Json[], mergeKey: string): SpecialElements {
  const plain: Json[] = [];
  let length = live.length;
  let replaced = false;
  for (const item of patch) {
    const element = item as JsonObject;
    if (!Object.hasOwn(element, DIRECTIVE)) {
      plain.push(element);
      continue;
    }
    const directive = element[DIRECTIVE];
    if (directive === "delete") {
      if (!Object.hasOwn(element, mergeKey)) throw errNoMergeKey(element, mergeKey);
      length = deleteInPlace(live, length, mergeKey, element[mergeKey]);
    } else if (directive === "replace") {
      replaced = true;
    } else if (directive === "merge") {
      throw internalError("merging lists cannot yet be specified in the patch");
    } else {
      throw errBadPatchType(directive, element);
    }
  }
  return replaced ? { survivors: plain, patch: [], replaced } : { survivors: live.slice(0, length), patch: plain, replaced };
}

class StrategicMerger {
  constructor(private readonly schema: PatchSchema) {}

  /** mergeMap: merges `patch` into `original` (both owned and mutated) and returns the result. */
  mergeMap(original: JsonObject, patch: JsonObject, path: string): JsonObject {
    if (Object.hasOwn(patch, DIRECTIVE)) return this.mapDirective(patch);
    this.retainKeys(original, patch);
    this.setElementOrders(original, patch, path);
    const keys = Object.keys(patch);
    // deletions from primitive lists go last so they see the list the other keys produced
    const ordered = [...keys.filter((k) => !k.startsWith(DELETE_FROM_PRIMITIVE_LIST)), ...keys.filter((k) => k.startsWith(DELETE_FROM_PRIMITIVE_LIST))];
    for (const key of ordered) this.mergeField(original, key, patch[key] as Json, path);
    return original;
  }

  private mapDirective(patch: JsonObject): JsonObject {
    const directive = patch[DIRECTIVE];
    if (directive === "replace") return sanitizeKept(patch) as JsonObject;
    // apimachinery turns `$patch: delete` on a map into an empty map, not into a missing field
    if (directive === "delete") return {};
    throw errBadPatchType(directive, patch);
  }

  private retainKeys(original: JsonObject, patch: JsonObject): void {
    if (!Object.hasOwn(patch, RETAIN_KEYS)) return;
    const retain = patch[RETAIN_KEYS];
    delete patch[RETAIN_KEYS];
    if (!Array.isArray(retain)) throw badRequest(ERR_BAD_RETAIN_KEYS);
    const kept = (key: string): boolean => retain.includes(key);
    for (const [key, value] of Object.entries(patch)) {
      if (value === null || key.startsWith(DELETE_FROM_PRIMITIVE_LIST) || key.startsWith(SET_ELEMENT_ORDER)) continue;
      if (!kept(key)) throw badRequest(ERR_BAD_RETAIN_KEYS);
    }
    for (const key of Object.keys(original)) if (!kept(key)) delete original[key];
  }

  /** mergePatchIntoOriginal: merges each list named by `$setElementOrder/<list>` and orders it. */
  private setElementOrders(original: JsonObject, patch: JsonObject, path: string): void {
    for (const key of Object.keys(patch)) {
      if (!key.startsWith(SET_ELEMENT_ORDER)) continue;
      const order = patch[key] as Json;
      delete patch[key];
      if (!Array.isArray(order)) throw errBadArgType(GO_SLICE, order);
      const field = extractKey(key, SET_ELEMENT_ORDER, ERR_BAD_SET_ELEMENT_ORDER);
      const merged = this.orderedList(original, patch, field, order, childPath(path, field));
      if (merged === undefined) continue;
      put(original, field, merged);
      delete patch[field];
    }
  }

  private orderedList(original: JsonObject, patch: JsonObject, field: string, order: Json[], path: string): Json[] | undefined {
    const live = own(original, field);
    const patched = own(patch, field);
    if (live !== undefined && !Array.isArray(live)) throw errBadArgType(GO_SLICE, live);
    if (patched !== undefined && !Array.isArray(patched)) throw errBadArgType(GO_SLICE, patched);
    const mergeKey = mergeKeyAt(this.schema, path);
    validatePatchWithSetOrderList(patched ?? [], order, mergeKey);
    let merged: Json[];
    if (live !== undefined && patched !== undefined) merged = this.mergeSliceHandler(live, patched, path, false);
    else if (live !== undefined) merged = live;
    else if (patched !== undefined) merged = (sanitizeNew(patched) as Json[] | undefined) ?? [];
    else return undefined;
    const kind = sliceElementType(live ?? [], patched ?? []);
    return normalizeElementOrder(merged, order, live ?? [], mergeKey, kind);
  }

  private mergeField(original: JsonObject, patchKey: string, value: Json, path: string): void {
    const isDeleteList = patchKey.startsWith(DELETE_FROM_PRIMITIVE_LIST);
    const key = isDeleteList ? extractKey(patchKey, DELETE_FROM_PRIMITIVE_LIST, ERR_BAD_PRIMITIVE_LIST) : patchKey;
    if (value === null) {
      delete original[key];
      return;
    }
    const current = own(original, key);
    if (current === undefined || typeTag(current) !== typeTag(value)) {
      if (!isDeleteList) this.putNew(original, key, value);
      return;
    }
    const path2 = childPath(path, key);
    if (isObject(current)) {
      const replace = strategyAt(this.schema, path2)?.kind === "replace";
      put(original, key, replace ? sanitizeKept(value) : this.mergeMap(current, value as JsonObject, path2));
    } else if (Array.isArray(current)) {
      put(original, key, this.mergeSliceHandler(current, value as Json[], path2, isDeleteList));
    } else {
      put(original, key, value);
    }
  }

  private putNew(original: JsonObject, key: string, value: Json): void {
    const clean = sanitizeNew(value);
    if (clean === undefined) delete original[key];
    else put(original, key, clean);
  }

  private mergeSliceHandler(original: Json[], patch: Json[], path: string, isDeleteList: boolean): Json[] {
    // delete lists work whatever the field's strategy is
    if (mergesList(this.schema, path) || isDeleteList) return this.mergeSlice(original, patch, path, isDeleteList);
    return sanitizeKept(patch) as Json[];
  }

  private mergeSlice(original: Json[], patch: Json[], path: string, isDeleteList: boolean): Json[] {
    if (original.length === 0 && patch.length === 0) return original;
    const kind = sliceElementType(original, patch);
    const mergeKey = mergeKeyAt(this.schema, path);
    if (kind !== "map") {
      if (isDeleteList) return original.filter((item) => !patch.includes(item));
      return normalizeElementOrder(dedupe([...original, ...patch]), patch, original, mergeKey, kind);
    }
    if (mergeKey === "") throw internalError(`cannot merge lists without merge key for ${path}`);
    const special = applySpecialElements(original, patch, mergeKey);
    const fresh = new Set<Json>(special.replaced ? special.survivors : []);
    const merged = this.mergeByKey(special.survivors, special.patch, mergeKey, `${path}[]`, fresh);
    if (!special.replaced) shareAppends(original, special.survivors.length, merged);
    const ordered = normalizeElementOrder(merged, special.patch, special.survivors, mergeKey, kind);
    return ordered.map((item) => (fresh.has(item) ? sanitizeKept(item) : item));
  }

  /** mergeSliceWithoutSpecialElements: merges patch maps into live maps with the same key, appends the rest. */
  private mergeByKey(survivors: readonly Json[], patch: readonly Json[], mergeKey: string, elementPath: string, fresh: Set<Json>): Json[] {
    const merged = [...survivors];
    for (const item of patch) {
      const element = item as JsonObject;
      if (!Object.hasOwn(element, mergeKey)) throw errNoMergeKey(element, mergeKey);
      const at = findByMergeKey(merged, mergeKey, element[mergeKey]);
      if (at >= 0) {
        merged[at] = this.mergeMap(merged[at] as JsonObject, element, elementPath);
      } else {
        fresh.add(element);
        merged.push(element);
      }
    }
    return merged;
  }
}

/**
 * After deletions shortened the live list in place, Go's appends reuse the freed slots of the same
 * backing array; `$setElementOrder` later reads the live list through that array, so mirror it.
 */
function shareAppends(live: Json[], survivors: number, merged: readonly Json[]): void {
  for (let at = survivors; at < live.length && at < merged.length; at++) live[at] = merged[at] as Json;
}

/** validatePatchWithSetOrderList: the patch list must follow the order `$setElementOrder` gives. */
function validatePatchWithSetOrderList(patchList: readonly Json[], order: readonly Json[], mergeKey: string): void {
  if (order.length === 0 || patchList.length === 0) return;
  const items = mergeKey === "" ? patchList : patchList.filter((item) => !(requireMap(item) && own(item as JsonObject, DIRECTIVE) === "delete"));
  let p = 0;
  let s = 0;
  while (p < items.length && s < order.length) {
    const item = items[p] as Json;
    if (isObject(item) && Object.hasOwn(item, DIRECTIVE)) {
      p++;
      continue;
    }
    if (mergeKeyValueEqual(item, order[s] as Json, mergeKey)) p++;
    s++;
  }
  if (p < items.length && s >= order.length) {
    throw internalError(`the order in patch list:\n${goFormat(patchList as Json[])}\n doesn't match ${SET_ELEMENT_ORDER} list:\n${goFormat(order as Json[])}`);
  }
}

function requireMap(item: Json): boolean {
  if (!isObject(item)) throw errBadArgType(GO_MAP, item);
  return true;
}

function mergeKeyValueEqual(left: Json, right: Json, mergeKey: string): boolean {
  if (mergeKey === "") return left === right;
  return requireMergeKey(left, mergeKey)[mergeKey] === requireMergeKey(right, mergeKey)[mergeKey];
}

/** Applies an application/strategic-merge-patch+json body the way kube-apiserver does; returns a new document. */
export function applyStrategicMergePatch(doc: Json, patchText: string, schema: PatchSchema): Json {
  const decoded = decodeGoJson(patchText);
  // kube-apiserver passes the decoder's message through without the "error decoding patch" prefix here
  if (!decoded.ok) throw badRequest(decoded.message);
  const patch = decoded.value;
  if (patch !== null && !isObject(patch)) {
    throw badRequest(`json: cannot unmarshal ${goValueKind(patch)} into Go value of type map[string]interface {}`);
  }
  if (!isObject(doc)) throw internalError(`expected a ${GO_MAP} document, but received a ${goTypeName(doc)}`);
  const original = cloneJson(doc) as JsonObject;
  if (patch === null) return original;
  return new StrategicMerger(schema).mergeMap(original, patch, "");
}

// ---------------------------------------------------------------------------------------------
// Schemas: patchStrategy / patchMergeKey struct tags of k8s.io/api

const byKey = (mergeKey: string): ListStrategy => ({ kind: "merge", mergeKey });
const PRIMITIVES: ListStrategy = { kind: "mergePrimitives" };

function metadataSchemaAt(prefix: string): PatchSchema {
  return {
    [childPath(prefix, "metadata.ownerReferences")]: byKey("uid"),
    [childPath(prefix, "metadata.finalizers")]: PRIMITIVES,
  };
}

/** ObjectMeta at the object root: ownerReferences merge by uid, finalizers are a set. */
export const metadataSchema: PatchSchema = metadataSchemaAt("");

const CONTAINER_LISTS = ["containers", "initContainers", "ephemeralContainers"] as const;

function containerSchema(path: string): PatchSchema {
  return {
    [path]: byKey("name"),
    [`${path}[].env`]: byKey("name"),
    [`${path}[].ports`]: byKey("containerPort"),
    [`${path}[].volumeMounts`]: byKey("mountPath"),
    [`${path}[].volumeDevices`]: byKey("devicePath"),
  };
}

/** A PodSpec at `prefix` (`spec`, `spec.template.spec`); tolerations and readinessGates stay atomic. */
export function podSpecSchema(prefix: string): PatchSchema {
  const schema: Record<string, ListStrategy> = {};
  for (const list of CONTAINER_LISTS) Object.assign(schema, containerSchema(`${prefix}.${list}`));
  return Object.assign(schema, {
    [`${prefix}.volumes`]: byKey("name"),
    [`${prefix}.imagePullSecrets`]: byKey("name"),
    [`${prefix}.hostAliases`]: byKey("ip"),
    [`${prefix}.topologySpreadConstraints`]: byKey("topologyKey"),
    [`${prefix}.resourceClaims`]: byKey("name"),
    [`${prefix}.schedulingGates`]: byKey("name"),
  });
}

const CONDITIONS: PatchSchema = { "status.conditions": byKey("type") };

function workloadSchema(): PatchSchema {
  return { ...metadataSchema, ...metadataSchemaAt("spec.template"), ...podSpecSchema("spec.template.spec"), ...CONDITIONS };
}

/** Strategic merge schemas by kind; kinds missing here do not accept strategic merge patches. */
export const PATCH_SCHEMAS: Readonly<Record<string, PatchSchema>> = {
  Pod: {
    ...metadataSchema,
    ...podSpecSchema("spec"),
    ...CONDITIONS,
    "status.podIPs": byKey("ip"),
    "status.hostIPs": byKey("ip"),
    "status.resourceClaimStatuses": byKey("name"),
  },
  Node: { ...metadataSchema, "spec.podCIDRs": PRIMITIVES, ...CONDITIONS, "status.addresses": byKey("type") },
  Deployment: workloadSchema(),
  ReplicaSet: workloadSchema(),
  DaemonSet: workloadSchema(),
  PodDisruptionBudget: { ...metadataSchema, "spec.selector": { kind: "replace" }, ...CONDITIONS },
  Namespace: { ...metadataSchema, ...CONDITIONS },
  Event: metadataSchema,
  Eviction: metadataSchema,
};
