/**
 * cdk-nag suppressions for constructs the CDK and SST create on spot-manager's behalf (providers,
 * the EKS cluster's own roles, managed node group roles), each naming the exact findings it
 * covers and why. spot-manager's own resources carry theirs where they are created (functions.ts,
 * permissions.ts, alarms.ts): a new wildcard anywhere is a cdk-nag error, not a silent pass.
 */
import type { IConstruct } from "constructs";
import { NagSuppressions } from "cdk-nag";

interface Suppression {
  id: string;
  reason: string;
  appliesTo?: (string | { regex: string })[];
}

const managedPolicy = (name: string) => `Policy::arn:<AWS::Partition>:iam::aws:policy/${name}`;

const LAMBDA_EXECUTION: Suppression = {
  id: "AwsSolutions-IAM4",
  reason:
    "A CDK or SST provider function writes its logs (AWSLambdaBasicExecutionRole); the EKS kubectl provider may run in the VPC (AWSLambdaVPCAccessExecutionRole) and pulls its image layers from ECR (private, and public where the region has it).",
  appliesTo: [
    managedPolicy("service-role/AWSLambdaBasicExecutionRole"),
    managedPolicy("service-role/AWSLambdaVPCAccessExecutionRole"),
    managedPolicy("AmazonEC2ContainerRegistryPullOnly"),
    { regex: '/^Policy::\\{"Fn::If":\\["[A-Za-z0-9]*HasEcrPublic[A-Za-z0-9]+".*AmazonElasticContainerRegistryPublicReadOnly.*$/g' },
  ],
};

/** The CDK's and SST's provider constructs: the EKS cluster and kubectl providers (an imported cluster's too), log retention, SST's stack handler. */
const PROVIDER = String.raw`(CustomResourceHandler|LogRetention[a-f0-9]{32}|@aws-cdk--aws-eks\.(ClusterResourceProvider|KubectlProvider)|[A-Za-z0-9]+-KubectlProvider)`;
const PROVIDER_RUNTIME: Suppression = { id: "AwsSolutions-L1", reason: "The CDK and SST pin the Node.js runtime of their own provider functions; spot-manager's functions run the newest one." };
const INVOKE_VERSIONS: Suppression = {
  id: "AwsSolutions-IAM5",
  reason: "The CDK provider framework invokes its handler functions' versions (<function ARN>:*).",
  appliesTo: [{ regex: "/^Resource::<[A-Za-z0-9]+\\.Arn>:\\*$/g" }],
};

