/**
 * A concise notification per build state change on the project's SNS topic: a one-line subject for
 * people (email, chat), and a JSON body with project, commit, status, duration and links for tools.
 * With an outcome publisher, Build Started / Build Finished follow on the event bus once the
 * notification was published (a retry after a failed publish sends neither twice).
 */
import { PublishCommand, type SNSClient } from "@aws-sdk/client-sns";
import { PRODUCT } from "../constants";
import { errorMessage, SkipError } from "../errors";
import { noMetrics, silentLog, type Log, type Metrics } from "../observability";
import { buildOutcomeEvent } from "../outcomes/build";
import type { OutcomePublisher } from "../outcomes/publisher";
import { formatDuration, parseBuildStateChange, type BuildStateChange } from "./build-state";
import { BUILD_ENV, DELIVERY_METRICS } from "./constants";

export interface BuildNotification {
  /** At most 100 printable ASCII characters, as SNS requires. */
  subject: string;
  /** JSON. */
  message: string;
  attributes: Record<string, string>;
}

const SHORT_COMMIT = 12;

/** The status people see: CodeBuild's, except REFUSED for a build that would have rolled its environment back. */
export function shownStatus(change: BuildStateChange): string {
  return change.refused ? "REFUSED" : change.status;
}

/** One line: `my-project #42 SUCCEEDED in 1m 57s, commit 0123456789ab`. */
export function summarize(change: BuildStateChange): string {
  const build = `${change.project}${change.buildNumber !== undefined ? ` #${change.buildNumber}` : ""}`;
  const commit = change.commit ? `commit ${change.commit.slice(0, SHORT_COMMIT)}` : change.sourceVersion ? `source ${change.sourceVersion}` : "";
  if (!change.complete) return [`${build} started`, commit].filter(Boolean).join(", ");
  if (change.refused) return [`${build} REFUSED: its commit does not descend from the one its environment runs; nothing was deployed`, commit].filter(Boolean).join(", ");
  const took = change.durationSeconds !== undefined ? ` in ${formatDuration(change.durationSeconds)}` : "";
  const where = change.failedPhase ? ` at ${change.failedPhase.phase}${change.failedPhase.context[0] ? ` (${change.failedPhase.context[0]})` : ""}` : "";
  return [`${build} ${change.status}${took}${where}`, commit].filter(Boolean).join(", ");
}

/** The subject, body and attributes of the notification for one state change. */
export function formatBuildNotification(change: BuildStateChange): BuildNotification {
  const commit = change.commit?.slice(0, SHORT_COMMIT) ?? change.sourceVersion;
  const status = shownStatus(change);
  const subject = `${PRODUCT} build ${status}: ${change.project}${commit ? ` @ ${commit}` : ""}`;
  const body = {
    product: PRODUCT,
    version: 1,
    kind: "build",
    phase: change.complete ? "end" : "start",
    summary: summarize(change),
    project: change.project,
    status,
    /** CodeBuild's own status (FAILED for a refused build). */
    buildStatus: change.status,
    commit: change.commit ?? null,
    sourceVersion: change.sourceVersion ?? null,
    durationSeconds: change.durationSeconds ?? null,
    logUrl: change.logUrl ?? null,
    buildUrl: change.buildUrl ?? null,
    buildId: change.buildId,
    buildNumber: change.buildNumber ?? null,
    failedPhase: change.failedPhase ?? null,
    trigger: change.environment[BUILD_ENV.trigger] ?? null,
    branch: change.environment[BUILD_ENV.sourceBranch] ?? null,
    initiator: change.initiator ?? null,
    eventId: change.eventId,
    time: change.time.toISOString(),
  };
  return {
    subject: asciiSubject(subject),
    message: JSON.stringify(body),
    attributes: { kind: "build", status, project: change.project },
  };
}

/** SNS subjects: ASCII, no line breaks, at most 100 characters. */
function asciiSubject(text: string): string {
  return text
    .replace(/[^\x20-\x7e]/g, "?")
    .slice(0, 100)
    .trim();
}

export interface BuildNotifierOptions {
  /** Events of other projects are acknowledged and not published. */
  projectName?: string;
  log?: Log;
  metrics?: Metrics;
  /** Build Started and Build Finished outcome events; they never fail the notification. */
  outcomes?: OutcomePublisher;
}

export type NotifyResult = { published: true; change: BuildStateChange; messageId?: string } | { published: false; reason: string };

export class BuildNotifier {
  private readonly log: Log;
  private readonly metrics: Metrics;

  constructor(
    private readonly sns: SNSClient,
    private readonly topicArn: string,
    private readonly options: BuildNotifierOptions = {},
  ) {
    this.log = options.log ?? silentLog;
    this.metrics = options.metrics ?? noMetrics;
  }

  /**
   * Parses and publishes. An event that can never be published (malformed, another project) is
   * acknowledged with a logged reason; a failed publish throws, so Lambda's retries apply.
   */
  async notify(event: unknown): Promise<NotifyResult> {
    let change: BuildStateChange;
    try {
      change = parseBuildStateChange(event);
    } catch (error) {
      if (!(error instanceof SkipError)) throw error;
      this.log.warn("build event not published", { reason: error.reason, error: error.message });
      return { published: false, reason: error.message };
    }
    if (this.options.projectName !== undefined && change.project !== this.options.projectName) {
      const reason = `project ${change.project} is not ${this.options.projectName}`;
      this.log.info("build event of another project not published", { project: change.project, buildId: change.buildId });
      return { published: false, reason };
    }
    const notification = formatBuildNotification(change);
    let messageId: string | undefined;
    try {
      const answer = await this.sns.send(
        new PublishCommand({
          TopicArn: this.topicArn,
          Subject: notification.subject,
          Message: notification.message,
          MessageAttributes: Object.fromEntries(Object.entries(notification.attributes).map(([k, v]) => [k, { DataType: "String", StringValue: v }])),
        }),
      );
      messageId = answer.MessageId;
    } catch (error) {
      this.log.error("build notification not published", { buildId: change.buildId, topicArn: this.topicArn, error: errorMessage(error) });
      throw error;
    }
    this.metrics.add(DELIVERY_METRICS.buildNotifications, "Count", 1, { status: shownStatus(change) });
    this.log.info("build notification published", { buildId: change.buildId, status: shownStatus(change), commit: change.commit, messageId });
    await this.options.outcomes?.publish([buildOutcomeEvent(change)]);
    return { published: true, change, ...(messageId ? { messageId } : {}) };
  }
}
