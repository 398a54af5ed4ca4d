/**
 * The delivery pipeline: ECR (immutable commit tags, scan on push, a lifecycle that never expires
 * an image an environment runs), a privileged CodeBuild project running this repository's
 * buildspec.yml (embedded at synth: a pushed branch cannot bring its own), the GitOps token and
 * webhook secret in Secrets Manager, a table of handled webhook deliveries, and the functions that
 * launch builds (GitHub webhook on a Function URL, and schedules) and report their state changes.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as codebuild from "aws-cdk-lib/aws-codebuild";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as ecr from "aws-cdk-lib/aws-ecr";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as logs from "aws-cdk-lib/aws-logs";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { use, type StackContext } from "sst/constructs";
import { parse } from "yaml";
import { buildStateChangePattern, CACHE_TAG, DELIVERY_TABLE, LIVE_TAG_PREFIX } from "@spot-manager/core";
import { failedInvocationsAlarm, undeliveredEventsQueue } from "./alarms";
import { Cluster } from "./Cluster";
import { acceptWildcards, spotManagerFunction } from "./functions";
import { imageRepositoryName, resourceNames } from "./names";
import { Observability } from "./Observability";
import { grantOutcomeEvents } from "./outcomes";
import { grantWithoutResourceScope } from "./permissions";

/** The IAM5 finding of a secret granted by name (its ARN ends in Secrets Manager's random suffix). */
export const ADOPTED_SECRET_FINDING = { regex: "/^Resource::arn:<AWS::Partition>:secretsmanager:[^:]+:[^:]+:secret:spot-manager-[a-z0-9-]+\\/[a-z-]+-\\?\\?\\?\\?\\?\\?$/g" };

/** What docker push and pull do on the repository (GetAuthorizationToken is account-wide, granted apart). */
const ECR_PUSH_PULL = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage"];

export interface DeliveryOutputs {
  projectName?: string;
  webhookUrl?: string;
}

