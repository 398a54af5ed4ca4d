/**
 * Typed fixtures for seeding: EKS-shaped nodes (labels, providerID, capacity), Deployments with
 * optional PodDisruptionBudgets, DaemonSets, bare pods and mirror pods.
 */
import type { KubeObject } from "./wire";

export type CapacityType = "SPOT" | "ON_DEMAND";

export interface NodeFixture {
  name: string;
  instanceId: string;
  zone: string;
  instanceType: string;
  capacityType: CapacityType;
  nodegroup: string;
  internalIp: string;
  labels?: Record<string, string>;
  taints?: { key: string; value?: string; effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute" }[];
  allocatable?: { cpu?: string; memory?: string; pods?: string };
  unschedulable?: boolean;
  ready?: boolean;
  kubeletVersion?: string;
}

export interface WorkloadFixture {
  namespace: string;
  name: string;
  replicas: number;
  image?: string;
  labels?: Record<string, string>;
  nodeSelector?: Record<string, string>;
  tolerations?: { key?: string; operator?: "Equal" | "Exists"; value?: string; effect?: string }[];
  requests?: { cpu?: string; memory?: string };
  /** Mounts an emptyDir volume, which `kubectl drain` only evicts with --delete-emptydir-data. */
  emptyDir?: boolean;
  terminationGracePeriodSeconds?: number;
  pdb?: { minAvailable: number | string } | { maxUnavailable: number | string };
}

export interface PodFixture {
  namespace: string;
  name: string;
  nodeName: string;
  image?: string;
  labels?: Record<string, string>;
  emptyDir?: boolean;
  terminationGracePeriodSeconds?: number;
}

/** Everything a seed creates, in creation order. */
export interface ClusterSeed {
  namespaces: string[];
  nodes: KubeObject[];
  pdbs: KubeObject[];
  deployments: KubeObject[];
  daemonSets: KubeObject[];
  pods: KubeObject[];
  /** Mirror pods name their node; its uid is filled in when seeding. */
  mirrorPods: KubeObject[];
}

export const SPOT_TAINT_KEY = "spot-manager/lifecycle";
export const LIFECYCLE_LABEL = "spot-manager/lifecycle";

const EKS_VERSION = "v1.32.3-eks-473151a";

export function nodeFixture(input: NodeFixture): KubeObject {
  const region = input.zone.replace(/[a-z]$/, "");
  const ready = input.ready ?? true;
  const allocatable = { cpu: "3920m", memory: "15244760Ki", pods: "58", "ephemeral-storage": "95551679124", ...input.allocatable };
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: input.name,
      labels: {
        "kubernetes.io/hostname": input.name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "node.kubernetes.io/instance-type": input.instanceType,
        "topology.kubernetes.io/region": region,
        "topology.kubernetes.io/zone": input.zone,
        "eks.amazonaws.com/nodegroup": input.nodegroup,
        "eks.amazonaws.com/capacityType": input.capacityType,
        [LIFECYCLE_LABEL]: input.capacityType === "SPOT" ? "spot" : "on-demand",
        ...input.labels,
      },
      annotations: { "alpha.kubernetes.io/provided-node-ip": input.internalIp, "node.alpha.kubernetes.io/ttl": "0" },
    },
    spec: {
      providerID: `aws:///${input.zone}/${input.instanceId}`,
      ...(input.taints?.length ? { taints: input.taints } : {}),
      ...(input.unschedulable ? { unschedulable: true } : {}),
    },
    status: {
      capacity: { cpu: "4", memory: "16093656Ki", pods: allocatable.pods, "ephemeral-storage": "104845292Ki" },
      allocatable,
      conditions: [
        ["MemoryPressure", "False", "KubeletHasSufficientMemory"],
        ["DiskPressure", "False", "KubeletHasNoDiskPressure"],
        ["PIDPressure", "False", "KubeletHasSufficientPID"],
        ["Ready", ready ? "True" : "False", ready ? "KubeletReady" : "KubeletNotReady"],
      ].map(([type, status, reason]) => ({ type, status, reason, message: "", lastHeartbeatTime: "2024-05-14T00:00:00Z", lastTransitionTime: "2024-05-14T00:00:00Z" })),
      addresses: [
        { type: "InternalIP", address: input.internalIp },
        { type: "InternalDNS", address: input.name },
        { type: "Hostname", address: input.name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: input.instanceId.replace(/^i-/, "ec2"),
        systemUUID: input.instanceId.replace(/^i-/, "ec2"),
        bootID: input.instanceId,
        kernelVersion: "6.1.134-152.225.amzn2023.x86_64",
        osImage: "Amazon Linux 2023.7.20250512",
        containerRuntimeVersion: "containerd://1.7.27",
        kubeletVersion: input.kubeletVersion ?? EKS_VERSION,
        kubeProxyVersion: input.kubeletVersion ?? EKS_VERSION,
        operatingSystem: "linux",
        architecture: "amd64",
      },
    },
  };
}

