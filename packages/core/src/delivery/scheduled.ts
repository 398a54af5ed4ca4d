/**
 * Scheduled rebuilds (e.g. a nightly refresh of the base image) through the same launcher as the
 * webhook. The configuration names each rebuild; a Cron invocation launches all of them, or the
 * ones its input names.
 */
import * as z from "zod";
import { ConfigError } from "../errors";
import { silentLog, type Log } from "../observability";
import { describeZodIssues } from "../zod-issues";
import { BUILD_ENV } from "./constants";
import { ScheduledBuildsError } from "./errors";
import type { BuildLauncher, LaunchResult } from "./launcher";

const ENV_NAME = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name");

export const scheduledBuildSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "must be 1-64 letters, digits, '.', '_' or '-'"),
  /** A branch (its head is built) or a commit. */
  sourceVersion: z.string().min(1).default("main"),
  /** Fresh base image and a tag of its own (`<sha>-r<build number>`); false rebuilds like a push. */
  rebuild: z.boolean().default(true),
  environment: z.record(ENV_NAME, z.string()).default({}),
});

export const scheduledBuildsSchema = z.array(scheduledBuildSchema).superRefine((builds, ctx) => {
  const seen = new Set<string>();
  builds.forEach((build, index) => {
    if (seen.has(build.name)) ctx.addIssue({ code: "custom", path: [index, "name"], message: `duplicate name "${build.name}"` });
    seen.add(build.name);
  });
});

export type ScheduledBuild = z.output<typeof scheduledBuildSchema>;
export type ScheduledBuildInput = z.input<typeof scheduledBuildSchema>;

/** Validates the scheduled builds; throws ConfigError naming the field (prefixed, e.g. SCHEDULED_BUILDS.0.name). */
export function parseScheduledBuilds(input: unknown, prefix = "SCHEDULED_BUILDS"): ScheduledBuild[] {
  const result = scheduledBuildsSchema.safeParse(input, { reportInput: true });
  if (!result.success) throw new ConfigError(`invalid scheduled builds: ${describeZodIssues(result.error, prefix)}`);
  return result.data;
}

const invocationSchema = z.object({
  /** EventBridge's event id: the same on Lambda's retries of one invocation. */
  id: z.string().min(1).optional(),
  /** Names of the builds to launch (a Cron target's input); all when absent. */
  builds: z.array(z.string()).optional(),
});

export interface ScheduledInvocation {
  id: string;
  builds?: string[];
}

/** Reads a Cron invocation: an EventBridge Scheduled Event, or `{ "builds": [...] }` as the rule's input. */
export function parseScheduledInvocation(event: unknown, now: () => number = Date.now): ScheduledInvocation {
  const parsed = invocationSchema.safeParse(event ?? {});
  if (!parsed.success) throw new ConfigError(`invalid scheduled invocation: ${describeZodIssues(parsed.error)}`);
  // without an event id, launches within the same minute count as one
  const id = parsed.data.id ?? `invocation-${new Date(now()).toISOString().slice(0, 16)}`;
  return { id, ...(parsed.data.builds ? { builds: parsed.data.builds } : {}) };
}

export interface ScheduledDeps {
  launcher: BuildLauncher;
  builds: readonly ScheduledBuild[];
  log?: Log;
}

export interface ScheduledLaunch {
  name: string;
  result: LaunchResult;
}

/** Launches the selected builds; throws ScheduledBuildsError after trying all of them if any failed. */
export async function launchScheduledBuilds(deps: ScheduledDeps, invocation: ScheduledInvocation): Promise<ScheduledLaunch[]> {
  const log = deps.log ?? silentLog;
  const names = invocation.builds;
  const unknown = (names ?? []).filter((n) => !deps.builds.some((b) => b.name === n));
  if (unknown.length > 0) throw new ConfigError(`scheduled builds not configured: ${unknown.join(", ")} (configured: ${deps.builds.map((b) => b.name).join(", ") || "none"})`);
  const selected = names ? deps.builds.filter((b) => names.includes(b.name)) : deps.builds;
  if (selected.length === 0) log.warn("no scheduled builds configured; nothing to launch", { invocation: invocation.id });

  const launched: ScheduledLaunch[] = [];
  const failures: { name: string; error: Error }[] = [];
  for (const build of selected) {
    try {
      const result = await deps.launcher.launch({
        sourceVersion: build.sourceVersion,
        environment: {
          ...build.environment,
          [BUILD_ENV.trigger]: "schedule",
          [BUILD_ENV.scheduleName]: build.name,
          [BUILD_ENV.rebuild]: String(build.rebuild),
        },
        idempotencyKey: `schedule|${build.name}|${invocation.id}`,
        trigger: "schedule",
      });
      launched.push({ name: build.name, result });
    } catch (error) {
      log.error("scheduled build not started", { name: build.name, error: (error as Error).message });
      failures.push({ name: build.name, error: error as Error });
    }
  }
  if (failures.length > 0) throw new ScheduledBuildsError(failures, { cause: failures[0]?.error });
  return launched;
}
