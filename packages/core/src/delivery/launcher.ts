/**
 * Starting CodeBuild builds, at most one per source at a time: a build whose sourceVersion or
 * resolvedSourceVersion is the requested one and that is still IN_PROGRESS is answered instead of
 * starting another, and StartBuild carries an idempotency token derived from the request, so two
 * launches racing each other within CodeBuild's five-minute token window start one build.
 */
import { createHash } from "node:crypto";
import { BatchGetBuildsCommand, ListBuildsForProjectCommand, StartBuildCommand, type Build, type CodeBuildClient } from "@aws-sdk/client-codebuild";
import { noMetrics, silentLog, type Log, type Metrics } from "../observability";
import { DELIVERY_METRICS, type BuildTrigger } from "./constants";
import { BuildLaunchError } from "./errors";

export interface BuildRequest {
  /** A commit id, or a branch for rebuilds of its head. */
  sourceVersion: string;
  /** Plain-text environment overrides (never secrets: they are visible in the build's record). */
  environment: Record<string, string>;
  /** The same intent gives the same key (e.g. repository + ref + commit, or schedule + event id). */
  idempotencyKey: string;
  trigger: BuildTrigger;
}

export type LaunchResult =
  | { status: "started"; buildId: string; buildNumber?: number; sourceVersion: string }
  | { status: "already-building"; buildId: string; sourceVersion: string };

/** What the webhook and the schedule need: the CodeBuild launcher, or a fake in tests. */
export interface BuildLauncher {
  launch(request: BuildRequest): Promise<LaunchResult>;
}

export interface CodeBuildLauncherOptions {
  projectName: string;
  log?: Log;
  metrics?: Metrics;
  /** How many of the project's most recent builds are checked for one in progress (at most 100). */
  lookback?: number;
}

/** StartBuild's idempotency token for a key: deterministic, UUID-shaped. */
export function idempotencyTokenFor(projectName: string, key: string): string {
  const hex = createHash("sha256").update(`${projectName}\n${key}`).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export class CodeBuildLauncher implements BuildLauncher {
  private readonly log: Log;
  private readonly metrics: Metrics;
  private readonly lookback: number;

  constructor(
    private readonly codebuild: CodeBuildClient,
    private readonly options: CodeBuildLauncherOptions,
  ) {
    this.log = options.log ?? silentLog;
    this.metrics = options.metrics ?? noMetrics;
    this.lookback = Math.max(1, Math.min(100, options.lookback ?? 100));
  }

  /** A build of the project for this source (commit or branch) that is still running, if any. */
  async findBuildInProgress(sourceVersion: string): Promise<Build | undefined> {
    const projectName = this.options.projectName;
    let ids: string[];
    let builds: Build[];
    try {
      const listed = await this.codebuild.send(new ListBuildsForProjectCommand({ projectName, sortOrder: "DESCENDING" }));
      ids = (listed.ids ?? []).slice(0, this.lookback);
      if (ids.length === 0) return undefined;
      builds = (await this.codebuild.send(new BatchGetBuildsCommand({ ids }))).builds ?? [];
    } catch (error) {
      throw new BuildLaunchError(`looking for running builds of ${projectName} failed: ${(error as Error).message}`, projectName, { cause: error });
    }
    return builds.find((b) => b.buildStatus === "IN_PROGRESS" && (b.sourceVersion === sourceVersion || b.resolvedSourceVersion === sourceVersion));
  }

  /** Starts the build unless one for the same source is running; throws BuildLaunchError when CodeBuild fails. */
  async launch(request: BuildRequest): Promise<LaunchResult> {
    const projectName = this.options.projectName;
    const running = await this.findBuildInProgress(request.sourceVersion);
    if (running?.id) {
      this.log.info("a build for this source is already running; not starting another", { projectName, buildId: running.id, sourceVersion: request.sourceVersion, trigger: request.trigger });
      this.metrics.add(DELIVERY_METRICS.buildsDeduplicated, "Count", 1, { trigger: request.trigger });
      return { status: "already-building", buildId: running.id, sourceVersion: request.sourceVersion };
    }
    // sorted, so the same request always carries the same parameters with its idempotency token
    const environmentVariablesOverride = Object.entries(request.environment)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, value]) => ({ name, value, type: "PLAINTEXT" as const }));
    let build: Build | undefined;
    try {
      const started = await this.codebuild.send(
        new StartBuildCommand({
          projectName,
          sourceVersion: request.sourceVersion,
          environmentVariablesOverride,
          idempotencyToken: idempotencyTokenFor(projectName, request.idempotencyKey),
        }),
      );
      build = started.build;
    } catch (error) {
      throw new BuildLaunchError(`starting a build of ${projectName} for ${request.sourceVersion} failed: ${(error as Error).message}`, projectName, { cause: error });
    }
    if (!build?.id) throw new BuildLaunchError(`StartBuild for ${projectName} answered without a build id`, projectName);
    this.log.info("build started", { projectName, buildId: build.id, buildNumber: build.buildNumber, sourceVersion: request.sourceVersion, trigger: request.trigger });
    this.metrics.add(DELIVERY_METRICS.buildsStarted, "Count", 1, { trigger: request.trigger });
    return { status: "started", buildId: build.id, ...(build.buildNumber !== undefined ? { buildNumber: build.buildNumber } : {}), sourceVersion: request.sourceVersion };
  }
}
