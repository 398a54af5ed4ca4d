/**
 * "CodeBuild Build State Change" events, normalized: project, build, status, commit, duration,
 * the failed phase and the links an operator needs. Quirks of the real event are absorbed here:
 * `additional-information` times read like `Sep 1, 2017 4:12:29 PM` (UTC), `current-phase-context`
 * is a string, the COMPLETED phase has only a start time.
 */
import * as z from "zod";
import { UnsupportedEventError } from "../errors";
import { envelopeSchema, parseOrThrow } from "../events/envelope";
import { BUILD_ENV, BUILD_STATE_CHANGE, CODEBUILD_SOURCE, DEPLOY_REFUSED_MARKER } from "./constants";

const phaseSchema = z.object({
  "phase-type": z.string(),
  "phase-status": z.string().optional(),
  "phase-context": z.array(z.unknown()).optional(),
  "start-time": z.string().optional(),
  "end-time": z.string().optional(),
  "duration-in-seconds": z.number().optional(),
});

const detailSchema = z.object({
  "build-status": z.string().min(1),
  "project-name": z.string().min(1),
  "build-id": z.string().min(1),
  "current-phase": z.string().optional(),
  "additional-information": z
    .object({
      "build-number": z.number().optional(),
      "build-start-time": z.string().optional(),
      "build-complete": z.boolean().optional(),
      "source-version": z.string().optional(),
      "resolved-source-version": z.string().optional(),
      initiator: z.string().optional(),
      environment: z
        .object({ "environment-variables": z.array(z.object({ name: z.string(), value: z.string().optional(), type: z.string().optional() })).default([]) })
        .optional(),
      logs: z.object({ "deep-link": z.string().optional(), "group-name": z.string().optional(), "stream-name": z.string().optional() }).optional(),
      phases: z.array(phaseSchema).default([]),
    })
    .default({ phases: [] }),
});

export interface FailedPhase {
  phase: string;
  status: string;
  /** CodeBuild's explanation, e.g. `COMMAND_EXECUTION_ERROR: Error while executing command: ...`. */
  context: string[];
}

