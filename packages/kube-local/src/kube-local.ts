/** kube-local: an embedded Kubernetes API server on 127.0.0.1 for tests, simulations and benchmarks. */
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import { Authenticator, type Identity, type TokenReviewer } from "./auth";
import { ControllerManager, type ControllerManagerOptions } from "./control/controller-manager";
import { FaultInjector } from "./faults";
import { FlowControl, type FlowControlOptions } from "./flow-control";
import type { ClusterSeed } from "./fixtures";
import { demoCluster } from "./fixtures";
import { Registry } from "./registry";
import { fieldValue, findResource, RESOURCES, type ResourceType } from "./resources";
import { createApiServer, listeningUrl, RequestStats } from "./server";
import { NAMESPACES, NODES, PODS } from "./sim/controllers";
import { Simulation, type SimulationOptions } from "./sim/simulation";
import { ObjectStore } from "./store";
import { createServingCertificates, type ServingCertificates } from "./tls";
import { clone, type KubeObject } from "./wire";

const SYSTEM_NAMESPACES = ["default", "kube-node-lease", "kube-public", "kube-system"];

export interface KubeLocalOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** The admin token; random when absent. */
  token?: string;
  /** Further tokens, each with its identity and optional RBAC rules. */
  identities?: Record<string, Identity>;
  /** Reviews tokens that are not listed (EKS IAM tokens, for instance). */
  tokenReviewer?: TokenReviewer;
  /** Added to every request before it is handled. */
  latencyMs?: number;
  /** Simulated kubelet, scheduler and workload controllers; `false` turns them all off. */
  simulation?: SimulationOptions | false;
  /**
   * The control-plane controllers a drain depends on (the disruption controller that writes
   * PodDisruptionBudget status, the node lifecycle controller's taints). They run whether or not
   * the simulation does; turn each off with `false`.
   */
  controllers?: ControllerManagerOptions;
  /** An API Priority and Fairness-style limit on requests in flight; off unless given. */
  flowControl?: FlowControlOptions;
  seed?: ClusterSeed | "demo";
  /** How many changes watches can resume from. */
  historyLimit?: number;
  /** Serve HTTPS with a fresh CA, as every real cluster does (default); false serves plain HTTP. */
  tls?: boolean;
}

export interface Kubeconfig {
  apiVersion: "v1";
  kind: "Config";
  clusters: { name: string; cluster: { server: string; "certificate-authority-data"?: string } }[];
  users: { name: string; user: { token: string } }[];
  contexts: { name: string; context: { cluster: string; user: string; namespace?: string } }[];
  "current-context": string;
  preferences: Record<string, never>;
}

export class KubeLocal {
  readonly store: ObjectStore;
  readonly registry: Registry;
  readonly faults = new FaultInjector();
  readonly stats = new RequestStats();
  readonly auth: Authenticator;
  readonly controllers: ControllerManager;
  latencyMs: number;
  /** The in-flight limit now in force (undefined: none); replace it with `limitRequests`. */
  flowControl: FlowControl | undefined;
  url = "";
  private readonly server: Server;
  private readonly simulation: Simulation | undefined;

  constructor(
    private readonly options: KubeLocalOptions,
    readonly token: string,
    /** The CA that signed the serving certificate (PEM); undefined when serving plain HTTP. */
    readonly caPem: string | undefined,
    tls?: ServingCertificates,
  ) {
    this.store = new ObjectStore(options.historyLimit, [{ storage: PODS.storage, field: "spec.nodeName", valueOf: (pod) => fieldValue(pod, "spec.nodeName") }]);
    this.auth = new Authenticator(options.tokenReviewer);
    this.registry = new Registry(this.store);
    this.latencyMs = options.latencyMs ?? 0;
    // the namespaces kube-apiserver's system namespaces controller keeps
    for (const name of SYSTEM_NAMESPACES) this.registry.create(NAMESPACES, undefined, { metadata: { name } });
    this.auth.add(token, { user: "kube-local-admin", groups: ["system:masters"] });
    for (const [t, identity] of Object.entries(options.identities ?? {})) this.auth.add(t, identity);
    this.simulation = options.simulation === false ? undefined : new Simulation(this.registry, options.simulation);
    this.controllers = new ControllerManager(this.registry, options.controllers);
    this.flowControl = options.flowControl ? new FlowControl(options.flowControl) : undefined;
    this.server = createApiServer(
      { registry: this.registry, auth: this.auth, faults: this.faults, stats: this.stats, latencyMs: () => this.latencyMs, flowControl: () => this.flowControl },
      tls,
    );
  }

