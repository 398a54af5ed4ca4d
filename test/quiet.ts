/**
 * Quiet passing tests (setup file of every test file): whatever the code under test prints —
 * Powertools' JSON log lines and EMF metrics written straight to stdout, Node.js process warnings
 * such as the AWS SDK's NodeVersionSupportWarning — goes through `console`, where vitest keeps it
 * with the test that printed it and shows it only when that test fails (`silent: "passed-only"`
 * in vitest.config.ts; the workers run with --no-warnings so Node.js does not print them itself).
 * `notice` is for the few lines a run must always show (a tool missing, tests skipped for it).
 */
import { format } from "node:util";

type Write = typeof process.stdout.write;
const RAW = Symbol.for("spot-manager.test.raw-stderr");
const WRAPPED = Symbol.for("spot-manager.test.quiet");
const state = globalThis as typeof globalThis & { [RAW]?: Write; [WRAPPED]?: boolean };

// once per worker, however often this module is evaluated
state[RAW] ??= process.stderr.write.bind(process.stderr) as Write;

/** Prints a line on the run's output whatever the test's outcome (why tests are skipped, for instance). */
export function notice(message: string): void {
  (state[RAW] as Write)(`${message}\n`);
}

function through(log: (line: string) => void): Write {
  return ((chunk: unknown, encoding?: unknown, callback?: unknown) => {
    const text = typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString(typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8");
    log(text.endsWith("\n") ? text.slice(0, -1) : text);
    const done = typeof encoding === "function" ? encoding : callback;
    if (typeof done === "function") queueMicrotask(() => (done as () => void)());
    return true;
  }) as Write;
}

if (!state[WRAPPED]) {
  state[WRAPPED] = true;
  process.stdout.write = through((line) => console.log(line));
  process.stderr.write = through((line) => console.error(line));
  // told at once, so the warning stays with the test that caused it (the event comes a tick later)
  const told = new Set<string>();
  const emitWarning = process.emitWarning.bind(process);
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const name = typeof warning === "string" ? (typeof rest[0] === "string" ? rest[0] : ((rest[0] as { type?: string } | undefined)?.type ?? "Warning")) : warning.name;
    const message = typeof warning === "string" ? warning : warning.message;
    console.warn(format("(node) %s: %s", name, message));
    told.add(message);
    (emitWarning as (...args: unknown[]) => void)(warning, ...rest);
  }) as typeof process.emitWarning;
  // and the ones Node.js raises itself, not through process.emitWarning
  process.on("warning", (warning) => {
    if (!told.delete(warning.message)) console.warn(format("(node) %s: %s", warning.name, warning.message));
  });
}
