import { describe, expect, it } from "vitest";
import { MalformedEventError, UnsupportedEventError } from "../src/errors";
import { buildConsoleUrl, formatDuration, parseBuildStateChange, parseCodeBuildTime } from "../src/delivery/build-state";
import { formatBuildNotification, summarize } from "../src/delivery/build-notifications";
import { buildStateChangePattern } from "../src/delivery/constants";
import { fixture } from "../../../test/fixtures";

const COMMIT = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";
const BUILD_ARN = "arn:aws:codebuild:us-west-2:123456789012:build/my-sample-project:8745a7a9-c340-456a-9166-edf953571bEX";

type Detail = Record<string, unknown> & { "additional-information": Record<string, unknown> & { phases: Record<string, unknown>[] } };

function event(change: (detail: Detail) => void = () => undefined): Record<string, unknown> {
  const e = fixture("codebuildStateChange");
  change(e["detail"] as Detail);
  return e;
}

describe("CodeBuild Build State Change", () => {
  it("the sample: project, status, start and finish (COMPLETED phase start), duration, links", () => {
    const change = parseBuildStateChange(event());
    expect(change).toEqual({
      eventId: "c030038d-8c4d-6141-9545-00ff7b7153EX",
      time: new Date("2017-09-01T16:14:28Z"),
      region: "us-west-2",
      account: "123456789012",
      project: "my-sample-project",
      buildId: BUILD_ARN,
      status: "SUCCEEDED",
      complete: true,
      currentPhase: "COMPLETED",
      initiator: "MyCodeBuildDemoUser",
      startedAt: new Date("2017-09-01T16:12:29Z"),
      finishedAt: new Date("2017-09-01T16:14:26Z"),
      durationSeconds: 117,
      logUrl: "https://console.aws.amazon.com/cloudwatch/home?region=us-west-2#logEvent:group=/aws/codebuild/my-sample-project;stream=8745a7a9-c340-456a-9166-edf953571bEX",
      buildUrl: "https://us-west-2.console.aws.amazon.com/codesuite/codebuild/123456789012/projects/my-sample-project/build/my-sample-project%3A8745a7a9-c340-456a-9166-edf953571bEX/?region=us-west-2",
      refused: false,
      environment: {},
    });
  });

  it("the commit: resolved source version first, then the launcher's SOURCE_COMMIT, then a commit id as source version", () => {
    const fromEnv = parseBuildStateChange(
      event((d) => {
        d["additional-information"]["source-version"] = "main";
        (d["additional-information"]["environment"] as { "environment-variables": unknown[] })["environment-variables"] = [
          { name: "SOURCE_COMMIT", value: COMMIT, type: "PLAINTEXT" },
          { name: "GITOPS_TOKEN", value: "spot-manager/gitops-token", type: "SECRETS_MANAGER" },
        ];
      }),
    );
    expect(fromEnv).toMatchObject({ commit: COMMIT, sourceVersion: "main", environment: { SOURCE_COMMIT: COMMIT } });
    expect(fromEnv.environment).not.toHaveProperty("GITOPS_TOKEN");

    const resolved = parseBuildStateChange(event((d) => Object.assign(d["additional-information"], { "source-version": "main", "resolved-source-version": COMMIT, "build-number": 42 })));
    expect(resolved).toMatchObject({ commit: COMMIT, buildNumber: 42 });
    expect(parseBuildStateChange(event((d) => (d["additional-information"]["source-version"] = COMMIT))).commit).toBe(COMMIT);
    expect(parseBuildStateChange(event()).commit).toBeUndefined();
  });

  it("a failed build names the phase that failed and CodeBuild's reason", () => {
    const change = parseBuildStateChange(
      event((d) => {
        d["build-status"] = "FAILED";
        const build = d["additional-information"].phases.find((p) => p["phase-type"] === "BUILD")!;
        build["phase-status"] = "FAILED";
        build["phase-context"] = ["COMMAND_EXECUTION_ERROR: Error while executing command: docker build . Reason: exit status 1"];
      }),
    );
    expect(change.failedPhase).toEqual({ phase: "BUILD", status: "FAILED", context: ["COMMAND_EXECUTION_ERROR: Error while executing command: docker build . Reason: exit status 1"] });
    expect(summarize(change)).toBe("my-sample-project FAILED in 1m 57s at BUILD (COMMAND_EXECUTION_ERROR: Error while executing command: docker build . Reason: exit status 1)");
  });

  it("a build in progress has no finish and no duration", () => {
    const change = parseBuildStateChange(
      event((d) => {
        d["build-status"] = "IN_PROGRESS";
        d["current-phase"] = "SUBMITTED";
        d["additional-information"]["build-complete"] = false;
        d["additional-information"].phases = d["additional-information"].phases.slice(0, 1);
      }),
    );
    expect(change).toMatchObject({ status: "IN_PROGRESS", complete: false });
    expect(change.durationSeconds).toBeUndefined();
    expect(summarize(change)).toBe("my-sample-project started");
  });

  it("the EventBridge pattern for the notify function matches the sample, for its project only", () => {
    const sample = event() as { source: string; "detail-type": string; detail: Record<string, string> };
    const pattern = buildStateChangePattern("my-sample-project");
    expect(pattern.source).toContain(sample.source);
    expect(pattern.detailType).toContain(sample["detail-type"]);
    expect(pattern.detail["build-status"]).toContain(sample.detail["build-status"]);
    expect(pattern.detail["project-name"]).toEqual(["my-sample-project"]);
  });

  it("other events and broken details are named", () => {
    expect(() => parseBuildStateChange(fixture("spotInterruption"))).toThrowError(UnsupportedEventError);
    expect(() => parseBuildStateChange(event((d) => delete d["project-name"]))).toThrowError(MalformedEventError);
    expect(() => parseBuildStateChange(event((d) => delete d["project-name"]))).toThrowError(/CodeBuild Build State Change c030038d-8c4d-6141-9545-00ff7b7153EX: detail\.project-name/);
  });

  it("reads CodeBuild's time format as UTC, and formats durations", () => {
    expect(parseCodeBuildTime("Sep 1, 2017 4:12:29 PM")).toEqual(new Date("2017-09-01T16:12:29Z"));
    expect(parseCodeBuildTime("Jan 31, 2024 12:05:00 AM")).toEqual(new Date("2024-01-31T00:05:00Z"));
    expect(parseCodeBuildTime("Jan 31, 2024 12:05:00 PM")).toEqual(new Date("2024-01-31T12:05:00Z"));
    expect(parseCodeBuildTime("2017-09-01T16:12:29Z")).toBeUndefined();
    expect([0, 4, 117, 3600, 3723].map(formatDuration)).toEqual(["0s", "4s", "1m 57s", "1h", "1h 2m 3s"]);
    expect(buildConsoleUrl("arn:aws-cn:codebuild:cn-north-1:123456789012:build/p:1")).toBeUndefined();
  });
});