  /** The time factor of the simulated kubelet (1 when the simulation is off). */
  get timeScale(): number {
    return this.simulation?.timeScale ?? 1;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.options.port ?? 0, this.options.host ?? "127.0.0.1", () => resolve());
    });
    this.url = listeningUrl(this.server, this.caPem !== undefined);
    this.controllers.start();
    this.simulation?.start();
  }

  /** Puts an in-flight limit in force (or lifts it with undefined), as a control plane under load would. */
  limitRequests(options: FlowControlOptions | undefined): FlowControl | undefined {
    this.flowControl = options ? new FlowControl(options) : undefined;
    return this.flowControl;
  }

  async stop(): Promise<void> {
    this.controllers.stop();
    this.simulation?.stop();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Resolves when the simulated controllers are quiet, no pod is still starting and every queued controller sync has run. */
  async idle(): Promise<void> {
    await this.simulation?.idle();
    await this.controllers.idle();
  }

  /**
   * Creates a seed's objects and lets controllers materialize them (ReplicaSets, pods, placement),
   * with pods started at once, so the cluster is settled when this resolves — also when the
   * simulation is off for the rest of the run.
   */
  async seed(seed: ClusterSeed): Promise<void> {
    const create = (plural: string, group: string, obj: KubeObject) => {
      const resource = findResource(group, "v1", plural) as ResourceType;
      return this.registry.create(resource, obj.metadata.namespace, clone(obj));
    };
    // controllers run until quiet after each step, starting pods at once: the settled state a seed promises
    const settle = new Simulation(this.registry, { podStartupSeconds: 0 });
    settle.start();
    try {
      for (const ns of seed.namespaces) {
        if (!this.store.peek(NAMESPACES.storage, undefined, ns)) this.registry.create(NAMESPACES, undefined, { metadata: { name: ns } });
      }
      for (const node of seed.nodes) create("nodes", "", node);
      for (const pdb of seed.pdbs) create("poddisruptionbudgets", "policy", pdb);
      // one workload at a time, so each spreads over the nodes the way the seed lists them
      for (const deployment of seed.deployments) {
        create("deployments", "apps", deployment);
        await settle.idle();
      }
      for (const ds of seed.daemonSets) create("daemonsets", "apps", ds);
      for (const pod of seed.pods) create("pods", "", pod);
      for (const mirror of seed.mirrorPods) {
        const owned = clone(mirror);
        for (const ref of owned.metadata.ownerReferences ?? []) {
          if (ref.kind === "Node") ref.uid = this.store.peek(NODES.storage, undefined, ref.name)?.metadata.uid ?? "";
        }
        this.registry.create(PODS, owned.metadata.namespace, owned);
      }
      await settle.idle();
    } finally {
      settle.stop();
    }
    await this.idle();
  }

  kubeconfig(options: { token?: string; namespace?: string } = {}): Kubeconfig {
    return {
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        {
          name: "kube-local",
          cluster: { server: this.url, ...(this.caPem ? { "certificate-authority-data": Buffer.from(this.caPem).toString("base64") } : {}) },
        },
      ],
      users: [{ name: "kube-local", user: { token: options.token ?? this.token } }],
      contexts: [{ name: "kube-local", context: { cluster: "kube-local", user: "kube-local", ...(options.namespace ? { namespace: options.namespace } : {}) } }],
      "current-context": "kube-local",
      preferences: {},
    };
  }

  /** Writes the kubeconfig (JSON, which kubectl reads as YAML) for kubectl and other clients. */
  async writeKubeconfig(path: string, options: { token?: string; namespace?: string } = {}): Promise<void> {
    await writeFile(path, `${JSON.stringify(this.kubeconfig(options), null, 2)}\n`, { mode: 0o600 });
  }

  /** Reads an object in its external shape, straight from the store (no HTTP, not counted). */
  get(plural: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const resource = RESOURCES.find((r) => r.plural === plural)!;
    const stored = this.store.get(resource.storage, resource.namespaced ? namespace : undefined, name);
    return stored ? this.registry.toExternal(resource, stored) : undefined;
  }

  list(plural: string, namespace?: string): KubeObject[] {
    const resource = RESOURCES.find((r) => r.plural === plural)!;
    return this.store.list(resource.storage, { namespace: resource.namespaced ? namespace : undefined }).map((o) => this.registry.toExternal(resource, o));
  }
}

export async function startKubeLocal(options: KubeLocalOptions = {}): Promise<KubeLocal> {
  const tls = options.tls === false ? undefined : await createServingCertificates({ ips: ["127.0.0.1"], dnsNames: ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"] });
  const kube = new KubeLocal(options, options.token ?? randomBytes(24).toString("base64url"), tls?.caPem, tls);
  await kube.listen();
  if (options.seed) await kube.seed(options.seed === "demo" ? demoCluster() : options.seed);
  return kube;
}