export interface BuildStateChange {
  eventId: string;
  time: Date;
  region: string;
  account: string;
  project: string;
  /** The build's ARN. */
  buildId: string;
  buildNumber?: number;
  /** IN_PROGRESS, SUCCEEDED, FAILED or STOPPED (kept as sent if CodeBuild adds others). */
  status: string;
  complete: boolean;
  currentPhase?: string;
  /** The commit built, when the event names one (resolved source, the launcher's SOURCE_COMMIT, or a commit id as source version). */
  commit?: string;
  sourceVersion?: string;
  initiator?: string;
  startedAt?: Date;
  finishedAt?: Date;
  durationSeconds?: number;
  logUrl?: string;
  buildUrl?: string;
  failedPhase?: FailedPhase;
  /**
   * The build failed because its commit does not descend from the one its environment runs: the
   * buildspec refused to roll the environment back (its refusing command names DEPLOY_REFUSED).
   */
  refused: boolean;
  /** The build's plain-text environment variables. */
  environment: Record<string, string>;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const CODEBUILD_TIME = /^([A-Z][a-z]{2}) (\d{1,2}), (\d{4}) (\d{1,2}):(\d{2}):(\d{2}) ([AP]M)$/;
const COMMIT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** Reads CodeBuild's event time format (`Sep 1, 2017 4:12:29 PM`, UTC); undefined if it is not one. */
export function parseCodeBuildTime(text: string | undefined): Date | undefined {
  const match = text === undefined ? null : CODEBUILD_TIME.exec(text.trim());
  if (!match) return undefined;
  const [, month, day, year, hour, minute, second, meridiem] = match as unknown as [string, string, string, string, string, string, string, "AM" | "PM"];
  const monthIndex = MONTHS.indexOf(month);
  if (monthIndex < 0) return undefined;
  const hour24 = (Number(hour) % 12) + (meridiem === "PM" ? 12 : 0);
  return new Date(Date.UTC(Number(year), monthIndex, Number(day), hour24, Number(minute), Number(second)));
}

/** The CodeBuild console page of a build (commercial partition; undefined for others). */
export function buildConsoleUrl(buildArn: string): string | undefined {
  const match = /^arn:aws:codebuild:([\w-]+):(\d{12}):build\/([^:]+):(.+)$/.exec(buildArn);
  if (!match) return undefined;
  const [, region, account, project, id] = match as unknown as [string, string, string, string, string];
  return `https://${region}.console.aws.amazon.com/codesuite/codebuild/${account}/projects/${encodeURIComponent(project)}/build/${encodeURIComponent(`${project}:${id}`)}/?region=${region}`;
}

/** Parses a Build State Change event; throws MalformedEventError naming the field, UnsupportedEventError for other events. */
export function parseBuildStateChange(event: unknown): BuildStateChange {
  const envelope = parseOrThrow(envelopeSchema, event, "EventBridge event");
  if (envelope.source !== CODEBUILD_SOURCE || envelope["detail-type"] !== BUILD_STATE_CHANGE) {
    throw new UnsupportedEventError(`not a ${BUILD_STATE_CHANGE} event: source "${envelope.source}" detail-type "${envelope["detail-type"]}" (event ${envelope.id})`);
  }
  const detail = parseOrThrow(detailSchema, envelope.detail, `${BUILD_STATE_CHANGE} ${envelope.id}`, "detail");
  const info = detail["additional-information"];
  const environment: Record<string, string> = {};
  for (const variable of info.environment?.["environment-variables"] ?? []) {
    if ((variable.type ?? "PLAINTEXT") === "PLAINTEXT" && variable.value !== undefined) environment[variable.name] = variable.value;
  }
  const status = detail["build-status"];
  const complete = info["build-complete"] ?? status !== "IN_PROGRESS";
  const startedAt = parseCodeBuildTime(info["build-start-time"]);
  const finishedAt = complete ? finishTime(info.phases) ?? new Date(envelope.time) : undefined;
  const commit = [info["resolved-source-version"], environment[BUILD_ENV.sourceCommit], info["source-version"]].find((v) => v !== undefined && COMMIT_ID.test(v));
  const failed = info.phases.find((p) => p["phase-status"] !== undefined && p["phase-status"] !== "SUCCEEDED");
  const refused = status === "FAILED" && (failed?.["phase-context"] ?? []).some((c) => typeof c === "string" && c.includes(DEPLOY_REFUSED_MARKER));
  const buildUrl = buildConsoleUrl(detail["build-id"]);
  return {
    eventId: envelope.id,
    time: new Date(envelope.time),
    region: envelope.region,
    account: envelope.account,
    project: detail["project-name"],
    buildId: detail["build-id"],
    ...(info["build-number"] !== undefined ? { buildNumber: info["build-number"] } : {}),
    status,
    complete,
    ...(detail["current-phase"] ? { currentPhase: detail["current-phase"] } : {}),
    ...(commit ? { commit } : {}),
    ...(info["source-version"] ? { sourceVersion: info["source-version"] } : {}),
    ...(info.initiator ? { initiator: info.initiator } : {}),
    ...(startedAt ? { startedAt } : {}),
    ...(finishedAt ? { finishedAt } : {}),
    ...(startedAt && finishedAt ? { durationSeconds: Math.max(0, Math.round((finishedAt.getTime() - startedAt.getTime()) / 1000)) } : {}),
    ...(info.logs?.["deep-link"] ? { logUrl: info.logs["deep-link"] } : {}),
    ...(buildUrl ? { buildUrl } : {}),
    ...(failed
      ? { failedPhase: { phase: failed["phase-type"], status: failed["phase-status"] ?? "", context: (failed["phase-context"] ?? []).map((c) => (typeof c === "string" ? c : JSON.stringify(c))).filter((c) => c !== "") } }
      : {}),
    refused,
    environment,
  };
}

/** When the build finished: the COMPLETED phase's start, else the latest phase end. */
function finishTime(phases: z.output<typeof phaseSchema>[]): Date | undefined {
  const completed = phases.find((p) => p["phase-type"] === "COMPLETED");
  const fromCompleted = parseCodeBuildTime(completed?.["start-time"]);
  if (fromCompleted) return fromCompleted;
  const ends = phases.map((p) => parseCodeBuildTime(p["end-time"])?.getTime()).filter((t): t is number => t !== undefined);
  return ends.length > 0 ? new Date(Math.max(...ends)) : undefined;
}

/** `1h 2m 3s`, `1m 57s`, `4s`. */
export function formatDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return [h ? `${h}h` : "", m ? `${m}m` : "", s || (!h && !m) ? `${s}s` : ""].filter(Boolean).join(" ");
}
