/**
 * The EKS cluster: VPC, the cluster with authentication mode API, an on-demand managed node group
 * as the stable base, a diversified spot managed node group (taint PreferNoSchedule), optionally a
 * self-managed spot Auto Scaling group with price-capacity-optimized allocation, capacity rebalance
 * and a terminate lifecycle hook; metrics-server and cluster-autoscaler; Argo CD and Argo Rollouts
 * when asked. Or an existing cluster, imported.
 */
import { KubectlV33Layer } from "@aws-cdk/lambda-layer-kubectl-v33";
import { Duration, Fn, Tags } from "aws-cdk-lib";
import * as autoscaling from "aws-cdk-lib/aws-autoscaling";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as eks from "aws-cdk-lib/aws-eks";
import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import type { StackContext } from "sst/constructs";
import { SPOT_NODE_TAINT } from "@spot-manager/core";
import type { StageConfig } from "./config";
import { useStageConfig } from "./stage";

const KUBERNETES_VERSIONS: Record<StageConfig["cluster"]["version"], eks.KubernetesVersion> = {
  "1.32": eks.KubernetesVersion.V1_32,
  "1.33": eks.KubernetesVersion.V1_33,
  "1.34": eks.KubernetesVersion.V1_34,
};

const ENDPOINT_ACCESS: Record<StageConfig["cluster"]["endpointAccess"], eks.EndpointAccess> = {
  public: eks.EndpointAccess.PUBLIC,
  private: eks.EndpointAccess.PRIVATE,
  "public-and-private": eks.EndpointAccess.PUBLIC_AND_PRIVATE,
};

/** The cluster's service range, set explicitly so self-managed nodes get the same cluster DNS address. */
const SERVICE_CIDR = "172.20.0.0/16";

const TAINT_EFFECTS = {
  NoSchedule: eks.TaintEffect.NO_SCHEDULE,
  PreferNoSchedule: eks.TaintEffect.PREFER_NO_SCHEDULE,
  NoExecute: eks.TaintEffect.NO_EXECUTE,
} as const;

export interface ClusterOutputs {
  cluster: eks.ICluster;
  clusterName: string;
  config: StageConfig;
  imported: boolean;
  /** Managed node groups this stage created, by role. */
  nodeGroups: { onDemand?: string; spot?: string };
  selfManagedSpot?: { autoScalingGroupName: string; lifecycleHookName: string };
}

