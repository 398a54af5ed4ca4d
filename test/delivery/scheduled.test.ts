/** The scheduled-rebuild function as EventBridge invokes it, CodeBuild faked. */
import { BatchGetBuildsCommand, CodeBuildClient, ListBuildsForProjectCommand, StartBuildCommand } from "@aws-sdk/client-codebuild";
import { Recorder } from "@spot-manager/core";
import { mockClient } from "@spot-manager/aws-fakes";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { readScheduledConfig } from "../../functions/lib/delivery-env";
import { createScheduledRuntime } from "../../functions/lib/delivery-runtime";
import { createScheduledHandler, handler } from "../../functions/delivery/scheduled";

const PROJECT = "spot-manager-dev-sample";
const SCHEDULED_BUILDS = JSON.stringify([{ name: "nightly-base-refresh", sourceVersion: "main", environment: { GITOPS_OVERLAY: "deploy/overlays/dev" } }]);
const ENV = { AWS_REGION: "us-west-2", PROJECT_NAME: PROJECT, SCHEDULED_BUILDS };
const SCHEDULED_EVENT = {
  version: "0",
  id: "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
  "detail-type": "Scheduled Event",
  source: "aws.events",
  account: "123456789012",
  time: "2024-05-15T03:00:00Z",
  region: "us-west-2",
  resources: ["arn:aws:events:us-west-2:123456789012:rule/spot-manager-dev-nightly-rebuild"],
  detail: {},
};
const codebuild = mockClient(CodeBuildClient);

function scheduledHandler() {
  const recorder = new Recorder();
  return createScheduledHandler(() => createScheduledRuntime(readScheduledConfig(ENV), recorder, recorder));
}

beforeEach(() => {
  codebuild.reset();
  codebuild.on(ListBuildsForProjectCommand).resolves({ ids: [] });
  codebuild.on(StartBuildCommand).resolves({ build: { id: `${PROJECT}:nightly-1`, buildNumber: 31 } });
});

afterEach(() => vi.unstubAllEnvs());

describe("scheduled function", () => {
  it("a Scheduled Event launches the nightly base-image refresh of main", async () => {
    const result = await scheduledHandler()(SCHEDULED_EVENT);
    expect(result).toEqual({ launched: [{ name: "nightly-base-refresh", result: { status: "started", buildId: `${PROJECT}:nightly-1`, buildNumber: 31, sourceVersion: "main" } }] });
    expect(codebuild).toReceiveCommandWith(StartBuildCommand, {
      projectName: PROJECT,
      sourceVersion: "main",
      environmentVariablesOverride: [
        { name: "GITOPS_OVERLAY", value: "deploy/overlays/dev", type: "PLAINTEXT" },
        { name: "REBUILD", value: "true", type: "PLAINTEXT" },
        { name: "SCHEDULE_NAME", value: "nightly-base-refresh", type: "PLAINTEXT" },
        { name: "TRIGGER", value: "schedule", type: "PLAINTEXT" },
      ],
    });
  });

  it("Lambda's retry of the same event, while the rebuild runs, starts nothing new", async () => {
    codebuild.on(ListBuildsForProjectCommand).resolves({ ids: [`${PROJECT}:nightly-1`] });
    codebuild.on(BatchGetBuildsCommand).resolves({ builds: [{ id: `${PROJECT}:nightly-1`, buildStatus: "IN_PROGRESS", sourceVersion: "main" }] });
    const result = await scheduledHandler()(SCHEDULED_EVENT);
    expect(result.launched[0]?.result).toEqual({ status: "already-building", buildId: `${PROJECT}:nightly-1`, sourceVersion: "main" });
    expect(codebuild).not.toReceiveCommand(StartBuildCommand);
  });

  it("a failed start fails the invocation (EventBridge/Lambda retry it)", async () => {
    codebuild.on(StartBuildCommand).rejects(Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" }));
    await expect(scheduledHandler()(SCHEDULED_EVENT)).rejects.toThrowError(/scheduled builds not started: nightly-base-refresh/);
  });

  it("the deployed handler reads PROJECT_NAME and SCHEDULED_BUILDS, naming a bad one", async () => {
    for (const [name, value] of Object.entries(ENV)) vi.stubEnv(name, value);
    expect((await handler(SCHEDULED_EVENT)).launched).toHaveLength(1);
    expect(() => readScheduledConfig({ ...ENV, SCHEDULED_BUILDS: "[" })).toThrowError(/SCHEDULED_BUILDS is not JSON/);
    expect(() => readScheduledConfig({ ...ENV, SCHEDULED_BUILDS: JSON.stringify([{ name: "" }]) })).toThrowError(/SCHEDULED_BUILDS\.0\.name/);
    expect(() => readScheduledConfig({ ...ENV, PROJECT_NAME: undefined })).toThrowError(/invalid environment: PROJECT_NAME/);
  });
});