/** Suppressions by the construct path they apply under. */
const BY_PATH: { match: RegExp; suppressions: Suppression[] }[] = [
  // provider functions, their roles and the EKS provider framework
  { match: new RegExp(String.raw`\/${PROVIDER}\/([^/]+\/)*(ServiceRole|Role)\/Resource$`), suppressions: [LAMBDA_EXECUTION] },
  { match: new RegExp(String.raw`\/${PROVIDER}(\/(Handler|[A-Za-z]+Handler|Provider\/framework-[A-Za-z]+))?\/Resource$`), suppressions: [PROVIDER_RUNTIME] },
  { match: new RegExp(String.raw`\/${PROVIDER}\/Provider\/[^/]+\/(ServiceRole|Role)\/DefaultPolicy\/Resource$`), suppressions: [INVOKE_VERSIONS] },
  {
    match: /\/@aws-cdk--aws-eks\.ClusterResourceProvider\/Provider\/waiter-state-machine\/Resource$/,
    suppressions: [
      { id: "AwsSolutions-SF1", reason: "The EKS provider framework's waiter state machine is the CDK's; it only polls cluster creation." },
      { id: "AwsSolutions-SF2", reason: "The EKS provider framework's waiter state machine is the CDK's; X-Ray tracing adds nothing to a deploy-time poll." },
    ],
  },
  {
    match: /\/LogRetention[a-f0-9]{32}\/ServiceRole\/DefaultPolicy\/Resource$/,
    suppressions: [
      {
        id: "AwsSolutions-IAM5",
        reason: "The CDK's log retention function sets retention on the fixed-name log groups of this stage (<group>:*), and lists log groups, which has no resource-level permissions.",
        appliesTo: ["Resource::*", { regex: "/^Resource::arn:<AWS::Partition>:logs:[^:]+:[^:]+:log-group:\\/aws\\/(lambda|eks|codebuild)\\/[^:*]+:\\*$/g" }],
      },
    ],
  },
  // the EKS cluster's own roles
  { match: /\/Eks\/Role\/Resource$/, suppressions: [{ id: "AwsSolutions-IAM4", reason: "The EKS service role requires the AWS managed AmazonEKSClusterPolicy.", appliesTo: [managedPolicy("AmazonEKSClusterPolicy")] }] },
  {
    match: /\/Eks\/KubectlHandlerRole\/Resource$/,
    suppressions: [
      {
        id: "AwsSolutions-IAM4",
        reason: "The CDK's kubectl handler writes logs, may run in the VPC, and pulls its image layers from ECR (private, and public when the region has it).",
        appliesTo: [
          managedPolicy("service-role/AWSLambdaBasicExecutionRole"),
          managedPolicy("service-role/AWSLambdaVPCAccessExecutionRole"),
          managedPolicy("AmazonEC2ContainerRegistryPullOnly"),
          { regex: "/^Policy::\\{\"Fn::If\":\\[\"EksHasEcrPublic[A-Za-z0-9]+\".*AmazonElasticContainerRegistryPublicReadOnly.*$/g" },
        ],
      },
    ],
  },
  {
    match: /\/Eks\/Resource\/CreationRole\/DefaultPolicy\/Resource$/,
    suppressions: [
      {
        id: "AwsSolutions-IAM5",
        reason: "The CDK's cluster creation role manages this cluster's sub-resources (cluster/<name>/*, fargateprofile/<name>/*) and describes EC2 networking, which has no resource-level permissions.",
        appliesTo: ["Resource::*", { regex: "/^Resource::arn:<AWS::Partition>:eks:[^:]+:[^:]+:(cluster|fargateprofile)\\/[^/*]+\\/\\*$/g" }],
      },
    ],
  },
  {
    match: /\/Eks\/Resource\/Resource\/Default$/,
    suppressions: [
      { id: "AwsSolutions-EKS1", reason: "Operators and CI reach the API server from outside the VPC; the stage config makes the endpoint private (cluster.endpointAccess) or limits it (cluster.publicAccessCidrs)." },
    ],
  },
  {
    match: /\/Eks\/Nodegroup(OnDemand|Spot)\/NodeGroupRole\/Resource$/,
    suppressions: [
      {
        id: "AwsSolutions-IAM4",
        reason: "EKS managed node groups require AmazonEKSWorkerNodePolicy, AmazonEKS_CNI_Policy and AmazonEC2ContainerRegistryReadOnly.",
        appliesTo: ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"].map(managedPolicy),
      },
    ],
  },
  {
    match: /\/SelfManagedNodeRole\/Resource$/,
    suppressions: [
      {
        id: "AwsSolutions-IAM4",
        reason: "Self-managed EKS nodes require the worker node, CNI and ECR read-only managed policies, and SSM for operator access.",
        appliesTo: ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly", "AmazonSSMManagedInstanceCore"].map(managedPolicy),
      },
    ],
  },
  {
    match: /\/SelfManagedSpot\/ASG$/,
    suppressions: [{ id: "AwsSolutions-AS3", reason: "Scaling events reach spot-manager through EventBridge (lifecycle actions, instance state changes); SNS notifications per ASG would duplicate them." }],
  },
  {
    match: /\/Eks\/ClusterAutoscalerServiceAccount\/Role\/DefaultPolicy\/Resource$/,
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
    match: /\/Build\/Role\/DefaultPolicy\/Resource$/,
    suppressions: [
      {
        id: "AwsSolutions-IAM5",
        reason: "CodeBuild writes its log streams and report groups under its own prefix; the KMS actions are the CDK's grant on the build's own key; an adopted secret is granted by name (<name>-?????? and, for the build's environment, <name>*).",
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
    match: /\/FisRole\/DefaultPolicy\/Resource$/,
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