/** An EKS managed node group (AL2023) labelled with its capacity group, so workloads and reports can tell groups apart. */
function managedNodeGroup(cluster: eks.Cluster, id: string, spec: StageConfig["nodeGroups"]["onDemand"], capacityType: eks.CapacityType): eks.Nodegroup {
  return cluster.addNodegroupCapacity(id, {
    nodegroupName: spec.name,
    capacityType,
    amiType: eks.NodegroupAmiType.AL2023_X86_64_STANDARD,
    instanceTypes: spec.instanceTypes.map((t) => new ec2.InstanceType(t)),
    minSize: spec.scaling.min,
    maxSize: spec.scaling.max,
    desiredSize: spec.scaling.desired,
    diskSize: spec.diskSizeGiB,
    labels: { ...spec.labels, "spot-manager/capacity-group": spec.name },
    taints: spec.taints.map((t) => ({ key: t.key, value: t.value, effect: TAINT_EFFECTS[t.effect] })),
  });
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
  const serviceAccount = cluster.addServiceAccount("ClusterAutoscalerServiceAccount", { name: "cluster-autoscaler", namespace: "kube-system" });
  // Describe actions have no resource-level permissions; the two that change capacity are held to
  // this cluster's Auto Scaling groups by their auto-discovery tag
  serviceAccount.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: [
        "autoscaling:DescribeAutoScalingGroups",
        "autoscaling:DescribeAutoScalingInstances",
        "autoscaling:DescribeLaunchConfigurations",
        "autoscaling:DescribeScalingActivities",
        "autoscaling:DescribeTags",
        "ec2:DescribeImages",
        "ec2:DescribeInstanceTypes",
        "ec2:DescribeLaunchTemplateVersions",
        "ec2:GetInstanceTypesFromInstanceRequirements",
        "eks:DescribeNodegroup",
      ],
      resources: ["*"],
    }),
  );
  serviceAccount.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
      resources: [`arn:${stack.partition}:autoscaling:${stack.region}:${stack.account}:autoScalingGroup:*:autoScalingGroupName/*`],
      conditions: { StringEquals: { [`aws:ResourceTag/k8s.io/cluster-autoscaler/${clusterName}`]: "owned" } },
    }),
  );
  const chart = cluster.addHelmChart("ClusterAutoscaler", {
    chart: "cluster-autoscaler",
    repository: "https://kubernetes.github.io/autoscaler",
    version: config.addons.clusterAutoscaler.chartVersion,
    namespace: "kube-system",
    values: {
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
  const kubectlLayer = new KubectlV33Layer(stack, "KubectlLayer");

  if (config.cluster.mode === "import") {
    const imported = config.cluster.import!;
    const cluster = eks.Cluster.fromClusterAttributes(stack, "Eks", {
      clusterName,
      kubectlRoleArn: imported.kubectlRoleArn,
      kubectlLayer,
      vpc: ec2.Vpc.fromVpcAttributes(stack, "Vpc", { vpcId: imported.vpcId, availabilityZones: Fn.getAzs() }),
      ...(imported.openIdConnectProviderArn ? { openIdConnectProvider: eks.OpenIdConnectProvider.fromOpenIdConnectProviderArn(stack, "Oidc", imported.openIdConnectProviderArn) } : {}),
    });
    return { cluster, clusterName, config, imported: true, nodeGroups: {} };
  }

  const vpc = new ec2.Vpc(stack, "Vpc", {
    ipAddresses: ec2.IpAddresses.cidr(config.vpc.cidr),
    maxAzs: config.vpc.maxAzs,
    natGateways: config.vpc.natGateways,
    subnetConfiguration: [
      { name: "public", subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
      { name: "private", subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 19 },
    ],
  });
  vpc.addFlowLog("FlowLogs", {
    destination: ec2.FlowLogDestination.toCloudWatchLogs(new logs.LogGroup(stack, "FlowLogGroup", { retention: config.observability.logRetentionDays })),
    trafficType: ec2.FlowLogTrafficType.REJECT,
  });

  const cluster = new eks.Cluster(stack, "Eks", {
    clusterName,
    version: KUBERNETES_VERSIONS[config.cluster.version],
    kubectlLayer,
    vpc,
    vpcSubnets: [{ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }],
    defaultCapacity: 0,
    serviceIpv4Cidr: SERVICE_CIDR,
    authenticationMode: eks.AuthenticationMode.API,
    endpointAccess: ENDPOINT_ACCESS[config.cluster.endpointAccess],
    clusterLogging: [
      eks.ClusterLoggingTypes.API,
      eks.ClusterLoggingTypes.AUDIT,
      eks.ClusterLoggingTypes.AUTHENTICATOR,
      eks.ClusterLoggingTypes.CONTROLLER_MANAGER,
      eks.ClusterLoggingTypes.SCHEDULER,
    ],
  });

  const onDemand = managedNodeGroup(cluster, "OnDemand", config.nodeGroups.onDemand, eks.CapacityType.ON_DEMAND);
  managedNodeGroup(cluster, "Spot", config.nodeGroups.spot, eks.CapacityType.SPOT);

  if (config.addons.metricsServer) {
    const addon = new eks.Addon(stack, "MetricsServer", { cluster, addonName: "metrics-server", preserveOnDelete: false });
    addon.node.addDependency(onDemand);
  }
  if (config.addons.clusterAutoscaler.enabled) clusterAutoscaler(stack, cluster, config);
  argo(cluster, config);
  const selfManagedSpot = config.nodeGroups.selfManagedSpot.enabled ? selfManagedSpotGroup(stack, cluster, vpc, config) : undefined;

  stack.addOutputs({ ClusterName: clusterName, ClusterEndpoint: cluster.clusterEndpoint });
  return {
    cluster,
    clusterName,
    config,
    imported: false,
    nodeGroups: { onDemand: config.nodeGroups.onDemand.name, spot: config.nodeGroups.spot.name },
    ...(selfManagedSpot ? { selfManagedSpot } : {}),
  };
}
