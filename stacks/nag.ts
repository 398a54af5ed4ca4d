/**
 * cdk-nag suppressions, each with the reason it is acceptable. Applied by path pattern so they
 * follow the constructs wherever they are created.
 */
import type { IConstruct } from "constructs";
import { NagSuppressions } from "cdk-nag";

interface Suppression {
  id: string;
  reason: string;
  appliesTo?: (string | { regex: string })[];
}

const CDK_MANAGED: Suppression[] = [
  { id: "AwsSolutions-SF1", reason: "The EKS provider framework's waiter state machine is CDK's; it only polls cluster creation." },
  { id: "AwsSolutions-SF2", reason: "The EKS provider framework's waiter state machine is CDK's; X-Ray tracing adds nothing to a deploy-time poll." },
  { id: "AwsSolutions-IAM4", reason: "CDK's own providers (EKS kubectl/cluster handlers, log retention) use AWS managed execution policies; they are framework resources, not spot-manager's runtime." },
  { id: "AwsSolutions-IAM5", reason: "CDK's EKS and log retention providers need wildcard permissions on resources they create at deploy time." },
  { id: "AwsSolutions-L1", reason: "CDK's provider framework pins its own Lambda runtime for custom resources; spot-manager's functions run nodejs22.x." },
];

/** Suppressions by the construct path they apply under. */
const BY_PATH: { match: RegExp; suppressions: Suppression[] }[] = [
  {
    match: /\/(@aws-cdk--aws-eks\.ClusterResourceProvider|[^/]*KubectlProvider|LogRetention[a-f0-9]+|AWS679f53fac002430cb0da5b7982bd2287|CustomResourceHandler|Eks\/KubectlHandlerRole)/,
    suppressions: CDK_MANAGED,
  },
  { match: /\/Eks\/Role\//, suppressions: [{ id: "AwsSolutions-IAM4", reason: "The EKS service role requires the AWS managed AmazonEKSClusterPolicy." }] },
  {
    match: /\/Eks\/Resource/,
    suppressions: [
      { id: "AwsSolutions-EKS1", reason: "Operators and CI reach the API server from outside the VPC; the stage config can make the endpoint private (cluster.endpointAccess)." },
      { id: "AwsSolutions-IAM4", reason: "The EKS cluster's creation role uses the managed policies EKS requires." },
      { id: "AwsSolutions-IAM5", reason: "The cluster creation role acts on resources EKS creates, whose names are not known in advance." },
    ],
  },
  {
    match: /\/Eks\/Nodegroup(OnDemand|Spot)\/NodeGroupRole/,
    suppressions: [{ id: "AwsSolutions-IAM4", reason: "EKS managed node groups require AmazonEKSWorkerNodePolicy, AmazonEKS_CNI_Policy and AmazonEC2ContainerRegistryReadOnly." }],
  },
  {
    match: /\/SelfManagedNodeRole/,
    suppressions: [{ id: "AwsSolutions-IAM4", reason: "Self-managed EKS nodes require the worker node, CNI and ECR read-only managed policies, and SSM for operator access." }],
  },
  {
    match: /\/SelfManagedSpot\/(ASG|Default)/,
    suppressions: [{ id: "AwsSolutions-AS3", reason: "Scaling events reach spot-manager through EventBridge (lifecycle actions, instance state changes); SNS notifications per ASG would duplicate them." }],
  },
  {
    match: /\/Eks\/ClusterAutoscalerServiceAccount\/Role/,
    suppressions: [
      {
        id: "AwsSolutions-IAM5",
        reason: "cluster-autoscaler's Describe* actions have no resource-level permissions; its scaling actions are limited to this cluster's ASGs by tag.",
        appliesTo: ["Resource::*", { regex: "/^Resource::arn:<AWS::Partition>:autoscaling:[^:]+:[^:]+:autoScalingGroup:\\*:autoScalingGroupName\\/\\*$/g" }],
      },
    ],
  },
  {
    match: /\/\w+Function\/ServiceRole/,
    suppressions: [
      {
        id: "AwsSolutions-IAM4",
        reason: "AWSLambdaBasicExecutionRole: the function writes its logs (and EMF metrics) to CloudWatch Logs.",
        appliesTo: ["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
      },
      {
        id: "AwsSolutions-IAM5",
        reason:
          "Only where AWS allows nothing narrower: X-Ray, ec2:DescribeInstances and Describe* of Auto Scaling and CloudWatch have no resource-level permissions; kms:GenerateDataKey* is how CDK grants publishing to the encrypted topic; lifecycle and scaling actions are limited to this cluster's groups by tag or name; schedules to the follow-up group.",
        appliesTo: [
          "Resource::*",
          "Action::kms:GenerateDataKey*",
          { regex: "/^Resource::arn:<AWS::Partition>:autoscaling:[^:]+:[^:]+:autoScalingGroup:\\*:autoScalingGroupName\\/.+$/g" },
          { regex: "/^Resource::arn:<AWS::Partition>:scheduler:[^:]+:[^:]+:schedule\\/[^/]+\\/\\*$/g" },
          { regex: "/^Resource::arn:<AWS::Partition>:eks:[^:]+:[^:]+:nodegroup\\/[^/]+\\/[^/]+\\/\\*$/g" },
        ],
      },
    ],
  },
  {
    match: /\/Build\/Role\//,
    suppressions: [
      {
        id: "AwsSolutions-IAM5",
        reason: "CodeBuild writes its log streams and report groups under its own prefix; ecr:GetAuthorizationToken has no resource-level permissions; the KMS actions are CDK's grant on the build's own key.",
        appliesTo: [
          "Resource::*",
          "Action::kms:ReEncrypt*",
          "Action::kms:GenerateDataKey*",
          { regex: "/^Resource::arn:<AWS::Partition>:logs:[^:]+:[^:]+:log-group:\\/aws\\/codebuild\\/.+:\\*$/g" },
          { regex: "/^Resource::arn:<AWS::Partition>:codebuild:[^:]+:[^:]+:report-group\\/.+-\\*$/g" },
        ],
      },
    ],
  },
  {
    match: /\/(GitOpsToken|WebhookSecret)\/Resource$/,
    suppressions: [{ id: "AwsSolutions-SMG4", reason: "The GitOps token and the webhook secret are issued by GitHub and rotated there by the operator; no Secrets Manager rotation function can mint them." }],
  },
  {
    match: /\/\w+Function\/Resource$/,
    suppressions: [{ id: "AwsSolutions-L1", reason: "spot-manager's functions target nodejs22.x, the runtime the product supports and tests against." }],
  },
  { match: /\/InterruptionDlq\/Resource/, suppressions: [{ id: "AwsSolutions-SQS3", reason: "This is the dead-letter queue itself." }] },
  {
    match: /\/FisRole\/DefaultPolicy/,
    suppressions: [{ id: "AwsSolutions-IAM5", reason: "FIS resolves targets with ec2:DescribeInstances (no resource-level permissions); interruptions are limited to this cluster's instances by tag." }],
  },
];

/** Adds the suppressions to every construct under a matching path; call once the tree is complete. */
export function applySuppressions(app: IConstruct): void {
  const visit = (construct: IConstruct) => {
    const path = `/${construct.node.path}`;
    for (const { match, suppressions } of BY_PATH) {
      if (match.test(path)) NagSuppressions.addResourceSuppressions(construct, suppressions);
    }
    for (const child of construct.node.children) visit(child);
  };
  visit(app);
}
