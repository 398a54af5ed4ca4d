/** What every function shares at its edge: reading the environment, and building once per cold start. */
import type * as z from "zod";
import { ConfigError, describeZodIssues } from "@spot-manager/core";

/** Validates the environment against a schema; throws ConfigError naming each bad variable. */
export function readEnv<T extends z.ZodType>(schema: T, env: Record<string, string | undefined>): z.output<T> {
  const result = schema.safeParse(env, { reportInput: true });
  if (!result.success) throw new ConfigError(`invalid environment: ${describeZodIssues(result.error)}`);
  return result.data;
}

/** Parses a variable that holds JSON; throws ConfigError naming it. */
export function jsonVariable(name: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ConfigError(`invalid environment: ${name} is not JSON (${(error as Error).message})`);
  }
}

/**
 * Builds a runtime on first use and keeps it for the warm container; a build that failed is tried
 * again on the next invocation instead of failing every one after it.
 */
export function oncePerColdStart<T>(create: () => T | Promise<T>): () => Promise<T> {
  let built: Promise<T> | undefined;
  return () => {
    built ??= Promise.resolve()
      .then(create)
      .catch((error: unknown) => {
        built = undefined;
        throw error;
      });
    return built;
  };
}
