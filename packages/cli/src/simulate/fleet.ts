/**
 * The node groups' Auto Scaling groups and their instances, in memory, behind the faked Auto
 * Scaling and EKS APIs (requests still held to AWS's API models), joined to kube-local:
 *
 * - a group keeps its desired capacity: a member that EC2 terminates is noticed after
 *   `replaceAfterSeconds` and replaced; a detached instance leaves the group (it keeps running,
 *   and its node with it, until EC2 reclaims it) and, unless desired was decremented, is
 *   replaced at once; SetDesiredCapacity and TerminateInstanceInAutoScalingGroup move the count;
 * - a launched instance joins the cluster as a Ready node `bootSeconds` later (90 s by default);
 * - capacity rebalancing: at a rebalance recommendation a group with it on launches a
 *   replacement above desired and terminates the at-risk instance once that one is in service;
 * - EC2 reclaims a spot instance when told to; its node is removed `nodeGoneAfterSeconds` later
 *   (the pods on it are then collected and recreated by their controllers);
 * - launches can be made to fail for capacity, as DescribeScalingActivities then reports.
 *
 * All timing is on the simulation's clock (SimScheduler), all of it configurable.
 */
import {
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  DescribeScalingActivitiesCommand,
  DetachInstancesCommand,
  SetDesiredCapacityCommand,
  TerminateInstanceInAutoScalingGroupCommand,
  type Activity,
} from "@aws-sdk/client-auto-scaling";
import { DescribeNodegroupCommand } from "@aws-sdk/client-eks";
import { findResource, nodeFixture, type KubeLocal, type NodeFixture, type ResourceType } from "@spot-manager/kube-local";
import type { AwsWorld } from "./aws-world";
import type { SimScheduler } from "./scheduler";

export interface GroupTemplate {
  instanceType: string;
  /** Launches go round these zones. */
  zones: string[];
  capacityType: "SPOT" | "ON_DEMAND";
  labels?: Record<string, string>;
  taints?: NodeFixture["taints"];
  allocatable?: NodeFixture["allocatable"];
}

export interface FleetGroupSpec {
  /** The Auto Scaling group's name. */
  name: string;
  /** The EKS managed node group it runs, when it is one (its nodes carry eks.amazonaws.com/nodegroup). */
  nodegroup?: string;
  min: number;
  max: number;
  /** Defaults to the number of adopted members. */
  desired?: number;
  capacityRebalance?: boolean;
  template: GroupTemplate;
  /** Tags on the group (for a managed node group: on the node group, as eks:DescribeNodegroup shows them). */
  tags?: Record<string, string>;
}

export interface FleetOptions {
  clusterName: string;
  scheduler: SimScheduler;
  /** From launch until the instance's node is Ready (and in service). */
  bootSeconds?: number;
  /** How long a group takes to notice that EC2 terminated a member, and replace it. */
  replaceAfterSeconds?: number;
  /** From an instance's end until its Node object is gone. */
  nodeGoneAfterSeconds?: number;
  /** How long a group waits to try a failed launch again. */
  launchRetrySeconds?: number;
}

export interface FleetInstance {
  instanceId: string;
  nodeName: string;
  zone: string;
  /** The group it is a member of now; undefined once detached or gone. */
  group?: string;
  /** The group that launched it. */
  launchedBy?: string;
  lifecycleState: "Pending" | "InService" | "Terminating" | "Detached" | "Terminated";
  launchedAt: number;
  /** At risk (rebalance recommendation) with a replacement launched: no longer counted toward desired. */
  atRisk?: boolean;
}

export interface FleetGroup {
  spec: FleetGroupSpec;
  min: number;
  max: number;
  desired: number;
  capacityRebalance: boolean;
  activities: Activity[];
  /** Launches fail with this EC2 error while set. */
  launchFailure?: string;
}

/** What happened to the fleet, for the report and the picture. */
export interface FleetEvent {
  at: number;
  what: "launched" | "launch-failed" | "in-service" | "node-joined" | "detached" | "desired" | "reclaimed" | "terminated" | "node-removed" | "rebalance";
  group?: string;
  instanceId?: string;
  node?: string;
  detail?: string;
}

