/** Build Started and Build Finished, from CodeBuild's Build State Change as the delivery pipeline reads it. */
import type { BuildStateChange } from "../delivery/build-state";
import { BUILD_ENV } from "../delivery/constants";
import { OUTCOME_DETAIL_TYPES, type BuildDetail, type BuildFinishedDetail, type OutcomeEvent } from "./types";

export function buildOutcomeEvent(change: BuildStateChange): OutcomeEvent {
  const trigger = change.environment[BUILD_ENV.trigger];
  const branch = change.environment[BUILD_ENV.sourceBranch];
  const started: BuildDetail = {
    project: change.project,
    buildId: change.buildId,
    ...(change.buildNumber !== undefined ? { buildNumber: change.buildNumber } : {}),
    status: change.status,
    ...(change.commit ? { commit: change.commit } : {}),
    ...(change.sourceVersion ? { sourceVersion: change.sourceVersion } : {}),
    ...(trigger ? { trigger } : {}),
    ...(branch ? { branch } : {}),
    ...(change.initiator ? { initiator: change.initiator } : {}),
    ...(change.logUrl ? { logUrl: change.logUrl } : {}),
    ...(change.buildUrl ? { buildUrl: change.buildUrl } : {}),
    codeBuildEventId: change.eventId,
  };
  const resources = change.buildId.startsWith("arn:") ? [change.buildId] : [];
  if (!change.complete) return { detailType: OUTCOME_DETAIL_TYPES.buildStarted, detail: started, resources };
  const finished: BuildFinishedDetail = {
    ...started,
    succeeded: change.status === "SUCCEEDED",
    refused: change.refused,
    ...(change.durationSeconds !== undefined ? { durationSeconds: change.durationSeconds } : {}),
    ...(change.failedPhase ? { failedPhase: change.failedPhase } : {}),
  };
  return { detailType: OUTCOME_DETAIL_TYPES.buildFinished, detail: finished, resources };
}
