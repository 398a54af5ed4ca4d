/**
 * The EKS cluster: VPC (a NAT gateway per AZ in prod), the cluster with authentication mode API
 * and access entries for its operators, an on-demand managed node group as the stable base, a
 * diversified spot managed node group (taint PreferNoSchedule), optionally a self-managed spot Auto
 * Scaling group with price-capacity-optimized allocation, capacity rebalance and a terminate
 * lifecycle hook; metrics-server and cluster-autoscaler matched to the Kubernetes version; Argo CD
 * and Argo Rollouts when asked. Or an existing cluster, imported. Also the network the function
 * that calls the Kubernetes API needs when it runs in the VPC.
 */
import { Annotations, Duration, Fn, RemovalPolicy, Tags } from "aws-cdk-lib";
import * as autoscaling from "aws-cdk-lib/aws-autoscaling";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as eks from "aws-cdk-lib/aws-eks";
import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import { NagSuppressions } from "cdk-nag";
import type { StackContext } from "sst/constructs";
import { SPOT_NODE_TAINT } from "@spot-manager/core";
import { functionsInVpc, natGatewayCount, type StageConfig } from "./config";
import { KUBERNETES_RELEASES, supportNotice } from "./kubernetes";
import { grantWithoutResourceScope } from "./permissions";
import { useStageConfig } from "./stage";

/** The cluster's service range, set explicitly so self-managed nodes get the same cluster DNS address. */
const SERVICE_CIDR = "172.20.0.0/16";

const TAINT_EFFECTS = {
  NoSchedule: eks.TaintEffect.NO_SCHEDULE,
  PreferNoSchedule: eks.TaintEffect.PREFER_NO_SCHEDULE,
  NoExecute: eks.TaintEffect.NO_EXECUTE,
} as const;

/** Where a function that calls the Kubernetes API runs when it must be in the VPC. */
export interface KubernetesClientNetwork {
  vpc: ec2.IVpc;
  subnets: ec2.SubnetSelection;
  /** Admitted by the cluster security group on 443 (and by the VPC endpoints, when there are any). */
  securityGroup: ec2.ISecurityGroup;
}

export interface ClusterOutputs {
  cluster: eks.ICluster;
  clusterName: string;
  config: StageConfig;
  imported: boolean;
  /** Managed node groups this stage created, by role. */
  nodeGroups: { onDemand?: string; spot?: string };
  selfManagedSpot?: { autoScalingGroupName: string; lifecycleHookName: string };
  /** Present when the functions that call the Kubernetes API run in the VPC. */
  kubernetesClients?: KubernetesClientNetwork;
}

/** The AWS APIs the interruption function calls, for interface VPC endpoints. */
const FUNCTION_AWS_APIS: Record<string, ec2.InterfaceVpcEndpointAwsService> = {
  Ec2: ec2.InterfaceVpcEndpointAwsService.EC2,
  AutoScaling: ec2.InterfaceVpcEndpointAwsService.AUTOSCALING,
  Eks: ec2.InterfaceVpcEndpointAwsService.EKS,
  Sqs: ec2.InterfaceVpcEndpointAwsService.SQS,
  Sns: ec2.InterfaceVpcEndpointAwsService.SNS,
  Scheduler: new ec2.InterfaceVpcEndpointAwsService("scheduler"),
};

/** Where outcome events go (PutEvents), when the stage publishes them. */
const OUTCOME_EVENTS_API: Record<string, ec2.InterfaceVpcEndpointAwsService> = { Events: ec2.InterfaceVpcEndpointAwsService.EVENTBRIDGE };

/**
 * An EKS managed node group (AL2023) labelled with its capacity group, so workloads and reports can
 * tell groups apart. No desired size in the template: EKS starts the group at min, and from then on
 * cluster-autoscaler and the capacity manager own it; a template value would reset it on every
 * update of the group.
 */