const counts = (state: FleetInstance["lifecycleState"]) => state === "Pending" || state === "InService";

const validation = (message: string) => Object.assign(new Error(message), { name: "ValidationError", $fault: "client", $metadata: { httpStatusCode: 400 } });

export class FakeFleet {
  readonly groups = new Map<string, FleetGroup>();
  readonly instances = new Map<string, FleetInstance>();
  readonly history: FleetEvent[] = [];
  private readonly timers = new Map<string, () => void>();
  private readonly reconciles = new Map<string, () => void>();
  private readonly nodes: ResourceType;
  private launched = 0;
  private activityNumber = 0;
  private readonly bootMs: number;
  private readonly replaceAfterMs: number;
  private readonly nodeGoneMs: number;
  private readonly launchRetryMs: number;

  constructor(
    private readonly aws: AwsWorld,
    private readonly kube: KubeLocal,
    private readonly options: FleetOptions,
  ) {
    this.nodes = findResource("", "v1", "nodes") as ResourceType;
    this.bootMs = (options.bootSeconds ?? 90) * 1000;
    this.replaceAfterMs = (options.replaceAfterSeconds ?? 10) * 1000;
    this.nodeGoneMs = (options.nodeGoneAfterSeconds ?? 5) * 1000;
    this.launchRetryMs = (options.launchRetrySeconds ?? 30) * 1000;
    this.install();
  }

  private get now(): number {
    return this.options.scheduler.now();
  }

  /** A group, with the cluster's existing nodes (by name) as its in-service members. */
  addGroup(spec: FleetGroupSpec, memberNodes: string[] = []): FleetGroup {
    const group: FleetGroup = { spec, min: spec.min, max: spec.max, desired: spec.desired ?? memberNodes.length, capacityRebalance: spec.capacityRebalance ?? false, activities: [] };
    this.groups.set(spec.name, group);
    for (const nodeName of memberNodes) {
      const ec2 = [...this.aws.instances.values()].find((i) => i.privateDnsName === nodeName);
      if (!ec2) throw new Error(`no EC2 instance behind node ${nodeName}`);
      const { "eks:nodegroup-name": _nodegroup, ...others } = ec2.tags;
      ec2.tags = { ...others, "aws:autoscaling:groupName": spec.name, ...(spec.nodegroup ? { "eks:nodegroup-name": spec.nodegroup } : {}) };
      this.instances.set(ec2.instanceId, { instanceId: ec2.instanceId, nodeName, zone: ec2.availabilityZone, group: spec.name, launchedBy: spec.name, lifecycleState: "InService", launchedAt: this.now });
    }
    return group;
  }

  /** The group a node's instance is a member of, if any. */
  groupOfNode(nodeName: string): FleetGroup | undefined {
    const instance = [...this.instances.values()].find((i) => i.nodeName === nodeName && i.group);
    return instance?.group ? this.groups.get(instance.group) : undefined;
  }

  members(group: string): FleetInstance[] {
    return [...this.instances.values()].filter((i) => i.group === group);
  }

  /** Launches fail for capacity (or succeed again, with undefined). */
  failLaunches(group: string, error: string | undefined): void {
    const g = this.required(group);
    if (error === undefined) delete g.launchFailure;
    else g.launchFailure = error;
    this.reconcileSoon(group, 0);
  }

  /** EC2 reclaims the instance now (a spot interruption's end). */
  reclaim(instanceId: string): void {
    const instance = this.instances.get(instanceId);
    if (!instance || instance.lifecycleState === "Terminated") return;
    this.record({ what: "reclaimed", instanceId, node: instance.nodeName, ...(instance.group ? { group: instance.group } : {}) });
    const group = instance.group;
    this.end(instance, "EC2 reclaimed the spot instance");
    if (group) {
      this.activity(group, `Terminating EC2 instance: ${instanceId}`, `At ${iso(this.now)} an instance was taken out of service in response to an EC2 instance status change (spot interruption).`);
      // the group notices the loss after its health check, and replaces it to keep desired
      this.reconcileSoon(group, this.replaceAfterMs);
    }
  }

