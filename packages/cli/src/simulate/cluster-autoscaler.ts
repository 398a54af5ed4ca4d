/**
 * cluster-autoscaler, reduced to what decides how long pods wait: every `scanIntervalSeconds` it
 *
 * - counts upcoming nodes (a group's desired above its registered nodes) and places pending,
 *   unschedulable pods on them first, as CA's own simulation does;
 * - raises desired (SetDesiredCapacity, through the faked Auto Scaling API) of the first group in
 *   priority order whose node template fits what is left, by as many nodes as first-fit packing needs;
 * - gives up on nodes that did not register within `maxNodeProvisionSeconds` (lowers desired
 *   back and backs the group off), so the next group in priority order gets its turn;
 * - removes a node that has been unneeded (low utilization, its pods fit elsewhere) for
 *   `scaleDownUnneededSeconds`, not sooner than `scaleDownDelayAfterAddSeconds` after a scale-up
 *   (TerminateInstanceInAutoScalingGroup, decrementing desired).
 *
 * Nodes outside every group it manages (a detached instance's node, say) are left alone, as CA does.
 */
import { TerminateInstanceInAutoScalingGroupCommand, SetDesiredCapacityCommand } from "@aws-sdk/client-auto-scaling";
import { admits, podRequests, parseQuantity, type Node, type Pod } from "@spot-manager/core";
import { findResource, nodeFixture, type KubeLocal, type ResourceType } from "@spot-manager/kube-local";
import type { AwsWorld } from "./aws-world";
import type { FakeFleet, FleetGroup } from "./fleet";
import type { SimScheduler } from "./scheduler";

export interface AutoscalerOptions {
  /** Auto Scaling groups it manages, in its priority expander's order. */
  groups: string[];
  scanIntervalSeconds?: number;
  /** When the first scan runs (CA's loop has its own phase relative to any event). */
  firstScanAfterSeconds?: number;
  scaleDownUnneededSeconds?: number;
  scaleDownDelayAfterAddSeconds?: number;
  scaleDownUtilizationThreshold?: number;
  maxNodeProvisionSeconds?: number;
  backoffSeconds?: number;
}

export interface AutoscalerEvent {
  at: number;
  what: "scale-up" | "scale-down" | "gave-up";
  group: string;
  detail: string;
}

interface Room {
  cpu: number;
  memory: number;
  pods: number;
}

const isDaemonOrMirror = (pod: Pod) =>
  pod.metadata?.ownerReferences?.some((o) => o.controller && o.kind === "DaemonSet") === true || pod.metadata?.annotations?.["kubernetes.io/config.mirror"] !== undefined;
const finished = (pod: Pod) => pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
const unschedulable = (pod: Pod) =>
  !pod.spec?.nodeName && !pod.metadata?.deletionTimestamp && (pod.status?.conditions ?? []).some((c) => c.type === "PodScheduled" && c.status === "False" && c.reason === "Unschedulable");
const fits = (room: Room, need: Room) => room.cpu + 1e-9 >= need.cpu && room.memory >= need.memory && room.pods >= need.pods;
const take = (room: Room, need: Room): Room => ({ cpu: room.cpu - need.cpu, memory: room.memory - need.memory, pods: room.pods - need.pods });

function allocatable(node: Node): Room {
  const a = node.status?.allocatable ?? {};
  return { cpu: parseQuantity(a["cpu"]), memory: parseQuantity(a["memory"]), pods: parseQuantity(a["pods"] ?? "110") };
}

export class ClusterAutoscaler {
  readonly history: AutoscalerEvent[] = [];
  /** Scans completed so far. */
  scans = 0;
  private readonly unneededSince = new Map<string, number>();
  private readonly scaledUpAt = new Map<string, number>();
  private readonly backedOffUntil = new Map<string, number>();
  private lastScaleUp = Number.NEGATIVE_INFINITY;
  private readonly pods: ResourceType;
  private stopLoop: (() => void) | undefined;
  private scanning = false;
  private readonly o: Required<AutoscalerOptions>;

  constructor(
    private readonly aws: AwsWorld,
    private readonly kube: KubeLocal,
    private readonly fleet: FakeFleet,
    private readonly scheduler: SimScheduler,
    options: AutoscalerOptions,
  ) {
    this.pods = findResource("", "v1", "pods") as ResourceType;
    this.o = {
      scanIntervalSeconds: 10,
      firstScanAfterSeconds: options.scanIntervalSeconds ?? 10,
      scaleDownUnneededSeconds: 600,
      scaleDownDelayAfterAddSeconds: 600,
      scaleDownUtilizationThreshold: 0.5,
      maxNodeProvisionSeconds: 900,
      backoffSeconds: 300,
      ...options,
    };
  }

  start(): void {
    this.stopLoop = this.scheduler.every(this.o.scanIntervalSeconds * 1000, () => void this.scan(), this.o.firstScanAfterSeconds * 1000);
  }