function managedNodeGroup(cluster: eks.Cluster, id: string, spec: StageConfig["nodeGroups"]["onDemand"], capacityType: eks.CapacityType): eks.Nodegroup {
  const group = cluster.addNodegroupCapacity(id, {
    nodegroupName: spec.name,
    capacityType,
    amiType: eks.NodegroupAmiType.AL2023_X86_64_STANDARD,
    instanceTypes: spec.instanceTypes.map((t) => new ec2.InstanceType(t)),
    minSize: spec.scaling.min,
    maxSize: spec.scaling.max,
    diskSize: spec.diskSizeGiB,
    labels: { ...spec.labels, "spot-manager/capacity-group": spec.name },
    taints: spec.taints.map((t) => ({ key: t.key, value: t.value, effect: TAINT_EFFECTS[t.effect] })),
  });
  (group.node.defaultChild as eks.CfnNodegroup).addPropertyDeletionOverride("ScalingConfig.DesiredSize");
  return group;
}

/** Tags the Kubernetes AWS integrations and cluster-autoscaler discover capacity by. */
function tagForCluster(scope: autoscaling.AutoScalingGroup, clusterName: string): void {
  const tags = {
    "eks:cluster-name": clusterName,
    [`kubernetes.io/cluster/${clusterName}`]: "owned",
    "k8s.io/cluster-autoscaler/enabled": "true",
    [`k8s.io/cluster-autoscaler/${clusterName}`]: "owned",
  };
  for (const [key, value] of Object.entries(tags)) Tags.of(scope).add(key, value, { applyToLaunchedInstances: true });
}

/** nodeadm configuration (AL2023): join the cluster with the spot label and taint. */
function nodeadmUserData(cluster: eks.Cluster, labels: Record<string, string>, taints: string[]): ec2.UserData {
  const nodeConfig = [
    "apiVersion: node.eks.aws/v1alpha1",
    "kind: NodeConfig",
    "spec:",
    "  cluster:",
    `    name: ${cluster.clusterName}`,
    `    apiServerEndpoint: ${cluster.clusterEndpoint}`,
    `    certificateAuthority: ${cluster.clusterCertificateAuthorityData}`,
    `    cidr: ${SERVICE_CIDR}`,
    "  kubelet:",
    "    flags:",
    `      - --node-labels=${Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(",")}`,
    ...(taints.length ? [`      - --register-with-taints=${taints.join(",")}`] : []),
  ].join("\n");
  const userData = ec2.UserData.custom(
    ["MIME-Version: 1.0", 'Content-Type: multipart/mixed; boundary="BOUNDARY"', "", "--BOUNDARY", "Content-Type: application/node.eks.aws", "", nodeConfig, "", "--BOUNDARY--", ""].join("\n"),
  );
  return userData;
}

