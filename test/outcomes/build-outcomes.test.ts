/**
 * Build Started and Build Finished: the notify function with CodeBuild's state changes, SNS and
 * EventBridge faked (every request held to AWS's API models), each event held to its schema.
 */
import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { PublishCommand } from "@aws-sdk/client-sns";
import { Recorder } from "@spot-manager/core";
import { afterEach, describe, expect, it } from "vitest";
import { createNotifyHandler } from "../../functions/delivery/notify";
import { readNotifyConfig } from "../../functions/lib/delivery-env";
import { createNotifyRuntime } from "../../functions/lib/delivery-runtime";
import { AwsWorld } from "../../packages/cli/src/simulate/aws-world";
import { fixture } from "../fixtures";
import { outcomeDetails, outcomeEvents } from "./schemas";

const TOPIC_ARN = "arn:aws:sns:us-west-2:123456789012:spot-manager-dev-notifications";
const COMMIT = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";

let aws: AwsWorld | undefined;
afterEach(() => {
  aws?.restore();
  aws = undefined;
});

type Detail = Record<string, unknown> & { "build-status": string; "additional-information": Record<string, unknown> & { phases: Record<string, unknown>[]; environment: Record<string, unknown> } };

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

function notifyHandler(world: AwsWorld, recorder = new Recorder(), env: Record<string, string> = {}) {
  const config = readNotifyConfig({ AWS_REGION: "us-west-2", NOTIFICATION_TOPIC_ARN: TOPIC_ARN, PROJECT_NAME: "my-sample-project", OUTCOME_EVENT_BUS: "default", ...env });
  return createNotifyHandler(() => createNotifyRuntime(config, recorder, recorder, { sns: world.clients.sns, eventbridge: world.clients.eventbridge }));
}

describe("build outcome events", () => {
  it("a build's start and its end: Build Started, then Build Finished with status, commit, duration and the links", async () => {
    // Prepare
    aws = new AwsWorld();
    const notify = notifyHandler(aws);
    const started = buildEvent((d) => {
      d["build-status"] = "IN_PROGRESS";
      d["additional-information"]["build-complete"] = false;
      d["additional-information"].phases = [];
    });
    // Act
    await notify(started);
    await notify(buildEvent());
    // Assess
    expect(outcomeEvents(aws).map((e) => e["detail-type"])).toEqual(["Build Started", "Build Finished"]);
    expect(outcomeDetails(aws, "Build Started")[0]).toMatchObject({ project: "my-sample-project", status: "IN_PROGRESS", commit: COMMIT, branch: "main", trigger: "push" });
    const [finished] = outcomeDetails(aws, "Build Finished");
    expect(finished).toMatchObject({ project: "my-sample-project", status: "SUCCEEDED", succeeded: true, refused: false, commit: COMMIT, codeBuildEventId: fixture("codebuildStateChange")["id"] });
    expect(finished?.["durationSeconds"]).toEqual(expect.any(Number));
    expect(aws.sns).toReceiveCommandTimes(PublishCommand, 2);
  });

  it("a failed build says where it failed", async () => {
    aws = new AwsWorld();
    await notifyHandler(aws)(
      buildEvent((d) => {
        d["build-status"] = "FAILED";
        const build = d["additional-information"].phases.find((p) => p["phase-type"] === "BUILD");
        if (build) Object.assign(build, { "phase-status": "FAILED", "phase-context": ["COMMAND_EXECUTION_ERROR: Error while executing command: make. Reason: exit status 2"] });
      }),
    );
    expect(outcomeDetails(aws, "Build Finished")[0]).toMatchObject({ status: "FAILED", succeeded: false, failedPhase: { phase: "BUILD", status: "FAILED" } });
  });

  it("a notification SNS refuses publishes no outcome (the retry sends both once); a refused outcome does not fail the notification", async () => {
    aws = new AwsWorld();
    const recorder = new Recorder();
    const notify = notifyHandler(aws, recorder);
    aws.sns.on(PublishCommand).rejectsOnce(Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" }));
    await expect(notify(buildEvent())).rejects.toThrowError(/Rate exceeded/);
    expect(aws.eventbridge).not.toReceiveCommand(PutEventsCommand);
    aws.sns.on(PublishCommand).resolves({ MessageId: "m-2" });
    aws.failPutEvents(() => "AccessDeniedException");
    await expect(notify(buildEvent())).resolves.toMatchObject({ published: true });
    expect(aws.eventsOnBus()).toEqual([]);
    expect(recorder.total("OutcomeEventsFailed", { reason: "AccessDeniedException" })).toBe(1);
  });

  it("events of another project publish nothing; without OUTCOME_EVENT_BUS only the notification goes out", async () => {
    aws = new AwsWorld();
    const other = buildEvent((d) => {
      d["project-name"] = "someone-elses";
    });
    await notifyHandler(aws)(other);
    expect(aws.eventbridge).not.toReceiveCommand(PutEventsCommand);
    const config = readNotifyConfig({ AWS_REGION: "us-west-2", NOTIFICATION_TOPIC_ARN: TOPIC_ARN });
    await createNotifyHandler(() => createNotifyRuntime(config, new Recorder(), new Recorder(), { sns: aws!.clients.sns, eventbridge: aws!.clients.eventbridge }))(buildEvent());
    expect(aws.eventbridge).not.toReceiveCommand(PutEventsCommand);
    expect(aws.sns).toReceiveCommandTimes(PublishCommand, 1);
  });
});