export function Delivery({ stack, app }: StackContext): DeliveryOutputs {
  const { config } = use(Cluster);
  const { topic, outcomeBus } = use(Observability);
  const settings = config.delivery;
  if (!settings.enabled) return {};
  const names = resourceNames(app.stage);
  const projectName = names.deliveryProject;
  const { partition, region, account } = Stack.of(stack);
  const repositoryName = imageRepositoryName(app.stage, settings.imageRepositoryName);
  // what a removed stage retained (retainOnDelete) keeps its fixed name: a redeploy adopts it
  const adopt = settings.adoptRetained;

  const repository = adopt
    ? ecr.Repository.fromRepositoryName(stack, "Images", repositoryName)
    : new ecr.Repository(stack, "Images", {
        repositoryName,
        // commit tags never move; the live-* tags (moved at each deploy) and the layer cache's tag do
        imageTagMutability: ecr.TagMutability.IMMUTABLE_WITH_EXCLUSION,
        imageTagMutabilityExclusionFilters: [ecr.ImageTagMutabilityExclusionFilter.wildcard(`${LIVE_TAG_PREFIX}*`), ecr.ImageTagMutabilityExclusionFilter.wildcard(CACHE_TAG)],
        imageScanOnPush: true,
        removalPolicy: config.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
        emptyOnDelete: !config.retainOnDelete,
        // an image matched by a rule is never expired by a lower one: the first rule shields what environments run
        lifecycleRules: [
          { description: "never expire an image an environment runs (live-<overlay>, live-<overlay>-previous, moved at each deploy)", tagPrefixList: [LIVE_TAG_PREFIX], maxImageCount: 9999, rulePriority: 1 },
          { description: "the current layer cache", tagPrefixList: [CACHE_TAG], maxImageCount: 1, rulePriority: 2 },
          { description: "untagged: layers of failed pushes, replaced caches", tagStatus: ecr.TagStatus.UNTAGGED, maxImageAge: Duration.days(7), rulePriority: 3 },
          { description: `keep the newest ${settings.keepImages} images`, tagStatus: ecr.TagStatus.ANY, maxImageCount: settings.keepImages, rulePriority: 4 },
        ],
      });

  const gitopsToken = adopt
    ? secretsmanager.Secret.fromSecretNameV2(stack, "GitOpsToken", names.gitopsTokenSecret)
    : new secretsmanager.Secret(stack, "GitOpsToken", {
        secretName: names.gitopsTokenSecret,
        description: `Token that may push to ${settings.gitopsRepository} (${settings.gitopsBranch}); set it with aws secretsmanager put-secret-value`,
      });
  const webhookSecret = adopt
    ? secretsmanager.Secret.fromSecretNameV2(stack, "WebhookSecret", names.webhookSecret)
    : new secretsmanager.Secret(stack, "WebhookSecret", {
        secretName: names.webhookSecret,
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
    logging: { cloudWatch: { logGroup: logs.LogGroup.fromLogGroupName(stack, "BuildLogs", names.buildLogGroup) } },
  });
  // the fixed-name group's retention (and its survival of a remove in prod), adopted on a redeploy
  const buildLogs = new logs.LogRetention(stack, "BuildLogRetention", {
    logGroupName: names.buildLogGroup,
    retention: config.observability.logRetentionDays as logs.RetentionDays,
    removalPolicy: config.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
  });
  project.node.addDependency(buildLogs);
  const buildRole = project.role as iam.IRole;
  // push and pull this repository; DescribeImages answers the buildspec's "already pushed?" check and
  // DescribeImageScanFindings the scan gate
  repository.grant(buildRole, ...ECR_PUSH_PULL, "ecr:DescribeImages", "ecr:DescribeImageScanFindings");
  grantWithoutResourceScope(stack, "RegistryLogin", buildRole, ["ecr:GetAuthorizationToken"], "docker login to the account's registry needs it");
  gitopsToken.grantRead(project);

  // X-GitHub-Delivery of each handled delivery, kept past GitHub's redelivery window (TTL)
  const deliveries = new dynamodb.Table(stack, "WebhookDeliveries", {
    tableName: names.deliveryTable,
    // a dedup record is worth nothing once GitHub stops redelivering: it goes with the stage
    removalPolicy: RemovalPolicy.DESTROY,
    partitionKey: { name: DELIVERY_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
    timeToLiveAttribute: DELIVERY_TABLE.ttlAttribute,
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
  });

  const projectArn = `arn:${partition}:codebuild:${region}:${account}:project/${projectName}`;
  const launchBuilds = new iam.PolicyStatement({ sid: "LaunchBuilds", actions: ["codebuild:StartBuild", "codebuild:ListBuildsForProject", "codebuild:BatchGetBuilds"], resources: [projectArn] });

  const webhook = spotManagerFunction(
    stack,
    "WebhookFunction",
    {
      functionName: names.webhookFunction,
      description: "spot-manager delivery: GitHub push webhook -> CodeBuild",
      handler: "functions/delivery/webhook.handler",
      timeout: "15 seconds",
      // the HMAC signature is the authentication; the URL itself is public. GitHub calls it server
      // to server: no browser origin is ever allowed (no CORS)
      url: { authorizer: "none", cors: false },
      environment: {
        PROJECT_NAME: projectName,
        WEBHOOK_SECRET_ARN: webhookSecret.secretArn,
        REPOSITORY: settings.repository,
        BRANCHES: settings.branches.join(","),
        BUILD_ENVIRONMENT: JSON.stringify({ GITOPS_OVERLAY: settings.gitopsOverlay }),
        DELIVERY_TABLE_NAME: deliveries.tableName,
      },
    },
    config,
  );
  webhook.addToRolePolicy(launchBuilds);
  webhookSecret.grantRead(webhook);
  deliveries.grant(webhook, "dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem");
  if (adopt) acceptWildcards(webhook, "A secret adopted by name is granted as <name>-?????? (Secrets Manager appends six random characters).", [ADOPTED_SECRET_FINDING]);

  const undelivered = undeliveredEventsQueue(stack, "Delivery", app.stage, topic, config);
  const rules: events.Rule[] = [];
  if (settings.scheduledBuilds.length > 0) {
    const scheduled = spotManagerFunction(
      stack,
      "ScheduledBuildsFunction",
      {
        functionName: names.scheduledBuildsFunction,
        description: "spot-manager delivery: scheduled rebuilds -> CodeBuild",
        handler: "functions/delivery/scheduled.handler",
        timeout: "30 seconds",
        environment: { PROJECT_NAME: projectName, SCHEDULED_BUILDS: JSON.stringify(settings.scheduledBuilds.map(({ schedule: _s, ...build }) => build)) },
      },
      config,
    );
    scheduled.addToRolePolicy(launchBuilds);
    for (const build of settings.scheduledBuilds) {
      rules.push(
        new events.Rule(stack, `Schedule-${build.name}`, {
          description: `Scheduled build ${build.name}`,
          schedule: events.Schedule.expression(build.schedule),
          targets: [new targets.LambdaFunction(scheduled, { event: events.RuleTargetInput.fromObject({ builds: [build.name] }), retryAttempts: 2, maxEventAge: Duration.hours(1), deadLetterQueue: undelivered })],
        }),
      );
    }
  }

  const notify = spotManagerFunction(
    stack,
    "BuildNotifyFunction",
    {
      functionName: names.buildNotifyFunction,
      description: "spot-manager delivery: CodeBuild state changes -> SNS",
      handler: "functions/delivery/notify.handler",
      timeout: "15 seconds",
      environment: { NOTIFICATION_TOPIC_ARN: topic.topicArn, PROJECT_NAME: projectName },
    },
    config,
  );
  topic.grantPublish(notify);
  grantOutcomeEvents(notify, outcomeBus);
  acceptWildcards(notify, "kms:GenerateDataKey* is how the CDK grants publishing to the encrypted topic.", ["Action::kms:GenerateDataKey*"]);
  const pattern = buildStateChangePattern(projectName);
  rules.push(
    new events.Rule(stack, "BuildStateChange", {
      description: `CodeBuild Build State Change of ${projectName}`,
      eventPattern: { source: pattern.source, detailType: pattern.detailType, detail: pattern.detail },
      targets: [new targets.LambdaFunction(notify, { retryAttempts: 4, maxEventAge: Duration.hours(1), deadLetterQueue: undelivered })],
    }),
  );
  failedInvocationsAlarm(stack, "Delivery", app.stage, topic, rules);

  stack.addOutputs({ DeliveryProject: projectName, WebhookUrl: webhook.url ?? "", ImageRepository: repository.repositoryUri, WebhookSecret: webhookSecret.secretName, GitOpsTokenSecret: gitopsToken.secretName });
  return { projectName, ...(webhook.url ? { webhookUrl: webhook.url } : {}) };
}

/** buildspec.yml of this repository, read at synth. */
export function pinnedBuildspec(root = process.cwd()): Record<string, unknown> {
  return parse(readFileSync(join(root, "buildspec.yml"), "utf8")) as Record<string, unknown>;
}