function selfManagedSpotGroup(stack: StackContext["stack"], cluster: eks.Cluster, vpc: ec2.IVpc, config: StageConfig): ClusterOutputs["selfManagedSpot"] {
  const spec = config.nodeGroups.selfManagedSpot;
  const clusterName = config.cluster.name;
  const role = new iam.Role(stack, "SelfManagedNodeRole", {
    assumedBy: new iam.ServicePrincipal("ec2.amazonaws.com"),
    managedPolicies: ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly", "AmazonSSMManagedInstanceCore"].map((p) => iam.ManagedPolicy.fromAwsManagedPolicyName(p)),
  });
  new eks.AccessEntry(stack, "SelfManagedNodeAccess", { cluster, principal: role.roleArn, accessEntryType: eks.AccessEntryType.EC2_LINUX, accessPolicies: [] });
  const labels = { "spot-manager/lifecycle": "spot", "spot-manager/capacity-group": spec.name };
  const taints = [`${SPOT_NODE_TAINT.key}=${SPOT_NODE_TAINT.value}:${SPOT_NODE_TAINT.effect}`];
  const launchTemplate = new ec2.LaunchTemplate(stack, "SelfManagedSpotTemplate", {
    machineImage: ec2.MachineImage.fromSsmParameter(`/aws/service/eks/optimized-ami/${config.cluster.version}/amazon-linux-2023/x86_64/standard/recommended/image_id`),
    userData: nodeadmUserData(cluster, labels, taints),
    role,
    securityGroup: cluster.clusterSecurityGroup,
    requireImdsv2: true,
    httpPutResponseHopLimit: 2,
    blockDevices: [{ deviceName: "/dev/xvda", volume: ec2.BlockDeviceVolume.ebs(50, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3 }) }],
  });
  const autoScalingGroupName = `${clusterName}-${spec.name}`;
  const asg = new autoscaling.AutoScalingGroup(stack, "SelfManagedSpot", {
    autoScalingGroupName,
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    minCapacity: spec.scaling.min,
    maxCapacity: spec.scaling.max,
    capacityRebalance: spec.capacityRebalance,
    mixedInstancesPolicy: {
      launchTemplate,
      launchTemplateOverrides: spec.instanceTypes.map((t) => ({ instanceType: new ec2.InstanceType(t) })),
      instancesDistribution: {
        onDemandBaseCapacity: spec.onDemandBaseCapacity,
        onDemandPercentageAboveBaseCapacity: spec.onDemandPercentageAboveBase,
        spotAllocationStrategy: autoscaling.SpotAllocationStrategy.PRICE_CAPACITY_OPTIMIZED,
      },
    },
  });
  tagForCluster(asg, clusterName);
  NagSuppressions.addResourceSuppressions(asg, [
    {
      id: "CdkNagValidationFailure",
      reason: "AwsSolutions-EC26 cannot follow a launch template inside a mixed instances policy; that template encrypts the group's only volume (gp3, encrypted).",
      appliesTo: ["AwsSolutions-EC26"],
    },
  ], true);
  asg.addLifecycleHook("Drain", {
    lifecycleHookName: spec.lifecycleHook.name,
    lifecycleTransition: autoscaling.LifecycleTransition.INSTANCE_TERMINATING,
    heartbeatTimeout: Duration.seconds(spec.lifecycleHook.heartbeatTimeoutSeconds),
    defaultResult: autoscaling.DefaultResult.CONTINUE,
  });
  return { autoScalingGroupName, lifecycleHookName: spec.lifecycleHook.name };
}

function clusterAutoscaler(stack: StackContext["stack"], cluster: eks.Cluster, config: StageConfig): void {
  const clusterName = config.cluster.name;
  const release = KUBERNETES_RELEASES[config.cluster.version].clusterAutoscaler;
  const serviceAccount = cluster.addServiceAccount("ClusterAutoscalerServiceAccount", { name: "cluster-autoscaler", namespace: "kube-system" });
  grantWithoutResourceScope(
    stack,
    "ClusterAutoscalerDiscovery",
    serviceAccount.role,
    [
      "autoscaling:DescribeAutoScalingGroups",
      "autoscaling:DescribeAutoScalingInstances",
      "autoscaling:DescribeLaunchConfigurations",
      "autoscaling:DescribeScalingActivities",
      "autoscaling:DescribeTags",
      "ec2:DescribeImages",
      "ec2:DescribeInstanceTypes",
      "ec2:DescribeLaunchTemplateVersions",
      "ec2:GetInstanceTypesFromInstanceRequirements",
    ],
    "cluster-autoscaler discovers this cluster's groups by tag with them",
  );
  // the two actions that change capacity are held to this cluster's Auto Scaling groups by their auto-discovery tag
  serviceAccount.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
      resources: [`arn:${stack.partition}:autoscaling:${stack.region}:${stack.account}:autoScalingGroup:*:autoScalingGroupName/*`],
      conditions: { StringEquals: { [`aws:ResourceTag/k8s.io/cluster-autoscaler/${clusterName}`]: "owned" } },
    }),
  );
  serviceAccount.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ["eks:DescribeNodegroup"], resources: [`arn:${stack.partition}:eks:${stack.region}:${stack.account}:nodegroup/${clusterName}/*/*`] }),
  );
  const chart = cluster.addHelmChart("ClusterAutoscaler", {
    chart: "cluster-autoscaler",
    repository: "https://kubernetes.github.io/autoscaler",
    version: config.addons.clusterAutoscaler.chartVersion ?? release.chartVersion,
    namespace: "kube-system",
    values: {
      // the same minor version as the cluster: upstream tests each release only against its own
      image: { tag: config.addons.clusterAutoscaler.imageTag ?? release.imageTag },
      autoDiscovery: { clusterName },
      awsRegion: stack.region,
      rbac: { serviceAccount: { create: false, name: serviceAccount.serviceAccountName } },
      // spot groups first, on-demand when spot cannot deliver: the seed architecture's order
      expanderPriorities: { 50: [".*spot.*"], 10: [".*"] },
      extraArgs: { expander: "priority,least-waste", "balance-similar-node-groups": true, "skip-nodes-with-local-storage": false, "max-node-provision-time": `${config.addons.clusterAutoscaler.maxNodeProvisionMinutes}m` },
    },
  });
  chart.node.addDependency(serviceAccount);
}

