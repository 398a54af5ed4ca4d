export { startKubeLocal, KubeLocal, type KubeLocalOptions, type Kubeconfig } from "./kube-local";
export type { Identity, AccessRule, TokenReviewer } from "./auth";
export type { FaultRule, FaultEffect, FaultMatch } from "./faults";
export type { SimulationOptions } from "./sim/simulation";
export type { ControllerManagerOptions } from "./control/controller-manager";
export type { DisruptionControllerOptions } from "./control/disruption-controller";
export type { NodeLifecycleOptions } from "./control/node-lifecycle-controller";
export { FlowControl, FLOW_CONTROL_REJECTION, type FlowControlOptions } from "./flow-control";
export type { RequestRecord, RequestStats } from "./server";
export type { KubeObject, Wire } from "./wire";
export { findResource, type ResourceType } from "./resources";
export {
  demoCluster,
  emptySeed,
  nodeFixture,
  deploymentFixture,
  daemonSetFixture,
  barePodFixture,
  mirrorPodFixture,
  DEMO_INTERRUPTED_INSTANCE,
  DEMO_INTERRUPTED_NODE,
  LIFECYCLE_LABEL,
  SPOT_TAINT_KEY,
  type ClusterSeed,
  type NodeFixture,
  type WorkloadFixture,
  type PodFixture,
  type CapacityType,
} from "./fixtures";