  /** EC2 reclaims the instance at that simulated time. */
  reclaimAt(instanceId: string, at: number): void {
    this.options.scheduler.after(at - this.now, () => this.reclaim(instanceId));
  }

  /** A rebalance recommendation: a group with capacity rebalancing launches the replacement above desired. */
  rebalanceRecommendation(instanceId: string): void {
    const instance = this.instances.get(instanceId);
    const group = instance?.group ? this.groups.get(instance.group) : undefined;
    if (!instance || !group || !group.capacityRebalance || instance.atRisk || instance.lifecycleState !== "InService") return;
    instance.atRisk = true;
    this.record({ what: "rebalance", group: group.spec.name, instanceId, node: instance.nodeName, detail: "capacity rebalancing launches a replacement" });
    this.reconcile(group.spec.name);
  }

  /** Stops every timer of the fleet. */
  stop(): void {
    for (const cancel of [...this.timers.values(), ...this.reconciles.values()]) cancel();
    this.timers.clear();
    this.reconciles.clear();
  }

  // -- the group's own behaviour --

  private reconcileSoon(group: string, ms: number): void {
    if (this.reconciles.has(group)) return;
    this.reconciles.set(
      group,
      this.options.scheduler.after(ms, () => {
        this.reconciles.delete(group);
        this.reconcile(group);
      }),
    );
  }

  private reconcile(name: string): void {
    const group = this.groups.get(name);
    if (!group) return;
    const live = this.members(name).filter((i) => counts(i.lifecycleState) && !i.atRisk);
    if (live.length < group.desired) {
      for (let n = live.length; n < group.desired; n += 1) {
        if (!this.launch(group)) break;
      }
    } else if (live.length > group.desired) {
      // scale in: instances still launching first, then the newest
      const order = [...live].sort((a, b) => (a.lifecycleState === "Pending" ? 0 : 1) - (b.lifecycleState === "Pending" ? 0 : 1) || b.launchedAt - a.launchedAt);
      for (const instance of order.slice(0, live.length - group.desired)) {
        this.activity(name, `Terminating EC2 instance: ${instance.instanceId}`, `At ${iso(this.now)} a user request explicitly set group desired capacity changing the desired capacity to ${group.desired}.`);
        this.end(instance, "scale-in");
      }
    }
  }

  private launch(group: FleetGroup): boolean {
    const name = group.spec.name;
    if (group.launchFailure) {
      this.activity(name, "Launching a new EC2 instance.  Status Reason: " + group.launchFailure, `At ${iso(this.now)} an instance was started in response to a difference between desired and actual capacity.`, "Failed", group.launchFailure);
      this.record({ what: "launch-failed", group: name, detail: group.launchFailure });
      this.reconcileSoon(name, this.launchRetryMs);
      return false;
    }
    this.launched += 1;
    const number = this.launched;
    const instanceId = `i-0f${number.toString(16).padStart(15, "0")}`;
    const zones = group.spec.template.zones;
    const zone = zones[(number - 1) % zones.length] ?? "us-west-2a";
    const subnet = Math.max(1, zones.indexOf(zone) + 1);
    const ip = `10.0.${subnet}.${100 + (number % 150)}`;
    const nodeName = `ip-${ip.replace(/\./g, "-")}.us-west-2.compute.internal`;
    const instance: FleetInstance = { instanceId, nodeName, zone, group: name, launchedBy: name, lifecycleState: "Pending", launchedAt: this.now };
    this.instances.set(instanceId, instance);
    const tags: Record<string, string> = {
      "eks:cluster-name": this.options.clusterName,
      [`kubernetes.io/cluster/${this.options.clusterName}`]: "owned",
      "aws:autoscaling:groupName": name,
      ...(group.spec.nodegroup ? { "eks:nodegroup-name": group.spec.nodegroup } : {}),
    };
    this.aws.addInstance({
      instanceId,
      privateDnsName: nodeName,
      availabilityZone: zone,
      instanceType: group.spec.template.instanceType,
      lifecycle: group.spec.template.capacityType === "SPOT" ? "spot" : "on-demand",
      tags,
      state: "pending",
      launchTime: new Date(this.now),
    });
    this.activity(name, `Launching a new EC2 instance: ${instanceId}`, `At ${iso(this.now)} an instance was started in response to a difference between desired and actual capacity, increasing the capacity to ${group.desired}.`);
    this.record({ what: "launched", group: name, instanceId, node: nodeName });
    this.timers.set(
      instanceId,
      this.options.scheduler.after(this.bootMs, () => {
        this.timers.delete(instanceId);
        this.boot(instance, ip);
      }),
    );
    return true;
  }