/**
 * The security group of the function that calls the Kubernetes API, admitted by the cluster
 * security group on 443; interface endpoints for the AWS APIs it calls when asked.
 */
function kubernetesClientNetwork(stack: StackContext["stack"], vpc: ec2.IVpc, subnets: ec2.SubnetSelection, clusterSecurityGroup: ec2.ISecurityGroup, config: StageConfig): KubernetesClientNetwork {
  const securityGroup = new ec2.SecurityGroup(stack, "KubernetesClients", {
    vpc,
    description: "spot-manager functions that call the Kubernetes API (admitted by the cluster security group on 443)",
    allowAllOutbound: true,
  });
  clusterSecurityGroup.addIngressRule(securityGroup, ec2.Port.tcp(443), "spot-manager functions to the Kubernetes API");
  if (config.network.awsApiAccess === "vpc-endpoints") {
    const endpoints = new ec2.SecurityGroup(stack, "AwsApiEndpoints", { vpc, description: "Interface endpoints for the AWS APIs spot-manager's functions call", allowAllOutbound: false });
    endpoints.addIngressRule(securityGroup, ec2.Port.tcp(443), "spot-manager functions to AWS APIs");
    for (const [id, service] of Object.entries({ ...FUNCTION_AWS_APIS, ...(config.outcomes.enabled ? OUTCOME_EVENTS_API : {}) })) {
      // open: false, only the functions' group is admitted (not the whole VPC CIDR)
      new ec2.InterfaceVpcEndpoint(stack, `${id}Endpoint`, { vpc, service, subnets, securityGroups: [endpoints], privateDnsEnabled: true, open: false });
    }
  }
  return { vpc, subnets, securityGroup };
}

/** EKS access entries that make these IAM principals cluster admins, so people can use kubectl. */
function operatorAccess(stack: StackContext["stack"], cluster: eks.ICluster, admins: string[]): void {
  admins.forEach((principal, index) => {
    new eks.AccessEntry(stack, `OperatorAccess${index}`, {
      cluster,
      principal,
      accessPolicies: [eks.AccessPolicy.fromAccessPolicyName("AmazonEKSClusterAdminPolicy", { accessScopeType: eks.AccessScopeType.CLUSTER })],
    });
  });
}

/**
 * A warning for the operator: in the assembly (where `spot-manager synth` reads it) and on stderr,
 * since `sst deploy` does not show the CDK's annotations.
 */
function warnOperator(stack: StackContext["stack"], id: string, message: string): void {
  Annotations.of(stack).addWarningV2(`spot-manager:${id}`, message);
  console.warn(`spot-manager: warning: ${stack.stackName}: ${message}`);
}