  stop(): void {
    this.stopLoop?.();
  }

  get scanIntervalMs(): number {
    return this.o.scanIntervalSeconds * 1000;
  }

  /** When the next scale-down falls due, if one is pending (for jumping over quiet time). */
  nextScaleDown(): number | undefined {
    if (this.unneededSince.size === 0) return undefined;
    const earliest = Math.min(...this.unneededSince.values()) + this.o.scaleDownUnneededSeconds * 1000;
    return Math.max(earliest, this.lastScaleUp + this.o.scaleDownDelayAfterAddSeconds * 1000);
  }

  /** When a scale-up is given up on, if one is pending. */
  nextGiveUp(): number | undefined {
    const due = [...this.scaledUpAt.values()].map((at) => at + this.o.maxNodeProvisionSeconds * 1000);
    return due.length ? Math.min(...due) : undefined;
  }

  private groupTemplate(group: FleetGroup): Node {
    const t = group.spec.template;
    return nodeFixture({
      name: `template-${group.spec.name}`,
      instanceId: "i-00000000000000000",
      zone: t.zones[0] ?? "us-west-2a",
      instanceType: t.instanceType,
      capacityType: t.capacityType,
      nodegroup: group.spec.nodegroup ?? group.spec.name,
      internalIp: "10.0.0.1",
      ...(t.labels ? { labels: t.labels } : {}),
      ...(t.taints ? { taints: t.taints } : {}),
      ...(t.allocatable ? { allocatable: t.allocatable } : {}),
    }) as unknown as Node;
  }

  private async scan(): Promise<void> {
    if (this.scanning) return;
    this.scanning = true;
    try {
      const now = this.scheduler.now();
      const nodes = this.kube.list("nodes") as unknown as Node[];
      const pods = this.kube.list("pods") as unknown as Pod[];
      const managed = this.o.groups.map((name) => this.fleet.groups.get(name)).filter((g): g is FleetGroup => g !== undefined);
      const registered = new Map<string, number>(managed.map((g) => [g.spec.name, 0]));
      for (const node of nodes) {
        const group = this.fleet.groupOfNode(node.metadata?.name ?? "");
        if (group && registered.has(group.spec.name)) registered.set(group.spec.name, (registered.get(group.spec.name) ?? 0) + 1);
      }
      await this.giveUp(managed, registered, now);
      const scaledUp = await this.scaleUp(managed, registered, nodes, pods, now);
      if (!scaledUp) await this.scaleDown(managed, nodes, pods, now);
    } finally {
      this.scanning = false;
      this.scans += 1;
    }
  }

  /** Free room on each Ready node, after what is bound there. */
  private freeRoom(nodes: Node[], pods: Pod[]): Map<string, { node: Node; room: Room }> {
    const free = new Map<string, { node: Node; room: Room }>();
    for (const node of nodes) free.set(node.metadata?.name ?? "", { node, room: allocatable(node) });
    for (const pod of pods) {
      const entry = free.get(pod.spec?.nodeName ?? "");
      if (entry && !finished(pod)) entry.room = take(entry.room, podRequests(pod));
    }
    return free;
  }

