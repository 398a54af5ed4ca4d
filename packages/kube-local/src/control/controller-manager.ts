/**
 * The kube-controller-manager controllers a drain depends on, running beside the API server
 * whether or not the kubelet and workload simulation runs: the disruption controller (PDB status)
 * and the node lifecycle controller (condition and cordon taints).
 */
import type { Registry } from "../registry";
import { DisruptionController, type DisruptionControllerOptions } from "./disruption-controller";
import { EventRecorder } from "./event-recorder";
import { NodeLifecycleController, type NodeLifecycleOptions } from "./node-lifecycle-controller";

export interface ControllerManagerOptions {
  /** PodDisruptionBudget status; `false` leaves status to whoever writes /status. */
  disruption?: DisruptionControllerOptions | false;
  /** Taints from node conditions and spec.unschedulable; `false` turns them off. */
  nodeLifecycle?: NodeLifecycleOptions | false;
}

export class ControllerManager {
  readonly disruption: DisruptionController | undefined;
  readonly nodeLifecycle: NodeLifecycleController | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly registry: Registry,
    options: ControllerManagerOptions = {},
  ) {
    const recorder = new EventRecorder(registry, "controllermanager");
    this.disruption = options.disruption === false ? undefined : new DisruptionController(registry, recorder, options.disruption);
    this.nodeLifecycle = options.nodeLifecycle === false ? undefined : new NodeLifecycleController(registry, options.nodeLifecycle);
  }

  start(): void {
    this.unsubscribe = this.registry.store.subscribe((change) => {
      this.disruption?.onChange(change);
      this.nodeLifecycle?.onChange(change);
    });
    this.disruption?.start();
    this.nodeLifecycle?.start();
  }

  stop(): void {
    this.unsubscribe?.();
    this.disruption?.stop();
    this.nodeLifecycle?.stop();
  }

  /** Resolves once every queued sync has run (rechecks far in the future aside). */
  async idle(): Promise<void> {
    // a sync may queue another (a status write queues its budget again): wait until nothing is left
    for (let round = 0; round < 100; round += 1) {
      await Promise.all([this.disruption?.idle(), this.nodeLifecycle?.idle()]);
      await new Promise((resolve) => setImmediate(resolve));
      if (!(this.disruption?.busy() ?? false) && !(this.nodeLifecycle?.busy() ?? false)) return;
    }
  }
}
