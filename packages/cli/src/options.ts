/** Option parsing shared by the commands: bad values stop with a message naming the flag. */
import { InvalidArgumentError } from "commander";

/** A mistake in how the command was called; printed without a stack trace, exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export function positiveNumber(flag: string, opts: { allowZero?: boolean; integer?: boolean } = {}) {
  return (value: string): number => {
    const n = Number(value);
    const ok = Number.isFinite(n) && (opts.allowZero ? n >= 0 : n > 0) && (!opts.integer || Number.isInteger(n));
    if (!ok) throw new InvalidArgumentError(`${flag} must be a ${opts.integer ? "whole " : ""}number ${opts.allowZero ? ">= 0" : "> 0"}, got "${value}"`);
    return n;
  };
}

/** The command ran and its job failed (a drain left pods, an invoked function failed): exit code 1. */
export class CommandFailedError extends Error {
  override readonly name = "CommandFailedError";
}