/** Synth-time notice about the version's EKS support. */
function announceSupport(stack: StackContext["stack"], config: StageConfig): void {
  const notice = supportNotice(config.cluster.version, new Date());
  if (!notice) return;
  if (notice.level === "warning") warnOperator(stack, "kubernetes-version", notice.message);
  else Annotations.of(stack).addInfo(notice.message);
}

function argo(cluster: eks.Cluster, config: StageConfig): void {
  if (config.addons.argoCd.enabled) {
    cluster.addHelmChart("ArgoCd", { chart: "argo-cd", repository: "https://argoproj.github.io/argo-helm", version: config.addons.argoCd.chartVersion, namespace: "argocd", createNamespace: true });
  }
  if (config.addons.argoRollouts.enabled) {
    cluster.addHelmChart("ArgoRollouts", { chart: "argo-rollouts", repository: "https://argoproj.github.io/argo-helm", version: config.addons.argoRollouts.chartVersion, namespace: "argo-rollouts", createNamespace: true });
  }
}

export function Cluster({ stack, app }: StackContext): ClusterOutputs {
  const config = useStageConfig(app.stage);
  const clusterName = config.cluster.name;
  const kubectlLayer = KUBERNETES_RELEASES[config.cluster.version].kubectlLayer(stack, "KubectlLayer");
  const clientsInVpc = functionsInVpc(config);
  announceSupport(stack, config);

  if (config.cluster.mode === "import") {
    const imported = config.cluster.import!;
    // subnets are named explicitly where they are needed, so neither the zones nor the subnets'
    // route tables need to be known here
    Annotations.of(stack).acknowledgeWarning("@aws-cdk/aws-ec2:vpcAttributeIsListTokenavailabilityZones", "no construct here selects subnets of the imported VPC by zone");
    Annotations.of(stack).acknowledgeWarning("@aws-cdk/aws-ec2:noSubnetRouteTableId", "the imported private subnets are only placed into, never routed");
    const vpc = ec2.Vpc.fromVpcAttributes(stack, "Vpc", { vpcId: imported.vpcId, availabilityZones: Fn.getAzs() });
    // validated: functions in the VPC come with the private subnets and the cluster security group
    const kubernetesClients = clientsInVpc
      ? kubernetesClientNetwork(
          stack,
          vpc,
          { subnets: imported.privateSubnetIds!.map((id, i) => ec2.Subnet.fromSubnetId(stack, `PrivateSubnet${i}`, id)) },
          ec2.SecurityGroup.fromSecurityGroupId(stack, "ClusterSecurityGroup", imported.clusterSecurityGroupId!),
          config,
        )
      : undefined;
    const cluster = eks.Cluster.fromClusterAttributes(stack, "Eks", {
      clusterName,
      kubectlRoleArn: imported.kubectlRoleArn,
      kubectlLayer,
      vpc,
      // a private endpoint: the CDK's kubectl provider (for the RBAC manifests) runs in the VPC too
      ...(config.cluster.endpointAccess === "private" && kubernetesClients
        ? { kubectlPrivateSubnetIds: imported.privateSubnetIds!, kubectlSecurityGroupId: kubernetesClients.securityGroup.securityGroupId }
        : {}),
      ...(imported.openIdConnectProviderArn ? { openIdConnectProvider: eks.OpenIdConnectProvider.fromOpenIdConnectProviderArn(stack, "Oidc", imported.openIdConnectProviderArn) } : {}),
    });
    operatorAccess(stack, cluster, config.cluster.admins);
    return { cluster, clusterName, config, imported: true, nodeGroups: {}, ...(kubernetesClients ? { kubernetesClients } : {}) };
  }

  const vpc = new ec2.Vpc(stack, "Vpc", {
    ipAddresses: ec2.IpAddresses.cidr(config.vpc.cidr),
    maxAzs: config.vpc.maxAzs,
    natGateways: natGatewayCount(app.stage, config),
    subnetConfiguration: [
      { name: "public", subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
      { name: "private", subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 19 },
    ],
  });
  vpc.addFlowLog("FlowLogs", {
    destination: ec2.FlowLogDestination.toCloudWatchLogs(new logs.LogGroup(stack, "FlowLogGroup", { retention: config.observability.logRetentionDays as logs.RetentionDays })),
    trafficType: ec2.FlowLogTrafficType.REJECT,
  });

  // EKS writes the control plane logs to a group of this fixed name; this keeps its retention (and,
  // unlike a LogGroup resource, takes over a group a removed stage retained)
  const controlPlaneLogs = new logs.LogRetention(stack, "ControlPlaneLogRetention", {
    logGroupName: `/aws/eks/${clusterName}/cluster`,
    retention: config.observability.logRetentionDays as logs.RetentionDays,
    removalPolicy: config.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
  });

  const publicCidrs = config.cluster.publicAccessCidrs ?? [];
  const endpointAccess = {
    public: eks.EndpointAccess.PUBLIC,
    private: eks.EndpointAccess.PRIVATE,
    "public-and-private": eks.EndpointAccess.PUBLIC_AND_PRIVATE,
  }[config.cluster.endpointAccess];
  const cluster = new eks.Cluster(stack, "Eks", {
    clusterName,
    version: eks.KubernetesVersion.of(config.cluster.version),
    kubectlLayer,
    vpc,
    vpcSubnets: [{ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }],
    defaultCapacity: 0,
    serviceIpv4Cidr: SERVICE_CIDR,
    authenticationMode: eks.AuthenticationMode.API,
    endpointAccess: publicCidrs.length > 0 && config.cluster.endpointAccess !== "private" ? endpointAccess.onlyFrom(...publicCidrs) : endpointAccess,
    clusterLogging: [
      eks.ClusterLoggingTypes.API,
      eks.ClusterLoggingTypes.AUDIT,
      eks.ClusterLoggingTypes.AUTHENTICATOR,
      eks.ClusterLoggingTypes.CONTROLLER_MANAGER,
      eks.ClusterLoggingTypes.SCHEDULER,
    ],
  });
  cluster.node.addDependency(controlPlaneLogs);
  operatorAccess(stack, cluster, config.cluster.admins);
  if (config.cluster.admins.length === 0) {
    warnOperator(stack, "no-operators", "cluster.admins is empty: no person can use kubectl on the new cluster (authentication mode API); list the IAM roles of its operators");
  }

  const onDemand = managedNodeGroup(cluster, "OnDemand", config.nodeGroups.onDemand, eks.CapacityType.ON_DEMAND);
  managedNodeGroup(cluster, "Spot", config.nodeGroups.spot, eks.CapacityType.SPOT);

  if (config.addons.metricsServer) {
    const addon = new eks.Addon(stack, "MetricsServer", { cluster, addonName: "metrics-server", preserveOnDelete: false });
    addon.node.addDependency(onDemand);
  }
  if (config.addons.clusterAutoscaler.enabled) clusterAutoscaler(stack, cluster, config);
  argo(cluster, config);
  const selfManagedSpot = config.nodeGroups.selfManagedSpot.enabled ? selfManagedSpotGroup(stack, cluster, vpc, config) : undefined;
  const kubernetesClients = clientsInVpc ? kubernetesClientNetwork(stack, vpc, { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }, cluster.clusterSecurityGroup, config) : undefined;

  stack.addOutputs({ ClusterName: clusterName, ClusterEndpoint: cluster.clusterEndpoint, KubernetesVersion: config.cluster.version });
  return {
    cluster,
    clusterName,
    config,
    imported: false,
    nodeGroups: { onDemand: config.nodeGroups.onDemand.name, spot: config.nodeGroups.spot.name },
    ...(selfManagedSpot ? { selfManagedSpot } : {}),
    ...(kubernetesClients ? { kubernetesClients } : {}),
  };
}