  private async giveUp(groups: FleetGroup[], registered: Map<string, number>, now: number): Promise<void> {
    for (const group of groups) {
      const at = this.scaledUpAt.get(group.spec.name);
      if (at === undefined) continue;
      const have = registered.get(group.spec.name) ?? 0;
      if (have >= group.desired) {
        this.scaledUpAt.delete(group.spec.name);
        continue;
      }
      if (now - at < this.o.maxNodeProvisionSeconds * 1000) continue;
      const to = Math.max(group.min, have);
      this.scaledUpAt.delete(group.spec.name);
      this.backedOffUntil.set(group.spec.name, now + this.o.backoffSeconds * 1000);
      this.history.push({ at: now, what: "gave-up", group: group.spec.name, detail: `nodes did not register within ${this.o.maxNodeProvisionSeconds} s: desired ${group.desired} -> ${to}, backed off` });
      await this.aws.clients.autoscaling.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: group.spec.name, DesiredCapacity: to, HonorCooldown: false }));
    }
  }

  private async scaleUp(groups: FleetGroup[], registered: Map<string, number>, nodes: Node[], pods: Pod[], now: number): Promise<boolean> {
    let waiting = pods.filter(unschedulable).sort((a, b) => podRequests(b).cpu - podRequests(a).cpu);
    if (waiting.length === 0) return false;
    // room that opened on existing nodes since the scheduler looked
    const free = this.freeRoom(
      nodes.filter((n) => !n.spec?.unschedulable),
      pods,
    );
    waiting = waiting.filter((pod) => {
      const need = podRequests(pod);
      const home = [...free.values()].find((f) => admits(f.node, pod) && fits(f.room, need));
      if (home) home.room = take(home.room, need);
      return !home;
    });
    // upcoming nodes take what fits them first
    for (const group of groups) {
      const template = this.groupTemplate(group);
      const upcoming = Math.max(0, group.desired - (registered.get(group.spec.name) ?? 0));
      const rooms = Array.from({ length: upcoming }, () => allocatable(template));
      waiting = waiting.filter((pod) => {
        if (!admits(template, pod)) return true;
        const need = podRequests(pod);
        const index = rooms.findIndex((r) => fits(r, need));
        if (index < 0) return true;
        rooms[index] = take(rooms[index] as Room, need);
        return false;
      });
    }
    if (waiting.length === 0) return false;
    for (const group of groups) {
      if ((this.backedOffUntil.get(group.spec.name) ?? 0) > now || group.desired >= group.max) continue;
      const template = this.groupTemplate(group);
      const rooms: Room[] = [];
      for (const pod of waiting.filter((p) => admits(template, p))) {
        const need = podRequests(pod);
        if (!fits(allocatable(template), need)) continue;
        const index = rooms.findIndex((r) => fits(r, need));
        if (index >= 0) rooms[index] = take(rooms[index] as Room, need);
        else rooms.push(take(allocatable(template), need));
      }
      const add = Math.min(rooms.length, group.max - group.desired);
      if (add === 0) continue;
      const to = group.desired + add;
      this.history.push({ at: now, what: "scale-up", group: group.spec.name, detail: `${waiting.length} unschedulable pods: desired ${group.desired} -> ${to}` });
      this.scaledUpAt.set(group.spec.name, now);
      this.lastScaleUp = now;
      await this.aws.clients.autoscaling.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: group.spec.name, DesiredCapacity: to, HonorCooldown: false }));
      return true;
    }
    return false;
  }

  private async scaleDown(groups: FleetGroup[], nodes: Node[], pods: Pod[], now: number): Promise<void> {
    const names = new Set(groups.map((g) => g.spec.name));
    const ready = nodes.filter((n) => !n.spec?.unschedulable && (n.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True"));
    const seen = new Set<string>();
    for (const node of ready) {
      const name = node.metadata?.name ?? "";
      const group = this.fleet.groupOfNode(name);
      if (!group || !names.has(group.spec.name)) continue;
      const movable = pods.filter((p) => p.spec?.nodeName === name && !finished(p) && !isDaemonOrMirror(p) && !p.metadata?.deletionTimestamp);
      const capacity = allocatable(node);
      const used = movable.reduce((sum, p) => ({ cpu: sum.cpu + podRequests(p).cpu, memory: sum.memory + podRequests(p).memory }), { cpu: 0, memory: 0 });
      const utilization = Math.max(capacity.cpu ? used.cpu / capacity.cpu : 0, capacity.memory ? used.memory / capacity.memory : 0);
      const others = this.freeRoom(
        ready.filter((n) => n.metadata?.name !== name),
        pods,
      );
      const movesAway = movable.every((pod) => {
        const need = podRequests(pod);
        const home = [...others.values()].find((f) => admits(f.node, pod) && fits(f.room, need));
        if (home) home.room = take(home.room, need);
        return home !== undefined;
      });
      if (utilization >= this.o.scaleDownUtilizationThreshold || !movesAway || group.desired <= group.min) continue;
      seen.add(name);
      if (!this.unneededSince.has(name)) this.unneededSince.set(name, now);
    }
    for (const name of [...this.unneededSince.keys()]) if (!seen.has(name)) this.unneededSince.delete(name);
    if (now < this.lastScaleUp + this.o.scaleDownDelayAfterAddSeconds * 1000) return;
    for (const [name, since] of this.unneededSince) {
      if (now - since < this.o.scaleDownUnneededSeconds * 1000) continue;
      const group = this.fleet.groupOfNode(name);
      const instance = [...this.fleet.instances.values()].find((i) => i.nodeName === name && i.group);
      if (!group || !instance) continue;
      // CA drains before it terminates: the pods go through their controllers to the other nodes
      for (const pod of pods.filter((p) => p.spec?.nodeName === name && !isDaemonOrMirror(p) && !p.metadata?.deletionTimestamp)) {
        try {
          this.kube.registry.delete(this.pods, pod.metadata?.namespace, pod.metadata?.name ?? "", {});
        } catch {
          // gone meanwhile
        }
      }
      this.unneededSince.delete(name);
      this.history.push({ at: now, what: "scale-down", group: group.spec.name, detail: `${name} unneeded for ${Math.round((now - since) / 1000)} s: terminated, desired ${group.desired} -> ${group.desired - 1}` });
      await this.aws.clients.autoscaling.send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: instance.instanceId, ShouldDecrementDesiredCapacity: true }));
      return;
    }
  }
}
