import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { imageRepositoryName } from "../../stacks/names";
import { fixture } from "../fixtures";
import { expiredImages, type LifecycleRule, type RegistryImage } from "./ecr-lifecycle";
import { matchesPattern } from "./event-pattern";
import { rendered, statements } from "./synth";
import { synthVariant, type SynthesizedVariant } from "./variants";

let stage: SynthesizedVariant;
beforeAll(async () => {
  stage = await synthVariant("delivery");
}, 420_000);

describe("Delivery stack", () => {
  it("an ECR repository with immutable commit tags (the live and cache tags excepted) and scan on push, kept when the stage keeps its data", () => {
    stage.template("Delivery").hasResource("AWS::ECR::Repository", {
      DeletionPolicy: "Retain",
      Properties: Match.objectLike({
        RepositoryName: "spot-manager-web-sample-app",
        ImageTagMutability: "IMMUTABLE_WITH_EXCLUSION",
        ImageTagMutabilityExclusionFilters: [
          { ImageTagMutabilityExclusionFilterType: "WILDCARD", ImageTagMutabilityExclusionFilterValue: "live-*" },
          { ImageTagMutabilityExclusionFilterType: "WILDCARD", ImageTagMutabilityExclusionFilterValue: "buildcache" },
        ],
        ImageScanningConfiguration: { ScanOnPush: true },
        EmptyOnDelete: false,
      }),
    });
  });

  it("the lifecycle never expires an image an environment runs, however many newer images there are; it does expire the rest", () => {
    // Prepare: prod pinned to an image pushed a year ago (and its previous one), then 80 dev builds, a cache, untagged leftovers
    const [repository] = Object.values(stage.template("Delivery").findResources("AWS::ECR::Repository")) as { Properties: { LifecyclePolicy: { LifecyclePolicyText: string } } }[];
    const policy = JSON.parse(repository!.Properties.LifecyclePolicy.LifecyclePolicyText) as { rules: LifecycleRule[] };
    const now = new Date("2025-06-01T00:00:00Z");
    const daysAgo = (days: number) => new Date(now.getTime() - days * 24 * 3600_000);
    const images: RegistryImage[] = [
      { digest: "prod-previous", tags: ["0a0a0a0a0a0a", "live-prod-previous"], pushedAt: daysAgo(400) },
      { digest: "prod", tags: ["1b1b1b1b1b1b", "live-prod"], pushedAt: daysAgo(365) },
      { digest: "once-deployed", tags: ["2c2c2c2c2c2c"], pushedAt: daysAgo(300) },
      ...Array.from({ length: 80 }, (_, i) => ({ digest: `dev-${i}`, tags: [`d${String(i).padStart(11, "0")}`, ...(i === 79 ? ["live-dev"] : [])], pushedAt: daysAgo(80 - i) })),
      { digest: "cache", tags: ["buildcache"], pushedAt: daysAgo(0) },
      { digest: "old-cache", tags: [], pushedAt: daysAgo(30) },
    ];
    // Act
    const expired = expiredImages(policy, images, now);
    // Assess
    expect(expired.has("prod")).toBe(false);
    expect(expired.has("prod-previous")).toBe(false);
    expect(expired.has("dev-79")).toBe(false);
    expect(expired.has("cache")).toBe(false);
    expect(expired.has("once-deployed")).toBe(true);
    expect(expired.has("old-cache")).toBe(true);
    // the newest 50 images are kept (the live ones count among them)
    expect(images.filter((image) => !expired.has(image.digest)).length).toBe(50 + 1);
    // the lifecycle this replaced (the newest 50 of any tag) would have expired prod
    const before = { rules: [{ rulePriority: 1, selection: { tagStatus: "any" as const, countType: "imageCountMoreThan" as const, countNumber: 50 }, action: { type: "expire" as const } }] };
    expect(expiredImages(before, images, now).has("prod")).toBe(true);
  });

  it("names the repository once: the stack, the overlays' placeholders and the buildspec's tests use names.ts", () => {
    for (const overlay of ["dev", "prod"]) {
      const kustomization = parse(readFileSync(`deploy/overlays/${overlay}/kustomization.yaml`, "utf8")) as { images: { name: string; newName: string }[] };
      const image = kustomization.images.find((i) => i.name === "sample-app");
      expect(image?.newName, overlay).toBe(`123456789012.dkr.ecr.us-west-2.amazonaws.com/${imageRepositoryName(overlay)}`);
    }
    expect(readFileSync("test/delivery/buildspec-world.ts", "utf8")).toContain('imageRepositoryName("dev")');
    expect(imageRepositoryName("web")).toBe("spot-manager-web-sample-app");
  });

  it("lets the build push, pull, ask whether an image exists and read its scan, on this repository only; registry login apart", () => {
    const template = stage.template("Delivery");
    const ecr = statements(template).filter((s) => [s.Action].flat().some((a) => a.startsWith("ecr:")));
    const onRepository = ecr.filter((s) => !Array.isArray(s.Resource) && s.Resource !== "*");
    expect(onRepository).toHaveLength(1);
    expect([onRepository[0]!.Action].flat()).toEqual(expect.arrayContaining(["ecr:DescribeImages", "ecr:DescribeImageScanFindings"]));
    expect([onRepository[0]!.Action].flat()).toEqual(expect.arrayContaining(["ecr:PutImage", "ecr:BatchGetImage", "ecr:InitiateLayerUpload"]));
    expect(onRepository[0]!.Resource).toEqual({ "Fn::GetAtt": [expect.stringMatching(/^Images/), "Arn"] });
    expect(ecr.filter((s) => s.Resource === "*")).toEqual([expect.objectContaining({ Sid: "RegistryLogin", Action: "ecr:GetAuthorizationToken" })]);
  });

  it("a privileged CodeBuild project running the buildspec embedded at synth (never a pushed branch's), the GitOps token from Secrets Manager only", () => {
    const template = stage.template("Delivery");
    template.hasResourceProperties("AWS::CodeBuild::Project", {
      Name: "spot-manager-web-delivery",
      Source: Match.objectLike({ Type: "GITHUB", Location: "https://github.com/acme/shop.git" }),
      Environment: Match.objectLike({ PrivilegedMode: true, Image: "aws/codebuild/standard:7.0" }),
      TimeoutInMinutes: 30,
      EncryptionKey: Match.anyValue(),
    });
    const [pinned] = Object.values(template.findResources("AWS::CodeBuild::Project")) as { Properties: { Source: { BuildSpec: string; GitCloneDepth?: number } } }[];
    expect(pinned!.Properties.Source.BuildSpec).not.toBe("buildspec.yml");
    expect(parse(pinned!.Properties.Source.BuildSpec)).toEqual(parse(readFileSync(join(process.cwd(), "buildspec.yml"), "utf8")));
    // full history: the bump checks that the commit descends from the deployed one
    expect(pinned!.Properties.Source.GitCloneDepth ?? 0).toBe(0);
    const [project] = Object.values(template.findResources("AWS::CodeBuild::Project")) as { Properties: { Environment: { EnvironmentVariables: { Name: string; Type: string; Value: unknown }[] } } }[];
    const variables = Object.fromEntries(project!.Properties.Environment.EnvironmentVariables.map((v) => [v.Name, v]));
    expect(variables["GITOPS_TOKEN"]).toMatchObject({ Type: "SECRETS_MANAGER", Value: { Ref: expect.stringMatching(/^GitOpsToken/) } });
    expect(variables["GITOPS_REPOSITORY"]).toMatchObject({ Type: "PLAINTEXT", Value: "https://github.com/acme/shop-gitops.git" });
    expect(variables["GITOPS_OVERLAY"]).toMatchObject({ Value: "deploy/overlays/prod" });
    expect(variables["SCAN_FAIL_ON"]).toMatchObject({ Type: "PLAINTEXT", Value: "CRITICAL" });
    expect(Object.values(variables).filter((v) => /TOKEN|SECRET/.test(v.Name) && v.Type === "PLAINTEXT")).toEqual([]);
  });

  it("the webhook answers on a Function URL (its HMAC is the authentication, no CORS) and may only start builds of this project", () => {
    const template = stage.template("Delivery");
    template.hasResourceProperties("AWS::Lambda::Url", { AuthType: "NONE", Cors: Match.absent() });
    template.hasResourceProperties("AWS::Lambda::Function", {
      FunctionName: "spot-manager-web-delivery-webhook",
      Runtime: "nodejs24.x",
      Environment: { Variables: Match.objectLike({ PROJECT_NAME: "spot-manager-web-delivery", REPOSITORY: "acme/shop", BRANCHES: "main,release/*", WEBHOOK_SECRET_ARN: Match.anyValue() }) },
    });
    const launch = statements(template).filter((s) => s.Sid === "LaunchBuilds");
    expect(launch.length).toBeGreaterThanOrEqual(2);
    for (const s of launch) expect(rendered(s.Resource)).toBe("arn:aws:codebuild:us-west-2:123456789012:project/spot-manager-web-delivery");
    for (const s of statements(template)) for (const action of [s.Action].flat()) expect(action).not.toMatch(/^\*$|:\*$/);
  });

  it("the build may read the image's details and scan findings, on its repository only", () => {
    const template = stage.template("Delivery");
    const describe = statements(template).find((s) => [s.Action].flat().includes("ecr:DescribeImageScanFindings"));
    expect([describe?.Action].flat()).toEqual(expect.arrayContaining(["ecr:DescribeImageScanFindings", "ecr:DescribeImages"]));
    expect(rendered(describe?.Resource)).toEqual(expect.stringMatching(/^\$\{Images.*\.Arn\}$/));
  });

  it("a table of handled webhook deliveries, expiring by TTL, that only the webhook reads and writes", () => {
    const template = stage.template("Delivery");
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      TableName: "spot-manager-web-webhook-deliveries",
      KeySchema: [{ AttributeName: "deliveryId", KeyType: "HASH" }],
      TimeToLiveSpecification: { AttributeName: "expiresAt", Enabled: true },
      BillingMode: "PAY_PER_REQUEST",
    });
    template.hasResourceProperties("AWS::Lambda::Function", {
      FunctionName: "spot-manager-web-delivery-webhook",
      Environment: { Variables: Match.objectLike({ DELIVERY_TABLE_NAME: { Ref: Match.stringLikeRegexp("^WebhookDeliveries") } }) },
    });
    const access = statements(template).filter((s) => [s.Action].flat().some((a) => a.startsWith("dynamodb:")));
    expect(access).toHaveLength(1);
    expect([access[0]?.Action].flat().sort()).toEqual(["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]);
    // (CDK adds the table's indexes as AWS::NoValue when there are none)
    const resources = [access[0]?.Resource].flat().map((r) => rendered(r)).filter((r) => r !== "${AWS::NoValue}");
    expect(resources).toEqual([expect.stringMatching(/^\$\{WebhookDeliveries.*\.Arn\}$/)]);
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
    template.hasResourceProperties("AWS::Events::Rule", { EventPattern: Match.anyValue(), Targets: [Match.objectLike({ DeadLetterConfig: Match.anyValue(), RetryPolicy: { MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 3600 } })] });
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

describe("a redeploy after a removal that kept the stage's data", () => {
  let adopted: SynthesizedVariant;
  beforeAll(async () => {
    adopted = await synthVariant("import");
  }, 420_000);

  it("adopts the retained ECR repository and secrets by name instead of creating (and colliding with) them", () => {
    const template = adopted.template("Delivery");
    template.resourceCountIs("AWS::ECR::Repository", 0);
    template.resourceCountIs("AWS::SecretsManager::Secret", 0);
    const ecr = statements(template).find((s) => [s.Action].flat().includes("ecr:PutImage"));
    expect(rendered(ecr?.Resource)).toBe("arn:aws:ecr:us-west-2:123456789012:repository/spot-manager-shared-sample-app");
    const [project] = Object.values(template.findResources("AWS::CodeBuild::Project")) as { Properties: { Environment: { EnvironmentVariables: { Name: string; Value: unknown }[] } } }[];
    const token = project!.Properties.Environment.EnvironmentVariables.find((v) => v.Name === "GITOPS_TOKEN");
    expect(rendered(token?.Value)).toBe("arn:aws:secretsmanager:us-west-2:123456789012:secret:spot-manager-shared/gitops-token");
    expect(adopted.errors).toEqual([]);
  });
});