  private boot(instance: FleetInstance, ip: string): void {
    if (instance.lifecycleState !== "Pending") return;
    const group = this.groups.get(instance.launchedBy ?? "");
    if (!group) return;
    instance.lifecycleState = "InService";
    this.aws.setState(instance.instanceId, "running");
    const template = group.spec.template;
    const node = nodeFixture({
      name: instance.nodeName,
      instanceId: instance.instanceId,
      zone: instance.zone,
      instanceType: template.instanceType,
      capacityType: template.capacityType,
      nodegroup: group.spec.nodegroup ?? group.spec.name,
      internalIp: ip,
      ...(template.labels ? { labels: template.labels } : {}),
      ...(template.taints ? { taints: template.taints } : {}),
      ...(template.allocatable ? { allocatable: template.allocatable } : {}),
    });
    this.kube.registry.create(this.nodes, undefined, node);
    this.record({ what: "in-service", group: group.spec.name, instanceId: instance.instanceId, node: instance.nodeName });
    this.record({ what: "node-joined", group: group.spec.name, instanceId: instance.instanceId, node: instance.nodeName });
    // capacity rebalancing: the new one is in service, the at-risk one goes
    const atRisk = this.members(group.spec.name).find((i) => i.atRisk && i.lifecycleState === "InService");
    if (atRisk) {
      this.activity(group.spec.name, `Terminating EC2 instance: ${atRisk.instanceId}`, `At ${iso(this.now)} an instance was taken out of service in response to an EC2 instance rebalance recommendation.`);
      this.end(atRisk, "capacity rebalancing replaced it");
    }
  }

  /** The instance stops (terminated); its group lets go of it; its node goes a little later. */
  private end(instance: FleetInstance, why: string): void {
    this.timers.get(instance.instanceId)?.();
    this.timers.delete(instance.instanceId);
    const wasNode = instance.lifecycleState === "InService" || instance.lifecycleState === "Detached";
    instance.lifecycleState = "Terminated";
    delete instance.group;
    if (this.aws.instances.has(instance.instanceId)) this.aws.setState(instance.instanceId, "terminated");
    this.record({ what: "terminated", instanceId: instance.instanceId, node: instance.nodeName, detail: why });
    if (!wasNode) return;
    this.options.scheduler.after(this.nodeGoneMs, () => {
      try {
        this.kube.registry.delete(this.nodes, undefined, instance.nodeName);
        this.record({ what: "node-removed", instanceId: instance.instanceId, node: instance.nodeName });
      } catch {
        // already gone
      }
    });
  }

  private activity(group: string, description: string, cause: string, status = "Successful", message?: string): Activity {
    this.activityNumber += 1;
    const activity: Activity = {
      ActivityId: `00000000-0000-4000-8000-${this.activityNumber.toString(16).padStart(12, "0")}`,
      AutoScalingGroupName: group,
      Description: description,
      Cause: cause,
      StartTime: new Date(this.now),
      EndTime: new Date(this.now),
      StatusCode: status as Activity["StatusCode"],
      ...(message ? { StatusMessage: message } : {}),
      Progress: 100,
    };
    this.required(group).activities.unshift(activity);
    return activity;
  }

  private record(event: Omit<FleetEvent, "at">): void {
    this.history.push({ at: this.now, ...event });
  }

  private required(name: string): FleetGroup {
    const group = this.groups.get(name);
    if (!group) throw new Error(`no Auto Scaling group ${name} in the fleet`);
    return group;
  }

  // -- the APIs --

