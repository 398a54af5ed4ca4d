/** Names the delivery pipeline shares between the Lambdas, the buildspec and the stack, named once. */

/** GitHub's webhook headers, as a Lambda Function URL hands them over (lower-cased). */
export const GITHUB_HEADERS = {
  signature: "x-hub-signature-256",
  event: "x-github-event",
  delivery: "x-github-delivery",
  hookId: "x-github-hook-id",
  contentType: "content-type",
} as const;

/** Environment variables the launcher sets on every build; the buildspec reads them. */
export const BUILD_ENV = {
  /** The commit asked for (the buildspec prefers CodeBuild's CODEBUILD_RESOLVED_SOURCE_VERSION). */
  sourceCommit: "SOURCE_COMMIT",
  sourceRef: "SOURCE_REF",
  sourceBranch: "SOURCE_BRANCH",
  sourceRepository: "SOURCE_REPOSITORY",
  /** `push` or `schedule`. */
  trigger: "TRIGGER",
  scheduleName: "SCHEDULE_NAME",
  /** "true" for scheduled rebuilds: fresh base image, a tag of its own (ECR tags are immutable). */
  rebuild: "REBUILD",
} as const;

export type BuildTrigger = "push" | "schedule";

/**
 * The buildspec's last command fails a build whose commit does not descend from the one its
 * environment runs; CodeBuild puts the command, and so this marker, in the failed phase's context.
 */
export const DEPLOY_REFUSED_MARKER = "DEPLOY_REFUSED";

/** Tags that keep the images environments run (live-<overlay>, live-<overlay>-previous); the ECR lifecycle never expires them. */
export const LIVE_TAG_PREFIX = "live-";

/** The tag the image repository keeps BuildKit's layer cache under (mutable). */
export const CACHE_TAG = "buildcache";

/** Commit-message markers that keep a push from starting a build (the GitOps bump carries one). */
export const SKIP_MARKERS = ["[skip ci]", "[ci skip]", "[skip build]"] as const;

export const CODEBUILD_SOURCE = "aws.codebuild";
export const BUILD_STATE_CHANGE = "CodeBuild Build State Change";

/** The statuses CodeBuild reports in a Build State Change event. */
export const BUILD_STATUSES = ["IN_PROGRESS", "SUCCEEDED", "FAILED", "STOPPED"] as const;

/** The EventBridge pattern the notify function is meant for (one project, every status). */
export function buildStateChangePattern(projectName: string) {
  return {
    source: [CODEBUILD_SOURCE],
    detailType: [BUILD_STATE_CHANGE],
    detail: { "project-name": [projectName], "build-status": [...BUILD_STATUSES] },
  };
}

export const DELIVERY_METRICS = {
  /** Webhook deliveries by GitHub event name. */
  webhooksReceived: "WebhooksReceived",
  /** Deliveries answered 401, by reason. */
  webhooksRejected: "WebhooksRejected",
  /** Deliveries acknowledged without a build, by reason. */
  webhooksIgnored: "WebhooksIgnored",
  /** Builds started, by trigger. */
  buildsStarted: "BuildsStarted",
  /** Launches that found a build for the same source already running, by trigger. */
  buildsDeduplicated: "BuildsDeduplicated",
  /** Build notifications published, by status. */
  buildNotifications: "BuildNotifications",
  /** Deliveries seen before (already handled, or being handled), by result. */
  webhooksReplayed: "WebhooksReplayed",
  /** Deliveries answered 503 because the secret or the delivery store could not be read, by reason. */
  webhooksUnavailable: "WebhooksUnavailable",
} as const;