describe("the build notification", () => {
  it("subject for people, JSON body with project, commit, status, duration and links", () => {
    // Prepare
    const change = parseBuildStateChange(event((d) => Object.assign(d["additional-information"], { "resolved-source-version": COMMIT, "build-number": 42 })));
    // Act
    const notification = formatBuildNotification(change);
    // Assess
    expect(notification.subject).toBe("spot-manager build SUCCEEDED: my-sample-project @ a1b2c3d4e5f6");
    expect(notification.attributes).toEqual({ kind: "build", status: "SUCCEEDED", project: "my-sample-project" });
    expect(JSON.parse(notification.message)).toMatchObject({
      product: "spot-manager",
      kind: "build",
      phase: "end",
      summary: "my-sample-project #42 SUCCEEDED in 1m 57s, commit a1b2c3d4e5f6",
      project: "my-sample-project",
      status: "SUCCEEDED",
      commit: COMMIT,
      durationSeconds: 117,
      logUrl: expect.stringMatching(/^https:\/\/console\.aws\.amazon\.com\/cloudwatch\/home\?region=us-west-2#logEvent:/),
      buildUrl: expect.stringMatching(/^https:\/\/us-west-2\.console\.aws\.amazon\.com\/codesuite\/codebuild\//),
      buildId: BUILD_ARN,
      buildNumber: 42,
      failedPhase: null,
    });
  });

  it("keeps the subject within SNS limits: printable ASCII, 100 characters", () => {
    const change = parseBuildStateChange(event((d) => (d["project-name"] = `überlong-${"x".repeat(120)}`)));
    const { subject } = formatBuildNotification(change);
    expect(subject.length).toBeLessThanOrEqual(100);
    expect(subject).toMatch(/^[\x20-\x7e]+$/);
  });
});