  private install(): void {
    this.aws.autoscaling.on(DescribeAutoScalingInstancesCommand).callsFake((input: { InstanceIds?: string[] }) => {
      const wanted = input.InstanceIds ?? [...this.instances.keys()];
      return {
        AutoScalingInstances: wanted
          .map((id) => this.instances.get(id))
          .filter((i): i is FleetInstance => i?.group !== undefined)
          .map((i) => ({
            InstanceId: i.instanceId,
            AutoScalingGroupName: i.group,
            AvailabilityZone: i.zone,
            LifecycleState: i.lifecycleState,
            HealthStatus: "HEALTHY",
            ProtectedFromScaleIn: false,
            InstanceType: this.groups.get(i.group as string)?.spec.template.instanceType,
          })),
      };
    });
    this.aws.autoscaling.on(DescribeAutoScalingGroupsCommand).callsFake((input: { AutoScalingGroupNames?: string[] }) => {
      const names = input.AutoScalingGroupNames?.length ? input.AutoScalingGroupNames : [...this.groups.keys()];
      return {
        AutoScalingGroups: names
          .map((name) => this.groups.get(name))
          .filter((g): g is FleetGroup => g !== undefined)
          .map((g) => ({
            AutoScalingGroupName: g.spec.name,
            AutoScalingGroupARN: `arn:aws:autoscaling:us-west-2:123456789012:autoScalingGroup:00000000-0000-4000-8000-000000000000:autoScalingGroupName/${g.spec.name}`,
            MinSize: g.min,
            MaxSize: g.max,
            DesiredCapacity: g.desired,
            DefaultCooldown: 300,
            AvailabilityZones: g.spec.template.zones,
            HealthCheckType: "EC2",
            CreatedTime: new Date(0),
            CapacityRebalance: g.capacityRebalance,
            Instances: this.members(g.spec.name).map((i) => ({
              InstanceId: i.instanceId,
              AvailabilityZone: i.zone,
              LifecycleState: i.lifecycleState,
              HealthStatus: "Healthy",
              ProtectedFromScaleIn: false,
              InstanceType: g.spec.template.instanceType,
            })),
            Tags: Object.entries({ ...(g.spec.nodegroup ? { "eks:cluster-name": this.options.clusterName, "eks:nodegroup-name": g.spec.nodegroup } : {}), [`kubernetes.io/cluster/${this.options.clusterName}`]: "owned", [`k8s.io/cluster-autoscaler/${this.options.clusterName}`]: "owned", "k8s.io/cluster-autoscaler/enabled": "true", ...(g.spec.nodegroup ? {} : (g.spec.tags ?? {})) }).map(
              ([Key, Value]) => ({ Key, Value, ResourceId: g.spec.name, ResourceType: "auto-scaling-group", PropagateAtLaunch: true }),
            ),
          })),
      };
    });
    this.aws.autoscaling.on(DetachInstancesCommand).callsFake((input: { AutoScalingGroupName?: string; InstanceIds?: string[]; ShouldDecrementDesiredCapacity?: boolean }) => {
      const group = this.groups.get(input.AutoScalingGroupName ?? "");
      if (!group) throw validation(`AutoScalingGroup name not found - AutoScalingGroup ${input.AutoScalingGroupName ?? ""} not found`);
      const ids = input.InstanceIds ?? [];
      for (const id of ids) {
        const instance = this.instances.get(id);
        if (!instance || instance.group !== group.spec.name) throw validation(`The instance ${id} is not part of Auto Scaling group ${group.spec.name}.`);
        if (instance.lifecycleState !== "InService") throw validation(`The instance ${id} is not in InService or Standby.`);
      }
      if (input.ShouldDecrementDesiredCapacity && group.desired - ids.length < group.min) {
        throw validation(`Detaching ${ids.length} instance(s) with ShouldDecrementDesiredCapacity would take desired capacity below the group's min size ${group.min}.`);
      }
      const activities = ids.map((id) => {
        const instance = this.instances.get(id) as FleetInstance;
        instance.lifecycleState = "Detached";
        delete instance.group;
        const from = group.desired;
        if (input.ShouldDecrementDesiredCapacity) group.desired -= 1;
        this.record({ what: "detached", group: group.spec.name, instanceId: id, node: instance.nodeName, detail: input.ShouldDecrementDesiredCapacity ? `desired ${from} -> ${group.desired}` : `desired kept at ${group.desired}` });
        return this.activity(
          group.spec.name,
          `Detaching EC2 instance: ${id}`,
          `At ${iso(this.now)} instance ${id} was detached in response to a user request${input.ShouldDecrementDesiredCapacity ? `, shrinking the capacity from ${from} to ${group.desired}` : ", keeping the capacity at " + String(group.desired)}.`,
        );
      });
      this.reconcile(group.spec.name);
      return { Activities: activities };
    });
    this.aws.autoscaling.on(SetDesiredCapacityCommand).callsFake((input: { AutoScalingGroupName?: string; DesiredCapacity?: number }) => {
      const group = this.groups.get(input.AutoScalingGroupName ?? "");
      if (!group) throw validation(`AutoScalingGroup name not found - AutoScalingGroup ${input.AutoScalingGroupName ?? ""} not found`);
      const desired = input.DesiredCapacity ?? 0;
      if (desired > group.max) throw validation(`New SetDesiredCapacity value ${desired} is above max value ${group.max} for the AutoScalingGroup.`);
      if (desired < group.min) throw validation(`New SetDesiredCapacity value ${desired} is below min value ${group.min} for the AutoScalingGroup.`);
      this.record({ what: "desired", group: group.spec.name, detail: `${group.desired} -> ${desired}` });
      group.desired = desired;
      this.reconcile(group.spec.name);
      return {};
    });
    this.aws.autoscaling.on(TerminateInstanceInAutoScalingGroupCommand).callsFake((input: { InstanceId?: string; ShouldDecrementDesiredCapacity?: boolean }) => {
      const instance = this.instances.get(input.InstanceId ?? "");
      if (!instance?.group) throw validation(`Instance Id not found - No managed instance found for instance ID: ${input.InstanceId ?? ""}`);
      const group = this.required(instance.group);
      if (input.ShouldDecrementDesiredCapacity) {
        if (group.desired - 1 < group.min) throw validation(`Currently, desiredSize equals minSize (${group.min}). Terminating instance without replacement will violate group's min size constraint. Either set shouldDecrementDesiredCapacity flag to false or lower group's min size.`);
        group.desired -= 1;
      }
      const activity = this.activity(group.spec.name, `Terminating EC2 instance: ${instance.instanceId}`, `At ${iso(this.now)} instance ${instance.instanceId} was taken out of service in response to a user request${input.ShouldDecrementDesiredCapacity ? `, shrinking the capacity to ${group.desired}` : ""}.`);
      this.end(instance, "terminated on request");
      this.reconcileSoon(group.spec.name, 0);
      return { Activity: activity };
    });
    this.aws.autoscaling.on(DescribeScalingActivitiesCommand).callsFake((input: { AutoScalingGroupName?: string; MaxRecords?: number }) => {
      const group = this.groups.get(input.AutoScalingGroupName ?? "");
      return { Activities: (group?.activities ?? []).slice(0, input.MaxRecords ?? 100) };
    });
    this.aws.eks.on(DescribeNodegroupCommand).callsFake((input: { clusterName?: string; nodegroupName?: string }) => {
      const group = [...this.groups.values()].find((g) => g.spec.nodegroup === input.nodegroupName);
      if (!group || input.clusterName !== this.options.clusterName) {
        throw Object.assign(new Error(`No node group found for name: ${input.nodegroupName ?? ""}.`), { name: "ResourceNotFoundException", $fault: "client", $metadata: { httpStatusCode: 404 } });
      }
      return {
        nodegroup: {
          nodegroupName: group.spec.nodegroup,
          clusterName: this.options.clusterName,
          nodegroupArn: `arn:aws:eks:us-west-2:123456789012:nodegroup/${this.options.clusterName}/${group.spec.nodegroup}/00000000-0000-4000-8000-000000000000`,
          status: "ACTIVE",
          capacityType: group.spec.template.capacityType,
          scalingConfig: { minSize: group.min, maxSize: group.max, desiredSize: group.desired },
          resources: { autoScalingGroups: [{ name: group.spec.name }] },
          tags: group.spec.tags ?? {},
        },
      };
    });
  }
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
