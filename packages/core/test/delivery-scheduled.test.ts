import { CodeBuildClient, ListBuildsForProjectCommand, StartBuildCommand } from "@aws-sdk/client-codebuild";
import { mockClient } from "@spot-manager/aws-fakes";
import { beforeEach, describe, expect, it } from "vitest";
import { ConfigError } from "../src/errors";
import { ScheduledBuildsError } from "../src/delivery/errors";
import { CodeBuildLauncher, idempotencyTokenFor } from "../src/delivery/launcher";
import { launchScheduledBuilds, parseScheduledBuilds, parseScheduledInvocation } from "../src/delivery/scheduled";

const PROJECT = "spot-manager-dev-sample";
const codebuild = mockClient(CodeBuildClient);

const BUILDS = parseScheduledBuilds([
  { name: "nightly-base-refresh", environment: { GITOPS_OVERLAY: "deploy/overlays/dev" } },
  { name: "weekly-prod-refresh", sourceVersion: "release", environment: { GITOPS_OVERLAY: "deploy/overlays/prod" } },
]);

function launcher() {
  return new CodeBuildLauncher(new CodeBuildClient({ region: "us-west-2" }), { projectName: PROJECT });
}

beforeEach(() => {
  codebuild.reset();
  codebuild.on(ListBuildsForProjectCommand).resolves({ ids: [] });
  codebuild.on(StartBuildCommand).callsFake((input: { sourceVersion: string }) => ({ build: { id: `${PROJECT}:${input.sourceVersion}-1`, buildNumber: 7 } }));
});

describe("scheduled rebuilds", () => {
  it("defaults: the head of main, rebuilt (fresh base image, a tag of its own)", () => {
    expect(parseScheduledBuilds([{ name: "nightly" }])).toEqual([{ name: "nightly", sourceVersion: "main", rebuild: true, environment: {} }]);
  });

  it("names what is wrong in the configuration", () => {
    expect(() => parseScheduledBuilds([{ name: "a b" }])).toThrowError(ConfigError);
    expect(() => parseScheduledBuilds([{ name: "a b" }])).toThrowError(/SCHEDULED_BUILDS\.0\.name: must be 1-64 letters/);
    expect(() => parseScheduledBuilds([{ name: "n" }, { name: "n" }])).toThrowError(/SCHEDULED_BUILDS\.1\.name: duplicate name "n"/);
    expect(() => parseScheduledBuilds([{ name: "n", environment: { "NOT-A-NAME": "x" } }])).toThrowError(/SCHEDULED_BUILDS\.0\.environment\.NOT-A-NAME/);
    expect(() => parseScheduledBuilds({ name: "n" })).toThrowError(/SCHEDULED_BUILDS: .*expected array/);
  });

  it("a Scheduled Event launches every configured build through the launcher", async () => {
    // Prepare
    const invocation = parseScheduledInvocation({ id: "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "detail-type": "Scheduled Event", source: "aws.events", time: "2024-05-15T03:00:00Z", detail: {} });
    // Act
    const launched = await launchScheduledBuilds({ launcher: launcher(), builds: BUILDS }, invocation);
    // Assess
    expect(launched.map((l) => [l.name, l.result.status])).toEqual([
      ["nightly-base-refresh", "started"],
      ["weekly-prod-refresh", "started"],
    ]);
    expect(codebuild).toReceiveCommandWith(StartBuildCommand, {
      projectName: PROJECT,
      sourceVersion: "main",
      environmentVariablesOverride: [
        { name: "GITOPS_OVERLAY", value: "deploy/overlays/dev", type: "PLAINTEXT" },
        { name: "REBUILD", value: "true", type: "PLAINTEXT" },
        { name: "SCHEDULE_NAME", value: "nightly-base-refresh", type: "PLAINTEXT" },
        { name: "TRIGGER", value: "schedule", type: "PLAINTEXT" },
      ],
      idempotencyToken: idempotencyTokenFor(PROJECT, "schedule|nightly-base-refresh|53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa"),
    });
    expect(codebuild).toReceiveCommandWith(StartBuildCommand, { sourceVersion: "release" });
  });

  it("a rule's input can name the builds to launch; unknown names are a configuration error", async () => {
    await launchScheduledBuilds({ launcher: launcher(), builds: BUILDS }, parseScheduledInvocation({ id: "e-1", builds: ["weekly-prod-refresh"] }));
    expect(codebuild).toReceiveCommandTimes(StartBuildCommand, 1);
    expect(codebuild).toReceiveCommandWith(StartBuildCommand, { sourceVersion: "release" });
    await expect(launchScheduledBuilds({ launcher: launcher(), builds: BUILDS }, { id: "e-2", builds: ["monthly"] })).rejects.toThrowError(
      /scheduled builds not configured: monthly \(configured: nightly-base-refresh, weekly-prod-refresh\)/,
    );
  });

  it("one failing build does not keep the others from starting; the failure is reported after", async () => {
    // Prepare
    codebuild.on(StartBuildCommand, { sourceVersion: "main" }).rejects(Object.assign(new Error("Cannot have more than 1 builds in queue for the account"), { name: "AccountLimitExceededException" }));
    // Act
    const error = await launchScheduledBuilds({ launcher: launcher(), builds: BUILDS }, { id: "e-3" }).catch((e: unknown) => e);
    // Assess
    expect(codebuild).toReceiveCommandWith(StartBuildCommand, { sourceVersion: "release" });
    expect(error).toBeInstanceOf(ScheduledBuildsError);
    expect((error as ScheduledBuildsError).failures.map((f) => f.name)).toEqual(["nightly-base-refresh"]);
    expect((error as Error).message).toMatch(/scheduled builds not started: nightly-base-refresh \(starting a build of spot-manager-dev-sample for main failed: Cannot have more than 1 builds/);
  });

  it("without an event id (a manual invoke), launches in the same minute share one token", () => {
    const at = Date.parse("2024-05-15T03:00:41Z");
    expect(parseScheduledInvocation(undefined, () => at)).toEqual({ id: "invocation-2024-05-15T03:00" });
  });
});
