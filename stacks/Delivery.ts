/**
 * The delivery pipeline: ECR (immutable commit tags, scan on push, a lifecycle that never expires
 * an image an environment runs), a privileged CodeBuild project running this repository's
 * buildspec.yml (embedded at synth: a pushed branch cannot bring its own), the GitOps token and
 * webhook secret in Secrets Manager, a table of handled webhook deliveries, and the functions that
 * launch builds (GitHub webhook on a Function URL, and schedules) and report their state changes.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Duration, Stack } from "aws-cdk-lib";
import * as codebuild from "aws-cdk-lib/aws-codebuild";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as ecr from "aws-cdk-lib/aws-ecr";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as logs from "aws-cdk-lib/aws-logs";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Function, use, type StackContext } from "sst/constructs";
import { parse } from "yaml";
import { buildStateChangePattern, CACHE_TAG, DELIVERY_TABLE, LIVE_TAG_PREFIX } from "@spot-manager/core";
import { Cluster } from "./Cluster";
import { Observability } from "./Observability";

export interface DeliveryOutputs {
  projectName?: string;
  webhookUrl?: string;
}

export function Delivery({ stack, app }: StackContext): DeliveryOutputs {
  const { config } = use(Cluster);
  const { topic } = use(Observability);
  const settings = config.delivery;
  if (!settings.enabled) return {};
  const prefix = `spot-manager-${app.stage}`;
  const projectName = `${prefix}-delivery`;
  const { partition, region, account } = Stack.of(stack);

  const repository = new ecr.Repository(stack, "Images", {
    repositoryName: `${app.stage}/${settings.imageRepositoryName}`,
    // commit tags never move; the live-* tags (moved at each deploy) and the layer cache's tag do
    imageTagMutability: ecr.TagMutability.IMMUTABLE_WITH_EXCLUSION,
    imageTagMutabilityExclusionFilters: [ecr.ImageTagMutabilityExclusionFilter.wildcard(`${LIVE_TAG_PREFIX}*`), ecr.ImageTagMutabilityExclusionFilter.wildcard(CACHE_TAG)],
    imageScanOnPush: true,
    // an image matched by a rule is never expired by a lower one: the first rule shields what environments run
    lifecycleRules: [
      { description: "never expire an image an environment runs (live-<overlay>, live-<overlay>-previous, moved at each deploy)", tagPrefixList: [LIVE_TAG_PREFIX], maxImageCount: 9999, rulePriority: 1 },
      { description: "the current layer cache", tagPrefixList: [CACHE_TAG], maxImageCount: 1, rulePriority: 2 },
      { description: "untagged: layers of failed pushes, replaced caches", tagStatus: ecr.TagStatus.UNTAGGED, maxImageAge: Duration.days(7), rulePriority: 3 },
      { description: `keep the newest ${settings.keepImages} images`, tagStatus: ecr.TagStatus.ANY, maxImageCount: settings.keepImages, rulePriority: 4 },
    ],
  });

  const gitopsToken = new secretsmanager.Secret(stack, "GitOpsToken", {
    secretName: `${prefix}/gitops-token`,
    description: `Token that may push to ${settings.gitopsRepository} (${settings.gitopsBranch}); set it with aws secretsmanager put-secret-value`,
  });
  const webhookSecret = new secretsmanager.Secret(stack, "WebhookSecret", {
    secretName: `${prefix}/github-webhook-secret`,
    description: "Shared secret of the GitHub push webhook (X-Hub-Signature-256)",
    generateSecretString: { passwordLength: 48, excludePunctuation: true },
  });

  const key = new kms.Key(stack, "BuildKey", { enableKeyRotation: true, description: `${projectName} artifacts and logs` });
  const [owner, repo] = settings.repository.split("/") as [string, string];
  const project = new codebuild.Project(stack, "Build", {
    projectName,
    description: `Builds ${settings.repository} into ECR and bumps ${settings.gitopsOverlay} in the GitOps repository`,
    // CodeBuild's GitHub connection (import-source-credentials) lets a commit id serve as sourceVersion;
    // the full history is cloned, so the bump can tell whether a commit descends from the deployed one
    source: codebuild.Source.gitHub({ owner, repo, webhook: false }),
    // this repository's buildspec, embedded: a branch that changes its buildspec.yml runs nothing of it
    buildSpec: codebuild.BuildSpec.fromObjectToYaml(pinnedBuildspec()),
    environment: { buildImage: codebuild.LinuxBuildImage.STANDARD_7_0, computeType: codebuild.ComputeType.SMALL, privileged: true },
    environmentVariables: {
      ECR_REPOSITORY_URI: { value: repository.repositoryUri },
      GITOPS_REPOSITORY: { value: settings.gitopsRepository },
      GITOPS_BRANCH: { value: settings.gitopsBranch },
      GITOPS_OVERLAY: { value: settings.gitopsOverlay },
      IMAGE_NAME: { value: settings.imageRepositoryName },
      SCAN_FAIL_ON: { value: settings.scanFailOn },
      GITOPS_TOKEN: { type: codebuild.BuildEnvironmentVariableType.SECRETS_MANAGER, value: gitopsToken.secretArn },
    },
    encryptionKey: key,
    timeout: Duration.minutes(settings.buildTimeoutMinutes),
    logging: { cloudWatch: { logGroup: new logs.LogGroup(stack, "BuildLogs", { logGroupName: `/aws/codebuild/${projectName}`, retention: config.observability.logRetentionDays }) } },
  });
  repository.grantPullPush(project);
  // whether the image is there already, its scan findings
  repository.grant(project, "ecr:DescribeImages", "ecr:DescribeImageScanFindings");
  gitopsToken.grantRead(project);

  // X-GitHub-Delivery of each handled delivery, kept past GitHub's redelivery window (TTL)
  const deliveries = new dynamodb.Table(stack, "WebhookDeliveries", {
    tableName: `${prefix}-webhook-deliveries`,
    partitionKey: { name: DELIVERY_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
    timeToLiveAttribute: DELIVERY_TABLE.ttlAttribute,
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
  });

  const projectArn = `arn:${partition}:codebuild:${region}:${account}:project/${projectName}`;
  const launchBuilds = new iam.PolicyStatement({ sid: "LaunchBuilds", actions: ["codebuild:StartBuild", "codebuild:ListBuildsForProject", "codebuild:BatchGetBuilds"], resources: [projectArn] });
  const common = { runtime: "nodejs22.x" as const, architecture: "arm_64" as const, logRetention: "one_month" as const, nodejs: { format: "esm" as const, minify: true } };

  const webhook = new Function(stack, "WebhookFunction", {
    ...common,
    functionName: `${prefix}-delivery-webhook`,
    description: "spot-manager delivery: GitHub push webhook -> CodeBuild",
    handler: "functions/delivery/webhook.handler",
    timeout: "15 seconds",
    // the HMAC signature is the authentication; the URL itself is public
    url: { authorizer: "none" },
    environment: {
      PROJECT_NAME: projectName,
      WEBHOOK_SECRET_ARN: webhookSecret.secretArn,
      REPOSITORY: settings.repository,
      BRANCHES: settings.branches.join(","),
      BUILD_ENVIRONMENT: JSON.stringify({ GITOPS_OVERLAY: settings.gitopsOverlay }),
      DELIVERY_TABLE_NAME: deliveries.tableName,
    },
  });
  webhook.addToRolePolicy(launchBuilds);
  webhookSecret.grantRead(webhook);
  deliveries.grant(webhook, "dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem");

  if (settings.scheduledBuilds.length > 0) {
    const scheduled = new Function(stack, "ScheduledBuildsFunction", {
      ...common,
      functionName: `${prefix}-delivery-scheduled`,
      description: "spot-manager delivery: scheduled rebuilds -> CodeBuild",
      handler: "functions/delivery/scheduled.handler",
      timeout: "30 seconds",
      environment: { PROJECT_NAME: projectName, SCHEDULED_BUILDS: JSON.stringify(settings.scheduledBuilds.map(({ schedule: _s, ...build }) => build)) },
    });
    scheduled.addToRolePolicy(launchBuilds);
    for (const build of settings.scheduledBuilds) {
      new events.Rule(stack, `Schedule-${build.name}`, {
        description: `Scheduled build ${build.name}`,
        schedule: events.Schedule.expression(build.schedule),
        targets: [new targets.LambdaFunction(scheduled, { event: events.RuleTargetInput.fromObject({ builds: [build.name] }), retryAttempts: 2 })],
      });
    }
  }

  const notify = new Function(stack, "BuildNotifyFunction", {
    ...common,
    functionName: `${prefix}-delivery-notify`,
    description: "spot-manager delivery: CodeBuild state changes -> SNS",
    handler: "functions/delivery/notify.handler",
    timeout: "15 seconds",
    environment: { NOTIFICATION_TOPIC_ARN: topic.topicArn, PROJECT_NAME: projectName },
  });
  topic.grantPublish(notify);
  const pattern = buildStateChangePattern(projectName);
  new events.Rule(stack, "BuildStateChange", {
    description: `CodeBuild Build State Change of ${projectName}`,
    eventPattern: { source: pattern.source, detailType: pattern.detailType, detail: pattern.detail },
    targets: [new targets.LambdaFunction(notify, { retryAttempts: 4 })],
  });

  stack.addOutputs({ DeliveryProject: projectName, WebhookUrl: webhook.url ?? "", ImageRepository: repository.repositoryUri, WebhookSecret: webhookSecret.secretName, GitOpsTokenSecret: gitopsToken.secretName });
  return { projectName, ...(webhook.url ? { webhookUrl: webhook.url } : {}) };
}

/** buildspec.yml of this repository, read at synth. */
export function pinnedBuildspec(root = process.cwd()): Record<string, unknown> {
  return parse(readFileSync(join(root, "buildspec.yml"), "utf8")) as Record<string, unknown>;
}
