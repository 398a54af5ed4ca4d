/**
 * The delivery pipeline: ECR (immutable tags, scan on push, lifecycle), a privileged CodeBuild
 * project running buildspec.yml from the repository, the GitOps token and webhook secret in
 * Secrets Manager, and the functions that launch builds (GitHub webhook on a Function URL, and
 * schedules) and report their state changes.
 */
import { Duration, Stack } from "aws-cdk-lib";
import * as codebuild from "aws-cdk-lib/aws-codebuild";
import * as ecr from "aws-cdk-lib/aws-ecr";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as logs from "aws-cdk-lib/aws-logs";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Function, use, type StackContext } from "sst/constructs";
import { buildStateChangePattern } from "@spot-manager/core";
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
    imageTagMutability: ecr.TagMutability.IMMUTABLE,
    imageScanOnPush: true,
    lifecycleRules: [
      { description: "untagged layers of failed pushes", tagStatus: ecr.TagStatus.UNTAGGED, maxImageAge: Duration.days(7), rulePriority: 1 },
      { description: `keep the newest ${settings.keepImages} images`, tagStatus: ecr.TagStatus.ANY, maxImageCount: settings.keepImages, rulePriority: 2 },
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
    // CodeBuild's GitHub connection (import-source-credentials) lets a commit id serve as sourceVersion
    source: codebuild.Source.gitHub({ owner, repo, webhook: false }),
    buildSpec: codebuild.BuildSpec.fromSourceFilename("buildspec.yml"),
    environment: { buildImage: codebuild.LinuxBuildImage.STANDARD_7_0, computeType: codebuild.ComputeType.SMALL, privileged: true },
    environmentVariables: {
      ECR_REPOSITORY_URI: { value: repository.repositoryUri },
      GITOPS_REPOSITORY: { value: settings.gitopsRepository },
      GITOPS_BRANCH: { value: settings.gitopsBranch },
      GITOPS_OVERLAY: { value: settings.gitopsOverlay },
      IMAGE_NAME: { value: settings.imageRepositoryName },
      GITOPS_TOKEN: { type: codebuild.BuildEnvironmentVariableType.SECRETS_MANAGER, value: gitopsToken.secretArn },
    },
    encryptionKey: key,
    timeout: Duration.minutes(settings.buildTimeoutMinutes),
    logging: { cloudWatch: { logGroup: new logs.LogGroup(stack, "BuildLogs", { logGroupName: `/aws/codebuild/${projectName}`, retention: config.observability.logRetentionDays }) } },
  });
  repository.grantPullPush(project);
  gitopsToken.grantRead(project);

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
    },
  });
  webhook.addToRolePolicy(launchBuilds);
  webhookSecret.grantRead(webhook);

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