function podSpec(input: { image?: string; emptyDir?: boolean; terminationGracePeriodSeconds?: number; requests?: { cpu?: string; memory?: string } }, name: string) {
  return {
    containers: [
      {
        name,
        image: input.image ?? "public.ecr.aws/nginx/nginx:1.27",
        ...(input.requests ? { resources: { requests: input.requests } } : {}),
        ...(input.emptyDir ? { volumeMounts: [{ name: "scratch", mountPath: "/scratch" }] } : {}),
      },
    ],
    ...(input.emptyDir ? { volumes: [{ name: "scratch", emptyDir: {} }] } : {}),
    ...(input.terminationGracePeriodSeconds !== undefined ? { terminationGracePeriodSeconds: input.terminationGracePeriodSeconds } : {}),
  };
}

export function deploymentFixture(input: WorkloadFixture): { deployment: KubeObject; pdb?: KubeObject } {
  const labels = { app: input.name, ...input.labels };
  const deployment: KubeObject = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: input.name, namespace: input.namespace, labels },
    spec: {
      replicas: input.replicas,
      selector: { matchLabels: { app: input.name } },
      template: {
        metadata: { labels },
        spec: {
          ...podSpec(input, input.name),
          ...(input.nodeSelector ? { nodeSelector: input.nodeSelector } : {}),
          ...(input.tolerations ? { tolerations: input.tolerations } : {}),
        },
      },
    },
  };
  if (!input.pdb) return { deployment };
  const pdb: KubeObject = {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: { name: input.name, namespace: input.namespace },
    spec: { ...input.pdb, selector: { matchLabels: { app: input.name } } },
  };
  return { deployment, pdb };
}

export function daemonSetFixture(input: { namespace: string; name: string; image?: string; tolerations?: WorkloadFixture["tolerations"] }): KubeObject {
  const labels = { "k8s-app": input.name };
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: input.name, namespace: input.namespace, labels },
    spec: {
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { ...podSpec(input, input.name), ...(input.tolerations ? { tolerations: input.tolerations } : {}), priorityClassName: "system-node-critical" },
      },
    },
  };
}

/** A pod no controller owns: `kubectl drain` refuses it without --force. */
export function barePodFixture(input: PodFixture): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: input.name, namespace: input.namespace, labels: { run: input.name, ...input.labels } },
    spec: { ...podSpec(input, input.name), nodeName: input.nodeName },
  };
}

/** The API mirror of a kubelet static pod: owned by its Node, marked by the config.mirror annotation. */
export function mirrorPodFixture(input: PodFixture): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: `${input.name}-${input.nodeName}`,
      namespace: input.namespace,
      labels: { component: input.name, ...input.labels },
      annotations: {
        "kubernetes.io/config.mirror": "6f1c2c58e3d0a1b7b0d5f1f0c9a8e7d6",
        "kubernetes.io/config.source": "file",
        "kubernetes.io/config.hash": "6f1c2c58e3d0a1b7b0d5f1f0c9a8e7d6",
      },
      ownerReferences: [{ apiVersion: "v1", kind: "Node", name: input.nodeName, uid: "", controller: true }],
    },
    spec: { ...podSpec(input, input.name), nodeName: input.nodeName, priorityClassName: "system-node-critical" },
  };
}

export function emptySeed(): ClusterSeed {
  return { namespaces: [], nodes: [], pdbs: [], deployments: [], daemonSets: [], pods: [], mirrorPods: [] };
}

/** The spot instance of the EventBridge samples (../shared/fixtures/events), and its node. */
export const DEMO_INTERRUPTED_INSTANCE = "i-1234567890abcdef0";
export const DEMO_INTERRUPTED_NODE = "ip-10-0-1-21.us-west-2.compute.internal";

