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
  { id: "AwsSolutions-L1", reason: "CDK's provider framework pins its own Lambda runtime for custom resources; spot-manager's own functions run the newest Node.js runtime." },
];

/**
 * Suppressions by the construct path they apply under: CDK-made constructs only. spot-manager's
 * own resources carry theirs where they are created (functions.ts, permissions.ts, alarms.ts).
 */
const BY_PATH: { match: RegExp; suppressions: Suppression[] }[] = [
  {
    match: /\/(@aws-cdk--aws-eks\.ClusterResourceProvider|[^/]*KubectlProvider|LogRetention[a-f0-9]+|AWS679f53fac002430cb0da5b7982bd2287|CustomResourceHandler|Eks\/KubectlHandlerRole)/,
    suppressions: CDK_MANAGED,
  },
  { match: /\/Eks\/Role\//, suppressions: [{ id: "AwsSolutions-IAM4", reason: "The EKS service role requires the AWS managed AmazonEKSClusterPolicy.", appliesTo: ["Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonEKSClusterPolicy"] }] },
  {
    match: /\/Eks\/Resource/,
    suppressions: [
      { id: "AwsSolutions-EKS1", reason: "Operators and CI reach the API server from outside the VPC; the stage config makes the endpoint private (cluster.endpointAccess) or limits it (cluster.publicAccessCidrs)." },
      { id: "AwsSolutions-IAM4", reason: "The EKS cluster's creation role uses the managed policies EKS requires." },
      { id: "AwsSolutions-IAM5", reason: "The cluster creation role acts on resources EKS creates, whose names are not known in advance." },
    ],
  },
  {
    match: /\/Eks\/Nodegroup(OnDemand|Spot)\/NodeGroupRole/,
    suppressions: [
      {
        id: "AwsSolutions-IAM4",
        reason: "EKS managed node groups require AmazonEKSWorkerNodePolicy, AmazonEKS_CNI_Policy and AmazonEC2ContainerRegistryReadOnly.",
        appliesTo: ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"].map((p) => `Policy::arn:<AWS::Partition>:iam::aws:policy/${p}`),
      },
    ],
  },
  {
    match: /\/SelfManagedNodeRole/,
    suppressions: [
      {
        id: "AwsSolutions-IAM4",
        reason: "Self-managed EKS nodes require the worker node, CNI and ECR read-only managed policies, and SSM for operator access.",
        appliesTo: ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly", "AmazonSSMManagedInstanceCore"].map((p) => `Policy::arn:<AWS::Partition>:iam::aws:policy/${p}`),
      },
    ],
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
        reason: "cluster-autoscaler's scaling actions reach only this cluster's ASGs (tag condition), and it describes the node groups of this cluster, whose ARNs end in ids EKS assigns.",
        appliesTo: [
          { regex: "/^Resource::arn:<AWS::Partition>:autoscaling:[^:]+:[^:]+:autoScalingGroup:\\*:autoScalingGroupName\\/\\*$/g" },
          { regex: "/^Resource::arn:<AWS::Partition>:eks:[^:]+:[^:]+:nodegroup\\/[^/*]+\\/\\*\\/\\*$/g" },
        ],
      },
    ],
  },
  {
    match: /\/Build\/Role\//,
    suppressions: [
      {
        id: "AwsSolutions-IAM5",
        reason: "CodeBuild writes its log streams and report groups under its own prefix; the KMS actions are CDK's grant on the build's own key; an adopted secret is granted by name (<name>-?????? and, for the build's environment, <name>*).",
        appliesTo: [
          "Action::kms:ReEncrypt*",
          "Action::kms:GenerateDataKey*",
          { regex: "/^Resource::arn:<AWS::Partition>:logs:[^:]+:[^:]+:log-group:\\/aws\\/codebuild\\/.+:\\*$/g" },
          { regex: "/^Resource::arn:<AWS::Partition>:codebuild:[^:]+:[^:]+:report-group\\/.+-\\*$/g" },
          { regex: "/^Resource::arn:<AWS::Partition>:secretsmanager:[^:]+:[^:]+:secret:spot-manager-[a-z0-9-]+\\/gitops-token(-\\?\\?\\?\\?\\?\\?|\\*)$/g" },
        ],
      },
    ],
  },
  {
    match: /\/(GitOpsToken|WebhookSecret)\/Resource$/,
    suppressions: [{ id: "AwsSolutions-SMG4", reason: "The GitOps token and the webhook secret are issued by GitHub and rotated there by the operator; no Secrets Manager rotation function can mint them." }],
  },
  {
    match: /\/FisRole\/DefaultPolicy/,
    suppressions: [
      {
        id: "AwsSolutions-IAM5",
        reason: "FIS interrupts only instances tagged for this cluster (tag condition on instance/*).",
        appliesTo: [{ regex: "/^Resource::arn:<AWS::Partition>:ec2:[^:]+:[^:]+:instance\\/\\*$/g" }],
      },
    ],
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
