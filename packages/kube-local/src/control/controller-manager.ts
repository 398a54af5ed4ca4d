/**
 * The kube-controller-manager controllers a drain depends on, running beside the API server
 * whether or not the kubelet and workload simulation runs: the disruption controller (PDB status)
 * and the node lifecycle controller (condition and cordon taints).
 */
import type { Registry } from "../registry";
import { DisruptionController, type DisruptionControllerOptions } from "./disruption-controller";
import { EventRecorder } from "./event-recorder";
import { NamespaceController, type NamespaceControllerOptions } from "./namespace-controller";
import { NodeIpamController, type NodeIpamOptions } from "./node-ipam-controller";
import { NodeLifecycleController, type NodeLifecycleOptions } from "./node-lifecycle-controller";
import type { QueuedController } from "./work-queue";

export interface ControllerManagerOptions {
  /** PodDisruptionBudget status; `false` leaves status to whoever writes /status. */
  disruption?: DisruptionControllerOptions | false;
  /** Taints from node conditions and spec.unschedulable; `false` turns them off. */
  nodeLifecycle?: NodeLifecycleOptions | false;
  /** Pod CIDRs for nodes that have none; `false` leaves spec.podCIDR to whoever creates the node. */
  nodeIpam?: NodeIpamOptions | false;
  /** Deletes the content of deleted namespaces, then the namespace; `false` leaves them Terminating. */
  namespace?: NamespaceControllerOptions | false;
}

export class ControllerManager {
  readonly disruption: DisruptionController | undefined;
  readonly nodeLifecycle: NodeLifecycleController | undefined;
  readonly nodeIpam: NodeIpamController | undefined;
  readonly namespace: NamespaceController | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly registry: Registry,
    options: ControllerManagerOptions = {},
  ) {
    const recorder = new EventRecorder(registry, "controllermanager");
    this.disruption = options.disruption === false ? undefined : new DisruptionController(registry, recorder, options.disruption);
    this.nodeLifecycle = options.nodeLifecycle === false ? undefined : new NodeLifecycleController(registry, options.nodeLifecycle);
    this.nodeIpam = options.nodeIpam === false ? undefined : new NodeIpamController(registry, options.nodeIpam);
    this.namespace = options.namespace === false ? undefined : new NamespaceController(registry, options.namespace);
  }

  private get all(): QueuedController[] {
    return [this.disruption, this.nodeLifecycle, this.nodeIpam, this.namespace].filter((c) => c !== undefined);
  }

  start(): void {
    this.unsubscribe = this.registry.store.subscribe((change) => {
      for (const controller of this.all) controller.onChange(change);
    });
    for (const controller of this.all) controller.start();
  }

  stop(): void {
    this.unsubscribe?.();
    for (const controller of this.all) controller.stop();
  }

  /** Resolves once every queued sync has run (rechecks far in the future aside). */
  async idle(): Promise<void> {
    // a sync may queue another (a status write queues its budget again): wait until nothing is left
    for (let round = 0; round < 100; round += 1) {
      await Promise.all(this.all.map((c) => c.idle()));
      await new Promise((resolve) => setImmediate(resolve));
      if (!this.all.some((c) => c.busy())) return;
    }
  }
}
