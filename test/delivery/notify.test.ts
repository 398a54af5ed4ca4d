/** The notify function with the CodeBuild sample event (test/fixtures/events), SNS faked. */
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { Recorder } from "@spot-manager/core";
import { mockClient } from "@spot-manager/aws-fakes";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { readNotifyConfig } from "../../functions/lib/delivery-env";
import { createNotifyRuntime } from "../../functions/lib/delivery-runtime";
import { createNotifyHandler, handler } from "../../functions/delivery/notify";
import { fixture } from "../fixtures";

const TOPIC_ARN = "arn:aws:sns:us-west-2:123456789012:spot-manager-dev-notifications";
const COMMIT = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";
const sns = mockClient(SNSClient);

type Detail = Record<string, unknown> & { "additional-information": Record<string, unknown> & { phases: Record<string, unknown>[]; environment: Record<string, unknown> } };

/** The sample as our builds send it: started by the launcher, so the environment names the commit. */
function buildEvent(change: (detail: Detail) => void = () => undefined) {
  const event = fixture("codebuildStateChange");
  const detail = event["detail"] as Detail;
  detail["additional-information"].environment["environment-variables"] = [
    { name: "SOURCE_COMMIT", value: COMMIT, type: "PLAINTEXT" },
    { name: "SOURCE_BRANCH", value: "main", type: "PLAINTEXT" },
    { name: "TRIGGER", value: "push", type: "PLAINTEXT" },
  ];
  change(detail);
  return event;
}

function notifyHandler(projectName?: string, recorder = new Recorder()) {
  return createNotifyHandler(() => createNotifyRuntime(readNotifyConfig({ AWS_REGION: "us-west-2", NOTIFICATION_TOPIC_ARN: TOPIC_ARN, ...(projectName ? { PROJECT_NAME: projectName } : {}) }), recorder, recorder));
}

beforeEach(() => {
  sns.reset();
  sns.on(PublishCommand).resolves({ MessageId: "7c1f0b8e-0000-4000-8000-000000000001" });
});

afterEach(() => vi.unstubAllEnvs());

