import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { fixture } from "../fixtures";
import { matchesPattern } from "./event-pattern";
import { rendered, statements, synth } from "./synth";

let stage: Awaited<ReturnType<typeof synth>>;
beforeAll(async () => {
  stage = await synth("web", { delivery: { enabled: true, repository: "acme/shop", branches: ["main", "release/*"], gitopsRepository: "https://github.com/acme/shop-gitops.git", gitopsOverlay: "deploy/overlays/prod" } });
}, 120_000);

describe("Delivery stack", () => {
  it("an ECR repository with immutable tags, scan on push and a lifecycle for old images", () => {
    stage.template("Delivery").hasResourceProperties("AWS::ECR::Repository", {
      RepositoryName: "web/sample-app",
      ImageTagMutability: "IMMUTABLE",
      ImageScanningConfiguration: { ScanOnPush: true },
      LifecyclePolicy: { LifecyclePolicyText: Match.stringLikeRegexp('"countType":"imageCountMoreThan","countNumber":50') },
    });
  });

  it("a privileged CodeBuild project running buildspec.yml from the repository, the GitOps token from Secrets Manager only", () => {
    const template = stage.template("Delivery");
    template.hasResourceProperties("AWS::CodeBuild::Project", {
      Name: "spot-manager-web-delivery",
      Source: Match.objectLike({ Type: "GITHUB", Location: "https://github.com/acme/shop.git", BuildSpec: "buildspec.yml" }),
      Environment: Match.objectLike({ PrivilegedMode: true, Image: "aws/codebuild/standard:7.0" }),
      TimeoutInMinutes: 30,
      EncryptionKey: Match.anyValue(),
    });
    const [project] = Object.values(template.findResources("AWS::CodeBuild::Project")) as { Properties: { Environment: { EnvironmentVariables: { Name: string; Type: string; Value: unknown }[] } } }[];
    const variables = Object.fromEntries(project!.Properties.Environment.EnvironmentVariables.map((v) => [v.Name, v]));
    expect(variables["GITOPS_TOKEN"]).toMatchObject({ Type: "SECRETS_MANAGER", Value: { Ref: expect.stringMatching(/^GitOpsToken/) } });
    expect(variables["GITOPS_REPOSITORY"]).toMatchObject({ Type: "PLAINTEXT", Value: "https://github.com/acme/shop-gitops.git" });
    expect(variables["GITOPS_OVERLAY"]).toMatchObject({ Value: "deploy/overlays/prod" });
    expect(Object.values(variables).filter((v) => /TOKEN|SECRET/.test(v.Name) && v.Type === "PLAINTEXT")).toEqual([]);
  });

  it("the webhook answers on a Function URL (its HMAC is the authentication) and may only start builds of this project", () => {
    const template = stage.template("Delivery");
    template.hasResourceProperties("AWS::Lambda::Url", { AuthType: "NONE" });
    template.hasResourceProperties("AWS::Lambda::Function", {
      FunctionName: "spot-manager-web-delivery-webhook",
      Runtime: "nodejs22.x",
      Environment: { Variables: Match.objectLike({ PROJECT_NAME: "spot-manager-web-delivery", REPOSITORY: "acme/shop", BRANCHES: "main,release/*", WEBHOOK_SECRET_ARN: Match.anyValue() }) },
    });
    const launch = statements(template).filter((s) => s.Sid === "LaunchBuilds");
    expect(launch.length).toBeGreaterThanOrEqual(2);
    for (const s of launch) expect(rendered(s.Resource)).toBe("arn:aws:codebuild:us-west-2:123456789012:project/spot-manager-web-delivery");
    for (const s of statements(template)) for (const action of [s.Action].flat()) expect(action).not.toMatch(/^\*$|:\*$/);
  });

  it("scheduled rebuilds run on their cron through the same launcher", () => {
    const template = stage.template("Delivery");
    template.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "cron(0 3 * * ? *)",
      Targets: [Match.objectLike({ Input: JSON.stringify({ builds: ["nightly-base-refresh"] }) })],
    });
    template.hasResourceProperties("AWS::Lambda::Function", { FunctionName: "spot-manager-web-delivery-scheduled", Environment: { Variables: Match.objectLike({ SCHEDULED_BUILDS: Match.stringLikeRegexp("nightly-base-refresh") }) } });
  });

  it("CodeBuild state changes of this project reach the notifier, as the sample event shows", () => {
    const template = stage.template("Delivery");
    const rules = Object.values(template.findResources("AWS::Events::Rule")).map((r) => (r as { Properties: { EventPattern?: Record<string, unknown> } }).Properties.EventPattern).filter(Boolean);
    const [pattern] = rules as Record<string, never>[];
    const sample = fixture("codebuildStateChange");
    (sample["detail"] as Record<string, string>)["project-name"] = "spot-manager-web-delivery";
    expect(matchesPattern(pattern!, sample)).toBe(true);
    expect(matchesPattern(pattern!, fixture("codebuildStateChange"))).toBe(false);
  });

  it("passes cdk-nag", () => {
    expect(stage.errors).toEqual([]);
  });
});