const spotTaint = { key: SPOT_TAINT_KEY, value: "spot", effect: "PreferNoSchedule" as const };

/**
 * The demo cluster: two on-demand nodes (the stable base) and three spot nodes (PreferNoSchedule
 * taint), one of them the interrupted instance of the event samples. On every spot node: two
 * storefront pods (PDB minAvailable 80%), one checkout pod (PDB maxUnavailable 1), one cart-cache
 * pod with an emptyDir; the aws-node DaemonSet everywhere; on the interrupted node also a bare
 * debug pod and a mirror pod. CoreDNS runs on the on-demand base.
 */
export function demoCluster(): ClusterSeed {
  const seed = emptySeed();
  seed.namespaces.push("default", "kube-system", "shop");
  const nodes: NodeFixture[] = [
    { name: "ip-10-0-1-11.us-west-2.compute.internal", instanceId: "i-0a1b2c3d4e5f60011", zone: "us-west-2a", instanceType: "m6i.xlarge", capacityType: "ON_DEMAND", nodegroup: "base-on-demand", internalIp: "10.0.1.11" },
    { name: "ip-10-0-2-12.us-west-2.compute.internal", instanceId: "i-0a1b2c3d4e5f60012", zone: "us-west-2b", instanceType: "m6i.xlarge", capacityType: "ON_DEMAND", nodegroup: "base-on-demand", internalIp: "10.0.2.12" },
    { name: DEMO_INTERRUPTED_NODE, instanceId: DEMO_INTERRUPTED_INSTANCE, zone: "us-west-2a", instanceType: "m5.xlarge", capacityType: "SPOT", nodegroup: "spot-general", internalIp: "10.0.1.21", taints: [spotTaint] },
    { name: "ip-10-0-2-22.us-west-2.compute.internal", instanceId: "i-0b2c3d4e5f6a70022", zone: "us-west-2b", instanceType: "m6a.xlarge", capacityType: "SPOT", nodegroup: "spot-general", internalIp: "10.0.2.22", taints: [spotTaint] },
    { name: "ip-10-0-3-23.us-west-2.compute.internal", instanceId: "i-0c3d4e5f6a7b80023", zone: "us-west-2c", instanceType: "m5a.xlarge", capacityType: "SPOT", nodegroup: "spot-general", internalIp: "10.0.3.23", taints: [spotTaint] },
  ];
  seed.nodes.push(...nodes.map(nodeFixture));
  const onSpot = { nodeSelector: { [LIFECYCLE_LABEL]: "spot" }, tolerations: [{ key: SPOT_TAINT_KEY, operator: "Exists" as const }] };
  const workloads: WorkloadFixture[] = [
    { namespace: "kube-system", name: "coredns", replicas: 2, nodeSelector: { [LIFECYCLE_LABEL]: "on-demand" }, requests: { cpu: "100m", memory: "70Mi" }, pdb: { maxUnavailable: 1 } },
    { namespace: "shop", name: "storefront", replicas: 6, ...onSpot, requests: { cpu: "250m", memory: "256Mi" }, pdb: { minAvailable: "80%" } },
    { namespace: "shop", name: "checkout", replicas: 3, ...onSpot, requests: { cpu: "250m", memory: "256Mi" }, pdb: { maxUnavailable: 1 } },
    { namespace: "shop", name: "cart-cache", replicas: 3, ...onSpot, requests: { cpu: "100m", memory: "128Mi" }, emptyDir: true },
  ];
  for (const w of workloads) {
    const { deployment, pdb } = deploymentFixture(w);
    seed.deployments.push(deployment);
    if (pdb) seed.pdbs.push(pdb);
  }
  seed.daemonSets.push(daemonSetFixture({ namespace: "kube-system", name: "aws-node", image: "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.19.2", tolerations: [{ operator: "Exists" }] }));
  seed.pods.push(barePodFixture({ namespace: "shop", name: "debug-shell", nodeName: DEMO_INTERRUPTED_NODE, image: "public.ecr.aws/docker/library/busybox:1.36" }));
  seed.mirrorPods.push(mirrorPodFixture({ namespace: "kube-system", name: "static-log-agent", nodeName: DEMO_INTERRUPTED_NODE, image: "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.5" }));
  return seed;
}