describe("notify function", () => {
  it("the sample event: one concise notification with project, commit, status, duration and log link", async () => {
    // Prepare
    const recorder = new Recorder();
    // Act
    const result = await notifyHandler("my-sample-project", recorder)(buildEvent());
    // Assess
    expect(result).toMatchObject({ published: true, messageId: "7c1f0b8e-0000-4000-8000-000000000001" });
    expect(sns).toReceiveCommandTimes(PublishCommand, 1);
    expect(sns).toReceiveCommandWith(PublishCommand, {
      TopicArn: TOPIC_ARN,
      Subject: "spot-manager build SUCCEEDED: my-sample-project @ a1b2c3d4e5f6",
      MessageAttributes: {
        kind: { DataType: "String", StringValue: "build" },
        status: { DataType: "String", StringValue: "SUCCEEDED" },
        project: { DataType: "String", StringValue: "my-sample-project" },
      },
    });
    const message = JSON.parse(sns.commandCalls(PublishCommand)[0]!.args[0].input.Message!) as Record<string, unknown>;
    expect(message).toMatchObject({
      summary: "my-sample-project SUCCEEDED in 1m 57s, commit a1b2c3d4e5f6",
      project: "my-sample-project",
      commit: COMMIT,
      status: "SUCCEEDED",
      durationSeconds: 117,
      logUrl: "https://console.aws.amazon.com/cloudwatch/home?region=us-west-2#logEvent:group=/aws/codebuild/my-sample-project;stream=8745a7a9-c340-456a-9166-edf953571bEX",
      trigger: "push",
      branch: "main",
    });
    expect(recorder.total("BuildNotifications", { status: "SUCCEEDED" })).toBe(1);
  });

  it("a failed build says where it failed", async () => {
    await notifyHandler()(
      buildEvent((d) => {
        d["build-status"] = "FAILED";
        Object.assign(d["additional-information"].phases.find((p) => p["phase-type"] === "POST_BUILD")!, {
          "phase-status": "FAILED",
          "phase-context": ["COMMAND_EXECUTION_ERROR: Error while executing command: (set -Eeuo pipefail ...). Reason: exit status 1"],
        });
      }),
    );
    const message = JSON.parse(sns.commandCalls(PublishCommand)[0]!.args[0].input.Message!) as Record<string, unknown>;
    expect(message["summary"]).toMatch(/^my-sample-project FAILED in 1m 57s at POST_BUILD \(COMMAND_EXECUTION_ERROR/);
    expect(message["failedPhase"]).toMatchObject({ phase: "POST_BUILD", status: "FAILED" });
    expect(sns).toReceiveCommandWith(PublishCommand, { Subject: "spot-manager build FAILED: my-sample-project @ a1b2c3d4e5f6" });
  });

  it("a build the buildspec refused (its commit older than what runs) is REFUSED, not FAILED, in the subject, the body and the attributes", async () => {
    // Prepare: the context CodeBuild gives the command that refuses
    const refusedEvent = buildEvent((d) => {
      d["build-status"] = "FAILED";
      Object.assign(d["additional-information"].phases.find((p) => p["phase-type"] === "POST_BUILD")!, {
        "phase-status": "FAILED",
        "phase-context": ['COMMAND_EXECUTION_ERROR: Error while executing command: (\n  # DEPLOY_REFUSED: the commit built does not descend from the one its environment runs; the build fails visibly, nothing was bumped\n  if [ "$DEPLOY_OUTCOME" = "refused" ]; then ...; exit 3; fi\n)\n. Reason: exit status 3'],
      });
    });
    const recorder = new Recorder();
    // Act
    await notifyHandler(undefined, recorder)(refusedEvent);
    // Assess
    expect(sns).toReceiveCommandWith(PublishCommand, {
      Subject: "spot-manager build REFUSED: my-sample-project @ a1b2c3d4e5f6",
      MessageAttributes: expect.objectContaining({ status: { DataType: "String", StringValue: "REFUSED" } }),
    });
    const message = JSON.parse(sns.commandCalls(PublishCommand)[0]!.args[0].input.Message!) as Record<string, unknown>;
    expect(message).toMatchObject({ status: "REFUSED", buildStatus: "FAILED", summary: expect.stringMatching(/^my-sample-project REFUSED: its commit does not descend from the one its environment runs; nothing was deployed, commit a1b2c3d4e5f6$/) });
    expect(recorder.total("BuildNotifications", { status: "REFUSED" })).toBe(1);
  });

  it("events of another project, or of another kind, are acknowledged without a notification", async () => {
    expect(await notifyHandler("spot-manager-dev-sample")(buildEvent())).toEqual({ published: false, reason: "project my-sample-project is not spot-manager-dev-sample" });
    expect(await notifyHandler()(fixture("spotInterruption"))).toMatchObject({ published: false, reason: expect.stringMatching(/not a CodeBuild Build State Change event/) });
    expect(sns).not.toReceiveCommand(PublishCommand);
  });

  it("a failed publish fails the invocation, so Lambda retries it", async () => {
    sns.on(PublishCommand).rejects(Object.assign(new Error("Topic does not exist"), { name: "NotFoundException" }));
    await expect(notifyHandler()(buildEvent())).rejects.toThrowError(/Topic does not exist/);
  });

  it("the deployed handler reads NOTIFICATION_TOPIC_ARN, and names it when it is missing", async () => {
    vi.stubEnv("AWS_REGION", "us-west-2");
    vi.stubEnv("NOTIFICATION_TOPIC_ARN", TOPIC_ARN);
    expect(await handler(buildEvent())).toMatchObject({ published: true });
    expect(() => readNotifyConfig({ AWS_REGION: "us-west-2" })).toThrowError(/invalid environment: NOTIFICATION_TOPIC_ARN/);
    expect(() => readNotifyConfig({ AWS_REGION: "us-west-2", NOTIFICATION_TOPIC_ARN: "topic" })).toThrowError(/NOTIFICATION_TOPIC_ARN: must be an ARN/);
  });
});
