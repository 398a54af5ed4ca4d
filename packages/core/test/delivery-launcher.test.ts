import { BatchGetBuildsCommand, CodeBuildClient, ListBuildsForProjectCommand, StartBuildCommand, type Build } from "@aws-sdk/client-codebuild";
import { mockClient } from "@spot-manager/aws-fakes";
import { beforeEach, describe, expect, it } from "vitest";
import { BuildLaunchError } from "../src/delivery/errors";
import { CodeBuildLauncher, idempotencyTokenFor, type BuildRequest } from "../src/delivery/launcher";
import { Recorder } from "../src/observability";

const PROJECT = "spot-manager-dev-sample";
const COMMIT = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";
const OTHER_COMMIT = "4b8d2f6a1c3e5a7b9d0f2e4c6a8b1d3f5e7a9c0b";
const codebuild = mockClient(CodeBuildClient);

function build(n: number, status: Build["buildStatus"], fields: Partial<Build> = {}): Build {
  return { id: buildId(n), buildNumber: n, buildStatus: status, ...fields };
}

function buildId(n: number): string {
  return `${PROJECT}:${String(n).padStart(8, "0")}-aaaa-bbbb-cccc-dddddddddddd`;
}

function history(...builds: Build[]) {
  codebuild.on(ListBuildsForProjectCommand).resolves({ ids: builds.map((b) => b.id!) });
  codebuild.on(BatchGetBuildsCommand).resolves({ builds });
}

const REQUEST: BuildRequest = {
  sourceVersion: COMMIT,
  environment: { TRIGGER: "push", SOURCE_COMMIT: COMMIT, SOURCE_BRANCH: "main" },
  idempotencyKey: `push|example-org/sample-app|refs/heads/main|${COMMIT}`,
  trigger: "push",
};

beforeEach(() => {
  codebuild.reset();
  codebuild.on(StartBuildCommand).resolves({ build: build(42, "IN_PROGRESS", { sourceVersion: COMMIT }) });
});

describe("CodeBuildLauncher", () => {
  it("starts the build of the commit with the environment overrides and an idempotency token", async () => {
    // Prepare
    history(build(41, "SUCCEEDED", { sourceVersion: OTHER_COMMIT, resolvedSourceVersion: OTHER_COMMIT }));
    const recorder = new Recorder();
    const launcher = new CodeBuildLauncher(new CodeBuildClient({ region: "us-west-2" }), { projectName: PROJECT, log: recorder, metrics: recorder });
    // Act
    const result = await launcher.launch(REQUEST);
    // Assess
    expect(result).toEqual({ status: "started", buildId: buildId(42), buildNumber: 42, sourceVersion: COMMIT });
    expect(codebuild).toReceiveCommandWith(ListBuildsForProjectCommand, { projectName: PROJECT, sortOrder: "DESCENDING" });
    expect(codebuild).toReceiveCommandWith(StartBuildCommand, {
      projectName: PROJECT,
      sourceVersion: COMMIT,
      environmentVariablesOverride: [
        { name: "SOURCE_BRANCH", value: "main", type: "PLAINTEXT" },
        { name: "SOURCE_COMMIT", value: COMMIT, type: "PLAINTEXT" },
        { name: "TRIGGER", value: "push", type: "PLAINTEXT" },
      ],
      idempotencyToken: idempotencyTokenFor(PROJECT, REQUEST.idempotencyKey),
    });
    expect(recorder.total("BuildsStarted", { trigger: "push" })).toBe(1);
  });

  it.each([
    ["sourceVersion", { sourceVersion: COMMIT }],
    ["resolvedSourceVersion (started from a branch)", { sourceVersion: "main", resolvedSourceVersion: COMMIT }],
  ])("does not start a second build while one for the commit is in progress (matched on %s)", async (_, fields) => {
    // Prepare
    history(build(44, "IN_PROGRESS", { sourceVersion: OTHER_COMMIT }), build(43, "IN_PROGRESS", fields), build(42, "FAILED", { sourceVersion: COMMIT }));
    const recorder = new Recorder();
    const launcher = new CodeBuildLauncher(new CodeBuildClient({ region: "us-west-2" }), { projectName: PROJECT, metrics: recorder });
    // Act
    const result = await launcher.launch(REQUEST);
    // Assess
    expect(result).toEqual({ status: "already-building", buildId: buildId(43), sourceVersion: COMMIT });
    expect(codebuild).not.toReceiveCommand(StartBuildCommand);
    expect(recorder.total("BuildsDeduplicated", { trigger: "push" })).toBe(1);
  });

  it("starts again once the earlier build of the commit has finished", async () => {
    history(build(43, "FAILED", { sourceVersion: COMMIT, resolvedSourceVersion: COMMIT }), build(42, "STOPPED", { sourceVersion: COMMIT }));
    const launcher = new CodeBuildLauncher(new CodeBuildClient({ region: "us-west-2" }), { projectName: PROJECT });
    expect((await launcher.launch(REQUEST)).status).toBe("started");
    expect(codebuild).toReceiveCommandTimes(StartBuildCommand, 1);
  });

  it("checks only the most recent builds, in one BatchGetBuilds call", async () => {
    codebuild.on(ListBuildsForProjectCommand).resolves({ ids: Array.from({ length: 100 }, (_, i) => `${PROJECT}:${i}`), nextToken: "more" });
    codebuild.on(BatchGetBuildsCommand).resolves({ builds: [] });
    const launcher = new CodeBuildLauncher(new CodeBuildClient({ region: "us-west-2" }), { projectName: PROJECT, lookback: 20 });
    await launcher.launch(REQUEST);
    expect(codebuild).toReceiveCommandTimes(BatchGetBuildsCommand, 1);
    expect(codebuild.commandCalls(BatchGetBuildsCommand)[0]!.args[0].input.ids).toHaveLength(20);
    expect(codebuild).toReceiveCommandTimes(ListBuildsForProjectCommand, 1);
  });

  it("a project without builds yet: no BatchGetBuilds, the build starts", async () => {
    codebuild.on(ListBuildsForProjectCommand).resolves({ ids: [] });
    const launcher = new CodeBuildLauncher(new CodeBuildClient({ region: "us-west-2" }), { projectName: PROJECT });
    expect((await launcher.launch(REQUEST)).status).toBe("started");
    expect(codebuild).not.toReceiveCommand(BatchGetBuildsCommand);
  });

  it("the same request always carries the same token and parameters; another commit another token", () => {
    expect(idempotencyTokenFor(PROJECT, REQUEST.idempotencyKey)).toBe(idempotencyTokenFor(PROJECT, REQUEST.idempotencyKey));
    expect(idempotencyTokenFor(PROJECT, REQUEST.idempotencyKey)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(idempotencyTokenFor(PROJECT, `push|example-org/sample-app|refs/heads/main|${OTHER_COMMIT}`)).not.toBe(idempotencyTokenFor(PROJECT, REQUEST.idempotencyKey));
    expect(idempotencyTokenFor("another-project", REQUEST.idempotencyKey)).not.toBe(idempotencyTokenFor(PROJECT, REQUEST.idempotencyKey));
  });

  it("CodeBuild failures become BuildLaunchError naming the project, with the cause kept", async () => {
    // Prepare
    history();
    const throttled = Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" });
    codebuild.on(StartBuildCommand).rejects(throttled);
    const launcher = new CodeBuildLauncher(new CodeBuildClient({ region: "us-west-2" }), { projectName: PROJECT });
    // Act
    const error = await launcher.launch(REQUEST).catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(BuildLaunchError);
    expect(error).toMatchObject({ projectName: PROJECT, message: `starting a build of ${PROJECT} for ${COMMIT} failed: Rate exceeded`, cause: throttled });

    codebuild.on(ListBuildsForProjectCommand).rejects(Object.assign(new Error("User is not authorized to perform: codebuild:ListBuildsForProject"), { name: "AccessDeniedException" }));
    await expect(launcher.launch(REQUEST)).rejects.toThrowError(/looking for running builds of spot-manager-dev-sample failed: User is not authorized/);
  });
});
